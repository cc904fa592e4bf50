"""How report figures are drawn and shown: their size for a phone's column, numbers and dates
on their axes through the one formatter, and their display as PNGs.

A report's column is about 366 px wide on a 390 px phone and 1 050 px on a desk screen; a
figure's text, scaled to the column, is ``points × 366 / (72 × width in inches)`` pixels high
on the phone whatever the resolution, so every figure is :data:`WIDTH` inches wide (one panel
each — several panels are several figures, shown side by side on a wide screen and one under
the other on a phone: :class:`Charts`) with 9–11,5 pt text, legends below the plot
(:func:`legend_below`), long titles wrapped, and constrained layout so nothing overlaps.

Numbers and dates on every axis go through :mod:`evaluation.formats`: :class:`NumberTicks`
writes "−2,5" and "1.000" (true minus sign, comma decimals, dot thousands) and
:class:`DateTicks` "15/02/2024", "07/2024" or "2024"; :func:`vietnamese_ticks` puts them on
every axis of a figure, and :func:`png_bytes` applies it to every figure it renders, so a chart
drawn by another part of the package (an estimator's own ``plot``) reaches a page in the same
format. :mod:`evaluation.report.figures` draws the charts themselves.
"""

from __future__ import annotations

import base64
import html
import math
import re
import textwrap
from collections.abc import Sequence

import matplotlib.dates as mdates
import matplotlib.ticker as mticker
import pandas as pd

from evaluation import formats as fmt
from evaluation.i18n import say

__all__ = [
    "DPI",
    "PNG",
    "WIDTH",
    "Charts",
    "DateTicks",
    "NumberTicks",
    "decimals",
    "legend_below",
    "new_figure",
    "png_bytes",
    "pyplot",
    "show",
    "title_of",
    "vietnamese_ticks",
    "wrap_labels",
    "wrap_title",
]

#: what a figure without a title is called, in its text version (alt)
_CHART = " / ".join(say("Chart"))
#: width of every report figure in inches: its text stays readable scaled to a phone's column
WIDTH = 5.6
#: resolution of report figures: 560 px wide, sharp on screen and small in an e-mailed report
DPI = 100
#: text sizes in points: titles, axis labels, tick labels, legends and notes on the plot
TITLE, LABEL, TICK, LEGEND, NOTE = 11.5, 10.5, 10, 9.5, 9


# --------------------------------------------------------------------------------------------
# Numbers and dates on the axes, through evaluation.formats
# --------------------------------------------------------------------------------------------


def decimals(values: Sequence[float], most: int = 4) -> int:
    """The fewest decimals that write every tick value exactly (0,25 needs 2; 1 000 needs 0)."""
    for d in range(most + 1):
        scaled = [v * 10**d for v in values if math.isfinite(v)]
        if all(abs(x - round(x)) <= 1e-6 * max(1.0, abs(x)) for x in scaled):
            return d
    return most


class NumberTicks(mticker.Formatter):
    """Tick labels through :func:`evaluation.formats.number`: "−2,5", "1.000", "0,25" in
    Vietnamese ("−2.5", "1,000" in English) with as many decimals as the ticks need, and an
    optional ``suffix`` ("%")."""

    def __init__(self, lang: str = "vi", *, digits: int | None = None, suffix: str = ""):
        self.lang = lang
        self.digits = digits
        self.suffix = suffix
        self._auto = 0

    def set_locs(self, locs) -> None:
        super().set_locs(locs)
        values = [float(v) for v in locs]
        if self.axis is not None:
            lo, hi = sorted(self.axis.get_view_interval())
            pad = 1e-9 * max(1.0, abs(hi - lo))
            values = [v for v in values if lo - pad <= v <= hi + pad] or values
        self._auto = decimals(values)

    def __call__(self, x, pos=None) -> str:
        digits = self.digits if self.digits is not None else self._auto
        return fmt.number(x, digits, self.lang) + self.suffix

    def format_data_short(self, value) -> str:
        return fmt.number(value, 2, self.lang) + self.suffix


