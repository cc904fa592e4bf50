"""Figures for the reports: indicators over time with programme dates, timelines, forest plots,
event studies, the sensitivity of a conclusion to parallel trends, power curves.

Titles are Vietnamese with the English beneath, their words from the message catalogue
(:mod:`evaluation.i18n`); matplotlib's default font (DejaVu Sans) has every Vietnamese glyph. Each function returns the matplotlib Figure (or Axes, or a list of
Figures shown side by side) and never calls ``plt.show()``, so a notebook decides when to
display: :func:`show` draws each figure once as a PNG.

Every figure is drawn and shown through :mod:`evaluation.report.charts`: sized for a phone's
column, numbers and dates on its axes in the page's format, displayed once as a PNG.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.i18n import Text, say, say_in
from evaluation.report.charts import (
    DPI,
    LABEL,
    NOTE,
    PNG,
    TICK,
    TITLE,
    WIDTH,
    Charts,
    DateTicks,
    NumberTicks,
    decimals,
    legend_below,
    new_figure,
    png_bytes,
    pyplot,
    show,
    title_of,
    vietnamese_ticks,
    wrap_labels,
    wrap_title,
)

__all__ = [
    "DPI",
    "PALETTE",
    "PNG",
    "WIDTH",
    "Charts",
    "DateTicks",
    "NumberTicks",
    "bacon_plot",
    "district_fires_plot",
    "event_study_plot",
    "forest_plot",
    "mark_programmes",
    "naive_plot",
    "png_bytes",
    "power_plot",
    "programme_timeline",
    "rollout_timeline",
    "sensitivity_plot",
    "short_name",
    "show",
    "synthetic_plot",
    "title_of",
    "vietnamese_ticks",
    "ward_indicators",
]

#: programme colours, in the registry's order of programmes
PALETTE = ("#1f5fa8", "#c0392b", "#e08a00", "#2e7d32", "#7b1fa2", "#00838f", "#6d4c41")
WARD_COLOUR = "#1f5fa8"
OTHERS_COLOUR = "0.55"
_ORDER: list[str] = []


def _pair(words: Text) -> str:
    """A label in both languages on one line, "Bắt đầu / start"."""
    return " / ".join(words)


def _title(words: Text) -> str:
    """A title: Vietnamese, the English beneath."""
    return "\n".join(words)


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


def _others_line(ax, others: pd.Series, **style) -> None:
    """The other wards' average, in grey."""
    ax.plot(
        others.index,
        others.to_numpy(),
        color=OTHERS_COLOUR,
        lw=1.1,
        label=say("Average of the other wards").vi,
        **style,
    )


def _ward_vs_others(ax, panel: pd.DataFrame, ward: str, col: str, *, rolling: int = 1) -> None:
    own = panel[panel["ward"] == ward].set_index("period_start")[col]
    others = panel[panel["ward"] != ward].groupby("period_start")[col].mean()
    if rolling > 1:
        own = own.rolling(rolling, min_periods=1, center=True).mean()
        others = others.rolling(rolling, min_periods=1, center=True).mean()
    _others_line(ax, others)
    ax.plot(own.index, own.to_numpy(), color=WARD_COLOUR, lw=1.5, label=ward)


def _date_axis(ax) -> None:
    """Year labels with half-year ticks over long spans, month/year labels over shorter ones
    (through :class:`DateTicks`): a fixed locator draws much faster than matplotlib's automatic
    date locator, which recomputes calendar rules at every draw."""
    lo, hi = ax.get_xlim()
    if hi - lo > 3 * 365:
        ax.xaxis.set_major_locator(mdates.YearLocator())
        ax.xaxis.set_major_formatter(DateTicks("year"))
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(7,)))
    elif hi - lo > 200:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=(1, 7)))
        ax.xaxis.set_major_formatter(DateTicks("month"))
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=(4, 10)))
    else:
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=range(1, 13, 2)))
        ax.xaxis.set_major_formatter(DateTicks("month"))
        ax.xaxis.set_minor_locator(mdates.MonthLocator())


def _alone(ax) -> bool:
    """Whether ``ax`` is the figure's only chart (a twin axis on it does not count)."""
    others = [a for a in ax.figure.axes if a is not ax and a.bbox.bounds != ax.bbox.bounds]
    return not others


