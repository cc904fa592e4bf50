"""Charts as officials read them: numbers and dates in Vietnamese format on every axis, text
large enough for a phone, nothing cut at a figure's edge, the sensitivity chart in Vietnamese.

Every chart function of :mod:`evaluation.report.figures` is drawn on a district generated
here (its own wards, dates and effects, not the demo's) and on estimates of it; the tick
labels are read back from the drawn figures.
"""

from __future__ import annotations

import math
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import evaluation as ev  # noqa: E402
from evaluation.design.power_results import PowerResult  # noqa: E402
from evaluation.report import figures  # noqa: E402
from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district  # noqa: E402

DONG_DA = Universe.of(
    "Đống Đa",
    ["Văn Miếu", "Láng Thượng", "Ô Chợ Dừa", "Kim Liên", "Khâm Thiên", "Trung Liệt",
     "Quang Trung", "Thịnh Quang", "Láng Hạ"],
    [31_000, 52_000, 38_000, 27_000, 24_000, 44_000, 19_000, 33_000, 41_000],
    adjacency=[("Văn Miếu", "Khâm Thiên"), ("Láng Thượng", "Láng Hạ"), ("Kim Liên", "Trung Liệt"),
               ("Ô Chợ Dừa", "Quang Trung"), ("Thịnh Quang", "Láng Hạ")],
    codes=["00208", "00211", "00214", "00217", "00220", "00223", "00226", "00229", "00232"],
)  # fmt: skip

#: a Vietnamese number on an axis: true minus sign, dot thousands, comma decimals
VI_NUMBER = re.compile(r"^−?\d{1,3}(?:\.\d{3})*(?:,\d+)?%?$")
DATE_TICK = re.compile(r"^(?:\d{2}/\d{2}/\d{4}|\d{2}/\d{4}|\d{4})$")


def _scenario() -> Scenario:
    return Scenario(
        universe=DONG_DA,
        traffic_start="2023-02-06",
        traffic_end="2025-01-31",
        pilot_ward="Kim Liên",
        pilot_start="2023-10-09",
        pilot_effect=-0.3,
        final_review="2024-10-15",
        waves=(
            Wave("1", "2024-03-04", ("Văn Miếu", "Trung Liệt", "Quang Trung"), -0.3),
            Wave("2", "2024-06-03", ("Láng Hạ", "Khâm Thiên"), -0.3),
        ),
        fire_points=(
            ("Láng Thượng", "2022-08-01", -0.2),
            ("Ô Chợ Dừa", "2023-03-06", -0.2),
            ("Thịnh Quang", "2023-11-13", -0.2),
        ),
        camera_starts=(("Khâm Thiên", "2022-07-15"), ("Láng Hạ", "2023-02-15")),
        common_programme=None,
    )


@pytest.fixture(scope="module")
def district(tmp_path_factory):
    from evaluation.analysis.district import load_district

    folder = tmp_path_factory.mktemp("dongda")
    write_district(folder, _scenario(), seed=11)
    return load_district(folder, folder / "pilots.yaml")


def _programme(district, domain: str) -> str:
    return next(
        p for p, m in district.registry.programmes.items() if (m or {}).get("domain") == domain
    )


