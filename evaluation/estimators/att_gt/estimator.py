"""The entry point :func:`att_gt`: Callaway & Sant'Anna (2021) group-time average treatment
effects ATT(g, t), as R ``did::att_gt`` computes them.

It checks the input (:mod:`.preprocess`), estimates every (g, t) cell and its influence
function (:mod:`.cells`), and returns an :class:`~evaluation.estimators.att_gt.results.AttGt`
with standard errors, pointwise intervals, uniform bands when bootstrapped (:mod:`.bootstrap`)
and the Wald pre-test; ``AttGt.aggregate`` then gives the aggregations (:mod:`.aggregate`).

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import partial

import numpy as np
import pandas as pd

from evaluation.data.prepare import check_level, prepare
from evaluation.estimators.att_gt.bootstrap import _normal_q
from evaluation.estimators.att_gt.cells import (
    _Cells,
    _cells,
    _cells_unconditional,
    _cells_with_covariates,
    _wald_pretest,
)
from evaluation.estimators.att_gt.preprocess import (
    _balanced_units,
    _check_options,
    _comparison_groups,
    _treated_clusters,
)
from evaluation.estimators.att_gt.results import AttGt


def att_gt(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    control: str = "never",
    anticipation: int = 0,
    base_period: str = "varying",
    covariates: Sequence[str] = (),
    est_method: str = "dr",
    bootstrap: bool = False,
    n_boot: int = 999,
    seed: int | None = 0,
    cluster: str | None = None,
    weights: str | None = None,
    level: float = 0.95,
) -> AttGt:
    """Group-time average treatment effects ATT(g, t) of Callaway & Sant'Anna (2021).

    Parameters
    ----------
    data, outcome, unit, time, cohort
        Long panel (one row per unit × period) and column names; ``cohort`` is the first
        treated period, missing = never treated. Units not observed in every period are
        dropped (as R ``did`` does by default), with a warning.
    control
        ``"never"`` (never-treated units) or ``"notyet"`` (never- and not-yet-treated units).
        Without never-treated units, ``"notyet"`` uses the last cohort as the comparison until
        it is treated and drops the later periods (as R ``did`` does).
    anticipation
        Number of periods before the start in which units may already react.
    base_period
        ``"varying"`` (pre-periods compared with the period just before) or ``"universal"``
        (all compared with g − 1 − anticipation).
    covariates
        Columns for conditional parallel trends (values of the base period are used).
    est_method
        ``"dr"`` (doubly robust, Sant'Anna & Zhao 2020; the default, as in R did) or ``"reg"``
        (outcome regression). Without covariates both equal the unconditional 2×2 comparison.
    bootstrap, n_boot, seed
        Multiplier bootstrap (Rademacher weights) for standard errors and uniform bands.
    cluster
        Column of clusters (e.g. ``"ward"`` when units are junctions); influence functions are
        summed within clusters.
    weights
        Column of positive unit weights (constant within unit).
    level
        Confidence level.

    Returns
    -------
    AttGt
        ``.table`` of ATT(g, t); ``.aggregate(kind)``; ``.pretrend``; ``.plot()``.
    """
    level = check_level(level)
    ctrl = _check_options(control, base_period, est_method, anticipation, n_boot)
    anticipation = int(anticipation)
    covariates = list(covariates) if not isinstance(covariates, str) else [covariates]
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="att_gt",
        cluster=cluster,
        controls=covariates,
        weights=weights,
        one_row_per_cell=True,
        allow_always_treated=False,
        anticipation=anticipation,
    )
    units = _balanced_units(prep, cluster, unit, weights, len(covariates))
    G, never, T_eff, last_cohort = _comparison_groups(units, prep, ctrl, anticipation)
    cells = _cells(G, never, T_eff, base_period, anticipation, ctrl)
    n = len(G)
    dY = units.Y[:, cells.t]
    dY -= units.Y[:, cells.b]
    if covariates:
        att, IF = _cells_with_covariates(
            dY,
            cells.treated[cells.ug],
            cells.control[cells.ug],
            units.w,
            units.X,
            cells.b,
            est_method,
            covariates,
            n,
        )
    else:
        att, IF = _cells_unconditional(dY, cells.treated, cells.control, cells.ug, units.w, n)
    del dY
    same = cells.t == cells.b  # universal base period itself: ATT = 0 by construction
    att[same] = 0.0
    IF[:, same] = 0.0
    counts = np.bincount(cells.ug, minlength=len(cells.groups)).astype(float)
    n_ctrl = (counts @ cells.control).astype(int)
    if (n_ctrl == 0).any():
        units.warnings.append(
            f"{int((n_ctrl == 0).sum())} ATT(g,t) have no comparison units and are missing."
        )
    result = AttGt(
        table=pd.DataFrame(
            {
                "group": prep.times[cells.g],
                "time": prep.times[cells.t],
                "event_time": cells.t - cells.g,
                "att": att,
            }
        ),
        influence=IF,
        pretrend=None,
        outcome=outcome,
        control=ctrl,
        anticipation=anticipation,
        base_period=base_period,
        est_method=est_method,
        level=level,
        bootstrap=bool(bootstrap),
        n_boot=int(n_boot),
        seed=seed,
        n_obs=int(n * prep.T),
        n_units=n,
        n_treated=int((prep.cohort_pos[units.keep] < prep.T).sum()),
        n_clusters=units.n_clusters,
        crit_val=math.nan,
        warnings=units.warnings,
        _unit_group=G,
        _unit_weight=units.w,
        _cluster=units.cluster,
        _group_pos=cells.g,
        _time_pos=cells.t,
        _times=prep.times,
        _data=data,
        _design=(_treated_clusters(G < never, units.cluster), prep.T, unit, cohort, time),
    )
    if not covariates and prep.weights is None and units.keep.all():
        # what the vectorised randomization inference needs (AttGt._randomization_batch)
        result._fast = {
            "units": prep.units,
            "cohort_pos": prep.cohort_pos,
            "Y": units.Y,
            "D": prep.wide(prep.treated.astype(float)),
            "base": cells.b,
            "groups": cells.groups,
            "treated_groups": cells.treated,
            "control_groups": cells.control,
            "counts": counts,
            "last_cohort": last_cohort,
            "never": never,
        }
    result._refit = partial(
        att_gt,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        control=control,
        anticipation=anticipation,
        base_period=base_period,
        covariates=tuple(covariates),
        est_method=est_method,
        bootstrap=False,
        cluster=cluster,
        weights=weights,
        level=level,
    )
    _complete_table(result, cells, att, IF, counts, n_ctrl, prep.times, anticipation, n)
    return result


def _complete_table(result: AttGt, cells: _Cells, att, IF, counts, n_ctrl, times, anticipation, n):
    """Standard errors, intervals, bands and counts of the ATT(g, t) table; the pre-test."""
    table = result.table
    se, crit = result._se(IF, uniform=result.bootstrap)
    z = _normal_q(result.level)
    table["se"] = se
    table["ci_low"] = att - z * se
    table["ci_high"] = att + z * se
    if result.bootstrap:
        table["band_low"] = att - crit * se
        table["band_high"] = att + crit * se
    table["post"] = cells.g <= cells.t
    table["base"] = times[cells.b]
    table["n_treated"] = (counts @ cells.treated).astype(int)
    table["n_control"] = n_ctrl
    result.crit_val = float(crit)
    result.pretrend = _wald_pretest(att, IF, cells.g, cells.t, anticipation, n, se)
    if result.pretrend is None and bool(((cells.g > cells.t) & np.isfinite(se)).any()):
        result.warnings.append(
            "The joint pre-trend test is not computed: the covariance of the pre-treatment "
            "ATT(g,t) is singular (more pre-treatment cells than units). Inspect the "
            "pre-treatment estimates of aggregate('dynamic') instead."
        )
