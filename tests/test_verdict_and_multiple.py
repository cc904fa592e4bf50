"""Multiple-testing adjustment, the verdict policy, the plain-language verdicts and the one
number formatter (issue 8, items 3 and 5)."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation import formats as fmt
from evaluation.analysis.outcomes import OUTCOMES
from evaluation.analysis.policy import Evidence, Policy, decide
from evaluation.analysis.verdict import Shown, write_verdict
from evaluation.errors import InferenceError


def test_holm_and_bh_against_hand_computation():
    p = np.array([0.01, 0.04, 0.03, 0.20])
    # Holm: sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1, made monotone
    holm = ev.adjust_pvalues(p, "holm")
    np.testing.assert_allclose(holm, [0.04, 0.09, 0.09, 0.20])
    # BH: p_(i) * m / i, made monotone from the top
    bh = ev.adjust_pvalues(p, "bh")
    np.testing.assert_allclose(bh, [0.04, 0.04 * 4 / 3, 0.04 * 4 / 3, 0.20])


def test_missing_pvalues_stay_missing_and_series_keep_their_index():
    s = pd.Series([0.01, np.nan, 0.02], index=["a", "b", "c"])
    out = ev.adjust_pvalues(s, "holm")
    assert list(out.index) == ["a", "b", "c"] and np.isnan(out["b"])
    assert out["a"] == pytest.approx(0.02) and out["c"] == pytest.approx(0.02)
    with pytest.raises(InferenceError, match="one of holm, bh"):
        ev.adjust_pvalues([0.1], "sidak")


def ev_(key, family, est, lo, hi, p, min_p=None, lower=True):
    return Evidence(key, family, est, lo, hi, p, min_p, lower)


# --------------------------------------------------------------------------------------------
# the policy: improved only with an interval excluding 0 AND an adjusted p below the level


def test_a_single_significant_finding_with_an_interval_is_improved():
    d = decide([ev_("a", "a", -6.4, -7.8, -3.2, 0.013, 1 / 78)])["a"]
    assert d.category == "improved" and d.reason == "evidence" and d.family_size == 1


def test_the_same_numbers_in_a_family_of_thirteen_cannot_decide():
    # 13 wards tested together: Holm needs p < 0.05/13 from the strongest; 1/78 cannot get there
    ev13 = [ev_(i, "wards", -6.4, -7.8, -3.2, 1 / 78, 1 / 78) for i in range(13)]
    decisions = decide(ev13)
    assert {d.category for d in decisions.values()} == {"design_limited"}
    assert all(d.reason == "design_limit" for d in decisions.values())
    assert decisions[0].best_adjusted == pytest.approx(13 / 78)


@pytest.mark.parametrize("method", ["holm", "bh", "none"])
def test_the_best_attainable_p_is_never_above_the_adjusted_p(method):
    """'even the strongest result would only reach p = best' and 'adjusted p = …' are quoted in
    one sentence: best must bound every adjusted p of the family from below (the Xuân Đỉnh
    sentence once said 0,093 beside an adjusted 0,084: m × its own min p is no bound when wards'
    smallest attainable p differ)."""
    rng = np.random.default_rng(7)
    policy = Policy(adjustment=method)
    for _ in range(100):
        m = int(rng.integers(2, 14))
        min_p = rng.choice([1 / 13, 1 / 78, 1 / 95, 1 / 156, 0.2], size=m)
        p = np.minimum(1, min_p * rng.integers(1, 40, size=m))
        fam = [ev_(i, "f", -3.0, -5.0, -1.0, p[i], min_p[i]) for i in range(m)]
        for d in decide(fam, policy).values():
            assert d.best_adjusted <= d.p_adjusted + 1e-12
            if d.reason == "design_limit":
                assert d.p_adjusted >= policy.alpha  # a design that cannot decide did not


def test_significant_alone_but_not_after_adjustment_is_no_clear_effect():
    family = [ev_(i, "f", -3.0, -5.0, -1.0, p, 1e-4) for i, p in enumerate([0.02, 0.03, 0.04])]
    decisions = decide(family)
    assert decisions[0].p_adjusted == pytest.approx(0.06)
    assert all(d.category == "unclear" for d in decisions.values())
    assert decisions[0].reason == "not_after_adjustment"


def test_no_verdict_without_an_interval_and_without_an_estimate():
    d = decide([ev_("a", "a", -49.0, math.nan, math.nan, 0.001, 0.005)])["a"]
    assert d.category == "design_limited" and d.reason == "no_interval"
    d = decide([ev_("b", "b", None, None, None, None)])["b"]
    assert d.category == "design_limited" and d.reason == "no_estimate"


def test_an_adjusted_p_below_the_level_with_an_interval_through_zero_is_not_improved():
    # a conformal confidence set can disagree with its p-value: the interval decides against
    d = decide([ev_("a", "a", -2.0, -4.0, 0.5, 0.01, 0.001)])["a"]
    assert d.category == "unclear" and d.reason == "interval_includes_zero"


def test_direction_follows_the_outcome():
    assert (
        decide([ev_("s", "s", 3.0, 1.0, 5.0, 0.001, 1e-4, lower=False)])["s"].category == "improved"
    )
    assert (
        decide([ev_("c", "c", 3.0, 1.0, 5.0, 0.001, 1e-4, lower=True)])["c"].category == "worsened"
    )


def test_bh_is_less_strict_than_holm_when_every_ward_shows_the_effect():
    family = [ev_(i, "w", -5.0, -8.0, -2.0, 0.004, 0.001) for i in range(13)]
    assert all(d.category == "improved" for d in decide(family, Policy(adjustment="bh")).values())
    assert all(d.category == "unclear" for d in decide(family, Policy(adjustment="holm")).values())


# --------------------------------------------------------------------------------------------
# the words


def _verdict(decision, shown, outcome="congestion_minutes"):
    return write_verdict(decision, shown, OUTCOMES[outcome], Policy())


def test_improvement_in_both_languages_with_unit_percent_and_interval():
    d = decide([ev_("a", "a", -7.25, -9.5, -5.0, 0.001, 1e-4)])["a"]
    v = _verdict(d, Shown(-7.25, -9.5, -5.0, 0.001, 1e-4, pct=-25.0))
    assert v.category == "improved" and v.label_vi == "Cải thiện"
    assert "7,2 phút (25%)" in v.text_vi and "−9,5 đến −5,0 phút" in v.text_vi
    assert "7.2 minutes (25%)" in v.text_en and "−9.5 to −5.0 minutes" in v.text_en


def test_unclear_and_design_limited_show_the_interval_never_a_bare_percentage():
    d = decide([ev_("a", "a", -92.0, -99.0, 160.0, 0.3, 0.08)])["a"]
    v = _verdict(d, Shown(-92.0, -99.0, 160.0, 0.3, 0.08), outcome="fires")
    assert v.category == "design_limited"
    assert "−99% đến 160%" in v.text_vi and "không phải bằng chứng" in v.text_vi
    u = decide([ev_("b", "b", -2.0, -5.0, 1.0, 0.2, 1e-4)])["b"]
    w = _verdict(u, Shown(-2.0, -5.0, 1.0, 0.2, 1e-4))
    assert w.category == "unclear" and "−5,0 đến 1,0 phút" in w.text_vi
    assert "not proof that the programme has no effect" in w.text_en


def test_a_finding_without_an_interval_never_prints_an_empty_one():
    # one treated ward of 13 by randomization: no interval, p = 1, the design cannot decide
    d = decide([ev_("a", "a", -5.7, math.nan, math.nan, 1.0, 1 / 13)])["a"]
    v = _verdict(d, Shown(-5.7, math.nan, math.nan, 1.0, 1 / 13), outcome="fires")
    assert v.category == "design_limited"
    for text in (v.text_vi, v.text_en):
        assert "—" not in text and "nan" not in text.lower()
    assert "giảm 6% (p = 1)" in v.text_vi


def test_a_design_that_cannot_reach_the_level_shows_its_interval_as_unbounded():
    """One treated ward of 13 under randomization inference: every p-value is at least 1/13 >
    5 %, so no effect can be rejected and the 95 % interval is the whole line. The page says so,
    in the table and in the verdict, instead of printing a bare percentage."""
    from evaluation.analysis.findings import shown_from

    est = ev.Estimate(
        math.log(0.94), math.nan, math.nan, math.nan, 1.0, "Poisson", "randomization",
        inference_method="randomization", scale="log", min_pvalue=1 / 13,
    )  # fmt: skip
    s = shown_from(est, OUTCOMES["fires"], None)
    assert s.ci_low == -100 and s.ci_high == math.inf  # a rate ratio's (0, ∞) as a change
    assert fmt.interval(s.ci_low, s.ci_high, 0, "vi", "%") == "[không giới hạn]"
    assert fmt.interval(s.ci_low, s.ci_high, 0, "en", "%") == "[unbounded]"
    d = decide([ev_("a", "a", s.estimate, s.ci_low, s.ci_high, s.pvalue, s.min_pvalue)])["a"]
    v = _verdict(d, s, outcome="fires")
    assert v.category == "design_limited"
    assert "khoảng tin cậy 95% không giới hạn" in v.text_vi
    assert "95% confidence interval is unbounded" in v.text_en
    # a design that could reach the level keeps a missing interval missing (no verdict)
    ok = shown_from(dataclasses.replace(est, min_pvalue=1e-4), OUTCOMES["fires"], None)
    assert math.isnan(ok.ci_low) and math.isnan(ok.ci_high)
    assert decide([ev_("b", "b", ok.estimate, ok.ci_low, ok.ci_high, 1.0, 1e-4)])["b"].reason == (
        "no_interval"
    )


def test_the_adjustment_is_stated_with_the_family():
    family = [ev_(i, "wards", -3.0, -5.0, -1.0, 0.002, 1e-4) for i in range(3)]
    d = decide(family)[0]
    v = write_verdict(
        d, Shown(-3.0, -5.0, -1.0, 0.002, 1e-4), OUTCOMES["congestion_minutes"], Policy()
    )
    assert "sau hiệu chỉnh Holm cho 3 phường" in v.text_vi
    assert "Holm's adjustment for the 3 wards" in v.text_en


# --------------------------------------------------------------------------------------------
# one number formatter (CLDR vi_VN through Babel)


def test_vietnamese_and_english_numbers():
    assert fmt.number(1234.5) == "1.234,5" and fmt.number(-0.25, 2) == "−0,25"
    assert fmt.number(1234.5, 1, "en") == "1,234.5"
    assert fmt.number(-0.04, 1) == "0,0"  # no "−0,0"
    assert fmt.number(float("nan")) == "—" and fmt.number(None) == "—"


def test_pvalues_never_in_scientific_notation_and_never_read_as_thousands():
    assert fmt.pvalue(1.54e-07) == "< 0,001" and fmt.pvalue(1.54e-07, "en") == "< 0.001"
    assert fmt.pvalue(0.0128) == "0,013" and fmt.pvalue(1.0) == "1"
    assert fmt.pvalue(0.5, "en") == "0.500"


def test_dates_and_times():
    assert fmt.date_text("2024-09-01") == "01/09/2024"
    assert fmt.datetime_text("2026-12-02T00:44:00") == "07:44 02/12/2026 (giờ Hà Nội, UTC+7)"
    assert fmt.interval(-9.6, -3.86) == "[−9,6; −3,9]"
    assert fmt.interval(-9.6, -3.86, 1, "en") == "[−9.6, −3.9]"
