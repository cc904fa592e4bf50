"""``pilot-eval reproduce RUN_DIR`` (issue 15): a recorded run comes out the same, to the digit;
a changed input is named, with the findings it moved.

Small runs use a notebook written here that reads its data folder, so that a change to one
value of one table moves one finding and not the others. The demo runs use the real notebooks
on a copy of the demo data (the copy is what gets altered): one run is reproduced by the
command line under another ``PYTHONHASHSEED``, and one after a value of the security table
changed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

import evaluation
from evaluation.batch.plan import load_plan
from evaluation.batch.reproduce import (
    TOLERANCE,
    compare_findings,
    numbers_agree,
    reproduce,
)
from evaluation.batch.run import run_batch
from evaluation.cli import main
from evaluation.errors import BatchError

ROOT = Path(evaluation.__file__).resolve().parents[1]


# --------------------------------------------------------------------------------------------
# A small run whose findings are read from its data folder
# --------------------------------------------------------------------------------------------

_NOTEBOOK_CELLS = [
    ("parameters", "ward = None\ndata_dir = None\nresults_path = None"),
    (
        None,
        "import numpy as np\nimport pandas as pd\n"
        "from evaluation.analysis.record import record_findings\n"
        "table = pd.read_csv(f'{data_dir}/counts.csv')\n"
        "x = table.loc[table['ward'] == ward, 'value'].to_numpy(dtype=float)\n"
        "rng = np.random.default_rng(0)  # a seeded 'bootstrap': the same draws every run\n"
        "draws = rng.choice(x, size=(200, len(x))).mean(axis=1)\n"
        "record_findings(results_path, [{\n"
        "    'notebook': 'counts', 'ward': ward, 'programme': 'p', 'outcome': 'value',\n"
        "    'finding_id': f'p:value:{ward}', 'estimate': float(x.mean()),\n"
        "    'ci_low': float(np.quantile(draws, 0.025)),\n"
        "    'ci_high': float(np.quantile(draws, 0.975)), 'pvalue': 1 / len(x),\n"
        "    'method': 'mean', 'inference': 'bootstrap', 'verdict_vi': 'v',\n"
        "    'verdict_en': 'v', 'warnings': [],\n"
        "    'verdict_category': 'improved' if x.mean() < 10 else 'unclear'}])",
    ),
]


def _small_project(root: Path) -> Path:
    """notebooks/counts.ipynb, data/counts.csv and plan.yaml (two wards) under ``root``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    for tag, source in _NOTEBOOK_CELLS:
        cell = nbformat.v4.new_code_cell(source)
        if tag:
            cell.metadata["tags"] = [tag]
        nb.cells.append(cell)
    (root / "notebooks").mkdir(parents=True)
    nbformat.write(nb, root / "notebooks" / "counts.ipynb")
    (root / "data").mkdir()
    rows = [f"{w},{v}" for w in ("Cổ Nhuế 2", "Tây Tựu") for v in (4, 7, 9, 12, 5)]
    (root / "data" / "counts.csv").write_text("ward,value\n" + "\n".join(rows) + "\n", "utf-8")
    (root / "params").mkdir()
    plan = root / "params" / "plan.yaml"
    plan.write_text(
        "title: counts\ndata: ../data\nwards: [Cổ Nhuế 2, Tây Tựu]\n"
        "notebooks:\n  - ../notebooks/counts.ipynb\n",
        encoding="utf-8",
    )
    return plan


@pytest.fixture
def small_run(tmp_path):
    plan = _small_project(tmp_path / "district")
    out = tmp_path / "district" / "output"
    result = run_batch(load_plan(plan), out, workers=2)
    assert result.exit_code == 0, [r.get("error") for r in result.runs]
    return tmp_path / "district", out


def test_a_run_reproduces_with_zero_differences(small_run):
    _, out = small_run
    r = reproduce(out, workers=2)
    assert r.exit_code == 0
    assert r.differences == [] and r.inputs == []
    assert r.compared == 2 and r.n_inputs == 3  # the plan, counts.csv, the notebook
    assert r.rerun_status == {"ok": 2}
    assert "all reproduced" in r.report()


