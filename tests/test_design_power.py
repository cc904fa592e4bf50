"""Power and MDE by simulation (evaluation.design.power) against theory and the estimators.

* Theory: on panels with AR(1) errors (ρ = 0.5, 10 pre- and 10 post-periods) the simulated MDE
  matches Burlig, Preonas & Woerman's (2020) DiD variance with serial correlation — not the
  iid formula, which is 1/√2.40 = 0.65 of it — and on iid panels both agree. Tolerance 5 % of
  the analytic MDE: the simulated MDE of one panel varies with that panel's realised error
  variance (≈ 5 % for 200 units) and the Monte-Carlo error of 1,000 replications (≈ 1.5 %);
  the mean over 8 panels has a standard error near 2 %.
* The simulation is the analysis: each simulated p-value (the batched tests of
  evaluation.inference.batched) equals the one the estimator reports on the replication's data
  (randomization inference for TWFE and att_gt, conformal inference with either statistic,
  cluster-robust t), and the inference is the one inference="auto" chooses.
* Size at effect 0 is the level within its Monte-Carlo band; power grows with the effect.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from evaluation.design import power as P
from evaluation.errors import DataError
from evaluation.estimators.att_gt import att_gt
from evaluation.estimators.twfe import twfe


def ar1_panel(n_units, n_treated, n_pre, n_post, rho, seed=0, sigma=1.0):
    """Unit and period effects plus stationary AR(1) errors with variance σ²; the first
    ``n_treated`` units start at period ``n_pre``."""
    rng = np.random.default_rng(seed)
    T = n_pre + n_post
    e = np.empty((n_units, T))
    e[:, 0] = rng.normal(size=n_units)
    for t in range(1, T):
        e[:, t] = rho * e[:, t - 1] + math.sqrt(1 - rho**2) * rng.normal(size=n_units)
    y = 20 + 3 * rng.normal(size=n_units)[:, None] + rng.normal(size=T)[None, :] + sigma * e
    cohort = np.where(np.arange(n_units) < n_treated, n_pre, np.nan)
    return pd.DataFrame(
        {
            "ward": np.repeat([f"P. {i:03d}" for i in range(n_units)], T),
            "week": np.tile(np.arange(T), n_units),
            "y": y.ravel(),
            "cohort": np.repeat(cohort, T),
        }
    )


def district(cohorts, n_t=40, seed=0):
    """13 wards with AR(1) noise and the given cohorts (week numbers; NaN = never)."""
    d = ar1_panel(len(cohorts), 0, n_t, 0, 0.5, seed=seed)
    d["cohort"] = np.repeat(np.asarray(cohorts, dtype=float), n_t)
    d["stratum"] = np.where(d["ward"].str[-1].astype(int) % 2 == 0, "a", "b")
    return d


ROLLOUT = [np.nan, 12, 12, 12, 20, 20, 20, 28, 28, 28, 28, np.nan, np.nan]


def analysis(data, **kw):
    args = dict(
        estimator="twfe",
        inference="auto",
        reps=40,
        seed=3,
        strata=None,
        level=0.95,
        scale="additive",
        permutations=199,
        analysis_seed=0,
        options=None,
        aggregation="simple",
    )
    return P._run(data, "y", "ward", "week", "cohort", **(args | kw))


# --------------------------------------------------------------------------------------------
# theory


def test_did_variance_is_the_variance_of_the_difference_of_means():
    # direct: Var(mean of post errors − mean of pre errors) from the AR(1) covariance matrix
    for m, r, rho in ((10, 10, 0.5), (4, 7, 0.8), (6, 3, -0.3), (10, 10, 0.0)):
        t = np.arange(m + r)
        cov = rho ** np.abs(t[:, None] - t[None, :])
        w = np.r_[-np.ones(m) / m, np.ones(r) / r]
        assert P.did_variance(m, r, rho=rho) == pytest.approx(w @ cov @ w, rel=1e-12)
    assert P.did_variance(10, 10, rho=0.0) == pytest.approx(0.2)
    # 10 pre- and 10 post-periods at ρ = 0.5: 0.480 against the iid 0.2 — 2.40 times the
    # variance, 1.55 times the MDE
    assert P.did_variance(10, 10, rho=0.5) == pytest.approx(0.48016, abs=1e-5)
    ratio = P.analytic_mde(100, 100, 10, 10, rho=0.5) / P.analytic_mde(100, 100, 10, 10)
    assert ratio == pytest.approx(1.5495, abs=1e-4)


@pytest.mark.parametrize("rho", [0.5, 0.0])
def test_simulated_mde_matches_the_serially_correlated_formula(rho):
    n, panels = 200, 8
    sims = []
    for s in range(panels):
        res = P.mde(ar1_panel(n, n // 2, 10, 10, rho, seed=s), "y", "ward", "week", "cohort")
        assert res.inference_method == "cluster"  # 200 clusters: what "auto" runs
        sims.append(-res.mde)
    sim = float(np.mean(sims))
    ar1 = P.analytic_mde(n // 2, n // 2, 10, 10, rho=rho, df=n - 1)
    iid = P.analytic_mde(n // 2, n // 2, 10, 10, rho=0.0, df=n - 1)
    assert sim == pytest.approx(ar1, rel=0.05)
    if rho:
        assert sim > 1.4 * iid  # the iid formula understates the MDE by a third


# --------------------------------------------------------------------------------------------
# the simulation reproduces the analysis


def _refit_pvalues(an, rows, delta):
    refit = P._Refit(an.plan, an.donors, 0.05)
    out = []
    for r in rows:
        data = refit._data(r, delta)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if an.plan.estimator == "twfe":
                est = twfe(data, "y", "ward", "week", "cohort", n_boot=an.plan.permutations)
            else:
                res = att_gt(data, "y", "ward", "week", "cohort", **an.plan.options)
                est = res.aggregate(an.plan.aggregation, reps=an.plan.permutations).overall
        out.append((est.pvalue, est.inference_method))
    return out


def _simulated_pvalues(an, rows, delta):
    return an.ev.pvalues(delta, rows)  # the batched test of evaluation.inference.batched


@pytest.mark.parametrize(
    "cohorts, kw, method",
    [
        (ROLLOUT, {}, "randomization"),  # 4 never-treated → permutation test, sampled draws
        (ROLLOUT, {"scale": "proportional"}, "randomization"),
        (ROLLOUT, {"estimator": "att_gt", "options": {"control": "notyet"}}, "randomization"),
        (
            [12] * 4 + [20] * 4 + [28] * 5,  # no never-treated: the last cohort compares
            {"estimator": "att_gt", "options": {"control": "notyet"}, "aggregation": "dynamic"},
            "randomization",
        ),
        ([np.nan] * 11 + [25, 25], {"permutations": 999}, "randomization"),  # 78: enumerated
        ([25] + [np.nan] * 12, {}, "conformal"),  # one ward, 25 of 40 weeks before its start
        ([25] + [np.nan] * 12, {"scale": "proportional"}, "conformal"),
    ],
)
def test_simulated_pvalues_are_the_estimators(cohorts, kw, method):
    an = analysis(district(cohorts), **kw)
    assert an.plan.method == method
    rows = [0, 7, an.ev.n - 1]
    delta = -0.15 if kw.get("scale") == "proportional" else -1.5
    for d in (0.0, delta):
        fitted = _refit_pvalues(an, rows, d)
        assert [m for _, m in fitted] == [method] * len(rows)  # "auto" chose the same
        np.testing.assert_allclose(
            _simulated_pvalues(an, rows, d), [p for p, _ in fitted], rtol=0, atol=1e-12
        )


def staggered_city(n_units=60, n_t=36, seed=5, never=True):
    """A city-sized rollout: 60 wards in four start waves (or three and the last as the
    comparison), where inference="auto" keeps att_gt's analytic standard errors."""
    waves = [10, 18, 26] + ([np.nan] if never else [32])
    cohorts = np.repeat(waves, n_units // len(waves)).astype(float)
    d = ar1_panel(n_units, 0, n_t, 0, 0.5, seed=seed)
    d["cohort"] = np.repeat(cohorts, n_t)
    d["y"] += 20.0  # a level, so that a proportional effect is not centred on zero
    d["district"] = np.repeat(np.arange(n_units) // 4, n_t)  # 15 clusters of 4 wards
    return d


@pytest.mark.parametrize(
    "never, kw",
    [
        (True, {"options": {"control": "never"}}),
        (True, {"options": {"control": "notyet"}}),
        (True, {"options": {"control": "notyet"}, "scale": "proportional"}),
        (False, {"options": {"control": "notyet"}}),  # the last wave compares until it starts
        (True, {"options": {"control": "notyet", "base_period": "universal"}}),
        (True, {"options": {"control": "notyet", "anticipation": 1}}),
        (True, {"options": {"control": "notyet", "cluster": "district"}, "inference": "analytic"}),
    ],
)
def test_influence_function_replications_are_the_estimators(never, kw):
    # the batched analytic test (InfluenceT from AttGt.influence_pieces) gives the p-value
    # att_gt(...).aggregate("simple") reports on each replication's data, at every effect
    an = analysis(staggered_city(never=never), estimator="att_gt", reps=25, **kw)
    assert an.plan.method == "analytic"
    assert type(an.ev).__name__ == "InfluenceT"  # not the refit
    rows = [0, 9, an.ev.n - 1]
    delta = -0.05 if kw.get("scale") == "proportional" else -0.6
    for d in (0.0, delta, 2 * delta):
        fitted = []
        refit = P._Refit(an.plan, an.donors, 0.05)
        for r in rows:
            fitted.append(refit._estimate(refit._data(r, d), "analytic").pvalue)
        np.testing.assert_allclose(_simulated_pvalues(an, rows, d), fitted, rtol=1e-9, atol=1e-12)
    assert 0 < an.ev.spread() < 1


def test_robust_conformal_replications_are_the_estimators():
    # strongly autocorrelated residuals: statistic="auto" keeps CWZ's mean |û| in some
    # replications (the batched MixedConformal), and their p-values are the estimator's too
    data = ar1_panel(13, 0, 40, 0, 0.95, seed=100)
    data["cohort"] = np.repeat(np.asarray([25] + [np.nan] * 12, dtype=float), 40)
    an = analysis(data)
    robust = an.ev.robust
    assert an.plan.method == "conformal" and robust.any() and not robust.all()
    rows = [*np.flatnonzero(robust)[:2], np.flatnonzero(~robust)[0]]
    for d in (0.0, -1.5):
        fitted = _refit_pvalues(an, rows, d)
        assert [m for _, m in fitted] == ["conformal"] * len(rows)
        np.testing.assert_allclose(
            _simulated_pvalues(an, rows, d), [p for p, _ in fitted], rtol=0, atol=1e-12
        )


def test_cluster_t_is_the_estimators():
    an = analysis(ar1_panel(60, 30, 8, 8, 0.5, seed=4), reps=30)
    assert an.plan.method == "cluster"
    for d in (0.0, -0.4):
        fitted = _refit_pvalues(an, [0, 11], d)
        assert [m for _, m in fitted] == ["cluster", "cluster"]
        np.testing.assert_allclose(_simulated_pvalues(an, [0, 11], d), [p for p, _ in fitted])


def test_strata_permute_within_strata():
    an = analysis(district(ROLLOUT), strata="stratum")
    g = an.plan.groups.to_numpy()
    cpos = an.plan.cpos
    for row in an.donors:  # every replication keeps the cohorts of each stratum
        for s in np.unique(g):
            assert sorted(cpos[row][g == s]) == sorted(cpos[g == s])


# --------------------------------------------------------------------------------------------
# size, monotonicity, the design limit


def test_size_is_the_level_and_power_grows_with_the_effect():
    data = district(ROLLOUT, seed=5)
    res = P.power(
        data, "y", "ward", "week", "cohort", effect=[0, -0.5, -1, -1.5, -2, -3], reps=2000
    )
    size = res.table["power"].iloc[0]
    band = 3 * math.sqrt(0.05 * 0.95 / 2000)  # Monte-Carlo error of 2,000 replications
    assert abs(size - 0.05) < band
    assert res.table["power"].is_monotonic_increasing
    assert res.table["power"].iloc[-1] > 0.8
    assert "false-alarm" in res.sentence_en


def test_mde_hits_the_target_power_on_its_curve():
    data = district(ROLLOUT, seed=6)
    m = P.mde(data, "y", "ward", "week", "cohort", reps=500, outcome_unit=("phút", "minutes"))
    assert m.detectable and m.mde < 0 and m.achieved_power >= 0.8
    again = P.power(data, "y", "ward", "week", "cohort", effect=m.mde, reps=500)
    assert again.power == pytest.approx(m.achieved_power)
    below = P.power(data, "y", "ward", "week", "cohort", effect=0.97 * m.mde, reps=500)
    assert below.power < 0.8
    assert m.mde_percent == pytest.approx(100 * m.mde / m.baseline)
    assert "phút" in m.sentence_vi and "," in m.sentence_vi.split("giảm")[1][:6]


def test_one_treated_ward_of_13_cannot_reach_5_percent_by_permutation():
    data = district([25] + [np.nan] * 12)
    m = P.mde(data, "y", "ward", "week", "cohort", inference="randomization")
    assert not m.detectable and math.isnan(m.mde)
    assert "0.077" in m.sentence_en and "0,077" in m.sentence_vi
    assert any("cannot reach the 5%" in w for w in m.warnings)


# --------------------------------------------------------------------------------------------
# input errors


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"estimator": "synthetic_control"}, "argument 'estimator'"),
        ({"scale": "log"}, "argument 'scale'"),
        ({"effect": "big"}, "argument 'effect'"),
        ({"effect": [float("nan")]}, "argument 'effect'"),
        ({"reps": 0}, "argument 'reps'"),
        ({"strata": "district"}, "argument 'strata'"),
        ({"outcome": "congestion"}, "argument 'outcome'"),
        ({"inference": "bootstrap"}, "inference='bootstrap'"),
    ],
)
def test_bad_input_names_the_argument(kw, words):
    data = district(ROLLOUT)
    args = {"outcome": "y", "effect": -1.0} | kw
    outcome = args.pop("outcome")
    with pytest.raises(ValueError, match=words):
        P.power(data, outcome, "ward", "week", "cohort", **args)


def test_unbalanced_and_changing_strata_are_refused():
    data = district(ROLLOUT)
    with pytest.raises(DataError, match="balanced"):
        P.power(data.iloc[1:], "y", "ward", "week", "cohort", effect=-1.0)
    bad = data.copy()
    bad.loc[bad.index[:3], "stratum"] = "c"
    with pytest.raises(DataError, match="changes within unit"):
        P.power(bad, "y", "ward", "week", "cohort", effect=-1.0, strata="stratum")
    with pytest.raises(DataError, match="argument 'power'"):
        P.mde(data, "y", "ward", "week", "cohort", power=80)
