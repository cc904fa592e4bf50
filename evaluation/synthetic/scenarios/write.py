"""Writing a generated district: the tables, the registry, the data notes and the truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.errors import DataError
from evaluation.synthetic.files import (
    commented_yaml,
    data_notes_yaml,
    dates_in_microseconds,
    registry_yaml,
)
from evaluation.synthetic.scenarios.scenario import Scenario, _date
from evaluation.synthetic.scenarios.simulate import (
    _simulate_electrical,
    _simulate_fires,
    _simulate_security,
    _simulate_traffic,
    _ward_table,
)
from evaluation.synthetic.scenarios.truth import Truth

_TRAFFIC_FILE = "traffic_peak"
_TABLE_GLOBS = (
    "traffic_peak*",
    "fire_incidents*",
    "electrical_incidents_monthly*",
    "antt_period.*",
)

# --------------------------------------------------------------------------------------------
# writing


_LABELS = {
    "traffic_model": (
        "Mô hình “Giao thông an toàn, thông suốt”",
        "Safe and smooth traffic model",
        "traffic",
        ["congestion_minutes", "avg_speed_kmh", "traffic_accidents"],
    ),
    "fire_point": (
        "Điểm chữa cháy công cộng",
        "Public fire-fighting points",
        "fire",
        ["fires", "escalated", "deaths", "loss_mvnd"],
    ),
    "camera": (
        "Mô hình “Camera an ninh”",
        "Community security cameras",
        "security",
        ["solved_share", "theft_cases"],
    ),
    "common": (
        "Tổng kiểm tra PCCC nhà trọ, chung cư mini trên toàn quận",
        "District-wide fire-safety checks of rental housing",
        "fire",
        ["fires"],
    ),
}


def _registry_yaml(s: Scenario, seed: int) -> str:
    """The pilot registry (format of ``params/pilots.yaml``)."""
    ids = ["traffic_model", "fire_point", "camera"] + [s.common_programme] * (
        s.common_programme is not None
    )
    programmes = {}
    for pid in ids:
        vi, en, domain, outcomes = _LABELS.get(pid, _LABELS["common"])
        programmes[pid] = {"name_vi": vi, "name_en": en, "domain": domain, "outcomes": outcomes}
    if s.common_programme is not None:
        programmes[s.common_programme]["note"] = (
            "Started in every ward on one day: no control group, not identifiable by DiD."
        )
    interim = s.interim_review or _date(pd.Timestamp(s.pilot_start) + pd.DateOffset(months=3))
    pilots = []
    for ward, start in s.traffic_starts().items():
        entry = {"ward": ward, "programme": "traffic_model", "start": _date(start)}
        entry["wave"] = s.wave_of(ward)
        if entry["wave"] == "pilot":
            entry["interim_review"] = interim
        if s.final_review is not None:
            entry["final_review"] = s.final_review
        pilots.append(entry)
    pilots += [{"ward": w, "programme": "fire_point", "start": d} for w, d, _ in s.fire_points]
    pilots += [{"ward": w, "programme": "camera", "start": d} for w, d in s.camera_starts]
    if s.common_programme is not None:
        pilots += [
            {"ward": w, "programme": s.common_programme, "start": s.common_start}
            for w in s.universe.names
        ]
    header = (
        f"Pilot registry of a SIMULATED district (evaluation.synthetic.scenarios, seed {seed}).\n"
        "Not real data: the planted truth is in truth.yaml beside the tables."
    )
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return registry_yaml(programmes, pilots, header=comments)


def _notes_yaml(s: Scenario) -> str:
    """``data_notes.yaml``: data-quality events the analysis must take into account."""
    changes = []
    if s.recording_change is not None:
        d = s.recording_change
        shown = pd.Timestamp(d).strftime("%d/%m/%Y")  # as a reader writes a date, not ISO
        changes.append(
            {
                "table": "fires",
                "date": d,
                "vi": f"Từ ngày {shown}, thống kê cháy tính thêm cả các vụ cháy nhỏ do công an "
                "phường xử lý (thay đổi cách thống kê, áp dụng ở mọi phường).",
                "en": f"From {shown}, fire statistics also count small fires handled by ward police "
                "(a change in recording, in every ward).",
            }
        )
    return data_notes_yaml(changes, header="# Data-quality events (simulated district).\n")


def _check_folder(folder: Path, ours: set[str]) -> None:
    """Refuse a folder holding other tables that the analysis would read along with ours."""
    if not folder.exists():
        return
    strays = sorted(
        p.name for g in _TABLE_GLOBS for p in folder.glob(g) if p.is_file() and p.name not in ours
    )
    if strays:
        raise DataError(
            f"write_district: {folder} already holds {', '.join(strays)}, which would be read "
            "together with the simulated tables — write to an empty folder"
        )


def write_district(
    folder: str | Path,
    scenario: Scenario | None = None,
    seed: int = 0,
    *,
    registry: str | Path | None = None,
    traffic_format: str = "parquet",
) -> Truth:
    """Simulate a district from ``(scenario, seed)`` and write it as a data folder.

    Files (the documented input format, ``data/README.md``; each table passes
    ``pilot-eval validate``): the ward table ``wards.csv`` (and ``adjacency.csv``) of the
    scenario's :class:`~evaluation.synthetic.scenarios.universe.Universe`, ``junctions.csv``, ``traffic_peak.parquet`` (or ``.csv``),
    ``fire_incidents.csv``, ``electrical_incidents_monthly.csv``, ``antt_period.csv``; the
    pilot registry (``registry``, default ``FOLDER/pilots.yaml``); ``data_notes.yaml``
    (``recording_changes``); and the truth: ``truth/traffic_daily.parquet``,
    ``truth/fire_monthly.csv``, ``truth/antt_period.csv`` (the demo's formats) and
    ``truth.yaml``. Files of the same names are replaced.

    Parameters
    ----------
    folder
        Output folder (created); it must not hold other traffic, fire, electrical or ANTT
        tables, which the analysis would read along with these.
    scenario
        The truth to plant (default: :class:`Scenario`'s defaults).
    seed
        Seed of the noise: the same scenario and seed write the same files.
    registry
        Where to write the pilot registry.
    traffic_format
        ``"parquet"`` or ``"csv"``.

    Returns
    -------
    Truth
        The planted parameters, the files and the true-effect helpers.
    """
    if traffic_format not in ("parquet", "csv"):
        raise DataError(
            f"write_district: traffic_format must be 'parquet' or 'csv', not {traffic_format!r}"
        )
    s = scenario if scenario is not None else Scenario()
    folder = Path(folder)
    registry_path = Path(registry) if registry is not None else folder / "pilots.yaml"
    tables = {
        "junctions.csv": None,
        f"{_TRAFFIC_FILE}.{traffic_format}": None,
        "fire_incidents.csv": None,
        "electrical_incidents_monthly.csv": None,
        "antt_period.csv": None,
    }
    _check_folder(folder, set(tables))
    W = _ward_table(s)
    rngs = [np.random.default_rng(x) for x in np.random.SeedSequence(seed).spawn(4)]
    junctions, traffic, traffic_truth = _simulate_traffic(s, W, rngs[0])
    fires, fire_truth, fire_daily = _simulate_fires(s, W, rngs[1])
    antt, antt_truth = _simulate_security(s, W, rngs[3])
    tables.update(
        {
            "junctions.csv": junctions,
            f"{_TRAFFIC_FILE}.{traffic_format}": traffic,
            "fire_incidents.csv": fires,
            "electrical_incidents_monthly.csv": _simulate_electrical(s, W, rngs[2]),
            "antt_period.csv": antt,
            "truth/traffic_daily.parquet": traffic_truth,
            "truth/fire_monthly.csv": fire_truth,
            "truth/antt_period.csv": antt_truth,
            # the district's own ward table: what every analysis reads its wards from
            "wards.csv": s.universe.wards_csv(),
        }
    )
    if s.universe.adjacency:
        tables["adjacency.csv"] = s.universe.adjacency_csv()
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = folder / name
        if name.endswith(".parquet"):
            dates_in_microseconds(df).to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")
        written.append(path)
    truth = Truth(s, seed, folder, registry_path, (), traffic_truth, fire_daily, antt_truth)
    texts = {
        registry_path: _registry_yaml(s, seed),
        folder / "data_notes.yaml": _notes_yaml(s),
        folder / "truth.yaml": commented_yaml(
            truth.to_dict(),
            "Planted truth of a SIMULATED district (evaluation.synthetic.scenarios).\n"
            "Scenario under `scenario`; realised effects from the simulated outcomes.",
        ),
    }
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    truth.files = tuple(written)
    return truth
