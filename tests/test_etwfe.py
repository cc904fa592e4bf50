"""ev's Poisson extended TWFE (Wooldridge 2023) against R etwfe's published numbers, a second
implementation (pyfixest's fepois with the interactions spelled out), its own batch solver, and
planted effects that the Poisson TWFE gets wrong."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.data.prepare import prepare
from evaluation.estimators.etwfe import _randomization_batch, aggregate, etwfe, fit_etwfe
from evaluation.estimators.twfe import twfe

from .conftest import reference_file


def _prep(d, outcome, unit, time, cohort, **kw):
    return prepare(
        d, outcome, unit, time, cohort, estimator="etwfe", count_outcome=True,
        one_row_per_cell=True, allow_always_treated=False, **kw,
    )  # fmt: skip


@pytest.fixture(scope="module")
def mpdta_emp():
    d = pd.read_csv(reference_file("mpdta.csv"))
    d["emp"] = np.exp(d["lemp"])
    d["cohort"] = d["first.treat"].replace(0, np.nan)
    return d


# R etwfe's test suite (grantmcdermott/etwfe, inst/tinytest/test_emfx.R): ``m3p = etwfe(emp ~
# lpop, tvar = year, gvar = first.treat, data = mpdta, vcov = ~countyreal, family =
# "poisson")``, then ``emfx(m3p, type = "event")`` on the response scale and with
# ``predict = "link"``; emp = exp(lemp).
EVENT_RESPONSE = [-25.3497484355494, 1.09175116997388, -75.1246321552693, -101.823979344829]
EVENT_LINK = [-0.0325653634930092, -0.0675071046997911, -0.132971344933511, -0.117022779216096]
EVENT_LINK_SE = [0.0128503810792558, 0.0183966910997271, 0.0237253182969748, 0.0225005664705109]


def test_mpdta_poisson_event_effects_match_r_etwfe(mpdta_emp):
    prep = _prep(mpdta_emp, "emp", "countyreal", "year", "cohort", controls=["lpop"])
    fit = fit_etwfe(prep, fixed_effects="cohort")  # etwfe's default: cohort, not county, effects
    by_event = aggregate(fit, "event").set_index("event")
    np.testing.assert_allclose(by_event["att"].to_numpy(), EVENT_RESPONSE, rtol=1e-6)
    # the link scale: the mean over each event time's rows of the treatment's linear predictor
    rows = fit.rows
    link = np.log(rows["mu1"] / rows["mu0"])
    jac = fit.dmu1 / rows["mu1"].to_numpy()[:, None] - fit.dmu0 / rows["mu0"].to_numpy()[:, None]
    est, se = [], []
    for e in range(4):
        at = (rows["event"] == e).to_numpy()
        g = jac[at].mean(axis=0)
        est.append(link[at].mean())
        se.append(np.sqrt(g @ fit.vcov @ g))
    np.testing.assert_allclose(est, EVENT_LINK, rtol=1e-6)
    np.testing.assert_allclose(se, EVENT_LINK_SE, rtol=5e-5)  # marginaleffects: numerical Jacobian


def _staggered_counts(rng, n_units=40, n_periods=16, *, mean=40.0, effects=None, exposure=True):
    """Counts with unit and period effects, a growing exposure and cohorts at periods 5, 9, 12
    (and never); ``effects[g](e)`` is cohort g's log effect e periods after its start."""
    starts = np.array([5, 9, 12, np.nan])[rng.integers(0, 4, n_units)]
    alpha = rng.normal(0, 0.4, n_units)
    lam = rng.normal(0, 0.2, n_periods)
    t = np.arange(n_periods)
    pop = np.exp(rng.normal(9, 0.3, n_units))[:, None] * (
        1 + 0.02 * t[None, :] * rng.random((n_units, 1))
    )
    rate = mean * np.exp(alpha[:, None] + lam[None, :]) * pop / pop.mean()
    eff = np.zeros((n_units, n_periods))
    for i, g in enumerate(starts):
        if np.isfinite(g) and effects is not None:
            e = t - g
            eff[i] = np.where(e >= 0, effects[int(g)](np.maximum(e, 0)), 0.0)
    y0, y1 = rate, rate * np.exp(eff)
    y = rng.poisson(y1)
    d = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n_units), n_periods),
            "time": np.tile(t, n_units),
            "y": y.ravel(),
            "pop": pop.ravel() if exposure else 1.0,
            "cohort": np.repeat(starts, n_periods),
        }
    )
    treated = (eff != 0).ravel() | (d["time"] >= d["cohort"]).to_numpy()
    truth = np.log(y1.ravel()[treated].sum() / y0.ravel()[treated].sum())
    return d, truth


