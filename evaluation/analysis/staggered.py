"""Findings of a rollout: Callaway & Sant'Anna's average over the wards and weeks that still had
a comparison (for weekly outcomes), Wooldridge's (2023) Poisson extended TWFE for the fire
programmes' counts (population exposure), two-way fixed effects otherwise (Poisson for other
counts, weighted for shares), one finding per wave, and the two-way fixed effects contrast
with its Goodman-Bacon decomposition.
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Finding, not_estimable
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.single_ward import unsupported_finding
from evaluation.analysis.traffic import rollout, twfe_contrast
from evaluation.analysis.windows import (
    TIME,
    UNIT,
    Indicator,
    base_period,
    baseline,
    estimate,
    quiet,
    treated_cells,
    truth_for,
)
from evaluation.analysis.wording import (
    comparison_words,
    direction_words,
    inference_words,
    method_words,
    names_text,
)
from evaluation.errors import DataError, DesignError, InferenceError


def rollout_findings(
    district: District, programme: str, ind: Indicator, pilot: str | None, role: str
) -> list[Finding]:
    outcome = ind.outcome
    o = outcome_info(outcome)
    panel = ind.data(district, programme)
    if pilot is not None:
        panel = panel[panel[UNIT] != pilot]
    cohorts = panel.groupby(UNIT)["cohort"].first()
    treated = sorted(cohorts.index[cohorts.notna()])
    if not treated:
        return []
    starts = district.starts(programme)
    level = "district"
    fid = f"{programme}:{outcome}:{level}"
    d_vi, d_en = direction_words(outcome)
    name_vi = district.programme_label(programme, "vi")
    name_en = district.programme_label(programme, "en")
    q = (
        (
            f"Khi nhân rộng ra {len(treated)} phường, «{name_vi}» có {d_vi} {o.vi} không?"
            if pilot
            else f"«{name_vi}» có {d_vi} {o.vi} ở các phường triển khai không?"
        ),
        (
            f"Rolled out to {len(treated)} wards, did “{name_en}” {d_en} {o.en}?"
            if pilot
            else f"Did “{name_en}” {d_en} {o.en} in the wards that ran it?"
        ),
    )
    base = dict(level=level, role=role, family=fid, question_vi=q[0], question_en=q[1])
    never = cohorts.isna().sum()
    if cohorts.nunique() < 2 and never == 0:
        first = fmt.date_text(starts[treated].min())
        return [
            not_estimable(
                fid,
                programme,
                outcome,
                reason_vi=f"Mọi phường bắt đầu cùng lúc ({first}) và không còn phường nào chưa triển khai: không có gì để so sánh.",
                reason_en=f"Every ward started at once ({first}) and none stayed untreated: there is nothing to compare with.",
                **base,
            )
        ]
    first_start = pd.Timestamp(starts[treated].min())
    if ind.family == "gaussian" and not ind.weights:
        return rollout_att_gt(district, programme, ind, panel, fid, base, first_start, pilot)
    if ind.family == "poisson" and district.programme_meta(programme).get("domain") == "fire":
        return rollout_etwfe(district, programme, ind, panel, fid, base, first_start, never)
    try:
        est = estimate(panel, ind)
    except (DesignError, InferenceError) as exc:
        return [unsupported_finding(fid, programme, outcome, None, exc, None, base)]
    end = pd.Timestamp(panel["period_end"].max() if "period_end" in panel else panel[TIME].max())
    mvi, men = method_words(ind, est)
    return [
        Finding(
            id=fid,
            programme=programme,
            outcome=outcome,
            estimate=est,
            method_vi=mvi,
            method_en=men,
            design_vi=(
                f"{len(treated)} phường có mô hình (mỗi phường từ ngày bắt đầu của mình) so với "
                f"các phường chưa có trong cùng {ind.period_vi}"
                + (f"; {never} phường không triển khai" if never else "")
                + f"; {fmt.date_text(panel[TIME].min())} – {fmt.date_text(end)}."
            ),
            design_en=(
                f"{len(treated)} wards with the programme (each from its own start) against those "
                f"without it yet in the same {ind.period_en}"
                + (f"; {never} wards never started it" if never else "")
                + f"; {fmt.date_text(panel[TIME].min())} – {fmt.date_text(end)}."
            ),
            baseline=baseline(panel, treated, outcome),
            window=(first_start, end),
            before=base_period(panel, panel["cohort"].min()),
            wards=treated,
            truth=truth_for(district, outcome, treated_cells(panel)),
            **base,
        )
    ]


def rollout_att_gt(district, programme, ind, panel, fid, base, first_start, pilot) -> list[Finding]:
    outcome = ind.outcome
    roll = rollout(district, programme, outcome, panel)
    covered = roll.covered_wards()
    cells = roll.cells()
    last = panel.loc[panel[TIME] == roll.last_period, "period_end"].max()
    k = roll.anticipation
    ivi, ien = inference_words(roll.simple)
    waves = district.waves(programme)
    uncovered = sorted(set(panel.loc[panel["cohort"].notna(), UNIT]) - set(covered))
    never = sorted(panel.loc[panel["cohort"].isna(), UNIT].unique())
    end_of_data = pd.Timestamp(panel["period_end"].max())
    reaches_end = pd.Timestamp(last) >= end_of_data
    comp_vi, comp_en = comparison_words(never, district.comparison_wards)
    design_vi = (
        "Mỗi đợt so với các phường chưa triển khai tại cùng thời điểm"
        + (f" và với {comp_vi}" if never else "")
        + f", các tuần từ {fmt.date_text(first_start)} đến {fmt.date_text(last)}"
        + ("" if reaches_end else " — sau đó không còn phường chưa triển khai để so sánh")
        + (
            f"; {k} tuần trước mỗi ngày bắt đầu không dùng làm kỳ gốc (chuẩn bị triển khai)"
            if k
            else ""
        )
        + (f". Không có phường đối chứng cho: {names_text(uncovered)}." if uncovered else ".")
    )
    design_en = (
        "Each wave against the wards not yet treated at the same time"
        + (f" and against {comp_en}" if never else "")
        + f", the weeks from {fmt.date_text(first_start)} to {fmt.date_text(last)}"
        + ("" if reaches_end else " — after that no ward was left untreated to compare with")
        + (f"; the {k} weeks before each start are not used as the base (preparation)" if k else "")
        + (f". No comparison ward for: {names_text(uncovered)}." if uncovered else ".")
    )
    head = Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        estimate=roll.simple,
        method_vi=f"Callaway & Sant'Anna (2021), so với phường chưa triển khai; {ivi}",
        method_en=f"Callaway & Sant'Anna (2021) against not-yet-treated wards; {ien}",
        design_vi=design_vi,
        design_en=design_en,
        baseline=baseline(panel, covered, outcome),
        window=(first_start, pd.Timestamp(last)),
        before=base_period(panel, panel["cohort"].min(), k),
        wards=covered,
        truth=truth_for(district, outcome, cells[[UNIT, TIME]]),
        **base,
    )
    out = [head]
    out += wave_findings(district, programme, ind, roll, panel, head, waves)
    out += contrast_findings(programme, ind, panel, head)
    return out


def wave_findings(district, programme, ind, roll, panel, head, waves) -> list[Finding]:
    """One finding per wave (cohort): its own average, randomization inference each."""
    out = []
    starts = district.starts(programme)
    cohorts = panel.groupby(UNIT)["cohort"].first().dropna()
    table = roll.group.table.set_index("group")
    cells = roll.cells()
    for g in sorted(cohorts.unique()):
        members = sorted(cohorts.index[cohorts == g])
        wave = ", ".join(sorted({waves.get(w, "") for w in members} - {""})) or fmt.date_text(
            starts[members].min()
        )
        start = pd.Timestamp(starts[members].min())
        fid = f"{programme}:{ind.outcome}:wave:{wave}"
        base = dict(level="wave", role="wave", family=f"{programme}:{ind.outcome}:waves", wave=wave)
        if g not in table.index:
            out.append(
                not_estimable(
                    fid,
                    programme,
                    ind.outcome,
                    reason_vi=(
                        f"Đợt {wave} (bắt đầu {fmt.date_text(start)}; {names_text(members)}): sau ngày "
                        "đó không còn phường nào chưa triển khai để so sánh, nên không ước lượng "
                        f"được tác động riêng của đợt này. Câu trả lời chung: «{head.question_vi}»."
                    ),
                    reason_en=(
                        f"Wave {wave} (started {fmt.date_text(start)}; {names_text(members)}): no ward "
                        "was left untreated to compare with after that date, so this wave's own "
                        f"effect cannot be estimated. The overall answer: “{head.question_en}”."
                    ),
                    covered_by=head.id,
                    **base,
                )
            )
            continue
        row = table.loc[g]
        est = row_estimate(row, roll, ind.outcome, wave)
        wave_cells = cells[cells["group"] == g][[UNIT, TIME]]
        last = panel.loc[panel[TIME] == wave_cells[TIME].max(), "period_end"].max()
        out.append(
            Finding(
                id=fid,
                programme=programme,
                outcome=ind.outcome,
                estimate=est,
                method_vi=head.method_vi,
                method_en=head.method_en,
                design_vi=f"Đợt {wave} ({names_text(members)}), bắt đầu {fmt.date_text(start)}, so với các phường chưa triển khai, đến {fmt.date_text(last)}.",
                design_en=f"Wave {wave} ({names_text(members)}), started {fmt.date_text(start)}, against the wards not yet treated, until {fmt.date_text(last)}.",
                baseline=baseline(panel, members, ind.outcome),
                window=(start, pd.Timestamp(last)),
                before=base_period(panel, g, roll.anticipation),
                wards=members,
                truth=truth_for(district, ind.outcome, wave_cells),
                **base,
            )
        )
    return out


def row_estimate(row, roll, outcome, wave):
    from evaluation.results import Estimate

    return Estimate(
        estimate=float(row["estimate"]),
        se=float(row["se"]),
        ci_low=float(row["ci_low"]),
        ci_high=float(row["ci_high"]),
        pvalue=float(row.get("pvalue", math.nan)),
        min_pvalue=float(row.get("min_pvalue", math.nan)),
        method=f"Callaway & Sant'Anna (2021) ATT of wave {wave}",
        inference=roll.simple.inference,
        inference_method=str(row.get("inference", "analytic")),
        outcome=outcome,
        level=roll.simple.level,
        warnings=list(roll.att.warnings),
    )


def contrast_findings(programme, ind, panel, head) -> list[Finding]:
    try:
        est, bacon = twfe_contrast(panel, ind.outcome)
    except (DesignError, DataError, InferenceError):
        return []
    share = fmt.percent(100 * bacon.forbidden_weight, 0, "vi")
    return [
        Finding(
            id=f"{head.id}:twfe",
            programme=programme,
            outcome=ind.outcome,
            level="district",
            role="contrast",
            family=f"{head.id}:twfe",
            estimate=est,
            method_vi=(
                "Hồi quy hai chiều (TWFE) trên toàn bộ số liệu — cách làm quen thuộc nhưng có thể "
                f"lệch: {share} trọng số của nó nằm ở các so sánh dùng phường đã triển khai làm đối chứng"
            ),
            method_en=(
                "Two-way fixed effects on all the data — the familiar regression, biased here: "
                f"{fmt.percent(100 * bacon.forbidden_weight, 0, 'en')} of its weight is on "
                "comparisons that use already-treated wards as controls (Goodman-Bacon 2021)"
            ),
            design_vi=head.design_vi,
            design_en=head.design_en,
            baseline=head.baseline,
            window=head.window,
            before=head.before,
            wards=head.wards,
            details={"bacon": bacon},
        )
    ]


def count_panel(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The wards with at least one event: a ward without any carries no information on a rate
    ratio with ward effects (as :func:`evaluation.analysis.windows.estimate` leaves it out)."""
    return panel[panel.groupby(UNIT)[outcome].transform("sum") > 0]


