"""`pilot-eval batch --executor dask` as users run it: a cluster the command starts and stops,
Ctrl-C, a worker killed mid-run, and what each task carries.

The fixture notebook (tests/fixtures/notebooks/ward_fixture.ipynb) plants an effect of −5 in
its ward and records one finding; ``slow_wards`` with a ``gate`` file keeps chosen runs in
flight until the test removes the file, so a run is known to be on a worker when the test
interrupts the batch or kills the worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evaluation.batch import executors
from evaluation.batch import run as batch_run
from evaluation.batch.forkserver import default_preload
from evaluation.batch.job import Job
from evaluation.batch.manifest import environment, package_code_hash
from evaluation.batch.plan import load_plan
from evaluation.batch.run import run_batch

distributed = pytest.importorskip("distributed")

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"
DISTRICT_NB = FIXTURES / "district_fixture.ipynb"
CHECKOUT = Path(__file__).resolve().parents[1]
needs_proc = pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs Linux /proc")


def write_plan(
    folder: Path,
    wards: list[str],
    parameters: dict,
    *,
    district: bool = True,
    notebook: Path = WARD_NB,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    notebooks = [{"notebook": str(notebook), "parameters": parameters}]
    if district:
        notebooks.append({"notebook": str(DISTRICT_NB)})
    plan = {"title": "Kiểm thử Dask / Dask test", "wards": wards, "notebooks": notebooks}
    path = folder / "plan.yaml"
    path.write_text(json.dumps(plan, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    return path


def pilot_eval(*args: str, **kwargs) -> subprocess.Popen:
    """The console command in a session of its own (so every process it starts is found)."""
    return subprocess.Popen(
        [sys.executable, "-m", "evaluation.cli", *args],
        cwd=CHECKOUT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        **kwargs,
    )


def session_processes(sid: int) -> list[int]:
    """Live processes of a session (zombies are dead, only not yet reaped)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[3]) == sid:
            pids.append(int(entry.name))
    return pids


