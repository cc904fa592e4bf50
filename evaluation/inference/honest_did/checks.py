"""Input checks of HonestDiD: coefficients, covariance, θ weights, level and M.

The inputs are those of R's ``HonestDiD`` (Rambachan & Roth 2023, "A More Credible Approach to
Parallel Trends", *Review of Economic Studies* 90(5)): event-study coefficients with the
reference period removed, pre-periods first; their covariance ``sigma``, symmetric positive
semi-definite; the weights ``l_vec`` defining θ = l'τ_post; the confidence level; the values of
M (M̄ for relative magnitudes). Each check raises :class:`~evaluation.errors.DataError` saying
what is wrong and what was given. ``_METHODS`` lists the methods each restriction allows, its
default first.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluation.errors import DataError

_METHODS = {"relative_magnitude": ("C-LF", "Conditional"), "smoothness": ("FLCI",)}


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
