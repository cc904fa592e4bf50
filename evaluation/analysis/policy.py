"""One verdict policy for every page: when a finding may say "Improved" or "Worsened".

A finding is *Improved* (or *Worsened*) only when

1. it has a point estimate **and** a valid confidence interval (an estimate without an interval
   gets no verdict), and the interval excludes "no change"; and
2. its p-value, **adjusted for the other findings it is tested with**, is below 1 − level.

Findings are tested in *families*: the questions asked together. Each headline question (did
the pilot work? did the rollout work? did the fire points work?) is its own family; the wards
of one programme on one outcome form one family (13 wards tested together), and so do the waves
of a rollout. Within a family p-values are adjusted by Holm's (1979) step-down method, which
keeps the chance of *any* false verdict in the family below 5 % (``adjustment="holm"``; the
Benjamini–Hochberg false-discovery rate is available as ``"bh"``).

A family can make a verdict impossible: with 13 wards tested together, Holm needs the strongest
ward's p-value below 0.05 / 13 ≈ 0.004, and a single-ward design whose smallest attainable
p-value is above that (1/13 for permuting wards, 1/T for permuting T weeks) can never be
conclusive. Such findings are *Design cannot decide*, with the reason — never "No clear effect",
which would read as evidence of no effect. The rest are *No clear effect*.

The policy is applied in one place (:func:`decide`) and its decisions are carried with the
findings, so the index, the ward pages and the district summary print the same verdict for the
same finding.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from evaluation import formats as fmt
from evaluation.i18n import Text, both, say
from evaluation.inference.multiple import adjust_pvalues

__all__ = [
    "CATEGORIES",
    "Decision",
    "Evidence",
    "LABELS",
    "Policy",
    "decide",
    "is_bound",
    "is_finite",
]

#: category → its label, (Vietnamese, English)
LABELS: dict[str, Text] = {
    "improved": say("Improved"),
    "worsened": say("Worsened"),
    "unclear": say("No clear effect"),
    "design_limited": say("Design cannot decide"),
}
CATEGORIES = tuple(LABELS)

#: adjustment → its name (a method's name, the same in both languages)
_ADJUSTMENTS = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "none"}


def _guarantee(adjustment: str, alpha: Text) -> Text:
    """What an adjustment guarantees, at the level ``alpha`` ("5%")."""
    if adjustment == "holm":
        return say("the chance of any false verdict in a family stays below {alpha}", alpha=alpha)
    return say(
        "the expected share of false verdicts among those stated stays below {alpha}",
        alpha=alpha,
    )


@dataclass(frozen=True)
class Policy:
    """The verdict policy a page declares: confidence level and multiple-testing adjustment."""

    level: float = 0.95
    adjustment: str = "holm"

    def __post_init__(self) -> None:
        if self.adjustment not in _ADJUSTMENTS:
            raise ValueError(
                f"adjustment must be one of {', '.join(_ADJUSTMENTS)}, got {self.adjustment!r}"
            )
        if not 0 < self.level < 1:
            raise ValueError(f"level must be in (0, 1), got {self.level!r}")

    @property
    def alpha(self) -> float:
        return 1 - self.level

    @property
    def method_name(self) -> str:
        return _ADJUSTMENTS[self.adjustment]

    def describe(self, lang: str = "vi") -> str:
        """The declaration a page prints: what counts as a verdict, and the adjustment."""
        return self.description().lang(lang)

    def description(self) -> Text:
        """:meth:`describe` in both languages."""
        level = both(fmt.percent, round(self.level * 100), 0)
        alpha = both(fmt.percent, round(100 * self.alpha), 0)
        if self.adjustment == "none":
            return say(
                "'Improved' or 'Worsened' only when the {level} confidence interval excludes 0 "
                "and the (unadjusted) p-value is below {alpha}. Each headline question is its "
                "own family; the wards of one programme and outcome form one family; the waves "
                "of one rollout form one family.",
                level=level,
                alpha=alpha,
            )
        return say(
            "'Improved' or 'Worsened' only when the {level} confidence interval excludes 0 and "
            "the p-value after {name}'s adjustment is below {alpha}. {name}'s adjustment: "
            "{guarantee}. Each headline question is its own family; the wards of one programme "
            "and outcome form one family; the waves of one rollout form one family.",
            level=level,
            alpha=alpha,
            name=self.method_name,
            guarantee=_guarantee(self.adjustment, alpha),
        )


@dataclass(frozen=True)
class Evidence:
    """What the policy needs from one finding (numbers on the scale the page shows).

    ``family`` groups the findings tested together; ``min_pvalue`` is the smallest p-value the
    design could give (NaN when unbounded below 1 − level); ``lower_is_better`` says which
    direction is an improvement (congestion, fires: lower; speed, cases solved: higher).
    """

    key: Hashable
    family: Hashable
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    pvalue: float | None
    min_pvalue: float | None = None
    lower_is_better: bool = True


@dataclass(frozen=True)
class Decision:
    """The verdict on one finding and why.

    ``reason`` is one of ``"evidence"`` (improved/worsened), ``"interval_includes_zero"``,
    ``"not_after_adjustment"`` (the interval alone excludes 0, the adjusted p-value does not
    reach the level), ``"design_limit"`` (no result of this design could reach the level after
    adjustment), ``"no_interval"`` and ``"no_estimate"``.
    """

    category: str
    reason: str
    p_adjusted: float | None
    family_size: int
    best_adjusted: float | None

    @property
    def label_vi(self) -> str:
        return LABELS[self.category].vi

    @property
    def label_en(self) -> str:
        return LABELS[self.category].en


def is_finite(x) -> bool:
    """A finite number (not None, NaN or ±∞)."""
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def is_bound(x) -> bool:
    """An interval end: a number, possibly infinite (an unbounded side), but not missing."""
    try:
        return x is not None and not math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _best_adjusted(min_p: float, family_min_p: float, m: int, method: str) -> float:
    """The smallest adjusted p-value a finding of this design could get in a family of m — a
    bound its adjusted p-value can never be below, so a sentence that quotes both never
    contradicts itself.

    A finding's adjusted p is never below its own p (so never below its smallest attainable
    ``min_p``); with Holm it is also never below m × the family's smallest p (the first step
    multiplies the strongest finding by m), so never below m × the smallest ``min_p`` of the
    family (``family_min_p``); with BH never below the family's smallest p."""
    if method == "holm":
        return min(1.0, max(min_p, m * family_min_p))
    if method == "none":
        return min_p
    return max(min_p, family_min_p)


