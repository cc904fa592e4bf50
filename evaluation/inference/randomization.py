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

Count models on the log scale (Poisson TWFE) invert the test over a constant *multiplicative*
effect instead (``effect="multiplicative"``): the programme multiplies every treated cell's
expected count by exp(τ), so Y(0) = Y·exp(−τ·D) (Rosenbaum 2002, §5; Imbens & Rubin 2015,
§5.7). Such an estimator is not linear in Y, so every τ needs the estimate under every
assignment; given those in one vectorised call (``fast_null``), :func:`invert_by_search`
finds the two ends of the set of τ not rejected by bracketing and a safeguarded bisection
that follows every assignment's estimate along a secant, a handful of calls an end.

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
    "FastNull",
    "reassigned_cohorts",
    "invert_linear",
    "invert_by_search",
    "untreated_outcome",
    "randomization_inference",
    "RandomizationResult",
    "count_assignments",
    "count_assignments_within",
    "enumerate_assignments",
    "sample_assignments",
    "reassignments",
    "min_pvalue",
    "extreme_threshold",
]


#: ``fast(units, donors) -> (theta_y, theta_d)``: see :func:`randomization_inference`.
FastStatistic = Callable[[pd.Index, np.ndarray], tuple[np.ndarray, np.ndarray]]

#: ``fast_null(units, donors, tau) -> theta``: see :func:`randomization_inference`.
FastNull = Callable[[pd.Index, np.ndarray, float], np.ndarray]

EFFECTS = ("additive", "multiplicative")


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


def count_assignments_within(cohorts: pd.Series, groups: pd.Series) -> int:
    """Number of distinct assignments that permute ``cohorts`` (one per unit) within the strata
    ``groups``: the product of the strata's multinomials."""
    total = 1
    for g in groups.unique():
        total *= count_assignments(cohorts[groups == g])
    return total


def reassignments(
    cohorts: pd.Series, groups: pd.Series, reps: int, seed: int | None
) -> tuple[np.ndarray, bool, int]:
    """The re-assignments the test evaluates, as rows of donor positions (in row a unit j takes
    the cohort of unit ``donors[a, j]``): every distinct one within strata when there are at
    most ``reps``, else ``reps`` random permutations drawn with ``seed``. Returns
    ``(donors, exact, n_assignments)``. :func:`randomization_inference` and the batched tests
    of the design stage (:mod:`evaluation.inference.batched`) draw them here, so that both
    see the same assignments for the same seed."""
    n_assign = count_assignments_within(cohorts, groups)
    exact = n_assign <= reps
    donors = (
        enumerate_assignments(cohorts, groups)
        if exact
        else sample_assignments(cohorts, groups, reps, np.random.default_rng(seed))
    )
    return donors, exact, n_assign


