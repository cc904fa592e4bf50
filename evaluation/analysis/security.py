"""Community cameras on the share of criminal cases solved, per ward and across the district."""

from __future__ import annotations

import pandas as pd

from evaluation.analysis.district import District
from evaluation.analysis.effects import (
    TIME,
    UNIT,
    ProgrammeEffect,
    _effective_post,
    _later_design_text,
    _quiet,
    _verdict,
    date_en,
    date_vi,
    later_or_never_sample,
    not_evaluable,
)
from evaluation.estimators.twfe import twfe

__all__ = ["camera_effect", "camera_district_effect"]


def camera_effect(district: District, ward: str) -> ProgrammeEffect:
    """Community cameras on the share of criminal cases solved (percentage points).

    Police periods, the ward against the periods in which other wards had no cameras yet
    (:func:`later_or_never_sample`), least squares weighted by the number of criminal cases,
    ``inference="auto"`` (randomization inference).
    """
    programme, outcome = "camera", "solved_share"
    panel = district.security(programme)
    panel = panel[panel["criminal_cases"] > 0]
    data, comparison = later_or_never_sample(panel, ward)
    start = district.starts(programme)[ward]
    if not comparison:
        return not_evaluable(
            ward,
            programme,
            outcome,
            f"Phường {ward} là phường cuối cùng lắp camera ({date_vi(start)}): không còn "
            "phường chưa lắp để so sánh.",
            f"{ward} was the last ward to install cameras ({date_en(start)}): no ward without "
            "cameras is left to compare with.",
        )
    data = data.assign(weight=data["criminal_cases"].astype(float))
    est = _quiet(
        twfe, data, outcome, UNIT, TIME, "cohort", weights="weight", inference="auto", n_boot=999
    )
    g = data.loc[data[UNIT] == ward, "cohort"].iloc[0]
    post = _effective_post(data, ward, g)
    truth = None
    st = district.security_truth
    if st is not None and len(post):
        rows = st[(st[UNIT] == ward) & st[TIME].isin(post)]
        truth = float(100 * (rows["solve_rate1"] - rows["solve_rate0"]).mean())
    vi, en = _later_design_text(ward, start, comparison, "camera an ninh", "community cameras")
    vi += " Tỷ lệ án được làm rõ theo kỳ báo cáo công an, trọng số là số vụ án."
    en += " Share of cases solved per police period, weighted by the number of cases."
    return ProgrammeEffect(
        ward=ward,
        programme=programme,
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=False),
        design_vi=vi,
        design_en=en,
        window=(pd.Timestamp(start), post.max() if len(post) else pd.Timestamp(start)),
        comparison=comparison,
        truth=truth,
    )


def camera_district_effect(district: District, *, n_boot: int = 199) -> ProgrammeEffect:
    """Community cameras on the share of criminal cases solved, all wards: least squares TWFE
    weighted by the number of cases, ``inference="auto"`` (every ward installed cameras, so
    randomization inference over the order of installation)."""
    programme, outcome = "camera", "solved_share"
    panel = district.security(programme)
    panel = panel[panel["criminal_cases"] > 0].assign(weight=lambda d: d["criminal_cases"] * 1.0)
    est = _quiet(
        twfe,
        panel,
        outcome,
        UNIT,
        TIME,
        "cohort",
        weights="weight",
        inference="auto",
        n_boot=n_boot,
    )
    truth = None
    st = district.security_truth
    if st is not None:
        m = panel[[UNIT, TIME, "cohort", "weight"]].merge(st, on=[UNIT, TIME])
        t = m[m["cohort"].notna() & (m[TIME] >= m["cohort"])]
        truth = float(
            100 * ((t["solve_rate1"] - t["solve_rate0"]) * t["weight"]).sum() / t["weight"].sum()
        )
    return ProgrammeEffect(
        ward=None,
        programme=programme,
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=False),
        design_vi="Mọi phường lắp camera vào các thời điểm khác nhau: sai khác kép với hiệu ứng cố "
        "định phường và kỳ báo cáo, trọng số là số vụ án.",
        design_en="Every ward installed cameras, at different dates: difference-in-differences "
        "with ward and police-period effects, weighted by the number of cases.",
        truth=truth,
    )
