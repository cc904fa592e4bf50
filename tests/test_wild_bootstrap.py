"""Wild cluster bootstrap: the fast algebra against brute force, theory and second implementations.

* brute force: for each weight vector, build the bootstrap sample, re-run the full regression
  with fixed-effect *dummies* and CR1 from scratch, and compare t* with the fast cluster-level
  algebra of ``evaluation.inference.wild`` (1e-8), covering nested and non-nested fixed effects,
  weights, unbalanced panels, several nested effects, the direct (large-F2) route, WCR and WCU;
* CR1 standard errors against statsmodels (no fixed effects) and pyfixest (absorbed effects,
  fixest's small-sample rule);
* the confidence interval against the p-value it inverts, recomputed by separate calls;
* enumeration, seeds, and bad input.
"""

from __future__ import annotations

import numpy as np
import pytest

from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.inference import wild
from evaluation.inference.wild import kernel as wild_kernel
from evaluation.inference.wild import wild_cluster_bootstrap
from evaluation.inference.wild.kernel import _Kernel
from evaluation.inference.wild.prepare import _prepare
from evaluation.inference.wild.weights import _WEBB, _weight_source

# --------------------------------------------------------------------------------------------
# brute force: the dummy-variable regression re-run on every bootstrap sample
# --------------------------------------------------------------------------------------------


def _dummies(codes: np.ndarray, drop_first: bool) -> np.ndarray:
    levels = np.unique(codes)
    D = (codes[:, None] == levels[None, :]).astype(float)
    return D[:, 1:] if drop_first else D


def _design(X, fe):
    blocks = [X]
    for i, f in enumerate(fe):
        blocks.append(_dummies(np.asarray(f), drop_first=i > 0 or X_has_const(X)))
    Z = np.column_stack(blocks)
    # keep a full-rank set of columns (the tested regressors first, they are never redundant)
    q, r = np.linalg.qr(Z)
    keep = np.abs(np.diag(r)) > 1e-9 * np.abs(np.diag(r)).max()
    # QR without pivoting marks columns that depend on earlier ones
    return Z[:, keep]


def X_has_const(X):
    return bool(np.any(np.all(X == X[0], axis=0)))


def _fit(Z, y, w):
    sw = np.ones(len(y)) if w is None else np.sqrt(w)
    beta, *_ = np.linalg.lstsq(Z * sw[:, None], y * sw, rcond=None)
    return beta, y - Z @ beta


def _cr1_t(Z, y, w, cluster, p, null, ssc):
    beta, u = _fit(Z, y, w)
    ww = np.ones(len(y)) if w is None else w
    bread = np.linalg.inv(Z.T @ (Z * ww[:, None]))
    meat = np.zeros((Z.shape[1], Z.shape[1]))
    for cl in np.unique(cluster):
        rows = cluster == cl
        s = Z[rows].T @ (ww[rows] * u[rows])
        meat += np.outer(s, s)
    V = ssc * bread @ meat @ bread
    return (beta[p] - null) / np.sqrt(V[p, p]), beta[p]


def brute_tstar(y, X, cluster, fe, w, p, null, V, impose_null, ssc):
    """t* for each column of V by re-estimating the dummy regression on each bootstrap sample."""
    Z = _design(X, fe)
    assert np.allclose(Z[:, : X.shape[1]], X)  # the regressors were all kept
    codes = np.unique(cluster, return_inverse=True)[1]
    if impose_null:
        Zr = np.delete(Z, p, axis=1)
        _, u = _fit(Zr, y - null * X[:, p], w)
        fitted = y - u
        centre = null
    else:
        beta, u = _fit(Z, y, w)
        fitted = y - u
        centre = beta[p]
    out = np.empty(V.shape[1])
    for b in range(V.shape[1]):
        ystar = fitted + u * V[codes, b]
        out[b], _ = _cr1_t(Z, ystar, w, cluster, p, centre, ssc)
    return out


