"""Comparison wards from outside the programme: are they fit to compare with?

Wards of neighbouring districts (or new wards) in the district's ward table that never took a
programme enter every comparison as never-treated wards (:class:`District.comparison_wards`):
they are what lets the last rollout wave, and the months after it, be estimated at all. They
are only valid comparisons if, without the programme, they would have moved like the
district's own wards. The testable part of that assumption is the time before any ward
started: :func:`outside_pretrend` treats the outside wards as if they had started half-way
through that time (a placebo in time; nothing happened then) and estimates the "effect" with
the indicator's own model and ``inference="auto"``. A clear difference means their trends
differ, and every answer leaning on them is in doubt; the finding says so in words, and each
headline that uses them carries a note.
"""

from __future__ import annotations

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Finding
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.windows import TIME, UNIT, Indicator, estimate
from evaluation.analysis.wording import method_words, names_text
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.i18n import Text, both, say, text

__all__ = ["outside_pretrend"]

#: periods each side of the placebo start the check needs
MIN_PERIODS = 8


def outside_pretrend(district: District, programme: str, ind: Indicator) -> Finding | None:
    """The placebo check of the outside comparison wards (see the module docstring), or None
    when the programme has none."""
    outside = set(district.comparison_wards)
    if not outside:
        return None
    panel = ind.data(district, programme)
    present = sorted(outside & set(panel[UNIT]))
    if not present:
        return None
    first = panel["cohort"].dropna().min()
    if pd.isna(first):
        return None
    pre = panel[panel[TIME] < first].copy()
    times = sorted(pre[TIME].unique())
    if len(times) < 2 * MIN_PERIODS:
        return None
    fake = times[len(times) // 2]
    pre["cohort"] = pd.NaT
    pre.loc[pre[UNIT].isin(present), "cohort"] = fake
    o = outcome_info(ind.outcome)
    fid = f"{programme}:{ind.outcome}:outside_pretrend"
    try:
        est = estimate(pre, ind, n_boot=999)
    except (DesignError, DataError, InferenceError):
        return None
    mvi, men = method_words(ind, est)
    design = say(
        "Check of the comparison wards from outside the district ({names}): before the "
        "programme ({start} – {end}), they are treated as if they had 'started' on {fake}. "
        "Nothing happened then, so a clear 'effect' on {outcome} would mean their trends differ "
        "from the district's own wards.",
        names=names_text(present),
        start=text(fmt.date_text(times[0])),
        end=text(fmt.date_text(first - pd.Timedelta(days=1))),
        fake=text(fmt.date_text(fake)),
        outcome=o.names,
    )
    return Finding(
        id=fid,
        programme=programme,
        outcome=ind.outcome,
        level="district",
        role="check",
        family=fid,
        estimate=est,
        method_vi=mvi,
        method_en=men,
        design_vi=design.vi,
        design_en=design.en,
        wards=present,
        window=(pd.Timestamp(times[0]), pd.Timestamp(first) - pd.Timedelta(days=1)),
    )


def outside_note(check: Finding) -> Text:
    """The sentence a headline carries about the outside comparison wards it uses."""
    est = check.estimate
    p = est.pvalue if est is not None else None
    names = names_text(check.wards)
    if p is None or not (p == p):
        return say(
            "The comparisons include wards of neighbouring districts ({names}); their trends "
            "before the programme could not be checked.",
            names=names,
        )
    pv = both(fmt.pvalue, p)
    if p >= 0.05:
        return say(
            "The comparisons include wards of neighbouring districts ({names}); before the "
            "programme they moved like the district's own wards (placebo check: p = {p}).",
            names=names,
            p=pv,
        )
    return say(
        "Caution: the comparisons include wards of neighbouring districts ({names}), but before "
        "the programme their trends already differed from the district's own wards (placebo "
        "check: p = {p}); answers that rest on them may be biased.",
        names=names,
        p=pv,
    )
