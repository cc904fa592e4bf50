"""Standard errors of ATT(g, t) and of its aggregations, from their influence functions.

Analytic: SE = √Σψ² / n over units (over cluster sums of ψ when clustered), scaled as in R
``did``. Bootstrapped: the multiplier bootstrap of R ``did::mboot`` — Rademacher weights per
unit (or per cluster, on cluster means), standard errors from the interquartile range of the
draws, and the critical value of uniform (simultaneous) confidence bands from the maximum of
the studentised draws, as Callaway & Sant'Anna (2021) propose. Standard errors too close to
zero (the universal base period's zero cells) are dropped as NA, as ``did`` does.

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

import math

import numpy as np

# did drops near-zero standard errors (e.g. the universal base period's zero cells) as NA
_SE_FLOOR = math.sqrt(np.finfo(float).eps) * 10


def influence_se(res, psi: np.ndarray, uniform: bool) -> tuple[np.ndarray, float]:
    """Standard errors of the columns of ``psi`` (units × estimates) and the critical value of
    their intervals, for the :class:`~evaluation.estimators.att_gt.results.AttGt` ``res``: the
    multiplier bootstrap when ``res.bootstrap`` (uniform critical value), otherwise analytic
    (normal critical value)."""
    n = psi.shape[0]
    if res.bootstrap:
        rng = np.random.default_rng(res.seed)
        se, crit = multiplier_bootstrap(psi, res._cluster, res.n_boot, rng, res.level)
        return se, crit
    if res._cluster is None:
        se = np.sqrt((psi**2).sum(axis=0)) / n
    else:
        S = np.zeros((int(res._cluster.max()) + 1, psi.shape[1]))
        np.add.at(S, res._cluster, psi)
        se = np.sqrt((S**2).sum(axis=0)) / n
    se = np.where(se <= _SE_FLOOR, np.nan, se)
    return se, _normal_q(res.level)


def _normal_q(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))


def _normal_p(est: float, se: float) -> float:
    from scipy import stats

    if not (np.isfinite(se) and se > 0):
        return math.nan
    return float(2 * stats.norm.sf(abs(est / se)))


def multiplier_bootstrap(
    psi: np.ndarray,
    cluster: np.ndarray | None,
    n_boot: int,
    rng: np.random.Generator,
    level: float,
) -> tuple[np.ndarray, float]:
    """Multiplier bootstrap of influence functions (R ``did::mboot``): Rademacher weights per
    unit (or per cluster, on cluster means), SE from the interquartile range of the draws,
    and the uniform critical value = (level) quantile of max_j |draw_j / σ_j|."""
    from scipy import stats

    n, k = psi.shape
    if cluster is not None:
        G = int(cluster.max()) + 1
        sizes = np.bincount(cluster, minlength=G)
        base = np.zeros((G, k))
        np.add.at(base, cluster, psi)
        base /= sizes[:, None]
        m = G
    else:
        base, m = psi, n
    draws = np.empty((n_boot, k))
    chunk = max(1, int(4_000_000 // max(m, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        v = rng.integers(0, 2, size=(b, m), dtype=np.int8).astype(float) * 2 - 1
        draws[s : s + b] = (v @ base) / m
    draws *= math.sqrt(m)
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    sigma = np.where(sigma <= _SE_FLOOR, np.nan, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        tmax = np.nanmax(np.abs(draws / sigma), axis=1)
    tmax = tmax[np.isfinite(tmax)]
    crit = float(np.quantile(tmax, level, method="inverted_cdf")) if len(tmax) else math.nan
    return sigma / math.sqrt(m), crit
