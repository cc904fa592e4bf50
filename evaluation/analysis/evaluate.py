"""Every programme of the registry, evaluated for any district: the findings all pages share.

:func:`district_findings` reads the registry and evaluates each programme with the design its
timing allows, on each outcome the registry lists for it:

* a programme started in every ward on one day cannot be evaluated by comparison, and one that
  always started together with another cannot be told apart from it: one finding says so;
* a pilot (the registry's ``wave: pilot`` entry) is the headline of its own question — its
  ward against the wards not yet treated, before the first rollout wave (two-way fixed
  effects with ``inference="auto"``: conformal inference with a long pre-period), with the
  synthetic DiD and synthetic control folded under it;
* the rollout (every other treated ward) is the headline of the next question — Callaway &
  Sant'Anna's average over the wards and weeks that still had a comparison, for weekly
  outcomes, or two-way fixed effects (Poisson with population exposure for counts, weighted for
  shares) — with one finding per wave and the two-way fixed effects contrast;
* each ward gets its own estimate against the wards not yet treated — or, when none is left or
  too few events happened, a finding without a number that names the district finding covering
  it;
* outcomes too rare to compare, and placebo outcomes, are findings of their own.

One verdict policy (:func:`evaluation.analysis.findings.apply_policy`) is applied to all of
them together, so every page shows the same verdict for the same finding. The findings are
computed once per data, registry and code version and kept in a cache
(:mod:`evaluation.analysis.cache`), so the thirteen ward reports of a batch share one
computation.
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Finding, apply_policy, not_estimable
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.policy import Policy
from evaluation.analysis.traffic import pilot_alternatives, rollout, twfe_contrast
from evaluation.analysis.windows import (
    INDICATORS,
    RARE_OUTCOMES,
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
from evaluation.errors import DataError, DesignError, InferenceError

__all__ = [
    "default_programme",
    "district_findings",
    "evaluate_programme",
    "for_ward",
    "headlines",
    "programme_findings",
]

_DOMAIN_OUTCOMES = {
    "traffic": ("congestion_minutes", "avg_speed_kmh", "traffic_accidents"),
    "fire": ("fires",),
    "security": ("solved_share",),
}
_PLACEBO_OUTCOMES = {"fire": ("electrical_incidents",)}


# --------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------


def _direction(outcome: str) -> tuple[str, str]:
    return ("giảm", "reduce") if outcome_info(outcome).lower_is_better else ("tăng", "raise")


def _inference_words(est) -> tuple[str, str]:
    m = est.inference_method if est is not None else ""
    return {
        "conformal": (
            "hoán vị theo thời gian (suy luận conformal)",
            "permuting time (conformal inference)",
        ),
        "randomization": (
            "hoán vị phường được triển khai (suy luận ngẫu nhiên hóa)",
            "permuting which wards are treated (randomization inference)",
        ),
        "wild": ("bootstrap cụm (wild bootstrap)", "wild cluster bootstrap"),
        "cluster": ("sai số chuẩn theo cụm", "cluster-robust standard errors"),
        "analytic": ("sai số chuẩn giải tích", "analytic standard errors"),
    }.get(m, ("—", "—"))


def _model_words(ind: Indicator) -> tuple[str, str]:
    if ind.family == "poisson":
        return (
            "mô hình Poisson với hiệu ứng cố định phường và kỳ, dân số làm mẫu số",
            "Poisson model with ward and period fixed effects and population exposure",
        )
    if ind.weights:
        return (
            "sai khác kép với hiệu ứng cố định phường và kỳ, trọng số là số vụ án",
            "difference-in-differences with ward and period effects, weighted by cases",
        )
    return (
        "sai khác kép với hiệu ứng cố định phường và kỳ (TWFE)",
        "difference-in-differences with ward and period fixed effects (TWFE)",
    )


def _method(ind: Indicator, est, prefix=("", "")) -> tuple[str, str]:
    mvi, men = _model_words(ind)
    ivi, ien = _inference_words(est)
    return f"{prefix[0]}{mvi}; {ivi}", f"{prefix[1]}{men}; {ien}"


def _names(wards) -> str:
    return ", ".join(wards) if wards else "—"


# --------------------------------------------------------------------------------------------
# programme structure
# --------------------------------------------------------------------------------------------


def _outcomes(district: District, programme: str) -> list[str]:
    meta = district.programme_meta(programme)
    listed = list(meta.get("outcomes") or _DOMAIN_OUTCOMES.get(meta.get("domain", ""), ()))
    return listed


def _common_start(district: District, programme: str) -> pd.Timestamp | None:
    s = district.starts(programme)
    if set(s.index) >= set(district.ward_names) and s.nunique() == 1:
        return pd.Timestamp(s.iloc[0])
    return None


def _paired_with(district: District, programme: str) -> tuple[str, float] | None:
    """Another programme that always starts in the same wards within ~3 months of this one,
    and earlier than it in the registry's order of evaluation (the two cannot be told apart:
    the first one listed carries their joint effect)."""
    mine = district.starts(programme)
    for other in district.registry.programmes:
        if other == programme:
            continue
        theirs = district.starts(other)
        if set(theirs.index) != set(mine.index) or len(mine) < 2:
            continue
        gap = (theirs - mine.reindex(theirs.index)).dt.days
        order = list(district.registry.programmes)
        same_outcome = _outcomes(district, other)[:1] == _outcomes(district, programme)[:1]
        if gap.abs().max() <= 92 and same_outcome and order.index(other) < order.index(programme):
            return other, float(gap.median())
    return None


def _partners(district: District, programme: str) -> list[str]:
    """The programmes whose effect this one's results carry (they were paired with it)."""
    return [
        other
        for other in district.registry.programmes
        if other != programme
        and other in set(district.registry.pilots["programme"])
        and (_paired_with(district, other) or ("",))[0] == programme
    ]


