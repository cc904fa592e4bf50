"""Plain-language verdicts in Vietnamese and English, from an estimate and its inference.

A verdict says what was found, how sure we are, and what the design cannot tell — in words an
official reads without statistics training. It never turns "not significant" into "no
effect", and when the design itself cannot reach the 5 % level (one pilot ward of 13 under a
permutation test) it says so instead of reporting a failure.

Vietnamese numbers use the decimal comma (7,2 phút), English the decimal point.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from evaluation.results import Estimate

__all__ = ["Verdict", "verdict", "fmt_vi", "fmt_en"]

# category -> (Vietnamese label, English label)
LABELS = {
    "improved": ("Cải thiện", "Improved"),
    "worsened": ("Xấu đi", "Worsened"),
    "unclear": ("Chưa rõ tác động", "No clear effect"),
    "design_limited": ("Thiết kế chưa đủ để kết luận", "Design cannot decide"),
}


# scales on which an effect is a log change, reported as a percent change
_LOG_SCALES = ("log", "log points", "coefficient (log)", "log rate ratio")


def fmt_en(x: float, digits: int = 1) -> str:
    if x is None or not math.isfinite(x):
        return "—" if x is None or math.isnan(x) else ("∞" if x > 0 else "−∞")
    return f"{x:,.{digits}f}".replace("-", "−")


def fmt_vi(x: float, digits: int = 1) -> str:
    s = fmt_en(x, digits)
    return s.replace(",", "\u2009").replace(".", ",").replace("\u2009", ".")


def _fmt_p(p: float, vi: bool) -> str:
    if not math.isfinite(p):
        return "—"
    s = "< 0.001" if p < 0.001 else f"{p:.3f}"
    return s.replace(".", ",") if vi else s


@dataclass(frozen=True)
class Verdict:
    """``category`` is one of improved / worsened / unclear / design_limited."""

    category: str
    label_vi: str
    label_en: str
    text_vi: str
    text_en: str

    def to_dict(self) -> dict[str, str]:
        return {
            "category": self.category,
            "label_vi": self.label_vi,
            "label_en": self.label_en,
            "verdict_vi": self.text_vi,
            "verdict_en": self.text_en,
        }


def _percent(est: Estimate, baseline: float | None) -> tuple[float, float, float] | None:
    """Effect and interval as percent changes, when the scale allows it."""
    if est.scale in ("rate ratio", "ratio"):
        return tuple(100 * (v - 1) for v in (est.estimate, est.ci_low, est.ci_high))  # type: ignore[return-value]
    if est.scale in _LOG_SCALES:
        return tuple(
            100 * (math.exp(v) - 1) if math.isfinite(v) else v
            for v in (est.estimate, est.ci_low, est.ci_high)
        )  # type: ignore[return-value]
    if baseline and math.isfinite(baseline) and baseline != 0:
        return tuple(100 * v / baseline for v in (est.estimate, est.ci_low, est.ci_high))  # type: ignore[return-value]
    return None


def verdict(
    est: Estimate,
    *,
    outcome_vi: str,
    outcome_en: str,
    unit_vi: str = "",
    unit_en: str = "",
    lower_is_better: bool = True,
    baseline: float | None = None,
) -> Verdict:
    """Write the verdict on one estimate.

    Parameters
    ----------
    est
        The estimate (on its own scale; rate ratios and log effects become percent changes).
    outcome_vi, outcome_en
        What was measured, e.g. "thời gian ùn tắc" / "congestion time".
    unit_vi, unit_en
        Unit of the effect on the difference scale, e.g. "phút" / "minutes".
    lower_is_better
        True for congestion, fires, deaths; False for speed or solve rates.
    baseline
        Mean outcome without the programme, to express a difference as a percentage.
    """
    alpha = 1 - est.level
    pct_level = int(round(est.level * 100))
    ratio_scale = est.scale in ("rate ratio", "ratio")
    center = 1.0 if ratio_scale else 0.0
    direction_down = est.estimate < center
    good = direction_down == lower_is_better
    significant = math.isfinite(est.pvalue) and est.pvalue < alpha
    can_reject = not (math.isfinite(est.min_pvalue) and est.min_pvalue > alpha)

    pct = _percent(est, baseline)
    log_scale = est.scale in _LOG_SCALES
    if (ratio_scale or log_scale) and pct is not None:
        size_en = f"{fmt_en(abs(pct[0]), 0)} %"
        size_vi = f"{fmt_vi(abs(pct[0]), 0)}%"
        ci_en = f"{fmt_en(pct[1], 0)} % to {fmt_en(pct[2], 0)} %"
        ci_vi = f"{fmt_vi(pct[1], 0)}% đến {fmt_vi(pct[2], 0)}%"
    else:
        size_en = f"{fmt_en(abs(est.estimate))} {unit_en}".strip()
        size_vi = f"{fmt_vi(abs(est.estimate))} {unit_vi}".strip()
        if pct is not None:
            size_en += f" ({fmt_en(abs(pct[0]), 0)} %)"
            size_vi += f" ({fmt_vi(abs(pct[0]), 0)}%)"
        ci_en = f"{fmt_en(est.ci_low)} to {fmt_en(est.ci_high)} {unit_en}".strip()
        ci_vi = f"{fmt_vi(est.ci_low)} đến {fmt_vi(est.ci_high)} {unit_vi}".strip()
    move_en = "lower" if direction_down else "higher"
    move_vi = "giảm" if direction_down else "tăng"
    # "p = 0.012", but "p < 0.001"
    p_en, p_vi = (f"= {_fmt_p(est.pvalue, vi)}".replace("= <", "<") for vi in (False, True))
    how_en = f"({pct_level} % confidence interval {ci_en}; p {p_en})"
    how_vi = f"(khoảng tin cậy {pct_level}%: {ci_vi}; p {p_vi})"
    if not (math.isfinite(est.ci_low) and math.isfinite(est.ci_high)):
        # e.g. randomization inference on a Poisson model gives a p-value but no interval
        how_en = f"(no confidence interval available; p {p_en})"
        how_vi = f"(không có khoảng tin cậy; p {p_vi})"

    if significant:
        category = "improved" if good else "worsened"
        text_en = f"Evidence of an effect: {outcome_en} {move_en} by about {size_en} {how_en}."
        text_vi = f"Có bằng chứng về tác động: {outcome_vi} {move_vi} khoảng {size_vi} {how_vi}."
    elif not can_reject:
        category = "design_limited"
        text_en = (
            f"The estimate is {outcome_en} {move_en} by {size_en} {how_en}, but this design cannot "
            f"give conclusive evidence: even the strongest possible result would have "
            f"p = {_fmt_p(est.min_pvalue, False)}, above {alpha:.0%}. Judge it together with the "
            "rollout wards or a longer series for this ward."
        )
        text_vi = (
            f"Ước lượng: {outcome_vi} {move_vi} {size_vi} {how_vi}, nhưng thiết kế này chưa đủ để "
            f"kết luận: ngay cả kết quả mạnh nhất cũng chỉ đạt p = {_fmt_p(est.min_pvalue, True)}, "
            f"lớn hơn {fmt_vi(alpha * 100, 0)}%. Cần xem xét cùng các phường nhân rộng hoặc chuỗi "
            "số liệu dài hơn của phường này."
        )
    else:
        category = "unclear"
        text_en = (
            f"No clear evidence of an effect: the estimate is {outcome_en} {move_en} by {size_en}, "
            f"but the interval includes no change {how_en}. This is not proof that the "
            "programme has no effect."
        )
        text_vi = (
            f"Chưa có bằng chứng rõ ràng về tác động: ước lượng {outcome_vi} {move_vi} {size_vi}, "
            f"nhưng khoảng tin cậy vẫn bao gồm khả năng không thay đổi {how_vi}. Điều này không "
            "có nghĩa là mô hình không có tác dụng."
        )
    label_vi, label_en = LABELS[category]
    return Verdict(category, label_vi, label_en, text_vi, text_en)
