r"""Input checks and the regression: everything the wild bootstrap needs, computed once.

:func:`_prepare` checks the settings and the data, absorbs the fixed effects by
Frisch–Waugh–Lovell (:class:`evaluation.core.absorb.Absorber`, never forming dummies), drops
the control columns they absorb or that are collinear, fits (weighted) least squares and
returns a :class:`_Problem`: the absorbed regressors, the residuals, the influence direction
``z`` of the tested coefficient, its cluster-robust CR1 standard error (Cameron, Gelbach &
Miller 2008, *Review of Economics and Statistics* 90(3)) and the small-sample factor.

Small-sample factor
-------------------
CR1 = ``G/(G−1) · (n−1)/(n−K) · (X̃'X̃)⁻¹ (Σ_g s_g s_g') (X̃'X̃)⁻¹`` as in Stata and fixest. ``K``
counts absorbed fixed effects as fixest does by default (``ssc(fixef.K = "nested")``): all
levels of all fixed effects, minus one per fixed effect after the first, minus the levels of
every fixed effect nested in the clusters, plus one for each such nested fixed effect. So with
unit effects nested in unit clusters and T period effects, ``K = k + T``. The factor cancels
from the bootstrap p-value (``t`` and every ``t*`` carry it); it only scales ``se`` and ``t``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluation.core.absorb import Absorber
from evaluation.errors import DataError, DesignError, InferenceError, examples
from evaluation.inference.wild.weights import WEIGHT_TYPES

# A column whose norm falls below this share of its raw norm once the fixed effects are
# projected out is taken as collinear with them (absorption is accurate to ~1e-10 relative).
_COLLINEAR_TOL = 1e-7
_MIN_B = 99


@dataclass
class _Problem:
    n: int
    G: int
    g: np.ndarray  # cluster code per row, 0..G-1
    Xt: np.ndarray  # absorbed, √w-scaled regressors (n × k), dropped columns removed
    u_hat: np.ndarray  # unrestricted residuals (√w-scaled)
    z: np.ndarray  # X̃ A⁻¹ e_j
    A_inv: np.ndarray
    beta_p: float
    c_p: float
    se: float
    ssc: float
    df_k: int
    j: int  # tested column within Xt
    sw: np.ndarray | None  # √weights
    weights: np.ndarray | None
    fe_codes: list[np.ndarray]
    fe_levels: list[int]
    nested: list[bool]
    dropped: list[int]


def _numeric_array(value: Any) -> Any:
    """pandas input (nullable dtypes included) as a float array with NaN for missing values."""
    if hasattr(value, "to_numpy"):
        try:
            return value.to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError):
            return value.to_numpy()
    return value


def _as_vector(value: Any, name: str) -> np.ndarray:
    arr = np.asarray(value.to_numpy() if hasattr(value, "to_numpy") else value)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim != 1:
        raise DataError(
            f"{name} must be one-dimensional (one value per row); got shape {arr.shape}. "
            f"Pass a single column."
        )
    return arr


def _as_float(arr: np.ndarray, name: str) -> np.ndarray:
    try:
        out = np.asarray(arr, dtype=float)
    except (TypeError, ValueError) as err:
        sample = examples(np.ravel(arr)[:5])
        raise DataError(
            f"{name} must be numeric; could not convert values such as {sample} ({err}). "
            f"Convert the column to numbers first."
        ) from None
    bad = ~np.isfinite(out)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        raise DataError(
            f"{name} has {int(bad.sum())} missing or infinite value(s), at rows "
            f"{examples(rows.tolist())}. Drop those rows (from every argument) or fill them "
            f"before bootstrapping."
        )
    return out


def _codes(labels: Any, name: str, n: int) -> tuple[np.ndarray, int]:
    import pandas as pd

    arr = _as_vector(labels, name)
    if len(arr) != n:
        raise DataError(f"{name} has {len(arr)} rows but y has {n}; they must be the same rows.")
    codes, uniques = pd.factorize(arr, sort=True, use_na_sentinel=True)
    missing = np.nonzero(codes < 0)[0]
    if len(missing):
        raise DataError(
            f"{name} has {len(missing)} missing label(s), at rows {examples(missing.tolist())}. "
            f"Give every row a label or drop those rows."
        )
    return codes.astype(np.int64, copy=False), len(uniques)


def _prepare(
    y, X, cluster, param, fe, weights, null, B, weight_type, level, small_sample
) -> _Problem:
    _check_settings(B, weight_type, level, null)
    yv, Xf, n = _response_and_regressors(y, X, param)
    g, G = _codes(cluster, "cluster", n)
    if G < 2:
        raise InferenceError(
            f"cluster has only {G} distinct value(s): a bootstrap over clusters needs at least "
            f"two. Cluster at a finer level, or use randomization inference instead."
        )
    w = _weights(weights, n)
    sw = None if w is None else np.sqrt(w)
    fe_codes, fe_levels = _fixed_effects(fe, n)
    # absorb fixed effects (Frisch–Waugh–Lovell), then scale rows by √w so WLS is OLS
    raw = np.column_stack([yv, Xf])
    within = Absorber(fe_codes, weights=w).demean(raw) if fe_codes else raw
    if sw is not None:
        within = within * sw[:, None]
        raw = raw * sw[:, None]
    yt = within[:, 0]
    cols, dropped = _identified_columns(raw[:, 1:], within[:, 1:], param, bool(fe_codes))
    Xt = np.ascontiguousarray(within[:, 1:][:, cols])
    # OLS on the absorbed data
    A_inv = np.linalg.inv(Xt.T @ Xt)
    beta = A_inv @ (Xt.T @ yt)
    u_hat = yt - Xt @ beta
    c = A_inv[:, 0]
    z = Xt @ c
    # nesting of each fixed effect in the clusters, and the CR1 factor (fixest's rule)
    nested = [_is_nested(f, L, g) for f, L in zip(fe_codes, fe_levels, strict=True)]
    n_fe = len(fe_codes)
    k_fe = sum(fe_levels) - (n_fe - 1) if n_fe > 1 else sum(fe_levels)
    k_fe -= sum(L for L, nst in zip(fe_levels, nested, strict=True) if nst)
    k_fe += sum(nested)
    df_k = len(cols) + k_fe
    if n - df_k <= 0:
        raise DesignError(
            f"no residual degrees of freedom: {n} rows for {df_k} parameters (regressors plus "
            f"fixed-effect levels). Use a longer panel or fewer fixed effects."
        )
    ssc = (G / (G - 1)) * ((n - 1) / (n - df_k)) if small_sample else 1.0
    score = np.bincount(g, weights=z * u_hat, minlength=G)
    se = math.sqrt(ssc * float(score @ score))
    if not np.isfinite(se) or se == 0 or np.linalg.norm(u_hat) <= 1e-12 * np.linalg.norm(yt):
        raise DesignError(
            "the cluster-robust standard error is zero: the model fits y exactly (all "
            "residuals are zero) or the tested column varies in one cluster only with all its "
            "residuals zero. Check that y is the outcome and not a function of X."
        )
    return _Problem(
        n=n,
        G=G,
        g=g,
        Xt=Xt,
        u_hat=u_hat,
        z=z,
        A_inv=A_inv,
        beta_p=float(beta[0]),
        c_p=float(c[0]),
        se=se,
        ssc=ssc,
        df_k=df_k,
        j=0,
        sw=sw,
        weights=w,
        fe_codes=fe_codes,
        fe_levels=fe_levels,
        nested=nested,
        dropped=sorted(dropped),
    )


def _check_settings(B, weight_type, level, null) -> None:
    """Settings first: they are cheap and their errors are the clearest."""
    if weight_type not in WEIGHT_TYPES:
        raise InferenceError(
            f"weight_type={weight_type!r} is not known; use one of {', '.join(WEIGHT_TYPES)} "
            f"('webb' is recommended with few clusters)."
        )
    if isinstance(B, bool) or not isinstance(B, int | np.integer):
        raise InferenceError(f"B must be a whole number of draws; got {B!r}.")
    if B < _MIN_B:
        raise InferenceError(
            f"B={B} bootstrap draws are too few for a p-value near the 5 % level; use B ≥ 999 "
            f"(9,999 for reported results). The minimum accepted is {_MIN_B}."
        )
    if isinstance(level, bool) or not (isinstance(level, numbers.Real) and 0 < level < 1):
        raise InferenceError(f"level must be between 0 and 1 (e.g. 0.95); got {level!r}.")
    try:
        finite_null = math.isfinite(float(null))
    except (TypeError, ValueError):
        finite_null = False
    if not finite_null:
        raise DataError(f"null must be a finite number; got {null!r}.")


def _response_and_regressors(y, X, param) -> tuple[np.ndarray, np.ndarray, int]:
    yv = _as_float(_as_vector(_numeric_array(y), "y"), "y")
    n = len(yv)
    Xa = np.asarray(_numeric_array(X))
    if Xa.ndim == 1:
        Xa = Xa[:, None]
    if Xa.ndim != 2:
        raise DataError(f"X must be a 2-D array (rows × regressors); got shape {Xa.shape}.")
    if Xa.shape[0] != n:
        raise DataError(
            f"X has {Xa.shape[0]} rows but y has {n}; pass the same rows for y, X, cluster, "
            f"fe and weights."
        )
    Xf = _as_float(Xa, "X")
    k = Xf.shape[1]
    if k == 0:
        raise DataError("X has no columns; pass at least the tested regressor.")
    if isinstance(param, bool) or not isinstance(param, int | np.integer):
        raise DataError(f"param must be a column index of X (an integer); got {param!r}.")
    if not 0 <= param < k:
        raise DataError(
            f"param={param} is out of range: X has {k} column(s), indices 0 to {k - 1}. "
            f"Give the index of the tested coefficient's column."
        )
    return yv, Xf, n


def _weights(weights, n: int) -> np.ndarray | None:
    if weights is None:
        return None
    w = _as_float(_as_vector(_numeric_array(weights), "weights"), "weights")
    if len(w) != n:
        raise DataError(f"weights has {len(w)} rows but y has {n}; they must match.")
    nonpos = np.nonzero(w <= 0)[0]
    if len(nonpos):
        raise DataError(
            f"weights must be positive; {len(nonpos)} row(s) are not, e.g. rows "
            f"{examples(nonpos.tolist())} (values {examples(w[nonpos].tolist())}). "
            f"Drop rows with zero weight before bootstrapping."
        )
    return w


def _fixed_effects(fe, n: int) -> tuple[list[np.ndarray], list[int]]:
    if hasattr(fe, "columns"):  # a DataFrame: one fixed effect per column
        fe = [fe[col].to_numpy() for col in fe.columns]
    elif isinstance(fe, np.ndarray) and fe.ndim == 2 and fe.shape[0] == n:
        fe = list(fe.T)
    elif isinstance(fe, np.ndarray | str) or hasattr(fe, "dtype"):
        raise DataError(
            "fe must be a sequence of label arrays, e.g. fe=(unit, period); got a single "
            "array or value. Wrap one fixed effect in a tuple: fe=(unit,)."
        )
    codes: list[np.ndarray] = []
    levels: list[int] = []
    for i, f in enumerate(fe):
        c, L = _codes(f, f"fe[{i}]", n)
        codes.append(c)
        levels.append(L)
    return codes, levels


def _identified_columns(raw, within, param: int, has_fe: bool) -> tuple[list[int], list[int]]:
    """The tested column first, then the controls that are not absorbed by the fixed effects
    or collinear with earlier ones (dropped greedily, as fixest does); DesignError when the
    tested column itself is not identified."""
    n, k = within.shape
    raw_norm = np.linalg.norm(raw, axis=0)
    within_norm = np.linalg.norm(within, axis=0)
    absorbed = within_norm <= _COLLINEAR_TOL * np.maximum(raw_norm, np.finfo(float).tiny)
    if absorbed[param]:
        what = (
            "constant within the fixed effects (it does not vary once they are removed)"
            if has_fe
            else "all zeros"
        )
        raise DesignError(
            f"X column {param} (the tested coefficient, param={param}) is {what}, so its "
            f"effect is not identified. With unit and period effects, a treatment must switch on "
            f"for some units at some time, not be fixed per unit or per period; drop a fixed "
            f"effect or test another column."
        )
    dropped = [c for c in range(k) if absorbed[c] and c != param]
    kept_controls: list[int] = []
    basis = np.empty((n, 0))
    for c in range(k):
        if absorbed[c] or c == param:
            continue
        col = within[:, c]
        resid = col - basis @ (basis.T @ col) if basis.shape[1] else col
        if np.linalg.norm(resid) <= _COLLINEAR_TOL * within_norm[c]:
            dropped.append(c)
            continue
        kept_controls.append(c)
        basis = np.column_stack([basis, resid / np.linalg.norm(resid)])
    col = within[:, param]
    resid = col - basis @ (basis.T @ col) if basis.shape[1] else col
    if np.linalg.norm(resid) <= _COLLINEAR_TOL * within_norm[param]:
        raise DesignError(
            f"X column {param} (the tested coefficient) is a linear combination of the other "
            f"columns {kept_controls}" + (" and the fixed effects" if has_fe else "") + "; its "
            "effect is not identified. Remove the control(s) that duplicate it."
        )
    return [param] + kept_controls, dropped


def _is_nested(f: np.ndarray, L: int, g: np.ndarray) -> bool:
    """True when every level of fixed effect ``f`` lies inside a single cluster."""
    owner = np.empty(L, dtype=np.int64)
    owner[f] = g  # any row's cluster per level; then check all rows agree
    return bool(np.all(owner[f] == g))
