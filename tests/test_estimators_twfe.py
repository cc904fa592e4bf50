"""ev.twfe against published results and second implementations.

References
----------
* Castle-doctrine data (Cheng & Hoekstra 2013) from ``causaldata``: the R package bacondecomp's
  vignette publishes the TWFE estimate of l_homicide on post with state and year effects,
  "Two-way FE estimate = 0.0818116169306475" (evanjflack/bacondecomp, index.ipynb output).
  bacondecomp's ``post`` switches on one year before causaldata's ``post`` in every state, so
  the cohort is (first year with post = 1) − 1; with it the published number is reproduced to
  1e-12 (and the published Bacon weights too, see test_bacon.py).
* pyfixest ``feols`` / ``fepois`` (second implementation, fixest's small-sample rules).
* linearmodels ``PanelOLS`` (third implementation, for the coefficient and the CR0 meat).
* statsmodels GLM Poisson with explicit dummies (for the Poisson coefficient).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.inference.choose import choose_inference


@pytest.fixture
def mpdta(mpdta):
    """The shared mpdta with the treatment dummy and a state cluster (first digits of the FIPS)."""
    mpdta["D"] = (mpdta["year"] >= mpdta["cohort"]).astype(float)
    mpdta["state"] = mpdta["countyreal"] // 1000
    return mpdta


def staggered(n_units=40, n_periods=12, seed=0, effect=1.0, junctions=1):
    rng = np.random.default_rng(seed)
    starts = rng.choice([4, 7, 9, -1], size=n_units)
    rows = []
    for i in range(n_units):
        for j in range(junctions):
            for t in range(n_periods):
                rows.append((i, f"{i}-{j}", t, starts[i]))
    d = pd.DataFrame(rows, columns=["ward", "junction", "t", "g"])
    d["cohort"] = d["g"].where(d["g"] >= 0)
    d["D"] = (d["t"] >= d["cohort"]).astype(float)
    d["x1"] = rng.normal(size=len(d))
    d["x2"] = rng.normal(size=len(d))
    d["y"] = (
        rng.normal(size=n_units)[d["ward"]]
        + 0.2 * d["t"]
        + effect * d["D"]
        + 0.5 * d["x1"]
        + rng.normal(size=len(d))
    )
    return d


# ------------------------------------------------------------------------------ published


@pytest.mark.reference
def test_castle_twfe_reproduces_bacondecomp_published_estimate():
    castle = pytest.importorskip("causaldata.castle").load_pandas().data
    first_post = castle[castle["post"] == 1].groupby("sid")["year"].min()
    castle = castle.assign(cohort=castle["sid"].map(first_post - 1))
    r = ev.twfe(castle, "l_homicide", "sid", "year", "cohort", inference="cluster")
    assert r.estimate == pytest.approx(0.0818116169306475, abs=1e-12)
    assert r.n_units == 50 and r.n_treated == 21 and r.n_obs == 550


# ------------------------------------------------------------------------------ pyfixest


@pytest.mark.reference
@pytest.mark.parametrize("cluster", [None, "state"])
def test_gaussian_matches_pyfixest_mpdta(mpdta, cluster):
    pf = pytest.importorskip("pyfixest")
    r = ev.twfe(mpdta, "lemp", "countyreal", "year", "cohort", cluster=cluster, inference="cluster")
    m = pf.feols("lemp ~ D | countyreal + year", data=mpdta, vcov={"CRV1": cluster or "countyreal"})
    assert r.estimate == pytest.approx(float(m.coef()["D"]), abs=1e-10)
    assert r.se == pytest.approx(float(m.se()["D"]), rel=1e-8)
    assert r.ci_low == pytest.approx(float(m.confint().iloc[0, 0]), rel=1e-7)
    assert r.pvalue == pytest.approx(float(m.pvalue()["D"]), rel=1e-6)
    assert r.n_clusters == (500 if cluster is None else mpdta["state"].nunique())


def test_controls_weights_and_nested_junctions_match_pyfixest():
    pf = pytest.importorskip("pyfixest")
    d = staggered(n_units=30, junctions=3, seed=4)
    d["w"] = np.random.default_rng(1).uniform(0.5, 2.0, len(d))
    r = ev.twfe(
        d,
        "y",
        "junction",
        "t",
        "cohort",
        cluster="ward",
        controls=["x1", "x2"],
        weights="w",
        inference="cluster",
    )
    m = pf.feols("y ~ D + x1 + x2 | junction + t", data=d, weights="w", vcov={"CRV1": "ward"})
    coefs = r.details["coefficients"].set_index("term")
    assert r.estimate == pytest.approx(float(m.coef()["D"]), abs=1e-10)
    assert coefs.loc["x1", "estimate"] == pytest.approx(float(m.coef()["x1"]), abs=1e-10)
    assert r.se == pytest.approx(float(m.se()["D"]), rel=1e-7)
    assert coefs.loc["x2", "se_cr1"] == pytest.approx(float(m.se()["x2"]), rel=1e-7)
    assert r.n_clusters == 30 and r.n_units == 90


def test_unbalanced_panel_matches_pyfixest():
    pf = pytest.importorskip("pyfixest")
    d = staggered(n_units=50, seed=5)
    d = d.sample(frac=0.8, random_state=3).reset_index(drop=True)
    r = ev.twfe(d, "y", "ward", "t", "cohort", controls=["x1"], inference="cluster")
    m = pf.feols("y ~ D + x1 | ward + t", data=d, vcov={"CRV1": "ward"})
    assert r.estimate == pytest.approx(float(m.coef()["D"]), abs=1e-8)
    assert r.se == pytest.approx(float(m.se()["D"]), rel=1e-6)


@pytest.mark.reference
def test_cr0_meat_matches_linearmodels(mpdta):
    """linearmodels scales the same sandwich by n/(n − k) with every fixed effect counted
    (``debiased=True``); undoing each package's factor leaves identical sandwiches."""
    lm = pytest.importorskip("linearmodels.panel")
    r = ev.twfe(mpdta, "lemp", "countyreal", "year", "cohort", inference="cluster")
    p = mpdta.set_index(["countyreal", "year"])
    m = lm.PanelOLS(p["lemp"], p[["D"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, debiased=True
    )
    n, G, T = 2500, 500, 5
    ours_v0 = r.se**2 / (G / (G - 1) * (n - 1) / (n - (1 + T)))
    lm_v0 = float(m.std_errors["D"]) ** 2 / (n / (n - (1 + G + T - 1)))
    assert r.estimate == pytest.approx(float(m.params["D"]), abs=1e-12)
    assert ours_v0 == pytest.approx(lm_v0, rel=1e-10)


# ------------------------------------------------------------------------------ Poisson


def _counts(seed=0, n_units=25, n_periods=10):
    rng = np.random.default_rng(seed)
    d = staggered(n_units=n_units, n_periods=n_periods, seed=seed)
    d["pop"] = rng.uniform(5e3, 5e4, n_units)[d["ward"]]
    rate = np.exp(
        -7
        + rng.normal(scale=0.3, size=n_units)[d["ward"]]
        + 0.05 * d["t"]
        - 0.3 * d["D"]
        + 0.2 * d["x1"]
    )
    d["fires"] = rng.poisson(rate * d["pop"])
    return d


def test_poisson_matches_pyfixest_fepois():
    pf = pytest.importorskip("pyfixest")
    d = _counts(seed=3)
    d["log_pop"] = np.log(d["pop"])
    r = ev.twfe(
        d,
        "fires",
        "ward",
        "t",
        "cohort",
        controls=["x1"],
        family="poisson",
        exposure="pop",
        inference="cluster",
    )
    m = pf.fepois("fires ~ D + x1 | ward + t", data=d, offset="log_pop", vcov={"CRV1": "ward"})
    assert r.estimate == pytest.approx(float(m.coef()["D"]), abs=1e-6)
    assert r.se == pytest.approx(float(m.se()["D"]), rel=1e-4)
    assert r.scale == "log rate ratio"
    assert r.details["rate_ratio"] == pytest.approx(np.exp(r.estimate))
    assert r.details["percent_change"] == pytest.approx(100 * (np.exp(r.estimate) - 1))
    lo, hi = r.details["rate_ratio_ci"]
    assert lo == pytest.approx(np.exp(r.ci_low)) and hi == pytest.approx(np.exp(r.ci_high))


def test_poisson_matches_dummy_variable_glm():
    sm = pytest.importorskip("statsmodels.api")
    d = _counts(seed=8, n_units=12, n_periods=8)
    r = ev.twfe(
        d, "fires", "ward", "t", "cohort", family="poisson", exposure="pop", inference="none"
    )
    X = pd.get_dummies(d[["ward", "t"]].astype(str), drop_first=True, dtype=float)
    X.insert(0, "D", d["D"])
    X = sm.add_constant(X)
    g = sm.GLM(d["fires"], X, family=sm.families.Poisson(), offset=np.log(d["pop"])).fit()
    assert r.estimate == pytest.approx(float(g.params["D"]), abs=1e-7)


def test_poisson_recovers_planted_rate_ratio_and_drops_all_zero_units():
    d = _counts(seed=11, n_units=60, n_periods=12)
    zero_unit = d["ward"] == 0
    d.loc[zero_unit, "fires"] = 0
    r = ev.twfe(
        d,
        "fires",
        "ward",
        "t",
        "cohort",
        controls=["x1"],
        family="poisson",
        exposure="pop",
        inference="cluster",
    )
    assert r.details["rows_dropped_all_zero"] == int(zero_unit.sum())
    assert r.n_units == 59
    assert r.ci_low < -0.3 < r.ci_high  # planted log rate ratio
    assert abs(r.estimate + 0.3) < 0.05


# ------------------------------------------------------------------------------ inference seam


def test_planted_effect_and_inference_none_fast_path():
    d = staggered(n_units=60, seed=2, effect=1.5)
    r = ev.twfe(d, "y", "ward", "t", "cohort", controls=["x1"], inference="cluster")
    assert r.ci_low < 1.5 < r.ci_high
    fast = ev.twfe(d, "y", "ward", "t", "cohort", controls=["x1"], inference="none")
    assert fast.estimate == r.estimate
    assert np.isnan(fast.se) and fast.inference_method == "none"
    for field in ("n_obs", "n_units", "n_treated", "n_clusters"):
        assert getattr(r, field) > 0
    assert r.inference_method == "cluster" and "CR1" in r.inference


def _district(cohorts, seed=0, effect=1.0, T=20):
    rng = np.random.default_rng(seed)
    N = len(cohorts)
    d = pd.DataFrame({"ward": np.repeat(np.arange(N), T), "t": np.tile(np.arange(T), N)})
    d["cohort"] = np.asarray(cohorts, dtype=float)[d["ward"]]
    d["D"] = (d["t"] >= d["cohort"]).astype(float)
    d["y"] = (
        rng.normal(size=N)[d["ward"]] + 0.1 * d["t"] + effect * d["D"] + rng.normal(size=len(d))
    )
    return d


@pytest.mark.parametrize(
    ("cohorts", "expected"),
    [
        ([8] * 3 + [12] * 3 + [15] * 3 + [np.nan] * 4, "wild"),  # rollout, 4 never treated
        ([10] + [np.nan] * 12, "randomization"),  # the pilot ward alone
    ],
)
def test_auto_records_choice_and_reason(cohorts, expected):
    d = _district(cohorts, effect=3.0)
    n_treated = int(np.isfinite(cohorts).sum())
    method, reason = choose_inference(13, n_treated, 20, "twfe")
    assert method == expected
    r = ev.twfe(d, "y", "ward", "t", "cohort", n_boot=999)
    assert reason.split(":")[0] in r.inference
    assert r.inference_method == method
    if r.inference_method == "randomization":
        # 13 possible assignments of one pilot ward: p-values are multiples of 1/13
        assert r.min_pvalue == pytest.approx(1 / 13)
        assert r.pvalue == pytest.approx(1 / 13)  # the planted effect is the most extreme
        assert not r.design_can_reject
        assert any("5%" in w for w in r.warnings)


def test_wild_matches_wild_module_directly():
    wild = pytest.importorskip("evaluation.inference.wild")
    d = staggered(n_units=13, seed=7)
    r = ev.twfe(d, "y", "ward", "t", "cohort", inference="wild", n_boot=999, seed=3)
    codes = [pd.factorize(d[c], sort=True)[0] for c in ("ward", "t")]
    ref = wild.wild_cluster_bootstrap(
        d["y"].to_numpy(), d[["D"]].to_numpy(), codes[0], param=0, fe=codes, B=999, seed=3
    )
    assert r.pvalue == pytest.approx(ref.pvalue)
    assert r.ci_low == pytest.approx(ref.ci_low) and r.ci_high == pytest.approx(ref.ci_high)
    assert r.inference_method == "wild"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"inference": "bogus"}, "not an option"),
        ({"inference": "conformal"}, "synthetic"),
        ({"inference": "wild", "family": "poisson"}, "does not apply"),
    ],
)
def test_inference_options_that_do_not_apply(kwargs, match):
    d = _counts(seed=1)
    with pytest.raises(InferenceError, match=match):
        ev.twfe(d, "fires", "ward", "t", "cohort", **kwargs)


