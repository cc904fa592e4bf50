"""Weights on the simplex: the synthetic control's and synthetic DiD's solvers.

Unit weights ω (non-negative, summing to one) that make weighted controls reproduce a treated
path, and time weights λ of the same kind, are what the synthetic control (Abadie, Diamond &
Hainmueller 2010) and synthetic DiD (Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021,
*AER* 111(12)) estimate before anything else. Two solvers:

* :func:`synthdid_weights` follows the R package ``synthdid`` step for step (Frank–Wolfe with
  exact line search, 100 iterations, sparsification, then to convergence) — what reproduces the
  published Proposition 99 numbers (SC −19.620, SDID −15.604), which stop before the optimum on
  that nearly flat objective;
* :func:`simplex_least_squares` is the exact minimiser (pairwise Frank–Wolfe, linear
  convergence), for the many refits of the conformal test where synthdid's iterates do not
  matter.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = [
    "noise_level",
    "simplex_least_squares",
    "synthdid_weights",
    "synthetic_paths",
]


def _sparsify(v: np.ndarray) -> np.ndarray:
    # synthdid's sparsify_function: drop weights at or below a quarter of the largest.
    v = v.copy()
    v[v <= v.max() / 4] = 0.0
    return v / v.sum()


def _fw_synthdid(
    Yc: np.ndarray,
    zeta: float,
    intercept: bool,
    init: np.ndarray | None,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """synthdid's ``sc.weight.fw``: Frank–Wolfe with exact line search.

    Minimises ``ζ² ‖x‖² + ‖A x − b‖² / n`` over the unit simplex, where ``A = Yc[:, :-1]``,
    ``b = Yc[:, -1]`` and n is the number of rows (columns centred first when
    ``intercept``). Stops when an iteration lowers the objective by less than
    ``min_decrease²`` or after ``max_iter`` iterations — the same rule as the R code, so the
    same (not fully converged) weights come out.
    """
    n, p1 = Yc.shape
    p = p1 - 1
    x = np.full(p, 1.0 / p) if init is None else np.asarray(init, dtype=float).copy()
    if intercept:
        Yc = Yc - Yc.mean(axis=0)
    A = np.ascontiguousarray(Yc[:, :p])
    At = np.ascontiguousarray(A.T)  # contiguous columns for the line search
    b = np.ascontiguousarray(Yc[:, p])
    zeta2 = float(zeta) ** 2
    eta = n * zeta2
    threshold = float(min_decrease) ** 2
    dot = np.dot  # the loop runs up to 10⁴ times on small arrays: keep Python overhead low
    Ax = dot(A, x)
    prev = prev2 = math.inf
    t = 0
    while t < max_iter and (t < 2 or prev2 - prev > threshold):
        t += 1
        half_grad = dot(Ax - b, A) + eta * x
        i = int(half_grad.argmin())
        xi = x[i]
        # the R code skips the step when the direction e_i − x is zero, i.e. x = e_i
        if not (xi == 1.0 and np.count_nonzero(x) == 1):
            dx = -x
            dx[i] = 1.0 - xi
            d_err = At[i] - Ax
            step = -dot(half_grad, dx) / (dot(d_err, d_err) + eta * dot(dx, dx))
            step = 1.0 if step > 1.0 else (float(step) if step > 0.0 else 0.0)
            x = x + step * dx
            Ax = dot(A, x)
        err = Ax - b
        prev2, prev = prev, zeta2 * dot(x, x) + dot(err, err) / n
    return x


def simplex_least_squares(
    A: np.ndarray,
    b: np.ndarray,
    ridge: float = 0.0,
    *,
    intercept: bool = False,
    init: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 20_000,
) -> tuple[np.ndarray, float]:
    """Exact minimiser of ``‖A w + c − b‖² + ridge ‖w‖²`` over the simplex (w ≥ 0, Σw = 1).

    Pairwise Frank–Wolfe (Lacoste-Julien & Jaggi 2015) with exact line search on the Gram
    matrix; it converges linearly on this problem, unlike plain Frank–Wolfe, so it is used
    where many refits are needed and synthdid's exact iterates do not matter (the conformal
    test). ``c`` is a free intercept when ``intercept`` (columns centred), else 0.
    Returns ``(w, c)``.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if intercept:
        a_mean = A.mean(axis=0)
        b_mean = b.mean()
        A = A - a_mean
        b = b - b_mean
    J = A.shape[1]
    G = A.T @ A
    G[np.diag_indices(J)] += ridge
    c = A.T @ b
    w = np.full(J, 1.0 / J) if init is None else np.asarray(init, dtype=float).copy()
    Gw = G @ w
    scale = max(float(b @ b), float(np.trace(G)) / J, 1e-300)
    for _ in range(max_iter):
        g = Gw - c  # half gradient
        i = int(np.argmin(g))
        active = np.flatnonzero(w > 0)
        a = int(active[np.argmax(g[active])])
        gap = float(g @ w - g[i])  # Frank–Wolfe duality gap (halved)
        if gap <= tol * scale or i == a:
            break
        curvature = G[i, i] + G[a, a] - 2.0 * G[i, a]
        max_step = w[a]
        step = max_step if curvature <= 0 else min(max_step, (g[a] - g[i]) / curvature)
        w[i] += step
        w[a] -= step
        if w[a] < 1e-15:
            w[a] = 0.0
        Gw += step * (G[:, i] - G[:, a])
    w = np.clip(w, 0.0, None)
    w /= w.sum()
    const = float(b_mean - a_mean @ w) if intercept else 0.0
    return w, const


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """synthdid's σ̂: standard deviation of the controls' first differences in the pre-period."""
    d = np.diff(Y[:N0, :T0], axis=1)
    return float(np.std(d, ddof=1)) if d.size > 1 else 0.0


