"""The executor's own pieces: papermill's parameter injection, thread limits, and no orphans."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import nbformat
import papermill
import pytest

from evaluation.batch.engine import ENGINE_NAME
from evaluation.batch.plan import load_plan
from evaluation.batch.run import run_batch

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"
DISTRICT_NB = FIXTURES / "district_fixture.ipynb"

PARAMETERS = {
    "ward": "Cổ Nhuế 2",
    "label": "00617",
    "effect": -3.0,
    "fail_wards": ["Tây Tựu", "00617"],
    "gate": None,
    "ignore_alarm": True,
    "quote": 'a "quoted" \\ back\nslash',
}


def _values(source: str) -> dict:
    namespace: dict = {}
    exec(source, namespace)
    namespace.pop("__builtins__")
    return namespace


def _prepared(path: Path, parameters: dict, engine_name: str | None) -> nbformat.NotebookNode:
    return papermill.execute_notebook(
        str(path),
        None,
        parameters=parameters,
        engine_name=engine_name,
        kernel_name=None if engine_name else "python3",
        prepare_only=True,
        progress_bar=False,
    )


def _injected(nb) -> list[int]:
    return [
        i for i, c in enumerate(nb.cells) if "injected-parameters" in c.metadata.get("tags", [])
    ]


def test_parameters_are_injected_by_papermill_readably_under_the_pilot_eval_engine():
    """papermill's own injection (cell, place, metadata); under --engine pilot-eval text is written
    with repr, so the executed notebook reads ward = 'Cổ Nhuế 2' — same values as papermill's
    default translator, and "00617" stays text."""
    ours = _prepared(WARD_NB, PARAMETERS, ENGINE_NAME)
    theirs = _prepared(WARD_NB, PARAMETERS, None)
    assert _injected(ours) == _injected(theirs) == [2]
    assert ours.metadata.papermill.parameters == theirs.metadata.papermill.parameters
    a, b = ours.cells[2].source, theirs.cells[2].source
    assert _values(a) == _values(b) == PARAMETERS
    assert "ward = 'Cổ Nhuế 2'" in a and "label = '00617'" in a  # ours stays readable
    assert "C\\u1ed5" in b  # papermill's default for a kernel: escaped
    nbformat.validate(ours)


def test_injection_replaces_an_earlier_injected_cell(tmp_path):
    first = _prepared(WARD_NB, {"ward": "Tây Tựu"}, ENGINE_NAME)
    path = tmp_path / "once.ipynb"
    nbformat.write(first, path)
    again = _prepared(path, {"ward": "Liên Mạc"}, ENGINE_NAME)
    assert len(again.cells) == len(first.cells)
    assert _injected(again) == [2]
    assert _values(again.cells[2].source) == {"ward": "Liên Mạc"}


def test_each_run_limits_its_blas_threads_to_its_share_of_the_cores(tmp_path):
    """No OMP_NUM_THREADS needed: a worker's BLAS pool has cores // workers threads."""
    pytest.importorskip("threadpoolctl")
    nb = json.loads(DISTRICT_NB.read_text(encoding="utf-8"))
    nb["cells"].append(
        nbformat.v4.new_code_cell(
            "import json, os\nfrom threadpoolctl import threadpool_info\n"
            "blas = [p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas']\n"
            "with open(os.path.join(os.path.dirname(results_path), '..', 'threads.json'), 'w')"
            " as fh:\n    json.dump({'blas': blas, 'omp': os.environ.get('OMP_NUM_THREADS')}, fh)"
        )
    )
    path = tmp_path / "threads.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text(f"notebooks: [{path}]\n", encoding="utf-8")
    result = run_batch(load_plan(plan), tmp_path / "out", workers=1)
    assert result.exit_code == 0, result.runs[0]["error"]
    seen = json.loads((tmp_path / "out" / "threads.json").read_text(encoding="utf-8"))
    cores = len(os.sched_getaffinity(0))
    assert seen["blas"] and set(seen["blas"]) == {cores}  # one worker: every core
    assert seen["omp"] == str(cores)  # for pools started later, and kernels
    result = run_batch(load_plan(plan), tmp_path / "out", workers=cores)
    seen = json.loads((tmp_path / "out" / "threads.json").read_text(encoding="utf-8"))
    assert set(seen["blas"]) == {1} and seen["omp"] == "1"


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie is dead, only not yet reaped


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")
def test_processes_a_run_starts_do_not_outlive_it(tmp_path):
    pid_file = tmp_path / "child.pid"
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        f"wards: [Cổ Nhuế 2]\nnotebooks:\n  - notebook: {WARD_NB}\n"
        f"    parameters: {{spawn_file: {json.dumps(str(pid_file))}}}\n",
        encoding="utf-8",
    )
    result = run_batch(load_plan(plan), tmp_path / "out")
    assert result.exit_code == 0
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the `sleep 60` started by the notebook outlived its run"
