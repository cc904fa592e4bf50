"""The pilot registry (``params/pilots.yaml``): which ward started which programme when.

The registry is the single source of treatment timing. :func:`add_cohort` joins it onto an
outcome panel as ``cohort`` — the first period in which a ward is treated, missing for wards
that never are (docs/ARCHITECTURE.md §4) — so a single pilot, a staggered rollout and "no treatment" are
all described by one column.

File format::

    programmes:
      traffic_model:
        name_vi: Giao thông Bắc Từ Liêm an toàn và thông suốt
        name_en: Safe and smooth traffic
    pilots:
      - {ward: Cổ Nhuế 2, programme: traffic_model, start: 2024-02-15, wave: pilot}
      - {ward: Cổ Nhuế 1, programme: traffic_model, start: 2024-07-01, wave: A}
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.data.io import yaml_problem
from evaluation.data.schema import GOAL_EXAMPLES
from evaluation.data.wards import WardTable
from evaluation.errors import DataError, Problem, examples
from evaluation.i18n import say

__all__ = [
    "REVIEWS",
    "Claim",
    "Registry",
    "Target",
    "add_cohort",
    "as_registry",
    "home_district",
    "home_districts",
    "home_wards",
    "load_registry",
]

_DATE_FIELDS = ("start", "interim_review", "final_review", "end")


@dataclass(frozen=True)
class Target:
    """What a programme set out to do: change ``outcome`` by ``change_percent`` % (of its level
    without the programme) or by ``change`` in the outcome's unit, with the ``source`` of the
    target (a plan, a decision, a resolution)."""

    outcome: str
    source: str
    change_percent: float | None = None
    change: float | None = None


@dataclass(frozen=True)
class Claim:
    """What was said of a programme's result (``text_vi``/``text_en``, quoted with its
    ``source``): a change of ``change_percent`` % in ``outcome`` (−100: "resolved") after
    ``months`` months."""

    outcome: str
    text_vi: str
    text_en: str
    source: str
    change_percent: float
    months: int | None = None


class Registry:
    """Parsed registry: ``programmes`` (dict of metadata) and ``pilots`` (one row per ward ×
    programme with ``ward``, ``programme``, ``start`` and optional ``wave``, ``dose``,
    review dates)."""

    def __init__(
        self,
        programmes: dict[str, dict],
        pilots: pd.DataFrame,
        source: str,
        targets: dict[str, Target] | None = None,
        claims: dict[str, Claim] | None = None,
    ):
        self.programmes = programmes
        self.pilots = pilots
        self.source = source
        self.targets = dict(targets or {})
        self.claims = dict(claims or {})

    def for_programme(self, programme: str) -> pd.DataFrame:
        if programme not in self.programmes:
            raise DataError(
                f"{self.source}: no programme {programme!r}; the registry defines "
                f"{examples(sorted(self.programmes))}"
            )
        return self.pilots[self.pilots["programme"] == programme].reset_index(drop=True)

    def target(self, programme: str) -> Target | None:
        """The programme's ``target:`` (None when the registry gives none)."""
        return self.targets.get(programme)

    def claim(self, programme: str) -> Claim | None:
        """The programme's ``claim:`` (None when the registry gives none)."""
        return self.claims.get(programme)

    def label(self, programme: str, lang: str = "en") -> str:
        meta = self.programmes.get(programme, {})
        return str(meta.get(f"name_{lang}", programme))

    def __repr__(self) -> str:
        return f"Registry({self.source!r}, {len(self.programmes)} programmes, {len(self.pilots)} entries)"


