"""HTML for officials: no code, self-contained, escaped, compact, Vietnamese right."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
import unicodedata
from html.parser import HTMLParser
from pathlib import Path

import pytest

from evaluation import formats
from evaluation.batch.plan import load_plan
from evaluation.batch.run import run_batch
from evaluation.report.html import markdown_to_html, render_report, sanitize_html
from evaluation.report.index import render_index

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> & Đông'


class Resources(HTMLParser):
    """Every tag and every attribute that could make a browser fetch or run something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.fetch: list[tuple[str, str, str]] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "srcset", "poster", "data", "action", "background"):
                self.fetch.append((tag, name, value or ""))
            if name.startswith("on"):
                self.handlers.append(f"{tag} {name}")


#: the ward finder (templates/finder.js), the only script a page may carry
FINDER = (
    Path(__file__).resolve().parents[1] / "evaluation" / "report" / "templates" / "finder.js"
).read_text("utf-8")


def check_self_contained(page: str) -> Resources:
    """The properties every page for officials must have."""
    assert page.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in page.lower()
    assert unicodedata.is_normalized("NFC", page)
    r = Resources()
    r.feed(page)
    assert "link" not in r.tags and "iframe" not in r.tags
    # the one script a page may hold is the package's own ward finder, inline, nothing else
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, flags=re.S | re.I)
    assert r.tags.count("script") == len(scripts) <= 1
    for attrs, body in scripts:
        assert attrs.strip() == "" and body == FINDER, body[:80]
    assert r.tags.count("style") == 1  # one inline stylesheet
    assert not r.handlers
    low = page.lower()
    assert "@import" not in low and "url(" not in low
    for tag, attr, value in r.fetch:
        if attr == "href" and tag == "a":
            # links to other files of the run folder, never to another machine
            assert "://" not in value and not value.startswith("//"), value
        else:
            assert value.startswith("data:image/"), (tag, attr, value[:60])
    style = re.search(r"<style>(.*?)</style>", page, flags=re.S).group(1)
    # not nbconvert's 260 KB: the screen, phone (cards), print (A4), decision-card and city
    # finder rules in under 10 KB
    assert len(style.encode()) < 10_000
    return r


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    plan = root / "plan.yaml"
    label = HOSTILE.replace('"', '\\"')
    plan.write_text(
        f"""
title: "Báo cáo <b>tháng</b> / Monthly"
wards: [Cổ Nhuế 2, Tây Tựu]
parameters: {{label: "{label}"}}
notebooks:
  - notebook: {FIXTURES / "ward_fixture.ipynb"}
    parameters: {{fail_wards: [Tây Tựu]}}
""",
        encoding="utf-8",
    )
    return run_batch(load_plan(plan), root / "out", workers=2)


def test_report_has_no_code_and_is_self_contained(rendered):
    page = (rendered.out / "reports" / "ward_fixture--co-nhue-2.html").read_text("utf-8")
    check_self_contained(page)
    for code in (
        "import numpy",
        "zlib.crc32",
        "record_findings(",
        "plt.subplots",
        "In [",
        "results_path =",
    ):
        assert code not in page, code
    # the markdown, the printed line, the Estimate table, the DataFrame and the figure are in
    assert "Báo cáo phường (thử nghiệm)" in page
    assert "Phường Cổ Nhuế 2: tác động ước lượng" in page
    assert "2×2 DiD (fixture)" in page and "<table" in page
    png = re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1)
    assert base64.b64decode(png)[:8] == b"\x89PNG\r\n\x1a\n"
    # compact: apart from the figure, a few kilobytes
    assert len(re.sub(r"base64,[^\"]+", "", page).encode()) < 25_000
    assert "[<matplotlib" not in page and "&lt;Figure size" not in page


def test_data_and_parameters_are_escaped(rendered):
    report = (rendered.out / "reports" / "ward_fixture--co-nhue-2.html").read_text("utf-8")
    index = (rendered.out / "index.html").read_text("utf-8")
    for page in (report, index):
        check_self_contained(page)
        assert "<script>alert" not in page and "onerror" not in page.replace(
            "onerror=alert(1)&gt;", ""
        )
        assert "&lt;script&gt;alert(" in page
        assert "Đông" in page
    assert "&lt;b&gt;tháng&lt;/b&gt;" in index  # the plan's title is data too


def test_failed_run_report_says_so(rendered):
    rec = next(r for r in rendered.runs if r["ward"] == "Tây Tựu")
    page = (rendered.out / rec["outputs"]["html"]).read_text("utf-8")
    check_self_contained(page)
    assert 'role="alert"' in page and "KHÔNG đầy đủ" in page
    i = rec["error"]["cell_index"]
    assert f"cell {i + 1} (index {i}) of the executed notebook" in page
    assert "RuntimeError: planted failure in Tây Tựu" in page


def test_index_is_bilingual_and_links_each_report(rendered):
    page = (rendered.out / "index.html").read_text("utf-8")
    r = check_self_contained(page)
    for vi, en in (
        ("Cách đọc kết luận", "How to read the verdicts"),
        ("Phường", "Ward"),
        ("Kết luận", "Verdict"),
        ("Lỗi", "Problems"),
        ("Tất cả lần chạy", "All runs"),
    ):
        assert vi in page and en in page
    links = {v for t, a, v in r.fetch if t == "a"}
    assert "reports/ward_fixture--co-nhue-2.html" in links
    assert "findings.xlsx" in links and "findings.csv" in links
    for href in links:
        if href.startswith("#"):  # the summary links to its group further down the page
            assert f'id="{href[1:]}"' in page, href
        else:
            assert (rendered.out / href).is_file(), href


