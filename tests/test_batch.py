"""End-to-end batch runs on fixture notebooks: failures, timeouts, kill and resume, locking, Dask.

The fixture notebook simulates 13 units with a planted effect (default −5) on the ward of
interest and estimates it by a 2×2 difference in differences with a permutation p-value, so
the findings have known values: the estimate near the planted effect and p = 1/13 (the treated
unit is the most extreme of 13).
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from evaluation.batch import run as batch_run
from evaluation.batch.job import WORK_DIR
from evaluation.batch.lock import LOCK_NAME, OutputLock, OutputLocked
from evaluation.batch.plan import load_plan
from evaluation.batch.run import run_batch

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"
DISTRICT_NB = FIXTURES / "district_fixture.ipynb"
PYTHON = sys.executable


def make_plan(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "plan.yaml"
    path.write_text(
        text.replace("WARD_NB", str(WARD_NB)).replace("DISTRICT_NB", str(DISTRICT_NB)),
        encoding="utf-8",
    )
    return path


def runs_by_ward(result) -> dict:
    return {r["ward"]: r for r in result.runs}


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith((".partial", ".tmp"))]


def cell_index(nb_path: Path, needle: str) -> int:
    nb = nbformat.read(nb_path, as_version=4)
    return next(i for i, c in enumerate(nb.cells) if needle in c.source)


# --------------------------------------------------------------------------------------------
# One batch with an injected failure, shared by several tests
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def failed_batch(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    data = root / "data"
    data.mkdir()
    (data / "congestion.csv").write_text("ward,minutes\nCổ Nhuế 2,31\n", encoding="utf-8")
    plan = make_plan(
        root,
        """
title: "Kiểm thử / Test batch"
data: data
timeout: 120
wards: [Cổ Nhuế 2, Tây Tựu, Xuân Đỉnh]
parameters:
  label: 00617
notebooks:
  - notebook: WARD_NB
    parameters: {fail_wards: [Tây Tựu]}
  - notebook: DISTRICT_NB
