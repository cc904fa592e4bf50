"""Poisson two-way fixed effects for many treatment assignments at once.

Randomization inference for a count outcome re-estimates

    log E[y_it] = α_i + λ_t + β·D_a,it + o_it,      D_a,it = 1{t ≥ c_a,i},  o = log(exposure)

for every re-assignment a of the cohorts to the units (about 1,000) and, to invert the test,
for every candidate effect τ, on the untreated counts Y(0)(τ) = Y·exp(−τ·D). Refitting with
:func:`evaluation.core.linear.fit_poisson` costs milliseconds a fit; this module solves all
assignments together with array operations on an (assignments × units × periods) stack, with
the same all-zero rule (the caller removes all-zero units and periods first) and the same
estimate to rounding.

Three exact reductions make it cheap:

1. **Blocks of periods.** Where no assignment's treatment starts at period t + 1 and the
   exposure of every unit grows by the same factor from t to t + 1, periods t and t + 1 have
   the same treatment indicator under every assignment and exposures E_it = a_ib·c_t within the
   block b. The period effects of a block then enter the likelihood only through
   Σ_{t∈b} exp(λ_t)·c_t, so summing counts and exposures within blocks leaves β̂ unchanged
   (Poisson likelihoods with fixed effects are invariant to aggregating cells that share all
   but the aggregated effect). With constant populations and ten start dates, the district's
   48 months become at most 11 blocks.
2. **Profiling one factor in closed form.** Given the other parameters, the effects of one
   factor solve their score equations exactly, exp(α_i) = Σ_t y_it / Σ_t exp(λ_t + βD_it + o_it).
   Substituted back, the likelihood is a multinomial logit of each unit's counts over periods,
   p_it ∝ exp(λ_t + βD_it + o_it) (Hausman, Hall & Griliches 1984; Correia, Guimarães &
   Zylkin 2020, §2). The longer axis is profiled, so the remaining parameters are the shorter
   axis's effects and β.
3. **Newton on the rest.** The concentrated log-likelihood is concave with gradient
   Σ_it (y_it − R_i p_it)·x_it and Hessian −Σ_i R_i Cov_{p_i}(x) (R_i the unit's total), a
   dimension of at most 13 here, so one batched solve per iteration updates every assignment.
   It converges quadratically — 3 to 6 iterations, fewer from the previous τ's solution —
   where alternating the closed-form updates of both factors with a step on β (iterative
   proportional fitting) converges only linearly, slowly when the treatment is correlated with
   the period effects as in staggered adoption.

References
----------
Correia, S., Guimarães, P. & Zylkin, T. (2020). Fast Poisson estimation with high-dimensional
fixed effects. *Stata Journal* 20(1), 95–115. Hausman, J., Hall, B. H. & Griliches, Z. (1984).
Econometric models for count data with an application to the patents–R&D relationship.
*Econometrica* 52(4), 909–938.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PoissonTwfeBatch"]

# Newton stops for an assignment once no parameter moves by more than this (log scale): the
# error after a step of size s is of order s² (quadratic convergence), so about 1e-14 is left
# (the tests check the estimates against fit_poisson to 1e-8).
_STEP_TOL = 1e-7
# A Newton step is shortened to at most this (log scale) in any parameter: the Poisson
# likelihood is concave but exponential, and a full step from far away can overshoot.
_MAX_STEP = 2.0
_MAXITER = 100


class PoissonTwfeBatch:
    """The Poisson TWFE slope of one balanced unit × period panel under many assignments.

    Parameters
    ----------
    y
        (N, T) counts; every unit and every period must have a positive total (remove all-zero
        units and periods first, as the generic fit does).
    log_exposure
        (N, T) offset log(exposure), or None.
    observed
        (N,) observed first treated period of each unit, as a position 0..T (T: not treated in
        the sample); D(τ) adjusts the counts, Y(0)(τ) = Y·exp(−τ·D_observed).
    starts
        Every position at which some assignment may start a unit's treatment (default: those
        in ``observed``, which is all of them when assignments permute the observed cohorts).

    Notes
    -----
    :meth:`estimates` keeps the last solution and starts the next call with the same
    assignments from it; the estimates do not depend on the start beyond the convergence
    tolerance (the likelihood is strictly concave where β is identified).
    """

    def __init__(
        self,
        y: np.ndarray,
        log_exposure: np.ndarray | None,
        observed: np.ndarray,
        starts: np.ndarray | None = None,
    ):
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or (y < 0).any():
            raise ValueError("PoissonTwfeBatch: y must be an (N, T) array of non-negative counts")
        if (y.sum(axis=1) <= 0).any() or (y.sum(axis=0) <= 0).any():
            raise ValueError(
                "PoissonTwfeBatch: remove units and periods whose counts are all zero first"
            )
        N, T = y.shape
        logE = np.zeros((N, T)) if log_exposure is None else np.asarray(log_exposure, float)
        observed = np.asarray(observed, dtype=np.int64)
        starts = np.unique(observed if starts is None else np.asarray(starts, dtype=np.int64))
        self.N, self.T = N, T
        self._block_of, self._first = _blocks(logE, starts)
        n_blocks = len(self._first)
        # block sums of counts and of exposures (E scaled by its maximum: a constant absorbed
        # by the fixed effects, which keeps exp() away from overflow)
        E = np.exp(logE - logE.max())
        self._y = _block_sums(y, self._block_of, n_blocks)
        self._E = _block_sums(E, self._block_of, n_blocks)
        self._starts = set(starts.tolist())
        self._d_obs = self._indicator(observed[None, :])[0]
        self._cache: tuple | None = None

    @property
    def n_blocks(self) -> int:
        """Number of period blocks the panel was reduced to."""
        return len(self._first)

    def _indicator(self, starts: np.ndarray) -> np.ndarray:
        """(A, N, blocks) treatment indicator of start positions (A, N)."""
        # a start at T (never) maps past the last block; any other start opens a block
        block_start = np.searchsorted(self._first, starts, side="left")
        return (np.arange(self.n_blocks)[None, None, :] >= block_start[:, :, None]).astype(float)

    def estimates(self, starts: np.ndarray, tau: float = 0.0) -> np.ndarray:
        """β̂ under each assignment on the counts Y·exp(−τ·D_observed).

        Parameters
        ----------
        starts
            (A, N) first treated position of each unit under each assignment (T = never).
        tau
            The constant effect on the log scale removed from the observed treated counts.

        Returns
        -------
        numpy.ndarray
            (A,) estimates; NaN where β is not identified (the treatment is collinear with the
            fixed effects) or does not exist (no counts in the treated cells, or none outside).
        """
        starts = np.asarray(starts, dtype=np.int64)
        if starts.ndim != 2 or starts.shape[1] != self.N:
            raise ValueError(f"PoissonTwfeBatch: starts must be (A, {self.N}), got {starts.shape}")
        unknown = set(np.unique(starts).tolist()) - self._starts - {self.T}
        if unknown:
            raise ValueError(
                f"PoissonTwfeBatch: start positions {sorted(unknown)[:5]} were not declared in "
                "'starts'; the period blocks would not be exact"
            )
        if self._cache is None or not np.array_equal(self._cache[0], starts):
            D = self._indicator(starts)
            self._cache = (starts.copy(), D, _identified(D), {})
        _, D, identified, solved = self._cache
        y = self._y * np.exp(-tau * self._d_obs)  # Y(0)(τ); zeros stay zeros
        transpose = self.n_blocks > self.N  # profile the longer axis
        Dv = D.transpose(0, 2, 1) if transpose else D
        yv, Ev = (y.T, self._E.T) if transpose else (y, self._E)
        sd = Dv.reshape(len(Dv), -1) @ yv.ravel()
        # zero-count positivity does not depend on τ, so the same assignments enter every call
        sub = np.flatnonzero(identified & (sd > 0) & (sd < y.sum()))
        beta_hat = np.full(len(D), np.nan)
        if sub.size:
            b, th, ok = _newton(yv, Ev, Dv[sub], sd[sub], _predict(solved, tau))
            beta_hat[sub[ok]] = b[ok]
            solved[float(tau)] = (th, b)
        return beta_hat


def _predict(solved: dict, tau: float):
    """Starting values at τ from earlier solutions: the line through the two nearest."""
    if not solved:
        return None
    near = sorted(solved, key=lambda t: abs(t - tau))[:2]
    th1, b1 = solved[near[0]]
    if len(near) == 1:
        return th1, b1
    th2, b2 = solved[near[1]]
    w = (tau - near[0]) / (near[0] - near[1])
    return th1 + w * (th1 - th2), b1 + w * (b1 - b2)


def _blocks(logE: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Block index of each period and the first period of each block.

    A block ends before a period where some assignment may start treatment, or where the
    exposure of the units does not grow by one common factor (E_i,t+1 / E_it differs across
    units beyond rounding).
    """
    T = logE.shape[1]
    growth = np.diff(logE, axis=1)  # (N, T − 1)
    scale = 1e-12 * max(1.0, float(np.abs(logE).max()))
    uneven = np.ptp(growth, axis=0) > scale if T > 1 else np.zeros(0, bool)
    opens = np.zeros(T, dtype=bool)
    opens[0] = True
    opens[1:] |= uneven
    opens[starts[(starts > 0) & (starts < T)]] = True
    first = np.flatnonzero(opens)
    return np.cumsum(opens) - 1, first


