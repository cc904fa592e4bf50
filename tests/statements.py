"""A second reader of the findings' sentences: does what a sentence says agree with its record?

Written independently of :mod:`evaluation.analysis.verdict` (which writes the sentences): it
reads the numbers back out of the Vietnamese and English texts with regular expressions and
compares them with the record's fields, and checks that the verdict follows from the numbers
under the declared policy. :func:`contradictions` lists every disagreement of one record;
:func:`card_contradictions` does the same for a decision card against the records it read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from evaluation import formats as fmt
from evaluation.analysis.policy import LABELS

#: a number as the pages print it (true minus, comma or point decimals, thousands dots/commas)
NUM = r"[−+-]?\d+(?:[.,]\d+)*"


def _value(text: str, lang: str) -> float:
    t = text.replace("−", "-").replace("+", "")
    if lang == "vi":
        t = t.replace(".", "").replace(",", ".")
    else:
        t = t.replace(",", "")
    return float(t)


def _num(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) else v


def _bounded(r: Mapping[str, Any]) -> bool:
    lo, hi = _num(r.get("ci_low")), _num(r.get("ci_high"))
    return lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)


def contradictions(r: Mapping[str, Any], alpha: float = 0.05) -> list[str]:
    """Every way the record's sentences disagree with its numbers or its verdict."""
    out: list[str] = []
    fid = r.get("finding_id")
    cat = r.get("verdict_category")
    if not cat:
        return out
    if (r.get("verdict_label_vi"), r.get("verdict_label_en")) != LABELS[cat]:
        out.append(f"{fid}: label {r.get('verdict_label_vi')!r} is not the label of {cat}")
    est, p, p_adj = _num(r.get("estimate")), _num(r.get("pvalue")), _num(r.get("p_adjusted"))
    lo, hi = _num(r.get("ci_low")), _num(r.get("ci_high"))
    for lang in ("vi", "en"):
        text = str(r.get(f"verdict_{lang}") or "")
        if est is None:
            continue
        # the raw p-value: "p = …" / "p < …" opening the parentheses or after the interval
        m = re.search(rf"[(;] p (=|<) ({NUM})", text)
        if p is not None and m and m.group(1) == "=":
            if m.group(2) != fmt.pvalue(p, lang):
                out.append(f"{fid} [{lang}]: says p = {m.group(2)}, record {fmt.pvalue(p, lang)}")
        # the adjusted p-value
        m = re.search(
            rf"(?:sau hiệu chỉnh|after) [^:]*?(?:cùng lúc|together): p (=|<) ({NUM})", text
        )
        if m and p_adj is not None and m.group(1) == "=":
            if m.group(2) != fmt.pvalue(p_adj, lang):
                out.append(f"{fid} [{lang}]: says adjusted p = {m.group(2)}, record {p_adj}")
        # the smallest attainable p quoted must not exceed the adjusted p it stands beside
        m = re.search(
            rf"(?:nhỏ nhất có thể(?: là|: p =)|p nhỏ nhất có thể là|chỉ đạt p ="
            rf"|smallest possible(?: p)? is(?: p =)?|would have p =|it can give is)\s*({NUM})",
            text,
        )
        if m and p_adj is not None:
            best = _value(m.group(1), lang)
            if best > p_adj + 0.0015:  # printed to three decimals
                out.append(f"{fid} [{lang}]: best attainable p {best} > adjusted p {p_adj}")
        # the interval quoted
        m = re.search(
            rf"(?:khoảng tin cậy 95%: ({NUM}) đến ({NUM})|95% confidence interval ({NUM}) to ({NUM}))",
            text,
        )
        if m and lo is not None and hi is not None:
            a, b = (m.group(1), m.group(2)) if lang == "vi" else (m.group(3), m.group(4))
            if not (
                math.isclose(_value(a, lang), lo, abs_tol=0.06 * max(1, abs(lo)) + 0.051)
                and math.isclose(_value(b, lang), hi, abs_tol=0.06 * max(1, abs(hi)) + 0.051)
            ):
                out.append(f"{fid} [{lang}]: says interval {a} to {b}, record [{lo}, {hi}]")
        # the direction said: the first "giảm"/"tăng" ("lower"/"higher") is the estimate's
        said = re.search(r"\b(giảm|tăng|lower|higher)\b", text)
        if est != 0 and said is not None and (said.group(1) in ("giảm", "lower")) != (est < 0):
            out.append(f"{fid} [{lang}]: says {said.group(1)!r} of an estimate {est}")
        # words that state a fact about the interval
        excludes = lo is not None and hi is not None and (lo > 0 or hi < 0)
        if re.search(
            r"khoảng tin cậy vẫn gồm khả năng không thay đổi|interval includes no change", text
        ):
            if excludes:
                out.append(f"{fid} [{lang}]: says the interval includes 0; record [{lo}, {hi}]")
        if re.search(
            r"không chứa 0|excludes 0|Xét riêng thì có dấu hiệu|On its own there is a sign", text
        ):
            if not excludes:
                out.append(f"{fid} [{lang}]: says the interval excludes 0; record [{lo}, {hi}]")
    # the verdict follows from the numbers under the policy
    if cat in ("improved", "worsened"):
        if not _bounded(r) or not (lo > 0 or hi < 0):
            out.append(f"{fid}: {cat} without a bounded interval that excludes 0")
        if p_adj is None or p_adj >= alpha:
            out.append(f"{fid}: {cat} with adjusted p {p_adj}")
    if cat == "unclear" and _bounded(r) and (lo > 0 or hi < 0) and p_adj is not None:
        if p_adj < alpha:
            out.append(f"{fid}: unclear, yet the interval excludes 0 and adjusted p {p_adj} < α")
    # nothing in front that would be read as a fact when the design cannot decide
    front = str(r.get("front_vi") or "")
    if est is not None and (cat == "design_limited" or not _bounded(r)):
        if front == r.get("effect_vi"):
            out.append(f"{fid}: the point estimate stands in front ({front!r})")
    return out