def fast_tstar(y, X, cluster, fe, w, p, null, V, impose_null, fold=False):
    prob = _prepare(y, X, cluster, p, fe, w, null, 999, "webb", 0.95, True)
    delta = (prob.beta_p - null) / prob.c_p if fold else None
    kernel = _Kernel(prob, impose_null, fold=delta)
    return kernel.tstar(kernel.block(V), null), prob


def _panel(n_clusters, units_per_cluster, periods, seed, effect=0.0, treated_clusters=None):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(n_clusters), units_per_cluster * periods)
    unit = np.repeat(np.arange(n_clusters * units_per_cluster), periods)
    t = np.tile(np.arange(periods), n_clusters * units_per_cluster)
    n_tr = treated_clusters if treated_clusters is not None else max(1, n_clusters // 2)
    treat = ((cl < n_tr) & (t >= periods // 2)).astype(float)
    x2 = rng.normal(size=len(t)) + 0.3 * t
    y = (
        rng.normal(size=n_clusters)[cl]
        + rng.normal(size=unit.max() + 1)[unit]
        + 0.2 * t
        + effect * treat
        + 0.5 * x2
        + rng.normal(size=len(t)) * (1 + 0.5 * (cl % 3))
    )
    return y, np.column_stack([treat, x2]), cl, unit, t


def _weights_matrix(G, m, seed):
    rng = np.random.default_rng(seed)
    V = _WEBB[rng.integers(0, 6, size=(G, m))]
    return np.column_stack([V, np.ones(G), -np.ones(G), rng.choice([-1.0, 1.0], size=(G, 3))])


BRUTE_CASES = {
    # name: (clusters, units per cluster, periods, fe builder, weights?, drop rows?)
    "no fixed effects, intercept": (7, 1, 6, "none", False, False),
    "unit nested + period not nested (dense route)": (6, 2, 5, "unit_time", False, False),
    "unit + period, weighted": (6, 2, 5, "unit_time", True, False),
    "unit + period, unbalanced (alternating projections)": (7, 2, 6, "unit_time", False, True),
    "period only (no nested effect)": (8, 1, 4, "time", False, False),
    "unit + cluster nested + period (several nested)": (6, 2, 4, "unit_cluster_time", True, True),
    "30 clusters, low-rank route": (30, 1, 4, "unit_time", True, False),
    "clusters crossing units and periods (nothing nested)": (6, 2, 5, "crossed", True, False),
}


@pytest.mark.parametrize(
    "impose_null, fold",
    [(True, False), (True, True), (False, False)],
    ids=["WCR", "WCR-folded", "WCU"],
)
@pytest.mark.parametrize("case", list(BRUTE_CASES))
def test_fast_algebra_equals_dummy_regression_on_each_bootstrap_sample(case, impose_null, fold):
    """WCR-folded: the restricted residuals for one null folded in (the path used when ci=False)."""
    G, upc, T, kind, weighted, unbalanced = BRUTE_CASES[case]
    y, X, cl, unit, t = _panel(G, upc, T, seed=len(case))
    rng = np.random.default_rng(7)
    if unbalanced:
        keep = rng.random(len(y)) > 0.15
        keep[t == T - 1] = True  # keep every treated cluster's post period non-empty
        y, X, cl, unit, t = y[keep], X[keep], cl[keep], unit[keep], t[keep]
    w = rng.uniform(0.5, 2.0, size=len(y)) if weighted else None
    fe = {
        "none": (),
        "unit_time": (unit, t),
        "time": (t,),
        "unit_cluster_time": (unit, cl, t),
        "crossed": (unit, t),
    }[kind]
    if kind == "crossed":
        cl = (3 * unit + t) % G  # every unit and every period spans several clusters
    if kind == "none":
        X = np.column_stack([X, np.ones(len(y))])
    null = 0.3
    V = _weights_matrix(G, 12, seed=3)
    fast, prob = fast_tstar(y, X, cl, fe, w, 0, null, V, impose_null, fold)
    brute = brute_tstar(y, X, cl, fe, w, 0, null, V, impose_null, prob.ssc)
    np.testing.assert_allclose(fast, brute, rtol=1e-8, atol=1e-10)
    if kind == "unit_time" and G == 30:
        assert not _Kernel(prob, impose_null).dense  # the low-rank route was exercised


@pytest.mark.parametrize("weighted", [False, True], ids=["OLS", "WLS"])
def test_direct_route_for_many_non_nested_levels(monkeypatch, weighted):
    """Clusters by period with unit effects: the correction built cluster by cluster."""
    y, X, cl, unit, t = _panel(5, 2, 6, seed=11)
    w = np.random.default_rng(1).uniform(0.5, 2, size=len(y)) if weighted else None
    V = _weights_matrix(6, 10, seed=4)
    # cluster = period; unit effects are not nested in periods
    monkeypatch.setattr(wild_kernel, "_MAX_FE_RANK", 0)
    fast, prob = fast_tstar(y, X, t, (unit, t), w, 0, 0.0, V, True)
    assert _Kernel(prob, True).dense
    brute = brute_tstar(y, X, t, (unit, t), w, 0, 0.0, V, True, prob.ssc)
    np.testing.assert_allclose(fast, brute, rtol=1e-8, atol=1e-10)
    folded, _ = fast_tstar(y, X, t, (unit, t), w, 0, 0.0, V, True, fold=True)
    np.testing.assert_allclose(folded, brute, rtol=1e-8, atol=1e-10)
    monkeypatch.setattr(wild_kernel, "_MAX_FE_RANK", 3000)
    low_rank, _ = fast_tstar(y, X, t, (unit, t), w, 0, 0.0, V, True)
    np.testing.assert_allclose(low_rank, brute, rtol=1e-8, atol=1e-10)


def test_dropping_the_fixed_effect_correction_would_be_wrong():
    """With period effects not nested in clusters, bootstrapping the demeaned data differs.

    Guards the derivation: if the correction term were zero here the brute-force test above
    could not distinguish the two algorithms.
    """
    y, X, cl, unit, t = _panel(6, 2, 5, seed=5)
    V = _weights_matrix(6, 8, seed=9)
    fast, prob = fast_tstar(y, X, cl, (unit, t), None, 0, 0.0, V, True)
    # the "demeaned data" bootstrap: regress absorbed y on absorbed X without fixed effects
    y_w = _absorbed(y, (unit, t))
    X_w = np.column_stack([_absorbed(X[:, i], (unit, t)) for i in range(2)])
    demeaned, _ = fast_tstar(y_w, X_w, cl, (), None, 0, 0.0, V, True)
    assert np.max(np.abs(fast[:8] - demeaned[:8])) > 1e-3


def _absorbed(x, fe):
    from evaluation.core.absorb import Absorber

    return Absorber(list(fe)).demean(x)


def test_identity_draw_reproduces_the_observed_t():
    """Under WCR the draw v = 1 rebuilds the original sample, so t* = t (and v = −1 gives −t)."""
    y, X, cl, unit, t = _panel(9, 1, 6, seed=2)
    for null in (0.0, 0.7, -2.0):
        V = np.column_stack([np.ones(9), -np.ones(9)])
        fast, prob = fast_tstar(y, X, cl, (unit, t), None, 0, null, V, True)
        t_obs = (prob.beta_p - null) / prob.se
        np.testing.assert_allclose(fast, [t_obs, -t_obs], rtol=1e-10)


# --------------------------------------------------------------------------------------------
# CR1 standard errors: second implementations
# --------------------------------------------------------------------------------------------


def test_cr1_without_fixed_effects_matches_statsmodels():
    import statsmodels.api as sm

    y, X, cl, unit, t = _panel(11, 2, 5, seed=8)
    Xc = sm.add_constant(X)
    fit = sm.OLS(y, Xc).fit(cov_type="cluster", cov_kwds={"groups": cl})
    res = wild_cluster_bootstrap(y, Xc, cl, param=1, B=199, ci=False)
    assert res.estimate == pytest.approx(fit.params[1], rel=1e-10)
    assert res.se == pytest.approx(fit.bse[1], rel=1e-10)
    assert res.t_stat == pytest.approx(fit.tvalues[1], rel=1e-10)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.filterwarnings("ignore:The inplace keyword")
def test_cr1_with_absorbed_effects_matches_pyfixest(weighted):
    pf = pytest.importorskip("pyfixest")
    import pandas as pd
    from pyfixest.demeaners import MapDemeaner

    y, X, cl, unit, t = _panel(10, 2, 6, seed=4)
    rng = np.random.default_rng(0)
    w = rng.uniform(0.5, 2, size=len(y)) if weighted else None
    df = pd.DataFrame({"y": y, "d": X[:, 0], "x": X[:, 1], "cl": cl, "unit": unit, "t": t})
    if weighted:
        df["w"] = w
    fit = pf.feols(
        "y ~ d + x | unit + t",
        data=df,
        vcov={"CRV1": "cl"},
        weights="w" if weighted else None,
        # its default tolerance (1e-6) limits agreement to ~1e-8 on weighted two-way panels
        demeaner=MapDemeaner(fixef_tol=1e-12),
    )
    res = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), weights=w, B=199, ci=False)
    assert res.estimate == pytest.approx(fit.coef()["d"], rel=1e-8)
    assert res.se == pytest.approx(fit.se()["d"], rel=1e-8)
    # unit effects are nested in clusters: K = 2 regressors + 6 periods (fixest's rule)
    assert res.df_k == 2 + 6


# --------------------------------------------------------------------------------------------
# the confidence interval inverts the p-value; enumeration; seeds
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("impose_null", [True, False], ids=["WCR", "WCU"])
def test_interval_endpoints_are_where_the_pvalue_crosses_alpha(impose_null):
    y, X, cl, unit, t = _panel(12, 1, 6, seed=21, effect=1.0)
    kw = dict(fe=(unit, t), B=999, seed=5, impose_null=impose_null)
    res = wild_cluster_bootstrap(y, X, cl, **kw)
    assert res.ci_low < res.estimate < res.ci_high
    width = res.ci_high - res.ci_low
    eps = 1e-4 * width
    for end, outward in ((res.ci_low, -1), (res.ci_high, 1)):
        p_in = wild_cluster_bootstrap(y, X, cl, null=end - outward * eps, ci=False, **kw).pvalue
        p_out = wild_cluster_bootstrap(y, X, cl, null=end + outward * eps, ci=False, **kw).pvalue
        assert p_in >= 0.05 > p_out
    if not impose_null:
        # WCU: t* does not depend on the null, so the interval is the bootstrap-t percentile
        # interval: estimate ± (95th percentile of |t*|) · se, up to the discreteness of p.
        assert res.ci_high - res.estimate == pytest.approx(res.estimate - res.ci_low, rel=1e-6)


def test_rademacher_enumeration_is_exact_and_seed_free():
    y, X, cl, unit, t = _panel(9, 1, 6, seed=3, effect=0.5)
    a = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), weight_type="rademacher", seed=1)
    b = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), weight_type="rademacher", seed=2)
    assert a.enumerated and a.B == 2**9
    assert a.pvalue == b.pvalue and a.ci_low == b.ci_low
    # p is a count over the 512 sign vectors, and the two constant vectors always tie
    assert (a.pvalue * 512) == pytest.approx(round(a.pvalue * 512), abs=1e-9)
    assert a.pvalue >= a.min_pvalue == pytest.approx(2 / 512)
    # the brute-force p over all 2^G vectors, from the dummy regressions
    V = np.array([[1 - 2 * ((b >> g) & 1) for b in range(512)] for g in range(9)], float)
    brute = brute_tstar(y, X, cl, (unit, t), None, 0, 0.0, V, True, a.small_sample_factor)
    p_brute = np.mean(np.abs(brute) >= abs(a.t_stat) * (1 - 1e-9))
    assert a.pvalue == p_brute


