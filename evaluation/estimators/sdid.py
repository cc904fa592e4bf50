"""Synthetic difference-in-differences (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021).

SDID re-weights both units and periods before taking a difference-in-differences:

* unit weights ω (non-negative, sum one, with an intercept) make the weighted controls move in
  parallel with the treated units over the pre-period — parallel, not equal: unlike the
  synthetic control a constant level difference is allowed;
* time weights λ (non-negative, sum one, with an intercept) pick the pre-periods whose control
  outcomes best predict the controls' post-period average;
* the effect is ``τ = [ȳ_tr,post − λ'y_tr,pre] − [ω'Ȳ_co,post − ω'Y_co,pre λ]``.

Weights, regularisation (ζ_ω = (N₁T₁)^¼ σ̂ for the unit weights, ζ_λ = 10⁻⁶ σ̂ for the time
weights, σ̂ = standard deviation of the controls' pre-period first differences) and the
Frank–Wolfe solver follow the authors' R package ``synthdid`` (``synthdid_estimate``) step for
step, which reproduces the published Proposition 99 estimate −15.604 (AER 2021, Table 1).

Inference: the placebo variance of the paper's Algorithm 4 (controls as pseudo-treated), the
jackknife of Algorithm 3 (several treated units), the placebo-in-space rank test and the
conformal test — see :func:`synthetic_did`.
"""

from __future__ import annotations

import pandas as pd

from evaluation.estimators.synth import SyntheticEstimate, SyntheticOptions, fit_synthetic

__all__ = ["synthetic_did"]


def synthetic_did(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    inference: str = "auto",
    level: float = 0.95,
    seed: int = 0,
    placebo_statistic: str = "effect",
    permutation: str = "moving_block",
    n_permutations: int = 999,
    max_placebos: int = 200,
    min_pre_periods: int = 3,
    eta_omega: float | None = None,
    eta_lambda: float = 1e-6,
) -> SyntheticEstimate:
    """Synthetic difference-in-differences estimate (Arkhangelsky et al. 2021, *AER* 111(12)).

    Estimates the average effect on the treated units over the post-period,
    ``τ = (ȳ_tr,post − Σ_t λ_t y_tr,t) − Σ_i ω_i (ȳ_i,post − Σ_t λ_t y_i,t)``, with unit
    weights ω and pre-period weights λ fitted as in the ``synthdid`` R package (Algorithm 1 of
    the paper; see the module docstring). On California's Proposition 99 it gives −15.604.

    Several treated units starting together are handled as in synthdid (the weights match
    their average); with staggered starts the earliest cohort is evaluated and the panel is
    cut before the next cohort starts.

    Parameters
    ----------
    data, outcome, unit, time, cohort
        Long balanced panel (one row per unit × period) and its columns; ``cohort`` = first
        treated period, missing for never-treated units.
    inference : {"auto", "conformal", "placebo", "randomization", "placebo_variance", \
"jackknife", "none"}
        ``"placebo_variance"``: Algorithm 4 (controls as pseudo-treated; SE and normal CI).
        ``"jackknife"``: Algorithm 3 (needs ≥ 2 treated units). ``"placebo"`` (alias
        ``"randomization"``): exact placebo-in-space rank test, smallest p = 1/(placebo sets +
        1). ``"conformal"``: Chernozhukov, Wüthrich & Zhu (2021) with a synthetic control with
        intercept (SDID's unit-weight model) fitted under the null. ``"auto"``: conformal when
        the pre-period has ≥ 20 periods and is at least as long as the post-period, else the
        placebo rank test; ``Estimate.inference`` says which and why. ``"cluster"`` and
        ``"wild"`` raise :class:`~evaluation.errors.InferenceError`.
    level, seed, placebo_statistic, permutation, n_permutations, max_placebos
        As for :func:`evaluation.synthetic_control`; the placebo test ranks the absolute effect
        by default.
    min_pre_periods : int
        Fewest pre-periods accepted (default 3).
    eta_omega, eta_lambda : float
        Regularisation relative to σ̂; default ``eta_omega = (N₁T₁)^¼`` and ``eta_lambda =
        10⁻⁶`` as in synthdid.

    Returns
    -------
    SyntheticEstimate
        With ``unit_weights`` (ω), ``time_weights`` (λ), ``paths`` (treated and synthetic paths,
        the synthetic shifted by the λ-weighted pre-period difference), ``pre_rmspe``,
        ``plot()`` and ``plot_gap()``.
    """
    return fit_synthetic(
        data,
        outcome,
        unit,
        time,
        cohort,
        kind="sdid",
        options=SyntheticOptions.among(locals()),
        eta_omega=eta_omega,
        eta_lambda=eta_lambda,
    )
