"""The classic 2×2 difference-in-differences, with its table of group × period means.

    δ = (ȳ_treated,post − ȳ_treated,pre) − (ȳ_control,post − ȳ_control,pre)

"Treated" are the units with a cohort, "control" the never-treated, "post" the periods from the
(single) start date on. Works on panels and on repeated cross-sections (several rows per unit
× period, e.g. junction-days within a ward, or different houses sold each year): every row
counts once in its cell mean. δ equals the interaction coefficient of the saturated regression
y = a + b·treated + c·post + δ·treated·post, which gives the standard errors (Card & Krueger
1994; Wooldridge 2010, *Econometric Analysis of Cross Section and Panel Data*, §6.5).
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pandas as pd

from evaluation.core.cluster import cr1_vcov
from evaluation.data.prepare import check_level, prepare, show
from evaluation.errors import DesignError
from evaluation.inference import engine
from evaluation.inference.choose import Setting
from evaluation.results import Estimate

__all__ = ["did_2x2"]


def did_2x2(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    cluster: str | None = None,
    weights: str | None = None,
    inference: str = "auto",
    level: float = 0.95,
    seed: int | None = 0,
    n_boot: int = 9999,
) -> Estimate:
    """Two-group, two-period difference-in-differences with the table of means.

    Estimates δ = (ȳ_T,post − ȳ_T,pre) − (ȳ_C,post − ȳ_C,pre), where T are the units with a
    cohort (all must share one start date), C the never-treated units, and pre/post the periods
    before / from that date. Each row counts once in its cell, so repeated cross-sections work.

    Parameters
    ----------
    data, outcome, unit, time, cohort
        Long data and column names; ``cohort`` missing = never treated.
    cluster
        Column to cluster by (default: the unit).
    weights
        Optional column of positive row weights (weighted cell means).
    inference
        ``"auto"``, ``"cluster"``, ``"wild"``, ``"randomization"`` or ``"none"`` (see
        :func:`evaluation.estimators.twfe.twfe`).
    level, seed, n_boot
        Confidence level; seed and replications of bootstrap / permutation methods.

    Returns
    -------
    Estimate
        ``details["means"]`` is the table (rows treated / control / difference; columns pre /
        post / change), ``details["counts"]`` the rows per cell, ``details["start"]`` the start
        date.
    """
    level = check_level(level)
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="did_2x2",
        cluster=cluster,
        weights=weights,
        allow_always_treated=False,
    )
    g = _single_start(prep, unit, cohort)
    treat = prep.ever_treated[prep.unit]
    post = prep.time >= g
    w = np.ones(prep.n) if prep.weights is None else prep.weights
    cell = treat.astype(int) * 2 + post.astype(int)  # 0 C-pre, 1 C-post, 2 T-pre, 3 T-post
    means, table, counts = _cell_means(prep, cell, w, g)
    delta = (means[3] - means[2]) - (means[1] - means[0])
    common = dict(
        method="2×2 difference-in-differences",
        outcome=outcome,
        level=level,
        n_obs=prep.n,
        n_units=prep.N,
        n_treated=prep.n_treated,
        n_clusters=prep.n_clusters,
        details={"means": table, "counts": counts, "start": prep.times[g]},
    )
    if inference == "none":  # the fast path randomization inference re-runs
        return Estimate(
            estimate=float(delta),
            warnings=list(prep.warnings),
            **engine.no_inference().fields(),
            **common,
        )
    # saturated regression: its interaction coefficient is δ; residuals are y − cell mean
    X = np.column_stack([np.ones(prep.n), treat, post, treat & post]).astype(float)
    resid = prep.y - means[cell]
    bread = np.linalg.inv((X * w[:, None]).T @ X)
    V = cr1_vcov(X * (w * resid)[:, None], bread, prep.cluster, prep.n_clusters, prep.n, 4)
    se = float(np.sqrt(V[3, 3])) if V[3, 3] > 0 else math.nan
    fit_fn = partial(
        engine.point_estimate,
        did_2x2,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        cluster=cluster,
        weights=weights,
    )
    G, G1 = prep.n_clusters, prep.n_treated_clusters()
    refits: dict = {
        "randomization": engine.RandomizationRefit(fit_fn, data, unit, cohort, time, outcome)
    }
    if G >= 2:
        label = f"clustered by '{prep.cluster_name}' ({G} clusters)"
        refits["cluster"] = engine.StandardError(se, G - 1, label)
        if min(G1, G - G1) >= 1:
            refits["wild"] = engine.WildRefit(prep.y, X, prep.cluster, 3, (), prep.weights)
    design = Setting("did_2x2", G, G1, prep.T, cluster_name=prep.cluster_name)
    result = engine.infer(
        inference, design, float(delta), refits, level=level, seed=seed, reps=n_boot
    )
    return Estimate(
        estimate=float(delta),
        warnings=list(prep.warnings) + result.warnings,
        **result.fields(),
        **common,
    )


def _single_start(prep, unit: str, cohort: str) -> int:
    """The one start date (its grid position); a DesignError for staggered or all-treated data."""
    cohorts = prep.cohorts
    if len(cohorts) > 1:
        starts = [prep.times[c] for c in cohorts]
        raise DesignError(
            f"did_2x2 compares one treated group with untreated units around one start date, "
            f"but column '{cohort}' has {len(cohorts)} start dates ({', '.join(map(show, starts))})."
            " Use att_gt (staggered adoption) or twfe, or keep one cohort and the never-treated."
        )
    if prep.n_treated == prep.N:
        raise DesignError(
            f"did_2x2 needs never-treated units as the control group, but every unit in column "
            f"'{unit}' is treated. Add untreated units or use att_gt with control='notyet'."
        )
    return int(cohorts[0])


def _cell_means(prep, cell: np.ndarray, w: np.ndarray, g: int):
    """The four (weighted) cell means, the table of means and the rows per cell."""
    sw = np.bincount(cell, weights=w, minlength=4)
    cnt = np.bincount(cell, minlength=4)
    if (cnt == 0).any():
        raise DesignError(
            "did_2x2: a cell of the 2×2 table is empty (treated/control × before/after); "
            f"the start date {show(prep.times[g])} must have observed periods on both sides."
        )
    means = np.bincount(cell, weights=w * prep.y, minlength=4) / sw
    table = pd.DataFrame(
        {
            "pre": [means[2], means[0], means[2] - means[0]],
            "post": [means[3], means[1], means[3] - means[1]],
        },
        index=pd.Index(["treated", "control", "difference"], name="group"),
    )
    table["change"] = table["post"] - table["pre"]
    counts = pd.DataFrame(
        {"pre": [cnt[2], cnt[0]], "post": [cnt[3], cnt[1]]},
        index=pd.Index(["treated", "control"], name="group"),
    )
    return means, table, counts