def _style(ax, title: str, ylabel: str = "", dates: bool = True, lang: str = "vi") -> None:
    if dates:
        _date_axis(ax)
    ax.set_title("")  # the package plots' own (English) titles make way for ours
    fig = ax.figure
    if _alone(ax):
        # the figure's title, from its left edge: the axes may start far to the right of it
        # (long ward or programme names on the y axis), a title of the axes would run off
        fig.suptitle(wrap_title(title, fig.get_figwidth() - 0.2), x=0.01, ha="left", fontsize=TITLE)
    else:
        ax.set_title(wrap_title(title, ax.figure.get_figwidth() - 0.75), fontsize=TITLE, loc="left")
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=LABEL)
    ax.xaxis.label.set_fontsize(LABEL)
    ax.grid(alpha=0.25)
    ax.tick_params(labelsize=TICK)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    vietnamese_ticks(ax, lang)


# --------------------------------------------------------------------------------------------
# A ward's indicators and programmes
# --------------------------------------------------------------------------------------------


def _starts_legend(district: District, entries: pd.DataFrame, domains: Sequence[str]):
    plt = pyplot()
    programmes = [p for dom in domains for p in _domain(district, dom)]
    mine = entries[entries["programme"].isin(programmes)].drop_duplicates("programme")
    handles, labels = [], []
    for row in mine.itertuples(index=False):
        handles.append(plt.Line2D([], [], color=_colour(row.programme), ls="--", lw=1.2))
        labels.append(say("Start: {name}", name=short_name(district, row.programme)).vi)
    return mine, handles, labels


def ward_indicators(district: District, ward: str) -> list:
    """Four figures for one ward against the other wards' average, programme dates marked:
    weekly congestion, fires per quarter, road accidents and the share of criminal cases
    solved per police period. Returns the four Figures (:func:`show` lays them out side by
    side on a wide page, one under the other on a phone), on one time axis."""
    use_registry(district)
    entries = district.programmes_of(ward)
    panels = []

    def panel(title: str, unit: str, domains: Sequence[str], draw) -> None:
        fig, ax = new_figure(3.5)
        draw(ax)
        mine, handles, labels = _starts_legend(district, entries, domains)
        mark_programmes(ax, mine)
        _style(ax, title, unit)
        own, own_labels = ax.get_legend_handles_labels()
        legend_below(fig, own + handles, own_labels + labels)
        panels.append((fig, ax))

    traffic = district.traffic_weekly()
    panel(
        _title(say("Peak-hour congestion (minutes per junction and peak, weekly mean)")),
        say("minutes").vi,
        ["traffic"],
        lambda ax: _ward_vs_others(ax, traffic, ward, "congestion_minutes"),
    )

    fires = district.fires_quarterly()

    def fire_bars(ax) -> None:
        own = fires[fires["ward"] == ward]
        others = fires[fires["ward"] != ward].groupby("period_start")["fires"].mean()
        _others_line(ax, others, marker="o", ms=3)
        ax.bar(
            own["period_start"], own["fires"], width=60, color=WARD_COLOUR, alpha=0.8, label=ward
        )

    panel(_title(say("Fires per quarter")), say("fires (unit)").vi, ["fire"], fire_bars)

    sec = district.security()
    panel(
        _title(say("Road accidents per police period (3-period mean)")),
        say("accidents").vi,
        ["traffic"],
        lambda ax: _ward_vs_others(ax, sec, ward, "traffic_accidents", rolling=3),
    )
    panel(
        _title(say("Share of criminal cases solved (3-period mean)")),
        "%",
        ["security"],
        lambda ax: _ward_vs_others(ax, sec, ward, "solved_share", rolling=3),
    )
    # one time axis for the four figures, so that dates line up from one to the next
    lo = min(ax.get_xlim()[0] for _, ax in panels)
    hi = max(ax.get_xlim()[1] for _, ax in panels)
    for _, ax in panels:
        ax.set_xlim(lo, hi)
        _date_axis(ax)
    return [fig for fig, _ in panels]