def min_pvalue(n_assign: int, exact: bool, reps: int) -> float:
    """The smallest p-value the test can give: 1/(distinct assignments) when all are evaluated,
    else 1/(reps + 1), the observed assignment counted in (Phipson & Smyth 2010)."""
    return 1 / n_assign if exact else 1 / (reps + 1)


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
    effect: str = "additive",
    fast_null: FastNull | None = None,
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
    effect
        The constant effect whose test is inverted for the interval when ``linear`` is False:
        ``"additive"`` (Y(0) = Y − τD, searched on ``grid``) or ``"multiplicative"``
        (Y(0) = Y·exp(−τD) for count models with a log link, τ on the log scale; the ends are
        found by :func:`invert_by_search`, refitting ``fit`` for every assignment at every τ
        tried unless ``fast_null`` is given).
    fast_null
        Optional exact vectorised form of ``fit`` for an estimator that is not linear in the
        outcome: ``fast_null(units, donors, tau) -> theta`` with ``units`` and ``donors`` as
        for ``fast`` and ``theta[a]`` the estimate under assignment a on Y(0)(τ), the observed
        outcome with the constant ``effect`` τ removed from the observed treated cells. Gives
        the p-value (τ = 0) and the interval (:func:`invert_by_search`) without refitting;
        ``fit`` still gives the reported estimate.

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
    if effect not in EFFECTS:
        raise InferenceError(
            f"argument 'effect' must be 'additive' or 'multiplicative', got {effect!r}"
        )
    if reps < 1:
        raise InferenceError(f"argument 'reps' must be positive, got {reps!r}")
    missing = [c for c in (unit, cohort, time, outcome, strata) if c and c not in data.columns]
    if missing:
        raise InferenceError(f"randomization_inference: column(s) {missing} not in the data")
    units, groups, n_treated = _unit_cohorts(data, unit, cohort, strata)
    if ci and (time is None or outcome is None):
        raise InferenceError("randomization confidence intervals need 'time' and 'outcome'")
    observed = float(fit(data))
    if not np.isfinite(observed):
        raise DesignError(
            "randomization inference: the estimate on the observed data is not finite"
        )
    # Assignment a gives unit j the cohort of unit donors[a, j] (a permutation within strata).
    donors, exact, n_assign = reassignments(units, groups, reps, seed)
    vectorised = fast is not None and (linear or not ci)
    by_null = fast_null is not None and not linear and not vectorised
    ev = _Evaluations(fit, data, units, unit, cohort, outcome)
    null = _NullStatistics(ev, donors, exact, time, effect, fast_null)
    if vectorised:
        ev.vectorised(fast, donors)
    elif by_null:
        ev.a0, ev.stats = null.at(0.0)
    else:
        ev.refit(donors, time, observed, with_treated=ci and linear)
    if not exact and not by_null:  # the observed assignment is one of the draws
        ev.include_observed()
    stats = ev.stats
    if not np.isfinite(stats).all():
        bad = int((~np.isfinite(stats)).sum())
        raise DesignError(
            f"randomization inference: the estimator failed on {bad} of {len(stats)} re-assigned "
            "designs (e.g. a permuted cohort without comparison units); use a design where every "
            "assignment is estimable, or permute within strata"
        )
    min_p = min_pvalue(n_assign, exact, reps)
    null.known.setdefault(0.0, (ev.a0, stats))  # τ = 0 is the test just run
    lo = hi = float("nan")
    if ci and linear:
        lo, hi = invert_linear(ev.a0, ev.b0, stats, ev.dd, level)
    elif ci and (by_null or effect == "multiplicative"):
        lo, hi = (
            (-math.inf, math.inf)  # nothing can be rejected: the design limit
            if min_p > 1 - level
            else invert_by_search(null.at, ev.a0, level, effect=effect)
        )
    elif ci:
        d_obs = _treated(data, time, cohort).astype(float)
        lo, hi = _grid_interval(
            fit, data, outcome, d_obs, donors, ev.with_cohorts, observed, exact, level, grid
        )
    limit = design_limit_warning(min_p, level, f"with {n_treated} treated of {len(units)} units")
    how = "all" if exact else f"{len(stats) - 1:,} random"
    desc = (
        f"randomization inference: {how} of {n_assign:,} re-assignments of the cohorts to the "
        f"{len(units)} units{' within strata' if strata else ''}; exact p-value = share at least "
        "as extreme as observed"
        + ("; all re-assignments evaluated at once (vectorised)" if vectorised or by_null else "")
        + (_SEARCH_WORDS[effect] if ci and (by_null or effect == "multiplicative") else "")
    )
    return RandomizationResult(
        observed,
        _pvalue(stats, ev.a0),
        lo,
        hi,
        level,
        n_assign,
        len(stats),
        exact,
        min_p,
        stats,
        desc,
        (limit,) if limit else (),
    )


def _unit_cohorts(data: pd.DataFrame, unit: str, cohort: str, strata: str | None):
    """Each unit's cohort and stratum (sorted by unit), and the number treated; a DesignError
    when there is nothing to permute."""
    units = data.groupby(unit, sort=True)[cohort].first()
    cohorts = units.tolist()
    n_treated = sum(not pd.isna(c) for c in cohorts)
    if n_treated == 0:
        raise DesignError(
            "randomization inference needs at least one treated unit; none has a cohort"
        )
    if n_treated == len(units) and len({_key(c) for c in cohorts}) == 1:
        raise DesignError(
            "randomization inference: every unit has the same cohort, so permuting them changes "
            "nothing — there is no comparison to make"
        )
    groups = (
        data.groupby(unit, sort=True)[strata].first()
        if strata
        else pd.Series("all", index=units.index)
    )
    return units, groups, n_treated


