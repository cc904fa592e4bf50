"""Caveats in Vietnamese: the estimators' and the inference's warnings, as officials read them.

The methods write their caveats in English (they are a library, read by analysts too); every
page an official reads shows them in Vietnamese first, English second. :func:`vietnamese`
recognises a caveat by the pattern of its English and gives its Vietnamese from the message
catalogue (:mod:`evaluation.i18n`), where it is kept under the caveat's English template, with
the caveat's numbers (in Vietnamese forms). A caveat no pattern recognises is an error
(:class:`UntranslatedCaveat`), never an English sentence on a Vietnamese page:
``tests/test_caveats.py`` finds every caveat the methods can write in their source and fails on
one that has no Vietnamese.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable

from evaluation import formats as fmt
from evaluation.i18n import say_in

__all__ = [
    "CATALOGUE",
    "UntranslatedCaveat",
    "UntranslatedCaveatWarning",
    "translate",
    "vietnamese",
]


class UntranslatedCaveat(LookupError):
    """A method's caveat that no pattern of :data:`CATALOGUE` recognises."""


class UntranslatedCaveatWarning(UserWarning):
    """A caveat reached a page without its Vietnamese (see the module docstring)."""


def _p(text: str) -> str:
    return fmt.pvalue(float(text))


def _decimal(text: str) -> str:
    """A number the method wrote in English forms ("0.25"), in Vietnamese forms ("0,25")."""
    return text.replace(".", ",")


