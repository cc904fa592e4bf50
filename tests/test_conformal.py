"""Conformal inference (Chernozhukov, Wüthrich & Zhu 2021): size, power, exactness, inversion."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.errors import DataError
from evaluation.inference.conformal import conformal_pvalue


def district_panel(
    seed: int, *, rho: float = 0.5, J: int = 12, T0: int = 80, T1: int = 24, effect: float = 0.0
) -> np.ndarray:
    """13 wards × 104 weeks: ward effects, a common seasonal week effect, AR(1) errors (ρ=0.5,
    unit innovations). Row J (last) is the treated ward, inside the range of the others."""
    rng = np.random.default_rng(seed)
    T = T0 + T1
    innov = rng.normal(size=(J + 1, T))
    e = np.empty_like(innov)
    e[:, 0] = innov[:, 0] / np.sqrt(1 - rho**2)
    for t in range(1, T):
        e[:, t] = rho * e[:, t - 1] + innov[:, t]
    alpha = np.linspace(-3, 3, J + 1)
    alpha[-1] = 0.0
    week = 2 * np.sin(np.arange(T) / 6) + rng.normal(0, 1, T)
    Y = alpha[:, None] + week[None, :] + e
    Y[-1, T0:] += effect
    return Y


def to_long(Y: np.ndarray, T0: int) -> pd.DataFrame:
    N, T = Y.shape
    df = pd.DataFrame(
        [(f"w{i:02d}", t, Y[i, t]) for i in range(N) for t in range(T)],
        columns=["ward", "week", "y"],
    )
    df["cohort"] = np.where(df["ward"] == f"w{N - 1:02d}", T0, np.nan)
    return df


def _p(Y, model="sc", permutation="moving_block", theta=0.0, seed=0):
    return conformal_pvalue(
        Y[-1], Y[:-1].T, 80, theta, model=model, permutation=permutation, seed=seed
    )


@pytest.mark.slow
@pytest.mark.parametrize("model", ["sc", "did"])
def test_size_under_ar1_null_near_nominal(model):
    # 200 simulated nulls; moving-block p ≤ 0.05 means rank ≤ 5 of 104 (nominal 4.8 %).
    # Binomial sd with 200 draws is 1.5 points: accept 1–10 %.
    p = np.array([_p(district_panel(s), model) for s in range(200)])
    rate = np.mean(p <= 0.05)
    assert 0.01 <= rate <= 0.10, rate
    # p-values are multiples of 1/T and roughly uniform: their mean is near 1/2
    assert np.allclose(p * 104, np.round(p * 104))
    assert 0.4 < p.mean() < 0.6


@pytest.mark.slow
def test_power_against_planted_effect():
    # an effect of 3 (≈ 2.6 error sd) in the 24 post weeks
    p = np.array([_p(district_panel(1000 + s, effect=3.0)) for s in range(100)])
    assert np.mean(p <= 0.05) >= 0.6


def test_iid_permutations_size_with_independent_errors():
    p = np.array([_p(district_panel(s, rho=0.0), permutation="iid", seed=s) for s in range(150)])
    assert 0.01 <= np.mean(p <= 0.05) <= 0.11


def test_smallest_pvalue_is_one_over_T_for_moving_block():
    Y = district_panel(0, effect=50.0)
    assert _p(Y) == pytest.approx(1 / 104)
    assert _p(Y, theta=50.0) > 0.05  # the true effect is not rejected


def test_conformal_test_interval_covers_planted_effect():
    Y = district_panel(3, effect=4.0)
    res = ev.conformal_test(to_long(Y, 80), "y", "ward", "week", "cohort")
    assert res.pvalue <= 0.05
    assert res.min_pvalue == pytest.approx(1 / 104)
    assert res.ci_low < 4.0 < res.ci_high
    assert res.ci_low > 0  # excludes zero, like the p-value
    assert res.estimate == pytest.approx(4.0, abs=1.0)
    # every grid point inside the interval is accepted, the neighbours outside rejected
    g = res.grid
    inside = g[(g["theta"] > res.ci_low) & (g["theta"] < res.ci_high)]
    assert (inside["pvalue"] > 0.05).all()
    assert (g.loc[g["theta"] < res.ci_low - 1e-9, "pvalue"] <= 0.05).all()
    assert (g.loc[g["theta"] > res.ci_high + 1e-9, "pvalue"] <= 0.05).all()
    json.dumps(res.to_dict())


def test_coverage_of_inverted_intervals():
    # 95% intervals cover the planted effect in most of 40 draws (binomial: ≥ 34 of 40
    # fails with probability < 2 % when coverage is 95 %)
    hits = 0
    for s in range(40):
        Y = district_panel(2000 + s, effect=1.5)
        res = ev.conformal_test(to_long(Y, 80), "y", "ward", "week", "cohort", model="did")
        hits += res.ci_low <= 1.5 <= res.ci_high
    assert hits >= 34


def test_conformal_test_null_argument_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    Y = district_panel(4, effect=2.0)
    df = to_long(Y, 80)
    r0 = ev.conformal_test(df, "y", "ward", "week", "cohort", null=0.0)
    r2 = ev.conformal_test(df, "y", "ward", "week", "cohort", null=2.0)
    assert r2.pvalue > r0.pvalue
    assert r0.plot().get_xlabel().startswith("hypothesised")
    assert "H0: effect = 2" in r2.summary()


def test_short_series_warns_cannot_reach_level():
    Y = district_panel(5, T0=10, T1=5)
    res = ev.conformal_test(to_long(Y, 10), "y", "ward", "week", "cohort")
    assert res.min_pvalue == pytest.approx(1 / 15)
    assert any("cannot reach the 5% significance level" in w for w in res.warnings)


def test_bad_options():
    df = to_long(district_panel(0), 80)
    with pytest.raises(DataError, match="model must be one of"):
        ev.conformal_test(df, "y", "ward", "week", "cohort", model="lasso")
    with pytest.raises(DataError, match="permutation"):
        ev.conformal_test(df, "y", "ward", "week", "cohort", permutation="block")


@pytest.mark.parametrize("intercept", [False, True])
def test_simplex_solver_matches_scipy(intercept):
    # the exact solver behind the conformal refits vs scipy's SLSQP on the same problem
    from scipy.optimize import minimize

    from evaluation.core.simplex import simplex_least_squares

    rng = np.random.default_rng(11)
    for _ in range(5):
        A = rng.normal(size=(60, 12)).cumsum(axis=0)
        b = A[:, :3] @ np.array([0.2, 0.3, 0.1]) + rng.normal(0, 2, 60) + 5 * intercept
        ridge = 0.5
        w, c = simplex_least_squares(A, b, ridge, intercept=intercept)
        Ac, bc = (A - A.mean(0), b - b.mean()) if intercept else (A, b)

        def f(v, Ac=Ac, bc=bc, ridge=ridge):
            return np.sum((Ac @ v - bc) ** 2) + ridge * v @ v

        ref = minimize(
            f,
            np.full(12, 1 / 12),
            method="SLSQP",
            bounds=[(0, None)] * 12,
            constraints=[{"type": "eq", "fun": lambda v: v.sum() - 1}],
            options={"ftol": 1e-14, "maxiter": 1000},
        )
        assert (w >= 0).all() and w.sum() == pytest.approx(1.0)
        assert f(w) <= ref.fun * (1 + 1e-9)
        np.testing.assert_allclose(w, ref.x, atol=1e-4)
        if intercept:
            assert c == pytest.approx(b.mean() - A.mean(0) @ w)