class _Evaluations:
    """The estimate under every assignment: ``stats`` = θ_a(Y), ``dd`` = θ_a(D) (the observed
    treated indicator as outcome, for exact intervals), ``a0``/``b0`` the observed ones."""

    def __init__(self, fit, data, units: pd.Series, unit: str, cohort: str, outcome):
        self.fit, self.data, self.units = fit, data, units
        self.cohort, self.outcome = cohort, outcome
        self._values = units.to_numpy()
        # row -> position of its unit in `units`, so a re-assignment is one array take per fit
        self._codes = units.index.get_indexer(data[unit])
        self.dd = None
        self.b0 = float("nan")

    def with_cohorts(self, d: np.ndarray, y: np.ndarray | None = None) -> pd.DataFrame:
        columns = {self.cohort: self._values[d][self._codes]}
        if y is not None:
            columns[self.outcome] = y
        return self.data.assign(**columns)

    def vectorised(self, fast: FastStatistic, donors: np.ndarray) -> None:
        identity = np.arange(len(self.units))[None, :]
        theta_y, theta_d = (
            np.asarray(v, dtype=float)
            for v in fast(self.units.index, np.vstack([identity, donors]))
        )
        self.a0, self.b0 = float(theta_y[0]), float(theta_d[0])
        self.stats, self.dd = theta_y[1:], theta_d[1:]

    def refit(self, donors: np.ndarray, time: str | None, observed: float, *, with_treated: bool):
        self.a0 = observed
        with one_blas_thread():
            self.stats = np.array([self.fit(self.with_cohorts(d)) for d in donors], dtype=float)
            if with_treated:
                d_obs = _treated(self.data, time, self.cohort).astype(float)
                self.dd = np.array(
                    [self.fit(self.with_cohorts(d, d_obs)) for d in donors], dtype=float
                )
                self.b0 = float(self.fit(self.data.assign(**{self.outcome: d_obs})))

    def include_observed(self) -> None:
        self.stats = np.append(self.stats, self.a0)
        if self.dd is not None:
            self.dd = np.append(self.dd, self.b0)


class _NullStatistics:
    """The estimates on Y(0)(τ), the observed outcome with a constant ``effect`` τ removed
    from the observed treated cells: ``at(τ)`` returns the observed assignment's and the
    reference set (every assignment's, the observed one counted in when they are sampled),
    from ``fast_null`` in one call or by refitting ``fit`` on every re-assigned data set."""

    def __init__(self, ev: _Evaluations, donors, exact, time, effect, fast_null):
        self.ev, self.donors, self.exact = ev, donors, exact
        self.time, self.effect, self.fast = time, effect, fast_null
        self.known: dict[float, tuple[float, np.ndarray]] = {}  # τ -> (t0, reference)

    def at(self, tau: float) -> tuple[float, np.ndarray]:
        tau = float(tau)
        if tau not in self.known:
            self.known[tau] = self._compute(tau)
        return self.known[tau]

    def _compute(self, tau: float) -> tuple[float, np.ndarray]:
        ev = self.ev
        if self.fast is not None:
            identity = np.arange(len(ev.units))[None, :]
            both = np.vstack([identity, self.donors])
            theta = np.asarray(self.fast(ev.units.index, both, float(tau)), dtype=float)
            t0, st = float(theta[0]), theta[1:]
        else:
            y = ev.data[ev.outcome].to_numpy(dtype=float)
            d_obs = _treated(ev.data, self.time, ev.cohort).astype(float)
            y_tau = untreated_outcome(y, d_obs, tau, self.effect)
            with one_blas_thread():  # as in _Evaluations.refit
                t0 = float(ev.fit(ev.data.assign(**{ev.outcome: y_tau})))
                st = [ev.fit(ev.with_cohorts(d, y_tau)) for d in self.donors]
            st = np.array(st, dtype=float)
        return t0, (st if self.exact else np.append(st, t0))


def untreated_outcome(y: np.ndarray, d: np.ndarray, tau: float, effect: str) -> np.ndarray:
    """Y(0) under a constant effect τ on the cells with ``d`` = 1: Y − τ·d (``"additive"``) or
    Y·exp(−τ·d) (``"multiplicative"``, τ on the log scale)."""
    return y - tau * d if effect == "additive" else y * np.exp(-tau * d)


def _treated(data: pd.DataFrame, time: str, cohort: str) -> np.ndarray:
    c = data[cohort]
    t = data[time]
    return (c.notna() & (t >= c)).to_numpy()


