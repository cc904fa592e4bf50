"""Fixed-effect absorption against the textbook dummy-variable regression (a second, dense
implementation on small data): residuals of y on the dummies, by least squares."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.core.absorb import Absorber, factorize, nested_in


def _dummy_residuals(x, factors, weights=None):
    D = np.column_stack([np.eye(int(f.max()) + 1)[f] for f in factors])
    w = np.ones(len(x)) if weights is None else weights
    sw = np.sqrt(w)
    coef = np.linalg.lstsq(D * sw[:, None], x * sw, rcond=None)[0]
    return x - D @ coef, np.linalg.matrix_rank(D)


def _panel(n_units, n_periods, drop=0.0, seed=0):
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(n_units), n_periods)
    t = np.tile(np.arange(n_periods), n_units)
    keep = rng.random(len(u)) >= drop
    return u[keep], t[keep], rng.normal(size=keep.sum()) + u[keep] * 0.3 + t[keep] * 0.1


def test_balanced_closed_form_equals_dummy_regression():
    u, t, x = _panel(7, 9)
    ab = Absorber([u, t])
    assert ab.balanced
    ref, rank = _dummy_residuals(x, [u, t])
    np.testing.assert_allclose(ab.demean(x), ref, atol=1e-12)
    assert ab.df_absorbed == rank == 7 + 9 - 1


def test_unbalanced_alternating_projections_equal_dummy_regression():
    u, t, x = _panel(12, 15, drop=0.3, seed=1)
    ab = Absorber([u, t])
    assert not ab.balanced
    ref, rank = _dummy_residuals(x, [u, t])
    np.testing.assert_allclose(ab.demean(x), ref, atol=1e-9)
    assert ab.df_absorbed == rank


def test_weighted_and_three_factors_equal_dummy_regression():
    rng = np.random.default_rng(2)
    n = 400
    f = [rng.integers(0, k, n) for k in (20, 8, 5)]
    f = [factorize(v)[0] for v in f]
    w = rng.uniform(0.2, 3, n)
    x = rng.normal(size=n)
    ref, _ = _dummy_residuals(x, f[:2], w)
    np.testing.assert_allclose(Absorber(f[:2], weights=w).demean(x), ref, atol=1e-8)
    ref3, _ = _dummy_residuals(x, f)
    np.testing.assert_allclose(Absorber(f).demean(x), ref3, atol=1e-8)


def test_disconnected_panel_counts_components():
    # two groups of units observed in disjoint periods: two connected components
    u = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    t = np.array([0, 1, 0, 1, 2, 3, 2, 3])
    ab = Absorber([u, t])
    _, rank = _dummy_residuals(np.arange(8.0), [u, t])
    assert ab.df_absorbed == rank == 4 + 4 - 2


def test_nested_in():
    junction = np.array([0, 0, 1, 1, 2, 2])
    ward = np.array([0, 0, 0, 0, 1, 1])
    period = np.array([0, 1, 0, 1, 0, 1])
    assert nested_in(junction, 3, ward)
    assert not nested_in(period, 2, ward)


def test_factorize_rejects_missing():
    with pytest.raises(ValueError):
        factorize(np.array([1.0, np.nan]))


def test_direct_solve_for_few_levels_equals_alternating_projections():
    """Weighted, unbalanced two-way panels with few levels are absorbed by solving the fixed
    effects' normal equations; the result must equal the iterative projection."""
    from evaluation.core.absorb import Absorber

    rng = np.random.default_rng(7)
    n = 600
    f0, f1 = rng.integers(0, 13, n), rng.integers(0, 48, n)
    w = rng.uniform(0.2, 3.0, n)
    X = rng.normal(size=(n, 3))
    direct = Absorber([f0, f1], weights=w)
    assert direct.direct
    iterative = Absorber([f0, f1], weights=w, tol=1e-14)
    iterative.direct = False
    np.testing.assert_allclose(direct.demean(X), iterative.demean(X), atol=1e-10)
    # the residuals are orthogonal to every fixed effect (weighted)
    r = direct.demean(X[:, 0])
    assert np.abs(np.bincount(f0, weights=w * r)).max() < 1e-10
    assert np.abs(np.bincount(f1, weights=w * r)).max() < 1e-10