class DateTicks(mticker.Formatter):
    """Date tick labels through :mod:`evaluation.formats`: ``"day"`` dd/mm/yyyy,
    ``"month"`` mm/yyyy, ``"year"`` yyyy."""

    def __init__(self, kind: str = "day"):
        if kind not in ("day", "month", "year"):
            raise ValueError(f"kind must be 'day', 'month' or 'year', got {kind!r}")
        self.kind = kind

    def __call__(self, x, pos=None) -> str:
        when = pd.Timestamp(mdates.num2date(x)).tz_localize(None)
        if self.kind == "year":
            return str(when.year)
        return fmt.month_text(when) if self.kind == "month" else fmt.date_text(when)


_PLAIN_NUMBER = re.compile(r"^\s*[-−]?\d+(?:\.\d+)?\s*$")


def _date_kind(axis) -> str:
    """What a date axis's ticks mark: years (every tick on 1 January), months (on the 1st) or
    days."""
    lo, hi = sorted(axis.get_view_interval())
    ticks = [pd.Timestamp(mdates.num2date(t)).tz_localize(None) for t in axis.get_ticklocs()]
    ticks = [t for t, x in zip(ticks, axis.get_ticklocs(), strict=True) if lo <= x <= hi]
    if ticks and all(t.day == 1 and t.month == 1 for t in ticks) and hi - lo > 2 * 365:
        return "year"
    if ticks and all(t.day == 1 for t in ticks):
        return "month"
    return "day"


def vietnamese_ticks(fig, lang: str = "vi"):
    """Put :class:`NumberTicks` on every numeric axis of ``fig`` (a Figure or Axes) and
    :class:`DateTicks` on every date axis that still has matplotlib's own date labels; fixed
    labels that are plain numbers ("0.5", "-1") are rewritten the same way, words are kept.
    Returns ``fig``."""
    figure = getattr(fig, "figure", fig)
    for ax in figure.axes:
        for axis in (ax.xaxis, ax.yaxis):
            f = axis.get_major_formatter()
            if isinstance(f, NumberTicks | DateTicks):
                continue
            if isinstance(f, mticker.ScalarFormatter):
                axis.set_major_formatter(NumberTicks(lang))
            elif isinstance(f, mdates.AutoDateFormatter | mdates.ConciseDateFormatter):
                axis.set_major_formatter(DateTicks(_date_kind(axis)))
            elif isinstance(f, mdates.DateFormatter):
                kind = {"%Y": "year", "%m/%Y": "month"}.get(f.fmt, "day")
                axis.set_major_formatter(DateTicks(kind))
            elif isinstance(f, mticker.FixedFormatter):
                labels = list(f.seq)
                numbers = [float(t.replace("−", "-")) for t in labels if _PLAIN_NUMBER.match(t)]
                if numbers:
                    digits = decimals(numbers)
                    axis.set_major_formatter(
                        mticker.FixedFormatter(
                            [
                                fmt.number(float(t.replace("−", "-")), digits, lang)
                                if _PLAIN_NUMBER.match(t)
                                else t
                                for t in labels
                            ]
                        )
                    )
    return fig


# --------------------------------------------------------------------------------------------
# Showing figures
# --------------------------------------------------------------------------------------------


class PNG:
    """A rendered figure: displays as one PNG image, with ``alt`` as its text version."""

    def __init__(self, data: bytes, alt: str = _CHART):
        self.data = data
        self.alt = alt

    def _repr_png_(self) -> bytes:
        return self.data

    def __repr__(self) -> str:
        return self.alt


