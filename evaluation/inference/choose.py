"""Choose an inference method that stays valid for the design (``inference="auto"``).

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
"""

from __future__ import annotations

__all__ = [
    "choose_inference",
    "design_limit_warning",
    "MANY_CLUSTERS",
    "MANY_TREATED",
    "FEW_TREATED",
    "MIN_PRE_PERIODS",
]

#: clusters needed before CR1 is trusted (Angrist & Pischke's 42; MacKinnon & Webb 2017)
MANY_CLUSTERS = 42
#: treated clusters needed before CR1 is trusted (MacKinnon & Webb 2017, 2018)
MANY_TREATED = 10
#: below this many treated (or untreated) clusters the wild bootstrap fails too
FEW_TREATED = 4
#: pre-periods a single treated unit needs before conformal (time-permutation) inference is used
MIN_PRE_PERIODS = 20

# Methods each estimator can run. Poisson PML has no wild (score) bootstrap here, and
# the event study reports many coefficients where randomization gives no per-period interval.
_AVAILABLE = {
    "twfe": ("cluster", "wild", "randomization", "conformal"),
    "did_2x2": ("cluster", "wild", "randomization"),
    "twfe_poisson": ("cluster", "randomization"),
    "event_study": ("cluster", "wild"),
    "att_gt": ("analytic", "randomization"),
}


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
        Periods in the panel (recorded in the reason; randomization inference needs no
        minimum, but a long pre-period helps the single-unit methods of issue 4).
    estimator
        ``"twfe"``, ``"did_2x2"``, ``"twfe_poisson"``, ``"event_study"`` or ``"att_gt"``.
    n_pre_periods
        Periods before the start of the single treated unit (when there is one); decides
        whether conformal inference can be used.
    available
        Methods this call can run (default: what the estimator offers in general).

    Returns
    -------
    (method, reason)
        ``method`` is ``"cluster"``, ``"wild"``, ``"randomization"``, ``"conformal"`` or
        ``"analytic"`` (the
        influence-function standard errors of ``att_gt``); ``reason`` is a sentence for
        ``Estimate.inference``.
    """
    G, G1 = int(n_clusters), int(n_treated_clusters)
    G0 = G - G1
    if available is None:
        available = _AVAILABLE.get(estimator, ("cluster", "wild", "randomization"))
    design = f"{G} clusters, {G1} treated, {n_periods} periods"
    n_pre = n_pre_periods or 0
    if (
        G1 == 1
        and "conformal" in available
        and n_pre >= MIN_PRE_PERIODS
        and n_pre >= n_periods - n_pre
    ):
        return "conformal", (
            f"{design}: one treated cluster with {n_pre} periods before its start, so conformal "
            "inference permutes time instead of units (Chernozhukov, Wüthrich & Zhu 2021): its "
            f"smallest p-value is 1/{n_periods}, where permuting which of the {G} units is "
            f"treated could not go below 1/{G}"
        )
    if G >= MANY_CLUSTERS and min(G1, G0) >= MANY_TREATED:
        ideal = "cluster"
        reason = (
            f"{design}: enough clusters and treated clusters for cluster-robust (CR1) standard "
            "errors (MacKinnon & Webb 2017)"
        )
    elif min(G1, G0) < FEW_TREATED:
        side = "treated" if G1 <= G0 else "untreated"
        ideal = "randomization"
        few = f"no {side} cluster" if min(G1, G0) == 0 else f"only {min(G1, G0)} {side} cluster(s)"
        reason = (
            f"{design}: {few}, too few for cluster-robust or "
            "wild-bootstrap inference (MacKinnon & Webb 2017, 2020), so randomization inference "
            "permutes which units are treated"
        )
    else:
        ideal = "wild"
        reason = (
            f"{design}: too few clusters for cluster-robust standard errors, so a restricted "
            "wild cluster bootstrap with Webb weights is used (Cameron, Gelbach & Miller 2008; "
            "Webb 2023)"
        )
    if estimator == "att_gt" and ideal == "cluster":
        ideal = "analytic"
        reason += "; for att_gt the influence-function standard errors play the CR1 role"
    elif estimator == "att_gt" and ideal == "wild":
        # att_gt's influence-function (and multiplier-bootstrap) errors are cluster-robust in
        # spirit and over-reject with few clusters like CR1 does (30 % at the 5 % level in
        # simulations/inference_size_power.py); it has no wild bootstrap, so it permutes cohorts
        ideal = "randomization"
        reason = (
            f"{design}: too few clusters for att_gt's influence-function standard errors, "
            "which over-reject here like cluster-robust ones (and att_gt has no wild "
            "bootstrap), so randomization inference permutes the cohorts across units "
            "(MacKinnon & Webb 2020)"
        )
    if ideal in available:
        return ideal, reason
    # fall back to the most conservative method the estimator offers
    for fallback in ("randomization", "wild", "analytic", "cluster"):
        if fallback in available:
            return fallback, (
                f"{reason}; {estimator} cannot run {ideal} inference, so {fallback} is used "
                "instead — read its intervals with caution"
            )
    raise AssertionError("unreachable: every estimator offers some inference")


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
