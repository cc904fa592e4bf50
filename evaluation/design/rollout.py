"""A randomised rollout schedule, and the power of the analysis each candidate schedule allows.

When a pilot is to be rolled out to the remaining wards in waves, the order in which wards join
decides whether the rollout itself is evidence: if the wards of each wave are drawn at random,
the not-yet-treated wards are a valid comparison for the treated ones, and randomization
inference over the *same* draw is exact however few wards there are (Fisher 1935; MacKinnon &
Webb 2020, *J. Econometrics* 218(2)). :func:`rollout_schedule` makes that draw, reproducibly,
balanced within strata (e.g. the urban class of the ward table), and records how it was made
so it can be written into the pilot registry; a proposed schedule never starts before the end
of the data (``data_end``). :func:`registered_schedule` reads the registry's own schedule of a
programme as the same kind of object. :func:`compare_designs` says, for candidate schedules
(the registry's, 3 random waves of 4, 4 of 3, 6 of 2, everyone at once), how large an effect
the analysis that will be run can detect (:mod:`evaluation.design.power`), and
:meth:`DesignComparison.explain` why two of them differ. Each schedule names itself
(:meth:`RolloutSchedule.name`: "đăng ký hiện tại: 4+4+4 phường, bắt đầu 01/07/2024, …" against
"đề xuất: 3 đợt ngẫu nhiên × 4 phường, bắt đầu …"), so that two designs compared are never
mistaken for one another.

The assignment mechanism, exactly (what the randomization test must permute):

1. the strata are taken in sorted order, the units of each stratum in sorted order, and each
   stratum's units are shuffled with ``numpy.random.default_rng(seed)``;
2. the shuffled units, stratum after stratum, are dealt the wave labels of a fixed balanced
   sequence (at step k the wave furthest below its share k·m_w/n of the n units, ties to the
   earlier wave), so each stratum is spread over the waves as evenly as the wave sizes allow.

The number of units of each stratum in each wave is therefore fixed by the stratum sizes and
the wave sizes, and given those counts every assignment of the stratum's units is equally
likely: the randomization distribution is "permute the wave starts within strata", which is
what :func:`~evaluation.inference.randomization.randomization_inference` with ``strata=`` and
the power simulation with ``strata=`` do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.data.registry import Registry, add_cohort
from evaluation.data.wards import WardTable
from evaluation.design.power import MDEResult, PowerResult, power_and_mde
from evaluation.design.power_results import unit_words
from evaluation.design.reviews import period_step
from evaluation.errors import DataError, examples
from evaluation.formats import date_text, number, percent
from evaluation.i18n import Text, both, say, say_in, text

__all__ = [
    "DesignComparison",
    "RolloutSchedule",
    "compare_designs",
    "registered_schedule",
    "rollout_schedule",
    "stratum_text",
]

METHOD = (
    "stratified permuted assignment: units shuffled within each stratum "
    "(numpy.random.default_rng(seed), PCG64) and dealt a fixed balanced sequence of wave "
    "labels, so the number of units of each stratum in each wave is fixed and every "
    "assignment with those counts is equally likely"
)


@dataclass
class RolloutSchedule:
    """A drawn rollout: ``table`` (columns ``unit``, ``wave``, ``start``, ``stratum``) and
    ``record`` — how it was drawn (seed, method, strata, wave sizes, units per stratum and
    wave) — so that anyone can redraw it and the analysis can permute the same mechanism."""

    table: pd.DataFrame
    record: dict[str, Any]
    strata: str | None = None

    @property
    def wave_sizes(self) -> dict[str, int]:
        return dict(self.record["wave_sizes"])

    @property
    def randomised(self) -> bool:
        """Whether the schedule was drawn at random (:func:`rollout_schedule`), not read from
        the registry (:func:`registered_schedule`)."""
        return bool(self.record.get("randomised", True))

    def name(self, lang: str = "vi") -> str:
        """The design in a few words that tell it from any other compared with it: where it
        comes from (the registry, or a proposal drawn at random), the wards per wave and every
        wave's start — "đăng ký hiện tại: 4+4+4 phường, bắt đầu 01/07/2024, 01/09/2024,
        01/11/2024" against "đề xuất: 3 đợt ngẫu nhiên × 4 phường, bắt đầu 01/01/2026, …"."""
        sizes = list(self.wave_sizes.values())
        starts = ", ".join(_start_text(s) for s in self.record["wave_starts"].values())
        n, k = sum(sizes), len(sizes)
        joined = "+".join(str(m) for m in sizes)
        if not self.randomised:
            return say_in("current registry: {sizes} wards, starting {starts}", lang,
                          sizes=joined, starts=starts)  # fmt: skip
        if k == 1:
            return say_in("proposal: all {n} wards at once, starting {starts}", lang,
                          n=str(n), starts=starts)  # fmt: skip
        if len(set(sizes)) == 1:
            return say_in(
                "proposal: {k} random waves of {size} wards, starting {starts}",
                lang,
                k=str(k),
                size=str(sizes[0]),
                starts=starts,
            )
        return say_in(
            "proposal: {k} random waves ({sizes} wards), starting {starts}",
            lang,
            k=str(k),
            sizes=joined,
            starts=starts,
        )

    def to_registry(self, programme: str, **fields: Any) -> dict[str, Any]:
        """The schedule as pilot-registry entries ``{ward, programme, start, wave}`` (plus
        ``fields``, e.g. ``final_review="2024-12-20"``) and the draw's record under
        ``randomisation`` — the format of ``params/pilots.yaml``
        (:mod:`evaluation.data.registry`)."""
        entries = []
        for row in self.table.itertuples(index=False):
            entry = {
                "ward": row.unit,
                "programme": programme,
                "start": _iso(row.start),
                "wave": str(row.wave),
            }
            entry.update({k: _iso(v) for k, v in fields.items()})
            entries.append(entry)
        return {"pilots": entries, "randomisation": {programme: jsonable(self.record)}}

    def registry_yaml(self, programme: str, **fields: Any) -> str:
        """:meth:`to_registry` as YAML text, one flow-style entry per line like
        ``params/pilots.yaml``, to paste under its ``pilots:`` (and ``randomisation:``)."""
        import yaml

        doc = self.to_registry(programme, **fields)
        lines = ["pilots:"]
        for e in doc["pilots"]:
            inner = ", ".join(f"{k}: {_yaml_scalar(v)}" for k, v in e.items())
            lines.append(f"  - {{{inner}}}")
        lines.append(
            yaml.safe_dump(
                {"randomisation": doc["randomisation"]}, allow_unicode=True, sort_keys=False
            ).rstrip()
        )
        return "\n".join(lines) + "\n"

    def with_cohort(
        self,
        panel: pd.DataFrame,
        *,
        unit: str = "ward",
        time: str = "period_start",
        fixed: Mapping[str, Any] | None = None,
        name: str = "cohort",
    ) -> pd.DataFrame:
        """``panel`` with the schedule's ``cohort`` (the period containing each start, as
        :func:`evaluation.data.registry.add_cohort` makes it; starts after the panel: not
        treated) and the randomisation ``stratum`` of each unit. ``fixed`` maps units outside
        the schedule (the pilot) to their start; they and the units in neither are strata of
        their own, never permuted."""
        fixed = dict(fixed or {})
        rows = [
            {"ward": u, "programme": "_plan", "start": pd.Timestamp(s)} for u, s in fixed.items()
        ]
        rows += [
            {"ward": r.unit, "programme": "_plan", "start": pd.Timestamp(r.start)}
            for r in self.table.itertuples(index=False)
        ]
        registry = Registry({"_plan": {}}, pd.DataFrame(rows), "the rollout schedule")
        out = add_cohort(
            panel,
            registry,
            "_plan",
            ward=unit,
            time=time,
            name=name,
            outside="never",
            missing_wards="error",
        )
        stratum = dict(zip(self.table["unit"], self.table["stratum"], strict=True))
        stratum |= {u: f"fixed: {u}" for u in fixed}
        out["stratum"] = out[unit].map(stratum).fillna("not in the rollout")
        return out


