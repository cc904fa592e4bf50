"""A generated city's monthly batch, timed by stage, through the command users run.

Generates a city of N units (:func:`evaluation.synthetic.scenarios.city_scenario`: N wards and
communes with names and codes, in districts or not, ~4 junctions each, three years of daily
junction × peak traffic, fires and security, three programmes rolled out area by area with
planted effects — one of them none), cached under the temporary folder by N, seed and districts;
writes a plan as a user would (``params/monthly.yaml`` copied, its ``data``, ``registry`` and
``out`` changed); runs ``pilot-eval batch PLAN`` (the real command, with a fresh analysis cache
so that every finding is computed) and prints:

* per stage — ``read`` (tables read and checked), ``panels`` (ward × period panels built),
  ``findings`` (estimates, inference, checks), ``reports`` (executed notebooks and HTML pages
  written), ``other`` (the rest of the runs: figures, tables, papermill), summed over the runs
  as each run's process recorded them (``manifest.json``: ``runs[].stages``), and ``index``
  (findings read back, ``findings.csv``/``.xlsx``, the index page; ``manifest.json``:
  ``stages``) — and the wall time of the whole command;
* peak memory: of the whole process tree (the batch and its workers, sampled every 0.2 s) and
  of the largest single process (a worker: each run records its process's peak);
* one JSON line last: ``units``, ``wall_s``, ``peak_rss_mb``, ``findings``, ``executor`` (and
  the details).

    .venv/bin/python benchmarks/city.py --units 126
    .venv/bin/python benchmarks/city.py --units 580 --districts 29 --workers 2
    .venv/bin/python benchmarks/city.py --units 126 --executor dask     # needs a pilot-eval
                                                                        # that starts a cluster

``--skip rollout_plan`` leaves a notebook out of the plan (stated in the output), to time the rest
of the batch when one step dominates.

Without ``--districts`` a city of up to 126 units has no district level (Hà Nội since 1 July
2025) and a larger one has districts of about 20 wards (before).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STAGES = ("read", "panels", "findings", "reports")


def default_districts(units: int) -> int:
    """No district level up to 126 units (the city since 1 July 2025), else ~20 wards each."""
    return 0 if units <= 126 else round(units / 20)


def city_folder(units: int, seed: int, districts: int) -> Path:
    """The generated city's data (written once per N, seed and districts, then reused)."""
    base = Path(tempfile.gettempdir()) / "pilot-eval-city" / f"n{units}-s{seed}-d{districts}"
    done = base / "written"
    if not done.exists():
        from evaluation.synthetic.scenarios import city_scenario, write_district

        t0 = time.perf_counter()
        shutil.rmtree(base, ignore_errors=True)
        scenario = city_scenario(units, seed, districts=districts)
        write_district(base / "data", scenario, seed=seed)
        done.write_text("ok\n", encoding="utf-8")
        print(f"generated the city in {time.perf_counter() - t0:.1f} s: {base / 'data'}")
    return base / "data"


