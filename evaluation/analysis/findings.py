"""Findings: the answers the reports give, each attributable to the wards and weeks it covers.

A :class:`Finding` is one estimate of one programme on one outcome for one scope — the pilot
ward, the rollout, one wave, one ward — with the comparison it rests on, its window (in the
registry's dates), the method in words, and, after :func:`apply_policy`, its verdict. Its
``family`` says which findings are tested together (:mod:`evaluation.analysis.policy`), and its
``role`` where a page puts it:

* ``headline`` — the answer to a programme's question (one per question: did the pilot work?
  did the rollout work?), the first thing the index shows;
* ``secondary`` — the same question on another outcome (speed beside congestion);
* ``wave`` / ``ward`` — one wave's or one ward's own estimate;
* ``durability`` — the effect quarter by quarter since the start: is it still working?
* ``alternative`` — another method on the same question (synthetic DiD beside TWFE), folded
  under the headline, without a verdict of its own;
* ``contrast`` — a method known to be biased here, shown to explain why it is not used;
* ``check`` — a placebo outcome or other check (no effect expected).

A ward that cannot be evaluated on its own (no comparison ward left, too few events) gets a
finding **without a number**, the verdict "Design cannot decide", and ``covered_by``: the id of
the district finding that answers for it — never another result's number under its name.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.caveats import vietnamese
from evaluation.analysis.outcomes import Outcome, outcome_info
from evaluation.analysis.policy import Evidence, Policy, decide, is_bound, is_finite
from evaluation.analysis.record import finding as finding_record
from evaluation.analysis.verdict import Shown, Verdict, write_verdict
from evaluation.i18n import Text, say, say_in, text
from evaluation.results import Estimate

__all__ = [
    "Check",
    "Finding",
    "ROLES",
    "VERDICT_ROLES",
    "apply_policy",
    "not_estimable",
    "shown_from",
]

ROLES = (
    "headline",
    "secondary",
    "wave",
    "ward",
    "durability",
    "alternative",
    "contrast",
    "check",
)
#: roles whose findings get a verdict (alternatives, contrasts and checks only inform)
VERDICT_ROLES = ("headline", "secondary", "wave", "ward", "durability")
#: what a family of findings counts, by level (the verdicts' "12 wards tested together")
_NOUNS = {"ward": say("wards"), "wave": say("waves")}
_FINDINGS = say("findings")


def window_words(window, before) -> Text:
    """The periods a finding compares, in both languages: "Trước: 03/01/2022 – 11/02/2024;
    sau: 15/02/2024 – 30/06/2024" — before the start and after it (dates, or ISO date texts
    as a record keeps them); only the after period without a before; "—" without a window."""
    if not window:
        return text("—")
    after_start, after_end = (fmt.date_text(pd.Timestamp(x)) for x in window)
    if not before:
        return text(f"{after_start} – {after_end}")
    before_start, before_end = (fmt.date_text(pd.Timestamp(x)) for x in before)
    return say(
        "Before: {before_start} – {before_end}; after: {after_start} – {after_end}",
        before_start=before_start,
        before_end=before_end,
        after_start=after_start,
        after_end=after_end,
    )


@dataclass
class Check:
    """One robustness check, in words; ``ok`` is None when it could not be run."""

    name_vi: str
    name_en: str
    result_vi: str
    result_en: str
    ok: bool | None = None
    value: float | None = None


def shown_from(est: Estimate | None, outcome: Outcome, baseline: float | None) -> Shown:
    """The numbers a page shows for an estimate: its own scale (percent change for outcomes
    estimated as rate ratios), and the effect as a percentage of ``baseline`` (the treated
    wards' level without the programme) for effects in units."""
    if est is None:
        return Shown(None)
    vals = [est.estimate, est.ci_low, est.ci_high]
    if not (is_finite(est.ci_low) or is_finite(est.ci_high)) and not est.design_can_reject:
        # no effect can be rejected at this level when even the strongest result could not
        # be (p ≥ min p > 1 − level for every value): the interval is the whole line
        vals[1:] = [-math.inf, math.inf]
    if outcome.percent:
        vals = [100 * math.expm1(v) if is_bound(v) else math.nan for v in vals]
        pct = vals
    elif is_finite(baseline) and baseline != 0:
        pct = [100 * v / baseline if is_bound(v) else None for v in vals]
    else:
        pct = [None] * 3
    return Shown(
        *vals,
        pvalue=est.pvalue,
        min_pvalue=est.min_pvalue,
        pct=pct[0],
        pct_low=pct[1],
        pct_high=pct[2],
    )


@dataclass
class Finding:
    """One answer of the reports (see the module docstring).

    ``window`` is (first day, last day) the estimate covers, in calendar dates (the registry's
    start date, not the first day of the week it falls in); ``before`` the periods before the
    start it is compared with (the comparison's base: first day, last day), when there is an
    estimate; ``wards`` the treated wards whose
    outcomes the number averages; ``truth`` the planted effect over exactly those cells, on the
    display scale, when the data are simulated.
    """

    id: str
    programme: str
    outcome: str
    level: str
    role: str
    family: str
    estimate: Estimate | None
    method_vi: str
    method_en: str
    design_vi: str
    design_en: str
    ward: str | None = None
    wave: str | None = None
    baseline: float | None = None
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    before: tuple[pd.Timestamp, pd.Timestamp] | None = None
    wards: list[str] = field(default_factory=list)
    comparison: list[str] = field(default_factory=list)
    truth: float | None = None
    question_vi: str = ""
    question_en: str = ""
    reason_vi: str = ""
    reason_en: str = ""
    covered_by: str | None = None
    notes_vi: list[str] = field(default_factory=list)
    notes_en: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    verdict: Verdict | None = None

    @property
    def info(self) -> Outcome:
        return outcome_info(self.outcome)

    @property
    def shown(self) -> Shown:
        return shown_from(self.estimate, self.info, self.baseline)

    @property
    def has_number(self) -> bool:
        return self.estimate is not None and is_finite(self.estimate.estimate)

    # ------------------------------------------------------------------ text
    def effect_text(self, lang: str = "vi", *, interval: bool = True) -> str:
        """ "−6,4 phút [−7,8; −3,2]" / "−11% [−30%; 12%]"; "—" without a number."""
        s, o = self.shown, self.info
        if not is_finite(s.estimate):
            return "—"
        if o.percent:
            text = fmt.percent(s.estimate, 0, lang, sign=True)
            return text + (
                f" {fmt.interval(s.ci_low, s.ci_high, 0, lang, '%')}"
                if interval and self._has_interval()
                else ""
            )
        text = f"{fmt.signed(s.estimate, o.digits, lang)} {o.unit(lang)}"
        if interval and self._has_interval():
            text += f" {fmt.interval(s.ci_low, s.ci_high, o.digits, lang)}"
        return text

    def shows_point(self) -> bool:
        """Whether a page may put the point estimate in front: not when the interval is
        unbounded on either side (the data fit effects without limit) nor when the design
        cannot decide — then the reason and the interval stand in front, never a number that
        would be read as a fact."""
        if not self.has_number:
            return False
        s = self.shown
        if any(is_bound(x) and not is_finite(x) for x in (s.ci_low, s.ci_high)):
            return False
        return self.verdict is None or self.verdict.category != "design_limited"

    def front_text(self, lang: str = "vi") -> str:
        """What the first numeric column of a table shows (see :meth:`shows_point`): the effect
        with its interval, or the interval alone with why there is no point estimate."""
        if self.shows_point():
            return self.effect_text(lang)
        if not self.has_number:
            return "—"
        s, o = self.shown, self.info
        if fmt.unbounded(s.ci_low, s.ci_high, as_percent=o.percent):
            return say_in("no estimate: the 95% confidence interval is unbounded", lang)
        if not self._has_interval():
            return say_in("no confidence interval", lang)
        unit = "%" if o.percent else o.unit(lang)
        digits = 0 if o.percent else o.digits
        ci = fmt.interval(s.ci_low, s.ci_high, digits, lang, unit)
        if any(not is_finite(x) for x in (s.ci_low, s.ci_high)):
            # TRANSLATORS: CI is a confidence interval (in Vietnamese "KTC")
            return say_in("95% CI {interval}: unbounded on one side", lang, interval=ci)
        return say_in("95% CI only {interval}", lang, interval=ci)

    def percent_text(self, lang: str = "vi") -> str:
        """The effect as a percentage with its interval ("−23% [−28%; −11%]"), or "—"."""
        s = self.shown
        if not is_finite(s.pct):
            return "—"
        text = fmt.percent(s.pct, 0, lang, sign=True)
        if is_bound(s.pct_low) and is_bound(s.pct_high):
            text += f" {fmt.interval(s.pct_low, s.pct_high, 0, lang, '%')}"
        return text

    def _has_interval(self) -> bool:
        s = self.shown
        return is_bound(s.ci_low) and is_bound(s.ci_high)  # ends may be ±∞ (unbounded)

    def window_text(self, lang: str = "vi") -> str:
        """The periods compared: "Trước: 03/01/2022 – 11/02/2024; sau: 15/02/2024 –
        30/06/2024" — before the start (the base) and after it; only the after period when
        the finding has no base; "—" without a window (:func:`window_words`)."""
        return window_words(self.window, self.before).lang(lang)

    def truth_text(self, lang: str = "vi") -> str:
        if not is_finite(self.truth):
            return ""
        o = self.info
        if o.percent:
            return fmt.percent(self.truth, 0, lang, sign=True)
        return f"{fmt.signed(self.truth, o.digits, lang)} {o.unit(lang)}"

    def truth_covered(self) -> bool | None:
        """Whether the interval covers the planted truth (None without truth or interval)."""
        s = self.shown
        if not is_finite(self.truth) or not self._has_interval():
            return None
        return bool(s.ci_low <= self.truth <= s.ci_high)

    # ------------------------------------------------------------------ record
    def record(self, notebook: str, registry=None, **extra: Any) -> dict[str, Any]:
        """This finding as one row of the run's results (:mod:`evaluation.analysis.record`)."""
        s, e, v = self.shown, self.estimate, self.verdict
        unbounded = fmt.unbounded(s.ci_low, s.ci_high, as_percent=self.info.percent)
        fields: dict[str, Any] = {
            "finding_id": self.id,
            "level": self.level,
            "role": self.role,
            "family": self.family,
            "wave": self.wave,
            "outcome_label": f"{self.info.vi} / {self.info.en}",
            "unit_vi": "%" if self.info.percent else self.info.unit_vi,
            "unit": "%" if self.info.percent else self.info.unit_en,
            "scale": "percent change" if self.info.percent else "difference",
            "percent": s.pct if is_finite(s.pct) else None,
            "percent_low": s.pct_low if is_finite(s.pct_low) and not unbounded else None,
            "percent_high": s.pct_high if is_finite(s.pct_high) and not unbounded else None,
            "min_pvalue": e.min_pvalue if e is not None and is_finite(e.min_pvalue) else None,
            "method_vi": self.method_vi,
            "method_en": self.method_en,
            "design_vi": self.design_vi,
            "design_en": self.design_en,
            "question_vi": self.question_vi,
            "question_en": self.question_en,
            "covered_by": self.covered_by,
            "wards": list(self.wards),
            "comparison": list(self.comparison),
            "notes_vi": list(self.notes_vi),
            "notes_en": list(self.notes_en),
            "window": [d.date().isoformat() for d in self.window] if self.window else None,
            "before": [d.date().isoformat() for d in self.before] if self.before else None,
            "truth": float(self.truth) if is_finite(self.truth) else None,
            "baseline": float(self.baseline) if is_finite(self.baseline) else None,
            # the texts every page prints, written once here (Vietnamese number forms)
            "effect_vi": self.effect_text("vi"),
            "effect_en": self.effect_text("en"),
            "percent_vi": "" if self.info.percent else self.percent_text("vi"),
            "percent_en": "" if self.info.percent else self.percent_text("en"),
            # the first column of every page's tables (no point estimate when unbounded or
            # when the design cannot decide): written once here
            "front_vi": self.front_text("vi"),
            "front_en": self.front_text("en"),
            "window_text": self.window_text(),
            "truth_vi": self.truth_text("vi"),
            "warnings_vi": [vietnamese(w) for w in (e.warnings if e is not None else [])],
            "truth_en": self.truth_text("en"),
        }
        # the HonestDiD breakdown and its sentence (evaluation.analysis.robustness)
        fields.update(self.details.get("robustness") or {})
        if registry is not None:
            fields.update(_goal_fields(self, registry))
            fields["programme_label"] = (
                f"{registry.label(self.programme, 'vi')} / {registry.label(self.programme, 'en')}"
            )
            fields["programme_vi"] = registry.label(self.programme, "vi")
            fields["programme_en"] = registry.label(self.programme, "en")
        if v is not None:
            verdict_fields = v.to_dict()
            verdict_fields.pop("verdict_vi")
            verdict_fields.pop("verdict_en")
            fields.update(verdict_fields)
        fields.update(extra)
        return finding_record(
            e,
            notebook=notebook,
            ward=self.ward,
            programme=self.programme,
            outcome=self.outcome,
            verdict_vi=v.text_vi if v else "",
            verdict_en=v.text_en if v else "",
            estimate=s.estimate if is_finite(s.estimate) else None,
            # an interval unbounded at both ends is recorded as missing (JSON has no ∞); its
            # texts (effect_vi, the verdict) say "không giới hạn / unbounded"
            ci_low=s.ci_low if is_finite(s.ci_low) and not unbounded else None,
            ci_high=s.ci_high if is_finite(s.ci_high) and not unbounded else None,
            pvalue=e.pvalue if e is not None and is_finite(e.pvalue) else None,
            method=e.method if e is not None else "not estimable",
            inference=e.inference if e is not None else "none",
            warnings=[str(w) for w in (e.warnings if e is not None else [])],
            **fields,
        )


def _goal_fields(f: Finding, registry) -> dict[str, Any]:
    """The programme's target (on every finding of its outcome) and the claim made for it (on
    the pilot's headline), from the registry — so that a page holds the effect against them
    from the record alone."""
    out: dict[str, Any] = {}
    target = registry.target(f.programme) if hasattr(registry, "target") else None
    if target is not None and target.outcome == f.outcome:
        out.update(
            target_change_percent=target.change_percent,
            target_change=target.change,
            target_source=target.source,
        )
    claim = registry.claim(f.programme) if hasattr(registry, "claim") else None
    if claim is not None and claim.outcome == f.outcome and f.level == "pilot":
        out.update(
            claim_vi=claim.text_vi,
            claim_en=claim.text_en,
            claim_change_percent=claim.change_percent,
            claim_months=claim.months,
            claim_source=claim.source,
        )
    return out


def not_estimable(
    id: str,
    programme: str,
    outcome: str,
    *,
    level: str,
    role: str,
    family: str,
    reason_vi: str,
    reason_en: str,
    ward: str | None = None,
    wave: str | None = None,
    covered_by: str | None = None,
    question_vi: str = "",
    question_en: str = "",
    window=None,
) -> Finding:
    """A finding without a number: the design cannot estimate this effect, and why."""
    return Finding(
        id=id,
        programme=programme,
        outcome=outcome,
        level=level,
        role=role,
        family=family,
        estimate=None,
        method_vi="—",
        method_en="—",
        design_vi=reason_vi,
        design_en=reason_en,
        ward=ward,
        wave=wave,
        reason_vi=reason_vi,
        reason_en=reason_en,
        covered_by=covered_by,
        question_vi=question_vi,
        question_en=question_en,
        window=window,
    )


def apply_policy(findings: Sequence[Finding], policy: Policy | None = None) -> list[Finding]:
    """Give every finding of a verdict role its verdict under one policy, family by family
    (:func:`evaluation.analysis.policy.decide`); other roles get none. Returns the findings."""
    policy = policy or Policy()
    judged = [f for f in findings if f.role in VERDICT_ROLES]
    evidence = [_evidence(f) for f in judged]
    decisions = decide(evidence, policy)
    for f in judged:
        noun = _NOUNS.get(f.level, _FINDINGS)
        f.verdict = write_verdict(
            decisions[f.id],
            f.shown,
            f.info,
            policy,
            family_noun=noun,
            reason=(f.reason_vi, f.reason_en),
        )
    return list(findings)


def _evidence(f: Finding) -> Evidence:
    s = f.shown
    return Evidence(
        key=f.id,
        family=f.family,
        estimate=s.estimate if is_finite(s.estimate) else None,
        ci_low=s.ci_low,
        ci_high=s.ci_high,
        pvalue=s.pvalue if is_finite(s.pvalue) else None,
        min_pvalue=s.min_pvalue,
        lower_is_better=f.info.lower_is_better,
    )


def unique(findings: Iterable[Finding]) -> list[Finding]:
    """Findings in order, each id once."""
    seen: set[str] = set()
    out = []
    for f in findings:
        if f.id not in seen:
            seen.add(f.id)
            out.append(f)
    return out
