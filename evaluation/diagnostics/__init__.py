"""Checks that re-run the estimators: placebos in space and in time, and the Goodman-Bacon
decomposition of two-way fixed effects."""
