"""Agreement with the `wildboottest` package (Fischer & Roodman's Python port of boottest).

wildboottest knows nothing of absorbed fixed effects: it is given the fixed effects as dummy
columns, so it runs the full regression, and we compare with our absorbed version. Two kinds of
check:

* same draws: wildboottest's weight matrix is fed into our kernel, and every t* must agree
  (after rescaling by the two small-sample factors: wildboottest counts every dummy in K,
  fixest's rule does not) and so must the p-value — exactly;
* own draws: each package draws its own weights; p-values must agree within Monte-Carlo error,
  and exactly under full enumeration of the 2^G sign vectors.

Tie convention: we count ``|t*| ≥ |t|`` (brief and boottest); wildboottest counts ``>``. Under
WCR the constant sign vectors reproduce ``|t|`` exactly, so with enumeration our p-value is
wildboottest's plus the tied draws (2 of 2^G), which we count explicitly.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.inference.wild import wild_cluster_bootstrap
from evaluation.inference.wild.kernel import _Kernel
from evaluation.inference.wild.prepare import _prepare

wbt = pytest.importorskip("wildboottest.wildboottest", reason="wildboottest (test dependency)")


def wb_run(
    X, y, cluster, p, *, B=9999, weights_type="rademacher", impose_null=True, V=None, seed=1
):
    """Run wildboottest's WCR/WCU '11' bootstrap step by step (so that V can be injected)."""
    R = np.zeros(X.shape[1])
    R[p] = 1.0
    boot = wbt.WildboottestCL(X=X, Y=y, cluster=cluster, R=R, B=B, seed=seed, parallel=False)
    boot.get_scores(bootstrap_type="11", impose_null=impose_null)
    if V is None:
        boot.get_weights(weights_type=weights_type)
    else:
        boot.v = V
        boot.B = V.shape[1]
    boot.get_numer()
    boot.get_denom()
    boot.get_tboot()
    boot.get_vcov()
    boot.get_tstat()
    boot.get_pvalue(pval_type="two-tailed")
    return boot


def ours_on(V, y, X, cluster, p, fe=(), impose_null=True, null=0.0):
    prob = _prepare(y, X, cluster, p, fe, None, null, 999, "webb", 0.95, True)
    kernel = _Kernel(prob, impose_null)
    return kernel.tstar(kernel.block(V), null), prob


def _cross_section(G, n_per, seed, effect=0.3, n_treated=None):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(G), n_per)
    n_treated = G // 2 if n_treated is None else n_treated
    d = (cl < n_treated).astype(float) * (rng.random(len(cl)) < 0.7)
    x = rng.normal(size=len(cl))
    y = 1 + effect * d + 0.5 * x + rng.normal(size=G)[cl] + rng.normal(size=len(cl))
    X = np.column_stack([np.ones(len(cl)), d, x])
    return y, X, cl


