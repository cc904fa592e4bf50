"""Count panels for the fire-count study: Poisson ward × month fires with planted effects.

Two generators, used by :mod:`evaluation.validation.count_intervals`:

* :func:`fire_like_panel` — ``y_it ~ Poisson(E_i · exp(α_i + λ_t + τ·D_it))`` on 13 wards with
  the demo's populations E_i, 48 months from January 2022, ward effects α_i ~ N(0, 0.3²), month
  effects λ_t = log(season_t · break_t) + N(0, 0.15²) (the demo's seasonal multipliers and its
  recording break), 0.25 fires per ward-month without the programme, and the demo's fire-point
  cohorts dealt to the wards at random (a randomised rollout);
* :func:`demo_fire_expectations` / :func:`demo_fire_panel` — the demo generator's own ward ×
  month expectations (:func:`evaluation.synthetic.demo.fires.expected_rates`), with and
  without the programme, and Poisson draws from them plus the demo's one fixed arson record.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.synthetic import calendar
from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.fires import expected_rates
from evaluation.synthetic.demo.geography import district_wards as wards

__all__ = [
    "MEAN_PER_WARD_MONTH",
    "fire_like_panel",
    "demo_fire_expectations",
    "demo_fire_panel",
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
