"""The rollout page plans or reviews, never both (issue 16, part 6).

A rollout that has happened (the demo's traffic model: every wave started long before the data
end) is reviewed — what the registered waves could detect at each review and what the analysis
did find — and nothing is proposed; a rollout still under way (a generated district whose
second wave is registered after the data end) is planned — schedules that start after the data
end, named so that the registry's and a proposal cannot be mistaken for one another — and
nothing is looked back at. No proposed schedule ever starts on or before the end of the data.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis import evaluate
from evaluation.analysis.district import load_district
from evaluation.analysis.rollout_stage import against_finding, earliest_start, rollout_stage
from evaluation.data.registry import Registry, load_registry
from evaluation.design.reviews import planning_panel
from evaluation.design.rollout import (
    DesignComparison,
    registered_schedule,
    rollout_schedule,
)
from evaluation.errors import DataError
from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "rollout_plan.ipynb"
DEMO_END = pd.Timestamp("2025-12-28")  # the last whole week of the demo's traffic data


def under_way() -> Scenario:
    """A generated district (16 wards, generated names): the pilot and a first wave of 4 have
    started; a second wave of 10 is registered for 01/09/2025, after the data end (31/05/2025);
    one ward is never treated; no final review yet."""
    universe = Universe.generated(16, np.random.default_rng(7))
    pilot, *rest = universe.names
    return Scenario(
        universe=universe,
        pilot_ward=pilot,
        pilot_start="2024-03-18",
        final_review=None,
        waves=(
            Wave("A", "2024-09-02", tuple(rest[:4]), -0.2),
            Wave("B", "2025-09-01", tuple(rest[4:14]), -0.2),
        ),
        fire_points=((rest[0], "2023-03-06", -0.2), (rest[3], "2023-09-04", -0.2)),
        camera_starts=((rest[1], "2022-06-15"), (rest[2], "2023-01-15")),
        common_programme=None,
    )


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    folder = tmp_path_factory.mktemp("under_way")
    scenario = under_way()
    truth = write_district(folder, scenario, seed=3)
    return scenario, folder, Path(truth.registry_path)


# --------------------------------------------------------------------------------------------
# the stage


def test_the_demo_rollout_has_happened_so_it_is_reviewed():
    registry = load_registry(ROOT / "params" / "pilots.yaml")
    wards = sorted(set(registry.for_programme("traffic_model")["ward"]))
    stage = rollout_stage(registry, "traffic_model", data_end=DEMO_END, wards=wards)
    assert stage.kind == "review" and stage.to_plan == [] and stage.scheduled.empty
    assert "đã diễn ra" in stage.reason_vi and "has happened" in stage.reason_en
    waves = stage.registered_waves()
    assert list(waves["wave"]) == ["pilot", "A", "B", "C"]
    assert list(waves["n_wards"]) == [1, 4, 4, 4]
    assert [d.strftime("%d/%m/%Y") for d in waves["start"]] == [
        "15/02/2024",
        "01/07/2024",
        "01/09/2024",
        "01/11/2024",
    ]
    assert waves["started"].all()


def test_a_rollout_still_under_way_is_planned_for_the_wards_still_to_start(generated):
    scenario, folder, registry = generated
    district = load_district(folder, registry)
    panel = district.traffic_weekly("traffic_model")
    stage = rollout_stage(
        district.registry,
        "traffic_model",
        data_end=panel["period_end"].max(),
        wards=district.ward_names,
    )
    assert stage.kind == "plan"
    second = next(w for w in scenario.waves if w.name == "B")
    assert sorted(stage.to_plan) == sorted(second.wards)
    first = next(w for w in scenario.waves if w.name == "A")
    assert sorted(stage.started) == sorted([scenario.pilot_ward, *first.wards])
    assert stage.data_end < pd.Timestamp(second.start)
    assert stage.earliest_start > stage.data_end
    # a proposal's waves never take a started wave's letter
    assert "A" not in stage.new_wave_names(3) and "pilot" not in stage.new_wave_names(3)


def _registry(rows: list[dict]) -> Registry:
    pilots = pd.DataFrame(rows)
    for col in ("start", "final_review"):
        if col in pilots:
            pilots[col] = pd.to_datetime(pilots[col])
    return Registry({"p": {"name_vi": "P", "name_en": "P"}}, pilots, "test registry")


WARDS = ["W1", "W2", "W3", "W4", "W5"]


def test_a_pilot_alone_is_planned_for_every_other_ward_until_its_final_review_has_passed():
    pilot = {"ward": "W1", "programme": "p", "start": "2024-03-01", "wave": "pilot"}
    stage = rollout_stage(_registry([pilot]), "p", data_end="2024-12-31", wards=WARDS)
    assert stage.kind == "plan" and stage.to_plan == ["W2", "W3", "W4", "W5"]
    reviewed = _registry([pilot | {"final_review": "2024-09-30"}])
    stage = rollout_stage(reviewed, "p", data_end="2024-12-31", wards=WARDS)
    assert stage.kind == "review" and stage.to_plan == []
    later = _registry([pilot | {"final_review": "2025-03-31"}])
    assert rollout_stage(later, "p", data_end="2024-12-31", wards=WARDS).kind == "plan"


def test_a_rollout_whose_waves_all_started_is_reviewed_even_with_wards_left_out():
    rows = [
        {"ward": "W1", "programme": "p", "start": "2024-03-01", "wave": "pilot"},
        {"ward": "W2", "programme": "p", "start": "2024-06-01", "wave": "A"},
        {"ward": "W3", "programme": "p", "start": "2024-08-01", "wave": "B"},
    ]
    stage = rollout_stage(_registry(rows), "p", data_end="2024-12-31", wards=WARDS)
    assert stage.kind == "review" and stage.unregistered == ["W4", "W5"]
    # one registered wave after the data end: the rollout is not finished
    rows[2]["start"] = "2025-02-01"
    stage = rollout_stage(_registry(rows), "p", data_end="2024-12-31", wards=WARDS)
    assert stage.kind == "plan" and stage.to_plan == ["W3"]


def test_bad_input_to_the_stage_names_the_argument():
    reg = _registry([{"ward": "W1", "programme": "p", "start": "2024-03-01"}])
    with pytest.raises(DataError, match="data_end"):
        rollout_stage(reg, "p", data_end="soon", wards=WARDS)
    with pytest.raises(DataError, match="wards"):
        rollout_stage(reg, "p", data_end="2024-12-31", wards="W1")
    with pytest.raises(DataError, match="no programme 'q'"):
        rollout_stage(reg, "q", data_end="2024-12-31", wards=WARDS)


# --------------------------------------------------------------------------------------------
# never in the past


@pytest.mark.parametrize("end", ["2025-12-28", "2025-12-31", "2026-01-01", "2024-02-29"])
def test_no_proposed_schedule_starts_on_or_before_the_end_of_the_data(end):
    first = earliest_start(end)
    assert first > pd.Timestamp(end) and first.day == 1
    assert first - pd.Timestamp(end) <= pd.Timedelta(days=31)
    kw = dict(waves=2, spacing="2MS", seed=1, data_end=end)
    drawn = rollout_schedule(WARDS, first_start=first, **kw)
    assert (pd.to_datetime(drawn.table["start"]) > pd.Timestamp(end)).all()
    month = pd.Timestamp(end).replace(day=1)  # a wave start on or before the end of the data
    for too_early in (month, month - pd.DateOffset(months=7)):
        with pytest.raises(DataError, match="after the end of the data"):
            rollout_schedule(WARDS, first_start=too_early, **kw)


# --------------------------------------------------------------------------------------------
# names, planning beyond the data, explanations


def test_the_registered_design_and_a_proposal_cannot_be_mistaken_for_each_other():
    rows = [
        {"ward": w, "programme": "p", "start": s, "wave": v}
        for w, s, v in [
            ("W2", "2026-01-01", "A"),
            ("W3", "2026-01-01", "A"),
            ("W4", "2026-03-01", "B"),
            ("W5", "2026-03-01", "B"),
        ]
    ]
    registered = registered_schedule(_registry(rows), "p")
    drawn = rollout_schedule(
        ["W2", "W3", "W4", "W5"], waves=2, first_start="2026-01-01", spacing="2MS", seed=3
    )
    # same wave sizes, same dates: only where they come from tells them apart, and it is said
    assert registered.name("vi") == "đăng ký hiện tại: 2+2 phường, bắt đầu 01/01/2026, 01/03/2026"
    assert (
        drawn.name("vi") == "đề xuất: 2 đợt ngẫu nhiên × 2 phường, bắt đầu 01/01/2026, 01/03/2026"
    )
    assert registered.name("en") == "current registry: 2+2 wards, starting 01/01/2026, 01/03/2026"
    assert drawn.name("en").startswith("proposal: 2 random waves of 2 wards")
    assert not registered.randomised and drawn.randomised
    assert registered.wave_sizes == {"A": 2, "B": 2}
    at_once = rollout_schedule(WARDS, waves=1, first_start="2026-01-01", spacing="2MS", seed=3)
    assert at_once.name("vi") == "đề xuất: cả 5 phường cùng lúc, bắt đầu 01/01/2026"


def _weekly(weeks: int, start: str = "2023-01-02", wards=WARDS) -> pd.DataFrame:
    grid = pd.date_range(start, periods=weeks, freq="7D")
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "ward": np.repeat(wards, weeks),
            "period_start": np.tile(grid, len(wards)),
            "y": rng.normal(size=weeks * len(wards)),
        }
    )


def test_planning_after_the_data_uses_the_whole_history_and_the_calendar_runs_on():
    data = _weekly(60)  # 02/01/2023 … 19/02/2024
    last = data["period_start"].max()
    plan = planning_panel(
        data,
        outcome="y",
        first_start=last + pd.Timedelta(days=30),
        until=last + pd.Timedelta(days=100),
    )
    # the period containing the start (weeks on from the data's last one), history untouched
    assert plan.first_period == last + pd.Timedelta(weeks=4)
    assert (
        plan.first_period
        <= last + pd.Timedelta(days=30)
        < plan.first_period + pd.Timedelta(weeks=1)
    )
    assert plan.n_post == 10 and plan.n_pre == 50  # every one of the 60 weeks is untreated history
    assert plan.n_pre_planned == 63 and plan.shrunk
    w1 = plan.data[plan.data["ward"] == "W1"]
    assert (w1["y"].to_numpy() == data.loc[data["ward"] == "W1", "y"].to_numpy()).all()
    steps = w1["period_start"].diff().dropna().unique()
    assert list(steps) == [pd.Timedelta(weeks=1)]  # one continuous calendar, order kept
    assert w1["period_start"].max() == plan.first_period + pd.Timedelta(weeks=9)


def _comparison(rows: list[dict]) -> DesignComparison:
    base = {
        "n_not_started": 0,
        "n_never": 2,
        "n_treated_periods": 100,
        "mean_comparisons": 3.0,
        "n_assignments": 90,
        "strata": "all",
        "note": "",
        "note_vi": "",
    }
    table = pd.DataFrame([base | r for r in rows])
    return DesignComparison(
        table, -3.0, horizon=pd.Timestamp("2026-06-01"), period_words=("tuần", "weeks"),
        outcome_unit=("phút", "minutes"),
    )  # fmt: skip


def test_the_explanation_names_each_design_and_the_numbers_that_differ():
    c = _comparison(
        [
            {"design": "a", "name_vi": "đề xuất: X", "name_en": "proposal: X", "power": 0.82,
             "mc_se": 0.01, "n_treated_periods": 240, "mean_comparisons": 4.5, "n_assignments": 2160,
             "strata": "urban_class"},
            {"design": "b", "name_vi": "đăng ký hiện tại: Y", "name_en": "current registry: Y",
             "power": 0.47, "mc_se": 0.02, "n_treated_periods": 310, "mean_comparisons": 2.1},
        ]
    )  # fmt: skip
    vi, en = c.explain("a", "b")
    assert "«đề xuất: X»" in vi and "«đăng ký hiện tại: Y»" in vi
    assert "“proposal: X”" in en and "“current registry: Y”" in en
    for number in ("82%", "47%", "240", "310", "4,5", "2,1", "2.160", "90"):
        assert number in vi, number
    assert "4.5" in en and "2.1" in en and "2,160" in en
    assert "loại phường" in vi and "ward type" in en
    assert "sai số" not in vi  # 35 points apart: not within the simulation's error


def test_designs_within_the_simulation_error_are_called_about_equal():
    c = _comparison(
        [
            {"design": "a", "name_vi": "A", "name_en": "A", "power": 0.52, "mc_se": 0.02},
            {"design": "b", "name_vi": "B", "name_en": "B", "power": 0.48, "mc_se": 0.02},
        ]
    )
    vi, en = c.explain("a", "b")
    assert "ngang nhau" in vi and "about equal" in en
    with pytest.raises(DataError, match="no design 'c'"):
        c.explain("a", "c")


@pytest.mark.parametrize(
    "estimate, detected, words",
    [
        (
            -6.7,
            True,
            ("lớn hơn mức đó, và đã được phát hiện", "larger than that, and it was detected"),
        ),
        (-1.0, False, ("không phải bằng chứng", "not evidence")),
        (2.0, False, ("ngược chiều", "other direction")),
    ],
)
def test_a_review_is_set_against_what_was_found(estimate, detected, words):
    row = {"review": "final_review", "date": pd.Timestamp("2024-12-20"), "mde": -2.98,
           "target_power": 0.8}  # fmt: skip
    vi, en = against_finding(
        row,
        estimate=estimate,
        effect_text=("−x phút", "−x minutes"),
        detected=detected,
        until=pd.Timestamp("2025-12-28"),
        unit=("phút", "minutes"),
    )
    assert "2,98 phút" in vi and "20/12/2024" in vi and "28/12/2025" in vi
    assert "2.98 minutes" in en
    assert words[0] in vi and words[1] in en


# --------------------------------------------------------------------------------------------
# the page, run as the batch runs it


def _run(tmp_path: Path, **parameters) -> tuple[str, list[dict]]:
    import nbformat
    import papermill

    out = tmp_path / "out.ipynb"
    results = tmp_path / "results.json"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters=parameters | {"results_path": str(results)},
        engine_name="pilot-eval",
        progress_bar=False,
        cwd=str(NOTEBOOK.parent),
    )
    nb = nbformat.read(out, as_version=4)
    texts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            texts.append(
                str(data.get("text/markdown") or data.get("text/html") or o.get("text", ""))
            )
    text = html.unescape(re.sub(r"\s+", " ", "\n".join(texts)))
    return text, json.loads(results.read_text(encoding="utf-8"))


REVIEW_HEADINGS = ("Các đợt theo sổ đăng ký", "Thiết kế đã phát hiện được gì")
PLAN_HEADINGS = ("Lịch đề xuất", "So sánh các phương án")


@pytest.mark.slow
def test_the_demo_page_reviews_and_proposes_nothing(tmp_path):
    text, records = _run(
        tmp_path,
        data_dir=str(ROOT / "data" / "demo"),
        registry_path=str(ROOT / "params" / "pilots.yaml"),
    )
    assert all(h in text for h in REVIEW_HEADINGS)
    assert not any(h in text for h in PLAN_HEADINGS)
    assert "đề xuất:" not in text and "randomisation:" not in text  # nothing to write back
    assert {r["stage"] for r in records} == {"review"}
    assert {r["review"] for r in records} == {"interim_review", "final_review"}
    # what it did detect is the batch's own finding, word for word
    district = load_district(ROOT / "data" / "demo", ROOT / "params" / "pilots.yaml")
    found = {f.id: f for f in evaluate.programme_findings(district, "traffic_model")}
    for fid in (
        "traffic_model:congestion_minutes:pilot",
        "traffic_model:congestion_minutes:district",
    ):
        assert found[fid].effect_text("vi") in text
        assert found[fid].verdict.text_vi in text
    for r in records:
        assert r["verdict_vi"].split(".")[0] in text  # each review's MDE sentence is on the page


@pytest.mark.slow
def test_the_page_of_a_rollout_under_way_plans_and_never_starts_in_the_past(tmp_path, generated):
    scenario, folder, registry = generated
    text, records = _run(tmp_path, data_dir=str(folder), registry_path=str(registry))
    assert all(h in text for h in PLAN_HEADINGS)
    assert not any(h in text for h in REVIEW_HEADINGS)
    assert {r["stage"] for r in records} == {"plan"}
    data_end = pd.Timestamp(records[0]["data_end"])
    assert data_end < pd.Timestamp("2025-06-01")
    designs = [r for r in records if r.get("design")]
    assert all(
        pd.Timestamp(r["first_start"]) > data_end
        for r in designs
        if r["design"].startswith("đề xuất")
    )
    names = [r["design"] for r in designs]
    assert len(set(names)) == len(names)  # no two designs under one name
    registered = [n for n in names if n.startswith("đăng ký hiện tại:")]
    assert registered == ["đăng ký hiện tại: 10 phường, bắt đầu 01/09/2025"]
    assert sum(n.startswith("đề xuất:") for n in names) == len(names) - 1
    assert "Vì sao khả năng phát hiện khác nhau" in text
    # every start shown in the proposal lies after the data end
    proposal = text.split("Lịch đề xuất", 1)[1].split("So sánh các phương án", 1)[0]
    shown = [pd.Timestamp(d) for d in re.findall(r"'(\d{4}-\d{2}-\d{2})'", proposal)]
    assert shown and min(shown) > data_end


@pytest.mark.slow
def test_a_wave_registered_after_the_data_end_leaves_the_started_wards_evaluated(generated):
    """A ward whose registered start lies after the data has nothing to judge yet: it gets no
    finding of its own, and the programme's other findings are computed as usual (it used to
    turn the whole programme into one 'could not be evaluated' finding)."""
    scenario, folder, registry = generated
    district = load_district(folder, registry)
    found = evaluate.programme_findings(district, "traffic_model")
    assert not [f for f in found if "could not be evaluated" in (f.reason_en or "")]
    heads = {f.level: f for f in found if f.role == "headline"}
    assert heads["pilot"].has_number and heads["district"].has_number
    later = set(next(w for w in scenario.waves if w.name == "B").wards)
    assert not [f for f in found if f.ward in later]
    first = set(next(w for w in scenario.waves if w.name == "A").wards)
    assert set(heads["district"].wards) == first
