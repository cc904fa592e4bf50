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


def pilot_findings(
    district: District, programme: str, ind: Indicator, ward: str, role: str
) -> list[Finding]:
    outcome = ind.outcome
    o = outcome_info(outcome)
    d_vi, d_en = direction_words(outcome)
    fid = f"{programme}:{outcome}:pilot"
    q = (
        f"Thí điểm tại phường {ward} có {d_vi} {o.vi} không, và {d_vi} bao nhiêu?",
        f"Did the pilot in {ward} {d_en} {o.en}, and by how much?",
    )
    panel = ind.data(district, programme)
    starts = district.starts(programme)
    win = comparison_window(panel, starts, ward)
    base = dict(level="pilot", role=role, family=fid, ward=ward, question_vi=q[0], question_en=q[1])
    if win is None or win.n_post < 1:
        return [
            not_estimable(
                fid,
                programme,
                outcome,
                reason_vi=f"Không còn phường chưa triển khai để so sánh với phường thí điểm {ward}.",
                reason_en=f"No ward was left untreated to compare the pilot ward {ward} with.",
                **base,
            )
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
        "sdid": ("Sai khác kép tổng hợp (SDID)", "Synthetic difference-in-differences"),
        "sc": ("Đối chứng tổng hợp (SC)", "Synthetic control"),
    }
    for key, est in alts.items():
        vi, en = words[key]
        ivi, ien = inference_words(est)
        out.append(
            Finding(
                id=f"{pilot.id}:{key}",
                programme=pilot.programme,
                outcome=pilot.outcome,
                level="pilot",
                role="alternative",
                family=f"{pilot.id}:{key}",
                estimate=coherent(est),
                method_vi=f"{vi}: phường so với một tổ hợp có trọng số của các phường đối chứng; {ivi}",
                method_en=f"{en}: the ward against a weighted combination of the comparison wards; {ien}",
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
    who_vi = f"của phường {ward}" if ward else "của các phường"
    who_en = f"{ward}'s data" if ward else "the wards' data"
    return not_estimable(
        fid,
        programme,
        outcome,
        reason_vi=(
            f"Số liệu {who_vi} không đủ cho phép so sánh này (ví dụ quá ít sự kiện ở một số "
            "phường, nên có những cách gán phường triển khai không ước lượng được), nên không "
            "đưa ra ước lượng."
        ),
        reason_en=f"{who_en} cannot support this comparison ({exc}); no estimate is given.",
        covered_by=covered_by,
        **base,
    )


def too_few_finding(fid, programme, ind, ward, before, after, win, covered_by, base) -> Finding:
    o = outcome_info(ind.outcome)
    return not_estimable(
        fid,
        programme,
        ind.outcome,
        reason_vi=(
            f"Quá ít sự kiện để ước lượng riêng cho phường {ward}: {before} {o.unit_vi} trước và "
            f"{after} {o.unit_vi} sau khi bắt đầu trong thời kỳ còn phường đối chứng "
            f"({fmt.date_text(win.data[TIME].min())} – {fmt.date_text(win.end)})."
        ),
        reason_en=(
            f"Too few events to estimate {ward}'s own effect: {before} {o.unit_en} before and "
            f"{after} after its start while comparison wards remained "
            f"({fmt.date_text(win.data[TIME].min())} – {fmt.date_text(win.end)})."
        ),
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
            out.append(
                not_estimable(
                    fid,
                    programme,
                    outcome,
                    reason_vi=(
                        f"Phường {ward} bắt đầu {fmt.date_text(starts[ward])}; sau ngày đó không còn "
                        "phường nào chưa triển khai để so sánh, nên không ước lượng được tác động "
                        "riêng của phường này. Tác động chung của các phường được trả lời ở kết "
                        "quả toàn quận của mô hình."
                    ),
                    reason_en=(
                        f"{ward} started on {fmt.date_text(starts[ward])}; no ward was left "
                        "untreated to compare with after that date, so its own effect cannot be "
                        "estimated. The district-wide result of the programme answers for it."
                    ),
                    covered_by=covered_by,
                    **base,
                )
            )
            continue
        out.append(one_ward_finding(district, programme, ind, win, fid, base, covered_by))
    return out