def _start_text(v: Any) -> str:
    """A wave's start as the pages write it: dd/mm/yyyy for a date, the number for a period."""
    if isinstance(v, str | pd.Timestamp | np.datetime64):
        return date_text(pd.Timestamp(v))
    return str(v)


def _iso(v: Any) -> Any:
    if isinstance(v, pd.Timestamp | np.datetime64):
        return pd.Timestamp(v).date().isoformat()
    if isinstance(v, np.generic):
        return v.item()
    return v


def _yaml_scalar(v: Any) -> str:
    if isinstance(v, str) and (v[:1].isdigit() or v in ("", "yes", "no", "on", "off")):
        return f"'{v}'"
    return str(v)


def _wave_sizes(waves: Any, n: int) -> list[int]:
    if isinstance(waves, int | np.integer) and not isinstance(waves, bool):
        if not 1 <= waves <= n:
            raise DataError(
                f"argument 'waves': {waves} waves for {n} units; give a number from 1 to {n}, or "
                "the list of wave sizes (e.g. [4, 4, 4])"
            )
        base, extra = divmod(n, int(waves))
        return [base + (w < extra) for w in range(int(waves))]
    try:
        sizes = [int(x) for x in waves]
    except (TypeError, ValueError):
        raise DataError(
            f"argument 'waves' must be a number of waves or a list of wave sizes, got {waves!r}"
        ) from None
    if any(x < 1 for x in sizes) or sum(sizes) != n:
        raise DataError(
            f"argument 'waves': sizes {sizes} must be positive and add up to the {n} units to "
            f"schedule (they add up to {sum(sizes)})"
        )
    return sizes