def test_a_changed_value_names_the_file_and_the_finding_it_moved(small_run):
    root, out = small_run
    data = root / "data" / "counts.csv"
    data.write_text(data.read_text("utf-8").replace("Tây Tựu,12", "Tây Tựu,13"), "utf-8")
    r = reproduce(out, workers=2)
    assert r.exit_code == 1
    assert [(m.what, Path(m.name).name) for m in r.inputs] == [("data", "counts.csv")]
    assert r.changed_findings == [("counts--tay-tuu", "p:value:Tây Tựu")]
    moved = {d.field for d in r.differences}
    assert "estimate" in moved and moved <= {"estimate", "ci_low", "ci_high"}
    estimate = next(d for d in r.differences if d.field == "estimate")
    assert estimate.recorded == pytest.approx(7.4) and estimate.rerun == pytest.approx(7.6)
    text = r.report()
    assert "counts.csv" in text and "p:value:Tây Tựu" in text and "NOT REPRODUCED" in text
    assert "p:value:Cổ Nhuế 2" not in text  # the other ward's finding did not move


def test_a_changed_notebook_and_plan_are_named(small_run):
    root, out = small_run
    nb = root / "notebooks" / "counts.ipynb"
    nb.write_text(nb.read_text("utf-8").replace("size=(200,", "size=(300,"), "utf-8")
    plan = root / "params" / "plan.yaml"
    plan.write_text(plan.read_text("utf-8") + "# a comment\n", "utf-8")
    r = reproduce(out, workers=2)
    assert {m.what for m in r.inputs} == {"notebook", "plan"}
    assert {d.field for d in r.differences} <= {"ci_low", "ci_high"}  # other bootstrap draws


def test_the_cli_exit_status_says_reproduced_or_not(small_run, capsys):
    root, out = small_run
    assert main(["reproduce", str(out), "--quiet", "--workers", "1"]) == 0
    assert "Reproduced / Tái lập được" in capsys.readouterr().out
    data = root / "data" / "counts.csv"
    data.write_text(data.read_text("utf-8").replace("Cổ Nhuế 2,4", "Cổ Nhuế 2,40"), "utf-8")
    assert main(["reproduce", str(out), "--quiet", "--workers", "1"]) == 1
    printed = capsys.readouterr().out
    assert "data changed" in printed and "counts.csv" in printed
    assert "verdict_category" in printed  # 40 moved the mean above 10: another verdict


def test_an_unusable_run_folder_exits_2(tmp_path, capsys):
    assert main(["reproduce", str(tmp_path)]) == 2
    assert "holds no manifest.json" in capsys.readouterr().err
    (tmp_path / "manifest.json").write_text(
        json.dumps({"status": "interrupted", "runs": []}), "utf-8"
    )
    with pytest.raises(BatchError, match="did not finish"):
        reproduce(tmp_path)


def test_a_moved_plan_folder_is_reported_not_guessed(small_run, tmp_path):
    root, out = small_run
    moved = tmp_path / "elsewhere"
    shutil.copytree(out, moved)  # the run folder without the district beside it
    with pytest.raises(BatchError, match="plan's folder '../params'"):
        reproduce(moved)


# --------------------------------------------------------------------------------------------
# Comparing numbers
# --------------------------------------------------------------------------------------------


def test_numbers_agree_within_the_stated_tolerance():
    assert numbers_agree(-6.3668915145359515, -6.3668915145359515)
    assert numbers_agree(0.1 + 0.2, 0.3)  # rounding noise
    assert numbers_agree(1e6, 1e6 * (1 + 1e-12))  # relative above 1
    assert not numbers_agree(1e6, 1e6 * (1 + 1e-6))
    assert not numbers_agree(0.0128, 0.0129)
    assert not numbers_agree(1e-12, 1e-6)  # absolute below 1: 1e-6 is a real change
    assert numbers_agree(None, None) and not numbers_agree(None, 0.0)
    assert numbers_agree(float("nan"), float("nan")) and not numbers_agree(float("nan"), 1.0)
    assert numbers_agree(float("-inf"), float("-inf"))
    assert not numbers_agree(float("inf"), float("-inf"))
    assert TOLERANCE == 1e-9