""",
    )
    result = run_batch(load_plan(plan), root / "out", workers=2)
    return root, result


def test_one_failure_never_stops_the_others(failed_batch):
    _, result = failed_batch
    status = {r["id"]: r["status"] for r in result.runs}
    assert status == {
        "ward_fixture--co-nhue-2": "ok",
        "ward_fixture--tay-tuu": "failed",
        "ward_fixture--xuan-dinh": "ok",
        "district_fixture": "ok",
    }
    assert result.exit_code == 1
    assert result.manifest["status"] == "finished"


def test_failure_is_recorded_with_error_and_failing_cell(failed_batch):
    _, result = failed_batch
    out = result.out
    rec = runs_by_ward(result)["Tây Tựu"]
    err = rec["error"]
    assert err["ename"] == "RuntimeError"
    assert err["evalue"] == "planted failure in Tây Tựu"
    executed = out / rec["outputs"]["notebook"]
    assert err["cell_index"] == cell_index(executed, "raise RuntimeError")
    assert "raise RuntimeError" in err["cell_source"]
    assert "planted failure" in err["traceback"]
    # the failed run keeps its executed notebook and a report that says it is incomplete,
    # but no results file: it contributes no finding
    assert executed.is_file() and (out / rec["outputs"]["html"]).is_file()
    assert "results" not in rec["outputs"]
    assert not (out / "results" / "ward_fixture--tay-tuu.json").exists()
    page = (out / rec["outputs"]["html"]).read_text(encoding="utf-8")
    assert "KHÔNG đầy đủ" in page and "INCOMPLETE" in page
    i = err["cell_index"]
    assert f"cell {i + 1} (index {i}) of the executed notebook" in page


def test_index_lists_findings_and_the_failure(failed_batch):
    _, result = failed_batch
    page = (result.out / "index.html").read_text(encoding="utf-8")
    assert "planted failure in Tây Tựu" in page and "RuntimeError" in page
    assert "raise RuntimeError" in page  # the failing cell's source
    i = next(r for r in result.runs if r["ward"] == "Tây Tựu")["error"]["cell_index"]
    assert f"cell {i + 1} (index {i}) of the executed notebook" in page
    assert "Lỗi" in page and "Problems" in page
    for rid in ("ward_fixture--co-nhue-2", "ward_fixture--xuan-dinh", "district_fixture"):
        assert f'href="reports/{rid}.html"' in page
        assert (result.out / "reports" / f"{rid}.html").is_file()
    assert "CHƯA xong" not in page  # the batch finished


def test_findings_carry_the_planted_effect(failed_batch):
    _, result = failed_batch
    wards = {f["ward"]: f for f in result.findings}
    assert set(wards) == {"Cổ Nhuế 2", "Xuân Đỉnh", None}
    for ward in ("Cổ Nhuế 2", "Xuân Đỉnh"):
        f = wards[ward]
        assert abs(f["estimate"] - (-5.0)) < 1.5, f
        assert f["ci_low"] < f["estimate"] < f["ci_high"]
        assert f["pvalue"] == pytest.approx(1 / 13)  # most extreme of 13: the permutation floor
        # parameter typing end to end: unquoted 00617 in YAML arrives as the text "00617"
        assert f["verdict_vi"].endswith(". 00617")
    assert wards[None]["estimate"] == pytest.approx(-5.0, abs=1.0)


def test_findings_tables_csv_and_xlsx(failed_batch):
    from openpyxl import load_workbook

    _, result = failed_batch
    raw = (result.out / "findings.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the diacritics right
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert len(rows) == 3
    assert {r["ward"] for r in rows} == {"Cổ Nhuế 2", "Xuân Đỉnh", ""}
    assert rows[0]["report"].startswith("reports/")
    wb = load_workbook(result.out / "findings.xlsx")
    readable, full = wb.worksheets[0], wb.worksheets[1]
    head = [c.value for c in readable[1]]
    assert head[:3] == [
        "Mô hình / Programme",
        "Chỉ tiêu — phạm vi / Indicator — scope",
        "Phường / Ward",
    ]
    assert readable.max_row == 4 and readable.auto_filter.ref
    values = list(full.values)  # every field at full precision, one row per finding
    assert list(values[0][:3]) == ["run_id", "notebook", "ward"]
    assert len(values) == 4
    est = {r[2]: r[values[0].index("estimate")] for r in values[1:]}
    assert est["Cổ Nhuế 2"] == pytest.approx(
        float(next(r["estimate"] for r in rows if r["ward"] == "Cổ Nhuế 2"))
    )


def test_manifest_records_inputs_versions_and_durations(failed_batch):
    root, result = failed_batch
    m = json.loads((result.out / "manifest.json").read_text(encoding="utf-8"))
    digest = hashlib.sha256((root / "data" / "congestion.csv").read_bytes()).hexdigest()
    assert m["data"]["files"] == {"congestion.csv": digest}
    env = m["environment"]
    assert env["python"] == sys.version.split()[0]
    assert {"numpy", "pandas", "papermill"} <= set(env["packages"])
    assert "git_commit" in env and len(env["package_code_sha256"]) == 64
    assert m["plan"]["sha256"] == hashlib.sha256((root / "plan.yaml").read_bytes()).hexdigest()
    for r in m["runs"]:
        assert r["duration_s"] > 0 and r["started"] and r["finished"]
        assert (
            r["notebook_sha256"] == hashlib.sha256(WARD_NB.read_bytes()).hexdigest()
            or r["id"] == "district_fixture"
        )
        assert r["parameters"].get("label", "00617") == "00617"
    assert not leftovers(result.out)
    assert not (result.out / WORK_DIR).exists()
    assert not (result.out / LOCK_NAME).exists()  # the lock file goes with the batch


def test_executed_notebook_is_a_valid_papermill_notebook(failed_batch):
    _, result = failed_batch
    path = result.out / "notebooks" / "ward_fixture--co-nhue-2.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1
    assert "ward = 'Cổ Nhuế 2'" in injected[0].source  # readable, not C\u1ed5 Nhu\u1ebf 2
    namespace: dict = {}
    exec(injected[0].source, namespace)
    assert namespace["ward"] == "Cổ Nhuế 2" and namespace["fail_wards"] == ["Tây Tựu"]
    assert nb.metadata.papermill["parameters"]["ward"] == "Cổ Nhuế 2"
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the inline figure
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the DataFrame
    assert any(o.output_type == "stream" and "Cổ Nhuế 2" in o.text for o in outputs)


# --------------------------------------------------------------------------------------------
# Timeouts
# --------------------------------------------------------------------------------------------


def test_timeout_is_reported_as_timeout_with_its_cell(tmp_path):
    plan = make_plan(
        tmp_path,
        """
