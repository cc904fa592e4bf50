"""Size of the wild cluster bootstrap under a simulated null: 13 wards, few treated.

Theory (MacKinnon & Webb 2017, J. Applied Econometrics 32(2); 2018, Econometrics Journal
21(2)): with G = 13 clusters and difference-in-differences treatment,

* about half the clusters treated → the restricted bootstrap (WCR) rejects close to 5 %;
* one treated cluster → WCR almost never rejects (it is extremely conservative), while the
  unrestricted bootstrap (WCU) and the CR1 t-test over-reject massively;
* two treated clusters → WCR still under-rejects.

Simulated panel: 13 wards × 12 periods, ward and period effects, AR(1) errors with ρ = 0.5
within ward and ward-specific error scales, treatment from period 6 for the first wards.
Kept small (B = 399) so the module runs in a few seconds; the binomial bands below are ±2.9
Monte-Carlo standard errors around the theoretical rates.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.inference.wild import wild_cluster_bootstrap

G, T = 13, 12


def _district(rng, n_treated, effect=0.0, rho=0.5):
    unit = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    e = np.empty((G, T))
    e[:, 0] = rng.normal(size=G) / np.sqrt(1 - rho**2)
    for s in range(1, T):
        e[:, s] = rho * e[:, s - 1] + rng.normal(size=G)
    e *= (0.5 + rng.random(G))[:, None]
    d = ((unit < n_treated) & (t >= T // 2)).astype(float)
    y = rng.normal(size=G)[unit] + 0.1 * t + effect * d + e.ravel()
    return y, d[:, None], unit, t


def _rejection_rates(n_treated, reps, seed):
    from scipy import stats

    rng = np.random.default_rng(seed)
    rej = {"WCR": 0, "WCU": 0, "CR1": 0}
    for r in range(reps):
        y, X, unit, t = _district(rng, n_treated)
        kw = dict(fe=(unit, t), B=399, seed=r, ci=False)
        wcr = wild_cluster_bootstrap(y, X, unit, **kw)
        wcu = wild_cluster_bootstrap(y, X, unit, impose_null=False, **kw)
        rej["WCR"] += wcr.pvalue < 0.05
        rej["WCU"] += wcu.pvalue < 0.05
        rej["CR1"] += 2 * stats.t.sf(abs(wcr.t_stat), G - 1) < 0.05  # t(G−1), as Stata
    return {k: v / reps for k, v in rej.items()}


@pytest.mark.slow
def test_size_near_five_percent_with_six_of_thirteen_treated():
    rates = _rejection_rates(n_treated=6, reps=1000, seed=6)
    print(f"\n6 of 13 treated, 1000 reps: {rates}")
    assert 0.03 <= rates["WCR"] <= 0.07


@pytest.mark.slow
def test_one_treated_ward_wcr_under_rejects_wcu_and_cr1_over_reject():
    rates = _rejection_rates(n_treated=1, reps=300, seed=1)
    print(f"\n1 of 13 treated, 300 reps: {rates}")
    assert rates["WCR"] <= 0.01
    assert rates["WCU"] >= 0.25
    assert rates["CR1"] >= 0.25


@pytest.mark.slow
def test_two_treated_wards_wcr_still_under_rejects():
    rates = _rejection_rates(n_treated=2, reps=300, seed=2)
    print(f"\n2 of 13 treated, 300 reps: {rates}")
    assert rates["WCR"] <= 0.025
    assert rates["CR1"] >= 0.10


@pytest.mark.slow
def test_interval_coverage_with_a_planted_effect():
    """The inverted-test interval covers a planted effect about 95 % of the time."""
    rng = np.random.default_rng(60)
    effect, reps, cover = 0.8, 400, 0
    for r in range(reps):
        y, X, unit, t = _district(rng, n_treated=6, effect=effect)
        res = wild_cluster_bootstrap(y, X, unit, fe=(unit, t), B=399, seed=r)
        cover += res.ci_low <= effect <= res.ci_high
    print(f"\ncoverage of a planted effect, 6 of 13 treated, {reps} reps: {cover / reps:.3f}")
    assert 0.92 <= cover / reps <= 0.98