def enumerate_assignments(units: pd.Series, groups: pd.Series) -> np.ndarray:
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


def sample_assignments(
    units: pd.Series, groups: pd.Series, reps: int, rng: np.random.Generator
) -> np.ndarray:
    """``reps`` random assignments (permutations within strata) as rows of donor positions."""
    strata = [np.flatnonzero((groups == g).to_numpy()) for g in groups.unique()]
    out = np.empty((reps, len(units)), dtype=np.int64)
    out[:] = np.arange(len(units))
    for r in range(reps):
        for pos in strata:
            out[r, pos] = rng.permutation(pos)
    return out


def extreme_threshold(observed):
    """The randomization test's rule for "at least as extreme": a re-assigned estimate θ_a
    counts when |θ_a| ≥ this threshold, |observed| less a tolerance of 1e-10 relative (absolute
    below 1) so that ties created by floating point count as ties. Elementwise on arrays (the
    batched tests of :mod:`evaluation.inference.batched` apply it to many observed
    estimates at once)."""
    obs = np.abs(observed)
    return obs - 1e-10 * np.maximum(1.0, obs)


def _pvalue(stats: np.ndarray, observed: float) -> float:
    return float(np.mean(np.abs(stats) >= extreme_threshold(observed)))


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
    add((be1 == 0) & (be2 == 0) & (np.abs(a) >= extreme_threshold(a0)), -inf, inf)
    low = np.sort(np.concatenate(lows))
    high = np.sort(np.concatenate(highs))
    count = np.searchsorted(low, points, side="right") - np.searchsorted(high, points, side="left")
    accepted = count / k_total > alpha
    if not accepted.any():
        return float("nan"), float("nan")
    lo = -np.inf if accepted[0] else float(points[accepted].min())
    hi = np.inf if accepted[-1] else float(points[accepted].max())
    return float(lo), float(hi)


#: how the interval was found, appended to the description (see :func:`invert_by_search`)
_SEARCH_WORDS = {
    "multiplicative": "; interval: the effects τ (log scale) not rejected when the counts of "
    "the treated cells are divided by exp(τ) (a constant proportional effect), ends found by "
    "a root search to 1e-6",
    "additive": "; interval: the effects τ not rejected when τ is subtracted from the treated "
    "cells, ends found by a root search",
}

# Farthest the search looks from the estimate, on the log scale, before calling a side
# unbounded: exp(10) ≈ 22,000 — a rate ratio far beyond anything a programme does.
_LOG_SPAN = 10.0


