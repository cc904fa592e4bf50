"""Planted truth: a 13-ward staggered rollout with heterogeneous, growing effects.

Three waves (3 wards from week 5, 4 from week 9, 3 from week 13) and 3 wards never treated, 16
weeks, ward and week effects. The effect of wave g at e weeks after its start is
τ₅(e) = 1 + 0.8e, τ₉(e) = 0.5 + 0.4e, τ₁₃(e) = 0.3 — known exactly, so every ATT(g,t) and
aggregate has a true value. Theory (Goodman-Bacon 2021; Callaway & Sant'Anna 2021) says:
att_gt recovers these; TWFE does not, because its later-vs-earlier comparisons subtract the
early wave's growing effect, which the Bacon decomposition shows as negative 2×2 estimates
although every true effect is positive.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluation as ev

WAVES = {5: (1.0, 0.8), 9: (0.5, 0.4), 13: (0.3, 0.0)}


def planted_district(seed: int = 0, noise: float = 0.2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = 16
    cohorts = [5] * 3 + [9] * 4 + [13] * 3 + [np.nan] * 3
    ward_fe = rng.normal(scale=2, size=len(cohorts))
    week_fe = rng.normal(scale=1, size=T) + 0.3 * np.arange(T)
    rows = []
    for i, g in enumerate(cohorts):
        for t in range(T):
            tau = 0.0
            if not np.isnan(g) and t >= g:
                a, b = WAVES[int(g)]
                tau = a + b * (t - g)
            y = ward_fe[i] + week_fe[t] + tau + noise * rng.normal()
            rows.append((f"phường {i:02d}", t, g, y, tau))
    return pd.DataFrame(rows, columns=["ward", "week", "cohort", "y", "tau"])


@pytest.fixture(scope="module")
def district():
    return planted_district()


def true_att(g, t):
    a, b = WAVES[int(g)]
    return a + b * (t - g)


def test_att_gt_recovers_every_planted_effect(district):
    r = ev.att_gt(district, "y", "ward", "week", "cohort")
    post = r.table[r.table["post"]]
    truth = np.array([true_att(g, t) for g, t in zip(post["group"], post["time"], strict=True)])
    covered = (post["ci_low"] <= truth) & (truth <= post["ci_high"])
    assert covered.mean() >= 0.85
    assert np.max(np.abs(post["att"] - truth)) < 0.6
    # the overall effect (simple aggregation = mean effect over treated ward-weeks)
    overall_truth = district.loc[district["tau"] != 0, "tau"].mean()
    s = r.aggregate("simple").overall
    assert s.ci_low < overall_truth < s.ci_high
    assert abs(s.estimate - overall_truth) < 0.1
    # dynamic: effect at e weeks averages the waves observed at e (weights = wave sizes)
    dyn = r.aggregate("dynamic").table.set_index("event_time")["estimate"]
    e1_truth = (3 * true_att(5, 6) + 4 * true_att(9, 10) + 3 * true_att(13, 14)) / 10
    assert dyn[1] == pytest.approx(e1_truth, abs=0.25)
    pre = r.aggregate("dynamic").table.query("event_time < 0")
    assert (pre["ci_low"] < 0).mean() >= 0.8 and (pre["ci_high"] > 0).mean() >= 0.8


def test_twfe_is_visibly_biased_and_bacon_shows_why(district):
    overall_truth = district.loc[district["tau"] != 0, "tau"].mean()
    t = ev.twfe(district, "y", "ward", "week", "cohort", inference="cluster")
    assert t.estimate < 0.6 * overall_truth
    assert t.ci_high < overall_truth  # the truth is outside TWFE's own interval
    b = ev.bacon_decomposition(district, "y", "ward", "week", "cohort")
    assert b.weighted_sum == pytest.approx(t.estimate, abs=1e-10)
    forbidden = b.table[b.table["forbidden"]]
    assert len(forbidden) == 3 and b.forbidden_weight > 0.1
    # every true effect is positive, yet each later-vs-earlier comparison is negative
    assert (forbidden["estimate"] < 0).all()
    clean = b.table[~b.table["forbidden"]]
    assert (clean["estimate"] > 0).all()
    assert any("already-treated" in w for w in b.warnings)


def test_event_study_lags_track_the_growing_effect_of_a_single_wave(district):
    # with only the first wave and the never-treated, the TWFE event study is unbiased
    one = district[district["cohort"].isin([5]) | district["cohort"].isna()]
    es = ev.event_study(
        one, "y", "ward", "week", "cohort", window=(-4, 6), bin_endpoints=False, inference="cluster"
    )
    c = es.coefs.set_index("rel_time")
    for e in range(0, 7):
        assert c.loc[e, "estimate"] == pytest.approx(true_att(5, 5 + e), abs=0.5)
    assert c.loc[-1, "estimate"] == 0 and np.isnan(c.loc[-1, "se"])