def _balanced_sequence(sizes: list[int]) -> list[int]:
    """Wave index for each of the n positions: at step k the wave furthest below its share
    k·m_w/n (ties to the earlier wave) — a fixed interleaving, so consecutive units (one
    stratum) are spread over the waves in proportion to their sizes."""
    n = sum(sizes)
    taken = [0] * len(sizes)
    seq = []
    for k in range(n):
        gaps = [
            (sizes[w] * (k + 1) / n - taken[w]) if taken[w] < sizes[w] else -math.inf
            for w in range(len(sizes))
        ]
        w = int(np.argmax(gaps))
        taken[w] += 1
        seq.append(w)
    return seq


def _starts(first_start: Any, spacing: Any, n_waves: int) -> list[Any]:
    """Start of each wave: first_start + w·spacing (dates with an offset such as "2MS",
    "8W" or pd.DateOffset(months=2); numbers with a number)."""
    if isinstance(first_start, int | float | np.integer | np.floating) and not isinstance(
        first_start, bool
    ):
        if not isinstance(spacing, int | float | np.integer | np.floating):
            raise DataError(
                f"argument 'spacing' must be a number when 'first_start' is a period number, got "
                f"{spacing!r}"
            )
        return [first_start + w * spacing for w in range(n_waves)]
    start = _read(
        first_start,
        (pd.Timestamp,),
        "argument 'first_start' must be a date (e.g. '2024-07-01') or a period number",
    )
    step = _read(
        spacing,
        (pd.tseries.frequencies.to_offset, pd.Timedelta),
        "argument 'spacing' must be a period such as '2MS' (two months, on the 1st), '8W', "
        "'61D' or pd.DateOffset(months=2)",
    )
    return [start + w * step for w in range(n_waves)]


def _read(value: Any, readers: Sequence[Callable[[Any], Any]], wanted: str) -> Any:
    """``value`` as read by the first of ``readers`` that accepts it; a DataError saying what
    was ``wanted`` when none does."""
    for read in readers:
        try:
            return read(value)
        except (TypeError, ValueError):
            continue
    raise DataError(f"{wanted}, got {value!r}")


def _unit_strata(
    units: list[str], strata: Any, wards: WardTable | None, on: Any = None
) -> tuple[list[str], str | None]:
    if strata is None:
        return ["all"] * len(units), None
    if isinstance(strata, str):
        if wards is None:
            raise DataError(
                f"argument 'strata': {strata!r} names a column of the ward table — pass the "
                "district's ward table too (wards=ev.load_wards(...)), or a mapping unit → stratum"
            )
        table = wards.table
        if strata not in table.columns:
            raise DataError(
                f"argument 'strata': {strata!r} is not a column of the ward table {wards.source} "
                f"({examples(list(table.columns), 14)}); pass one of them (e.g. 'urban_class') "
                "or a mapping unit → stratum"
            )
        out = []
        for u in units:
            code = wards.code(u, on, source="argument 'units'")
            value = table.loc[table["ward_code"] == code, strata]
            if value.empty or pd.isna(value.iloc[0]) or str(value.iloc[0]) == "":
                raise DataError(
                    f"argument 'strata': ward {u!r} has no {strata!r} in the ward table {wards.source}"
                )
            out.append(str(value.iloc[0]))
        return out, strata
    if isinstance(strata, Mapping | pd.Series):
        missing = [u for u in units if u not in strata]
        if missing:
            raise DataError(
                f"argument 'strata': no stratum for unit(s) {examples(missing)}; give every "
                "unit one"
            )
        return [str(strata[u]) for u in units], "given"
    raise DataError(
        f"argument 'strata' must be None, a column of the ward table (e.g. 'urban_class') or a "
        f"mapping unit → stratum, got {strata!r}"
    )


