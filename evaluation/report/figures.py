"""Figures for the reports: indicators over time with programme dates, timelines, forest plots.

Titles and labels are Vietnamese with the English beneath or after a slash; matplotlib's
default font (DejaVu Sans) has every Vietnamese glyph. Each function returns the matplotlib
Figure (or Axes) and never calls ``plt.show()``, so a notebook decides when to display.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.analysis.district import District

__all__ = [
    "show",
    "png_bytes",
    "PNG",
    "PALETTE",
    "short_name",
    "mark_programmes",
    "ward_indicators",
    "programme_timeline",
    "rollout_timeline",
    "forest_plot",
]

#: programme colours, in the registry's order of programmes
PALETTE = ("#1f5fa8", "#c0392b", "#e08a00", "#2e7d32", "#7b1fa2", "#00838f", "#6d4c41")
WARD_COLOUR = "#1f5fa8"
#: resolution of report figures: sharp on screen, small in an e-mailed report
DPI = 80
OTHERS_COLOUR = "0.55"


class PNG:
    """A rendered figure: displays as one PNG image, with ``alt`` as its text version."""

    def __init__(self, data: bytes, alt: str = "Biểu đồ / Chart"):
        self.data = data
        self.alt = alt

    def _repr_png_(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        return self.alt


def show(fig, alt: str | None = None) -> None:
    """Display ``fig`` (a Figure or Axes) as a PNG drawn once (:func:`png_bytes`), then close it.

    ``plt.show()`` in a notebook saves with ``bbox_inches="tight"``, which draws every figure
    twice; report figures here have fixed margins, so one draw is enough.
    """
    from IPython.display import display

    fig = getattr(fig, "figure", fig)
    if alt is None:
        titles = [ax.get_title(loc="left") or ax.get_title() for ax in fig.axes]
        alt = next((t for t in titles if t), "Biểu đồ / Chart").replace("\n", " — ")
    display(PNG(png_bytes(fig), alt))
    _plt().close(fig)


def png_bytes(fig) -> bytes:
    """The figure as a 256-colour PNG: a third of the size of matplotlib's true-colour PNG
    for line charts (reports travel by e-mail), with no visible difference."""
    import io

    from PIL import Image

    fig.canvas.draw()
    w, h = fig.canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    image.save(buf, format="png")
    return buf.getvalue()


def _plt():
    import matplotlib.pyplot as plt

    return plt


_ORDER: list[str] = []


def _colour(programme: str, i: int = 0) -> str:
    """A programme's colour: fixed by its place in the registry (see :func:`use_registry`)."""
    if programme not in _ORDER:
        _ORDER.append(programme)
    return PALETTE[_ORDER.index(programme) % len(PALETTE)]


def use_registry(district: District) -> None:
    """Colour programmes in the registry's order, so every figure of a report agrees."""
    _ORDER[:] = list(district.registry.programmes)


def short_name(district: District, programme: str, lang: str = "vi") -> str:
    """The registry's ``short_vi``/``short_en`` name of a programme, else its full name."""
    meta = district.programme_meta(programme)
    return str(meta.get(f"short_{lang}") or district.programme_label(programme, lang))


def _domain(district: District, domain: str) -> list[str]:
    return [
        p
        for p, meta in district.registry.programmes.items()
        if (meta or {}).get("domain") == domain
    ]


def mark_programmes(ax, entries: pd.DataFrame, *, label: bool = False, names=None) -> None:
    """Dashed vertical lines at the start dates of ``entries`` (registry rows)."""
    for i, row in enumerate(entries.itertuples(index=False)):
        ax.axvline(
            pd.Timestamp(row.start),
            color=_colour(row.programme, i),
            ls="--",
            lw=1.2,
            label=(names or {}).get(row.programme, row.programme) if label else None,
        )


def _ward_vs_others(ax, panel: pd.DataFrame, ward: str, col: str, *, rolling: int = 1) -> None:
    own = panel[panel["ward"] == ward].set_index("period_start")[col]
    others = panel[panel["ward"] != ward].groupby("period_start")[col].mean()
    if rolling > 1:
        own = own.rolling(rolling, min_periods=1, center=True).mean()
        others = others.rolling(rolling, min_periods=1, center=True).mean()
    ax.plot(
        others.index,
        others.to_numpy(),
        color=OTHERS_COLOUR,
        lw=1.1,
        label="Trung bình các phường khác",
    )
    ax.plot(own.index, own.to_numpy(), color=WARD_COLOUR, lw=1.5, label=ward)


