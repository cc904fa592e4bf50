"""Which inference each estimator can run, and which one stays valid for a design ("auto").

Cluster-robust standard errors are justified by asymptotics in the number of clusters *and*
of treated clusters. With few of either they over-reject badly: MacKinnon & Webb (2017,
*J. Applied Econometrics* 32(2)) show CR1 t-tests rejecting far more than 5 % when fewer than
about ten clusters are treated, even with 50 clusters in all; Cameron, Gelbach & Miller (2008,
*REStat* 90(3)) show the same for few clusters. The restricted wild cluster bootstrap (WCR)
fixes most of that when several clusters are treated, with Webb's (2023, *Canadian J.
Economics* 56(3)) six-point weights when G is small (Rademacher weights give only 2^G distinct
draws). With one or very few treated (or control) clusters even WCR fails — it under-rejects
severely (MacKinnon & Webb 2017, 2018) — and randomization inference, which permutes which
units are treated, is the method that keeps its size (MacKinnon & Webb 2020, *J. Econometrics*
218(2); Conley & Taber 2011). With 1 treated ward of 13 its smallest p-value is 1/13.

The thresholds below (42 clusters, 10 treated clusters, 4 treated or control clusters) follow
those simulations; they are deliberately conservative.

One treated cluster with a long pre-period is the exception: conformal inference
(Chernozhukov, Wüthrich & Zhu 2021, *JASA* 116(536)) permutes *time* instead of units, so its
smallest p-value is 1/T rather than 1/13, and it stays valid with serially correlated errors
when the blocks are moving (cyclic shifts). It is chosen when the treated unit has at least
``MIN_PRE_PERIODS`` periods before its start and no fewer than after it.

This module holds the one table of the methods each estimator can run (:data:`METHODS`), the
design rule of ``inference="auto"`` (:func:`choose_inference`), and the one wording of the two
warnings a reader can meet: a design that cannot reach the significance level at all
(:func:`design_limit_warning`) and a method asked for on a design that does not support it
(:func:`unsupported_warning`).
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.errors import InferenceError

__all__ = [
    "ALIASES",
    "DESCRIBE",
    "Setting",
    "FEW_TREATED",
    "MANY_CLUSTERS",
    "MANY_TREATED",
    "METHODS",
    "MIN_PRE_PERIODS",
    "NOT_OFFERED",
    "OPTIONS",
    "choose_inference",
    "design_limit_warning",
    "unsupported",
    "unsupported_warning",
]

#: clusters needed before CR1 is trusted (Angrist & Pischke's 42; MacKinnon & Webb 2017)
MANY_CLUSTERS = 42
#: treated clusters needed before CR1 is trusted (MacKinnon & Webb 2017, 2018)
MANY_TREATED = 10
#: below this many treated (or untreated) clusters the wild bootstrap fails too
FEW_TREATED = 4
#: pre-periods a single treated unit needs before conformal (time-permutation) inference is used
MIN_PRE_PERIODS = 20

#: The methods each estimator can run, besides "auto" and "none" — the one table. Poisson PML
#: has no wild (score) bootstrap here; the event study reports many coefficients where
#: randomization gives no per-period interval; att_gt's influence-function standard errors
#: ("analytic") play the CR1 role; for the synthetic control and synthetic DiD
#: "randomization" is the placebo-in-space rank test (each control as if treated), and
#: "placebo_variance" / "jackknife" are Arkhangelsky et al.'s (2021) Algorithms 4 and 3.
METHODS: dict[str, tuple[str, ...]] = {
    "did_2x2": ("cluster", "wild", "randomization"),
    "twfe": ("cluster", "wild", "randomization", "conformal"),
    "twfe_poisson": ("cluster", "randomization"),
    "etwfe_poisson": ("cluster", "randomization"),
    "event_study": ("cluster", "wild"),
    "att_gt": ("analytic", "randomization"),
    "synthetic_control": ("conformal", "randomization", "placebo_variance"),
    "synthetic_did": ("conformal", "randomization", "placebo_variance", "jackknife"),
}

#: Every value ``inference=`` accepts somewhere.
OPTIONS = (
    "auto",
    "cluster",
    "analytic",
    "wild",
    "randomization",
    "placebo",
    "conformal",
    "placebo_variance",
    "jackknife",
    "none",
)

#: Other names for a method: the placebo-in-space rank test *is* randomization inference over
#: which unit is treated (Abadie, Diamond & Hainmueller 2010; Firpo & Possebom 2018).
ALIASES = {"placebo": "randomization"}

#: Estimators that treat the units starting together as one path (their average), so the
#: single-unit rule (conformal inference) applies to them whatever their number.
_POOLED_TREATED = ("synthetic_control", "synthetic_did")

_ONE_UNIT = (
    "cluster-robust standard errors and the wild cluster bootstrap rely on many treated "
    "clusters; with one treated unit they have no valid justification and over-reject badly "
    "(on Proposition 99 cluster-robust SEs give p ≈ 7e-12, an exact placebo test p ≈ 0.03)"
)

#: Why an estimator does not offer a method, where a reader may expect it to.
NOT_OFFERED: dict[tuple[str, str], str] = {
    ("synthetic_control", "cluster"): _ONE_UNIT,
    ("synthetic_control", "wild"): _ONE_UNIT,
    ("synthetic_did", "cluster"): _ONE_UNIT,
    ("synthetic_did", "wild"): _ONE_UNIT,
    ("synthetic_control", "jackknife"): "the jackknife is unreliable for the synthetic control "
    "(Arkhangelsky et al. 2021, §5) and undefined with one treated unit; use ev.synthetic_did",
    ("twfe_poisson", "wild"): "Poisson PML has no wild (score) bootstrap here",
    ("etwfe_poisson", "wild"): "Poisson PML has no wild (score) bootstrap here",
    ("etwfe_poisson", "conformal"): "conformal inference is built on a least-squares "
    "counterfactual",
    ("twfe_poisson", "conformal"): "conformal inference is built on a least-squares "
    "counterfactual; use family='gaussian' on rates",
    ("event_study", "randomization"): "permuting cohorts gives no interval for each event time; "
    "use att_gt(...).aggregate('dynamic') for randomization inference",
    ("att_gt", "cluster"): "att_gt's influence-function standard errors ('analytic') play the "
    "role of cluster-robust ones",
}

#: What each method is, in a phrase.
DESCRIBE = {
    "cluster": "cluster-robust (CR1) standard errors, t with G−1 degrees of freedom",
    "analytic": "influence-function (analytic) standard errors, normal interval",
    "bootstrap": "multiplier bootstrap of the influence functions, normal interval",
    "wild": "restricted wild cluster bootstrap (WCR, Webb weights)",
    "randomization": "randomization inference (permuting which units are treated)",
    "conformal": "conformal inference (permuting time, Chernozhukov, Wüthrich & Zhu 2021)",
    "placebo_variance": "placebo variance (Arkhangelsky et al. 2021, Algorithm 4)",
    "jackknife": "jackknife standard error (Arkhangelsky et al. 2021, Algorithm 3)",
    "none": "none (point estimate only)",
}


@dataclass(frozen=True)
class Setting:
    """What the choice of inference depends on, for one estimator call.

    ``n_pre_periods`` is the number of periods before the start of the single treated unit (or
    of the units treated together, for the synthetic estimators); None when several units start
    at different times. ``n_periods`` counts every period the estimate uses.
    """

    estimator: str
    n_clusters: int
    n_treated_clusters: int
    n_periods: int
    n_pre_periods: int | None = None
    cluster_name: str = "unit"

    @property
    def n_untreated_clusters(self) -> int:
        return self.n_clusters - self.n_treated_clusters

    @property
    def one_treated_path(self) -> bool:
        return self.n_treated_clusters == 1 or self.estimator in _POOLED_TREATED

    def describe(self) -> str:
        return (
            f"{self.n_clusters} clusters, {self.n_treated_clusters} treated, "
            f"{self.n_periods} periods"
        )


def methods_of(estimator: str) -> tuple[str, ...]:
    """The methods ``estimator`` can run (a KeyError names the estimators known)."""
    try:
        return METHODS[estimator]
    except KeyError:
        raise InferenceError(
            f"no inference table for estimator {estimator!r}; known: {', '.join(METHODS)}"
        ) from None


def _long_pre_period(design: Setting) -> bool:
    n_pre = design.n_pre_periods or 0
    return n_pre >= MIN_PRE_PERIODS and n_pre >= design.n_periods - n_pre


def _ideal(design: Setting, available: tuple[str, ...]) -> tuple[str, str]:
    """The method the design calls for; conformal only where the call can run it."""
    G1, G0 = design.n_treated_clusters, design.n_untreated_clusters
    situation = design.describe()
    if "conformal" in available and design.one_treated_path and _long_pre_period(design):
        n_pre, T = design.n_pre_periods, design.n_periods
        return "conformal", (
            f"{situation}: one treated cluster with {n_pre} periods before its start, so "
            "conformal inference permutes time instead of units (Chernozhukov, Wüthrich & Zhu "
            f"2021): its smallest p-value is 1/{T}, where permuting which of the "
            f"{design.n_clusters} units is treated could not go below 1/{design.n_clusters}"
        )
    if design.n_clusters >= MANY_CLUSTERS and min(G1, G0) >= MANY_TREATED:
        return "cluster", (
            f"{situation}: enough clusters and treated clusters for cluster-robust (CR1) "
            "standard errors (MacKinnon & Webb 2017)"
        )
    if min(G1, G0) < FEW_TREATED:
        side = "treated" if G1 <= G0 else "untreated"
        few = f"no {side} cluster" if min(G1, G0) == 0 else f"only {min(G1, G0)} {side} cluster(s)"
        return "randomization", (
            f"{situation}: {few}, too few for cluster-robust or wild-bootstrap inference "
            "(MacKinnon & Webb 2017, 2020), so randomization inference permutes which units "
            "are treated"
        )
    return "wild", (
        f"{situation}: too few clusters for cluster-robust standard errors, so a restricted "
        "wild cluster bootstrap with Webb weights is used (Cameron, Gelbach & Miller 2008; "
        "Webb 2023)"
    )


def choose_inference(
    n_clusters: int,
    n_treated_clusters: int,
    n_periods: int,
    estimator: str = "twfe",
    *,
    n_pre_periods: int | None = None,
    available: tuple[str, ...] | None = None,
) -> tuple[str, str]:
    """Pick the inference method for a design, and say why in words.

    Parameters
    ----------
    n_clusters
        Clusters (independent units of assignment, e.g. wards).
    n_treated_clusters
        Clusters containing at least one treated unit.
    n_periods
        Periods the estimate uses.
    estimator
        A key of :data:`METHODS` (``"twfe"``, ``"att_gt"``, ``"synthetic_did"``, …).
    n_pre_periods
        Periods before the start of the single treated unit (when there is one); decides
        whether conformal inference can be used.
    available
        Methods this call can run (default: what the estimator offers in general).

    Returns
    -------
    (method, reason)
        ``method`` is one of the estimator's :data:`METHODS`; ``reason`` is a sentence for
        ``Estimate.inference``.
    """
    design = Setting(
        estimator, int(n_clusters), int(n_treated_clusters), int(n_periods), n_pre_periods
    )
    return choose(design, available)


def choose(design: Setting, available: tuple[str, ...] | None = None) -> tuple[str, str]:
    """:func:`choose_inference` for a :class:`Setting`."""
    if available is None:
        available = methods_of(design.estimator)
    ideal, reason = _ideal(design, available)
    if design.estimator == "att_gt" and ideal == "cluster":
        ideal = "analytic"
        reason += "; for att_gt the influence-function standard errors play the CR1 role"
    elif design.estimator == "att_gt" and ideal == "wild":
        # att_gt's influence-function (and multiplier-bootstrap) errors are cluster-robust in
        # spirit and over-reject with few clusters like CR1 does (30 % at the 5 % level in
        # simulations/inference_size_power.py); it has no wild bootstrap, so it permutes cohorts
        ideal = "randomization"
        reason = (
            f"{design.describe()}: too few clusters for att_gt's influence-function standard "
            "errors, which over-reject here like cluster-robust ones (and att_gt has no wild "
            "bootstrap), so randomization inference permutes the cohorts across units "
            "(MacKinnon & Webb 2020)"
        )
    if ideal in available:
        return ideal, reason
    # fall back to the most conservative method the estimator offers
    for fallback in ("randomization", "wild", "analytic", "cluster"):
        if fallback in available:
            return fallback, (
                f"{reason}; {design.estimator} cannot run {ideal} inference, so {fallback} is "
                "used instead — read its intervals with caution"
            )
    raise InferenceError(f"{design.estimator}: no inference method is available for this call")


def unsupported(method: str, design: Setting) -> str | None:
    """Why ``design`` does not support ``method`` (its tests would not keep their size), or
    None when it does. Randomization inference is exact for any design; the synthetic
    estimators' variance methods carry their own caveats."""
    G, G1, G0 = design.n_clusters, design.n_treated_clusters, design.n_untreated_clusters
    if method in ("cluster", "analytic") and (G < MANY_CLUSTERS or min(G1, G0) < MANY_TREATED):
        return (
            f"{'cluster-robust' if method == 'cluster' else 'influence-function'} standard "
            f"errors need about {MANY_CLUSTERS} clusters with at least {MANY_TREATED} treated and "
            f"{MANY_TREATED} untreated; this design has {G} clusters, {G1} treated, so they tend "
            "to be too small and the p-values too low (MacKinnon & Webb 2017)"
        )
    if method == "wild" and min(G1, G0) < FEW_TREATED:
        return (
            f"the wild cluster bootstrap needs at least {FEW_TREATED} treated and "
            f"{FEW_TREATED} untreated clusters; this design has {G1} treated and {G0} untreated "
            "(MacKinnon & Webb 2017, 2018)"
        )
    if method == "conformal" and not _long_pre_period(design):
        return (
            f"conformal inference needs at least {MIN_PRE_PERIODS} periods before the start and "
            f"no fewer than after it to fit the counterfactual; this design has "
            f"{design.n_pre_periods or 0} of {design.n_periods}"
        )
    return None