def rollout_etwfe(district, programme, ind, panel, fid, base, first_start, never) -> list[Finding]:
    """The headline of a fire programme's rollout: the Poisson extended TWFE of Wooldridge
    (2023) — every wave × month its own rate ratio against the wards untreated that month — as
    the percent change of observed over expected fires; the Poisson TWFE it replaces and the
    Goodman-Bacon decomposition stay as a check under it."""
    from evaluation.estimators.etwfe import etwfe

    outcome = ind.outcome
    data = count_panel(panel, outcome)
    try:
        est = quiet(etwfe, data, outcome, UNIT, TIME, "cohort", exposure=ind.exposure)
    except (DesignError, InferenceError, DataError) as exc:
        return [unsupported_finding(fid, programme, outcome, None, exc, None, base)]
    cohorts = data.groupby(UNIT)["cohort"].first()
    treated = sorted(cohorts.index[cohorts.notna()])
    n_starts = int(cohorts.dropna().nunique())
    end = pd.Timestamp(panel["period_end"].max() if "period_end" in panel else panel[TIME].max())
    ivi, ien = inference_words(est)
    head = Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        estimate=est,
        method_vi=(
            "hồi quy hai chiều mở rộng (ETWFE, Wooldridge 2023), mô hình Poisson với dân số làm "
            "mẫu số: mỗi đợt trong mỗi tháng có tác động riêng, chỉ so với các phường chưa triển "
            f"khai trong cùng tháng; {ivi}"
        ),
        method_en=(
            "extended two-way fixed effects (ETWFE, Wooldridge 2023), Poisson model with "
            "population exposure: every wave in every month has its own effect, compared only "
            f"with the wards not yet treated in the same month; {ien}"
        ),
        design_vi=(
            f"{len(treated)} phường có mô hình (mỗi phường từ ngày bắt đầu của mình) so với "
            f"các phường chưa có trong cùng {ind.period_vi}"
            + (f"; {never} phường không triển khai" if never else "")
            + f"; {fmt.date_text(data[TIME].min())} – {fmt.date_text(end)}."
        ),
        design_en=(
            f"{len(treated)} wards with the programme (each from its own start) against those "
            f"without it yet in the same {ind.period_en}"
            + (f"; {never} wards never started it" if never else "")
            + f"; {fmt.date_text(data[TIME].min())} – {fmt.date_text(end)}."
        ),
        baseline=baseline(data, treated, outcome),
        window=(first_start, end),
        before=base_period(data, data["cohort"].min()),
        wards=treated,
        truth=truth_for(district, outcome, treated_cells(data)),
        **base,
    )
    out = [head]
    check = count_contrast(programme, ind, data, head, n_starts)
    if check is not None:
        pct_vi = fmt.percent(check.estimate.details["percent_change"], 0, "vi", sign=True)
        pct_en = fmt.percent(check.estimate.details["percent_change"], 0, "en", sign=True)
        head.notes_vi.append(
            f"Vì sao không dùng hồi quy hai chiều (TWFE) thông thường: các phường bắt đầu vào "
            f"{n_starts} thời điểm khác nhau, và TWFE đặt một tỷ lệ chung cho mọi đợt, so sánh cả "
            "với phường đã triển khai, nên bị lệch khi tác động khác nhau giữa các đợt "
            f"(Goodman-Bacon 2021). Kết quả TWFE ({pct_vi}) và phân rã Bacon được giữ bên dưới "
            "để kiểm tra."
        )
        head.notes_en.append(
            f"Why not the usual two-way fixed effects (TWFE): the wards started at {n_starts} "
            "different times, and TWFE puts one ratio on every wave and also compares with wards "
            "already treated, so it is biased when effects differ between waves (Goodman-Bacon "
            f"2021). The TWFE result ({pct_en}) and the Bacon decomposition are kept below as a "
            "check."
        )
        out.append(check)
    return out


