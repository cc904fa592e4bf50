"""Closed-form power of the two-group DiD with serially correlated errors.

Bloom's (1995) minimum detectable effect with Burlig, Preonas & Woerman's (2020) DiD variance
under AR(1) errors: the formula against which the simulated MDE of
:func:`evaluation.design.power.mde` is checked (and which shows why the iid formula understates
it when the errors are correlated over time). Exported by :mod:`evaluation.design.power`.

References
----------
Bloom, H. S. (1995). Minimum detectable effects: a simple way to report the statistical power of
experimental designs. *Evaluation Review* 19(5), 547–556. Burlig, F., Preonas, L. & Woerman, M.
(2020). Panel data and experimental design. *Journal of Development Economics* 144, 102458.
"""

from __future__ import annotations

import math

import numpy as np

from evaluation.errors import DataError

__all__ = ["analytic_mde", "did_variance"]


def did_variance(n_pre: int, n_post: int, *, rho: float = 0.0, sigma: float = 1.0) -> float:
    """Variance of one unit's post-minus-pre mean error under stationary AR(1) errors.

    Burlig, Preonas & Woerman (2020, eq. 7) write the DiD variance as
    ``(m + r)/(m r)·σ² + (m − 1)/m·ψᴮ + (r − 1)/r·ψᴬ − 2ψˣ`` per unit of ``1/(P(1 − P)J)``, with
    ψᴮ, ψᴬ the average covariance between distinct pre- (post-) periods and ψˣ between a pre- and
    a post-period; for AR(1) errors Cov(ε_s, ε_t) = σ²ρ^|s−t|. This equals Var(ē_post − ē_pre)
    exactly; with ρ = 0 it is the iid σ²(1/m + 1/r).
    """
    m, r = int(n_pre), int(n_post)
    if m < 1 or r < 1:
        raise DataError(f"did_variance: need n_pre ≥ 1 and n_post ≥ 1, got {m} and {r}")
    if not -1 < rho < 1:
        raise DataError(f"did_variance: rho must be in (−1, 1) for stationary errors, got {rho}")
    t = np.arange(m + r)
    cov = sigma**2 * float(rho) ** np.abs(t[:, None] - t[None, :])
    pre, post = cov[:m, :m], cov[m:, m:]
    off = ~np.eye(m, dtype=bool), ~np.eye(r, dtype=bool)
    psi_b = pre[off[0]].mean() if m > 1 else 0.0
    psi_a = post[off[1]].mean() if r > 1 else 0.0
    psi_x = cov[:m, m:].mean()
    return float(
        (m + r) / (m * r) * sigma**2 + (m - 1) / m * psi_b + (r - 1) / r * psi_a - 2 * psi_x
    )


def analytic_mde(
    n_treated: int,
    n_control: int,
    n_pre: int,
    n_post: int,
    *,
    rho: float = 0.0,
    sigma: float = 1.0,
    level: float = 0.95,
    power: float = 0.8,
    df: int | None = None,
) -> float:
    """Bloom's (1995) MDE of the two-group DiD with AR(1) errors (Burlig et al. 2020, eq. 7).

    ``(q_{1−α/2} + q_{power}) · √((1/N₁ + 1/N₀)·V)`` with V = :func:`did_variance` (unit and
    period effects cancel in the DiD) and q normal quantiles, or Student's t with ``df``
    degrees of freedom (G − 1 for cluster-robust errors, as Burlig et al. write it).
    """
    from scipy import stats

    dist = stats.norm if df is None else stats.t(df)
    z = dist.ppf(1 - (1 - level) / 2) + dist.ppf(power)
    v = did_variance(n_pre, n_post, rho=rho, sigma=sigma)
    return float(z * math.sqrt((1 / n_treated + 1 / n_control) * v))
