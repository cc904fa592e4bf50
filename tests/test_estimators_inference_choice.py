"""choose_inference: the design rule of docs/ARCHITECTURE.md §4, and the CR1 small-sample factor.

The rule follows MacKinnon & Webb (2017, 2018, 2020): CR1 only with many clusters and many
treated and untreated clusters; the wild cluster bootstrap with few clusters but several
treated; randomization inference with one to three treated (or untreated) clusters.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.core.cluster import cr1_dof, cr1_vcov
from evaluation.inference.choose import choose_inference


@pytest.mark.parametrize(
    ("G", "G1", "estimator", "expected"),
    [
        (500, 191, "twfe", "cluster"),  # mpdta counties
        (50, 21, "twfe", "cluster"),  # castle-doctrine states
        (50, 5, "twfe", "wild"),  # many clusters, few treated
        (13, 9, "twfe", "wild"),  # district rollout with 4 never treated
        (13, 1, "twfe", "randomization"),  # the pilot ward
        (13, 12, "twfe", "randomization"),  # one ward left untreated
        (13, 1, "twfe_poisson", "randomization"),
        (13, 9, "twfe_poisson", "randomization"),  # no wild score bootstrap for Poisson
        (13, 1, "event_study", "wild"),  # no per-period randomization interval
        (500, 191, "att_gt", "analytic"),
        (13, 1, "att_gt", "randomization"),
        (13, 9, "att_gt", "randomization"),  # few clusters: IF errors over-reject, no wild
    ],
)
def test_rule(G, G1, estimator, expected):
    method, reason = choose_inference(G, G1, 20, estimator)
    assert method == expected
    assert f"{G} clusters, {G1} treated" in reason


def test_fallback_is_explained():
    _, reason = choose_inference(13, 1, 52, "event_study")
    assert "cannot run randomization" in reason and "caution" in reason


def test_cr1_equals_explicit_formula():
    rng = np.random.default_rng(0)
    n, k, G = 200, 3, 17
    X = rng.normal(size=(n, k))
    u = rng.normal(size=n)
    cl = rng.integers(0, G, n)
    bread = np.linalg.inv(X.T @ X)
    meat = sum(np.outer(X[cl == g].T @ u[cl == g], X[cl == g].T @ u[cl == g]) for g in range(G))
    expected = G / (G - 1) * (n - 1) / (n - k) * bread @ meat @ bread
    np.testing.assert_allclose(cr1_vcov(X * u[:, None], bread, cl, G, n, k), expected, rtol=1e-12)


def test_fixest_nested_k():
    # unit effects nested in clusters count once: K = k + T (fixest "nested" rule)
    assert cr1_dof(1000, 1, fe_levels=[100, 10], fe_df=109, fe_nested=[True, False]) == 1 + 10
    assert cr1_dof(1000, 1, fe_levels=[100, 10], fe_df=109, fe_nested=[False, False]) == 110