def test_webb_enumeration_with_five_clusters():
    y, X, cl, unit, t = _panel(5, 1, 8, seed=6, effect=0.5, treated_clusters=2)
    res = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), weight_type="webb", B=9999)
    assert res.enumerated and res.B == 6**5
    assert res.min_pvalue == pytest.approx(6 / 6**5)
    ra = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), weight_type="rademacher", B=9999)
    # with 5 clusters Rademacher cannot reach 5 %: its smallest p-value is 2/32
    assert ra.enumerated and ra.B == 32 and ra.pvalue >= 2 / 32


def test_a_design_that_cannot_reject_gives_an_unbounded_interval():
    """4 clusters, Rademacher: 16 sign vectors, smallest p = 2/16 > 5 %, so nothing is rejected."""
    y, X, cl, unit, t = _panel(4, 1, 8, seed=6, effect=5.0, treated_clusters=2)
    res = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), weight_type="rademacher")
    assert res.enumerated and res.B == 16 and res.min_pvalue == 2 / 16
    assert res.pvalue >= 2 / 16
    assert res.ci_low == -np.inf and res.ci_high == np.inf


def test_pandas_inputs():
    import pandas as pd

    y, X, cl, unit, t = _panel(8, 1, 5, seed=9)
    df = pd.DataFrame({"y": y, "d": X[:, 0], "x": X[:, 1], "ward": [f"P{c}" for c in cl]})
    df["t"] = t
    a = wild_cluster_bootstrap(
        df["y"], df[["d", "x"]], df["ward"], fe=df[["ward", "t"]], B=199, ci=False
    )
    b = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=199, ci=False)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-12) and a.pvalue == b.pvalue
    ynull = df["y"].astype("Float64")
    ynull.iloc[2] = pd.NA
    with pytest.raises(DataError, match="y has 1 missing"):
        wild_cluster_bootstrap(ynull, df[["d", "x"]], df["ward"], B=199)