def rollout_schedule(
    units: Sequence[str],
    *,
    waves: int | Sequence[int],
    first_start: Any,
    spacing: Any,
    strata: str | Mapping[str, Any] | None = None,
    seed: int,
    wave_names: Sequence[str] | None = None,
    wards: WardTable | None = None,
    data_end: Any = None,
) -> RolloutSchedule:
    """Assign ``units`` to rollout waves at random, balanced within strata, from ``seed``.

    Parameters
    ----------
    units
        The units (wards) still to be treated, e.g. the 12 wards after the pilot.
    waves
        Number of waves (sizes as equal as possible) or the list of wave sizes.
    first_start, spacing
        Start of the first wave and the time between waves: dates with a pandas offset
        (``"2MS"``, ``"8W"``, ``pd.DateOffset(months=2)``), or period numbers with a number.
    strata
        None, a column of the district's ward table ``wards`` (e.g. ``"urban_class"``), or a
        mapping unit → stratum: each stratum is spread over the waves as evenly as the wave
        sizes allow.
    seed
        Seed of ``numpy.random.default_rng``: the same seed gives the same schedule.
    wave_names
        Labels of the waves (default A, B, C, …).
    wards
        The district's ward table (``ev.load_wards``), needed when ``strata`` names a column.
    data_end
        The last day of the data. A schedule proposed now starts after it: a ``first_start``
        on or before it is refused (a schedule "drawn" for waves that already happened
        contradicts the registry).

    Returns
    -------
    RolloutSchedule
        The schedule and the record of its draw (see the module docstring for the exact
        mechanism the analysis must permute).

    References
    ----------
    MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for
    difference-in-differences with few treated clusters. *J. Econometrics* 218(2), 435–450.
    Imbens, G. W. & Rubin, D. B. (2015). *Causal Inference*, ch. 9 (stratified randomized
    experiments).
    """
    if isinstance(units, str) or not isinstance(
        units, Sequence | pd.Index | pd.Series | np.ndarray
    ):
        raise DataError(f"argument 'units' must be a list of unit (ward) names, got {units!r}")
    names = [str(u) for u in units]
    dup = sorted({u for u in names if names.count(u) > 1})
    if dup or not names:
        raise DataError(
            "argument 'units' must list each unit once; "
            + (f"repeated: {examples(dup)}" if dup else "it is empty")
        )
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool):
        raise DataError(
            f"argument 'seed' must be a whole number (write it down: it reproduces the draw), "
            f"got {seed!r}"
        )
    sizes = _wave_sizes(waves, len(names))
    labels = (
        list(wave_names) if wave_names is not None else [chr(65 + w) for w in range(len(sizes))]
    )
    if len(labels) != len(sizes):
        raise DataError(
            f"argument 'wave_names': {len(labels)} names for {len(sizes)} waves; give one per wave"
        )
    starts = _starts(first_start, spacing, len(sizes))
    if data_end is not None and _not_after(starts[0], data_end):
        raise DataError(
            f"argument 'first_start': the schedule would start on {_start_text(starts[0])}, not "
            f"after the end of the data ({_start_text(data_end)}); a proposed schedule starts "
            "in the future — pass a later first_start (e.g. the first of the next month)"
        )
    on = first_start if isinstance(first_start, str | pd.Timestamp) else None
    stratum_of, strata_name = _unit_strata(names, strata, wards, on)
    rng = np.random.default_rng(int(seed))
    order: list[str] = []
    for s in sorted(set(stratum_of)):
        members = sorted(u for u, g in zip(names, stratum_of, strict=True) if g == s)
        order += [members[i] for i in rng.permutation(len(members))]
    sequence = _balanced_sequence(sizes)
    wave_of = dict(zip(order, sequence, strict=True))
    stratum = dict(zip(names, stratum_of, strict=True))
    table = pd.DataFrame(
        {
            "unit": order,
            "wave": [labels[wave_of[u]] for u in order],
            "start": [starts[wave_of[u]] for u in order],
            "stratum": [stratum[u] for u in order],
        }
    )
    table = table.sort_values(["start", "unit"], kind="stable").reset_index(drop=True)
    counts = table.groupby(["stratum", "wave"]).size().unstack(fill_value=0)
    record = {
        "seed": int(seed),
        "method": METHOD,
        "strata": strata_name if strata_name != "given" else "given mapping",
        "wave_sizes": {labels[w]: int(m) for w, m in enumerate(sizes)},
        "wave_starts": {labels[w]: _iso(starts[w]) for w in range(len(sizes))},
        "units_per_stratum_and_wave": {
            str(s): {str(w): int(counts.loc[s, w]) for w in counts.columns} for s in counts.index
        },
        "generator": f"numpy {np.__version__} default_rng (PCG64)",
        "units": sorted(names),
        "randomised": True,
    }
    return RolloutSchedule(table, record, strata_name)


