"""Sensitivity of event-study conclusions to violations of parallel trends (HonestDiD).

Rambachan & Roth (2023), "A More Credible Approach to Parallel Trends", *Review of Economic
Studies* 90(5), replace the assumption that post-treatment trends would have been parallel by a
set Δ of allowed violations δ, and report confidence intervals for θ = l'τ_post that are valid
for every δ ∈ Δ. This package computes them as R's ``HonestDiD`` package does:

* ``restriction="relative_magnitude"`` — Δ^RM(M̄): every post-period change in the violation is
  at most M̄ times the largest pre-period change. R's default method ``"C-LF"`` is the
  conditional-least-favourable hybrid test of Andrews, Roth & Pakes (2023), "Inference for
  Linear Conditional Moment Inequalities", *Review of Economic Studies* 90(6), inverted over a
  grid of θ (``"Conditional"``, the test without the least-favourable first stage, is also here).
* ``restriction="smoothness"`` — Δ^SD(M): the slope of the violation changes by at most M per
  period. R's default ``"FLCI"`` is the optimal fixed-length confidence interval of Armstrong &
  Kolesár (2018), "Optimal Inference in a Class of Regression Models", *Econometrica* 86(2).

Differences from R, all deliberate:

* R solves one linear programme per grid point and per simulation draw. Here the dual of the
  ARP programme, max {λ'y : λ ≥ 0, σ'λ = 1, X'λ = 0}, has a feasible set that does not depend
  on y, so its vertices are enumerated once and every test statistic, conditioning bound and
  least-favourable draw is a matrix product (exact, not a bisection to 1e-6 as in R). When
  there are too many candidate vertices (Δ^RM with more than ten post periods) it falls back
  to linear programmes (scipy's HiGHS), which is slow but gives the same answer.
* The least-favourable critical value is simulated, as in R, from 1,000 normal draws after
  ``set.seed(seed)``. The draws here are R's own stream (Mersenne-Twister seeded as R seeds it,
  normals by inversion, ``mvtnorm::rmvnorm``'s symmetric square root), so C-LF intervals
  agree with R's to the θ-grid step rather than to simulation noise.
* The FLCI's quantile of the folded normal is, by default, R's simulated one (10⁶ draws of
  R's stream; its simulation error is about 1e-3 of the half-length), or exact on request.
  R solves the bias–variance problem with CVXR; here it is an ℓ1 minimisation over an
  ellipsoid (SLSQP) inside a bounded Brent search over the standard deviation h, as R's
  ``flci.R`` searches it.

The package, by role
--------------------
Imports run one way, from the entry points down:

* :mod:`.api` — :func:`honest_did`, :func:`sensitivity` (from an event-study result), R's
  default M grid and the breakdown value;
* :mod:`.results` — :class:`HonestDiDResult`: the table, the plain-language summary, the plot;
* :mod:`.checks` — input checks of ``betahat``, ``sigma``, ``l_vec``, ``level`` and ``M``;
* :mod:`.relative_magnitude` — Δ^RM(M̄): its moment inequalities and the test inversion over θ;
* :mod:`.arp` — the ARP conditional and conditional-least-favourable hybrid tests;
* :mod:`.smoothness` — Δ^SD(M): the FLCI and the folded-normal quantiles;
* :mod:`.rdraws` — R's random-number stream (``set.seed``, ``rnorm``, ``mvtnorm::rmvnorm``).
"""

from evaluation.inference.honest_did.api import honest_did, sensitivity
from evaluation.inference.honest_did.results import HonestDiDResult

__all__ = ["HonestDiDResult", "honest_did", "sensitivity"]