def _date_axis(ax) -> None:
    """Year labels with quarter ticks: a fixed locator draws much faster than matplotlib's
    automatic date locator, which recomputes calendar rules at every draw."""
    import matplotlib.dates as mdates

    lo, hi = ax.get_xlim()
    if hi - lo > 3 * 365:
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y"))
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(7,)))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y"))
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 10)))


def _style(ax, title: str, ylabel: str = "", dates: bool = True) -> None:
    if dates:
        _date_axis(ax)
    ax.set_title("")  # the package plots' own (English) titles make way for ours
    ax.set_title(title, fontsize=10, loc="left")
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=9)
    ax.grid(alpha=0.25)
    ax.tick_params(labelsize=8)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def ward_indicators(district: District, ward: str):
    """Four panels for one ward against the other wards' average, programme dates marked:
    weekly congestion, fires per quarter, road accidents and the share of criminal cases
    solved per police period. Returns the Figure."""
    plt = _plt()
    use_registry(district)
    entries = district.programmes_of(ward)
    fig, axes = plt.subplots(2, 2, figsize=(11, 6.4), dpi=DPI)
    (a, b), (c, d) = axes

    def marks(ax, domains):
        programmes = [p for dom in domains for p in _domain(district, dom)]
        mark_programmes(ax, entries[entries["programme"].isin(programmes)])

    traffic = district.traffic_weekly()
    _ward_vs_others(a, traffic, ward, "congestion_minutes")
    marks(a, ["traffic"])
    _style(
        a,
        "Thời gian ùn tắc giờ cao điểm (phút mỗi nút giao, mỗi khung giờ; trung bình tuần)\n"
        "Peak-hour congestion (minutes per junction and peak, weekly mean)",
        "phút",
    )

    fires = district.fires_quarterly()
    own = fires[fires["ward"] == ward]
    others = fires[fires["ward"] != ward].groupby("period_start")["fires"].mean()
    b.bar(own["period_start"], own["fires"], width=60, color=WARD_COLOUR, alpha=0.8, label=ward)
    b.plot(others.index, others.to_numpy(), color=OTHERS_COLOUR, lw=1.1, marker="o", ms=3)
    marks(b, ["fire"])
    _style(b, "Số vụ cháy theo quý\nFires per quarter", "vụ")

    sec = district.security()
    _ward_vs_others(c, sec, ward, "traffic_accidents", rolling=3)
    marks(c, ["traffic"])
    _style(
        c,
        "Tai nạn giao thông theo kỳ công an (trung bình 3 kỳ)\nRoad accidents per police period (3-period mean)",
        "vụ",
    )

    _ward_vs_others(d, sec, ward, "solved_share", rolling=3)
    marks(d, ["security"])
    _style(
        d,
        "Tỷ lệ án hình sự được làm rõ (%, trung bình 3 kỳ)\nShare of criminal cases solved (3-period mean)",
        "%",
    )

    # one time axis for the four panels, so that dates line up down the page
    lo = min(ax.get_xlim()[0] for ax in (a, b, c, d))
    hi = max(ax.get_xlim()[1] for ax in (a, b, c, d))
    for ax in (a, b, c, d):
        ax.set_xlim(lo, hi)
        _date_axis(ax)
    handles, labels = a.get_legend_handles_labels()
    seen = set(labels)
    for row in entries.drop_duplicates("programme").itertuples(index=False):
        name = short_name(district, row.programme)
        if name not in seen:
            handles.append(plt.Line2D([], [], color=_colour(row.programme), ls="--", lw=1.2))
            labels.append(f"Bắt đầu: {name}")
            seen.add(name)
    fig.legend(
        handles, labels, loc="lower center", ncol=min(len(labels), 4), fontsize=8.5, frameon=False
    )
    # fixed margins: tight_layout would draw the whole figure once more just to measure it
    fig.subplots_adjust(left=0.06, right=0.99, top=0.91, bottom=0.14, hspace=0.55, wspace=0.16)
    return fig


