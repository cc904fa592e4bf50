"""Cluster-robust (CR1) covariance with the small-sample correction of Stata and fixest.

For a linear model estimated on fixed-effect-demeaned data X̃, ỹ (Frisch–Waugh–Lovell), with
residuals û and clusters g = 1..G, the CR1 covariance (Liang & Zeger 1986; Cameron & Miller
2015, *J. Human Resources* 50(2), §VI) is

    V = c · (X̃'WX̃)⁻¹ [ Σ_g s_g s_gᵀ ] (X̃'WX̃)⁻¹,   s_g = Σ_{i∈g} wᵢ x̃ᵢ ûᵢ,

    c = G/(G−1) · (n−1)/(n−K).

K follows fixest's default ``ssc(adj = TRUE, fixef.K = "nested", cluster.adj = TRUE)``, which
``reghdfe`` shares: the slope coefficients plus the identified fixed-effect parameters, except
that a fixed effect nested in the clusters (unit effects when clustering by unit or by ward)
counts as one parameter, because the cluster sums already absorb it. Tests and p-values use
Student's t with G − 1 degrees of freedom, as Stata and fixest do.

For Poisson PML the same sandwich applies with the score contributions x̃ᵢ(yᵢ − μᵢ) and the
bread (X̃'diag(μ)X̃)⁻¹ at the solution.

CR1 is reliable only with many clusters and many treated clusters; with few (the district has
13 wards), use :mod:`evaluation.inference.choose` to pick a valid method.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "cluster_sums",
    "cr1_vcov",
    "cr1_dof",
    "t_inference",
    "t_pvalue",
]


def cluster_sums(scores: np.ndarray, cluster: np.ndarray, n_clusters: int) -> np.ndarray:
    """Sum score rows within clusters: (n × k) → (G × k), without a dense n × G matrix."""
    scores = np.asarray(scores, dtype=float)
    if scores.ndim == 1:
        scores = scores[:, None]
    out = np.empty((n_clusters, scores.shape[1]))
    for j in range(scores.shape[1]):
        out[:, j] = np.bincount(cluster, weights=scores[:, j], minlength=n_clusters)
    return out


def cr1_dof(
    n_obs: int,
    n_coef: int,
    fe_levels: Sequence[int] = (),
    fe_df: int = 0,
    fe_nested: Sequence[bool] = (),
) -> int:
    """K of the small-sample factor (n−1)/(n−K), fixest's ``fixef.K = "nested"`` rule.

    Parameters
    ----------
    n_coef
        Slope coefficients estimated (not absorbed).
    fe_levels
        Number of levels of each absorbed fixed effect.
    fe_df
        Identified fixed-effect parameters (levels minus redundancies).
    fe_nested
        For each fixed effect, whether it is nested in the clusters.
    """
    k = n_coef + fe_df
    for levels, nested in zip(fe_levels, fe_nested, strict=False):
        if nested:
            k -= levels - 1  # a nested effect keeps a single parameter
    return int(k)


def cr1_vcov(
    scores: np.ndarray,
    bread: np.ndarray,
    cluster: np.ndarray,
    n_clusters: int,
    n_obs: int,
    k: int,
) -> np.ndarray:
    """CR1 covariance ``c · B (Σ_g s_g s_gᵀ) B`` with c = G/(G−1)·(n−1)/(n−K).

    Parameters
    ----------
    scores
        n × p score contributions (for OLS: wᵢ x̃ᵢ ûᵢ).
    bread
        p × p inverse Hessian ((X̃'WX̃)⁻¹ for OLS).
    cluster
        Integer cluster codes 0..G−1 per row.
    k
        Parameters for the (n−1)/(n−K) factor (see :func:`cr1_dof`).
    """
    G = int(n_clusters)
    S = cluster_sums(scores, cluster, G)
    meat = S.T @ S
    V = bread @ meat @ bread
    if G > 1 and n_obs > k:
        V = V * (G / (G - 1)) * ((n_obs - 1) / (n_obs - k))
    return V


def t_pvalue(t, df):
    """Two-sided p-value 2·P(T_df ≥ |t|) of t statistics (a number or an array)."""
    from scipy import stats

    return 2 * stats.t.sf(np.abs(t), df)


def t_inference(
    estimate: float, se: float, df: int, level: float = 0.95
) -> tuple[float, float, float]:
    """Two-sided p-value and confidence interval from Student's t with ``df`` degrees."""
    from scipy import stats

    if not np.isfinite(se) or se <= 0 or df < 1:
        return float("nan"), float("nan"), float("nan")
    p = float(t_pvalue(estimate / se, df))
    q = float(stats.t.ppf(0.5 + level / 2, df))
    return p, estimate - q * se, estimate + q * se