def _twfe_panel(G, T, seed, effect=0.0, n_treated=None):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(G), T)
    t = np.tile(np.arange(T), G)
    n_treated = G // 2 if n_treated is None else n_treated
    d = ((unit < n_treated) & (t >= T // 2)).astype(float)
    x = rng.normal(size=len(t)) + 0.2 * t
    y = rng.normal(size=G)[unit] + np.sin(t) + effect * d + 0.4 * x + rng.normal(size=len(t))
    return y, np.column_stack([d, x]), unit, t


def _with_dummies(X, unit, t):
    U = (unit[:, None] == np.unique(unit)[None, :]).astype(float)
    P = (t[:, None] == np.unique(t)[None, :]).astype(float)[:, 1:]
    return np.column_stack([X, U, P])


def _wb_ssc(n, k, G):
    return G / (G - 1) * (n - 1) / (n - k)


def test_enumeration_without_fixed_effects_is_exact():
    y, X, cl = _cross_section(10, 25, seed=1)
    ours = wild_cluster_bootstrap(y, X, cl, param=1, weight_type="rademacher", B=9999, ci=False)
    wb = wb_run(X, y, cl, 1, B=9999, weights_type="rademacher")
    assert ours.enumerated and wb.full_enumeration and ours.B == wb.B == 1024
    assert ours.t_stat == pytest.approx(float(wb.t_stat), rel=1e-10)
    abs_t = abs(ours.t_stat)
    tb = np.abs(wb.t_boot)
    ties = np.abs(tb - abs_t) <= 1e-9 * abs_t
    assert ties.sum() == 2  # the sign vectors ±1 reproduce |t| (WCR)
    strictly = np.mean(tb > abs_t * (1 + 1e-9))
    assert ours.pvalue == pytest.approx(strictly + ties.sum() / 1024, abs=1e-12)
    # wildboottest's own p differs from ours only by how those two ties fall in rounding
    assert abs(ours.pvalue - float(wb.pvalue)) <= 2 / 1024 + 1e-12


@pytest.mark.parametrize("impose_null", [True, False], ids=["WCR", "WCU"])
@pytest.mark.parametrize("weights_type", ["rademacher", "webb"])
def test_same_draws_same_tstars_without_fixed_effects(weights_type, impose_null):
    y, X, cl = _cross_section(13, 20, seed=2)
    wb = wb_run(X, y, cl, 1, B=2000, weights_type=weights_type, impose_null=impose_null)
    tstar, prob = ours_on(wb.v, y, X, cl, 1, impose_null=impose_null)
    np.testing.assert_allclose(tstar, wb.t_boot, rtol=1e-9)
    t_obs = (prob.beta_p - 0.0) / prob.se
    assert t_obs == pytest.approx(float(wb.t_stat), rel=1e-10)
    assert np.mean(np.abs(tstar) > abs(t_obs)) == float(wb.pvalue)


@pytest.mark.parametrize("impose_null", [True, False], ids=["WCR", "WCU"])
def test_same_draws_same_tstars_with_absorbed_two_way_effects(impose_null):
    """Our absorbed unit + period effects against wildboottest on the dummy regression."""
    G, T = 12, 6
    y, X, unit, t = _twfe_panel(G, T, seed=3, effect=0.5)
    XD = _with_dummies(X, unit, t)
    wb = wb_run(XD, y, unit, 0, B=999, weights_type="webb", impose_null=impose_null)
    tstar, prob = ours_on(wb.v, y, X, unit, 0, fe=(unit, t), impose_null=impose_null)
    n = len(y)
    rescale = np.sqrt(prob.ssc / _wb_ssc(n, XD.shape[1], G))
    np.testing.assert_allclose(tstar * rescale, wb.t_boot, rtol=1e-8)
    t_obs = prob.beta_p / prob.se
    assert t_obs * rescale == pytest.approx(float(wb.t_stat), rel=1e-9)
    assert np.mean(np.abs(tstar) > abs(t_obs)) == float(wb.pvalue)


@pytest.mark.parametrize("weights_type", ["rademacher", "webb"])
def test_own_draws_agree_within_monte_carlo_error(weights_type):
    """13 clusters, unit and period effects: both packages' own 9,999 draws."""
    G, T = 13, 6
    y, X, unit, t = _twfe_panel(G, T, seed=4, effect=0.35, n_treated=6)
    ours = wild_cluster_bootstrap(
        y, X, unit, fe=(unit, t), B=9999, weight_type=weights_type, seed=11, ci=False
    )
    wb = wb_run(_with_dummies(X, unit, t), y, unit, 0, B=9999, weights_type=weights_type, seed=5)
    p_wb = float(wb.pvalue)
    if weights_type == "rademacher":
        # 2^13 = 8,192 ≤ 9,999: both enumerate, so the p-values agree exactly up to the two ties
        assert ours.enumerated and wb.full_enumeration
        assert abs(ours.pvalue - p_wb) <= 2 / 8192 + 1e-12
    else:
        assert not ours.enumerated
        p = 0.5 * (ours.pvalue + p_wb)
        assert abs(ours.pvalue - p_wb) <= 4 * np.sqrt(2 * p * (1 - p) / 9999) + 2e-4
    assert 0.001 < ours.pvalue < 0.5  # an informative case, not a trivial 0 or 1


def test_interval_endpoints_agree_with_wildboottest_pvalues():
    """wildboottest has no interval; test at nulls just inside/outside ours (y − r·x shift)."""
    y, X, cl = _cross_section(10, 25, seed=6, effect=0.8)
    ours = wild_cluster_bootstrap(y, X, cl, param=1, weight_type="rademacher", B=9999)
    assert ours.enumerated
    eps = 1e-5 * (ours.ci_high - ours.ci_low)
    for end, outward in ((ours.ci_low, -1.0), (ours.ci_high, 1.0)):
        for r, accept in ((end - outward * eps, True), (end + outward * eps, False)):
            wb = wb_run(X, y - r * X[:, 1], cl, 1, B=9999, weights_type="rademacher")
            abs_t = abs(float(wb.t_stat))
            tb = np.abs(wb.t_boot)
            p_ge = np.mean(tb >= abs_t * (1 - 1e-9))  # wildboottest's draws, our tie rule
            assert (p_ge >= 0.05) == accept, (end, r, p_ge)


def test_california_prop99_one_treated_state():
    """Proposition 99 (1 treated state of 39): absorbed state + year effects vs dummies."""
    import pandas as pd

    from tests.conftest import reference_file

    df = pd.read_csv(reference_file("california_prop99.csv"), sep=";")
    state = pd.factorize(df["State"], sort=True)[0]
    year = df["Year"].to_numpy()
    y = df["PacksPerCapita"].to_numpy(float)
    d = df["treated"].to_numpy(float)
    X = d[:, None]
    XD = _with_dummies(X, state, year)
    wb = wb_run(XD, y, state, 0, B=1999, weights_type="webb", seed=3)
    tstar, prob = ours_on(wb.v, y, X, state, 0, fe=(state, year))
    rescale = np.sqrt(prob.ssc / _wb_ssc(len(y), XD.shape[1], 39))
    np.testing.assert_allclose(tstar * rescale, wb.t_boot, rtol=1e-8)
    assert np.mean(np.abs(tstar) > abs(prob.beta_p / prob.se)) == float(wb.pvalue)
    # the published TWFE difference-in-differences (Arkhangelsky et al. 2021, Table 1)
    assert prob.beta_p == pytest.approx(-27.349, abs=0.01)
    res = wild_cluster_bootstrap(y, X, state, fe=(state, year), B=9999)
    # one treated cluster: the restricted bootstrap cannot reject (MacKinnon & Webb 2018)
    assert res.pvalue > 0.1
