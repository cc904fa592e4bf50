"""The Poisson extended TWFE for many cohort assignments at once (randomization inference).

Wooldridge's (2023) Poisson ETWFE gives every treated cohort × period cell c = (g, t), t ≥ g,
its own effect τ_c on top of unit and period effects:

    log E[y_it] = α_i + λ_t + Σ_c τ_c·1{(i, t) ∈ c} + log(exposure_it).

Each τ_c's score equation says the cell's fitted total equals its observed total, so τ_c has a
closed form given the rest, exp(τ_c) = Y_c / Σ_{i∈c} exp(α_i + λ_t + o_it). Substituted back,
the likelihood of (α, λ) is the Poisson likelihood of the *untreated* cells plus, for each
treated cell, the multinomial likelihood of how its total splits over the cohort's units, with
shares ∝ exp(α_i + o_it) — λ_t cancels there (the same profiling as Hausman, Hall & Griliches
1984). This module maximises that concave function by Newton's method over (α, λ), N + T − 1
parameters, for a stack of assignments at once, and returns the statistic the estimator
reports: the log ratio of observed to untreated counts over the chosen treated cells,

    θ = log( Σ_c Y_c / Σ_c Σ_{i∈c} μ⁰_it ),     μ⁰ = exp(α_i + λ_t + o_it).

A period whose untreated units have no count has λ_t = −∞: its treated cells' μ⁰ is 0 and their
counts stay in the numerator (as in :func:`evaluation.estimators.etwfe.fit_etwfe`).

A treated cell without a single count has τ_c = −∞ (no finite maximum; fixest and ppmlhdfe drop
such separated rows): its multinomial term is constant, so the profiled likelihood needs no
special case, and its untreated prediction still enters the ratio's denominator — the limit of
the full model's fit.

References
----------
Wooldridge, J. M. (2023). Simple approaches to nonlinear difference-in-differences with panel
data. *Econometrics Journal* 26(3), C31–C66. Hausman, J., Hall, B. H. & Griliches, Z. (1984).
*Econometrica* 52(4), 909–938.
"""

from __future__ import annotations

import numpy as np

__all__ = ["EtwfeBatch"]

# Newton stops for an assignment once no parameter moves by more than this (log scale); the
# convergence is quadratic, so the error left is of order 1e-14 (tests compare with the full
# fit of evaluation.core.linear.fit_poisson to 1e-8).
_STEP_TOL = 1e-8
# A Newton step is shortened to at most this in any parameter (log scale).
_MAX_STEP = 2.0
_MAXITER = 100
# Assignments solved together: (block × (N + T)²) Hessians stay a few tens of megabytes.
_BLOCK = 500