def _data_has(district: District, ind: Indicator, programme: str) -> bool:
    try:
        panel = ind.data(district, programme)
    except DataError:
        return False
    return ind.outcome in panel and len(panel) > 0


# --------------------------------------------------------------------------------------------
# findings
# --------------------------------------------------------------------------------------------


def _limit(district, programme, outcome, level, text_vi, text_en, question=("", "")) -> Finding:
    fid = f"{programme}:{outcome}:{level}"
    return not_estimable(
        fid,
        programme,
        outcome,
        level=level,
        role="headline",
        family=fid,
        reason_vi=text_vi,
        reason_en=text_en,
        question_vi=question[0],
        question_en=question[1],
    )


def _programme_limits(district: District, programme: str, outcome: str) -> Finding | None:
    name_vi = district.programme_label(programme, "vi")
    d_vi, d_en = _direction(outcome)
    o = outcome_info(outcome)
    q = (
        f"«{name_vi}» có làm {d_vi} {o.vi} không?",
        f"Did “{district.programme_label(programme, 'en')}” {d_en} {o.en}?",
    )
    common = _common_start(district, programme)
    if common is not None:
        return _limit(
            district,
            programme,
            outcome,
            "district",
            f"Triển khai ở tất cả các phường cùng ngày {fmt.date_text(common)}: không có phường "
            "đối chứng, nên không phương pháp so sánh nào tách được tác động của mô hình khỏi "
            "những thay đổi chung cùng thời điểm. So sánh trước–sau đơn thuần sẽ gán nhầm mọi "
            "thay đổi khác cho mô hình.",
            f"Started in every ward on the same day ({fmt.date_text(common)}): there is no "
            "comparison ward, so no comparison can separate the programme's effect from whatever "
            "else changed at that time. A plain before/after comparison would credit the "
            "programme with every other change.",
            q,
        )
    pair = _paired_with(district, programme)
    if pair is not None:
        other, gap = pair
        lab_vi, lab_en = (
            district.programme_label(other, "vi"),
            district.programme_label(other, "en"),
        )
        months = fmt.number(abs(gap) / 30.4, 1, "vi")
        return _limit(
            district,
            programme,
            outcome,
            "district",
            f"Mô hình này luôn được triển khai cùng «{lab_vi}», ở cùng các phường, cách nhau "
            f"khoảng {months} tháng: số liệu không tách được tác động riêng của từng mô hình. "
            f"Kết quả của «{lab_vi}» là tác động chung của cả hai.",
            f"This programme always started together with “{lab_en}”, in the same wards, about "
            f"{fmt.number(abs(gap) / 30.4, 1, 'en')} months apart: the data cannot separate "
            f"their effects. The result of “{lab_en}” is their joint effect.",
            q,
        )
    return None