def _parse(doc: object, source: str, wards: WardTable | None = None) -> Registry:
    problems: list[Problem] = []
    if not isinstance(doc, dict) or "pilots" not in doc:
        raise DataError(
            f"{source}: not a pilot registry — expected top-level keys 'programmes' and 'pilots'"
        )
    programmes = doc.get("programmes") or {}
    if not isinstance(programmes, dict):
        raise DataError(f"{source}: 'programmes' must map a programme id to its description")
    targets: dict[str, Target] = {}
    claims: dict[str, Claim] = {}
    for pid, meta in programmes.items():
        if isinstance(meta, dict):
            _goals(pid, meta, source, problems, targets, claims)
    entries = doc.get("pilots") or []
    if not isinstance(entries, list):
        raise DataError(f"{source}: 'pilots' must be a list of entries (ward, programme, start)")
    rows = []
    for i, entry in enumerate(entries, start=1):
        where = f"{source}, pilots entry {i}"
        if not isinstance(entry, dict):
            problems.append(Problem(where, None, f"expected a mapping, got {entry!r}"))
            continue
        missing = [k for k in ("ward", "programme", "start") if k not in entry]
        if missing:
            problems.append(
                Problem(
                    where,
                    None,
                    f"missing key(s) {examples(missing)}",
                    "each entry needs ward, programme and start",
                )
            )
            continue
        row = dict(entry)
        if wards is not None:
            # a ward is read on its start date: a name a reorganisation reused means the ward
            # that existed when the programme started there
            start = pd.to_datetime(str(entry["start"]), errors="coerce")
            try:
                code = wards.code(entry["ward"], None if pd.isna(start) else start, source=where)
            except DataError as exc:
                problems.append(Problem(where, "ward", str(exc).split(": ", 1)[-1]))
                continue
            row["ward"], row["ward_code"] = wards.name(code), code
        else:
            row["ward"] = " ".join(unicodedata.normalize("NFC", str(entry["ward"])).split())
        if programmes and entry["programme"] not in programmes:
            problems.append(
                Problem(
                    where,
                    "programme",
                    f"unknown programme {entry['programme']!r}",
                    f"declare it under 'programmes' ({examples(sorted(programmes))})",
                )
            )
        for f in _DATE_FIELDS:
            if f in row and row[f] is not None:
                ts = pd.to_datetime(str(row[f]), errors="coerce")
                if pd.isna(ts):
                    problems.append(
                        Problem(where, f, f"not a date: {row[f]!r}", "write YYYY-MM-DD")
                    )
                row[f] = ts
        rows.append(row)
    pilots = pd.DataFrame(rows)
    if not pilots.empty:
        dup = pilots.duplicated(["ward", "programme"], keep=False)
        if dup.any():
            pairs = pilots.loc[dup, ["ward", "programme"]].drop_duplicates()
            problems.append(
                Problem(
                    source,
                    "pilots",
                    "ward × programme listed more than once: "
                    + examples([f"{w} / {p}" for w, p in pairs.itertuples(index=False)]),
                    "keep one entry per ward and programme",
                )
            )
    if problems:
        raise DataError(
            f"{source}: {len(problems)} problem(s) in the pilot registry:\n"
            + "\n".join(f"- {p}" for p in problems),
            problems,
        )
    for f in _DATE_FIELDS:
        if f in pilots:
            pilots[f] = pd.to_datetime(pilots[f])
    return Registry(programmes, pilots, source, targets, claims)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return float(value)


def _goals(
    pid: str,
    meta: dict,
    source: str,
    problems: list[Problem],
    targets: dict[str, Target],
    claims: dict[str, Claim],
) -> None:
    """Reads a programme's ``target:`` and ``claim:`` into ``targets`` / ``claims``, listing
    what is wrong in ``problems``."""
    outcomes = [str(o) for o in meta.get("outcomes") or []]
    for key in ("target", "claim"):
        raw = meta.get(key)
        if raw is None:
            continue
        where = f"{source}, programmes.{pid}.{key}"
        if not isinstance(raw, dict):
            problems.append(
                Problem(where, None, f"expected a mapping, got {raw!r}", _GOAL_HINT[key])
            )
            continue
        outcome = str(raw.get("outcome") or (outcomes[0] if outcomes else ""))
        if outcomes and outcome not in outcomes:
            problems.append(
                Problem(
                    where,
                    "outcome",
                    f"{outcome!r} is not one of the programme's outcomes ({examples(outcomes)})",
                )
            )
            continue
        source_text = str(raw.get("source") or "").strip()
        if not source_text:
            problems.append(
                Problem(
                    where, "source", "missing: say where the figure comes from", _GOAL_HINT[key]
                )
            )
            continue
        pct, units = _number(raw.get("change_percent")), _number(raw.get("change"))
        bad = [k for k in ("change_percent", "change") if k in raw and _number(raw[k]) is None]
        if bad:
            problems.append(Problem(where, bad[0], f"not a number: {raw[bad[0]]!r}"))
            continue
        if key == "target":
            if (pct is None) == (units is None):
                problems.append(
                    Problem(
                        where,
                        None,
                        "give exactly one of change_percent and change",
                        _GOAL_HINT[key],
                    )
                )
                continue
            targets[pid] = Target(outcome, source_text, pct, units)
            continue
        text_vi = str(raw.get("vi") or "").strip()
        months = raw.get("months")
        if pct is None or not text_vi:
            problems.append(
                Problem(
                    where, None, "needs vi (the words claimed) and change_percent", _GOAL_HINT[key]
                )
            )
            continue
        if months is not None and (
            isinstance(months, bool) or not isinstance(months, int) or months < 1
        ):
            problems.append(Problem(where, "months", f"not a number of months: {months!r}"))
            continue
        claims[pid] = Claim(
            outcome, text_vi, str(raw.get("en") or "").strip(), source_text, pct, months
        )


