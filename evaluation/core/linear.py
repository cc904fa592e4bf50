"""Least squares and Poisson PML with absorbed fixed effects — the numeric core of the
regression estimators (TWFE, event study, 2×2).

Fixed effects are projected out with :class:`evaluation.core.absorb.Absorber`; the slopes come from
the small k × k normal equations of the demeaned columns (Frisch–Waugh–Lovell). Collinear
regressors are detected here and reported by name as a :class:`DesignError`, never as a
singular-matrix traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluation.core.absorb import Absorber, nested_in
from evaluation.core.cluster import cr1_dof, cr1_vcov
from evaluation.errors import DesignError

__all__ = ["WithinFit", "fit_within", "fit_poisson", "cluster_vcov"]

# A demeaned column whose norm falls below this share of its raw (centred) norm is treated as
# explained by the fixed effects; 1e-9 is far above rounding error of the projections (≈1e-13)
# and far below any real variation.
_ABSORBED_RTOL = 1e-9
_COLLINEAR_RTOL = 1e-9


@dataclass
class WithinFit:
    """A fitted model on demeaned data."""

    beta: np.ndarray
    names: list[str]
    Xd: np.ndarray
    resid: np.ndarray
    bread: np.ndarray
    weights: np.ndarray | None
    absorber: Absorber
    n_obs: int
    iterations: int = 0
    deviance: float = float("nan")
    mu: np.ndarray | None = None

    def scores(self, y: np.ndarray | None = None) -> np.ndarray:
        """Per-row score contributions (OLS: wᵢ x̃ᵢ ûᵢ; Poisson: x̃ᵢ (yᵢ − μᵢ))."""
        if self.mu is not None:
            return self.Xd * (y - self.mu)[:, None]
        u = self.resid if self.weights is None else self.resid * self.weights
        return self.Xd * u[:, None]


def _check_rank(Xd: np.ndarray, X: np.ndarray, names: Sequence[str], w: np.ndarray | None):
    """Raise DesignError naming columns absorbed by the fixed effects or collinear."""
    sw = None if w is None else np.sqrt(w)
    for j, name in enumerate(names):
        raw = X[:, j] - X[:, j].mean()
        raw_norm = float(np.linalg.norm(raw if sw is None else raw * sw))
        d_norm = float(np.linalg.norm(Xd[:, j] if sw is None else Xd[:, j] * sw))
        if raw_norm == 0 or d_norm <= _ABSORBED_RTOL * raw_norm:
            what = "does not vary" if raw_norm == 0 else "is explained by the fixed effects"
            raise DesignError(
                f"'{name}' {what} (it is constant within units or within periods, or "
                "identical to treatment timing), so its effect cannot be separated from the "
                "unit and period effects. Remove it" + (" from controls." if j > 0 else ".")
            )
    if Xd.shape[1] < 2:
        return
    from scipy.linalg import qr

    Z = Xd if sw is None else Xd * sw[:, None]
    Z = Z / np.linalg.norm(Z, axis=0)
    _, R, piv = qr(Z, mode="economic", pivoting=True)
    diag = np.abs(np.diag(R))
    bad = diag < _COLLINEAR_RTOL * diag[0]
    if bad.any():
        culprits = [names[piv[i]] for i in np.flatnonzero(bad)]
        raise DesignError(
            f"collinear regressors: {', '.join(repr(c) for c in culprits)} "
            "can be written as a combination of the other regressors and the fixed effects "
            "(for example a control that duplicates another, or a dummy for every group). "
            "Drop one of them from controls."
        )


def _solve(Xd: np.ndarray, yd: np.ndarray, w: np.ndarray | None):
    Xw = Xd if w is None else Xd * w[:, None]
    XtX = Xw.T @ Xd
    bread = np.linalg.inv(XtX)
    beta = bread @ (Xw.T @ yd)
    return beta, bread


def fit_within(
    y: np.ndarray,
    X: np.ndarray,
    names: Sequence[str],
    factors: Sequence[np.ndarray],
    weights: np.ndarray | None = None,
    check: bool = True,
) -> WithinFit:
    """OLS / WLS of y on X with the given fixed effects absorbed."""
    absorber = Absorber(factors, weights=weights)
    Z = absorber.demean(np.column_stack([y, X]))
    yd, Xd = Z[:, 0], Z[:, 1:]
    if check:
        _check_rank(Xd, X, names, weights)
    beta, bread = _solve(Xd, yd, weights)
    resid = yd - Xd @ beta
    return WithinFit(
        beta=beta,
        names=list(names),
        Xd=Xd,
        resid=resid,
        bread=bread,
        weights=weights,
        absorber=absorber,
        n_obs=len(y),
    )


def fit_poisson(
    y: np.ndarray,
    X: np.ndarray,
    names: Sequence[str],
    factors: Sequence[np.ndarray],
    offset: np.ndarray | None = None,
    tol: float = 1e-10,
    maxiter: int = 200,
) -> WithinFit:
    """Poisson pseudo-maximum likelihood with absorbed fixed effects (iteratively reweighted
    least squares on weighted-demeaned working variables; Correia, Guimarães & Zylkin 2020,
    *Stata Journal* 20(1), the ``ppmlhdfe`` algorithm; Santos Silva & Tenreyro 2006).

    The caller must have removed fixed-effect groups whose outcomes are all zero (their
    effects diverge to −∞ and they carry no information on the slopes).
    """
    n = len(y)
    off = np.zeros(n) if offset is None else offset
    # ppmlhdfe's start: halfway between y and its mean keeps log(mu) finite at zeros
    mu = 0.5 * (y + y.mean())
    eta = np.log(mu)
    dev_old = np.inf
    checked = False
    n_iter = 0
    for n_iter in range(1, maxiter + 1):  # noqa: B007 - the count is reported after the loop
        z = eta - off + (y - mu) / mu
        absorber = Absorber(factors, weights=mu, tol=1e-12)
        Z = absorber.demean(np.column_stack([z, X]))
        zd, Xd = Z[:, 0], Z[:, 1:]
        if not checked:
            _check_rank(Xd, X, names, mu)
            checked = True
        beta, bread = _solve(Xd, zd, mu)
        resid = zd - Xd @ beta
        eta = z - resid + off
        mu = np.exp(eta)
        with np.errstate(divide="ignore", invalid="ignore"):
            ylog = np.where(y > 0, y * np.log(y / mu), 0.0)
        dev = float(2 * np.sum(ylog - (y - mu)))
        if abs(dev - dev_old) / (0.1 + abs(dev)) < tol:
            break
        dev_old = dev
    else:
        raise DesignError(
            f"Poisson estimation did not converge in {maxiter} iterations; the outcome may be "
            "separated (e.g. all zeros in the treated group after treatment)."
        )
    # bread and demeaned regressors at the solution (weights = final mu)
    absorber = Absorber(factors, weights=mu, tol=1e-12)
    Xd = absorber.demean(X).reshape(n, -1)
    bread = np.linalg.inv((Xd * mu[:, None]).T @ Xd)
    return WithinFit(
        beta=beta,
        names=list(names),
        Xd=Xd,
        resid=y - mu,
        bread=bread,
        weights=mu,
        absorber=absorber,
        n_obs=n,
        iterations=n_iter,
        deviance=dev,
        mu=mu,
    )


def cluster_vcov(
    fit: WithinFit, y: np.ndarray, cluster: np.ndarray, n_clusters: int
) -> tuple[np.ndarray, int]:
    """CR1 covariance of a fit and its t degrees of freedom (G − 1)."""
    ab = fit.absorber
    nested = [nested_in(f, g, cluster) for f, g in zip(ab.factors, ab.n_levels, strict=True)]
    k = cr1_dof(fit.n_obs, len(fit.beta), ab.n_levels, ab.df_absorbed, nested)
    scores = fit.scores(y)
    V = cr1_vcov(scores, fit.bread, cluster, n_clusters, fit.n_obs, k)
    return V, n_clusters - 1
