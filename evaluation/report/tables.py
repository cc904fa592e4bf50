"""Small HTML tables and text blocks for reports read without code.

:func:`table` turns a DataFrame into a compact HTML table — numbers through the one formatter
(:mod:`evaluation.formats`: 1.234,5 in Vietnamese), right-aligned, missing values as
"—" — that the report renderer keeps as is. Every cell carries its column's header as
``data-label``, so on a phone the stylesheet shows each row as a card ("Kết luận: Cải thiện")
instead of a table that scrolls sideways. :func:`findings_table` is the one table of findings
every page uses (verdict and effect first), :func:`verdict_block` the detail of one finding.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.caveats import vietnamese
from evaluation.i18n import Text, say

__all__ = [
    "HTML",
    "answered_elsewhere",
    "claim_markdown",
    "decision_pointer",
    "decision_html",
    "findings_table",
    "glossary",
    "headline_table",
    "sensitivity_text",
    "number",
    "p_text",
    "pvalue",
    "sentence_case",
    "table",
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
    """A number for a report: 1.234,5 in Vietnamese, 1,234.5 in English, "—" when missing."""
    return fmt.number(x, digits, lang)


def pvalue(p: Any, lang: str = "vi") -> str:
    return fmt.pvalue(p, lang)


def p_text(p: Any, lang: str = "vi") -> str:
    """ "p = 0,051" or "p < 0,001" ("p = —" when there is none)."""
    text = fmt.pvalue(p, lang)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _header(words: Text) -> str:
    """A column header in both languages, "Phường / Ward" (a phone's card shows the first)."""
    return " / ".join(words)


def _label(header: str) -> str:
    return header.split(" / ")[0]


def table(
    df: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    *,
    formats: Mapping[str, Callable[[Any], str] | int] | None = None,
    caption: str | None = None,
    lang: str = "vi",
    classes: Mapping[str, str] | None = None,
) -> HTML:
    """An HTML table of ``df``.

    Parameters
    ----------
    columns
        Column → header to show (in this order); default: every column, as named.
    formats
        Column → number of decimals, or a function giving the cell text. Numeric columns
        without a format get one decimal (integer columns none); others are shown as text.
    caption
        A caption above the table.
    classes
        Column → CSS class of its cells (e.g. a verdict colour).
    """
    columns = dict(columns) if columns is not None else {c: str(c) for c in df.columns}
    formats = dict(formats or {})
    classes = dict(classes or {})
    numeric = {c for c in columns if c in df and pd.api.types.is_numeric_dtype(df[c])}
    # counts (integer columns) as whole numbers, measurements with one decimal
    default_digits = {c: 0 if pd.api.types.is_integer_dtype(df[c]) else 1 for c in numeric}
    num = ' class="num"'
    head = "".join(
        f"<th{num if c in numeric else ''}>{html.escape(h)}</th>" for c, h in columns.items()
    )
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c, h in columns.items():
            v = r[c] if c in r else None
            f = formats.get(c)
            if callable(f):
                text = f(v)
            elif c in numeric:
                text = fmt.number(v, f if isinstance(f, int) else default_digits[c], lang)
            else:
                text = "—" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
            cls = " ".join(
                x for x in ("num" if c in numeric else "", _cell_class(classes, c, r)) if x
            )
            cls_attr = f' class="{cls}"' if cls else ""
            cells.append(
                f'<td{cls_attr} data-label="{html.escape(_label(h))}">{html.escape(text)}</td>'
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return HTML(
        f'<div class="scroll"><table class="stack">{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _cell_class(classes: Mapping[str, str], column: str, row) -> str:
    spec = classes.get(column, "")
    return str(row[spec]) if spec and spec in row else ""


def findings_table(
    findings: Sequence,
    *,
    what: str = "ward",
    truth: bool = False,
    lang: str = "vi",
    names: Mapping[str, str] | None = None,
) -> HTML:
    """The table of findings every page uses: verdict and effect first (what a phone shows
    without scrolling), then the interval as a percentage, the p-values and the window.

    ``what`` names the first column: "ward", "wave", "indicator", "method", "question", or
    "programme" (the programme's name from ``names`` — id → name — and the indicator).
    """
    names = dict(names or {})
    first = {
        "ward": (_header(say("Ward")), lambda f: f.ward or _header(say("District"))),
        "wave": (_header(say("Wave")), lambda f: f.wave or "—"),
        "indicator": (_header(say("Indicator")), lambda f: sentence_case(f.info.vi)),
        "programme": (
            _header(say("Programme — indicator")),
            lambda f: f"{names.get(f.programme, f.programme)} — {f.info.vi}",
        ),
        "method": (_header(say("Method")), lambda f: f.method_vi.split(";")[0]),
        "question": (
            _header(say("Question")),
            lambda f: f.question_vi or sentence_case(f.info.vi),
        ),
    }[what]
    # rows of several indicators in one table (waves on congestion and on speed, methods on
    # different outcomes): each row says which indicator it is
    mixed = what in ("ward", "wave", "method") and len({f.outcome for f in findings}) > 1

    def name(f) -> str:
        if not mixed:
            return first[1](f)
        if what == "method":
            return f"{sentence_case(f.info.vi)}: {first[1](f)}"
        return f"{first[1](f)} — {f.info.vi}"

    rows = []
    for f in findings:
        v = f.verdict
        adj = v.p_adjusted if v is not None and v.family_size > 1 else None
        rows.append(
            {
                "name": name(f),
                "verdict": v.label_vi if v is not None else "—",
                "category": f"verdict-{v.category}" if v is not None else "",
                "effect": f.front_text("vi"),
                "percent": f.percent_text("vi") if f.shows_point() and not f.info.percent else "",
                "p": p_text(f.shown.pvalue) if f.has_number else "—",
                "p_adj": p_text(adj) if adj is not None else "",
                "window": f.window_text(),
                "truth": f.truth_text("vi") or "—",
            }
        )
    columns = {
        "name": first[0],
        "verdict": _header(say("Verdict")),
        "effect": _header(say("Effect [95% CI]")),
        "percent": _header(say("% of baseline")),
        "p": "p",
        "p_adj": _header(say("adjusted p")),
        "window": _header(say("Window")),
    }
    if truth:
        columns["truth"] = _header(say("Planted truth"))
    df = pd.DataFrame(rows)
    if df.empty:
        return HTML("<p>—</p>")
    for optional in ("percent", "p_adj"):
        if not df[optional].astype(bool).any():
            columns.pop(optional)
    return table(df, columns, classes={"verdict": "category"}, lang=lang)


def headline_table(findings: Sequence, *, truth: bool = False) -> HTML:
    """The answers first: for each headline, the question, the verdict, the effect with its 95 %
    interval (in the outcome's unit and as a percentage), the window and the method."""
    rows = []
    for f in findings:
        v = f.verdict
        effect = f.front_text("vi")
        pct = f.percent_text("vi") if f.shows_point() else "—"
        rows.append(
            {
                "question": f.question_vi or sentence_case(f.info.vi),
                "verdict": v.label_vi if v is not None else "—",
                "category": f"verdict-{v.category}" if v is not None else "",
                "effect": effect if pct == "—" or f.info.percent else f"{effect}; {pct}",
                "window": f.window_text(),
                "method": f.method_vi if f.has_number else (f.reason_vi or "—"),
                "truth": f.truth_text("vi") or "—",
            }
        )
    columns = {
        "question": _header(say("Question")),
        "verdict": _header(say("Answer")),
        "effect": _header(say("Effect [95% CI]")),
        "window": _header(say("Window")),
        "method": _header(say("Method")),
    }
    if truth:
        columns["truth"] = _header(say("Planted truth"))
    return table(pd.DataFrame(rows), columns, classes={"verdict": "category"})


def answered_elsewhere(findings: Sequence, *, truth: bool = False) -> list[tuple[str, HTML]]:
    """The results that answer for a ward from elsewhere, each under a title saying whose they
    are: the pilot's (in its own ward) apart from the district's — never a pilot's result under
    "district-wide". Returns (markdown title, table) pairs in that order."""
    pilots = [f for f in findings if f.level == "pilot"]
    district = [f for f in findings if f.level != "pilot"]
    out = []
    if pilots:
        wards = names_of(dict.fromkeys(f.ward for f in pilots if f.ward))
        title = say("Pilot results in {wards}", wards=wards)
        out.append((f"### {_header(title)}", headline_table(pilots, truth=truth)))
    if district:
        title = say("District-wide results of these programmes")
        out.append((f"### {_header(title)}", headline_table(district, truth=truth)))
    return out


def names_of(names) -> str:
    """ "Cổ Nhuế 2", "Cổ Nhuế 2, Đông Ngạc" — names as text, in order."""
    return ", ".join(str(n) for n in names)


def _escape_text(text: str) -> str:
    """Escaped for an element's content (quotes may stay: they close no attribute there)."""
    return html.escape(text, quote=False)


def decision_html(card) -> str:
    """A programme's decision card (:class:`~evaluation.analysis.decision.DecisionCard`) as
    HTML: the question, the suggested answer and why, then one line each on the target, the
    claim, how long the effect lasted, how fragile it is and what is still open. Every text is
    escaped; the index and the programme pages show the same markup."""
    e = html.escape
    because = say("Because {reasons}", reasons=Text(card.because_vi, card.because_en))
    rules = say(
        "The suggestion follows from the evidence by fixed rules; the decision is the authority's."
    )
    lines = "".join(
        f'<div class="line-{e(x.key)} ds-{e(x.status)}"><dt>{e(x.label_vi)} / {e(x.label_en)}'
        f'</dt><dd>{e(x.text_vi)}<br><span class="en">{e(x.text_en)}</span></dd></div>'
        for x in card.lines
    )
    anchor = "".join(c if c.isalnum() else "-" for c in card.programme)
    return (
        f'<article class="decision" id="decision-{e(anchor)}">'
        f'<h3>{e(card.question_vi)} <span class="en q">{e(card.question_en)}</span></h3>'
        f'<p class="decision-answer ans-{e(card.answer)}"><strong>{e(card.answer_vi)}</strong> '
        f'<span class="en">/ {e(card.answer_en)}</span></p>'
        f'<p>{e(because.vi)} <span class="en">{e(because.en)}</span></p>'
        f'<dl class="decision-lines">{lines}</dl>'
        f'<p class="small">{_escape_text(rules.vi)} <span class="en">{_escape_text(rules.en)}</span></p></article>'
    )


def claim_markdown(finding, registry) -> str:
    """Markdown: the claim the registry records for a pilot (``claim:``), held against the
    pilot's estimate (:func:`evaluation.analysis.decision.claim_check`); "" without a claim."""
    from evaluation.analysis.decision import claim_check

    line = claim_check(finding.record("", registry))
    if line is None:
        return ""
    return f"**{line.label_vi} / {line.label_en}** — {line.text_vi}\n\n*{line.text_en}*"


def decision_pointer(programme: str | None) -> str:
    """Markdown: where a programme's decision card is (the run's index holds every finding the
    card reads, from every notebook)."""
    if not programme:
        return ""
    anchor = "".join(c if c.isalnum() else "-" for c in programme)
    question = say("Keep, extend or stop?")
    # TRANSLATORS: markdown; keep the link [text]({link}) as it is, translate its text
    where = say(
        "The programme's decision card — against its target, how long the effect lasted, how "
        "fragile it is and what is open — is on the [run's index]({link}).",
        link=f"../index.html#decision-{anchor}",
    )
    return f"**{question.vi}** {where.vi} *{question.en} {where.en}*"


def glossary(outcomes: Sequence[str]) -> str:
    """Markdown: each outcome defined once — what is measured, per what, over which period."""
    from evaluation.analysis.outcomes import outcome_info

    lines = []
    for key in dict.fromkeys(outcomes):
        o = outcome_info(key)
        if not o.definition_vi:
            continue
        unit = f" ({o.unit_vi})" if o.unit_vi and not o.percent else ""
        lines.append(f"- **{sentence_case(o.vi)}**{unit}: {o.definition_vi}  ")
        lines.append(f"  *{sentence_case(o.en)}: {o.definition_en}*")
    return "\n".join(lines)


def sensitivity_text(result, what_vi: str, what_en: str) -> str:
    """Markdown: the conclusion's sensitivity to violations of parallel trends, in words
    (Vietnamese first) — from a :class:`~evaluation.inference.honest_did.HonestDiDResult`, in
    the same sentence the findings' records and the decision cards use
    (:func:`evaluation.analysis.robustness.robustness_words`)."""
    from evaluation.analysis.robustness import robustness_record, robustness_text

    record = robustness_record(result)
    vi, en = robustness_text(record, Text(what_vi, what_en))
    if not vi:
        vi, en = say(
            "The original interval for {what} already includes 0: there is no conclusion about "
            "the sign of the effect to test.",
            what=Text(what_vi, what_en),
        )
    cov = record["robust_covariance"]
    return f"{vi} *{en}* ({cov + '; ' if cov else ''}Rambachan & Roth 2023)."


def verdict_block(finding, *, show_truth: bool = True) -> str:
    """Markdown for one finding: the verdict in both languages (Vietnamese first), the method,
    the comparison and window, the checks, the caveats, and the planted truth when known."""
    v = finding.verdict
    lines = []
    if v is not None:
        lines += [f"**{v.label_vi}** / *{v.label_en}*", "", v.text_vi, "", f"*{v.text_en}*", ""]
    if finding.has_number:
        method, comparison = say("Method"), say("Comparison")
        lines += [
            f"- **{method.vi}** / *{method.en}*: {finding.method_vi}  ",
            f"  *{finding.method_en}*",
            f"- **{comparison.vi}** / *{comparison.en}*: {finding.design_vi}  ",
            f"  *{finding.design_en}*",
        ]
    elif v is None:
        lines += [finding.reason_vi, "", f"*{finding.reason_en}*"]
    if show_truth and finding.truth_text("vi"):
        cover = finding.truth_covered()
        # the truth is written in Vietnamese only (numbers in its format): so is its mark
        if cover is None:
            mark = ""
        elif cover:
            mark = " — " + say("inside the confidence interval").vi
        else:
            mark = " — " + say("OUTSIDE the confidence interval").vi
        planted = say("planted truth")
        lines.append(f"- **{planted.vi}** / *{planted.en}*: {finding.truth_text('vi')}{mark}")
    for c in finding.checks:
        mark = {True: "✔", False: "✘", None: "·"}[c.ok]
        lines.append(f"- {mark} **{c.name_vi}** / *{c.name_en}*: {c.result_vi}  ")
        lines.append(f"  *{c.result_en}*")
    note, technical = say("Note"), say("Caveat")
    for note_vi, note_en in zip(finding.notes_vi, finding.notes_en, strict=False):
        lines.append(f"- *{note.vi}*: {note_vi}  ")
        lines.append(f"  *{note.en}: {note_en}*")
    for caveat in finding.estimate.warnings if finding.estimate is not None else []:
        lines.append(f"- *{technical.vi}*: {vietnamese(caveat)}  ")
        lines.append(f"  *{technical.en}: {caveat}*")
    return "\n".join(lines)


def sentence_case(text: str) -> str:
    """First letter upper case, the rest untouched ("số vụ cháy" → "Số vụ cháy")."""
    return text[:1].upper() + text[1:]