def _date(text: str) -> str:
    """A date the method wrote as ISO ("2024-10-28"), as dd/mm/yyyy; other text unchanged."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}( 00:00:00)?", text):
        return fmt.date_text(text[:10])
    return text


def _situation(text: str) -> str:
    """Why a design cannot reach the level ("with 1 treated of 13 units"), in Vietnamese."""
    m = re.fullmatch(r"with (\d+) treated of (\d+) units", text)
    if m:
        return say_in("with {n} treated of {total} units", "vi", n=m[1], total=m[2])
    m = re.fullmatch(r"with (\d+) periods to permute", text)
    if m:
        return say_in("with {n} periods to permute", "vi", n=m[1])
    m = re.fullmatch(r"with (\d+) periods?", text)
    if m:
        return say_in("with {n} periods", "vi", n=m[1])
    m = re.fullmatch(r"with one treated ward and (\d+) placebo comparisons", text)
    if m:
        return say_in("with one treated ward and {n} placebo comparisons", "vi", n=m[1])
    m = re.fullmatch(r"with one treated group of (\d+) wards and (\d+) placebo comparisons", text)
    if m:
        return say_in(
            "with one treated group of {k} wards and {n} placebo comparisons", "vi", k=m[1], n=m[2]
        )
    raise UntranslatedCaveat(f"no Vietnamese for the situation {text!r}")


def _poor_fit(m: re.Match[str]) -> str:
    method = {
        "synthetic control": say_in("synthetic control", "vi"),
        "synthetic DiD": say_in("synthetic DiD", "vi"),
    }.get(m[1], m[1])
    values = dict(method=method, rmspe=_decimal(m[2]), share=m[3], spread=_decimal(m[4]))
    if m[5] is None:
        return say_in(
            "Poor pre-period fit: the {method} misses the treated unit by {rmspe} on average "
            "(pre-period RMSPE), {share}% of the outcome's spread ({spread}). The estimate then "
            "reflects the mismatch as much as the programme: compare with synthetic DiD (which "
            "allows a level difference) or DiD.",
            "vi",
            **values,
        )
    where = say_in("above", "vi") if m[5] == "above" else say_in("below", "vi")
    return say_in(
        "Poor pre-period fit: the {method} misses the treated unit by {rmspe} on average "
        "(pre-period RMSPE), {share}% of the outcome's spread ({spread}); the treated unit is "
        "{where} every control in {outside}% of the pre-periods, i.e. outside the range (convex "
        "hull) the controls can reproduce. The estimate then reflects the mismatch as much as the "
        "programme: compare with synthetic DiD (which allows a level difference) or DiD.",
        "vi",
        where=where,
        outside=m[6],
        **values,
    )


#: (pattern of the English caveat, its Vietnamese from the match); each Vietnamese is the
#: catalogue's message of the caveat's English template
CATALOGUE: tuple[tuple[re.Pattern[str], Callable[[re.Match[str]], str]], ...] = tuple(
    (re.compile(p, re.S), f)
    for p, f in (
        (
            r"This design cannot reach the (\d+)% significance level: (.+?), even the strongest "
            r"possible result has p = ([\d.]+)\.",
            lambda m: say_in(
                "This design cannot reach the {level}% significance level: {situation}, even the "
                "strongest possible result has p = {p}. A 'not significant' result here is not "
                "evidence of no effect. Stronger evidence needs more treated units (the rollout), "
                "a longer pre-period, or finer periods (weeks rather than months).",
                "vi",
                level=m[1],
                situation=_situation(m[2]),
                p=_p(m[3]),
            ),
        ),
        (
            r"(\d+) rows of units or periods with only zero counts were dropped",
            lambda m: say_in(
                "{n} rows of units or periods with only zero counts were dropped: they carry no "
                "information in a Poisson model with fixed effects.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"No never-treated units: the last cohort \((.+?)\) serves as the comparison group "
            r"and periods from (.+?) on are not used",
            lambda m: say_in(
                "No never-treated units: the last cohort (started {start}) serves as the "
                "comparison group, so periods from {end} on are not used.",
                "vi",
                start=m[1],
                end=m[2],
            ),
        ),
        (
            r"The joint pre-trend test is not computed",
            lambda m: say_in(
                "The joint pre-trend test is not computed (more pre-treatment cells than units); "
                "inspect the pre-treatment estimates period by period.",
                "vi",
            ),
        ),
        (
            r"Treatment starts at (\d+) different times",
            lambda m: say_in(
                "Treatment starts at {n} different times: if effects differ across cohorts or "
                "grow over time, TWFE mixes in comparisons with already-treated units and can be "
                "biased (Goodman-Bacon 2021); compare with Callaway & Sant'Anna and the Bacon "
                "decomposition.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"Staggered adoption: with effects that differ by cohort",
            lambda m: say_in(
                "Staggered adoption: with effects that differ by cohort, TWFE event-study "
                "coefficients can mix effects of other periods (Sun & Abraham 2021); compare "
                "with Callaway & Sant'Anna by event time.",
                "vi",
            ),
        ),
        (
            r"(\d+) ATT\(g,t\) have no comparison units",
            lambda m: say_in(
                "{n} ATT(g,t) (cohort × period) have no comparison units and are missing.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"(\d+) unit\(s\) not observed in every period were dropped",
            lambda m: say_in(
                "{n} unit(s) not observed in every period were dropped to balance the panel.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"Some cohorts or the never-treated group have a single unit",
            lambda m: say_in(
                "Some cohorts or the never-treated group have a single unit: the analytic "
                "standard errors are unreliable.",
                "vi",
            ),
        ),
        (
            r"No treated observations at event time\(s\) (.+?);",
            lambda m: say_in(
                "No treated observations at event time(s) {times}; those coefficients are not "
                "estimated.",
                "vi",
                times=m[1],
            ),
        ),
        (
            r"The placebo standard error rests on only (\d+) placebo estimates",
            lambda m: say_in(
                "The placebo standard error rests on only {n} placebo estimates, so it is itself "
                "imprecise.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"The jackknife with only (\d+) treated units can be unreliable",
            lambda m: say_in(
                "The jackknife with only {n} treated units can be unreliable.", "vi", n=m[1]
            ),
        ),
        (
            r"(\d+) cohort × period cells had no count at all",
            lambda m: say_in(
                "{n} cohort × period cells had no count at all: their own effect is a 100 % drop "
                "(no finite estimate); they count in the averages with their observed zero "
                "against the expected count without the programme.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"(\d+) cohorts had no count at all before their start",
            lambda m: say_in(
                "{n} cohorts had no count at all before their start and were left out: without "
                "a level before, a change cannot be measured.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"In (\d+) periods the units not yet treated had no count at all",
            lambda m: say_in(
                "In {n} periods the units not yet treated had no count at all: the expected count "
                "of the treated wards then, without the programme, is 0, and their observed "
                "counts are set against it.",
                "vi",
                n=m[1],
            ),
        ),
        (
            r"No confidence interval: the randomization interval of the ETWFE",
            lambda m: say_in(
                "No confidence interval: the randomization interval of the ETWFE needs one row "
                "for every unit and period and no covariates; only the p-value is reported.",
                "vi",
            ),
        ),
        (
            r"No confidence interval: the randomization interval of the Poisson model",
            lambda m: say_in(
                "No confidence interval: the randomization interval of the Poisson model needs "
                "one row for every unit and period.",
                "vi",
            ),
        ),
        (
            r"(\d+)% of the TWFE weight is on comparisons that use already-treated units",
            lambda m: say_in(
                "{share}% of the TWFE weight is on comparisons that use already-treated units as "
                "controls; if effects change over time these bias TWFE.",
                "vi",
                share=m[1],
            ),
        ),
        (
            r"The conformal test finds no single constant effect",
            lambda m: say_in(
                "The conformal test finds no single constant effect that fits every period after "
                "the start (the effect changes over time): no confidence interval is reported.",
                "vi",
            ),
        ),
        (
            r"inference='(\w+)' was requested, but this design does not support it",
            lambda m: say_in(
                "inference='{method}' was requested, but this design does not support it: its "
                "p-value and interval can mislead.",
                "vi",
                method=m[1],
            ),
        ),
        # --- caveats that had no Vietnamese before (tests/test_caveats.py found them)
        (
            r"(\d+) unit\(s\) have a cohort after the last period \((.+?)\) and are used as "
            r"not-treated units",
            lambda m: say_in(
                "{n} unit(s) have a cohort after the last period ({last}) and are used as "
                "not-treated units.",
                "vi",
                n=m[1],
                last=_date(m[2]),
            ),
        ),
        (
            r"(\d+) unit\(s\) are treated from the first period on.*?, so their cohort has no "
            r"pre-period: (.+?); they identify no effect of their own",
            lambda m: say_in(
                "{n} unit(s) are treated from the first period on, so their cohort has no "
                "pre-period: {units}; they identify no effect of their own and serve only as "
                "already-treated comparisons (the Bacon decomposition shows how much weight they "
                "get).",
                "vi",
                n=m[1],
                units=m[2],
            ),
        ),
        (
            r"(\d+) unit\(s\) start after the last period \((.+?)\) and serve as controls: (.+?)\.$",
            lambda m: say_in(
                "{n} unit(s) start after the last period ({last}) and serve as controls: {units}.",
                "vi",
                n=m[1],
                last=_date(m[2]),
                units=m[3],
            ),
        ),
        (
            r"The panel is cut before (.+?), when (.+?) start\(s\) treatment: they serve as "
            r"controls only while untreated\. The effect covers (.+?) to (.+?)\.$",
            lambda m: say_in(
                "The panel is cut before {next}, when {units} start(s) treatment: they serve as "
                "controls only while untreated. The effect covers {start} to {end}.",
                "vi",
                next=_date(m[1]),
                units=m[2],
                start=_date(m[3]),
                end=_date(m[4]),
            ),
        ),
        (
            r"Poor pre-period fit: the (.+?) misses the treated unit by (\S+) on average "
            r"\(pre-period RMSPE\), (\d+)% of the outcome's spread \((\S+?)\)"
            r"(?:; the treated unit is (above|below) every control in (\d+)% of the pre-periods)?",
            _poor_fit,
        ),
        (
            r"The (\d+)% confidence set is not a single interval: the test rejects no effect "
            r"\(p = ([\d.]+)\)",
            lambda m: say_in(
                "The {level}% confidence set is not a single interval: the test rejects no "
                "effect (p = {p}) although the interval shown, from the lowest to the highest "
                "accepted effect, contains it. Read the p-value; the interval is conservative.",
                "vi",
                level=m[1],
                p=_p(m[2]),
            ),
        ),
        (
            r"No constant effect is accepted by the conformal test at this level",
            lambda m: say_in(
                "No constant effect is accepted by the conformal test at this level: the effect "
                "likely varies over the post-period, so the confidence set is empty.",
                "vi",
            ),
        ),
        (
            r"The conformal confidence interval reached the edge of the search grid",
            lambda m: say_in(
                "The conformal confidence interval reached the edge of the search grid; the "
                "reported bound is a lower bound on its width.",
                "vi",
            ),
        ),
        (
            r"No constant effect is consistent with the placebo test at this level",
            lambda m: say_in(
                "No constant effect is consistent with the placebo test at this level (the "
                "post-period gap varies too much over time), so the confidence set is empty.",
                "vi",
            ),
        ),
        (
            r"The (\d+)% confidence interval is unbounded: with (\d+) units in the comparison no "
            r"effect size, however large or small, can be rejected at the (\d+)% level",
            lambda m: say_in(
                "The {level}% confidence interval is unbounded: with {n} units in the comparison "
                "no effect size, however large or small, can be rejected at the {alpha}% level.",
                "vi",
                level=m[1],
                n=m[2],
                alpha=m[3],
            ),
        ),
    )
)


def translate(caveat: str) -> str | None:
    """The Vietnamese of one caveat, or None when no pattern recognises it."""
    for pattern, vietnamese_of in CATALOGUE:
        m = pattern.search(caveat)
        if m:
            try:
                return vietnamese_of(m)
            except UntranslatedCaveat:  # a part of it (a situation) has no Vietnamese
                return None
    return None


def vietnamese(caveat: str) -> str:
    """The Vietnamese of one caveat. One with none (which ``tests/test_caveats.py`` prevents)
    comes back under a Vietnamese label saying so, with an :class:`UntranslatedCaveatWarning`."""
    words = translate(caveat)
    if words is None:
        warnings.warn(
            f"no Vietnamese for the caveat {caveat!r}: add its pattern and message to "
            "evaluation/analysis/caveats.py",
            UntranslatedCaveatWarning,
            stacklevel=2,
        )
        return say_in("Technical caveat, not yet translated: {caveat}", "vi", caveat=caveat)
    return words
