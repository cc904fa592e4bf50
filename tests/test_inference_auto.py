"""inference="auto" on the district's designs: what it chooses, and that it says why."""

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.errors import InferenceError
from evaluation.inference.choose import MIN_PRE_PERIODS, choose_inference


def district(n_t=104, start=78, treated=(0,), effect=0.0, seed=0, waves=None):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(13):
        a, e = rng.normal(), 0.0
        c = waves.get(i, np.nan) if waves else (start if i in treated else np.nan)
        for t in range(n_t):
            e = 0.5 * e + rng.normal()
            rows.append((f"w{i:02d}", t, c, a + 0.02 * t + e + (effect if t >= c else 0.0)))
    return pd.DataFrame(rows, columns=["ward", "week", "cohort", "y"])


def test_rule_by_design():
    assert choose_inference(13, 1, 104, "twfe", n_pre_periods=78)[0] == "conformal"
    assert choose_inference(13, 1, 104, "twfe", n_pre_periods=10)[0] == "randomization"
    assert choose_inference(13, 1, 30, "twfe", n_pre_periods=14)[0] == "randomization"
    assert choose_inference(13, 6, 104, "twfe")[0] == "wild"
    assert choose_inference(13, 12, 104, "twfe")[0] == "randomization"  # one control cluster
    assert choose_inference(100, 40, 20, "twfe")[0] == "cluster"
    assert choose_inference(13, 1, 104, "twfe_poisson", n_pre_periods=78)[0] == "randomization"


def test_one_pilot_ward_with_a_long_pre_period_gets_conformal_inference():
    d = district(effect=-3.0)
    r = ev.twfe(d, "y", "ward", "week", "cohort")
    assert r.inference_method == "conformal"
    assert "1/104" in r.inference and "1/13" in r.inference
    assert r.min_pvalue == pytest.approx(1 / 104)
    assert r.pvalue < 0.05 and r.ci_low < -3.0 < r.ci_high


def test_one_pilot_ward_with_a_short_pre_period_says_the_design_cannot_reach_5_percent():
    d = district(n_t=20, start=MIN_PRE_PERIODS - 8)
    r = ev.twfe(d, "y", "ward", "week", "cohort")
    assert r.inference_method == "randomization"
    assert r.min_pvalue == pytest.approx(1 / 13)
    assert any("cannot reach the 5% significance level" in w for w in r.warnings)
    assert any("rollout" in w and "pre-period" in w for w in r.warnings)


def test_explicit_conformal_needs_a_single_treated_unit():
    d = district(treated=(0, 1, 2))
    with pytest.raises(InferenceError, match="needs a single treated unit"):
        ev.twfe(d, "y", "ward", "week", "cohort", inference="conformal")
    with pytest.raises(InferenceError, match="does not apply"):
        ev.att_gt(d, "y", "ward", "week", "cohort").aggregate("simple", inference="conformal")
