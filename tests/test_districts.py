"""The second district generator (evaluation.synthetic.scenarios): format, truth, reproducibility.

Every written table must pass ``pilot-eval validate`` and load through the analysis layer with
the scenario's cohorts; the truth files must say exactly what was planted (a null scenario's
effect is exactly 0, a proportional effect is that share of the counterfactual); the observed
data must carry the planted effect (a plain DiD finds it); and ``(scenario, seed)`` must
reproduce the files.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from evaluation.analysis.district import load_district
from evaluation.data.embedded import traffic_truth
from evaluation.data.registry import load_registry
from evaluation.data.validate import main as validate_main
from evaluation.errors import DataError
from evaluation.synthetic.scenarios import (
    KINDS,
    Scenario,
    Wave,
    random_scenario,
    write_district,
)

ROOT = Path(__file__).resolve().parents[1]
TABLES = (
    "junctions.csv",
    "traffic_peak.parquet",
    "fire_incidents.csv",
    "electrical_incidents_monthly.csv",
    "antt_period.csv",
)


@pytest.fixture(scope="module")
def default_district(tmp_path_factory):
    folder = tmp_path_factory.mktemp("district")
    return write_district(folder, Scenario(), seed=3)


def _load(truth):
    return load_district(truth.folder, truth.registry_path)


def _weekly_cohorts(truth) -> dict[str, pd.Timestamp]:
    w = _load(truth).traffic_weekly("traffic_model")
    return w.dropna(subset=["cohort"]).groupby("ward")["cohort"].first().to_dict()


def _expected_cohorts(starts: dict[str, pd.Timestamp]) -> dict[str, pd.Timestamp]:
    """The Monday of the week holding each start (the weekly panel's cohort)."""
    return {w: s - pd.Timedelta(days=s.day_of_week) for w, s in starts.items()}


# ------------------------------------------------------------------ format


def test_every_table_and_the_registry_pass_validate(default_district, capsys):
    files = [default_district.folder / n for n in TABLES] + [default_district.registry_path]
    assert validate_main([str(f) for f in files]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    assert out.count("no problems found") == len(files)


def test_validate_would_catch_a_broken_table(default_district, tmp_path):
    # the check above can fail: a negative count is reported
    fires = pd.read_csv(default_district.folder / "fire_incidents.csv")
    fires.loc[0, "deaths"] = -1
    fires.to_csv(tmp_path / "fire_incidents.csv", index=False)
    assert validate_main([str(tmp_path / "fire_incidents.csv")]) == 2


def test_load_district_gives_cohorts_for_exactly_the_treated_wards(default_district):
    s = default_district.scenario
    assert _weekly_cohorts(default_district) == _expected_cohorts(s.traffic_starts())
    d = _load(default_district)
    fires = d.fires_monthly("fire_point").dropna(subset=["cohort"])
    assert set(fires["ward"]) == {w for w, _, _ in s.fire_points}
    sec = d.security("camera").dropna(subset=["cohort"])
    assert set(sec["ward"]) == {w for w, _ in s.camera_starts}
    # the everyone-at-once programme is registered for all 13 wards on one day
    common = d.starts(s.common_programme)
    assert len(common) == 13 and common.nunique() == 1
    assert d.truth["scenario"]["pilot_ward"] == s.pilot_ward


def test_the_default_district_is_not_the_demo(default_district):
    """Pilot elsewhere, waves in another order and other months than params/pilots.yaml."""
    demo = load_registry(ROOT / "params" / "pilots.yaml").for_programme("traffic_model")
    demo_pilot = demo.loc[demo["wave"] == "pilot", "ward"].item()
    s = default_district.scenario
    assert s.pilot_ward == "Tây Tựu" != demo_pilot
    demo_wave_a = set(demo.loc[demo["wave"] == "A", "ward"])
    assert set(s.waves[0].wards).isdisjoint(demo_wave_a)
    assert {pd.Timestamp(w.start).month for w in s.waves}.isdisjoint(
        set(demo.loc[demo["wave"] != "pilot", "start"].dt.month)
    )
    never = [w for w in default_district.traffic_daily["ward"].unique() if s.wave_of(w) is None]
    assert len(never) == 4  # the demo treats all 13


def test_truth_files_have_the_demo_columns(default_district):
    demo = ROOT / "data" / "demo" / "truth"
    mine = default_district.folder / "truth"
    a = pd.read_parquet(demo / "traffic_daily.parquet")
    b = pd.read_parquet(mine / "traffic_daily.parquet")
    assert list(b.columns) == list(a.columns)
    assert (b.dtypes.astype(str) == a.dtypes.astype(str)).all()
    for name in ("fire_monthly.csv", "antt_period.csv"):
        assert list(pd.read_csv(mine / name).columns) == list(pd.read_csv(demo / name).columns)


def test_data_notes_and_truth_yaml(default_district):
    s = default_district.scenario
    notes = yaml.safe_load((default_district.folder / "data_notes.yaml").read_text("utf-8"))
    assert list(notes) == ["recording_changes"]
    [change] = notes["recording_changes"]
    assert list(change) == ["table", "date", "vi", "en"]
    assert (change["table"], change["date"]) == ("fires", s.recording_change)
    doc = yaml.safe_load((default_district.folder / "truth.yaml").read_text("utf-8"))
    assert Scenario.from_dict(doc["scenario"]) == s
    notes_module = pytest.importorskip("evaluation.data.notes")
    [read] = notes_module.load_data_notes(default_district.folder / "data_notes.yaml").changes(
        "fires"
    )
    assert read.date == pd.Timestamp(s.recording_change)
    assert doc["traffic_model"]["wards"]["Tây Tựu"]["wave"] == "pilot"
    ratios = doc["fire_programme"]["per_fire_expected"]["ratio_treated_to_untreated"]
    assert ratios["escalated"] == pytest.approx(1 + s.fire_escalation_effect)
    assert 0 < ratios["deaths"] < 1 and 0 < ratios["loss_mvnd"] < 1
    realised = doc["traffic_model"]["realised_effects"]
    assert set(realised) == {"pilot", "wave_A", "wave_B"}
    assert realised["wave_B"]["att_minutes"] == pytest.approx(
        default_district.traffic_effect(s.waves[1].wards, s.waves[1].start), abs=1e-4
    )


def test_no_recording_change_writes_an_empty_list(tmp_path):
    write_district(tmp_path, Scenario(recording_change=None), seed=1)
    notes = yaml.safe_load((tmp_path / "data_notes.yaml").read_text("utf-8"))
    assert notes == {"recording_changes": []}


# ------------------------------------------------------------------ truth


def test_planted_proportional_effect_is_the_truth_over_treated_ward_weeks(tmp_path):
    """No ramp, anticipation, spillover or decay: every treated cell has y = (1 + e) · y⁰ (up
    to the cap at the peak's length and rounding), so over the treated ward-weeks
    Σ effect / Σ counterfactual = e."""
    e = -0.25
    s = Scenario(
        pilot_effect=e,
        waves=(Wave("A", "2024-09-02", ("Cổ Nhuế 1", "Đông Ngạc", "Xuân Tảo"), e),),
        ramp_days=0,
    )
    truth = write_district(tmp_path, s, seed=11)
    weekly = _load(truth).traffic_truth_weekly
    cohorts = _expected_cohorts(s.traffic_starts())
    treated = weekly[weekly["period_start"] >= weekly["ward"].map(cohorts)]
    assert set(treated["ward"]) == set(cohorts)
    ratio = treated["effect_congestion"].sum() / treated["counterfactual_congestion"].sum()
    assert ratio == pytest.approx(e, abs=0.005)
    assert truth.traffic_effect(list(cohorts), since_start=True, percent=True) == pytest.approx(
        100 * e, abs=0.5
    )
    # speed: −0.5 × the congestion effect, by construction
    speed = truth.traffic_effect(list(cohorts), since_start=True, outcome="speed", percent=True)
    assert speed == pytest.approx(-50 * e, abs=0.3)
    # untreated wards and pre-periods carry no effect
    assert truth.traffic_effect("Phúc Diễn") == 0.0
    assert truth.traffic_effect(list(cohorts), end="2024-03-17") == 0.0


def test_helper_agrees_with_the_truth_file(default_district):
    weekly = traffic_truth("week", "congestion", folder=default_district.folder)
    rows = weekly[(weekly["ward"] == "Tây Tựu") & (weekly["period_start"] >= "2024-03-18")]
    rows = rows[rows["period_start"] <= "2024-08-05"]
    from_file = (rows["effect"] * rows["n_obs"]).sum() / rows["n_obs"].sum()
    assert default_district.traffic_effect("Tây Tựu", "2024-03-18", "2024-08-11") == pytest.approx(
        from_file, rel=1e-9
    )


def test_a_null_scenario_has_exactly_zero_effect(tmp_path):
    s = random_scenario(np.random.default_rng(7), "null")
    assert s.waves and all(w.effect == 0 for w in s.waves)  # treated, but nothing happens
    truth = write_district(tmp_path, s, seed=5)
    t = truth.traffic_daily
    assert (t["congestion_sum"] == t["congestion0_sum"]).all()
    assert (t["speed_sum"] == t["speed0_sum"]).all()
    assert truth.traffic_effect(truth.treated_wards(), since_start=True) == 0.0
    f = pd.read_csv(tmp_path / "truth" / "fire_monthly.csv")
    assert (f["fires_expected1"] == f["fires_expected0"]).all()
    assert (f["escalated_expected1"] == f["escalated_expected0"]).all()
    a = pd.read_csv(tmp_path / "truth" / "antt_period.csv")
    assert (a["solve_rate1"] == a["solve_rate0"]).all()
    assert (a["accidents_expected1"] == a["accidents_expected0"]).all()


def test_the_observed_data_carry_the_effect(tmp_path):
    """A plain 2×2 DiD of weekly means (pilot ward vs the 12 others) lands on the truth."""
    results = {}
    for effect in (0.0, -0.3):
        s = Scenario(pilot_effect=effect, waves=(), ramp_days=0)
        truth = write_district(tmp_path / str(effect), s, seed=21)
        w = _load(truth).traffic_weekly("traffic_model")
        treated = w["ward"] == s.pilot_ward
        post = w["period_start"] >= pd.Timestamp(s.pilot_start)
        m = w.groupby([treated, post])["congestion_minutes"].mean()
        did = (m[True, True] - m[True, False]) - (m[False, True] - m[False, False])
        results[effect] = (did, truth.traffic_effect(s.pilot_ward, since_start=True))
    did0, truth0 = results[0.0]
    did1, truth1 = results[-0.3]
    assert truth0 == 0.0 and abs(did0) < 1.5  # the DiD's error has sd ≈ 0.3 minutes
    assert truth1 < -3 and did1 == pytest.approx(truth1, abs=1.5)


def test_fire_truth_effect_recording_change_and_counts(tmp_path):
    s = Scenario(common_programme=None, fire_ramp_days=0, recording_factor=1.8)
    truth = write_district(tmp_path, s, seed=2)
    for ward, _, e in s.fire_points:
        assert truth.fire_effect_percent(ward, since_start=True) == pytest.approx(100 * e)
        assert truth.fire_effect_percent(ward, end="2022-08-31") == pytest.approx(0.0)
    # recording change on 2023-07-01: July 2023 is recorded 1.8 × July 2022 in every ward
    f = pd.read_csv(tmp_path / "truth" / "fire_monthly.csv", parse_dates=["month"])
    july = f[f["month"].isin(pd.to_datetime(["2022-07-01", "2023-07-01"]))]
    wide = july.pivot(index="ward", columns="month", values="fires_expected0")
    assert (wide.iloc[:, 1] / wide.iloc[:, 0]).to_numpy() == pytest.approx(1.8, rel=1e-4)
    # the records are Poisson draws around the expected total
    expected = f["fires_expected1"].sum()
    n = len(pd.read_csv(tmp_path / "fire_incidents.csv"))
    assert abs(n - expected) < 4 * np.sqrt(expected)


def test_camera_truth(default_district):
    s = default_district.scenario
    ward, start = s.camera_starts[0]
    # police periods overlapping the ramp's last day still ramp: start a month later
    late = pd.Timestamp(start) + pd.Timedelta(days=s.camera_ramp_days + 31)
    assert default_district.solve_share_effect(ward, start=late) == pytest.approx(
        s.camera_effect_pp
    )
    assert (
        default_district.solve_share_effect(ward, end=pd.Timestamp(start) - pd.Timedelta(days=31))
        == 0
    )


# ------------------------------------------------------------------ reproducibility


def _contents(folder: Path) -> dict[str, object]:
    out: dict[str, object] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            key = str(p.relative_to(folder))
            out[key] = pd.read_parquet(p) if p.suffix == ".parquet" else p.read_bytes()
    return out


def test_one_seed_repeats_two_seeds_differ(tmp_path):
    s = random_scenario(np.random.default_rng(1), "heterogeneous_waves")
    a = _contents(write_district(tmp_path / "a", s, seed=9).folder)
    b = _contents(write_district(tmp_path / "b", s, seed=9).folder)
    c = _contents(write_district(tmp_path / "c", s, seed=10).folder)
    assert a.keys() == b.keys() == c.keys()
    for key in a:
        if isinstance(a[key], pd.DataFrame):
            pd.testing.assert_frame_equal(a[key], b[key])
        else:
            assert a[key] == b[key], key
    assert not a["traffic_peak.parquet"].equals(c["traffic_peak.parquet"])
    assert a["fire_incidents.csv"] != c["fire_incidents.csv"]
    assert a["antt_period.csv"] != c["antt_period.csv"]


def test_random_scenarios_are_a_function_of_the_generator():
    draws = [random_scenario(np.random.default_rng(4), "spillover") for _ in range(2)]
    assert draws[0] == draws[1]
    other = random_scenario(np.random.default_rng(5), "spillover")
    assert other != draws[0]


# ------------------------------------------------------------------ every kind


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_writes_loads_and_plants_its_feature(kind, tmp_path):
    s = random_scenario(np.random.default_rng(100 + KINDS.index(kind)), kind)
    assert s.kind == kind
    truth = write_district(tmp_path, s, seed=1)
    assert _weekly_cohorts(truth) == _expected_cohorts(
        {w: d for w, d in s.traffic_starts().items() if d <= pd.Timestamp(s.traffic_end)}
    )
    t = truth.traffic_daily
    effect = truth.traffic_effect(truth.treated_wards(), since_start=True)
    if kind == "null":
        assert effect == 0.0
    else:
        assert effect < 0
    if kind == "pilot_only":
        assert not s.waves
    if kind == "heterogeneous_waves":
        assert len({s.pilot_effect, *(w.effect for w in s.waves)}) > 1
    if kind == "spillover":
        assert (t["spillover"] < 0).any()
        assert (
            truth.traffic_effect(
                [w for w in t["ward"].unique() if s.wave_of(w) != "pilot"],
                s.pilot_start,
                pd.Timestamp(s.waves[0].start) - pd.Timedelta(days=1),
            )
            < 0
        )
    if kind == "anticipation":
        assert (t["anticipation"] < 0).sum() == s.anticipation_days * len(truth.treated_wards())
    if kind == "common_shock":
        # the shock is in the outcomes with and without the programme: no effect of its own
        day = pd.Timestamp(s.shock_date)
        around = t[
            (t["date"] >= day - pd.Timedelta(days=28)) & (t["date"] < day + pd.Timedelta(days=28))
        ]
        per_obs = around.groupby(around["date"] >= day)[["congestion0_sum", "n_obs"]].sum()
        level = per_obs["congestion0_sum"] / per_obs["n_obs"]
        assert level[True] / level[False] == pytest.approx(1 + s.shock_effect, abs=0.08)


# ------------------------------------------------------------------ bad input


def test_scenarios_refuse_impossible_truths(tmp_path):
    with pytest.raises(DataError, match="pilot ward is in a wave"):
        Scenario(waves=(Wave("A", "2024-08-12", ("Tây Tựu",), -0.1),))
    with pytest.raises(DataError, match="less than 28 days"):
        Scenario(pilot_start="2023-06-10")
    with pytest.raises(DataError, match="unknown ward"):
        Scenario(pilot_ward="Hoàn Kiếm")
    with pytest.raises(DataError, match="kind"):
        random_scenario(np.random.default_rng(0), "medium")
    # variants of ward names are accepted and stored canonically
    assert Scenario(pilot_ward="Tay Tuu").pilot_ward == "Tây Tựu"
    # a folder with other traffic tables would be read together with the simulated ones
    (tmp_path / "traffic_peak_2024.parquet").write_bytes(b"")
    with pytest.raises(DataError, match="traffic_peak_2024"):
        write_district(tmp_path, Scenario(), seed=0)


def test_scenario_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Scenario().pilot_ward = "Cổ Nhuế 2"  # type: ignore[misc]
