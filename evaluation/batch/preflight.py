"""Fail fast and once: the problems every run of a batch would meet, found before any runs.

Seventeen runs that each load the same data, meet the same unknown ward after minutes of
estimation and fail one by one tell an analyst less than one message at the start. Before the
batch starts any run, :func:`check_plan_inputs` reads what every notebook will read — the
ward table, the pilot registry, every table of the data folder — with the same code the
notebooks use, and checks what the designs need before any estimator runs: names that match
no ward on their dates (a ward renamed mid-series, a ward missing from the table), wards
whose counts are rates per person but that have no population. Every problem is reported in
one :class:`~evaluation.errors.DataError` (exit status 2), naming the file, the wards and what
to change. Design limits that only make some answers impossible (no comparison ward left for
a programme) are not errors: the findings say them, programme by programme.
"""

from __future__ import annotations

from evaluation.batch.plan import Plan
from evaluation.errors import DataError, examples

__all__ = ["check_plan_inputs"]

#: the tables whose outcomes are rates per person (Poisson with population exposure)
_EXPOSURE = ("fires", "antt", "electrical")


def check_plan_inputs(plan: Plan) -> None:
    """Raise one DataError listing every problem with the plan's data, ward table and
    registry that would make its runs fail (see the module docstring); return silently when
    the plan names no data folder or nothing is wrong."""
    if plan.data is None or plan.registry is None:
        return
    from evaluation.analysis.district import TABLE_FILES, load_district

    problems: list[str] = []
    try:
        district = load_district(plan.data, plan.registry, plan.ward_table)
    except DataError as exc:
        raise DataError(f"the batch cannot start — {exc}") from None
    for name in TABLE_FILES:
        try:
            district.table(name)
        except DataError as exc:
            if "no " + name + " table" in str(exc):
                continue  # a district without this kind of data: its notebooks say so
            problems.append(str(exc))
    if not problems:
        for programme in district.registry.programmes:
            if programme not in set(district.registry.pilots["programme"]):
                continue
            level = district.level(programme)
            frame = district.ward_frame(level)
            for name in _EXPOSURE:
                try:
                    named = set(district.table(name)["ward"])
                except DataError:
                    continue
                lacking = frame.loc[
                    frame["ward"].isin(named) & ~(frame["population"] > 0), "ward"
                ].tolist()
                if lacking:
                    problems.append(
                        f"{district.ward_table.source}: ward(s) {examples(lacking, 10)} have no "
                        f"population, which programme {programme!r} needs as the exposure of "
                        f"its {name} rates — fill in their population"
                    )
    if problems:
        unique = list(dict.fromkeys(problems))
        raise DataError(
            f"the batch cannot start: {len(unique)} problem(s) every run would meet — fix them "
            "and run the batch again (pilot-eval validate lists them too):\n"
            + "\n".join(f"- {p}" for p in unique)
        )
