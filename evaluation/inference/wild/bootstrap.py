"""The entry point of the wild cluster bootstrap-t, :func:`wild_cluster_bootstrap`, and its result.

It prepares the regression once (:mod:`.prepare`), draws or enumerates the weight vectors
(:mod:`.weights`), runs them through the cluster-level kernel (:mod:`.kernel`) and reports the
symmetric p-value and the confidence interval by test inversion in a
:class:`WildBootstrapResult`: the restricted (WCR) or unrestricted (WCU) wild cluster
bootstrap-t of Cameron, Gelbach & Miller (2008), *Review of Economics and Statistics* 90(3),
computed as ``boottest`` does (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild", *Stata
Journal* 19(1)). What is estimated, and why with few clusters: :mod:`evaluation.inference.wild`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from evaluation.inference.wild.kernel import _invert, _Kernel, _pvalues
from evaluation.inference.wild.prepare import _prepare, _Problem
from evaluation.inference.wild.weights import _NAMES, _weight_source

__all__ = ["wild_cluster_bootstrap", "WildBootstrapResult"]


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
    fixed effects that are not nested in the clusters (see :mod:`evaluation.inference.wild.kernel`).
    The result equals re-running the full fixed-effect regression with CR1 on every bootstrap
    sample.

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