def programme_timeline(district: District, ward: str):
    """One row per programme of ``ward``: start, interim review (sơ kết), final review
    (tổng kết), and the time it has run until the end of the data. Returns the Figure."""
    plt = pyplot()
    use_registry(district)
    entries = district.programmes_of(ward)
    end = district.traffic_weekly()["period_end"].max()
    fig, ax = new_figure(0.5 * max(len(entries), 1) + 1.7)
    for i, row in enumerate(entries.itertuples(index=False)):
        colour = _colour(row.programme, i)
        start = pd.Timestamp(row.start)
        ax.plot(
            [start, max(end, start)], [i, i], color=colour, lw=6, alpha=0.35, solid_capstyle="butt"
        )
        ax.plot(start, i, "o", color=colour, ms=7)
        ax.annotate(
            fmt.date_text(start),
            (start, i),
            xytext=(4, 6),
            textcoords="offset points",
            fontsize=NOTE,
        )
        for attr, marker in (("interim_review", "^"), ("final_review", "s")):
            when = getattr(row, attr, None)
            if when is not None and pd.notna(when):
                ax.plot(pd.Timestamp(when), i, marker, color="0.25", ms=6)
    ax.set_yticks(
        range(len(entries)),
        wrap_labels(short_name(district, p) for p in entries["programme"]),
        fontsize=TICK,
    )
    ax.invert_yaxis()
    ax.set_ylim(len(entries) - 0.4, -0.8)
    handles = [
        plt.Line2D([], [], marker="o", color="0.3", ls=""),
        plt.Line2D([], [], marker="^", color="0.25", ls=""),
        plt.Line2D([], [], marker="s", color="0.25", ls=""),
    ]
    labels = [_pair(say("start")), _pair(say("Interim review")), _pair(say("Final review"))]
    _style(ax, _title(say("Programmes in {ward}", ward=ward)))
    legend_below(fig, handles, labels)
    return fig


def rollout_timeline(district: District, programme: str, ax=None):
    """One row per ward: when ``programme`` started there (never: no marker). Returns Axes."""
    starts = district.starts(programme)
    order = list(starts.index) + [w for w in district.ward_names if w not in starts.index]
    if ax is None:
        _, ax = new_figure(0.27 * len(order) + 1.3)
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
                _pair(say("never")),
                transform=ax.get_yaxis_transform(),
                ha="right",
                va="center",
                fontsize=NOTE,
                color="0.4",
            )
    ax.set_yticks(range(len(order)), wrap_labels(order), fontsize=TICK)
    ax.invert_yaxis()
    title = district.programme_label(programme, "vi") + "\n" + _pair(say("start by ward"))
    _style(ax, title)
    return ax


# --------------------------------------------------------------------------------------------
# Estimates
# --------------------------------------------------------------------------------------------


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
    n = len(table)
    if ax is None:
        _, ax = new_figure(0.3 * n + 1.9)
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
            "— " + _pair(say("not estimable")),
            transform=ax.get_yaxis_transform(),
            va="center",
            fontsize=NOTE,
            color="0.4",
        )
    truth_shown = False
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
            label=_pair(say("planted truth")),
        )
        truth_shown = bool(tf.any())
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
                _pair(say("unbounded CI")),
                transform=ax.get_yaxis_transform(),
                ha="right",
                fontsize=NOTE,
                color="0.4",
            )
        ax.set_xlim(x0, x1)
    ax.set_yticks(y, wrap_labels(table[label].astype(str)), fontsize=TICK)
    ax.invert_yaxis()
    if groups is not None:
        prev = None
        for i, g in enumerate(groups):
            if prev is not None and g != prev:
                ax.axhline(i - 0.5, color="0.8", lw=0.8)
            prev = g
    ax.set_xlabel(xlabel, fontsize=LABEL)
    _style(ax, title, dates=False)
    if truth_shown:  # below the plot, where it can cover neither a row nor the title
        legend_below(ax.figure, *ax.get_legend_handles_labels())
    return ax