def count_contrast(programme, ind, data, head, n_starts) -> Finding | None:
    """The Poisson TWFE the fire headline used before, with the Goodman-Bacon (2021)
    decomposition of the linear TWFE on the same counts: a check under the ETWFE headline."""
    from evaluation.diagnostics.bacon import bacon_decomposition

    try:
        est = estimate(data, ind)
    except (DesignError, DataError, InferenceError):
        return None
    details = {}
    share_vi = share_en = None
    try:
        bacon = quiet(bacon_decomposition, data, ind.outcome, UNIT, TIME, "cohort")
        details["bacon"] = bacon
        share_vi = fmt.percent(100 * bacon.forbidden_weight, 0, "vi")
        share_en = fmt.percent(100 * bacon.forbidden_weight, 0, "en")
    except (DesignError, DataError, InferenceError):
        pass
    mvi, men = method_words(ind, est)
    return Finding(
        id=f"{head.id}:twfe",
        programme=programme,
        outcome=ind.outcome,
        level="district",
        role="contrast",
        family=f"{head.id}:twfe",
        estimate=est,
        method_vi=(
            "Kiểm tra: hồi quy hai chiều (TWFE) Poisson trên toàn bộ số liệu, cách tính trước "
            f"đây của kết luận này — có thể lệch vì các phường bắt đầu vào {n_starts} thời điểm"
            + (
                f" ({share_vi} trọng số của TWFE tuyến tính nằm ở các so sánh dùng phường đã "
                "triển khai làm đối chứng)"
                if share_vi
                else ""
            )
            + f"; {mvi}"
        ),
        method_en=(
            "Check: Poisson two-way fixed effects (TWFE) on all the data, how this result was "
            f"computed before — possibly biased because the wards started at {n_starts} times"
            + (
                f" ({share_en} of the linear TWFE's weight is on comparisons that use "
                "already-treated wards as controls)"
                if share_en
                else ""
            )
            + f"; {men}"
        ),
        design_vi=head.design_vi,
        design_en=head.design_en,
        baseline=head.baseline,
        window=head.window,
        before=head.before,
        wards=head.wards,
        truth=head.truth,  # the same treated cells as the headline
        details=details,
    )