def test_cells_and_standard_errors_equal_pyfixest_fepois():
    pf = pytest.importorskip("pyfixest")
    rng = np.random.default_rng(7)
    d, _ = _staggered_counts(rng, effects={5: lambda e: -0.2 - 0.02 * e, 9: lambda e: -0.1 + 0 * e,
                                           12: lambda e: 0.05 + 0 * e})  # fmt: skip
    prep = _prep(d, "y", "unit", "time", "cohort", exposure="pop")
    fit = fit_etwfe(prep)
    # the same model spelled out: a dummy for every treated cohort × period, log(pop) offset
    cols = []
    for g in (5, 9, 12):
        for t in range(g, 16):
            name = f"c{g}_{t}"
            d[name] = ((d["cohort"] == g) & (d["time"] == t)).astype(float)
            cols.append(name)
    d["off"] = np.log(d["pop"])
    m = pf.fepois(f"y ~ {' + '.join(cols)} | unit + time", data=d, offset="off",
                  vcov={"CRV1": "unit"})  # fmt: skip
    np.testing.assert_allclose(fit.coef.to_numpy(), m.coef().to_numpy(), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.vcov)), m.se().to_numpy(), rtol=1e-5)


def test_batch_solver_equals_refitting_under_reassigned_cohorts():
    from evaluation.synthetic.counts import fire_like_panel

    d = fire_like_panel(np.random.default_rng(3), effect=-0.2)
    args = ("fires", "ward", "month", "cohort")
    prep = _prep(d, *args, exposure="population")
    for events in (None, (3, 5)):
        batch = _randomization_batch(prep, events)
        units = pd.Index(prep.units)
        rng = np.random.default_rng(1)
        donors = np.vstack([np.arange(prep.N)] + [rng.permutation(prep.N) for _ in range(12)])
        for tau in (0.0, -0.4):
            fast = batch(units, donors, tau)
            cohort_of = d.groupby("ward")["cohort"].first().reindex(units).to_numpy()
            treated_obs = (d["month"] >= d["cohort"]).to_numpy()
            y_tau = d["fires"] * np.exp(-tau * treated_obs)
            slow = []
            for row in donors:
                new = dict(zip(units, cohort_of[row], strict=True))
                dd = d.assign(cohort=d["ward"].map(new), fires=y_tau)
                try:
                    slow.append(etwfe(dd, *args, exposure="population", events=events,
                                      inference="none").estimate)  # fmt: skip
                except Exception:  # noqa: BLE001 - an assignment without cells: NaN in both
                    slow.append(np.nan)
            np.testing.assert_allclose(fast, slow, rtol=1e-8, atol=1e-8)
        # the observed assignment at τ is the observed estimate minus τ (every cell shifts)
        obs = etwfe(d, *args, exposure="population", events=events, inference="none").estimate
        np.testing.assert_allclose(batch(units, donors[:1], 0.3)[0], obs - 0.3, atol=1e-8)


def test_planted_heterogeneous_effects_unbiased_where_poisson_twfe_is_not():
    """Early cohorts with large effects that grow, a late cohort with none: the Poisson TWFE
    compares the late cohort with already-treated wards and misses the average; ETWFE does
    not. 40 replications; the ETWFE's mean error must lie within 3 Monte-Carlo standard errors
    of zero and the TWFE's outside."""
    effects = {5: lambda e: -0.1 - 0.06 * e, 9: lambda e: -0.3 + 0 * e, 12: lambda e: 0.0 * e}
    err_e, err_t = [], []
    for r in range(40):
        d, truth = _staggered_counts(np.random.default_rng(100 + r), effects=effects)
        e = etwfe(d, "y", "unit", "time", "cohort", exposure="pop", inference="none").estimate
        t = twfe(d, "y", "unit", "time", "cohort", family="poisson", exposure="pop",
                 inference="none").estimate  # fmt: skip
        err_e.append(e - truth)
        err_t.append(t - truth)
    err_e, err_t = np.array(err_e), np.array(err_t)
    mc_e = err_e.std(ddof=1) / np.sqrt(len(err_e))
    mc_t = err_t.std(ddof=1) / np.sqrt(len(err_t))
    assert abs(err_e.mean()) < 3 * mc_e, (err_e.mean(), mc_e)
    assert abs(err_t.mean()) > 5 * mc_t, (err_t.mean(), mc_t)


def test_randomization_inference_covers_the_planted_ratio():
    from evaluation.synthetic.counts import fire_like_panel

    d = fire_like_panel(np.random.default_rng(11), effect=-0.3)
    est = etwfe(d, "fires", "ward", "month", "cohort", exposure="population", n_boot=199)
    assert est.inference_method == "randomization"
    assert est.ci_low < -0.3 < est.ci_high
    assert est.ci_low <= est.estimate <= est.ci_high
    assert est.details["percent_change"] == pytest.approx(100 * (np.exp(est.estimate) - 1))


