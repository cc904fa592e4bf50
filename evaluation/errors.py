"""One exception hierarchy for the workbench.

Callers catch precisely: ``DataError`` for input a user can fix (a file, a column, a value),
``DesignError`` for data that is well formed but cannot identify the effect asked for,
``InferenceError`` for an inference method that does not apply to the design, and
``PlanError`` / ``BatchError`` for the batch runner. All derive from ``WorkbenchError``;
the input ones are also ``ValueError`` so generic code that catches ``ValueError`` still works.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "WorkbenchError",
    "DataError",
    "DesignError",
    "InferenceError",
    "PlanError",
    "BatchError",
    "Problem",
    "examples",
]


class WorkbenchError(Exception):
    """Base class of every error the workbench raises on purpose."""


class DataError(WorkbenchError, ValueError):
    """Bad input: names the file or argument, the column, example rows or values, and the fix.

    ``problems`` holds every problem found when a validator collected more than one
    (``pilot-eval validate`` prints them all); ``str(err)`` shows them all too.
    """

    def __init__(self, message: str, problems: Sequence[Problem] | None = None):
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class DesignError(DataError):
    """The data are valid but the design cannot identify what was asked.

    Examples: no never-treated and no not-yet-treated units to compare with, a cohort with no
    pre-period, every unit treated at once, a single period, collinear controls.
    """


class InferenceError(WorkbenchError, ValueError):
    """An inference method was asked for that does not apply to this estimator or design."""


class PlanError(DataError):
    """A batch plan (YAML) that cannot be run: missing keys, unknown notebooks or wards."""


class BatchError(WorkbenchError):
    """A failure of the batch runner itself (not of one notebook run)."""


class Problem:
    """One problem found in an input, with where it is and what to do about it."""

    __slots__ = ("source", "column", "message", "hint")

    def __init__(self, source: str, column: str | None, message: str, hint: str = ""):
        self.source = source
        self.column = column
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        where = self.source + (f", column '{self.column}'" if self.column else "")
        text = f"{where}: {self.message}"
        return f"{text} — {self.hint}" if self.hint else text

    def __repr__(self) -> str:
        return f"Problem({str(self)!r})"


def examples(values: Iterable[object], limit: int = 5) -> str:
    """Format the first few offending values for an error message: ``'a', 'b', … (12 in all)``."""
    values = list(values)
    shown = ", ".join(repr(v) if isinstance(v, str) else str(v) for v in values[:limit])
    if len(values) > limit:
        shown += f", … ({len(values)} in all)"
    return shown
