"""The analysis layer behind the notebooks, against the demo data's planted truth.

Window and comparison selection are checked on their own (a small made-up panel, and the demo
registry's waves); the estimates against the truth planted by the simulator
(``data/demo/truth.yaml`` and ``data/demo/truth/``), so that a wrong window, a wrong comparison
group or a sign error in the analysis layer fails here, not in a report.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis import programmes as pg
from evaluation.analysis import tables
from evaluation.analysis.district import load_district
from evaluation.analysis.effects import _coherent
from evaluation.batch import record_findings
from evaluation.errors import DataError
from evaluation.results import Estimate


@pytest.fixture(scope="module")
def district():
    return load_district()


@pytest.fixture(scope="module")
def truth(district):
    return district.truth


# --------------------------------------------------------------------------------------------
# windows and comparison groups
# --------------------------------------------------------------------------------------------


def _toy_panel(cohorts: dict[str, int | None], periods: int = 12) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    times = [start + pd.Timedelta(weeks=k) for k in range(periods)]
    rows = []
    for unit, g in cohorts.items():
        c = times[g] if g is not None else pd.NaT
        rows += [(unit, t, c, 1.0) for t in times]
    return pd.DataFrame(rows, columns=["ward", "period_start", "cohort", "y"])


def test_window_ends_before_the_next_wave_and_uses_only_untreated_wards():
    panel = _toy_panel({"pilot": 4, "a1": 7, "a2": 7, "b1": 9, "never": None})
    starts = panel.groupby("ward")["cohort"].first().dropna()
    win = pg.comparison_window(panel, starts, "pilot")
    assert win.comparison == ["a1", "a2", "b1", "never"]
    assert win.data["period_start"].max() < starts["a1"]  # the window stops before wave a
    assert win.n_pre == 4 and win.n_post == 3
    assert win.data.loc[win.data["ward"] != "pilot", "cohort"].isna().all()
    wave_a = pg.comparison_window(panel, starts, "a1")
    assert wave_a.comparison == ["b1", "never"]  # not the pilot (treated), not a2 (same wave)
    assert set(wave_a.data["ward"]) == {"a1", "b1", "never"}
    # the last wave still has the never-treated ward, over the rest of the data
    last = pg.comparison_window(panel, starts, "b1")
    assert (
        last.comparison == ["never"]
        and last.data["period_start"].max() == panel["period_start"].max()
    )


def test_no_window_when_every_ward_is_treated_by_then():
    panel = _toy_panel({"pilot": 4, "a1": 7, "b1": 9})
    starts = panel.groupby("ward")["cohort"].first()
    assert pg.comparison_window(panel, starts, "b1") is None


def test_later_or_never_sample_keeps_only_untreated_periods_of_other_wards():
    panel = _toy_panel({"early": 2, "focal": 5, "later": 8, "never": None})
    data, comparison = pg.later_or_never_sample(panel, "focal")
    assert comparison == ["later", "never"]  # "early" started before: left out
    later = data[data["ward"] == "later"]
    assert later["period_start"].max() < panel.loc[panel["ward"] == "later", "cohort"].iloc[0]
    assert len(data[data["ward"] == "focal"]) == 12 and len(data[data["ward"] == "never"]) == 12
    assert data.loc[data["ward"] != "focal", "cohort"].isna().all()


def test_demo_windows_follow_the_rollout_waves(district):
    panel = district.traffic_weekly("traffic_model")
    starts = district.starts("traffic_model")
    pilot = pg.comparison_window(panel, starts, "Cổ Nhuế 2")
    assert pilot.end == pd.Timestamp("2024-06-30") and len(pilot.comparison) == 12
    wave_a = pg.comparison_window(panel, starts, "Xuân Đỉnh")
    assert wave_a.end == pd.Timestamp("2024-08-31")
    assert set(wave_a.comparison) == set(starts[starts > pd.Timestamp("2024-07-01")].index)
    wave_b = pg.comparison_window(panel, starts, "Đức Thắng")
    assert wave_b.end == pd.Timestamp("2024-10-31")
    assert set(wave_b.comparison) == {"Liên Mạc", "Thượng Cát", "Thụy Phương", "Tây Tựu"}
    assert pg.comparison_window(panel, starts, "Tây Tựu") is None


# --------------------------------------------------------------------------------------------
# estimates against the planted truth
# --------------------------------------------------------------------------------------------


def test_pilot_estimate_covers_the_planted_effect(district, truth):
    e = pg.traffic_effect(district, "Cổ Nhuế 2", "congestion_minutes")
    est = e.estimate
    assert est.inference_method == "conformal"  # one ward, 58 pre-periods
    assert est.min_pvalue == pytest.approx(1 / 78)
    realised = truth["traffic_model"]["realised_effects"]["pilot_until_wave_A"]["att_minutes"]
    assert est.ci_low <= realised <= est.ci_high
    assert est.ci_low <= e.truth <= est.ci_high
    assert -9.5 < est.estimate < -4.5  # spill-over to the comparison wards shrinks it a little
    assert e.window == (pd.Timestamp("2024-02-15"), pd.Timestamp("2024-06-30"))
    names = [c.name_en for c in e.checks]
    assert any("Fake start" in n for n in names) and any("spill-over" in n for n in names)
    space = next(c for c in e.checks if c.name_en.startswith("Comparison wards"))
    assert space.ok and space.value == pytest.approx(1 / 13)  # no comparison ward looks like it


def test_pilot_single_unit_methods_agree_with_the_truth(district, truth):
    pilot = pg.pilot_analysis(district, "Cổ Nhuế 2")
    realised = truth["traffic_model"]["realised_effects"]["pilot_until_wave_A"]["att_minutes"]
    for est in (pilot.synthetic_did, pilot.synthetic_control):
        assert est.ci_low <= realised <= est.ci_high
        assert est.estimate < -4
    assert pilot.placebo_space.share_as_large == 0  # no comparison ward looks like the pilot
    naive = pg.before_after(district.traffic_weekly("traffic_model"), "Cổ Nhuế 2")
    # the Tết slump: everyone fell, so the naive change overstates what the pilot did
    assert naive.loc["others", "change"] < -3
    assert naive.loc["Cổ Nhuế 2", "change"] < naive.loc["difference", "change"] - 3


def test_rollout_recovers_the_realised_wave_effects(district):
    roll = pg.traffic_rollout(district)
    simple = roll.simple
    assert simple.ci_low <= roll.truth_simple <= simple.ci_high
    assert abs(simple.estimate - roll.truth_simple) < 1.5
    effects = pg.rollout_effects(district, roll)
    waves = {e.details["wave"]: e for e in effects}
    assert set(waves) == {"all", "A", "B"}  # the pilot is a single-ward wave: left out
    a = waves["A"]
    assert a.estimate.ci_low <= a.truth <= a.estimate.ci_high
    # TWFE mixes in already-treated comparisons and lands further from the truth
    twfe_est, bacon = pg.rollout_twfe(district)
    assert abs(twfe_est.estimate - roll.truth_simple) > abs(simple.estimate - roll.truth_simple)
    assert bacon.forbidden_weight > 0.3


def test_last_wave_reports_the_rollout_and_says_so(district):
    e = pg.traffic_effect(district, "Tây Tựu", "congestion_minutes")
    assert e.details["stand_in"] == "rollout"
    assert "not this ward's own" in e.verdict.text_en
    assert "không phải của riêng phường" in e.verdict.text_vi


def test_fire_points_reduce_fires_in_the_direction_of_the_truth(district):
    e = pg.fire_district_effect(district, "fires")
    assert e.percent and e.truth < 0
    assert e.estimate.estimate < 0  # log rate ratio, same direction as the planted effect
    assert e.estimate.inference_method == "randomization"  # 2 never-treated wards
    assert e.verdict.text_en.count("%") >= 1 and "lower" in e.verdict.text_en
    rate = pg.fire_rate_effect(district)
    assert rate.estimate.ci_low <= rate.truth <= rate.estimate.ci_high


def test_placebo_outcome_shows_no_effect(district):
    e = pg.fire_district_effect(
        district, "electrical_incidents", panel=district.electrical_monthly("fire_point")
    )
    assert e.estimate.pvalue > 0.1
    assert e.verdict.category == "unclear"


def test_ward_fire_estimate_is_honest_about_the_design(district):
    e = pg.fire_effect(district, "Xuân Đỉnh")
    assert e.estimate.inference_method == "randomization"
    assert e.verdict.category == "design_limited"  # 1 treated ward: p cannot go below 1/10
    # randomization inference on a Poisson model has a p-value but no interval: said so
    assert "no confidence interval available" in e.verdict.text_en
    assert "không có khoảng tin cậy" in e.verdict.text_vi
    assert e.truth == pytest.approx(-14, abs=3)
    assert "Xuân Đỉnh" not in e.comparison and "Cổ Nhuế 2" not in e.comparison  # started first


def test_programmes_no_comparison_can_evaluate(district):
    effects = pg.ward_effects(district, "Cổ Nhuế 2")
    by_programme = {e.programme: e for e in effects}
    assert by_programme["rental_check"].estimate is None
    assert "13/09/2023" in by_programme["rental_check"].verdict.text_vi
    assert by_programme["to_lien_gia"].estimate is None
    assert "Public fire-fighting points" in by_programme["to_lien_gia"].verdict.text_en
    assert {"traffic_model", "fire_point", "camera"} <= set(by_programme)


def test_findings_follow_the_batch_schema(district, tmp_path):
    effects = pg.ward_effects(district, "Minh Khai", checks=False)
    findings = [e.finding("ward_report") for e in effects]
    record_findings(tmp_path / "r.json", findings)  # raises on any schema violation
    traffic = next(f for f in findings if f["outcome"] == "congestion_minutes")
    assert traffic["ward"] == "Minh Khai" and traffic["truth"] is not None
    assert traffic["window"] == ["2024-07-01", "2024-08-31"]
    missing = next(f for f in findings if f["programme"] == "rental_check")
    assert missing["estimate"] is None and missing["method"] == "not estimable"


def test_district_table_adjusts_only_wards_with_their_own_test(district):
    effects = [
        e
        for w in ("Cổ Nhuế 2", "Tây Tựu")
        for e in pg.ward_effects(district, w, checks=False)
        if e.programme == "traffic_model"
    ]
    t = pg.adjusted_table(effects)
    stand_in = t["ward"] == "Tây Tựu"
    assert t.loc[stand_in & t["pvalue"].notna(), "p_holm"].isna().all()
    own = t["own_test"]
    assert (t.loc[own, "p_holm"] >= t.loc[own, "pvalue"] - 1e-12).all()
    assert (t.loc[own, "p_bh"] <= t.loc[own, "p_holm"] + 1e-12).all()


# --------------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------------


def _estimate(est, lo, hi, p, method="conformal"):
    return Estimate(
        estimate=est,
        se=math.nan,
        ci_low=lo,
        ci_high=hi,
        pvalue=p,
        method="TWFE (least squares)",
        inference="x",
        inference_method=method,
    )


def test_incoherent_conformal_sets_are_not_reported_as_intervals():
    ok, notes = _coherent(_estimate(-6.0, -9.0, 1.0, 0.06))
    assert ok.ci_low == -9.0 and notes == []
    # an interval that excludes its own estimate, or contradicts the p-value, is dropped
    for bad in (_estimate(2.4, 2.7, 3.6, 0.03), _estimate(-3.8, -8.8, 2.4, 0.011)):
        fixed, notes = _coherent(bad)
        assert math.isnan(fixed.ci_low) and notes and fixed.pvalue == bad.pvalue
    # other inference methods are left alone
    same, _ = _coherent(_estimate(2.4, 2.7, 3.6, 0.03, method="randomization"))
    assert same.ci_low == 2.7


def test_percent_effects_display_as_percent_changes():
    e = pg.effect_from_estimate(
        Estimate(
            estimate=math.log(0.8),
            se=0.1,
            ci_low=math.log(0.6),
            ci_high=math.log(1.1),
            pvalue=0.2,
            method="TWFE (Poisson PML)",
            inference="x",
            scale="log rate ratio",
        ),
        "fires",
        programme="fire_point",
        design_vi="",
        design_en="",
        percent=True,
    )
    est, lo, hi = e.display()
    assert est == pytest.approx(-20) and lo == pytest.approx(-40) and hi == pytest.approx(10)
    assert e.effect_text("vi") == "−20% [−40; 10]"  # the unit once, after the estimate
    assert "20 %" in e.verdict.text_en and "0.2 " not in e.verdict.text_en


def test_tables_escape_and_format():
    df = pd.DataFrame({"name": ["<b>x</b>"], "value": [1234.5678], "p": [np.nan]})
    html = tables.table(df, formats={"value": 2}).markup
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "1.234,57" in html and 'class="num"' in html and "—" in html
    assert tables.p_text(0.0001) == "p < 0,001" and tables.p_text(0.05, "en") == "p = 0.050"


def test_load_district_checks_paths_and_caches(tmp_path):
    with pytest.raises(DataError, match="not a folder"):
        load_district(tmp_path / "nowhere")
    assert load_district() is load_district()
    empty = load_district(tmp_path)
    assert not empty.is_demo and empty.truth is None
    with pytest.raises(DataError, match="no traffic table"):
        empty.traffic_weekly()
