"""The Poisson extended two-way fixed effects estimator (ETWFE) of Wooldridge (2023).

For counts with staggered starts the Poisson TWFE of :mod:`evaluation.estimators.twfe` puts one
rate ratio on every treated cell, and where effects differ between cohorts or over time it
compares later starters with wards already treated (Goodman-Bacon 2021). Wooldridge's
extended TWFE gives every cohort g and every period t ≥ g its own effect,

    log E[y_it] = α_i + λ_t + Σ_{g, t ≥ g} τ_gt·1{cohort_i = g}·1{t} + log(exposure_it),

estimated by Poisson quasi-maximum likelihood with unit and period effects absorbed
(:func:`evaluation.core.linear.fit_poisson`), so each τ_gt compares cohort g in period t with
the units still untreated then — never-treated and not-yet-treated — and no treated cell is
ever a control. Time-invariant covariates x enter as in Wooldridge (2023, §4) and R ``etwfe``:
x·λ_t (a period effect per unit of x) and, in each treated cell, τ_gt + (x − x̄_g)·δ_gt.

Average effects are aggregated from the fitted counts of the treated rows, with and without
their cell effects (μ¹ = fitted, μ⁰ = μ¹·exp(−τ_gt − (x − x̄_g)δ_gt)). In a period whose
untreated units have no count λ̂_t = −∞: its treated rows enter with μ¹ = their count and
μ⁰ = 0 (the limit of the full model), never left out — leaving them out selects periods on the
comparison's outcome and biases rare counts downwards (a −20 % effect read as −34 % with 13
wards at 0.4 events a month; tests/test_etwfe.py).

* on the count scale, the mean of μ¹ − μ⁰ over the rows (R ``etwfe::emfx``'s response scale);
* as a ratio, Σμ¹ / Σμ⁰ — observed over expected-without-the-programme counts, since every
  treated cell's fitted total equals its observed total — and the percent change
  100·(ratio − 1);

overall, by cohort, by event time t − g and by calendar period, with delta-method standard
errors that hold the fixed effects at their estimates (as ``emfx`` does; CR1, clustered by
unit). The reported estimate is the overall log ratio; with few wards its test and interval
come from randomization inference over which wards start when (``inference="auto"``),
inverting the test over a constant proportional effect (:mod:`.etwfe_batch` solves the model
for every re-assignment at once).

References
----------
Wooldridge, J. M. (2023). Simple approaches to nonlinear difference-in-differences with panel
data. *Econometrics Journal* 26(3), C31–C66. Wooldridge, J. M. (2021). Two-way fixed effects,
the two-way Mundlak regression, and difference-in-differences estimators. SSRN 3906345.
McDermott, G. (2023). etwfe: Extended Two-Way Fixed Effects (R package). Rios-Avila, F. (2022).
JWDID: Stata module. Goodman-Bacon, A. (2021). *J. Econometrics* 225(2).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from evaluation.core.linear import cluster_vcov, fit_poisson
from evaluation.data.prepare import Panel, check_level, prepare
from evaluation.errors import DataError, DesignError
from evaluation.estimators.etwfe_batch import EtwfeBatch
from evaluation.estimators.twfe import _drop_all_zero_groups, _rate_ratio, _recode
from evaluation.inference import engine
from evaluation.inference.choose import Setting
from evaluation.inference.randomization import reassigned_cohorts
from evaluation.results import Estimate

__all__ = ["etwfe", "EtwfeFit", "aggregate"]

#: the aggregations of :func:`aggregate`
KINDS = ("simple", "group", "event", "calendar")


@dataclasses.dataclass
class EtwfeFit:
    """The fitted ETWFE: the treated rows with their fitted counts with (``mu1``) and without
    (``mu0``) the cell effects, the coefficients and their CR1 covariance, and the pieces the
    delta method needs (the derivative of μ¹ and μ⁰ of every treated row by each
    coefficient)."""

    rows: pd.DataFrame  # treated rows: unit, group, time, event, y, mu0, mu1
    coef: pd.Series
    vcov: np.ndarray
    dmu1: np.ndarray  # (treated rows × coefficients)
    dmu0: np.ndarray
    df: int
    n_obs: int
    n_units: int
    n_clusters: int
    zero_cells: int
    blank_periods: list  # periods whose untreated units had no count (λ̂_t = −∞)
    dropped_cohorts: list
    iterations: int


def etwfe(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    exposure: str | None = None,
    controls: Sequence[str] = (),
    cluster: str | None = None,
    events: tuple[int, int] | None = None,
    inference: str = "auto",
    level: float = 0.95,
    seed: int | None = 0,
    n_boot: int = 999,
) -> Estimate:
    """Poisson extended TWFE (Wooldridge 2023): the average effect of a staggered programme on
    a count, as the log ratio of observed to expected-without-the-programme counts.

    Parameters
    ----------
    data
        Long data, one row per unit × period.
    outcome, unit, time, cohort
        Column names; ``cohort`` is the first treated period (missing = never treated). Every
        cohort needs at least one period before its start.
    exposure
        Column of exposure (e.g. population), the log offset of the Poisson model.
    controls
        Time-invariant covariates, entered as in Wooldridge (2023) and R ``etwfe`` (see the
        module docstring).
    cluster
        Column to cluster the CR1 standard errors by; default the unit.
    events
        Optional ``(lo, hi)``: average only the treated cells lo … hi periods after their
        cohort's start (e.g. one quarter), instead of every treated cell.
    inference
        ``"auto"`` (randomization inference with few clusters; see
        :func:`evaluation.inference.choose.choose_inference`), ``"cluster"`` (CR1 delta method,
        t with G − 1 degrees of freedom), ``"randomization"`` or ``"none"``.
    level, seed, n_boot
        Confidence level; seed and number of re-assignments of randomization inference (all
        distinct ones when there are fewer).

    Returns
    -------
    Estimate
        ``estimate`` is the log ratio (``scale="log rate ratio"``); ``details`` holds
        ``rate_ratio``, ``percent_change`` (and their intervals), the count-scale average
        ``att_count`` with its delta-method ``att_count_se``, and the aggregation tables
        ``by_cohort``, ``by_event``, ``by_calendar`` (see :func:`aggregate`).
    """
    level = check_level(level)
    controls = list(controls)
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="etwfe",
        cluster=cluster,
        controls=controls,
        exposure=exposure,
        count_outcome=True,
        one_row_per_cell=True,
        allow_always_treated=False,
    )
    fit = fit_etwfe(prep)
    rows = _window(fit.rows, events)
    if rows.empty or rows["mu0"].sum() <= 0:
        where = "" if events is None else f" {events[0]}–{events[1]} periods after a start"
        raise DesignError(
            f"etwfe: no treated cell{where} has a comparison with a count; there is nothing to "
            "average."
        )
    beta, grad = _log_ratio(fit, rows.index.to_numpy())
    se = float(np.sqrt(max(grad @ fit.vcov @ grad, 0.0)))
    att, att_se = _count_att(fit, rows.index.to_numpy())
    common = {
        "outcome": prep.outcome,
        "n_obs": fit.n_obs,
        "n_units": fit.n_units,
        "n_treated": int(rows["unit"].nunique()),
        "n_clusters": fit.n_clusters,
        "scale": "log rate ratio",
    }
    warnings = list(prep.warnings) + _fit_warnings(fit)
    method = "ETWFE (Poisson, Wooldridge 2023)"
    if inference == "none":
        return Estimate(
            estimate=beta,
            method=method,
            warnings=warnings,
            **engine.no_inference().fields(),
            **common,
        )
    fit_fn = partial(
        engine.point_estimate,
        etwfe,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        exposure=exposure,
        controls=tuple(controls),
        cluster=cluster,
        events=events,
    )
    null_batch = _randomization_batch(prep, events)
    refits = {
        "cluster": engine.StandardError(
            se,
            fit.df,
            f"delta method, clustered by '{prep.cluster_name}' ({fit.n_clusters} clusters)",
        ),
        "randomization": engine.RandomizationRefit(
            fit_fn,
            data,
            unit,
            cohort,
            time,
            outcome,
            linear=False,
            batch=null_batch,
            effect="multiplicative",
        ),
    }
    design = Setting(
        "etwfe_poisson",
        prep.n_clusters,
        prep.n_treated_clusters(),
        prep.T,
        cluster_name=prep.cluster_name,
    )
    result = engine.infer(inference, design, beta, refits, level=level, seed=seed, reps=n_boot)
    if result.method == "randomization" and null_batch is None:
        warnings.append(
            "No confidence interval: the randomization interval of the ETWFE needs its fast "
            "solver, which requires one row for every unit and period and no covariates. Only "
            "the p-value is reported."
        )
    details = {
        **_rate_ratio(beta, result.ci_low, result.ci_high),
        "att_count": att,
        "att_count_se": att_se,
        "se_delta": se,
        "events": list(events) if events is not None else None,
        "by_cohort": aggregate(fit, "group"),
        "by_event": aggregate(fit, "event"),
        "by_calendar": aggregate(fit, "calendar"),
        "cells": int(rows.groupby(["group", "time"]).ngroups),
        "zero_cells": fit.zero_cells,
        "exposure": prep.exposure is not None,
        "cluster": prep.cluster_name,
        "iterations": fit.iterations,
    }
    return Estimate(
        estimate=beta,
        method=method,
        level=level,
        details=details,
        warnings=warnings + result.warnings,
        **result.fields(),
        **common,
    )


# --------------------------------------------------------------------------------------------
# The fit
# --------------------------------------------------------------------------------------------


def fit_etwfe(prep: Panel, fixed_effects: str = "unit") -> EtwfeFit:
    """Fit the Poisson ETWFE on a checked panel (see the module docstring).

    ``fixed_effects="unit"`` absorbs unit and period effects; ``"cohort"`` absorbs cohort and
    period effects instead, with a slope of each covariate per cohort — Wooldridge's (2023)
    pooled QMLE and R ``etwfe``'s default (``ivar = NULL``). Without covariates and with an
    exposure constant within units the two give the same cell effects (Wooldridge 2023)."""
    if fixed_effects not in ("unit", "cohort"):
        raise DataError(f"etwfe: fixed_effects must be 'unit' or 'cohort'; got {fixed_effects!r}")
    keep = _drop_all_zero_groups(prep.y, [prep.unit, prep.time])
    T = prep.T
    treated = prep.treated.astype(bool)
    # a period in which every kept unit is treated has no comparison: its period effect and
    # the effects of its cells cannot be separated, so it is left out
    untreated_unit = np.bincount(prep.time[keep & ~treated], minlength=T) > 0
    keep &= untreated_unit[prep.time]
    # a period whose untreated units have no count has λ̂_t = −∞: the expected count of its
    # treated cells without the programme is 0, and their observed counts stay in the averages
    # (the limit of the full model). Leaving such periods out instead would select periods on
    # the comparison's outcome — those kept are those in which it happened to have a count —
    # and bias the expected counts up and the ratio down with rare counts (issue 16, part 3).
    untreated_in = (
        np.bincount(prep.time[keep & ~treated], weights=prep.y[keep & ~treated], minlength=T) > 0
    )
    blank_periods = [
        prep.times[t] for t in range(T) if not untreated_in[t] and (keep & (prep.time == t)).any()
    ]
    blank = keep & treated & ~untreated_in[prep.time]  # treated rows of those periods
    keep &= untreated_in[prep.time]
    if not (keep & treated).any():
        raise DesignError(
            "etwfe: no treated unit and period has a comparison unit untreated at the same time "
            "with a count; there is nothing to compare."
        )
    g_pos = prep.cohort_pos[prep.unit]
    # a cohort without a single count before its start has no level to compare with (its
    # effects would be +∞ against a rate of zero): its units leave the model. (Keeping its
    # counts against an expected 0, as for the periods above, was measured and not kept: on
    # simulations/fire_headline.py --districts 24 the bias went from +2.6 ± 5.6 to +12.7 ± 8.1
    # percentage points and the RMSE from 27 to 41 — a single ward's counts against an expected
    # 0 swing the percent change; leaving the cohort out leaves the others' estimates alone.)
    pre = pd.Series(prep.y[keep & ~treated]).groupby(g_pos[keep & ~treated]).sum()
    empty = [g for g in np.unique(g_pos[keep & treated]) if pre.get(g, 0) <= 0]
    dropped_cohorts = [prep.times[g] for g in empty]
    keep &= ~np.isin(g_pos, empty)
    blank &= ~np.isin(g_pos, empty)
    if not (keep & treated).any():
        raise DesignError(
            "etwfe: no treated cohort has a count before its start; there is no level to "
            "compare with."
        )
    # a unit whose counts all fell in left-out periods adds nothing either (α = −∞)
    has = np.bincount(prep.unit[keep], weights=prep.y[keep], minlength=prep.N) > 0
    keep &= has[prep.unit]
    blank &= has[prep.unit]
    cell_key = np.where(treated, g_pos * (T + 1) + prep.time, -1)
    # cells whose counts are all zero: τ = −∞, their rows leave the fit (the limit of the
    # full model) and enter the averages with μ¹ = 0
    tot = pd.Series(prep.y[keep & treated]).groupby(cell_key[keep & treated]).sum()
    zero_keys = set(tot.index[tot == 0].tolist())
    zero_row = np.isin(cell_key, list(zero_keys)) & keep
    fit_rows = keep & ~zero_row
    cells = np.unique(cell_key[fit_rows & treated])
    by_cohort = fixed_effects == "cohort"
    X, names, k_treat, dX = _regressors(prep, fit_rows, cells, cell_key, by_cohort)
    y = prep.y[fit_rows]
    level_of = prep.cohort_pos[prep.unit] if by_cohort else prep.unit
    unit, n_units = _recode(level_of[fit_rows])
    time_c, _ = _recode(prep.time[fit_rows])
    cl, G = _recode(prep.cluster[fit_rows])
    off = None if prep.exposure is None else np.log(prep.exposure[fit_rows])
    fit = fit_poisson(y, X, names, [unit, time_c], offset=off)
    V, df = cluster_vcov(fit, y, cl, G)
    beta = fit.beta
    # α_i + λ_t of every kept row: recovered on the fitted rows, predicted on the zero cells
    fe_fit = np.log(fit.mu) - X @ beta - (0 if off is None else off)
    fe = _two_way_fill(prep, level_of, fit_rows, keep, fe_fit)
    Xall = dX(keep)
    off_all = 0.0 if prep.exposure is None else np.log(prep.exposure[keep])
    eta1 = fe + Xall @ beta + off_all
    t_rows = treated[keep]
    mu1 = np.exp(eta1)
    mu0 = np.exp(eta1 - Xall[:, :k_treat] @ beta[:k_treat])
    mu1[zero_row[keep]] = 0.0
    # derivatives of μ¹ and μ⁰ with the fixed effects held at their estimates
    dmu1 = Xall * mu1[:, None]
    dmu0 = Xall * mu0[:, None]
    dmu0[:, :k_treat] = 0.0
    idx = np.flatnonzero(keep)
    tr = t_rows
    rows = pd.DataFrame(
        {
            "unit": prep.units[prep.unit[idx[tr]]],
            "group": prep.times[prep.cohort_pos[prep.unit[idx[tr]]]],
            "time": prep.times[prep.time[idx[tr]]],
            "event": (prep.time[idx[tr]] - prep.cohort_pos[prep.unit[idx[tr]]]).astype(int),
            "y": prep.y[idx[tr]],
            "mu0": mu0[tr],
            "mu1": mu1[tr],
        }
    ).reset_index(drop=True)
    # the treated rows of the periods whose comparison had no count: observed counts against an
    # expected 0 (λ̂_t = −∞), no derivative by any coefficient
    b = np.flatnonzero(blank)
    rows = pd.concat(
        [
            rows,
            pd.DataFrame(
                {
                    "unit": prep.units[prep.unit[b]],
                    "group": prep.times[prep.cohort_pos[prep.unit[b]]],
                    "time": prep.times[prep.time[b]],
                    "event": (prep.time[b] - prep.cohort_pos[prep.unit[b]]).astype(int),
                    "y": prep.y[b],
                    "mu0": 0.0,
                    "mu1": prep.y[b].astype(float),
                }
            ),
        ],
        ignore_index=True,
    )
    none = np.zeros((b.size, dmu1.shape[1]))
    return EtwfeFit(
        rows=rows,
        coef=pd.Series(beta, index=names),
        vcov=V,
        dmu1=np.vstack([dmu1[tr], none]),
        dmu0=np.vstack([dmu0[tr], none]),
        df=df,
        n_obs=int((keep | blank).sum()),
        n_units=int(np.unique(prep.unit[keep]).size),
        n_clusters=G,
        zero_cells=len(zero_keys),
        blank_periods=blank_periods,
        dropped_cohorts=dropped_cohorts,
        iterations=fit.iterations,
    )


def _regressors(prep: Panel, fit_rows, cells, cell_key, by_cohort: bool = False):
    """The regressors of the fit — the treatment terms first (cell dummies, then cell ×
    covariate demeaned within cohort), then covariate × period — their names, the number of
    treatment terms, and a function building the same columns for any rows."""
    T = prep.T
    x = prep.controls
    k = x.shape[1]
    cell_names = [f"cell[{prep.times[c // (T + 1)]}, {prep.times[c % (T + 1)]}]" for c in cells]
    names = list(cell_names)
    xdm = x
    periods = np.array([], dtype=int)
    if k:
        _check_time_invariant(prep)
        # x̄_g: the cohort's mean over its rows (R etwfe demeans within cohort the same way)
        g_pos = prep.cohort_pos[prep.unit]
        xdm = x - pd.DataFrame(x).groupby(g_pos).transform("mean").to_numpy()
        periods = np.unique(prep.time[fit_rows])[1:]  # the first is absorbed by the unit effects
        names += [f"{c}×{n}" for n in prep.control_names for c in cell_names]
        names += [f"{n}×period[{prep.times[t]}]" for n in prep.control_names for t in periods]
        if by_cohort:  # a slope per cohort: what the unit effects absorb otherwise
            groups = np.unique(prep.cohort_pos[prep.unit][fit_rows])
            names += [
                f"{n}×cohort[{_cohort_name(prep, g)}]" for n in prep.control_names for g in groups
            ]

    def build(rows: np.ndarray) -> np.ndarray:
        ck = cell_key[rows]
        D = (ck[:, None] == cells[None, :]).astype(float)
        cols = [D]
        if k:
            for j in range(k):
                cols.append(D * xdm[rows, j][:, None])
            for j in range(k):
                cols.append((prep.time[rows][:, None] == periods[None, :]) * x[rows, j][:, None])
            if by_cohort:
                g = prep.cohort_pos[prep.unit[rows]]
                for j in range(k):
                    cols.append((g[:, None] == groups[None, :]) * x[rows, j][:, None])
        return np.column_stack(cols)

    return build(fit_rows), names, len(cells) * (1 + k), build


def _cohort_name(prep: Panel, g: int) -> str:
    return "never" if g >= prep.T else str(prep.times[g])


def _check_time_invariant(prep: Panel) -> None:
    for j, name in enumerate(prep.control_names):
        v = pd.Series(prep.controls[:, j]).groupby(prep.unit).nunique()
        if (v > 1).any():
            bad = prep.units[v.index[v > 1].to_numpy()[:3]]
            raise DataError(
                f"etwfe: control '{name}' changes within units (e.g. {', '.join(map(str, bad))}); "
                "the extended TWFE takes time-invariant covariates only. Use its value before "
                "the programme started."
            )


def _two_way_fill(prep: Panel, level_of, fit_rows, keep, fe_fit) -> np.ndarray:
    """α_i + λ_t for every kept row, from its values on the fitted rows (exact: it is additive
    in unit — or cohort — and period)."""
    if fit_rows.sum() == keep.sum():
        return fe_fit
    u = level_of[fit_rows]
    t = prep.time[fit_rows]
    L = int(level_of.max()) + 1
    # alternating means (backfitting) reach the exact decomposition: the values are additive
    a, b = np.zeros(L), np.zeros(prep.T)
    nu, nt = np.bincount(u, minlength=L), np.bincount(t, minlength=prep.T)
    for _ in range(10_000):
        a = np.bincount(u, fe_fit - b[t], minlength=L) / np.maximum(nu, 1)
        b = np.bincount(t, fe_fit - a[u], minlength=prep.T) / np.maximum(nt, 1)
        if np.abs(fe_fit - a[u] - b[t]).max() < 1e-12:
            break
    return a[level_of[keep]] + b[prep.time[keep]]


def _fit_warnings(fit: EtwfeFit) -> list[str]:
    out = []
    if fit.zero_cells:
        out.append(
            f"{fit.zero_cells} cohort × period cells had no count at all: their own effect is "
            "a 100 % drop (no finite estimate); they count in the averages with their observed "
            "zero against the expected count without the programme."
        )
    if fit.dropped_cohorts:
        out.append(
            f"{len(fit.dropped_cohorts)} cohorts had no count at all before their start and were "
            "left out: without a level before, a change cannot be measured."
        )
    if fit.blank_periods:
        out.append(
            f"In {len(fit.blank_periods)} periods the units not yet treated had no count at all: "
            "the expected count of the treated wards then, without the programme, is 0, and "
            "their observed counts are set against it."
        )
    return out


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------


def _window(rows: pd.DataFrame, events) -> pd.DataFrame:
    if events is None:
        return rows
    lo, hi = events
    return rows[(rows["event"] >= lo) & (rows["event"] <= hi)]


def _log_ratio(fit: EtwfeFit, idx: np.ndarray) -> tuple[float, np.ndarray]:
    s1 = fit.rows["mu1"].to_numpy()[idx].sum()
    s0 = fit.rows["mu0"].to_numpy()[idx].sum()
    if s0 <= 0:  # only rows of periods whose comparison had no count: no ratio
        return math.nan, np.full(fit.dmu1.shape[1], math.nan)
    grad = fit.dmu1[idx].sum(axis=0) / s1 - fit.dmu0[idx].sum(axis=0) / s0
    return float(math.log(s1 / s0)) if s1 > 0 else -math.inf, grad


def _count_att(fit: EtwfeFit, idx: np.ndarray) -> tuple[float, float]:
    diff = fit.rows["mu1"].to_numpy()[idx] - fit.rows["mu0"].to_numpy()[idx]
    grad = (fit.dmu1[idx] - fit.dmu0[idx]).mean(axis=0)
    return float(diff.mean()), float(np.sqrt(max(grad @ fit.vcov @ grad, 0.0)))


def aggregate(fit: EtwfeFit, kind: str = "simple") -> pd.DataFrame:
    """Average effects of a fitted ETWFE: overall (``"simple"``), by cohort (``"group"``), by
    event time (``"event"``) or by calendar period (``"calendar"``).

    Columns: the key (``group``, ``event`` or ``time``; none for ``"simple"``), ``n`` treated
    rows, ``observed`` and ``expected`` (Σμ⁰) counts, ``att`` — the mean of μ¹ − μ⁰ over the
    rows, as R ``etwfe::emfx`` on the response scale — with its delta-method ``se``, and the
    ``ratio`` Σμ¹/Σμ⁰ with ``log_ratio``, its ``log_ratio_se`` and ``percent``.
    """
    if kind not in KINDS:
        raise DataError(f"aggregate: kind must be one of {', '.join(KINDS)}; got {kind!r}")
    key = {"simple": None, "group": "group", "event": "event", "calendar": "time"}[kind]
    rows = fit.rows
    groups = (
        [(None, rows.index.to_numpy())]
        if key is None
        else [(k, g.index.to_numpy()) for k, g in rows.groupby(key, sort=True)]
    )
    out = []
    for k, idx in groups:
        att, att_se = _count_att(fit, idx)
        lr, grad = _log_ratio(fit, idx)
        rec = {} if key is None else {key: k}
        rec.update(
            n=len(idx),
            observed=float(rows["y"].to_numpy()[idx].sum()),
            expected=float(rows["mu0"].to_numpy()[idx].sum()),
            att=att,
            se=att_se,
            ratio=math.exp(lr),  # NaN where every row's expected count is 0
            log_ratio=lr,
            log_ratio_se=float(np.sqrt(max(grad @ fit.vcov @ grad, 0.0))),
            percent=100 * (math.exp(lr) - 1),
        )
        out.append(rec)
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# Randomization inference
# --------------------------------------------------------------------------------------------


def _randomization_batch(prep: Panel, events):
    """The ETWFE statistic on Y(0)(τ) = Y·exp(−τD) under many cohort re-assignments at once
    (``batch(units, donors, tau)``, see :class:`engine.RandomizationRefit`), or None where the
    batch solver does not apply (covariates, an unbalanced panel).

    Units and periods whose counts are all zero, and periods where every unit is treated, are
    removed exactly as :func:`fit_etwfe` removes them: both depend only on which counts are
    zero and on how many units are treated in each period, the same under every re-assignment
    and every τ."""
    if not prep.balanced or prep.controls.shape[1]:
        return None
    keep = _drop_all_zero_groups(prep.y, [prep.unit, prep.time])
    treated = prep.treated.astype(bool)
    untreated_in = np.bincount(prep.time[keep & ~treated], minlength=prep.T) > 0
    keep &= untreated_in[prep.time]
    kept = prep.wide(keep.astype(float)) > 0
    rows, cols = kept.any(axis=1), kept.any(axis=0)
    grid = np.ix_(rows, cols)
    at = np.flatnonzero(cols)
    log_e = None if prep.exposure is None else np.log(prep.wide(prep.exposure)[grid])
    # a start at a dropped period is the start at the next kept one (as in the fit, where
    # every row of a dropped period leaves); a start past the last kept period is "never"
    model = EtwfeBatch(
        prep.wide()[grid],
        log_e,
        np.searchsorted(at, prep.cohort_pos[rows]),
        events=events,
        periods=at,
    )

    def batch(units, donors, tau):
        C = reassigned_cohorts(prep.units, prep.cohort_pos, units, donors)
        return model.estimates(np.searchsorted(at, C[:, rows]), tau, event_starts=C[:, rows])

    return batch
