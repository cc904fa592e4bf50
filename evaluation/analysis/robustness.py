"""How fragile a headline is: the HonestDiD breakdown of its conclusion, in one plain sentence.

Every difference-in-differences answer assumes that without the programme the treated and the
comparison wards would have changed alike. Rambachan & Roth (2023) bound how wrong that may be:
M̄ = 1 allows a divergence after the start as large as the largest seen before it. A headline's
conclusion (the sign of its effect) "holds up to" the largest M̄ examined at which the robust
interval still excludes 0 — the figure a decision needs next to the effect (the rollout's
conclusion that fails at M̄ = 0 rests entirely on parallel trends; the pilot's that holds to
M̄ = 0,75 survives a fair divergence).

:func:`add_robustness` computes it for the headlines of gaussian outcomes (the pilot against
its comparison wards, :func:`~evaluation.analysis.traffic.pilot_sensitivity`; the rollout by
Callaway & Sant'Anna's event study, :func:`~evaluation.analysis.traffic.rollout_sensitivity`)
and records it on the finding (``details["robustness"]``, written to the record as
``robust_*`` fields); :func:`robustness_words` is the one sentence every page uses.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from evaluation import formats as fmt
from evaluation.i18n import Text, both, say

if TYPE_CHECKING:  # the findings' record reads the words here: no import back at run time
    from evaluation.analysis.district import District
    from evaluation.analysis.findings import Finding
    from evaluation.analysis.windows import Indicator

__all__ = ["add_robustness", "robustness_record", "robustness_words"]


def robustness_record(sens) -> dict[str, Any]:
    """The record fields of a :class:`~evaluation.inference.honest_did.HonestDiDResult`:
    ``robust_up_to`` (the largest M̄ examined at which the conclusion holds; None when it holds
    at none), ``robust_max_m`` (the largest M̄ examined), ``robust_applies`` (False when the
    conventional interval already includes 0: no conclusion to test) and ``robust_covariance``."""
    lo, hi = sens.original_ci
    table = sens.table.sort_values("M")
    applies = bool(lo > 0 or hi < 0)
    holds = table[(table["ci_high"] < 0) | (table["ci_low"] > 0)] if applies else table.iloc[:0]
    # holds only while it holds from M̄ = 0 up: the first M̄ that loses it ends the run
    up_to = None
    for row in table.itertuples():
        if row.M in set(holds["M"]):
            up_to = float(row.M)
        else:
            break
    return {
        "robust_applies": applies,
        "robust_up_to": up_to,
        "robust_max_m": float(table["M"].max()),
        "robust_covariance": str(sens.details.get("covariance", "")),
    }


def robustness_words(record: Mapping[str, Any], lang: str = "vi", what: Text | None = None) -> str:
    """One sentence on the fragility of a finding's conclusion, from its record ("" when no
    sensitivity was computed or there is no conclusion to test); ``what`` names whose
    conclusion it is (``say("the pilot")``)."""
    return robustness_text(record, what).lang(lang)


def robustness_text(record: Mapping[str, Any], what: Text | None = None) -> Text:
    """:func:`robustness_words` in both languages (``Text("", "")`` when there is none)."""
    if "robust_max_m" not in record:
        return Text("", "")
    conclusion = say("the conclusion on {what}", what=what) if what else say("the conclusion")
    if not record.get("robust_applies"):
        if not _excludes_zero(record):
            return Text("", "")  # no conclusion about the sign to test
        return say(
            "Robustness (HonestDiD): {conclusion} does not survive any departure from parallel "
            "trends: with the variance the sensitivity analysis uses, the conventional interval "
            "already includes 0.",
            conclusion=conclusion,
        )
    up_to, top = record.get("robust_up_to"), float(record["robust_max_m"])
    if up_to is None:
        return say(
            "Robustness (HonestDiD): {conclusion} does not survive any departure from parallel "
            "trends (M̄ = 0) — it rests entirely on that assumption.",
            conclusion=conclusion,
        )
    m = both(fmt.number, up_to, 2)
    if math.isclose(up_to, top):
        return say(
            "Robustness (HonestDiD): {conclusion} survives every divergence of trends examined, "
            "up to {m} times the largest before the start (M̄ = {m}).",
            conclusion=conclusion,
            m=m,
        )
    if up_to == 0:
        return say(
            "Robustness (HonestDiD): {conclusion} holds only if trends after the start stay "
            "exactly parallel (M̄ = 0); any divergence leaves it in doubt.",
            conclusion=conclusion,
        )
    return say(
        "Robustness (HonestDiD): {conclusion} survives if trends after the start diverge by no "
        "more than {m} times the largest divergence before it (M̄ = {m}); beyond that it is in "
        "doubt.",
        conclusion=conclusion,
        m=m,
    )


def _excludes_zero(record: Mapping[str, Any]) -> bool:
    lo, hi = record.get("ci_low"), record.get("ci_high")
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return False
    return math.isfinite(lo) and math.isfinite(hi) and (lo > 0 or hi < 0)


def add_robustness(
    district: District,
    programme: str,
    ind: Indicator,
    pilot: str | None,
    findings: Sequence[Finding],
) -> None:
    """The HonestDiD sensitivity of each headline with a number, for unweighted gaussian
    outcomes (the event studies it needs); stored in ``details["robustness"]`` (and
    ``details["honest_did"]``, the full result, for charts). A sensitivity the design cannot
    give is left out and said so in a note."""
    if ind.family != "gaussian" or ind.weights:
        return
    from evaluation.analysis.traffic import pilot_sensitivity, rollout_sensitivity
    from evaluation.analysis.windows import comparison_window

    panel = ind.data(district, programme)
    for f in findings:
        if f.role != "headline" or not f.has_number or f.outcome != ind.outcome:
            continue
        try:
            if f.level == "pilot" and pilot is not None:
                win = comparison_window(panel, district.starts(programme), pilot)
                if win is None:
                    continue
                sens = pilot_sensitivity(win, ind.outcome)
            elif f.level == "district":
                rest = panel[panel["ward"] != pilot] if pilot else panel
                sens = rollout_sensitivity(district, programme, ind.outcome, rest)
            else:
                continue
        except Exception:  # noqa: BLE001 - a sensitivity the design cannot give is said so
            note = say(
                "The HonestDiD robustness of this result could not be computed (too few periods "
                "before the start or too few comparison wards)."
            )
            f.notes_vi.append(note.vi)
            f.notes_en.append(note.en)
            continue
        f.details["honest_did"] = sens
        record = robustness_record(sens)
        shown = dict(record, ci_low=f.shown.ci_low, ci_high=f.shown.ci_high)  # as the page shows
        record["robustness_vi"] = robustness_words(shown, "vi")
        record["robustness_en"] = robustness_words(shown, "en")
        f.details["robustness"] = record  # written to the finding's record as is
