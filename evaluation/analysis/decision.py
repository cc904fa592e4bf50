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
from evaluation.analysis.findings import window_words
from evaluation.analysis.robustness import robustness_text
from evaluation.i18n import LANGS, Text, both, say, text

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
ONE_SIDED = say("a one-sided test at 2.5%: the far end of the 95% interval against the target")

#: suggestion → short answer, in both languages (unpacks as (Vietnamese, English))
ANSWERS = {
    "extend": say("Keep and extend"),
    "keep_review": say("Keep, but review before extending"),
    "stop": say("Stop or change it"),
    "wait": say("Not enough evidence to decide yet"),
    "redesign": say("The present design cannot answer"),
}

# TRANSLATORS: what a line of a programme's decision card answers (its label)
_TARGET, _CLAIM = say("Target"), say("Claim")
_LASTING, _ROBUSTNESS, _OPEN = say("Lasting"), say("Robustness"), say("Still open")


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

    @classmethod
    def of(cls, key: str, label: Text, status: str, words: Text) -> Line:
        """A line from its label and sentence in both languages."""
        return cls(key, label.vi, label.en, status, words.vi, words.en)


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
    def question(self) -> Text:
        """The decision's question in both languages."""
        return say("Keep, extend or stop “{name}”?", name=Text(self.name_vi, self.name_en))

    @property
    def question_vi(self) -> str:
        return self.question.vi

    @property
    def question_en(self) -> str:
        return self.question.en

    @property
    def answer_vi(self) -> str:
        return ANSWERS[self.answer].vi

    @property
    def answer_en(self) -> str:
        return ANSWERS[self.answer].en

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
        digits, unit = 0, text("%")
        goal_words = both(fmt.percent, goal, 0, sign=True)
    else:
        est, lo, hi = _finite(r.get("estimate")), _num(r.get("ci_low")), _num(r.get("ci_high"))
        goal = goal_units
        # the unit as the record writes it (the outcome's unit in each language)
        unit = Text(str(r.get("unit_vi") or ""), str(r.get("unit") or ""))
        digits = 1
        goal_words = Text(
            *(
                f"{fmt.signed(goal, 1, lang)} {u}".strip()
                for lang, u in zip(LANGS, unit, strict=True)
            )
        )
    status = _one_sided(goal, lo, hi) if est is not None else "cannot_tell"
    if est is None or lo is None or hi is None:
        found = say("no estimate")
    else:
        found = Text(
            *(
                f"{_signed(est, digits, lang, u)} {fmt.interval(lo, hi, digits, lang, u)}"
                for lang, u in zip(LANGS, unit, strict=True)
            )
        )
    if status == "reached":
        words = say("target reached: the whole 95% interval lies beyond {goal}", goal=goal_words)
    elif status == "not_reached":
        words = say(
            "target not reached: the whole 95% interval falls short of {goal}", goal=goal_words
        )
    elif est is not None and lo is not None:
        words = say(
            "cannot tell whether the target is reached: the 95% interval holds {goal}",
            goal=goal_words,
        )
    else:
        words = say("cannot tell whether the target is reached: there is no interval")
    return Line.of(
        "target",
        _TARGET,
        status,
        say(
            "Target {goal} (source: {source}); estimate {found} — {status} ({test}).",
            goal=goal_words,
            source=source,
            found=found,
            status=words,
            test=ONE_SIDED,
        ),
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
    window = window_words(r.get("window"), r.get("before"))
    # the claim's own words, as the registry gives them in each language
    claim = Text(str(r.get("claim_vi")), str(r.get("claim_en") or r.get("claim_vi")))
    if months:
        said = say("“{claim}” (after {months} months)", claim=claim, months=str(months))
    else:
        said = say("“{claim}”", claim=claim)
    if est is None or lo is None or hi is None or not (math.isfinite(lo) and math.isfinite(hi)):
        return Line.of(
            "claim",
            _CLAIM,
            "cannot_tell",
            say(
                "Claim {claim} (source: {source}): cannot be checked — the pilot's estimate has "
                "no bounded interval.",
                claim=said,
                source=source,
            ),
        )
    status = _one_sided(claimed, lo, hi)
    verdict = {
        "reached": say("consistent with the data"),
        "not_reached": say("not supported by the data"),
        "cannot_tell": say("cannot be confirmed or refuted"),
    }[status]
    return Line.of(
        "claim",
        _CLAIM,
        status,
        say(
            "Claim {claim} (source: {source}) is {verdict}: by the pilot's estimate ({window}), "
            "about {remain} {interval} of the level without the programme remains ({test}).",
            claim=said,
            source=source,
            verdict=verdict,
            window=window,
            remain=both(fmt.percent, 100 + est, 0),
            interval=both(fmt.interval, 100 + lo, 100 + hi, 0, unit="%"),
            test=ONE_SIDED,
        ),
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
        return Line.of(
            "lasting",
            _LASTING,
            "unknown",
            say(
                "No quarter since the start has a bounded estimate yet: whether the effect "
                "lasts is not known."
            ),
        )
    last = answered[-1]
    n, cat = _quarter(last), last.get("verdict_category")
    good = [_quarter(q) for q in answered if q.get("verdict_category") == "improved"]
    bad = [_quarter(q) for q in answered if q.get("verdict_category") == "worsened"]
    after = [_quarter(q) for q in qs if _quarter(q) > n]
    # the quarter's effect as its record writes it in each language
    effect = Text(last.get("effect_vi") or "", last.get("effect_en") or "")
    if cat == "improved":
        status = "lasting"
        said = [
            say(
                "The effect is still clear in quarter {n} since the start ({effect}).",
                n=str(n),
                effect=effect,
            )
        ]
    elif cat == "worsened":
        status = "reversed"
        said = [
            say(
                "In quarter {n} since the start, the indicator worsened ({effect}).",
                n=str(n),
                effect=effect,
            )
        ]
    elif good:
        status = "fading"
        said = [
            say(
                "In quarter {n} since the start, no clear effect remains ({effect}); it was "
                "clear in quarters {quarters}.",
                n=str(n),
                effect=effect,
                quarters=_span(good),
            )
        ]
    else:
        status = "unclear"
        said = [
            say(
                "In quarter {n} since the start, no clear effect remains ({effect}).",
                n=str(n),
                effect=effect,
            )
        ]
    if cat not in ("improved", "worsened") and last.get("verdict_reason") == "not_after_adjustment":
        # the quarter's own interval excludes 0: say why it is still not called clear
        said.append(
            say(
                "Its interval excludes 0, but not after the adjustment for the {k} quarters "
                "tested together (adjusted p = {p}).",
                k=str(last.get("family_size") or ""),
                p=both(fmt.pvalue, float(last.get("p_adjusted"))),
            )
        )
    if bad and cat != "worsened":
        said.append(say("The indicator worsened in quarters {quarters}.", quarters=_span(bad)))
    if after:
        said.append(
            say(
                "Later quarters ({quarters}) have too little data to answer.", quarters=_span(after)
            )
        )
    return Line.of("lasting", _LASTING, status, _joined(said, " "))


def _joined(parts: Sequence[Text], sep: str) -> Text:
    """Texts joined language by language with ``sep``."""
    return Text(*(sep.join(p.lang(lang) for p in parts) for lang in LANGS))


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
    return Line.of(
        "robustness", _ROBUSTNESS, status, _joined([Text(p[1], p[2]) for p in parts], " ")
    )


def still_open(main: Record, designs: Sequence[Record], data_end: pd.Timestamp | None) -> Line:
    """What evidence would settle what is open: the detectable effect at the next review."""
    reviews = [
        d for d in designs if d.get("review_date") and _finite(d.get("mde_percent")) is not None
    ]
    reviews.sort(key=lambda d: pd.Timestamp(d["review_date"]))
    later = [d for d in reviews if data_end is None or pd.Timestamp(d["review_date"]) > data_end]
    if later:
        d, when = later[0], say("At the next review")
    elif reviews:
        d, when = reviews[-1], say("At the latest review")
    else:
        d = None
    cat = main.get("verdict_category")
    if d is None:
        return Line.of(
            "open",
            _OPEN,
            "no_plan",
            say(
                "The registry gives no review with a detectable effect: how much more data "
                "would settle what is open is not known."
            ),
        )
    values = dict(
        when=when,
        date=fmt.date_text(pd.Timestamp(d["review_date"])),
        mde=both(fmt.percent, abs(float(d["mde_percent"])), 0),
    )
    if cat in ("improved", "worsened"):
        words = say(
            "{when} ({date}) this design detects effects of {mde} or more with 80% probability; "
            "what is open is whether the effect reaches the target and lasts.",
            **values,
        )
    else:
        words = say(
            "{when} ({date}) this design detects effects of {mde} or more with 80% probability: "
            "a smaller effect than {mde} would still not show.",
            **values,
        )
    return Line.of("open", _OPEN, "planned", words)


# --------------------------------------------------------------------------------------------
# the card
# --------------------------------------------------------------------------------------------


def suggestion(category: str | None, lines: Sequence[Line]) -> tuple[str, str, str]:
    """The suggested answer and why (vi, en), by fixed rules from the headline's verdict and
    the card's lines."""
    status = {x.key: x.status for x in lines}
    target, last, robust = status.get("target"), status.get("lasting"), status.get("robustness")
    if category == "worsened":
        return "stop", *say("the headline indicator worsened after the start.")
    if category == "design_limited":
        return "redesign", *say(
            "the comparison cannot answer (see the headline's reason); this is no evidence the "
            "programme failed — it needs more comparison wards, more time or another rollout "
            "schedule."
        )
    if category != "improved":
        return "wait", *say(
            "there is no clear evidence of an effect; unclear is not the same as no effect."
        )
    reasons = []
    if target == "not_reached":
        reasons.append(say("the effect is surely smaller than the target"))
    if last in ("fading", "unclear", "reversed"):
        reasons.append(say("the effect is no longer clear in the latest quarter"))
    if robust == "fragile":
        reasons.append(say("the conclusion rests entirely on parallel trends"))
    if reasons:
        # TRANSLATORS: {reasons} are the phrases above, joined by "; "
        return "keep_review", *say(
            "there is evidence of an effect, but {reasons}.", reasons=_joined(reasons, "; ")
        )
    unknown = []
    if last in (None, "unknown"):
        unknown.append(say("whether the effect lasts (no estimate by quarter)"))
    if robust is None:
        unknown.append(say("how far the conclusion survives diverging trends (not computed)"))
    if unknown:
        # TRANSLATORS: {unknown} are the phrases above, joined by "; "
        return "keep_review", *say(
            "there is evidence of an effect, but it is not known {unknown}.",
            unknown=_joined(unknown, "; "),
        )
    if target in ("reached", None):
        return "extend", *say(
            "there is evidence of an effect, still clear in the latest quarter and robust to "
            "diverging trends."
        )
    return "extend", *say(
        "there is evidence of an effect, still clear in the latest quarter and robust to "
        "diverging trends (not yet sure it reaches the target)."
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
