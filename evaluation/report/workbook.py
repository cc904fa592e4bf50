"""The findings table for people who work in Excel (``findings.xlsx``) or another tool
(``findings.csv``): one row per finding, the same finding as the index shows.

``findings.xlsx`` opens on a sheet an official can read: Vietnamese and English column headers,
numbers rounded as the pages show them, dates as dates, a filter on every column, the header
frozen. A second sheet keeps every field at full precision for analysts, and a third explains
the columns and the verdict policy. ``findings.csv`` holds the full-precision fields with
machine-readable headers (UTF-8 with BOM, so Excel reads the diacritics when double-clicked).
Every cell goes through :mod:`evaluation.report.cells`: a name from the registry or the data
that looks like a formula (``=HYPERLINK(…)``) is written as text in both files, never as one.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from evaluation.analysis.outcomes import OUTCOMES
from evaluation.analysis.policy import LABELS
from evaluation.analysis.record import table_columns
from evaluation.core.files import write_bytes_atomic
from evaluation.i18n import say
from evaluation.report.cells import append_row, csv_text
from evaluation.report.index import describe_row, policy_of, unique_findings

__all__ = ["READABLE_COLUMNS", "readable_rows", "write_findings_tables"]

#: (key, header, what it holds) of the readable sheet, in order
READABLE_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("programme", " / ".join(say("Programme")), "The programme (registry name)."),
    ("what", " / ".join(say("Indicator — scope")), "Indicator, and whose effect it is."),
    ("ward", " / ".join(say("Ward")), "The ward the number belongs to (empty: district-wide)."),
    (
        "kind",
        " / ".join(say("Kind")),
        "Headline answer, other indicator, wave, ward, other method.",
    ),
    (
        "verdict",
        " / ".join(say("Verdict")),
        # English only, as the other descriptions; the sheet's name as the workbook writes it
        "Under the policy on the '{sheet}' sheet.".format(sheet=" / ".join(say("Notes"))),
    ),
    (
        "effect",
        " / ".join(say("Effect")),
        "Effect of the programme, rounded as the reports show it.",
    ),
    ("ci_low", " / ".join(say("95% CI low")), "Lower end of the 95% confidence interval."),
    ("ci_high", " / ".join(say("95% CI high")), "Upper end of the 95% confidence interval."),
    ("unit", " / ".join(say("Unit")), "Unit of effect and interval (% = percent change)."),
    ("percent", " / ".join(say("% of baseline")), "Effect as % of the level without it."),
    ("pvalue", "p", "p-value of no effect."),
    ("p_adjusted", " / ".join(say("Adjusted p")), "Adjusted for the findings tested with it."),
    ("window_start", " / ".join(say("From")), "First day of the data used."),
    ("window_end", " / ".join(say("To")), "Last day of the data used."),
    ("method", " / ".join(say("Method")), "How the number was estimated."),
    ("explanation", " / ".join(say("Explanation")), "The verdict in words (Vietnamese)."),
    ("truth", " / ".join(say("Planted truth")), "Simulated data only."),
    ("report", " / ".join(say("Report")), "The report that shows this finding."),
    ("finding_id", " / ".join(say("Finding id")), "Stable id of the finding."),
)

_KINDS = {
    "headline": " / ".join(say("Headline")),
    "secondary": " / ".join(say("Other indicator")),
    "wave": " / ".join(say("Wave")),
    "ward": " / ".join(say("Ward")),
    "alternative": " / ".join(say("Other method")),
    "contrast": " / ".join(say("Technical note")),
    "check": " / ".join(say("Check")),
    "design": " / ".join(say("Design")),
}


def _round(x: Any, digits: int) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return round(v, digits) if math.isfinite(v) else None


def _date(x: Any) -> date | None:
    try:
        return date.fromisoformat(str(x)) if x else None
    except ValueError:
        return None


def readable_rows(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per finding (deduplicated as on the index), rounded as the pages show it."""
    rows = []
    for f in findings:
        o = OUTCOMES.get(str(f.get("outcome")))
        digits = 0 if o is None or o.percent else o.digits
        digits = max(digits, 1) if o is not None and o.percent else digits
        cat = f.get("verdict_category")
        window = f.get("window") or [None, None]
        rows.append(
            {
                "programme": f.get("programme_vi") or f.get("programme") or "",
                "what": describe_row(f),
                "ward": f.get("ward") or "",
                "kind": _KINDS.get(str(f.get("role")), f.get("role") or ""),
                "verdict": " / ".join(LABELS[cat]) if cat in LABELS else "",
                "effect": _round(f.get("estimate"), digits),
                "ci_low": _round(f.get("ci_low"), digits),
                "ci_high": _round(f.get("ci_high"), digits),
                "unit": f.get("unit_vi") or f.get("unit") or "",
                "percent": _round(f.get("percent"), 0),
                "pvalue": _round(f.get("pvalue"), 3),
                "p_adjusted": _round(f.get("p_adjusted"), 3),
                "window_start": _date(window[0]),
                "window_end": _date(window[1]),
                "method": f.get("method_vi") or f.get("method") or "",
                "explanation": f.get("verdict_vi") or f.get("design_vi") or "",
                "truth": _round(f.get("truth"), digits),
                "report": f.get("report") or "",
                "finding_id": f.get("finding_id") or "",
            }
        )
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_findings_tables(out_dir: Path, findings: Sequence[Mapping[str, Any]]) -> None:
    """``findings.csv`` and ``findings.xlsx`` in ``out_dir``, atomically."""
    unique, _ = unique_findings(findings)
    cols = table_columns(unique)
    rows = [cols] + [[_cell(f.get(c)) for c in cols] for f in unique]
    write_bytes_atomic(out_dir / "findings.csv", csv_text(rows).encode("utf-8-sig"))
    write_bytes_atomic(out_dir / "findings.xlsx", _xlsx(unique, cols))


