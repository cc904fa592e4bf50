"""Study design: simulations that check the inference on the district's designs (and, later,
power and rollout schedules)."""
