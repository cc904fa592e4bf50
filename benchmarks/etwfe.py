"""Speed and agreement of ev's Poisson extended TWFE against diff-diff's WooldridgeDiD(method=
"poisson"), measured in the same run.

Both fit Wooldridge's (2023) Poisson ETWFE — a cohort × period effect for every treated cell,
never- and not-yet-treated cells as the comparison — on mpdta (500 counties × 5 years,
employment exp(lemp), no covariates) and on a fire-like panel of the district's design (13
wards × 48 months of rare counts, :func:`evaluation.synthetic.counts.fire_like_panel`; without
the exposure offset, which diff-diff's Poisson path does not take). Printed: the cohort × period
effects on the count scale (largest difference), the overall count-scale ATT of both, and the
median wall time of a fit with cluster-robust standard errors, with the ratio. ev's
randomization inference (what ``inference="auto"`` runs with 13 wards) is timed too; diff-diff
has no randomization inference for this estimator.

Usage::

    .venv/bin/python benchmarks/etwfe.py [--repeats 5]
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from evaluation.data.prepare import prepare  # noqa: E402
from evaluation.estimators.etwfe import etwfe, fit_etwfe  # noqa: E402
from evaluation.synthetic.counts import fire_like_panel  # noqa: E402

MPDTA = HERE.parent.parent / "shared" / "reference-data" / "mpdta.csv"


def _timed(fn, repeats: int) -> tuple[float, object]:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def _ev_cells(d, outcome, unit, time_, cohort):
    prep = prepare(d, outcome, unit, time_, cohort, estimator="etwfe", count_outcome=True,
                   one_row_per_cell=True, allow_always_treated=False)  # fmt: skip
    fit = fit_etwfe(prep)
    rows = fit.rows.assign(diff=fit.rows["mu1"] - fit.rows["mu0"])
    cells = rows.groupby(["group", "time"])["diff"].mean()
    return cells, float(rows["diff"].mean())


def compare(name: str, d: pd.DataFrame, outcome, unit, time_, cohort, first_treat, repeats):
    from diff_diff import WooldridgeDiD

    def ours():
        return etwfe(d, outcome, unit, time_, cohort, inference="cluster")

    def theirs():
        return WooldridgeDiD(method="poisson", cluster=unit).fit(
            d, outcome, unit, time_, first_treat
        )

    t_ev, _ = _timed(ours, repeats)
    t_dd, res = _timed(theirs, repeats)
    cells, att = _ev_cells(d, outcome, unit, time_, cohort)
    dd = pd.Series({(g, t): v["att"] for (g, t), v in res.group_time_effects.items()})
    common = [k for k in dd.index if any(_same(k, c) for c in cells.index)]
    ours_c = np.array([cells[[c for c in cells.index if _same(k, c)][0]] for k in common])
    diff = np.max(np.abs(ours_c - dd[common].to_numpy())) if common else float("nan")
    print(f"\n{name}: {len(d)} rows, {len(common)} cohort × period cells in both")
    print(f"  largest difference of a cell's count-scale effect: {diff:.2e}")
    print(f"  overall ATT (count scale): ev {att:.6f}   diff-diff {res.overall_att:.6f}")
    print(f"  fit + cluster-robust SEs, median of {repeats}: ev {t_ev * 1e3:.0f} ms, "
          f"diff-diff {t_dd * 1e3:.0f} ms, ratio ev/diff-diff {t_ev / t_dd:.2f}")  # fmt: skip
    return t_ev


def _same(k, c) -> bool:
    return pd.Timestamp(k[0]) == pd.Timestamp(c[0]) and pd.Timestamp(k[1]) == pd.Timestamp(c[1]) \
        if not isinstance(c[0], (int, np.integer, float)) else (k[0] == c[0] and k[1] == c[1])  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    if MPDTA.exists():
        d = pd.read_csv(MPDTA)
        d["emp"] = np.exp(d["lemp"])
        d["cohort"] = d["first.treat"].replace(0, np.nan)
        compare("mpdta", d, "emp", "countyreal", "year", "cohort", "first.treat", args.repeats)
    else:
        print(f"mpdta not found at {MPDTA}: skipped")
    f = fire_like_panel(np.random.default_rng(1), effect=-0.2)
    months = np.sort(f["month"].unique())
    pos = {m: i + 1 for i, m in enumerate(months)}
    f["t"] = f["month"].map(pos)
    f["g"] = f["cohort"].map(pos).fillna(0).astype(int)
    f["g_nan"] = f["g"].replace(0, np.nan)
    compare("fire-like panel (13 wards × 48 months)", f, "fires", "ward", "t", "g_nan", "g",
            args.repeats)  # fmt: skip
    t0 = time.perf_counter()
    est = etwfe(f, "fires", "ward", "t", "g_nan", exposure="population")
    print(f"  ev with inference='auto' ({est.inference_method}, 999 re-assignments, interval "
          f"by test inversion): {time.perf_counter() - t0:.1f} s")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