def one_sided(goal: float, lo: float | None, hi: float | None) -> str:
    """reached / not_reached / cannot_tell, written again here (a second implementation)."""
    if lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return "cannot_tell"
    inside = min(lo, hi) <= goal <= max(lo, hi)
    if inside:
        return "cannot_tell"
    beyond = (hi < goal) if goal < 0 else (lo > goal)
    return "reached" if beyond else "not_reached"


def card_contradictions(card, records: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every way a decision card disagrees with the records of its programme."""
    out: list[str] = []
    main = next((r for r in records if r.get("finding_id") == card.headline_id), None)
    if main is None:
        return [f"{card.programme}: the card's headline {card.headline_id} is not a record"]
    cat = main.get("verdict_category")
    allowed = {
        "improved": {"extend", "keep_review"},
        "worsened": {"stop"},
        "unclear": {"wait"},
        "design_limited": {"redesign"},
    }.get(cat, set())
    if card.answer not in allowed:
        out.append(f"{card.programme}: answer {card.answer} after a headline {cat}")
    target = card.line("target")
    goal = _num(main.get("target_change_percent"))
    if (target is None) != (goal is None and _num(main.get("target_change")) is None):
        out.append(f"{card.programme}: target line present={target is not None}, record {goal}")
    if target is not None and goal is not None:
        if main.get("scale") == "percent change":
            lo, hi = _num(main.get("ci_low")), _num(main.get("ci_high"))
        else:
            lo, hi = _num(main.get("percent_low")), _num(main.get("percent_high"))
        expect = one_sided(goal, lo, hi) if main.get("estimate") is not None else "cannot_tell"
        if target.status != expect:
            out.append(f"{card.programme}: target {target.status}, its interval says {expect}")
    if card.answer == "extend":
        lasting = card.line("lasting")
        robust = card.line("robustness")
        if lasting is None or lasting.status != "lasting":
            out.append(f"{card.programme}: extend without an effect that lasts")
        if robust is None or robust.status != "robust":
            out.append(f"{card.programme}: extend with a fragile or unknown robustness")
        if target is not None and target.status == "not_reached":
            out.append(f"{card.programme}: extend with a target surely not reached")
    quarters = [r for r in records if r.get("role") == "durability"]
    lasting = card.line("lasting")
    if lasting is not None and quarters:
        answered = [q for q in quarters if _bounded(q) and q.get("estimate") is not None]
        if answered:
            last = max(answered, key=lambda q: int(str(q["finding_id"]).rsplit("quarter", 1)[1]))
            good = last.get("verdict_category") == "improved"
            if (lasting.status == "lasting") != good:
                out.append(f"{card.programme}: lasting={lasting.status}, last quarter {last}")
    return out
