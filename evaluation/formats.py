"""The one number, date and time formatter of every page, table, verdict and plan sentence.

Numbers follow the Unicode CLDR conventions of the page's language through Babel
(https://babel.pocoo.org): Vietnamese ``vi_VN`` writes 1.234,5 (dot for thousands, comma for
decimals), English ``en`` 1,234.5. Never scientific notation; a minus sign (−), not a hyphen;
p-values with three decimals and "< 0,001" below that; percentages with the language's spacing;
dates as dd/mm/yyyy (what Vietnamese administrative documents use, and unambiguous to English
readers in Vietnam); times in Hà Nội time (Asia/Ho_Chi_Minh, UTC+7), labelled.

Everything a reader sees goes through these functions, so one page never mixes "." and "," as
decimal marks. The module sits at the bottom of the package's layers, just above
:mod:`evaluation.i18n` (whose catalogue holds its words: "[unbounded]", the time zone's label):
the design stage writes sentences too (power, reviews), and it sits below the report layer.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from babel.dates import format_datetime
from babel.numbers import format_decimal

from evaluation.i18n import say_in

__all__ = [
    "LOCALES",
    "date_text",
    "datetime_text",
    "interval",
    "interval_end",
    "month_text",
    "number",
    "percent",
    "pvalue",
    "signed",
    "unbounded",
]

#: page language → CLDR locale
LOCALES = {"vi": "vi_VN", "en": "en"}
_TZ = "Asia/Ho_Chi_Minh"
_MINUS = "\u2212"
_MISSING = "—"


def _locale(lang: str) -> str:
    try:
        return LOCALES[lang]
    except KeyError:
        raise ValueError(f"lang must be one of {', '.join(LOCALES)}, got {lang!r}") from None


def _missing(x: Any) -> bool:
    try:
        return x is None or math.isnan(float(x))
    except (TypeError, ValueError):
        return True


def _finite(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def number(x: Any, digits: int = 1, lang: str = "vi") -> str:
    """``x`` with ``digits`` decimals and thousands separators: 1.234,5 (vi) / 1,234.5 (en).

    Missing values print "—", infinities "∞" / "−∞". Values that round to zero print without
    a sign ("0,0", not "−0,0").
    """
    v = _finite(x)
    if v is None:
        if x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x):
            return _MISSING
        return "∞" if float(x) > 0 else f"{_MINUS}∞"
    if round(v, digits) == 0:
        v = 0.0
    pattern = "#,##0" + ("." + "0" * digits if digits > 0 else "")
    return format_decimal(v, format=pattern, locale=_locale(lang)).replace("-", _MINUS)


def signed(x: Any, digits: int = 1, lang: str = "vi") -> str:
    """Like :func:`number`, with a "+" on positive values (changes, effects)."""
    text = number(x, digits, lang)
    v = _finite(x)
    return f"+{text}" if v is not None and round(v, digits) > 0 else text


def percent(x: Any, digits: int = 0, lang: str = "vi", *, sign: bool = False) -> str:
    """``x`` percent (x = 12.3 → "12%"): the number, then the sign the language writes."""
    text = (signed if sign else number)(x, digits, lang)
    return text if text == _MISSING else f"{text}%"


def pvalue(p: Any, lang: str = "vi") -> str:
    """A p-value as a reader sees it: "0,013", "< 0,001", "1" — never 1e-05."""
    v = _finite(p)
    if v is None:
        return _MISSING
    if v < 0.001:
        return f"< {number(0.001, 3, lang)}"
    if v >= 0.9995:
        return "1"
    return number(v, 3, lang)


def interval(lo: Any, hi: Any, digits: int = 1, lang: str = "vi", unit: str = "") -> str:
    """A confidence interval: "[−9,6; −3,9]" (vi, semicolon because the comma is the decimal
    mark) or "[−9.6, −3.9]" (en), with an optional unit after it; "—" when not available.

    An end that is not zero but would round to it gets up to two more decimals ("[−72%; 0,2%]",
    not "[−72%; 0%]"): whether an interval reaches zero is what a reader looks for.
    """
    if _missing(lo) and _missing(hi):
        return _MISSING
    if unbounded(lo, hi, as_percent=unit == "%"):
        return say_in("[unbounded]", lang)
    sep = "; " if lang == "vi" else ", "
    ends = [interval_end(x, digits, lang, as_percent=unit == "%") for x in (lo, hi)]
    body = f"[{sep.join(ends)}]"
    return body + (f" {unit}" if unit and unit != "%" else "")


def unbounded(lo: Any, hi: Any, *, as_percent: bool = False) -> bool:
    """True for an interval that excludes no effect at all: (−∞, ∞), or (−100 %, ∞) for a
    percent change (a rate ratio's interval (0, ∞)) — what a test inversion gives when the
    design cannot reject any value at its level."""
    try:
        lo, hi = float(lo), float(hi)
    except (TypeError, ValueError):
        return False
    return hi == math.inf and (lo == -math.inf or (as_percent and lo <= -100))


def interval_end(x: Any, digits: int = 1, lang: str = "vi", *, as_percent: bool = False) -> str:
    """One end of an interval: ``digits`` decimals, up to two more when a non-zero end would
    round to zero; "∞" (never "∞%") for an unbounded end."""
    v = _finite(x)
    if v is None:
        return number(x)
    d = digits
    while v != 0 and round(v, d) == 0 and d < digits + 2:
        d += 1
    return percent(v, d, lang) if as_percent else number(v, d, lang)


def date_text(d: Any) -> str:
    """A date as dd/mm/yyyy; "—" when missing."""
    if d is None or (not isinstance(d, str | date) and pd.isna(d)):
        return _MISSING
    return pd.Timestamp(d).strftime("%d/%m/%Y")


def month_text(d: Any) -> str:
    """A month as mm/yyyy ("07/2024": the month and year of a date, as dd/mm/yyyy writes
    them); "—" when missing. Charts label monthly ticks with it."""
    if d is None or (not isinstance(d, str | date) and pd.isna(d)):
        return _MISSING
    return pd.Timestamp(d).strftime("%m/%Y")


def datetime_text(ts: Any, lang: str = "vi") -> str:
    """A moment in Hà Nội time, labelled: "14:05 02/12/2026 (giờ Hà Nội, UTC+7)".

    Naive values are taken as UTC (what the batch records).
    """
    if ts is None or (isinstance(ts, str) and not ts):
        return _MISSING
    t = pd.Timestamp(ts)
    if t.tzinfo is None:
        t = t.tz_localize(UTC)
    when: datetime = t.to_pydatetime()
    text = format_datetime(when, format="HH:mm dd/MM/yyyy", tzinfo=_TZ, locale=_locale(lang))
    # the English catalogue writes the city as Vietnamese does: "Hà Nội time, UTC+7"
    label = say_in("Ha Noi time, UTC+7", lang)
    return f"{text} ({label})"
