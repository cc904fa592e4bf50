"""The placebo-in-space rank test: exact p-values from ranking the treated unit among its
controls run as if treated, and confidence intervals by inverting that test.

If the programme had no effect and the treated unit was, as far as the statistic can tell, a
random draw among the units, the real statistic is exchangeable with the placebo ones, so
``p = (1 + #{placebo statistic ≥ real}) / (placebos + 1)`` is an exact permutation p-value,
smallest ``1/(J + 1)`` (Abadie, Diamond & Hainmueller 2010, §4.2; Firpo & Possebom 2018,
*J. Causal Inference* 6(2)). As in ADH, the real treated units are kept out of the placebo
runs' donor pools, so that their post-period effect cannot distort the placebos; the price is
that the treated unit has one more donor than each placebo, a small departure from exact
symmetry.

:func:`placebo_space_matrix` is the method the synthetic control and synthetic DiD run as
their randomization inference (through :mod:`evaluation.inference.engine`);
:mod:`evaluation.diagnostics.placebo` re-runs any estimator with fake treated units or fake
start dates as a check.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import DesignError
from evaluation.inference.choose import design_limit_warning

__all__ = [
    "describe",
    "placebo_sets",
    "placebo_space_matrix",
    "rank_pvalue",
    "result_warnings",
    "rmspe_ratio",
]


# --------------------------------------------------------------------------------------------
# Exact rank p-values and their inversion
# --------------------------------------------------------------------------------------------


def rank_pvalue(real: float, placebos: np.ndarray) -> float:
    """``(1 + #{placebo ≥ real}) / (n + 1)``: exact when the real unit is a random draw."""
    placebos = np.asarray(placebos, dtype=float)
    ge = placebos >= real - 1e-12 * max(abs(real), 1e-300)
    return float((1 + np.count_nonzero(ge)) / (placebos.size + 1))


def _critical(placebos: np.ndarray, alpha: float) -> float | None:
    """Largest statistic still accepted at level alpha, or None when every value is.

    θ is accepted when ``(1 + m(θ)) / (B + 1) > α`` with m(θ) = #{placebo ≥ stat(θ)}, i.e.
    when at least k = ⌊α(B + 1)⌋ placebos are ≥ stat(θ): stat(θ) ≤ k-th largest placebo.
    """
    B = placebos.size
    k = math.floor(alpha * (B + 1) + 1e-9)
    if k <= 0:
        return None
    return float(np.sort(placebos)[::-1][k - 1])


def _rmspe(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else float("nan")


def rmspe_ratio(post: float, pre: float) -> float:
    if pre > 0:
        return post / pre
    return math.inf if post > 0 else 0.0


def placebo_sets(n_controls: int, size: int, max_sets: int, seed: int):
    total = math.comb(n_controls, size)
    if total <= max_sets:
        return [list(c) for c in itertools.combinations(range(n_controls), size)], True
    rng = np.random.default_rng(seed)
    return [
        sorted(rng.choice(n_controls, size, replace=False).tolist()) for _ in range(max_sets)
    ], False


def placebo_space_matrix(
    Y: np.ndarray,
    N0: int,
    T0: int,
    fit: Callable[[np.ndarray, int, int], tuple[float, np.ndarray]],
    *,
    point: float,
    gap: np.ndarray,
    statistic: str,
    level: float,
    max_sets: int,
    seed: int,
    units: Sequence,
) -> dict[str, Any]:
    """Placebo-in-space rank test on an outcome matrix (controls first, treated last).

    ``fit(Yp, n0, T0) -> (estimate, gap)`` is the estimator. Each placebo set of N1 controls
    is put last, the real treated rows are dropped, the other controls are the donors.
    The confidence set inverts the test over a constant effect θ: subtracting θ from the
    treated post-period outcomes shifts the treated unit's post-period gap by θ and leaves the
    weights (fitted on pre-period outcomes and on controls only) and the placebos unchanged,
    so the accepted set has a closed form: ``estimate ± c`` for the effect statistic;
    ``mean gap ± √((c·pre RMSPE)² − var(post gap))`` for the RMSPE ratio.
    """
    N, T = Y.shape
    N1 = N - N0
    if N0 - N1 < 1:
        raise DesignError(
            f"placebo-in-space needs more controls than treated units to form placebo groups "
            f"with donors left over: {N0} control(s), {N1} treated. Use inference='conformal' "
            "or add comparison units."
        )
    sets, enumerated = placebo_sets(N0, N1, max_sets, seed)
    rows = []
    for s in sets:
        donors = [j for j in range(N0) if j not in s]
        est, g = fit(Y[donors + list(s)], len(donors), T0)
        pre, post = _rmspe(g[:T0]), _rmspe(g[T0:])
        rows.append(
            {
                "units": ", ".join(str(units[j]) for j in s),
                "treated": False,
                "estimate": float(est),
                "pre_rmspe": pre,
                "post_rmspe": post,
                "rmspe_ratio": rmspe_ratio(post, pre),
            }
        )
    pre_t, post_t = _rmspe(gap[:T0]), _rmspe(gap[T0:])
    real = {
        "units": ", ".join(str(u) for u in units[N0:]),
        "treated": True,
        "estimate": float(point),
        "pre_rmspe": pre_t,
        "post_rmspe": post_t,
        "rmspe_ratio": rmspe_ratio(post_t, pre_t),
    }
    table = pd.DataFrame([real] + rows)
    if statistic == "effect":
        placebo_stats = np.abs(table["estimate"].to_numpy()[1:])
        real_stat = abs(point)
    else:
        placebo_stats = table["rmspe_ratio"].to_numpy()[1:]
        real_stat = real["rmspe_ratio"]
    pvalue = rank_pvalue(real_stat, placebo_stats)
    table["statistic"] = np.r_[real_stat, placebo_stats]
    table["rank"] = table["statistic"].rank(ascending=False, method="max").astype(int)
    alpha = 1 - level
    c = _critical(placebo_stats, alpha)
    empty = False
    if c is None:
        lo, hi = -math.inf, math.inf
    elif statistic == "effect":
        lo, hi = point - c, point + c
    else:
        post_gap = gap[T0:]
        r2 = (c * pre_t) ** 2 - float(np.var(post_gap)) if np.isfinite(c) else math.inf
        if r2 < 0:
            lo = hi = float("nan")
            empty = True
        else:
            mid = float(post_gap.mean())
            lo, hi = mid - math.sqrt(r2), mid + math.sqrt(r2)
    return {
        "pvalue": pvalue,
        "ci_low": lo,
        "ci_high": hi,
        "min_pvalue": 1.0 / (len(sets) + 1),
        "n_sets": len(sets),
        "enumerated": enumerated,
        "table": table,
        "empty": empty,
    }


def describe(res: dict[str, Any], statistic: str, n_treated: int, level: float) -> str:
    """The placebo-in-space rank test of :func:`placebo_space_matrix` in words."""
    stat_words = (
        "post/pre RMSPE ratio (Abadie, Diamond & Hainmueller 2010)"
        if statistic == "rmspe_ratio"
        else "absolute average effect"
    )
    n_sets = res["n_sets"]
    sets = (
        f"each of the {n_sets} controls in turn as if treated"
        if n_treated == 1
        else f"{n_sets} sets of {n_treated} controls as if treated"
        + (" (all)" if res["enumerated"] else " (random draws)")
    )
    return (
        f"placebo-in-space rank test: {sets}, the controls only as donors; p = rank of the "
        f"treated unit's {stat_words} among all {n_sets + 1}; {level:.0%} CI by test inversion "
        "over a constant effect"
    )


def result_warnings(res: dict[str, Any], n_treated: int, level: float) -> list[str]:
    """The caveats of a placebo rank test: an empty or unbounded confidence set, and a design
    that cannot reach the level at all (the package's one wording)."""
    out: list[str] = []
    if res["empty"]:
        out.append(
            "No constant effect is consistent with the placebo test at this level (the "
            "post-period gap varies too much over time), so the confidence set is empty."
        )
    unit_word = "ward" if n_treated == 1 else f"group of {n_treated} wards"
    limit = design_limit_warning(
        res["min_pvalue"],
        level,
        f"with one treated {unit_word} and {res['n_sets']} placebo comparisons",
    )
    if limit:
        out.append(limit)
    if math.isinf(res["ci_low"]) and not res["empty"]:
        out.append(
            f"The {level:.0%} confidence interval is unbounded: with {res['n_sets'] + 1} units in "
            f"the comparison no effect size, however large or small, can be rejected at the "
            f"{1 - level:.0%} level."
        )
    return out