def test_findings_are_matched_by_id_then_by_position():
    a = {"r": [{"finding_id": "x", "estimate": 1.0}, {"estimate": 2.0}, {"estimate": 3.0}]}
    b = {"r": [{"estimate": 2.0}, {"estimate": 3.5}, {"finding_id": "x", "estimate": 1.0}]}
    diffs, compared = compare_findings(a, b)
    # without an id, a finding is its position: #2 and #3 on one side, #1 and #2 on the other
    assert compared == 2
    assert {(d.finding, d.field) for d in diffs} == {
        ("#2", "estimate"),
        ("#3", "finding"),
        ("#1", "finding"),
    }
    same, n = compare_findings(a, a)
    assert same == [] and n == 3
    gone, _ = compare_findings(a, {"r": None})
    assert [(d.finding, d.field, d.recorded, d.rerun) for d in gone] == [
        ("(run)", "run", "ran", "did not succeed")
    ]


# --------------------------------------------------------------------------------------------
# The demo
# --------------------------------------------------------------------------------------------


def _demo_project(root: Path, wards: list[str], notebooks: list[str] | None = None) -> Path:
    """A copy of the demo: notebooks, data, registry and the monthly plan for ``wards``."""
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    shutil.copytree(ROOT / "data" / "demo", root / "data" / "demo")
    (root / "params").mkdir()
    shutil.copy(ROOT / "params" / "pilots.yaml", root / "params" / "pilots.yaml")
    raw = yaml.safe_load((ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8"))
    raw["wards"] = wards
    if notebooks is not None:
        raw["notebooks"] = [n for n in raw["notebooks"] if Path(n["notebook"]).stem in notebooks]
    plan = root / "params" / "monthly.yaml"
    plan.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return plan


def _cli(*args: str, hash_seed: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    return subprocess.run(
        [sys.executable, "-m", "evaluation.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )


@pytest.mark.slow
def test_the_demo_reproduces_to_the_digit_under_another_hash_seed(tmp_path):
    """Every notebook of the monthly plan, two wards: recorded with PYTHONHASHSEED=0 (set orders,
    dict orders of str keys), reproduced with 4242 — nothing depends on a hash order."""
    plan = _demo_project(tmp_path / "district", ["Cổ Nhuế 2", "Tây Tựu"])
    out = tmp_path / "district" / "output"
    done = _cli("batch", str(plan), "--out", str(out), "-q", "--workers", "2", hash_seed="0")
    assert done.returncode == 0, done.stderr
    done = _cli("reproduce", str(out), "-q", "--workers", "2", hash_seed="4242")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all reproduced" in done.stdout
    assert re.search(r"Inputs: \d+ checked", done.stdout), done.stdout
    n = sum(len(json.loads(p.read_text("utf-8"))) for p in (out / "results").glob("*.json"))
    assert f"Findings: {n} compared" in done.stdout


@pytest.mark.slow
def test_an_altered_demo_table_names_the_file_and_the_findings_it_moved(tmp_path):
    """One security count changed (Cổ Nhuế 2, criminal cases of one police period): the table is
    named, and only security findings move."""
    plan = _demo_project(tmp_path / "district", ["Cổ Nhuế 2"], ["district_summary"])
    out = tmp_path / "district" / "output"
    assert run_batch(load_plan(plan), out, workers=2).exit_code == 0
    table = tmp_path / "district" / "data" / "demo" / "antt_period.csv"
    lines = table.read_text("utf-8").splitlines()
    head = lines[0].split(",")
    at = next(i for i, line in enumerate(lines) if line.startswith("Cổ Nhuế 2,2024-06-15,"))
    row = lines[at].split(",")
    row[head.index("criminal_cases")] = str(int(row[head.index("criminal_cases")]) + 9)
    lines[at] = ",".join(row)
    table.write_text("\n".join(lines) + "\n", "utf-8")

    r = reproduce(out, workers=2)
    assert r.exit_code == 1
    assert [(m.what, Path(m.name).name) for m in r.inputs] == [("data", "antt_period.csv")]
    changed = [f for _, f in r.changed_findings]
    assert changed, "a changed count must move a finding"
    registry = yaml.safe_load((ROOT / "params" / "pilots.yaml").read_text(encoding="utf-8"))
    security = {k for k, p in registry["programmes"].items() if p["domain"] == "security"}
    assert all(f.split(":")[0] in security for f in changed), changed
    text = r.report()
    assert "antt_period.csv" in text and all(f in text for f in changed)