def write_plan(data: Path, folder: Path, units: int, skip: tuple[str, ...] = ()) -> Path:
    """``params/monthly.yaml`` copied beside the run, as the README tells a user to (less the
    notebooks named in ``skip``, to time the rest of a batch when one step dominates)."""
    text = (ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8")
    replaced = {
        "data: ../data/demo": f"data: {data}",
        "registry: pilots.yaml": f"registry: {data / 'pilots.yaml'}",
        "out: ../output": "out: out",
    }
    for old, new in replaced.items():
        if old not in text:
            sys.exit(f"params/monthly.yaml has no line {old!r}: update benchmarks/city.py")
        text = text.replace(old, new)
    lines = text.splitlines()
    lines = [
        f'title: "Thành phố mô phỏng, {units} đơn vị / simulated city, {units} units"'
        if line.startswith("title:")
        else line
        for line in lines
    ]
    for name in skip:
        kept = [line for line in lines if f"notebooks/{name}.ipynb" not in line]
        if len(kept) == len(lines):
            sys.exit(f"--skip {name}: params/monthly.yaml lists no notebooks/{name}.ipynb")
        lines = kept
    plan = folder / "plan.yaml"
    plan.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return plan


class TreeMemory:
    """Samples the resident memory of a process and all its descendants (Linux /proc)."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every = pid, every
        self.peak_total_mb = 0.0
        self.peak_process_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        page = os.sysconf("SC_PAGE_SIZE") / 2**20
        while not self._stop.is_set():
            rss = _tree_rss(self.pid, page)
            if rss:
                self.peak_total_mb = max(self.peak_total_mb, sum(rss))
                self.peak_process_mb = max(self.peak_process_mb, max(rss))
            self._stop.wait(self.every)


def _tree_rss(root: int, page_mb: float) -> list[float]:
    children: dict[int, list[int]] = {}
    rss: dict[int, float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)  # fields[1]: the parent's pid
        rss[pid] = int(fields[21]) * page_mb  # fields[21]: resident pages
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid in rss:
            out.append(rss[pid])
        todo += children.get(pid, [])
    return out


def run_batch(plan: Path, out: Path, executor: str, workers: int | None, cache: Path):
    cmd = [str(BIN / "pilot-eval"), "batch", str(plan), "--out", str(out), "--quiet"]
    cmd += ["--executor", executor] + (["--workers", str(workers)] if workers else [])
    env = {**os.environ, "PILOT_EVAL_CACHE": str(cache)}  # every finding computed afresh
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=plan.parent
    )
    with TreeMemory(proc.pid) as memory:
        stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        hint = ""
        if executor == "dask" and "--scheduler" in stderr:
            hint = "\n(this pilot-eval cannot start a Dask cluster itself yet: give it one)"
        sys.exit(f"pilot-eval failed ({proc.returncode}):\n{stdout}\n{stderr}{hint}")
    return wall, memory, stdout


def summarise(out: Path, wall: float, memory: TreeMemory) -> dict:
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    runs = manifest["runs"]
    stages = dict.fromkeys(STAGES, 0.0)
    run_seconds = 0.0
    per_worker: dict[str, float] = {}
    for r in runs:
        run_seconds += r.get("duration_s") or 0.0
        for k, v in (r.get("stages") or {}).items():
            stages[k] = stages.get(k, 0.0) + v
        w = r.get("worker") or {}
        key = f"{w.get('host')}:{w.get('pid')}"
        per_worker[key] = max(per_worker.get(key, 0.0), r.get("peak_rss_mb") or 0.0)
    stages["other"] = max(0.0, run_seconds - sum(stages[k] for k in STAGES))
    stages["index"] = (manifest.get("stages") or {}).get("index", 0.0)
    with open(out / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        findings = sum(1 for _ in csv.DictReader(fh))
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    slowest = sorted(runs, key=lambda r: -(r.get("duration_s") or 0.0))[:3]
    return {
        "wall_s": round(wall, 1),
        "stages_s": {k: round(v, 1) for k, v in stages.items()},
        "run_seconds": round(run_seconds, 1),
        "runs": statuses,
        "findings": findings,
        "finding_records": sum(r.get("n_findings") or 0 for r in runs),
        "peak_rss_mb": round(memory.peak_total_mb, 1),
        "peak_process_rss_mb": round(memory.peak_process_mb, 1),
        "peak_run_rss_mb": round(max(per_worker.values(), default=0.0), 1),
        "workers": manifest["options"].get("workers"),
        "slowest": {r["id"]: r.get("duration_s") for r in slowest},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--units", type=int, required=True, help="units (wards and communes)")
    ap.add_argument("--executor", choices=("local", "dask"), default="local")
    ap.add_argument("--workers", type=int, default=None, help="runs at a time (local)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--districts", type=int, default=None, help="districts (0: none; default by size)"
    )
    ap.add_argument("--keep", type=Path, default=None, help="keep the run folder here")
    ap.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="NOTEBOOK",
        help="leave a notebook of the plan out (e.g. rollout_plan), to time the rest; repeatable",
    )
    args = ap.parse_args(argv)
    districts = default_districts(args.units) if args.districts is None else args.districts
    data = city_folder(args.units, args.seed, districts)
    with tempfile.TemporaryDirectory(prefix="pilot-eval-city-run-") as tmp:
        folder = Path(tmp)
        plan = write_plan(data, folder, args.units, tuple(args.skip))
        out = folder / "out"
        load = os.getloadavg()
        wall, memory, _ = run_batch(plan, out, args.executor, args.workers, folder / "cache")
        result = summarise(out, wall, memory)
        if args.keep:
            shutil.rmtree(args.keep, ignore_errors=True)
            shutil.copytree(out, args.keep)
    s = result["stages_s"]
    print(f"city: {args.units} units, {districts or 'no'} districts, seed {args.seed}; "
          f"executor {args.executor}, {result['workers']} workers; "
          + (f"without {', '.join(args.skip)}; " if args.skip else "") +
          f"load average before {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")  # fmt: skip
    print(
        f"runs: {result['runs']}; findings: {result['findings']} in findings.csv "
        f"({result['finding_records']} records of the runs, a finding shown on several pages "
        "counted on each)"
    )
    print(f"{'stage':<10}{'seconds':>10}   (summed over the runs' processes; index: the batch)")
    for k in (*STAGES, "other", "index"):
        print(f"{k:<10}{s.get(k, 0.0):>10.1f}")
    print(f"{'runs':<10}{result['run_seconds']:>10.1f}   (all runs' durations, summed)")
    print(f"{'wall':<10}{result['wall_s']:>10.1f}   (pilot-eval batch, start to exit)")
    print(f"peak memory: {result['peak_rss_mb']:.0f} MiB the whole tree, "
          f"{result['peak_process_rss_mb']:.0f} MiB the largest process, "
          f"{result['peak_run_rss_mb']:.0f} MiB the largest run's process")  # fmt: skip
    print(f"slowest runs: {result['slowest']}")
    line = {
        "units": args.units,
        "wall_s": result["wall_s"],
        "peak_rss_mb": result["peak_rss_mb"],
        "findings": result["findings"],
        "executor": args.executor,
        "districts": districts,
        "workers": result["workers"],
        "peak_worker_rss_mb": max(result["peak_process_rss_mb"], result["peak_run_rss_mb"]),
        "finding_records": result["finding_records"],
        "stages_s": s,
        "runs": result["runs"],
        "skipped": args.skip,
    }
    print(json.dumps(line, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
