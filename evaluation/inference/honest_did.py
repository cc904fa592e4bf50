"""Sensitivity of event-study conclusions to violations of parallel trends (HonestDiD).

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", *Review of Economic
Studies* 90(5), replace the assumption that post-treatment trends would have been parallel by a
set Δ of allowed violations δ, and report confidence intervals for θ = l'τ_post that are valid
for every δ ∈ Δ. This module computes them as R's ``HonestDiD`` package does:

* ``restriction="relative_magnitude"`` — Δ^RM(M̄): every post-period change in the violation is
  at most M̄ times the largest pre-period change. R's default method ``"C-LF"`` is the
  conditional-least-favourable hybrid test of Andrews, Roth & Pakes (2023), "Inference for
  Linear Conditional Moment Inequalities", *Review of Economic Studies* 90(6), inverted over a
  grid of θ (``"Conditional"``, the test without the least-favourable first stage, is also here).
* ``restriction="smoothness"`` — Δ^SD(M): the slope of the violation changes by at most M per
  period. R's default ``"FLCI"`` is the optimal fixed-length confidence interval of Armstrong &
  Kolesár (2018), "Optimal Inference in a Class of Regression Models", *Econometrica* 86(2).

Differences from R, all deliberate:

* R solves one linear programme per grid point and per simulation draw. Here the dual of the
  ARP programme, max {λ'y : λ ≥ 0, σ'λ = 1, X'λ = 0}, has a feasible set that does not depend
  on y, so its vertices are enumerated once and every test statistic, conditioning bound and
  least-favourable draw is a matrix product (exact, not a bisection to 1e-6 as in R). When
  there are too many candidate vertices (Δ^RM with more than ten post periods) it falls back
  to linear programmes (scipy's HiGHS), which is slow but gives the same answer.
* The least-favourable critical value is simulated, as in R, from 1,000 normal draws after
  ``set.seed(seed)``. The draws here are R's own stream (Mersenne-Twister seeded as R seeds it,
  normals by inversion, ``mvtnorm::rmvnorm``'s symmetric square root), so C-LF intervals
  agree with R's to the θ-grid step rather than to simulation noise.
* The FLCI's quantile of the folded normal is, by default, R's simulated one (10⁶ draws of
  R's stream; its simulation error is about 1e-3 of the half-length), or exact on request.
  R solves the bias–variance problem with CVXR; here it is an ℓ1 minimisation over an
  ellipsoid (SLSQP) inside a bounded Brent search over the standard deviation h, as R's
  ``flci.R`` searches it.
"""

from __future__ import annotations

import functools
import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, special

from evaluation.errors import DataError

__all__ = ["HonestDiDResult", "honest_did", "sensitivity"]

Restriction = Literal["relative_magnitude", "smoothness"]

_METHODS = {"relative_magnitude": ("C-LF", "Conditional"), "smoothness": ("FLCI",)}
_SYMBOL = {"relative_magnitude": "M̄", "smoothness": "M"}
# More candidate bases than this and the vertex enumeration would cost more than the LPs.
_MAX_BASES = 200_000


# --------------------------------------------------------------------------------------------
# R's random numbers, so that simulated critical values match R's HonestDiD draw for draw
# --------------------------------------------------------------------------------------------


_R_STREAMS: dict[int, np.ndarray] = {}


def _r_normals(n: int, seed: int) -> np.ndarray:
    """The first ``n`` values of R's ``set.seed(seed); rnorm(n)`` (default RNG kinds).

    R seeds its Mersenne-Twister by 50 rounds of the LCG ``69069 s + 1`` and then fills the 624
    state words with the same LCG (the first word is overwritten by the position, 624); normals
    are drawn by inversion from two uniforms (``BIG = 2^27``), as in R's ``norm_rand``. R
    re-seeds before every simulation, so each one reads the start of the same stream: it is
    kept per seed (read-only) and extended when a longer prefix is needed.
    """
    stream = _R_STREAMS.get(seed)
    if stream is None or stream.size < n:
        stream = _R_STREAMS[seed] = _r_normal_stream(max(n, 16_384), seed)
        stream.flags.writeable = False
    return stream[:n]


def _r_normal_stream(n: int, seed: int) -> np.ndarray:
    s = seed & 0xFFFFFFFF
    for _ in range(50):
        s = (69069 * s + 1) & 0xFFFFFFFF
    key = np.empty(625, dtype=np.uint32)
    for j in range(625):
        s = (69069 * s + 1) & 0xFFFFFFFF
        key[j] = s
    bitgen = np.random.MT19937()
    bitgen.state = {"bit_generator": "MT19937", "state": {"key": key[1:], "pos": 624}}
    u = bitgen.random_raw(2 * n).astype(np.float64) * 2.3283064365386963e-10
    half = 0.5 * 2.328306437080797e-10  # R's fixup keeps uniforms inside (0, 1)
    u = np.where(u <= 0.0, half, np.where(1.0 - u <= 0.0, 1.0 - half, u))
    big = 134217728.0
    return special.ndtri((np.floor(big * u[0::2]) + u[1::2]) / big)


