"""The demo's monthly run, as officials receive it: every page agrees, row for row, under one
verdict policy (issue 8).

Runs the real monthly plan (``params/monthly.yaml``: the district notebooks and the ward
reports) on the demo data, for three wards — the pilot ward, a first-wave ward and a last-wave
ward that has no comparison left — and checks what the pages say, not how they are built.
"""

from __future__ import annotations

import csv
import html
import json
import math
import re
from pathlib import Path

import pytest
import yaml

from evaluation.analysis.decision import decision_cards
from evaluation.batch.outputs import findings_count
from evaluation.batch.plan import plan_from_dict
from evaluation.batch.run import run_batch
from evaluation.report.index import unique_findings
from tests import page_checks
from tests.statements import card_contradictions, contradictions

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
WARDS = ["Cổ Nhuế 2", "Xuân Đỉnh", "Tây Tựu"]  # pilot, wave A, wave C


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    raw = yaml.safe_load((ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8"))
    raw["wards"] = WARDS
    out = tmp_path_factory.mktemp("demo") / "out"
    plan = plan_from_dict(raw, base=ROOT / "params", source=ROOT / "params" / "monthly.yaml")
    result = run_batch(plan, out, workers=2)
    findings = {}
    for rec in result.runs:
        assert rec["status"] == "ok", (rec["id"], rec.get("error"))
        findings[rec["id"]] = json.loads((out / rec["outputs"]["results"]).read_text("utf-8"))
    return out, findings


def _numbers(f):
    return tuple(f.get(k) for k in ("estimate", "ci_low", "ci_high", "pvalue", "verdict_category"))


def test_every_page_says_the_same_about_the_same_finding(run):
    _, by_run = run
    summary = {f["finding_id"]: f for f in by_run["district_summary"] if f.get("finding_id")}
    for run_id, items in by_run.items():
        for f in items:
            fid = f.get("finding_id")
            if not fid or run_id == "district_summary":
                continue
            assert fid in summary, f"{run_id}: {fid} is not in the district summary"
            assert _numbers(f) == _numbers(summary[fid]), (run_id, fid)
            assert f["verdict_vi"] == summary[fid]["verdict_vi"], (run_id, fid)
    everything = [dict(f, run_id=r) for r, items in by_run.items() for f in items]
    assert unique_findings(everything)[1] == []


def test_verdicts_follow_the_declared_policy(run):
    _, by_run = run
    for f in by_run["district_summary"]:
        cat = f.get("verdict_category")
        if cat in ("improved", "worsened"):
            assert f["p_adjusted"] < 0.05, f["finding_id"]
            assert f["ci_low"] is not None and f["ci_high"] is not None
            assert not (f["ci_low"] <= 0 <= f["ci_high"]), f["finding_id"]
        elif cat in ("unclear", "design_limited") and f.get("estimate") is not None:
            has_interval = all(
                f.get(k) is not None and math.isfinite(f[k]) for k in ("ci_low", "ci_high")
            )
            if has_interval:  # the interval is shown, never a bare percentage
                assert "khoảng tin cậy" in f["verdict_vi"], f["finding_id"]


def test_a_last_wave_ward_is_compared_with_the_bordering_wards_only_its_own_number(run):
    """Tây Tựu started with the last wave: only the bordering wards of other districts, which
    never took the programme, are left to compare it with — its page shows its own number
    against them, never another ward's."""
    _, by_run = run
    own = [
        f
        for f in by_run["ward_report--tay-tuu"]
        if f["programme"] == "traffic_model" and f["level"] == "ward"
    ]
    assert own, "Tây Tựu's report records its traffic findings"
    congestion = next(f for f in own if f["outcome"] == "congestion_minutes")
    assert congestion["estimate"] is not None
    comparison = congestion["comparison"]
    comparison = comparison.split("; ") if isinstance(comparison, str) else comparison
    assert set(comparison) == {
        "Mai Dịch", "Nghĩa Đô", "Phú Thượng", "Xuân La", "Xuân Phương"
    }  # fmt: skip
    for f in by_run["ward_report--tay-tuu"]:
        assert f.get("ward") == "Tây Tựu", f["finding_id"]  # no other ward's number


def test_the_pilot_has_its_own_headline_first_on_the_index(run):
    out, by_run = run
    pilot = next(
        f
        for f in by_run["district_summary"]
        if f["finding_id"] == "traffic_model:congestion_minutes:pilot"
    )
    assert pilot["ward"] == "Cổ Nhuế 2" and pilot["role"] == "headline"
    index = (out / "index.html").read_text("utf-8")
    first_answer = index.index('class="answer"')
    assert index.index(pilot["question_vi"]) > first_answer
    assert index.index(pilot["question_vi"]) < index.index("Khi nhân rộng")
    assert pilot["effect_vi"] in index


def test_no_machine_path_and_vietnamese_numbers_on_every_page(run):
    out, _ = run
    for page in [out / "index.html", *sorted((out / "reports").glob("*.html"))]:
        text = page.read_text("utf-8")
        assert str(out) not in text and str(ROOT) not in text, page.name
        assert "/home/" not in text and "/tmp/" not in text, page.name
        # no scientific notation anywhere; in the Vietnamese text (English stripped: the
        # "en" spans and the italic lines) no "p = 1.000", which reads as one thousand
        visible = re.sub(r"base64,[^\"]+", "", text)
        assert not re.search(r"\d\.\d+e[−-]\d", visible), page.name
        vietnamese = re.sub(
            r'<(\w+)[^>]*class="[^"]*\ben\b[^"]*"[^>]*>.*?</\1>', "", visible, flags=re.S
        )
        vietnamese = re.sub(r"<em>.*?</em>", "", vietnamese, flags=re.S)
        found = re.findall(r"p [=<] \d\.\d{3}\b", vietnamese)
        assert not found, (page.name, found[:3])


def _unique(by_run):
    everything = [dict(f, run_id=r) for r, items in by_run.items() for f in items]
    return unique_findings(everything)[0]


def test_no_sentence_contradicts_its_record(run):
    """Every finding's verdict, interval, p-values and explanation, read back by a second
    reader (tests/statements.py), agree with the record they were written from."""
    _, by_run = run
    problems = [p for f in _unique(by_run) for p in contradictions(f)]
    assert problems == []


def test_every_programme_ends_with_its_decision_card(run):
    """The index holds a decision card per programme with a headline, after its headlines,
    and the card agrees with the records it read (its answer, the target, how long it lasted)."""
    out, by_run = run
    unique = _unique(by_run)
    index = (out / "index.html").read_text("utf-8")
    by: dict[str, list] = {}
    for f in unique:
        by.setdefault(f["programme"], []).append(f)
    cards = decision_cards(unique)
    assert {c.programme for c in cards} == {
        f["programme"] for f in unique if f["role"] == "headline"
    }
    for card in cards:
        assert card_contradictions(card, by[card.programme]) == [], card.programme
        at = index.index(f'id="decision-{card.programme.replace("_", "-")}"')
        assert html.escape(card.answer_vi) in index[at:]
        heads = [h for h in by[card.programme] if h["role"] == "headline"]
        assert all(index.index(h["question_vi"]) < at for h in heads if h["question_vi"])
    traffic = next(c for c in cards if c.programme == "traffic_model")
    # the district's own claim — congestion resolved after three months — is checked
    claim = traffic.line("claim")
    assert claim is not None and claim.status == "not_reached" and "còn khoảng" in claim.text_vi


def test_the_counts_say_what_they_count(run):
    """The terminal, the index and findings.csv count the same findings."""
    out, by_run = run
    everything = [dict(f, run_id=r) for r, items in by_run.items() for f in items]
    n = len(_unique(by_run))
    assert findings_count(everything).startswith(f"{n} findings")
    index = (out / "index.html").read_text("utf-8")
    assert f"{n} kết quả / findings" in index
    with (out / "findings.csv").open(encoding="utf-8-sig", newline="") as fh:
        assert sum(1 for _ in csv.reader(fh)) - 1 == n


def test_no_point_estimate_in_front_where_the_design_cannot_decide(run):
    out, by_run = run
    index = (out / "index.html").read_text("utf-8")
    limited = [
        f
        for f in _unique(by_run)
        if f.get("verdict_category") == "design_limited" and f.get("estimate") is not None
    ]
    assert limited
    for f in limited:
        assert f["front_vi"] != f["effect_vi"] and f["front_vi"] in index, f["finding_id"]
        assert f'<td class="num" data-label="Tác động / Effect">{f["effect_vi"]}' not in index


def _pages(out: Path) -> list[Path]:
    return [out / "index.html", *sorted((out / "reports").glob("*.html"))]


def test_every_page_reads_on_a_phone_and_prints_on_a4(run):
    """Issue 16, part 7: every table of every page is cards or scrolls inside itself, nothing is
    set wider than a 390 px phone, and the print stylesheet keeps rows whole on A4."""
    out, _ = run
    for page in _pages(out):
        html = page.read_text("utf-8")
        assert page_checks.table_problems(html) == [], page.name
        assert page_checks.wide_settings(html) == [], page.name
        assert page_checks.print_problems(html) == [], page.name


def test_no_english_only_sentence_on_a_vietnamese_page(run):
    """Issue 16, part 5: every sentence a reader meets is Vietnamese, with its English beside
    it (an English line, or after " / "), never English alone."""
    out, _ = run
    for page in _pages(out):
        assert page_checks.english_only(page.read_text("utf-8")) == [], page.name


def test_no_date_in_the_text_is_written_yyyy_mm_dd(run):
    out, _ = run
    for page in _pages(out):
        assert page_checks.iso_dates(page.read_text("utf-8")) == [], page.name


def test_windows_show_the_period_before_and_after_the_start(run):
    out, by_run = run
    index = (out / "index.html").read_text("utf-8")
    for f in by_run["district_summary"]:
        if f["role"] == "headline" and f.get("estimate") is not None:
            before, after = f["before"], f["window"]
            assert before[1] < after[0], f["finding_id"]
            assert f["window_text"].startswith("Trước: ") and "; sau: " in f["window_text"]
            assert html.escape(f["window_text"]) in index, f["finding_id"]


def test_pages_are_no_wider_than_a_phone_in_chromium(run):
    """Measured where a Chromium is installed (not in `make test`'s environment): the page laid
    out in a true 390 px viewport (an iframe) scrolls sideways nowhere."""
    shots = _screenshots()
    browser = shots.find_chromium()
    if browser is None:
        pytest.skip("no Chromium on this machine")
    out, _ = run
    for name, page in shots.pages_of(out).items():
        measured = shots.measure(browser, page, shots.PHONE)
        assert measured["width"] <= shots.PHONE, (name, measured["wider"])


def _screenshots():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "screenshots", ROOT / "scripts" / "screenshots.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