timeout: 2
wards: [Cổ Nhuế 2, Liên Mạc]
notebooks:
  - notebook: WARD_NB
    parameters: {slow_wards: [Liên Mạc], sleep: 60}
""",
    )
    t0 = time.monotonic()
    result = run_batch(load_plan(plan), tmp_path / "out", workers=2)
    assert time.monotonic() - t0 < 40  # nowhere near the 60 s sleep
    runs = runs_by_ward(result)
    assert runs["Cổ Nhuế 2"]["status"] == "ok"
    slow = runs["Liên Mạc"]
    assert slow["status"] == "timeout"  # papermill would say "completed"
    assert result.exit_code == 1
    executed = result.out / slow["outputs"]["notebook"]
    assert slow["error"]["cell_index"] == cell_index(executed, "time.sleep(sleep)")
    assert "time.sleep" in slow["error"]["cell_source"]
    page = (result.out / slow["outputs"]["html"]).read_text(encoding="utf-8")
    assert "Quá thời gian" in page and "INCOMPLETE" in page
    assert "<strong>Timeout</strong>: the run exceeded its timeout of 2 s" in page
    assert "Quá thời gian" in (result.out / "index.html").read_text(encoding="utf-8")


def test_run_that_ignores_the_timeout_is_killed(tmp_path, monkeypatch):
    monkeypatch.setattr(batch_run, "HARD_KILL_GRACE", 1.0)
    plan = make_plan(
        tmp_path,
        """
timeout: 1.5
wards: [Liên Mạc]
notebooks:
  - notebook: WARD_NB
    parameters: {slow_wards: [Liên Mạc], sleep: 60, ignore_alarm: true}
""",
    )
    result = run_batch(load_plan(plan), tmp_path / "out", workers=1)
    rec = result.runs[0]
    assert rec["status"] == "timeout"
    assert "killed" in rec["error"]["evalue"]
    assert "time.sleep(sleep)" in rec["error"]["cell_source"]  # from the child's progress file
    assert rec["outputs"] == {}
    assert not leftovers(result.out)
    assert not list((result.out / "reports").glob("*.html"))


# --------------------------------------------------------------------------------------------
# Kill, then resume
# --------------------------------------------------------------------------------------------


def _manifest(out: Path) -> dict | None:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def test_killed_batch_leaves_nothing_that_looks_complete_and_resume_finishes(tmp_path):
    gate = tmp_path / "gate"
    gate.write_text("hold", encoding="utf-8")
    plan = make_plan(
        tmp_path,
        f"""
timeout: 120
wards: [Cổ Nhuế 2, Liên Mạc, Xuân Đỉnh]
notebooks:
  - notebook: WARD_NB
    parameters: {{slow_wards: [Xuân Đỉnh], gate: "{gate}"}}