class EtwfeBatch:
    """The Poisson ETWFE statistic of one balanced unit × period panel under many assignments.

    Parameters
    ----------
    y
        (N, T) counts; every unit and every period must have a positive total.
    log_exposure
        (N, T) offset, or None.
    observed
        (N,) observed first treated position of each unit (T: untreated in the sample); the
        null hypotheses remove τ from the counts of the cells it marks.
    events
        Optional (lo, hi): the statistic covers only treated cells with event time
        t − g in lo … hi (periods since the start); default every treated cell.
    periods
        Optional (T,) position of each column on the caller's full time grid (columns of
        all-zero periods removed), against which event times are counted; default 0 … T − 1.
    """

    def __init__(self, y, log_exposure, observed, events=None, periods=None):
        y = np.asarray(y, dtype=float)
        if y.ndim != 2 or (y < 0).any():
            raise ValueError("EtwfeBatch: y must be an (N, T) array of non-negative counts")
        if (y.sum(axis=1) <= 0).any() or (y.sum(axis=0) <= 0).any():
            raise ValueError("EtwfeBatch: remove units and periods whose counts are all zero")
        self.N, self.T = y.shape
        self.y = y
        logE = np.zeros(y.shape) if log_exposure is None else np.asarray(log_exposure, float)
        self.E = np.exp(logE - logE.max())  # a constant factor is absorbed by the effects
        self.observed = np.asarray(observed, dtype=np.int64)
        self.events = events
        self.periods = np.arange(self.T) if periods is None else np.asarray(periods)
        # solutions at the τ already solved for the last assignments: the next τ starts from
        # the nearest (a test inversion walks τ in small steps; Newton then needs 2–3 steps)
        self._warm: tuple[bytes, dict] = (b"", {})

    def _treated(self, starts: np.ndarray) -> np.ndarray:
        return np.arange(self.T)[None, None, :] >= starts[:, :, None]

    def estimates(
        self, starts: np.ndarray, tau: float = 0.0, event_starts: np.ndarray | None = None
    ) -> np.ndarray:
        """θ under each assignment on the counts Y·exp(−τ·D_observed).

        ``starts`` is (A, N): each unit's first treated position under each assignment (T for
        none); ``event_starts`` the same starts on the full grid of ``periods`` (default
        ``starts``), from which event times are counted. Returns (A,) statistics; NaN where
        the model has no finite fit.
        """
        starts = np.asarray(starts, dtype=np.int64)
        if starts.ndim != 2 or starts.shape[1] != self.N:
            raise ValueError(f"EtwfeBatch: starts must be (A, {self.N}), got {starts.shape}")
        d_obs = self._treated(self.observed[None, :])[0]
        y = self.y * np.exp(-tau * d_obs)
        if event_starts is None:
            event_starts = self.periods[np.minimum(starts, self.T - 1)]
        event_starts = np.asarray(event_starts)
        key = starts.tobytes() + np.asarray(event_starts).tobytes()
        if self._warm[0] != key:
            self._warm = (key, {})
        solved = self._warm[1]
        near = min(solved, key=lambda t: abs(t - tau)) if solved else None
        out = np.full(len(starts), np.nan)
        alpha_all, lam_all = np.zeros((len(starts), self.N)), np.zeros((len(starts), self.T))
        for lo in range(0, len(starts), _BLOCK):
            block = slice(lo, lo + _BLOCK)
            start = None if near is None else (solved[near][0][block], solved[near][1][block])
            out[block], alpha_all[block], lam_all[block] = self._solve(
                y, starts[block], event_starts[block], start
            )
        solved[float(tau)] = (alpha_all, lam_all)
        return out

    def _solve(self, y, starts, event_starts, start=None):
        A, N, T = len(starts), self.N, self.T
        E = self.E
        D = self._treated(starts)  # (A, N, T) treated cells
        U = ~D
        same = starts[:, :, None] == starts[:, None, :]  # (A, N, N) same cohort
        # a cohort without a single count before its start has no level to compare with (its
        # effects are +∞ against a rate of zero): its units leave the model, as in the fit
        pre = np.matmul(same.astype(float), (y[None] * U).sum(axis=2)[:, :, None])[:, :, 0]
        out = (pre <= 0) & (starts < T)
        D &= ~out[:, :, None]
        U &= ~out[:, :, None]
        # a period whose untreated units have no count has λ_t = −∞: it leaves the fit, and
        # its treated cells enter the statistic with their counts against an expected 0 (the
        # limit of the full model, as in the fit — not left out, which would select periods
        # on the comparison's outcome)
        blank = (y[None] * U).sum(axis=1) <= 0  # (A, T)
        Dblank = D & blank[:, None, :]
        D &= ~blank[:, None, :]
        U &= ~blank[:, None, :]
        # a unit left without a count (all of them in blank periods) has α = −∞ and adds
        # nothing to either side of the ratio: it leaves too
        empty = (y[None] * (D | U)).sum(axis=2) <= 0
        out |= empty
        D &= ~empty[:, :, None]
        U &= ~empty[:, :, None]
        Dblank &= ~empty[:, :, None]
        Df = D.astype(float)
        # cell totals seen from each unit: Y_c of the cell (i, t) belongs to
        yD = y[None] * Df
        Ycell = np.matmul(same.astype(float), yD) * Df
        # start: every unit's rate over all its cells (each unit has a count somewhere), the
        # periods' from their untreated totals
        yu = y[None] * U
        alpha = np.broadcast_to(np.log(y.sum(axis=1) / E.sum(axis=1)), (A, N)).copy()
        alpha[out] = 0.0
        fitted = (np.exp(alpha)[:, :, None] * E[None] * U).sum(axis=1)
        lam = np.log(np.maximum(yu.sum(axis=1), 1e-300) / np.maximum(fitted, 1e-300))
        lam[blank] = 0.0
        lam -= lam[:, :1]
        if start is not None:  # a nearby τ's solution, where it is one
            good = np.isfinite(start[0]).all(axis=1) & np.isfinite(start[1]).all(axis=1)
            alpha[good], lam[good] = start[0][good], start[1][good]
        active = np.arange(A)
        done = np.zeros(A, dtype=bool)
        failed = np.zeros(A, dtype=bool)
        sameF = same.astype(float)
        for _ in range(_MAXITER):
            a, l_ = alpha[active], lam[active]
            Ua, Da, Sa, Ya = U[active], Df[active], sameF[active], Ycell[active]
            mu = np.exp(a[:, :, None] + l_[:, None, :]) * E[None]
            mu_u = mu * Ua
            r = yu[active] - mu_u  # untreated residuals
            w = np.exp(a)[:, :, None] * E[None] * Da  # treated weights ∝ shares
            W = np.matmul(Sa, w)
            s = np.divide(w, W, out=np.zeros_like(w), where=W > 0)
            g_alpha = r.sum(axis=2) + (yD[active] - Ya * s).sum(axis=2)
            g_lam = r.sum(axis=1)[:, 1:]
            # minus the Hessian is [[H_αα, H_αλ], [H_λα, diag(h_λ)]]: the period block is
            # diagonal, so the step solves the N × N Schur complement and back-substitutes
            idx = np.arange(N)
            Haa = -np.matmul(Ya * s, s.transpose(0, 2, 1)) * Sa
            Haa[:, idx, idx] += mu_u.sum(axis=2) + (Ya * s).sum(axis=2) + out[active]
            Hal = mu_u[:, :, 1:]  # (a, N, T − 1), λ_0 = 0
            h_l = mu_u.sum(axis=1)[:, 1:] + blank[active, 1:]
            step = _schur_steps(Haa, Hal, h_l, g_alpha, g_lam)
            bad = ~np.isfinite(step).all(axis=1)
            if bad.any():
                failed[active[bad]] = True
                keep = ~bad
                active, step = active[keep], step[keep]
                if not active.size:
                    break
            size = np.abs(step).max(axis=1)
            step *= np.minimum(1.0, _MAX_STEP / np.maximum(size, 1e-300))[:, None]
            alpha[active] += step[:, :N]
            lam[active, 1:] += step[:, N:]
            finished = size < _STEP_TOL
            done[active[finished]] = True
            active = active[~finished]
            if not active.size:
                break
        mu0 = np.exp(alpha[:, :, None] + lam[:, None, :]) * E[None]
        cover, cover_blank = Df, Dblank.astype(float)
        if self.events is not None:
            e = self.periods[None, None, :] - event_starts[:, :, None]
            window = (e >= self.events[0]) & (e <= self.events[1])
            cover, cover_blank = cover * window, cover_blank * window
        num = (y[None] * (cover + cover_blank)).sum(axis=(1, 2))
        den = (mu0 * cover).sum(axis=(1, 2))
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = np.log(num / den)
        ok = done & ~failed & np.isfinite(alpha).all(axis=1) & (den > 0)
        return np.where(ok, theta, np.nan), alpha, lam


