"""Δ^SD(M), smoothness: the optimal fixed-length confidence interval (Armstrong & Kolesár 2018).

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", *Review of Economic
Studies* 90(5): under Δ^SD(M) the slope of the violation of parallel trends changes by at most
M per period. R's default method is the optimal fixed-length confidence interval (FLCI) of
Armstrong & Kolesár (2018), "Optimal Inference in a Class of Regression Models",
*Econometrica* 86(2): among affine estimators of θ, the one whose interval is shortest, its
half-length at standard deviation h and worst-case bias B being h times the 1 − α quantile of
the folded normal |N(B/h, 1)|. R solves the bias–variance problem with CVXR; here it is an ℓ1
minimisation over an ellipsoid (SLSQP) inside a bounded Brent search over h, as R's
``flci.R`` searches it. The quantile is, by default, R's simulated one (10⁶ draws of R's
stream, :mod:`.rdraws`), or exact on request.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize, special

from evaluation.inference.honest_did.rdraws import _r_normal_stream


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