@pytest.fixture(scope="module")
def charts(district) -> dict[str, object]:
    """Every chart of the figures module, drawn on the generated district."""
    traffic = _programme(district, "traffic")
    pilot = district.pilot_ward(traffic, None)
    panel = district.traffic_weekly(traffic)
    start = district.starts(traffic)[pilot]
    rollout = panel[panel["ward"] != pilot]
    dynamic = ev.att_gt(
        rollout, "congestion_minutes", "ward", "period_start", "cohort", control="notyet"
    ).aggregate("dynamic")
    from evaluation.analysis.windows import comparison_window

    win = comparison_window(panel, district.starts(traffic), pilot)
    sdid = ev.synthetic_did(
        win.data, "congestion_minutes", "ward", "period_start", "cohort", inference="none"
    )
    bacon = ev.bacon_decomposition(rollout, "congestion_minutes", "ward", "period_start", "cohort")
    # an event study with flat leads and an effect of −4 after the start: its conclusion
    # (θ < 0) holds for small violations of parallel trends and breaks for large ones
    pre, post = 4, 3
    beta = np.r_[[0.3, -0.2, 0.25, -0.1], [-4.0, -4.2, -3.8]]
    sens = ev.honest_did(beta, np.eye(pre + post) * 0.8, pre, post, M=[0, 0.5, 1, 1.5, 2])
    curve = PowerResult(
        table=pd.DataFrame(
            {
                "effect": [-6.0, -4.5, -3.0, -1.5, 0.0],
                "power": [0.97, 0.85, 0.55, 0.2, 0.05],
                "mc_se": [0.01, 0.02, 0.02, 0.02, 0.01],
            }
        ),
        outcome="congestion_minutes",
        estimator="att_gt",
        inference_method="randomization",
        inference="permutation of waves",
        level=0.95,
        scale="additive",
        reps=500,
        exact=False,
        n_assignments=1680,
        min_pvalue=0.001,
        baseline=24.5,
    )
    forest = pd.DataFrame(
        {
            "label": ["Văn Miếu", "Trung Liệt", "Quang Trung", "Láng Hạ"],
            "estimate": [-7.25, -2.5, math.nan, -0.75],
            "ci_low": [-9.5, -4.75, math.nan, -math.inf],
            "ci_high": [-5.0, -0.25, math.nan, math.inf],
            "truth": [-7.0, -3.0, -5.0, -1.0],
        }
    )
    fire = _programme(district, "fire")
    return {
        "ward_indicators": figures.ward_indicators(district, pilot),
        "programme_timeline": figures.programme_timeline(district, pilot),
        "rollout_timeline": figures.rollout_timeline(district, traffic),
        "naive_plot": figures.naive_plot(panel, pilot, start, district.holidays),
        "district_fires_plot": figures.district_fires_plot(
            district, fire, {"Đổi cách ghi / recording change": "2023-07-01"}
        ),
        "forest_plot": figures.forest_plot(forest, truth="truth", xlabel="phút", title="Rừng"),
        "event_study_plot": figures.event_study_plot(dynamic),
        "synthetic_plot": figures.synthetic_plot(sdid, pilot),
        "bacon_plot": figures.bacon_plot(bacon),
        "sensitivity_plot": figures.sensitivity_plot(sens, unit="phút"),
        "power_plot": figures.power_plot(
            {"3 đợt / 3 waves": curve}, effect=-3.0, unit=("phút", "minutes")
        ),
    }


def _figures(chart) -> list:
    many = chart if isinstance(chart, list) else [chart]
    return [getattr(f, "figure", f) for f in many]


def _tick_texts(fig) -> list[str]:
    """The tick labels a reader sees: drawn, inside the axis's limits, not empty."""
    figures.png_bytes(fig)  # as the page gets it: formatted and drawn
    texts = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            lo, hi = sorted(axis.get_view_interval())
            for tick in axis.get_major_ticks():
                label = tick.label1.get_text() or tick.label2.get_text()
                if label and lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                    texts.append(label)
    return texts


