"""Proof by simulation: size, coverage and power of the inference on the district's designs.

The district evaluates programmes on 13 wards, often with one treated pilot ward, then a
rollout to the other 12 in waves. Asymptotic cluster-robust inference is not valid there
(MacKinnon & Webb 2017, 2020), so the workbench's ``inference="auto"`` chooses conformal
(time-permutation) inference for a single treated ward with a long pre-period (Chernozhukov,
Wüthrich & Zhu 2021, *JASA* 116(536)) and randomization inference — permuting which wards are
treated — when one or very few wards are treated or untreated (MacKinnon & Webb 2020, *J.
Econometrics* 218(2)). This module checks, on simulated district panels like the demo data,
that these defaults keep their promises and shows what the conventional methods do on the
*same* draws:

* **size** — how often a 5 % test rejects "no effect" when there is none;
* **coverage** — how often the 95 % interval contains the true effect, with no effect, with a
  planted constant effect, and with the demo's wave-specific effects;
* **power** — how often "no effect" is rejected at the demo data's planted effect sizes.

Data-generating process (one replication)::

    y_it = μ + α_i + λ_t + τ_i·1{t ≥ c_i} + ε_it,   ε_it = ρ ε_i,t−1 + √(1−ρ²) σ η_it,

13 wards × 104 weeks, ρ = 0.5, η iid N(0, 1), ε stationary from the first week, fresh week
effects λ_t ~ N(0, σ_λ²) each replication, and μ, the ward effects α_i, σ_λ and σ calibrated to
the ward × week means of congestion minutes in the demo data before any programme
(:func:`calibrate_to_demo`). Designs: (i) one treated ward (Cổ Nhuế 2) from week 58, like the
pilot, 46 post-weeks; (i′) the same ending when the demo's wave A starts (20 post-weeks, the
window a pilot-only evaluation has); (ii) the other 12 wards in three waves of four (weeks 52,
61, 70, the demo's waves), Cổ Nhuế 2 never treated. Within a replication the noise is drawn
once and each scenario only adds its effects, so scenarios and methods are compared on
identical draws.

Besides the package's methods, three more rows for one treated ward, on the same draws:
conformal inference with CWZ's robust statistic mean |û| (the earlier default, valid but
with little power when the post-period is long), a second implementation of the default
|mean û| statistic with exact test inversion (:func:`conformal_mean_statistic`), and the
unit-level t-test of Donald & Lang (2007) (:func:`donald_lang`), a candidate that is not a
package default.

The truth against which coverage is measured is the average effect over the treated
ward-weeks, ``Σ τ_i·1{t ≥ c_i} / Σ 1{t ≥ c_i}`` — what Callaway & Sant'Anna's (2021, *J.
Econometrics* 225(2)) ``simple`` aggregation estimates (it weights every post-treatment
(cohort, week) cell by cohort size, i.e. every treated ward-week equally). With wave-specific
effects TWFE estimates a different, variance-weighted average (Goodman-Bacon 2021), so its
coverage of this truth measures bias as well as the interval.

:func:`run_study` runs replications in parallel processes; :func:`summarise` turns the raw
results into one row per design × method, with Monte-Carlo standard errors
√(r(1 − r)/R); :func:`markdown_table` prints them. The script
``simulations/inference_size_power.py`` runs the full study; a small version runs in the
tests.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from evaluation.estimators.att_gt import att_gt
from evaluation.estimators.sdid import synthetic_did
from evaluation.estimators.twfe import twfe
from evaluation.inference.conformal import conformal_test
from evaluation.synthetic.noise import (
    Calibration,
    PlantedDesign,
    calibrate_to_demo,
    panel_frame,
    pilot_design,
    rollout_design,
    simulate_noise,
)

__all__ = [
    "Calibration",
    "PlantedDesign",
    "Method",
    "calibrate_to_demo",
    "pilot_design",
    "rollout_design",
    "methods_for",
    "simulate_noise",
    "panel_frame",
    "run_study",
    "summarise",
    "markdown_table",
    "requirement_failures",
    "conformal_mean_statistic",
    "donald_lang",
]

ALPHA = 0.05
LEVEL = 0.95


# --------------------------------------------------------------------------------------------
# methods


@dataclass(frozen=True)
class Method:
    """One estimator + inference. ``run(data, seed)`` returns (estimate, ci_low, ci_high,
    p-value, inference_method). ``default``: this is what ``inference="auto"`` gives."""

    key: str
    label: str
    default: bool
    run: Callable[[pd.DataFrame, int], tuple]


def _twfe(d: pd.DataFrame, seed: int, *, inference: str, reps: int) -> tuple:
    r = twfe(d, "y", "ward", "week", "cohort", inference=inference, seed=seed, n_boot=reps)
    return r.estimate, r.ci_low, r.ci_high, r.pvalue, r.inference_method


def _sdid(d: pd.DataFrame, seed: int) -> tuple:
    r = synthetic_did(d, "y", "ward", "week", "cohort", seed=seed)
    return r.estimate, r.ci_low, r.ci_high, r.pvalue, r.inference_method


def _conformal_cwz(d: pd.DataFrame, seed: int) -> tuple:
    """Conformal DiD with CWZ's robust statistic mean |û| (the default before the switch to
    |mean û|; kept beside it to show what the choice of statistic costs)."""
    r = conformal_test(d, "y", "ward", "week", "cohort", model="did", statistic="mean_abs")
    return r.estimate, r.ci_low, r.ci_high, r.pvalue, "conformal (mean of absolute residuals)"


def _att_gt(d: pd.DataFrame, seed: int, *, inference: str, reps: int) -> tuple:
    fit = att_gt(d, "y", "ward", "week", "cohort", seed=seed)
    o = fit.aggregate("simple", inference=inference, reps=reps).overall
    return o.estimate, o.ci_low, o.ci_high, o.pvalue, o.inference_method


def _single_unit_matrix(d: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Treated ward's path, control wards' paths (controls × weeks) and the start week."""
    wide = d.pivot(index="ward", columns="week", values="y")
    cohort = d.groupby("ward")["cohort"].first().reindex(wide.index)
    treated = cohort.notna().to_numpy()
    if treated.sum() != 1:
        raise ValueError("the candidate single-unit methods need exactly one treated ward")
    T0 = int(np.searchsorted(wide.columns.to_numpy(), cohort[treated].iloc[0]))
    Y = wide.to_numpy(dtype=float)
    return Y[treated][0], Y[~treated], T0


