"""Small formatted HTML tables and text blocks for reports read without code.

:func:`table` turns a DataFrame into a compact HTML table — numbers formatted (decimal comma
for Vietnamese), right-aligned, missing values as "—" — that the report renderer keeps as is
(plain ``table``/``th``/``td`` with the ``num`` class of its stylesheet). pandas' Styler would
emit a ``<style>`` block and ids that the renderer strips anyway.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from evaluation.report.verdict import fmt_en, fmt_vi

__all__ = [
    "HTML",
    "table",
    "number",
    "pvalue",
    "p_text",
    "sentence_case",
    "verdict_block",
]


class HTML:
    """Rich display of ready-made HTML (``IPython.display.HTML`` without importing IPython)."""

    def __init__(self, markup: str):
        self.markup = markup

    def _repr_html_(self) -> str:
        return self.markup

    def __str__(self) -> str:
        return self.markup


def number(x: Any, digits: int = 1, lang: str = "vi") -> str:
    """A number for a report: decimal comma in Vietnamese, '—' when missing."""
    try:
        v = float(x)
    except (TypeError, ValueError):
        return "—" if x is None else str(x)
    if not math.isfinite(v):
        return "—"
    return (fmt_vi if lang == "vi" else fmt_en)(v, digits)


def pvalue(p: Any, lang: str = "vi") -> str:
    try:
        v = float(p)
    except (TypeError, ValueError):
        return "—"
    if not math.isfinite(v):
        return "—"
    s = "< 0.001" if v < 0.001 else f"{v:.3f}"
    return s.replace(".", ",") if lang == "vi" else s


def p_text(p: Any, lang: str = "vi") -> str:
    """'p = 0,051' or 'p < 0,001' ('p = —' when there is none)."""
    text = pvalue(p, lang)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    formats: Mapping[str, Callable[[Any], str] | int] | None = None,
    caption: str | None = None,
    lang: str = "vi",
) -> HTML:
    """An HTML table of ``df``.

    Parameters
    ----------
    columns
        Column → header to show (in this order); default: every column, as named.
    formats
        Column → number of decimals, or a function giving the cell text. Numeric columns
        without a format get one decimal; others are shown as text.
    caption
        A caption above the table.
    """
    columns = dict(columns) if columns is not None else {c: str(c) for c in df.columns}
    formats = dict(formats or {})
    numeric = {c for c in columns if c in df and pd.api.types.is_numeric_dtype(df[c])}
    num = ' class="num"'
    head = "".join(
        f"<th{num if c in numeric else ''}>{html.escape(h)}</th>" for c, h in columns.items()
    )
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in columns:
            v = r[c] if c in r else None
            f = formats.get(c)
            if callable(f):
                text = f(v)
            elif c in numeric:
                text = number(v, f if isinstance(f, int) else 1, lang)
            else:
                text = "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            cells.append(f"<td{num if c in numeric else ''}>{html.escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return HTML(
        f'<div class="scroll"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def verdict_block(effect, *, show_truth: bool = True) -> str:
    """Markdown for one programme effect: verdict in both languages, the design, the checks,
    and the planted truth when known."""
    v = effect.verdict
    lines = [
        f"**{v.label_vi}** / *{v.label_en}*",
        "",
        f"{v.text_vi}",
        "",
        f"*{v.text_en}*",
        "",
    ]
    if effect.design_vi not in v.text_vi:  # a "cannot be evaluated" verdict already says it
        lines += [
            f"- **Cách so sánh** / *Design*: {effect.design_vi}  ",
            f"  *{effect.design_en}*",
        ]
    if effect.estimate is not None:
        lines.append(
            f"- **Ước lượng** / *Estimate*: {effect.effect_text('vi')} "
            f"({p_text(effect.estimate.pvalue)})"
        )
    if show_truth and effect.truth_text("vi"):
        lines.append(
            f"- **Giá trị cài sẵn trong dữ liệu mô phỏng** / *planted truth*: "
            f"{effect.truth_text('vi')}"
        )
    for c in effect.checks:
        mark = {True: "✔", False: "✘", None: "·"}[c.ok]
        lines.append(f"- {mark} **{c.name_vi}** / *{c.name_en}*: {c.result_vi}  ")
        lines.append(f"  *{c.result_en}*")
    for note in effect.notes_vi:
        if note not in (effect.design_vi, v.text_vi) and note not in v.text_vi:
            lines.append(f"- *Lưu ý*: {note}")
    return "\n".join(lines)


def sentence_case(text: str) -> str:
    """First letter upper case, the rest untouched ('số vụ cháy' → 'Số vụ cháy')."""
    return text[:1].upper() + text[1:]
