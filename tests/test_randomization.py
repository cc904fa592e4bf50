"""Randomization inference: exactness, size, coverage and the design limit.

The estimator used here is a plain TWFE DiD on a balanced panel (two-way demeaning by hand),
so these tests exercise the permutation machinery independently of the package's estimators.
"""

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.errors import DesignError, InferenceError
from evaluation.inference.randomization import count_assignments, randomization_inference


def twfe_fit(d: pd.DataFrame, outcome: str = "y") -> float:
    """TWFE DiD on a balanced panel: two-way demeaning by group means (numpy only)."""
    u = d["unit"].to_numpy()
    t = d["t"].to_numpy()
    c = d["cohort"].to_numpy(dtype=float)
    treated = (~np.isnan(c) & (t >= c)).astype(float)

    def within(x):
        x = np.asarray(x, dtype=float)
        mu = np.bincount(u, x) / np.bincount(u)
        mt = np.bincount(t, x) / np.bincount(t)
        return x - mu[u] - mt[t] + x.mean()

    yd, dd = within(d[outcome]), within(treated)
    return float(dd @ yd / (dd @ dd))


def panel(n_units=13, n_t=20, cohorts=None, effect=0.0, rho=0.5, seed=0):
    rng = np.random.default_rng(seed)
    cohorts = cohorts if cohorts is not None else {0: 12}
    rows = []
    for i in range(n_units):
        a = rng.normal()
        e = 0.0
        for t in range(n_t):
            e = rho * e + rng.normal()
            c = cohorts.get(i, np.nan)
            rows.append(
                (i, t, c, a + 0.1 * t + e + (effect if not math.isnan(c) and t >= c else 0))
            )
    return pd.DataFrame(rows, columns=["unit", "t", "cohort", "y"])


def test_counting_assignments():
    assert count_assignments([5] + [np.nan] * 12) == 13
    assert count_assignments([1, 1, 2, 2, np.nan]) == math.factorial(5) // (2 * 2)
    # the district rollout: 1 pilot, three waves of four
    assert count_assignments([0] + [1] * 4 + [2] * 4 + [3] * 4) == 450450


def test_one_treated_ward_of_13_is_exact_and_reports_the_design_limit():
    d = panel(effect=10.0)  # a huge effect: the observed assignment is the most extreme
    r = randomization_inference(
        twfe_fit, d, unit="unit", cohort="cohort", time="t", outcome="y", linear=True
    )
    assert r.exact and r.n_assignments == 13 and r.reps == 13
    assert r.pvalue == pytest.approx(1 / 13)
    assert r.min_pvalue == pytest.approx(1 / 13)
    assert r.warnings and "cannot reach the 5% significance level" in r.warnings[0]
    assert "p = 0.077" in r.warnings[0]


def test_exact_p_value_equals_a_brute_force_rank():
    d = panel(n_units=6, cohorts={0: 10, 1: 10}, effect=0.8, seed=3)
    r = randomization_inference(twfe_fit, d, unit="unit", cohort="cohort", ci=False)
    # brute force: every pair of units as the treated pair
    from itertools import combinations

    obs = twfe_fit(d)
    stats = []
    for pair in combinations(range(6), 2):
        c = d["unit"].map(lambda u, pair=pair: 10 if u in pair else np.nan)
        stats.append(twfe_fit(d.assign(cohort=c)))
    assert r.n_assignments == 15 and r.exact
    assert r.pvalue == pytest.approx(np.mean(np.abs(stats) >= abs(obs) - 1e-12))
    np.testing.assert_allclose(np.sort(r.distribution), np.sort(stats))


def test_staggered_cohorts_keep_their_sizes_under_permutation():
    d = panel(n_units=8, cohorts={0: 5, 1: 5, 2: 9, 3: 9}, seed=4)
    seen = []

    def fit(x):
        c = x.groupby("unit")["cohort"].first()
        seen.append(sorted(c.fillna(-1).tolist()))
        return twfe_fit(x)

    randomization_inference(fit, d, unit="unit", cohort="cohort", ci=False, reps=50, seed=1)
    assert all(s == [-1, -1, -1, -1, 5, 5, 9, 9] for s in seen)


def test_size_is_nominal_under_the_null():
    """With 3 of 9 units treated (84 assignments) the exact test rejects at rate ≤ α."""
    rej = []
    for s in range(200):
        d = panel(n_units=9, n_t=8, cohorts={0: 4, 1: 4, 2: 4}, seed=100 + s)
        r = randomization_inference(twfe_fit, d, unit="unit", cohort="cohort", ci=False)
        rej.append(r.pvalue <= 0.10)
    rate = np.mean(rej)
    # exact test: P(p ≤ 0.10) = 8/84 = 0.095 under exchangeability; 200 reps -> sd 0.021
    assert 0.04 < rate < 0.16


def test_linear_inversion_matches_grid_inversion_and_covers_the_truth():
    d = panel(n_units=10, n_t=10, cohorts={0: 5, 1: 5, 2: 5}, effect=2.0, seed=7)
    fast = randomization_inference(
        twfe_fit, d, unit="unit", cohort="cohort", time="t", outcome="y", linear=True
    )
    grid = np.linspace(fast.estimate - 6, fast.estimate + 6, 121)
    slow = randomization_inference(
        twfe_fit, d, unit="unit", cohort="cohort", time="t", outcome="y", linear=False, grid=grid
    )
    assert fast.ci_low == pytest.approx(slow.ci_low, abs=0.11)  # grid step 0.1
    assert fast.ci_high == pytest.approx(slow.ci_high, abs=0.11)
    assert fast.ci_low < fast.estimate < fast.ci_high


def test_interval_coverage_of_a_planted_constant_effect():
    cover = []
    for s in range(100):
        d = panel(n_units=9, n_t=8, cohorts={0: 4, 1: 4, 2: 4}, effect=1.5, seed=500 + s)
        r = randomization_inference(
            twfe_fit, d, unit="unit", cohort="cohort", time="t", outcome="y", linear=True, level=0.9
        )
        cover.append(r.ci_low <= 1.5 <= r.ci_high)
    # nominal 90 %; 100 reps -> sd 0.03
    assert np.mean(cover) >= 0.82


def test_design_errors():
    d = panel()
    with pytest.raises(DesignError, match="at least one treated unit"):
        randomization_inference(twfe_fit, d.assign(cohort=np.nan), unit="unit", cohort="cohort")
    with pytest.raises(DesignError, match="same cohort"):
        randomization_inference(
            twfe_fit, d.assign(cohort=5), unit="unit", cohort="cohort", ci=False
        )
    with pytest.raises(InferenceError, match="need 'time' and 'outcome'"):
        randomization_inference(twfe_fit, d, unit="unit", cohort="cohort")
    with pytest.raises(InferenceError, match="not in the data"):
        randomization_inference(twfe_fit, d, unit="ward", cohort="cohort")