_GOAL_HINT = {
    "target": f"write e.g. {GOAL_EXAMPLES['target']}",
    "claim": f"write e.g. {GOAL_EXAMPLES['claim']}",
}


def load_registry(
    path: str | Path = "params/pilots.yaml", wards: WardTable | None = None
) -> Registry:
    """Read and check a pilot registry YAML file.

    With ``wards`` (the district's ward table, ``ev.load_wards``) every ward is checked against
    it and read on its entry's start date; without one, names are only tidied.

    Raises
    ------
    DataError
        Listing every problem: unknown wards (with the closest names), undeclared programmes,
        unparsable dates, duplicate ward × programme entries.
    """
    import yaml

    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such registry file")
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise DataError(
            f"{path}: not valid YAML{yaml_problem(exc)} — check brackets, colons "
            "and indentation there"
        ) from None
    return _parse(doc, str(path), wards)


def _next_period_start(grid: pd.DatetimeIndex) -> pd.Timestamp:
    """Start of the period after the last one: months (any fixed day, e.g. police periods on
    the 15th) step by a calendar month, other grids by their usual spacing."""
    if len(grid) < 2:
        return grid[-1] + pd.Timedelta(days=1)
    same_day = (grid.day == grid[0].day).all()
    months = grid.year * 12 + grid.month
    if same_day and (pd.Series(months).diff().dropna() == 1).all():
        return grid[-1] + pd.DateOffset(months=1)
    return grid[-1] + pd.Series(grid).diff().median()