def test_random_draws_are_reproducible_and_seed_dependent():
    y, X, cl, unit, t = _panel(14, 1, 5, seed=1, effect=0.4)
    a = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=999, seed=3, ci=False)
    b = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=999, seed=3, ci=False)
    c = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=999, seed=4, ci=False)
    assert not a.enumerated and a.B == 999
    assert a.pvalue == b.pvalue
    assert a.pvalue != c.pvalue or a.pvalue in (0.0, 1.0)
    # Monte-Carlo agreement between seeds: |Δp| within 4 standard errors of the difference
    assert abs(a.pvalue - c.pvalue) <= 4 * np.sqrt(2 * a.pvalue * (1 - a.pvalue) / 999) + 1e-3


def test_all_weight_types_agree_on_a_strong_effect_and_on_no_effect():
    y, X, cl, unit, t = _panel(20, 1, 6, seed=12, effect=3.0, treated_clusters=10)
    for wt in wild.WEIGHT_TYPES:
        res = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=999, weight_type=wt, ci=False)
        assert res.pvalue < 0.01, wt
        at_truth = wild_cluster_bootstrap(
            y, X, cl, fe=(unit, t), B=999, weight_type=wt, ci=False, null=res.estimate
        )
        assert at_truth.pvalue == 1.0  # t = 0 at the estimate


