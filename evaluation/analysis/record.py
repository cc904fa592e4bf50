"""The findings schema: what every notebook records, and how it is checked and tabulated.

A *finding* is one estimate a notebook reports — a ward, a programme, an outcome, the estimate
with its interval and p-value, how they were obtained, and the verdict in Vietnamese and
English. Notebooks end with::

    from evaluation.analysis.record import record_findings
    record_findings(results_path, findings)

which validates the list against :data:`FINDING_FIELDS` and writes it, atomically, to the JSON
file whose path the batch passes as the ``results_path`` parameter (opened interactively, with
``results_path = None``, it only validates). The batch builds its index and its findings table
from these files, never from notebook outputs.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.core.files import write_json_atomic
from evaluation.errors import DataError, examples

__all__ = [
    "FINDING_FIELDS",
    "finding",
    "record_findings",
    "read_findings",
    "validate_findings",
    "table_columns",
]

#: field -> (accepted JSON types, may be null). Notebooks may add more keys; these are required.
FINDING_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "notebook": ((str,), False),
    "ward": ((str,), True),  # null for district-level findings
    "programme": ((str,), True),
    "outcome": ((str,), False),
    "estimate": ((int, float), True),  # null when the design could not estimate it
    "ci_low": ((int, float), True),
    "ci_high": ((int, float), True),
    "pvalue": ((int, float), True),
    "method": ((str,), False),
    "inference": ((str,), False),
    "verdict_vi": ((str,), False),
    "verdict_en": ((str,), False),
    "warnings": ((list,), False),
}

_HOW_TO_RECORD = "evaluation.analysis.record.record_findings(results_path, [...])"


def validate_findings(obj: Any, source: str = "results") -> list[dict[str, Any]]:
    """Check a results object against :data:`FINDING_FIELDS`; return it as a list of dicts.

    ``obj`` is the list of findings, or a mapping holding it under ``"findings"``. Keys beyond
    the schema are kept.

    Raises
    ------
    DataError
        Naming the file (``source``), the finding's position, the field and the value.
    """
    if isinstance(obj, Mapping) and "findings" in obj:
        obj = obj["findings"]
    if not isinstance(obj, list):
        raise DataError(
            f"{source}: expected a list of findings (JSON array), got {type(obj).__name__} — "
            f"write it with {_HOW_TO_RECORD}"
        )
    out = []
    for i, item in enumerate(obj):
        _check_finding(item, f"{source}, finding {i}")
        out.append(dict(item))
    return out


def _check_finding(item: Any, where: str) -> None:
    if not isinstance(item, Mapping):
        raise DataError(f"{where}: expected an object, got {type(item).__name__}")
    missing = [k for k in FINDING_FIELDS if k not in item]
    if missing:
        raise DataError(
            f"{where}: missing field(s) {examples(missing)} — every finding needs "
            f"{', '.join(FINDING_FIELDS)}"
        )
    for key, (types, nullable) in FINDING_FIELDS.items():
        value = item[key]
        if value is None:
            if not nullable:
                raise DataError(f"{where}, field '{key}': must not be null")
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise DataError(
                f"{where}, field '{key}': expected {'/'.join(t.__name__ for t in types)}, "
                f"got {value!r}"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise DataError(
                f"{where}, field '{key}': {value!r} is not a number JSON can hold — "
                "use null for 'not estimable'"
            )
    if item["pvalue"] is not None and not 0.0 <= item["pvalue"] <= 1.0:
        raise DataError(f"{where}, field 'pvalue': {item['pvalue']!r} is not in [0, 1]")
    if not all(isinstance(w, str) for w in item["warnings"]):
        raise DataError(f"{where}, field 'warnings': must be a list of strings")


def finding(
    result: Any = None,
    *,
    notebook: str,
    outcome: str | None = None,
    ward: str | None = None,
    programme: str | None = None,
    verdict_vi: str,
    verdict_en: str,
    **fields: Any,
) -> dict[str, Any]:
    """One finding for :func:`record_findings`, filled from an ``Estimate`` where given.

    Parameters
    ----------
    result
        An :class:`evaluation.Estimate` (or anything with ``estimate``, ``ci_low``, ``ci_high``,
        ``pvalue``, ``method``, ``inference`` and ``warnings`` attributes), or None.
    notebook, outcome, ward, programme, verdict_vi, verdict_en
        The finding's fields; ``outcome`` defaults to the result's ``outcome``.
    **fields
        Override or add keys (``estimate=None`` when not estimable, ``pvalue_holm=0.2``).

    Returns
    -------
    dict
        JSON-ready: numpy and pandas values are turned into plain ones.
    """
    from evaluation.results import jsonable

    item: dict[str, Any] = {"notebook": notebook, "ward": ward, "programme": programme}
    if result is not None:
        for key in ("estimate", "ci_low", "ci_high", "pvalue", "method", "inference"):
            item[key] = jsonable(getattr(result, key, None))
        item["warnings"] = [str(w) for w in getattr(result, "warnings", [])]
        outcome = outcome or getattr(result, "outcome", None)
    item["outcome"] = outcome
    item.update(verdict_vi=verdict_vi, verdict_en=verdict_en)
    item.update({k: jsonable(v) for k, v in fields.items()})
    item.setdefault("warnings", [])
    for key in ("estimate", "ci_low", "ci_high", "pvalue"):
        item.setdefault(key, None)
    return item


def record_findings(path: str | os.PathLike | None, findings: Iterable[Mapping[str, Any]]) -> None:
    """Validate findings and write them as the run's results JSON (atomically).

    Notebooks call this last, with the ``results_path`` parameter. With ``path=None`` (the
    notebook opened interactively, not from a batch) it only validates them. Returns nothing,
    so the call leaves no output in the report.

    Raises
    ------
    DataError
        A finding lacks a field of :data:`FINDING_FIELDS` or has a value of the wrong type.
    """
    from evaluation.results import jsonable

    items = validate_findings(jsonable(list(findings)), source="record_findings")
    if path is not None:
        write_json_atomic(Path(path), items)


def read_findings(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read and validate a results JSON file written by :func:`record_findings`.

    Raises
    ------
    DataError
        The file is missing (the notebook never recorded its findings), is not JSON, or does
        not follow :data:`FINDING_FIELDS`.
    """
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{path}: the notebook recorded no findings — it must call "
            f"{_HOW_TO_RECORD} (an empty list is fine)"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    return validate_findings(obj, source=str(path))


def table_columns(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Columns of the findings table: the run, the schema's fields, the report, then any extra
    keys notebooks added, in the order they first appear."""
    cols = ["run_id", *FINDING_FIELDS, "report"]
    for f in findings:
        for k in f:
            if k not in cols:
                cols.append(k)
    return cols
