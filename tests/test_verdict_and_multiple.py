"""Multiple-testing adjustment and the plain-language verdicts."""

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.report.verdict import fmt_vi, verdict


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
    with pytest.raises(ev.InferenceError, match="one of holm, bh"):
        ev.adjust_pvalues([0.1], "sidak")


def _est(estimate, lo, hi, p, min_p=float("nan"), scale="difference"):
    return ev.Estimate(
        estimate=estimate,
        se=1.0,
        ci_low=lo,
        ci_high=hi,
        pvalue=p,
        method="DiD",
        inference="test",
        scale=scale,
        min_pvalue=min_p,
    )


def test_significant_reduction_is_called_an_improvement_in_both_languages():
    v = verdict(
        _est(-7.25, -9.5, -5.0, 0.001),
        outcome_vi="thời gian ùn tắc",
        outcome_en="congestion time",
        unit_vi="phút",
        unit_en="minutes",
        baseline=29.0,
    )
    assert v.category == "improved"
    assert "7.2 minutes (25 %)" in v.text_en and "−9.5 to −5.0 minutes" in v.text_en
    assert "giảm khoảng 7,2 phút (25%)" in v.text_vi and "−9,5 đến −5,0 phút" in v.text_vi


def test_not_significant_is_never_called_no_effect():
    v = verdict(_est(-2.0, -5.0, 1.0, 0.2), outcome_vi="số vụ cháy", outcome_en="fires")
    assert v.category == "unclear"
    assert "not proof that the programme has no effect" in v.text_en
    assert "không có nghĩa là mô hình không có tác dụng" in v.text_vi


def test_design_limited_single_ward():
    v = verdict(
        _est(-7.0, -12.0, -2.0, 1 / 13, min_p=1 / 13),
        outcome_vi="thời gian ùn tắc",
        outcome_en="congestion time",
        unit_en="minutes",
        unit_vi="phút",
    )
    assert v.category == "design_limited"
    assert "p = 0.077" in v.text_en and "cannot give conclusive evidence" in v.text_en
    assert "p = 0,077" in v.text_vi and "chưa đủ để kết luận" in v.text_vi


def test_rate_ratio_becomes_a_percent_and_worsening_is_named():
    v = verdict(
        _est(0.8, 0.7, 0.92, 0.002, scale="rate ratio"), outcome_vi="số vụ cháy", outcome_en="fires"
    )
    assert (
        v.category == "improved" and "by about 20 %" in v.text_en and "−30 % to −8 %" in v.text_en
    )
    w = verdict(
        _est(3.0, 1.0, 5.0, 0.01), outcome_vi="tốc độ", outcome_en="speed", lower_is_better=True
    )
    assert w.category == "worsened"


def test_vietnamese_number_format():
    assert fmt_vi(1234.5) == "1.234,5" and fmt_vi(-0.25, 2) == "−0,25"
