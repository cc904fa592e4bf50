"""The package's own Monte-Carlo claims, as importable studies — never imported by production code.

* :mod:`~evaluation.validation.inference_size_power` — size, coverage and power of every
  estimator's inference on the district's designs (``simulations/inference_size_power.py``);
* :mod:`~evaluation.validation.count_intervals` — coverage and size of the Poisson
  randomization interval for fire counts, and the bias of the point estimate
  (``simulations/poisson_randomization.py``);
* :mod:`~evaluation.validation.decision_accuracy` — the verdicts officials read, on generated
  districts with known truth (``simulations/decision_accuracy.py``).

The scripts under ``simulations/`` parse arguments and write results files; the tests import
these modules and run reduced versions. Data come from :mod:`evaluation.synthetic`.
"""
