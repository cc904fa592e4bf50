r"""Wild cluster bootstrap-t for one regression coefficient, with fixed effects absorbed.

What is estimated
-----------------
The linear model ``y = X β + D α + u`` (``D`` = fixed-effect dummies, never formed), estimated
by least squares (or weighted least squares), and the test of ``H0: β_j = null`` by the **wild
cluster bootstrap-t** of Cameron, Gelbach & Miller (2008): the restricted version (WCR, the
null imposed on the bootstrap data-generating process) by default, the unrestricted one (WCU)
on request. The p-value is symmetric (two-sided): the share of bootstrap draws with
``|t*| ≥ |t|``. The confidence interval is the set of nulls the test does not reject, found by
root-finding on the bootstrap p-value as a function of the null with the same draws, as
``boottest`` (Roodman, MacKinnon, Nielsen & Webb 2019, "Fast and wild", *Stata Journal* 19(1))
and ``fwildclusterboot`` do. The standard error is the cluster-robust CR1.

Why: with few clusters (13 wards) the CR1 t-test over-rejects badly; WCR with Rademacher or
Webb (2014) six-point weights is close to exact when several clusters are treated, and
*under*-rejects (is conservative) when only one to three are (MacKinnon & Webb 2017, *J. Applied
Econometrics* 32(2); 2018, *Econometrics Journal* 21(2)). With G clusters there are only 2^G
Rademacher sign vectors; when 2^G ≤ B they are all enumerated and the p-value is exact over the
enumeration (likewise the 6^G Webb vectors when 6^G ≤ B). Under WCR the vectors ``v = ±1``
(and, for Webb, every constant vector) reproduce ``|t|`` exactly, so the smallest attainable
p-value is ``2/2^G`` (Rademacher) or ``6/6^G`` (Webb): with G ≤ 5 Rademacher clusters the test
can never reject at 5 % — use Webb weights (the default).

The package, by role
--------------------
Imports run one way, from the entry point down to the weights:

* :mod:`.bootstrap` — the entry point :func:`wild_cluster_bootstrap` and its
  :class:`WildBootstrapResult`;
* :mod:`.kernel` — the cluster-level algebra (the derivation of the fast algorithm is in its
  docstring), the bootstrap p-values and the confidence interval by test inversion;
* :mod:`.prepare` — input checks, the absorbed least-squares regression and the CR1
  small-sample factor, computed once;
* :mod:`.weights` — the weight distributions (Webb, Rademacher, Mammen, normal) and their
  draws or full enumeration.
"""

from evaluation.inference.wild.bootstrap import WildBootstrapResult, wild_cluster_bootstrap
from evaluation.inference.wild.weights import WEIGHT_TYPES

__all__ = ["wild_cluster_bootstrap", "WildBootstrapResult", "WEIGHT_TYPES"]
