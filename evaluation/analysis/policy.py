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

#: category → (Vietnamese label, English label)
LABELS = {
    "improved": ("Cải thiện", "Improved"),
    "worsened": ("Xấu đi", "Worsened"),
    "unclear": ("Chưa rõ tác động", "No clear effect"),
    "design_limited": ("Thiết kế chưa đủ để kết luận", "Design cannot decide"),
}
CATEGORIES = tuple(LABELS)

#: adjustment → (name, what it guarantees in Vietnamese, in English)
_ADJUSTMENTS = {
    "holm": (
        "Holm",
        "xác suất có ít nhất một kết luận sai trong mỗi nhóm không quá 5%",
        "the chance of any false verdict in a family stays below 5%",
    ),
    "bh": (
        "Benjamini–Hochberg",
        "tỷ lệ kết luận sai trong số các kết luận được nêu không quá 5%",
        "the expected share of false verdicts among those stated stays below 5%",
    ),
    "none": ("none", "", ""),
}


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
        return _ADJUSTMENTS[self.adjustment][0]

    def describe(self, lang: str = "vi") -> str:
        """The declaration a page prints: what counts as a verdict, and the adjustment."""
        name, vi, en = _ADJUSTMENTS[self.adjustment]
        pct, alpha = round(self.level * 100), round(100 * self.alpha)
        vi, en = vi.replace("5%", f"{alpha}%"), en.replace("5%", f"{alpha}%")
        if lang == "vi":
            p = f"giá trị p sau hiệu chỉnh {name}" if vi else "giá trị p (không hiệu chỉnh)"
            why = f" Hiệu chỉnh {name}: {vi}." if vi else ""
            return (
                f"«Cải thiện» hoặc «Xấu đi» chỉ khi khoảng tin cậy {pct}% không chứa 0 và {p} "
                f"nhỏ hơn {alpha}%.{why} Mỗi câu hỏi chính là một nhóm riêng; các phường của "
                "cùng một mô hình và chỉ số là một nhóm; các đợt của cùng một lần nhân rộng là "
                "một nhóm."
            )
        p = f"the p-value after {name}'s adjustment" if en else "the (unadjusted) p-value"
        why = f" {name}'s adjustment: {en}." if en else ""
        return (
            f"'Improved' or 'Worsened' only when the {pct}% confidence interval excludes 0 and "
            f"{p} is below {alpha}%.{why} Each headline question is its own family; the wards "
            "of one programme and outcome form one family; the waves of one rollout form one "
            "family."
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
        return LABELS[self.category][0]

    @property
    def label_en(self) -> str:
        return LABELS[self.category][1]


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
