"""The decision a programme's evidence answers: keep, extend or stop — in words, from the records.

A programme's headline says whether it worked. An official deciding on it needs four more things,
each answered here from the run's finding records (nothing is recomputed, so the card cannot
disagree with the table beside it):

1. **Against its target** (the registry's ``target:``): reached, not reached or cannot tell —
   a one-sided test at 2.5 % that reads the 95 % interval's far end against the target: the
   whole interval beyond the target rejects "not reached"; the whole interval short of it
   rejects "reached"; an interval that holds the target decides neither.
2. **How long it has lasted**: the effect by quarter since the start (``durability`` findings).
3. **How fragile it is**: the HonestDiD breakdown of the headline
   (:mod:`evaluation.analysis.robustness`).
4. **What would settle what is open**: the review planner's detectable effect at the next
   review (``design`` findings), or why the design cannot tell.

The suggested answer follows from these by fixed rules (:func:`suggestion`): the card says
what the evidence supports, the official decides. :func:`claim_check` holds a claim made for the
pilot (the registry's ``claim:``, e.g. "after three months congestion was resolved") against
the pilot's estimate: how much of the outcome remains.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.robustness import robustness_text
from evaluation.i18n import say

__all__ = [
    "DecisionCard",
    "Line",
    "claim_check",
    "decision_card",
    "decision_cards",
    "target_status",
]

Record = Mapping[str, Any]

#: the one-sided test the target and claim checks use, named on the card
ONE_SIDED_VI = "kiểm định một phía ở mức 2,5%: so đầu xa của khoảng tin cậy 95% với mức mục tiêu"
ONE_SIDED_EN = "a one-sided test at 2.5%: the far end of the 95% interval against the target"

#: suggestion → (Vietnamese, English) short answer
ANSWERS = {
    "extend": ("Giữ và mở rộng", "Keep and extend"),
    "keep_review": ("Giữ, nhưng xem lại trước khi mở rộng", "Keep, but review before extending"),
    "stop": ("Dừng hoặc sửa đổi", "Stop or change it"),
    "wait": ("Chưa đủ bằng chứng để quyết định", "Not enough evidence to decide yet"),
    "redesign": (
        "Thiết kế hiện tại không trả lời được",
        "The present design cannot answer",
    ),
}


@dataclass(frozen=True)
class Line:
    """One line of a card: what it answers (``key``: target, claim, lasting, robustness, open),
    its status (e.g. reached / not_reached / cannot_tell / none) and the sentence."""

    key: str
    label_vi: str
    label_en: str
    status: str
    text_vi: str
    text_en: str


@dataclass(frozen=True)
class DecisionCard:
    """A programme's decision card (see the module docstring)."""

    programme: str
    name_vi: str
    name_en: str
    headline_id: str
    answer: str
    because_vi: str
    because_en: str
    lines: tuple[Line, ...] = field(default_factory=tuple)

    @property
    def question_vi(self) -> str:
        return f"Giữ, mở rộng hay dừng «{self.name_vi}»?"

    @property
    def question_en(self) -> str:
        return f"Keep, extend or stop “{self.name_en}”?"

    @property
    def answer_vi(self) -> str:
        return ANSWERS[self.answer][0]

    @property
    def answer_en(self) -> str:
        return ANSWERS[self.answer][1]

    def line(self, key: str) -> Line | None:
        return next((x for x in self.lines if x.key == key), None)


# --------------------------------------------------------------------------------------------
# reading records
# --------------------------------------------------------------------------------------------


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if not math.isnan(v) else None


def _finite(x: Any) -> float | None:
    v = _num(x)
    return v if v is not None and math.isfinite(v) else None


def _percent_interval(r: Record) -> tuple[float | None, float | None, float | None]:
    """The effect and its 95 % interval as a percentage (of the level without the programme;
    or the percent change itself for outcomes estimated as rate ratios)."""
    if r.get("scale") == "percent change" or r.get("unit") == "%":
        return _finite(r.get("estimate")), _num(r.get("ci_low")), _num(r.get("ci_high"))
    return _finite(r.get("percent")), _num(r.get("percent_low")), _num(r.get("percent_high"))


def _window_end(records: Sequence[Record]) -> pd.Timestamp | None:
    ends = [pd.Timestamp(r["window"][1]) for r in records if r.get("window")]
    return max(ends) if ends else None