def synthetic_plot(est, ward: str, *, unit: str | None = None) -> list:
    """A synthetic control / synthetic DiD: the ward against its synthetic copy, and the gap
    (``unit``: the outcome's, in Vietnamese; minutes when not given). Returns the two Figures
    (shown side by side on a wide page)."""
    unit = say("minutes").vi if unit is None else unit
    fig_a, a = new_figure(3.4)
    est.plot(ax=a, title="")
    handles, _ = a.get_legend_handles_labels()
    a.get_legend().remove()
    _style(a, _title(say("{ward} and its synthetic comparison", ward=ward)), unit)
    legend_below(fig_a, handles, [ward, _pair(say("synthetic")), _pair(say("start"))])
    fig_b, b = new_figure(3.4)
    est.plot_gap(ax=b, title="")
    handles, _ = b.get_legend_handles_labels()
    b.get_legend().remove()
    _style(b, _title(say("Gap (ward − synthetic)")), unit)
    legend_below(fig_b, handles, [_pair(say("average effect")), _pair(say("start"))])
    return [fig_a, fig_b]


def weights_table(est, top: int = 8) -> pd.DataFrame:
    """The largest unit weights of a synthetic estimate, as a two-column frame."""
    w = est.unit_weights.sort_values(ascending=False)
    w = w[w > 0.001].head(top)
    return pd.DataFrame({"ward": w.index.astype(str), "weight": w.to_numpy()})


def event_study_plot(dynamic, *, unit: str | None = None, truth: pd.Series | None = None):
    """Effects by weeks since the start (Callaway & Sant'Anna's dynamic aggregation), the weeks
    before the start in red (``unit``: the outcome's, in Vietnamese; minutes when not given).
    Returns the Figure."""
    unit = say("minutes").vi if unit is None else unit
    fig, ax = new_figure(3.5)
    dynamic.plot(ax=ax, title="")
    if truth is not None and len(truth):
        ax.plot(
            truth.index,
            truth.to_numpy(),
            "x",
            color="#c0392b",
            ms=5,
            label=_pair(say("planted truth")),
        )
        legend_below(fig, *ax.get_legend_handles_labels())
    ax.set_xlabel(_pair(say("weeks since the start")), fontsize=LABEL)
    _style(
        ax,
        _title(say("Effect by weeks since the start (before 0: pre-trend check)")),
        say_in("effect ({unit})", "vi", unit=unit),
        dates=False,
    )
    return fig


def bacon_plot(bacon):
    """Goodman-Bacon decomposition: each 2×2 comparison's estimate against its weight."""
    fig, ax = new_figure(4.2)
    bacon.plot(ax=ax, title="")
    # the decomposition's own (English) names of the comparisons → their Vietnamese legend
    names = {
        "earlier vs later treated": say_in(
            "Earlier wave against a later one (not yet treated) — valid", "vi"
        ),
        "later vs earlier treated (already-treated control)": say_in(
            "Later wave against an earlier one (already treated) — a «forbidden» comparison", "vi"
        ),
        "treated vs never treated": say_in("Treated against never treated", "vi"),
        "later treated vs always treated": say_in(
            "Later wave against wards treated from the start — a «forbidden» comparison", "vi"
        ),
    }
    handles, labels = ax.get_legend_handles_labels()
    ax.get_legend().remove()
    twfe = _pair(say("TWFE estimate")) + f" = {fmt.number(bacon.twfe, 2)}"
    labels = [twfe if lab.startswith("TWFE") else names.get(lab, lab) for lab in labels]
    ax.set_xlabel(_pair(say("weight in TWFE")), fontsize=LABEL)
    _style(
        ax,
        _title(say("The 2×2 comparisons behind the TWFE estimate")),
        say_in("2×2 estimate", "vi"),
        dates=False,
    )
    legend_below(fig, handles, labels)
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
    start = pd.Timestamp(start)
    lo, hi = start - pd.Timedelta(weeks=weeks), start + pd.Timedelta(weeks=weeks)
    d = panel[(panel["period_start"] >= lo) & (panel["period_start"] <= hi)]
    fig, ax = new_figure(3.4)
    _ward_vs_others(ax, d, ward, outcome)
    for h in holidays:
        h = pd.Timestamp(h)
        if lo <= h <= hi:
            ax.axvspan(h, h + pd.Timedelta(days=1), color="#e08a00", alpha=0.25, lw=0)
    ax.axvline(start, color="0.2", ls="--", lw=1.2, label=_pair(say("start")))
    ax.plot([], [], color="#e08a00", alpha=0.4, lw=6, label=_pair(say("holidays")))
    _style(ax, _title(say("The weeks around the start")), say_in("minutes", "vi"), dates=False)
    ax.xaxis.set_major_locator(mdates.MonthLocator())
    ax.xaxis.set_major_formatter(DateTicks("month"))
    legend_below(fig, *ax.get_legend_handles_labels())
    return fig


