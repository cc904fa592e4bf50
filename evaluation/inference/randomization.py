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
p-value for every τ and the interval exactly (:func:`invert_linear`); otherwise τ is searched on
a grid.

Re-running an estimator thousands of times is the slow part (about 2–5 ms a fit with its input
checks). An estimator that can evaluate itself for many assignments at once passes ``fast``: a
function returning θ_a(Y) and θ_a(D) for every assignment a from the matrix of re-assignments,
with array operations (TWFE: the two-way within transform of Y is fixed and only the treatment
indicator moves; Callaway–Sant'Anna: group-time means are membership-weighted sums of the unit ×
period outcomes). It must equal the generic path to rounding; the tests check 1e-10.

The design limit: with N distinct assignments the smallest attainable p-value is 1/N — 1/13 ≈
0.077 with one treated ward of 13. No permutation test can then reach 5 %, and the result says
so in plain words (:func:`evaluation.inference.choose.design_limit_warning`).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.errors import DesignError, InferenceError
from evaluation.inference.choose import design_limit_warning

__all__ = [
    "FastStatistic",
    "invert_linear",
    "randomization_inference",
    "RandomizationResult",
    "count_assignments",
]


#: ``fast(units, donors) -> (theta_y, theta_d)``: see :func:`randomization_inference`.
FastStatistic = Callable[[pd.Index, np.ndarray], tuple[np.ndarray, np.ndarray]]


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
    fast: FastStatistic | None = None,
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
    fast
        Optional exact vectorised form of ``fit`` for estimators linear in the outcome:
        ``fast(units, donors) -> (theta_y, theta_d)``, where ``units`` is the index of unit labels
        (sorted, as ``data.groupby(unit)``), ``donors`` an (A × units) integer array — in
        assignment a, unit j takes the cohort that unit ``donors[a, j]`` has in ``data`` — and
        ``theta_y[a]``, ``theta_d[a]`` are the estimates on the re-assigned data with the observed
        outcome and with the outcome replaced by the observed treated indicator. Used instead of
        re-running ``fit`` when the interval is linear (or not asked for); ``fit`` still gives
        the reported estimate.

    Returns
    -------
    RandomizationResult

    References
    ----------
    MacKinnon, J. G. & Webb, M. D. (2020). Randomization inference for difference-in-differences
    with few treated clusters. *Journal of Econometrics* 218(2), 435–450. Imbens, G. W. & Rubin,
    D. B. (2015). *Causal Inference*, ch. 5. Phipson, B. & Smyth, G. K. (2010). Permutation
    p-values should never be zero. *Stat. Appl. Genet. Mol. Biol.* 9(1).
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
    # Assignment a gives unit j the cohort of unit donors[a, j] (a permutation within strata).
    donors = _enumerate(units, groups) if exact else _sample(units, groups, reps, rng)
    if ci and (time is None or outcome is None):
        raise InferenceError("randomization confidence intervals need 'time' and 'outcome'")
    vectorised = fast is not None and (linear or not ci)
    if vectorised:
        identity = np.arange(n_units)[None, :]
        theta_y, theta_d = (
            np.asarray(v, dtype=float) for v in fast(units.index, np.vstack([identity, donors]))
        )
        a0, b0 = float(theta_y[0]), float(theta_d[0])
        stats, dd = theta_y[1:], theta_d[1:]
    else:
        values = units.to_numpy()
        # row -> position of its unit in `units`, so a re-assignment is one array take per fit
        codes = units.index.get_indexer(data[unit])

        def with_cohorts(d: np.ndarray, y: np.ndarray | None = None) -> pd.DataFrame:
            columns = {cohort: values[d][codes]}
            if y is not None:
                columns[outcome] = y
            return data.assign(**columns)

        a0 = observed
        stats = np.array([fit(with_cohorts(d)) for d in donors], dtype=float)
        if ci and linear:
            d_obs = _treated(data, time, cohort).astype(float)
            dd = np.array([fit(with_cohorts(d, d_obs)) for d in donors], dtype=float)
            b0 = float(fit(data.assign(**{outcome: d_obs})))
    if not exact:  # the observed assignment is one of the draws
        stats = np.append(stats, a0)
        if ci and linear:
            dd = np.append(dd, b0)
    if not np.isfinite(stats).all():
        bad = int((~np.isfinite(stats)).sum())
        raise DesignError(
            f"randomization inference: the estimator failed on {bad} of {len(stats)} re-assigned "
            "designs (e.g. a permuted cohort without comparison units); use a design where every "
            "assignment is estimable, or permute within strata"
        )
    pvalue = _pvalue(stats, a0)
    min_p = 1 / n_assign if exact else 1 / (len(stats))

    lo = hi = float("nan")
    if ci:
        if linear:
            lo, hi = invert_linear(a0, b0, stats, dd, level)
        else:
            d_obs = _treated(data, time, cohort).astype(float)
            lo, hi = _grid_interval(
                fit, data, outcome, d_obs, donors, with_cohorts, observed, exact, level, grid
            )
    warnings = []
    w = design_limit_warning(min_p, level, f"with {n_treated} treated of {n_units} units")
    if w:
        warnings.append(w)
    how = "all" if exact else f"{len(stats) - 1:,} random"
    desc = (
        f"randomization inference: {how} of {n_assign:,} re-assignments of the cohorts to the "
        f"{n_units} units{' within strata' if strata else ''}; exact p-value = share at least as "
        f"extreme as observed"
        + ("; all re-assignments evaluated at once (vectorised)" if vectorised else "")
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


def _enumerate(units: pd.Series, groups: pd.Series) -> np.ndarray:
    """Every distinct assignment (within strata) as rows of donor positions."""
    keys = [_key(c) for c in units]
    parts = []
    for g in groups.unique():
        pos = np.flatnonzero((groups == g).to_numpy())
        holder: dict = {}  # cohort key -> a unit that holds it (all holders are alike)
        for p in pos:
            holder.setdefault(keys[p], p)
        options = [
            [holder[k] for k in perm] for perm in _distinct_assignments([keys[p] for p in pos])
        ]
        parts.append((pos, np.asarray(options, dtype=np.int64)))
    rows = []
    # Cartesian product over strata, the first stratum varying slowest
    for combo in itertools.product(*(range(len(opts)) for _, opts in parts)):
        d = np.arange(len(units))
        for (pos, opts), i in zip(parts, combo, strict=True):
            d[pos] = opts[i]
        rows.append(d)
    return np.asarray(rows, dtype=np.int64)


def _sample(units: pd.Series, groups: pd.Series, reps: int, rng: np.random.Generator) -> np.ndarray:
    """``reps`` random assignments (permutations within strata) as rows of donor positions."""
    strata = [np.flatnonzero((groups == g).to_numpy()) for g in groups.unique()]
    out = np.empty((reps, len(units)), dtype=np.int64)
    out[:] = np.arange(len(units))
    for r in range(reps):
        for pos in strata:
            out[r, pos] = rng.permutation(pos)
    return out


def _pvalue(stats: np.ndarray, observed: float) -> float:
    # a tolerance so that ties created by floating point count as ties
    tol = 1e-10 * max(1.0, abs(observed))
    return float(np.mean(np.abs(stats) >= abs(observed) - tol))


def invert_linear(
    a0: float, b0: float, stats: np.ndarray, dd: np.ndarray, level: float
) -> tuple[float, float]:
    """Exact test-inversion interval for an estimator linear in the outcome.

    Under assignment k, θ_k(Y − τD) = a_k − τ·b_k with a_k = θ_k(Y) (``stats``) and
    b_k = θ_k(D) (``dd``), D the observed treated indicator; (a0, b0) are the observed
    assignment's. τ is rejected when |a0 − τ b0| exceeds the (1 − α) share of |a_k − τ b_k|.
    Assignment k counts against rejection on the closed set where
    (a_k − τb_k)² − (a0 − τb0)² = (α₁ − τβ₁)(α₂ − τβ₂) ≥ 0 — one or two intervals bounded by the
    crossings τ = (a0 ∓ a_k)/(b0 ∓ b_k). The p-value is piecewise constant between crossings,
    so evaluating it at every crossing, between neighbours and beyond both ends gives the
    interval exactly; with the intervals' ends sorted this takes O(K log K), not O(K²).
    Returns ±inf for a side the test never rejects, NaN when no τ is accepted.
    """
    alpha = 1 - level
    a = np.asarray(stats, dtype=float)
    b = np.asarray(dd, dtype=float)
    k_total = len(a)
    with np.errstate(divide="ignore", invalid="ignore"):
        r1 = (a0 - a) / (b0 - b)
        r2 = (a0 + a) / (b0 + b)
    cand = np.concatenate([r1, r2])
    cand = np.unique(cand[np.isfinite(cand)])
    if cand.size == 0:
        return float("nan"), float("nan")
    mids = np.concatenate([[cand[0] - 1.0], (cand[:-1] + cand[1:]) / 2, [cand[-1] + 1.0]])
    points = np.sort(np.concatenate([cand, mids]))

    al1, be1, al2, be2 = a - a0, b - b0, a + a0, b + b0
    inf = np.inf
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []

    def add(mask, lo, hi):
        lows.append(np.broadcast_to(lo, mask.shape)[mask])
        highs.append(np.broadcast_to(hi, mask.shape)[mask])

    both = (be1 != 0) & (be2 != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        lo_r, hi_r = np.minimum(r1, r2), np.maximum(r1, r2)
    # quadratic opening upwards: outside the roots (the whole line when they coincide)
    up = both & (be1 * be2 > 0)
    add(up & (lo_r == hi_r), -inf, inf)
    add(up & (lo_r < hi_r), -inf, lo_r)
    add(up & (lo_r < hi_r), hi_r, inf)
    add(both & (be1 * be2 < 0), lo_r, hi_r)  # opening downwards: between the roots
    # one factor constant: a half-line, or everything when that factor is identically zero
    for flat, al_f, be_o, root in (
        ((be1 == 0) & (be2 != 0), al1, be2, r2),
        ((be2 == 0) & (be1 != 0), al2, be1, r1),
    ):
        add(flat & (al_f == 0), -inf, inf)
        add(flat & (al_f * be_o > 0), -inf, root)
        add(flat & (al_f != 0) & (al_f * be_o < 0), root, inf)
    # both constant (b_k = b0 = 0): |a_k| ≥ |a0| everywhere or nowhere
    tol = 1e-10 * max(1.0, abs(a0))
    add((be1 == 0) & (be2 == 0) & (np.abs(a) >= abs(a0) - tol), -inf, inf)
    low = np.sort(np.concatenate(lows))
    high = np.sort(np.concatenate(highs))
    count = np.searchsorted(low, points, side="right") - np.searchsorted(high, points, side="left")
    accepted = count / k_total > alpha
    if not accepted.any():
        return float("nan"), float("nan")
    lo = -np.inf if accepted[0] else float(points[accepted].min())
    hi = np.inf if accepted[-1] else float(points[accepted].max())
    return float(lo), float(hi)


def _grid_interval(fit, data, outcome, d_obs, donors, with_cohorts, observed, exact, level, grid):
    alpha = 1 - level
    if grid is None:
        span = 4 * max(abs(observed), 1e-8)
        grid = np.linspace(observed - span, observed + span, 81)
    y = data[outcome].to_numpy(dtype=float)
    accepted = []
    for tau in grid:
        y_tau = y - tau * d_obs
        obs = float(fit(data.assign(**{outcome: y_tau})))
        st = np.array([fit(with_cohorts(d, y_tau)) for d in donors], dtype=float)
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