def _block_sums(x: np.ndarray, block_of: np.ndarray, n_blocks: int) -> np.ndarray:
    out = np.zeros((x.shape[0], n_blocks))
    np.add.at(out.T, block_of, x.T)
    return out


def _identified(D: np.ndarray) -> np.ndarray:
    """Per assignment: the indicator is not a sum of a unit and a period pattern."""
    Dd = D - D.mean(axis=2, keepdims=True) - D.mean(axis=1, keepdims=True)
    Dd += D.mean(axis=(1, 2), keepdims=True)
    return (Dd**2).sum(axis=(1, 2)) > 1e-9


def _newton_steps(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Newton steps H⁻¹g for a stack of systems; NaN rows for systems that are not finite or
    that neither a solve nor least squares can handle (extreme effects in a test inversion)."""
    step = np.full(g.shape, np.nan)
    finite = np.isfinite(H).all(axis=(1, 2)) & np.isfinite(g).all(axis=1)
    if not finite.any():
        return step
    Hf, gf = H[finite], g[finite][:, :, None]
    try:
        step[finite] = np.linalg.solve(Hf, gf)[:, :, 0]
        return step
    except np.linalg.LinAlgError:  # a numerically singular assignment: row by row
        pass
    rows = np.flatnonzero(finite)
    for i, r in enumerate(rows):
        try:
            step[r] = np.linalg.lstsq(Hf[i], gf[i, :, 0], rcond=None)[0]
        except np.linalg.LinAlgError:
            continue
    return step


def _newton(y, E, D, sd, start):
    """Newton on the concentrated (multinomial) log-likelihood, every assignment at once.

    Shapes: y, E (M, L); D (A, M, L); ``sd`` (A,) = Σ D·y. The M row effects are profiled out;
    the L column effects (the first fixed at 0) and β are the Newton parameters. Returns
    (β, column effects, converged).
    """
    A, M, L = D.shape
    R = y.sum(axis=1)  # row totals (A-independent: only the indicator moves)
    K = y.sum(axis=0)
    sqrtR = np.sqrt(R)[None, :, None]
    # β = 0 and the column effects that fit the column totals with rows profiled
    share = E / E.sum(axis=1, keepdims=True)
    theta0 = np.log(K) - np.log(R @ share)
    theta0 = theta0 - theta0[0]
    if start is None:
        theta = np.broadcast_to(theta0, (A, L)).copy()
        beta = np.zeros(A)
    else:
        theta, beta = (np.array(v, dtype=float) for v in start)  # copies: updated in place
        lost = ~(np.isfinite(beta) & np.isfinite(theta).all(axis=1))
        theta[lost], beta[lost] = theta0, 0.0  # no usable start (a failed fit nearby)
    active = np.arange(A)
    done = np.zeros(A, dtype=bool)
    diag = np.arange(L)
    ones = np.ones(L)
    for _ in range(_MAXITER):
        th, b, d = theta[active], beta[active], D[active]
        G = E[None] * np.exp(th)[:, None, :]
        GD = G * d
        growth = np.exp(b)[:, None, None]
        # row sums by matrix-vector products: numpy's reductions over a short last axis are
        # several times slower
        S = G @ ones + (growth[:, :, 0] - 1) * (GD @ ones)  # row sums of the fit
        inv = 1.0 / S[:, :, None]
        P = (G + (growth - 1) * GD) * inv  # multinomial shares within each row
        PD = GD * (growth * inv)  # P·D
        q = PD @ ones  # (a, M): treated share of each row
        colW = R @ P  # (a, L): fitted column totals
        colWD = R @ PD
        colWq = np.matmul((R * q)[:, None, :], P)[:, 0, :]
        # H: minus the Hessian, Σ_m R_m Cov_{p_m}(x) for x = (column dummies 2..L, D), and g
        # the gradient Σ (y − R_m p_m)·x, both without the first column (fixed at 0)
        Ps = P * sqrtR
        H = np.empty((len(active), L, L))
        Hcc = -np.matmul(Ps.transpose(0, 2, 1), Ps)
        Hcc[:, diag, diag] += colW
        H[:, :-1, :-1] = Hcc[:, 1:, 1:]
        hcb = colWD - colWq
        H[:, :-1, -1] = hcb[:, 1:]
        H[:, -1, :-1] = hcb[:, 1:]
        H[:, -1, -1] = (q - q * q) @ R
        g = np.empty((len(active), L))
        g[:, :-1] = (K - colW)[:, 1:]
        g[:, -1] = sd[active] - colWD.sum(axis=1)
        step = _newton_steps(H, g)
        failed = ~np.isfinite(step).all(axis=1)  # an assignment the fit cannot handle
        if failed.any():
            beta[active[failed]] = np.nan  # reported as not fitted (ok False), never raised
            keep = ~failed
            active, step = active[keep], step[keep]
            if not active.size:
                break
        size = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, _MAX_STEP / np.maximum(size, 1e-300))[:, None]
        theta[active, 1:] += step[:, :-1]
        beta[active] += step[:, -1]
        finished = size < _STEP_TOL
        done[active[finished]] = True
        active = active[~finished]
        if not active.size:
            break
    ok = done & np.isfinite(beta)
    return beta, theta, ok
