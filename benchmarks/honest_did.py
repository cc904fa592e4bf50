"""Benchmark: HonestDiD sensitivity analysis, ours against diff-diff's and moderndid's.

Inputs (the same arrays are given to every implementation):

* ``demo 4+4`` — a demo-sized event study: 4 pre-periods and 4 post-periods (seeded).
* ``README 5+2`` — the Medicaid-expansion event study of R HonestDiD's README (5 pre-periods,
  2 post-periods; ``betahat``/``sigma`` as in tests/test_honest_did.py).

Tasks, θ = the first post-period effect (R's default) throughout:

* relative magnitudes, C-LF, M̄ ∈ {0, 0.5, 1, 1.5, 2} (R's default 1,000-point θ-grid);
* smoothness, FLCI, M ∈ {0, 0.01, 0.02, 0.03, 0.04}.

Each implementation gets one untimed warm-up call (imports, JIT compilation, our cached R
draws), then the median wall time of ``--repeats`` calls is reported (``--peer-repeats`` for the
peers, which are much slower). Peers that are not installed are skipped. diff-diff has no
C-LF for relative magnitudes (its own docstring: the ARP hybrid is "disabled pending
calibration"; it reports the estimated identified set ± z·se), so its time there is for a
different, much cheaper computation and is marked so. No thread or tuning variables are set.

Usage::

    .venv/bin/python benchmarks/honest_did.py            # 7 repeats of ours, 3 of each peer
    .venv/bin/python benchmarks/honest_did.py --quick    # 3 of ours, 1 of each peer
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from evaluation.inference.honest_did import honest_did  # noqa: E402

MBAR = [0.0, 0.5, 1.0, 1.5, 2.0]
M_SD = [0.0, 0.01, 0.02, 0.03, 0.04]


def shared_inputs():
    """The demo and README inputs, and the diff-diff adapter, from the test module."""
    sys.path.insert(0, str(ROOT / "tests"))
    import test_honest_did as t

    return t.demo(4, 4), (t.EHEC_BETA, t.EHEC_SIGMA), t._diff_diff_results


def median_time(fn, repeats: int) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fn()  # warm-up, untimed
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


def ours(b, S, pre, post, restriction):
    ms = MBAR if restriction == "relative_magnitude" else M_SD
    return lambda: honest_did(b, S, pre, post, restriction=restriction, M=ms)


def moderndid(b, S, pre, post, restriction):
    try:
        from moderndid.didhonest import (
            create_sensitivity_results_rm,
            create_sensitivity_results_sm,
        )
    except ImportError:
        return None
    if restriction == "relative_magnitude":
        return lambda: create_sensitivity_results_rm(b, S, pre, post, m_bar_vec=MBAR)
    return lambda: create_sensitivity_results_sm(b, S, pre, post, m_vec=M_SD)


def diff_diff(b, S, pre, post, restriction):
    try:
        from diff_diff.honest_did import HonestDiD
    except ImportError:
        return None
    res = shared_inputs()[2](b, S, pre, post)
    lv = np.eye(post)[0]
    ms = MBAR if restriction == "relative_magnitude" else M_SD
    return lambda: [HonestDiD(method=restriction, M=m, l_vec=lv).fit(res) for m in ms]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--peer-repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="3 repeats of ours, 1 of each peer")
    args = ap.parse_args()
    if args.quick:
        args.repeats, args.peer_repeats = 3, 1

    demo, readme, _ = shared_inputs()
    inputs = {"demo 4+4": (*demo, 4, 4), "README 5+2": (*readme, 5, 2)}
    tasks = {"relative_magnitude": "RM C-LF, 5 M̄", "smoothness": "SD FLCI, 5 M"}
    header = (
        f"{'input':<11} {'task':<15} {'ours s':>8} "
        f"{'moderndid s':>12} {'ratio':>7} {'diff-diff s':>12} {'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    for name, (b, S, pre, post) in inputs.items():
        for restriction, label in tasks.items():
            t_ours = median_time(ours(b, S, pre, post, restriction), args.repeats)
            cells = [f"{name:<11} {label:<15} {t_ours:>8.3f}"]
            for peer in (moderndid, diff_diff):
                fn = peer(b, S, pre, post, restriction)
                if fn is None:
                    cells.append(f"{'skipped':>12} {'':>7}")
                    continue
                t_peer = median_time(fn, args.peer_repeats)
                flag = "*" if peer is diff_diff and restriction == "relative_magnitude" else ""
                cells.append(f"{t_peer:>11.3f}{flag or ' '} {t_peer / t_ours:>6.1f}x")
            print(" ".join(cells), flush=True)
    print(
        "\nratio = peer time / our time (median wall time; >1 means ours is faster).\n"
        "* diff-diff's relative magnitudes is not C-LF: the estimated identified set ± z·se."
    )


if __name__ == "__main__":
    main()
