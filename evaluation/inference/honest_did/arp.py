"""The ARP conditional / hybrid test of E[y − X δ] ≤ 0 (Andrews, Roth & Pakes 2023).

Andrews, Roth & Pakes (2023), "Inference for Linear Conditional Moment Inequalities", *Review of
Economic Studies* 90(6): the test of moment inequalities with a nuisance parameter δ that
conditions on which inequality binds, alone (``"Conditional"``) or after a least-favourable
first stage (the ``"C-LF"`` hybrid that Rambachan & Roth 2023 recommend for relative
magnitudes), vectorised over a grid of θ.

R solves one linear programme per grid point and per simulation draw. Here the dual of the ARP
programme, max {λ'y : λ ≥ 0, σ'λ = 1, X'λ = 0}, has a feasible set that does not depend on y,
so its vertices are enumerated once and every test statistic, conditioning bound and
least-favourable draw is a matrix product. When there are too many candidate vertices
(``_MAX_BASES``) it falls back to linear programmes (scipy's HiGHS). The least-favourable
critical value is simulated from R's own stream (:mod:`.rdraws`).
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from evaluation.inference.honest_did.rdraws import _r_mvnorm_draws

# More candidate bases than this and the vertex enumeration would cost more than the LPs.
_MAX_BASES = 200_000


def _dual_vertices(X: np.ndarray, sd: np.ndarray) -> np.ndarray | None:
    """Vertices of {λ ≥ 0, σ'λ = 1, X'λ = 0}, one per row; ``None`` if too many to enumerate.

    η(y) = min_δ max_i (y_i − X_i δ)/σ_i equals max_λ λ'y over this polytope (LP duality), and
    the polytope does not depend on y. A vertex is a basic solution: with λ̃ = σ∘λ on the
    simplex and Q an orthonormal basis of col(X/σ), it solves [1, Q]_B' λ̃_B = e₁ for some set
    B of rank(Q) + 1 rows, with λ̃_B ≥ 0.
    """
    m = sd.size
    Xs = X / sd[:, None]
    rank = 0
    Q = np.zeros((m, 0))
    if Xs.shape[1]:
        U, sv, _ = np.linalg.svd(Xs, full_matrices=False)
        rank = int(np.sum(sv > sv[0] * 1e-10)) if sv.size and sv[0] > 0 else 0
        Q = U[:, :rank]
    p = rank + 1
    if p > m:
        return np.zeros((0, m))  # infeasible dual: η = −∞, nothing is ever rejected
    if math.comb(m, p) > _MAX_BASES:
        return None
    combos = _combinations(m, p)
    W = np.hstack([np.ones((m, 1)), Q])
    WB = np.transpose(W[combos], (0, 2, 1))  # (bases, p, p): W_B'
    ok = np.abs(np.linalg.det(WB)) > 1e-10
    if not np.any(ok):
        return np.zeros((0, m))
    rhs = np.zeros((int(ok.sum()), p, 1))
    rhs[:, 0, 0] = 1.0
    lam = np.linalg.solve(WB[ok], rhs)[:, :, 0]
    feasible = np.all(lam >= -1e-9, axis=1)
    lam = np.clip(lam[feasible], 0.0, None)
    V = np.zeros((lam.shape[0], m))
    np.put_along_axis(V, combos[ok][feasible], lam, axis=1)
    # A degenerate vertex can come from several bases; the copies tie in every max and drop
    # out of the conditioning bounds (1 − v'b = 0), so they are left in.
    return V / sd[None, :]


@functools.lru_cache(maxsize=64)
def _combinations(m: int, p: int) -> np.ndarray:
    out = np.array(list(itertools.combinations(range(m), p)), dtype=np.intp)
    out.flags.writeable = False
    return out


def _lp_vertex(y: np.ndarray, X: np.ndarray, sd: np.ndarray) -> tuple[float, np.ndarray]:
    """max {λ'y : λ ≥ 0, σ'λ = 1, X'λ = 0} by HiGHS; the simplex returns a vertex."""
    A_eq = np.vstack([sd[None, :], X.T])
    b_eq = np.zeros(A_eq.shape[0])
    b_eq[0] = 1.0
    res = optimize.linprog(-y, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs-ds")
    if res.status == 2:  # infeasible dual: η = −∞
        return -np.inf, np.zeros_like(y)
    return -float(res.fun), np.asarray(res.x)


def _tn_ppf(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quantile ``p`` of N(0, 1) truncated to [lo, hi], accurate far in the tails.

    Works in log-probabilities on the side of zero where the interval lies, as R's
    ``TruncatedNormal::norminvp`` does.
    """
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    upper = lo > 0
    # inf − inf at infinite ends is harmless here (honest_did runs under np.errstate).
    sl, su = special.log_ndtr(-lo), special.log_ndtr(-hi)
    log_sf = sl + np.log((1 - p) + p * np.exp(su - sl))
    cl, cu = special.log_ndtr(lo), special.log_ndtr(hi)
    log_cdf = cu + np.log(p + (1 - p) * np.exp(cl - cu))
    out = np.where(upper, -special.ndtri_exp(log_sf), special.ndtri_exp(log_cdf))
    return np.clip(out, lo, hi)


def _quantile7(x: np.ndarray, p: float) -> float:
    """R's ``quantile(x, p)`` (type 7), by partial sorting."""
    h = (x.size - 1) * p
    lo = int(math.floor(h))
    hi = min(lo + 1, x.size - 1)
    part = np.partition(x, [lo, hi])
    return float(part[lo] + (h - lo) * (part[hi] - part[lo]))


@dataclass
class _Moments:
    """Moment inequalities E[y0 − a θ − X δ] ≤ 0 with Var(y0) = sigma (the rows used by ARP)."""

    y0: np.ndarray
    a: np.ndarray
    X: np.ndarray
    sigma: np.ndarray
    nuisance: bool  # R caps v_up at the LF critical value only in the nuisance-parameter case


class _ArpTest:
    """The ARP test of one set of moments, vectorised over a grid of θ.

    ``hybrid="LF"`` is the conditional-least-favourable hybrid (first stage of size κ = α/10
    with a simulated least-favourable critical value, second stage of size (α−κ)/(1−κ)
    conditioning on having passed it); ``hybrid="ARP"`` is the plain conditional test.
    """

    def __init__(self, mom: _Moments, alpha: float, hybrid: str, n_sims: int, seed: int):
        self.mom = mom
        self.alpha = alpha
        self.hybrid = hybrid
        self.kappa = alpha / 10
        self.sd = np.sqrt(np.diag(mom.sigma))
        self.V = _dual_vertices(mom.X, self.sd)
        self.lf_cv = np.inf
        if hybrid == "LF":
            draws = _r_mvnorm_draws(mom.sigma, n_sims, seed)
            if self.V is not None:
                etas = (draws @ self.V.T).max(axis=1) if self.V.size else np.full(n_sims, -np.inf)
            else:
                etas = np.array([_lp_vertex(xi, mom.X, self.sd)[0] for xi in draws])
            self.lf_cv = _quantile7(etas, 1 - self.kappa)

    def accept(self, theta: np.ndarray) -> np.ndarray:
        if self.V is None:
            return self._accept_lp(theta)
        V, mom = self.V, self.mom
        if V.shape[0] == 0:
            return np.ones(theta.size, dtype=bool)
        Y = (V @ mom.y0)[:, None] - (V @ mom.a)[:, None] * theta[None, :]
        best = np.argmax(Y, axis=0)
        eta = Y[best, np.arange(theta.size)]
        C = V @ mom.sigma @ V.T
        var_b = C[best, best]
        vlo = np.full(theta.size, -np.inf)
        vup = np.full(theta.size, np.inf)
        # Points the least-favourable first stage rejects need no conditioning bounds.
        todo = np.flatnonzero(eta <= self.lf_cv)
        if todo.size:
            # γ = V[best] stays the maximising vertex iff η(1 − v'b) ≥ v'S for every vertex
            # v, with b = Σγ/γ'Σγ and S = y − bη: the exact conditioning bounds of ARP's dual
            # approach. (Divisions by 0 are masked; honest_did runs under np.errstate.)
            bt = best[todo]
            vb = C[:, bt] / var_b[todo][None, :]
            den = 1.0 - vb
            ratio = (Y[:, todo] - vb * eta[todo][None, :]) / den
            vlo[todo] = np.where(den > 1e-10, ratio, -np.inf).max(axis=0)
            vup[todo] = np.where(den < -1e-10, ratio, np.inf).min(axis=0)
        return self._decide(eta, var_b, vlo, vup)

    def _accept_lp(self, theta: np.ndarray) -> np.ndarray:
        mom, sd = self.mom, self.sd
        eta = np.empty(theta.size)
        var_b, vlo, vup = np.empty_like(eta), np.empty_like(eta), np.empty_like(eta)
        for i, t in enumerate(theta):
            y = mom.y0 - mom.a * t
            eta[i], gamma = _lp_vertex(y, mom.X, sd)
            var_b[i] = gamma @ mom.sigma @ gamma
            if not np.isfinite(eta[i]) or eta[i] > self.lf_cv or var_b[i] <= 0:
                vlo[i], vup[i] = -np.inf, np.inf
                continue
            b = mom.sigma @ gamma / var_b[i]
            S = y - b * eta[i]
            vlo[i], vup[i] = (self._lp_bound(S, b, eta[i], var_b[i], d) for d in (-1, 1))
        return self._decide(eta, var_b, vlo, vup)

    def _lp_bound(self, S: np.ndarray, b: np.ndarray, eta: float, var_b: float, side: int):
        """Largest (side=+1) or smallest (side=−1) c with max_λ λ'(S + b c) = c.

        R's shortcut: f(c) − c is convex and piecewise linear, so Newton steps through the
        active vertex reach the end of the flat stretch in finitely many steps.
        """
        start = side * max(100.0, abs(eta) + 20 * math.sqrt(var_b))
        c = start
        for _ in range(50):
            val, lam = _lp_vertex(S + b * c, self.mom.X, self.sd)
            if abs(val - c) <= 1e-9 * max(1.0, abs(c)):
                return side * np.inf if c == start else c
            slope = 1.0 - lam @ b
            if abs(slope) < 1e-14:
                break
            c = (lam @ S) / slope
        return c

    def _decide(self, eta, var_b, vlo, vup) -> np.ndarray:
        alpha, kappa = self.alpha, self.kappa
        if self.hybrid == "LF":
            first = eta > self.lf_cv
            size = (alpha - kappa) / (1 - kappa)
            if self.mom.nuisance:
                vup = np.minimum(vup, self.lf_cv)
        else:
            first = np.zeros(eta.size, dtype=bool)
            size = alpha
        degenerate = var_b < np.finfo(float).eps
        s_b = np.sqrt(np.where(degenerate, 1.0, var_b))
        stat, zlo, zup = eta / s_b, vlo / s_b, vup / s_b
        inside = (zlo <= stat) & (stat <= zup)
        cval = np.full(eta.size, np.inf)
        if np.any(inside):
            cval[inside] = np.maximum(0.0, _tn_ppf(1 - size, zlo[inside], zup[inside]))
        reject = first | (inside & (stat > cval))
        reject = np.where(degenerate, eta > 0, reject)
        return ~reject
