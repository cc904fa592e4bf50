"""Δ^RM(M̄), relative magnitudes: the moment inequalities and the test inversion over θ.

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", *Review of Economic
Studies* 90(5): under Δ^RM(M̄) every post-period change in the violation of parallel trends is
at most M̄ times the largest pre-period change. Δ^RM is a union over where that largest change
lies and its sign; on each piece the constraints are linear (R's ``.create_A_RM``), θ = l'τ_post
is made the first coordinate, and the ARP test of :mod:`.arp` is run on the grid of θ. A θ is
accepted when any piece accepts it.
"""

from __future__ import annotations

import numpy as np

from evaluation.inference.honest_did.arp import _ArpTest, _Moments


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