def conformal_mean_statistic(d: pd.DataFrame, seed: int = 0, level: float = LEVEL) -> tuple:
    """Second implementation of the default for one ward: conformal inference with the DiD
    counterfactual and the statistic S = |mean of the post-period residuals| (instead of CWZ's
    S₁ = mean |û_t|), with the interval inverted exactly rather than on a grid.

    Chernozhukov, Wüthrich & Zhu (2021, Remark 1) leave the statistic free; S₁ is built for
    effects in a few post-periods. With a post-period almost as long as the pre-period (46
    of 104 weeks) the null-fitted intercept splits a constant effect between pre- and
    post-period residuals of nearly equal size, so |û_t| barely separates the two and S₁ has
    little power; the signed mean keeps the shift's direction. Under H₀: θ the residuals are
    û(θ) = û(0) − θ(P − T₁/T) (P the post indicator), so each cyclic shift's statistic is
    |A_j − θB_j| and the interval follows exactly from
    :func:`evaluation.inference.randomization.invert_linear`.
    """
    from evaluation.inference.randomization import invert_linear

    y, Y0, T0 = _single_unit_matrix(d)
    T = len(y)
    gap = y - Y0.mean(axis=0)
    u = gap - gap.mean()
    post = (np.arange(T) >= T0).astype(float)
    index = (np.arange(T0, T)[None, :] + np.arange(T)[:, None]) % T  # identity first
    A = u[index].mean(axis=1)
    B = (post - post.mean())[index].mean(axis=1)
    p = float(np.mean(np.abs(A) >= np.abs(A[0]) * (1 - 1e-12)))
    lo, hi = invert_linear(float(A[0]), float(B[0]), A, B, level)
    estimate = float(gap[T0:].mean() - gap[:T0].mean())
    return estimate, lo, hi, p, "conformal (absolute-mean statistic)"


