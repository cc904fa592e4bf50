"""Randomization (permutation) inference: permute which units are treated, re-estimate.

Under the sharp null of no effect for any unit and period, the outcomes would have been the
same whichever wards had been treated, so the estimate's distribution over re-assignments of
the cohorts to units is known exactly (Fisher 1935; Imbens & Rubin 2015, ch. 5; for DiD,
MacKinnon & Webb 2020 "Randomization inference for difference-in-differences with few
treated clusters", J. Econometrics 218(2)). The p-value is the share of assignments whose
estimate is at least as extreme as the observed one — exact whatever the number of clusters,
which is what makes it valid with 13 wards and one pilot.

Assignments permute the vector of unit cohorts (never-treated included), so a staggered
design keeps its number of units per cohort. When there are at most ``reps`` distinct
assignments they are all enumerated (the p-value is exact); otherwise ``reps`` are drawn with a
seed and the observed one is counted in (Phipson & Smyth 2010), so p ≥ 1/(reps + 1).

Confidence intervals invert the test over a constant additive effect τ (Y(0) = Y − τ·D):
the set of τ not rejected at 1 − level. For estimators linear in the outcome (DiD, TWFE, event
studies) θ(Y − τD) = θ(Y) − τ·θ(D) under every assignment, so two fits per assignment give the
p-value for every τ and the interval exactly; otherwise τ is searched on a grid.

The design limit: with N distinct assignments the smallest attainable p-value is 1/N — 1/13 ≈
0.077 with one treated ward of 13. No permutation test can then reach 5 %, and the result says
so in plain words (:func:`design_limit_warning`).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.errors import DesignError, InferenceError

__all__ = [
    "randomization_inference",
    "RandomizationResult",
    "count_assignments",
    "design_limit_warning",
]


@dataclass(frozen=True)
class RandomizationResult:
    """Outcome of a randomization test.

    ``estimate`` is the observed estimate, ``pvalue`` the two-sided share of assignments at
    least as extreme, ``ci_low``/``ci_high`` the test-inversion interval (NaN when not
    computed), ``n_assignments`` the number of distinct assignments, ``reps`` how many were
    evaluated, ``exact`` whether all of them were, ``min_pvalue`` the smallest attainable
    p-value, ``distribution`` the estimates under the evaluated assignments.
    """

    estimate: float
    pvalue: float
    ci_low: float
    ci_high: float
    level: float
    n_assignments: int
    reps: int
    exact: bool
    min_pvalue: float
    distribution: np.ndarray = field(repr=False)
    description: str = ""
    warnings: tuple[str, ...] = ()


def count_assignments(cohorts) -> int:
    """Number of distinct ways to give the observed cohorts to the units (a multinomial)."""
    counts = Counter(_key(c) for c in cohorts)
    n = sum(counts.values())
    total = math.factorial(n)
    for m in counts.values():
        total //= math.factorial(m)
    return total


def _key(c) -> object:
    return "never" if pd.isna(c) else c


def _distinct_assignments(values: list) -> Iterator[tuple]:
    """All distinct orderings of a multiset (used only when there are few of them)."""
    yield from _multiset_permutations(sorted(values, key=str))


def _multiset_permutations(items: list) -> Iterator[tuple]:
    counts = Counter(items)
    keys = list(counts)
    n = len(items)
    out: list = [None] * n

    def rec(pos: int):
        if pos == n:
            yield tuple(out)
            return
        for k in keys:
            if counts[k]:
                counts[k] -= 1
                out[pos] = k
                yield from rec(pos + 1)
                counts[k] += 1

    yield from rec(0)


def design_limit_warning(
    min_pvalue: float, level: float, n_units: int, n_treated: int
) -> str | None:
    """Plain-language warning when no assignment could give p below 1 − level."""
    alpha = 1 - level
    if not (min_pvalue > alpha):
        return None
    return (
        f"This design cannot reach the {alpha:.0%} significance level: with {n_treated} treated "
        f"of {n_units} units, even the strongest possible result has p = {min_pvalue:.3f}. A "
        "'not significant' result here is not evidence of no effect. Stronger evidence needs "
        "more treated units (the rollout), or a longer pre-period for this unit so that "
        "time-based (conformal) inference can be used."
    )


def randomization_inference(
    fit: Callable[[pd.DataFrame], float],
    data: pd.DataFrame,
    *,
    unit: str,
    cohort: str,
    time: str | None = None,
    outcome: str | None = None,
    reps: int = 9999,
    seed: int | None = 0,
    level: float = 0.95,
    ci: bool = True,
    linear: bool = False,
    grid: np.ndarray | None = None,
    strata: str | None = None,
) -> RandomizationResult:
    """Randomization test of "no effect" by permuting cohorts across units.

    Parameters
    ----------
    fit
        Estimator on a data frame, returning the point estimate: it is called with ``data``
        whose ``cohort`` column has been re-assigned (and, for intervals, whose ``outcome``
        has been shifted). It must not cache anything between calls.
    unit, cohort
        Unit column and cohort column (first treated period; NaN/NaT = never treated).
    time, outcome
        Needed for confidence intervals (the treated indicator is ``time >= cohort``).
    reps
        Enumerate every distinct assignment when there are at most this many; otherwise draw
        this many at random (seeded).
    linear
        True when ``fit`` is linear in the outcome; gives exact intervals from two fits per
        assignment.
    grid
        Values of τ to search when ``linear`` is False (default: ±4 × |estimate| in 81 steps).
    strata
        Optional unit-level column: permute cohorts only within strata.

    Returns
    -------
    RandomizationResult
    """
    if not 0 < level < 1:
        raise InferenceError(f"argument 'level' must be between 0 and 1, got {level!r}")
    if reps < 1:
        raise InferenceError(f"argument 'reps' must be positive, got {reps!r}")
    missing = [c for c in (unit, cohort, time, outcome, strata) if c and c not in data.columns]
    if missing:
        raise InferenceError(f"randomization_inference: column(s) {missing} not in the data")
    units = data.groupby(unit, sort=True)[cohort].first()
    n_units = len(units)
    cohorts = units.tolist()
    n_treated = sum(not pd.isna(c) for c in cohorts)
    if n_treated == 0:
        raise DesignError(
            "randomization inference needs at least one treated unit; none has a cohort"
        )
    if n_treated == n_units and len({_key(c) for c in cohorts}) == 1:
        raise DesignError(
            "randomization inference: every unit has the same cohort, so permuting them changes "
            "nothing — there is no comparison to make"
        )
    groups = (
        data.groupby(unit, sort=True)[strata].first()
        if strata
        else pd.Series("all", index=units.index)
    )
    n_assign = 1
    for g in groups.unique():
        n_assign *= count_assignments(units[groups == g])
    observed = float(fit(data))
    if not np.isfinite(observed):
        raise DesignError(
            "randomization inference: the estimate on the observed data is not finite"
        )

    rng = np.random.default_rng(seed)
    exact = n_assign <= reps
    assignments = list(_enumerate(units, groups) if exact else _sample(units, groups, reps, rng))
    # row -> position of its unit in `units`, so a re-assignment is one array take per fit
    codes = units.index.get_indexer(data[unit])

    def with_cohorts(new: pd.Series, y: np.ndarray | None = None) -> pd.DataFrame:
        columns = {cohort: new.to_numpy()[codes]}
        if y is not None:
            columns[outcome] = y
        return data.assign(**columns)

    stats = np.array([fit(with_cohorts(a)) for a in assignments], dtype=float)
    if not exact:
        stats = np.append(stats, observed)  # the observed assignment is one of the draws
    if not np.isfinite(stats).all():
        bad = int((~np.isfinite(stats)).sum())
        raise DesignError(
            f"randomization inference: the estimator failed on {bad} of {len(stats)} re-assigned "
            "designs (e.g. a permuted cohort without comparison units); use a design where every "
            "assignment is estimable, or permute within strata"
        )
    pvalue = _pvalue(stats, observed)
    min_p = 1 / n_assign if exact else 1 / (len(stats))

    lo = hi = float("nan")
    if ci:
        if time is None or outcome is None:
            raise InferenceError("randomization confidence intervals need 'time' and 'outcome'")
        d_obs = _treated(data, time, cohort).astype(float)
        if linear:
            lo, hi = _linear_interval(
                fit, data, outcome, d_obs, assignments, with_cohorts, observed, stats, exact, level
            )
        else:
            lo, hi = _grid_interval(
                fit, data, outcome, d_obs, assignments, with_cohorts, observed, exact, level, grid
            )
    warnings = []
    w = design_limit_warning(min_p, level, n_units, n_treated)
    if w:
        warnings.append(w)
    how = "all" if exact else f"{len(stats) - 1:,} random"
    desc = (
        f"randomization inference: {how} of {n_assign:,} re-assignments of the cohorts to the "
        f"{n_units} units{' within strata' if strata else ''}; exact p-value = share at least as "
        f"extreme as observed"
    )
    return RandomizationResult(
        observed,
        pvalue,
        lo,
        hi,
        level,
        n_assign,
        len(stats),
        exact,
        min_p,
        stats,
        desc,
        tuple(warnings),
    )


def _treated(data: pd.DataFrame, time: str, cohort: str) -> np.ndarray:
    c = data[cohort]
    t = data[time]
    return (c.notna() & (t >= c)).to_numpy()


def _enumerate(units: pd.Series, groups: pd.Series) -> Iterator[pd.Series]:
    parts = []
    for g in groups.unique():
        idx = units.index[groups == g]
        parts.append((idx, list(_distinct_assignments([_key(c) for c in units[idx]]))))

    # Cartesian product over strata
    def rec(i: int, acc: dict):
        if i == len(parts):
            yield pd.Series(acc).reindex(units.index).map(lambda k: np.nan if k == "never" else k)
            return
        idx, options = parts[i]
        for opt in options:
            acc2 = dict(acc)
            acc2.update(zip(idx, opt, strict=True))
            yield from rec(i + 1, acc2)

    for s in rec(0, {}):
        yield _restore_dtype(s, units)


def _sample(
    units: pd.Series, groups: pd.Series, reps: int, rng: np.random.Generator
) -> Iterator[pd.Series]:
    values = units.to_numpy()
    for _ in range(reps):
        new = values.copy()
        for g in groups.unique():
            pos = np.flatnonzero((groups == g).to_numpy())
            new[pos] = values[rng.permutation(pos)]
        yield pd.Series(new, index=units.index)


def _restore_dtype(s: pd.Series, like: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(like):
        return pd.to_datetime(s)
    return s.astype(like.dtype) if like.dtype.kind in "fiu" else s


def _pvalue(stats: np.ndarray, observed: float) -> float:
    # a tolerance so that ties created by floating point count as ties
    tol = 1e-10 * max(1.0, abs(observed))
    return float(np.mean(np.abs(stats) >= abs(observed) - tol))


def _linear_interval(
    fit, data, outcome, d_obs, assignments, with_cohorts, observed, stats, exact, level
):
    """Exact inversion for estimators linear in the outcome.

    Under assignment a, θ_a(Y − τD) = θ_a(Y) − τ·θ_a(D), D the observed treated indicator.
    τ is rejected when |θ_obs(Y) − τ θ_obs(D)| exceeds the (1 − α) share of
    |θ_a(Y) − τ θ_a(D)|; the p-value is piecewise constant in τ with breakpoints where two of
    these lines cross, so scanning the crossings gives the interval exactly.
    """
    alpha = 1 - level
    dd = np.array([fit(with_cohorts(a, d_obs)) for a in assignments], dtype=float)
    d0 = float(fit(data.assign(**{outcome: d_obs})))
    if not exact:
        dd = np.append(dd, d0)
    a0, b0 = observed, d0
    # crossings of |a0 - τ b0| with |a_k - τ b_k|: τ = (a0 ∓ a_k) / (b0 ∓ b_k)
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = np.concatenate([(a0 - stats) / (b0 - dd), (a0 + stats) / (b0 + dd)])
    cand = np.unique(cand[np.isfinite(cand)])
    if cand.size == 0:
        return float("nan"), float("nan")
    mids = np.concatenate([[cand[0] - 1.0], (cand[:-1] + cand[1:]) / 2, [cand[-1] + 1.0]])
    points = np.sort(np.concatenate([cand, mids]))

    def p_at(tau: float) -> float:
        t_obs = abs(a0 - tau * b0)
        tol = 1e-10 * max(1.0, t_obs)
        return float(np.mean(np.abs(stats - tau * dd) >= t_obs - tol))

    accepted = np.array([p_at(t) > alpha for t in points])
    if not accepted.any():
        return float("nan"), float("nan")
    lo = points[accepted].min()
    hi = points[accepted].max()
    # an interval that reaches the outermost probe is unbounded on that side
    if accepted[0]:
        lo = -np.inf
    if accepted[-1]:
        hi = np.inf
    return float(lo), float(hi)


def _grid_interval(
    fit, data, outcome, d_obs, assignments, with_cohorts, observed, exact, level, grid
):
    alpha = 1 - level
    if grid is None:
        span = 4 * max(abs(observed), 1e-8)
        grid = np.linspace(observed - span, observed + span, 81)
    y = data[outcome].to_numpy(dtype=float)
    accepted = []
    for tau in grid:
        y_tau = y - tau * d_obs
        obs = float(fit(data.assign(**{outcome: y_tau})))
        st = np.array([fit(with_cohorts(a, y_tau)) for a in assignments], dtype=float)
        if not exact:
            st = np.append(st, obs)
        accepted.append(_pvalue(st, obs) > alpha)
    accepted = np.array(accepted)
    if not accepted.any():
        return float("nan"), float("nan")
    lo, hi = grid[accepted].min(), grid[accepted].max()
    if accepted[0]:
        lo = -np.inf
    if accepted[-1]:
        hi = np.inf
    return float(lo), float(hi)
