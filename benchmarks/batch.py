"""Time the monthly batch against a sequential loop of the `papermill` command, in one run.

Both sides run the same notebooks with the same parameters, in this one invocation, on the same
machine, each from a cold start (its own Python start-up and imports), and both in the user's
environment as it is: this script sets no tuning variable (OMP_NUM_THREADS and the like) — the
batch limits each run's BLAS/OpenMP threads itself, and papermill runs as papermill users run it.

* batch:     ``pilot-eval batch PLAN --out DIR --quiet`` — the warm fork server, N workers,
             papermill's ``pilot-eval`` engine, and everything a batch writes (executed
             notebooks, HTML reports, index, tables);
* papermill: for each run, ``papermill IN OUT -f params.yaml --cwd NB_DIR -k python3``, one
             after another (papermill's default engine, a Jupyter kernel per run; executed
             notebooks only: no HTML, no index);
* floor:     the compute itself — each run's code executed once in a warm process (imports
             done, one fork per run, the batch's thread limit, the cells' own time only),
             summed and divided by the workers. No way of running the notebooks beats it.

It prints the wall times, seconds per run, the ratio (target: ≥ 5× on 2 cores), the floor and
how far the batch is from it, and checks that both sides computed the same findings (papermill
with a real kernel is a second implementation of a run).

    .venv/bin/python benchmarks/batch.py                      # params/monthly.yaml if its
                                                              # notebooks exist, else fixtures
    .venv/bin/python benchmarks/batch.py --plan params/monthly.yaml --workers 2
    .venv/bin/python benchmarks/batch.py --papermill-runs 4   # time 4 papermill runs and
                                                              # extrapolate (quicker, noisier)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONTHLY = ROOT / "params" / "monthly.yaml"
FIXTURE_PLAN = ROOT / "tests" / "fixtures" / "notebooks" / "bench_plan.yaml"
BIN = Path(sys.executable).parent
TUNING_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def default_plan() -> Path:
    """params/monthly.yaml once its notebooks exist; until then the fixture stand-in."""
    from evaluation.batch.plan import load_plan
    from evaluation.errors import PlanError

    try:
        load_plan(MONTHLY)
        return MONTHLY
    except PlanError as exc:
        print(f"(params/monthly.yaml not runnable yet: {exc})\n(using {FIXTURE_PLAN})\n")
        return FIXTURE_PLAN


def time_batch(plan: Path, out: Path, workers: int | None, engine: str) -> tuple[float, dict]:
    cmd = [str(BIN / "pilot-eval"), "batch", str(plan), "--out", str(out), "--quiet"]
    cmd += ["--engine", engine] + (["--workers", str(workers)] if workers else [])
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        sys.exit(f"pilot-eval failed ({proc.returncode}):\n{proc.stderr}")
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    return seconds, manifest


def time_papermill(runs, out: Path, limit: int | None) -> tuple[float, int, dict]:
    """The baseline: the papermill command, once per run, sequentially."""
    import yaml

    out.mkdir(parents=True, exist_ok=True)
    chosen = runs if limit is None else runs[:limit]
    results = {}
    t0 = time.perf_counter()
    for run in chosen:
        params = dict(run.parameters)
        results_path = out / f"{run.id}.json"
        params["results_path"] = str(results_path)
        pfile = out / f"{run.id}.params.yaml"
        # -f with a YAML file, not -p: `-p ward 00617` would inject the integer 617
        pfile.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
        cmd = [
            str(BIN / "papermill"),
            str(run.notebook.path),
            str(out / f"{run.id}.ipynb"),
            "-f",
            str(pfile),
            "--cwd",
            str(run.notebook.path.parent),
            "-k",
            "python3",
            "--no-progress-bar",
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode == 0 and results_path.exists():
            results[run.id] = json.loads(results_path.read_text(encoding="utf-8"))
    return time.perf_counter() - t0, len(chosen), results


def measure_floor(plan: Path, workers: int, out: Path) -> dict:
    """The compute of every run, measured in a fresh warm process (see :func:`_floor_main`)."""
    out.mkdir(parents=True, exist_ok=True)
    result = out / "floor.json"
    cmd = [sys.executable, __file__, "--floor-of", str(plan), "--workers", str(workers)]
    subprocess.run(cmd + ["--floor-out", str(result)], check=True)
    return json.loads(result.read_text(encoding="utf-8"))


def _floor_main(plan_path: Path, workers: int, result: Path) -> None:
    """In its own process: import what the warm server imports, then fork each run in turn
    and sum the time its cells took (not papermill's or the report's)."""
    import papermill

    from evaluation.batch.engine import ENGINE_NAME
    from evaluation.batch.forkserver import cpu_count, default_preload, limit_threads, warm
    from evaluation.batch.plan import load_plan

    plan = load_plan(plan_path)
    warm(default_preload(plan))
    threads = max(1, cpu_count() // workers)
    scratch = Path(tempfile.mkdtemp(prefix="pilot-eval-floor-"))
    compute: dict[str, float] = {}
    for run in plan.runs():
        params = {**run.parameters, "results_path": str(scratch / f"{run.id}.json")}
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: exactly what a batch run computes, timed cell by cell
            os.close(read)
            seconds = math.nan
            try:
                limit_threads(threads)
                os.chdir(run.notebook.path.parent)
                nb = papermill.execute_notebook(
                    str(run.notebook.path),
                    None,
                    parameters=params,
                    engine_name=ENGINE_NAME,
                    progress_bar=False,
                )
                seconds = sum(
                    c.metadata.papermill.get("duration") or 0.0
                    for c in nb.cells
                    if c.cell_type == "code"
                )
            except BaseException:
                traceback.print_exc()
            finally:
                os.write(write, json.dumps(seconds).encode())
                os._exit(0)
        os.close(write)
        with os.fdopen(read) as fh:
            compute[run.id] = json.loads(fh.read() or "NaN")
        os.waitpid(pid, 0)
    shutil.rmtree(scratch, ignore_errors=True)
    result.write_text(json.dumps({"threads": threads, "compute": compute}), encoding="utf-8")


def compare_findings(manifest: dict, batch_out: Path, pm_results: dict) -> tuple[int, int]:
    """(findings compared, different): papermill's estimates against the batch's."""
    ours = {}
    for r in manifest["runs"]:
        if r["status"] == "ok":
            ours[r["id"]] = json.loads(
                (batch_out / r["outputs"]["results"]).read_text(encoding="utf-8")
            )
    compared = mismatched = 0
    for rid, found in pm_results.items():
        if len(found) != len(ours.get(rid, [])):
            mismatched += 1
            continue
        for a, b in zip(found, ours[rid], strict=True):
            compared += 1
            if a.get("estimate") is not None and not math.isclose(
                a["estimate"], b["estimate"], rel_tol=1e-9, abs_tol=1e-12
            ):
                mismatched += 1
    return compared, mismatched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--plan", type=Path, help="batch plan (default: see above)")
    ap.add_argument("--workers", type=int, help="pilot-eval workers (default: all cores)")
    ap.add_argument("--engine", default="inprocess", choices=("inprocess", "kernel"))
    ap.add_argument(
        "--papermill-runs",
        type=int,
        metavar="K",
        help="time only the first K papermill runs and extrapolate",
    )
    ap.add_argument("--keep", action="store_true", help="keep the output folders")
    ap.add_argument("--floor-of", type=Path, help=argparse.SUPPRESS)  # the floor's own process
    ap.add_argument("--floor-out", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor_of:
        _floor_main(args.floor_of, args.workers, args.floor_out)
        return

    from evaluation.batch.forkserver import cpu_count
    from evaluation.batch.plan import load_plan

    plan_path = args.plan or default_plan()
    runs = load_plan(plan_path).runs()
    tmp = Path(tempfile.mkdtemp(prefix="pilot-eval-bench-"))
    tuned = {v: os.environ[v] for v in TUNING_VARIABLES if v in os.environ}
    print(
        f"plan: {plan_path}  ({len(runs)} runs)   cores: {cpu_count()}   "
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}\n"
        f"tuning variables in the environment: {tuned or 'none'}"
    )

    # papermill first, so that any first-use disk caching favours the baseline, not us
    pm_seconds, pm_n, pm_results = time_papermill(runs, tmp / "papermill", args.papermill_runs)
    pm_total = pm_seconds * len(runs) / pm_n
    batch, manifest = time_batch(plan_path, tmp / "batch", args.workers, args.engine)
    workers = manifest["options"].get("workers") or 1
    floor = measure_floor(plan_path, workers, tmp / "floor")

    statuses = [r["status"] for r in manifest["runs"]]
    print(
        f"\npapermill CLI, sequential: {pm_seconds:8.2f} s for {pm_n} runs "
        f"= {pm_seconds / pm_n:.2f} s/run"
        + (f" → {pm_total:.1f} s for all {len(runs)} (extrapolated)" if pm_n < len(runs) else "")
    )
    print(
        f"pilot-eval batch ({workers} workers, {args.engine}): {batch:8.2f} s for {len(runs)} "
        f"runs = {batch / len(runs):.2f} s/run, HTML and index included "
        f"({statuses.count('ok')} ok)"
    )
    warm = manifest["options"].get("warm_worker") or {}
    if warm:
        run_time = sum(r.get("duration_s") or 0 for r in manifest["runs"])
        print(
            f"   of which: warm worker start-up {warm.get('seconds', math.nan):.2f} s, "
            f"runs {run_time:.2f} s in total ({run_time / len(runs):.3f} s/run in a worker)"
        )
    print(f"\nratio papermill / pilot-eval: {pm_total / batch:.1f}×  (target ≥ 5×)")

    compute = floor["compute"]
    total = sum(compute.values())
    floor_s = total / workers
    longest = max(compute, key=compute.get)
    print(
        f"floor: {total:.2f} s of compute over {len(compute)} runs ({floor['threads']} BLAS "
        f"thread(s) each) / {workers} workers = {floor_s:.2f} s; the batch takes "
        f"{batch / floor_s:.2f}× the floor ({batch - floor_s:+.2f} s)\n"
        f"   longest single run: {longest} {compute[longest]:.2f} s"
    )

    print(
        f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        "(other work on the machine during the run makes the figures worse, not better)"
    )
    compared, mismatched = compare_findings(manifest, tmp / "batch", pm_results)
    print(f"findings compared with papermill's: {compared}, different: {mismatched}")
    if args.keep:
        print(f"outputs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if mismatched:
        sys.exit(1)


if __name__ == "__main__":
    main()
