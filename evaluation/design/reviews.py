"""The interim-review planner: what the planned analysis can detect at each review date.

A programme's registry entries carry review dates — ``interim_review`` (sơ kết) and
``final_review`` (tổng kết). At each date the analysis will see only the data that exist
then: the periods completed by that date, with the wards whose start has passed treated. This
module computes, for each review, the minimum detectable effect (Bloom 1995) and the power of
that analysis by simulation (:mod:`evaluation.design.power`; Burlig, Preonas & Woerman 2020),
and says it in one sentence per review in Vietnamese and English.

The outcome used for planning must not contain the programme's own effect, or the simulation
would add the planned effect on top of a real one. :func:`planning_panel` therefore takes the
*untreated history* — the periods before the programme's first start in the data — and lays the
planned calendar onto it: the review's post-period (from the first start to the review) and as
much pre-period as the history leaves. The planned analysis will have every period from the
start of the data, but the history holds only that many untreated periods, so the pre-period
is shrunk by the length of the post-period; the result says so. The history keeps its order
and its serial correlation; it is only relabelled.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.data.registry import REVIEWS, Registry, add_cohort, as_registry
from evaluation.design.power import MDEResult, PowerResult, power_and_mde
from evaluation.errors import DataError, DesignError, examples
from evaluation.formats import date_text, number, percent
from evaluation.i18n import Text, both, say, text

__all__ = [
    "PlanningPanel",
    "ReviewPlan",
    "period_step",
    "planning_panel",
    "review_plan",
]

#: fewest pre-periods a planning panel may keep
MIN_PRE = 5


@dataclass
class PlanningPanel:
    """The untreated history relabelled with the planned calendar.

    ``data`` has the unit, the calendar period (``time``), the outcome and ``history_time``
    (the period the value really comes from); ``n_pre`` periods before ``first_period`` (the
    period of the first start) and ``n_post`` from it to the review; ``n_pre_planned`` is the
    pre-period the analysis itself will have; ``shrunk`` says whether the history forced a
    shorter one, and ``note_vi``/``note_en`` say so in words.
    """

    data: pd.DataFrame
    first_period: pd.Timestamp
    n_pre: int
    n_post: int
    n_pre_planned: int
    shrunk: bool
    period_words: Text
    note_vi: str = ""
    note_en: str = ""


def period_step(grid: pd.DatetimeIndex):
    """The spacing of a period grid and its name (``("tuần", "weeks")``): a calendar month
    when every period starts on the same day of consecutive months, else the usual
    difference (a week for weekly data)."""
    if len(grid) < 2:
        raise DataError("the panel needs at least two periods to plan on")
    months = grid.year * 12 + grid.month
    if (grid.day == grid[0].day).all() and (np.diff(months) == 1).all():
        return pd.DateOffset(months=1), say("months")
    step = pd.Series(grid).diff().median()
    words = say("weeks") if step == pd.Timedelta(days=7) else say("periods")
    return step, words


def planning_panel(
    data: pd.DataFrame,
    *,
    outcome: str,
    first_start: Any,
    until: Any,
    unit: str = "ward",
    time: str = "period_start",
    min_pre: int = MIN_PRE,
) -> PlanningPanel:
    """The untreated history laid onto the planned calendar up to ``until`` (a review date).

    Parameters
    ----------
    data
        Long panel with dates in ``time`` (period starts).
    first_start
        The programme's first start: periods before the one containing it are untreated. A
        start after the data (planning a rollout still to come) makes every period of ``data``
        untreated history; the calendar then runs on to the period containing the start.
    until
        The review date: the calendar holds the periods completed by then.
    min_pre
        Fewest pre-periods to keep; a shorter history raises a DataError.
    """
    for arg, col in (("outcome", outcome), ("unit", unit), ("time", time)):
        if col not in data.columns:
            raise DataError(
                f"argument '{arg}': column {col!r} is not in the data (columns: "
                f"{examples(list(data.columns), 12)})"
            )
    times = pd.to_datetime(data[time], errors="coerce")
    if times.isna().any():
        raise DataError(f"argument 'time': column '{time}' must hold dates (period starts)")
    grid = pd.DatetimeIndex(sorted(times.unique()))
    step, words = period_step(grid)
    first_start, until = pd.Timestamp(first_start), pd.Timestamp(until)
    if first_start >= grid[-1] + step:
        # a start after the data (a plan): the whole panel is untreated history, and the
        # calendar runs on, period by period, to the one containing the start
        before = list(grid)
        while before[-1] + step <= first_start:
            before.append(before[-1] + step)
        first_period, pos0, n_hist = before[-1], len(before) - 1, len(grid)
    else:
        pos0 = int(grid.searchsorted(first_start, side="right")) - 1
        if pos0 < 1:
            raise DataError(
                f"the programme starts {date_text(first_start)}, at or before the data's first "
                f"period {date_text(grid[0])}: there is no untreated history to plan on"
            )
        first_period, n_hist = grid[pos0], pos0
    calendar = [first_period]
    while calendar[-1] + step <= until + pd.Timedelta(days=1):  # extend past the data
        calendar.append(calendar[-1] + step)
    post = [t for t in calendar if t + step <= until + pd.Timedelta(days=1)]
    if not post:
        raise DataError(
            f"the review on {date_text(until)} comes before the first period after the start "
            f"({date_text(first_period)}) is complete: there is nothing to analyse yet"
        )
    n_post = len(post)
    n_pre = n_hist - n_post
    if n_pre < min_pre:
        raise DataError(
            f"the untreated history has {n_hist} {words[1]} before {date_text(first_start)}, too "
            f"few for {n_post} {words[1]} after it and at least {min_pre} before: plan with a "
            "shorter horizon, or a panel with a longer history"
        )
    labels = [first_period]
    for _ in range(n_pre):  # the calendar backwards from the first period
        labels.insert(0, labels[0] - step)
    labels += post[1:]
    history = data[times < first_period].copy()
    hist_times = pd.DatetimeIndex(sorted(pd.to_datetime(history[time]).unique()))
    relabel = dict(zip(hist_times, labels, strict=True))
    history["history_time"] = pd.to_datetime(history[time])
    history[time] = history["history_time"].map(relabel)
    shrunk = n_pre < pos0
    note_vi = note_en = ""
    if shrunk:
        note_vi, note_en = say(
            "The untreated history has only {n_history} {periods} before the start, so the "
            "pre-period was shortened from {n_planned} to {n_pre} {periods} to make room for the "
            "{n_post} {periods} after the start.",
            n_history=both(number, n_hist, 0),
            n_planned=both(number, pos0, 0),
            n_pre=both(number, n_pre, 0),
            n_post=both(number, n_post, 0),
            periods=words,
        )
    cols = [unit, time, outcome, "history_time"]
    return PlanningPanel(
        data=history[cols].sort_values([unit, time]).reset_index(drop=True),
        first_period=first_period,
        n_pre=n_pre,
        n_post=n_post,
        n_pre_planned=pos0,
        shrunk=shrunk,
        period_words=words,
        note_vi=note_vi,
        note_en=note_en,
    )


@dataclass
class ReviewPlan:
    """The MDE and power of the planned analysis at each review of a programme.

    ``table``: one row per review — ``review`` (interim_review / final_review), ``date``,
    ``n_treated``, ``n_pre``, ``n_post`` (periods), ``estimator``, ``inference``, ``mde``,
    ``mde_percent``, ``target_power`` (the power the MDE is for), ``power`` and ``mc_se`` (at ``effect``, when given), ``shrunk``,
    ``sentence_vi``, ``sentence_en``. ``results`` holds the (PowerResult, MDEResult) of each.
    """

    programme: str
    table: pd.DataFrame
    effect: float | None
    results: dict[str, tuple[PowerResult | None, MDEResult]] = field(default_factory=dict)
    panels: dict[str, PlanningPanel] = field(default_factory=dict, repr=False)

    @property
    def sentences_vi(self) -> list[str]:
        return list(self.table["sentence_vi"])

    @property
    def sentences_en(self) -> list[str]:
        return list(self.table["sentence_en"])

    def to_dict(self) -> dict[str, Any]:
        return {"programme": self.programme, "effect": self.effect, "table": jsonable(self.table)}


def review_plan(
    data: pd.DataFrame,
    registry: Registry | str | Path,
    programme: str,
    outcome: str,
    *,
    unit: str = "ward",
    time: str = "period_start",
    effect: float | None = None,
    power: float = 0.8,
    level: float = 0.95,
    direction: str = "decrease",
    rollout_options: Mapping[str, Any] | None = None,
    pilot_out: bool = True,
    reps: int = 1000,
    permutations: int = 9999,
    seed: int = 0,
    outcome_unit: str | Sequence[str] | None = None,
) -> ReviewPlan:
    """MDE and power of the planned analysis at each review date of ``programme``.

    For each date among the registry's ``interim_review`` and ``final_review`` entries: the
    wards whose start has passed are treated (their cohort is the period containing the
    start), the outcome is the untreated history laid onto the calendar up to the review
    (:func:`planning_panel`), and the analysis is the one the workbench runs at that stage —
    with one treated ward the pilot's two-way fixed effects DiD (``inference="auto"``:
    conformal inference with a long pre-period), with more the rollout's Callaway & Sant'Anna
    ATT (not-yet-treated comparisons, ``rollout_options`` such as ``{"anticipation": 2}``;
    randomization inference with 13 wards), without the pilot ward (registry ``wave: pilot``)
    when ``pilot_out`` — as the workbench's rollout analysis does; the untreated history is
    then that of the wards analysed, up to the first start among them. Power and MDE by
    :func:`evaluation.design.power.power_and_mde`.

    Parameters
    ----------
    data
        Ward × period panel of the outcome (dates in ``time``); only the periods before the
        programme's first start are used.
    registry, programme
        The pilot registry (object or YAML path) and the programme id.
    effect
        An effect of interest (outcome units) whose power is reported too.
    reps, permutations, seed
        Simulated assignments, the analysis's re-assignments and the seed.
    outcome_unit
        ``("phút", "minutes")`` for the sentences.

    Returns
    -------
    ReviewPlan
    """
    reg = as_registry(registry)
    entries = reg.for_programme(programme)
    kinds = [k for k in REVIEWS if k in entries.columns and entries[k].notna().any()]
    if not kinds:
        raise DataError(
            f"{reg.source}: programme {programme!r} has no review dates; add interim_review "
            "and/or final_review (YYYY-MM-DD) to its entries"
        )
    reviews = sorted({(pd.Timestamp(d), k) for k in kinds for d in entries[k].dropna().unique()})
    pilots = set()
    if pilot_out and "wave" in entries.columns:
        pilots = set(entries.loc[entries["wave"].astype(str) == "pilot", "ward"])
    rows, results, panels = [], {}, {}
    for date, kind in reviews:
        key = f"{kind} {date.date().isoformat()}"
        started = entries[entries["start"] <= date]
        if len(started) > len(set(started["ward"]) & pilots):  # the rollout has begun
            started = started[~started["ward"].isin(pilots)]
            analysed = data[~data[unit].isin(pilots)]
        else:
            analysed = data
        if started.empty:
            continue
        plan = planning_panel(
            analysed,
            outcome=outcome,
            first_start=started["start"].min(),
            until=date,
            unit=unit,
            time=time,
        )
        sub = Registry(reg.programmes, started, reg.source)
        planned = add_cohort(plan.data, sub, programme, ward=unit, time=time, outside="never")
        n_treated = int(planned.groupby(unit)["cohort"].first().notna().sum())
        if n_treated == 1:
            estimator, options = "twfe", None
        else:
            estimator = "att_gt"
            options = {"control": "notyet"} | dict(rollout_options or {})
        try:
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
                level=level,
                reps=reps,
                permutations=permutations,
                seed=seed,
            )
        except DesignError as exc:
            raise DesignError(f"review {date_text(date)} of {programme!r}: {exc}") from exc
        results[key], panels[key] = (pw, md), plan
        vi, en = _sentences(kind, date, md, plan, power)
        rows.append(
            {
                "review": kind,
                "date": date,
                "n_treated": n_treated,
                "n_pre": plan.n_pre,
                "n_post": plan.n_post,
                "estimator": estimator,
                "inference": md.inference_method,
                "mde": md.mde,
                "mde_percent": md.mde_percent,
                "target_power": power,
                "power": pw.power if pw is not None else math.nan,
                "mc_se": pw.mc_se if pw is not None else math.nan,
                "shrunk": plan.shrunk,
                "sentence_vi": vi,
                "sentence_en": en,
            }
        )
    return ReviewPlan(programme, pd.DataFrame(rows), effect, results, panels)


def _sentences(kind: str, date, md: MDEResult, plan: PlanningPanel, power: float) -> Text:
    review, day = REVIEWS[kind], text(date_text(date))
    if md.detectable:
        units = md.curve.details.get("outcome_unit") or ("", "")
        values = {
            "review": review,
            "date": day,
            "amount": Text(
                *(
                    number(abs(md.mde), 2, lang) + (f" {unit}" if unit else "")
                    for lang, unit in zip(Text._fields, units, strict=True)
                )
            ),
            "percent": both(percent, abs(md.mde_percent), 0),
            "power": both(percent, 100 * power, 0),
        }
        if md.mde < 0:
            words = say(
                "At the {review} on {date} this design can detect a reduction of {amount} "
                "({percent}) with {power} power.",
                **values,
            )
        else:
            words = say(
                "At the {review} on {date} this design can detect an increase of {amount} "
                "({percent}) with {power} power.",
                **values,
            )
    else:
        words = say(
            "At the {review} on {date}: {sentence}",
            review=review,
            date=day,
            sentence=Text(md.sentence_vi, md.sentence_en),
        )
    if plan.shrunk:
        words = words + " " + Text(plan.note_vi, plan.note_en)
    return words