def district_fires_plot(district: District, programme: str, events: dict | None = None):
    """District fires per month (all, and in rental housing), the number of wards running
    ``programme``, and dated events (e.g. a change in recording) marked. Returns the Figure."""
    p = district.fires_monthly(programme)
    total = p.groupby("period_start")[["fires", "rental"]].sum()
    treated = (
        p.assign(on=p["cohort"].notna() & (p["period_start"] >= p["cohort"]))
        .groupby("period_start")["on"]
        .sum()
    )
    fig, ax = new_figure(3.9)
    ax.bar(
        total.index,
        total["fires"],
        width=25,
        color="#c0392b",
        alpha=0.7,
        label=_pair(say("all fires")),
    )
    ax.bar(
        total.index,
        total["rental"],
        width=25,
        color="#7b1fa2",
        alpha=0.9,
        label=_pair(say("rental housing")),
    )
    ax2 = ax.twinx()
    ax2.step(
        treated.index,
        treated.to_numpy(),
        where="post",
        color="#1f5fa8",
        lw=1.6,
        # the Vietnamese names the programme, the English says "it"
        label=_pair(
            Text(
                say_in("Wards running «{name}»", "vi", name=short_name(district, programme)),
                say_in("wards running it", "en"),
            )
        ),
    )
    ax2.set_ylim(0, len(district.ward_names) + 0.5)
    # the axis counts wards: "số phường" in Vietnamese
    wards = Text(say_in("number of wards", "vi"), say_in("wards", "en"))
    ax2.set_ylabel(_pair(wards), fontsize=LABEL, color="#1f5fa8")
    ax2.tick_params(labelsize=TICK)
    for i, (label, when) in enumerate((events or {}).items()):
        ax.axvline(
            pd.Timestamp(when), color="0.2", ls=["--", ":", "-."][i % 3], lw=1.2, label=label
        )
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = ax2.get_legend_handles_labels()
    # the axis counts fires: "vụ", the Vietnamese unit of a count of incidents
    fires = Text(say_in("fires (unit)", "vi"), say_in("fires", "en"))
    _style(ax, _title(say("Fires per month, whole district")), _pair(fires))
    ax2.spines["top"].set_visible(False)
    legend_below(fig, h1 + h2, l1 + l2)
    return fig


# --------------------------------------------------------------------------------------------
# Sensitivity and power, in the page's language
# --------------------------------------------------------------------------------------------


def _in_page_order(words: Text, lang: str) -> str:
    """A title: the page's language first, the other beneath."""
    first, second = (words.vi, words.en) if lang == "vi" else (words.en, words.vi)
    return f"{first}\n{second}"


def _sensitivity_xlabel(restriction: str, symbol: str, lang: str) -> str:
    if restriction == "relative_magnitude":
        return say_in(
            "{symbol}: post-start divergence in trends, in multiples of the largest pre-start one",
            lang,
            symbol=symbol,
        )
    if restriction == "smoothness":
        return say_in(
            "{symbol}: change in the trend's slope allowed per period", lang, symbol=symbol
        )
    raise KeyError(f"xlabel_{restriction}")