# --------------------------------------------------------------------------------------------
# 1. target and claim
# --------------------------------------------------------------------------------------------


def _one_sided(goal: float, lo: float | None, hi: float | None) -> str:
    """reached / not_reached / cannot_tell for a goal of ``goal`` % (negative: a reduction)."""
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "cannot_tell"
    if goal < 0:
        return "reached" if hi <= goal else "not_reached" if lo > goal else "cannot_tell"
    return "reached" if lo >= goal else "not_reached" if hi < goal else "cannot_tell"


def target_status(r: Record) -> Line | None:
    """The headline against the programme's target (None when the registry gives none)."""
    goal_pct, goal_units = _finite(r.get("target_change_percent")), _finite(r.get("target_change"))
    if goal_pct is None and goal_units is None:
        return None
    source = str(r.get("target_source") or "")
    if goal_pct is not None:
        est, lo, hi = _percent_interval(r)
        goal = goal_pct
        goal_vi, goal_en = (fmt.percent(goal, 0, lang, sign=True) for lang in ("vi", "en"))
        digits, unit_vi, unit_en = 0, "%", "%"
    else:
        est, lo, hi = _finite(r.get("estimate")), _num(r.get("ci_low")), _num(r.get("ci_high"))
        goal = goal_units
        unit_vi, unit_en = str(r.get("unit_vi") or ""), str(r.get("unit") or "")
        digits = 1
        goal_vi = f"{fmt.signed(goal, 1, 'vi')} {unit_vi}".strip()
        goal_en = f"{fmt.signed(goal, 1, 'en')} {unit_en}".strip()
    status = _one_sided(goal, lo, hi) if est is not None else "cannot_tell"
    if est is None or lo is None or hi is None:
        found_vi, found_en = "chưa có ước lượng", "no estimate"
    else:
        found_vi = (
            f"{_signed(est, digits, 'vi', unit_vi)} {fmt.interval(lo, hi, digits, 'vi', unit_vi)}"
        )
        found_en = (
            f"{_signed(est, digits, 'en', unit_en)} {fmt.interval(lo, hi, digits, 'en', unit_en)}"
        )
    words = {
        "reached": (
            f"đạt mục tiêu: cả khoảng tin cậy 95% vượt mức {goal_vi}",
            f"target reached: the whole 95% interval lies beyond {goal_en}",
        ),
        "not_reached": (
            f"chưa đạt mục tiêu: cả khoảng tin cậy 95% chưa tới mức {goal_vi}",
            f"target not reached: the whole 95% interval falls short of {goal_en}",
        ),
        "cannot_tell": (
            f"chưa biết đã đạt mục tiêu hay chưa: khoảng tin cậy 95% chứa mức {goal_vi}"
            if est is not None and lo is not None
            else "chưa biết đã đạt mục tiêu hay chưa: không có khoảng tin cậy",
            f"cannot tell whether the target is reached: the 95% interval holds {goal_en}"
            if est is not None and lo is not None
            else "cannot tell whether the target is reached: there is no interval",
        ),
    }[status]
    return Line(
        "target",
        "Mục tiêu",
        "Target",
        status,
        f"Mục tiêu {goal_vi} (nguồn: {source}); ước lượng {found_vi} — {words[0]} ({ONE_SIDED_VI}).",
        f"Target {goal_en} (source: {source}); estimate {found_en} — {words[1]} ({ONE_SIDED_EN}).",
    )


def _signed(x: float, digits: int, lang: str, unit: str) -> str:
    if unit == "%":
        return fmt.percent(x, digits, lang, sign=True)
    return f"{fmt.signed(x, digits, lang)} {unit}".strip()