def test_number_ticks_write_vietnamese_numbers_with_the_true_minus_sign():
    fig, ax = figures.new_figure(3)
    ax.plot([-1500, 2500], [-0.25, 0.5])
    ax.set_xticks([-1000, 0, 1000, 2000])
    ax.set_yticks([-0.25, 0, 0.25, 0.5])
    figures.vietnamese_ticks(fig)
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["−1.000", "0", "1.000", "2.000"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["−0,25", "0,00", "0,25", "0,50"]
    figures.vietnamese_ticks(fig, "en")  # already set: the page's language was chosen once
    ax.xaxis.set_major_formatter(figures.NumberTicks("en"))
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["−1,000", "0", "1,000", "2,000"]


def test_date_ticks_are_dd_mm_yyyy_month_year_or_year():
    import matplotlib.dates as mdates

    fig, ax = figures.new_figure(3)
    days = pd.date_range("2024-06-03", periods=30, freq="W-MON")
    ax.plot(days, np.arange(30))
    figures.vietnamese_ticks(fig)  # matplotlib's own date labels are replaced
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and all(DATE_TICK.match(t) for t in labels), labels
    ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
    ax.xaxis.set_major_formatter(figures.DateTicks("month"))
    fig.canvas.draw()
    assert [t.get_text() for t in ax.get_xticklabels() if t.get_text()] == ["07/2024", "01/2025"]
    assert figures.DateTicks("day")(mdates.date2num(pd.Timestamp("2024-10-28"))) == "28/10/2024"


def test_every_chart_writes_numbers_and_dates_in_vietnamese(charts):
    seen = []
    for name, chart in charts.items():
        for fig in _figures(chart):
            for text in _tick_texts(fig):
                seen.append(text)
                assert not re.search(r"\d{4}-\d{2}-\d{2}", text), (name, text)
                if re.search(r"[A-Za-zÀ-ỹĐđ]", text):
                    continue  # a ward, a programme or "ban đầu": words, not a number
                assert "-" not in text, (name, text)  # a hyphen where the minus sign goes
                assert VI_NUMBER.match(text) or DATE_TICK.match(text), (name, text)
    # the charts drew negative numbers and decimals, so the checks above were exercised
    assert any(t.startswith("−") for t in seen)
    assert any("," in t for t in seen)
    assert any(re.fullmatch(r"\d{2}/\d{4}|\d{4}", t) for t in seen)


def test_charts_fit_a_phone_column_and_cut_no_text(charts):
    """Every figure is at most WIDTH inches wide with text of at least 9 pt — at least 8 px
    scaled to a 390 px phone's 366 px column — and every text lies inside the figure: no title
    runs off its edge, no legend is cut."""
    for name, chart in charts.items():
        for fig in _figures(chart):
            assert fig.get_figwidth() <= figures.WIDTH + 1e-9, name
            figures.png_bytes(fig)
            renderer = fig.canvas.get_renderer()
            box = fig.bbox
            hidden = set()  # tick labels outside the axis's limits: not drawn
            for ax in fig.axes:
                for axis in (ax.xaxis, ax.yaxis):
                    lo, hi = sorted(axis.get_view_interval())
                    for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                        if not lo - 1e-9 <= tick.get_loc() <= hi + 1e-9:
                            hidden |= {id(tick.label1), id(tick.label2)}
            texts = [
                t
                for t in fig.findobj(matplotlib.text.Text)
                if t.get_visible() and id(t) not in hidden
            ]
            for t in texts:
                if not t.get_text().strip():
                    continue
                assert t.get_fontsize() >= 9, (name, t.get_text(), t.get_fontsize())
                ext = t.get_window_extent(renderer)
                assert ext.x0 >= box.x0 - 1 and ext.x1 <= box.x1 + 1, (name, t.get_text())
                assert ext.y0 >= box.y0 - 1 and ext.y1 <= box.y1 + 1, (name, t.get_text())
            # the title stands clear of everything else drawn
            title = fig._suptitle
            if title is not None and title.get_text():
                top = title.get_window_extent(renderer)
                for t in texts:
                    if t is not title and t.get_text().strip():
                        assert not top.overlaps(t.get_window_extent(renderer)), (
                            name,
                            t.get_text(),
                        )


def test_charts_of_one_page_titles_do_not_overlap(charts):
    """The ward page's indicators are four figures (laid out by the page), each with its own
    title: no two titles share a figure, so none can overlap another at any width."""
    ward = _figures(charts["ward_indicators"])
    assert len(ward) == 4
    titles = [figures.title_of(fig) for fig in ward]
    assert len(set(titles)) == 4 and all(titles)


def test_the_sensitivity_chart_speaks_the_page_language(charts):
    fig = _figures(charts["sensitivity_plot"])[0]
    figures.png_bytes(fig)
    words = " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))
    assert "ban đầu" in words and "Khoảng tin cậy vững" in words
    assert "original" not in words.lower()
    assert "survives" not in words and "The conclusion" not in words
    ticks = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert ticks[0] == "ban đầu" and "0,5" in ticks and "1,5" in ticks


def test_show_lays_several_charts_out_as_one_grid(charts):
    import base64

    many = figures.Charts([(b"\x89PNG-a", "một / one"), (b"\x89PNG-b", "hai / two")])
    markup = many._repr_html_()
    assert markup.startswith('<div class="charts">') and markup.count("<figure>") == 2
    assert base64.b64encode(b"\x89PNG-a").decode() in markup and 'alt="hai / two"' in markup
