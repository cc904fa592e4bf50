r"""Wild cluster bootstrap-t for one regression coefficient, with fixed effects absorbed.

What is estimated
-----------------
The linear model ``y = X β + D α + u`` (``D`` = fixed-effect dummies, never formed), estimated
by least squares (or weighted least squares), and the test of ``H0: β_j = null`` by the **wild
cluster bootstrap-t** of Cameron, Gelbach & Miller (2008): the restricted version (WCR, the
null imposed on the bootstrap data-generating process) by default, the unrestricted one (WCU)
on request. The p-value is symmetric (two-sided): the share of bootstrap draws with
``|t*| ≥ |t|``. The confidence interval is the set of nulls the test does not reject, found by
root-finding on the bootstrap p-value as a function of the null with the same draws, as
``boottest`` (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild", *Stata Journal* 19(1))
and ``fwildclusterboot`` do. The standard error is the cluster-robust CR1.

Why: with few clusters (13 wards) the CR1 t-test over-rejects badly; WCR with Rademacher or
Webb (2014) six-point weights is close to exact when several clusters are treated, and
*under*-rejects (is conservative) when only one to three are (MacKinnon & Webb 2017, *J. Applied
Econometrics* 32(2); 2018, *Econometrics Journal* 21(2)). With G clusters there are only 2^G
Rademacher sign vectors; when 2^G ≤ B they are all enumerated and the p-value is exact over the
enumeration (likewise the 6^G Webb vectors when 6^G ≤ B). Under WCR the vectors ``v = ±1``
(and, for Webb, every constant vector) reproduce ``|t|`` exactly, so the smallest attainable
p-value is ``2/2^G`` (Rademacher) or ``6/6^G`` (Webb): with G ≤ 5 Rademacher clusters the test
can never reject at 5 % — use Webb weights (the default).

Small-sample factor
-------------------
CR1 = ``G/(G−1) · (n−1)/(n−K) · (X̃'X̃)⁻¹ (Σ_g s_g s_g') (X̃'X̃)⁻¹`` as in Stata and fixest. ``K``
counts absorbed fixed effects as fixest does by default (``ssc(fixef.K = "nested")``): all
levels of all fixed effects, minus one per fixed effect after the first, minus the levels of
every fixed effect nested in the clusters, plus one for each such nested fixed effect. So with
unit effects nested in unit clusters and T period effects, ``K = k + T``. The factor cancels
from the bootstrap p-value (``t`` and every ``t*`` carry it); it only scales ``se`` and ``t``.

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
import numbers
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evaluation.core.absorb import Absorber
from evaluation.errors import DataError, DesignError, InferenceError, examples

__all__ = ["wild_cluster_bootstrap", "WildBootstrapResult", "WEIGHT_TYPES"]

WEIGHT_TYPES = ("webb", "rademacher", "mammen", "norm")

_WEBB = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
_SQ5 = math.sqrt(5.0)
_MAMMEN = np.array([-(_SQ5 - 1) / 2, (_SQ5 + 1) / 2])
_MAMMEN_P_LOW = (_SQ5 + 1) / (2 * _SQ5)  # probability of the negative point
_NAMES = {"webb": "Webb", "rademacher": "Rademacher", "mammen": "Mammen", "norm": "normal"}

# A column whose norm falls below this share of its raw norm once the fixed effects are
# projected out is taken as collinear with them (absorption is accurate to ~1e-10 relative).
_COLLINEAR_TOL = 1e-7
# |t*| within this relative distance of |t| counts as a tie (the draws v = ±1 reproduce t
# exactly in theory, up to rounding in practice).
_TIE_RTOL = 1e-9
# Eigenvalues of D2'M D2 below this share of the largest are redundancies (null space).
_PINV_RTOL = 1e-10
# Above this many non-nested fixed-effect levels the correction is built cluster by cluster.
_MAX_FE_RANK = 3000
# Elements of one block of draws (G × m); bounds memory to a few tens of MB.
_BLOCK_ELEMENTS = 1 << 21
_MIN_B = 99


@dataclass(frozen=True)
class WildBootstrapResult:
    """Outcome of :func:`wild_cluster_bootstrap` for ``H0: β_param = null``.

    Attributes
    ----------
    estimate, se, t_stat
        The least-squares coefficient, its CR1 cluster-robust standard error and
        ``(estimate − null) / se``.
    pvalue
        Symmetric bootstrap p-value: share of draws with ``|t*| ≥ |t|``.
    ci_low, ci_high
        Confidence interval at ``level`` by test inversion (NaN when ``ci=False``; ±inf when the
        bootstrap cannot bound it, which happens with very few treated clusters).
    B, enumerated
        Draws actually used; True when every weight vector was enumerated (p-value exact).
    weight_type, impose_null, n_clusters, n_obs, null, level
        The settings and sample.
    min_pvalue
        Smallest p-value this design could give (WCR with Rademacher: ``2/2^G``, with Webb:
        ``6/6^G``; exact under enumeration, the expected value otherwise); NaN when not bounded.
    small_sample_factor, df_k
        The CR1 factor ``G/(G−1)·(n−1)/(n−K)`` and the ``K`` it used.
    dropped_columns
        Columns of ``X`` (other than the tested one) dropped as collinear with the fixed effects
        or with other columns.
    description
        The method in words, for reports.
    """

    estimate: float
    se: float
    t_stat: float
    pvalue: float
    ci_low: float
    ci_high: float
    B: int
    enumerated: bool
    weight_type: str
    impose_null: bool
    n_clusters: int
    n_obs: int
    description: str
    null: float = 0.0
    level: float = 0.95
    min_pvalue: float = float("nan")
    small_sample_factor: float = 1.0
    df_k: int = 0
    dropped_columns: tuple[int, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of every field."""
        from evaluation.core.jsonable import jsonable

        return {k: jsonable(v) for k, v in asdict(self).items()}

    def __str__(self) -> str:
        pct = round(self.level * 100)
        return (
            f"{self.description}\n  estimate {self.estimate:.4g} (CR1 se {self.se:.4g}), "
            f"t = {self.t_stat:.3f}, p = {self.pvalue:.4f}, "
            f"{pct}% CI [{self.ci_low:.4g}, {self.ci_high:.4g}]"
        )


