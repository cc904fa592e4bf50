"""Checking tables and turning records into unit × period panels.

:func:`check_table` collects every problem in a table (not only the first) so that
``pilot-eval validate`` can list them all; :func:`validate_table` raises one
:class:`~evaluation.errors.DataError` carrying all of them, and returns the table with dates
parsed, wards normalised and numbers typed when there are none. :func:`aggregate_incidents`
and :func:`aggregate_traffic` build the panels the estimators take: one row per unit × period,
with every empty cell present and zero-filled for counts.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.data.schema import FALSE_WORDS, TRUE_WORDS, Column, TableSchema
from evaluation.data.wards import WardTable, ward_key
from evaluation.errors import DataError, Problem, examples

__all__ = [
    "check_table",
    "validate_table",
    "validate_panel",
    "police_period",
    "period_start",
    "aggregate_incidents",
    "aggregate_traffic",
    "FREQUENCIES",
]

FREQUENCIES = ("day", "week", "month", "police")


def _rows(mask: pd.Series, limit: int = 5) -> str:
    # Row numbers as a spreadsheet user sees them: header is line 1, first record line 2.
    idx = np.flatnonzero(np.asarray(mask))
    return examples([int(i) + 2 for i in idx], limit)


def _closest(name: str, candidates: Sequence[str]) -> str:
    """Hint when a column the table needs is probably present under a misspelt name."""
    match = difflib.get_close_matches(
        name.lower(), [str(c).lower() for c in candidates], n=1, cutoff=0.6
    )
    if not match:
        return ""
    original = next(c for c in candidates if str(c).lower() == match[0])
    return (
        f"; the file has '{original}': if that is the same column misspelt, rename it to '{name}'"
    )


def _parse_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    text = values.astype("string").str.strip()
    iso = pd.to_datetime(text, errors="coerce", format="ISO8601")
    # Vietnamese offices write day first: 15/02/2024. Only the values ISO 8601 could not read
    # go through the (per-value, slow) mixed-format parser.
    rest = iso.isna() & text.notna()
    if not rest.any():
        return iso
    dayfirst = pd.to_datetime(text[rest], errors="coerce", dayfirst=True, format="mixed")
    return iso.fillna(dayfirst)


def _check_column(
    df: pd.DataFrame,
    col: Column,
    source: str,
    problems: list[Problem],
    wards: WardTable | None = None,
    dates: pd.Series | None = None,
) -> None:
    s = df[col.name]
    present = s.notna()

    def flag(rows: pd.Series, what: str, fix: str) -> None:
        """A problem with the ``rows`` marked, if any: ``what`` (rows …), and its ``fix``."""
        if rows.any():
            problems.append(Problem(source, col.name, f"{what} (rows {_rows(rows)})", fix))

    def flag_missing(what: str) -> None:
        flag(~present, f"{int((~present).sum())} {what} missing", "fill them in or drop those rows")

    if col.kind == "date":
        bad = present & _parse_dates(s).isna()
        flag(
            bad,
            f"{int(bad.sum())} value(s) are not dates: {examples(s[bad].astype(str).tolist())}",
            "write dates as YYYY-MM-DD (e.g. 2024-02-15) or DD/MM/YYYY",
        )
        flag_missing("date(s)")
    elif col.kind in ("count", "number", "nonneg", "share"):
        num = pd.to_numeric(s, errors="coerce")
        bad = present & num.isna()
        flag(
            bad,
            f"{int(bad.sum())} value(s) are not numbers: {examples(s[bad].astype(str).tolist())}",
            "use digits only, with '.' as the decimal mark and no thousands separator",
        )
        if col.kind in ("count", "nonneg"):
            neg = num < 0
            flag(
                neg,
                f"{int(neg.sum())} negative value(s): {examples(num[neg].tolist())}",
                "counts and amounts cannot be negative; correct the entries",
            )
        if col.kind == "count":
            frac = num.notna() & (num != np.floor(num))
            flag(
                frac,
                f"{int(frac.sum())} count(s) are not whole numbers: {examples(num[frac].tolist())}",
                "counts must be whole numbers",
            )
        if col.kind == "share":
            out = (num < 0) | (num > 1)
            flag(out, "shares outside 0–1", "give shares as fractions, e.g. 0.25 for 25 %")
    elif col.kind == "category":
        text = s.astype("string").str.strip()
        bad = present & ~text.isin(col.allowed)
        vals = sorted(set(text[bad].dropna()))
        flag(bad, f"unknown value(s) {examples(vals)}", f"allowed: {', '.join(col.allowed)}")
    elif col.kind == "ward":
        flag_missing("ward name(s)")
        if wards is not None:
            _check_wards(s[present], col, source, problems, wards, dates)
    elif col.kind == "bool":
        text = s.astype("string").str.strip().str.lower()
        ok = text.isin(TRUE_WORDS + FALSE_WORDS)
        bad = present & ~ok
        flag(
            bad,
            f"not true/false: {examples(s[bad].astype(str).tolist())}",
            "use true/false or 1/0",
        )


def _check_wards(
    names: pd.Series,
    col: Column,
    source: str,
    problems: list[Problem],
    wards: WardTable,
    dates: pd.Series | None,
) -> None:
    """Ward names that match no ward of the district's table (with the closest names of that
    table), and names used on dates when no ward of that name existed."""
    text = names.astype("string")
    uniques = list(dict.fromkeys(text.dropna()))
    unknown = [u for u in uniques if not wards._candidates(u)]
    for u in unknown[:10]:
        rows = text == u
        sugg = wards.suggest(u)
        hint = (
            f"did you mean {examples(sugg)}?"
            if sugg
            else f"use a name or code of the ward table {wards.source}, or add the ward to it"
        )
        problems.append(
            Problem(
                source,
                col.name,
                f"unknown ward {u!r} (rows {_rows(rows.reindex(text.index))})",
                hint,
            )
        )
    if len(unknown) > 10:
        problems.append(Problem(source, col.name, f"… and {len(unknown) - 10} more unknown wards"))
    if dates is None:
        return
    known = text[~text.isin(unknown)]
    when = _parse_dates(dates.loc[known.index])
    ok = when.notna()
    known, when = known[ok], when[ok]
    if known.empty:
        return
    try:
        wards.resolve(known, when, source=source, column=col.name)
    except DataError as exc:
        _, _, body = str(exc).partition(":\n")
        lines = [line.strip() for line in body.splitlines() if line.strip().startswith("'")]
        for line in lines[:10]:
            problems.append(
                Problem(
                    source,
                    col.name,
                    f"ward {line}",
                    "a ward renamed or merged mid-series needs its successor in the ward table "
                    "(a row with valid_from), or the rows are under the wrong name",
                )
            )


def _ward_dates(df: pd.DataFrame, schema: TableSchema) -> pd.Series | None:
    """The column by whose dates a table's ward names are read (see TableSchema.ward_date)."""
    name = schema.ward_date
    return df[name] if name and name in df.columns else None