def decide(evidence: Sequence[Evidence], policy: Policy | None = None) -> dict[Hashable, Decision]:
    """Apply the policy to every finding, family by family (see the module docstring)."""
    policy = policy or Policy()
    alpha = policy.alpha
    families: dict[Hashable, list[Evidence]] = {}
    for e in evidence:
        families.setdefault(e.family, []).append(e)
    out: dict[Hashable, Decision] = {}
    for members in families.values():
        tested = [e for e in members if is_finite(e.estimate) and is_finite(e.pvalue)]
        m = len(tested)
        pvals = [float(e.pvalue) for e in tested]
        adjusted = (
            pvals if policy.adjustment == "none" else adjust_pvalues(pvals, policy.adjustment)
        )
        p_adj = {e.key: float(a) for e, a in zip(tested, adjusted, strict=True)}
        family_min = min((_min_p(e) for e in tested), default=0.0)
        for e in members:
            best = _best_adjusted(_min_p(e), family_min, max(m, 1), policy.adjustment)
            out[e.key] = _decide_one(e, p_adj.get(e.key), max(m, 1), best, alpha)
    return out


def _min_p(e: Evidence) -> float:
    """The smallest p-value the finding's design could give (0 when unknown: no limit)."""
    return float(e.min_pvalue) if is_finite(e.min_pvalue) else 0.0


def _decide_one(e: Evidence, p_adj, m: int, best: float, alpha: float) -> Decision:
    if not is_finite(e.estimate):
        return Decision("design_limited", "no_estimate", None, m, None)
    if best >= alpha:
        return Decision("design_limited", "design_limit", p_adj, m, best)
    if not (is_bound(e.ci_low) and is_bound(e.ci_high)):
        return Decision("design_limited", "no_interval", p_adj, m, best)
    excludes_zero = e.ci_low > 0 or e.ci_high < 0
    if p_adj is not None and p_adj < alpha and excludes_zero:
        good = (e.estimate < 0) == e.lower_is_better
        return Decision("improved" if good else "worsened", "evidence", p_adj, m, best)
    reason = "not_after_adjustment" if excludes_zero else "interval_includes_zero"
    return Decision("unclear", reason, p_adj, m, best)