def _pilot(
    district: District, programme: str, ind: Indicator, ward: str, role: str
) -> list[Finding]:
    outcome = ind.outcome
    o = outcome_info(outcome)
    d_vi, d_en = _direction(outcome)
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
    f = _one_ward(district, programme, ind, win, fid, base)
    if f.estimate is None:
        return [f]
    out = [f]
    if ind.family == "gaussian" and not ind.weights and role == "headline":
        out += _alternatives(district, f, win, ind)
    return out


def _one_ward(district, programme, ind: Indicator, win, fid, base, covered_by=None) -> Finding:
    """The effect of one ward's start against the wards not yet treated in its window (the
    pilot's headline and each ward's own number), or a finding without a number and why."""
    ward, outcome = win.ward, ind.outcome
    if ind.family == "poisson":
        before, after = events(win.data, ward, outcome)
        if before < ind.min_events or after < ind.min_events:
            return _too_few(fid, programme, ind, ward, before, after, win, covered_by, base)
    try:
        est = estimate(win.data, ind)
    except (DesignError, InferenceError) as exc:
        return _unsupported(fid, programme, outcome, ward, exc, covered_by, base)
    design_vi, design_en = _window_words(win, ind)
    method_vi, method_en = _method(ind, est)
    return Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        estimate=_coherent(est),
        method_vi=method_vi,
        method_en=method_en,
        design_vi=design_vi,
        design_en=design_en,
        baseline=baseline(win.data, [ward], outcome),
        window=(win.start, win.end),
        wards=[ward],
        comparison=win.comparison,
        truth=truth_for(district, outcome, treated_cells(win.data)),
        notes_vi=_notes_vi(win),
        notes_en=_notes_en(win),
        covered_by=covered_by,
        **base,
    )


def _window_words(win, ind: Indicator) -> tuple[str, str]:
    n = len(win.comparison)
    vi = (
        f"Phường {win.ward} (bắt đầu {fmt.date_text(win.start)}) so với {n} phường chưa triển "
        f"khai ({_names(win.comparison)}), từ đầu chuỗi số liệu đến {fmt.date_text(win.end)}"
        + (
            f" — chỉ giữ {win.n_post} {ind.period_vi} sau khi bắt đầu, bằng số {ind.period_vi} "
            "trước đó, để phép hoán vị theo thời gian (suy luận conformal) hợp lệ"
            if win.cut
            else (" — trước khi đợt tiếp theo bắt đầu" if win.next_start is not None else "")
        )
        + f"; {win.n_pre} {ind.period_vi} trước và {win.n_post} {ind.period_vi} sau khi bắt đầu."
    )
    en = (
        f"{win.ward} (started {fmt.date_text(win.start)}) against the {n} wards not yet treated "
        f"({_names(win.comparison)}), from the start of the data to {fmt.date_text(win.end)}"
        + (
            f" — keeping {win.n_post} {ind.period_en}s after the start, as many as before it, "
            "so that permuting time (conformal inference) is valid"
            if win.cut
            else (", before the next wave started" if win.next_start is not None else "")
        )
        + f"; {win.n_pre} {ind.period_en}s before and {win.n_post} after the start."
    )
    return vi, en


def _notes_vi(win) -> list[str]:
    return (
        [
            "Các phường đối chứng giáp ranh phường đã triển khai có thể được hưởng lợi gián tiếp "
            "(lan tỏa), khi đó ước lượng nhỏ hơn tác động thật; xem kiểm tra «loại phường giáp ranh»."
        ]
        if win.comparison
        else []
    )


def _notes_en(win) -> list[str]:
    return (
        [
            "Comparison wards bordering treated wards may benefit indirectly (spill-over), which "
            "makes the estimate smaller than the true effect; see the check without bordering wards."
        ]
        if win.comparison
        else []
    )


