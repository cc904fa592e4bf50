"""Incident records to zero-filled unit × period panels; police periods; traffic cell means."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.data.panels import (
    aggregate_incidents,
    aggregate_traffic,
    period_start,
    police_period,
)


def test_police_periods_run_from_the_15th_to_the_14th():
    d = pd.to_datetime(
        ["2024-02-14", "2024-02-15", "2024-03-14", "2024-01-01", "2023-12-31", "2024-12-15"]
    )
    got = police_period(d).dt.strftime("%Y-%m-%d").tolist()
    assert got == [
        "2024-01-15",
        "2024-02-15",
        "2024-02-15",
        "2023-12-15",
        "2023-12-15",
        "2024-12-15",
    ]


def test_period_starts():
    d = pd.Series(pd.to_datetime(["2024-02-15", "2024-02-18"]))  # Thursday, Sunday
    assert period_start(d, "week").dt.strftime("%Y-%m-%d").tolist() == ["2024-02-12", "2024-02-12"]
    assert period_start(d, "month").dt.strftime("%Y-%m-%d").tolist() == ["2024-02-01"] * 2
    with pytest.raises(ev.DataError, match="argument 'freq'"):
        period_start(d, "quarter")


@pytest.fixture
def records():
    return pd.DataFrame(
        {
            "ward": ["A", "A", "B", "A", "B"],
            "date": pd.to_datetime(
                ["2024-01-03", "2024-01-20", "2024-01-20", "2024-03-05", "2024-03-31"]
            ),
            "deaths": [0, 1, 0, 2, 0],
            "escalated": [False, True, False, True, False],
        }
    )


@pytest.mark.parametrize("freq,n_periods", [("month", 3), ("police", 4), ("week", 13)])
def test_aggregate_incidents_zero_fills_every_cell_and_preserves_totals(records, freq, n_periods):
    panel = aggregate_incidents(
        records,
        freq=freq,
        sums=["deaths"],
        flags=["escalated"],
        units=["A", "B", "C"],
        start="2024-01-01",
        end="2024-03-31",
    )
    assert len(panel) == 3 * n_periods  # ward C has no fire but every period is present
    assert not panel.duplicated(["ward", "period_start"]).any()
    assert (
        panel["incidents"].sum() == 5
        and panel["deaths"].sum() == 3
        and panel["escalated"].sum() == 2
    )
    assert panel.loc[panel["ward"] == "C", "incidents"].eq(0).all()
    assert (panel["period_end"] >= panel["period_start"]).all()


def test_monthly_cells_hold_the_right_counts(records):
    p = aggregate_incidents(
        records, freq="month", units=["A", "B"], start="2024-01-01", end="2024-03-31"
    )
    a = p[p["ward"] == "A"].set_index("period_start")["incidents"]
    assert a.tolist() == [2, 0, 1]
    assert p["period_end"].dt.strftime("%m-%d").tolist()[:3] == ["01-31", "02-29", "03-31"]


def test_police_period_cells(records):
    p = aggregate_incidents(
        records, freq="police", units=["A", "B"], start="2024-01-01", end="2024-03-31"
    )
    b = p[p["ward"] == "B"].set_index("period_start")["incidents"]
    # 2024-01-20 -> period from 2024-01-15; 2024-03-31 -> period from 2024-03-15
    assert b[pd.Timestamp("2024-01-15")] == 1 and b[pd.Timestamp("2024-03-15")] == 1
    assert b.sum() == 2


def test_records_outside_the_window_are_left_out_and_unknown_units_refused(records):
    p = aggregate_incidents(records, units=["A", "B"], start="2024-02-01", end="2024-03-31")
    assert p["incidents"].sum() == 2
    with pytest.raises(ev.DataError, match="not in 'units'"):
        aggregate_incidents(records, units=["A"])
    with pytest.raises(ev.DataError, match="'deathz'"):
        aggregate_incidents(records, sums=["deathz"])


def test_demo_fires_aggregate_to_the_records_total():
    fires = ev.load_demo("fires")
    wards = sorted(set(fires["ward"]))  # every ward the records name, old and new
    panel = aggregate_incidents(
        fires,
        freq="month",
        sums=["deaths", "loss_mvnd"],
        units=wards,
        start="2022-01-01",
        end="2025-12-31",
    )
    assert len(panel) == len(wards) * 48
    assert panel["incidents"].sum() == len(fires)
    assert panel["deaths"].sum() == fires["deaths"].sum()
    assert panel["loss_mvnd"].sum() == pytest.approx(fires["loss_mvnd"].sum())


def test_traffic_cell_means_ignore_missing_sensor_days():
    t = pd.DataFrame(
        {
            "junction_id": ["J1", "J1", "J2", "J2"],
            "ward": ["A"] * 4,
            "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-02"]),
            "peak": ["AM"] * 4,
            "congestion_minutes": [10.0, np.nan, 20.0, 30.0],
            "avg_speed_kmh": [20.0, np.nan, 18.0, 16.0],
        }
    )
    w = aggregate_traffic(t, freq="week")
    assert w["congestion_minutes"].item() == pytest.approx(20.0) and w["n_obs"].item() == 3
    j = aggregate_traffic(t, freq="week", level="junction")
    assert j.set_index("junction_id")["congestion_minutes"].to_dict() == {"J1": 10.0, "J2": 25.0}


def test_validate_panel_types_and_normalises():
    raw = pd.DataFrame(
        {
            "phuong": ["Co Nhue 2", "P. Xuân Đỉnh"],
            "ky": ["2024-01-01", "15/02/2024"],
            "so_vu": ["3", "0"],
        }
    )
    wards = ev.load_wards(Path(__file__).parents[1] / "data" / "demo")
    out = ev.validate_panel(raw, "phuong", "ky", counts=["so_vu"], wards=wards)
    assert out["phuong"].tolist() == ["Cổ Nhuế 2", "Xuân Đỉnh"]
    assert out["ward_code"].tolist() == ["00617", "00610"]  # read on each row's date
    # without the district's ward table names are only tidied, never guessed
    bare = ev.validate_panel(raw, "phuong", "ky", counts=["so_vu"])
    assert bare["phuong"].tolist() == ["Co Nhue 2", "P. Xuân Đỉnh"]
    assert out["ky"].dt.strftime("%Y-%m-%d").tolist() == ["2024-01-01", "2024-02-15"]
    assert out["so_vu"].dtype == "int64"