def donald_lang(d: pd.DataFrame, seed: int = 0, level: float = LEVEL) -> tuple:
    """Candidate (not a package default): the unit-level t-test of Donald & Lang (2007,
    *REStat* 89(2)) for one treated ward.

    Each ward's before–after change Δ_i = mean(post) − mean(pre) absorbs any serial
    correlation within the ward; with wards independent, alike and Δ normal (a mean of ~50
    weeks), τ̂ = Δ_treated − mean(Δ_controls) over s·√(1 + 1/N₀), s the controls' standard
    deviation of Δ, is exactly t with N₀ − 1 degrees of freedom. It is the TWFE estimate; its
    validity rests on the treated ward's noise being like the controls' (as randomization
    inference's does), where conformal inference needs stationarity over time instead.
    """
    from scipy import stats

    y, Y0, T0 = _single_unit_matrix(d)
    delta_t = y[T0:].mean() - y[:T0].mean()
    delta_c = Y0[:, T0:].mean(axis=1) - Y0[:, :T0].mean(axis=1)
    n0 = len(delta_c)
    est = float(delta_t - delta_c.mean())
    se = float(delta_c.std(ddof=1) * math.sqrt(1 + 1 / n0))
    q = float(stats.t.ppf(0.5 + level / 2, n0 - 1))
    p = float(2 * stats.t.sf(abs(est) / se, n0 - 1))
    return est, est - q * se, est + q * se, p, "t (unit level)"


#: labels of the TWFE rows both designs compare
_TWFE_LABELS = {
    "cluster": "TWFE, cluster-robust CR1 (conventional)",
    "wild": "TWFE, wild cluster bootstrap (WCR, Webb)",
    "randomization": "TWFE, randomization over wards (13 assignments)",
}


def _twfe_method(inference: str, reps: int, label: str | None = None) -> Method:
    """TWFE with one ``inference`` setting (``"auto"``: the default's row)."""
    run = partial(_twfe, inference=inference, reps=reps)
    return Method(f"twfe_{inference}", label or _TWFE_LABELS[inference], inference == "auto", run)


def _att_gt_method(inference: str, reps: int, label: str) -> Method:
    """att_gt's simple aggregation with one ``inference`` setting (``"auto"``: the default)."""
    run = partial(_att_gt, inference=inference, reps=reps)
    return Method(f"att_gt_{inference}", label, inference == "auto", run)


def methods_for(design_key: str, *, reps: int = 9999, extended: bool = True) -> list[Method]:
    """The methods compared on a design: the defaults (``inference="auto"``), the
    conventional cluster-robust ones and (``extended``) the other options.

    ``reps``: re-assignments (randomization) and draws (wild bootstrap); the package default
    is 9,999.
    """
    if design_key.startswith("pilot"):
        out = [
            _twfe_method("auto", reps, "TWFE, inference='auto' (→ conformal)"),
            Method("sdid_auto", "synthetic DiD, inference='auto' (→ conformal)", True, _sdid),
            _twfe_method("cluster", reps),
        ]
        if extended:
            out += [
                _twfe_method("wild", reps),
                _twfe_method("randomization", reps),
                Method(
                    "conformal_mean",
                    "check: conformal DiD, absolute mean residual, exact inversion (2nd implementation)",
                    False,
                    conformal_mean_statistic,
                ),
                Method(
                    "conformal_cwz",
                    "conformal DiD, CWZ statistic = mean of absolute residuals (robust, low power)",
                    False,
                    _conformal_cwz,
                ),
                Method(
                    "donald_lang",
                    "candidate: unit-level t-test (Donald & Lang 2007)",
                    False,
                    donald_lang,
                ),
            ]
        return out
    if design_key == "rollout":
        out = [
            _att_gt_method("auto", reps, "att_gt simple, inference='auto' (→ randomization)"),
            _twfe_method("auto", reps, "TWFE, inference='auto' (→ randomization)"),
            _att_gt_method(
                "analytic", reps, "att_gt simple, analytic influence-function SE (conventional)"
            ),
            _twfe_method("cluster", reps),
        ]
        if extended:
            out.append(_twfe_method("wild", reps))
        return out
    raise ValueError(f"unknown design {design_key!r}")