def wild_cluster_bootstrap(
    y: Any,
    X: Any,
    cluster: Any,
    *,
    param: int = 0,
    fe: Sequence[Any] = (),
    weights: Any = None,
    null: float = 0.0,
    B: int = 9999,
    weight_type: str = "webb",
    impose_null: bool = True,
    level: float = 0.95,
    ci: bool = True,
    seed: int | np.random.Generator | None = 0,
    small_sample: bool = True,
) -> WildBootstrapResult:
    """Wild cluster bootstrap-t test and confidence interval for one coefficient.

    Estimates ``β_param`` in ``y = X β + (fixed effects) + u`` by least squares and tests
    ``β_param = null`` with the restricted wild cluster bootstrap-t (WCR; Cameron, Gelbach &
    Miller 2008, *Review of Economics and Statistics* 90(3); MacKinnon & Webb 2018), computed
    with the cluster-level algebra of Roodman, MacKinnon, Nielsen & Webb (2019) extended to
    fixed effects that are not nested in the clusters (see the module docstring). The result
    equals re-running the full fixed-effect regression with CR1 on every bootstrap sample.

    Parameters
    ----------
    y
        Outcome, shape (n,).
    X
        Regressors, shape (n, k), raw (not demeaned), *without* fixed-effect dummies. Include a
        column of ones for an intercept when ``fe`` is empty; with fixed effects, columns that
        they absorb (an intercept, a time-invariant control under unit effects) are dropped and
        listed in ``dropped_columns``.
    cluster
        Cluster labels, shape (n,); at least two distinct clusters.
    param
        Index of the tested column of ``X``.
    fe
        Fixed effects to absorb: a sequence of label arrays of length n (e.g. unit and period
        codes). Never expanded into dummies.
    weights
        Optional positive observation weights (weighted least squares).
    null
        Value of ``β_param`` under the null hypothesis.
    B
        Bootstrap draws (at least 99; 999 or more recommended, 9,999 for reporting). When the
        weight vectors can all be enumerated within B (2^G for Rademacher, 6^G for Webb) they
        are, and ``B`` in the result is their number.
    weight_type
        ``"webb"`` (six-point, Webb 2014; the default, right for few clusters),
        ``"rademacher"`` (±1), ``"mammen"`` (two-point skewed) or ``"norm"`` (standard normal).
    impose_null
        True for WCR (recommended), False for WCU.
    level
        Confidence level of the interval.
    ci
        Compute the confidence interval by test inversion.
    seed
        Seed (or a ``numpy.random.Generator``) for the draws; unused under enumeration.
    small_sample
        Apply the CR1 factor ``G/(G−1)·(n−1)/(n−K)`` to the standard error and ``t``; it does
        not change the p-value or the interval.

    Returns
    -------
    WildBootstrapResult

    Raises
    ------
    DataError
        Mismatched lengths, missing or infinite values, bad weights, ``param`` out of range.
    DesignError
        The tested column is collinear with the fixed effects or the other columns, or no
        residual degrees of freedom are left.
    InferenceError
        Fewer than two clusters, ``B`` below 99, an unknown weight type, or a level outside (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> unit = np.repeat(np.arange(13), 8); period = np.tile(np.arange(8), 13)
    >>> treated = (unit < 6) & (period >= 4)
    >>> y = 0.5 * unit + 0.2 * period + rng.normal(size=unit.size)
    >>> res = wild_cluster_bootstrap(y, treated[:, None].astype(float), unit,
    ...                              fe=(unit, period), B=999)
    >>> res.enumerated, res.n_clusters
    (False, 13)
    """
    prob = _prepare(y, X, cluster, param, fe, weights, null, B, weight_type, level, small_sample)
    # Without an interval only the null itself is tested: fold δ into the residuals (ũ = û + δz)
    # up front, which halves the work per draw.
    fold = (prob.beta_p - null) / prob.c_p if impose_null and not ci else None
    kernel = _Kernel(prob, impose_null, fold=fold)
    draws, enumerated = _weight_source(weight_type, prob.G, B, seed)
    stats = kernel.run(draws)

    t_stat = (prob.beta_p - null) / prob.se
    pvalue = float(_pvalues(stats, prob, np.array([float(null)]), kernel.restricted)[0])
    if ci:
        ci_low, ci_high = _invert(stats, prob, level, kernel.restricted)
    else:
        ci_low = ci_high = float("nan")

    n_draws = draws.n
    # Under WCR every constant weight vector reproduces |t|: 2 of the 2^G Rademacher vectors,
    # 6 of the 6^G Webb ones (exact under enumeration, the expected share otherwise).
    base = {"rademacher": 2.0, "webb": 6.0}.get(weight_type)
    min_p = base ** (1 - prob.G) if impose_null and base else float("nan")

    return WildBootstrapResult(
        estimate=float(prob.beta_p),
        se=float(prob.se),
        t_stat=float(t_stat),
        pvalue=pvalue,
        ci_low=float(ci_low),
        ci_high=float(ci_high),
        B=int(n_draws),
        enumerated=bool(enumerated),
        weight_type=weight_type,
        impose_null=bool(impose_null),
        n_clusters=int(prob.G),
        n_obs=int(prob.n),
        description=_describe(prob, weight_type, impose_null, n_draws, enumerated),
        null=float(null),
        level=float(level),
        min_pvalue=float(min_p),
        small_sample_factor=float(prob.ssc),
        df_k=int(prob.df_k),
        dropped_columns=tuple(prob.dropped),
    )


