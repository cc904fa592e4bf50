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
:func:`evaluation.demo.fires.expected_rates` — population, premise mix, season, Tết, the
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

from evaluation.data.wards import wards
from evaluation.demo import calendar, plan
from evaluation.demo.fires import expected_rates
from evaluation.errors import WorkbenchError
from evaluation.estimators.twfe import twfe

__all__ = [
    "MEAN_PER_WARD_MONTH",
    "fire_like_panel",
    "demo_fire_expectations",
    "demo_fire_panel",
    "demo_targets",
    "interval_replications",
    "estimate_replications",
    "rate_with_error",
]

#: fires per ward-month without the programme (the demo: 152 fires in 624 ward-months)
MEAN_PER_WARD_MONTH = 0.25
N_MONTHS = 48
WARD_SD = 0.3
MONTH_SD = 0.15


def _months(n_months: int = N_MONTHS) -> pd.DatetimeIndex:
    return pd.date_range(plan.FIRE_START, periods=n_months, freq="MS")


def _fire_point_cohorts(names) -> np.ndarray:
    """The month each ward's fire point opened (NaT: never), in the order of ``names``."""
    starts = plan.fire_point_starts()
    months = [starts[w][0].to_period("M").to_timestamp() if w in starts else pd.NaT for w in names]
    return pd.DatetimeIndex(months).to_numpy()


def fire_like_panel(
    rng: np.random.Generator, effect: float = 0.0, *, n_months: int = N_MONTHS
) -> pd.DataFrame:
    """One fire-like ward × month panel with a constant proportional effect exp(``effect``),
    the fire-point cohorts dealt to the wards at random (see the module docstring).

    Returns columns ``ward``, ``month``, ``fires``, ``population``, ``cohort``.
    """
    w = wards()
    names = w["name_vi"].to_numpy()
    pop = w["pop_2024_est"].to_numpy(dtype=float)
    months = _months(n_months)
    cohort = rng.permutation(_fire_point_cohorts(names))
    month_effect = (
        np.log(calendar.month_season(months.month.to_numpy()))
        - np.log(plan.RECORDING_BREAK_FACTOR) * (months < plan.RECORDING_BREAK)
        + rng.normal(0.0, MONTH_SD, n_months)
    )
    shape = np.exp(rng.normal(0.0, WARD_SD, len(names))[:, None] + month_effect[None, :])
    rate = pop[:, None] * shape
    rate *= MEAN_PER_WARD_MONTH / rate.mean()
    treated = months.to_numpy()[None, :] >= cohort[:, None]  # NaT compares False: never
    fires = rng.poisson(rate * np.exp(effect * treated))
    return pd.DataFrame(
        {
            "ward": np.repeat(names, n_months),
            "month": np.tile(months, len(names)),
            "fires": fires.ravel(),
            "population": np.repeat(pop, n_months),
            "cohort": np.repeat(cohort, n_months),
        }
    )


def demo_fire_expectations() -> pd.DataFrame:
    """Ward × month expected fires of the demo generator, with (``expected1``) and without
    (``expected0``) the fire points, the ward's ``population`` and fire-point ``cohort``."""
    days = pd.date_range(plan.FIRE_START, plan.FIRE_END, freq="D")
    lam0, lam1, _ = expected_rates(days)
    months = days.to_period("M").to_timestamp()
    month_codes, month_index = pd.factorize(months, sort=True)
    w = wards()
    names = w["name_vi"].to_numpy()

    def monthly(lam: np.ndarray) -> np.ndarray:
        per_day = lam.sum(axis=2)  # ward × day
        out = np.zeros((len(names), len(month_index)))
        np.add.at(out.T, month_codes, per_day.T)
        return out

    n_m = len(month_index)
    return pd.DataFrame(
        {
            "ward": np.repeat(names, n_m),
            "month": np.tile(month_index, len(names)),
            "expected0": monthly(lam0).ravel(),
            "expected1": monthly(lam1).ravel(),
            "population": np.repeat(w["pop_2024_est"].to_numpy(dtype=float), n_m),
            "cohort": np.repeat(_fire_point_cohorts(names), n_m),
        }
    )


def demo_fire_panel(expectations: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One draw of the demo's monthly fire counts from :func:`demo_fire_expectations`
    (Poisson with the programme's means, plus the fixed arson record)."""
    fires = rng.poisson(expectations["expected1"].to_numpy())
    arson_month = pd.Timestamp(plan.ARSON["date"]).to_period("M").to_timestamp()
    arson = (expectations["ward"] == plan.ARSON["ward"]) & (expectations["month"] == arson_month)
    return expectations.assign(fires=fires + arson.to_numpy().astype(int))


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