def claim_check(r: Record) -> Line | None:
    """A claim made for the pilot against the pilot's estimate: how much of the outcome remains
    (as a share of its level without the programme, with the 95 % interval), and whether the
    claimed change is reached (the one-sided test of :func:`target_status`)."""
    claimed = _finite(r.get("claim_change_percent"))
    if claimed is None:
        return None
    est, lo, hi = _percent_interval(r)
    source = str(r.get("claim_source") or "")
    months = r.get("claim_months")
    window = str(r.get("window_text") or "")
    said_vi = f"«{r.get('claim_vi')}»" + (f" (sau {months} tháng)" if months else "")
    said_en = f"“{r.get('claim_en') or r.get('claim_vi')}”" + (
        f" (after {months} months)" if months else ""
    )
    if est is None or lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return Line(
            "claim",
            "Tuyên bố",
            "Claim",
            "cannot_tell",
            f"Tuyên bố {said_vi} (nguồn: {source}): chưa kiểm chứng được — ước lượng của thí điểm "
            "không có khoảng tin cậy giới hạn.",
            f"Claim {said_en} (source: {source}): cannot be checked — the pilot's estimate has "
            "no bounded interval.",
        )
    status = _one_sided(claimed, lo, hi)
    remain = [fmt.percent(100 + x, 0, lang) for lang in ("vi", "en") for x in (est,)]
    rem_ci = [fmt.interval(100 + lo, 100 + hi, 0, lang, "%") for lang in ("vi", "en")]
    verdict = {
        "reached": ("phù hợp với số liệu", "consistent with the data"),
        "not_reached": ("không được số liệu ủng hộ", "not supported by the data"),
        "cannot_tell": ("chưa kiểm chứng được", "cannot be confirmed or refuted"),
    }[status]
    return Line(
        "claim",
        "Tuyên bố",
        "Claim",
        status,
        f"Tuyên bố {said_vi} (nguồn: {source}) {verdict[0]}: theo ước lượng của thí điểm "
        f"({window}), chỉ số còn khoảng {remain[0]} {rem_ci[0]} so với mức nếu không có mô hình "
        f"({ONE_SIDED_VI}).",
        f"Claim {said_en} (source: {source}) is {verdict[1]}: by the pilot's estimate "
        f"({window}), about {remain[1]} {rem_ci[1]} of the level without the programme remains "
        f"({ONE_SIDED_EN}).",
    )


# --------------------------------------------------------------------------------------------
# 2. lasting, 3. robustness, 4. what is open
# --------------------------------------------------------------------------------------------


def _quarter(r: Record) -> int:
    return int(str(r.get("finding_id") or "").rsplit("quarter", 1)[-1] or 0)


def _bounded(r: Record) -> bool:
    return _finite(r.get("ci_low")) is not None and _finite(r.get("ci_high")) is not None


def lasting(quarters: Sequence[Record]) -> Line:
    """Whether the effect lasts, from the effect by quarter since the start."""
    qs = sorted(quarters, key=_quarter)
    answered = [q for q in qs if _bounded(q) and q.get("estimate") is not None]
    if not answered:
        return Line(
            "lasting",
            "Bền vững",
            "Lasting",
            "unknown",
            "Chưa có ước lượng theo quý có khoảng tin cậy giới hạn: chưa biết tác động có kéo dài.",
            "No quarter since the start has a bounded estimate yet: whether the effect lasts "
            "is not known.",
        )
    last = answered[-1]
    n, cat = _quarter(last), last.get("verdict_category")
    good = [_quarter(q) for q in answered if q.get("verdict_category") == "improved"]
    bad = [_quarter(q) for q in answered if q.get("verdict_category") == "worsened"]
    after = [_quarter(q) for q in qs if _quarter(q) > n]
    effect_vi, effect_en = last.get("effect_vi") or "", last.get("effect_en") or ""
    tail_vi = f" Các quý sau ({_span(after)}) chưa đủ số liệu để trả lời." if after else ""
    tail_en = f" Later quarters ({_span(after)}) have too little data to answer." if after else ""
    if cat == "improved":
        status = "lasting"
        vi = f"Tác động còn rõ ở quý {n} sau khi bắt đầu ({effect_vi})."
        en = f"The effect is still clear in quarter {n} since the start ({effect_en})."
    elif cat == "worsened":
        status = "reversed"
        vi = f"Ở quý {n} sau khi bắt đầu, chỉ số xấu đi ({effect_vi})."
        en = f"In quarter {n} since the start, the indicator worsened ({effect_en})."
    else:
        status = "fading" if good else "unclear"
        vi = f"Ở quý {n} sau khi bắt đầu, chưa rõ còn tác động ({effect_vi})" + (
            f"; rõ ở các quý {_span(good)}." if good else "."
        )
        en = f"In quarter {n} since the start, no clear effect remains ({effect_en})" + (
            f"; it was clear in quarters {_span(good)}." if good else "."
        )
    if bad and cat != "worsened":
        vi += f" Chỉ số xấu đi ở các quý {_span(bad)}."
        en += f" The indicator worsened in quarters {_span(bad)}."
    return Line("lasting", "Bền vững", "Lasting", status, vi + tail_vi, en + tail_en)


