"""Fire programmes: public fire points in one ward and across the district, and what the fire
data cannot answer.

Fires are rare (about 0.25 per ward-month, 152 in four years), so:

* :func:`fire_effect` — one ward: quarterly counts, Poisson TWFE with population exposure
  against the quarters in which other wards had no fire point yet
  (:func:`~evaluation.analysis.effects.later_or_never_sample`), randomization inference;
* :func:`fire_district_effect` — all wards: Poisson TWFE on the monthly panel, randomization
  inference (a p-value, no interval); :func:`fire_rate_effect` — the same on the rate per
  100,000 residents by least squares, which gives an interval;
* per-fire outcomes (escalation, deaths, losses) are far too rare for a comparison with ward
  and period effects: :func:`rare_outcome_finding` says so with the counts, and
  :func:`fires_by_status` shows them descriptively;
* :func:`common_shock_rates` — the only comparison a programme started everywhere at once
  allows (before/after), shown to explain why it cannot be credited to the programme.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.analysis.district import District
from evaluation.analysis.effects import (
    TIME,
    UNIT,
    Check,
    ProgrammeEffect,
    _effective_post,
    _later_design_text,
    _placebo_checks,
    _quiet,
    _too_few_events,
    _verdict,
    date_vi,
    later_or_never_sample,
    not_evaluable,
    outcome_info,
)
from evaluation.estimators.twfe import twfe
from evaluation.report.verdict import fmt_en, fmt_vi

__all__ = [
    "fire_effect",
    "fire_district_effect",
    "fire_rate_effect",
    "per_100k_year",
    "naive_before_after_rate",
    "fires_by_status",
    "rare_outcome_finding",
    "common_shock_rates",
]


def fire_effect(
    district: District, ward: str, outcome: str = "fires", *, checks: bool = True
) -> ProgrammeEffect:
    """Public fire-fighting points on fire counts in one ward.

    Quarterly counts (fires are rare), Poisson TWFE with the population as exposure, the
    ward against the quarters in which other wards had no fire point yet
    (:func:`later_or_never_sample`), ``inference="auto"`` (randomization inference: one
    treated ward). The estimate is a log rate ratio, shown as a percent change.
    """
    programme = "fire_point"
    panel = district.fires_quarterly(programme)
    data, comparison = later_or_never_sample(panel, ward)
    start = district.starts(programme)[ward]
    if not comparison:
        return not_evaluable(
            ward,
            programme,
            outcome,
            "Mọi phường khác đã có điểm chữa cháy trước phường này: không còn phường đối chứng.",
            "Every other ward had a fire point before this one: no comparison ward is left.",
        )
    few = _too_few_events(data, ward, outcome, programme)
    if few is not None:
        return few
    est = _quiet(
        twfe,
        data,
        outcome,
        UNIT,
        TIME,
        "cohort",
        family="poisson",
        exposure="population",
        inference="auto",
    )
    vi, en = _later_design_text(
        ward, start, comparison, "điểm chữa cháy công cộng", "a public fire point"
    )
    vi += " Số vụ cháy theo quý (vì cháy hiếm), mô hình Poisson, dân số làm mẫu số."
    en += " Quarterly fire counts (fires are rare), Poisson model with population exposure."
    g = data.loc[data[UNIT] == ward, "cohort"].iloc[0]
    post = _effective_post(data, ward, g)
    truth = None
    ft = district.fire_truth
    col = {"fires": "fires_expected", "escalated": "escalated_expected"}.get(outcome)
    if ft is not None and col and len(post):
        rows = ft[(ft[UNIT] == ward) & (ft[TIME] >= start.to_period("M").to_timestamp())]
        rows = rows[rows[TIME] <= post.max() + pd.offsets.QuarterEnd(0)]
        truth = 100 * (rows[f"{col}1"].sum() / rows[f"{col}0"].sum() - 1)
    n_fires = int(data.loc[data[UNIT] == ward, outcome].sum())
    notes_vi = [
        f"Chỉ có {n_fires} vụ ở phường này trong cả giai đoạn: ước lượng ở cấp phường rất "
        "không chắc chắn; xem kết quả toàn quận trong báo cáo phòng cháy."
    ]
    notes_en = [
        f"Only {n_fires} fires in this ward over the whole period: a ward-level estimate is "
        "very uncertain; see the district-wide result in the fire report."
    ]
    found: list[Check] = []
    if checks:
        found = _placebo_checks(
            data,
            outcome,
            est.estimate,
            ("time",),
            family="poisson",
            exposure="population",
            max_fake_starts=4,
        )
    return ProgrammeEffect(
        ward=ward,
        programme=programme,
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=True),
        design_vi=vi,
        design_en=en,
        window=(pd.Timestamp(start), data[TIME].max() + pd.offsets.QuarterEnd(0)),
        comparison=comparison,
        checks=found,
        truth=truth,
        percent=True,
        notes_vi=notes_vi,
        notes_en=notes_en,
        details={"n_fires": n_fires},
    )


def fire_district_effect(
    district: District,
    outcome: str = "fires",
    *,
    programme: str = "fire_point",
    panel: pd.DataFrame | None = None,
    n_boot: int = 199,
    inference: str = "auto",
) -> ProgrammeEffect:
    """A programme's average effect on a count across all wards: Poisson TWFE with population
    exposure on the monthly panel (or ``panel``), ``inference="auto"`` (randomization
    inference over the wards with ``n_boot`` re-assignments)."""
    p = panel if panel is not None else district.fires_monthly(programme)
    est = _quiet(
        twfe,
        p,
        outcome,
        UNIT,
        TIME,
        "cohort",
        family="poisson",
        exposure="population",
        inference=inference,
        n_boot=n_boot,
    )
    n_treated = int(p.groupby(UNIT)["cohort"].first().notna().sum())
    vi = (
        f"{n_treated} phường có mô hình (mỗi phường từ ngày bắt đầu của mình) so với các phường "
        "chưa có; mô hình Poisson với hiệu ứng cố định phường và tháng, dân số làm mẫu số."
    )
    en = (
        f"{n_treated} wards with the programme (each from its own start) against those without "
        "it yet; Poisson model with ward and month fixed effects and population exposure."
    )
    truth = None
    ft = district.fire_truth
    col = {"fires": "fires_expected", "escalated": "escalated_expected", "deaths": "deaths_expected", "loss_mvnd": "loss_expected"}.get(outcome)  # fmt: skip
    if ft is not None and col and programme == "fire_point":
        m = p[[UNIT, TIME, "cohort"]].merge(ft, on=[UNIT, TIME])
        treated = m[m["cohort"].notna() & (m[TIME] >= m["cohort"])]
        truth = 100 * (treated[f"{col}1"].sum() / treated[f"{col}0"].sum() - 1)
    return ProgrammeEffect(
        ward=None,
        programme=programme,
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=True),
        design_vi=vi,
        design_en=en,
        truth=truth,
        percent=True,
    )


def per_100k_year(panel: pd.DataFrame, outcome: str = "fires") -> pd.Series:
    """Monthly counts as a rate per 100,000 residents per year."""
    return panel[outcome] / panel["population"] * 1e5 * 12


def naive_before_after_rate(panel: pd.DataFrame, outcome: str = "fires") -> dict[str, float]:
    """The comparison a report without a control group would make: the treated wards' rate
    (per 100,000 residents per year) after their start against before it, pooled."""
    treated = panel[panel["cohort"].notna()]
    post = treated[TIME] >= treated["cohort"]

    def rate(d: pd.DataFrame) -> float:
        return float(d[outcome].sum() / (d["population"].sum() / 12) * 1e5)

    before, after = rate(treated[~post]), rate(treated[post])
    return {"before": before, "after": after, "percent": 100 * (after / before - 1)}


def fire_rate_effect(
    district: District, panel: pd.DataFrame | None = None, *, n_boot: int = 199
) -> ProgrammeEffect:
    """Fire points on the fire rate per 100,000 residents per year: least squares TWFE
    weighted by population, ``inference="auto"`` (randomization inference, with an interval
    — which the Poisson model's randomization inference cannot give)."""
    p = panel if panel is not None else district.fires_monthly("fire_point")
    p = p.assign(fire_rate=per_100k_year(p))
    est = _quiet(
        twfe,
        p,
        "fire_rate",
        UNIT,
        TIME,
        "cohort",
        weights="population",
        inference="auto",
        n_boot=n_boot,
    )
    truth = None
    ft = district.fire_truth
    if ft is not None:
        m = p[[UNIT, TIME, "cohort", "population"]].merge(ft, on=[UNIT, TIME])
        t = m[m["cohort"].notna() & (m[TIME] >= m["cohort"])]
        truth = float(
            ((t["fires_expected1"] - t["fires_expected0"]).sum())
            / (t["population"].sum() / 12)
            * 1e5
        )
    pre = p[p["cohort"].notna() & (p[TIME] < p["cohort"])]
    baseline = float(pre["fires"].sum() / (pre["population"].sum() / 12) * 1e5)
    return ProgrammeEffect(
        ward=None,
        programme="fire_point",
        outcome="fire_rate",
        estimate=est,
        verdict=_verdict(est, "fire_rate", percent=False, baseline=baseline),
        design_vi="Số vụ cháy trên 100.000 dân mỗi năm; sai khác kép với hiệu ứng cố định phường "
        "và tháng, trọng số dân số; các phường chưa có điểm chữa cháy làm đối chứng.",
        design_en="Fires per 100,000 residents a year; difference-in-differences with ward and "
        "month effects, weighted by population; wards without a fire point yet as comparison.",
        truth=truth,
        details={"baseline": baseline},
    )


def fires_by_status(
    district: District, programme: str = "fire_point", *, split: str = "2024-01-01", exclude=()
) -> pd.DataFrame:
    """Fires, escalations (medium or worse), deaths and losses by whether the programme was in
    force in the ward on the day of the fire, before and after ``split`` (e.g. a change in how
    fires are recorded)."""
    f = district.fire_records(tuple(exclude))
    starts = district.starts(programme)
    start = f[UNIT].map(starts)
    f = f.assign(
        in_force=start.notna() & (f["date"] >= start),
        regime=np.where(
            f["date"] >= pd.Timestamp(split), f"từ {date_vi(split)}", f"trước {date_vi(split)}"
        ),
    )
    out = (
        f.groupby(["regime", "in_force"], sort=False)
        .agg(
            fires=("incident_id", "size"),
            escalated=("escalated", "sum"),
            deaths=("deaths", "sum"),
            loss=("loss_mvnd", "sum"),
        )
        .reset_index()
    )
    out["escalated_share"] = 100 * out["escalated"] / out["fires"]
    out["loss_per_fire"] = out["loss"] / out["fires"]
    out = out.sort_values(["regime", "in_force"], ascending=[False, True]).reset_index(drop=True)
    return out


def rare_outcome_finding(
    district: District, outcome: str, *, programme: str = "fire_point", exclude=()
) -> ProgrammeEffect:
    """Per-fire outcomes (escalation, deaths, losses) are too rare for a comparison with ward
    and period effects: say so, with the counts that make it so."""
    f = district.fire_records(tuple(exclude))
    n = {"escalated": int(f["escalated"].sum()), "deaths": int(f["deaths"].sum())}
    o = outcome_info(outcome)
    if outcome == "loss_mvnd":
        top = f["loss_mvnd"].nlargest(3).sum() / f["loss_mvnd"].sum()
        vi = (
            f"Thiệt hại tập trung ở vài vụ lớn (3 vụ lớn nhất chiếm {fmt_vi(100 * top, 0)}% tổng "
            f"thiệt hại của {len(f)} vụ): so sánh có hiệu ứng cố định phường và kỳ cho kết quả "
            "dao động rất mạnh, không đủ tin cậy để kết luận."
        )
        en = (
            f"Losses are concentrated in a few large fires (the 3 largest make "
            f"{fmt_en(100 * top, 0)} % of the total over {len(f)} fires): a comparison with ward "
            "and period effects swings wildly and cannot support a conclusion."
        )
    else:
        k = n.get(outcome, 0)
        vi = (
            f"Chỉ có {k} {o.unit_vi} ({o.vi}) trong {len(f)} vụ cháy: quá ít để so sánh với hiệu "
            "ứng cố định phường và kỳ; ước lượng dao động rất mạnh theo cách chia kỳ."
        )
        en = (
            f"Only {k} {o.unit_en} ({o.en}) among {len(f)} fires: too few for a comparison with "
            "ward and period effects; estimates swing wildly with the choice of periods."
        )
    return not_evaluable(None, programme, outcome, vi, en)


def common_shock_rates(
    district: District, date, outcome: str = "rental", months: int = 12
) -> pd.DataFrame:
    """District rate of ``outcome`` (per 100,000 residents a year) in the ``months`` before
    and after ``date``: the only comparison a programme started everywhere at once allows."""
    p = district.fires_monthly()
    date = pd.Timestamp(date).to_period("M").to_timestamp()
    before = p[(p[TIME] < date) & (p[TIME] >= date - pd.DateOffset(months=months))]
    after = p[(p[TIME] >= date) & (p[TIME] < date + pd.DateOffset(months=months))]

    def rate(d, col):
        return float(d[col].sum() / (d["population"].sum() / 12) * 1e5)

    rows = []
    for col in (outcome, "fires"):
        b, a = rate(before, col), rate(after, col)
        rows.append({"outcome": col, "before": b, "after": a, "percent": 100 * (a / b - 1)})
    return pd.DataFrame(rows)
