"""Plain-language verdicts in Vietnamese and English, written from a policy decision.

:func:`evaluation.analysis.policy.decide` says *which* verdict a finding gets; this module says
it in words an official reads without statistics training: what was found (the effect in the
outcome's unit and as a percentage, with its 95 % interval), how sure we are (the p-value, and
the adjusted one when several findings were tested together), and — for "No clear effect" and
"Design cannot decide" — why, with the interval shown rather than a bare number. A verdict never
turns "not significant" into "no effect".
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation import formats as fmt
from evaluation.analysis.outcomes import Outcome
from evaluation.analysis.policy import Decision, Policy, is_bound, is_finite
from evaluation.i18n import Text, both, say

__all__ = ["Shown", "Verdict", "write_verdict"]


@dataclass(frozen=True)
class Shown:
    """A finding's numbers as the page shows them.

    ``estimate``/``ci_low``/``ci_high`` are on the display scale: the outcome's unit, or a
    percent change for outcomes estimated as rate ratios (``Outcome.percent``). ``pct*`` express
    an effect in units as a percentage of the treated wards' level without the programme (None
    when there is no such baseline).
    """

    estimate: float | None
    ci_low: float | None = None
    ci_high: float | None = None
    pvalue: float | None = None
    min_pvalue: float | None = None
    pct: float | None = None
    pct_low: float | None = None
    pct_high: float | None = None


@dataclass(frozen=True)
class Verdict:
    """``category`` is one of improved / worsened / unclear / design_limited."""

    category: str
    label_vi: str
    label_en: str
    text_vi: str
    text_en: str
    reason: str = ""
    p_adjusted: float | None = None
    family_size: int = 1
    adjustment: str = "holm"
    level: float = 0.95

    def to_dict(self) -> dict:
        return {
            "verdict_category": self.category,
            "verdict_label_vi": self.label_vi,
            "verdict_label_en": self.label_en,
            "verdict_vi": self.text_vi,
            "verdict_en": self.text_en,
            "verdict_reason": self.reason,
            "p_adjusted": self.p_adjusted,
            "family_size": self.family_size,
            "policy_adjustment": self.adjustment,
            "policy_level": self.level,
        }


_WARDS = say("wards")


def effect_words(shown: Shown, outcome: Outcome, lang: str) -> tuple[str, str]:
    """("giảm" | "tăng", "6,4 phút (23%)") — the direction and size of an estimate."""
    move, size = effect_text(shown, outcome)
    return move.lang(lang), size.lang(lang)


def effect_text(shown: Shown, outcome: Outcome) -> tuple[Text, Text]:
    """:func:`effect_words` in both languages: (direction, size)."""
    move = say("lower") if shown.estimate < 0 else say("higher")
    if outcome.percent:
        return move, both(fmt.percent, abs(shown.estimate), 0)
    number = both(fmt.number, abs(shown.estimate), outcome.digits)
    size = Text(*(f"{n} {u}".strip() for n, u in zip(number, outcome.units, strict=True)))
    if is_finite(shown.pct):
        size += " (" + both(fmt.percent, abs(shown.pct), 0) + ")"
    return move, size


def interval_words(shown: Shown, outcome: Outcome, lang: str, level: float = 0.95) -> str:
    """ "khoảng tin cậy 95%: −9,6 đến −3,9 phút" / "95% confidence interval −9.6 to −3.9 minutes"."""
    return interval_text(shown, outcome, level).lang(lang)


def interval_text(shown: Shown, outcome: Outcome, level: float = 0.95) -> Text:
    """:func:`interval_words` in both languages."""
    pct = both(fmt.percent, round(level * 100), 0)
    d = 0 if outcome.percent else outcome.digits
    if fmt.unbounded(shown.ci_low, shown.ci_high, as_percent=outcome.percent):
        return say(
            "the {level} confidence interval is unbounded: the data fit any effect", level=pct
        )
    low, high = (
        both(fmt.interval_end, x, d, as_percent=outcome.percent)
        for x in (shown.ci_low, shown.ci_high)
    )
    if outcome.percent or not outcome.unit_en:
        return say("{level} confidence interval {low} to {high}", level=pct, low=low, high=high)
    return say(
        "{level} confidence interval {low} to {high} {unit}",
        level=pct,
        low=low,
        high=high,
        unit=outcome.units,
    )


def _p_is(p) -> Text:
    """ "p = 0,012" / "p < 0,001" in both languages."""
    return Text(*(f"p {x}" if x.startswith("<") else f"p = {x}" for x in both(fmt.pvalue, p)))


def _p(shown: Shown, decision: Decision, policy: Policy, noun: Text) -> Text:
    p = _p_is(shown.pvalue)
    if decision.family_size > 1 and decision.p_adjusted is not None:
        adjusted = Text(
            *(x if x.startswith("<") else f"= {x}" for x in both(fmt.pvalue, decision.p_adjusted))
        )
        return say(
            "{p}; after {method}'s adjustment for the {m} {noun} tested together: p {adjusted}",
            p=p,
            method=policy.method_name,
            m=both(fmt.number, decision.family_size, 0),
            noun=noun,
            adjusted=adjusted,
        )
    return p


def write_verdict(
    decision: Decision,
    shown: Shown,
    outcome: Outcome,
    policy: Policy,
    *,
    family_noun: tuple[str, str] = _WARDS,
    reason: tuple[str, str] = ("", ""),
) -> Verdict:
    """The verdict on one finding in both languages.

    ``family_noun`` names what the family counts (``say("wards")``, ``say("waves")``; any
    (Vietnamese, English) pair); ``reason`` says why there is no estimate (used when the
    decision is "no_estimate").
    """
    words = _text(decision, shown, outcome, policy, Text(*family_noun), Text(*reason))
    return Verdict(
        decision.category,
        decision.label_vi,
        decision.label_en,
        words.vi,
        words.en,
        decision.reason,
        decision.p_adjusted,
        decision.family_size,
        policy.adjustment,
        policy.level,
    )


def _text(decision, shown, outcome, policy, noun: Text, why: Text) -> Text:
    if decision.reason == "no_estimate":
        return why
    name = outcome.names
    move, size = effect_text(shown, outcome)
    alpha = both(fmt.percent, 100 * policy.alpha, 0)
    how = _p(shown, decision, policy, noun)
    if decision.reason == "no_interval":
        return say(
            "Estimate: {name} {move} by {size} ({how}), but this method gives no confidence "
            "interval, so no verdict is given.",
            name=name,
            move=move,
            size=size,
            how=how,
        )
    if is_bound(shown.ci_low) and is_bound(shown.ci_high):  # ends may be infinite (unbounded)
        how = interval_text(shown, outcome, policy.level) + "; " + how
    if decision.category in ("improved", "worsened"):
        return say(
            "Evidence of an effect: {name} {move} by about {size} ({how}).",
            name=name,
            move=move,
            size=size,
            how=how,
        )
    if decision.reason == "design_limit":
        return _design_limit(decision, shown, outcome, policy, noun, how)
    if decision.reason == "not_after_adjustment":
        return say(
            "Not enough evidence once the other {noun} are taken into account: {name} {move} by "
            "{size} ({how}); the interval alone excludes 0, but after adjusting for the "
            "multiple tests p is not below {alpha}.",
            noun=noun,
            name=name,
            move=move,
            size=size,
            how=how,
            alpha=alpha,
        )
    return say(
        "No clear evidence of an effect: the estimate is {name} {move} by {size}, but the "
        "interval includes no change ({how}). This is not proof that the programme has no "
        "effect.",
        name=name,
        move=move,
        size=size,
        how=how,
    )


def _design_limit(decision, shown, outcome, policy, noun: Text, how: Text) -> Text:
    """Why a design cannot decide, in words that do not contradict the numbers beside them.

    Alone (one finding) the smallest p-value the design can give is not below the level. In a
    family the finding's own interval may exclude 0 at p below the level — it is then said so,
    and why that is not a verdict: with the family tested together no finding of this design can
    reach the level (the bound is the smallest adjusted p the family could give).
    """
    name = outcome.names
    move, size = effect_text(shown, outcome)
    values = dict(
        name=name,
        move=move,
        size=size,
        how=how,
        alpha=both(fmt.percent, 100 * policy.alpha, 0),
        best=both(fmt.pvalue, decision.best_adjusted),
    )
    m = decision.family_size
    alone = (
        is_finite(shown.ci_low)
        and is_finite(shown.ci_high)
        and (shown.ci_low > 0 or shown.ci_high < 0)
        and is_finite(shown.pvalue)
        and shown.pvalue < policy.alpha
    )
    if m > 1 and alone:
        return say(
            "On its own there is a sign: {name} {move} by {size} ({how}). But with {m} {noun} "
            "tested together, no result of this design can reach p below {alpha} after "
            "{method}'s adjustment (the smallest possible is p = {best}), so this result alone "
            "cannot decide. This is not evidence that the programme has no effect.",
            m=both(fmt.number, m, 0),
            noun=noun,
            method=policy.method_name,
            **values,
        )
    if m > 1:
        return say(
            "This design cannot decide with {m} {noun} tested together: after {method}'s "
            "adjustment the smallest possible p is {best}, not below {alpha}. Estimate: {name} "
            "{move} by {size} ({how}). This is not evidence that the programme has no effect.",
            m=both(fmt.number, m, 0),
            noun=noun,
            method=policy.method_name,
            **values,
        )
    return say(
        "This design cannot decide: the smallest p-value it can give is {best}, not below "
        "{alpha}. Estimate: {name} {move} by {size} ({how}). This is not evidence that the "
        "programme has no effect.",
        **values,
    )
