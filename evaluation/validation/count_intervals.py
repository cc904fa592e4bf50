"""Proof by simulation for fire counts: Poisson TWFE with randomization inference.

The fire-point programme is evaluated with ``twfe(..., family="poisson",
exposure="population")`` on 13 wards × 48 months; with two never-treated wards its inference is
randomization inference, and its interval inverts that test under a constant proportional
effect (:func:`evaluation.inference.randomization.invert_by_search`). This module checks, by
simulation, what that promises and what the point estimate does on the demo's own design:

* **coverage** of a planted constant proportional effect exp(τ) by the 95 % interval, and
  **size** — how often the 5 % test rejects "no effect" when there is none — on fire-like
  panels where the rollout is randomised (:func:`fire_like_panel`);
* **bias** of the point estimate on the demo's fire data-generating process, whose effect is
  heterogeneous by ward (−10 % × dose, doses 0.6–1.6, from the opening day with a 30-day ramp)
  and constant over time (:func:`demo_fire_panel`).

Fire-like panels (one replication)::

    y_it ~ Poisson(E_i · exp(α_i + λ_t + τ·D_it)),   D_it = 1{t ≥ c_i},

13 wards with the demo's populations E_i, 48 months from January 2022, ward effects
α_i ~ N(0, 0.3²), month effects λ_t = log(season_t · break_t) + N(0, 0.15²) (the demo's
seasonal multipliers and its recording break, ×1/1.8 before 2024), scaled so that a ward-month
has 0.25 fires on average without the programme. The cohorts are the demo's fire points —
11 wards starting in 10 different months (March 2023 to June 2024), 2 never — dealt to the
wards at random in each replication: a randomised rollout, the design under which
randomization inference is exact (Fisher 1935; Imbens & Rubin 2015, ch. 5).

The demo's process (one draw): the ward × month expectations of
:func:`evaluation.synthetic.demo.fires.expected_rates` — population, premise mix, season, Tết, the
recording break, the rental campaign, the fire points' effect — with and without the
programme; counts are drawn as Poisson with those means (a sum of independent Poisson counts
is Poisson, so monthly counts have exactly the demo generator's distribution), plus the demo's
one fixed arson record. The cohort is the month of each ward's start, as in
``District.fires_monthly("fire_point")``.

The script ``simulations/poisson_randomization.py`` runs the full study; a small version runs
in the tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from evaluation.errors import WorkbenchError
from evaluation.estimators.twfe import twfe
from evaluation.synthetic.counts import (
    MEAN_PER_WARD_MONTH,
    demo_fire_expectations,
    demo_fire_panel,
    fire_like_panel,
)

__all__ = [
    "MEAN_PER_WARD_MONTH",
    "fire_like_panel",
    "demo_fire_expectations",
    "demo_fire_panel",
    "demo_targets",
    "interval_replications",
    "estimate_replications",
    "rate_with_error",
    "demo_estimate",
    "interval_rows",
    "demo_rows",
]


def _poisson_twfe(panel: pd.DataFrame, **options):
    return twfe(
        panel,
        "fires",
        "ward",
        "month",
        "cohort",
        family="poisson",
        exposure="population",
        **options,
    )


def interval_replications(
    reps: int,
    effect: float,
    *,
    seed: int = 0,
    n_boot: int = 999,
    level: float = 0.95,
    draw: Callable[[np.random.Generator], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """Randomization interval and p-value on ``reps`` panels from ``draw(rng)`` (default:
    fire-like panels with the planted ``effect``), ``effect`` the truth on the log scale: one
    row per replication with ``estimate``, ``ci_low``, ``ci_high``, ``pvalue``, ``covered``
    (the interval holds ``effect``) and ``error`` (the message when the estimator refused the
    draw, e.g. a treated group with no fire)."""
    draw = draw or partial(fire_like_panel, effect=effect)
    rows = []
    for r, rng in enumerate(np.random.default_rng(seed).spawn(reps)):
        panel = draw(rng)
        try:
            e = _poisson_twfe(panel, inference="randomization", n_boot=n_boot, seed=r, level=level)
        except WorkbenchError as err:
            rows.append({"rep": r, "error": str(err)})
            continue
        rows.append(
            {
                "rep": r,
                "estimate": e.estimate,
                "ci_low": e.ci_low,
                "ci_high": e.ci_high,
                "pvalue": e.pvalue,
                "covered": bool(e.ci_low <= effect <= e.ci_high),
                "fires": int(panel["fires"].sum()),
                "error": "",
            }
        )
    return pd.DataFrame(rows)


def demo_targets(expect: pd.DataFrame) -> dict[str, float]:
    """What an estimate on the demo's fire process may be compared with, on the log scale:
    the planted effect (expected fires with / without the programme over the treated
    ward-months, as ``fire_district_effect`` reports it) and the estimand of this design (the
    Poisson TWFE fitted to the expected counts themselves: its score equations are linear in
    the counts, so this is where the estimate centres apart from small-sample bias)."""
    treated = expect["cohort"].notna() & (expect["month"] >= expect["cohort"])
    planted = expect.loc[treated, "expected1"].sum() / expect.loc[treated, "expected0"].sum()
    estimand = _poisson_twfe(expect.assign(fires=expect["expected1"]), inference="none")
    return {"planted": math.log(planted), "estimand": estimand.estimate}


def estimate_replications(reps: int, *, seed: int = 0) -> tuple[pd.DataFrame, dict]:
    """Point estimates on ``reps`` draws of the demo's fire process, and
    :func:`demo_targets`."""
    expect = demo_fire_expectations()
    rows = []
    for r, rng in enumerate(np.random.default_rng(seed).spawn(reps)):
        panel = demo_fire_panel(expect, rng)
        try:
            beta = _poisson_twfe(panel, inference="none").estimate
        except WorkbenchError as err:
            rows.append({"rep": r, "estimate": math.nan, "error": str(err)})
            continue
        rows.append({"rep": r, "estimate": beta, "fires": int(panel["fires"].sum()), "error": ""})
    return pd.DataFrame(rows), demo_targets(expect)


def rate_with_error(hits) -> tuple[float, float]:
    """A proportion and its Monte-Carlo standard error √(r(1 − r)/R)."""
    x = np.asarray(hits, dtype=float)
    r = float(x.mean())
    return r, math.sqrt(r * (1 - r) / len(x))


def demo_estimate() -> float:
    """The demo data's own estimate (one draw of the process): fires −49 %."""
    from evaluation.analysis.district import load_district

    panel = load_district().fires_monthly("fire_point")
    return twfe(panel, "fires", "ward", "period_start", "cohort", family="poisson",
                exposure="population", inference="none").estimate  # fmt: skip


