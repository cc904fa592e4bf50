"""The pilot registry and the cohort column built from it."""

from pathlib import Path

import pandas as pd
import pytest

import evaluation as ev
from evaluation.data.wards import load_wards
from evaluation.synthetic.demo import plan

REGISTRY = Path(__file__).parents[1] / "params" / "pilots.yaml"
DEMO = Path(__file__).parents[1] / "data" / "demo"
#: the demo district's own wards at the level its programmes were assigned (before 1 July 2025)
_TABLE = load_wards(DEMO)
WARDS = [
    w
    for w, d in zip(
        _TABLE.frame(_TABLE.level("2024-01-01").codes)["ward"],
        _TABLE.frame(_TABLE.level("2024-01-01").codes)["district"],
        strict=True,
    )
    if d == "Bắc Từ Liêm"
]


@pytest.fixture(scope="module")
def registry():
    return ev.load_registry(REGISTRY, load_wards(DEMO))


def _panel(freq="MS", start="2023-01-01", end="2025-12-01"):
    periods = pd.date_range(start, end, freq=freq)
    return pd.DataFrame([(w, p) for w in WARDS for p in periods], columns=["ward", "period_start"])


def test_registry_lists_the_pilot_the_waves_and_fire_points(registry):
    t = registry.for_programme("traffic_model").set_index("ward")
    assert len(t) == 13
    assert t.loc["Cổ Nhuế 2", "start"] == pd.Timestamp("2024-02-15")
    assert t.loc["Cổ Nhuế 2", "wave"] == "pilot"
    assert sorted(t["wave"].unique()) == ["A", "B", "C", "pilot"]
    assert len(registry.for_programme("fire_point")) == 11


def test_monthly_cohort_matches_the_registry(registry):
    p = ev.add_cohort(_panel(), registry, "traffic_model")
    cohorts = p.groupby("ward")["cohort"].first()
    # the pilot launched on 15 Feb: February is the first treated month
    assert cohorts["Cổ Nhuế 2"] == pd.Timestamp("2024-02-01")
    for wave, (start, wards) in plan.WAVES.items():
        for w in wards:
            assert cohorts[w] == start, (wave, w)
    assert p["cohort"].notna().all()


def test_first_full_period_rule_and_police_periods(registry):
    monthly = ev.add_cohort(_panel(), registry, "traffic_model", rule="first_full")
    assert monthly.groupby("ward")["cohort"].first()["Cổ Nhuế 2"] == pd.Timestamp("2024-03-01")
    police = _panel().assign(period_start=lambda d: d["period_start"] + pd.Timedelta(days=14))
    p = ev.add_cohort(police, registry, "traffic_model")
    assert p.groupby("ward")["cohort"].first()["Cổ Nhuế 2"] == pd.Timestamp("2024-02-15")


def test_wards_without_an_entry_are_never_treated(registry):
    p = ev.add_cohort(_panel(start="2022-01-01"), registry, "fire_point")
    c = p.groupby("ward")["cohort"].first()
    assert c[["Liên Mạc", "Thượng Cát"]].isna().all()
    assert c.notna().sum() == 11
    assert c["Cổ Nhuế 2"] == pd.Timestamp("2023-03-01")


def test_cohort_outside_the_data_range_is_reported(registry):
    short = _panel(end="2024-08-01")  # waves B and C start after the data end
    with pytest.raises(ev.DataError) as info:
        ev.add_cohort(short, registry, "traffic_model")
    msg = str(info.value)
    assert "after the data's last period 2024-08-01" in msg and "Thượng Cát" in msg
    assert "outside='never'" in msg
    p = ev.add_cohort(short, registry, "traffic_model", outside="never")
    assert p.groupby("ward")["cohort"].first().isna().sum() == 8
    late = _panel(start="2024-03-01")
    with pytest.raises(
        ev.DataError, match="before the data's first period 2024-03-01 — no pre-period"
    ):
        ev.add_cohort(late, registry, "traffic_model")


def test_registry_naming_a_ward_absent_from_the_data(registry):
    panel = _panel()
    panel = panel[panel["ward"] != "Liên Mạc"]
    with pytest.raises(
        ev.DataError, match=r"names ward\(s\) 'Liên Mạc' that are absent from the data"
    ):
        ev.add_cohort(panel, registry, "traffic_model")
    p = ev.add_cohort(panel, registry, "traffic_model", missing_wards="ignore")
    assert "Liên Mạc" not in set(p["ward"])


def test_unknown_programme_and_non_date_periods(registry):
    with pytest.raises(ev.DataError, match="no programme 'trafic'"):
        ev.add_cohort(_panel(), registry, "trafic")
    bad = _panel().assign(period_start="tháng 1")
    with pytest.raises(ev.DataError, match="must hold dates"):
        ev.add_cohort(bad, registry, "traffic_model")