def programme_timeline(district: District, ward: str):
    """One row per programme of ``ward``: start, interim review (sơ kết), final review
    (tổng kết), and the time it has run until the end of the data. Returns the Figure."""
    plt = _plt()
    use_registry(district)
    entries = district.programmes_of(ward)
    end = district.traffic_weekly()["period_end"].max()
    fig, ax = plt.subplots(figsize=(9, 0.55 * max(len(entries), 1) + 1.2), dpi=DPI)
    for i, row in enumerate(entries.itertuples(index=False)):
        colour = _colour(row.programme, i)
        start = pd.Timestamp(row.start)
        ax.plot(
            [start, max(end, start)], [i, i], color=colour, lw=6, alpha=0.35, solid_capstyle="butt"
        )
        ax.plot(start, i, "o", color=colour, ms=7)
        ax.annotate(
            start.strftime("%d/%m/%Y"),
            (start, i),
            xytext=(4, 7),
            textcoords="offset points",
            fontsize=8,
        )
        for attr, marker in (("interim_review", "^"), ("final_review", "s")):
            when = getattr(row, attr, None)
            if when is not None and pd.notna(when):
                ax.plot(pd.Timestamp(when), i, marker, color="0.25", ms=6)
    ax.set_yticks(
        range(len(entries)),
        [short_name(district, p) for p in entries["programme"]],
        fontsize=8.5,
    )
    ax.invert_yaxis()
    ax.set_ylim(len(entries) - 0.4, -0.8)
    handles = [
        plt.Line2D([], [], marker="o", color="0.3", ls="", label="Bắt đầu / start"),
        plt.Line2D([], [], marker="^", color="0.25", ls="", label="Sơ kết / interim review"),
        plt.Line2D([], [], marker="s", color="0.25", ls="", label="Tổng kết / final review"),
    ]
    ax.legend(
        handles=handles, fontsize=8, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0)
    )
    _style(ax, f"Các mô hình tại phường {ward} / Programmes in {ward}")
    fig.subplots_adjust(left=0.15, right=0.78, top=0.85, bottom=0.12)
    return fig


def rollout_timeline(district: District, programme: str, ax=None):
    """One row per ward: when ``programme`` started there (never: no marker). Returns Axes."""
    plt = _plt()
    starts = district.starts(programme)
    order = list(starts.index) + [w for w in district.ward_names if w not in starts.index]
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.28 * len(order) + 1.0), dpi=DPI)
    domain = district.programme_meta(programme).get("domain")
    end = district.traffic_weekly()["period_end"].max() if domain == "traffic" else None
    colour = _colour(programme)
    for i, w in enumerate(order):
        if w in starts.index:
            s = pd.Timestamp(starts[w])
            if end is not None:
                ax.plot([s, end], [i, i], color=colour, lw=5, alpha=0.3, solid_capstyle="butt")
            ax.plot(s, i, "o", color=colour, ms=6)
        else:
            ax.text(
                0.99,
                i,
                "chưa triển khai / never",
                transform=ax.get_yaxis_transform(),
                ha="right",
                va="center",
                fontsize=8,
                color="0.4",
            )
    ax.set_yticks(range(len(order)), order, fontsize=8.5)
    ax.invert_yaxis()
    _style(
        ax,
        f"{district.programme_label(programme, 'vi')}\nNgày bắt đầu theo phường / start by ward",
    )
    return ax