def _span(qs: Sequence[int]) -> str:
    qs = sorted(qs)
    if not qs:
        return ""
    if qs == list(range(qs[0], qs[-1] + 1)) and len(qs) > 2:
        return f"{qs[0]}–{qs[-1]}"
    return ", ".join(str(q) for q in qs)


def robustness(heads: Sequence[Record]) -> Line | None:
    """The HonestDiD breakdown of each headline, one sentence each (pilot, then rollout)."""
    parts = []
    for h in heads:
        who = (
            (say("the pilot") if h.get("level") == "pilot" else say("the rollout"))
            if len(heads) > 1
            else None
        )
        words = robustness_text(h, who)
        if words.vi:
            parts.append((h, words.vi, words.en))
    if not parts:
        return None
    up = [h.get("robust_up_to") if h.get("robust_applies") else None for h, _, _ in parts]
    status = "fragile" if any(u is None or u == 0 for u in up) else "robust"
    return Line(
        "robustness",
        "Độ vững",
        "Robustness",
        status,
        " ".join(p[1] for p in parts),
        " ".join(p[2] for p in parts),
    )


def still_open(main: Record, designs: Sequence[Record], data_end: pd.Timestamp | None) -> Line:
    """What evidence would settle what is open: the detectable effect at the next review."""
    reviews = [
        d for d in designs if d.get("review_date") and _finite(d.get("mde_percent")) is not None
    ]
    reviews.sort(key=lambda d: pd.Timestamp(d["review_date"]))
    later = [d for d in reviews if data_end is None or pd.Timestamp(d["review_date"]) > data_end]
    if later:
        d, when = later[0], "ở lần xem xét tiếp theo"
        when_en = "at the next review"
    elif reviews:
        d, when, when_en = reviews[-1], "ở lần xem xét gần nhất", "at the latest review"
    else:
        d = None
    cat = main.get("verdict_category")
    if d is None:
        return Line(
            "open",
            "Còn bỏ ngỏ",
            "Still open",
            "no_plan",
            "Sổ đăng ký không có ngày xem xét nào kèm cỡ tác động phát hiện được: chưa biết "
            "thêm số liệu bao lâu thì trả lời được câu hỏi còn mở.",
            "The registry gives no review with a detectable effect: how much more data would "
            "settle what is open is not known.",
        )
    date = fmt.date_text(pd.Timestamp(d["review_date"]))
    mde = abs(float(d["mde_percent"]))
    mde_vi, mde_en = fmt.percent(mde, 0, "vi"), fmt.percent(mde, 0, "en")
    settled = cat in ("improved", "worsened")
    vi = (
        f"{when.capitalize()} ({date}), thiết kế này phát hiện được tác động từ {mde_vi} trở lên "
        "với xác suất 80%"
    )
    en = f"{when_en.capitalize()} ({date}) this design detects effects of {mde_en} or more with 80% probability"
    if settled:
        vi += "; câu hỏi còn mở là tác động có đạt mục tiêu và kéo dài hay không."
        en += "; what is open is whether the effect reaches the target and lasts."
    else:
        vi += f": một tác động nhỏ hơn {mde_vi} sẽ vẫn chưa rõ."
        en += f": a smaller effect than {mde_en} would still not show."
    return Line("open", "Còn bỏ ngỏ", "Still open", "planned", vi, en)


# --------------------------------------------------------------------------------------------
# the card
# --------------------------------------------------------------------------------------------