def _xlsx(unique: Sequence[Mapping[str, Any]], cols: list[str]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = " - ".join(say("Findings"))
    rows = readable_rows(unique)
    keys = [k for k, _, _ in READABLE_COLUMNS]
    if not any(r["truth"] is not None for r in rows):
        keys.remove("truth")
    headers = {k: h for k, h, _ in READABLE_COLUMNS}
    append_row(ws, [headers[k] for k in keys])
    for r in rows:
        append_row(ws, [r[k] for k in keys])
    _style(ws, Font, Alignment)
    for i, k in enumerate(keys, start=1):
        letter = ws.cell(1, i).column_letter
        if k in ("window_start", "window_end"):
            for c in ws[letter][1:]:
                c.number_format = "dd/mm/yyyy"
        if k in ("pvalue", "p_adjusted"):
            for c in ws[letter][1:]:
                c.number_format = "0.000"

    full = wb.create_sheet(" - ".join(say("Full precision")))
    append_row(full, cols)
    for f in unique:
        append_row(full, [_cell(f.get(c)) for c in cols])
    _style(full, Font, Alignment)

    notes = wb.create_sheet(" - ".join(say("Notes")))
    policy = policy_of(unique)
    how = say("How to read the verdicts")
    append_row(notes, [how.vi, policy.describe("vi")])
    append_row(notes, [how.en, policy.describe("en")])
    append_row(notes, [])
    append_row(notes, [" / ".join(say("Column")), " / ".join(say("What it holds"))])
    for k in keys:
        append_row(notes, [headers[k], next(d for kk, _, d in READABLE_COLUMNS if kk == k)])
    notes.column_dimensions["A"].width = 36
    notes.column_dimensions["B"].width = 110
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _style(ws, Font, Alignment) -> None:  # noqa: N803 (openpyxl classes)
    for c in ws[1]:
        c.font = Font(bold=True)
        c.alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"
    if ws.max_row > 1:
        ws.auto_filter.ref = ws.dimensions
    for i in range(1, ws.max_column + 1):
        values = [str(ws.cell(r, i).value or "") for r in range(1, min(ws.max_row, 200) + 1)]
        width = max(len(v) for v in values) if values else 8
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(50, max(9, width + 2))
