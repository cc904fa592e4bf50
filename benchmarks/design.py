"""Benchmark: power and minimum detectable effect (MDE) for the district's rollout.

Data: the demo district's weekly congestion minutes, 13 wards and the 5 bordering
wards of other districts that never took the programme × 104 weeks (2023-01-02 to
2024-12-23), with the registry's design (the pilot ward, then three waves of four).

Tasks, each timed in this one run (median of ``--repeat`` calls after a warm-up), in the
environment as it is (no thread settings):

* ours: ``mde`` of TWFE and of Callaway & Sant'Anna's simple ATT (not-yet-treated
  comparisons) with randomization inference — 1,000 re-drawn assignments, each tested with
  the analysis's 9,999 re-assignments — and ``power`` at one effect (TWFE);
* ours with the peers' test: ``power`` of Callaway & Sant'Anna's simple ATT with its
  influence-function z-test (``inference="analytic"``), batched, and the same by refitting
  att_gt on each replication's data (``REFIT_REPS`` replications, scaled in the ratio);
* peer diff-diff (``pip install diff-diff``): ``simulate_power`` and ``simulate_mde`` with its
  ``CallawaySantAnna(control_group="not_yet_treated")`` and a data generator that does what
  ours does (re-draws which wards take which planned start on the demo panel and adds the
  effect to the treated cells); its test is the influence-function z-test (it has no
  randomization inference), with ``--peer-sims`` replications for the power and
  ``--peer-mde-sims`` per bisection step of the MDE;
* peer moderndid (``pip install moderndid``): no power tool, so the loop a user would write —
  re-draw, add the effect, ``att_gt`` + ``aggte`` — for ``--moderndid-sims`` replications.

Peers are skipped cleanly when absent. Ratios are peer time / our time (> 1: we are faster);
the peers run fewer replications than ours (and a cheaper test), so the ratio at equal work,
printed beside it, scales their time to our 1,000 replications.

Usage::

    .venv/bin/python benchmarks/design.py
    .venv/bin/python benchmarks/design.py --repeat 1 --peer-sims 50 --moderndid-sims 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUTCOME = "congestion_minutes"
REPS = 1000
#: replications of the refit path (scaled to REPS in the ratios)
REFIT_REPS = 50


def demo_panel() -> pd.DataFrame:
    from evaluation.analysis.district import load_district

    w = load_district().traffic_weekly("traffic_model")
    w = w[w["period_start"] < pd.Timestamp("2024-12-30")].reset_index(drop=True)
    # the district's 13 wards and the bordering wards of other districts that never took the
    # programme (never-treated comparisons, as the rollout analysis uses them)
    assert w["period_start"].nunique() == 104 and w["ward"].nunique() >= 13
    return w[["ward", "period_start", OUTCOME, "cohort"]]


def timed(fn, repeat: int):
    fn()  # warm-up (imports, caches)
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


class Redraw:
    """The peers' data generator: the demo panel with the planned cohorts permuted across
    wards and the effect added to the treated cells — the same replication as ours."""

    def __init__(self, panel: pd.DataFrame):
        times = sorted(panel["period_start"].unique())
        pos = {t: i + 1 for i, t in enumerate(times)}
        self.units = sorted(panel["ward"].unique())
        code = {u: i + 1 for i, u in enumerate(self.units)}
        self.base = pd.DataFrame(
            {
                "unit": panel["ward"].map(code).to_numpy(),
                "period": panel["period_start"].map(pos).to_numpy(),
                "outcome": panel[OUTCOME].to_numpy(dtype=float),
            }
        )
        first = panel.groupby("ward")["cohort"].first()
        self.cohorts = np.array(
            [pos.get(first[u], 0) if pd.notna(first[u]) else 0 for u in self.units]
        )

    def __call__(self, treatment_effect=0.0, seed=None, **_):
        rng = np.random.default_rng(seed)
        g = rng.permutation(self.cohorts)[self.base["unit"].to_numpy() - 1]
        d = self.base.copy()
        treated = (g > 0) & (d["period"].to_numpy() >= g)
        d["first_treat"] = g
        d["outcome"] = d["outcome"] + treatment_effect * treated
        return d


def ours(panel, repeat):
    from evaluation.design.power import mde, power

    args = (panel, OUTCOME, "ward", "period_start", "cohort")
    rows = []
    t, m = timed(lambda: mde(*args, estimator="twfe", inference="randomization", reps=REPS), repeat)
    rows.append(("ours: mde, TWFE, randomization inference", t, m.mde, REPS))
    opts = {"control": "notyet"}
    t, m = timed(
        lambda: mde(*args, estimator="att_gt", options=opts, inference="randomization", reps=REPS),
        repeat,
    )
    rows.append(("ours: mde, att_gt (not-yet), randomization inference", t, m.mde, REPS))
    t, p = timed(lambda: power(*args, effect=-3.0, inference="randomization", reps=REPS), repeat)
    rows.append(("ours: power at −3 min, TWFE, randomization inference", t, p.power, REPS))
    t, p = timed(
        lambda: power(
            *args,
            effect=-3.0,
            estimator="att_gt",
            options=opts,
            inference="randomization",
            reps=REPS,
        ),
        repeat,
    )
    rows.append(("ours: power at −3 min, att_gt, randomization inference", t, p.power, REPS))
    # the peers' test: att_gt's influence-function z-test — batched (each replication's
    # estimate and influence function are linear in the outcome), and by refitting att_gt on
    # every replication's data (what the design stage did before; fewer replications)
    analytic = dict(effect=-3.0, estimator="att_gt", options=opts, inference="analytic")
    t, p = timed(lambda: power(*args, reps=REPS, **analytic), repeat)
    rows.append(("ours: power at −3 min, att_gt, influence-function z-test", t, p.power, REPS))
    from evaluation.design import power as power_module

    batched = power_module._influence_pieces
    power_module._influence_pieces = lambda plan: None  # force the refit path
    try:
        t, p = timed(lambda: power(*args, reps=REFIT_REPS, **analytic), 1)
    finally:
        power_module._influence_pieces = batched
    rows.append(("ours, refitting att_gt per replication (same test)", t, p.power, REFIT_REPS))
    return rows


def diff_diff_rows(panel, sims, mde_sims):
    try:
        import diff_diff
    except ImportError:
        print("diff-diff not installed: skipped (pip install diff-diff)")
        return []
    gen = Redraw(panel)
    cs = diff_diff.CallawaySantAnna(control_group="not_yet_treated")
    common = dict(n_units=len(gen.units), n_periods=104, data_generator=gen, seed=1, progress=False)
    rows = []
    t0 = time.perf_counter()
    res = diff_diff.simulate_power(cs, treatment_effect=-3.0, n_simulations=sims, **common)
    rows.append(
        ("diff-diff simulate_power, CallawaySantAnna", time.perf_counter() - t0, res.power, sims)
    )
    t0 = time.perf_counter()
    res = diff_diff.simulate_mde(cs, n_simulations=mde_sims, effect_range=(0.0, 12.0), **common)
    rows.append(
        ("diff-diff simulate_mde, CallawaySantAnna", time.perf_counter() - t0, res.mde, mde_sims)
    )
    return rows


def moderndid_rows(panel, sims):
    try:
        import moderndid
    except ImportError:
        print("moderndid not installed: skipped (pip install moderndid)")
        return []
    gen = Redraw(panel)
    from scipy import stats

    def run():
        hits = 0
        for s in range(sims):
            d = gen(treatment_effect=-3.0, seed=s)
            m = moderndid.att_gt(
                d,
                yname="outcome",
                tname="period",
                idname="unit",
                gname="first_treat",
                control_group="notyettreated",
                est_method="reg",
            )
            a = moderndid.aggte(m, type="simple")
            hits += 2 * stats.norm.sf(abs(a.overall_att / a.overall_se)) < 0.05
        return hits / sims

    t0 = time.perf_counter()
    p = run()
    return [("moderndid loop: att_gt + aggte per replication", time.perf_counter() - t0, p, sims)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer-sims", type=int, default=100)
    ap.add_argument("--peer-mde-sims", type=int, default=50)
    ap.add_argument("--moderndid-sims", type=int, default=10)
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    panel = demo_panel()
    mine = ours(panel, a.repeat)
    peers = diff_diff_rows(panel, a.peer_sims, a.peer_mde_sims) + moderndid_rows(
        panel, a.moderndid_sims
    )
    print(
        f"\n{panel['ward'].nunique()} wards × 104 weeks; ours: {REPS} replications × 9,999 re-assignments each"
    )
    print(f"{'task':58s} {'seconds':>9s} {'result':>9s} {'reps':>6s}")
    for name, t, value, n in mine + peers:
        print(f"{name:58s} {t:9.2f} {value:9.3f} {n:6d}")
    ref = {"power": mine[3][1], "mde": mine[1][1]}  # our att_gt rows
    print("\nratios (peer / ours; > 1 = ours faster), as measured and at equal replications:")
    for name, t, _, n in peers:
        ours_t = ref["mde"] if "mde" in name else ref["power"]
        print(f"  {name:56s} {t / ours_t:8.1f}×   {t / n * REPS / ours_t:10.0f}×")
    same = mine[4][1]  # the influence-function z-test, batched: the same test as the refit's
    print("\nthe same test (att_gt's influence-function z-test), other / ours batched:")
    for name, t, _, n in [mine[5], *(r for r in peers if "simulate_power" in r[0])]:
        print(f"  {name:56s} {t / same:8.1f}×   {t / n * REPS / same:10.0f}×")


if __name__ == "__main__":
    main()
