"""Planning a study, before or during a rollout: power and minimum detectable effects on the
district's own panel (:mod:`.power`, with its results in :mod:`.power_results` and the closed
form in :mod:`.analytic_power`), randomised rollout schedules and the comparison of designs
(:mod:`.rollout`), what each review (sơ kết, tổng kết) can detect (:mod:`.reviews`), and whether
a programme's rollout is to be reviewed or planned (:mod:`.stage`).

Every p-value a power calculation needs comes from :mod:`evaluation.inference` (its batched
tests, :mod:`evaluation.inference.batched`), the one place that decides and computes
inference. Simulated districts and the package's own validation studies live apart, in
:mod:`evaluation.synthetic` and :mod:`evaluation.validation`.
"""