def unsupported_warning(method: str, design: Setting, auto: tuple[str, str]) -> str | None:
    """The one wording of the caveat when a method was asked for on a design that does not
    support it (the result is still computed): what is wrong and what "auto" would do."""
    why = unsupported(method, design)
    if why is None:
        return None
    auto_method = auto[0]
    return (
        f"inference={method!r} was requested, but this design does not support it: {why}. "
        f"Its p-value and interval can mislead; inference='auto' would use "
        f"{DESCRIBE.get(auto_method, auto_method)} here."
    )


def design_limit_warning(min_pvalue: float, level: float, situation: str) -> str | None:
    """The plain-language warning when no result of this design could be significant.

    ``situation`` says why, e.g. "with 1 treated of 13 units". One wording for every method
    (randomization, placebo, conformal), so a reader meets the same explanation everywhere.
    """
    alpha = 1 - level
    if not (min_pvalue == min_pvalue and min_pvalue > alpha):  # NaN: no bound known
        return None
    return (
        f"This design cannot reach the {alpha:.0%} significance level: {situation}, even the "
        f"strongest possible result has p = {min_pvalue:.3f}. A 'not significant' result here "
        "is not evidence of no effect. Stronger evidence needs more treated units (the "
        "rollout), a longer pre-period for this unit (with at least "
        f"{MIN_PRE_PERIODS} periods before its start, conformal inference's smallest p-value is "
        "1/(number of periods)), or finer periods (weeks rather than months)."
    )