def _alternatives(district: District, pilot: Finding, win, ind: Indicator) -> list[Finding]:
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
        ivi, ien = _inference_words(est)
        out.append(
            Finding(
                id=f"{pilot.id}:{key}",
                programme=pilot.programme,
                outcome=pilot.outcome,
                level="pilot",
                role="alternative",
                family=f"{pilot.id}:{key}",
                estimate=_coherent(est),
                method_vi=f"{vi}: phường so với một tổ hợp có trọng số của các phường đối chứng; {ivi}",
                method_en=f"{en}: the ward against a weighted combination of the comparison wards; {ien}",
                design_vi=pilot.design_vi,
                design_en=pilot.design_en,
                ward=pilot.ward,
                baseline=pilot.baseline,
                window=pilot.window,
                wards=pilot.wards,
                comparison=pilot.comparison,
                truth=pilot.truth,
            )
        )
    return out


def _coherent(est):
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


def _unsupported(fid, programme, outcome, ward, exc, covered_by, base) -> Finding:
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


def _too_few(fid, programme, ind, ward, before, after, win, covered_by, base) -> Finding:
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


def _rollout(
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
    d_vi, d_en = _direction(outcome)
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
        return _rollout_cs(district, programme, ind, panel, fid, base, first_start, pilot)
    try:
        est = estimate(panel, ind)
    except (DesignError, InferenceError) as exc:
        return [_unsupported(fid, programme, outcome, None, exc, None, base)]
    end = pd.Timestamp(panel["period_end"].max() if "period_end" in panel else panel[TIME].max())
    mvi, men = _method(ind, est)
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
            wards=treated,
            truth=truth_for(district, outcome, treated_cells(panel)),
            **base,
        )
    ]


def _rollout_cs(district, programme, ind, panel, fid, base, first_start, pilot) -> list[Finding]:
    outcome = ind.outcome
    roll = rollout(district, programme, outcome, panel)
    covered = roll.covered_wards()
    cells = roll.cells()
    last = panel.loc[panel[TIME] == roll.last_period, "period_end"].max()
    k = roll.anticipation
    ivi, ien = _inference_words(roll.simple)
    waves = district.waves(programme)
    uncovered = sorted(set(panel.loc[panel["cohort"].notna(), UNIT]) - set(covered))
    design_vi = (
        f"Mỗi đợt so với các phường chưa triển khai tại cùng thời điểm, các tuần từ "
        f"{fmt.date_text(first_start)} đến {fmt.date_text(last)} — sau đó không còn phường chưa "
        f"triển khai để so sánh"
        + (
            f"; {k} tuần trước mỗi ngày bắt đầu không dùng làm kỳ gốc (chuẩn bị triển khai)"
            if k
            else ""
        )
        + (f". Không có phường đối chứng cho: {_names(uncovered)}." if uncovered else ".")
    )
    design_en = (
        f"Each wave against the wards not yet treated at the same time, the weeks from "
        f"{fmt.date_text(first_start)} to {fmt.date_text(last)} — after that no ward was left "
        "untreated to compare with"
        + (f"; the {k} weeks before each start are not used as the base (preparation)" if k else "")
        + (f". No comparison ward for: {_names(uncovered)}." if uncovered else ".")
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
        wards=covered,
        truth=truth_for(district, outcome, cells[[UNIT, TIME]]),
        **base,
    )
    out = [head]
    out += _waves(district, programme, ind, roll, panel, head, waves)
    out += _contrast(programme, ind, panel, head)
    return out


