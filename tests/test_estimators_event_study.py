"""ev.event_study against the same dummy regression run another way (pyfixest ``i()``
interactions with absorbed unit and period effects, fixest's CR1), on mpdta and on daily
district data; the pre-trend test against the Wald statistic computed from pyfixest's vcov."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import evaluation as ev
from evaluation.errors import DataError, DesignError


def _pyfixest_es(d, rel, ref=-1, cluster="countyreal", fe="countyreal + year", y="lemp"):
    pf = pytest.importorskip("pyfixest")
    d = d.assign(rel=rel.fillna(-1000).astype(float))
    m = pf.feols(f"{y} ~ i(rel, ref={float(ref)}) | {fe}", data=d, vcov={"CRV1": cluster})
    names = [n for n in m.coef().index if n != "rel::-1000.0"]
    ks = [int(float(n.split("::")[1])) for n in names]
    return m, dict(zip(ks, names, strict=True))


@pytest.mark.reference
@pytest.mark.parametrize(("window", "ref"), [((-4, 3), -1), ((-3, 3), -1), ((-4, 3), -2)])
def test_matches_pyfixest_dummy_regression(mpdta, window, ref):
    es = ev.event_study(
        mpdta,
        "lemp",
        "countyreal",
        "year",
        "cohort",
        window=window,
        reference=ref,
        inference="cluster",
    )
    rel = (mpdta["year"] - mpdta["cohort"]).clip(*window)
    m, names = _pyfixest_es(mpdta, rel, ref=ref)
    c = es.coefs.set_index("rel_time")
    for k, name in names.items():
        assert c.loc[k, "estimate"] == pytest.approx(float(m.coef()[name]), abs=1e-10)
        assert c.loc[k, "se"] == pytest.approx(float(m.se()[name]), rel=1e-7)
    assert c.loc[ref, "estimate"] == 0
    # pre-trend: Wald F on the leads from pyfixest's covariance, F(q, G − 1)
    leads = [names[k] for k in sorted(names) if k < 0]
    b = m.coef()[leads].to_numpy()
    V = m._vcov[
        np.ix_(
            [list(m.coef().index).index(n) for n in leads],
            [list(m.coef().index).index(n) for n in leads],
        )
    ]
    W = float(b @ np.linalg.solve(V, b))
    assert es.pretrend.stat == pytest.approx(W, rel=1e-7)
    assert es.pretrend.pvalue == pytest.approx(
        stats.f.sf(W / len(leads), len(leads), 499), rel=1e-7
    )
    assert es.pretrend.df == len(leads)


def _daily(seed=0):
    rng = np.random.default_rng(seed)
    days = pd.date_range("2024-01-01", periods=140, freq="D")
    start = {0: "2024-03-01", 1: "2024-03-01", 2: "2024-03-20", 3: "2024-03-20", 4: "2024-03-20"}
    rows = []
    for w in range(13):
        c = pd.Timestamp(start[w]) if w in start else pd.NaT
        for day in days:
            eff = 0.0 if pd.isna(c) or day < c else 1.0 + 0.02 * (day - c).days
            rows.append((w, day, c, w * 0.2 + np.sin(day.day_of_year / 5) + eff + rng.normal()))
    return pd.DataFrame(rows, columns=["ward", "date", "cohort", "y"])


def test_daily_data_bins_to_weeks_like_the_same_regression_in_pyfixest():
    d = _daily()
    es = ev.event_study(d, "y", "ward", "date", "cohort", inference="cluster")
    assert es.time_unit == "week"
    weeks = np.floor((d["date"] - d["cohort"]).dt.days / 7).clip(-4, 4)
    m, names = _pyfixest_es(d, weeks, cluster="ward", fe="ward + date", y="y")
    c = es.coefs.set_index("rel_time")
    for k, name in names.items():
        assert c.loc[k, "estimate"] == pytest.approx(float(m.coef()[name]), abs=1e-9)
        assert c.loc[k, "se"] == pytest.approx(float(m.se()[name]), rel=1e-7)
    assert c.loc[-4, "binned"] and c.loc[4, "binned"] and not c.loc[0, "binned"]
    assert c.loc[0, "estimate"] == pytest.approx(1.06, abs=0.5)  # planted: 1 + 0.02·day
    months = ev.event_study(
        d, "y", "ward", "date", "cohort", frequency="month", window=(-2, 1), inference="none"
    )
    assert months.time_unit == "month" and set(months.coefs["rel_time"]) == {-2, -1, 0, 1}


def test_inference_choice_and_plot():
    import matplotlib

    matplotlib.use("Agg")
    d = _daily(1)
    es = ev.event_study(d, "y", "ward", "date", "cohort")
    assert es.inference_method in ("wild", "cluster")
    assert "5 treated" in es.inference
    assert es.plot() is not None
    assert es.to_dict()["coefs"][0]["rel_time"] == -4


def test_refuses_unidentified_and_bad_windows(mpdta):
    treated_only = mpdta[mpdta["cohort"].notna()]
    with pytest.raises(DesignError, match="never-treated"):
        ev.event_study(
            treated_only,
            "lemp",
            "countyreal",
            "year",
            "cohort",
            window=(-4, 3),
            bin_endpoints=False,
        )
    with pytest.raises(DataError, match="window"):
        ev.event_study(mpdta, "lemp", "countyreal", "year", "cohort", window=(3, -3))
    with pytest.raises(DataError, match="reference"):
        ev.event_study(mpdta, "lemp", "countyreal", "year", "cohort", reference=-9)
    with pytest.raises(DataError, match="frequency"):
        ev.event_study(mpdta, "lemp", "countyreal", "year", "cohort", frequency="week")
