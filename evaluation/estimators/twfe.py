"""Two-way fixed effects (TWFE) difference-in-differences, linear and Poisson.

    y_it = α_i + λ_t + β·D_it + X_it'γ + ε_it,        D_it = 1{t ≥ cohort_i}

estimated by least squares with the unit and period effects absorbed (no dummy columns), or,
for counts, by Poisson pseudo-maximum likelihood with the same effects and log(exposure) as an
offset (Santos Silva & Tenreyro 2006; Correia, Guimarães & Zylkin 2020), where exp(β) is the
rate ratio. With staggered adoption and effects that change over time, β is a weighted average
of 2×2 comparisons some of which use already-treated units as controls (Goodman-Bacon 2021,
*J. Econometrics* 225(2)); :func:`evaluation.estimators.bacon.bacon_decomposition` shows the
weights and :func:`evaluation.estimators.att_gt.att_gt` avoids the problem.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from evaluation.errors import DataError, DesignError
from evaluation.estimators import _inference as inf
from evaluation.estimators._linear import cluster_vcov, fit_poisson, fit_within
from evaluation.estimators._prepare import Panel, prepare
from evaluation.results import Estimate

__all__ = ["twfe"]

_FAMILIES = ("gaussian", "poisson")


def _check_level(level: float) -> float:
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise DataError(f"argument 'level' must be a number in (0, 1), got {level!r}") from None
    if not 0 < level < 1:
        raise DataError(f"argument 'level' must be in (0, 1), e.g. 0.95; got {level!r}")
    return level


def _recode(codes: np.ndarray) -> tuple[np.ndarray, int]:
    uniq, inv = np.unique(codes, return_inverse=True)
    return inv.astype(np.int64), len(uniq)


def _drop_all_zero_groups(y: np.ndarray, factors: list[np.ndarray]) -> np.ndarray:
    """Rows to keep: remove fixed-effect groups whose outcomes are all zero, repeatedly.

    Their Poisson fixed effect diverges to −∞ and they carry no information on β (fixest and
    ppmlhdfe drop them the same way).
    """
    keep = np.ones(len(y), dtype=bool)
    while True:
        changed = False
        for f in factors:
            g = int(f.max()) + 1
            tot = np.bincount(f[keep], weights=y[keep], minlength=g)
            has = np.bincount(f[keep], minlength=g) > 0
            zero = has & (tot == 0)
            if zero.any():
                keep &= ~zero[f]
                changed = True
        if not changed:
            return keep


def twfe(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None = None,
    controls: Sequence[str] = (),
    weights: str | None = None,
    family: str = "gaussian",
    exposure: str | None = None,
    inference: str = "auto",
    level: float = 0.95,
    seed: int | None = 0,
    n_boot: int = 9999,
) -> Estimate:
    """Two-way fixed-effects difference-in-differences estimate of the treatment effect.

    Estimates β in y_it = α_i + λ_t + β·D_it + X_it'γ + ε_it with D_it = 1{t ≥ cohort_i}, unit
    and period effects absorbed by the within transformation. ``family="poisson"`` estimates
    log E[y_it] = α_i + λ_t + β·D_it + X_it'γ + log(exposure_it) by Poisson PML instead, and
    reports β with the rate ratio exp(β) and the percent change 100·(exp(β) − 1) in
    ``details``.

    Parameters
    ----------
    data
        Long data: one row per unit × period (several rows per cell are allowed, e.g.
        junction-days within a ward when ``unit`` is the ward).
    outcome, unit, time, cohort
        Column names; ``cohort`` is the first treated period, missing = never treated.
    cluster
        Column to cluster standard errors by (e.g. ``"ward"`` when units are junctions);
        default: the unit (Bertrand, Duflo & Mullainathan 2004).
    controls
        Time-varying control columns.
    weights
        Column of positive analytic weights (weighted least squares; gaussian only).
    family
        ``"gaussian"`` (least squares) or ``"poisson"`` (counts).
    exposure
        Column of exposure (e.g. population) entering the Poisson model as log offset.
    inference
        ``"auto"`` (choose by design, see :func:`evaluation.inference.choose.choose_inference`),
        ``"cluster"`` (CR1, Stata/fixest small-sample correction, t with G−1 df), ``"wild"``
        (restricted wild cluster bootstrap, Webb weights), ``"randomization"`` or ``"none"``
        (point estimate only — the fast path used inside randomization inference).
    level
        Confidence level of the interval.
    seed, n_boot
        Seed, and draws of the wild bootstrap or re-assignments of randomization inference
        (all distinct assignments are used when there are fewer). Randomization intervals are
        computed for the linear model only (Poisson: p-value only).

    Returns
    -------
    Estimate
        ``details`` holds the coefficient table (treatment and controls) and, for Poisson,
        ``rate_ratio``, ``rate_ratio_ci``, ``percent_change``, ``percent_change_ci``,
        ``iterations`` and the rows dropped for all-zero outcomes.

    References
    ----------
    Goodman-Bacon (2021), *J. Econometrics* 225(2); Correia, Guimarães & Zylkin (2020), *Stata
    Journal* 20(1); Cameron & Miller (2015), *J. Human Resources* 50(2).
    """
    level = _check_level(level)
    if family not in _FAMILIES:
        raise DataError(f"argument 'family' must be 'gaussian' or 'poisson', got {family!r}")
    if exposure is not None and family != "poisson":
        raise DataError(
            "argument 'exposure' is an offset of the Poisson model; use family='poisson' "
            "(or divide the outcome by exposure and keep family='gaussian')."
        )
    if weights is not None and family == "poisson":
        raise DataError(
            "argument 'weights' is not supported with family='poisson'; rates per population "
            "go in 'exposure'."
        )
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="twfe",
        cluster=cluster,
        controls=controls,
        weights=weights,
        exposure=exposure,
        count_outcome=family == "poisson",
    )
    estimator = "twfe_poisson" if family == "poisson" else "twfe"
    n_pre = _single_unit_pre_periods(prep, family, controls, weights)
    choice = inf.resolve(
        inference,
        estimator="twfe",
        available=("cluster", "randomization")
        if family == "poisson"
        else ("cluster", "wild", "randomization") + (("conformal",) if n_pre is not None else ()),
        n_clusters=prep.n_clusters,
        n_treated_clusters=prep.n_treated_clusters(),
        n_periods=prep.T,
        cluster_name=prep.cluster_name,
        n_pre_periods=n_pre,
    )
    if choice.auto and family == "poisson":
        choice = inf.resolve(
            "auto",
            estimator=estimator,
            available=("cluster", "randomization"),
            n_clusters=prep.n_clusters,
            n_treated_clusters=prep.n_treated_clusters(),
            n_periods=prep.T,
            cluster_name=prep.cluster_name,
        )
    fit_fn = partial(
        _point,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        cluster=cluster,
        controls=tuple(controls),
        weights=weights,
        family=family,
        exposure=exposure,
    )
    if family == "poisson":
        return _poisson(prep, data, choice, level, seed, n_boot, fit_fn)
    return _gaussian(prep, data, choice, level, seed, n_boot, fit_fn)


def _single_unit_pre_periods(prep: Panel, family, controls, weights) -> int | None:
    """Pre-periods of the treated unit when conformal inference applies: one treated unit that
    is its own cluster, a balanced panel, least squares without controls or weights."""
    if family != "gaussian" or controls or weights is not None or prep.n_treated != 1:
        return None
    if not prep.balanced or prep.n_clusters != prep.N:
        return None
    return int(prep.cohort_pos[prep.ever_treated][0])


def _point(data, *, outcome, unit, time, cohort, cluster, controls, weights, family, exposure):
    """The TWFE point estimate alone: ``fit(data) -> float`` for randomization inference."""
    return twfe(
        data,
        outcome,
        unit,
        time,
        cohort,
        cluster=cluster,
        controls=controls,
        weights=weights,
        family=family,
        exposure=exposure,
        inference="none",
    ).estimate


def _randomization_batch(prep: Panel):
    """Exact vectorised TWFE estimates under many cohort re-assignments, or None.

    On a balanced panel without controls or weights the within transform Ỹ of the outcome is
    the same under every assignment; only the treatment indicator moves. With
    D_a,it = 1{t ≥ c_a,i}, β̂_a = Σ D̃_a Ỹ / Σ D̃_a D_a, where the numerator is a sum of
    suffix sums of Ỹ (Σ_{t ≥ c} Ỹ_it, one look-up per unit) and the denominator depends only on
    how many units are treated in each period — so all assignments cost O(assignments × N)
    (MacKinnon & Webb 2020 randomization inference for the TWFE DiD).
    """
    if not prep.balanced or prep.controls.shape[1] or prep.weights is not None:
        return None
    Y = prep.wide()
    D = prep.wide(prep.treated.astype(float))

    def batch(units, donors):
        C = inf.reassigned_cohorts(prep.units, prep.cohort_pos, units, donors)
        den = _twfe_treatment_variation(C, prep.T)
        return _twfe_numerator(Y, C) / den, _twfe_numerator(D, C) / den

    return batch


def _twfe_numerator(Y: np.ndarray, C: np.ndarray) -> np.ndarray:
    """Σ_it D_a,it Ỹ_it for every row a of cohort positions C (T = never), Ỹ two-way demeaned."""
    N, T = Y.shape
    Yd = Y - Y.mean(axis=1, keepdims=True) - Y.mean(axis=0, keepdims=True) + Y.mean()
    suffix = np.zeros((N, T + 1))
    suffix[:, :T] = np.cumsum(Yd[:, ::-1], axis=1)[:, ::-1]
    return suffix[np.arange(N)[None, :], C].sum(axis=1)


def _twfe_treatment_variation(C: np.ndarray, T: int) -> np.ndarray:
    """Σ_it D̃_a,it² for every row a of cohort positions C on a balanced N × T grid.

    With n_i = T − c_i treated periods per unit and k_t units treated in period t,
    Σ D̃² = Σn − Σn²/T − Σ_t k_t²/N + (Σn)²/(NT).
    """
    A, N = C.shape
    n = (T - C).astype(float)
    starts = np.bincount((np.arange(A)[:, None] * (T + 1) + C).ravel(), minlength=A * (T + 1))
    k = np.cumsum(starts.reshape(A, T + 1), axis=1)[:, :T].astype(float)
    total = n.sum(axis=1)
    return total - (n**2).sum(axis=1) / T - (k**2).sum(axis=1) / N + total**2 / (N * T)


def _design_warnings(prep: Panel, choice: inf.Choice) -> list[str]:
    out = list(prep.warnings)
    if len(prep.cohorts) > 1:
        out.append(
            f"Treatment starts at {len(prep.cohorts)} different times: if effects differ "
            "across cohorts or grow over time, TWFE mixes in comparisons with already-treated "
            "units and can be biased (Goodman-Bacon 2021). Compare with att_gt and look at "
            "bacon_decomposition."
        )
    return out + inf.few_clusters_warning(choice, prep.n_clusters)


def _gaussian(prep: Panel, data, choice, level, seed, n_boot, fit_fn) -> Estimate:
    D = prep.treated.astype(float)
    X = np.column_stack([D, prep.controls])
    names = ["treatment", *prep.control_names]
    fit = fit_within(prep.y, X, names, [prep.unit, prep.time], prep.weights)
    beta = float(fit.beta[0])
    common = _common(prep, choice)
    if choice.method == "none":
        return Estimate(
            estimate=beta,
            se=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            pvalue=math.nan,
            method="TWFE (least squares)",
            inference=choice.reason,
            inference_method="none",
            **common,
        )
    V, df = cluster_vcov(fit, prep.y, prep.cluster, prep.n_clusters)
    coef_se = np.sqrt(np.clip(np.diag(V), 0, None))
    wild_args = dict(
        y=prep.y,
        X=X,
        cluster=prep.cluster,
        param=0,
        fe=[prep.unit, prep.time],
        weights=prep.weights,
    )
    fields, method, text, extra = inf.finish(
        choice,
        prep,
        data,
        level,
        seed,
        n_boot,
        fit_fn,
        beta=beta,
        V=V,
        df=df,
        wild_args=wild_args,
        batch=_randomization_batch(prep) if choice.method == "randomization" else None,
    )
    warnings = _design_warnings(prep, choice) + extra
    coefs = pd.DataFrame({"term": names, "estimate": fit.beta, "se_cr1": coef_se})
    return Estimate(
        estimate=beta,
        se=fields["se"],
        ci_low=fields["ci_low"],
        ci_high=fields["ci_high"],
        pvalue=fields["pvalue"],
        min_pvalue=fields["min_pvalue"],
        method="TWFE (least squares)",
        inference=text,
        inference_method=method,
        level=level,
        details={"coefficients": coefs, "cluster": prep.cluster_name},
        **{**common, "warnings": warnings},
    )


def _common(prep: Panel, choice) -> dict:
    return {
        "outcome": prep.outcome,
        "n_obs": prep.n,
        "n_units": prep.N,
        "n_treated": prep.n_treated,
        "n_clusters": prep.n_clusters,
        "warnings": list(prep.warnings),
    }


def _poisson(prep: Panel, data, choice, level, seed, n_boot, fit_fn) -> Estimate:
    keep = _drop_all_zero_groups(prep.y, [prep.unit, prep.time])
    n_dropped = int((~keep).sum())
    y = prep.y[keep]
    D = prep.treated[keep].astype(float)
    X = np.column_stack([D, prep.controls[keep]])
    names = ["treatment", *prep.control_names]
    unit, _ = _recode(prep.unit[keep])
    time, _ = _recode(prep.time[keep])
    cl, G = _recode(prep.cluster[keep])
    offset = None if prep.exposure is None else np.log(prep.exposure[keep])
    if D.min() == D.max():
        raise DesignError(
            "twfe(family='poisson'): after removing units and periods whose counts are all "
            f"zero ({n_dropped} rows), treatment no longer varies; there is nothing to compare."
        )
    fit = fit_poisson(y, X, names, [unit, time], offset=offset)
    beta = float(fit.beta[0])
    n_units = int(np.unique(unit).size)
    treated_units = int(np.unique(prep.unit[keep][prep.ever_treated[prep.unit[keep]]]).size)
    common = {
        "outcome": prep.outcome,
        "n_obs": int(keep.sum()),
        "n_units": n_units,
        "n_treated": treated_units,
        "n_clusters": G,
        "scale": "log rate ratio",
    }
    warnings = _design_warnings(prep, choice)
    if n_dropped:
        warnings.append(
            f"{n_dropped} rows of units or periods with only zero counts were dropped: they "
            "carry no information in a Poisson model with fixed effects."
        )
    if choice.method == "none":
        return Estimate(
            estimate=beta,
            se=math.nan,
            ci_low=math.nan,
            ci_high=math.nan,
            pvalue=math.nan,
            method="TWFE (Poisson PML)",
            inference=choice.reason,
            inference_method="none",
            warnings=warnings,
            **common,
        )
    V, df = cluster_vcov(fit, y, cl, G)
    coef_se = np.sqrt(np.clip(np.diag(V), 0, None))
    fields, method, text, extra = inf.finish(
        choice,
        prep,
        data,
        level,
        seed,
        n_boot,
        fit_fn,
        beta=beta,
        V=V,
        df=df,
        wild_args={},
        linear=False,
    )
    warnings += extra
    lo, hi = fields["ci_low"], fields["ci_high"]
    details = {
        "coefficients": pd.DataFrame({"term": names, "estimate": fit.beta, "se_cr1": coef_se}),
        "rate_ratio": math.exp(beta),
        "rate_ratio_ci": [math.exp(lo), math.exp(hi)] if math.isfinite(lo) else [None, None],
        "percent_change": 100 * (math.exp(beta) - 1),
        "percent_change_ci": [100 * (math.exp(lo) - 1), 100 * (math.exp(hi) - 1)]
        if math.isfinite(lo)
        else [None, None],
        "iterations": fit.iterations,
        "deviance": fit.deviance,
        "rows_dropped_all_zero": n_dropped,
        "exposure": prep.exposure is not None,
        "cluster": prep.cluster_name,
    }
    return Estimate(
        estimate=beta,
        se=fields["se"],
        ci_low=lo,
        ci_high=hi,
        pvalue=fields["pvalue"],
        min_pvalue=fields["min_pvalue"],
        method="TWFE (Poisson PML)",
        inference=text,
        inference_method=method,
        level=level,
        details=details,
        warnings=warnings,
        **common,
    )