def _schur_steps(Haa, Hal, h_l, g_a, g_l) -> np.ndarray:
    """Newton steps for the (α, λ) system with a diagonal λ block, stacked as (α, λ)."""
    inv = 1.0 / h_l
    S = Haa - np.matmul(Hal * inv[:, None, :], Hal.transpose(0, 2, 1))
    rhs = g_a - np.matmul(Hal, (g_l * inv)[:, :, None])[:, :, 0]
    d_a = _solve_steps(S, rhs)
    d_l = (g_l - np.matmul(d_a[:, None, :], Hal)[:, 0, :]) * inv
    return np.concatenate([d_a, d_l], axis=1)


def _solve_steps(H: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Newton steps H⁻¹g for a stack of systems; NaN rows where a system cannot be solved."""
    step = np.full(g.shape, np.nan)
    finite = np.isfinite(H).all(axis=(1, 2)) & np.isfinite(g).all(axis=1)
    if not finite.any():
        return step
    try:
        step[finite] = np.linalg.solve(H[finite], g[finite][:, :, None])[:, :, 0]
        return step
    except np.linalg.LinAlgError:
        pass
    for r in np.flatnonzero(finite):
        try:
            step[r] = np.linalg.solve(H[r], g[r])
        except np.linalg.LinAlgError:
            continue
    return step
