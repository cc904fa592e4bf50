"""The analysis layer behind the notebooks: registry-driven findings for any district, every
number attributable to its wards, and one verdict policy (issue 8).

Windows and comparison groups are checked on a small made-up panel; the findings on the demo
district against its planted truth (``data/demo/truth/``), so that a wrong window, a wrong
comparison group, a borrowed number or a verdict that contradicts its own statistics fails here,
not in a report. The second district (a generator other than the demo's, with another pilot
ward and other waves) is in tests/test_second_district.py.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluation.analysis import evaluate
from evaluation.analysis.district import load_district
from evaluation.analysis.findings import Finding, apply_policy
from evaluation.analysis.record import validate_findings
from evaluation.analysis.single_ward import coherent
from evaluation.analysis.windows import base_period, comparison_window
from evaluation.errors import DataError
from evaluation.report import tables
from evaluation.results import Estimate


@pytest.fixture(scope="module")
def district():
    return load_district()


@pytest.fixture(scope="module")
def findings(district):
    return evaluate.district_findings(district)


@pytest.fixture(scope="module")
def by_id(findings):
    return {f.id: f for f in findings}


# --------------------------------------------------------------------------------------------
# windows and comparison groups
# --------------------------------------------------------------------------------------------


def _toy_panel(cohorts: dict[str, int | None], periods: int = 12) -> pd.DataFrame:
    start = pd.Timestamp("2024-01-01")
    times = [start + pd.Timedelta(weeks=k) for k in range(periods)]
    rows = []
    for unit, g in cohorts.items():
        c = times[g] if g is not None else pd.NaT
        rows += [(unit, t, c, 1.0) for t in times]
    return pd.DataFrame(rows, columns=["ward", "period_start", "cohort", "y"])


def _starts(panel: pd.DataFrame) -> pd.Series:
    return panel.groupby("ward")["cohort"].first().dropna()


def test_window_ends_before_the_next_wave_and_uses_only_untreated_wards():
    p = _toy_panel({"a": 4, "b": 4, "c": 8, "d": None, "e": 2})
    win = comparison_window(p, _starts(p), "a")
    assert win.comparison == ["c", "d"]  # b started together, e earlier
    assert win.data["period_start"].max() < pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=8)
    assert set(win.data.loc[win.data["ward"] != "a", "cohort"].isna()) == {True}
    assert win.n_pre == 4 and win.n_post == 4


def test_a_long_post_period_is_cut_to_the_pre_period_so_time_can_be_permuted():
    # a pilot with no rollout: 24 weeks before, 56 after. One treated ward of 6 under
    # permutation of wards could never reach 5 %; keeping 24 weeks after lets conformal
    # inference (which needs as many periods before as after) decide
    p = _toy_panel({"a": 24, "b": None, "c": None, "d": None, "e": None, "f": None}, 80)
    win = comparison_window(p, _starts(p), "a")
    assert win.cut and win.n_pre == 24 and win.n_post == 24
    # too short a pre-period for conformal inference: nothing is cut
    short = _toy_panel({"a": 12, "b": None, "c": None}, 80)
    win = comparison_window(short, _starts(short), "a")
    assert not win.cut and win.n_post == 68


def test_the_base_period_is_every_period_before_the_start_less_the_anticipation():
    p = _toy_panel({"a": 4, "b": None}, 10)
    week = pd.Timedelta(weeks=1)
    first = pd.Timestamp("2024-01-01")
    assert base_period(p, first + 4 * week) == (first, first + 4 * week - pd.Timedelta(days=1))
    # two periods of anticipation: the base stops two weeks earlier
    assert base_period(p, first + 4 * week, 2) == (
        first,
        first + 2 * week - pd.Timedelta(days=1),
    )
    # with period ends in the panel, the base ends where its last period ends
    ends = p.assign(period_end=p["period_start"] + pd.Timedelta(days=4))
    assert base_period(ends, first + 4 * week)[1] == first + 3 * week + pd.Timedelta(days=4)
    assert base_period(p, first) is None  # a start at the beginning of the data: no base
    win = comparison_window(p, _starts(p), "a")
    assert win.before == base_period(win.data, win.cohort)


def test_no_window_when_every_ward_is_treated_by_then():
    p = _toy_panel({"a": 4, "b": 4})
    assert comparison_window(p, _starts(p), "a") is None


# --------------------------------------------------------------------------------------------
# the demo district: every programme from the registry, against the planted truth
# --------------------------------------------------------------------------------------------


def test_the_pilot_is_the_registry_pilot_and_its_headline_covers_the_truth(district, by_id):
    pilot = district.pilot_ward("traffic_model")
    assert pilot == district.registry.pilots.query("wave == 'pilot'")["ward"].iloc[0]
    head = by_id["traffic_model:congestion_minutes:pilot"]
    assert head.role == "headline" and head.ward == pilot and head.wards == [pilot]
    assert head.estimate.inference_method == "conformal"
    assert head.truth_covered() is True
    assert head.verdict.category == "improved"  # its own family: p below the level, CI < 0
    assert head.window[0] == district.starts("traffic_model")[pilot]  # the registry date


def test_windows_show_the_base_before_the_start_and_the_period_after(district, by_id):
    """ "Thời kỳ" says both periods compared: the weeks before the start (from the first week
    of data) and the weeks after it."""
    pilot = by_id["traffic_model:congestion_minutes:pilot"]
    weeks = district.traffic_weekly("traffic_model")
    first_week = weeks["period_start"].min()
    assert pilot.before[0] == first_week
    assert pilot.before[1] < pilot.window[0] <= pilot.before[1] + pd.Timedelta(days=7)
    text = pilot.window_text()
    assert text.startswith(f"Trước: {first_week:%d/%m/%Y} – {pilot.before[1]:%d/%m/%Y}; sau: ")
    assert text.endswith(f"{pilot.window[0]:%d/%m/%Y} – {pilot.window[1]:%d/%m/%Y}")
    assert pilot.window_text("en").startswith("Before: ")
    assert pilot.record("x")["before"] == [d.date().isoformat() for d in pilot.before]
    roll = by_id["traffic_model:congestion_minutes:district"]
    assert roll.before[0] == first_week and roll.before[1] < roll.window[0]
    for f in by_id.values():  # every estimate says what it is compared with
        if f.has_number and f.window is not None and f.role in ("headline", "wave", "ward"):
            assert f.before is not None and f.before[1] < f.window[0], f.id


def test_the_rollout_headline_leaves_the_pilot_out_and_says_its_window(district, by_id):
    head = by_id["traffic_model:congestion_minutes:district"]
    pilot = district.pilot_ward("traffic_model")
    assert pilot not in head.wards and head.estimate.inference_method == "randomization"
    assert head.truth_covered() is True
    first = district.starts("traffic_model").drop(pilot).min()
    assert head.window[0] == first
    # the bordering wards of other districts never took the programme: the answer runs past
    # the last wave's start to the end of the data, and says where its comparisons come from
    assert head.window[1] >= pd.Timestamp("2025-12-01")
    assert "5 phường giáp ranh thuộc quận khác" in head.design_vi
    assert "không còn phường chưa triển khai" not in head.design_vi


@pytest.fixture(scope="module")
def lonely(tmp_path_factory):
    """A generated district with no ward outside its programme: after the last wave starts,
    no comparison is left."""
    from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district

    folder = tmp_path_factory.mktemp("lonely")
    rest = [w for w in Universe.bac_tu_liem().names if w != "Tây Tựu"]  # the default pilot
    waves = (
        Wave("A", "2024-08-12", tuple(rest[:4]), -0.15),
        Wave("B", "2024-10-21", tuple(rest[4:8]), -0.25),
        Wave("C", "2024-12-16", tuple(rest[8:]), -0.20),
    )
    truth = write_district(folder, Scenario(waves=waves), seed=4)
    d = load_district(folder, truth.registry_path)
    return d, evaluate.district_findings(d)


def test_a_ward_without_a_comparison_gets_no_number_and_names_the_result_that_covers_it(lonely):
    district, findings = lonely
    waves = district.waves("traffic_model")
    last = waves[waves == sorted(set(waves) - {"pilot"})[-1]].index
    for ward in last:
        f = next(f for f in findings if f.id == f"traffic_model:congestion_minutes:ward:{ward}")
        assert not f.has_number and f.estimate is None
        assert f.verdict.category == "design_limited" and f.verdict.reason == "no_estimate"
        assert f.covered_by == "traffic_model:congestion_minutes:district"
        assert "kết quả toàn quận" in f.verdict.text_vi
    quarters = [f for f in findings if f.role == "durability" and f.programme == "traffic_model"]
    late = [f for f in quarters if not f.has_number]
    assert late and all("Không còn phường nào chưa triển khai" in f.reason_vi for f in late)


@pytest.mark.xfail(
    strict=True,
    reason="known: the demo's fire counts are an unlucky draw, no longer the estimator's bias "
    "(issue 16 part 3, fixed: tests/test_etwfe.py::test_rare_counts_with_few_wards_unbiased). "
    "Redrawn from the demo's own planted expected counts, the ETWFE's mean log estimate is "
    "−0.083 (MC se 0.028) against the planted −0.119; the demo's −0.58 is 1.8 sd below. Its "
    "never-treated wards had 23 fires in 2025 against 16.8 expected, and the quarters share "
    "that draw: quarter 2 has 4 fires against 8.6 expected with the programme, quarter 7 has 3 "
    "against 8.1 (Poisson P(Y ≤ y) 0.07 and 0.04). Remove the mark when the demo is redrawn.",
)
def test_the_fire_quarters_cover_the_planted_effect(findings):
    """Is it still working, for fire counts: the quarters' 95 % intervals cover the planted
    effect with at most one miss."""
    fire = [
        f
        for f in findings
        if f.role == "durability" and f.programme == "fire_point" and f.has_number
    ]
    covered = [f.truth_covered() for f in fire if f.truth is not None]
    assert len(covered) >= 5 and sum(covered) >= len(covered) - 1


def test_the_last_wave_and_the_months_after_it_get_answers_from_outside_wards(district, findings):
    waves = district.waves("traffic_model")
    last = waves[waves == sorted(set(waves) - {"pilot"})[-1]].index
    for ward in last:
        f = next(f for f in findings if f.id == f"traffic_model:congestion_minutes:ward:{ward}")
        assert f.has_number and set(f.comparison or []) <= set(district.comparison_wards) | set(
            district.ward_names
        )
    quarters = [f for f in findings if f.role == "durability" and f.has_number]
    assert len(quarters) >= 6  # is it still working? quarter by quarter, into 2025
    assert max(f.window[1] for f in quarters) >= pd.Timestamp("2025-10-01")
    traffic = [f for f in quarters if f.programme == "traffic_model" and f.truth is not None]
    covered = [f.truth_covered() for f in traffic]
    assert len(covered) >= 6 and sum(covered) >= len(covered) - 1  # 95 %: at most one miss in ~8
    check = next(f for f in findings if f.id.endswith("congestion_minutes:outside_pretrend"))
    assert set(check.wards) == set(district.comparison_wards)
    assert check.shown.ci_low < 0 < check.shown.ci_high  # planted: they move alike


def test_no_number_is_shown_under_a_ward_it_does_not_belong_to(findings):
    for f in findings:
        if f.level in ("ward", "pilot") and f.has_number:
            assert f.wards == [f.ward], f.id
        if f.level == "ward":
            assert f.role == "ward" and f.family.endswith(":wards")


def test_verdicts_agree_with_their_own_statistics(findings):
    for f in findings:
        v, s = f.verdict, f.shown
        if f.role not in ("headline", "secondary", "wave", "ward", "durability"):
            assert v is None, f.id
            continue
        if v.category in ("improved", "worsened"):
            assert f.has_number and v.p_adjusted < 0.05, f.id
            assert s.ci_low > 0 or s.ci_high < 0, f.id
        if not f.has_number:
            assert v.category == "design_limited", f.id


def test_wards_are_adjusted_together_and_waves_get_randomization_inference(findings):
    family = [f for f in findings if f.family == "traffic_model:congestion_minutes:wards"]
    tested = [f for f in family if f.has_number]
    assert len(tested) >= 4 and all(f.verdict.family_size == len(tested) for f in tested)
    waves = [f for f in findings if f.level == "wave" and f.has_number]
    assert waves and all(f.estimate.inference_method == "randomization" for f in waves)


def test_fire_points_get_an_interval_and_the_placebo_outcome_no_effect(by_id):
    fires = by_id["fire_point:fires:district"]
    s = fires.shown
    assert math.isfinite(s.ci_low) and math.isfinite(s.ci_high)  # randomization interval
    assert s.ci_low < fires.truth < s.ci_high
    placebo = by_id["fire_point:electrical_incidents:placebo"]
    assert placebo.role == "check" and placebo.shown.ci_low < 0 < placebo.shown.ci_high


def test_programmes_no_comparison_can_evaluate_say_why(by_id):
    rental = by_id["rental_check:fires:district"]
    assert not rental.has_number and "cùng ngày" in rental.reason_vi
    groups = by_id["to_lien_gia:fires:district"]
    assert not groups.has_number and "Điểm chữa cháy công cộng" in groups.reason_vi


def test_records_follow_the_findings_schema(findings, district):
    records = [f.record("test", district.registry) for f in findings]
    validate_findings(records, source="test")
    ids = [r["finding_id"] for r in records]
    assert len(ids) == len(set(ids))


def test_every_page_gets_the_same_finding(district, findings):
    again = evaluate.programme_findings(district, "traffic_model")
    same = {f.id: f for f in findings}
    for f in again:
        assert f is same[f.id]


# --------------------------------------------------------------------------------------------
# the registry decides who was treated when
# --------------------------------------------------------------------------------------------


def test_a_pilot_parameter_that_contradicts_the_registry_is_a_data_error(district):
    with pytest.raises(DataError, match="contradicts the registry"):
        district.pilot_ward("traffic_model", "Tây Tựu")
    assert district.pilot_ward("traffic_model", "Co Nhue 2") == "Cổ Nhuế 2"


def _with_wards(folder, district):
    import shutil

    folder.mkdir(exist_ok=True)
    shutil.copy(district.data_dir / "wards.csv", folder / "wards.csv")
    return folder


def test_data_notes_come_from_the_data_folder(district, tmp_path):
    assert [c.date for c in district.notes.changes("fires")] == [pd.Timestamp("2024-01-01")]
    assert load_district(_with_wards(tmp_path, district)).notes.recording_changes == ()
    broken = _with_wards(tmp_path / "broken", district)
    (broken / "data_notes.yaml").write_text("recording_changes:\n  - date: [2024\n", "utf-8")
    with pytest.raises(DataError, match=r"data_notes.yaml: not valid YAML at line \d+, column"):
        load_district(broken).notes  # noqa: B018 — read for the error


# --------------------------------------------------------------------------------------------
# small pieces
# --------------------------------------------------------------------------------------------


def _estimate(est, lo, hi, p, method="conformal", scale="difference") -> Estimate:
    return Estimate(
        estimate=est,
        se=math.nan,
        ci_low=lo,
        ci_high=hi,
        pvalue=p,
        method="TWFE",
        inference="x",
        inference_method=method,
        scale=scale,
        min_pvalue=0.01,
    )


def test_incoherent_conformal_sets_are_not_reported_as_intervals():
    ok = coherent(_estimate(-6.0, -9.0, 1.0, 0.06))
    assert ok.ci_low == -9.0
    for bad in (_estimate(2.4, 2.7, 3.6, 0.03), _estimate(-3.8, -8.8, 2.4, 0.011)):
        fixed = coherent(bad)
        assert math.isnan(fixed.ci_low) and fixed.pvalue == bad.pvalue
    assert coherent(_estimate(2.4, 2.7, 3.6, 0.03, method="randomization")).ci_low == 2.7


def test_percent_effects_display_as_percent_changes():
    f = Finding(
        id="x",
        programme="p",
        outcome="fires",
        level="district",
        role="headline",
        family="x",
        estimate=_estimate(
            math.log(0.8), math.log(0.6), math.log(1.1), 0.2, "randomization", "log rate ratio"
        ),
        method_vi="",
        method_en="",
        design_vi="",
        design_en="",
    )
    apply_policy([f])
    s = f.shown
    assert s.estimate == pytest.approx(-20) and s.ci_low == pytest.approx(-40)
    assert f.effect_text("vi") == "−20% [−40%; 10%]"
    assert "−40% đến 10%" in f.verdict.text_vi and "0,2 " not in f.verdict.text_vi


def test_tables_escape_and_format_and_carry_labels_for_phones():
    df = pd.DataFrame({"name": ["<b>x</b>"], "value": [1234.5678], "p": [np.nan]})
    html = tables.table(
        df, {"name": "Tên / Name", "value": "Giá trị / Value", "p": "p"}, formats={"value": 2}
    ).markup
    assert "&lt;b&gt;" in html and "<b>" not in html
    assert "1.234,57" in html and 'class="num"' in html and "—" in html
    assert 'data-label="Giá trị"' in html
    assert tables.p_text(0.0001) == "p < 0,001" and tables.p_text(0.05, "en") == "p = 0.050"


def test_load_district_checks_paths_and_caches(tmp_path, district):
    with pytest.raises(DataError, match="not a folder"):
        load_district(tmp_path / "nowhere")
    with pytest.raises(DataError, match="no ward table.*wards.csv"):
        load_district(tmp_path)
    assert load_district() is load_district()
    empty = load_district(_with_wards(tmp_path, district))
    assert not empty.has_truth and empty.truth is None
    with pytest.raises(DataError, match="no traffic table"):
        empty.traffic_weekly()


def test_every_caveat_an_official_meets_is_in_vietnamese(findings):
    from evaluation.analysis.caveats import translate, vietnamese

    caveats = {w for f in findings if f.estimate is not None for w in f.estimate.warnings}
    assert caveats, "the demo's findings carry caveats"
    untranslated = [w for w in caveats if translate(w) is None]
    assert not untranslated, untranslated
    # numbers keep their value and take Vietnamese forms
    v = vietnamese(
        "This design cannot reach the 5% significance level: with 1 treated of 13 units, even "
        "the strongest possible result has p = 0.077. A 'not significant' result …"
    )
    assert "1 phường triển khai trong tổng số 13 phường" in v and "p = 0,077" in v


def test_the_rollout_belongs_to_its_district_and_its_panel(district):
    """The rollout's ATT(g, t) is remembered by the district it was computed for, keyed by the
    panel's content. A process-wide cache keyed by ``id(district)`` and the panel's length gave
    a later district, allocated at a freed one's address, the earlier district's results — in
    the decision-accuracy study, a crash and, worse, possibly numbers from another district."""
    import gc
    import weakref

    from evaluation.analysis.district import District
    from evaluation.analysis.traffic import rollout

    rng = np.random.default_rng(3)
    panel = _toy_panel({f"w{i}": g for i, g in enumerate([4, 4, 6, 6, 8, 8, None, None])}, 16)
    panel["y"] = rng.normal(size=len(panel)) + np.where(
        panel["period_start"] >= panel["cohort"], -2.0, 0.0
    )
    other = panel.assign(
        y=panel["y"] + np.where(panel["period_start"] >= panel["cohort"], 3.0, 0.0)
    )

    first = District(
        district.data_dir, district.registry_path, district.registry, district.ward_table
    )
    roll = rollout(first, "traffic_model", "y", panel)
    assert rollout(first, "traffic_model", "y", panel) is roll  # computed once per district
    # the same district, another panel of the same length: its own result
    moved = rollout(first, "traffic_model", "y", other).simple.estimate
    assert moved == pytest.approx(roll.simple.estimate + 3.0, abs=1e-9)
    # another district object: its own result, and nothing kept once the district is gone
    second = District(
        district.data_dir, district.registry_path, district.registry, district.ward_table
    )
    assert rollout(second, "traffic_model", "y", panel) is not roll
    gone = weakref.ref(roll)
    del first, roll
    gc.collect()
    assert gone() is None
