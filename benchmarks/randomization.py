"""How long randomization inference takes: re-fitting per assignment vs the vectorised path.

Times ``ev.twfe(..., inference="randomization")`` and
``ev.att_gt(...).aggregate("simple", inference="randomization")`` on a district panel (13 wards
× 104 weeks) with the estimators' exact vectorised batch (the default) and with it switched
off, so that the estimator is re-run on every re-assigned data set (the generic path), and
checks that both give the same p-value and interval.

Usage::

    .venv/bin/python benchmarks/randomization.py [--reps 999]
"""

from __future__ import annotations

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

import evaluation as ev  # noqa: E402
from evaluation.estimators import att_gt as att_gt_module  # noqa: E402
from evaluation.estimators import twfe as twfe_module  # noqa: E402


def district(cohorts, seed=1, n_t=104):
    rng = np.random.default_rng(seed)
    n = len(cohorts)
    e = np.zeros((n, n_t))
    for t in range(n_t):
        e[:, t] = (0.5 * e[:, t - 1] if t else 0.0) + rng.normal(size=n)
    y = 28 + 7 * rng.normal(size=(n, 1)) + 3 * rng.normal(size=(1, n_t)) + 2 * e
    return pd.DataFrame(
        {
            "ward": np.repeat([f"w{i:02d}" for i in range(n)], n_t),
            "week": np.tile(np.arange(n_t), n),
            "y": y.ravel(),
            "cohort": np.repeat(np.asarray(cohorts, dtype=float), n_t),
        }
    )


@contextmanager
def generic_path():
    """Switch the vectorised batches off: every re-assignment re-runs the estimator."""
    saved = twfe_module._randomization_batch, att_gt_module.AttGt._randomization_batch
    twfe_module._randomization_batch = lambda prep: None
    att_gt_module.AttGt._randomization_batch = lambda self, *a: None
    try:
        yield
    finally:
        twfe_module._randomization_batch, att_gt_module.AttGt._randomization_batch = saved


def timed(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=999, help="re-assignments (default 999)")
    args = parser.parse_args(argv)
    pilot = district([58] + [np.nan] * 12)
    rollout = district([np.nan] + [52] * 4 + [61] * 4 + [70] * 4)
    att = ev.att_gt(rollout, "y", "ward", "week", "cohort")
    cases = [
        (
            "twfe, one treated ward (all 13 assignments)",
            lambda: ev.twfe(pilot, "y", "ward", "week", "cohort", inference="randomization"),
        ),
        (
            f"twfe, rollout ({args.reps:,} re-assignments)",
            lambda: ev.twfe(
                rollout, "y", "ward", "week", "cohort", inference="randomization", n_boot=args.reps
            ),
        ),
        (
            f"att_gt simple, rollout ({args.reps:,} re-assignments)",
            lambda: att.aggregate("simple", inference="randomization", reps=args.reps).overall,
        ),
        (
            f"att_gt dynamic, rollout ({args.reps:,} re-assignments)",
            lambda: att.aggregate("dynamic", inference="randomization", reps=args.reps).overall,
        ),
    ]
    cases[0][1]()  # warm up imports
    print("| case | re-fitting (generic) | vectorised | speed-up | same p and CI |")
    print("|---|---|---|---|---|")
    for name, fn in cases:
        fast_t, fast = timed(fn, 5)
        with generic_path():
            slow_t, slow = timed(fn, 1)
        # allclose treats equal infinities (an unbounded interval) as equal
        same = fast.pvalue == slow.pvalue and np.allclose(
            [fast.ci_low, fast.ci_high], [slow.ci_low, slow.ci_high], rtol=0, atol=1e-10
        )
        print(
            f"| {name} | {slow_t:.2f} s | {1000 * fast_t:.0f} ms | {slow_t / fast_t:,.0f}× "
            f"| {'yes' if same else 'NO'} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
