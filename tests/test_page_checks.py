"""The checks of pages on a phone and on paper (tests/page_checks.py) find what they look for:
a page built from the real templates passes, the same page with one defect planted fails with
that defect named."""

from __future__ import annotations

import pytest

from evaluation.report import tables
from evaluation.report.html import css, render_report
from tests import page_checks

WIDE_TABLE = "<table class='dataframe'><tr><td>1</td><td>2</td></tr></table>"


def _page(*outputs: dict) -> str:
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Trang / Page"}]
    cells.append({"cell_type": "code", "metadata": {}, "source": "", "outputs": list(outputs)})
    return render_report({"cells": cells}, {"ward": "Láng Hạ", "parameters": {"x": 1}})


def _html(markup: str) -> dict:
    return {"output_type": "display_data", "metadata": {}, "data": {"text/html": markup}}


@pytest.fixture(scope="module")
def good() -> str:
    import pandas as pd

    cards = tables.table(pd.DataFrame({"ward": ["Láng Hạ"], "n": [3]}), {"ward": "Phường / Ward"})
    return _page(_html(str(cards)), _html(WIDE_TABLE))


def test_a_page_of_the_templates_passes_every_check(good):
    assert page_checks.table_problems(good) == []
    assert page_checks.wide_settings(good) == []
    assert page_checks.print_problems(good) == []
    assert page_checks.iso_dates(good) == []


def test_a_table_neither_cards_nor_scrolling_is_found(good):
    bare = good.replace(
        '<div class="output"><table class="dataframe">', '<table class="dataframe">'
    )
    assert bare != good
    assert any("neither cards nor scrolls" in p for p in page_checks.table_problems(bare))
    unlabelled = good.replace('data-label="Phường"', "")
    unlabelled = unlabelled.replace(
        '<div class="output"><div class="scroll"><table class="stack">', '<table class="stack">'
    )
    assert any("without data-label" in p for p in page_checks.table_problems(unlabelled))
    no_scroll = good.replace(".output{margin:8px 0;max-width:100%;overflow-x:auto}", ".output{}")
    assert any(".output does not scroll" in p for p in page_checks.table_problems(no_scroll))


def test_a_width_set_wider_than_a_phone_is_found(good):
    wide = good.replace("<main>", '<main><div style="min-width: 552px">', 1)
    assert page_checks.wide_settings(wide) == ["<div style='min-width: 552px'>"]
    assert page_checks.wide_settings(good.replace("<main>", '<main><table width="600">', 1))


def test_a_print_stylesheet_that_splits_rows_or_prints_navigation_is_found(good):
    style = css()
    assert page_checks.print_problems(
        good.replace(style, style.replace("@media print", "@media x"))
    )
    split = good.replace("tr,td,th{break-inside:avoid;page-break-inside:avoid}", "")
    assert "table rows may be split across sheets" in page_checks.print_problems(split)
    nav = good.replace(".back,nav.toc,", "")
    assert "navigation is printed" in page_checks.print_problems(nav)
    no_page = good.replace("size:A4", "size:letter")
    assert "no @page of size A4" in page_checks.print_problems(no_page)


def test_an_iso_date_in_the_text_is_found_not_in_code(good):
    dated = good.replace("<h1>Trang / Page</h1>", "<h1>Bắt đầu 2024-10-28</h1>")
    assert dated != good and page_checks.iso_dates(dated)
    coded = good.replace("<h1>Trang / Page</h1>", "<pre>start: 2024-10-28</pre>")
    assert page_checks.iso_dates(coded) == []


def test_english_only_sentences_are_found_and_pairs_and_english_lines_are_not():
    ok = (
        "<h2>Còn tác dụng không? Theo quý / Is it still working? By quarter since the start</h2>"
        "<p>Tác động giảm 3 phút.<br><span class='en'>The effect is a fall of 3 minutes.</span>"
        "</p><p><em>This is the English line of the paragraph above.</em></p>"
        "<p>TWFE, Callaway &amp; Sant'Anna (2021), HonestDiD</p>"
    )
    assert page_checks.english_only(ok) == []
    bad = ok + "<p>Tác động giảm.</p><p>The conclusion that the effect is negative survives.</p>"
    assert page_checks.english_only(bad) == ["The conclusion that the effect is negative survives."]
    outside = "<td>Phương pháp: TWFE; permuting which of the wards are treated in the data</td>"
    assert page_checks.english_only(outside) == [
        "permuting which of the wards are treated in the data"
    ]
