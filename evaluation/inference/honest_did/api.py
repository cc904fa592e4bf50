"""HonestDiD's entry points: :func:`honest_did`, :func:`sensitivity`, R's defaults, breakdown.

:func:`honest_did` reports confidence intervals for θ = l'τ_post that stay valid when parallel
trends fail within a set Δ(M) of allowed violations (Rambachan & Roth 2023, "A More Credible
Approach to Parallel Trends", *Review of Economic Studies* 90(5)), for each M of a grid: under
relative magnitudes by inverting the ARP tests of :mod:`.relative_magnitude` over a grid of θ,
under smoothness by the FLCI of :mod:`.smoothness`. :func:`sensitivity` takes the coefficients
and covariance from an event-study result. The defaults are those of R's ``HonestDiD``; the
breakdown value is the smallest M whose robust interval includes 0, among the M given or by
bisection.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special

from evaluation.errors import DataError
from evaluation.inference.honest_did.checks import _METHODS, _as_count, _check_inputs, _check_m
from evaluation.inference.honest_did.relative_magnitude import _rm_accept
from evaluation.inference.honest_did.results import HonestDiDResult
from evaluation.inference.honest_did.smoothness import _Flci

__all__ = ["honest_did", "sensitivity"]

Restriction = Literal["relative_magnitude", "smoothness"]


def _default_m(restriction: str, b: np.ndarray, S: np.ndarray, pre: int) -> np.ndarray:
    """R's defaults: 10 values of M̄ on [0, 2]; for M, 10 values up to an upper bound on the
    largest pre-period second difference (``DeltaSD_upperBound_Mpre``, needs ≥ 2 pre-periods;
    with one pre-period R uses its standard error instead)."""
    if restriction == "relative_magnitude":
        return np.linspace(0, 2, 10)
    if pre == 1:
        return np.linspace(0, math.sqrt(S[0, 0]), 10)
    second = np.zeros((pre - 1, pre + 1))
    for r in range(pre - 1):
        second[r, r : r + 3] = (1.0, -2.0, 1.0)
    second = second[:, :pre]  # the reference period's coefficient is 0
    est = second @ b[:pre]
    se = np.sqrt(np.diag(second @ S[:pre, :pre] @ second.T))
    return np.linspace(0, float(np.max(est + special.ndtri(0.95) * se)), 10)


def honest_did(
    betahat: Sequence[float] | np.ndarray,
    sigma: Sequence[Sequence[float]] | np.ndarray,
    num_pre_periods: int,
    num_post_periods: int,
    *,
    restriction: Restriction = "relative_magnitude",
    M: float | Sequence[float] | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float = 0.95,
    method: str | None = None,
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
    breakdown: Literal["grid", "bisection"] = "grid",
    seed: int = 0,
    n_sims: int = 1000,
    flci_quantile: Literal["simulated", "exact"] = "simulated",
) -> HonestDiDResult:
    """Robust confidence intervals for θ = l'τ_post as M (or M̄) varies (Rambachan & Roth 2023).

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients with the reference period removed — pre-periods first, each
        block ordered by event time — and their covariance, as R's
        ``createSensitivityResults(_relativeMagnitudes)`` take them.
    num_pre_periods, num_post_periods
        How many of ``betahat`` are pre- and post-period coefficients (at least 1 each).
    restriction
        ``"relative_magnitude"`` for Δ^RM(M̄) or ``"smoothness"`` for Δ^SD(M).
    M
        A value or a sequence of values of M̄ (relative magnitudes) or M (smoothness, in the
        units of ``betahat`` per period²). Default as in R: 10 values of M̄ on [0, 2]; for M,
        10 values from 0 to a 95% upper bound on the largest pre-period second difference.
    l_vec
        Weights on the post-period effects defining θ; default the first post period, as in R.
        ``np.full(T, 1 / T)`` is the average effect.
    level
        Confidence level (R's ``1 - alpha``).
    method
        ``"C-LF"`` (default) or ``"Conditional"`` for relative magnitudes; ``"FLCI"`` for
        smoothness — R's defaults and the methods Rambachan & Roth recommend for each.
    grid_points, grid_bounds
        The θ-grid over which the relative-magnitudes test is inverted; R's defaults are 1,000
        points on [−20·se(θ̂), 20·se(θ̂)]. Endpoints are accurate to one grid step.
    breakdown
        How the breakdown value is found: ``"grid"`` (smallest M given whose interval includes
        0) or ``"bisection"`` (bisects between the values given, or beyond the largest).
    seed, n_sims
        R's ``seed`` and number of draws for the least-favourable critical value (C-LF).
    flci_quantile
        ``"simulated"`` (default) takes the FLCI's folded-normal quantile from R's 10⁶ draws
        after ``set.seed(seed)``, reproducing R's interval; ``"exact"`` computes it exactly
        (the two differ by about 1e-3 of the half-length).

    Returns
    -------
    HonestDiDResult

    Raises
    ------
    DataError
        For inputs of the wrong shape, a ``sigma`` that is not symmetric positive
        semi-definite, negative M, a ``level`` outside (0, 1) or an unknown method.

    References
    ----------
    Rambachan, A. & Roth, J. (2023). A More Credible Approach to Parallel Trends. *Review of
    Economic Studies* 90(5), 2555–2591.
    Andrews, I., Roth, J. & Pakes, A. (2023). Inference for Linear Conditional Moment
    Inequalities. *Review of Economic Studies* 90(6), 2763–2791.
    Armstrong, T. B. & Kolesár, M. (2018). Optimal Inference in a Class of Regression Models.
    *Econometrica* 86(2), 655–683.
    """
    b, S, pre, post, lv = _check_inputs(
        betahat, sigma, num_pre_periods, num_post_periods, restriction, l_vec, level
    )
    allowed = _METHODS[restriction]
    method = allowed[0] if method is None else method
    if method not in allowed:
        raise DataError(
            f"method {method!r} is not available for restriction={restriction!r}; use one of "
            f"{', '.join(repr(m) for m in allowed)}"
        )
    if breakdown not in ("grid", "bisection"):
        raise DataError(f"breakdown must be 'grid' or 'bisection'; got {breakdown!r}")
    grid_points = _as_count(grid_points, "grid_points", 2, "the θ-grid needs two ends")
    n_sims = _as_count(n_sims, "n_sims", 10, "the least-favourable quantile is simulated")
    Ms = _default_m(restriction, b, S, pre) if M is None else _check_m(M, restriction)
    alpha = 1.0 - float(level)

    estimate = float(lv @ b[pre:])
    se = math.sqrt(float(lv @ S[pre:, pre:] @ lv))
    z = float(special.ndtri(1 - alpha / 2))
    original = (estimate - z * se, estimate + z * se)
    notes: list[str] = []
    details: dict[str, Any] = {}

    if restriction == "relative_magnitude":
        if grid_bounds is None:
            lo_g, hi_g = -20 * se, 20 * se  # R: the identified set under parallel trends ± 20 se
        else:
            lo_g, hi_g = (float(v) for v in grid_bounds)
            if not lo_g < hi_g:
                raise DataError(
                    f"grid_bounds must be (low, high) with low < high; got {grid_bounds!r}"
                )
        theta = np.linspace(lo_g, hi_g, grid_points)
        hybrid = "LF" if method == "C-LF" else "ARP"
        details.update(grid_low=lo_g, grid_high=hi_g, grid_step=(hi_g - lo_g) / (grid_points - 1))

        def interval(m: float) -> tuple[float, float]:
            acc, used_lp = _rm_accept(b, S, pre, post, lv, m, theta, alpha, hybrid, n_sims, seed)
            if used_lp and "lp" not in details:
                details["lp"] = "linear programmes (too many dual vertices to enumerate)"
            if not acc.any():
                notes.append(f"M̄ = {m:g}: no θ on the grid is accepted (empty interval)")
                return np.nan, np.nan
            if acc[0] or acc[-1]:
                notes.append(
                    f"M̄ = {m:g}: the interval reaches the end of the θ-grid "
                    f"[{lo_g:.4g}, {hi_g:.4g}]; widen grid_bounds for its true length"
                )
            return float(theta[acc].min()), float(theta[acc].max())

    else:
        if flci_quantile not in ("simulated", "exact"):
            raise DataError(f"flci_quantile must be 'simulated' or 'exact'; got {flci_quantile!r}")
        flci = _Flci(S, pre, post, lv, seed if flci_quantile == "simulated" else None)
        details["flci_quantile"] = flci_quantile

        def interval(m: float) -> tuple[float, float]:
            weights, half = flci.solve(m, alpha)
            centre = float(weights @ b[:pre] + lv @ b[pre:])
            return centre - half, centre + half

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = [(float(m), *interval(float(m)), method) for m in Ms]
        table = pd.DataFrame(rows, columns=["M", "ci_low", "ci_high", "method"])
        bd = _breakdown(table, interval, breakdown, original)

    return HonestDiDResult(
        table=table,
        restriction=restriction,
        method=method,
        estimate=estimate,
        se=se,
        original_ci=original,
        level=float(level),
        l_vec=lv,
        num_pre_periods=pre,
        num_post_periods=post,
        breakdown=bd,
        breakdown_method=breakdown,
        warnings=notes,
        details=details,
    )


def _includes_zero(lo: float, hi: float) -> bool:
    return bool(np.isfinite(lo) and np.isfinite(hi) and lo <= 0 <= hi)


def _breakdown(table: pd.DataFrame, interval, how: str, original: tuple[float, float]):
    """Smallest M whose robust interval includes 0, on the grid given or by bisection.

    Bisection assumes, as the theory gives for nested Δ(M), that once the interval includes 0
    it keeps including it as M grows.
    """
    if _includes_zero(*original):
        return 0.0
    t = table.sort_values("M")
    hits = [_includes_zero(lo, hi) for lo, hi in zip(t.ci_low, t.ci_high, strict=True)]
    ms = t.M.to_numpy(dtype=float)
    first = next((i for i, h in enumerate(hits) if h), None)
    if how == "grid":
        return None if first is None else float(ms[first])
    if first is None:  # look beyond the largest M given, doubling it
        low = float(ms[-1])
        high = max(low, 1e-3) * 2
        for _ in range(8):
            if _includes_zero(*interval(high)):
                break
            low, high = high, high * 2
        else:
            return None
    else:
        high = float(ms[first])
        low = float(ms[first - 1]) if first > 0 else 0.0
        if first == 0 and _includes_zero(*interval(0.0)):
            return 0.0
    for _ in range(30):
        if high - low <= 1e-4 * high:
            break
        mid = (low + high) / 2
        if _includes_zero(*interval(mid)):
            high = mid
        else:
            low = mid
    return high


def sensitivity(
    result: Any,
    *,
    restriction: Restriction = "relative_magnitude",
    M: float | Sequence[float] | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float | None = None,
    post: Literal["average", "first"] = "average",
    **kwargs: Any,
) -> HonestDiDResult:
    """HonestDiD sensitivity analysis of an event study (``EventStudy`` or dynamic ``att_gt``).

    ``result`` needs ``coefs`` (a DataFrame with ``rel_time`` and ``estimate``) and ``vcov``
    (a DataFrame indexed and columned by ``rel_time`` without the reference period); its
    ``reference`` (default −1) splits them into pre- and post-periods, which must be
    consecutive event times on each side of it. θ is the average post-period effect
    (``post="average"``) or the first (``post="first"``, R's default), unless ``l_vec`` is
    given. ``level`` defaults to the result's own. Other keywords go to :func:`honest_did`.
    """
    coefs = getattr(result, "coefs", None)
    vcov = getattr(result, "vcov", None)
    if not isinstance(coefs, pd.DataFrame) or not {"rel_time", "estimate"} <= set(coefs.columns):
        raise DataError("result.coefs must be a DataFrame with columns 'rel_time' and 'estimate'")
    if not isinstance(vcov, pd.DataFrame) or vcov.empty:
        raise DataError(
            "result.vcov must be a DataFrame indexed and columned by rel_time (reference period "
            "absent); this result has none — estimate the event study with a covariance"
        )
    if post not in ("average", "first"):
        raise DataError(f"post must be 'average' or 'first'; got {post!r}")
    ref = int(getattr(result, "reference", -1))
    times = [int(t) for t in vcov.index]
    if ref in times:
        raise DataError(f"result.vcov contains the reference period rel_time = {ref}; drop it")
    est = coefs.drop_duplicates("rel_time").set_index("rel_time")["estimate"]
    missing = [t for t in times if t not in est.index]
    if missing:
        raise DataError(f"result.coefs has no estimate for rel_time {missing} that vcov covers")
    times.sort()
    pre_t = [t for t in times if t < ref]
    post_t = [t for t in times if t > ref]
    if pre_t != list(range(ref - len(pre_t), ref)) or post_t != list(
        range(ref + 1, ref + 1 + len(post_t))
    ):
        raise DataError(
            "HonestDiD needs consecutive event times on each side of the reference period "
            f"{ref}; got pre-periods {pre_t} and post-periods {post_t}"
        )
    order = pre_t + post_t
    b = est.loc[order].to_numpy(dtype=float)
    S = vcov.loc[order, order].to_numpy(dtype=float)
    if l_vec is None and post_t:
        l_vec = np.full(len(post_t), 1 / len(post_t)) if post == "average" else None
    lvl = float(getattr(result, "level", 0.95)) if level is None else level
    out = honest_did(
        b,
        S,
        len(pre_t),
        len(post_t),
        restriction=restriction,
        M=M,
        l_vec=l_vec,
        level=lvl,
        **kwargs,
    )
    out.details.update(pre_periods=str(pre_t), post_periods=str(post_t), reference=ref)
    return out