def test_index_of_an_unfinished_batch_says_so():
    manifest = {
        "status": "running",
        "title": "T",
        "started": "2026-01-01T00:00:00+07:00",
        "runs": [
            {"id": "a", "status": "ok", "outputs": {"html": "reports/a.html"}},
            {"id": "b", "status": "running"},
        ],
    }
    page = render_index(manifest, [])
    check_self_contained(page)
    assert "CHƯA xong" in page and "has NOT finished" in page and "--resume" in page
    assert "findings.csv" not in page  # no downloads until the batch has finished


# --- the pieces -------------------------------------------------------------------------------


def test_sanitizer_keeps_tables_and_drops_everything_active():
    dirty = (
        "<style>td{background:url(http://evil/x.png)}</style>"
        '<table class="dataframe" border="1" onclick="x()"><tr><td style="color:red">1 &lt; 2'
        '</td></tr></table><script>alert(1)</script><iframe src="http://evil"></iframe>'
        '<img src="http://evil/track.png"><img src="data:image/png;base64,iVBORw0KGgo=">'
        '<a href="javascript:alert(1)">j</a><a href="https://example.org/x">ok</a>'
        "</div></main><p>unclosed"
    )
    clean = sanitize_html(dirty)
    assert '<table class="dataframe">' in clean and "<td>1 &lt; 2</td>" in clean
    for bad in (
        "<style",
        "url(",
        "onclick",
        "<script",
        "alert(1)",
        "iframe",
        "evil",
        "javascript:",
        "</main>",
        "</div>",
        "style=",
    ):
        assert bad not in clean, bad
    assert '<img src="data:image/png;base64,iVBORw0KGgo=">' in clean
    assert '<a href="https://example.org/x">ok</a>' in clean and "<a>j</a>" in clean
    assert clean.endswith("<p>unclosed</p>")


def test_markdown_escapes_raw_html_and_keeps_only_inline_images():
    out = markdown_to_html(
        "**Kết luận** <script>x()</script>\n\n![map](http://tiles/x.png) ![fig](attachment:f.png)",
        {"f.png": {"image/png": "iVBORw0KGgo="}},
    )
    assert "<strong>Kết luận</strong>" in out and "&lt;script&gt;" in out
    assert "http://tiles" not in out and "<em>[map]</em>" in out
    assert 'src="data:image/png;base64,iVBORw0KGgo="' in out


def test_number_formats_are_vietnamese_and_one_for_every_page():
    # CLDR vi_VN: decimal comma, thousands dot, a true minus sign
    assert formats.number(-5.123, 2) == "−5,12"
    assert formats.number(12345.6, 0) == "12.346"
    assert formats.number(12345.6, 0, "en") == "12,346"
    assert formats.number(None) == "—" and formats.number(float("nan")) == "—"
    assert formats.pvalue(1 / 13) == "0,077" and formats.pvalue(1e-6) == "< 0,001"
    assert formats.interval(-7.83, -3.2) == "[−7,8; −3,2]"
    # an end that is not zero never prints as zero: whether it reaches 0 is what a reader checks
    assert formats.interval(-72.0, 0.2, 0, "vi", "%") == "[−72%; 0,2%]"
    assert formats.interval(-1.0, float("inf"), 0, "vi", "%") == "[−1%; ∞]"
    assert (
        formats.datetime_text("2026-12-02T02:05:00+00:00") == "09:05 02/12/2026 (giờ Hà Nội, UTC+7)"
    )


def test_report_of_a_bare_notebook_drops_hidden_cells():
    nb = {
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "# Tiêu đề"},
            {
                "cell_type": "code",
                "metadata": {"tags": ["parameters"]},
                "source": "x = 1",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "SECRET-PARAM"}],
            },
            {
                "cell_type": "code",
                "metadata": {"tags": ["remove-output"]},
                "source": "",
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "HIDDEN"}],
            },
            {
                "cell_type": "code",
                "metadata": {},
                "source": "print(1)",
                "outputs": [
                    {"output_type": "stream", "name": "stderr", "text": "FutureWarning: x"},
                    {
                        "output_type": "display_data",
                        "metadata": {},
                        "data": {
                            "image/svg+xml": "<svg><script>alert(1)</script></svg>",
                            "text/plain": "<Figure>",
                        },
                    },
                ],
            },
        ]
    }
    page = render_report(nb, {"ward": "Đông Ngạc"})
    check_self_contained(page)
    assert "SECRET-PARAM" not in page and "HIDDEN" not in page and "print(1)" not in page
    assert "<title>Tiêu đề — Đông Ngạc</title>" in page
    assert "data:image/svg+xml;base64," in page  # an SVG in <img> cannot run its script
    assert '<details class="tech"><summary>Thông báo kỹ thuật' in page  # folded away, not printed


def test_the_report_layer_never_imports_the_batch():
    """batch imports report, never the reverse: a notebook records its findings (and a page is
    rendered) without loading the batch machinery."""
    code = (
        "import sys\n"
        "import evaluation.core.files, evaluation.analysis.record, evaluation.report.html\n"
        "loaded = [m for m in sys.modules if m.startswith('evaluation.batch')]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