def test_result_fields_and_description():
    y, X, cl, unit, t = _panel(13, 1, 6, seed=0)
    res = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=9999)
    assert res.description == (
        "wild cluster bootstrap-t, restricted (WCR), Webb weights, 9,999 draws, 13 clusters, "
        "2 fixed effect(s) absorbed (1 nested in the clusters)"
    )
    d = res.to_dict()
    assert d["n_clusters"] == 13 and d["n_obs"] == len(y) and d["weight_type"] == "webb"
    with pytest.raises(AttributeError):
        res.pvalue = 0.5  # frozen


@pytest.mark.parametrize("weight_type", ["webb", "rademacher"])
def test_pvalue_is_the_same_with_and_without_the_interval(weight_type):
    """ci=False takes the folded path; it must give the same p-value from the same draws."""
    for seed in range(4):
        y, X, cl, unit, t = _panel(14, 1, 6, seed=30 + seed, effect=0.3 * seed)
        for null in (0.0, 0.4):
            kw = dict(fe=(unit, t), B=999, seed=seed, weight_type=weight_type, null=null)
            a = wild_cluster_bootstrap(y, X, cl, ci=True, **kw)
            b = wild_cluster_bootstrap(y, X, cl, ci=False, **kw)
            assert a.pvalue == b.pvalue and a.t_stat == b.t_stat


