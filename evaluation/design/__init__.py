"""Study design: power and MDE of the planned analysis (:mod:`.power`, with its results in
:mod:`.power_results` and the closed form in :mod:`.analytic_power`), randomised rollout
schedules and the design comparison (:mod:`.rollout`), the review planner (:mod:`.reviews`),
generated districts (:mod:`.districts`) and the simulations that check the inference on the
district's designs (:mod:`.inference_study`, :mod:`.count_study`)."""