def suggestion(category: str | None, lines: Sequence[Line]) -> tuple[str, str, str]:
    """The suggested answer and why (vi, en), by fixed rules from the headline's verdict and
    the card's lines."""
    status = {x.key: x.status for x in lines}
    target, last, robust = status.get("target"), status.get("lasting"), status.get("robustness")
    if category == "worsened":
        return (
            "stop",
            "chỉ số chính xấu đi sau khi triển khai.",
            "the headline indicator worsened after the start.",
        )
    if category == "design_limited":
        return (
            "redesign",
            "thiết kế so sánh không đủ để trả lời (xem lý do ở kết quả chính); đây không phải "
            "bằng chứng mô hình thất bại — cần thêm phường so sánh, thêm thời gian hoặc một "
            "lịch triển khai khác.",
            "the comparison cannot answer (see the headline's reason); this is no evidence the "
            "programme failed — it needs more comparison wards, more time or another rollout "
            "schedule.",
        )
    if category != "improved":
        return (
            "wait",
            "chưa có bằng chứng rõ về tác động; chưa rõ không có nghĩa là không có tác dụng.",
            "there is no clear evidence of an effect; unclear is not the same as no effect.",
        )
    reasons_vi, reasons_en = [], []
    if target == "not_reached":
        reasons_vi.append("tác động chắc chắn nhỏ hơn mục tiêu")
        reasons_en.append("the effect is surely smaller than the target")
    if last in ("fading", "unclear", "reversed"):
        reasons_vi.append("tác động không còn rõ ở quý gần nhất")
        reasons_en.append("the effect is no longer clear in the latest quarter")
    if robust == "fragile":
        reasons_vi.append("kết luận dựa hoàn toàn vào giả định xu hướng song song")
        reasons_en.append("the conclusion rests entirely on parallel trends")
    if reasons_vi:
        return (
            "keep_review",
            "có bằng chứng về tác động, nhưng " + "; ".join(reasons_vi) + ".",
            "there is evidence of an effect, but " + "; ".join(reasons_en) + ".",
        )
    unknown_vi, unknown_en = [], []
    if last in (None, "unknown"):
        unknown_vi.append("tác động có kéo dài không (chưa có ước lượng theo quý)")
        unknown_en.append("whether the effect lasts (no estimate by quarter)")
    if robust is None:
        unknown_vi.append("kết luận vững đến đâu khi xu hướng lệch (chưa tính độ vững)")
        unknown_en.append("how far the conclusion survives diverging trends (not computed)")
    if unknown_vi:
        return (
            "keep_review",
            "có bằng chứng về tác động, nhưng chưa biết " + "; ".join(unknown_vi) + ".",
            "there is evidence of an effect, but it is not known " + "; ".join(unknown_en) + ".",
        )
    extra_vi = "" if target in ("reached", None) else " (chưa chắc đã đạt mục tiêu)"
    extra_en = "" if target in ("reached", None) else " (not yet sure it reaches the target)"
    return (
        "extend",
        f"có bằng chứng về tác động, còn rõ ở quý gần nhất và vững khi xu hướng lệch{extra_vi}.",
        f"there is evidence of an effect, still clear in the latest quarter and robust to "
        f"diverging trends{extra_en}.",
    )


def decision_card(records: Sequence[Record]) -> DecisionCard | None:
    """The decision card of one programme from its records (None without a headline)."""
    heads = [r for r in records if r.get("role") == "headline"]
    if not heads:
        return None
    outcome = heads[0].get("outcome")
    heads = [h for h in heads if h.get("outcome") == outcome]
    pilot = next((h for h in heads if h.get("level") == "pilot"), None)
    district = next((h for h in heads if h.get("level") != "pilot"), None)
    # the rollout answers for the programme when it has a number; else the pilot
    main = district if district is not None and district.get("estimate") is not None else None
    main = main or pilot or district
    lines: list[Line] = []
    target = target_status(main)
    if target is not None:
        lines.append(target)
    claim = claim_check(pilot) if pilot is not None else None
    if claim is not None:
        lines.append(claim)
    quarters = [r for r in records if r.get("role") == "durability" and r.get("outcome") == outcome]
    if quarters:
        lines.append(lasting(quarters))
    robust = robustness([h for h in (pilot, district) if h is not None])
    if robust is not None:
        lines.append(robust)
    designs = [r for r in records if r.get("role") == "design"]
    lines.append(still_open(main, designs, _window_end(records)))
    answer, because_vi, because_en = suggestion(main.get("verdict_category"), lines)
    return DecisionCard(
        programme=str(main.get("programme") or ""),
        name_vi=str(main.get("programme_vi") or main.get("programme") or ""),
        name_en=str(main.get("programme_en") or main.get("programme") or ""),
        headline_id=str(main.get("finding_id") or ""),
        answer=answer,
        because_vi=because_vi,
        because_en=because_en,
        lines=tuple(lines),
    )


def decision_cards(records: Sequence[Record]) -> list[DecisionCard]:
    """One card per programme with a headline, in the order the records name programmes."""
    by: dict[str, list[Record]] = {}
    for r in records:
        by.setdefault(str(r.get("programme") or ""), []).append(r)
    cards = [decision_card(items) for items in by.values()]
    return [c for c in cards if c is not None]