def test_small_sample_factor_scales_se_but_not_p():
    y, X, cl, unit, t = _panel(10, 1, 6, seed=14, effect=0.6)
    a = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=999, seed=1)
    b = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=999, seed=1, small_sample=False)
    assert b.small_sample_factor == 1.0
    assert a.se == pytest.approx(b.se * np.sqrt(a.small_sample_factor), rel=1e-12)
    n, G = len(y), 10
    assert a.small_sample_factor == pytest.approx(G / (G - 1) * (n - 1) / (n - a.df_k))
    assert a.pvalue == b.pvalue
    assert a.ci_low == pytest.approx(b.ci_low, rel=1e-9)


def test_absorbed_columns_are_dropped_and_reported():
    y, X, cl, unit, t = _panel(10, 1, 6, seed=15)
    unit_level = np.random.default_rng(0).normal(size=unit.max() + 1)[unit]
    Xd = np.column_stack([X, np.ones(len(y)), unit_level])  # intercept, time-invariant control
    a = wild_cluster_bootstrap(y, Xd, cl, fe=(unit, t), B=199, ci=False)
    b = wild_cluster_bootstrap(y, X, cl, fe=(unit, t), B=199, ci=False)
    assert a.dropped_columns == (2, 3)
    assert a.estimate == pytest.approx(b.estimate, rel=1e-10)
    assert a.se == pytest.approx(b.se, rel=1e-10)
    assert "dropped as collinear" in a.description


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


def _small():
    y, X, cl, unit, t = _panel(6, 1, 5, seed=0)
    return y, X, cl, unit, t


def test_one_cluster_is_refused():
    y, X, cl, unit, t = _small()
    with pytest.raises(InferenceError, match="at least two"):
        wild_cluster_bootstrap(y, X, np.zeros(len(y)), B=999)


@pytest.mark.parametrize("param", [2, -1, 1.0, True])
def test_param_out_of_range(param):
    y, X, cl, unit, t = _small()
    with pytest.raises(DataError, match="param"):
        wild_cluster_bootstrap(y, X, cl, param=param, B=999)


def test_missing_values_are_named():
    y, X, cl, unit, t = _small()
    y = y.copy()
    y[[3, 7]] = np.nan
    with pytest.raises(DataError, match=r"y has 2 missing .*rows 3, 7"):
        wild_cluster_bootstrap(y, X, cl, B=999)
    X = X.copy()
    X[5, 1] = np.inf
    with pytest.raises(DataError, match=r"X has 1 missing or infinite .*row"):
        wild_cluster_bootstrap(np.nan_to_num(y), X, cl, B=999)
    labels = cl.astype(object)
    labels[4] = None
    with pytest.raises(DataError, match=r"cluster has 1 missing label.*rows 4"):
        wild_cluster_bootstrap(np.nan_to_num(y), np.nan_to_num(X), labels, B=999)


