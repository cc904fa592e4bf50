r"""The cluster-level kernel of the wild bootstrap: t*, p-values and the interval.

:class:`_Kernel` maps blocks of weight vectors to five numbers per draw; from them
:func:`_pvalues` gives the symmetric bootstrap p-value at any null and :func:`_invert` the
confidence interval by test inversion with the same draws, as ``boottest`` (Roodman,
MacKinnon, Nielsen & Webb 2019, "Fast and wild", *Stata Journal* 19(1)) and
``fwildclusterboot`` do. The result equals re-running the full fixed-effect regression with
CR1 on every bootstrap sample of the wild cluster bootstrap of Cameron, Gelbach & Miller
(2008), including fixed effects that are not nested in the clusters.

Derivation of the fast algorithm
--------------------------------
Work in the weighted space: multiply every row by ``√w_i`` so that WLS is OLS. Let ``M`` be
the annihilator of the fixed effects and ``X̃ = M X`` (what :class:`evaluation.core.absorb.Absorber`
computes, by Frisch–Waugh–Lovell), ``A = X̃'X̃``, ``c = A⁻¹ e_j`` and ``z = X̃ c`` (an n-vector:
the "influence" direction of ``β_j``). OLS gives ``β̂`` and residuals ``û`` (the same as the
full dummy regression's). The restricted estimate is ``β̃ = β̂ − A⁻¹ e_j (β̂_j − r)/c_j``, so the
restricted residuals are affine in the null ``r``::

    ũ(r) = û + δ z,     δ = (β̂_j − r) / c_j.

The bootstrap sample is ``y* = X β̃ + D α̃ + ũ ∘ v`` with ``v_i = v_{g(i)}`` one weight per
cluster. Running the *full* fixed-effect regression on ``y*`` (``X̃' M = X̃'``, ``X̃'D = 0``)::

    β̂* − β̃ = A⁻¹ Σ_h v_h s_h,      s_h = X̃_h' ũ_h      (score of cluster h)

so the numerator of ``t*`` is ``Σ_h v_h C_h`` with ``C_h = c's_h = z_h'ũ_h``. The bootstrap
residuals are ``û* = M(ũ∘v) − X̃ A⁻¹ Σ_h v_h s_h`` and the projected score of cluster g is::

    c' X̃_g' û*_g = v_g C_g − Σ_h v_h (U_g · s_h) − [correction_g],
    U_g = (X̃_g' z_g)' A⁻¹,      correction_g = z_g' [P_D(ũ∘v)]_g     (P_D = I − M).

If every fixed effect is nested in the clusters, ``ũ∘v`` stays orthogonal to ``D`` and the
correction vanishes. If not (period effects with ward clusters), it does not, and dropping it
(bootstrapping the demeaned data, as some wrappers do) is *not* the fixed-effect regression on
the bootstrap sample. Split ``D = [D1 D2]`` into nested (D1) and non-nested (D2) effects. Because
``z`` and ``ũ`` are orthogonal to every dummy, their sums over a nested level vanish within each
cluster, and solving the normal equations of ``P_D`` blockwise leaves::

    correction_g = Σ_h v_h E_g' Λ a_h,    Λ = (D2' M_{D1} D2)⁺,
    E[:, g] = D2'(z ∘ 1_g),   a_h = D2'(ũ ∘ 1_h)      (sums per non-nested level and cluster)

(the pseudo-inverse is harmless: its null space is orthogonal to both ``E`` and ``a``). So the
whole G×G map ``H[g, h] = U_g·s_h + E_g'Λ a_h`` has rank at most ``k + F2`` (F2 = levels of
non-nested effects, e.g. the number of periods), and for a block of draws ``V`` (G × m)::

    Z(V) = C ∘ V − L (Rᵀ V),    L = [U, EᵀΛ],  R = [S, aᵀ]      (G × (k+F2) each)
    t*   = (Cᵀ V) / sqrt(ssc · Σ_g Z_g²)

costing ``O(G (k+F2))`` per draw instead of ``O(n)``; when ``k + F2 ≥ G/2`` the dense ``H`` is
used instead. Because ``C``, ``S`` and ``a`` are affine in ``δ`` (``ũ = û + δz``), each draw is
summarised by five numbers — the numerator ``a_b + δ b_b`` and the quadratic
``q0 + 2δ q1 + δ² q2`` of its squared CRVE — so the p-value at any null costs O(B) and the test
inversion for the confidence interval needs no new bootstrap. WCU uses ``û`` throughout, so
``t*`` does not depend on the null.

Memory is O(n·k) for the data and O(G·(k+F2)) for the pieces, plus one block of draws
(G × m, about 16 MB); time is O(n·k) once plus O(B·G·(k+F2)) for the draws.

When F2 is very large (clusters by period with unit effects), the correction is computed
directly instead: ``q_g = P_D(z ∘ 1_g)`` by one absorption per cluster, ``H2[g, h] = q_g,h' ũ_h``.
Both routes are checked against an explicit loop over draws that re-runs the dummy-variable
regression with CR1 on each bootstrap sample (``tests/test_wild_bootstrap.py``).
"""

