"""Absorbing fixed effects without dummy columns (the within transformation).

Regressing y on X with unit and time fixed effects gives the same slope as regressing the
residuals of y and of X after projecting out the fixed effects (Frisch–Waugh–Lovell). This
module computes that projection:

* one factor: subtract (weighted) group means — exact;
* two factors on a balanced, unweighted panel (every unit × period cell exactly once): the
  closed form x − x̄ᵢ − x̄ₜ + x̄ — exact;
* two factors with few levels in all (weights, unbalanced or with holes — the district's
  13 wards × a few dozen periods, or the weighted steps of Poisson PML): the exact normal
  equations of the fixed effects alone, (G₁ + G₂) square and built from ``np.bincount``
  sums, solved once by pseudo-inverse — exact and far cheaper than iterating;
* otherwise: the method of alternating projections (Guimarães & Portugal 2010; Correia 2017),
  sweeping group means of each factor in turn, accelerated by the Irons–Tuck (1969) / Aitken
  extrapolation step that ``reghdfe`` and ``fixest`` also use, until the largest change is below
  ``tol`` times the scale of the column.

Group means use ``np.bincount``, so memory stays O(rows × columns) and no matrix of size
rows × groups is ever formed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["Absorber", "factorize", "nested_in", "DIRECT_MAX_LEVELS"]

#: two factors with at most this many levels in all are absorbed by a direct solve
DIRECT_MAX_LEVELS = 400


def factorize(values) -> tuple[np.ndarray, int]:
    """Integer codes 0..G−1 for any 1-D array of labels (sorted order), and G."""
    import pandas as pd

    codes, uniques = pd.factorize(np.asarray(values), sort=True)
    if (codes < 0).any():
        raise ValueError("fixed-effect labels contain missing values")
    return codes.astype(np.int64, copy=False), len(uniques)


def nested_in(factor: np.ndarray, n_levels: int, cluster: np.ndarray) -> bool:
    """True when every level of ``factor`` lies inside a single cluster.

    A fixed effect nested in the clustering variable costs no degree of freedom in the
    cluster-robust small-sample correction (fixest's ``fixef.K = "nested"``; Stata's
    ``reghdfe`` does the same), because its parameters are absorbed by the cluster sums.
    """
    first = np.full(n_levels, -1, dtype=np.int64)
    first[factor[::-1]] = cluster[::-1]  # the cluster of each level's first row
    return bool(np.all(first[factor] == cluster))


class Absorber:
    """Projects fixed effects out of columns.

    Parameters
    ----------
    factors
        One or more integer code arrays (0..G−1), one per fixed effect, all of length n.
    weights
        Optional positive observation weights (weighted least squares).
    tol, maxiter
        Convergence of alternating projections (only used when no exact form applies).

    Attributes
    ----------
    n_levels : list of int
        Number of groups of each factor.
    df_absorbed : int
        Number of fixed-effect parameters that are identified (sum of levels minus the
        redundancies: one per connected component of the factors' bipartite graph for two
        factors). Used for degrees-of-freedom corrections.
    balanced : bool
        True when two factors form a complete grid with each cell exactly once and no weights.
    """

    def __init__(
        self,
        factors: Sequence[np.ndarray],
        weights: np.ndarray | None = None,
        tol: float = 1e-10,
        maxiter: int = 10_000,
    ):
        self.factors = [np.asarray(f, dtype=np.int64) for f in factors]
        if not self.factors:
            raise ValueError("Absorber needs at least one factor")
        n = len(self.factors[0])
        if any(len(f) != n for f in self.factors):
            raise ValueError("fixed-effect factors have different lengths")
        self.n = n
        self.n_levels = [int(f.max()) + 1 if n else 0 for f in self.factors]
        self.weights = None if weights is None else np.asarray(weights, dtype=float)
        self.tol = tol
        self.maxiter = maxiter
        w = self.weights
        self._wsum = [
            np.bincount(f, weights=w, minlength=g)
            for f, g in zip(self.factors, self.n_levels, strict=True)
        ]
        self.balanced = (
            len(self.factors) == 2
            and w is None
            and n == self.n_levels[0] * self.n_levels[1]
            and bool(np.all(self._wsum[0] == self.n_levels[1]))
            and bool(np.all(self._wsum[1] == self.n_levels[0]))
            and self._cells_unique()
        )
        self._df_absorbed: int | None = None
        self.iterations = 0
        self._pinv: np.ndarray | None = None
        self.direct = (
            len(self.factors) == 2 and not self.balanced and sum(self.n_levels) <= DIRECT_MAX_LEVELS
        )

    def _cells_unique(self) -> bool:
        f0, f1 = self.factors
        cell = f0 * self.n_levels[1] + f1
        # O(n) and exact, unlike np.unique (a sort), which matters on millions of rows
        return int(np.bincount(cell, minlength=self.n_levels[0] * self.n_levels[1]).max()) == 1

    @property
    def df_absorbed(self) -> int:
        """Identified fixed-effect parameters (computed on first use; it needs a graph search)."""
        if self._df_absorbed is None:
            self._df_absorbed = self._count_df()
        return self._df_absorbed

    def _count_df(self) -> int:
        if len(self.factors) == 1:
            return self.n_levels[0]
        if len(self.factors) == 2:
            if self.balanced:  # a complete grid is one connected component
                return self.n_levels[0] + self.n_levels[1] - 1
            from scipy.sparse import coo_matrix
            from scipy.sparse.csgraph import connected_components

            g0, g1 = self.n_levels
            f0, f1 = self.factors
            graph = coo_matrix(
                (np.ones(self.n, dtype=np.int8), (f0, f1 + g0)), shape=(g0 + g1, g0 + g1)
            )
            n_comp, _ = connected_components(graph, directed=False)
            return g0 + g1 - n_comp
        # More than two factors: redundancies are not computed exactly; this upper bound is
        # what fixest reports as well ("nested/redundant FE not detected").
        return sum(self.n_levels) - (len(self.factors) - 1)

    def _group_mean(self, x: np.ndarray, k: int) -> np.ndarray:
        f = self.factors[k]
        w = self.weights
        s = np.bincount(f, weights=x if w is None else x * w, minlength=self.n_levels[k])
        with np.errstate(invalid="ignore", divide="ignore"):
            m = s / self._wsum[k]
        return m[f]

    def demean(self, X: np.ndarray) -> np.ndarray:
        """Return X with every fixed effect projected out (columns of a 1-D or 2-D array)."""
        X = np.asarray(X, dtype=float)
        one_d = X.ndim == 1
        X2 = X.reshape(self.n, -1)
        if self.direct:
            out = self._direct(X2)
            return out.ravel() if one_d else out
        out = np.empty_like(X2)
        for j in range(X2.shape[1]):
            out[:, j] = self._demean_1d(np.ascontiguousarray(X2[:, j]))
        return out.ravel() if one_d else out

    def _demean_1d(self, x: np.ndarray) -> np.ndarray:
        if len(self.factors) == 1:
            return x - self._group_mean(x, 0)
        if self.balanced:
            return x - self._group_mean(x, 0) - self._group_mean(x, 1) + x.mean()
        return self._alternating_projections(x)

    def _direct(self, X: np.ndarray) -> np.ndarray:
        """Exact two-way projection from the fixed effects' own normal equations."""
        f0, f1 = self.factors
        g0, g1 = self.n_levels
        w = self.weights
        if self._pinv is None:
            cross = np.bincount(f0 * g1 + f1, weights=w, minlength=g0 * g1).reshape(g0, g1)
            M = np.block([[np.diag(self._wsum[0]), cross], [cross.T, np.diag(self._wsum[1])]])
            # the system is singular by construction (one redundancy per connected component);
            # the pseudo-inverse gives the minimum-norm effects, whose fitted values are unique
            self._pinv = np.linalg.pinv(M, hermitian=True)
        wx = X if w is None else X * w[:, None]
        rhs = np.vstack(
            [
                np.stack([np.bincount(f0, weights=c, minlength=g0) for c in wx.T], axis=1),
                np.stack([np.bincount(f1, weights=c, minlength=g1) for c in wx.T], axis=1),
            ]
        )
        coef = self._pinv @ rhs
        return X - coef[:g0][f0] - coef[g0:][f1]

    def _sweep(self, r: np.ndarray) -> np.ndarray:
        for k in range(len(self.factors)):
            r = r - self._group_mean(r, k)
        return r

    def _alternating_projections(self, x: np.ndarray) -> np.ndarray:
        # Irons–Tuck acceleration: after two plain sweeps x1 = P x0, x2 = P x1, jump to
        # x2 − (Δ2·Δ²x / ‖Δ²x‖²) Δ2, which removes the slowest geometric error component.
        scale = max(float(np.abs(x).max()) if x.size else 0.0, 1.0)
        r = self._sweep(x)
        for it in range(1, self.maxiter + 1):
            r1 = self._sweep(r)
            r2 = self._sweep(r1)
            d1 = r1 - r
            d2 = r2 - r1
            dd = d2 - d1
            denom = float(dd @ dd)
            change = float(np.abs(d2).max()) if d2.size else 0.0
            if change <= self.tol * scale:
                self.iterations = max(self.iterations, 2 * it + 1)
                return r2
            r = r2 - (float(d2 @ dd) / denom) * d2 if denom > 0 else r2
        raise RuntimeError(
            f"fixed-effect absorption did not converge in {self.maxiter} sweeps "
            f"(last change {change:.3g}); the panel may be badly connected"
        )