def _canonical(value: str, wards: WardTable | None) -> str:
    """A ward name as a key message shows it: the table's name when it knows the ward (any
    spelling), else the text as written."""
    if wards is not None:
        codes = wards._candidates(value)
        if codes:
            return wards.name(codes[0])
    return _nfc_name(value)


def _nfc_name(value: str) -> str:
    import unicodedata

    return " ".join(unicodedata.normalize("NFC", value).split())


def _cell_text(value) -> str:
    """A key value as a message shows it: dates as YYYY-MM-DD, missing as "(empty)"."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "(empty)"
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat()
    return str(value)


def check_table(
    df: pd.DataFrame,
    schema: TableSchema,
    source: str = "data",
    wards: WardTable | None = None,
) -> list[Problem]:
    """Every problem found in ``df`` against ``schema``; an empty list means the table is fine.

    Ward names are checked against ``wards`` (the district's ward table), read on each row's
    date; without a table they are only checked for being present.
    """
    problems: list[Problem] = []
    if df.shape[0] == 0:
        return [Problem(source, None, "the table has no rows")]
    cols = list(df.columns)
    for name in schema.required:
        if name not in df.columns:
            near = _closest(name, cols)
            hint = near.lstrip("; ") if near else f"columns found: {examples(cols, 12)}"
            problems.append(Problem(source, name, "required column is missing", hint))
    dates = _ward_dates(df, schema)
    for col in schema.columns:
        if col.name in df.columns:
            _check_column(df, col, source, problems, wards, dates)
    key = [k for k in schema.key if k in df.columns]
    if key and len(key) == len(schema.key):
        keyframe = df[key].copy()
        shownframe = df[key].copy()
        for k in key:
            c = schema.column(k)
            if c is not None and c.kind == "ward":
                # an unknown ward keeps its own spelling: it is reported as unknown above, and
                # two different unknown names must not look like one duplicated ward; without
                # a ward table, spellings that read alike are one ward
                keyframe[k] = keyframe[k].map(
                    lambda v: (
                        (_canonical(v, wards) if wards is not None else ward_key(v))
                        if isinstance(v, str)
                        else v
                    )
                )
                shownframe[k] = keyframe[k] if wards is not None else shownframe[k]
            elif c is not None and c.kind == "date":
                keyframe[k] = _parse_dates(keyframe[k])
                shownframe[k] = keyframe[k]
        dup = keyframe.duplicated(keep=False)
        if dup.any():
            shown = shownframe[dup & ~keyframe.duplicated(keep="first")].head(3)
            first = [
                " / ".join(_cell_text(v) for v in row) for row in shown.itertuples(index=False)
            ]
            problems.append(
                Problem(
                    source,
                    " × ".join(key),
                    f"{int(dup.sum())} rows share a {' × '.join(key)} with another row: {examples(first, 3)} "
                    f"(rows {_rows(dup)})",
                    "each combination must appear once; remove or sum the duplicates",
                )
            )
    return problems


def _coerce(
    df: pd.DataFrame, schema: TableSchema, source: str, wards: WardTable | None = None
) -> pd.DataFrame:
    out = df.copy()
    for col in schema.columns:
        if col.name not in out.columns:
            continue
        s = out[col.name]
        if col.kind == "date":
            out[col.name] = _parse_dates(s).astype("datetime64[ns]")
        elif col.kind == "count":
            num = pd.to_numeric(s)
            out[col.name] = num.astype("Int64") if num.isna().any() else num.astype("int64")
        elif col.kind in ("number", "nonneg", "share"):
            out[col.name] = pd.to_numeric(s).astype(float)
        elif col.kind == "ward":
            if wards is None:
                out[col.name] = s.astype(str).map(_nfc_name)
            else:
                when = _ward_dates(out, schema)
                when = _parse_dates(when) if when is not None else None
                given = out["ward_code"].astype(str) if "ward_code" in out.columns else None
                if given is not None and given.isin(wards.codes).all():
                    codes = given  # the codes say exactly which ward, whatever the name
                else:
                    codes = wards.resolve(
                        s, when if when is not None else None, source=source, column=col.name,
                        prefer="earliest" if schema.ward_date is None else "latest",
                    )  # fmt: skip
                out[col.name] = codes.map(wards.name_of).to_numpy()
                if col.name == "ward" or "ward_code" not in out.columns:
                    out["ward_code"] = codes.to_numpy()
        elif col.kind == "bool":
            text = s.astype("string").str.strip().str.lower()
            out[col.name] = text.isin(TRUE_WORDS).astype(bool)
        elif col.kind in ("category", "id", "text"):
            out[col.name] = s.astype(str)
    return out


def validate_table(
    df: pd.DataFrame,
    schema: TableSchema,
    source: str | None = None,
    wards: WardTable | None = None,
) -> pd.DataFrame:
    """Check ``df`` against ``schema``; return it typed and normalised, or raise one DataError.

    With ``wards`` (the district's ward table) every ward name is read on its row's date and
    replaced by the canonical name, and ``ward_code`` holds the ward's code; without it names
    are only tidied (Unicode NFC, outer spaces). The error message lists every problem (file,
    column, rows, values, what to do) and ``err.problems`` holds them as
    :class:`~evaluation.errors.Problem` objects.
    """
    source = source or df.attrs.get("source", schema.name)
    problems = check_table(df, schema, source, wards)
    if problems:
        raise DataError(
            f"{source}: {len(problems)} problem(s) found:\n"
            + "\n".join(f"- {p}" for p in problems),
            problems,
        )
    return _coerce(df, schema, source, wards)


def validate_panel(
    data: pd.DataFrame,
    unit: str,
    time: str,
    outcomes: Sequence[str] = (),
    counts: Sequence[str] = (),
    *,
    ward_unit: bool = True,
    wards: WardTable | None = None,
    source: str = "data",
) -> pd.DataFrame:
    """Check a user's long panel (one row per unit × period) before any statistic is computed.

    Checks that the columns exist (suggesting the closest name), that ``time`` parses as dates
    (or is integer), that ``unit`` names wards of ``wards`` (the district's ward table, read on
    each row's date) when ``ward_unit`` and a table is given, that outcomes are
    numeric, that ``counts`` are non-negative whole numbers, and that no unit × period repeats.
    Returns the panel typed and normalised.
    """
    columns = [Column(unit, "ward" if ward_unit else "id", description="unit")]
    if pd.api.types.is_integer_dtype(data.get(time, pd.Series(dtype=float))):
        columns.append(Column(time, "count", description="integer period"))
    else:
        columns.append(Column(time, "date", description="period"))
    columns += [Column(c, "number") for c in outcomes if c not in counts]
    columns += [Column(c, "count") for c in counts]
    dated = columns[1].kind == "date"
    schema = TableSchema(
        "panel", "user panel", "any", tuple(columns), key=(unit, time),
        ward_date=time if dated else None,
    )  # fmt: skip
    return validate_table(data, schema, source, wards if ward_unit else None)


def police_period(dates) -> pd.Series:
    """Start (the 15th) of the police reporting period containing each date.

    Vietnamese police statistics run from the 15th of one month to the 14th of the next:
    2024-02-14 belongs to the period starting 2024-01-15, 2024-02-15 to the one starting
    2024-02-15.
    """
    d = pd.to_datetime(pd.Series(dates))
    month_start = d.dt.to_period("M").dt.to_timestamp()
    start = month_start + pd.Timedelta(days=14)
    prev = (month_start - pd.offsets.MonthBegin(1)) + pd.Timedelta(days=14)
    return start.where(d.dt.day >= 15, prev)


def period_start(dates, freq: str) -> pd.Series:
    """The start date of the ``freq`` period containing each date.

    ``day``; ``week`` (Monday); ``month`` (1st); ``police`` (15th → 14th).
    """
    d = pd.to_datetime(pd.Series(dates)).dt.normalize()
    if freq == "day":
        return d
    if freq == "week":
        return d - pd.to_timedelta(d.dt.day_of_week, unit="D")
    if freq == "month":
        return d.dt.to_period("M").dt.to_timestamp()
    if freq == "police":
        return police_period(d)
    raise DataError(f"argument 'freq': {freq!r} is not one of {', '.join(FREQUENCIES)}")


def _period_grid(start: pd.Timestamp, end: pd.Timestamp, freq: str) -> pd.DatetimeIndex:
    first = period_start([start], freq).iloc[0]
    last = period_start([end], freq).iloc[0]
    if freq == "day":
        return pd.date_range(first, last, freq="D")
    if freq == "week":
        return pd.date_range(first, last, freq="7D")
    if freq == "month":
        return pd.date_range(first, last, freq="MS")
    months = pd.date_range(first - pd.Timedelta(days=14), last - pd.Timedelta(days=14), freq="MS")
    return months + pd.Timedelta(days=14)


def _period_end(starts: pd.Series, freq: str) -> pd.Series:
    if freq == "day":
        return starts
    if freq == "week":
        return starts + pd.Timedelta(days=6)
    if freq == "month":
        return starts + pd.offsets.MonthEnd(0)
    return starts + pd.offsets.DateOffset(months=1) - pd.Timedelta(days=1)


def aggregate_incidents(
    records: pd.DataFrame,
    *,
    unit: str = "ward",
    date: str = "date",
    freq: str = "month",
    sums: Sequence[str] = (),
    flags: Sequence[str] = (),
    units: Sequence[str] | None = None,
    start=None,
    end=None,
    count_name: str = "incidents",
) -> pd.DataFrame:
    """Count incident records per unit × period, with every empty cell present as zero.

    Parameters
    ----------
    records
        One row per incident with a unit and a date column.
    freq
        ``"day"``, ``"week"`` (Monday start), ``"month"`` or ``"police"`` (15th → 14th).
    sums
        Numeric columns to total per cell (deaths, injuries, loss …); zero when no incident.
    flags
        Boolean columns to count per cell (e.g. ``escalated`` → ``escalated`` = number of
        escalated fires).
    units
        All units that must appear (e.g. the 13 wards), so wards with no incident get zeros.
    start, end
        The panel's date range; defaults to the records' first and last dates. Pass the
        observation window explicitly: a ward with no fire in the last months must still get
        zeros there.

    Returns
    -------
    DataFrame with ``unit``, ``period_start``, ``period_end``, ``count_name`` and the sums.
    """
    if freq not in FREQUENCIES:
        raise DataError(f"argument 'freq': {freq!r} is not one of {', '.join(FREQUENCIES)}")
    missing = [c for c in [unit, date, *sums, *flags] if c not in records.columns]
    if missing:
        cols = list(records.columns)
        hints = "".join(_closest(m, cols) for m in missing)
        raise DataError(
            f"aggregate_incidents: column(s) {examples(missing)} not in the records{hints}"
        )
    d = pd.to_datetime(records[date], errors="coerce")
    if d.isna().any():
        bad = d.isna()
        raise DataError(
            f"aggregate_incidents: column '{date}' has {int(bad.sum())} value(s) that are not dates "
            f"(rows {_rows(bad)})"
        )
    start = pd.Timestamp(start) if start is not None else d.min()
    end = pd.Timestamp(end) if end is not None else d.max()
    outside = (d < start) | (d > end)
    rec = records.loc[~outside].copy()
    rec["period_start"] = period_start(d[~outside], freq).to_numpy()
    grid_units = list(units) if units is not None else sorted(rec[unit].unique())
    extra = sorted(set(rec[unit]) - set(grid_units))
    if extra:
        raise DataError(
            f"aggregate_incidents: records name unit(s) {examples(extra)} that are not in 'units'"
        )
    grid = pd.MultiIndex.from_product(
        [grid_units, _period_grid(start, end, freq)], names=[unit, "period_start"]
    )
    agg = {count_name: (date, "size")}
    for c in sums:
        agg[c] = (c, "sum")
    for c in flags:
        rec[c] = rec[c].astype(bool).astype(int)
        agg[c] = (c, "sum")
    counted = rec.groupby([unit, "period_start"]).agg(**agg)
    panel = counted.reindex(grid, fill_value=0).reset_index()
    panel[count_name] = panel[count_name].astype("int64")
    for c in flags:
        panel[c] = panel[c].astype("int64")
    panel.insert(2, "period_end", _period_end(panel["period_start"], freq))
    return panel


def aggregate_traffic(
    traffic: pd.DataFrame,
    *,
    freq: str = "week",
    level: str = "ward",
    outcomes: Sequence[str] = ("congestion_minutes", "avg_speed_kmh"),
    peak: str | None = None,
) -> pd.DataFrame:
    """Average junction × day × peak congestion to ward (or junction) × period means.

    Each cell is the mean over the junction-peak-days observed in it (missing sensor days are
    left out, not counted as zero); ``n_obs`` says how many there were, so a cell built from
    few observations can be down-weighted or dropped.

    Parameters
    ----------
    freq
        ``"day"``, ``"week"``, ``"month"`` or ``"police"``.
    level
        ``"ward"`` or ``"junction"`` (then ``ward`` is kept for clustering).
    peak
        ``"AM"`` or ``"PM"`` to keep one peak; both by default.
    """
    if level not in ("ward", "junction"):
        raise DataError(f"argument 'level' must be 'ward' or 'junction', not {level!r}")
    need = ["ward", "date", *outcomes] + (["junction_id"] if level == "junction" else [])
    missing = [c for c in need if c not in traffic.columns]
    if missing:
        raise DataError(
            f"aggregate_traffic: column(s) {examples(missing)} not in the traffic table"
        )
    df = traffic
    if peak is not None:
        df = df[df["peak"] == peak]
    keys = ["ward"] if level == "ward" else ["junction_id", "ward"]
    ps = period_start(df["date"], freq)
    grouped = df.assign(period_start=ps.to_numpy()).groupby(keys + ["period_start"], sort=True)
    out = grouped[list(outcomes)].mean()
    out["n_obs"] = grouped[outcomes[0]].count()
    out = out.reset_index()
    out.insert(len(keys) + 1, "period_end", _period_end(out["period_start"], freq))
    return out
