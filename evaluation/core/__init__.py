"""Numeric kernels every estimator shares: fixed-effect absorption, least squares and Poisson
fits with absorbed effects, cluster-robust covariances, and weights on the simplex.

Nothing here knows about wards, cohorts or inference choices; it imports only numpy, scipy and
:mod:`evaluation.errors`.
"""
