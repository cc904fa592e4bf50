"""Time the batch against a plain sequential loop of the `papermill` command (issue 5, item 7).

Both sides run the same notebooks with the same parameters in this one invocation, from a cold
start (each side pays its own Python start-up and imports), on the same machine:

* ours:      ``pilot-eval batch PLAN --out DIR --quiet`` — warm fork server, N workers, and
             everything a batch writes (executed notebooks, HTML reports, index, tables);
* papermill: for each run, ``papermill IN OUT -f params.yaml --cwd NB_DIR -k python3``, one
             after another (executed notebooks only: no HTML, no index).

It prints both wall-clock times, seconds per run, the ratio (target: ≥ 5× on 2 cores), and
checks that both sides computed the same findings (a second implementation of the run).

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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MONTHLY = ROOT / "params" / "monthly.yaml"
FIXTURE_PLAN = ROOT / "tests" / "fixtures" / "notebooks" / "bench_plan.yaml"
BIN = Path(sys.executable).parent


def default_plan() -> Path:
    """params/monthly.yaml once its notebooks exist; until then the fixture stand-in."""
    from evaluation.batch import load_plan
    from evaluation.errors import PlanError

    try:
        load_plan(MONTHLY)
        return MONTHLY
    except PlanError as exc:
        print(f"(params/monthly.yaml not runnable yet: {exc})\n(using {FIXTURE_PLAN})\n")
        return FIXTURE_PLAN


def time_ours(plan: Path, out: Path, workers: int | None, engine: str) -> tuple[float, dict]:
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
    args = ap.parse_args()

    from evaluation.batch import load_plan

    plan_path = args.plan or default_plan()
    runs = load_plan(plan_path).runs()
    tmp = Path(tempfile.mkdtemp(prefix="pilot-eval-bench-"))
    print(
        f"plan: {plan_path}  ({len(runs)} runs)   cores: {os.cpu_count()}   "
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )

    # papermill first, so that any first-use disk caching favours the baseline, not us
    pm_seconds, pm_n, pm_results = time_papermill(runs, tmp / "papermill", args.papermill_runs)
    pm_total = pm_seconds * len(runs) / pm_n
    ours, manifest = time_ours(plan_path, tmp / "ours", args.workers, args.engine)

    statuses = [r["status"] for r in manifest["runs"]]
    workers = manifest["options"].get("workers")
    print(
        f"\npapermill CLI, sequential: {pm_seconds:8.2f} s for {pm_n} runs "
        f"= {pm_seconds / pm_n:.2f} s/run"
        + (f" → {pm_total:.1f} s for all {len(runs)} (extrapolated)" if pm_n < len(runs) else "")
    )
    print(
        f"pilot-eval batch ({workers} workers, {args.engine}): {ours:8.2f} s for {len(runs)} "
        f"runs = {ours / len(runs):.2f} s/run, HTML and index included "
        f"({statuses.count('ok')} ok)"
    )
    warm = manifest["options"].get("warm_worker") or {}
    if warm:
        run_time = sum(r.get("duration_s") or 0 for r in manifest["runs"])
        print(
            f"   of which: warm worker start-up {warm.get('seconds', math.nan):.2f} s, "
            f"runs {run_time:.2f} s in total ({run_time / len(runs):.3f} s/run in a worker)"
        )
    print(f"\nratio papermill / pilot-eval: {pm_total / ours:.1f}×  (target ≥ 5×)")

    # the same numbers on both sides: papermill and a real kernel are a second implementation
    ours_findings = {}
    for r in manifest["runs"]:
        if r["status"] == "ok":
            ours_findings[r["id"]] = json.loads(
                (tmp / "ours" / r["outputs"]["results"]).read_text(encoding="utf-8")
            )
    compared = mismatched = 0
    for rid, found in pm_results.items():
        if rid in ours_findings:
            for a, b in zip(found, ours_findings[rid], strict=True):
                compared += 1
                if a.get("estimate") is not None and not math.isclose(
                    a["estimate"], b["estimate"], rel_tol=1e-9, abs_tol=1e-12
                ):
                    mismatched += 1
    print(f"findings compared with papermill's: {compared}, different: {mismatched}")
    if args.keep:
        print(f"outputs kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    if mismatched:
        sys.exit(1)


if __name__ == "__main__":
    main()