""",
    )
    out = tmp_path / "out"
    cmd = [PYTHON, "-m", "evaluation.cli", "batch", str(plan), "--out", str(out), "--workers", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    state = {}
    while time.monotonic() < deadline:
        m = _manifest(out)
        state = {r["ward"]: r["status"] for r in (m or {}).get("runs", [])}
        if state == {"Cổ Nhuế 2": "ok", "Liên Mạc": "ok", "Xuân Đỉnh": "running"}:
            break
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail(f"batch never reached the expected state: {state}")
    os.kill(proc.pid, signal.SIGKILL)  # the batch process only, as `kill -9` would
    proc.communicate()

    m = _manifest(out)
    assert m["status"] == "running"
    assert {r["ward"]: r["status"] for r in m["runs"]}["Xuân Đỉnh"] == "running"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert "CHƯA xong" in index and "has NOT finished" in index
    assert not (out / "findings.csv").exists()
    # the run in flight must die with the batch: let it go on, and it must not write anything
    gate.unlink()
    time.sleep(2.0)
    assert not (out / "reports" / "ward_fixture--xuan-dinh.html").exists()
    assert not (out / "results" / "ward_fixture--xuan-dinh.json").exists()
    done = {p: p.stat().st_mtime_ns for p in (out / "reports").glob("*.html")}
    assert len(done) == 2

    resumed = subprocess.run(cmd + ["--resume"], capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    m = _manifest(out)
    assert m["status"] == "finished"
    assert {r["ward"]: r["status"] for r in m["runs"]} == {
        "Cổ Nhuế 2": "skipped",
        "Liên Mạc": "skipped",
        "Xuân Đỉnh": "ok",
    }
    assert {p: p.stat().st_mtime_ns for p in done} == done  # skipped runs were not redone
    rows = list(csv.DictReader((out / "findings.csv").read_text("utf-8-sig").splitlines()))
    assert sorted(r["ward"] for r in rows) == ["Cổ Nhuế 2", "Liên Mạc", "Xuân Đỉnh"]
    assert "Traceback" not in resumed.stderr
    assert not leftovers(out)


def test_resume_reruns_what_changed(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.csv").write_text("x\n1\n", encoding="utf-8")
    plan_path = make_plan(
        tmp_path,
        """
data: data
wards: [Cổ Nhuế 2]
notebooks: [WARD_NB, DISTRICT_NB]
""",
    )
    out = tmp_path / "out"
    first = run_batch(load_plan(plan_path), out, workers=2)
    assert first.exit_code == 0
    again = run_batch(load_plan(plan_path), out, resume=True)
    assert [r["status"] for r in again.runs] == ["skipped", "skipped"]
    assert len(again.findings) == 2  # skipped runs still feed the index
    (data / "a.csv").write_text("x\n2\n", encoding="utf-8")  # new data: every run is redone
    changed = run_batch(load_plan(plan_path), out, resume=True)
    assert [r["status"] for r in changed.runs] == ["ok", "ok"]
    without = run_batch(load_plan(plan_path), out, resume=False)
    assert [r["status"] for r in without.runs] == ["ok", "ok"]


def test_lock_stops_a_second_batch_on_the_same_folder(tmp_path):
    plan = load_plan(make_plan(tmp_path, "wards: [Cổ Nhuế 2]\nnotebooks: [WARD_NB]\n"))
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out), pytest.raises(OutputLocked, match=f"pid {os.getpid()}"):
        run_batch(plan, out)
    assert run_batch(plan, out).exit_code == 0  # released with its holder
    assert not (out / LOCK_NAME).exists()  # and removed at the end of the run


def test_lock_on_a_file_removed_meanwhile_is_taken_again(tmp_path, monkeypatch):
    """The holder removes the lock file as it finishes. A batch that opened the file just
    before must not count a lock on that removed file (a third batch could create and lock a
    new one): it takes the lock again, on the file the folder now has."""
    holder = OutputLock(tmp_path).__enter__()
    real_open = os.open

    def open_then_holder_finishes(*args, **kwargs):
        fd = real_open(*args, **kwargs)
        if holder.fd is not None:
            holder.__exit__(None, None, None)  # between our open and our flock
        return fd

    monkeypatch.setattr(os, "open", open_then_holder_finishes)
    lock = OutputLock(tmp_path).__enter__()
    try:
        assert os.fstat(lock.fd).st_ino == os.stat(tmp_path / LOCK_NAME).st_ino
        with pytest.raises(OutputLocked):
            OutputLock(tmp_path).__enter__()
    finally:
        lock.__exit__(None, None, None)
    assert not (tmp_path / LOCK_NAME).exists()


# --------------------------------------------------------------------------------------------
# Other executors and engines
# --------------------------------------------------------------------------------------------


def test_dask_executor_on_a_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    plan = load_plan(
        make_plan(
            tmp_path,
            """