def test_mismatched_lengths():
    y, X, cl, unit, t = _small()
    with pytest.raises(DataError, match="X has 29 rows but y has 30"):
        wild_cluster_bootstrap(y, X[:-1], cl, B=999)
    with pytest.raises(DataError, match="cluster has 29 rows"):
        wild_cluster_bootstrap(y, X, cl[:-1], B=999)
    with pytest.raises(DataError, match=r"fe\[1\] has 29 rows"):
        wild_cluster_bootstrap(y, X, cl, fe=(unit, t[:-1]), B=999)
    with pytest.raises(DataError, match="weights has 29 rows"):
        wild_cluster_bootstrap(y, X, cl, weights=np.ones(29), B=999)


def test_bad_weights_and_settings():
    y, X, cl, unit, t = _small()
    w = np.ones(len(y))
    w[2] = 0
    with pytest.raises(DataError, match="weights must be positive"):
        wild_cluster_bootstrap(y, X, cl, weights=w, B=999)
    with pytest.raises(InferenceError, match="B=50 .*too few"):
        wild_cluster_bootstrap(y, X, cl, B=50)
    with pytest.raises(InferenceError, match="weight_type='gauss'"):
        wild_cluster_bootstrap(y, X, cl, weight_type="gauss")
    with pytest.raises(InferenceError, match="level"):
        wild_cluster_bootstrap(y, X, cl, level=95)
    with pytest.raises(DataError, match="fe must be a sequence"):
        wild_cluster_bootstrap(y, X, cl, fe=unit)


def test_tested_column_collinear_with_fixed_effects():
    y, X, cl, unit, t = _small()
    ever_treated = (cl < 3).astype(float)  # constant within unit: absorbed by unit effects
    with pytest.raises(DesignError, match="X column 0 .*constant within the fixed effects"):
        wild_cluster_bootstrap(y, np.column_stack([ever_treated, X[:, 1]]), cl, fe=(unit, t))
    post = (t >= 3).astype(float)  # constant within period
    with pytest.raises(DesignError, match="not identified"):
        wild_cluster_bootstrap(y, post[:, None], cl, fe=(unit, t))


def test_tested_column_collinear_with_controls():
    y, X, cl, unit, t = _small()
    Xc = np.column_stack([X, 2 * X[:, 0] - X[:, 1]])
    with pytest.raises(DesignError, match="linear combination of the other columns"):
        wild_cluster_bootstrap(y, Xc, cl, fe=(unit, t))


def test_exact_fit_is_refused():
    y, X, cl, unit, t = _small()
    with pytest.raises(DesignError, match="fits y exactly"):
        wild_cluster_bootstrap(2 * X[:, 0] + X[:, 1], X, cl, fe=(unit, t))


# --------------------------------------------------------------------------------------------
# weight distributions
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("weight_type", wild.WEIGHT_TYPES)
def test_weight_draws_have_the_published_moments(weight_type):
    """Mean 0 and variance 1 for all; third moment 1 for Mammen (1993), 0 for the others."""
    draws, enumerated = _weight_source(weight_type, G=50, B=4000, seed=2)
    assert not enumerated
    v = np.hstack([V for _, V in draws.blocks()])
    assert v.shape == (50, 4000)
    se = 1 / np.sqrt(v.size)
    assert abs(v.mean()) < 5 * se
    assert abs(v.var() - 1) < 5 * se * np.sqrt(2 if weight_type == "norm" else 1)
    third = 1.0 if weight_type == "mammen" else 0.0
    assert abs((v**3).mean() - third) < 10 * se
    if weight_type == "webb":
        assert np.allclose(np.unique(v) ** 2, [1.5, 1, 0.5, 0.5, 1, 1.5])


@pytest.mark.parametrize("weight_type, base", [("rademacher", 2), ("webb", 6)])
def test_enumeration_lists_every_weight_vector_once(weight_type, base):
    draws, enumerated = _weight_source(weight_type, G=4, B=9999, seed=0)
    assert enumerated and draws.n == base**4
    v = np.hstack([V for _, V in draws.blocks()])
    assert len({tuple(col) for col in v.T.round(12)}) == base**4
