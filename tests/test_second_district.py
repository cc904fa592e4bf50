"""A second district, end to end through the documented path (issue 8, "done when").

Its data are written by a generator other than the demo's (:mod:`evaluation.synthetic.scenarios`)
with another pilot ward, other waves in another order and month, other effects. As the README
tells a user: copy the monthly plan, point it at the data and the registry, run
``pilot-eval batch``. Then the pilot evaluated must be the registry's pilot, no ward or date
of the demo may appear in what the notebooks chose by themselves, and every headline verdict
must be right against the planted truth.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evaluation.analysis.outcomes import outcome_info
from evaluation.synthetic.scenarios import Scenario, write_district

ROOT = Path(__file__).resolve().parents[1]
DEMO_PILOT, DEMO_WAVE_A = "Cổ Nhuế 2", "2024-07-01"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    exe = Path(sys.executable).with_name("pilot-eval")
    if not exe.exists():
        pytest.skip("console script pilot-eval not installed in this environment")
    base = tmp_path_factory.mktemp("district2")
    data = base / "data"
    scenario = Scenario()
    truth = write_district(data, scenario, seed=2)
    plan = yaml.safe_load((ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8"))
    plan["data"] = str(data)
    plan["registry"] = str(truth.registry_path)
    plan["out"] = str(base / "out")
    plan["wards"] = list(
        dict.fromkeys([scenario.pilot_ward, DEMO_PILOT, scenario.waves[-1].wards[0]])
    )
    for nb in plan["notebooks"]:
        nb["notebook"] = str((ROOT / "params" / nb["notebook"]).resolve())
    path = base / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, allow_unicode=True), encoding="utf-8")
    proc = subprocess.run(
        [str(exe), "batch", str(path)], capture_output=True, text=True, timeout=1800, cwd=base
    )
    return scenario, truth, base / "out", proc


def _findings(out: Path) -> list[dict]:
    found = []
    for path in sorted((out / "results").glob("*.json")):
        found += json.loads(path.read_text(encoding="utf-8"))
    return found


def test_the_batch_runs_every_notebook(run):
    _, _, out, proc = run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {r["status"] for r in manifest["runs"]} == {"ok"}
    assert (out / "index.html").exists()


def test_the_pilot_is_the_registry_pilot_not_the_demo_default(run):
    scenario, _, out, _ = run
    pilot = [f for f in _findings(out) if f.get("level") == "pilot"]
    assert pilot and {f["ward"] for f in pilot} == {scenario.pilot_ward}
    assert scenario.pilot_ward != DEMO_PILOT
    head = next(f for f in pilot if f["role"] == "headline")
    assert head["window"][0] == str(scenario.pilot_start)[:10]


def test_no_demo_date_or_pilot_leaks_into_what_the_notebooks_chose(run):
    _, _, out, _ = run
    for f in _findings(out):
        if f.get("window"):
            assert DEMO_WAVE_A not in f["window"], f["finding_id"]
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "01/07/2024" not in index  # the demo's first wave


def test_every_headline_verdict_is_right_against_the_planted_truth(run):
    _, _, out, _ = run
    heads = {}
    for f in _findings(out):
        if f.get("role") == "headline" and f["estimate"] is not None:
            heads[f["finding_id"]] = f
    assert heads
    for fid, f in heads.items():
        t = f["truth"]
        assert t is not None, fid
        assert f["ci_low"] <= t <= f["ci_high"], (fid, f["ci_low"], t, f["ci_high"])
        lower_is_better = outcome_info(f["outcome"]).lower_is_better
        if f["verdict_category"] == "improved":
            assert (t < 0) == lower_is_better, fid  # the planted effect is an improvement
        assert f["verdict_category"] != "worsened", fid  # every planted effect improves


def test_copying_the_plan_keeps_the_outputs_of_other_runs(run, tmp_path):
    """Nothing lost: a single run into the batch folder adds or replaces only its own files."""
    scenario, truth, out, _ = run
    before = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    exe = Path(sys.executable).with_name("pilot-eval")
    target = tmp_path / "copy"
    shutil.copytree(out, target)
    proc = subprocess.run(
        [
            str(exe),
            "run",
            str(ROOT / "notebooks" / "ward_report.ipynb"),
            "-p",
            "ward",
            scenario.pilot_ward,
            "-p",
            "data_dir",
            str(truth.folder),
            "-p",
            "registry_path",
            str(truth.registry_path),
            "--out",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    after = {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
    if proc.returncode == 0:  # it added or replaced its own files only
        assert before <= after, sorted(before - after)[:10]
    else:  # or it refused, saying why, and left everything as it was
        assert "--out" in proc.stderr + proc.stdout and after == before
    assert not (target / ".pilot-eval.lock").exists()
