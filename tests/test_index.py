"""The index an official opens: answers first, each finding once, every number its own.

Built from hand-made finding records (the fields the analysis layer writes), so each property
is checked on its own: deduplication and the conflict flag, the headline-first order, a ward
without its own number, the declared policy, Vietnamese number forms, no absolute paths, the
stacked layout for phones, and the Excel workbook.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import openpyxl
import pytest

from evaluation.report.index import render_index, unique_findings
from evaluation.report.workbook import READABLE_COLUMNS, write_findings_tables

MANIFEST = {
    "status": "finished",
    "title": "Quận thử / Test district",
    "started": "2026-12-02T02:00:00+00:00",
    "finished": "2026-12-02T02:01:00+00:00",
    "data": {"folder": "/home/analyst/secret/data/demo", "files": {"a.csv": "x"}},
    "runs": [
        {"id": "district_summary", "status": "ok", "outputs": {"html": "reports/d.html"}},
        {"id": "ward_report--a", "ward": "Ward A", "status": "ok", "outputs": {}},
    ],
}


def record(**kw):
    base = {
        "notebook": "district_summary",
        "programme": "traffic_model",
        "programme_vi": "Mô hình giao thông",
        "programme_en": "Traffic model",
        "outcome": "congestion_minutes",
        "method": "m",
        "inference": "i",
        "warnings": [],
        "ci_low": None,
        "ci_high": None,
        "pvalue": None,
        "policy_adjustment": "holm",
        "policy_level": 0.95,
    }
    base.update(kw)
    return base


PILOT = record(
    finding_id="traffic_model:congestion_minutes:pilot",
    level="pilot",
    role="headline",
    family="traffic_model:congestion_minutes:pilot",
    ward="Ward A",
    question_vi="Thí điểm tại phường Ward A có giảm ùn tắc không?",
    question_en="Did the pilot in Ward A reduce congestion?",
    estimate=-6.4,
    ci_low=-7.8,
    ci_high=-3.2,
    pvalue=0.013,
    effect_vi="−6,4 phút [−7,8; −3,2]",
    percent_vi="−23% [−28%; −12%]",
    window_text="15/02/2024 – 30/06/2024",
    verdict_category="improved",
    verdict_vi="Có bằng chứng về tác động.",
    method_vi="sai khác kép",
)
ROLLOUT = record(
    finding_id="traffic_model:congestion_minutes:rollout",
    level="district",
    role="headline",
    ward=None,
    question_vi="Khi nhân rộng, có giảm ùn tắc không?",
    estimate=-5.8,
    ci_low=-8.7,
    ci_high=-2.7,
    pvalue=0.0004,
    effect_vi="−5,8 phút [−8,7; −2,7]",
    verdict_category="improved",
    verdict_vi="Có bằng chứng.",
)
WARD_B = record(
    finding_id="traffic_model:congestion_minutes:ward:Ward B",
    level="ward",
    role="ward",
    ward="Ward B",
    estimate=None,
    verdict_category="design_limited",
    design_vi="Phường Ward B bắt đầu sau cùng; không còn phường đối chứng.",
    covered_by="traffic_model:congestion_minutes:rollout",
)


class Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack_tables = 0
        self.td_without_label = 0
        self.ids: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and "stack" in (a.get("class") or ""):
            self.stack_tables += 1
        if tag == "td" and "data-label" not in a:
            self.td_without_label += 1
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "a" and a.get("href", "").startswith("#"):
            self.hrefs.append(a["href"][1:])


def test_each_finding_once_and_copies_that_disagree_are_flagged():
    copy = dict(PILOT, notebook="ward_report", report="reports/ward_report--a.html")
    unique, conflicts = unique_findings([PILOT, ROLLOUT, copy])
    assert [f["finding_id"] for f in unique] == [PILOT["finding_id"], ROLLOUT["finding_id"]]
    assert conflicts == []
    # the ward's own report is the best link for the pilot ward's finding
    assert unique[0]["report"] == "reports/ward_report--a.html"
    wrong = dict(PILOT, estimate=-9.9)
    _, conflicts = unique_findings([PILOT, wrong])
    assert conflicts == [PILOT["finding_id"]]
    page = render_index(MANIFEST, [PILOT, wrong])
    assert "khác nhau giữa các báo cáo" in page and "differ between reports" in page


def test_headlines_come_first_and_say_the_answer():
    page = render_index(MANIFEST, [WARD_B, ROLLOUT, PILOT])
    q_pilot = page.index(PILOT["question_vi"])
    q_roll = page.index(ROLLOUT["question_vi"])
    q_ward = page.index("Ward B bắt đầu sau cùng")
    assert q_pilot < q_roll < q_ward  # pilot, then rollout, then the wards (folded)
    assert "−6,4 phút [−7,8; −3,2]" in page and "−23% [−28%; −12%]" in page
    assert "15/02/2024 – 30/06/2024" in page
    assert "Cải thiện" in page and "Improved" in page


def test_a_ward_without_its_own_number_shows_none_and_points_to_the_district_result():
    page = render_index(MANIFEST, [PILOT, ROLLOUT, WARD_B])
    row = re.search(
        r'<tr id="f-traffic-model-congestion-minutes-ward-Ward-B"[^>]*>(.*?)</tr>', page, re.S
    )
    assert row is not None
    cells = row.group(1)
    assert "−5,8" not in cells and "−6,4" not in cells  # nobody else's number
    assert "Thiết kế chưa đủ để kết luận" in cells
    assert 'href="#f-traffic-model-congestion-minutes-rollout"' in cells
    parser = Cells()
    parser.feed(page)
    for target in parser.hrefs:
        assert target in parser.ids, target


def test_policy_declared_times_in_hanoi_and_no_absolute_paths():
    page = render_index(MANIFEST, [PILOT])
    assert "hiệu chỉnh Holm" in page and "Holm&#39;s adjustment" in page
    assert "09:00 02/12/2026 (giờ Hà Nội, UTC+7)" in page
    assert "/home/analyst" not in page and "secret" not in page
    assert "dữ liệu / data: demo" in page


def test_every_table_cell_is_labelled_for_phones():
    page = render_index(MANIFEST, [PILOT, ROLLOUT, WARD_B])
    parser = Cells()
    parser.feed(page)
    assert parser.stack_tables >= 2
    assert parser.td_without_label == 0
    assert "@media (max-width:640px)" in page and "attr(data-label)" in page


def test_workbook_one_row_per_finding_readable_and_full(tmp_path):
    copy = dict(PILOT, notebook="congestion_pilot")
    write_findings_tables(tmp_path, [PILOT, ROLLOUT, WARD_B, copy])
    wb = openpyxl.load_workbook(tmp_path / "findings.xlsx")
    readable, full, notes = wb.worksheets
    assert readable.max_row == 4 and full.max_row == 4  # header + 3 findings
    headers = [c.value for c in readable[1]]
    assert headers[0] == "Mô hình / Programme" and "Kết luận / Verdict" in headers
    assert len(headers) == len(READABLE_COLUMNS) - 1  # no planted truth column: none recorded
    assert readable.auto_filter.ref and readable.freeze_panes == "A2"
    row = {h: c.value for h, c in zip(headers, readable[2], strict=True)}
    assert row["Tác động / Effect"] == pytest.approx(-6.4)
    assert row["Kết luận / Verdict"] == "Cải thiện / Improved"
    assert "Holm" in notes["B1"].value
    csv_text = (tmp_path / "findings.csv").read_text("utf-8-sig")
    assert len(csv_text.strip().splitlines()) == 4
