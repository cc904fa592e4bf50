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

import math
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import DataError, InferenceError
from evaluation.estimators.synth import (
    SyntheticEstimate,
    build_estimate,
    check_inference,
    check_options,
    fit_warning,
    prepare_single_unit_panel,
    single_unit_inference,
    synthdid_weights,
    synthetic_paths,
)

__all__ = ["synthetic_did", "placebo_variance", "jackknife_se"]


def placebo_variance(
    Y: np.ndarray,
    N0: int,
    T0: int,
    *,
    kind: str,
    zeta_omega: float,
    zeta_lambda: float,
    max_sets: int = 200,
    seed: int = 0,
) -> tuple[float, dict[str, Any]]:
    """Placebo standard error, Algorithm 4 of Arkhangelsky et al. (2021).

    The estimator is re-run (weights re-fitted, regularisation kept) on the controls only, with
    N₁ of them as pseudo-treated; the SE is the standard deviation of these placebo estimates
    (population form, as synthdid's ``sqrt((r − 1)/r) · sd``). synthdid draws 200 random sets;
    when all sets can be listed (``C(N₀, N₁) ≤ max_sets``, e.g. the 38 states of Prop 99 or the
    12 control wards) we use every set, which is the value those random draws estimate.
    """
    from evaluation.inference.placebo import _placebo_sets

    N1 = Y.shape[0] - N0
    if N0 <= N1:
        return float("nan"), {"why": f"{N0} controls for {N1} treated; need more controls"}
    sets, enumerated = _placebo_sets(N0, N1, max_sets, seed)
    ests = np.empty(len(sets))
    for k, s in enumerate(sets):
        donors = [j for j in range(N0) if j not in s]
        ests[k] = synthdid_weights(
            Y[donors + list(s)],
            len(donors),
            T0,
            kind=kind,
            zeta_omega=zeta_omega,
            zeta_lambda=zeta_lambda,
        )["estimate"]
    se = float(np.std(ests))
    how = f"all {len(sets)} sets" if enumerated else f"{len(sets)} random sets"
    warnings = []
    if len(sets) < 20:
        warnings.append(
            f"The placebo standard error rests on only {len(sets)} placebo estimates, so it is "
            "itself imprecise; prefer the exact placebo-in-space test (inference='placebo')."
        )
    text = (
        "placebo variance (Arkhangelsky et al. 2021, Algorithm 4): the estimator re-run with "
        f"{N1} control(s) at a time as pseudo-treated ({how}), SE = standard deviation of the "
        "placebo estimates, normal confidence interval; assumes the treated units' noise is "
        "like the controls'"
    )
    return se, {"text": text, "warnings": warnings, "details": {"placebo_estimates": ests.tolist()}}


def jackknife_se(
    Y: np.ndarray, N0: int, T0: int, omega: np.ndarray, lam: np.ndarray
) -> tuple[float, dict[str, Any]]:
    """Jackknife standard error with fixed weights, Algorithm 3 of Arkhangelsky et al. (2021).

    Each unit is left out in turn; unit weights of the remaining controls are renormalised,
    time weights kept (synthdid's ``jackknife_se``). Undefined with one treated unit or when a
    single control carries all the weight.
    """
    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    if N1 < 2:
        return float("nan"), {"why": "the jackknife needs at least two treated units"}
    if np.count_nonzero(omega) <= 1:
        return float("nan"), {"why": "one control carries all the unit weight"}
    ests = np.empty(N)
    lam_full = np.r_[-lam, np.full(T1, 1.0 / T1)]
    for i in range(N):
        keep_c = [j for j in range(N0) if j != i]
        keep_t = [j for j in range(N0, N) if j != i]
        w = omega[keep_c]
        w = w / w.sum()
        n1 = len(keep_t)
        ests[i] = float(np.r_[-w, np.full(n1, 1.0 / n1)] @ Y[keep_c + keep_t] @ lam_full)
    se = float(math.sqrt((N - 1) / N * np.sum((ests - ests.mean()) ** 2)))
    text = (
        "jackknife (Arkhangelsky et al. 2021, Algorithm 3): each of the "
        f"{N} units left out in turn with the weights held fixed; normal confidence interval"
    )
    warnings = []
    if N1 < 10:
        warnings.append(
            f"The jackknife with only {N1} treated units can be unreliable (Arkhangelsky et al. "
            "2021, §5); compare with inference='placebo'."
        )
    return se, {
        "text": text,
        "warnings": warnings,
        "details": {"jackknife_estimates": ests.tolist()},
    }


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
    method = "synthetic DiD"
    check_options(method, level, placebo_statistic, permutation, n_permutations, max_placebos)
    inference = check_inference(
        inference,
        method,
        ("auto", "conformal", "placebo", "randomization", "placebo_variance", "jackknife", "none"),
    )
    if eta_omega is not None and not (np.isfinite(eta_omega) and eta_omega >= 0):
        raise DataError(f"{method}: eta_omega must be a non-negative number, got {eta_omega!r}.")
    panel = prepare_single_unit_panel(
        data, outcome, unit, time, cohort, method=method, min_pre_periods=max(2, min_pre_periods)
    )
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    w = synthdid_weights(
        Y, N0, T0, kind="sdid", eta_omega=eta_omega, zeta_lambda=eta_lambda * _sigma(Y, N0, T0)
    )
    omega, lam = w["omega"], w["lambda"]
    parts = synthetic_paths(Y, N0, T0, omega, lam)
    zo, zl = w["zeta_omega"], w["zeta_lambda"]

    def fit(Yp: np.ndarray, n0: int, t0: int) -> tuple[float, np.ndarray]:
        r = synthdid_weights(Yp, n0, t0, kind="sdid", zeta_omega=zo, zeta_lambda=zl)
        return r["estimate"], synthetic_paths(Yp, n0, t0, r["omega"], r["lambda"])[2]

    if inference == "jackknife" and panel.N1 < 2:
        raise InferenceError(
            f"{method}: inference='jackknife' needs at least two treated units (found "
            f"{panel.N1}: {', '.join(map(str, panel.treated))}); leaving out the only treated "
            "unit leaves nothing to estimate. Use 'placebo', 'placebo_variance' or 'conformal'."
        )

    inf = single_unit_inference(
        panel,
        fit,
        w["estimate"],
        parts[2],
        method=method,
        inference=inference,
        level=level,
        seed=seed,
        statistic=placebo_statistic,
        permutation=permutation,
        n_permutations=n_permutations,
        max_placebos=max_placebos,
        conformal_model="sc_intercept",
        conformal_zeta=zo,
        placebo_variance=lambda: placebo_variance(
            Y, N0, T0, kind="sdid", zeta_omega=zo, zeta_lambda=zl, max_sets=max_placebos, seed=seed
        ),
        jackknife=lambda: jackknife_se(Y, N0, T0, omega, lam),
    )
    warnings = fit_warning(panel, parts[2][:T0], method)
    return build_estimate(
        panel,
        method=method,
        point=w["estimate"],
        omega=omega,
        lam=lam,
        gap_parts=parts,
        inf=inf,
        level=level,
        extra_details={"zeta_omega": zo, "zeta_lambda": zl, "noise_level": w["noise"]},
        warnings=warnings,
    )


def _sigma(Y: np.ndarray, N0: int, T0: int) -> float:
    from evaluation.estimators.synth import noise_level

    return noise_level(Y, N0, T0)