def _r_mvnorm_draws(sigma: np.ndarray, n_sims: int, seed: int) -> np.ndarray:
    """``set.seed(seed); mvtnorm::rmvnorm(n_sims, sigma = sigma)`` (method "eigen")."""
    p = sigma.shape[0]
    vals, vecs = np.linalg.eigh(sigma)
    root = (vecs * np.sqrt(np.clip(vals, 0.0, None))) @ vecs.T  # symmetric: sign-free
    z = _r_normals(n_sims * p, seed).reshape(n_sims, p)  # rmvnorm fills by row
    return z @ root


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _as_count(value: Any, name: str, minimum: int, why: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise DataError(f"{name} must be an integer ≥ {minimum} ({why}); got {value!r}")
    return int(value)


def _check_inputs(
    betahat: Any,
    sigma: Any,
    num_pre_periods: Any,
    num_post_periods: Any,
    restriction: str,
    l_vec: Any,
    level: Any,
) -> tuple[np.ndarray, np.ndarray, int, int, np.ndarray]:
    if restriction not in _METHODS:
        raise DataError(
            f"restriction must be 'relative_magnitude' or 'smoothness'; got {restriction!r}"
        )
    pre = _as_count(
        num_pre_periods,
        "num_pre_periods",
        1,
        "both restrictions are built from pre-period coefficients; R's HonestDiD needs ≥ 2 "
        "pre-periods only for the Δ^SDRM bounds and the default M grid under smoothness",
    )
    post = _as_count(num_post_periods, "num_post_periods", 1, "θ is a post-period effect")
    n = pre + post
    try:
        b = np.asarray(betahat, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"betahat must be a vector of numbers: {exc}") from None
    if b.ndim != 1 or b.size != n:
        raise DataError(
            f"betahat must be a vector of num_pre_periods + num_post_periods = {n} "
            f"coefficients (reference period removed); got shape {b.shape}"
        )
    if not np.all(np.isfinite(b)):
        raise DataError(
            "betahat has non-finite entries at positions "
            f"{np.flatnonzero(~np.isfinite(b)).tolist()}"
        )
    try:
        S = np.asarray(sigma, dtype=float)
    except (TypeError, ValueError) as exc:
        raise DataError(f"sigma must be a numeric matrix: {exc}") from None
    if S.ndim != 2 or S.shape[0] != S.shape[1]:
        raise DataError(f"sigma must be a square matrix; got shape {S.shape}")
    if S.shape[0] != n:
        raise DataError(
            f"sigma is {S.shape[0]}×{S.shape[1]} but betahat has {n} entries; they must match"
        )
    if not np.all(np.isfinite(S)):
        raise DataError("sigma has non-finite entries (NaN or inf)")
    scale = max(float(np.max(np.abs(S))), np.finfo(float).tiny)
    asym = float(np.max(np.abs(S - S.T)))
    if asym > 1e-8 * scale:
        raise DataError(
            f"sigma must be symmetric; largest |sigma - sigma'| is {asym:.3g} "
            f"(largest entry {scale:.3g})"
        )
    S = (S + S.T) / 2
    min_eig = float(np.linalg.eigvalsh(S)[0])
    if min_eig < -1e-8 * scale:
        raise DataError(
            f"sigma must be positive semi-definite; its smallest eigenvalue is {min_eig:.3g}"
        )
    if np.any(np.diag(S)[pre:] <= 0):
        raise DataError("sigma has a zero variance for a post-period coefficient")
    if l_vec is None:
        lv = np.zeros(post)
        lv[0] = 1.0  # R's default: the first post period
    else:
        lv = np.asarray(l_vec, dtype=float).ravel()
        if lv.size != post or not np.all(np.isfinite(lv)) or not np.any(lv != 0):
            raise DataError(
                f"l_vec must be {post} finite weights on the post periods, not all zero; "
                f"got {np.asarray(l_vec).tolist()}"
            )
    if isinstance(level, bool) or not isinstance(level, int | float) or not 0 < level < 1:
        raise DataError(f"level must be a number strictly between 0 and 1; got {level!r}")
    return b, S, pre, post, lv


def _check_m(M: Any, restriction: str) -> np.ndarray:
    name = "M" + (" (M̄)" if restriction == "relative_magnitude" else "")
    try:
        m = np.atleast_1d(np.asarray(M, dtype=float)).ravel()
    except (TypeError, ValueError):
        raise DataError(f"{name} must be a number or a sequence of numbers; got {M!r}") from None
    if m.size == 0:
        raise DataError(f"{name} is empty; give at least one value")
    if not np.all(np.isfinite(m)):
        raise DataError(f"{name} must be finite; got {m.tolist()}")
    if np.any(m < 0):
        raise DataError(f"{name} must be non-negative; got negative values {m[m < 0].tolist()}")
    return m


# --------------------------------------------------------------------------------------------
# The ARP conditional / hybrid test of E[y - X δ] ≤ 0 (Andrews, Roth & Pakes 2023)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# Δ^RM(M̄): relative magnitudes, conditional / hybrid test inversion
# --------------------------------------------------------------------------------------------


def _gamma_inverse(l_vec: np.ndarray) -> np.ndarray:
    """Inverse of an invertible Γ whose first row is l' (θ = l'τ becomes the first coordinate).

    R completes l by the unit vectors that reduced row echelon form picks; any completion gives
    the same test, because the nuisance δ ranges over the whole null space of l'.
    """
    rows = [l_vec]
    for j in range(l_vec.size):
        e = np.zeros(l_vec.size)
        e[j] = 1.0
        if np.linalg.matrix_rank(np.vstack([*rows, e])) == len(rows) + 1:
            rows.append(e)
        if len(rows) == l_vec.size:
            break
    return np.linalg.inv(np.vstack(rows))


def _rm_constraints(pre: int, post: int, mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """A with δ ∈ Δ^RM_{s,±}(M̄) ⇔ A δ ≤ 0 (R's ``.create_A_RM``), δ without the t = 0 column.

    The largest pre-period change is taken to be the one between s − 1 and s, with sign ±;
    every pre-period change is bounded by it and every post-period change by M̄ times it.
    """
    n = pre + post
    first_diff = np.zeros((n, n + 1))
    first_diff[np.arange(n), np.arange(n)] = -1.0
    first_diff[np.arange(n), np.arange(n) + 1] = 1.0
    v = np.zeros(n + 1)
    v[pre + s - 1], v[pre + s] = -1.0, 1.0
    if not max_positive:
        v = -v
    bound = np.vstack([np.tile(v, (pre, 1)), np.tile(mbar * v, (post, 1))])
    A = np.vstack([first_diff - bound, -first_diff - bound])
    A = A[np.sum(A * A, axis=1) > 1e-10]
    return np.delete(A, pre, axis=1)


def _rm_accept(
    betahat: np.ndarray,
    sigma: np.ndarray,
    pre: int,
    post: int,
    l_vec: np.ndarray,
    mbar: float,
    theta: np.ndarray,
    alpha: float,
    hybrid: str,
    n_sims: int,
    seed: int,
) -> tuple[np.ndarray, bool]:
    """Acceptance of each θ in the grid: the union over the location s and sign of the max."""
    gamma_inv = _gamma_inverse(l_vec)
    accept = np.zeros(theta.size, dtype=bool)
    used_lp = False
    for s in range(-(pre - 1), 1):
        for positive in (True, False):
            A = _rm_constraints(pre, post, mbar, s, positive)
            # R's postPeriodMomentsOnly: moments that involve only pre-period coefficients
            # carry no information about θ beyond what the others do.
            rows = np.any(A[:, pre:] != 0, axis=1) if post > 1 else A[:, -1] != 0
            A = A[rows]
            AG = A[:, pre:] @ gamma_inv
            mom = _Moments(
                y0=A @ betahat,
                a=AG[:, 0],
                X=AG[:, 1:],
                sigma=A @ sigma @ A.T,
                nuisance=post > 1,
            )
            test = _ArpTest(mom, alpha, hybrid, n_sims, seed)
            used_lp |= test.V is None
            accept |= test.accept(theta)
    return accept, used_lp


# --------------------------------------------------------------------------------------------
# Δ^SD(M): the optimal fixed-length confidence interval (Armstrong & Kolesár 2018)
# --------------------------------------------------------------------------------------------


def _folded_normal_quantile(p: float, mu: float) -> float:
    """Quantile p of |N(mu, 1)|, exactly."""
    mu = abs(mu)
    upper = mu + float(special.ndtri((1 + p) / 2))
    if mu == 0:
        return upper

    def excess(c: float) -> float:
        return special.ndtr(c - mu) - special.ndtr(-c - mu) - p

    # P(|X| ≤ c) − p is ≤ 0 at mu + z_p and ≥ 0 at mu + z_{(1+p)/2}; far out the left
    # tail is below rounding, and mu + z_p is the answer.
    lower = mu + float(special.ndtri(p))
    if excess(lower) >= 0:
        return lower
    return float(optimize.brentq(excess, lower, upper, xtol=1e-15))


_R_FOLDED_DRAWS: dict[int, np.ndarray] = {}


def _r_folded_normal_quantile(p: float, mu: float, seed: int) -> float:
    """R's ``.qfoldednormal``: ``quantile(abs(rnorm(1e6) + mu), p)`` after ``set.seed(seed)``.

    R redraws and sorts 10⁶ normals at every call; here they are drawn once and sorted, and
    the order statistics of |z + mu| are selected from the two sorted runs z ≥ −mu and z < −mu
    in O(log n), so reproducing R's simulation error costs microseconds.
    """
    z = _R_FOLDED_DRAWS.get(seed)
    if z is None:
        z = _R_FOLDED_DRAWS[seed] = np.sort(_r_normal_stream(10**6, seed))
    n = z.size
    split = int(np.searchsorted(z, -mu, side="left"))  # z[split:] + mu ≥ 0 ascending

    def kth(k: int) -> float:
        """k-th smallest (0-based) of {z_i + mu : i ≥ split} ∪ {−z_i − mu : i < split}."""
        n_a, n_b = n - split, split
        lo, hi = max(0, k + 1 - n_b), min(k + 1, n_a)
        while lo < hi:  # i = how many of the k + 1 smallest come from the first run
            i = (lo + hi) // 2
            if z[split + i] + mu < -(z[split - (k + 1 - i)] + mu):
                lo = i + 1
            else:
                hi = i
        i = lo
        a = z[split + i - 1] + mu if i > 0 else -np.inf
        b = -(z[split - (k + 1 - i)] + mu) if k + 1 - i > 0 else -np.inf
        return float(max(a, b))

    index = (n - 1) * p  # R's type-7 quantile
    k = int(math.floor(index))
    frac = index - k
    q = kth(k)
    return q if frac == 0 else (1 - frac) * q + frac * kth(k + 1)


class _Flci:
    """Affine estimators l_pre'β_pre + l'β_post of θ and their worst-case bias over Δ^SD(M).

    In R's parametrisation the pre-period weights are second differences of cumulative weights
    u (u_K = Σ_t t·l_t, so that linear trends cancel); the worst-case bias per unit of M is
    ``const + |u_K| + Σ_{i<K} |u_i|``. The variance is a quadratic in the free u_1..u_{K−1},
    minimised at u*, so {var ≤ h²} is an ellipsoid around u* and the smallest bias at standard
    deviation h is an ℓ1 minimisation over that ellipsoid.
    """

    def __init__(self, sigma: np.ndarray, pre: int, post: int, l_vec: np.ndarray, seed: int | None):
        # seed=None: exact folded-normal quantile; an int: R's simulated one with that seed.
        self.seed = seed
        t = np.arange(1, post + 1)
        self.s = float(t @ l_vec)
        self.const = (
            sum(abs(float(np.arange(1, j + 1) @ l_vec[post - j :])) for j in range(1, post + 1))
            - self.s
        )
        diff = np.eye(pre) - np.eye(pre, k=-1)
        G = diff @ diff  # cumulative weights u → pre-period weights l_pre
        self.G = G
        self.P, self.g0 = G[:, : pre - 1], G[:, pre - 1] * self.s
        S_pre, c = sigma[:pre, :pre], sigma[:pre, pre:] @ l_vec
        c0 = float(l_vec @ sigma[pre:, pre:] @ l_vec)
        H = self.P.T @ S_pre @ self.P
        g = self.P.T @ (S_pre @ self.g0 + c)
        self.var0 = float(self.g0 @ S_pre @ self.g0 + 2 * self.g0 @ c + c0)  # at u_free = 0
        self.H = H
        self.u_star = -np.linalg.lstsq(H, g, rcond=None)[0] if pre > 1 else np.zeros(0)
        self.var_min = max(self.var0 + float(g @ self.u_star), 0.0)
        self.h_min, self.h0 = math.sqrt(self.var_min), math.sqrt(max(self.var0, self.var_min))
        self._cache: dict[float, tuple[float, np.ndarray]] = {}

    def bias(self, u_free: np.ndarray) -> float:
        return self.const + abs(self.s) + float(np.abs(u_free).sum())

    def min_l1(self, h: float) -> tuple[float, np.ndarray]:
        """Smallest worst-case bias per unit M among estimators with standard deviation ≤ h."""
        if h in self._cache:
            return self._cache[h]
        k = self.u_star.size
        radius2 = h * h - self.var_min
        if k == 0 or radius2 <= 1e-14 * self.var0:
            u = self.u_star.copy()
        elif h >= self.h0:
            u = np.zeros(k)
        else:
            # min 1'(p + n) s.t. (p − n − u*)'(H/ρ)(p − n − u*) ≤ 1, p, n ≥ 0 (split ℓ1 norm).
            Hn = self.H / radius2
            c = self.u_star

            def gap(x: np.ndarray) -> float:
                d = x[:k] - x[k:] - c
                return 1.0 - float(d @ Hn @ d)

            def gap_grad(x: np.ndarray) -> np.ndarray:
                gd = -2.0 * (Hn @ (x[:k] - x[k:] - c))
                return np.concatenate([gd, -gd])

            # Start from the solution at the nearest h solved so far (the search over h moves
            # in small steps), else from the ellipsoid point on the segment from u* to 0.
            if self._cache:
                start = self._cache[min(self._cache, key=lambda g: abs(g - h))][1]
            else:
                q = float(c @ self.H @ c)
                start = c * (1.0 - min(1.0, math.sqrt(radius2 / q)) if q > 0 else 0.0)
            x0 = np.concatenate([np.clip(start, 0, None), np.clip(-start, 0, None)])
            res = optimize.minimize(
                lambda x: float(x.sum()),
                x0,
                jac=lambda x: np.ones_like(x),
                method="SLSQP",
                bounds=[(0.0, None)] * (2 * k),
                constraints=[{"type": "ineq", "fun": gap, "jac": gap_grad}],
                options={"ftol": 1e-13, "maxiter": 500},
            )
            u = res.x[:k] - res.x[k:]
            d = u - c
            excess = float(d @ self.H @ d) / radius2
            if excess > 1.0:  # pull back onto the ellipsoid
                u = c + d / math.sqrt(excess)
        out = (self.bias(u), u)
        self._cache[h] = out
        return out

    def half_length(self, h: float, M: float, alpha: float) -> float:
        b, _ = self.min_l1(h)
        if self.seed is None:
            return h * _folded_normal_quantile(1 - alpha, M * b / h)
        return h * _r_folded_normal_quantile(1 - alpha, M * b / h, self.seed)

    def solve(self, M: float, alpha: float) -> tuple[np.ndarray, float]:
        """Optimal pre-period weights and half-length of the FLCI at M."""
        if M == 0 or self.u_star.size == 0 or self.h0 - self.h_min <= 1e-12 * self.h0:
            h = self.h_min if M == 0 or self.u_star.size == 0 else self.h0
            if self.u_star.size == 0:
                h = self.h0
        else:
            # The half-length is convex in h (R bisects its numerical derivative); Brent's
            # bounded search, then the end points, which are optimal for M small or large.
            res = optimize.minimize_scalar(
                lambda h: self.half_length(h, M, alpha),
                bounds=(self.h_min, self.h0),
                method="bounded",
                options={"xatol": 1e-8 * self.h0},
            )
            candidates = [(float(res.fun), float(res.x))] + [
                (self.half_length(h, M, alpha), h) for h in (self.h_min, self.h0)
            ]
            h = min(candidates)[1]
        _, u = self.min_l1(h)
        u_full = np.append(u, self.s)
        return self.G @ u_full, self.half_length(h, M, alpha)


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass
class HonestDiDResult:
    """Robust confidence intervals for θ = l'τ_post under bounded violations of parallel trends.

    ``table`` has one row per value of M (M̄ for relative magnitudes) with columns ``M``,
    ``ci_low``, ``ci_high``, ``method``. ``original_ci`` is the conventional interval
    θ̂ ± z·se, valid only under exact parallel trends. ``breakdown`` is the smallest M at which
    the robust interval includes 0 (``None`` if none does), found as ``breakdown_method`` says:
    ``"grid"`` (among the M given) or ``"bisection"``.
    """

    table: pd.DataFrame
    restriction: str
    method: str
    estimate: float
    se: float
    original_ci: tuple[float, float]
    level: float
    l_vec: np.ndarray
    num_pre_periods: int
    num_post_periods: int
    breakdown: float | None
    breakdown_method: str
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return _SYMBOL[self.restriction]

    @property
    def summary(self) -> str:
        """One plain-language sentence: how much violation the sign of θ survives."""
        lo, hi = self.original_ci
        pct = f"{self.level:.0%}"
        if lo <= 0 <= hi:
            return (
                f"The original {pct} confidence interval for θ already includes 0, so there is "
                "no conclusion about the sign of θ for violations of parallel trends to overturn."
            )
        claim = f"The conclusion that {'θ > 0' if lo > 0 else 'θ < 0'}"
        sym = self.symbol

        def up_to(value: str) -> str:
            if self.restriction == "relative_magnitude":
                return (
                    f"violations of parallel trends up to {sym} {value} times the largest "
                    "pre-period violation"
                )
            return (
                f"departures from a linear pre-trend whose slope changes by up to "
                f"{sym} {value} per period"
            )

        robust = f"({pct} robust intervals)"
        t = self.table.sort_values("M")
        if self.breakdown is None:
            top = f"= {float(t.M.max()):g}"
            return f"{claim} survives {up_to(top)}, the largest value examined {robust}."
        if self.breakdown_method == "bisection":
            value = f"≈ {self.breakdown:.3g}"
            return (
                f"{claim} survives {up_to(value)} (breakdown value found by bisection; "
                f"{pct} robust intervals)."
            )
        covers = (t.ci_low <= 0) & (t.ci_high >= 0)
        below = t.M[~covers & (t.M < self.breakdown)]
        if below.empty:
            return (
                f"{claim} does not survive even {sym} = {self.breakdown:g}, the smallest "
                f"value examined {robust}."
            )
        value = f"= {float(below.max()):g}"
        return f"{claim} survives {up_to(value)}, but not {sym} = {self.breakdown:g} {robust}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (floats, lists and strings only)."""

        def num(x: Any) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "restriction": self.restriction,
            "method": self.method,
            "estimate": num(self.estimate),
            "se": num(self.se),
            "original_ci": [num(self.original_ci[0]), num(self.original_ci[1])],
            "level": float(self.level),
            "l_vec": [float(v) for v in self.l_vec],
            "num_pre_periods": self.num_pre_periods,
            "num_post_periods": self.num_post_periods,
            "table": [
                {
                    "M": num(r.M),
                    "ci_low": num(r.ci_low),
                    "ci_high": num(r.ci_high),
                    "method": r.method,
                }
                for r in self.table.itertuples()
            ],
            "breakdown": num(self.breakdown),
            "breakdown_method": self.breakdown_method,
            "summary": self.summary,
            "warnings": list(self.warnings),
            "details": {k: v for k, v in self.details.items() if isinstance(v, int | float | str)},
        }

    def plot(self, ax=None):
        """Original and robust intervals against M, like HonestDiD's ``createSensitivityPlot``.

        The original interval is drawn one M-step to the left of the smallest M. Returns the
        matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.6))
        t = self.table.sort_values("M")
        m = t.M.to_numpy(dtype=float)
        gap = float(np.min(np.diff(np.unique(m)))) if np.unique(m).size > 1 else max(m[0], 1.0) / 2
        x0 = float(m.min()) - gap
        width = gap / 4
        for x, lo, hi, color, label in [
            (x0, *self.original_ci, "#c0392b", "Original"),
            *[
                (x, lo, hi, "#01a2d9", self.method)
                for x, lo, hi in zip(m, t.ci_low, t.ci_high, strict=True)
            ],
        ]:
            if not (np.isfinite(lo) and np.isfinite(hi)):
                continue
            ax.vlines(x, lo, hi, color=color, lw=1.6, label=label)
            ax.hlines([lo, hi], x - width, x + width, color=color, lw=1.6)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(
            unique.values(),
            unique.keys(),
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18),
            ncol=2,
        )
        # The original interval assumes exact parallel trends: its tick says so, not M = x0.
        ticks = [x0, *np.unique(m)]
        ax.set_xticks(ticks, ["original", *(f"{v:g}" for v in np.unique(m))])
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel(self.symbol)
        ax.set_ylabel(f"{self.level:.0%} confidence interval for θ")
        ax.set_title(self.summary, fontsize=8, wrap=True)
        return ax


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def _default_m(restriction: str, b: np.ndarray, S: np.ndarray, pre: int) -> np.ndarray:
    """R's defaults: 10 values of M̄ on [0, 2]; for M, 10 values up to an upper bound on the
    largest pre-period second difference (``DeltaSD_upperBound_Mpre``, needs ≥ 2 pre-periods;
    with one pre-period R uses its standard error instead)."""
    if restriction == "relative_magnitude":
        return np.linspace(0, 2, 10)
    if pre == 1:
        return np.linspace(0, math.sqrt(S[0, 0]), 10)
    second = np.zeros((pre - 1, pre + 1))
    for r in range(pre - 1):
        second[r, r : r + 3] = (1.0, -2.0, 1.0)
    second = second[:, :pre]  # the reference period's coefficient is 0
    est = second @ b[:pre]
    se = np.sqrt(np.diag(second @ S[:pre, :pre] @ second.T))
    return np.linspace(0, float(np.max(est + special.ndtri(0.95) * se)), 10)


def honest_did(
    betahat: Sequence[float] | np.ndarray,
    sigma: Sequence[Sequence[float]] | np.ndarray,
    num_pre_periods: int,
    num_post_periods: int,
    *,
    restriction: Restriction = "relative_magnitude",
    M: float | Sequence[float] | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float = 0.95,
    method: str | None = None,
    grid_points: int = 1000,
    grid_bounds: tuple[float, float] | None = None,
    breakdown: Literal["grid", "bisection"] = "grid",
    seed: int = 0,
    n_sims: int = 1000,
    flci_quantile: Literal["simulated", "exact"] = "simulated",
) -> HonestDiDResult:
    """Robust confidence intervals for θ = l'τ_post as M (or M̄) varies (Rambachan & Roth 2023).

    Parameters
    ----------
    betahat, sigma
        Event-study coefficients with the reference period removed — pre-periods first, each
        block ordered by event time — and their covariance, as R's
        ``createSensitivityResults(_relativeMagnitudes)`` take them.
    num_pre_periods, num_post_periods
        How many of ``betahat`` are pre- and post-period coefficients (at least 1 each).
    restriction
        ``"relative_magnitude"`` for Δ^RM(M̄) or ``"smoothness"`` for Δ^SD(M).
    M
        A value or a sequence of values of M̄ (relative magnitudes) or M (smoothness, in the
        units of ``betahat`` per period²). Default as in R: 10 values of M̄ on [0, 2]; for M,
        10 values from 0 to a 95% upper bound on the largest pre-period second difference.
    l_vec
        Weights on the post-period effects defining θ; default the first post period, as in R.
        ``np.full(T, 1 / T)`` is the average effect.
    level
        Confidence level (R's ``1 - alpha``).
    method
        ``"C-LF"`` (default) or ``"Conditional"`` for relative magnitudes; ``"FLCI"`` for
        smoothness — R's defaults and the methods Rambachan & Roth recommend for each.
    grid_points, grid_bounds
        The θ-grid over which the relative-magnitudes test is inverted; R's defaults are 1,000
        points on [−20·se(θ̂), 20·se(θ̂)]. Endpoints are accurate to one grid step.
    breakdown
        How the breakdown value is found: ``"grid"`` (smallest M given whose interval includes
        0) or ``"bisection"`` (bisects between the values given, or beyond the largest).
    seed, n_sims
        R's ``seed`` and number of draws for the least-favourable critical value (C-LF).
    flci_quantile
        ``"simulated"`` (default) takes the FLCI's folded-normal quantile from R's 10⁶ draws
        after ``set.seed(seed)``, reproducing R's interval; ``"exact"`` computes it exactly
        (the two differ by about 1e-3 of the half-length).

    Returns
    -------
    HonestDiDResult

    Raises
    ------
    DataError
        For inputs of the wrong shape, a ``sigma`` that is not symmetric positive
        semi-definite, negative M, a ``level`` outside (0, 1) or an unknown method.

    References
    ----------
    Rambachan, A. & Roth, J. (2023). A More Credible Approach to Parallel Trends. *Review of
    Economic Studies* 90(5), 2555–2591.
    Andrews, I., Roth, J. & Pakes, A. (2023). Inference for Linear Conditional Moment
    Inequalities. *Review of Economic Studies* 90(6), 2763–2791.
    Armstrong, T. B. & Kolesár, M. (2018). Optimal Inference in a Class of Regression Models.
    *Econometrica* 86(2), 655–683.
    """
    b, S, pre, post, lv = _check_inputs(
        betahat, sigma, num_pre_periods, num_post_periods, restriction, l_vec, level
    )
    allowed = _METHODS[restriction]
    method = allowed[0] if method is None else method
    if method not in allowed:
        raise DataError(
            f"method {method!r} is not available for restriction={restriction!r}; use one of "
            f"{', '.join(repr(m) for m in allowed)}"
        )
    if breakdown not in ("grid", "bisection"):
        raise DataError(f"breakdown must be 'grid' or 'bisection'; got {breakdown!r}")
    grid_points = _as_count(grid_points, "grid_points", 2, "the θ-grid needs two ends")
    n_sims = _as_count(n_sims, "n_sims", 10, "the least-favourable quantile is simulated")
    Ms = _default_m(restriction, b, S, pre) if M is None else _check_m(M, restriction)
    alpha = 1.0 - float(level)

    estimate = float(lv @ b[pre:])
    se = math.sqrt(float(lv @ S[pre:, pre:] @ lv))
    z = float(special.ndtri(1 - alpha / 2))
    original = (estimate - z * se, estimate + z * se)
    notes: list[str] = []
    details: dict[str, Any] = {}

    if restriction == "relative_magnitude":
        if grid_bounds is None:
            lo_g, hi_g = -20 * se, 20 * se  # R: the identified set under parallel trends ± 20 se
        else:
            lo_g, hi_g = (float(v) for v in grid_bounds)
            if not lo_g < hi_g:
                raise DataError(
                    f"grid_bounds must be (low, high) with low < high; got {grid_bounds!r}"
                )
        theta = np.linspace(lo_g, hi_g, grid_points)
        hybrid = "LF" if method == "C-LF" else "ARP"
        details.update(grid_low=lo_g, grid_high=hi_g, grid_step=(hi_g - lo_g) / (grid_points - 1))

        def interval(m: float) -> tuple[float, float]:
            acc, used_lp = _rm_accept(b, S, pre, post, lv, m, theta, alpha, hybrid, n_sims, seed)
            if used_lp and "lp" not in details:
                details["lp"] = "linear programmes (too many dual vertices to enumerate)"
            if not acc.any():
                notes.append(f"M̄ = {m:g}: no θ on the grid is accepted (empty interval)")
                return np.nan, np.nan
            if acc[0] or acc[-1]:
                notes.append(
                    f"M̄ = {m:g}: the interval reaches the end of the θ-grid "
                    f"[{lo_g:.4g}, {hi_g:.4g}]; widen grid_bounds for its true length"
                )
            return float(theta[acc].min()), float(theta[acc].max())

    else:
        if flci_quantile not in ("simulated", "exact"):
            raise DataError(f"flci_quantile must be 'simulated' or 'exact'; got {flci_quantile!r}")
        flci = _Flci(S, pre, post, lv, seed if flci_quantile == "simulated" else None)
        details["flci_quantile"] = flci_quantile

        def interval(m: float) -> tuple[float, float]:
            weights, half = flci.solve(m, alpha)
            centre = float(weights @ b[:pre] + lv @ b[pre:])
            return centre - half, centre + half

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        rows = [(float(m), *interval(float(m)), method) for m in Ms]
        table = pd.DataFrame(rows, columns=["M", "ci_low", "ci_high", "method"])
        bd = _breakdown(table, interval, breakdown, original)

    return HonestDiDResult(
        table=table,
        restriction=restriction,
        method=method,
        estimate=estimate,
        se=se,
        original_ci=original,
        level=float(level),
        l_vec=lv,
        num_pre_periods=pre,
        num_post_periods=post,
        breakdown=bd,
        breakdown_method=breakdown,
        warnings=notes,
        details=details,
    )


def _includes_zero(lo: float, hi: float) -> bool:
    return bool(np.isfinite(lo) and np.isfinite(hi) and lo <= 0 <= hi)


def _breakdown(table: pd.DataFrame, interval, how: str, original: tuple[float, float]):
    """Smallest M whose robust interval includes 0, on the grid given or by bisection.

    Bisection assumes, as the theory gives for nested Δ(M), that once the interval includes 0
    it keeps including it as M grows.
    """
    if _includes_zero(*original):
        return 0.0
    t = table.sort_values("M")
    hits = [_includes_zero(lo, hi) for lo, hi in zip(t.ci_low, t.ci_high, strict=True)]
    ms = t.M.to_numpy(dtype=float)
    first = next((i for i, h in enumerate(hits) if h), None)
    if how == "grid":
        return None if first is None else float(ms[first])
    if first is None:  # look beyond the largest M given, doubling it
        low = float(ms[-1])
        high = max(low, 1e-3) * 2
        for _ in range(8):
            if _includes_zero(*interval(high)):
                break
            low, high = high, high * 2
        else:
            return None
    else:
        high = float(ms[first])
        low = float(ms[first - 1]) if first > 0 else 0.0
        if first == 0 and _includes_zero(*interval(0.0)):
            return 0.0
    for _ in range(30):
        if high - low <= 1e-4 * high:
            break
        mid = (low + high) / 2
        if _includes_zero(*interval(mid)):
            high = mid
        else:
            low = mid
    return high


def sensitivity(
    result: Any,
    *,
    restriction: Restriction = "relative_magnitude",
    M: float | Sequence[float] | None = None,
    l_vec: Sequence[float] | np.ndarray | None = None,
    level: float | None = None,
    post: Literal["average", "first"] = "average",
    **kwargs: Any,
) -> HonestDiDResult:
    """HonestDiD sensitivity analysis of an event study (``EventStudy`` or dynamic ``att_gt``).

    ``result`` needs ``coefs`` (a DataFrame with ``rel_time`` and ``estimate``) and ``vcov``
    (a DataFrame indexed and columned by ``rel_time`` without the reference period); its
    ``reference`` (default −1) splits them into pre- and post-periods, which must be
    consecutive event times on each side of it. θ is the average post-period effect
    (``post="average"``) or the first (``post="first"``, R's default), unless ``l_vec`` is
    given. ``level`` defaults to the result's own. Other keywords go to :func:`honest_did`.
    """
    coefs = getattr(result, "coefs", None)
    vcov = getattr(result, "vcov", None)
    if not isinstance(coefs, pd.DataFrame) or not {"rel_time", "estimate"} <= set(coefs.columns):
        raise DataError("result.coefs must be a DataFrame with columns 'rel_time' and 'estimate'")
    if not isinstance(vcov, pd.DataFrame) or vcov.empty:
        raise DataError(
            "result.vcov must be a DataFrame indexed and columned by rel_time (reference period "
            "absent); this result has none — estimate the event study with a covariance"
        )
    if post not in ("average", "first"):
        raise DataError(f"post must be 'average' or 'first'; got {post!r}")
    ref = int(getattr(result, "reference", -1))
    times = [int(t) for t in vcov.index]
    if ref in times:
        raise DataError(f"result.vcov contains the reference period rel_time = {ref}; drop it")
    est = coefs.drop_duplicates("rel_time").set_index("rel_time")["estimate"]
    missing = [t for t in times if t not in est.index]
    if missing:
        raise DataError(f"result.coefs has no estimate for rel_time {missing} that vcov covers")
    times.sort()
    pre_t = [t for t in times if t < ref]
    post_t = [t for t in times if t > ref]
    if pre_t != list(range(ref - len(pre_t), ref)) or post_t != list(
        range(ref + 1, ref + 1 + len(post_t))
    ):
        raise DataError(
            "HonestDiD needs consecutive event times on each side of the reference period "
            f"{ref}; got pre-periods {pre_t} and post-periods {post_t}"
        )
    order = pre_t + post_t
    b = est.loc[order].to_numpy(dtype=float)
    S = vcov.loc[order, order].to_numpy(dtype=float)
    if l_vec is None and post_t:
        l_vec = np.full(len(post_t), 1 / len(post_t)) if post == "average" else None
    lvl = float(getattr(result, "level", 0.95)) if level is None else level
    out = honest_did(
        b,
        S,
        len(pre_t),
        len(post_t),
        restriction=restriction,
        M=M,
        l_vec=l_vec,
        level=lvl,
        **kwargs,
    )
    out.details.update(pre_periods=str(pre_t), post_periods=str(post_t), reference=ref)
    return out