# --------------------------------------------------------------------------------------------
# input checking and the regression (everything the bootstrap needs, computed once)
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# the cluster-level kernel
# --------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------
# weights
# --------------------------------------------------------------------------------------------


class _Draws:
    """Blocks of weight vectors (G × m), drawn with a seed or enumerated."""

    def __init__(self, weight_type: str, G: int, n: int, enumerated: bool, rng):
        self.weight_type = weight_type
        self.G = G
        self.n = n
        self.enumerated = enumerated
        self.rng = rng
        self.m = max(1, min(n, _BLOCK_ELEMENTS // G, 4096))

    def blocks(self):
        for start in range(0, self.n, self.m):
            m = min(self.m, self.n - start)
            yield start, self._make(start, m)

    def _make(self, start: int, m: int) -> np.ndarray:
        G = self.G
        if self.enumerated:
            idx = np.arange(start, start + m, dtype=np.int64)
            if self.weight_type == "rademacher":
                bits = (idx[None, :] >> np.arange(G, dtype=np.int64)[:, None]) & 1
                return 1.0 - 2.0 * bits
            powers = 6 ** np.arange(G, dtype=np.int64)
            return _WEBB[(idx[None, :] // powers[:, None]) % 6]
        rng = self.rng
        if self.weight_type == "rademacher":
            return (2.0 * rng.integers(0, 2, size=(m, G), dtype=np.int8) - 1.0).T
        if self.weight_type == "webb":
            return _WEBB[rng.integers(0, 6, size=(m, G), dtype=np.int8)].T
        if self.weight_type == "mammen":
            return np.where(rng.random((m, G)) < _MAMMEN_P_LOW, _MAMMEN[0], _MAMMEN[1]).T
        return rng.standard_normal((m, G)).T


def _weight_source(weight_type: str, G: int, B: int, seed) -> tuple[_Draws, bool]:
    base = {"rademacher": 2, "webb": 6}.get(weight_type)
    # math.log avoids forming 6**G for large G
    if base is not None and G * math.log(base) <= math.log(B):
        return _Draws(weight_type, G, base**G, True, None), True
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return _Draws(weight_type, G, int(B), False, rng), False


def _describe(prob: _Problem, weight_type: str, impose_null: bool, B: int, enumerated: bool):
    kind = "restricted (WCR)" if impose_null else "unrestricted (WCU)"
    name = _NAMES[weight_type]
    if enumerated:
        what = "sign vectors" if weight_type == "rademacher" else "weight vectors"
        draws = f"all {B:,} {what} enumerated (exact)"
    else:
        draws = f"{B:,} draws"
    text = f"wild cluster bootstrap-t, {kind}, {name} weights, {draws}, {prob.G:,} clusters"
    if prob.fe_codes:
        n_nested = sum(prob.nested)
        text += f", {len(prob.fe_codes)} fixed effect(s) absorbed"
        if n_nested:
            text += f" ({n_nested} nested in the clusters)"
    if prob.dropped:
        text += f"; X column(s) {', '.join(map(str, prob.dropped))} dropped as collinear"
    return text