def _waves(district, programme, ind, roll, panel, head, waves) -> list[Finding]:
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
                        f"Đợt {wave} (bắt đầu {fmt.date_text(start)}; {_names(members)}): sau ngày "
                        "đó không còn phường nào chưa triển khai để so sánh, nên không ước lượng "
                        f"được tác động riêng của đợt này. Câu trả lời chung: «{head.question_vi}»."
                    ),
                    reason_en=(
                        f"Wave {wave} (started {fmt.date_text(start)}; {_names(members)}): no ward "
                        "was left untreated to compare with after that date, so this wave's own "
                        f"effect cannot be estimated. The overall answer: “{head.question_en}”."
                    ),
                    covered_by=head.id,
                    **base,
                )
            )
            continue
        row = table.loc[g]
        est = _row_estimate(row, roll, ind.outcome, wave)
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
                design_vi=f"Đợt {wave} ({_names(members)}), bắt đầu {fmt.date_text(start)}, so với các phường chưa triển khai, đến {fmt.date_text(last)}.",
                design_en=f"Wave {wave} ({_names(members)}), started {fmt.date_text(start)}, against the wards not yet treated, until {fmt.date_text(last)}.",
                baseline=baseline(panel, members, ind.outcome),
                window=(start, pd.Timestamp(last)),
                wards=members,
                truth=truth_for(district, ind.outcome, wave_cells),
                **base,
            )
        )
    return out


def _row_estimate(row, roll, outcome, wave):
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


def _contrast(programme, ind, panel, head) -> list[Finding]:
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
            wards=head.wards,
            details={"bacon": bacon},
        )
    ]


def _wards(district, programme, ind: Indicator, pilot, covered_by) -> list[Finding]:
    outcome = ind.outcome
    panel = ind.data(district, programme)
    starts = district.starts(programme)
    family = f"{programme}:{outcome}:wards"
    out = []
    for ward in starts.sort_values().index:
        if ward == pilot or ward not in set(panel[UNIT]):
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
        out.append(_one_ward(district, programme, ind, win, fid, base, covered_by))
    return out


def _rare(district: District, programme: str, outcome: str) -> Finding:
    f = district.fire_records()
    o = outcome_info(outcome)
    fid = f"{programme}:{outcome}:district"
    if outcome == "loss_mvnd":
        top = f["loss_mvnd"].nlargest(3).sum() / max(f["loss_mvnd"].sum(), 1e-9)
        vi = (
            f"Thiệt hại tập trung ở vài vụ lớn (3 vụ lớn nhất chiếm {fmt.percent(100 * top, 0, 'vi')} "
            f"tổng thiệt hại của {len(f)} vụ): so sánh có hiệu ứng cố định phường và kỳ dao động rất "
            "mạnh, không đủ tin cậy để kết luận."
        )
        en = (
            f"Losses are concentrated in a few large fires (the 3 largest make "
            f"{fmt.percent(100 * top, 0, 'en')} of the total over {len(f)} fires): a comparison "
            "with ward and period effects swings wildly and cannot support a conclusion."
        )
    else:
        k = int(f[outcome].sum()) if outcome in f else 0
        vi = (
            f"Chỉ có {k} {o.unit_vi} ({o.vi}) trong {len(f)} vụ cháy: quá ít để so sánh với hiệu "
            "ứng cố định phường và kỳ."
        )
        en = (
            f"Only {k} {o.unit_en} ({o.en}) among {len(f)} fires: too few for a comparison with "
            "ward and period effects."
        )
    return not_estimable(
        fid,
        programme,
        outcome,
        level="district",
        role="secondary",
        family=fid,
        reason_vi=vi,
        reason_en=en,
    )


def _placebo(district: District, programme: str, outcome: str) -> Finding | None:
    ind = INDICATORS[outcome]
    if not _data_has(district, ind, programme):
        return None
    panel = ind.data(district, programme)
    try:
        est = estimate(panel, ind, n_boot=999)
    except (DesignError, DataError, InferenceError):
        return None
    mvi, men = _method(ind, est)
    o = outcome_info(outcome)
    return Finding(
        id=f"{programme}:{outcome}:placebo",
        programme=programme,
        outcome=outcome,
        level="district",
        role="check",
        family=f"{programme}:{outcome}:placebo",
        estimate=est,
        method_vi=mvi,
        method_en=men,
        design_vi=f"Kiểm tra: mô hình không thể làm thay đổi {o.vi}; một «tác động» ở đây là dấu hiệu so sánh có vấn đề.",
        design_en=f"Check: the programme cannot change {o.en}; an 'effect' here would mean the comparison is flawed.",
        wards=sorted(panel.loc[panel["cohort"].notna(), UNIT].unique()),
    )


