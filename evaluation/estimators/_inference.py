"""The seam between the estimators and the inference methods.

An estimator asks :func:`resolve` which method to run (the user's choice, checked, or the
design-based choice of :func:`evaluation.inference.choose.choose_inference` for ``"auto"``), then
calls :func:`wild` or :func:`randomization`. Both import their method lazily, so the estimators
work (and ``inference="cluster"`` / ``"none"`` run) before those modules exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from evaluation.errors import InferenceError
from evaluation.inference.choose import choose_inference

__all__ = [
    "Choice",
    "INFERENCE_OPTIONS",
    "finish",
    "few_clusters_warning",
    "fields_from",
    "randomization",
    "reassigned_cohorts",
    "resolve",
    "wild",
]

INFERENCE_OPTIONS = ("auto", "cluster", "wild", "randomization", "conformal", "none")

_DESCRIBE = {
    "cluster": "cluster-robust (CR1) standard errors, t with G−1 degrees of freedom",
    "wild": "restricted wild cluster bootstrap (WCR, Webb weights)",
    "randomization": "randomization inference (permuting which units are treated)",
    "conformal": "conformal inference (permuting time, Chernozhukov, Wüthrich & Zhu 2021)",
    "none": "none (point estimate only)",
}


@dataclass
class Choice:
    method: str
    reason: str
    auto: bool


def resolve(
    inference: str,
    *,
    estimator: str,
    available: tuple[str, ...],
    n_clusters: int,
    n_treated_clusters: int,
    n_periods: int,
    cluster_name: str,
    n_pre_periods: int | None = None,
) -> Choice:
    """Validate ``inference`` for this estimator and design; resolve ``"auto"``.

    ``n_pre_periods``: periods before the start when a single unit is treated (None
    otherwise); conformal inference needs it.
    """
    if not isinstance(inference, str) or inference not in INFERENCE_OPTIONS:
        raise InferenceError(
            f"{estimator}: inference={inference!r} is not an option; choose one of "
            f"{', '.join(repr(o) for o in INFERENCE_OPTIONS)}."
        )
    if inference == "none":
        return Choice("none", "no inference requested (point estimate only)", False)
    if inference == "auto":
        method, reason = choose_inference(
            n_clusters,
            n_treated_clusters,
            n_periods,
            estimator=estimator,
            n_pre_periods=n_pre_periods,
            available=available,
        )
        return Choice(method, reason, True)
    if inference not in available:
        hint = {
            "conformal": "conformal inference needs a single treated unit: ev.twfe on a "
            "balanced panel without controls or weights, ev.synthetic_control or "
            "ev.synthetic_did",
        }.get(inference, "")
        raise InferenceError(
            f"{estimator}: inference={inference!r} does not apply to this estimator"
            + (f" ({hint})" if hint else "")
            + f"; it offers {', '.join(repr(a) for a in available)} or 'auto'."
        )
    if inference in ("cluster", "wild") and n_clusters < 2:
        raise InferenceError(
            f"{estimator}: inference={inference!r} needs at least two clusters in column "
            f"'{cluster_name}', found {n_clusters}. Cluster by a coarser unit that still varies "
            "or use inference='randomization'."
        )
    if inference == "wild" and min(n_treated_clusters, n_clusters - n_treated_clusters) < 1:
        raise InferenceError(
            f"{estimator}: the wild cluster bootstrap needs treated and untreated clusters."
        )
    return Choice(inference, f"{_DESCRIBE[inference]}, as requested", False)


def wild(y, X, cluster, *, param: int, fe, weights, level: float, seed, n_boot: int) -> Any:
    """Run the restricted wild cluster bootstrap of :mod:`evaluation.inference.wild`."""
    from evaluation.inference.wild import wild_cluster_bootstrap

    return wild_cluster_bootstrap(
        y,
        X,
        cluster,
        param=param,
        fe=fe,
        weights=weights,
        null=0.0,
        B=n_boot,
        weight_type="webb",
        impose_null=True,
        level=level,
        seed=seed,
    )


def randomization(
    fit: Callable[[Any], float],
    data,
    *,
    unit: str,
    cohort: str,
    time: str,
    outcome: str,
    level: float,
    seed,
    reps: int = 9999,
    linear: bool = True,
    batch: Callable[[Any, np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None,
) -> Any:
    """Run randomization inference of :mod:`evaluation.inference.randomization`.

    ``fit(data) -> float`` re-estimates the effect on data with permuted cohorts; it is the
    estimator's ``inference="none"`` fast path. ``linear``: the estimator is linear in the
    outcome (least squares DiD / TWFE / event study / att_gt), which gives the exact
    test-inversion interval from two fits per assignment; for a non-linear one (Poisson) only
    the p-value is computed, since a grid search would need ~80 fits per assignment.
    ``batch``: the estimator's exact vectorised form for all assignments at once (see
    ``fast`` in :func:`~evaluation.inference.randomization.randomization_inference`), used
    when given; ``fit`` is then called once, for the observed data.
    """
    from evaluation.inference.randomization import randomization_inference

    return randomization_inference(
        fit,
        data,
        unit=unit,
        cohort=cohort,
        time=time,
        outcome=outcome,
        reps=reps,
        seed=seed,
        level=level,
        ci=linear,
        linear=linear,
        fast=batch if linear else None,
    )


def reassigned_cohorts(
    panel_units: np.ndarray, cohort_pos: np.ndarray, units, donors: np.ndarray
) -> np.ndarray:
    """Cohort grid positions of the panel's units under each re-assignment.

    ``units`` (the randomization's unit labels) and ``donors`` (assignments × units: unit j
    takes the cohort of unit ``donors[a, j]``) come from randomization inference;
    ``panel_units`` and ``cohort_pos`` are the estimator's units and their observed cohort
    positions. Returns an (assignments × panel units) integer array in the panel's unit order.
    """
    import pandas as pd

    at = pd.Index(panel_units).get_indexer(pd.Index(units))  # panel row of each column
    if len(units) != len(panel_units) or (at < 0).any():
        raise InferenceError(
            "randomization inference: the units being permuted are not the estimator's units"
        )
    col_of_panel = np.empty_like(at)
    col_of_panel[at] = np.arange(len(at))
    pos_of_col = np.asarray(cohort_pos)[at]
    return pos_of_col[np.asarray(donors)][:, col_of_panel]


def conformal(prep, data, *, level: float, seed) -> Any:
    """Conformal (time-permutation) test and interval for a single treated unit, with the DiD
    counterfactual (equal control weights plus intercept) that matches the TWFE estimate."""
    from evaluation.inference.conformal import conformal_test

    res = conformal_test(
        data,
        prep.outcome,
        prep.unit_name,
        prep.time_name,
        prep.cohort_name,
        model="did",
        level=level,
        seed=0 if seed is None else int(seed),
    )
    return res


def fields_from(result: Any) -> dict[str, float]:
    """se / ci / p-value / min p-value of a wild or randomization result object."""

    def get(name: str) -> float:
        v = getattr(result, name, float("nan"))
        return float(v) if v is not None else float("nan")

    return {
        "se": get("se"),
        "ci_low": get("ci_low"),
        "ci_high": get("ci_high"),
        "pvalue": get("pvalue"),
        "min_pvalue": get("min_pvalue"),
    }


def describe(method: str) -> str:
    return _DESCRIBE.get(method, method)


def finish(
    choice,
    prep,
    data,
    level,
    seed,
    n_boot,
    fit_fn,
    *,
    beta,
    V,
    df,
    wild_args,
    linear=True,
    batch=None,
):
    """se / ci / p-value of the treatment coefficient (index 0) by the chosen method.

    Returns ``(fields, method_code, inference_text, warnings)``. ``batch``: the estimator's exact
    vectorised form for randomization inference (see :func:`randomization`), when it has one.
    """
    from evaluation.inference.cluster import t_inference

    warnings: list[str] = []
    text = choice.reason
    if choice.method in ("wild", "randomization", "conformal"):
        if choice.method == "wild":
            res = wild(**wild_args, level=level, seed=seed, n_boot=n_boot)
        elif choice.method == "conformal":
            from evaluation.inference.conformal import statistic_words

            res = conformal(prep, data, level=level, seed=seed)
            text += (
                f"; moving-block permutations of the {res.n_permutations} periods with a DiD "
                f"counterfactual, statistic {statistic_words(res.statistic_name, res.q)} "
                f"(pre-period residual autocorrelation {res.autocorrelation:.2f}), interval "
                "by test inversion for a constant effect"
            )
            warnings.extend(res.warnings)
        else:
            res = randomization(
                fit_fn,
                data,
                unit=prep.unit_name,
                cohort=prep.cohort_name,
                time=prep.time_name,
                outcome=prep.outcome,
                level=level,
                seed=seed,
                reps=n_boot,
                linear=linear,
                batch=batch,
            )
            text += "; " + getattr(res, "description", "")
            warnings.extend(getattr(res, "warnings", ()))
        return fields_from(res), choice.method, text, warnings
    se = float(np.sqrt(V[0, 0])) if V[0, 0] > 0 else float("nan")
    p, lo, hi = t_inference(beta, se, df, level)
    if choice.auto:
        text += f"; clustered by '{prep.cluster_name}' ({prep.n_clusters} clusters)"
    else:
        text = (
            f"{_DESCRIBE['cluster']}, clustered by '{prep.cluster_name}' "
            f"({prep.n_clusters} clusters), as requested"
        )
    fields = {"se": se, "ci_low": lo, "ci_high": hi, "pvalue": p, "min_pvalue": float("nan")}
    return fields, "cluster", text, warnings


def few_clusters_warning(choice: Choice, n_clusters: int) -> list[str]:
    """A caveat when CR1 was requested explicitly on a design with few clusters."""
    from evaluation.inference.choose import MANY_CLUSTERS

    if choice.method == "cluster" and not choice.auto and n_clusters < MANY_CLUSTERS:
        return [
            f"Cluster-robust standard errors with only {n_clusters} clusters tend to be too "
            "small (p-values too low); inference='auto' chooses a method valid here."
        ]
    return []
