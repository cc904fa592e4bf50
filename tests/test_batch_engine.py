"""The ``pilot-eval`` papermill engine: registered through papermill's entry point, runs a
notebook in-process (no kernel) with papermill's own bookkeeping, and stops where papermill's
default engine stops."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest
from papermill.engines import papermill_engines
from papermill.exceptions import PapermillExecutionError

from evaluation.batch.engine import ENGINE_NAME, CellTimeout, PilotEvalEngine

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"
PAPERMILL = Path(sys.executable).parent / "papermill"


def test_entry_point_is_installed_and_papermill_finds_the_engine():
    names = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="papermill.engine")}
    assert names.get(ENGINE_NAME) == "evaluation.batch.engine:PilotEvalEngine"
    assert papermill_engines.get_engine(ENGINE_NAME) is PilotEvalEngine


def test_importing_the_engine_before_papermill_is_not_circular():
    """papermill loads the engine module while it is itself being imported."""
    code = (
        "import evaluation.batch.engine as e, papermill\n"
        "from papermill.engines import papermill_engines as r\n"
        "assert r.get_engine('pilot-eval') is e.PilotEvalEngine\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def _executed(nb: nbformat.NotebookNode) -> list:
    return [c for c in nb.cells if c.cell_type == "code" and c.execution_count is not None]


def test_runs_a_notebook_in_process_with_papermill_metadata(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # papermill's cwd= must be where relative paths start
    out = tmp_path / "out.ipynb"
    nb = papermill.execute_notebook(
        str(WARD_NB),
        str(out),
        parameters={"ward": "00617", "effect": -3.0},
        engine_name=ENGINE_NAME,
        progress_bar=False,
        cwd=str(FIXTURES),
    )
    saved = nbformat.read(out, as_version=4)
    nbformat.validate(saved)
    code = [c for c in saved.cells if c.cell_type == "code"]
    assert len(_executed(saved)) == len(code)  # every code cell ran
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert all(c.metadata.papermill.status == "completed" for c in saved.cells)
    assert saved.metadata.papermill.exception is None and saved.metadata.papermill.duration > 0
    outputs = [o for c in code for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # inline figure
    assert any(o.output_type == "stream" and "Phường 00617" in o.text for o in outputs)
    assert not any(o.output_type == "error" for o in outputs)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.tags)
    assert "ward = '00617'" in injected.source  # text stays text, readable
    assert str(FIXTURES) not in sys.path  # the notebook's folder was importable only meanwhile


def test_a_failing_cell_stops_the_notebook_as_papermill_does(tmp_path):
    out = tmp_path / "out.ipynb"
    with pytest.raises(PapermillExecutionError) as err:
        papermill.execute_notebook(
            str(WARD_NB),
            str(out),
            parameters={"ward": "Tây Tựu", "fail_wards": ["Tây Tựu"]},
            engine_name=ENGINE_NAME,
            progress_bar=False,
            cwd=str(FIXTURES),
        )
    assert err.value.ename == "RuntimeError" and "planted failure" in err.value.evalue
    saved = nbformat.read(out, as_version=4)
    failed = [c for c in saved.cells if c.metadata.get("papermill", {}).get("status") == "failed"]
    assert len(failed) == 1 and "raise RuntimeError" in failed[0].source
    later = saved.cells[saved.cells.index(failed[0]) + 1 :]
    assert all(c.get("execution_count") is None for c in later if c.cell_type == "code")


def test_execution_timeout_stops_the_cell_and_says_so(tmp_path):
    nb = nbformat.read(WARD_NB, as_version=4)
    with pytest.raises(CellTimeout) as err:
        papermill.execute_notebook(
            nb,
            None,
            parameters={"ward": "Liên Mạc", "slow_wards": ["Liên Mạc"], "sleep": 30.0},
            engine_name=ENGINE_NAME,
            progress_bar=False,
            cwd=str(FIXTURES),
            execution_timeout=1,
        )
    assert "execution timeout of 1 s in this cell" in str(err.value)
    slow = next(i for i, c in enumerate(nb.cells) if "time.sleep(sleep)" in c.source)
    assert err.value.cell_index == slow + 1  # after papermill's injected cell


def test_refuses_a_notebook_in_another_language():
    nb = nbformat.v4.new_notebook(
        metadata={"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}
    )
    nb.cells = [nbformat.v4.new_code_cell("1 + 1")]
    with pytest.raises(ValueError, match="Python notebooks only"):
        papermill.execute_notebook(nb, None, engine_name=ENGINE_NAME, progress_bar=False)


@pytest.mark.slow
def test_papermill_command_runs_the_ward_report_with_the_pilot_eval_engine(tmp_path):
    """`papermill --engine pilot-eval` as a user types it, from notebooks/ so the notebook's default
    relative data paths work: every cell runs, no error, and no Jupyter kernel is started."""
    if not PAPERMILL.exists():
        pytest.skip(f"papermill command not found beside {sys.executable}")
    out = tmp_path / "ward_report.ipynb"
    proc = subprocess.run(
        [
            str(PAPERMILL),
            "--engine",
            ENGINE_NAME,
            "ward_report.ipynb",
            str(out),
            "-p",
            "ward",
            "Cổ Nhuế 2",
            "--no-progress-bar",
        ],
        cwd=ROOT / "notebooks",
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    nb = json.loads(out.read_text(encoding="utf-8"))
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(c["execution_count"] is not None for c in code)
    errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
    assert not errors, errors[0]["evalue"] if errors else ""
    assert any(o.get("data", {}).get("image/png") for c in code for o in c["outputs"])
    assert nb["metadata"]["papermill"]["parameters"] == {"ward": "Cổ Nhuế 2"}
    # every cell, markdown included, is marked as papermill's own engine marks it
    assert {c["metadata"]["papermill"]["status"] for c in nb["cells"]} == {"completed"}
    assert "kernel" not in proc.stderr.lower()  # papermill logs "Executing notebook with kernel"


def test_the_batch_process_itself_does_not_import_papermill():
    """papermill costs ~1.5 s of imports: the warm server pays it once, before it forks the
    runs; the batch's own process (plan, manifest, index) must not pay it too."""
    code = (
        "import sys\n"
        "import evaluation.cli, evaluation.batch.run\n"
        "assert 'papermill' not in sys.modules and 'nbformat' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_warm_server_skips_the_slow_iri_grammar_but_leaves_it_importable():
    """jsonschema imports rfc3987_syntax (a lark grammar built at import, ~2 s) only for a format
    checker nbformat never uses: the warm server keeps it out of its imports, validates notebooks
    all the same, and a notebook that imports it itself still gets it."""
    pytest.importorskip("rfc3987_syntax")
    code = (
        "import sys\n"
        "from evaluation.batch.forkserver import BASE_PRELOAD, warm\n"
        "assert warm(BASE_PRELOAD) == {}\n"
        "assert 'papermill' in sys.modules and 'rfc3987_syntax' not in sys.modules\n"
        "import nbformat\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('1')])\n"
        "nbformat.validate(nb)\n"
        "try:\n"
        "    nbformat.validate({'cells': 1})\n"
        "    raise SystemExit('an invalid notebook passed validation')\n"
        "except nbformat.ValidationError:\n"
        "    pass\n"
        "import rfc3987_syntax\n"
        "assert rfc3987_syntax.is_valid_syntax('iri', 'http://example.org/ổ')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
