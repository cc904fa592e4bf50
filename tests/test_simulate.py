"""The demo data: regenerated exactly from its seed, and faithful to its own planted truth."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.data.embedded import demo_truth, traffic_truth
from evaluation.synthetic.demo import plan, simulate_district, write_demo

ROOT = Path(__file__).parents[1]
DEMO = ROOT / "data" / "demo"


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    write_demo(out / "demo", registry=out / "pilots.yaml", readme=out / "README.md")
    return out


def test_regenerating_with_the_seed_reproduces_the_committed_files(regenerated):
    committed = sorted(p.relative_to(DEMO) for p in DEMO.rglob("*") if p.is_file())
    fresh = sorted(
        p.relative_to(regenerated / "demo")
        for p in (regenerated / "demo").rglob("*")
        if p.is_file()
    )
    assert committed == fresh
    for rel in committed:
        a, b = DEMO / rel, regenerated / "demo" / rel
        if rel.suffix == ".parquet":  # compare values: parquet metadata names the writer version
            pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b), check_exact=True)
        else:
            assert a.read_bytes() == b.read_bytes(), f"{rel} differs from a fresh simulation"
    assert (ROOT / "params" / "pilots.yaml").read_bytes() == (
        regenerated / "pilots.yaml"
    ).read_bytes()
    assert (ROOT / "data" / "README.md").read_bytes() == (regenerated / "README.md").read_bytes()


def test_another_seed_gives_other_data(tmp_path):
    a = simulate_district(1)["fires"]
    b = simulate_district(2)["fires"]
    assert not a.equals(b)


@pytest.fixture(scope="module")
def traffic():
    return ev.load_demo("traffic")


@pytest.fixture(scope="module")
def truth():
    return demo_truth()


def test_pre_period_congestion_matches_the_planted_baseline(traffic, truth):
    base = truth["traffic_model"]["expected_baseline_minutes_2023_ordinary_weekday"]
    t = traffic[
        (traffic["date"].dt.year == 2023)
        & ~traffic["is_weekend"]
        & ~traffic["is_holiday"]
        & traffic["is_school_day"]
        & (traffic["rain_mm"] == 0)
    ]
    # Tolerance: the junction effects (sd 0.3 on the log scale) vary between junctions, so the
    # mean over n junctions has a relative sampling error of about 0.3 / sqrt(n); allow 3 of them.
    tol = 3 * base["junction_effect_sd_log"] / np.sqrt(base["n_junctions"])
    for peak in ("AM", "PM"):
        observed = t.loc[t["peak"] == peak, "congestion_minutes"].mean()
        assert observed == pytest.approx(base[peak], rel=tol), peak
    # the planted baseline is BRIEF §7.2's 25 (AM) and 35 (PM) minutes at a mid-density junction
    assert base["AM"] / base["PM"] == pytest.approx(25 / 35, rel=1e-3)


def test_calendar_effects_show_in_the_data(traffic):
    daily = traffic.groupby(["date"])["congestion_minutes"].mean()
    weekday = daily[daily.index.day_of_week < 5]
    weekend = daily[daily.index.day_of_week >= 5]
    assert weekend.mean() / weekday.mean() == pytest.approx(0.5, abs=0.08)
    tet_2024 = daily["2024-02-08":"2024-02-14"].mean()
    assert tet_2024 < 0.35 * weekday["2024-01-02":"2024-01-20"].mean()  # Tết week × 0.2
    share_missing = traffic["congestion_minutes"].isna().mean()
    assert 0.02 < share_missing < 0.08  # "a few percent of missing days"


def test_recorded_fire_rates_match_the_truth_within_poisson_error(truth):
    fires = ev.load_demo("fires")
    fires = fires[fires["incident_id"] != plan.ARSON["incident_id"]]
    fires = fires[fires["incident_id"].str.startswith("F-")]  # the district's own police
    for label, years in (("2022-2023", (2022, 2023)), ("2024-2025", (2024, 2025))):
        expected = truth["fire_programme"]["recorded_rates"][label]["expected_recorded_fires"]
        observed = fires["date"].dt.year.isin(years).sum()
        assert abs(observed - expected) < 3 * np.sqrt(expected), label
    rates = truth["fire_programme"]["recorded_rates"]
    # the recording break: 1.8 × as many fires counted from 2024 (without programme effects)
    ratio = (
        rates["2024-2025"]["without_programme_per_100k_per_year"]
        / rates["2022-2023"]["without_programme_per_100k_per_year"]
    )
    assert ratio == pytest.approx(1.8, rel=0.05)
    # 14 fires per 100,000 residents a year (Hanoi H1 2024), seasonal mean slightly above 1
    assert rates["2024-2025"]["without_programme_per_100k_per_year"] == pytest.approx(14, rel=0.1)


def test_the_planted_arson_is_present_once():
    fires = ev.load_demo("fires")
    arson = fires[fires["incident_id"] == plan.ARSON["incident_id"]]
    assert len(arson) == 1
    row = arson.iloc[0]
    assert (row["ward"], row["deaths"], row["date"]) == (
        "Cổ Nhuế 2",
        11,
        pd.Timestamp("2024-12-18"),
    )
    assert fires["deaths"].max() == 11


def test_realised_effects_in_truth_yaml_follow_from_the_truth_table(truth):
    week = traffic_truth("day")
    r = truth["traffic_model"]["realised_effects"]["pilot_until_wave_A"]
    sel = week[
        (week["ward"] == "Cổ Nhuế 2") & week["period_start"].between(*pd.to_datetime(r["window"]))
    ]
    pooled = (sel["effect"] * sel["n_obs"]).sum() / sel["n_obs"].sum()
    assert pooled == pytest.approx(r["att_minutes"], abs=1e-3)
    # the planted −30 % reaches the data, diluted only by the 4-week ramp
    assert -30 < r["att_pct"] < -25


def test_a_plain_did_on_the_demo_data_recovers_the_pilot_effect(traffic, truth):
    """Cổ Nhuế 2 against the wards not yet treated, before the pilot vs its fourth and fifth
    months: a hand-computed DiD of cell means lands on the truth (the realised effect less the
    spillover that contaminates the neighbouring controls)."""
    cells = traffic.groupby(["ward", pd.Grouper(key="date", freq="W-SUN")])[
        "congestion_minutes"
    ].mean()
    cells = cells.reset_index()
    pre = cells["date"].between("2023-03-01", "2024-01-20")
    post = cells["date"].between("2024-05-15", "2024-06-30")
    pilot = cells["ward"] == "Cổ Nhuế 2"
    did = (
        cells[pilot & post]["congestion_minutes"].mean()
        - cells[pilot & pre]["congestion_minutes"].mean()
    ) - (
        cells[~pilot & post]["congestion_minutes"].mean()
        - cells[~pilot & pre]["congestion_minutes"].mean()
    )
    tt = traffic_truth("week")
    w = tt["period_start"].between("2024-05-13", "2024-06-30")
    direct = tt[w & (tt["ward"] == "Cổ Nhuế 2")]["effect"].mean()
    spill = tt[w & (tt["ward"] != "Cổ Nhuế 2")]["effect"].mean()
    assert did == pytest.approx(direct - spill, abs=1.5)  # minutes; sampling noise of the DiD
    assert did < -5


def test_security_table_is_consistent():
    antt = ev.load_demo("antt")
    assert (antt["solved_cases"] <= antt["criminal_cases"]).all()
    assert (antt["theft_cases"] <= antt["criminal_cases"]).all()
    assert (antt["traffic_deaths"] <= antt["traffic_accidents"]).all()
    assert antt.groupby("ward")["cameras_cum"].apply(lambda s: s.is_monotonic_increasing).all()
    assert (antt["period_start"].dt.day == 15).all() and (antt["period_end"].dt.day == 14).all()
    # police periods ending after 1 July 2025 are reported by the new wards (codes N-…)
    new = antt[antt["ward_code"].str.startswith("N-")]
    assert set(new["ward"]) <= {
        "Đông Ngạc",
        "Thượng Cát",
        "Xuân Đỉnh",
        "Phú Diễn",
        "Tây Tựu",
        "Phú Thượng",
        "Xuân Phương",
        "Nghĩa Đô",
    }
    assert new["period_start"].min() == pd.Timestamp("2025-06-15")
    assert (antt.loc[~antt.index.isin(new.index), "period_end"] < "2025-07-01").all()
    assert (new["solved_cases"] <= new["criminal_cases"]).all()
