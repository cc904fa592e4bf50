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


def effect_words(shown: Shown, outcome: Outcome, lang: str) -> tuple[str, str]:
    """("giảm" | "tăng", "6,4 phút (23%)") — the direction and size of an estimate."""
    down = shown.estimate < 0
    move = ("giảm" if down else "tăng") if lang == "vi" else ("lower" if down else "higher")
    if outcome.percent:
        return move, fmt.percent(abs(shown.estimate), 0, lang)
    size = f"{fmt.number(abs(shown.estimate), outcome.digits, lang)} {outcome.unit(lang)}".strip()
    if is_finite(shown.pct):
        size += f" ({fmt.percent(abs(shown.pct), 0, lang)})"
    return move, size


def interval_words(shown: Shown, outcome: Outcome, lang: str, level: float = 0.95) -> str:
    """ "khoảng tin cậy 95%: −9,6 đến −3,9 phút" / "95% confidence interval −9.6 to −3.9 minutes"."""
    pct = round(level * 100)
    d = 0 if outcome.percent else outcome.digits

    def end(x) -> str:
        return fmt.interval_end(x, d, lang, as_percent=outcome.percent)

    unit = "" if outcome.percent else f" {outcome.unit(lang)}".rstrip()
    if fmt.unbounded(shown.ci_low, shown.ci_high, as_percent=outcome.percent):
        return (
            f"khoảng tin cậy {pct}% không giới hạn: dữ liệu phù hợp với mọi mức tác động"
            if lang == "vi"
            else f"the {pct}% confidence interval is unbounded: the data fit any effect"
        )
    if lang == "vi":
        return f"khoảng tin cậy {pct}%: {end(shown.ci_low)} đến {end(shown.ci_high)}{unit}"
    return f"{pct}% confidence interval {end(shown.ci_low)} to {end(shown.ci_high)}{unit}"


def _p(shown: Shown, decision: Decision, policy: Policy, family_noun: str, lang: str) -> str:
    p = fmt.pvalue(shown.pvalue, lang)
    text = f"p {p}" if p.startswith("<") else f"p = {p}"
    if decision.family_size > 1 and decision.p_adjusted is not None:
        adj = fmt.pvalue(decision.p_adjusted, lang)
        adj = adj if adj.startswith("<") else f"= {adj}"
        if lang == "vi":
            text += (
                f"; sau hiệu chỉnh {policy.method_name} cho {decision.family_size} {family_noun} "
                f"kiểm định cùng lúc: p {adj}"
            )
        else:
            text += (
                f"; after {policy.method_name}'s adjustment for the {decision.family_size} "
                f"{family_noun} tested together: p {adj}"
            )
    return text


def write_verdict(
    decision: Decision,
    shown: Shown,
    outcome: Outcome,
    policy: Policy,
    *,
    family_noun: tuple[str, str] = ("phường", "wards"),
    reason: tuple[str, str] = ("", ""),
) -> Verdict:
    """The verdict on one finding in both languages.

    ``family_noun`` names what the family counts ("phường"/"wards", "đợt"/"waves");
    ``reason`` says why there is no estimate (used when the decision is "no_estimate").
    """
    texts = [
        _text(decision, shown, outcome, policy, family_noun[i], reason[i], lang)
        for i, lang in enumerate(("vi", "en"))
    ]
    return Verdict(
        decision.category,
        decision.label_vi,
        decision.label_en,
        texts[0],
        texts[1],
        decision.reason,
        decision.p_adjusted,
        decision.family_size,
        policy.adjustment,
        policy.level,
    )


