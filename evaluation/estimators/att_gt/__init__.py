"""Callaway & Sant'Anna (2021) group-time average treatment effects and their aggregations.

ATT(g, t) is the average effect in period t on the units first treated in period g (the
"group" or cohort). Each is a 2×2 difference-in-differences between group g and a comparison
group — the never-treated, or the not-yet-treated by period t — from a base period before g:

    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | C],

with the base period b = g − 1 − anticipation for post-treatment periods and, for pre-treatment
("placebo") periods, b = t − 1 (``base_period="varying"``) or b = g − 1 − anticipation
(``"universal"``). With covariates the comparison is adjusted by outcome regression (Heckman,
Ichimura & Todd 1997; ``est_method="reg"``) or the doubly robust estimator of Sant'Anna & Zhao
(2020, *J. Econometrics* 219(1); ``"dr"``), using covariate values of the base period.

Standard errors come from the influence functions (analytic) or a multiplier bootstrap with
Rademacher weights, which also gives uniform confidence bands. The aggregations
(``simple``, ``dynamic``, ``group``, ``calendar``) and their influence functions — including
the estimation of the aggregation weights — follow the R package ``did`` (Callaway &
Sant'Anna, ``compute.aggte``), so numbers can be compared with it one for one.

The package is split by role, as R ``did`` splits it (att_gt.R → pre_process_did.R →
compute.att_gt.R; aggte.R / compute.aggte.R; mboot.R) and diff-diff (staggered.py,
staggered_aggregation.py, staggered_bootstrap.py, staggered_results.py):

``estimator``
    :func:`att_gt`, the entry point: checks the input, estimates the cells and builds the
    :class:`AttGt` (standard errors, intervals, uniform bands, the pre-test).
``preprocess``
    The option checks, the balanced panel of units (weights and clusters constant within a
    unit) and the comparison groups — all input checking, before any computation.
``cells``
    The group × time cells and their influence functions: unconditional, with covariates
    (outcome regression, or doubly robust with a logit propensity score), and the Wald test
    of the pre-treatment cells.
``aggregate``
    The aggregations (R ``did::aggte``): the estimated weights, the overall effect and the
    table by event time / cohort / period, randomization inference and its vectorised batch.
``bootstrap``
    Standard errors from influence functions: analytic, or the multiplier bootstrap with its
    uniform critical value (R ``did::mboot``).
``results``
    The result objects :class:`AttGt` and :class:`AttGtAggregate`; their methods delegate the
    arithmetic to ``aggregate`` and ``bootstrap``.

Imports inside the package run one way, none deferred into a function: ``estimator`` →
``preprocess``, ``cells``, ``results``, ``bootstrap``; ``results`` → ``aggregate`` →
``bootstrap``.

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230.
"""

from evaluation.estimators.att_gt.bootstrap import multiplier_bootstrap  # noqa: F401
from evaluation.estimators.att_gt.estimator import att_gt
from evaluation.estimators.att_gt.results import AttGt, AttGtAggregate

__all__ = ["att_gt", "AttGt", "AttGtAggregate"]