def forest_plot(
    table: pd.DataFrame,
    *,
    label: str = "label",
    estimate: str = "estimate",
    low: str = "ci_low",
    high: str = "ci_high",
    truth: str | None = None,
    highlight: str | None = None,
    xlabel: str = "",
    title: str = "",
    ax=None,
    groups: Sequence[str] | None = None,
):
    """Horizontal estimates with their intervals, one row per line of ``table``.

    Rows without an interval show the point only; rows without an estimate are listed with
    "—". ``truth`` adds the planted values as crosses; ``highlight`` (a boolean column)
    colours the rows it marks. Returns the Axes.
    """
    plt = _plt()
    n = len(table)
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 0.32 * n + 1.2), dpi=DPI)
    y = np.arange(n)
    est = table[estimate].to_numpy(dtype=float)
    lo = table[low].to_numpy(dtype=float)
    hi = table[high].to_numpy(dtype=float)
    strong = table[highlight].to_numpy(dtype=bool) if highlight else np.zeros(n, bool)
    colours = np.where(strong, "#1f5fa8", "0.45")
    ok = np.isfinite(lo) & np.isfinite(hi)
    ax.hlines(y[ok], lo[ok], hi[ok], colors=colours[ok], lw=2, alpha=0.8)
    fin = np.isfinite(est)
    ax.scatter(est[fin], y[fin], c=colours[fin], s=22, zorder=3)
    for i in np.flatnonzero(~fin):
        ax.text(
            0.02,
            y[i],
            "— không ước lượng được / not estimable",
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=7.5,
            color="0.4",
        )
    if truth is not None and truth in table:
        t = table[truth].to_numpy(dtype=float)
        tf = np.isfinite(t)
        ax.scatter(
            t[tf],
            y[tf],
            marker="x",
            color="#c0392b",
            s=26,
            zorder=4,
            label="Giá trị cài sẵn (dữ liệu mô phỏng) / planted truth",
        )
        if tf.any():  # below the axis label, where it can cover neither a row nor the title
            ax.legend(
                fontsize=8, frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2
            )
    ax.axvline(0, color="0.3", lw=0.8)
    # an interval unbounded at an end (the design rejects no effect that far): dashed to the
    # edge of the axis, and said in words, never drawn as if it stopped there
    unb = ~ok & ~np.isnan(lo) & ~np.isnan(hi)
    if unb.any():
        x0, x1 = ax.get_xlim()
        ax.hlines(
            y[unb],
            np.maximum(lo[unb], x0),
            np.minimum(hi[unb], x1),
            colors=colours[unb],
            lw=1.2,
            linestyles=(0, (2, 2)),
        )
        for i in np.flatnonzero(unb):
            ax.text(
                0.99,
                y[i] - 0.25,
                "KTC không giới hạn / unbounded CI",
                transform=ax.get_yaxis_transform(),
                ha="right",
                fontsize=6.5,
                color="0.4",
            )
        ax.set_xlim(x0, x1)
    ax.set_yticks(y, table[label].astype(str).tolist(), fontsize=8)
    ax.invert_yaxis()
    if groups is not None:
        prev = None
        for i, g in enumerate(groups):
            if prev is not None and g != prev:
                ax.axhline(i - 0.5, color="0.8", lw=0.8)
            prev = g
    ax.set_xlabel(xlabel, fontsize=9)
    _style(ax, title, dates=False)
    return ax


def synthetic_plot(est, ward: str, *, unit: str = "phút"):
    """A synthetic control / synthetic DiD: the ward against its synthetic copy, and the gap.
    Returns the Figure."""
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6), dpi=DPI)
    est.plot(ax=a, title="")
    handles, _ = a.get_legend_handles_labels()
    a.legend(
        handles, [ward, "Phường tổng hợp / synthetic", "Bắt đầu / start"], fontsize=8, frameon=False
    )
    _style(a, f"{ward} và phường tổng hợp\n{ward} and its synthetic comparison", unit)
    est.plot_gap(ax=b, title="")
    handles, _ = b.get_legend_handles_labels()
    b.legend(
        handles,
        ["Tác động trung bình / average effect", "Bắt đầu / start"],
        fontsize=8,
        frameon=False,
    )
    _style(b, "Chênh lệch (phường − tổng hợp)\nGap (ward − synthetic)", unit)
    fig.subplots_adjust(left=0.07, right=0.99, top=0.84, bottom=0.12, wspace=0.2)
    return fig


def weights_table(est, top: int = 8) -> pd.DataFrame:
    """The largest unit weights of a synthetic estimate, as a two-column frame."""
    w = est.unit_weights.sort_values(ascending=False)
    w = w[w > 0.001].head(top)
    return pd.DataFrame({"ward": w.index.astype(str), "weight": w.to_numpy()})


def event_study_plot(dynamic, *, unit: str = "phút", truth: pd.Series | None = None):
    """Effects by weeks since the start (aggregate('dynamic')), leads in red. Returns Figure."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(9, 3.8), dpi=DPI)
    dynamic.plot(ax=ax, title="")
    if truth is not None and len(truth):
        ax.plot(
            truth.index,
            truth.to_numpy(),
            "x",
            color="#c0392b",
            ms=5,
            label="Giá trị cài sẵn / planted truth",
        )
        ax.legend(fontsize=8, frameon=False, loc="lower left")
    ax.set_xlabel("Số tuần kể từ ngày bắt đầu / weeks since the start", fontsize=9)
    _style(
        ax,
        "Tác động theo thời gian kể từ khi triển khai (trước 0: kiểm tra xu hướng)\n"
        "Effect by weeks since the start (before 0: pre-trend check)",
        f"tác động ({unit})",
        dates=False,
    )
    fig.subplots_adjust(left=0.08, right=0.99, top=0.85, bottom=0.14)
    return fig


def bacon_plot(bacon):
    """Goodman-Bacon decomposition: each 2×2 comparison's estimate against its weight."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(11, 4), dpi=DPI)
    bacon.plot(ax=ax, title="")
    names = {
        "earlier vs later treated": "Đợt trước so với đợt sau (chưa triển khai) — hợp lệ",
        "later vs earlier treated (already-treated control)": "Đợt sau so với đợt trước (đã triển khai) — so sánh «cấm»",
        "treated vs never treated": "Được triển khai so với chưa bao giờ",
    }
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles,
        [names.get(lab, lab) for lab in labels],
        fontsize=8,
        frameon=False,
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    ax.set_xlabel("Trọng số trong ước lượng TWFE / weight in TWFE", fontsize=9)
    _style(
        ax,
        "Các so sánh 2×2 tạo nên ước lượng TWFE\nThe 2×2 comparisons behind the TWFE estimate",
        "ước lượng 2×2",
        dates=False,
    )
    fig.subplots_adjust(left=0.07, right=0.62, top=0.86, bottom=0.13)
    return fig