# --------------------------------------------------------------------------------------------
# running


@dataclass
class _Task:
    design: PlantedDesign
    calibration: Calibration
    methods: list[Method]
    seed: int
    design_index: int
    replications: list[int] = field(default_factory=list)


def _replicate(task: _Task) -> list[dict]:
    rows = []
    for r in task.replications:
        rng = np.random.default_rng([task.seed, task.design_index, r])
        Y0 = simulate_noise(task.calibration, task.design.n_weeks, rng)
        for scenario in task.design.scenarios:
            data = panel_frame(Y0, task.design, scenario, task.calibration.wards)
            truth = task.design.truth(scenario)
            for m in task.methods:
                t0 = time.perf_counter()
                try:
                    est, lo, hi, p, how = m.run(data, r)
                    error = ""
                except Exception as exc:  # noqa: BLE001 - a failure is a result to report
                    est = lo = hi = p = float("nan")
                    how, error = "failed", f"{type(exc).__name__}: {exc}"
                rows.append(
                    {
                        "design": task.design.key,
                        "replication": r,
                        "scenario": scenario,
                        "method": m.key,
                        "label": m.label,
                        "default": m.default,
                        "truth": truth,
                        "estimate": est,
                        "ci_low": lo,
                        "ci_high": hi,
                        "pvalue": p,
                        "inference_method": how,
                        "error": error,
                        "seconds": time.perf_counter() - t0,
                    }
                )
    return rows


def run_study(
    designs: Sequence[PlantedDesign],
    calibration: Calibration,
    *,
    reps: int = 1000,
    seed: int = 20240215,
    workers: int = 1,
    methods: dict[str, list[Method]] | None = None,
    chunk: int = 10,
) -> pd.DataFrame:
    """Run ``reps`` replications of every design, every scenario and every method.

    Replication r of design k draws its noise from ``np.random.default_rng([seed, k, r])``, so
    results do not depend on ``workers``; inference that draws random numbers is seeded with r.
    ``workers`` > 1 runs chunks of replications in separate processes.
    """
    methods = methods or {d.key: methods_for(d.key) for d in designs}
    tasks = []
    for k, design in enumerate(designs):
        for start in range(0, reps, chunk):
            tasks.append(
                _Task(
                    design,
                    calibration,
                    methods[design.key],
                    seed,
                    k,
                    list(range(start, min(reps, start + chunk))),
                )
            )
    if workers <= 1:
        parts = [_replicate(t) for t in tasks]
    else:
        import multiprocessing as mp

        from threadpoolctl import threadpool_limits

        ctx = mp.get_context("fork") if hasattr(os, "fork") else mp.get_context()
        # one BLAS thread per worker (the workers share the cores); forked workers inherit it
        with threadpool_limits(limits=1), ctx.Pool(workers) as pool:
            parts = pool.map(_replicate, tasks, chunksize=1)
    return pd.DataFrame([row for part in parts for row in part])


# --------------------------------------------------------------------------------------------
# summaries


def _rate(x: pd.Series) -> tuple[float, float, int]:
    x = x.astype(float)
    n = int(x.notna().sum())
    if n == 0:
        return float("nan"), float("nan"), 0
    r = float(x.mean())
    return r, math.sqrt(r * (1 - r) / n), n


