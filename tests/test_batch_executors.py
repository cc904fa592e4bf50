"""The executor's own pieces: papermill-compatible parameter injection, and no orphans."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

import nbformat
import pytest

from evaluation.batch import load_plan, run_batch
from evaluation.executors import inject_parameters, read_notebook

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"

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


def test_injection_matches_papermill():
    """Same place, tag and metadata as papermill's parameterize_notebook; same values."""
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    ours = read_notebook(WARD_NB)
    inject_parameters(ours, PARAMETERS)
    theirs = load_notebook_node(str(WARD_NB))
    theirs = parameterize_notebook(theirs, PARAMETERS, kernel_name="python3", language="python")

    def position(nb):
        return [
            i
            for i, c in enumerate(nb["cells"])
            if "injected-parameters" in c["metadata"].get("tags", [])
        ]

    assert position(ours) == position(theirs) == [2]
    assert ours["metadata"]["papermill"]["parameters"] == theirs.metadata.papermill.parameters
    a, b = ours["cells"][2]["source"], theirs.cells[2].source
    assert _values(a) == _values(b) == PARAMETERS
    assert "ward = 'Cổ Nhuế 2'" in a and "C\\u1ed5" in b  # ours stays readable
    nbformat.validate(nbformat.from_dict(ours))


def test_injection_replaces_an_earlier_injected_cell():
    nb = read_notebook(WARD_NB)
    inject_parameters(nb, {"ward": "Tây Tựu"})
    n = len(nb["cells"])
    again = copy.deepcopy(nb)
    inject_parameters(again, {"ward": "Liên Mạc"})
    assert len(again["cells"]) == n
    assert _values(again["cells"][2]["source"]) == {"ward": "Liên Mạc"}


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
