"""Planning a study, before or during a rollout: power and minimum detectable effects on the
district's own panel (:mod:`~evaluation.design.power`), randomised rollout schedules and the
comparison of designs (:mod:`~evaluation.design.rollout`), and what each review (sơ kết,
tổng kết) can detect (:mod:`~evaluation.design.reviews`).

Every p-value a power calculation needs comes from :mod:`evaluation.inference`, the one place
that decides and computes inference. Simulated districts and the package's own validation
studies live apart, in :mod:`evaluation.synthetic` and :mod:`evaluation.validation`.
"""