def summarise(results: pd.DataFrame, alpha: float = ALPHA) -> pd.DataFrame:
    """One row per design × method: rejection rates, coverage, power, widths, with MC errors.

    Rejection: p ≤ α. Coverage: ci_low ≤ truth ≤ ci_high (an empty or failed interval counts as
    not covering). Power: rejection under the ``"demo"`` scenario.
    """
    res = results.copy()
    res["reject"] = (res["pvalue"] <= alpha).where(res["pvalue"].notna())
    res["cover"] = ((res["ci_low"] <= res["truth"]) & (res["truth"] <= res["ci_high"])).astype(
        float
    )
    res["width"] = res["ci_high"] - res["ci_low"]
    rows = []
    for (design, method), g in res.groupby(["design", "method"], sort=False):
        row = {
            "design": design,
            "method": method,
            "label": g["label"].iloc[0],
            "default": bool(g["default"].iloc[0]),
            "inference": ", ".join(
                f"{k} {v:.0%}" if v < 1 else k
                for k, v in g["inference_method"].value_counts(normalize=True).items()
            ),
            "failures": int((g["error"] != "").sum()),
            "seconds": float(g["seconds"].mean()),
        }
        for scenario, s in g.groupby("scenario", sort=False):
            rej, rej_se, n = _rate(s["reject"])
            cov, cov_se, _ = _rate(s["cover"])
            row[f"reject_{scenario}"] = rej
            row[f"reject_{scenario}_se"] = rej_se
            row[f"cover_{scenario}"] = cov
            row[f"cover_{scenario}_se"] = cov_se
            row[f"n_{scenario}"] = n
            row[f"width_{scenario}"] = float(s["width"].median())
            row[f"bias_{scenario}"] = float((s["estimate"] - s["truth"]).mean())
            row[f"truth_{scenario}"] = float(s["truth"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)


def requirement_failures(
    summary: pd.DataFrame, size_band: tuple[float, float] = (0.03, 0.07), min_cover: float = 0.93
) -> list[str]:
    """The issue's requirement for the defaults: size within ``size_band`` and coverage of
    the truth at least ``min_cover`` in every scenario. Returns what fails (empty: all pass)."""
    out = []
    for row in summary[summary["default"]].itertuples():
        d = row._asdict()
        size = d["reject_null"]
        if not size_band[0] <= size <= size_band[1]:
            out.append(
                f"{d['design']}/{d['method']}: size {size:.3f} outside "
                f"[{size_band[0]}, {size_band[1]}]"
            )
        for key, value in d.items():
            if key.startswith("cover_") and not key.endswith("_se") and value < min_cover:
                out.append(f"{d['design']}/{d['method']}: {key} {value:.3f} < {min_cover}")
    return out


def _fmt(rate: float, se: float) -> str:
    if not np.isfinite(rate):
        return "–"
    return f"{100 * rate:.1f} ({100 * se:.1f})"


def markdown_table(summary: pd.DataFrame, design: PlantedDesign) -> str:
    """Markdown table of one design: % with Monte-Carlo standard errors in brackets."""
    s = summary[summary["design"] == design.key]
    scen = list(design.scenarios)
    truth = {k: s[f"truth_{k}"].iloc[0] for k in scen} if len(s) else {}
    head = ["method", "inference chosen", "size: rejects at 5 %, no effect"]
    names = {"null": "no effect", "constant": "constant effect", "demo": "demo effects"}
    for k in scen:
        head.append(f"95 % CI covers truth, {names[k]} (τ = {truth.get(k, 0):.2f})")
    head += [
        f"power at demo effect (τ = {truth.get('demo', float('nan')):.2f})",
        "median CI width, no effect",
        "mean bias, demo effects",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in s.itertuples():
        d = row._asdict()
        cells = [
            ("**" + d["label"] + "**") if d["default"] else d["label"],
            d["inference"],
            _fmt(d["reject_null"], d["reject_null_se"]),
        ]
        cells += [_fmt(d[f"cover_{k}"], d[f"cover_{k}_se"]) for k in scen]
        cells += [
            _fmt(d["reject_demo"], d["reject_demo_se"]),
            f"{d['width_null']:.2f}" if np.isfinite(d["width_null"]) else "∞",
            f"{d['bias_demo']:+.2f}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
