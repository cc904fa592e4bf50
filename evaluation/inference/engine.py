"""The one entry point between the estimators and the inference methods.

An estimator computes its point estimate, then hands :func:`infer` its :class:`Setting` and, for
each method it can run in this call, a *refit*: what that method needs to re-run the estimator
— the arrays of its regression for the wild bootstrap, a function that re-estimates on data
with re-assigned cohorts for randomization inference, the treated path and the controls for
the conformal test, the placebo fit for the synthetic estimators. :func:`infer` checks the
request against the one table of methods (:data:`evaluation.inference.choose.METHODS`),
resolves ``"auto"`` by design, runs the method and writes the one explanation recorded in
``Estimate.inference``. It never imports an estimator: everything it needs arrives as data or
as a callable.

Adding an inference method means: a row in ``METHODS``, a refit class here, a runner in
:data:`_RUNNERS`, and the estimators that can offer it building that refit.

The engine runs a method once, on one data set. Its batched fast paths,
:mod:`evaluation.inference.batched`, run the same tests (the same re-assignments, statistics and
tie rules, taken from :mod:`.randomization` and :mod:`.conformal`) for the thousands of simulated
replications of a power calculation at once, from the linear pieces the design stage builds
(:mod:`evaluation.design.power`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import InferenceError
from evaluation.inference import choose as _choose
from evaluation.inference.choose import DESCRIBE, Setting

__all__ = [
    "Choice",
    "ConformalRefit",
    "Inference",
    "PlaceboRefit",
    "RandomizationRefit",
    "StandardError",
    "VarianceRefit",
    "WildRefit",
    "infer",
    "no_inference",
    "point_estimate",
    "resolve",
    "run",
]


# --------------------------------------------------------------------------------------------
# Refits: what each method needs from the estimator
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StandardError:
    """A standard error the estimator computed itself (CR1, influence functions): a t interval
    with ``df`` degrees of freedom, or a normal one when ``df`` is None. ``label`` completes
    the explanation (e.g. "clustered by 'ward' (13 clusters)"); ``method`` overrides the code
    recorded (e.g. "bootstrap" for att_gt's multiplier bootstrap)."""

    se: float
    df: int | None = None
    label: str = ""
    method: str | None = None


@dataclass(frozen=True)
class WildRefit:
    """The regression for the restricted wild cluster bootstrap of coefficient ``param``."""

    y: np.ndarray
    X: np.ndarray
    cluster: np.ndarray
    param: int = 0
    fe: tuple = ()
    weights: np.ndarray | None = None


@dataclass(frozen=True)
class RandomizationRefit:
    """Re-estimation under re-assigned cohorts (randomization inference).

    ``fit(data) -> float`` is the estimator's point estimate alone; ``linear`` says it is
    linear in the outcome (exact test-inversion interval from two fits per assignment);
    ``batch`` is its exact vectorised form for every assignment at once (see
    :func:`evaluation.inference.randomization.randomization_inference`): for a linear
    estimator ``batch(units, donors) -> (θ(Y), θ(D))`` (its ``fast``), for a non-linear one
    ``batch(units, donors, tau) -> θ(Y(0)(τ))`` (its ``fast_null``), the estimates with the
    constant ``effect`` τ removed from the observed treated cells — ``"additive"``
    (Y − τD) or ``"multiplicative"`` (Y·exp(−τD), count models with a log link). A non-linear
    estimator without a batch gets the p-value only: inverting the test would refit it for
    every assignment at every τ tried.
    """

    fit: Callable[[pd.DataFrame], float]
    data: pd.DataFrame
    unit: str
    cohort: str
    time: str
    outcome: str
    linear: bool = True
    batch: Callable | None = None
    effect: str = "additive"


@dataclass(frozen=True)
class ConformalRefit:
    """One treated path ``y`` (length T), the controls ``Y0`` (T × J), the first ``T0``
    periods untreated, and the counterfactual model fitted under each null (see
    :func:`evaluation.inference.conformal.conformal_inference`). ``model_words`` names the
    model in the explanation."""

    y: np.ndarray
    Y0: np.ndarray
    T0: int
    model: str
    zeta: float = 0.0
    center: float | None = None
    permutation: str = "moving_block"
    n_permutations: int = 999
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PlaceboRefit:
    """The placebo-in-space rank test of a synthetic estimator on its outcome matrix (controls
    first): ``fit(Y, n0, t0) -> (estimate, gap)`` re-runs the estimator with other units as
    the treated (:func:`evaluation.inference.rank_test.placebo_space_matrix`)."""

    Y: np.ndarray
    N0: int
    T0: int
    fit: Callable[[np.ndarray, int, int], tuple[float, np.ndarray]]
    gap: np.ndarray
    units: list
    statistic: str = "rmspe_ratio"
    max_sets: int = 200


@dataclass(frozen=True)
class VarianceRefit:
    """A resampling standard error (placebo variance, jackknife): ``run() -> (se, info)``,
    ``info`` holding ``text`` and optionally ``warnings``, ``details`` and ``why`` (the reason
    it could not be computed)."""

    run: Callable[[], tuple[float, dict[str, Any]]]


# --------------------------------------------------------------------------------------------
# Resolving the request
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The method to run, the sentence that says why, and whether "auto" chose it."""

    method: str
    reason: str
    auto: bool


_HINTS = {
    "conformal": "conformal inference needs a single treated unit (or units starting together "
    "for the synthetic estimators) on a balanced panel: ev.twfe without controls or weights, "
    "ev.synthetic_control or ev.synthetic_did",
    "wild": "the wild cluster bootstrap needs treated and untreated clusters",
    "randomization": "randomization inference needs untreated (or later-treated) units whose "
    "cohorts can be permuted",
    "jackknife": "the jackknife leaves out one unit at a time and needs at least two treated "
    "units; use 'randomization' (the placebo rank test), 'placebo_variance' or 'conformal'",
}


#: the explanation recorded when ``inference="none"`` asked for the point estimate alone
_NO_INFERENCE = "no inference requested (point estimate only)"


def resolve(requested: Any, design: Setting, available: tuple[str, ...]) -> Choice:
    """Check ``requested`` against the estimator's methods and this call's ``available`` ones
    (those it built a refit for), and resolve ``"auto"`` (:func:`choose.choose`)."""
    estimator = design.estimator
    offered = _choose.methods_of(estimator)
    if not isinstance(requested, str) or requested not in _choose.OPTIONS:
        raise InferenceError(
            f"{estimator}: inference={requested!r} is not an option; choose one of "
            f"{', '.join(repr(o) for o in ('auto', *offered, 'none'))}."
        )
    method = _choose.ALIASES.get(requested, requested)
    if method == "none":
        return Choice("none", _NO_INFERENCE, False)
    if method == "auto":
        chosen, reason = _choose.choose(design, available)
        return Choice(chosen, f"chosen by inference='auto': {reason}", True)
    if method not in offered:
        why = _choose.NOT_OFFERED.get((estimator, method))
        raise InferenceError(
            f"{estimator}: inference={requested!r} does not apply to this estimator"
            + (f" ({why})" if why else "")
            + f"; it offers {', '.join(repr(a) for a in offered)} or 'auto'."
        )
    if method not in available:
        raise InferenceError(
            f"{estimator}: inference={requested!r} cannot be run on this call"
            + (f" ({_HINTS[method]})" if method in _HINTS else "")
            + f"; here it offers {', '.join(repr(a) for a in available)} or 'auto'."
        )
    return Choice(method, f"{DESCRIBE[method]}, as requested", False)


# --------------------------------------------------------------------------------------------
# Running a method
# --------------------------------------------------------------------------------------------


@dataclass
class Inference:
    """What a method produced: the Estimate fields, the explanation, caveats and details."""

    method: str
    text: str
    se: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    pvalue: float = math.nan
    min_pvalue: float = math.nan
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for :class:`evaluation.results.Estimate`."""
        return {
            "se": self.se,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "pvalue": self.pvalue,
            "min_pvalue": self.min_pvalue,
            "inference": self.text,
            "inference_method": self.method,
        }


def no_inference() -> Inference:
    """What ``inference="none"`` produces — no interval, no p-value — for an estimator's fast
    path that returns the point estimate alone (the path randomization inference re-runs)."""
    return Inference("none", _NO_INFERENCE)


def point_estimate(estimator: Callable[..., Any], data: pd.DataFrame, **kwargs: Any) -> float:
    """``estimator(data, **kwargs)``'s point estimate alone (``inference="none"``). Bound to
    the estimator's arguments with :func:`functools.partial`, it is the ``fit(data) -> float``
    of :class:`RandomizationRefit`."""
    return estimator(data, inference="none", **kwargs).estimate


def _value(result: Any, name: str) -> float:
    v = getattr(result, name, None)
    return float(v) if v is not None else math.nan


#: what every test reports: its interval, its p-value and the smallest p-value it can give
_TEST_FIELDS = ("ci_low", "ci_high", "pvalue", "min_pvalue")


def _test_fields(res: Any) -> dict[str, Any]:
    """The :data:`_TEST_FIELDS` of a method's result, a mapping or an object with them."""
    if isinstance(res, Mapping):
        return {k: res[k] for k in _TEST_FIELDS}
    return {k: getattr(res, k) for k in _TEST_FIELDS}


def _standard_error(
    refit: StandardError, choice: Choice, design: Setting, estimate, level, seed, reps
):
    from evaluation.core.cluster import t_inference

    se = refit.se
    if refit.df is None:
        from scipy import stats

        ok = np.isfinite(se) and se > 0
        z = float(stats.norm.ppf(0.5 + level / 2))
        p = float(2 * stats.norm.sf(abs(estimate / se))) if ok else math.nan
        lo, hi = (estimate - z * se, estimate + z * se) if np.isfinite(se) else (math.nan,) * 2
    else:
        p, lo, hi = t_inference(estimate, se, refit.df, level)
    method = refit.method or choice.method
    if choice.auto:
        text = choice.reason + (f"; {refit.label}" if refit.label else "")
    else:
        text = DESCRIBE.get(method, method) + (f", {refit.label}" if refit.label else "")
        text += ", as requested"
    return Inference(method, text, se=se, ci_low=lo, ci_high=hi, pvalue=p)


def _wild(
    refit: WildRefit, choice: Choice, design: Setting, estimate, level, seed, reps
) -> Inference:
    from evaluation.inference.wild import wild_cluster_bootstrap

    res = wild_cluster_bootstrap(
        refit.y,
        refit.X,
        refit.cluster,
        param=refit.param,
        fe=list(refit.fe),
        weights=refit.weights,
        null=0.0,
        B=reps,
        weight_type="webb",
        impose_null=True,
        level=level,
        seed=seed,
    )
    fields = {k: _value(res, k) for k in ("se", *_TEST_FIELDS)}
    return Inference("wild", choice.reason, **fields)


def _randomization(
    refit: RandomizationRefit, choice: Choice, design: Setting, estimate, level, seed, reps
):
    from evaluation.inference.randomization import randomization_inference

    by_null = not refit.linear and refit.batch is not None
    res = randomization_inference(
        refit.fit,
        refit.data,
        unit=refit.unit,
        cohort=refit.cohort,
        time=refit.time,
        outcome=refit.outcome,
        reps=reps,
        seed=seed,
        level=level,
        ci=refit.linear or by_null,
        linear=refit.linear,
        fast=refit.batch if refit.linear else None,
        effect=refit.effect,
        fast_null=refit.batch if by_null else None,
    )
    return Inference(
        "randomization",
        f"{choice.reason}; {res.description}",
        **_test_fields(res),
        warnings=list(res.warnings),
        details={"n_assignments": res.n_assignments, "exact": res.exact},
    )


def _conformal(
    refit: ConformalRefit, choice: Choice, design: Setting, estimate, level, seed, reps
) -> Inference:
    from evaluation.inference.conformal import conformal_inference, describe, result_warnings

    res = conformal_inference(
        refit.y,
        refit.Y0,
        refit.T0,
        model=refit.model,
        zeta=refit.zeta,
        permutation=refit.permutation,
        level=level,
        n_permutations=refit.n_permutations,
        seed=0 if seed is None else int(seed),
        center=refit.center,
        statistic="auto",
    )
    return Inference(
        "conformal",
        f"{choice.reason}; {describe(res, refit.model, refit.permutation, len(refit.y) - refit.T0)}",
        **_test_fields(res),
        warnings=list(refit.notes) + result_warnings(res, level, len(refit.y)),
        details={"conformal_grid": res["grid"]},
    )


def _placebo(
    refit: PlaceboRefit, choice: Choice, design: Setting, estimate, level, seed, reps
) -> Inference:
    from evaluation.inference.rank_test import describe, placebo_space_matrix, result_warnings

    res = placebo_space_matrix(
        refit.Y,
        refit.N0,
        refit.T0,
        refit.fit,
        point=estimate,
        gap=refit.gap,
        statistic=refit.statistic,
        level=level,
        max_sets=refit.max_sets,
        seed=0 if seed is None else int(seed),
        units=refit.units,
    )
    return Inference(
        "randomization",
        f"{choice.reason}; {describe(res, refit.statistic, refit.Y.shape[0] - refit.N0, level)}",
        **_test_fields(res),
        warnings=result_warnings(res, refit.Y.shape[0] - refit.N0, level),
        details={"placebo": res["table"], "placebo_statistic": refit.statistic},
    )


def _variance(
    refit: VarianceRefit, choice: Choice, design: Setting, estimate, level, seed, reps
) -> Inference:
    from scipy import stats

    se, info = refit.run()
    if not (np.isfinite(se) and se > 0):
        raise InferenceError(
            f"{design.estimator}: the {choice.method.replace('_', ' ')} standard error could "
            f"not be computed ({info.get('why', 'too few units')}). Use "
            "inference='randomization' (the placebo rank test) or 'conformal'."
        )
    z = float(stats.norm.ppf(1 - (1 - level) / 2))
    text = info["text"] if not choice.auto else f"{choice.reason}; {info['text']}"
    return Inference(
        choice.method,
        text,
        se=se,
        ci_low=estimate - z * se,
        ci_high=estimate + z * se,
        pvalue=float(2 * stats.norm.sf(abs(estimate) / se)),
        warnings=list(info.get("warnings", [])),
        details=dict(info.get("details", {})),
    )


_RUNNERS: dict[type, Callable[..., Inference]] = {
    StandardError: _standard_error,
    WildRefit: _wild,
    RandomizationRefit: _randomization,
    ConformalRefit: _conformal,
    PlaceboRefit: _placebo,
    VarianceRefit: _variance,
}


def run(
    choice: Choice,
    design: Setting,
    refit: Any,
    estimate: float,
    *,
    level: float,
    seed: int | None = 0,
    reps: int = 9999,
) -> Inference:
    """Run the chosen method on its refit and add the caveat for a method asked for on a
    design that does not support it (the one wording of
    :func:`evaluation.inference.choose.unsupported_warning`)."""
    if choice.method == "none":
        return Inference("none", choice.reason)
    if not isinstance(refit, tuple(_RUNNERS)):  # built on demand: only the chosen one is
        refit = refit()
    result = _RUNNERS[type(refit)](refit, choice, design, estimate, level, seed, reps)
    if not choice.auto:
        auto = _choose.choose(design)
        caveat = _choose.unsupported_warning(choice.method, design, auto)
        if caveat:
            result.warnings.append(caveat)
    return result


def infer(
    requested: Any,
    design: Setting,
    estimate: float,
    refits: Mapping[str, Any],
    *,
    level: float,
    seed: int | None = 0,
    reps: int = 9999,
) -> Inference:
    """Resolve ``requested`` (``"auto"`` by design) and run it.

    Parameters
    ----------
    requested
        The estimator's ``inference=`` argument.
    design
        Clusters, treated clusters, periods (and pre-periods of a single treated unit).
    estimate
        The point estimate the inference is about.
    refits
        Method name → refit (or a function that builds it, called only when that method runs),
        for every method this call can run (a method the estimator
        offers in general but cannot run here — conformal with several treated units — is
        simply absent, and asking for it raises an :class:`~evaluation.errors.InferenceError`
        that says why).
    level, seed, reps
        Confidence level; seed and draws / re-assignments / permutations of resampling methods.
    """
    choice = resolve(requested, design, tuple(refits))
    refit = refits.get(choice.method)
    return run(choice, design, refit, estimate, level=level, seed=seed, reps=reps)