def naive_plot(
    panel: pd.DataFrame,
    ward: str,
    start,
    holidays: Sequence = (),
    *,
    weeks: int = 10,
    outcome: str = "congestion_minutes",
):
    """The weeks around a launch: the ward and the other wards' average, holidays shaded —
    why a plain before/after comparison misleads. Returns the Figure."""
    plt = _plt()
    start = pd.Timestamp(start)
    lo, hi = start - pd.Timedelta(weeks=weeks), start + pd.Timedelta(weeks=weeks)
    d = panel[(panel["period_start"] >= lo) & (panel["period_start"] <= hi)]
    fig, ax = plt.subplots(figsize=(9, 3.4), dpi=DPI)
    _ward_vs_others(ax, d, ward, outcome)
    for h in holidays:
        h = pd.Timestamp(h)
        if lo <= h <= hi:
            ax.axvspan(h, h + pd.Timedelta(days=1), color="#e08a00", alpha=0.25, lw=0)
    ax.axvline(start, color="0.2", ls="--", lw=1.2, label="Bắt đầu / start")
    ax.plot([], [], color="#e08a00", alpha=0.4, lw=6, label="Nghỉ lễ, Tết / holidays")
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    import matplotlib.dates as mdates

    _style(ax, "Các tuần quanh ngày bắt đầu\nThe weeks around the start", "phút", dates=False)
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%m/%Y"))
    fig.subplots_adjust(left=0.08, right=0.99, top=0.84, bottom=0.12)
    return fig


def district_fires_plot(district: District, programme: str, events: dict | None = None):
    """District fires per month (all, and in rental housing), the number of wards running
    ``programme``, and dated events (e.g. a change in recording) marked. Returns the Figure."""
    plt = _plt()
    p = district.fires_monthly(programme)
    total = p.groupby("period_start")[["fires", "rental"]].sum()
    treated = (
        p.assign(on=p["cohort"].notna() & (p["period_start"] >= p["cohort"]))
        .groupby("period_start")["on"]
        .sum()
    )
    fig, ax = plt.subplots(figsize=(10, 3.8), dpi=DPI)
    ax.bar(
        total.index,
        total["fires"],
        width=25,
        color="#c0392b",
        alpha=0.7,
        label="Tất cả vụ cháy / all fires",
    )
    ax.bar(
        total.index,
        total["rental"],
        width=25,
        color="#7b1fa2",
        alpha=0.9,
        label="Nhà trọ, chung cư mini / rental housing",
    )
    ax2 = ax.twinx()
    ax2.step(
        treated.index,
        treated.to_numpy(),
        where="post",
        color="#1f5fa8",
        lw=1.6,
        label=f"Số phường có «{short_name(district, programme)}» / wards running it",
    )
    ax2.set_ylim(0, len(district.ward_names) + 0.5)
    ax2.set_ylabel("số phường / wards", fontsize=9, color="#1f5fa8")
    ax2.tick_params(labelsize=8)
    for i, (label, when) in enumerate((events or {}).items()):
        ax.axvline(
            pd.Timestamp(when), color="0.2", ls=["--", ":", "-."][i % 3], lw=1.2, label=label
        )
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, fontsize=7.5, frameon=False, loc="upper left")
    _style(ax, "Số vụ cháy toàn quận theo tháng\nFires per month, whole district", "vụ / fires")
    ax2.spines["top"].set_visible(False)
    fig.subplots_adjust(left=0.07, right=0.93, top=0.86, bottom=0.1)
    return fig
