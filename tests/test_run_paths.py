"""No machine path anywhere a reader looks (issue 15): a run folder names files relative to
itself, to the plan's folder or to the checkout, and keeps a failed run's whole traceback in
``logs/ID.log``.

The demo run is the real monthly plan (``params/monthly.yaml``, from the checkout's own
``params/`` folder) for two wards: every file it writes — pages, executed notebooks, results,
tables, the manifest — is searched for the checkout's absolute path, and the manifest for the
run folder's own.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

import nbformat
import pytest
import yaml

import evaluation
from evaluation.batch.paths import CHECKOUT, Redactor, locate, resolve_located
from evaluation.batch.plan import load_plan, plan_from_dict
from evaluation.batch.run import run_batch

ROOT = Path(evaluation.__file__).resolve().parents[1]  # the checkout
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"


def _texts(path: Path) -> list[tuple[str, bytes]]:
    """A file's bytes, and for a zip container (findings.xlsx) each member's."""
    data = path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            return [(f"{path.name}:{n}", z.read(n)) for n in z.namelist()]
    return [(path.name, data)]


def _holding(folder: Path, needle: str) -> list[str]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        for name, data in _texts(path):
            if needle.encode() in data:
                found.append(f"{path.relative_to(folder)} ({name})")
    return found


# --------------------------------------------------------------------------------------------
# The demo run
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    raw = yaml.safe_load((ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8"))
    raw["wards"] = ["Cổ Nhuế 2", "Tây Tựu"]
    plan = plan_from_dict(raw, base=ROOT / "params", source=ROOT / "params" / "monthly.yaml")
    out = tmp_path_factory.mktemp("demo") / "run"
    result = run_batch(plan, out, workers=2)
    assert result.exit_code == 0, [r.get("error") for r in result.runs]
    return out


@pytest.mark.slow
def test_no_file_of_a_demo_run_holds_the_checkouts_path(demo_run):
    files = [p for p in demo_run.rglob("*") if p.is_file()]
    assert len(files) > 20  # pages, notebooks, results, tables, manifest
    assert _holding(demo_run, str(ROOT)) == []
    assert _holding(demo_run, str(ROOT.resolve())) == []


@pytest.mark.slow
def test_the_manifest_holds_no_absolute_path(demo_run):
    text = (demo_run / "manifest.json").read_text("utf-8")
    assert str(demo_run) not in text and str(demo_run.resolve()) not in text
    m = json.loads(text)
    assert m["command"][0] == "pilot-eval" or not os.path.isabs(m["command"][0])
    assert m["plan"]["source"] == "monthly.yaml"
    assert m["plan"]["folder"] == {"path": "params", "relative_to": "checkout"}
    assert m["data"]["folder"] == "../data/demo" and m["data"]["registry"] == "pilots.yaml"
    for r in m["runs"]:
        assert r["notebook_path"].startswith("../notebooks/"), r["notebook_path"]
        assert r["parameters"]["data_dir"] == "../data/demo"
        assert r["parameters"]["registry_path"] == "pilots.yaml"
        # every path it records resolves, from the plan's folder, to the input it names
        plan_dir = resolve_located(m["plan"]["folder"], demo_run)
        assert (plan_dir / r["notebook_path"]).is_file()
        assert (plan_dir / r["parameters"]["data_dir"]).resolve() == ROOT / "data" / "demo"


@pytest.mark.slow
def test_the_executed_notebooks_record_the_relative_parameters(demo_run):
    nb = nbformat.read(demo_run / "notebooks" / "ward_report--tay-tuu.ipynb", as_version=4)
    injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
    namespace: dict = {}
    exec(injected.source, namespace)
    assert namespace["data_dir"] == "../data/demo" and namespace["ward"] == "Tây Tựu"
    assert namespace["results_path"] == "results/ward_report--tay-tuu.json"
    assert (demo_run / namespace["results_path"]).is_file()
    assert nb.metadata.papermill["input_path"] == "../notebooks/ward_report.ipynb"
    assert nb.metadata.papermill["output_path"] == "notebooks/ward_report--tay-tuu.ipynb"
    assert nb.metadata.papermill["parameters"]["registry_path"] == "pilots.yaml"


# --------------------------------------------------------------------------------------------
# A failed run: short relative forms on the pages, the whole traceback in the log
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """A ward notebook that fails inside the package, with the run folder's path in the
    message: read_findings on a file that is not there."""
    root = tmp_path_factory.mktemp("failing")
    nb = nbformat.read(FIXTURES / "ward_fixture.ipynb", as_version=4)
    fail = next(i for i, c in enumerate(nb.cells) if "raise RuntimeError" in c.source)
    nb.cells.insert(
        fail,
        nbformat.v4.new_code_cell(
            "from evaluation.analysis.record import read_findings\n"
            "if ward in fail_wards:\n"
            "    read_findings(results_path + '.absent')"
        ),
    )
    (root / "notebooks").mkdir()
    nbformat.write(nb, root / "notebooks" / "failing.ipynb")
    (root / "data").mkdir()
    (root / "data" / "x.csv").write_text("ward,minutes\nTây Tựu,3\n", encoding="utf-8")
    plan = root / "plan.yaml"
    plan.write_text(
        "title: failing\ndata: data\nwards: [Cổ Nhuế 2, Tây Tựu]\nnotebooks:\n"
        "  - notebook: notebooks/failing.ipynb\n    parameters: {fail_wards: [Tây Tựu]}\n",
        encoding="utf-8",
    )
    out = root / "run"
    result = run_batch(load_plan(plan), out, workers=2)
    return root, out, result


def test_a_failed_runs_error_is_relative_and_its_whole_traceback_is_logged(failed_run):
    root, out, result = failed_run
    rec = next(r for r in result.runs if r["ward"] == "Tây Tựu")
    err = rec["error"]
    assert rec["status"] == "failed" and err["ename"] == "DataError"
    # the message named the missing file by its absolute path: now relative to the run folder
    # (each attempt of a run writes its own *.partial files: the tag between the dots)
    assert re.match(r"results/failing--tay-tuu\.json\.[0-9a-f]+\.partial\.absent: ", err["evalue"])
    assert err["log"] == "logs/failing--tay-tuu.log"
    log = (out / err["log"]).read_text("utf-8")
    assert "evaluation/analysis/record.py" in log  # the package's frames, checkout-relative
    assert "read_findings(results_path + '.absent')" in log  # the failing cell
    assert err["traceback"] in log or err["traceback"].removeprefix("…\n") in log
    for path in (str(root), str(CHECKOUT)):
        assert _holding(out, path) == [], path


def test_pages_show_the_error_without_machine_paths(failed_run):
    root, out, _ = failed_run
    page = (out / "reports" / "failing--tay-tuu.html").read_text("utf-8")
    assert re.search(r"results/failing--tay-tuu\.json\.[0-9a-f]+\.partial\.absent", page)
    assert "evaluation/analysis/record.py" in page  # the cell's traceback, folded
    index = (out / "index.html").read_text("utf-8")
    assert "DataError" in index
    assert re.search(r"results/failing--tay-tuu\.json\.[0-9a-f]+\.partial\.absent", index)
    for text in (page, index):
        assert str(root) not in text and str(CHECKOUT) not in text


def test_a_run_that_succeeds_again_loses_its_old_log(failed_run, tmp_path):
    root, _, _ = failed_run
    plan = tmp_path / "plan.yaml"
    text = (root / "plan.yaml").read_text("utf-8")
    text = text.replace("data: data", f"data: {root / 'data'}")
    text = text.replace("notebooks/failing.ipynb", str(root / "notebooks" / "failing.ipynb"))
    plan.write_text(text, encoding="utf-8")
    out = tmp_path / "run"
    run_batch(load_plan(plan), out, workers=1)
    assert (out / "logs" / "failing--tay-tuu.log").is_file()
    plan.write_text(text.replace("[Tây Tựu]", "[]"), encoding="utf-8")
    result = run_batch(load_plan(plan), out, workers=1)
    assert result.exit_code == 0
    assert not (out / "logs" / "failing--tay-tuu.log").exists()


# --------------------------------------------------------------------------------------------
# The pieces
# --------------------------------------------------------------------------------------------


def test_the_redactor_replaces_whole_folders_only(tmp_path):
    run = tmp_path / "run"
    r = Redactor(run)
    assert r.text(f'File "{CHECKOUT}/evaluation/cli.py", line 3') == (
        'File "evaluation/cli.py", line 3'
    )
    assert r.text(f"--out {run}") == "--out ."
    assert r.text(f"{run}/results/a.json: missing") == "results/a.json: missing"
    # IPython colours its tracebacks: the path follows a terminal code
    assert r.text(f"\x1b[0;32m{CHECKOUT}/evaluation/x.py\x1b[0m") == (
        "\x1b[0;32mevaluation/x.py\x1b[0m"
    )
    # a longer folder that merely starts with the same letters is another folder (which may
    # still lie in the home folder, shown as ~)
    assert r.text(f"{run}er/x").endswith(f"/{run.name}er/x")
    assert r.text(f"{CHECKOUT}-copy/x").endswith(f"/{CHECKOUT.name}-copy/x")
    assert r.text(f"{Path.home()}/notes.txt") == "~/notes.txt"
    tree = r.tree({"text/plain": [f"{run}/a"], "image/png": f"{run}/not-text"})
    assert tree == {"text/plain": ["a"], "image/png": f"{run}/not-text"}


def test_locate_records_a_folder_relative_to_the_checkout_or_the_run_folder(tmp_path):
    run = tmp_path / "out" / "run"
    assert locate(CHECKOUT / "params", run) == {"path": "params", "relative_to": "checkout"}
    mine = locate(tmp_path / "district", run)
    assert mine == {"path": "../../district", "relative_to": "run folder"}
    assert resolve_located(mine, run) == (tmp_path / "district").resolve()
    assert resolve_located({"path": "params", "relative_to": "checkout"}, run) == (
        CHECKOUT / "params"
    )
    assert resolve_located(None, run) is None
