"""Data across the 1 July 2025 reorganisation, a district's own ward table at work, and
problems found once, before any run.

* The demo records its rows from 1 July 2025 under the new wards, as police and fire records
  are kept; re-recording them under the old wards (same draws) must not move any traffic
  finding, and the count findings say how their window ends;
* ``pilot-eval validate`` reads names by date and reports the change;
* a ward without population, or rows under a ward that no longer existed, stop a batch once,
  before any run, naming the ward;
* ``pilot-eval init`` writes a plan that finds the workbench's notebooks wherever it lies.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluation.analysis.district import load_district
from evaluation.analysis.evaluate import district_findings
from evaluation.batch.plan import load_plan
from evaluation.data import validate
from evaluation.synthetic.demo import write_demo

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"
REGISTRY = ROOT / "params" / "pilots.yaml"


def _pilot_eval() -> Path:
    exe = Path(sys.executable).with_name("pilot-eval")
    if not exe.exists():
        pytest.skip("console script pilot-eval not installed in this environment")
    return exe


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    """The demo as committed (new wards from 1 July 2025) and the same draws recorded under
    the old wards throughout, each analysed."""
    old = tmp_path_factory.mktemp("old-wards")
    write_demo(old / "demo", registry=old / "pilots.yaml", readme=old / "README.md", recorded="old")
    a = district_findings(load_district(DEMO, REGISTRY))
    b = district_findings(load_district(old / "demo", old / "pilots.yaml"))
    return {f.id: f for f in a}, {f.id: f for f in b}


@pytest.mark.slow
def test_renaming_the_rows_after_the_reorganisation_moves_no_traffic_finding(both):
    new, old = both
    traffic = [k for k in new if k.startswith("traffic_model:congestion") or ":avg_speed" in k]
    assert len(traffic) > 20
    for k in traffic:
        assert new[k].shown == old[k].shown, k
    pilot = new["traffic_model:congestion_minutes:pilot"]
    assert pilot.has_number and pilot.window[1] < pd.Timestamp("2025-07-01")


@pytest.mark.slow
def test_count_findings_end_at_the_change_and_say_so(both):
    new, _ = both
    fires = new["fire_point:fires:district"]
    assert fires.window[1] <= pd.Timestamp("2025-06-30")
    notes = " ".join(fires.notes_vi)
    assert "phân tích dừng ở 30/06/2025" in notes and "theo dân số" in notes
    roll = new["traffic_model:congestion_minutes:district"]
    assert any("theo vị trí nút giao" in n for n in roll.notes_vi)  # traffic: exact


def test_validate_reads_names_by_date_and_reports_the_change(capsys):
    files = sorted(str(p) for p in DEMO.glob("*.csv")) + sorted(
        str(p) for p in DEMO.glob("*.parquet")
    )
    assert validate.main(files + [str(REGISTRY)]) == 0
    out = capsys.readouterr().out
    assert "reorganisation 01/07/2025: 18 ward(s) end" in out and "8 begin" in out
    line = next(x for x in out.splitlines() if "fire_incidents.csv" in x)
    assert "rows under the 18 wards valid … – 30/06/2025" in line
    assert "rows under the 8 wards valid 01/07/2025 – …" in line


def test_a_row_under_a_ward_that_no_longer_existed_is_named(tmp_path, capsys):
    shutil.copy(DEMO / "wards.csv", tmp_path / "wards.csv")
    shutil.copy(DEMO / "crosswalk.csv", tmp_path / "crosswalk.csv")
    fires = pd.read_csv(DEMO / "fire_incidents.csv", dtype=str)
    late = fires["date"] >= "2025-08-01"
    fires.loc[late.idxmax(), "ward"] = "Cổ Nhuế 2"  # the old pilot ward, gone since July
    fires.to_csv(tmp_path / "fire_incidents.csv", index=False)
    assert validate.main([str(tmp_path / "fire_incidents.csv")]) == 2
    out = capsys.readouterr().out
    assert "'Cổ Nhuế 2' on" in out and "no ward of that name existed then" in out
    assert "successor in the ward table" in out


def _copy_demo(tmp_path: Path) -> tuple[Path, Path]:
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        (ROOT / "params" / "monthly.yaml")
        .read_text(encoding="utf-8")
        .replace("data: ../data/demo", "data: data")
        .replace("registry: pilots.yaml", f"registry: {REGISTRY}")
        .replace("out: ../output", "out: out"),
        encoding="utf-8",
    )
    return data, plan


def test_a_ward_without_population_stops_the_batch_once_before_any_run(tmp_path):
    data, plan = _copy_demo(tmp_path)
    wards = pd.read_csv(data / "wards.csv", dtype=str, keep_default_na=False)
    wards.loc[wards["ward"] == "Xuân Tảo", "population"] = ""
    wards.to_csv(data / "wards.csv", index=False)
    proc = subprocess.run(
        [str(_pilot_eval()), "batch", str(plan)], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "the batch cannot start" in proc.stderr and "'Xuân Tảo'" in proc.stderr
    assert "population" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "out" / "manifest.json").exists()  # no run was started


def test_a_copied_plan_finds_the_workbench_notebooks(tmp_path):
    _, plan = _copy_demo(tmp_path)
    loaded = load_plan(plan)
    assert [nb.path.parent for nb in loaded.notebooks] == [ROOT / "notebooks"] * 5
    assert len([r for r in loaded.runs() if r.ward]) == 13  # wards: all — the district's own


def test_init_writes_a_plan_a_registry_and_a_ward_table_from_the_data(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("fire_incidents.csv", "electrical_incidents_monthly.csv", "antt_period.csv"):
        shutil.copy(DEMO / name, data / name)
    target = tmp_path / "district"
    proc = subprocess.run(
        [str(_pilot_eval()), "init", str(target), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    wards = pd.read_csv(target / "wards.csv", dtype=str, keep_default_na=False)
    # every name the data use, old wards and the new wards of 2025 alike, once
    assert {"Cổ Nhuế 2", "Mai Dịch", "Đông Ngạc"} <= set(wards["ward"])
    assert wards["ward"].is_unique and (wards["population"] == "").all()
    assert "wards.csv" in proc.stdout and "population" in proc.stdout
    plan = load_plan(target / "plan.yaml")
    assert all(nb.path.exists() for nb in plan.notebooks)
    again = subprocess.run(
        [str(_pilot_eval()), "init", str(target), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert again.returncode == 2 and "never overwrites" in again.stderr
