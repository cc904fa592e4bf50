"""Inference that stays valid with 13 wards and one treated ward.

One entry point: :func:`evaluation.inference.engine.infer`. Every estimator computes its point
estimate, then hands the engine its design and the refits of the methods it can run; the
engine resolves ``inference="auto"`` by the design rule of :mod:`.choose` (the one table of
which estimator can run what), runs the method and writes the one explanation. The methods:

* :mod:`.randomization` — permuting which units are treated (MacKinnon & Webb 2020), exact
  test-inversion intervals for estimators linear in the outcome;
* :mod:`.wild` — the restricted wild cluster bootstrap with Webb weights;
* :mod:`.conformal` — permuting time for one treated unit (Chernozhukov, Wüthrich & Zhu 2021);
* :mod:`.placebo` — the placebo-in-space rank test of the synthetic estimators;
* :mod:`.multiple` — Holm and Benjamini–Hochberg adjustment across wards × outcomes;
* :mod:`.honest_did` — sensitivity of event-study conclusions to violations of parallel trends
  (Rambachan & Roth 2023);
* :mod:`.batched` — the engine's batched fast paths: the randomization, conformal and
  cluster-robust tests of many simulated replications at once, for power and MDE
  (:mod:`evaluation.design.power`), with the rules of the modules above.

Cluster-robust (CR1) covariances are numeric kernels in :mod:`evaluation.core.cluster`. This
package never imports an estimator.
"""