def invert_by_search(
    at: Callable[[float], tuple[float, np.ndarray]],
    center: float,
    level: float,
    *,
    effect: str = "multiplicative",
    xtol: float = 1e-6,
) -> tuple[float, float]:
    """Ends of the set of constant effects τ not rejected, for an estimator not linear in Y.

    ``at(τ) -> (t0, reference)`` gives the estimate on Y(0)(τ) under the observed assignment
    and under every assignment of the reference set (:class:`_NullStatistics`). τ is accepted
    when p(τ), the share of the reference with |θ_a| ≥ |t0|, exceeds α = 1 − level
    (Rosenbaum 2002, §5: the confidence set of a constant effect is the set of effects whose
    sharp null the randomization test does not reject; Imbens & Rubin 2015, §5.7).

    p(τ) is a step function, but it exceeds α exactly when h(τ) = |t0(τ)| − |θ|₍ₖ₎(τ) ≤ 0,
    with |θ|₍ₖ₎ the k-th largest |θ_a| and k the smallest count whose share exceeds α, and h
    is continuous (an order statistic of continuous functions of τ); each end is a root of h,
    found by bracketing and a safeguarded bisection:

    1. *Predict.* Each θ_a(τ) is nearly linear in τ, so the estimates at two effects (τ = 0
       and the estimate) give a line per assignment, and :func:`invert_linear` the exact ends
       of the linearised test.
    2. *Bracket* each end between an accepted and a rejected τ, stepping from the prediction
       by 1 % of its distance to the estimate, doubling (from the estimate by the critical
       value when the prediction fails).
    3. *Narrow* the bracket: the next τ is the root of h with every θ_a interpolated through
       the two latest evaluations (a secant per assignment, which follows the kinks of the
       order statistic that defeat interpolating h itself); a step that would land within
       ``xtol``/2 of the last τ is lengthened to that, so the bracket closes; a bracket that
       has not halved in two steps is bisected. On fire-like district panels the whole
       interval takes 11–20 evaluations (median 15, with τ = 0 and the estimate).

    The end reported is the middle of the last bracket, within ``xtol``/2 = 5e-7 on the log
    scale of the true crossing: a reported percent change moves by less than 0.0001
    percentage points — far below the whole percent the reports print and the Monte Carlo
    error of the ends themselves with 999 sampled re-assignments (the p-value's own Monte
    Carlo standard error at 5 % is √(0.05·0.95/1000) ≈ 0.007).

    The set is an interval when p falls off on both sides of the estimate, as it does for
    these designs (the observed statistic moves one-for-one with τ, the re-assigned ones far
    less); the search reports the crossing nearest the prediction on each side. A side not
    rejected within 10 on the log scale (a rate ratio of 22,000) is reported as unbounded
    (±inf); NaN when the estimate itself is rejected. Estimates that fail at some τ (a
    Poisson fit that does not converge at an extreme τ) count as at least as extreme as the
    observed one: the interval can only widen.

    References
    ----------
    Rosenbaum, P. R. (2002). *Observational Studies*, 2nd ed., ch. 2 and 5. Springer.
    Imbens, G. W. & Rubin, D. B. (2015). *Causal Inference*, ch. 5. Cambridge University
    Press. Brent, R. P. (1973). *Algorithms for Minimization without Derivatives*, ch. 4
    (the safeguards of the root search).
    """
    search = _Search(at, 1 - level)
    if search.h(center) > 0:
        return float("nan"), float("nan")
    crit = search.crit(center)
    scale = max(abs(center), 1.0)
    step = crit if 0 < crit < np.inf else 0.1 * scale
    span = _LOG_SPAN if effect == "multiplicative" else 1e3 * max(step, scale)
    # a second effect for the per-assignment lines: τ = 0 (already evaluated for the
    # p-value) unless it is too close to the estimate to give a slope
    other = 0.0 if abs(center) > 0.05 * step else center + step
    predicted = invert_linear(*search.line(center, other), level)
    ends = []
    for sign, guess in zip((-1.0, 1.0), predicted, strict=True):
        bracket = search.bracket(center, sign, guess, step, span)
        ends.append(sign * math.inf if bracket is None else search.narrow(*bracket, xtol))
    return ends[0], ends[1]


