"""ev.att_gt on mpdta against R did's published numbers, a second implementation and theory.

Where each reference number comes from
--------------------------------------
* R package ``did`` README (bcallaway11/did, README.md, "A short example"; the same output is
  on https://bcallaway11.github.io/did/): ``att_gt(yname="lemp", gname="first.treat",
  idname="countyreal", tname="year", xformla=~1, data=mpdta, est_method="reg")`` prints every
  ATT(g,t) to 4 decimals, "P-value for pre-test of parallel trends assumption: 0.16812", and
  ``aggte(out, type="dynamic")`` / ``type="group"`` overall and by event time / group.
  The README's standard errors come from did's default multiplier bootstrap (``bstrap=TRUE``,
  1,000 draws, unseeded); they bound our analytic SEs only to bootstrap noise (±10 %).
* Point estimates to 1e-6 and analytic SEs to 1e-4 (relative) for every cell and every
  aggregation, both control groups, both base periods: against ``csdid`` (d2cml-ai, a port of
  R did 2.5) used as a second implementation, and, for the no-covariate case, against the
  closed forms computed here with pandas (ATT = difference of mean changes; SE² = var₀(ΔY|g)/n_g
  + var₀(ΔY|C)/n_C, the influence-function variance with an intercept only).
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pytest

import evaluation as ev

# did README, est_method="reg", never-treated, varying base period: (group, time) -> ATT
README_ATT = {
    (2004, 2004): -0.0105,
    (2004, 2005): -0.0704,
    (2004, 2006): -0.1373,
    (2004, 2007): -0.1008,
    (2006, 2004): 0.0065,
    (2006, 2005): -0.0028,
    (2006, 2006): -0.0046,
    (2006, 2007): -0.0412,
    (2007, 2004): 0.0305,
    (2007, 2005): -0.0027,
    (2007, 2006): -0.0311,
    (2007, 2007): -0.0261,
}
# bootstrap standard errors printed in the README (same cells)
README_BOOT_SE = {
    (2004, 2004): 0.0241,
    (2004, 2005): 0.0313,
    (2004, 2006): 0.0380,
    (2004, 2007): 0.0337,
    (2006, 2004): 0.0223,
    (2006, 2005): 0.0196,
    (2006, 2006): 0.0188,
    (2006, 2007): 0.0202,
    (2007, 2004): 0.0154,
    (2007, 2005): 0.0168,
    (2007, 2006): 0.0190,
    (2007, 2007): 0.0182,
}
README_DYNAMIC = {
    "overall": -0.0772,
    -3: 0.0305,
    -2: -0.0006,
    -1: -0.0245,
    0: -0.0199,
    1: -0.0510,
    2: -0.1373,
    3: -0.1008,
}
README_GROUP = {"overall": -0.031, 2004: -0.0797, 2006: -0.0229, 2007: -0.0261}
README_PRETEST_P = 0.16812


@pytest.fixture(scope="module")
def readme_fit(mpdta_raw):
    return ev.att_gt(mpdta_raw, "lemp", "countyreal", "year", "cohort", est_method="reg")


@pytest.mark.reference
def test_att_gt_matches_did_readme(readme_fit):
    t = readme_fit.table.set_index(["group", "time"])
    assert len(t) == 12
    for key, att in README_ATT.items():
        assert t.loc[key, "att"] == pytest.approx(att, abs=5e-5 + 1e-12)
        # analytic SE vs the README's bootstrap SE: same quantity up to bootstrap noise
        assert t.loc[key, "se"] == pytest.approx(README_BOOT_SE[key], rel=0.10)
    assert readme_fit.pretrend.df == 5
    assert round(readme_fit.pretrend.pvalue, 5) == README_PRETEST_P


@pytest.mark.reference
def test_aggregations_match_did_readme(readme_fit):
    dyn = readme_fit.aggregate("dynamic")
    assert dyn.overall.estimate == pytest.approx(README_DYNAMIC["overall"], abs=5e-5)
    by_e = dyn.table.set_index("event_time")["estimate"]
    for e, v in README_DYNAMIC.items():
        if e != "overall":
            assert by_e[e] == pytest.approx(v, abs=5e-5)
    grp = readme_fit.aggregate("group")
    assert grp.overall.estimate == pytest.approx(README_GROUP["overall"], abs=5e-4)
    by_g = grp.table.set_index("group")["estimate"]
    for g, v in README_GROUP.items():
        if g != "overall":
            assert by_g[g] == pytest.approx(v, abs=5e-5)


def _closed_form(d, g, t, base, control):
    wide = d.pivot(index="countyreal", columns="year", values="lemp")
    coh = d.groupby("countyreal")["cohort"].first()
    dy = wide[t] - wide[base]
    treated = dy[coh == g]
    if control == "never":
        ctrl = dy[coh.isna()]
    else:
        ctrl = dy[coh.isna() | ((coh > max(t, base)) & (coh != g))]
    att = treated.mean() - ctrl.mean()
    se = np.sqrt(treated.var(ddof=0) / len(treated) + ctrl.var(ddof=0) / len(ctrl))
    return att, se


@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
def test_cells_equal_closed_form(mpdta, control, base_period):
    r = ev.att_gt(
        mpdta, "lemp", "countyreal", "year", "cohort", control=control, base_period=base_period
    )
    for row in r.table.itertuples():
        if row.time == row.base:  # universal base period: normalised to zero
            assert row.att == 0 and np.isnan(row.se)
            continue
        att, se = _closed_form(mpdta, row.group, row.time, row.base, control)
        assert row.att == pytest.approx(att, abs=1e-12)
        assert row.se == pytest.approx(se, rel=1e-10)


def _csdid(mpdta, control, base_period, est_method, covariates):
    mod = pytest.importorskip("csdid.att_gt")
    d = mpdta.rename(columns={"first.treat": "first_treat"})
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = mod.ATTgt(
            yname="lemp",
            gname="first_treat",
            idname="countyreal",
            tname="year",
            data=d,
            control_group={"never": "nevertreated", "notyet": "notyettreated"}[control],
            xformla="lemp ~ lpop" if covariates else None,
        ).fit(est_method=est_method, base_period=base_period, bstrap=False)
        aggs = {
            k: fit.aggte(typec=k, bstrap=False).atte
            for k in ("simple", "dynamic", "group", "calendar")
        }
    return fit.results, aggs


@pytest.mark.reference
@pytest.mark.parametrize("control", ["never", "notyet"])
@pytest.mark.parametrize("base_period", ["varying", "universal"])
@pytest.mark.parametrize(
    ("est_method", "covariates"), [("reg", ()), ("reg", ("lpop",)), ("dr", ("lpop",))]
)
def test_every_cell_and_aggregation_match_second_implementation(
    mpdta, control, base_period, est_method, covariates
):
    ours = ev.att_gt(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "cohort",
        control=control,
        base_period=base_period,
        est_method=est_method,
        covariates=covariates,
    )
    res, aggs = _csdid(mpdta, control, base_period, est_method, covariates)
    np.testing.assert_allclose(ours.table["att"], np.asarray(res["att"], float), atol=1e-6)
    se_ref = np.asarray(res["se"], float)
    ok = np.isfinite(se_ref)
    np.testing.assert_allclose(ours.table["se"][ok], se_ref[ok], rtol=1e-4)
    assert np.isnan(ours.table["se"][~ok]).all()
    for kind, ref in aggs.items():
        agg = ours.aggregate(kind)
        assert agg.overall.estimate == pytest.approx(ref["overall_att"], abs=1e-6)
        assert agg.overall.se == pytest.approx(ref["overall_se"], rel=1e-4)
        if kind != "simple":
            np.testing.assert_allclose(agg.table["estimate"], ref["att_egt"], atol=1e-6)
            se_k = np.asarray(ref["se_egt"], float)
            fin = np.isfinite(se_k)
            np.testing.assert_allclose(agg.table["se"][fin], se_k[fin], rtol=1e-4)


def test_simple_aggregation_is_the_group_size_weighted_post_average(readme_fit, mpdta):
    t = readme_fit.table[readme_fit.table["post"]]
    sizes = mpdta.groupby("cohort")["countyreal"].nunique()
    w = t["group"].map(sizes)
    expected = float((t["att"] * w).sum() / w.sum())
    assert readme_fit.aggregate("simple").overall.estimate == pytest.approx(expected, abs=1e-14)


def test_bootstrap_se_and_uniform_band(mpdta, readme_fit):
    boot = ev.att_gt(
        mpdta, "lemp", "countyreal", "year", "cohort", bootstrap=True, n_boot=999, seed=5
    )
    np.testing.assert_allclose(boot.table["se"], readme_fit.table["se"], rtol=0.15)
    # the uniform critical value over 12 cells lies between the pointwise 1.96 and Bonferroni
    assert 1.96 < boot.crit_val < 3.04
    assert (
        (boot.table["band_high"] - boot.table["band_low"])
        > (boot.table["ci_high"] - boot.table["ci_low"])
    ).all()
    dyn = boot.aggregate("dynamic")
    assert "crit_val" in dyn.table and dyn.crit_val > 1.96
    again = ev.att_gt(
        mpdta, "lemp", "countyreal", "year", "cohort", bootstrap=True, n_boot=999, seed=5
    )
    assert again.crit_val == boot.crit_val  # seeded


def test_plots_and_serialisation(readme_fit):
    import matplotlib

    matplotlib.use("Agg")
    assert readme_fit.aggregate("dynamic").plot() is not None
    assert readme_fit.plot() is not None
    d = readme_fit.aggregate("group").to_dict()
    assert d["overall"]["estimate"] == pytest.approx(-0.031, abs=5e-4)
    import json

    json.dumps(readme_fit.to_dict())