# ------------------------------------------------------------------------------ bad designs


def test_collinear_controls_are_named():
    d = staggered(seed=1)
    d["x1_copy"] = 2 * d["x1"]
    with pytest.raises(DesignError, match="x1"):
        ev.twfe(d, "y", "ward", "t", "cohort", controls=["x1", "x1_copy"], inference="none")
    d["ward_size"] = d["ward"] * 3.0  # constant within unit: absorbed by unit effects
    with pytest.raises(DesignError, match="ward_size"):
        ev.twfe(d, "y", "ward", "t", "cohort", controls=["ward_size"], inference="none")


def test_designs_that_cannot_be_identified():
    d = staggered(seed=2)
    with pytest.raises(DesignError, match="single period"):
        ev.twfe(d[d["t"] == 3], "y", "ward", "t", "cohort")
    with pytest.raises(DesignError, match="same time"):
        ev.twfe(d.assign(cohort=5.0), "y", "ward", "t", "cohort")
    with pytest.raises(DesignError, match="no unit is treated"):
        ev.twfe(d.assign(cohort=np.nan), "y", "ward", "t", "cohort")


def test_bad_input_names_column_and_rows():
    d = staggered(seed=3)
    with pytest.raises(DataError, match="'yy'.*not in the data"):
        ev.twfe(d, "yy", "ward", "t", "cohort")
    bad = d.copy()
    bad.loc[5, "y"] = np.nan
    with pytest.raises(DataError, match=r"'y'.*rows 5"):
        ev.twfe(bad, "y", "ward", "t", "cohort")
    bad = d.copy()
    bad.loc[bad["ward"] == 1, "cohort"] = np.r_[3.0, np.full((bad["ward"] == 1).sum() - 1, 5.0)]
    with pytest.raises(DataError, match="changes within unit"):
        ev.twfe(bad, "y", "ward", "t", "cohort")
    r_did = d.assign(t=d["t"] + 2000, cohort=(d["cohort"] + 2000).fillna(0))
    with pytest.raises(DataError, match="replace"):
        ev.twfe(r_did, "y", "ward", "t", "cohort")
    with pytest.raises(DataError, match="exposure"):
        ev.twfe(d, "y", "ward", "t", "cohort", exposure="x1")
