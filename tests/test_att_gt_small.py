"""ev.att_gt on district-sized designs: 13 wards, few or no never-treated wards, dates,
anticipation, clusters and weights — against closed forms and, where it runs, csdid.

csdid (the Python port) refuses the 13-ward design with two never-treated wards and
control_group="nevertreated" ("Never-treated group is too small"); ours must work there and
equal the definition.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.errors import DataError, DesignError


def district(seed=3, never=2, anticipation_effect=0.0, T=14):
    rng = np.random.default_rng(seed)
    g = np.array([5] * 3 + [9] * 4 + [12] * 4 + [0] * never)
    N = len(g)
    u = np.repeat(np.arange(N), T)
    t = np.tile(np.arange(1, T + 1), N)
    e = t - g[u]
    treated = (g[u] > 0) & (e >= 0)
    effect = np.where(treated, 1 + 0.5 * e, 0.0)
    effect += np.where((g[u] > 0) & (e == -1), anticipation_effect, 0.0)
    y = rng.normal(size=N)[u] + 0.2 * t + effect + 0.3 * rng.normal(size=N * T)
    d = pd.DataFrame({"ward": u, "period": t, "y": y, "g": g[u]})
    d["cohort"] = d["g"].replace(0, np.nan)
    d["x"] = rng.normal(size=N)[u]
    return d


def _csdid(d, control, **kw):
    mod = pytest.importorskip("csdid.att_gt")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mod.ATTgt(
            yname="y", gname="g", idname="ward", tname="period", data=d, control_group=control, **kw
        )


def test_works_where_csdid_refuses_and_equals_the_definition():
    d = district(never=2)
    with pytest.raises(ValueError, match="too small"):
        _csdid(d, "nevertreated").fit(est_method="reg", bstrap=False)
    r = ev.att_gt(d, "y", "ward", "period", "cohort")
    wide = d.pivot(index="ward", columns="period", values="y")
    g = d.groupby("ward")["g"].first()
    for row in r.table.itertuples():
        dy = wide[row.time] - wide[row.base]
        att = dy[g == row.group].mean() - dy[g == 0].mean()
        assert row.att == pytest.approx(att, abs=1e-12)
    assert r.n_units == 13 and r.n_treated == 11


def test_no_never_treated_uses_last_cohort_like_did():
    d = district(never=0)
    with pytest.raises(DesignError, match="control='notyet'"):
        ev.att_gt(d, "y", "ward", "period", "cohort", control="never")
    r = ev.att_gt(d, "y", "ward", "period", "cohort", control="notyet")
    assert any("last cohort" in w for w in r.warnings)
    assert r.table["time"].max() == 11  # periods from the last cohort (12) on are dropped
    assert set(r.table["group"]) == {5, 9}
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _csdid(d, "notyettreated").fit(est_method="reg", bstrap=False)
    np.testing.assert_allclose(r.table["att"], np.asarray(fit.results["att"], float), atol=1e-10)
    np.testing.assert_allclose(r.table["se"], np.asarray(fit.results["se"], float), rtol=1e-8)


def test_anticipation_matches_csdid_and_removes_the_bias():
    d = district(never=6, anticipation_effect=-1.0, seed=5)  # csdid needs ≥ 5 never-treated
    naive = ev.att_gt(d, "y", "ward", "period", "cohort").aggregate("dynamic")
    fixed = ev.att_gt(d, "y", "ward", "period", "cohort", anticipation=1)
    dyn = fixed.aggregate("dynamic").table.set_index("event_time")["estimate"]
    assert dyn[0] == pytest.approx(1.0, abs=0.35)  # true effect at e = 0 is 1
    assert naive.table.set_index("event_time")["estimate"][0] > dyn[0] + 0.5
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _csdid(d, "nevertreated", anticipation=1).fit(est_method="reg", bstrap=False)
    np.testing.assert_allclose(
        fixed.table["att"], np.asarray(fit.results["att"], float), atol=1e-10
    )


def test_cluster_and_weights_match_csdid():
    d = district(never=6, seed=8)
    d["zone"] = d["ward"] % 5
    d["pop"] = (d["ward"] + 1) * 1000.0
    r = ev.att_gt(d, "y", "ward", "period", "cohort", cluster="zone", weights="pop")
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = _csdid(d, "nevertreated", clustervar="zone", weights_name="pop").fit(
            est_method="reg", bstrap=False
        )
    np.testing.assert_allclose(r.table["att"], np.asarray(fit.results["att"], float), atol=1e-10)
    np.testing.assert_allclose(r.table["se"], np.asarray(fit.results["se"], float), rtol=1e-6)
    assert r.n_clusters == 5


def test_dates_give_the_same_numbers_as_integer_periods():
    d = district(never=4)
    base = ev.att_gt(d, "y", "ward", "period", "cohort")
    start = pd.Timestamp("2024-01-01")
    dd = d.assign(
        period=start + pd.to_timedelta(7 * (d["period"] - 1), unit="D"),
        cohort=start + pd.to_timedelta(7 * (d["cohort"] - 1), unit="D"),
    )
    r = ev.att_gt(dd, "y", "ward", "period", "cohort")
    np.testing.assert_allclose(r.table["att"], base.table["att"], atol=1e-12)
    assert isinstance(r.table["group"].iloc[0], pd.Timestamp)
    s1 = r.aggregate("calendar").overall.estimate
    assert s1 == pytest.approx(base.aggregate("calendar").overall.estimate, abs=1e-12)


def test_unbalanced_units_are_dropped_like_did():
    d = district(never=4)
    holes = d.drop(index=d[(d["ward"] == 12) & (d["period"] == 3)].index)
    r = ev.att_gt(holes, "y", "ward", "period", "cohort")
    ref = ev.att_gt(d[d["ward"] != 12], "y", "ward", "period", "cohort")
    np.testing.assert_allclose(r.table["att"], ref.table["att"], atol=1e-12)
    assert any("dropped" in w for w in r.warnings)


def test_designs_att_gt_refuses():
    d = district(never=4)
    with pytest.raises(DesignError, match="no pre-period"):
        ev.att_gt(d.assign(cohort=d["cohort"].replace(5, 1)), "y", "ward", "period", "cohort")
    with pytest.raises(DataError, match="one row per unit"):
        ev.att_gt(pd.concat([d, d.head(3)]), "y", "ward", "period", "cohort")
    with pytest.raises(DataError, match="control"):
        ev.att_gt(d, "y", "ward", "period", "cohort", control="sometimes")
    with pytest.raises(DesignError, match="same time"):
        ev.att_gt(d.assign(cohort=5.0), "y", "ward", "period", "cohort", control="notyet")
    with pytest.raises(DataError, match="kind"):
        ev.att_gt(d, "y", "ward", "period", "cohort").aggregate("weekly")


def test_randomization_for_the_overall_effect():
    pytest.importorskip("evaluation.inference.randomization")
    d = district(never=4)
    one = d[(d["g"] == 5) | (d["g"] == 0)]
    one = one[one["ward"].isin([0, 11, 12, 13, 14]) | (one["g"] == 0)]
    r = ev.att_gt(one, "y", "ward", "period", "cohort")
    agg = r.aggregate("simple", inference="auto")
    assert agg.overall.inference_method == "randomization"
    n = one["ward"].nunique()
    assert agg.overall.min_pvalue == pytest.approx(1 / n)
    assert agg.overall.pvalue == pytest.approx(1 / n)  # the planted effect is the most extreme


def test_doubly_robust_with_perfect_separation_is_a_design_error_not_a_linalg_crash():
    """13 wards, 2 never treated, one covariate: the propensity logit separates perfectly."""
    rng = np.random.default_rng(0)
    cohorts = {0: 5, 1: 5, 2: 5, 3: 7, 4: 7, 5: 7, 6: 7, 7: 9, 8: 9, 9: 9, 10: 9}
    rows = []
    for i in range(13):
        x = rng.normal()
        rows += [(i, t, cohorts.get(i, np.nan), x, rng.normal()) for t in range(12)]
    d = pd.DataFrame(rows, columns=["u", "t", "c", "x", "y"])
    with pytest.raises(DesignError, match="separate them perfectly.*est_method='reg'"):
        ev.att_gt(d, "y", "u", "t", "c", covariates=["x"])
    ev.att_gt(d, "y", "u", "t", "c", covariates=["x"], est_method="reg")  # still estimable
