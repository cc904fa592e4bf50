"""Input checking of :func:`~evaluation.estimators.att_gt.att_gt`, in one place before any
computation (as R ``did``'s ``pre_process_did``).

The options are checked; units not observed in every period are dropped to balance the panel,
as ``did`` does; unit weights and clusters must be constant within a unit; and the comparison
group is set up: the never-treated, or — when no unit stays untreated and ``control="notyet"``
— the last cohort, whose periods from its start (less anticipation) are not used, as in
``did``.

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.data.prepare import show
from evaluation.errors import DataError, DesignError, examples

_CONTROL = {
    "never": "never",
    "nevertreated": "never",
    "notyet": "notyet",
    "notyettreated": "notyet",
}


def _check_options(control, base_period, est_method, anticipation, n_boot) -> str:
    """The options att_gt takes, checked; returns the comparison group ("never"/"notyet")."""
    ctrl = _CONTROL.get(control) if isinstance(control, str) else None
    if ctrl is None:
        raise DataError(f"argument 'control' must be 'never' or 'notyet', got {control!r}")
    if base_period not in ("varying", "universal"):
        raise DataError(
            f"argument 'base_period' must be 'varying' or 'universal', got {base_period!r}"
        )
    if est_method not in ("reg", "dr"):
        raise DataError(
            f"argument 'est_method' must be 'reg' (outcome regression) or 'dr' (doubly robust), "
            f"got {est_method!r}"
        )
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        raise DataError(
            f"argument 'anticipation' must be a whole number of periods ≥ 0, got {anticipation!r}"
        )
    if not isinstance(n_boot, int | np.integer) or n_boot < 99:
        raise DataError(f"argument 'n_boot' must be an integer ≥ 99, got {n_boot!r}")
    return ctrl


@dataclass
class _Units:
    """The units att_gt uses (observed in every period), as unit × period matrices."""

    keep: np.ndarray
    G: np.ndarray
    Y: np.ndarray
    X: list[np.ndarray]
    w: np.ndarray
    cluster: np.ndarray | None
    n_clusters: int
    warnings: list[str]


def _balanced_units(prep, cluster, unit, weights, n_covariates) -> _Units:
    """Drop units not observed in every period (as R did does) and check that weights and
    clusters are constant within units."""
    warnings = list(prep.warnings)
    Y = prep.wide()
    keep = ~np.isnan(Y).any(axis=1)
    if not keep.all():
        dropped = prep.units[~keep]
        warnings.append(
            f"{len(dropped)} unit(s) not observed in every period were dropped to balance the "
            f"panel (as R did does): {examples(dropped.tolist())}."
        )
    X = [prep.wide(prep.controls[:, j])[keep] for j in range(n_covariates)]
    W = prep.wide(np.ones(prep.n) if prep.weights is None else prep.weights)[keep]
    if prep.weights is not None and np.any(np.nanmax(W, 1) != np.nanmin(W, 1)):
        raise DataError(
            f"argument 'weights': column '{weights}' must be constant within each unit for "
            "att_gt (unit weights)."
        )
    cl_unit, n_clusters = None, int(keep.sum())
    if cluster is not None and cluster != unit:
        cl_rows = prep.wide(prep.cluster.astype(float))[keep]
        if np.any(np.nanmax(cl_rows, 1) != np.nanmin(cl_rows, 1)):
            raise DataError(
                f"argument 'cluster': column '{cluster}' changes within a unit; units must be "
                "nested in clusters."
            )
        codes, uniq = pd.factorize(cl_rows[:, 0], sort=True)
        cl_unit, n_clusters = codes.astype(np.int64), len(uniq)
    return _Units(
        keep, prep.cohort_pos[keep].copy(), Y[keep], X, W[:, 0], cl_unit, n_clusters, warnings
    )


def _comparison_groups(units: _Units, prep, ctrl: str, anticipation: int):
    """Timing group of each unit (``never`` = T for the comparison group), the usable periods
    and, without never-treated units, the last cohort that stands in for them (as R did)."""
    G, T = units.G, prep.T
    never, T_eff, last_cohort = T, T, None
    if not (G == never).any():
        if ctrl == "never":
            raise DesignError(
                "att_gt(control='never'): no unit stays untreated, so there is no never-treated "
                "comparison group. Use control='notyet' (later cohorts serve as comparisons "
                "until they are treated)."
            )
        last_cohort = int(G.max())
        T_eff = last_cohort - anticipation
        G = np.where(G == last_cohort, never, G)
        units.warnings.append(
            f"No never-treated units: the last cohort ({show(prep.times[last_cohort])}) serves "
            f"as the comparison group and periods from {show(prep.times[min(T_eff, T - 1)])} on "
            "are not used (as in R did)."
        )
        if not (G < never).any():
            raise DesignError(
                "att_gt: every unit is treated at the same time, so there is no comparison group."
            )
    if T_eff < 2:
        raise DesignError("att_gt: fewer than two usable periods remain.")
    small = [int((G == gg).sum()) for gg in np.unique(G[G < never])]
    if (G == never).sum() < 2 or min(small) < 2:
        units.warnings.append(
            "Some cohorts or the never-treated group have a single unit: ATT(g,t) are then "
            "one unit's changes and the influence-function standard errors are unreliable."
        )
    return G, never, T_eff, last_cohort


def _treated_clusters(treated_units: np.ndarray, cl_unit: np.ndarray | None) -> int:
    if cl_unit is None:
        return int(treated_units.sum())
    return int(np.unique(cl_unit[treated_units]).size)
