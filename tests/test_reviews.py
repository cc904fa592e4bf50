"""The interim-review planner (evaluation.design.reviews) on the demo district.

The planning outcome must not contain the programme's own effect: only periods before the first
start are used, relabelled with the planned calendar, the pre-period shrunk (and said) when the
history is too short. Each review gets the analysis the workbench runs at that stage and one
sentence in Vietnamese (decimal comma, dd/mm/yyyy) and English.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis.district import load_district
from evaluation.design.reviews import planning_panel, review_plan
from evaluation.errors import DataError
from evaluation.formats import date_text, number, percent

OUTCOME = "congestion_minutes"


@pytest.fixture(scope="module")
def weekly():
    return load_district().traffic_weekly("traffic_model")


def test_planning_panel_is_the_untreated_history_relabelled(weekly):
    p = planning_panel(weekly, outcome=OUTCOME, first_start="2024-02-15", until="2024-05-15")
    first = pd.Timestamp("2024-02-12")  # the week containing the pilot's start
    assert p.first_period == first
    assert (p.data["history_time"] < first).all()  # nothing from after the start
    assert p.n_pre_planned == 58 and p.n_post == 13 and p.n_pre == 45 and p.shrunk
    assert p.data["period_start"].nunique() == 58 == p.n_pre + p.n_post
    assert p.data["period_start"].max() == pd.Timestamp("2024-05-06")  # last week done by 15/05
    # values are the history's, in the same order for every ward
    merged = p.data.merge(
        weekly, left_on=["ward", "history_time"], right_on=["ward", "period_start"]
    )
    np.testing.assert_array_equal(merged[f"{OUTCOME}_x"], merged[f"{OUTCOME}_y"])
    lag = (p.data["period_start"] - p.data["history_time"]).unique()
    assert list(lag) == [pd.Timedelta(weeks=13)]
    assert "58" in p.note_en and "45" in p.note_vi and "rút ngắn" in p.note_vi


def test_planning_panel_refuses_a_too_short_history(weekly):
    with pytest.raises(DataError, match="too few"):
        planning_panel(weekly, outcome=OUTCOME, first_start="2024-02-15", until="2025-06-30")
    with pytest.raises(DataError, match="argument 'outcome'"):
        planning_panel(weekly, outcome="speed", first_start="2024-02-15", until="2024-05-15")


def test_review_plan_of_the_traffic_model(weekly):
    plan = review_plan(
        weekly,
        "params/pilots.yaml",
        "traffic_model",
        OUTCOME,
        effect=-3.0,
        rollout_options={"anticipation": 2},
        reps=300,
        permutations=499,
        outcome_unit=("phút", "minutes"),
    )
    t = plan.table.set_index("review")
    interim, final = t.loc["interim_review"], t.loc["final_review"]
    assert interim["date"] == pd.Timestamp("2024-05-15")
    assert (interim["n_treated"], interim["estimator"], interim["inference"]) == (
        1,
        "twfe",
        "conformal",  # one pilot ward with 45 weeks before its start
    )
    # the rollout without its pilot ward, as the analysis runs it: 12 wards in three waves
    assert (final["n_treated"], final["estimator"], final["inference"]) == (
        12,
        "att_gt",
        "randomization",
    )
    assert final["n_pre"] + final["n_post"] == 78  # the 12 wards' weeks before 1 July 2024
    for row in (interim, final):
        assert row["mde"] < 0 and 0 < -row["mde_percent"] < 100 and 0 <= row["power"] <= 1
        assert row["shrunk"]
    vi = interim["sentence_vi"]
    mde = number(-interim["mde"], 2, "vi")
    assert vi.startswith(f"Tại sơ kết ngày {date_text('2024-05-15')}, thiết kế này phát hiện")
    assert f"mức giảm {mde} phút ({percent(-interim['mde_percent'], 0, 'vi')})" in vi
    assert "với xác suất 80%" in vi and "," in mde
    assert final["sentence_en"].startswith("At the final review (tổng kết) on 20/12/2024")
    assert "minutes" in final["sentence_en"]


def test_words_use_the_vietnamese_decimal_comma():
    assert number(1234.56, 1, "vi") == "1.234,6"
    assert number(1234.56, 1, "en") == "1,234.6"
    assert number(-3.14159, 2, "vi") == "−3,14"
    assert number(-0.001, 1, "vi") == "0,0"  # no "−0,0"
    assert percent(12.4, 0, "vi") == "12%" and percent(12.4, 0, "en") == "12%"  # CLDR vi_VN
    assert date_text("2024-05-15") == "15/05/2024"