def pct(x: float) -> str:
    return f"{100 * math.expm1(x):+.1f} %"


def interval_rows(reps: int, n_boot: int, seed: int) -> list[str]:
    """Markdown rows: coverage, rejection rate and median interval on fire-like panels at
    planted effects of −40 %, −20 % and none."""
    rows = [
        "| planted effect | replications | coverage of the effect (MC se) | rejects no effect "
        "(MC se) | median interval (percent) | mean estimate | failed |",
        "|---|---|---|---|---|---|---|",
    ]
    for k, effect in enumerate((math.log(0.6), math.log(0.8), 0.0)):
        r = interval_replications(reps, effect, seed=seed + k, n_boot=n_boot)
        ok = r[r["error"] == ""]
        cov, cov_se = rate_with_error(ok["covered"])
        rej, rej_se = rate_with_error(ok["pvalue"] <= 0.05)
        lo, hi = ok["ci_low"].median(), ok["ci_high"].median()
        rows.append(
            f"| {pct(effect)} | {len(ok)} | {100 * cov:.1f} % ({100 * cov_se:.1f}) | "
            f"{100 * rej:.1f} % ({100 * rej_se:.1f}) | {pct(lo)} to {pct(hi)} | "
            f"{pct(ok['estimate'].mean())} | {len(r) - len(ok)} |"
        )
    return rows


def demo_rows(reps: int, seed: int, interval_reps: int, n_boot: int) -> list[str]:
    """Markdown rows: the point estimate on the demo's own fire process against its planted
    effect and its estimand (bias), and the interval's coverage there."""
    demo = demo_estimate()
    est, targets = estimate_replications(reps, seed=seed)
    ok = est[est["error"] == ""]["estimate"]
    mean, sd = float(ok.mean()), float(ok.std(ddof=1))
    se = sd / math.sqrt(len(ok))
    share = float((ok <= demo).mean())
    rows = [
        "| quantity | log rate ratio | percent change |",
        "|---|---|---|",
        f"| planted effect (treated ward-months, with / without) | {targets['planted']:.3f} | "
        f"{pct(targets['planted'])} |",
        f"| estimand: Poisson TWFE on the expected counts | {targets['estimand']:.3f} | "
        f"{pct(targets['estimand'])} |",
        f"| mean of {len(ok)} estimates (MC se) | {mean:.3f} ({se:.3f}) | {pct(mean)} |",
        f"| median estimate | {float(ok.median()):.3f} | {pct(float(ok.median()))} |",
        f"| standard deviation of the estimates | {sd:.3f} | |",
        f"| the demo's draw | {demo:.3f} | {pct(demo)} |",
        "",
        f"Bias against the planted effect: {mean - targets['planted']:+.3f} "
        f"(MC se {se:.3f}); against the estimand: {mean - targets['estimand']:+.3f}. "
        f"Draws at or below the demo's {pct(demo)}: {100 * share:.1f} % "
        f"(the demo's draw is {(demo - mean) / sd:+.2f} standard deviations from the "
        f"mean). Failed draws: {len(est) - len(ok)}.",
    ]
    if interval_reps:
        cov = _demo_interval_coverage(interval_reps, seed + 1, n_boot, targets["planted"])
        rows += ["", cov]
    return rows


def _demo_interval_coverage(reps: int, seed: int, n_boot: int, planted: float) -> str:
    draw = partial(demo_fire_panel, demo_fire_expectations())
    r = interval_replications(reps, planted, seed=seed, n_boot=n_boot, draw=draw)
    cov, se = rate_with_error(r.loc[r["error"] == "", "covered"])
    return (
        f"Coverage of the planted effect by the 95 % randomization interval on the demo's "
        f"process ({reps} draws, {n_boot} re-assignments): {100 * cov:.1f} % (MC se "
        f"{100 * se:.1f})."
    )
