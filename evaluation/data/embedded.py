"""Loading the embedded demo data set (``data/demo/``) and its planted truth.

The demo folder is found next to the package (a source checkout, as set up by ``make``), or
wherever the environment variable ``PILOT_EVAL_DEMO`` points.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import pandas as pd

from evaluation.data.io import read_table
from evaluation.data.panels import period_start, validate_table
from evaluation.data.schema import SCHEMAS
from evaluation.data.wards import load_wards
from evaluation.errors import DataError

__all__ = ["demo_folder", "load_demo", "demo_truth", "traffic_truth", "DEMO_TABLES"]

DEMO_TABLES = {
    "traffic": "traffic_peak",
    "fires": "fire_incident",
    "electrical": "electrical_incident_monthly",
    "antt": "antt_period",
    "junctions": "junction",
}
_FILES = {
    "fires": ["fire_incidents.csv"],
    "electrical": ["electrical_incidents_monthly.csv"],
    "antt": ["antt_period.csv"],
    "junctions": ["junctions.csv"],
    "traffic": [
        "traffic_peak_2023.parquet",
        "traffic_peak_2024.parquet",
        "traffic_peak_2025.parquet",
    ],
}


def demo_folder() -> Path:
    """The folder holding the demo tables."""
    env = os.environ.get("PILOT_EVAL_DEMO")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "data" / "demo"
    if not folder.is_dir():
        raise DataError(
            f"demo data folder {folder} not found — run from a source checkout (make setup) or "
            "set PILOT_EVAL_DEMO to the folder holding the demo tables"
        )
    return folder


@lru_cache(maxsize=8)
def _load(name: str, folder: str) -> pd.DataFrame:
    parts = [
        read_table(Path(folder) / f, dtype={"ward_code": str} if name == "junctions" else None)
        for f in _FILES[name]
    ]
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    wards = load_wards(folder) if (Path(folder) / "wards.csv").exists() else None
    return validate_table(
        df, SCHEMAS[DEMO_TABLES[name]], source=f"demo/{_FILES[name][0]}", wards=wards
    )


def load_demo(name: str) -> pd.DataFrame:
    """One demo table, validated and typed against the demo's ward table (names read on each
    row's date, ``ward_code`` added): ``traffic``, ``fires``, ``electrical``, ``antt`` or
    ``junctions``. See ``data/README.md`` for the columns."""
    if name not in _FILES:
        raise DataError(f"load_demo: no demo table {name!r}; choose one of {', '.join(_FILES)}")
    return _load(name, str(demo_folder())).copy()


def demo_truth() -> dict:
    """The planted truth (``data/demo/truth.yaml``) as a dictionary."""
    import yaml

    return yaml.safe_load((demo_folder() / "truth.yaml").read_text(encoding="utf-8"))


def traffic_truth(
    freq: str = "week", outcome: str = "congestion", folder: str | Path | None = None
) -> pd.DataFrame:
    """True effect of the traffic programmes per ward × period, from the simulated outcomes.

    For each cell: the mean observed value over its junction-peaks, the mean counterfactual
    (no programme anywhere) over the same junction-peaks, and their difference — the cell's
    realised effect, as the cell means of :func:`~evaluation.data.panels.aggregate_traffic`
    would show it. ``outcome`` is ``"congestion"`` (minutes) or ``"speed"`` (km/h).
    ``folder`` is the demo data folder (default: :func:`demo_folder`).
    """
    if outcome not in ("congestion", "speed"):
        raise DataError(f"traffic_truth: outcome must be 'congestion' or 'speed', not {outcome!r}")
    base = Path(folder) if folder is not None else demo_folder()
    t = read_table(base / "truth" / "traffic_daily.parquet")
    t["period_start"] = period_start(t["date"], freq).to_numpy()
    g = (
        t.groupby(["ward", "period_start"], sort=True)
        .agg(
            n_obs=("n_obs", "sum"),
            y=(f"{outcome}_sum", "sum"),
            y0=(f"{outcome}0_sum", "sum"),
            direct=("direct", "mean"),
            spillover=("spillover", "mean"),
            anticipation=("anticipation", "mean"),
        )
        .reset_index()
    )
    g = g[g["n_obs"] > 0].copy()
    g["observed"] = g["y"] / g["n_obs"]
    g["counterfactual"] = g["y0"] / g["n_obs"]
    g["effect"] = g["observed"] - g["counterfactual"]
    return g.drop(columns=["y", "y0"])