def _not_after(start: Any, end: Any) -> bool:
    if isinstance(start, pd.Timestamp):
        return start <= pd.Timestamp(end)
    return start <= end


def registered_schedule(
    registry: Registry, programme: str, units: Sequence[str] | None = None
) -> RolloutSchedule:
    """The registry's own schedule of ``programme`` (or of ``units`` among its wards) as a
    :class:`RolloutSchedule`, so that it can be compared with proposals drawn at random.

    Its waves are the registry's ``wave`` labels (the start date when an entry has none). It
    was not drawn within strata, so the power simulation permutes its starts over all its
    wards (one stratum, ``"all"``) — the design-based test the workbench can run on it.
    """
    entries = registry.for_programme(programme)
    if units is not None:
        unknown = [u for u in units if u not in set(entries["ward"])]
        if unknown:
            raise DataError(
                f"argument 'units': {examples(unknown)} have no entry for programme "
                f"{programme!r} in {registry.source}"
            )
        entries = entries[entries["ward"].isin(list(units))]
    if entries.empty:
        raise DataError(f"{registry.source}: programme {programme!r} has no entries to compare")
    waves = entries["wave"].astype(str) if "wave" in entries else None
    if waves is None:
        waves = entries["start"].map(_iso)
    else:
        waves = waves.where(~waves.isin(["", "nan", "None"]), entries["start"].map(_iso))
    table = pd.DataFrame(
        {
            "unit": entries["ward"].astype(str).to_numpy(),
            "wave": waves.to_numpy(),
            "start": pd.to_datetime(entries["start"]).to_numpy(),
            "stratum": "all",
        }
    )
    table = table.sort_values(["start", "unit"], kind="stable").reset_index(drop=True)
    order = table.drop_duplicates("wave")
    record = {
        "seed": None,
        "method": f"as registered in {registry.source} (not drawn at random)",
        "strata": None,
        "wave_sizes": {str(w): int((table["wave"] == w).sum()) for w in order["wave"]},
        "wave_starts": {
            str(w): _iso(s) for w, s in zip(order["wave"], order["start"], strict=True)
        },
        "units_per_stratum_and_wave": {
            "all": {str(w): int((table["wave"] == w).sum()) for w in order["wave"]}
        },
        "units": sorted(table["unit"]),
        "randomised": False,
    }
    return RolloutSchedule(table, record, None)


# --------------------------------------------------------------------------------------------
# Comparing candidate designs


