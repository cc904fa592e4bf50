"""Two-way fixed effects (TWFE) difference-in-differences, linear and Poisson.

    y_it = α_i + λ_t + β·D_it + X_it'γ + ε_it,        D_it = 1{t ≥ cohort_i}

estimated by least squares with the unit and period effects absorbed (no dummy columns), or,
for counts, by Poisson pseudo-maximum likelihood with the same effects and log(exposure) as an
offset (Santos Silva & Tenreyro 2006; Correia, Guimarães & Zylkin 2020), where exp(β) is the
rate ratio. With staggered adoption and effects that change over time, β is a weighted average
of 2×2 comparisons some of which use already-treated units as controls (Goodman-Bacon 2021,
*J. Econometrics* 225(2)); :func:`evaluation.estimators.bacon.bacon_decomposition` shows the
weights and :func:`evaluation.estimators.att_gt.estimator.att_gt` avoids the problem.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from evaluation.core.absorb import Absorber
from evaluation.core.linear import cluster_vcov, fit_poisson, fit_within
from evaluation.core.poisson_batch import PoissonTwfeBatch
from evaluation.core.simplex import synthdid_weights
from evaluation.data.prepare import Panel, check_level, prepare, prepare_single_unit_panel
from evaluation.errors import DataError, DesignError
from evaluation.inference import engine
from evaluation.inference.choose import Setting
from evaluation.inference.randomization import reassigned_cohorts
from evaluation.results import Estimate

__all__ = ["twfe"]

_FAMILIES = ("gaussian", "poisson")


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
        (all distinct assignments are used when there are fewer). Randomization intervals
        invert the test over a constant additive effect (least squares, exact) or, for
        Poisson, a constant proportional one, Y(0) = Y·exp(−τD), on the log scale (Rosenbaum
        2002; needs one row per unit and period and no controls, otherwise p-value only).

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
    level = check_level(level)
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
    fit_fn = partial(
        engine.point_estimate,
        twfe,
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
    randomization = engine.RandomizationRefit(
        fit_fn, data, unit, cohort, time, outcome, linear=family == "gaussian"
    )
    if family == "poisson":
        return _poisson(prep, inference, randomization, level, seed, n_boot)
    return _gaussian(prep, data, inference, randomization, level, seed, n_boot, controls, weights)


def _design(prep: Panel, estimator: str, n_pre: int | None = None) -> Setting:
    return Setting(
        estimator,
        prep.n_clusters,
        prep.n_treated_clusters(),
        prep.T,
        n_pre_periods=n_pre,
        cluster_name=prep.cluster_name,
    )


def _cluster_label(prep: Panel, n_clusters: int | None = None) -> str:
    return f"clustered by '{prep.cluster_name}' ({n_clusters or prep.n_clusters} clusters)"


def _single_unit_pre_periods(prep: Panel, family, controls, weights) -> int | None:
    """Pre-periods of the treated unit when conformal inference applies: one treated unit that
    is its own cluster, a balanced panel, least squares without controls or weights."""
    if family != "gaussian" or controls or weights is not None or prep.n_treated != 1:
        return None
    if not prep.balanced or prep.n_clusters != prep.N:
        return None
    return int(prep.cohort_pos[prep.ever_treated][0])


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
        C = reassigned_cohorts(prep.units, prep.cohort_pos, units, donors)
        # Every row permutes the same cohorts, so the number of units treated in each period —
        # all the denominator depends on — is the same in every row (and its sums of whole
        # numbers are exact): computed once, not per assignment
        den = _twfe_treatment_variation(C[:1], prep.T)[0]
        return _twfe_numerator(Y, C) / den, _twfe_numerator(D, C) / den

    return batch


#: rows up to which :func:`_projected_batch` residualises the re-assigned treatment columns
_PROJECTION_MAX_ROWS = 20_000
_PROJECTION_BLOCK = 512


def _projected_batch(prep: Panel):
    """Exact vectorised TWFE estimates under re-assigned cohorts for any linear TWFE — with
    weights, controls or an unbalanced panel — where :func:`_randomization_batch` does not
    apply.

    By Frisch–Waugh–Lovell, β̂_a = D̃_a′W ỹ / D̃_a′W D̃_a, with ~ the W-weighted residual of the
    unit and period effects and the controls, which do not move when cohorts are permuted: ỹ
    and the residual of the observed treatment are computed once, and the re-assigned
    treatment columns are residualised in blocks, one absorption for hundreds of assignments.
    """
    if prep.n > _PROJECTION_MAX_ROWS:
        return None
    w = np.ones(prep.n) if prep.weights is None else prep.weights
    absorber = Absorber([prep.unit, prep.time], weights=prep.weights)
    controls = absorber.demean(prep.controls) if prep.controls.shape[1] else None

    def residual(V: np.ndarray) -> np.ndarray:
        V = absorber.demean(V)
        if controls is not None:
            coef = np.linalg.lstsq(
                controls * np.sqrt(w)[:, None], V * np.sqrt(w)[:, None], rcond=None
            )[0]
            V = V - controls @ coef
        return V

    wy = w * residual(prep.y[:, None])[:, 0]
    wd = w * residual(prep.treated.astype(float)[:, None])[:, 0]

    def batch(units, donors):
        C = reassigned_cohorts(prep.units, prep.cohort_pos, units, donors)
        theta_y = np.empty(len(C))
        theta_d = np.empty(len(C))
        for start in range(0, len(C), _PROJECTION_BLOCK):
            block = C[start : start + _PROJECTION_BLOCK]
            D = residual((prep.time[:, None] >= block[:, prep.unit].T).astype(float))
            den = np.einsum("ia,ia->a", D, D * w[:, None])
            theta_y[start : start + len(block)] = (D.T @ wy) / den
            theta_d[start : start + len(block)] = (D.T @ wd) / den
        return theta_y, theta_d

    return batch


def twfe_designs(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    designs: Sequence[dict],
    *,
    weights: str | None = None,
) -> np.ndarray:
    """:func:`twfe`'s least-squares point estimate (no controls) on ``data`` under each of many
    designs at once: ``designs[a]`` maps the units treated in design a to their first treated
    period (every other unit untreated). The placebo runs of
    :mod:`evaluation.diagnostics.placebo` — each comparison ward as if treated, each fake start
    date — are such designs on one frame.

    By Frisch–Waugh–Lovell β̂_a = D̃_a′W ỹ / D̃_a′W D̃_a, with ~ the W-weighted residual of the
    unit and period effects: the absorption is set up once (for an unbalanced panel, one
    pseudo-inverse of the effects' normal equations) and the treatment columns are residualised
    in blocks, where a loop of :func:`twfe` calls would set it up again for every design — the
    cost of a city's placebos grew with the square of its wards. Equal to :func:`twfe` run on
    each design to rounding (a test compares them). ``data[cohort]`` must hold a valid design
    (the inputs are checked once, on it); a design whose treatment the effects absorb
    entirely gives NaN.
    """
    prep = prepare(data, outcome, unit, time, cohort, estimator="twfe", weights=weights)
    w = np.ones(prep.n) if prep.weights is None else prep.weights
    absorber = Absorber([prep.unit, prep.time], weights=prep.weights)
    wy = w * absorber.demean(prep.y)
    units = data[unit].to_numpy()
    times = data[time]
    out = np.empty(len(designs))
    for lo in range(0, len(designs), _PROJECTION_BLOCK):
        block = designs[lo : lo + _PROJECTION_BLOCK]
        D = np.zeros((prep.n, len(block)))
        for j, design in enumerate(block):
            for u, start in design.items():
                D[:, j] += (units == u) & (times >= start).to_numpy()
        D = absorber.demean(D)
        den = np.einsum("ia,ia->a", D, D * w[:, None])
        with np.errstate(invalid="ignore", divide="ignore"):
            out[lo : lo + len(block)] = np.where(den > 1e-12, (D.T @ wy) / den, np.nan)
    return out


def unit_contributions(prep: Panel):
    """The TWFE estimate under re-assigned cohorts, on *any* outcome, as a sum over units.

    Returns ``(groups, contributions)``, or None where :func:`_randomization_batch` does not
    apply: ``groups[i]`` is unit i's cohort group (units in ``prep``'s sorted order), and
    ``contributions(Z)`` for an N × T outcome matrix Z (or a stack R × N × T) is the
    (G × N) matrix M (or R × G × N) with

        θ_a(Z) = Σ_i M[groups[d_a,i], i]

    for the assignment in which unit i takes the cohort of unit d_a,i: M[g, i] = Σ_{t ≥ c_g} Z̃_it
    / Σ D̃², the suffix sum of the two-way demeaned Z from cohort g's start (the denominator is
    the same for every permutation of the cohorts). TWFE is linear in the outcome, so the design
    stage (:mod:`evaluation.design.power`) evaluates θ_a(Y + δ·D_r) = θ_a(Y) + δ·θ_a(D_r) for
    every replication r, assignment a and effect δ from these, with matrix products instead of
    refits (:func:`evaluation.inference.batched.randomization_test`; Burlig, Preonas & Woerman
    2020 power by simulation; MacKinnon & Webb 2020).
    """
    if not prep.balanced or prep.controls.shape[1] or prep.weights is not None:
        return None
    T = prep.T
    starts, groups = np.unique(prep.cohort_pos, return_inverse=True)
    den = _twfe_treatment_variation(prep.cohort_pos[None, :], T)[0]

    def contributions(Z):
        Z = np.asarray(Z, dtype=float)
        Zd = Z - Z.mean(axis=-1, keepdims=True) - Z.mean(axis=-2, keepdims=True)
        Zd += Z.mean(axis=(-2, -1), keepdims=True)
        suffix = np.zeros((*Z.shape[:-1], T + 1))
        suffix[..., :T] = np.cumsum(Zd[..., ::-1], axis=-1)[..., ::-1]
        return np.swapaxes(suffix[..., starts], -1, -2) / den

    return groups.astype(np.int64), contributions


def cluster_batch(
    prep: Panel, data: pd.DataFrame, C: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """TWFE's β̂ and CR1 standard error (clustered by unit) on the observed outcome under each
    row of cohort positions ``C`` (R × N, units in ``prep``'s sorted order, T = not treated),
    and the t test's degrees of freedom G − 1: the pieces of the cluster-robust test of many
    re-assigned designs at once (:func:`evaluation.inference.batched.cluster_t_test`).

    For a balanced panel with one cluster per unit, no controls and no weights (the caller
    checks). An additive effect δ moves β̂ by δ and leaves the residuals — hence the standard
    error — unchanged, so the design stage (:mod:`evaluation.design.power`) tests every effect
    from these. The CR1 small-sample factor G/(G − 1)·(n − 1)/(n − k) is the same for every
    design, so it is read off :func:`twfe`'s own standard error on the observed design."""
    C = np.vstack([prep.cohort_pos[None, :], C])  # the observed design first
    D = (np.arange(prep.T)[None, None, :] >= C[:, :, None]).astype(float)

    def within(X):
        return (
            X
            - X.mean(axis=-1, keepdims=True)
            - X.mean(axis=-2, keepdims=True)
            + X.mean(axis=(-2, -1), keepdims=True)
        )

    Yw = within(prep.wide())
    Dw = within(D)
    den = (Dw * Dw).sum(axis=(1, 2))
    beta = (Dw * Yw[None]).sum(axis=(1, 2)) / den
    e = Yw[None] - beta[:, None, None] * Dw
    scores = (Dw * e).sum(axis=2)  # designs × N (cluster = unit)
    raw = (scores**2).sum(axis=1) / den**2
    names = (prep.outcome, prep.unit_name, prep.time_name, prep.cohort_name)
    est = twfe(data, *names, inference="cluster")
    factor = est.se**2 / raw[0]
    se = np.sqrt(factor * raw[1:])
    return beta[1:], se, prep.n_clusters - 1


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


def _poisson_batch_obstacle(prep: Panel) -> str | None:
    """Why the vectorised Poisson solver cannot reproduce this fit, in words; None if it can."""
    if not prep.balanced:
        return "the panel does not have exactly one row for every unit and period"
    if prep.controls.shape[1]:
        return "the model has control variables"
    return None


def _poisson_randomization_batch(prep: Panel, keep: np.ndarray):
    """The Poisson TWFE estimate on Y(0)(τ) = Y·exp(−τ·D) under many cohort re-assignments at
    once (``batch(units, donors, tau)``, see :class:`engine.RandomizationRefit`), or None.

    On a balanced panel without controls :class:`~evaluation.core.poisson_batch.PoissonTwfeBatch`
    solves every assignment together and equals :func:`fit_poisson` on each to rounding. The
    all-zero rule of :func:`_drop_all_zero_groups` is reproduced exactly: it removes whole units
    and periods and depends only on which counts are zero — the same under every assignment
    and every τ, since Y·exp(−τD) is zero where Y is — so the solver works on the same kept
    sub-grid throughout. Unbalanced panels (several rows per cell, holes) and controls fall
    back to refitting (None).
    """
    if _poisson_batch_obstacle(prep) is not None:
        return None
    kept = prep.wide(keep.astype(float)) > 0
    rows, cols = kept.any(axis=1), kept.any(axis=0)
    grid = np.ix_(rows, cols)
    log_e = None if prep.exposure is None else np.log(prep.wide(prep.exposure)[grid])
    at = np.flatnonzero(cols)
    # a cohort position on the full grid -> the first kept period at or after it (a dropped
    # all-zero period carries no information, so starting there or at the next one is the same)
    model = PoissonTwfeBatch(
        prep.wide()[grid],
        log_e,
        np.searchsorted(at, prep.cohort_pos[rows]),
        starts=np.searchsorted(at, prep.cohort_pos),  # kept units may take a dropped unit's
    )

    def batch(units, donors, tau):
        C = reassigned_cohorts(prep.units, prep.cohort_pos, units, donors)
        return model.estimates(np.searchsorted(at, C[:, rows]), tau)

    return batch


def _design_warnings(prep: Panel) -> list[str]:
    out = list(prep.warnings)
    if len(prep.cohorts) > 1:
        out.append(
            f"Treatment starts at {len(prep.cohorts)} different times: if effects differ "
            "across cohorts or grow over time, TWFE mixes in comparisons with already-treated "
            "units and can be biased (Goodman-Bacon 2021). Compare with att_gt and look at "
            "bacon_decomposition."
        )
    return out


def _common(prep: Panel) -> dict:
    return {
        "outcome": prep.outcome,
        "n_obs": prep.n,
        "n_units": prep.N,
        "n_treated": prep.n_treated,
        "n_clusters": prep.n_clusters,
    }


def _conformal_refit(prep: Panel, data: pd.DataFrame) -> engine.ConformalRefit:
    """The DiD counterfactual (equal control weights plus intercept) of a single treated unit,
    which matches the TWFE estimate, for conformal (time-permutation) inference."""
    panel = prepare_single_unit_panel(
        data,
        prep.outcome,
        prep.unit_name,
        prep.time_name,
        prep.cohort_name,
        method="conformal test",
        min_pre_periods=5,
    )
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    center = synthdid_weights(Y, N0, T0, kind="did")["estimate"]
    return engine.ConformalRefit(Y[N0:].mean(axis=0), Y[:N0].T, T0, model="did", center=center)


def _gaussian(
    prep: Panel, data, inference, randomization, level, seed, n_boot, controls, weights
) -> Estimate:
    D = prep.treated.astype(float)
    X = np.column_stack([D, prep.controls])
    names = ["treatment", *prep.control_names]
    fit = fit_within(prep.y, X, names, [prep.unit, prep.time], prep.weights)
    beta = float(fit.beta[0])
    if inference == "none":  # the fast path randomization inference re-runs
        return Estimate(
            estimate=beta,
            method="TWFE (least squares)",
            warnings=list(prep.warnings),
            **engine.no_inference().fields(),
            **_common(prep),
        )
    V, df = cluster_vcov(fit, prep.y, prep.cluster, prep.n_clusters)
    coef_se = np.sqrt(np.clip(np.diag(V), 0, None))
    se = float(np.sqrt(V[0, 0])) if V[0, 0] > 0 else math.nan
    refits = {
        "cluster": engine.StandardError(se, df, _cluster_label(prep)),
        "wild": engine.WildRefit(prep.y, X, prep.cluster, 0, (prep.unit, prep.time), prep.weights),
        "randomization": lambda: dataclasses.replace(
            randomization, batch=_randomization_batch(prep) or _projected_batch(prep)
        ),
    }
    if prep.n_clusters < 2:  # nothing to cluster over: only permutations remain
        del refits["cluster"], refits["wild"]
    elif min(prep.n_treated_clusters(), prep.n_clusters - prep.n_treated_clusters()) < 1:
        del refits["wild"]
    n_pre = _single_unit_pre_periods(prep, "gaussian", controls, weights)
    if n_pre is not None:
        refits["conformal"] = lambda: _conformal_refit(prep, data)
    result = engine.infer(
        inference, _design(prep, "twfe", n_pre), beta, refits, level=level, seed=seed, reps=n_boot
    )
    coefs = pd.DataFrame({"term": names, "estimate": fit.beta, "se_cr1": coef_se})
    return Estimate(
        estimate=beta,
        method="TWFE (least squares)",
        level=level,
        details={"coefficients": coefs, "cluster": prep.cluster_name, **result.details},
        warnings=_design_warnings(prep) + result.warnings,
        **result.fields(),
        **_common(prep),
    )


def _rate_ratio(beta: float, lo: float, hi: float) -> dict:
    """A log rate ratio and its interval as the rate ratio exp(β) and the percent change
    100·(exp(β) − 1) (intervals None when there is none)."""
    return {
        "rate_ratio": math.exp(beta),
        "rate_ratio_ci": [math.exp(lo), math.exp(hi)] if math.isfinite(lo) else [None, None],
        "percent_change": 100 * (math.exp(beta) - 1),
        "percent_change_ci": [100 * (math.exp(lo) - 1), 100 * (math.exp(hi) - 1)]
        if math.isfinite(lo)
        else [None, None],
    }


def _poisson(prep: Panel, inference, randomization, level, seed, n_boot) -> Estimate:
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
    treated_units = int(np.unique(prep.unit[keep][prep.ever_treated[prep.unit[keep]]]).size)
    common = {
        "outcome": prep.outcome,
        "n_obs": int(keep.sum()),
        "n_units": int(np.unique(unit).size),
        "n_treated": treated_units,
        "n_clusters": G,
        "scale": "log rate ratio",
    }
    warnings = _design_warnings(prep)
    if n_dropped:
        warnings.append(
            f"{n_dropped} rows of units or periods with only zero counts were dropped: they "
            "carry no information in a Poisson model with fixed effects."
        )
    if inference == "none":
        return Estimate(
            estimate=beta,
            method="TWFE (Poisson PML)",
            warnings=warnings,
            **engine.no_inference().fields(),
            **common,
        )
    V, df = cluster_vcov(fit, y, cl, G)
    coef_se = np.sqrt(np.clip(np.diag(V), 0, None))
    se = float(np.sqrt(V[0, 0])) if V[0, 0] > 0 else math.nan
    # test inversion under a constant proportional effect, Y(0) = Y·exp(−τD); building the
    # solver costs well under a millisecond, so it is built whichever method runs
    null_batch = _poisson_randomization_batch(prep, keep)
    refits = {
        "cluster": engine.StandardError(se, df, _cluster_label(prep, G)),
        "randomization": dataclasses.replace(
            randomization, effect="multiplicative", batch=null_batch
        ),
    }
    result = engine.infer(
        inference, _design(prep, "twfe_poisson"), beta, refits, level=level, seed=seed, reps=n_boot
    )
    if result.method == "randomization" and null_batch is None:
        why = _poisson_batch_obstacle(prep)
        warnings.append(
            "No confidence interval: the randomization interval of the Poisson model needs its "
            "fast solver, which requires one row for every unit and period and no control "
            "variables" + (f" — here {why}" if why else "") + "; refitting the model for "
            "every re-assignment at every candidate effect would take too long. Only the "
            "p-value is reported."
        )
    details = {
        "coefficients": pd.DataFrame({"term": names, "estimate": fit.beta, "se_cr1": coef_se}),
        **_rate_ratio(beta, result.ci_low, result.ci_high),
        "iterations": fit.iterations,
        "deviance": fit.deviance,
        "rows_dropped_all_zero": n_dropped,
        "exposure": prep.exposure is not None,
        "cluster": prep.cluster_name,
    }
    return Estimate(
        estimate=beta,
        method="TWFE (Poisson PML)",
        level=level,
        details=details,
        warnings=warnings + result.warnings,
        **result.fields(),
        **common,
    )