def sensitivity_plot(result, *, unit: str = "", lang: str = "vi"):
    """HonestDiD (Rambachan & Roth 2023): the original and the robust confidence intervals
    against M̄ (or M), like R's ``createSensitivityPlot``, in the page's language; the
    breakdown value, where the robust interval first includes 0, marked. Returns the Figure.

    ``result`` is a :class:`~evaluation.inference.honest_did.HonestDiDResult`; ``unit`` the
    effect's unit ("phút").
    """
    fig, ax = new_figure(3.8)
    t = result.table.sort_values("M")
    ms = np.unique(t["M"].to_numpy(dtype=float))
    gap = float(np.min(np.diff(ms))) if ms.size > 1 else max(float(ms[0]), 1.0) / 2
    x0 = float(ms.min()) - gap
    width = gap / 4
    original = say_in("Original interval (exact parallel trends)", lang)
    rows = [(x0, *result.original_ci, "#c0392b", original)]
    robust = say_in("Robust interval ({method})", lang, method=str(result.method))
    rows += [
        (float(m), lo, hi, "#1f5fa8", robust)
        for m, lo, hi in zip(t["M"], t["ci_low"], t["ci_high"], strict=True)
    ]
    for x, lo, hi, colour, label in rows:
        if not (np.isfinite(lo) and np.isfinite(hi)):
            continue
        ax.vlines(x, lo, hi, color=colour, lw=1.8, label=label)
        ax.hlines([lo, hi], x - width, x + width, color=colour, lw=1.6)
    ax.axhline(0, color="0.3", lw=0.8)
    breakdown = getattr(result, "breakdown", None)
    if breakdown is not None and np.isfinite(breakdown):
        ax.axvline(
            float(breakdown),
            color="0.35",
            ls=":",
            lw=1.2,
            label=say_in(
                "Breakdown: no conclusion from {symbol} = {value}",
                lang,
                symbol=result.symbol,
                value=fmt.number(breakdown, decimals([float(breakdown)], 2), lang),
            ),
        )
    digits = decimals(list(ms), 2)
    ax.set_xticks(
        [x0, *ms],
        [say_in("original", lang), *(fmt.number(m, digits, lang) for m in ms)],
    )
    ax.set_xlabel(
        wrap_title(
            _sensitivity_xlabel(result.restriction, result.symbol, lang),
            fig.get_figwidth() - 0.9,
            size=LABEL,
        ),
        fontsize=LABEL,
    )
    level = fmt.percent(100 * result.level, 0, lang)
    if unit:
        ylabel = say_in("{level} CI ({unit})", lang, level=level, unit=unit)
    else:
        ylabel = say_in("{level} CI", lang, level=level)
    _style(
        ax,
        _in_page_order(
            say("Confidence intervals for the effect when parallel trends may be violated"), lang
        ),
        ylabel,
        dates=False,
        lang=lang,
    )
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    legend_below(fig, list(unique.values()), list(unique.keys()))
    return fig


def power_plot(
    curves: Mapping[str, Any],
    *,
    effect: float | None = None,
    unit: tuple[str, str] = ("", ""),
    target: float = 0.8,
    lang: str = "vi",
):
    """Power curves of several designs (``name → PowerResult``, from
    :func:`evaluation.design.power.power` or an MDE's ``curve``), each with its Monte-Carlo
    band; the effect of interest and the target power marked. Returns the Figure."""
    fig, ax = new_figure(3.8)
    colours = ("#1f5fa8", "#3f8f5a", "#c07a2c", "#7b1fa2", "#00838f")
    scale = "additive"
    for (name, curve), colour in zip(curves.items(), colours, strict=False):
        t = curve.table.sort_values("effect")
        x = t["effect"].to_numpy(dtype=float)
        scale = curve.scale
        if scale == "proportional":
            x = 100 * x
        p, se = t["power"].to_numpy(dtype=float), t["mc_se"].to_numpy(dtype=float)
        ax.plot(x, p, color=colour, lw=1.6, label=name)
        ax.fill_between(x, p - 2 * se, p + 2 * se, color=colour, alpha=0.15, lw=0)
    ax.axhline(
        target,
        color="0.4",
        lw=0.8,
        ls="--",
        label=say_in("target {power}", lang, power=fmt.percent(100 * target, 0, lang)),
    )
    unit_text = "%" if scale == "proportional" else unit[0 if lang == "vi" else 1]
    if effect is not None:
        value = fmt.number(effect, decimals([effect], 2), lang)
        ax.axvline(
            effect,
            color="0.3",
            lw=0.8,
            ls=":",
            label=say_in("effect of interest: {value}", lang, value=f"{value} {unit_text}".strip()),
        )
    ax.set_ylim(0, 1.02)
    ax.set_xlabel(say_in("effect ({unit})", lang, unit=unit_text), fontsize=LABEL)
    title = _in_page_order(say("Power by effect size"), lang)
    _style(ax, title, say_in("power", lang), dates=False, lang=lang)
    ax.yaxis.set_major_formatter(
        mticker.FuncFormatter(lambda v, _pos: fmt.percent(100 * v, 0, lang))
    )
    legend_below(fig, *ax.get_legend_handles_labels())
    return fig
