"""One vocabulary, no contradictions; and decision cards that agree with their evidence.

A district of generated wards where **no programme has any effect** is simulated, written in the
documented formats with a target and a claim in its registry, and evaluated as the notebooks do.
Every finding's sentences are read back by a second reader (:mod:`tests.statements`) and must
agree with the record's numbers and verdict; every programme gets a decision card that agrees
with its records, and none suggests extending a programme that does nothing. The reader is
shown to catch contradictions planted in real records (and the one the demo once printed).
The demo's own run is checked the same way in tests/test_demo_run.py.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from evaluation.analysis import evaluate
from evaluation.analysis.decision import claim_check, decision_cards, target_status
from evaluation.analysis.district import load_district
from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district
from tests.statements import card_contradictions, contradictions, one_sided

pytestmark = pytest.mark.slow


def _null_scenario() -> Scenario:
    universe = Universe.generated(10, np.random.default_rng(11), district="Quận Không Đổi")
    w = universe.names
    return Scenario(
        universe=universe,
        pilot_ward=w[0],
        pilot_start="2024-03-11",
        pilot_effect=0.0,
        waves=(
            Wave("A", "2024-08-05", (w[1], w[2], w[3]), 0.0),
            Wave("B", "2024-11-04", (w[4], w[5]), 0.0),
        ),
        accident_effect=0.0,
        fire_points=(
            (w[1], "2022-10-03", 0.0),
            (w[3], "2023-03-06", 0.0),
            (w[6], "2023-09-11", 0.0),
        ),
        fire_escalation_effect=0.0,
        camera_starts=((w[2], "2022-09-15"), (w[5], "2023-04-15"), (w[7], "2023-10-15")),
        camera_effect_pp=0.0,
        common_programme=None,
    )


@pytest.fixture(scope="module")
def null_district(tmp_path_factory):
    """The district's records (as the notebooks write them) and its registry."""
    folder = tmp_path_factory.mktemp("null") / "data"
    write_district(folder, _null_scenario(), seed=5)
    registry = folder / "pilots.yaml"
    doc = yaml.safe_load(registry.read_text("utf-8"))
    doc["programmes"]["traffic_model"]["target"] = {
        "change_percent": -15,
        "source": "Kế hoạch thử nghiệm (giả định của bài kiểm tra)",
    }
    doc["programmes"]["traffic_model"]["claim"] = {
        "vi": "Ùn tắc giảm một nửa",
        "en": "Congestion halved",
        "change_percent": -50,
        "months": 3,
        "source": "báo cáo sơ kết (giả định của bài kiểm tra)",
    }
    registry.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), "utf-8")
    district = load_district(folder, registry)
    findings = evaluate.district_findings(district)
    return [f.record("test", district.registry) for f in findings], district


def test_no_sentence_of_a_district_without_effects_contradicts_its_record(null_district):
    records, _ = null_district
    assert len(records) > 40
    problems = [p for r in records for p in contradictions(r)]
    assert problems == []


def test_every_programme_gets_a_card_that_agrees_and_none_says_extend(null_district):
    records, district = null_district
    cards = {c.programme: c for c in decision_cards(records)}
    with_headline = {r["programme"] for r in records if r.get("role") == "headline"}
    assert set(cards) == with_headline and "traffic_model" in cards
    by: dict[str, list] = {}
    for r in records:
        by.setdefault(r["programme"], []).append(r)
    for programme, card in cards.items():
        assert card_contradictions(card, by[programme]) == [], programme
        assert card.answer != "extend", (programme, card.because_en)
    traffic = cards["traffic_model"]
    assert traffic.line("target") is not None and traffic.line("claim") is not None
    # no effect was planted: a claim of halving congestion is not borne out
    assert traffic.line("claim").status in ("not_reached", "cannot_tell")


