"""Findings of one ward against the wards not yet treated: the pilot's headline (with the
synthetic DiD and synthetic control folded under it) and each ward's own number — or a finding
without a number that says why (no comparison ward left, too few events, a design the method
cannot support) and names the district finding that covers it.
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Finding, not_estimable
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.traffic import pilot_alternatives
from evaluation.analysis.windows import (
    TIME,
    UNIT,
    Indicator,
    baseline,
    comparison_window,
    estimate,
    events,
    treated_cells,
    truth_for,
)
from evaluation.analysis.wording import (
    direction_words,
    inference_words,
    method_words,
    notes_en,
    notes_vi,
    window_words,
)
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.i18n import Text, say, text


def pilot_findings(
    district: District, programme: str, ind: Indicator, ward: str, role: str
) -> list[Finding]:
    outcome = ind.outcome
    fid = f"{programme}:{outcome}:pilot"
    q = say(
        "Did the pilot in {ward} {move} {outcome}, and by how much?",
        ward=ward,
        move=direction_words(outcome),
        outcome=outcome_info(outcome).names,
    )
    panel = ind.data(district, programme)
    starts = district.starts(programme)
    win = comparison_window(panel, starts, ward)
    base = dict(level="pilot", role=role, family=fid, ward=ward, question_vi=q.vi, question_en=q.en)
    if win is None or win.n_post < 1:
        reason = say("No ward was left untreated to compare the pilot ward {ward} with.", ward=ward)
        return [
            not_estimable(fid, programme, outcome, reason_vi=reason.vi, reason_en=reason.en, **base)
        ]
    f = one_ward_finding(district, programme, ind, win, fid, base)
    if f.estimate is None:
        return [f]
    out = [f]
    if ind.family == "gaussian" and not ind.weights and role == "headline":
        out += alternative_findings(district, f, win, ind)
    return out


def one_ward_finding(
    district, programme, ind: Indicator, win, fid, base, covered_by=None
) -> Finding:
    """The effect of one ward's start against the wards not yet treated in its window (the
    pilot's headline and each ward's own number), or a finding without a number and why."""
    ward, outcome = win.ward, ind.outcome
    if ind.family == "poisson":
        before, after = events(win.data, ward, outcome)
        if before < ind.min_events or after < ind.min_events:
            return too_few_finding(fid, programme, ind, ward, before, after, win, covered_by, base)
    try:
        est = estimate(win.data, ind)
    except (DesignError, InferenceError) as exc:
        return unsupported_finding(fid, programme, outcome, ward, exc, covered_by, base)
    design_vi, design_en = window_words(win, ind, district.comparison_wards)
    method_vi, method_en = method_words(ind, est)
    return Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        estimate=coherent(est),
        method_vi=method_vi,
        method_en=method_en,
        design_vi=design_vi,
        design_en=design_en,
        baseline=baseline(win.data, [ward], outcome),
        window=(win.start, win.end),
        before=win.before,
        wards=[ward],
        comparison=win.comparison,
        truth=truth_for(district, outcome, treated_cells(win.data)),
        notes_vi=notes_vi(win),
        notes_en=notes_en(win),
        covered_by=covered_by,
        **base,
    )


def alternative_findings(district: District, pilot: Finding, win, ind: Indicator) -> list[Finding]:
    out = []
    try:
        alts = pilot_alternatives(win, ind.outcome)
    except (DesignError, DataError, InferenceError):
        return out
    words = {
        "sdid": say("Synthetic difference-in-differences"),
        "sc": say("Synthetic control"),
    }
    for key, est in alts.items():
        method = say(
            "{method}: the ward against a weighted combination of the comparison wards; "
            "{inference}",
            method=words[key],
            inference=inference_words(est),
        )
        out.append(
            Finding(
                id=f"{pilot.id}:{key}",
                programme=pilot.programme,
                outcome=pilot.outcome,
                level="pilot",
                role="alternative",
                family=f"{pilot.id}:{key}",
                estimate=coherent(est),
                method_vi=method.vi,
                method_en=method.en,
                design_vi=pilot.design_vi,
                design_en=pilot.design_en,
                ward=pilot.ward,
                baseline=pilot.baseline,
                window=pilot.window,
                before=pilot.before,
                wards=pilot.wards,
                comparison=pilot.comparison,
                truth=pilot.truth,
            )
        )
    return out


def coherent(est):
    """Drop a conformal confidence set that cannot be read as an interval (empty, or a hull
    that contradicts the p-value of no effect: the effect is not constant over the weeks)."""
    import dataclasses

    if est.inference_method != "conformal":
        return est
    lo, hi, alpha = est.ci_low, est.ci_high, 1 - est.level
    if math.isfinite(lo) and math.isfinite(hi) and lo <= est.estimate <= hi:
        if (est.pvalue < alpha) != (lo <= 0 <= hi):
            return est
    return dataclasses.replace(
        est,
        ci_low=math.nan,
        ci_high=math.nan,
        warnings=[
            *est.warnings,
            "The conformal test finds no single constant effect that fits every period after "
            "the start (the effect changes over time): no confidence interval is reported.",
        ],
    )


def unsupported_finding(fid, programme, outcome, ward, exc, covered_by, base) -> Finding:
    """The data cannot support this comparison: a finding without a number, and why — so one
    indicator that cannot be estimated never stops a report."""
    # the method's own message is English only: the Vietnamese says what it usually means
    why = Text(
        say(
            "for example too few events in some wards, so that some assignments of the treated "
            "wards cannot be estimated"
        ).vi,
        str(exc),
    )
    if ward:
        reason = say(
            "{ward}'s data cannot support this comparison ({reason}); no estimate is given.",
            ward=ward,
            reason=why,
        )
    else:
        reason = say(
            "The wards' data cannot support this comparison ({reason}); no estimate is given.",
            reason=why,
        )
    return not_estimable(
        fid,
        programme,
        outcome,
        reason_vi=reason.vi,
        reason_en=reason.en,
        covered_by=covered_by,
        **base,
    )


def too_few_finding(fid, programme, ind, ward, before, after, win, covered_by, base) -> Finding:
    reason = say(
        "Too few events to estimate {ward}'s own effect: {before} {unit} before and {after} "
        "after its start while comparison wards remained ({start} – {end}).",
        ward=ward,
        before=str(before),
        after=str(after),
        unit=outcome_info(ind.outcome).units,
        start=text(fmt.date_text(win.data[TIME].min())),
        end=text(fmt.date_text(win.end)),
    )
    return not_estimable(
        fid,
        programme,
        ind.outcome,
        reason_vi=reason.vi,
        reason_en=reason.en,
        covered_by=covered_by,
        **base,
    )


def ward_findings(district, programme, ind: Indicator, pilot, covered_by) -> list[Finding]:
    outcome = ind.outcome
    panel = ind.data(district, programme)
    starts = district.starts(programme)
    family = f"{programme}:{outcome}:wards"
    out = []
    cohorts = panel.groupby(UNIT)["cohort"].first()
    for ward in starts.sort_values().index:
        if ward == pilot or ward not in cohorts.index:
            continue
        if pd.isna(cohorts[ward]):  # registered to start after the data end: nothing to judge yet
            continue
        fid = f"{programme}:{outcome}:ward:{ward}"
        base = dict(level="ward", role="ward", family=family, ward=ward)
        win = comparison_window(panel, starts, ward, exclude=(pilot,) if pilot else ())
        if win is None or win.n_post < 1:
            reason = say(
                "{ward} started on {start}; no ward was left untreated to compare with after that "
                "date, so its own effect cannot be estimated. The district-wide result of the "
                "programme answers for it.",
                ward=ward,
                start=text(fmt.date_text(starts[ward])),
            )
            out.append(
                not_estimable(
                    fid,
                    programme,
                    outcome,
                    reason_vi=reason.vi,
                    reason_en=reason.en,
                    covered_by=covered_by,
                    **base,
                )
            )
            continue
        out.append(one_ward_finding(district, programme, ind, win, fid, base, covered_by))
    return out