def wait_until_gone(sid: int, seconds: float = 20.0) -> list[int]:
    deadline = time.monotonic() + seconds
    while (alive := session_processes(sid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


def read_manifest(out: Path) -> dict:
    try:
        return json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def wait_for_statuses(out: Path, want, proc=None, seconds: float = 240.0) -> dict:
    """Poll the manifest the batch keeps in step until ``want(statuses)`` holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        m = read_manifest(out)
        statuses = {r["id"]: r["status"] for r in m.get("runs", [])}
        if statuses and want(statuses):
            return statuses
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the batch ended early: {proc.communicate()}")
        time.sleep(0.1)
    pytest.fail(f"the runs never reached the state wanted: {statuses}")


#: a plan of four runs: two that end at once, two held in flight until the gate file goes
FAST = ["ward_fixture--co-nhue-2", "ward_fixture--tay-tuu"]
GATED = ["ward_fixture--xuan-dinh", "ward_fixture--lien-mac"]


def gated_plan(folder: Path) -> tuple[Path, Path]:
    gate = folder / "gate"
    gate.touch()
    slow = ["Xuân Đỉnh", "Liên Mạc"]
    wards = ["Cổ Nhuế 2", "Tây Tựu", *slow]
    parameters = {"slow_wards": slow, "gate": str(gate)}
    return write_plan(folder, wards, parameters, district=False), gate


def in_flight(statuses: dict[str, str]) -> bool:
    return all(statuses[i] == "ok" for i in FAST) and all(statuses[i] == "running" for i in GATED)


def leftovers(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.endswith((".partial", ".tmp"))]


def outputs_hashes(out: Path, manifest: dict, ids) -> dict[str, str]:
    hashes = {}
    for r in manifest["runs"]:
        if r["id"] in ids:
            for rel in r["outputs"].values():
                hashes[rel] = hashlib.sha256((out / rel).read_bytes()).hexdigest()
    return hashes


def check_complete_outputs(out: Path, manifest: dict) -> None:
    """Every run that succeeded has complete outputs: a results file that parses with its
    planted finding, a notebook that parses, a report that ends."""
    for r in manifest["runs"]:
        if r["status"] != "ok":
            continue
        results = json.loads((out / r["outputs"]["results"]).read_text(encoding="utf-8"))
        findings = results["findings"] if isinstance(results, dict) else results
        assert findings and all(abs(f["estimate"] + 5.0) < 1.5 for f in findings if f["ward"])
        json.loads((out / r["outputs"]["notebook"]).read_text(encoding="utf-8"))
        assert (out / r["outputs"]["html"]).read_text(encoding="utf-8").rstrip().endswith("</html>")


# --------------------------------------------------------------------------------------------
# What a task carries
# --------------------------------------------------------------------------------------------


def _jobs(tmp_path: Path) -> list[Job]:
    plan = load_plan(write_plan(tmp_path, ["Cổ Nhuế 2", "Tây Tựu", "Xuân Đỉnh"], {}))
    out = (tmp_path / "out").resolve()
    options = batch_run._Options("dask", None, "inprocess", None, False, {})
    batch = batch_run._Batch(
        plan, out, None, options, default_preload(plan), package_code_hash(), None
    )
    env = environment(batch.code_hash)
    return [batch._job(run, env, {}) for run in plan.runs()]


def test_a_task_carries_only_what_differs_between_runs_and_rebuilds_its_job(tmp_path, monkeypatch):
    jobs = _jobs(tmp_path)
    shared = tmp_path / "out" / ".pilot-eval" / "shared.json"
    payloads = executors.job_payloads(jobs, shared)
    for job, payload in zip(jobs, payloads, strict=True):
        assert "preload" not in payload and "code_key" not in payload
        assert payload["run_id"] == job.run_id
        # the task (function and arguments) against the whole job it replaces
        task = len(pickle.dumps((executors.run_task, payload, str(shared))))
        whole = len(pickle.dumps((executors.run_isolated, job)))
        assert task < 0.6 * whole, (task, whole)
    # the worker rebuilds exactly the job from its payload and the shared file
    monkeypatch.setattr(executors, "run_isolated", lambda job: job)
    executors._SHARED.clear()
    assert [executors.run_task(p, str(shared)) for p in payloads] == jobs


def test_a_run_whose_worker_died_too_often_is_reported_failed_with_the_reason():
    from distributed.scheduler import KilledWorker

    class Dead:
        def result(self):
            raise KilledWorker("pilot-eval-x-ward", "tcp://127.0.0.1:1", 4)

    pool = executors.DaskExecutor.__new__(executors.DaskExecutor)
    record = pool._record(Dead())
    assert record["status"] == "failed" and record["outputs"] == {}
    assert record["error"]["ename"] == "KilledWorker"
    assert "died 4 times" in record["error"]["evalue"]
    assert "--resume" in record["error"]["evalue"]


# --------------------------------------------------------------------------------------------
# The command with a cluster of its own
# --------------------------------------------------------------------------------------------

_BLAS_CELL = (
    "import json, os\nfrom threadpoolctl import threadpool_info\n"
    "blas = sorted({p['num_threads'] for p in threadpool_info() if p['user_api'] == 'blas'})\n"
    "if results_path:\n"
    "    folder = os.path.dirname(os.path.dirname(results_path))\n"
    "    with open(os.path.join(folder, f'blas {ward}.json'), 'w') as fh:\n"
    "        json.dump(blas, fh)\n"
)


def _comparable(manifest: dict) -> dict:
    runs = [
        {k: r.get(k) for k in ("id", "ward", "status", "outputs", "n_findings", "key")}
        for r in manifest["runs"]
    ]
    options = {k: v for k, v in manifest["options"].items() if k != "executor"}
    options["warm_worker"] = {k: v for k, v in options["warm_worker"].items() if k != "seconds"}
    return {"runs": runs, "options": options, "status": manifest["status"]}


def blas_notebook(folder: Path) -> Path:
    """The ward fixture, also writing the BLAS threads its run had (``blas WARD.json``)."""
    import nbformat

    nb = nbformat.read(WARD_NB, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_BLAS_CELL))
    path = folder / "ward_fixture.ipynb"  # the same name: the same run ids
    nbformat.write(nb, path)
    return path


@needs_proc
def test_dask_without_a_scheduler_starts_a_cluster_writes_the_same_manifest_and_stops_it(
    tmp_path,
):
    """Also: each run gets its host's share of the cores — two workers of one thread on this
    machine, so cores // 2 BLAS threads (the local executor gives the same)."""
    pytest.importorskip("threadpoolctl")
    wards = ["Cổ Nhuế 2", "Tây Tựu", "Xuân Đỉnh"]
    notebook = blas_notebook(tmp_path)
    plan = write_plan(tmp_path, wards, {"fail_wards": ["Tây Tựu"]}, notebook=notebook)
    local = pilot_eval("batch", str(plan), "--out", str(tmp_path / "local"), "--workers", "2")
    local_out, local_err = local.communicate(timeout=600)
    assert local.returncode == 1, local_err
    proc = pilot_eval(
        "batch", str(plan), "--out", str(tmp_path / "dask"), "--workers", "2",
        "--executor", "dask",
    )  # fmt: skip
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err  # one planted failure
    assert wait_until_gone(proc.pid) == [], "a process of the command outlived it"
    # the terminal: the cluster, every run as the local executor shows them, the shutdown
    assert "started a Dask LocalCluster" in err and "2 worker processes × 1 thread" in err
    assert "the Dask LocalCluster was shut down" in err
    for line in ("ok       ward_fixture--co-nhue-2", "failed   ward_fixture--tay-tuu"):
        assert line in err and line in local_err
    assert "RuntimeError: planted failure in Tây Tựu" in err
    assert (
        out.splitlines()[0]
        == local_out.splitlines()[0]
        == ("pilot-eval: 3 ok, 1 failed — 3 findings")
    )
    # the same manifest: same runs, statuses, outputs; only options.executor differs
    dask_m, local_m = read_manifest(tmp_path / "dask"), read_manifest(tmp_path / "local")
    assert dask_m["options"]["executor"] == "dask" and local_m["options"]["executor"] == "local"
    assert _comparable(dask_m) == _comparable(local_m)
    assert (tmp_path / "dask" / "findings.csv").read_bytes() == (
        tmp_path / "local" / "findings.csv"
    ).read_bytes()
    check_complete_outputs(tmp_path / "dask", dask_m)
    assert leftovers(tmp_path / "dask") == []
    cores = len(os.sched_getaffinity(0))
    for ward in ("Cổ Nhuế 2", "Xuân Đỉnh"):
        for side in ("dask", "local"):
            seen = json.loads((tmp_path / side / f"blas {ward}.json").read_text("utf-8"))
            assert seen == [max(1, cores // 2)], (side, ward, seen)


@needs_proc
def test_ctrl_c_stops_the_cluster_leaves_a_consistent_folder_and_resume_completes_it(tmp_path):
    plan, gate = gated_plan(tmp_path)
    out = tmp_path / "out"
    command = ["batch", str(plan), "--out", str(out), "--executor", "dask", "--workers", "2"]
    proc = pilot_eval(*command)
    fast, gated = FAST, GATED
    wait_for_statuses(out, in_flight, proc)
    before = outputs_hashes(out, read_manifest(out), fast)
    # Ctrl-C on a terminal: SIGINT to the whole foreground group, the cluster's workers too
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "the Dask LocalCluster was shut down" in err
    assert "Traceback" not in err  # the workers leave Ctrl-C to the batch
    assert wait_until_gone(proc.pid) == [], "a process of the command outlived it"
    # the folder says what happened; what was written is complete and untouched
    m = read_manifest(out)
    assert m["status"] == "interrupted"
    assert {r["id"]: r["status"] for r in m["runs"]} == {
        **dict.fromkeys(fast, "ok"),
        **dict.fromkeys(gated, "interrupted"),
    }
    assert outputs_hashes(out, m, fast) == before
    check_complete_outputs(out, m)
    assert leftovers(out) == []
    for run_id in gated:
        assert not (out / "results" / f"{run_id}.json").exists()
    assert "interrupted" in (out / "index.html").read_text(encoding="utf-8")
    # --resume completes it: the two interrupted runs, nothing else (here on this machine's
    # processes: the folder is what is checked, and a second cluster would only cost time)
    gate.unlink()
    again = pilot_eval(*command[:4], "--resume")
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert wait_until_gone(again.pid) == []
    m = read_manifest(out)
    assert {r["id"]: r["status"] for r in m["runs"]} == {
        **dict.fromkeys(fast, "skipped"),
        **dict.fromkeys(gated, "ok"),
    }
    assert outputs_hashes(out, m, fast) == before
    check_complete_outputs(out, m)


# --------------------------------------------------------------------------------------------
# An existing cluster, one of whose workers is killed mid-run
# --------------------------------------------------------------------------------------------


@needs_proc
def test_a_worker_killed_mid_run_loses_no_output_and_the_cluster_is_left_running(tmp_path):
    plan_path, gate = gated_plan(tmp_path)
    plan = load_plan(plan_path)
    out = tmp_path / "out"
    fast, gated = FAST, GATED
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
    ):
        outcome: dict = {}

        def batch():
            try:
                outcome["result"] = run_batch(
                    plan, out, executor="dask", scheduler=cluster.scheduler_address
                )
            except BaseException as exc:  # reported by the test below
                outcome["error"] = exc

        thread = threading.Thread(target=batch)
        thread.start()
        wait_for_statuses(out, in_flight)
        before = outputs_hashes(out, read_manifest(out), fast)
        # the worker running the first gated run: its warm server's run is in flight
        victim = next(
            addr
            for addr, keys in client.processing().items()
            if any(str(k).endswith(gated[0]) for k in keys)
        )
        pid = client.run(os.getpid, workers=[victim])[victim]
        os.kill(pid, signal.SIGKILL)
        time.sleep(1.0)  # let the scheduler see the death and give the run to a worker
        gate.unlink()
        thread.join(timeout=600)
        assert not thread.is_alive()
        assert "error" not in outcome, outcome.get("error")
        result = outcome["result"]
        # the cluster the batch did not start is still there, and has its two workers back
        assert client.run(os.getpid)
    statuses = {r["id"]: r["status"] for r in result.runs}
    for run_id, status in statuses.items():
        if status != "ok":  # the only other acceptable outcome: failed, saying why
            rec = next(r for r in result.runs if r["id"] == run_id)
            assert status == "failed" and rec["error"]["ename"] == "KilledWorker", rec
    assert statuses[gated[0]] == "ok", "the killed worker's run was not given to another"
    assert outputs_hashes(out, result.manifest, fast) == before
    check_complete_outputs(out, result.manifest)
    assert leftovers(out) == []
    resumed = run_batch(plan, out, resume=True)
    assert resumed.exit_code == 0
    assert all(r["status"] in ("ok", "skipped") for r in resumed.runs)
    check_complete_outputs(out, resumed.manifest)