class _Search:
    """h(τ) of :func:`invert_by_search`, its per-assignment linearisation and the bracket
    steps, with every evaluation kept (τ -> (h, critical value, t0, reference))."""

    def __init__(self, at, alpha: float):
        self.at, self.alpha = at, alpha
        self.seen: dict[float, tuple[float, float, float, np.ndarray]] = {}
        self.order: list[float] = []  # evaluation order, for the secant

    def _h(self, t0: float, ref: np.ndarray) -> tuple[float, float]:
        mags = np.where(np.isfinite(ref), np.abs(ref), np.inf)
        n = len(mags)
        k = _accept_count(n, self.alpha)
        crit = float(np.partition(mags, n - k)[n - k])
        return float(extreme_threshold(t0) - crit), crit  # the ties of _pvalue

    def _eval(self, tau: float):
        tau = float(tau)
        if tau not in self.seen:
            t0, ref = self.at(tau)
            if not np.isfinite(t0):
                raise DesignError(
                    f"randomization interval: the estimate is not finite at the effect {tau:.4g}"
                )
            self.seen[tau] = (*self._h(t0, ref), t0, np.asarray(ref, dtype=float))
            self.order.append(tau)
        return self.seen[tau]

    def h(self, tau: float) -> float:
        return self._eval(tau)[0]

    def crit(self, tau: float) -> float:
        return self._eval(tau)[1]

    def line(self, p: float, q: float):
        """(a0, b0, a, b) of the lines θ(τ) = a − τ·b through the evaluations at p and q."""
        _, _, t0p, rp = self._eval(p)
        _, _, t0q, rq = self._eval(q)
        b0, b = (t0p - t0q) / (q - p), (rp - rq) / (q - p)
        return t0p + p * b0, b0, rp + p * b, b

    def bracket(self, center, sign, guess, step, span):
        """(accepted τ, rejected τ) around one end, or None when nothing within ``span`` of
        the estimate on this side is rejected."""
        if np.isfinite(guess) and 0 < sign * (guess - center) < span:
            delta = 0.01 * abs(guess - center)
            inner = outer = None
            tau = guess
            for _ in range(60):
                if self.h(tau) <= 0:
                    inner = tau
                    tau += sign * delta
                else:
                    outer = tau
                    tau -= sign * delta
                    if sign * (tau - center) <= 0:  # the estimate itself is accepted
                        tau = center
                if inner is not None and outer is not None:
                    return inner, outer
                delta *= 2
                if sign * (tau - center) >= span:
                    break
        inner, dist = center, step  # no usable prediction: step out from the estimate
        while True:
            tau = center + sign * dist
            if self.h(tau) > 0:
                return inner, tau
            if dist >= span:
                return None
            inner, dist = tau, min(2 * dist, span)

    def narrow(self, inner: float, outer: float, xtol: float) -> float:
        """Shrink [inner (accepted), outer (rejected)] to ``xtol``; its middle."""
        widths = [abs(outer - inner)]
        while abs(outer - inner) > xtol:
            lo, hi = sorted((inner, outer))
            p, q = self.order[-2], self.order[-1]
            tau = self._model_root(p, q, inner, outer, xtol) if p != q else None
            if tau is None or len(widths) > 2 and widths[-1] > widths[-3] / 2:
                tau = (inner + outer) / 2
            last = q
            if abs(tau - last) < xtol / 2:  # lengthen a step shorter than xtol/2
                tau = last + math.copysign(xtol / 2, (inner + outer) / 2 - last)
            tau = min(max(tau, lo + xtol / 4), hi - xtol / 4)
            if self.h(tau) <= 0:
                inner = tau
            else:
                outer = tau
            widths.append(abs(outer - inner))
        return (inner + outer) / 2

    def _model_root(self, p, q, inner, outer, xtol) -> float | None:
        """Root of h with every estimate on the line through its values at p and q, inside
        (inner, outer), to xtol / 8 by bisection of the cheap model; None if the model has
        no sign change there."""
        a0, b0, a, b = self.line(p, q)

        def model(tau):
            return self._h(a0 - tau * b0, a - tau * b)[0]

        if model(inner) > 0 or model(outer) <= 0:
            return None
        while abs(outer - inner) > xtol / 8:
            mid = (inner + outer) / 2
            if model(mid) <= 0:
                inner = mid
            else:
                outer = mid
        return (inner + outer) / 2


def _accept_count(n: int, alpha: float) -> int:
    """The smallest count m of n with m / n > α, with the same floating point as _pvalue."""
    k = int(math.floor(alpha * n)) + 1
    while k > 1 and (k - 1) / n > alpha:
        k -= 1
    while k / n <= alpha:
        k += 1
    return k


def one_blas_thread():
    """BLAS and OpenMP limited to one thread while thousands of small models are refitted:
    a multi-threaded LAPACK call on a 50 × 50 matrix costs ~100 times a single-threaded one
    when the cores are busy (threadpoolctl; restored on exit)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


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


def reassigned_cohorts(
    panel_units: np.ndarray, cohort_pos: np.ndarray, units, donors: np.ndarray
) -> np.ndarray:
    """Cohort grid positions of an estimator's units under each re-assignment.

    ``units`` (the randomization's unit labels) and ``donors`` (assignments × units: unit j
    takes the cohort of unit ``donors[a, j]``) come from :func:`randomization_inference`;
    ``panel_units`` and ``cohort_pos`` are the estimator's units and their observed cohort
    positions. Returns an (assignments × panel units) integer array in the panel's unit order —
    what an estimator's vectorised ``fast`` statistic works from.
    """
    at = pd.Index(panel_units).get_indexer(pd.Index(units))  # panel row of each column
    if len(units) != len(panel_units) or (at < 0).any():
        raise InferenceError(
            "randomization inference: the units being permuted are not the estimator's units"
        )
    col_of_panel = np.empty_like(at)
    col_of_panel[at] = np.arange(len(at))
    pos_of_col = np.asarray(cohort_pos)[at]
    return pos_of_col[np.asarray(donors)][:, col_of_panel]