@dataclass
class DesignComparison:
    """Power and MDE of the planned analysis under each candidate design.

    ``table`` has one row per design: ``design``, ``name_vi`` and ``name_en`` (the schedule's
    own name, :meth:`RolloutSchedule.name`), ``randomised``, ``waves`` (sizes),
    ``n_not_started`` (rollout units still untreated when the data end — the comparison group
    that remains), ``n_never`` (units outside the schedule never treated: comparison wards),
    ``n_treated_periods`` (treated unit × period cells by the end: the data on the effect),
    ``mean_comparisons`` (untreated units at the period of each such cell, on average: what it
    is compared with),
    ``n_assignments`` (distinct assignments the randomization test permutes), ``strata``,
    ``inference``, ``power`` and ``mc_se`` at the effect of interest, ``mde`` and
    ``mde_percent`` (NaN with a note when the design has no comparison), ``note`` and
    ``note_vi``. ``results`` maps a design to its (PowerResult, MDEResult); ``horizon`` is the
    last period the analysis uses and ``period_words`` the period in words ("tuần", "weeks")."""

    table: pd.DataFrame
    effect: float
    results: dict[str, tuple[PowerResult | None, MDEResult | None]] = field(default_factory=dict)
    sentences_vi: list[str] = field(default_factory=list)
    sentences_en: list[str] = field(default_factory=list)
    horizon: Any = None
    period_words: Text = say("periods")
    outcome_unit: tuple[str, str] = ("", "")

    def explain(self, a: str, b: str) -> Text:
        """Why designs ``a`` and ``b`` differ in power, in Vietnamese and English: their power
        at the effect of interest; whether the difference is within the simulation's error
        (two Monte-Carlo standard errors of the difference); if it is not, the features of the
        designs that decide power, side by side — the treated ward-periods by the end (the data
        on the effect), the untreated wards each is compared with on average, and the
        assignments the permutation test draws from — without claiming which of them made the
        difference. A design without a test (everyone at once) gets its note instead."""
        t = self.table.set_index("design")
        for name in (a, b):
            if name not in t.index:
                raise DataError(
                    f"DesignComparison.explain: no design {name!r}; the designs compared are "
                    f"{examples(list(t.index))}"
                )
        ra, rb = t.loc[a], t.loc[b]
        name_a, name_b = (Text(r["name_vi"], r["name_en"]) for r in (ra, rb))
        if any(pd.isna(r["power"]) for r in (ra, rb)):
            none = ra if pd.isna(ra["power"]) else rb
            return say(
                "“{name}”: {note}.",
                name=name_a if none is ra else name_b,
                note=Text(none["note_vi"], none["note"]),
            )
        effect = Text(
            *(
                number(self.effect, 1, lang) + (f" {unit}" if unit else "")
                for lang, unit in zip(Text._fields, self.outcome_unit, strict=True)
            )
        )
        pa, pb = float(ra["power"]), float(rb["power"])
        words = [
            say(
                "An effect of {effect} is detected with probability {power_a} under “{a}” and "
                "{power_b} under “{b}”.",
                effect=effect,
                power_a=both(percent, 100 * pa, 0),
                power_b=both(percent, 100 * pb, 0),
                a=name_a,
                b=name_b,
            )
        ]
        noise = 2 * math.hypot(float(ra["mc_se"]), float(rb["mc_se"]))
        if abs(pa - pb) <= noise:
            words.append(
                say(
                    "The difference is within the simulation's error (±{noise} percentage "
                    "points): the two designs are about equal.",
                    noise=both(number, 100 * noise, 0),
                )
            )
            return _joined(words)
        end = _start_text(self.horizon) if self.horizon is not None else "—"

        def count(r, column: str, digits: int = 0) -> Text:
            return both(number, float(r[column]), digits)

        words.append(
            say(
                "Power depends on the treated ward-{periods} (the data on the effect) and on how "
                "many untreated wards each of them is compared with: starting many wards early "
                "gives more data on the effect but leaves fewer wards to compare with. By the "
                "last period ({end}), “{a}” has {treated_a} treated ward-{periods}, each compared "
                "with {compared_a} wards on average; “{b}” has {treated_b}, compared with "
                "{compared_b}.",
                periods=Text(*self.period_words),
                end=end,
                a=name_a,
                b=name_b,
                treated_a=count(ra, "n_treated_periods"),
                treated_b=count(rb, "n_treated_periods"),
                compared_a=count(ra, "mean_comparisons", 1),
                compared_b=count(rb, "mean_comparisons", 1),
            )
        )
        if int(ra["n_assignments"]) != int(rb["n_assignments"]) or ra["strata"] != rb["strata"]:
            words.append(
                say(
                    "The permutation test of “{a}” draws from {ways_a} ways to assign the waves "
                    "({strata_a}), that of “{b}” from {ways_b} ({strata_b}), each as its schedule "
                    "was made; with fewer ways, the smallest p-value it can reach is larger.",
                    a=name_a,
                    b=name_b,
                    ways_a=count(ra, "n_assignments"),
                    ways_b=count(rb, "n_assignments"),
                    strata_a=_strata_words(ra["strata"]),
                    strata_b=_strata_words(rb["strata"]),
                )
            )
        words.append(say("The rest comes from which wards fall into which wave."))
        return _joined(words)

    def best(self) -> str | None:
        """The design with the smallest MDE (None when none can detect anything)."""
        t = self.table.dropna(subset=["mde"])
        return None if t.empty else str(t.loc[t["mde"].abs().idxmin(), "design"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "effect": self.effect,
            "table": jsonable(self.table),
            "sentences_vi": self.sentences_vi,
            "sentences_en": self.sentences_en,
        }


def compare_designs(
    data: pd.DataFrame,
    designs: Mapping[str, RolloutSchedule],
    *,
    effect: float,
    outcome: str,
    unit: str = "ward",
    time: str = "period_start",
    fixed: Mapping[str, Any] | None = None,
    end: Any = None,
    estimator: str = "att_gt",
    options: Mapping[str, Any] | None = None,
    aggregation: str = "simple",
    power: float = 0.8,
    level: float = 0.95,
    direction: str | None = None,
    reps: int = 500,
    permutations: int = 999,
    seed: int = 0,
    scale: str = "additive",
    outcome_unit: str | Sequence[str] | None = None,
) -> DesignComparison:
    """Power and MDE of the analysis each candidate rollout design allows, on the observed panel.

    For each design the planned starts become the ``cohort`` column of ``data`` (units in
    ``fixed``, e.g. the pilot, keep their start); the analysis is ``estimator`` (default
    Callaway & Sant'Anna's ATT with not-yet-treated comparisons, ``aggregation="simple"``) with
    the inference ``"auto"`` chooses — randomization inference with 13 wards — over *exactly*
    the design's assignment mechanism: starts permuted within the schedule's strata, wave
    sizes fixed, fixed units never moved. Power and MDE are simulated on ``data`` by
    :func:`evaluation.design.power.power_and_mde` (the same mechanism re-draws the schedule in
    each replication).

    Parameters
    ----------
    data
        Balanced ward × period panel of the outcome *without* the programme's effect (e.g. the
        untreated history laid on the planned calendar, :func:`evaluation.design.reviews.
        planning_panel`).
    designs
        Name → :class:`RolloutSchedule` (e.g. ``{"3 × 4": rollout_schedule(..., waves=3)}``).
    effect
        The effect of interest in outcome units (e.g. −3 minutes).
    fixed
        Units outside the schedules with their start (the pilot ward).
    end
        Last date the analysis uses (e.g. the final review); default: all of ``data``.
    reps, permutations
        Simulated schedules per design and the analysis's re-assignments (all of them when
        there are at most ``permutations``).

    Returns
    -------
    DesignComparison
        A design in which every rollout unit starts at once has no comparison within the
        rollout: its row says so instead of giving a number.
    """
    if not isinstance(designs, Mapping) or not designs:
        raise DataError(
            "argument 'designs' must map a name to a RolloutSchedule, e.g. {'3 waves of 4': "
            "rollout_schedule(wards, waves=3, ...)}"
        )
    for name, d in designs.items():
        if not isinstance(d, RolloutSchedule):
            raise DataError(
                f"argument 'designs': {name!r} is a {type(d).__name__}; give the result of "
                "rollout_schedule(...)"
            )
    effect = float(effect)
    direction = direction or ("decrease" if effect < 0 else "increase")
    panel = data if end is None else data[pd.to_datetime(data[time]) <= pd.Timestamp(end)]
    options = {"control": "notyet"} if options is None and estimator == "att_gt" else options
    rows, results, vi, en = [], {}, [], []
    for name, schedule in designs.items():
        planned = schedule.with_cohort(panel, unit=unit, time=time, fixed=fixed)
        sizes = "+".join(str(v) for v in schedule.wave_sizes.values())
        row = {
            "design": name,
            "name_vi": schedule.name("vi"),
            "name_en": schedule.name("en"),
            "randomised": schedule.randomised,
            "waves": sizes,
            "strata": schedule.strata or "all",
        }
        rolled = planned[planned["stratum"].isin(set(schedule.table["stratum"]))]
        starts = rolled.groupby(unit)["cohort"].first()
        # wards of the rollout still untreated when the data end: the comparison that remains
        row["n_not_started"] = int(starts.isna().sum())
        outside = planned[planned["stratum"] == "not in the rollout"]
        row["n_never"] = int(outside.groupby(unit)["cohort"].first().isna().sum())
        cells = planned[[unit, time, "cohort"]].drop_duplicates([unit, time])
        treated = cells["cohort"].notna() & (cells[time] >= cells["cohort"])
        on = cells[treated & cells[unit].isin(starts.index)]
        row["n_treated_periods"] = int(len(on))
        # untreated wards at each period: what every treated ward-period is compared with
        untreated = cells[~treated].groupby(time).size()
        row["mean_comparisons"] = (
            float(untreated.reindex(on[time]).fillna(0).mean()) if len(on) else 0.0
        )
        if starts.nunique(dropna=False) <= 1:
            if row["n_never"]:
                # a comparison with the wards outside the rollout remains, but nothing was left
                # to chance: no other assignment exists for a design-based test
                note = say(
                    "every ward of the rollout starts at once: the only comparison left is with "
                    "the wards outside the rollout ({n}), and there is no other assignment of the "
                    "starts for a permutation test to draw from",
                    n=both(number, row["n_never"], 0),
                )
            else:
                note = say(
                    "every ward of the rollout starts at once: no ward is left to compare with, "
                    "so the rollout's own effect cannot be estimated (only a before/after "
                    "comparison remains)"
                )
            rows.append(
                row | {"n_assignments": 1, "inference": "none", "note": note.en, "note_vi": note.vi}
            )
            results[name] = (None, None)
            shown = Text(name, row["name_en"] if name == row["name_vi"] else name)
            words = say("{name}: {note}.", name=shown, note=note)
            vi.append(words.vi)
            en.append(words.en)
            continue
        pw, md = power_and_mde(
            planned,
            outcome,
            unit,
            time,
            "cohort",
            effect=effect,
            power=power,
            direction=direction,
            outcome_unit=outcome_unit,
            estimator=estimator,
            options=options,
            aggregation=aggregation,
            strata="stratum",
            level=level,
            reps=reps,
            permutations=permutations,
            seed=seed,
            scale=scale,
        )
        results[name] = (pw, md)
        rows.append(
            row
            | {
                "n_assignments": pw.n_assignments,
                "inference": pw.inference_method,
                "power": pw.power,
                "mc_se": pw.mc_se,
                "mde": md.mde,
                "mde_percent": md.mde_percent,
                "note": "" if md.detectable else md.sentence_en,
                "note_vi": "" if md.detectable else md.sentence_vi,
            }
        )
        shown = Text(name, schedule.name("en") if name == schedule.name("vi") else name)
        words = _design_sentence(shown, md, power, effect, pw.power)
        vi.append(words.vi)
        en.append(words.en)
    columns = [
        "design",
        "name_vi",
        "name_en",
        "randomised",
        "waves",
        "n_not_started",
        "n_never",
        "n_treated_periods",
        "mean_comparisons",
        "n_assignments",
        "strata",
        "inference",
        "power",
        "mc_se",
        "mde",
        "mde_percent",
        "note",
        "note_vi",
    ]
    table = pd.DataFrame(rows).reindex(columns=columns)
    horizon, words = panel[time].max(), say("periods")
    if not pd.api.types.is_numeric_dtype(panel[time]):
        grid = pd.DatetimeIndex(sorted(pd.to_datetime(panel[time].unique())))
        horizon = grid[-1]
        words = period_step(grid)[1] if len(grid) > 1 else words
    return DesignComparison(
        table,
        effect,
        results,
        vi,
        en,
        horizon=horizon,
        period_words=words,
        outcome_unit=unit_words(outcome_unit),
    )


def _joined(sentences: Sequence[Text]) -> Text:
    """Whole sentences one after another, language by language."""
    return Text(" ".join(t.vi for t in sentences), " ".join(t.en for t in sentences))


#: the ward table's urban classes in words (Vietnamese, English)
STRATUM_WORDS = {
    "dense": say("dense"),
    "mid": say("mid"),
    "peri-urban": say("peri-urban"),
}


def stratum_text(value: Any) -> str:
    """A stratum as a page shows it, "ven đô / peri-urban" (other values as they are)."""
    vi, en = STRATUM_WORDS.get(str(value), (str(value), ""))
    return f"{vi} / {en}" if en and en != vi else vi


#: ward-table columns a schedule is commonly stratified by, in words
STRATA_WORDS = {"urban_class": say("ward type")}


def _strata_words(strata: Any) -> Text:
    """How a schedule's permutation test shuffles: every ward, or within each stratum."""
    if strata in (None, "", "all") or (isinstance(strata, float) and math.isnan(strata)):
        return say("shuffling every ward")
    return say(
        "shuffling within each {column}",
        column=STRATA_WORDS.get(str(strata), text(str(strata))),
    )


def _design_sentence(name: Text, md: MDEResult, power: float, effect: float, at: float) -> Text:
    """What design ``name`` detects at the target ``power`` (its MDE ``md``), and its power
    ``at`` the effect of interest ``effect``."""
    values = {
        "name": name,
        "power": both(percent, 100 * power, 0),
        "effect": both(number, effect, 1),
        "probability": both(percent, 100 * at, 0),
    }
    if not md.detectable:
        return say(
            "{name}: detects no effect with {power} power; an effect of {effect} is detected "
            "with probability {probability}.",
            **values,
        )
    units = md.curve.details.get("outcome_unit") or ("", "")
    amount = Text(
        *(
            number(abs(md.mde), 2, lang)
            + (f" {unit}" if unit else "")
            + f" ({percent(abs(md.mde_percent), 0, lang)})"
            for lang, unit in zip(Text._fields, units, strict=True)
        )
    )
    if md.mde < 0:
        return say(
            "{name}: detects a reduction of {amount} with {power} power; an effect of {effect} "
            "is detected with probability {probability}.",
            amount=amount,
            **values,
        )
    return say(
        "{name}: detects an increase of {amount} with {power} power; an effect of {effect} is "
        "detected with probability {probability}.",
        amount=amount,
        **values,
    )
