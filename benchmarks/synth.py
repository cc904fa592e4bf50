"""Benchmark: synthetic control and synthetic DiD on California's Proposition 99.

Data: ``../shared/reference-data/california_prop99.csv`` (39 states × 31 years, California
treated from 1989). Published: SC −19.620 and SDID −15.604 (Arkhangelsky et al. 2021, *AER*,
Table 1).

Tasks, each timed in this one run (median of ``--repeat`` calls after a warm-up):

* ours: ``ev.synthetic_control`` and ``ev.synthetic_did`` — point estimate only
  (``inference="none"``), with the placebo-in-space test (38 refits), with the conformal test
  (test inversion) and, for SDID, with the placebo variance (Algorithm 4);
* ``ev.placebo_in_time`` with SDID (8 fake start years);
* peer ``pysyncon`` (optional: ``pip install pysyncon``; skipped cleanly when absent):
  ``Synth`` with the ADH nested V-matrix search (Nelder–Mead) over the 19 pre-period outcomes as
  predictors — the configuration measured at about 165 s for the issue — and ``Synth`` with a
  fixed identity V (no V search: the same pre-period fit as ours except that pysyncon rescales
  each year's outcome by its standard deviation across states). The V search runs only with
  ``--slow-peers`` because it takes minutes.

Ratios are peer time / our time (> 1: we are faster). Estimates are printed beside the times:
ours must show −19.620 and −15.604; pysyncon's identity-V fit differs (about −19.75) because of
its rescaling, and the exact minimiser of our objective is about −19.51 (synthdid's
Frank–Wolfe, which we follow to reproduce the published number, stops short of it).

Usage::

    .venv/bin/python benchmarks/synth.py                 # ours + pysyncon identity V
    .venv/bin/python benchmarks/synth.py --slow-peers    # also pysyncon's V search (minutes)
    .venv/bin/python benchmarks/synth.py --repeat 1      # quicker
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT / ".." / "shared" / "reference-data" / "california_prop99.csv"


def load() -> pd.DataFrame:
    if not DATA.exists():
        sys.exit(f"reference data not found: {DATA}")
    df = pd.read_csv(DATA, sep=";")
    first = df[df["treated"] == 1].groupby("State")["Year"].min()
    df["cohort"] = df["State"].map(first)
    return df


def timed(fn, repeat: int):
    if repeat > 1:
        fn()  # warm-up (imports, caches); single runs are the slow ones, timed cold
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slow-peers", action="store_true")
    args = ap.parse_args()

    import evaluation as ev

    df = load()
    cols = ("PacksPerCapita", "State", "Year", "cohort")
    rows: list[tuple[str, float, float]] = []

    def run(label, fn, value=lambda r: r.estimate, repeat=args.repeat):
        seconds, res = timed(fn, repeat)
        rows.append((label, seconds, value(res)))
        print(f"{label:<58} {seconds:9.3f} s   estimate {value(res):9.3f}", flush=True)
        return seconds

    print(
        f"Proposition 99: {df['State'].nunique()} states × {df['Year'].nunique()} years; "
        f"median of {args.repeat} runs\n"
    )
    sc_fit = run(
        "ours: synthetic_control (point estimate)",
        lambda: ev.synthetic_control(df, *cols, inference="none"),
    )
    run(
        "ours: synthetic_control + placebo-in-space (38 refits)",
        lambda: ev.synthetic_control(df, *cols, inference="placebo"),
        repeat=1,
    )
    run(
        "ours: synthetic_control + conformal (test inversion)",
        lambda: ev.synthetic_control(df, *cols, inference="conformal"),
        repeat=1,
    )
    run(
        "ours: synthetic_did (point estimate)",
        lambda: ev.synthetic_did(df, *cols, inference="none"),
    )
    run(
        "ours: synthetic_did + placebo variance (Algorithm 4)",
        lambda: ev.synthetic_did(df, *cols, inference="placebo_variance"),
        repeat=1,
    )
    run(
        "ours: synthetic_did + placebo-in-space (38 refits)",
        lambda: ev.synthetic_did(df, *cols, inference="placebo"),
        repeat=1,
    )
    run(
        "ours: placebo_in_time(synthetic_did), 8 fake starts",
        lambda: ev.placebo_in_time("synthetic_did", df, *cols),
        value=lambda r: r.real.estimate,
        repeat=1,
    )

    try:
        from pysyncon import Dataprep, Synth
    except ImportError:
        print("\npysyncon not installed: peer skipped (pip install pysyncon to compare)")
        return

    controls = sorted(set(df["State"]) - {"California"})
    pre = range(1970, 1989)
    prep = Dataprep(
        foo=df,
        predictors=[],
        predictors_op="mean",
        dependent="PacksPerCapita",
        unit_variable="State",
        time_variable="Year",
        treatment_identifier="California",
        controls_identifier=controls,
        time_predictors_prior=pre,
        time_optimize_ssr=pre,
        special_predictors=[("PacksPerCapita", [y], "mean") for y in pre],
    )
    post = list(range(1989, 2001))

    def pysyncon_fit(custom_v: bool):
        s = Synth()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if custom_v:
                s.fit(dataprep=prep, custom_V=np.ones(len(pre)))
            else:
                s.fit(dataprep=prep)
        return s

    wide = df.pivot(index="State", columns="Year", values="PacksPerCapita")

    def gap(s) -> float:
        w = s.weights(round=15).reindex(controls).fillna(0.0).to_numpy()
        synth = w @ wide.loc[controls, post].to_numpy()
        return float(np.mean(wide.loc["California", post].to_numpy() - synth))

    t_id = run(
        "peer: pysyncon Synth, identity V (no V search)", lambda: pysyncon_fit(True), value=gap
    )
    print(f"{'ratio pysyncon identity-V / ours (SC point estimate)':<58} {t_id / sc_fit:9.1f} ×")
    if args.slow_peers:
        t_v = run(
            "peer: pysyncon Synth, V search (Nelder–Mead)",
            lambda: pysyncon_fit(False),
            value=gap,
            repeat=1,
        )
        print(f"{'ratio pysyncon V-search / ours (SC point estimate)':<58} {t_v / sc_fit:9.1f} ×")
    else:
        print("pysyncon's V search skipped (minutes); run with --slow-peers")


if __name__ == "__main__":
    main()