def _collapsed(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    # synthdid's collapsed.form: controls × pre-periods, bordered by the post-period means of
    # each control (last column) and the treated units' average path (last row).
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.append(Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean())
    return np.vstack([top, bottom])


def synthdid_weights(
    Y: np.ndarray,
    N0: int,
    T0: int,
    *,
    kind: str,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
    eta_omega: float | None = None,
    min_decrease: float | None = None,
    max_iter: int = 10_000,
    max_iter_pre_sparsify: int = 100,
    omega_init: np.ndarray | None = None,
) -> dict[str, Any]:
    """Unit weights ω and time weights λ as in the R package ``synthdid`` (version 0.0.9).

    ``kind`` is ``"sdid"`` (``synthdid_estimate``: both weights fitted, with intercepts,
    ζ_ω = (N₁T₁)^¼ σ̂, ζ_λ = 10⁻⁶ σ̂), ``"sc"`` (``sc_estimate``: ω without intercept and
    ζ_ω = 10⁻⁶ σ̂, λ = 0) or ``"did"`` (``did_estimate``: uniform ω and λ). Returns a dict
    with ``omega``, ``lambda``, ``estimate``, ``zeta_omega``, ``zeta_lambda``, ``noise``.
    ``zeta_*`` passed in are used as given (placebo and jackknife replications keep the
    original regularisation, as synthdid does).
    """
    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    sigma = noise_level(Y, N0, T0)
    if min_decrease is None:
        min_decrease = 1e-5 * sigma
    if zeta_omega is None:
        if eta_omega is None:
            eta_omega = (N1 * T1) ** 0.25 if kind == "sdid" else 1e-6
        zeta_omega = eta_omega * sigma
    if zeta_lambda is None:
        zeta_lambda = 1e-6 * sigma
    Yc = _collapsed(Y, N0, T0)
    if kind == "sdid":
        lam = _fw_synthdid(Yc[:N0], zeta_lambda, True, None, min_decrease, max_iter_pre_sparsify)
        lam = _fw_synthdid(Yc[:N0], zeta_lambda, True, _sparsify(lam), min_decrease, max_iter)
    elif kind == "sc":
        lam = np.zeros(T0)
    elif kind == "did":
        lam = np.full(T0, 1.0 / T0)
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    if kind == "did":
        omega = np.full(N0, 1.0 / N0)
    else:
        target = Yc[:, :T0].T  # pre-periods × (controls + treated average)
        intercept = kind == "sdid"
        omega = _fw_synthdid(
            target, zeta_omega, intercept, omega_init, min_decrease, max_iter_pre_sparsify
        )
        omega = _fw_synthdid(
            target, zeta_omega, intercept, _sparsify(omega), min_decrease, max_iter
        )
    estimate = float(np.r_[-omega, np.full(N1, 1.0 / N1)] @ Y @ np.r_[-lam, np.full(T1, 1.0 / T1)])
    return {
        "omega": omega,
        "lambda": lam,
        "estimate": estimate,
        "zeta_omega": float(zeta_omega),
        "zeta_lambda": float(zeta_lambda),
        "noise": sigma,
    }


def synthetic_paths(Y: np.ndarray, N0: int, T0: int, omega: np.ndarray, lam: np.ndarray):
    """Treated average path, synthetic path and gap; the synthetic path is shifted by the
    λ-weighted pre-period difference (zero shift for SC, whose λ = 0), so that the average
    post-period gap equals the estimate."""
    treated = Y[N0:].mean(axis=0)
    synth = omega @ Y[:N0]
    shift = float(lam @ (treated[:T0] - synth[:T0])) if lam.sum() > 0 else 0.0
    synth = synth + shift
    return treated, synth, treated - synth