def evaluate_programme(district: District, programme: str) -> list[Finding]:
    """Every finding of one programme (see the module docstring); no verdicts yet."""
    outcomes = _outcomes(district, programme)
    if not outcomes:
        return []
    limit = _programme_limits(district, programme, outcomes[0])
    if limit is not None:
        return [limit]
    pilot = district.pilot_ward(programme)
    out: list[Finding] = []
    evaluable = [
        o for o in outcomes if o in INDICATORS and _data_has(district, INDICATORS[o], programme)
    ]
    for i, outcome in enumerate(evaluable):
        ind = INDICATORS[outcome]
        role = "headline" if i == 0 else "secondary"
        if pilot is not None:
            out += _pilot(district, programme, ind, pilot, role)
        roll = _rollout(district, programme, ind, pilot, role)
        out += roll
        covered_by = roll[0].id if roll else None
        out += _wards(district, programme, ind, pilot, covered_by)
    for outcome in outcomes:
        if outcome in RARE_OUTCOMES and "fires" in _outcomes(district, programme):
            out.append(_rare(district, programme, outcome))
    for other in _partners(district, programme):
        lab_vi, lab_en = (district.programme_label(other, lang) for lang in ("vi", "en"))
        for f in out:
            if f.role == "headline":
                f.notes_vi.append(
                    f"Kết quả này gồm cả tác động của «{lab_vi}», luôn triển khai cùng các phường "
                    "và gần cùng thời điểm: số liệu không tách được hai mô hình."
                )
                f.notes_en.append(
                    f"This result includes the effect of “{lab_en}”, which always started in the "
                    "same wards at about the same time: the data cannot separate the two."
                )
    domain = district.programme_meta(programme).get("domain", "")
    for outcome in _PLACEBO_OUTCOMES.get(domain, ()):
        found = _placebo(district, programme, outcome)
        if found is not None:
            out.append(found)
    return out


def programme_findings(
    district: District, programme: str, policy: Policy | None = None
) -> list[Finding]:
    """The findings of one programme with the district's verdicts (from
    :func:`district_findings`, so they agree with every other page)."""
    return [f for f in district_findings(district, policy) if f.programme == programme]


def district_findings(district: District, policy: Policy | None = None) -> list[Finding]:
    """Every finding of every programme of the registry, with verdicts under ``policy``.

    Computed once per data, registry, code version and policy (:mod:`evaluation.analysis.cache`).
    """
    from evaluation.analysis.cache import cached

    policy = policy or Policy()

    def compute() -> list[Finding]:
        from threadpoolctl import threadpool_limits

        found: list[Finding] = []
        # a district's models are small (13 wards): one BLAS thread each is fastest, and a
        # multi-threaded LAPACK call on a busy machine costs ~100 times a single-threaded one
        with threadpool_limits(limits=1):
            for programme in district.registry.programmes:
                if programme in set(district.registry.pilots["programme"]):
                    found += evaluate_programme(district, programme)
        return apply_policy(found, policy)

    return cached(district, policy, compute)


def default_programme(district: District, domain: str, requested: str | None = None) -> str | None:
    """The programme a domain notebook evaluates: ``requested`` (checked against the registry),
    else the first programme of ``domain`` ("traffic", "fire", "security") that has entries."""
    if requested is not None:
        district.registry.for_programme(requested)  # a DataError naming the registry's ids
        return requested
    used = set(district.registry.pilots["programme"])
    for programme, meta in district.registry.programmes.items():
        if (meta or {}).get("domain") == domain and programme in used:
            if (
                _common_start(district, programme) is None
                and _paired_with(district, programme) is None
            ):
                return programme
    return None


def for_ward(findings: list[Finding], ward: str) -> list[Finding]:
    """The findings whose number belongs to ``ward`` (its own estimate, the pilot's when it
    is the pilot ward, or the no-number finding that says why it has none)."""
    return [f for f in findings if f.ward == ward and f.role in ("headline", "secondary", "ward")]


def headlines(findings: list[Finding]) -> list[Finding]:
    """The answers to each programme's questions, in registry order (pilot before rollout)."""
    return [f for f in findings if f.role == "headline"]
