"""Cells of the tables people open in a spreadsheet: text from data is never a formula.

Names in the findings come from files people exchange — the pilot registry, the district's
data and ward tables — and officials open ``findings.xlsx`` and ``findings.csv`` in Excel or
LibreOffice. A name such as ``=HYPERLINK("http://…","Bấm vào đây")`` or ``=cmd|' /C calc'!A0``
(DDE) must reach them as the text it is, never as a live formula. Every table the workbench
writes for people goes through this module (:mod:`evaluation.report.workbook` is the only
writer today):

- **xlsx** — :func:`append_row`: every text value is stored as a text cell (openpyxl would
  store a string starting with ``=`` as a formula), and a text that starts with a formula
  trigger also carries Excel's *quote prefix* style, so that editing the cell keeps it text. The
  visible text is exactly the original (characters that XML cannot hold, C0 controls other than
  tab, newline and carriage return, become U+FFFD).
- **csv** — :func:`csv_text`: OWASP's recommendation for CSV files opened by spreadsheets
  ("CSV Injection"): a text field that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
  carriage return gets a single quote ``'`` in front, and every text field is wrapped in double
  quotes (embedded quotes doubled), so that a ``,`` or ``;`` inside a name cannot start a new
  cell in any locale. A field that already starts with ``'`` gets one more, so a reader
  recovers every original text by removing one leading ``'`` from a field that starts with
  one. Numbers stay numbers: a value of a numeric type, or a text that is a plain decimal
  number (``-3.2``, ``+1e-05``), is written as is — no spreadsheet reads it as a formula.
  The Unicode minus the pages use (``−6,4 phút``) is not a trigger; an ASCII hyphen is
  (``-4 (ước tính)`` → ``'-4 (ước tính)``). The data dictionary (``data/README.md``) states
  the rule for readers of the file.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["TRIGGERS", "append_row", "csv_field", "csv_text", "formula_led", "is_number_text"]

#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV Injection)
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# what XML 1.0 (so xlsx) cannot hold; openpyxl refuses a cell with any of them
_NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_number_text(text: str) -> bool:
    """A plain decimal number written as text (``-3.2``, ``1e-05``): a number, not a formula."""
    return _NUMBER.fullmatch(text) is not None


def formula_led(text: str) -> bool:
    """Would a spreadsheet read this text as a formula? (It starts with a trigger and is not
    a plain number.)"""
    return text.startswith(TRIGGERS) and not is_number_text(text)


def csv_field(value: Any) -> Any:
    """One CSV field: numbers as they are, text neutralised (see the module's rule)."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = str(value)
    if formula_led(text) or text.startswith("'"):
        return "'" + text
    return text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV text (CRLF line ends), every text field neutralised and quoted."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_NONNUMERIC)
    for row in rows:
        writer.writerow([csv_field(v) for v in row])
    return buf.getvalue()


def append_row(ws: Any, values: Sequence[Any]) -> None:
    """``ws.append(values)`` for an openpyxl worksheet, with every text value a text cell."""
    ws.append([_NOT_IN_XML.sub("\ufffd", v) if isinstance(v, str) else v for v in values])
    if not values:
        return
    for cell in ws[ws.max_row]:
        if isinstance(cell.value, str):
            cell.data_type = "s"  # openpyxl made '=…' a formula
            if cell.value.startswith(TRIGGERS):
                cell.quotePrefix = True  # Excel keeps it text when the cell is edited
