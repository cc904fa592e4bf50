"""Batched tests: the analysis's p-value in many simulated replications, at any effect, at once.

The design stage (:mod:`evaluation.design.power`) simulates R replications of a planned design
— each a re-drawn assignment of the planned cohorts with an effect δ added to its treated cells
— and needs, for every δ it tries, whether the analysis's test rejects in each. Running the
estimator and :func:`evaluation.inference.engine.infer` R times per δ would take hours; for the
tests here the estimator is linear in the outcome (or the effect moves the test statistic
linearly), so every replication's p-value at every δ follows from a few arrays computed once,
the *linear pieces*. The design stage builds them with the estimators' hooks and hands them
over; this module turns them into p-values with the rules of the methods the engine runs, taken
from where they are defined, so that a simulated p-value equals the one the estimator reports
on the replication's data:

* :func:`randomization_test` — randomization inference (:mod:`.randomization`): the same
  re-assignments for the same seed (:func:`~.randomization.reassignments`), the same tie rule
  (:func:`~.randomization.extreme_threshold`), the same smallest p-value;
* :func:`conformal_did_test` — the conformal test of one treated unit with the DiD
  counterfactual (:mod:`.conformal`): its moving-block shifts
  (:func:`~.conformal.permutation_index`), its residuals (:func:`~.conformal.did_residuals`),
  its choice of statistic (:func:`~.conformal.choose_statistic`) and tie rule
  (:func:`~.conformal.extreme_threshold`);
* :func:`cluster_t_test` — cluster-robust t with G − 1 degrees of freedom
  (:func:`evaluation.core.cluster.t_pvalue`, as :func:`~evaluation.core.cluster.t_inference`);
* :func:`influence_test` — the normal test with influence-function standard errors
  (``engine.StandardError`` without degrees of freedom): estimate and influence function are
  both linear in the outcome, so the variance is a quadratic in δ.

Each returns a :class:`BatchedTest`: ``pvalues(δ, rows)`` for the replications ``rows`` (all by
default), ``reject(δ, rows)`` — p < α, as the workbench's verdicts read a p-value
(:mod:`evaluation.report.policy`) — ``spread()``, a rough standard error of the estimate (the
scale an effect search starts from), and ``min_pvalue``, the smallest p-value the test can
give (NaN when it has none).

Like the engine, this module never imports an estimator: the estimator-specific parts arrive as
arrays, or as the estimator's own function (the unit contributions of
:func:`randomization_test`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from evaluation.core.cluster import t_pvalue
from evaluation.inference import conformal, randomization
from evaluation.inference.conformal import choose_statistic, did_residuals, permutation_index

__all__ = [
    "BatchedTest",
    "ClusterT",
    "LinearTest",
    "MeanAbsConformal",
    "MixedConformal",
    "InfluenceT",
    "cluster_t_test",
    "conformal_did_test",
    "influence_test",
    "randomization_test",
    "unit_sums",
]

#: elements per block of the vectorised statistics (keeps memory near 100 MB at most)
_BLOCK = 2_000_000
#: up to this many units the randomization statistics are one matrix product (cost N² per
#: pair of replication and re-assignment, in BLAS); beyond it, look-ups (cost N)
_MATMUL_UNITS = 40


# --------------------------------------------------------------------------------------------
# The tests


class BatchedTest:
    """The analysis's test in ``n`` replications: ``pvalues(δ, rows)`` is defined by each
    test; a replication rejects when its p-value is below ``alpha``."""

    n: int
    alpha: float
    min_pvalue: float = math.nan

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def reject(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        """Which replications (``rows``, all by default) reject "no effect" at effect δ."""
        return self.pvalues(delta, rows) < self.alpha  # p < α, as the verdicts read it

    def spread(self) -> float:
        """A rough standard error of the estimate (the scale an effect search starts from)."""
        raise NotImplementedError

    def _rows(self, rows) -> np.ndarray:
        return np.arange(self.n) if rows is None else np.asarray(rows)


class LinearTest(BatchedTest):
    """Replication r's p-value at δ is the share of reference statistics k with
    |A_rk + δB_rk| at least as extreme as |a_r + δb_r| by the method's tie rule. Randomization
    inference (reference = re-assignments, ``rule="randomization"``) and the conformal
    |mean residual| test (reference = time shifts, ``rule="conformal"``) both have this form.
    ``A`` and ``B`` have one row per replication, or ``A`` one row shared by all."""

    _THRESHOLD = {
        "randomization": randomization.extreme_threshold,
        "conformal": conformal.extreme_threshold,
    }

    def __init__(self, a, b, A, B, alpha: float, rule: str, min_pvalue: float = math.nan):
        self.a, self.b, self.A, self.B = a, b, A, B
        self.alpha, self.rule, self.min_pvalue = alpha, rule, min_pvalue
        self.threshold = self._THRESHOLD[rule]
        self.n = len(a)
        self.K = A.shape[1]

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        """The analysis's p-value in each replication (``rows``) at effect δ."""
        rows = self._rows(rows)
        count = np.empty(len(rows), dtype=np.int64)
        step = max(1, _BLOCK // self.K)
        shared = self.A.shape[0] == 1
        buf = np.empty((min(step, len(rows)), self.K))
        for s in range(0, len(rows), step):
            r = rows[s : s + step]
            cut = self.threshold(np.abs(self.a[r] + delta * self.b[r]))
            x = buf[: len(r)]  # |A + δB| in place: this loop is the whole cost of a curve
            np.multiply(self.B[r], delta, out=x)
            x += self.A if shared else self.A[r]
            np.abs(x, out=x)
            count[s : s + len(r)] = np.count_nonzero(x >= cut[:, None], axis=1)
        return count / self.K

    def spread(self) -> float:
        if self.rule == "randomization":
            s = float(np.std(self.a)) if self.n > 2 else float(np.std(self.A))
            return s if s > 0 else float(np.std(self.A))
        return float(np.median(np.std(self.A, axis=1) / np.maximum(np.abs(self.b), 1e-12)))


class MeanAbsConformal(BatchedTest):
    """The conformal test with CWZ's robust statistic mean |û| (what ``statistic="auto"``
    uses when the pre-period residuals are strongly autocorrelated): not linear in δ, but each
    δ costs one pass over the T shifts of the residuals ``u0 + δ·zc``."""

    def __init__(self, u0, zc, index, alpha, min_pvalue: float = math.nan):
        self.u0, self.zc, self.index, self.alpha = u0, zc, index, alpha
        self.min_pvalue = min_pvalue
        self.n = len(u0)

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        rows = self._rows(rows)
        u = self.u0[rows] + delta * self.zc[rows]  # rows × T
        stats = np.abs(u[:, self.index]).mean(axis=2)  # rows × shifts
        return (stats >= conformal.extreme_threshold(stats[:, :1])).mean(axis=1)

    def spread(self) -> float:
        return float(np.median(np.std(self.u0, axis=1)))


class MixedConformal(BatchedTest):
    """Conformal replications of which some (``robust``) use the robust statistic
    (:class:`MeanAbsConformal`), the others |mean û| (:class:`LinearTest`)."""

    def __init__(self, u0, zc, index, robust, alpha, min_pvalue: float = math.nan):
        A, B = u0[:, index].mean(axis=2), zc[:, index].mean(axis=2)
        self.lin = LinearTest(A[:, 0], B[:, 0], A, B, alpha, "conformal", min_pvalue)
        self.rob = MeanAbsConformal(u0, zc, index, alpha, min_pvalue)
        self.robust, self.alpha, self.min_pvalue = robust, alpha, min_pvalue
        self.n = len(u0)

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        rows = self._rows(rows)
        out = self.lin.pvalues(delta, rows)
        r = self.robust[rows]
        if r.any():
            out[r] = self.rob.pvalues(delta, rows[r])
        return out

    def spread(self) -> float:
        return self.lin.spread()


class ClusterT(BatchedTest):
    """Cluster-robust t: an additive effect moves β̂_r by δ and leaves the residuals (hence
    se_r) unchanged, so t_r(δ) = (β̂_r + δ)/se_r, compared with Student's t with ``df``
    degrees of freedom."""

    def __init__(self, beta, se, df, alpha):
        self.beta, self.se, self.df, self.alpha = beta, se, df, alpha
        self.n = len(beta)

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        rows = self._rows(rows)
        return t_pvalue((self.beta[rows] + delta) / self.se[rows], self.df)

    def spread(self) -> float:
        return float(np.median(self.se))


class InfluenceT(BatchedTest):
    """The normal test with an influence-function standard error, where both the estimate and
    the (cluster-summed) influence function are linear in the outcome: θ_r(δ) = a_r + δ·b_r
    and ψ_r(δ) = u_r + δ·v_r, so se_r(δ)² = Σ_c (u_rc + δ·v_rc)² / n² = (U_r + 2δ·W_r +
    δ²·V_r) / n², and p_r(δ) = 2·(1 − Φ(|θ_r(δ)| / se_r(δ))) — what ``engine.infer`` reports for
    a ``StandardError`` without degrees of freedom. A standard error at or below ``floor``
    is missing (no p-value), as the estimator drops it."""

    def __init__(self, a, b, u, v, n: int, alpha: float, floor: float = 0.0):
        self.a, self.b, self.alpha, self.floor = a, b, alpha, floor
        self.U = np.einsum("rc,rc->r", u, u)
        self.W = np.einsum("rc,rc->r", u, v)
        self.V = np.einsum("rc,rc->r", v, v)
        self.units = n
        self.n = len(a)

    def se(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        rows = self._rows(rows)
        var = self.U[rows] + delta * (2 * self.W[rows] + delta * self.V[rows])
        se = np.sqrt(np.maximum(var, 0.0)) / self.units
        return np.where(se <= self.floor, np.nan, se)

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        from scipy import stats

        rows = self._rows(rows)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.abs(self.a[rows] + delta * self.b[rows]) / self.se(delta, rows)
        return 2 * stats.norm.sf(z)

    def spread(self) -> float:
        return float(np.nanmedian(self.se(0.0)))


# --------------------------------------------------------------------------------------------
# Building them from the linear pieces


def _one_hot(index: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``index`` (K × N, values < width) as 0/1 rows of length width·N: entry
    index[k, j]·N + j is one — so that (values flattened the same way) @ onehotᵀ sums
    values[index[k, j], j] over j, a matrix product instead of a gather per assignment."""
    K, N = index.shape
    out = np.zeros((K, width * N))
    out[np.arange(K)[:, None], index * N + np.arange(N)[None, :]] = 1.0
    return out


def unit_sums(M: np.ndarray, Gr: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
    """θ[r, k] = Σ_j M_r[Gr[r, draws[k, j]], j]: the statistic of replication r (unit u in
    group Gr[r, u]) when unit j takes the cohort of unit draws[k, j] of the replication's data.
    ``M`` is one (G × N) matrix of unit contributions or one per replication (R × G × N);
    ``draws=None`` is the replication itself (returns R values).

    For few units a matrix product (R × N²) @ (N² × K) with V_r[u, j] = M_r[Gr[r, u], j]; for
    many units, where N² outgrows the gather, blocks of look-ups."""
    R, N = Gr.shape
    cols = np.arange(N)
    rows = np.arange(R)[:, None]
    if draws is None:
        return (M[Gr, cols] if M.ndim == 2 else M[rows, Gr, cols]).sum(axis=1)
    if N <= _MATMUL_UNITS:
        V = M[Gr] if M.ndim == 2 else M[rows, Gr]  # R × N × N
        return V.reshape(R, -1) @ _one_hot(draws, N).T
    K = len(draws)
    out = np.empty((R, K))
    step = max(1, _BLOCK // (K * N))
    for s in range(0, R, step):
        g = Gr[s : s + step][:, draws]  # block × K × N
        if M.ndim == 2:
            out[s : s + step] = M[g, cols].sum(axis=2)
        else:
            sub = np.arange(len(g))[:, None, None]
            out[s : s + step] = M[s : s + step][sub, g, cols].sum(axis=2)
    return out


def randomization_test(
    groups: np.ndarray,
    contributions: Callable[[np.ndarray], np.ndarray],
    Y: np.ndarray,
    Z: np.ndarray,
    donors: np.ndarray,
    cohorts: pd.Series,
    strata: pd.Series,
    *,
    reps: int,
    seed: int | None,
    alpha: float,
) -> LinearTest:
    """Randomization inference (:func:`~.randomization.randomization_inference`) in every
    replication, for an estimator that is a sum of unit contributions.

    Parameters
    ----------
    groups, contributions
        The estimator's hook (e.g. :func:`evaluation.estimators.twfe.unit_contributions`,
        :meth:`evaluation.estimators.att_gt.AttGt.unit_contributions`): θ_a(Z) =
        Σ_i M_Z[groups[d_a,i], i] with M_Z = ``contributions(Z)`` (G × N, or R × G × N for a
        stack of outcomes), for the assignment in which unit i takes the cohort of unit d_a,i.
    Y, Z
        The observed outcome (N × T) and the effect's direction in each replication
        (R × N × T): replication r's outcome at effect δ is Y + δ·Z_r.
    donors
        The replications' assignments (R × N): in replication r unit j takes the planned
        cohort of unit ``donors[r, j]``.
    cohorts, strata
        Each unit's planned cohort and stratum (the randomization permutes within strata).
    reps, seed
        The analysis's re-assignments and seed (the estimator's ``n_boot``/``reps`` and
        ``seed``): the test permutes the replication's cohorts exactly as the analysis will.

    θ is linear in the outcome, so with a_r = θ_r(Y), b_r = θ_r(Z_r) and the same for every
    re-assignment k of replication r (A_rk, B_rk), replication r's statistic at δ is a_r + δb_r
    against A_rk + δB_rk (:class:`LinearTest`): the statistics of all replications and
    re-assignments are matrix products (:func:`unit_sums`) instead of R·K refits.
    """
    N, T = Y.shape
    R = len(donors)
    M_y = contributions(Y)  # G × N
    M_z = np.empty((R, *M_y.shape))
    step = max(1, _BLOCK // (N * T))
    for s in range(0, R, step):
        M_z[s : s + step] = contributions(Z[s : s + step])
    Gr = groups[donors]  # R × N: group of each unit under replication r
    a, b = unit_sums(M_y, Gr, None), unit_sums(M_z, Gr, None)
    # randomization_inference permutes the *replication's* cohorts: in draw k unit j takes the
    # cohort of unit draws[k, j] of the replication's data
    draws, exact, n_assign = randomization.reassignments(cohorts, strata, reps, seed)
    if exact:  # the same set of assignments for every replication
        onehot = _one_hot(groups[draws], M_y.shape[0])
        A = (M_y.reshape(-1) @ onehot.T)[None, :]
        B = M_z.reshape(R, -1) @ onehot.T
    else:  # the replication itself is counted in, as randomization_inference does
        A = np.column_stack([unit_sums(M_y, Gr, draws), a])
        B = np.column_stack([unit_sums(M_z, Gr, draws), b])
    min_p = randomization.min_pvalue(n_assign, exact, reps)
    return LinearTest(a, b, A, B, alpha, "randomization", min_p)


def conformal_did_test(
    Y: np.ndarray, treated: np.ndarray, T0: int, alpha: float, *, proportional: bool = False
) -> BatchedTest:
    """The conformal test of one treated unit with the DiD counterfactual in every
    replication: what :func:`~.conformal.conformal_inference` computes with ``model="did"``,
    moving-block shifts and ``statistic="auto"`` (the statistic chosen per replication).

    In replication r unit ``treated[r]`` (a row of ``Y``, N × T) is treated from period ``T0``
    and the other units are its controls; the effect δ moves its path y_r by δ·z_r, z_r the
    post-period indicator (additive) or y_r∘post (``proportional``). The DiD residuals are
    linear in the treated path (:func:`~.conformal.did_residuals`), û(y + δz) = û(y) +
    δ(z − z̄), so each shift's |mean residual| is |A + δB| (:class:`LinearTest`); replications
    with strongly autocorrelated pre-period residuals keep CWZ's mean |û|
    (:class:`MeanAbsConformal`, :class:`MixedConformal`).
    """
    T = Y.shape[1]
    index = permutation_index(T, T0, "moving_block", 0, 0)
    post = (np.arange(T) >= T0).astype(float)
    R = len(treated)
    u0, zc, robust = np.empty((R, T)), np.empty((R, T)), np.zeros(R, dtype=bool)
    for r in range(R):
        y = Y[treated[r]]
        Y0 = np.delete(Y, treated[r], axis=0).T
        robust[r] = choose_statistic(y, Y0, T0)[0] == "mean_abs"
        u0[r] = did_residuals(y, Y0)
        z = y * post if proportional else post
        zc[r] = z - z.mean()
    min_p = 1 / index.shape[0]
    if robust.any():
        return MixedConformal(u0, zc, index, robust, alpha, min_p)
    A = u0[:, index].mean(axis=2)
    B = zc[:, index].mean(axis=2)
    return LinearTest(A[:, 0], B[:, 0], A, B, alpha, "conformal", min_p)


def influence_test(
    pieces: Callable[[np.ndarray, np.ndarray | None], tuple[np.ndarray, np.ndarray]],
    donors: np.ndarray,
    directions: Callable[[np.ndarray], np.ndarray],
    n: int,
    alpha: float,
    floor: float = 0.0,
) -> InfluenceT:
    """The influence-function normal test in every replication, from the estimator's linear
    pieces: ``pieces(donors, Z)`` gives, for the assignments ``donors`` (R × N: unit j takes
    the cohort of unit donors[r, j]), the estimates (R) and cluster-summed influence functions
    (R × clusters) of the outcome Z (an R × N × T stack; None for the observed outcome);
    ``directions(rows)`` gives the replications' effect directions Z_r. Built in blocks of
    replications, so memory stays bounded however many units there are; ``n`` is the number of
    units the standard error divides by."""
    R = len(donors)
    a, b = np.empty(R), np.empty(R)
    u = v = None
    step = max(1, _BLOCK // max(1, donors.shape[1] * 64))
    for s in range(0, R, step):
        rows = np.arange(s, min(R, s + step))
        a[rows], ur = pieces(donors[rows], None)
        b[rows], vr = pieces(donors[rows], directions(rows))
        if u is None:
            u, v = np.empty((R, ur.shape[1])), np.empty((R, vr.shape[1]))
        u[rows], v[rows] = ur, vr
    return InfluenceT(a, b, u, v, n, alpha, floor)


def cluster_t_test(beta: np.ndarray, se: np.ndarray, df: int, alpha: float) -> ClusterT:
    """The cluster-robust t test in every replication from its estimate ``beta`` and standard
    error ``se`` with no effect, for an estimator whose residuals an additive effect leaves
    unchanged (TWFE: :func:`evaluation.estimators.twfe.cluster_batch`)."""
    return ClusterT(beta, se, df, alpha)