def _text(decision, shown, outcome, policy, noun, why, lang) -> str:
    vi = lang == "vi"
    name = outcome.name(lang)
    if decision.reason == "no_estimate":
        return why
    move, size = effect_words(shown, outcome, lang)
    alpha = fmt.percent(100 * policy.alpha, 0, lang)
    if decision.reason == "no_interval":
        return (
            f"Ước lượng: {name} {move} {size} ({_p(shown, decision, policy, noun, lang)}), "
            "nhưng phương pháp này không cho khoảng tin cậy, nên không đưa ra kết luận."
            if vi
            else f"Estimate: {name} {move} by {size} ({_p(shown, decision, policy, noun, lang)}), "
            "but this method gives no confidence interval, so no verdict is given."
        )
    how = _p(shown, decision, policy, noun, lang)
    if is_bound(shown.ci_low) and is_bound(shown.ci_high):  # ends may be infinite (unbounded)
        how = f"{interval_words(shown, outcome, lang, policy.level)}; {how}"
    if decision.category in ("improved", "worsened"):
        return (
            f"Có bằng chứng về tác động: {name} {move} khoảng {size} ({how})."
            if vi
            else f"Evidence of an effect: {name} {move} by about {size} ({how})."
        )
    if decision.reason == "design_limit":
        return _design_limit(decision, shown, outcome, policy, noun, lang, how)
    if decision.reason == "not_after_adjustment":
        return (
            f"Chưa đủ bằng chứng khi xét cùng các {noun} khác: ước lượng {name} {move} {size} "
            f"({how}); riêng khoảng tin cậy không chứa 0, nhưng sau hiệu chỉnh cho nhiều kiểm "
            f"định p không nhỏ hơn {alpha}."
            if vi
            else f"Not enough evidence once the other {noun} are taken into account: {name} "
            f"{move} by {size} ({how}); the interval alone excludes 0, but after adjusting for "
            f"the multiple tests p is not below {alpha}."
        )
    return (
        f"Chưa có bằng chứng rõ ràng về tác động: ước lượng {name} {move} {size}, nhưng khoảng "
        f"tin cậy vẫn gồm khả năng không thay đổi ({how}). Điều này không có nghĩa là mô hình "
        "không có tác dụng."
        if vi
        else f"No clear evidence of an effect: the estimate is {name} {move} by {size}, but the "
        f"interval includes no change ({how}). This is not proof that the programme has no "
        "effect."
    )


def _design_limit(decision, shown, outcome, policy, noun, lang, how) -> str:
    """Why a design cannot decide, in words that do not contradict the numbers beside them.

    Alone (one finding) the smallest p-value the design can give is not below the level. In a
    family the finding's own interval may exclude 0 at p below the level — it is then said so,
    and why that is not a verdict: with the family tested together no finding of this design can
    reach the level (the bound is the smallest adjusted p the family could give).
    """
    vi = lang == "vi"
    name = outcome.name(lang)
    move, size = effect_words(shown, outcome, lang)
    alpha = fmt.percent(100 * policy.alpha, 0, lang)
    best = fmt.pvalue(decision.best_adjusted, lang)
    m = decision.family_size
    alone = (
        is_finite(shown.ci_low)
        and is_finite(shown.ci_high)
        and (shown.ci_low > 0 or shown.ci_high < 0)
        and is_finite(shown.pvalue)
        and shown.pvalue < policy.alpha
    )
    if m > 1 and alone:
        return (
            f"Xét riêng thì có dấu hiệu: {name} {move} {size} ({how}). Nhưng khi {m} {noun} "
            f"được kiểm định cùng lúc, thiết kế này không cho kết quả nào đạt p dưới {alpha} sau "
            f"hiệu chỉnh {policy.method_name} (nhỏ nhất có thể: p = {best}), nên chưa đủ để kết "
            "luận riêng cho kết quả này. Đây không phải bằng chứng là mô hình không có tác dụng."
            if vi
            else f"On its own there is a sign: {name} {move} by {size} ({how}). But with {m} "
            f"{noun} tested together, no result of this design can reach p below {alpha} after "
            f"{policy.method_name}'s adjustment (the smallest possible is p = {best}), so this "
            "result alone cannot decide. This is not evidence that the programme has no effect."
        )
    if m > 1:
        return (
            f"Thiết kế này chưa đủ để kết luận khi {m} {noun} được kiểm định cùng lúc: sau hiệu "
            f"chỉnh {policy.method_name}, p nhỏ nhất có thể là {best}, không dưới {alpha}. Ước "
            f"lượng: {name} {move} {size} ({how}). Đây không phải bằng chứng là mô hình không có "
            "tác dụng."
            if vi
            else f"This design cannot decide with {m} {noun} tested together: after "
            f"{policy.method_name}'s adjustment the smallest possible p is {best}, not below "
            f"{alpha}. Estimate: {name} {move} by {size} ({how}). This is not evidence that the "
            "programme has no effect."
        )
    return (
        f"Thiết kế này chưa đủ để kết luận: p nhỏ nhất mà thiết kế có thể cho là {best}, không "
        f"dưới {alpha}. Ước lượng: {name} {move} {size} ({how}). Đây không phải bằng chứng là mô "
        "hình không có tác dụng."
        if vi
        else f"This design cannot decide: the smallest p-value it can give is {best}, not below "
        f"{alpha}. Estimate: {name} {move} by {size} ({how}). This is not evidence that the "
        "programme has no effect."
    )
