"""Where a programme's rollout stands when the data end: to be reviewed, or to be planned.

A rollout page either looks back or looks ahead, never both (issue 16, part 6). Looking back
at waves that have already started with a "randomised schedule" drawn in the past, or offering
to write such a schedule into the registry, contradicts what happened; planning forward
without saying what the registered waves could and did detect leaves the officials' question
unanswered. :func:`rollout_stage` decides which one from the registry and the data's end:

* **review** — the rollout has happened: every registered entry started by the end of the
  data and the registry has wards beyond the pilot, or the programme's final review (or an
  entry's ``end``) lies on or before the end of the data. The page says what the registered
  waves could detect at each review (:func:`evaluation.design.reviews.review_plan`) and what
  the analysis did find.
* **plan** — the rollout is still to come: some registered wards start after the end of the
  data, or only the pilot has started, wards remain, and no final review has passed. The page
  proposes schedules that start after the end of the data (never in the past) for the wards
  still to start, and compares them with the registry's own schedule for those wards, if it
  has one.

The wards to plan are the registered wards that have not started when the registry schedules
any; otherwise (only the pilot so far) every ward of the district without an entry. Wards the
registry leaves out of a rollout that has begun are not planned for: they stay comparisons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaluation.data.registry import REVIEWS, Registry, as_registry
from evaluation.errors import DataError, examples
from evaluation.formats import date_text, number, percent
from evaluation.i18n import Text, both, say, text

__all__ = ["RolloutStage", "against_finding", "earliest_start", "rollout_stage"]

STAGES = ("review", "plan")


def earliest_start(data_end: Any) -> pd.Timestamp:
    """The first day a proposed schedule may start: the first of the month after the end of
    the data (a schedule proposed now can only start in the future)."""
    end = _date(data_end, "data_end")
    return (end + pd.offsets.MonthBegin(1)).normalize()


@dataclass
class RolloutStage:
    """Where a programme's rollout stands when the data end (see the module docstring).

    ``kind`` is ``"review"`` or ``"plan"``; ``data_end`` the last day of the data; ``started``
    the wards whose registered start is on or before it (pilot first); ``scheduled`` the
    registered wards that start after it, with their start; ``unregistered`` the district's
    wards without an entry; ``to_plan`` the wards a plan schedules (empty for a review);
    ``reason_vi``/``reason_en`` say in one sentence why the page reviews or plans.
    """

    programme: str
    kind: str
    data_end: pd.Timestamp
    started: list[str]
    scheduled: pd.Series
    unregistered: list[str]
    pilots: list[str]
    to_plan: list[str]
    final_review: pd.Timestamp | None
    reason_vi: str
    reason_en: str
    entries: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    @property
    def is_review(self) -> bool:
        return self.kind == "review"

    @property
    def is_plan(self) -> bool:
        return self.kind == "plan"

    @property
    def earliest_start(self) -> pd.Timestamp:
        """The first day a proposed schedule may start (:func:`earliest_start`)."""
        return earliest_start(self.data_end)

    def new_wave_names(self, n: int) -> list[str]:
        """``n`` wave labels for a proposed schedule (A, B, C, …) that no wave already started
        uses, so a proposal's waves are never mistaken for the registry's (a scheduled wave
        the proposal replaces may keep its letter)."""
        used = set(self.entries.loc[self.entries["ward"].isin(self.started), "wave"].astype(str))
        names, i = [], 0
        while len(names) < n:
            label = _letters(i)
            if label not in used:
                names.append(label)
            i += 1
        return names

    def registered_waves(self) -> pd.DataFrame:
        """The registry's waves of this programme: ``wave``, ``start``, ``wards`` (names joined
        by ", "), ``n_wards`` and ``started`` (on or before the end of the data), by start."""
        e = self.entries.copy()
        e["wave"] = e["wave"].astype(str) if "wave" in e else ""
        e.loc[e["wave"].isin(["", "nan", "None"]), "wave"] = e["start"].map(date_text)
        out = (
            e.groupby(["start", "wave"], sort=True)["ward"]
            .agg(lambda w: ", ".join(sorted(w)))
            .rename("wards")
            .reset_index()
        )
        out["n_wards"] = [len(w.split(", ")) for w in out["wards"]]
        out["started"] = out["start"] <= self.data_end
        return out[["wave", "start", "wards", "n_wards", "started"]]


def _letters(i: int) -> str:
    """A, B, …, Z, AA, AB, …: the i-th wave label (0-based)."""
    out = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        out = chr(65 + r) + out
    return out


def _date(value: Any, name: str) -> pd.Timestamp:
    try:
        out = pd.Timestamp(value)
    except (TypeError, ValueError):
        out = pd.NaT
    if pd.isna(out):
        raise DataError(f"argument {name!r} must be a date (e.g. '2025-12-31'), got {value!r}")
    return out


def _last(entries: pd.DataFrame, column: str) -> pd.Timestamp | None:
    if column not in entries or entries[column].isna().all():
        return None
    return pd.Timestamp(entries[column].max())


def rollout_stage(
    registry: Registry | str | Path,
    programme: str,
    *,
    data_end: Any,
    wards: Sequence[str],
) -> RolloutStage:
    """Whether ``programme``'s rollout is reviewed or planned (see the module docstring).

    Parameters
    ----------
    registry, programme
        The pilot registry (object or YAML path) and the programme id.
    data_end
        The last day of the data the analysis has (e.g. the end of the last whole week).
    wards
        The district's own wards (comparison wards of other districts apart): those without an
        entry are the wards a rollout of a pilot alone would still reach.

    Returns
    -------
    RolloutStage
    """
    reg = as_registry(registry)
    end = _date(data_end, "data_end")
    if isinstance(wards, str) or not isinstance(wards, Sequence | pd.Index | pd.Series):
        raise DataError(f"argument 'wards' must be a list of the district's wards, got {wards!r}")
    entries = reg.for_programme(programme).sort_values(["start", "ward"]).reset_index(drop=True)
    if entries.empty:
        raise DataError(
            f"{reg.source}: programme {programme!r} has no entries; add at least its pilot ward "
            "(ward, programme, start) before planning or reviewing its rollout"
        )
    waves = entries["wave"].astype(str) if "wave" in entries else pd.Series("", index=entries.index)
    pilots = entries.loc[waves == "pilot", "ward"].tolist()
    started_rows = entries[entries["start"] <= end]
    started = started_rows["ward"].tolist()
    scheduled = entries[entries["start"] > end].set_index("ward")["start"]
    registered = set(entries["ward"])
    unregistered = [w for w in wards if w not in registered]
    rollout_started = bool((~started_rows["ward"].isin(pilots)).any())
    final_review = _last(entries, "final_review")
    ends = [d for d in (final_review, _last(entries, "end")) if d is not None]
    ended = bool(ends) and max(ends) <= end
    end_text = date_text(end)
    if not scheduled.empty:
        kind, to_plan = "plan", sorted(scheduled.index, key=lambda w: (scheduled[w], w))
        reason = say(
            "The registry has {n} wards starting after the end of the data ({end}), the first on "
            "{first}: the rollout is not finished, so this page plans for those wards and does "
            "not look back at the waves already started.",
            n=str(len(to_plan)),
            end=end_text,
            first=text(date_text(scheduled.min())),
        )
    elif started and (rollout_started or ended):
        kind, to_plan = "review", []
        if rollout_started:
            reason = say(
                "By the registry all {n} wards started before the end of the data ({end}), the "
                "last wave on {last}: the rollout has happened, so this page looks back — what "
                "the design could detect at each review and what it did detect — and proposes "
                "no new schedule.",
                n=str(len(started)),
                end=end_text,
                last=text(date_text(started_rows["start"].max())),
            )
        else:
            reason = say(
                "The registry has only the pilot ward, and its final review ({review}) passed "
                "before the end of the data ({end}), so this page looks back at the pilot and "
                "proposes no rollout schedule.",
                review=text(date_text(max(ends))),
                end=end_text,
            )
    elif unregistered:
        kind, to_plan = "plan", list(unregistered)
        reason = say(
            "By the end of the data ({end}) only {who} had started; {n} wards have not and no "
            "final review has passed, so this page plans the rollout, starting after the end of "
            "the data.",
            end=end_text,
            who=", ".join(started) if started else "—",
            n=str(len(to_plan)),
        )
    else:
        raise DataError(
            f"{reg.source}: programme {programme!r} has no ward left to plan for and no rollout "
            f"to review by {end_text} (its entries: {examples(entries['ward'].tolist())})"
        )
    return RolloutStage(
        programme=programme,
        kind=kind,
        data_end=end,
        started=started,
        scheduled=scheduled,
        unregistered=unregistered,
        pilots=pilots,
        to_plan=to_plan,
        final_review=final_review,
        reason_vi=reason.vi,
        reason_en=reason.en,
        entries=entries,
    )


def against_finding(
    review: Mapping[str, Any],
    *,
    estimate: float,
    effect_text: tuple[str, str],
    detected: bool,
    until: Any,
    unit: tuple[str, str] = ("", ""),
) -> Text:
    """What a review's design could detect, against what the analysis did find, in one
    Vietnamese and one English paragraph.

    ``review`` is a row of :attr:`ReviewPlan.table` (``review``, ``date``, ``mde``); the
    finding is given by its estimate on the MDE's scale (outcome units), its effect as the
    pages write it (``effect_text``: Vietnamese, English), whether its verdict found an effect
    (``detected``: the verdict policy's answer, never re-derived here) and the last day of the
    data it rests on (``until``), which may lie after the review; ``unit`` is the outcome's
    unit in both languages (``("phút", "minutes")``). An effect smaller than the
    MDE that was not detected is what the design foretold — the sentence says so, so that
    "not detected" is not read as "no effect".
    """
    name = Text(*REVIEWS[str(review["review"])])  # the registry's names of the reviews
    day, end = text(date_text(review["date"])), text(date_text(until))
    mde = float(review["mde"])
    found = Text(*effect_text)
    if not math.isfinite(mde):
        return say(
            "At the {review} on {day} the design could not reliably detect any effect; on the "
            "data to {end} the estimate is {found}.",
            review=name,
            day=day,
            end=end,
            found=found,
        )
    # TRANSLATORS: what a design detects ("… detect a reduction of 2,5 minutes or more")
    move = say("reduction") if mde < 0 else say("increase")
    target = 100 * float(review.get("target_power", 0.8))
    size = Text(
        *(
            number(abs(mde), 2, lang) + (f" {u}" if u else "")
            for lang, u in zip(("vi", "en"), unit, strict=True)
        )
    )
    design = say(
        "At the {review} on {day} the design could reliably ({power} power) detect a {move} of "
        "{size} or more.",
        review=name,
        day=day,
        power=both(percent, target, 0),
        move=move,
        size=size,
    )
    same_way = math.isfinite(estimate) and estimate * mde > 0
    larger = same_way and abs(estimate) >= abs(mde)
    values = dict(end=end, found=found)
    if not same_way and detected:
        result = say(
            "On the data to {end} the estimate is {found}, in the other direction, and it was "
            "detected.",
            **values,
        )
    elif not same_way:
        result = say(
            "On the data to {end} the estimate is {found}, in the other direction, and it was "
            "not detected.",
            **values,
        )
    elif larger and detected:
        result = say(
            "On the data to {end} the estimate is {found}, larger than that, and it was detected.",
            **values,
        )
    elif larger:
        result = say(
            "On the data to {end} the estimate is {found}, larger than that, and it was not "
            "detected.",
            **values,
        )
    elif detected:
        result = say(
            "On the data to {end} the estimate is {found}, smaller than that, and it was detected.",
            **values,
        )
    else:
        result = say(
            "On the data to {end} the estimate is {found}, smaller than that, and it was not "
            "detected.",
            **values,
        )
    words = design + " " + result
    if same_way and not larger and not detected:
        words = (
            words
            + " "
            + say(
                "Not detecting an effect smaller than the design can detect was to be expected; it "
                "is not evidence that the programme has no effect."
            )
        )
    return words