wards: [Cổ Nhuế 2, Tây Tựu]
notebooks:
  - notebook: WARD_NB
    parameters: {fail_wards: [Tây Tựu]}
""",
        )
    )
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    ) as cluster:
        result = run_batch(
            plan, tmp_path / "out", executor="dask", scheduler=cluster.scheduler_address
        )
    runs = runs_by_ward(result)
    assert runs["Cổ Nhuế 2"]["status"] == "ok" and runs["Tây Tựu"]["status"] == "failed"
    assert runs["Tây Tựu"]["error"]["evalue"] == "planted failure in Tây Tựu"
    assert abs(result.findings[0]["estimate"] + 5.0) < 1.5
    assert result.manifest["options"]["executor"] == "dask"


def test_kernel_engine_agrees_with_the_inprocess_engine(tmp_path):
    """The same notebook through papermill and a real Jupyter kernel: same numbers, same
    failing cell — the fast engine is a faithful stand-in for the kernel."""
    plan = load_plan(
        make_plan(
            tmp_path,
            """
timeout: 120
wards: [Cổ Nhuế 2, Tây Tựu]
notebooks:
  - notebook: WARD_NB
    parameters: {fail_wards: [Tây Tựu]}
""",
        )
    )
    fast = run_batch(plan, tmp_path / "fast", engine="inprocess")
    kernel = run_batch(plan, tmp_path / "kernel", engine="kernel")
    a, b = runs_by_ward(fast), runs_by_ward(kernel)
    assert b["Cổ Nhuế 2"]["status"] == "ok" and b["Tây Tựu"]["status"] == "failed"
    assert b["Tây Tựu"]["error"]["cell_index"] == a["Tây Tựu"]["error"]["cell_index"]
    assert b["Tây Tựu"]["error"]["ename"] == "RuntimeError"
    assert kernel.findings[0]["estimate"] == pytest.approx(fast.findings[0]["estimate"], rel=1e-12)
    assert (kernel.out / "reports" / "ward_fixture--co-nhue-2.html").is_file()


def test_run_that_records_no_findings_fails(tmp_path):
    nb = json.loads(DISTRICT_NB.read_text(encoding="utf-8"))
    nb["cells"] = [c for c in nb["cells"] if "record_findings(" not in "".join(c["source"])]
    path = tmp_path / "forgetful.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    plan = make_plan(tmp_path, f"notebooks: [{path}]\n")
    rec = run_batch(load_plan(plan), tmp_path / "out").runs[0]
    assert rec["status"] == "failed"
    assert "recorded no findings" in rec["error"]["evalue"]
    assert "record_findings(results_path" in rec["error"]["evalue"]
    assert "results" not in rec["outputs"]


def test_runs_start_longest_first_and_the_manifest_keeps_the_plan_order(tmp_path):
    from evaluation.batch.run import _longest_first

    plan = load_plan(
        make_plan(
            tmp_path, "wards: [Cổ Nhuế 2, Tây Tựu, Xuân Đỉnh]\nnotebooks: [WARD_NB, DISTRICT_NB]\n"
        )
    )
    runs = plan.runs()
    jobs = [SimpleNamespace(run_id=r.id) for r in runs]
    ids = [r.id for r in runs]
    # no history: the district-wide notebook first, then the ward runs in plan order
    assert [j.run_id for j in _longest_first(jobs, runs, {})] == [ids[3], *ids[:3]]
    # with the previous batch's durations: longest first; a skipped or failed run says nothing
    previous = {
        ids[0]: {"status": "ok", "duration_s": 1.0},
        ids[1]: {"status": "ok", "duration_s": 9.0},
        ids[2]: {"status": "skipped", "duration_s": 0.0},
        ids[3]: {"status": "ok", "duration_s": 3.0},
    }
    assert [j.run_id for j in _longest_first(jobs, runs, previous)] == [
        ids[1],
        ids[3],
        ids[0],
        ids[2],
    ]