class Charts:
    """Several rendered figures shown together: side by side where the page is wide enough,
    one under the other on a phone (the stylesheet's ``.charts`` grid)."""

    def __init__(self, images: Sequence[tuple[bytes, str]]):
        self.images = list(images)

    def _repr_html_(self) -> str:
        figures = "".join(
            f'<figure><img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" '
            f'alt="{html.escape(alt)}"></figure>'
            for data, alt in self.images
        )
        return f'<div class="charts">{figures}</div>'

    def __repr__(self) -> str:
        return "\n".join(alt for _, alt in self.images)


def title_of(fig) -> str:
    """A figure's title as drawn (its own title, else its first axes' title), or ""."""
    fig = getattr(fig, "figure", fig)
    own = fig._suptitle.get_text() if fig._suptitle is not None else ""
    titles = [own] + [ax.get_title(loc="left") or ax.get_title() for ax in fig.axes]
    return next((t for t in titles if t), "")


def _alt(fig) -> str:
    return re.sub(r"\s*\n\s*", " ", title_of(fig)) or _CHART


def show(fig, alt: str | None = None, lang: str = "vi") -> None:
    """Display ``fig`` — a Figure or Axes, or a list of them shown side by side — as PNGs drawn
    once (:func:`png_bytes`), then close it.

    ``plt.show()`` in a notebook saves with ``bbox_inches="tight"``, which draws every figure
    twice; report figures here are laid out when drawn (constrained layout), so once is enough.
    """
    from IPython.display import display

    many = isinstance(fig, list | tuple)
    figs = [getattr(f, "figure", f) for f in (fig if many else [fig])]
    images = [(png_bytes(f, lang), alt or _alt(f)) for f in figs]
    for f in figs:
        pyplot().close(f)
    display(Charts(images) if many else PNG(*images[0]))


def png_bytes(fig, lang: str = "vi") -> bytes:
    """The figure as a 256-colour PNG, numbers and dates on its axes in the page's format
    (:func:`vietnamese_ticks`): a third of the size of matplotlib's true-colour PNG for line
    charts (reports travel by e-mail), with no visible difference."""
    import io

    from PIL import Image

    fig = getattr(fig, "figure", fig)
    vietnamese_ticks(fig, lang)
    fig.canvas.draw()
    w, h = fig.canvas.get_width_height(physical=True)
    image = Image.frombuffer("RGBA", (w, h), fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    image = image.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE)
    buf = io.BytesIO()
    image.save(buf, format="png")
    return buf.getvalue()


def pyplot():
    import matplotlib.pyplot as plt

    return plt


def new_figure(height: float, *, width: float = WIDTH, **kwargs):
    """A report figure: :data:`WIDTH` inches wide, laid out when drawn (constrained layout:
    titles, tick labels and legends below never overlap)."""
    return pyplot().subplots(figsize=(width, height), dpi=DPI, layout="constrained", **kwargs)


def wrap_title(title: str, width: float = WIDTH, size: float = TITLE) -> str:
    """Each line of ``title`` wrapped to ``width`` inches (about 0,55 em a character in
    DejaVu Sans)."""
    chars = max(12, int(width * 72 / (size * 0.55)))
    return "\n".join(textwrap.fill(line, chars) for line in title.split("\n"))


def wrap_labels(names, chars: int = 24) -> list[str]:
    """Category labels of an axis (wards, programmes) wrapped, so that they leave the chart
    most of the figure's width."""
    return [textwrap.fill(str(n), chars) for n in names]


def legend_below(fig, handles, labels, *, size: float = LEGEND) -> None:
    """The legend under the plot, in as many columns as its widest entries allow."""
    if not handles:
        return
    room = fig.get_figwidth() * 72 - 20
    entry = [len(str(lab)) * size * 0.56 + 30 for lab in labels]
    ncol = 1
    for k in range(len(labels), 0, -1):
        if k * max(entry) <= room:
            ncol = k
            break
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncol=ncol,
        fontsize=size,
        frameon=False,
        columnspacing=1.2,
        handlelength=1.8,
    )