def _rare_counts(rng, rate=0.4, ratio=0.8):
    """13 wards over 48 months — 3 never treated, cohorts of 3 starting in months 20, 28, 36 —
    at ``rate`` events a ward-month (ward effects sd 0.5, a seasonal cycle) and a homogeneous
    rate ``ratio``: after month 36 only the 3 never-treated wards compare, and in about a third
    of those months they have no count at all (issue 16, part 3)."""
    n, T = 13, 48
    start = np.where(np.arange(n) < 3, np.nan, 20.0 + 8 * ((np.arange(n) - 3) // 3))
    alpha = rng.normal(0, 0.5, n)
    season = 0.3 * np.sin(np.arange(T) / 12 * 2 * np.pi)
    treated = np.arange(T)[None, :] >= start[:, None]
    mu = rate * np.exp(alpha[:, None] + season[None, :]) * np.where(treated, ratio, 1.0)
    return pd.DataFrame(
        {
            "ward": np.repeat(np.arange(n), T),
            "month": np.tile(np.arange(T), n),
            "cohort": np.repeat(start, T),
            "y": rng.poisson(mu).ravel(),
        }
    )


def test_rare_counts_with_few_wards_unbiased():
    """The reproducer of issue 16, part 3: a −20 % effect (log −0.223) on 0.4 events a
    ward-month in 13 wards. 40 panels: the mean log estimate lies within 3 Monte-Carlo standard
    errors of the planted effect. The statistic as it was — the months whose comparison had no
    count left out of the average — is computed from the same fits and lies more than 3 standard
    errors below it (it selected months by the comparison's outcome: −0.41 over these panels)."""
    truth = np.log(0.8)
    new, old, blank = [], [], []
    for r in range(40):
        d = _rare_counts(np.random.default_rng(500 + r))
        fit = fit_etwfe(_prep(d, "y", "ward", "month", "cohort"))
        est = etwfe(d, "y", "ward", "month", "cohort", inference="none").estimate
        assert est == pytest.approx(np.log(fit.rows["mu1"].sum() / fit.rows["mu0"].sum()))
        kept = fit.rows[~fit.rows["time"].isin(fit.blank_periods)]
        assert (fit.rows.loc[fit.rows["time"].isin(fit.blank_periods), "mu0"] == 0).all()
        new.append(est)
        old.append(np.log(kept["mu1"].sum() / kept["mu0"].sum()))
        blank.append(len(fit.blank_periods))
    new, old = np.array(new), np.array(old)
    se_new = new.std(ddof=1) / np.sqrt(len(new))
    se_old = old.std(ddof=1) / np.sqrt(len(old))
    assert np.mean(blank) > 1  # the design does produce months without a comparison count
    assert abs(new.mean() - truth) < 3 * se_new, (new.mean(), se_new)
    assert old.mean() - truth < -3 * se_old, (old.mean(), se_old)


@pytest.mark.parametrize("silent_cohort", [False, True])
def test_batch_solver_equals_refitting_where_the_comparison_has_no_count(silent_cohort):
    """The batch solver treats a month whose untreated wards have no count, and a cohort without
    a count before its start, as the fit does — under every re-assignment, where which months
    and cohorts those are changes with the assignment."""
    d = _rare_counts(np.random.default_rng(9))
    if silent_cohort:  # the wards starting in month 20 had no fire before it
        d.loc[(d["cohort"] == 20) & (d["month"] < 20), "y"] = 0
    args = ("y", "ward", "month", "cohort")
    prep = _prep(d, *args)
    fit = fit_etwfe(prep)
    assert fit.blank_periods  # the cases under test are there
    assert bool(fit.dropped_cohorts) == silent_cohort
    assert not fit.rows["group"].isin(fit.dropped_cohorts).any()
    units = pd.Index(prep.units)
    rng = np.random.default_rng(2)
    donors = np.vstack([np.arange(prep.N)] + [rng.permutation(prep.N) for _ in range(6)])
    cohort_of = d.groupby("ward")["cohort"].first().reindex(units).to_numpy()
    treated_obs = (d["month"] >= d["cohort"]).to_numpy()
    for events in (None, (0, 5)):
        batch = _randomization_batch(prep, events)
        for tau in (0.0, -0.3):
            fast = batch(units, donors, tau)
            y_tau = d["y"] * np.exp(-tau * treated_obs)
            slow = []
            for row in donors:
                new = dict(zip(units, cohort_of[row], strict=True))
                dd = d.assign(cohort=d["ward"].map(new), y=y_tau)
                slow.append(etwfe(dd, *args, events=events, inference="none").estimate)
            np.testing.assert_allclose(fast, slow, rtol=1e-8, atol=1e-8)