def test_the_reader_catches_contradictions_planted_in_real_records(null_district):
    records, _ = null_district
    numbered = [r for r in records if r.get("verdict_category") and r.get("estimate") is not None]
    r = next(x for x in numbered if "; p = " in x["verdict_vi"] or "(p = " in x["verdict_vi"])
    assert contradictions(dict(r, pvalue=min(1.0, r["pvalue"] + 0.2)))  # the p quoted differs
    flipped = r["verdict_vi"].replace("giảm", "§").replace("tăng", "giảm").replace("§", "tăng")
    if flipped != r["verdict_vi"]:
        assert contradictions(dict(r, verdict_vi=flipped))  # the direction said differs
    unclear = next(x for x in numbered if x["verdict_category"] == "unclear")
    assert contradictions(dict(unclear, verdict_category="improved"))  # a verdict not earned
    limited = next(x for x in numbered if x["verdict_category"] == "design_limited")
    assert contradictions(dict(limited, front_vi=limited["effect_vi"]))  # a number in front
    # the sentence the demo once printed for Xuân Đỉnh: best attainable 0,093 beside 0,084
    old = dict(
        unclear,
        verdict_category="design_limited",
        verdict_label_vi="Thiết kế chưa đủ để kết luận",
        verdict_label_en="Design cannot decide",
        p_adjusted=0.084,
        verdict_vi="Thiết kế này chưa đủ để kết luận khi 12 phường được kiểm định cùng lúc: ngay "
        "cả kết quả mạnh nhất cũng chỉ đạt p = 0,093, không nhỏ hơn 5%.",
        front_vi="chỉ có KTC 95%",
    )
    assert any("best attainable" in p for p in contradictions(old))


@pytest.mark.parametrize(
    ("goal", "lo", "hi", "expected"),
    [
        (-20, -35.0, -22.0, "reached"),  # the whole interval beyond −20 %
        (-20, -18.0, -5.0, "not_reached"),  # the whole interval short of it
        (-20, -30.0, -10.0, "cannot_tell"),  # the interval holds the target
        (-20, -30.0, math.inf, "cannot_tell"),  # unbounded: nothing is known
        (10, 12.0, 20.0, "reached"),  # a rise as the target
        (10, 2.0, 8.0, "not_reached"),
    ],
)
def test_target_status_is_the_one_sided_test(goal, lo, hi, expected):
    record = {
        "estimate": (lo + hi) / 2 if math.isfinite(hi) else lo,
        "scale": "difference",
        "percent": (lo + hi) / 2 if math.isfinite(hi) else lo,
        "percent_low": lo,
        "percent_high": hi,
        "target_change_percent": goal,
        "target_source": "test",
    }
    line = target_status(record)
    assert line.status == expected == one_sided(goal, lo, hi)
    assert "2,5%" in line.text_vi and "test" in line.text_vi


def test_the_claim_check_says_how_much_remains():
    record = {
        "estimate": -6.7,
        "scale": "difference",
        "percent": -24.0,
        "percent_low": -30.0,
        "percent_high": -14.0,
        "claim_vi": "đã giải quyết được ùn tắc",
        "claim_en": "congestion was resolved",
        "claim_change_percent": -100,
        "claim_months": 3,
        "claim_source": "báo X",
        "window": ["2024-02-15", "2024-06-30"],
        "before": ["2023-01-02", "2024-02-11"],
    }
    line = claim_check(record)
    assert line.status == "not_reached"
    assert "76%" in line.text_vi and "[70%; 86%]" in line.text_vi and "không được" in line.text_vi
    # the periods compared, each language in its own words (the English once carried the
    # Vietnamese "Trước: …; sau: …")
    assert "(Trước: 02/01/2023 – 11/02/2024; sau: 15/02/2024 – 30/06/2024)" in line.text_vi
    assert "(Before: 02/01/2023 – 11/02/2024; after: 15/02/2024 – 30/06/2024)" in line.text_en
    halved = claim_check(dict(record, claim_change_percent=-20))
    assert halved.status == "cannot_tell"
    assert halved.key == "claim"