from __future__ import annotations

import math

import numpy as np

from evaluation.core.absorb import Absorber
from evaluation.inference.wild.prepare import _Problem
from evaluation.inference.wild.weights import _Draws

# |t*| within this relative distance of |t| counts as a tie (the draws v = ±1 reproduce t
# exactly in theory, up to rounding in practice).
_TIE_RTOL = 1e-9
# Eigenvalues of D2'M D2 below this share of the largest are redundancies (null space).
_PINV_RTOL = 1e-10
# Above this many non-nested fixed-effect levels the correction is built cluster by cluster.
_MAX_FE_RANK = 3000


def _crosstab(a: np.ndarray, La: int, b: np.ndarray, Lb: int, w: np.ndarray | None):
    return np.bincount(a * Lb + b, weights=w, minlength=La * Lb).reshape(La, Lb)


class _Kernel:
    """Maps blocks of weight vectors V (G × m) to the five numbers per draw.

    For each draw: numerator ``a + δ b`` and squared CRVE sum ``q0 + 2δ q1 + δ² q2`` (before
    the small-sample factor), where δ = (β̂_j − r)/c_j (see the module docstring). With
    ``fold=δ`` the restricted residuals for that one null are built in, only ``a`` and ``q0``
    are computed, and ``restricted`` is False (t* no longer depends on the null).
    """

    def __init__(self, prob: _Problem, impose_null: bool, fold: float | None = None):
        self.prob = prob
        self.restricted = impose_null and fold is None
        G, g, Xt, z, u = prob.G, prob.g, prob.Xt, prob.z, prob.u_hat
        k = Xt.shape[1]

        def per_cluster(v):
            return np.bincount(g, weights=v, minlength=G)

        if impose_null and fold is not None:
            u = u + fold * z  # ũ(r) = û + δ z
        self._u = u
        self.C_u = per_cluster(z * u)
        self.C_z = per_cluster(z * z)
        S_u = np.column_stack([per_cluster(Xt[:, m] * u) for m in range(k)])
        S_z = np.column_stack([per_cluster(Xt[:, m] * z) for m in range(k)])
        U = S_z @ prob.A_inv  # U_g = (X̃_g' z_g)' A⁻¹

        non_nested = [i for i, nst in enumerate(prob.nested) if not nst]
        F2 = sum(prob.fe_levels[i] for i in non_nested)
        if F2 == 0:
            L_, Ru, Rz = U, S_u, S_z
            H2 = None
        elif F2 <= _MAX_FE_RANK:
            E, Au, Lam = self._fe_pieces(non_nested)
            EL = E.T @ Lam  # G × F2
            L_ = np.hstack([U, EL])
            Ru = np.hstack([S_u, Au.T])
            Rz = np.hstack([S_z, E.T])  # a_h for ũ = z is E itself
            H2 = None
        else:
            L_, Ru, Rz = U, S_u, S_z
            H2 = self._fe_correction_direct()
        rank = L_.shape[1]
        if H2 is not None or rank >= G / 2:
            self.dense = True
            self.H_u = L_ @ Ru.T
            self.H_z = L_ @ Rz.T
            if H2 is not None:
                self.H_u += H2[0]
                self.H_z += H2[1]
        else:
            self.dense = False
            self.L = np.ascontiguousarray(L_)
            self.RT = np.ascontiguousarray(np.vstack([Ru.T, Rz.T]))  # 2·rank × G
            self.rank = rank

    # -- fixed effects not nested in the clusters: low-rank correction
    def _fe_pieces(self, non_nested: list[int]):
        prob = self.prob
        G, g, sw = prob.G, prob.g, prob.sw
        z, u = prob.z, self._u
        zw = z if sw is None else z * sw
        uw = u if sw is None else u * sw
        E_blocks, A_blocks = [], []
        for i in non_nested:
            f, L = prob.fe_codes[i], prob.fe_levels[i]
            E_blocks.append(_crosstab(f, L, g, G, zw))
            A_blocks.append(_crosstab(f, L, g, G, uw))
        E = np.vstack(E_blocks)
        Au = np.vstack(A_blocks)
        M22 = self._fe_gram(non_nested)
        vals, vecs = np.linalg.eigh(M22)
        keep = vals > _PINV_RTOL * vals.max()
        Lam = (vecs[:, keep] / vals[keep]) @ vecs[:, keep].T
        return E, Au, Lam

    def _fe_gram(self, non_nested: list[int]) -> np.ndarray:
        """D2' M_{D1} D2 in the weighted space (D1 = nested effects, D2 = the others)."""
        prob = self.prob
        w = prob.weights
        codes, levels = prob.fe_codes, prob.fe_levels
        nested_idx = [i for i, nst in enumerate(prob.nested) if nst]
        offsets = np.cumsum([0] + [levels[i] for i in non_nested])
        F2 = int(offsets[-1])
        if len(nested_idx) <= 1:
            M = np.zeros((F2, F2))
            for a, ia in enumerate(non_nested):
                for b, ib in enumerate(non_nested):
                    if b < a:
                        continue
                    if ia == ib:
                        block = np.diag(np.bincount(codes[ia], weights=w, minlength=levels[ia]))
                    else:
                        block = _crosstab(codes[ia], levels[ia], codes[ib], levels[ib], w)
                    M[offsets[a] : offsets[a + 1], offsets[b] : offsets[b + 1]] = block
                    M[offsets[b] : offsets[b + 1], offsets[a] : offsets[a + 1]] = block.T
            if nested_idx:
                i1 = nested_idx[0]
                f1, L1 = codes[i1], levels[i1]
                w1 = np.bincount(f1, weights=w, minlength=L1)
                N = np.vstack([_crosstab(codes[i], levels[i], f1, L1, w) for i in non_nested])
                M -= (N / w1) @ N.T
            return M
        # Several nested effects (e.g. junction and ward in ward clusters): project the dummy
        # columns of D2 on D1 by alternating projections, a block of columns at a time.
        absorber = Absorber([codes[i] for i in nested_idx], weights=w)
        n = prob.n
        ww = np.ones(n) if w is None else w
        M = np.empty((F2, F2))
        col_of = []  # (factor, level) for each column of D2
        for i in non_nested:
            col_of += [(i, lvl) for lvl in range(levels[i])]
        step = max(1, (1 << 22) // max(n, 1))
        for s in range(0, F2, step):
            e = min(F2, s + step)
            dummies = np.empty((n, e - s))
            for c, (i, lvl) in enumerate(col_of[s:e]):
                dummies[:, c] = codes[i] == lvl
            proj = absorber.demean(dummies) * ww[:, None]
            for a, i in enumerate(non_nested):
                for c in range(e - s):
                    M[offsets[a] : offsets[a + 1], s + c] = np.bincount(
                        codes[i], weights=proj[:, c], minlength=levels[i]
                    )
        return (M + M.T) / 2

    # -- very many non-nested levels: build the G × G correction by one absorption per cluster
    def _fe_correction_direct(self):
        prob = self.prob
        G, g, sw = prob.G, prob.g, prob.sw
        absorber = Absorber(prob.fe_codes, weights=prob.weights)
        H2u = np.empty((G, G))
        H2z = np.empty((G, G))
        step = max(1, (1 << 22) // max(prob.n, 1))
        for s in range(0, G, step):
            e = min(G, s + step)
            block = np.zeros((prob.n, e - s))
            for c, cl in enumerate(range(s, e)):
                rows = g == cl
                block[rows, c] = prob.z[rows]
            # P_D x = x − √w · demean_w(x / √w) in the weighted space
            inner = block if sw is None else block / sw[:, None]
            resid = absorber.demean(inner)
            proj = block - (resid if sw is None else resid * sw[:, None])
            for c in range(e - s):
                H2u[s + c] = np.bincount(g, weights=proj[:, c] * self._u, minlength=G)
                H2z[s + c] = np.bincount(g, weights=proj[:, c] * prob.z, minlength=G)
        return H2u, H2z

    # -- the per-draw work
    def block(self, V: np.ndarray) -> np.ndarray:
        """Five statistics (rows: a, b, q0, q1, q2) for each column of V (G × m)."""
        m = V.shape[1]
        out = np.empty((5, m))
        out[0] = self.C_u @ V
        if self.dense:
            Zu = self.C_u[:, None] * V - self.H_u @ V
            Zz = self.C_z[:, None] * V - self.H_z @ V if self.restricted else None
        else:
            W = self.RT @ V  # (2·rank) × m
            r = self.rank
            if self.restricted:
                LW = self.L @ np.hstack([W[:r], W[r:]])
                Zu = self.C_u[:, None] * V - LW[:, :m]
                Zz = self.C_z[:, None] * V - LW[:, m:]
            else:
                Zu = self.C_u[:, None] * V - self.L @ W[:r]
                Zz = None
        out[2] = np.einsum("gm,gm->m", Zu, Zu)
        if Zz is None:
            out[1] = out[3] = out[4] = 0.0
        else:
            out[1] = self.C_z @ V
            out[3] = np.einsum("gm,gm->m", Zu, Zz)
            out[4] = np.einsum("gm,gm->m", Zz, Zz)
            # A constant draw v = c·1 rebuilds c·(original sample): Z_z is exactly zero and
            # t* = ±t at every null. Zero the rounding residue so that it stays a tie when the
            # interval search goes far out (there δ² q2 would magnify it).
            constant = np.all(V == V[:1], axis=0)
            out[3, constant] = 0.0
            out[4, constant] = 0.0
        return out

    def run(self, draws: _Draws) -> np.ndarray:
        stats = np.empty((5, draws.n))
        for start, V in draws.blocks():
            stats[:, start : start + V.shape[1]] = self.block(V)
        return stats

    def tstar(self, stats: np.ndarray, null: float) -> np.ndarray:
        """Bootstrap t-statistics at one null (for tests and diagnostics)."""
        prob = self.prob
        delta = (prob.beta_p - null) / prob.c_p if self.restricted else 0.0
        return _tstar(stats, prob.ssc, delta)


def _tstar(stats: np.ndarray, ssc: float, delta) -> np.ndarray:
    a, b, q0, q1, q2 = stats
    delta = np.asarray(delta, dtype=float)[..., None]
    num = a + delta * b
    var = ssc * np.maximum(q0 + 2 * delta * q1 + delta * delta * q2, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = num / np.sqrt(var)
    # 0/0 (a draw that leaves no variation) is no evidence either way
    return np.where(np.isnan(t), 0.0, t)


def _pvalues(stats: np.ndarray, prob: _Problem, nulls: np.ndarray, restricted: bool) -> np.ndarray:
    """Symmetric bootstrap p-values at several nulls, from the same draws."""
    t_obs = (prob.beta_p - nulls) / prob.se
    delta = (prob.beta_p - nulls) / prob.c_p if restricted else np.zeros_like(nulls)
    tb = np.abs(_tstar(stats, prob.ssc, delta))
    thresh = np.abs(t_obs)[:, None] * (1 - _TIE_RTOL)
    return (tb >= thresh).mean(axis=1)


def _invert(
    stats: np.ndarray, prob: _Problem, level: float, restricted: bool
) -> tuple[float, float]:
    """Confidence interval {r : p(r) ≥ 1 − level} by bracketing, a grid, then bisection.

    The acceptance region may in rare cases have holes; the interval returned is its outer
    hull (the outermost crossing on each side, located on a 128-point grid, then bisected).
    When the p-value stays at or above 1 − level out to ~10¹² standard errors (one treated
    cluster, or too few clusters to reject at all) that side is reported as infinite.
    """
    alpha = 1 - level
    est, se = prob.beta_p, prob.se

    def p(r):
        return _pvalues(stats, prob, np.atleast_1d(np.asarray(r, dtype=float)), restricted)

    bounds = []
    for side in (-1.0, 1.0):
        step = 2.0 * se
        outer = est + side * step
        # beyond ~2^40 standard errors the interval is reported as unbounded
        for _ in range(40):
            if p(outer)[0] < alpha:
                break
            step *= 2.0
            outer = est + side * step
        else:
            bounds.append(side * math.inf)
            continue
        grid = est + side * np.linspace(0.0, step, 129)
        pg = p(grid)
        inside = np.nonzero(pg >= alpha)[0]
        i = int(inside[-1])  # outermost accepted grid point; i + 1 is rejected
        lo, hi = grid[i], grid[i + 1]  # lo accepted, hi rejected
        for _ in range(100):
            mid = 0.5 * (lo + hi)
            if mid in (lo, hi) or abs(hi - lo) <= 1e-12 * max(abs(est), se):
                break
            if p(mid)[0] >= alpha:
                lo = mid
            else:
                hi = mid
        bounds.append(0.5 * (lo + hi))
    return bounds[0], bounds[1]
