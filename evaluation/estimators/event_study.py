"""Event study: dynamic effects by time relative to treatment, with a pre-trend test.

    y_it = α_i + λ_t + Σ_{k ≠ ref} β_k · 1{t − cohort_i = k} + X_it'γ + ε_it

estimated by least squares with unit and period effects absorbed, leads (k < 0) and lags
(k ≥ 0) for the treated units, the reference period ``ref`` (default −1) left out, and — by
default — the end points binned: all event times below the window pool into its first bin and
all above into its last (Schmidheiny & Siegloch 2023, *J. Applied Econometrics* 38(5), who show
binning is what makes the fully dynamic specification identified). The joint Wald test that all
leads are zero is the pre-trend test. With staggered adoption and heterogeneous effects the
lags can be contaminated by other periods' effects (Sun & Abraham 2021); ``att_gt``'s dynamic
aggregation avoids that.

Daily data: event time is counted in weeks by default (``frequency=None`` → weeks for daily
dates, the native period otherwise), because a daily event study of a 13-ward district has one
noisy coefficient per day; pass ``frequency="day"`` to keep days, or ``"month"``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.core.linear import cluster_vcov, fit_within
from evaluation.data.prepare import Panel, check_level, prepare
from evaluation.errors import DataError, DesignError
from evaluation.inference import engine
from evaluation.inference.choose import Setting
from evaluation.results import EventStudy, PretrendTest

__all__ = ["event_study"]

_FREQUENCIES = (None, "period", "day", "week", "month")


def _native_step_days(times: pd.Index) -> float:
    d = np.diff(times.to_numpy().astype("datetime64[ns]").astype(np.int64)) / 86_400e9
    return float(np.median(d)) if len(d) else float("nan")


def _event_time(prep: Panel, frequency: str | None) -> tuple[np.ndarray, str]:
    """Event time of every row (NaN for units not treated in the sample) and its unit name."""
    if frequency not in _FREQUENCIES:
        raise DataError(
            f"argument 'frequency' must be one of None, 'period', 'day', 'week', 'month'; "
            f"got {frequency!r}"
        )
    treated = prep.ever_treated[prep.unit]
    rel = np.full(prep.n, np.nan)
    if prep.time_kind != "datetime":
        if frequency not in (None, "period"):
            raise DataError(
                f"argument 'frequency'={frequency!r} needs dates in the time column "
                f"'{prep.time_name}'; it holds {prep.time_kind}s. Leave frequency=None."
            )
        rel[treated] = prep.time[treated] - prep.cohort_pos[prep.unit[treated]]
        return rel, "period"
    if frequency is None:
        step = _native_step_days(prep.times)
        frequency = "week" if step <= 1.5 else "period"
    if frequency == "period":
        rel[treated] = prep.time[treated] - prep.cohort_pos[prep.unit[treated]]
        return rel, "period"
    t = pd.DatetimeIndex(prep.times[prep.time[treated]])
    start = pd.DatetimeIndex(pd.to_datetime(prep.cohort_label[prep.unit[treated]]))
    if frequency == "month":
        rel[treated] = (t.year * 12 + t.month) - (start.year * 12 + start.month)
        return rel, "month"
    days = (t.normalize() - start.normalize()).days.to_numpy()
    rel[treated] = days if frequency == "day" else np.floor_divide(days, 7)
    return rel, frequency


def event_study(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    window: tuple[int, int] = (-4, 4),
    reference: int = -1,
    bin_endpoints: bool = True,
    frequency: str | None = None,
    cluster: str | None = None,
    controls: Sequence[str] = (),
    weights: str | None = None,
    inference: str = "auto",
    level: float = 0.95,
    seed: int | None = 0,
    n_boot: int = 9999,
) -> EventStudy:
    """Leads and lags of treatment relative to each unit's cohort, and a pre-trend test.

    Estimates β_k in y_it = α_i + λ_t + Σ_{k≠ref} β_k·1{e_it = k} + X_it'γ + ε_it, where
    e_it is the event time of treated units (in ``frequency`` units). β_k is the difference
    between treated and comparison units k periods after (k ≥ 0) or before (k < 0) the start,
    relative to period ``reference``.

    Parameters
    ----------
    window
        (first, last) event time shown, e.g. (−4, 4).
    reference
        Event time normalised to zero (default −1, the last period before the start).
    bin_endpoints
        Pool event times beyond the window into the end bins (default, as Schmidheiny &
        Siegloch 2023 recommend); if False, rows of treated units outside the window are
        dropped.
    frequency
        Unit of event time for date columns: None (weeks for daily data, else the native
        period), ``"period"``, ``"day"``, ``"week"`` or ``"month"``.
    cluster, controls, weights, inference, level, seed, n_boot
        As in :func:`evaluation.estimators.twfe.twfe`. Inference: ``"cluster"`` (CR1),
        ``"wild"`` (one restricted wild bootstrap per coefficient), ``"none"`` or ``"auto"``.

    Returns
    -------
    EventStudy
        ``coefs`` (rel_time, estimate, se, ci_low, ci_high, n_obs, binned), ``pretrend``
        (joint Wald test of the leads, F with G − 1 denominator degrees of freedom from the CR1
        covariance), ``plot()``.
    """
    level = check_level(level)
    lo, hi = _check_window(window, reference)
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="event_study",
        cluster=cluster,
        controls=controls,
        weights=weights,
        allow_always_treated=False,
    )
    rel, time_unit = _event_time(prep, frequency)
    reg = _regressors(prep, rel, lo, hi, reference, bin_endpoints, time_unit, window)
    fit = _fit(prep, reg)
    design = Setting(
        "event_study",
        prep.n_clusters,
        prep.n_treated_clusters(),
        prep.T,
        cluster_name=prep.cluster_name,
    )
    warnings = list(prep.warnings)
    if reg.empty:
        warnings.append(
            f"No treated observations at event time(s) {reg.empty}; those coefficients are "
            "not estimated."
        )
    if len(prep.cohorts) > 1:
        warnings.append(
            "Staggered adoption: with effects that differ by cohort, TWFE event-study "
            "coefficients can mix effects of other periods (Sun & Abraham 2021); compare with "
            "att_gt(...).aggregate('dynamic')."
        )
    inf = _by_event_time(fit, reg, prep, design, inference, reference, level, seed, n_boot)
    ks, counts = reg.ks, reg.counts
    coefs = pd.DataFrame(
        {
            "rel_time": ks + [reference],
            "estimate": np.append(fit.beta[: len(ks)], 0.0),
            "se": np.append(inf.se, np.nan),
            "ci_low": np.append(inf.ci_low, np.nan),
            "ci_high": np.append(inf.ci_high, np.nan),
            "n_obs": [counts[k] for k in ks] + [counts[reference]],
        }
    )
    coefs["binned"] = [bool(np.any(reg.binned & (reg.rel == k))) for k in coefs["rel_time"]]
    coefs = coefs.sort_values("rel_time", ignore_index=True)
    return EventStudy(
        coefs=coefs,
        pretrend=inf.pretrend,
        method="event study (TWFE" + (", binned end points)" if bin_endpoints else ")"),
        inference=inf.text,
        inference_method=inf.method,
        outcome=outcome,
        reference=reference,
        level=level,
        time_unit=time_unit,
        n_obs=int(len(reg.idx)),
        n_units=prep.N,
        n_treated=prep.n_treated,
        n_clusters=prep.n_clusters,
        warnings=warnings + inf.warnings,
        vcov=inf.vcov,
        details={
            "window": [lo, hi],
            "bin_endpoints": bin_endpoints,
            "frequency": time_unit,
            "controls": prep.control_names,
            "cluster": prep.cluster_name,
        },
    )


@dataclass
class _Regressors:
    """The event-time dummies (and controls) of the rows used, and what they count."""

    idx: np.ndarray
    rel: np.ndarray
    binned: np.ndarray
    ks: list[int]
    counts: dict[int, int]
    empty: list[int]
    X: np.ndarray
    names: list[str]


def _regressors(prep, rel, lo, hi, reference, bin_endpoints, time_unit, window) -> _Regressors:
    """Bin (or drop) event times outside the window and build one dummy per event time."""
    treated_row = np.isfinite(rel)
    keep = np.ones(prep.n, dtype=bool)
    if bin_endpoints:
        binned = treated_row & ((rel < lo) | (rel > hi))
        rel = np.where(treated_row, np.clip(rel, lo, hi), np.nan)
    else:
        binned = np.zeros(prep.n, dtype=bool)
        keep = ~treated_row | ((rel >= lo) & (rel <= hi))
    ks = [k for k in range(lo, hi + 1) if k != reference]
    counts = {k: int(np.sum(keep & (rel == k))) for k in range(lo, hi + 1)}
    if counts[reference] == 0:
        raise DesignError(
            f"event_study: no treated observation is at the reference event time {reference} "
            f"({time_unit}s); choose a reference inside the data, e.g. the last pre-period."
        )
    empty = [k for k in ks if counts[k] == 0]
    ks = [k for k in ks if counts[k] > 0]
    if not any(k >= 0 for k in ks):
        raise DesignError(
            "event_study: no treated observation falls at or after the start within the "
            f"window {window}; widen the window or check the cohort column."
        )
    idx = np.flatnonzero(keep)
    r = rel[idx]
    X = np.column_stack([(r == k).astype(float) for k in ks] + [prep.controls[idx]])
    names = [f"e{k:+d}" for k in ks] + prep.control_names
    return _Regressors(idx, rel, binned, ks, counts, empty, X, names)


def _fit(prep: Panel, reg: _Regressors):
    idx = reg.idx
    w = None if prep.weights is None else prep.weights[idx]
    try:
        return fit_within(prep.y[idx], reg.X, reg.names, [prep.unit[idx], prep.time[idx]], w)
    except DesignError as err:
        never = (~prep.ever_treated).any()
        hint = (
            ""
            if never
            else " Without never-treated units the fully dynamic event study is not identified "
            "(Borusyak, Jaravel & Spiess 2024): bin the end points (bin_endpoints=True), "
            "narrow the window, or add never-treated units."
        )
        raise DesignError(f"event_study: {err}{hint}") from None


@dataclass
class _ByEventTime:
    method: str
    text: str
    se: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    pretrend: PretrendTest | None = None
    vcov: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)


def _by_event_time(fit, reg, prep, design, inference, reference, level, seed, n_boot):
    """One inference per coefficient (the method resolved once, for the whole path), and the
    CR1 joint test of the leads whichever method gives the intervals."""
    idx, ks = reg.idx, reg.ks
    nk = len(ks)
    y, cl = prep.y[idx], prep.cluster[idx]
    G = int(np.unique(cl).size)
    choice = engine.resolve(inference, design, ("cluster", "wild") if G >= 2 else ())
    out = _ByEventTime(choice.method, choice.reason, *(np.full(nk, np.nan) for _ in range(3)))
    if choice.method == "none":
        return out
    V, df = cluster_vcov(fit, y, cl, G)
    out.vcov = pd.DataFrame(V[:nk, :nk], index=ks, columns=ks)
    out.pretrend, out.warnings = _pretrend(fit.beta[:nk], V[:nk, :nk], ks, reference, df)
    label = f"clustered by '{prep.cluster_name}' ({G} clusters)"
    w = None if prep.weights is None else prep.weights[idx]
    fe = (prep.unit[idx], prep.time[idx])
    for j in range(nk):
        refit = (
            engine.WildRefit(y, reg.X, cl, j, fe, w)
            if choice.method == "wild"
            else engine.StandardError(float(np.sqrt(max(V[j, j], 0.0))), df, label)
        )
        res = engine.run(
            choice,
            design,
            refit,
            float(fit.beta[j]),
            level=level,
            seed=None if seed is None else seed + j,
            reps=n_boot,
        )
        out.se[j], out.ci_low[j], out.ci_high[j] = res.se, res.ci_low, res.ci_high
        out.text = res.text
        if j == 0:
            out.warnings += res.warnings
    if choice.method == "wild":
        out.text = choice.reason + "; one bootstrap per event time; pre-trend test from CR1"
    return out


def _check_window(window, reference) -> tuple[int, int]:
    try:
        lo, hi = (int(window[0]), int(window[1]))
        ok = lo == window[0] and hi == window[1]
    except (TypeError, ValueError, IndexError):
        ok = False
    if not ok or lo >= hi:
        raise DataError(
            f"argument 'window' must be two integers (first, last) with first < last, e.g. "
            f"(-4, 4); got {window!r}"
        )
    if not isinstance(reference, int | np.integer) or not lo <= reference <= hi:
        raise DataError(
            f"argument 'reference' must be an integer event time inside the window {window}, "
            f"usually -1; got {reference!r}"
        )
    if lo > -1 and reference < 0:
        raise DataError("argument 'window' must include the reference period")
    return lo, hi


def _pretrend(beta, V, ks, reference, df) -> tuple[PretrendTest | None, list[str]]:
    """Joint Wald test of the leads (k < 0, reference excluded) from the CR1 covariance."""
    from scipy import stats

    lead = [j for j, k in enumerate(ks) if k < 0]
    if not lead:
        return None, []
    b = beta[lead]
    Vl = V[np.ix_(lead, lead)]
    q = len(lead)
    if q > df:
        return (
            PretrendTest(stat=math.nan, pvalue=math.nan, df=q, test="Wald F (CR1)"),
            [
                f"The pre-trend test is not computed: {q} leads but only {df + 1} clusters "
                "(the cluster-robust covariance has rank at most G − 1). Narrow the window."
            ],
        )
    try:
        W = float(b @ np.linalg.solve(Vl, b))
    except np.linalg.LinAlgError:
        W = float(b @ np.linalg.pinv(Vl) @ b)
    F = W / q
    p = float(stats.f.sf(F, q, df))
    return PretrendTest(stat=W, pvalue=p, df=q, test="Wald F (CR1)"), []
