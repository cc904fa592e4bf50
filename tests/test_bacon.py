"""Goodman-Bacon decomposition: published weights (castle doctrine) and exact sums.

Reference: R package bacondecomp (Flack & Jee), vignette "bacon" on CRAN and the package's
index.ipynb: bacon(l_homicide ~ post, data = bacondecomp::castle, id_var = "state",
time_var = "year") prints, by type, weight / average estimate
    Earlier vs Later Treated  0.05976325 / -0.00554
    Later vs Earlier Treated  0.03189818 /  0.07032
    Treated vs Untreated      0.90833857 /  0.08796
and "Two-way FE estimate = 0.0818116169306475". The same state-year data ship in the PyPI
package causaldata (castle), whose ``post`` starts one year later in every state; the cohort
used below is therefore (first year with post = 1) − 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.diagnostics.bacon import EARLY_VS_LATE, LATE_VS_EARLY, TREATED_VS_NEVER
from evaluation.errors import DataError


@pytest.fixture(scope="module")
def castle():
    data = pytest.importorskip("causaldata.castle").load_pandas().data
    first_post = data[data["post"] == 1].groupby("sid")["year"].min()
    return data.assign(cohort=data["sid"].map(first_post - 1))


@pytest.mark.reference
def test_castle_matches_published_bacondecomp(castle):
    b = ev.bacon_decomposition(castle, "l_homicide", "sid", "year", "cohort")
    assert b.twfe == pytest.approx(0.0818116169306475, abs=1e-12)
    s = b.summary().set_index("type")
    assert s.loc[EARLY_VS_LATE, "weight"] == pytest.approx(0.05976325, abs=5e-9)
    assert s.loc[LATE_VS_EARLY, "weight"] == pytest.approx(0.03189818, abs=5e-9)
    assert s.loc[TREATED_VS_NEVER, "weight"] == pytest.approx(0.90833857, abs=5e-9)
    assert s.loc[EARLY_VS_LATE, "estimate"] == pytest.approx(-0.00554, abs=5e-6)
    assert s.loc[LATE_VS_EARLY, "estimate"] == pytest.approx(0.07032, abs=5e-6)
    assert s.loc[TREATED_VS_NEVER, "estimate"] == pytest.approx(0.08796, abs=5e-6)
    assert b.weighted_sum == pytest.approx(b.twfe, abs=1e-14)


def _random_panel(seed, always=False):
    rng = np.random.default_rng(seed)
    N, T = 30, 11
    g = rng.choice([3, 5, 8, 99], size=N).astype(float)
    if always:
        g[:4] = 0
    u = np.repeat(np.arange(N), T)
    t = np.tile(np.arange(T), N)
    d = pd.DataFrame({"u": u, "t": t, "cohort": np.where(g == 99, np.nan, g)[u]})
    d["y"] = rng.normal(size=len(d)) + np.where(d["t"] >= d["cohort"], rng.normal(1, 1), 0)
    return d


@pytest.mark.parametrize("always", [False, True])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weights_sum_to_one_and_estimates_to_twfe(seed, always):
    d = _random_panel(seed, always)
    b = ev.bacon_decomposition(d, "y", "u", "t", "cohort")
    twfe = ev.twfe(d, "y", "u", "t", "cohort", inference="none").estimate
    assert b.twfe == pytest.approx(twfe, abs=1e-12)
    assert b.table["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert b.weighted_sum == pytest.approx(twfe, abs=1e-12)
    assert (b.table["weight"] > 0).all()
    if always:
        assert "later vs always treated (already-treated control)" in set(b.table["type"])


def test_each_two_by_two_is_the_textbook_difference(castle):
    b = ev.bacon_decomposition(castle, "l_homicide", "sid", "year", "cohort")
    row = b.table[b.table["type"] == TREATED_VS_NEVER].iloc[0]
    g = row["treated"]
    y = castle["l_homicide"].astype(float)  # the .dta stores float32
    means = y.groupby([castle["cohort"].fillna(0), castle["year"] >= g]).mean()
    expected = (means[(g, True)] - means[(g, False)]) - (means[(0, True)] - means[(0, False)])
    assert row["estimate"] == pytest.approx(expected, abs=1e-12)


def test_unbalanced_panel_is_refused_and_plot_works(castle):
    with pytest.raises(DataError, match="balanced"):
        ev.bacon_decomposition(castle.iloc[1:], "l_homicide", "sid", "year", "cohort")
    import matplotlib

    matplotlib.use("Agg")
    b = ev.bacon_decomposition(castle, "l_homicide", "sid", "year", "cohort")
    assert b.plot() is not None
    assert b.to_dict()["twfe"] == pytest.approx(b.twfe)