def add_cohort(
    panel: pd.DataFrame,
    registry: Registry,
    programme: str,
    *,
    ward: str = "ward",
    time: str = "period_start",
    name: str = "cohort",
    rule: str = "contains",
    outside: str = "error",
    missing_wards: str = "error",
) -> pd.DataFrame:
    """Add the ``cohort`` column (first treated period; NaT = never treated) from the registry.

    Parameters
    ----------
    panel
        Long panel with a ward column and a datetime period column (period start dates).
    programme
        Registry programme id, e.g. ``"traffic_model"``.
    rule
        ``"contains"``: the period containing the start date is the first treated one (a pilot
        launched on 15 Feb makes February treated); ``"first_full"``: the first period that
        starts on or after the start date.
    outside
        What to do with a start after the panel's last period: ``"error"`` (default: a cohort
        outside the data's time range is reported), or ``"never"`` (treat the ward as never
        treated within these data). A start before the first period is always an error: such a
        ward has no pre-period and cannot be evaluated.
    missing_wards
        ``"error"`` when the registry names a ward that the panel lacks, ``"ignore"`` to allow it.
    """
    if rule not in ("contains", "first_full"):
        raise DataError(f"argument 'rule' must be 'contains' or 'first_full', not {rule!r}")
    if outside not in ("error", "never"):
        raise DataError(f"argument 'outside' must be 'error' or 'never', not {outside!r}")
    for col in (ward, time):
        if col not in panel.columns:
            raise DataError(
                f"add_cohort: column '{col}' is not in the panel (columns: "
                f"{examples(list(panel.columns), 12)})"
            )
    times = pd.to_datetime(panel[time], errors="coerce")
    if times.isna().any():
        raise DataError(
            f"add_cohort: column '{time}' must hold dates (period starts) to match the registry's "
            f"start dates; {int(times.isna().sum())} value(s) are not dates"
        )
    grid = pd.DatetimeIndex(sorted(times.unique()))
    end_of_data = _next_period_start(grid)
    entries = registry.for_programme(programme)
    data_wards = set(panel[ward].astype(str))
    absent = sorted(set(entries["ward"]) - data_wards)
    if absent and missing_wards == "error":
        raise DataError(
            f"{registry.source}: programme {programme!r} names ward(s) {examples(absent)} that are "
            f"absent from the data (it has {examples(sorted(data_wards), 13)}). Add their rows, "
            "or pass missing_wards='ignore' if the panel deliberately covers fewer wards"
        )
    cohorts: dict[str, pd.Timestamp] = {}
    problems = []
    for row in entries.itertuples(index=False):
        start = pd.Timestamp(row.start)
        if start < grid[0]:
            problems.append(
                f"{row.ward}: starts {start.date()}, before the data's first period "
                f"{grid[0].date()} — no pre-period to compare with; extend the data backwards "
                "or drop this ward"
            )
            continue
        if rule == "contains":
            # the period containing `start`; after the last period's end there is none
            cohort = (
                None if start >= end_of_data else grid[grid.searchsorted(start, side="right") - 1]
            )
        else:
            pos = grid.searchsorted(start, side="left")
            cohort = grid[pos] if pos < len(grid) else None
        if cohort is None:
            if outside == "never":
                continue
            problems.append(
                f"{row.ward}: starts {start.date()}, after the data's last period "
                f"{grid[-1].date()} — pass outside='never' to treat it as never treated "
                "within these data, or extend the data"
            )
            continue
        cohorts[row.ward] = cohort
    if problems:
        raise DataError(
            f"{registry.source}: cohort outside the data's time range for programme "
            f"{programme!r}:\n" + "\n".join(f"- {p}" for p in problems)
        )
    out = panel.copy()
    out[name] = pd.to_datetime(out[ward].astype(str).map(cohorts))
    return out


def home_districts(registry: Registry, wards: WardTable) -> list[str]:
    """The districts whose programmes ``registry`` records: every ``district`` of the ward
    table holding a ward of the registry, most such wards first (empty when the table names
    no districts). One for a district's registry; for a city's, every district a programme
    reached — wards of the others are the outside comparison wards."""
    codes = registry.pilots["ward_code"] if "ward_code" in registry.pilots else []
    if not len(codes):
        return []
    d = wards.frame(sorted(set(codes)))["district"]
    d = d[d != ""]
    return [str(x) for x in d.value_counts().index]


def home_district(registry: Registry, wards: WardTable) -> str:
    """The district whose programmes ``registry`` records: the ``district`` most of its wards
    have in the ward table ("" when the table names no districts)."""
    homes = home_districts(registry, wards)
    return homes[0] if homes else ""


def home_wards(registry: Registry, wards: WardTable) -> list[str]:
    """The district's own wards at the level its programmes were assigned (the wards valid on
    the registry's first start), in the ward table's order; wards of other districts (the
    comparison wards) are left out. What a plan's ``wards: all`` runs."""
    first = registry.pilots["start"].min() if len(registry.pilots) else None
    level = wards.level(first)
    frame = wards.frame(level.codes)
    homes = home_districts(registry, wards)
    if homes:
        frame = frame[frame["district"].isin(homes)]
    return frame["ward"].tolist()


#: the registry's review dates and their names (Vietnamese, English; the English catalogue
#: adds the Vietnamese term: "interim review (sơ kết)")
REVIEWS = {
    "interim_review": say("interim review"),
    "final_review": say("final review"),
}


def as_registry(registry: Registry | str | Path) -> Registry:
    """A registry given as the object or as the path of its YAML file."""
    if isinstance(registry, Registry):
        return registry
    if isinstance(registry, str | Path):
        return load_registry(registry)
    raise DataError(
        f"argument 'registry' must be a Registry or the path of a registry YAML file, got "
        f"{type(registry).__name__}"
    )
