"""Benchmark: the estimators against pyfixest, linearmodels and csdid, measured in one run.

Panels (balanced, synthetic, same seed for every implementation):

* (a) 13 wards × 730 days — the district's daily data (two years);
* (b) 2,000 units × 100 periods;
* (c) 10,000 units × 200 periods (2 million rows).

Tasks and peers:

* TWFE with cluster-robust (CR1, by unit) standard errors — ours (``ev.twfe``,
  ``inference="cluster"``), pyfixest ``feols("y ~ D | unit + time", vcov={"CRV1": "unit"})``,
  linearmodels ``PanelOLS(entity_effects, time_effects).fit(cov_type="clustered")``.
* ATT(g,t) with analytic standard errors and not-yet-treated controls — ours (``ev.att_gt``),
  csdid ``ATTgt(...).fit(est_method="reg", bstrap=False)`` on (a) and (b).
* Event study on (a) — ours with defaults (daily dates → weekly event time, window −4..4,
  binned end points) and with daily event time (``frequency="day"``, window −28..28); peer:
  pyfixest ``feols`` with the same daily event-time dummies ``i(rel, ref=-1)``. pyfixest's
  saturated (cohort × event time) event study took 75 s on (a) when measured for the issue; it
  runs only with ``--slow-peers``.

Each (task, implementation, panel) runs in its own subprocess: the data are built, the call is
run once to warm up, then ``--repeat`` times; the median wall time is reported. Peak memory is
that subprocess's high-water mark (``ru_maxrss``: interpreter, imports, data and the call); the
resident size just before the first call is printed as the baseline. Ratios are peer time /
our time (> 1: we are faster).

Usage::

    .venv/bin/python benchmarks/estimators.py              # full sizes
    .venv/bin/python benchmarks/estimators.py --quick      # smoke run on small panels
    .venv/bin/python benchmarks/estimators.py --slow-peers # also pyfixest's saturated ES on (a)
    .venv/bin/python benchmarks/estimators.py --tasks att_gt  # one task only
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SIZES = {"a": (13, 730), "b": (2000, 100), "c": (10000, 200)}
QUICK = {"a": (13, 120), "b": (200, 20), "c": (1000, 20)}


def simulate(units: int, periods: int, daily: bool = False, seed: int = 7):
    """Balanced staggered panel: three cohorts and a never-treated group, dynamic effects."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(units, dtype=np.int64), periods)
    t = np.tile(np.arange(periods, dtype=np.int64), units)
    starts = np.array([periods * 3 // 10, periods // 2, periods * 7 // 10, -1])
    if units == 13:  # the district: 1 pilot ward, two waves of 4, 4 never treated
        g = np.array([starts[0]] + [starts[1]] * 4 + [starts[2]] * 4 + [-1] * 4)
    else:
        g = rng.choice(starts, size=units)
    cohort = np.where(g < 0, np.nan, g).astype(float)
    treated = t >= np.where(np.isnan(cohort), np.inf, cohort)[unit]
    effect = np.where(treated, 1.0 + 0.01 * (t - np.nan_to_num(cohort)[unit]), 0.0)
    y = rng.normal(size=units)[unit] + np.sin(t / 9.0) + effect + rng.normal(size=units * periods)
    df = pd.DataFrame({"unit": unit, "time": t, "y": y, "cohort": cohort[unit]})
    df["D"] = treated.astype(float)
    if daily:
        day0 = pd.Timestamp("2024-01-01")
        df["date"] = day0 + pd.to_timedelta(df["time"], unit="D")
        df["cohort_date"] = day0 + pd.to_timedelta(df["cohort"], unit="D")
    return df


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _runner(task: str, impl: str, df):
    """A zero-argument callable running one implementation of one task on df."""
    warnings.filterwarnings("ignore")
    if impl == "ours":
        sys.path.insert(0, str(ROOT))
        import evaluation as ev

        if task == "twfe":
            return lambda: ev.twfe(df, "y", "unit", "time", "cohort", inference="cluster")
        if task == "att_gt":
            return lambda: ev.att_gt(df, "y", "unit", "time", "cohort", control="notyet")
        if task == "event_study":
            return lambda: ev.event_study(
                df, "y", "unit", "date", "cohort_date", inference="cluster"
            )
        if task == "event_study_daily":
            return lambda: ev.event_study(
                df,
                "y",
                "unit",
                "date",
                "cohort_date",
                window=(-28, 28),
                frequency="day",
                inference="cluster",
            )
    if impl == "pyfixest":
        import pyfixest as pf

        if task == "twfe":
            return lambda: pf.feols("y ~ D | unit + time", data=df, vcov={"CRV1": "unit"}).se()
        if task == "event_study_daily":
            rel = (df["time"] - df["cohort"]).clip(-28, 28)
            df["rel"] = rel.fillna(-1000.0)
            return lambda: pf.feols(
                "y ~ i(rel, ref=-1.0) | unit + time", data=df, vcov={"CRV1": "unit"}
            ).se()
        if task == "event_study_saturated":
            from pyfixest.did.saturated_twfe import SaturatedEventStudy  # noqa: F401

            df["g"] = df["cohort"].fillna(0).astype(int)
            return lambda: pf.event_study(
                df, yname="y", idname="unit", tname="time", gname="g", estimator="saturated"
            )
    if impl == "linearmodels":
        from linearmodels.panel import PanelOLS

        if task == "twfe":
            panel = df.set_index(["unit", "time"])

            def run():
                m = PanelOLS(panel["y"], panel[["D"]], entity_effects=True, time_effects=True)
                return m.fit(cov_type="clustered", cluster_entity=True).std_errors

            return run
    if impl == "csdid" and task == "att_gt":
        from csdid.att_gt import ATTgt

        d = df.assign(g=df["cohort"].fillna(0).astype(int))

        def run():
            return ATTgt(
                yname="y",
                gname="g",
                idname="unit",
                tname="time",
                data=d,
                control_group="notyettreated",
            ).fit(est_method="reg", bstrap=False)

        return run
    raise SystemExit(f"no runner for {task}/{impl}")


def worker(task: str, impl: str, size: str, quick: bool, repeat: int) -> dict:
    units, periods = (QUICK if quick else SIZES)[size]
    df = simulate(units, periods, daily=task.startswith("event_study"))
    run = _runner(task, impl, df)
    baseline = _rss_mb()
    run()  # warm-up: imports and first-call caches are not what we time
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        run()
        times.append(time.perf_counter() - t0)
    return {
        "task": task,
        "impl": impl,
        "size": size,
        "rows": units * periods,
        "median_s": float(np.median(times)),
        "times": times,
        "baseline_mb": baseline,
        "peak_mb": _rss_mb(),
    }


PLAN = [
    ("twfe", "ours", "abc"),
    ("twfe", "pyfixest", "abc"),
    ("twfe", "linearmodels", "abc"),
    ("att_gt", "ours", "abc"),
    ("att_gt", "csdid", "ab"),
    ("event_study", "ours", "a"),
    ("event_study_daily", "ours", "a"),
    ("event_study_daily", "pyfixest", "a"),
]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="small panels, one repetition")
    p.add_argument("--repeat", type=int, default=None, help="timed repetitions (default 5)")
    p.add_argument("--slow-peers", action="store_true", help="pyfixest saturated ES on (a)")
    p.add_argument("--tasks", default="", help="comma-separated subset, e.g. att_gt,twfe")
    p.add_argument("--worker", nargs=3, metavar=("TASK", "IMPL", "SIZE"), help=argparse.SUPPRESS)
    args = p.parse_args()
    repeat = args.repeat or (1 if args.quick else 5)
    if args.worker:
        task, impl, size = args.worker
        print(json.dumps(worker(task, impl, size, args.quick, repeat)))
        return
    plan = list(PLAN)
    if args.slow_peers:
        plan.append(("event_study_saturated", "pyfixest", "a"))
    if args.tasks:
        wanted = set(args.tasks.split(","))
        plan = [p for p in plan if p[0] in wanted or p[0].split("_daily")[0] in wanted]
    env = dict(os.environ)  # the user's environment, untuned
    results = []
    sizes = QUICK if args.quick else SIZES
    print("panels: " + ", ".join(f"({k}) {u:,} × {t:,}" for k, (u, t) in sizes.items()))
    print(f"{'task':<22}{'impl':<14}{'panel':<7}{'median s':>10}{'peak MB':>10}{'base MB':>10}")
    for task, impl, panels in plan:
        for size in panels:
            cmd = [sys.executable, __file__, "--worker", task, impl, size, "--repeat", str(repeat)]
            if args.quick:
                cmd.append("--quick")
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT)
            if proc.returncode != 0:
                err = (proc.stderr.strip().splitlines() or ["?"])[-1]
                print(f"{task:<22}{impl:<14}{size:<7}{'failed':>10}   {err[:70]}")
                continue
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(r)
            print(
                f"{task:<22}{impl:<14}{size:<7}{r['median_s']:>10.4f}{r['peak_mb']:>10.0f}"
                f"{r['baseline_mb']:>10.0f}"
            )
    print("\nratios (peer median / our median; > 1 means ours is faster)")
    ours = {(r["task"], r["size"]): r["median_s"] for r in results if r["impl"] == "ours"}
    ours[("event_study_saturated", "a")] = ours.get(("event_study", "a"), float("nan"))
    for r in results:
        if r["impl"] == "ours":
            continue
        mine = ours.get((r["task"], r["size"]))
        if mine:
            print(f"  {r['task']:<22}{r['impl']:<14}({r['size']})  {r['median_s'] / mine:8.1f}×")
    targets = [
        ("TWFE on (c) no slower than pyfixest", ("twfe", "c"), "pyfixest", 1.0),
        ("att_gt ≥ 10× faster than csdid on (a)", ("att_gt", "a"), "csdid", 10.0),
        ("att_gt ≥ 10× faster than csdid on (b)", ("att_gt", "b"), "csdid", 10.0),
    ]
    print("\ntargets")
    peers = {(r["task"], r["size"], r["impl"]): r for r in results}
    for text, key, peer, need in targets:
        mine, other = ours.get(key), peers.get((*key, peer))
        if mine and other:
            ratio = other["median_s"] / mine
            print(f"  {text}: {ratio:.1f}× — {'met' if ratio >= need else 'NOT met'}")
    es = ours.get(("event_study", "a"))
    if es is not None:
        print(f"  event_study on (a) under 1 s: {es:.3f} s — {'met' if es < 1 else 'NOT met'}")
    twfe_c = peers.get(("twfe", "c", "ours"))
    if twfe_c:
        ok = twfe_c["peak_mb"] < 1024
        print(
            f"  TWFE on (c) peak memory < 1 GB: {twfe_c['peak_mb']:.0f} MB — "
            f"{'met' if ok else 'NOT met'}"
        )
    if args.quick:
        print("\n(--quick: small panels, figures are a smoke test, not the benchmark)")


if __name__ == "__main__":
    main()
