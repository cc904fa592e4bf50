"""Reading the tables analysts bring: CSV in any encoding Vietnamese offices produce, Excel, Parquet.

Excel on Vietnamese Windows saves "CSV" as UTF-8 with a byte-order mark, as "Unicode text"
(UTF-16 with tabs), or in the legacy Windows-1258 code page, where most diacritics are stored
as a base letter plus a combining tone mark. :func:`read_table` detects all of these, guesses
the delimiter, NFC-normalises every text cell (so "Cổ Nhuế 2" typed on a Mac equals the one
typed on Windows) and raises :class:`~evaluation.errors.DataError` naming the file when it is
empty, binary, or not a table.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

import pandas as pd

from evaluation.errors import DataError

__all__ = ["read_table", "decode_text", "yaml_problem", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")


def decode_text(raw: bytes, source: str) -> tuple[str, str]:
    """Decode bytes from a text export; returns (text, encoding name).

    Order: a BOM decides (UTF-8, UTF-16 LE/BE); else strict UTF-8; else UTF-16 without BOM
    (many NUL bytes); else Windows-1258.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    sample = raw[:4000]
    if sample and sample.count(b"\x00") > len(sample) // 4:
        enc = "utf-16-le" if sample[1:2] == b"\x00" else "utf-16-be"
        try:
            return raw.decode(enc), enc
        except UnicodeDecodeError:
            pass
    try:
        return raw.decode("cp1258"), "cp1258"
    except UnicodeDecodeError as exc:
        raise DataError(
            f"{source}: cannot decode the text at byte {exc.start} as UTF-8, UTF-16 or "
            "Windows-1258 — save it from Excel as 'CSV UTF-8 (Comma delimited)'"
        ) from None


def _looks_binary(raw: bytes) -> bool:
    sample = raw[:2000]
    if not sample:
        return False
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return False
    if sample.count(b"\x00") > len(sample) // 4 and sample[1:2] == b"\x00":
        return False  # UTF-16 without BOM
    control = sum(1 for b in sample if b < 9 or (13 < b < 32))
    return control > len(sample) * 0.05


def _nfc(v):
    return unicodedata.normalize("NFC", v).strip() if isinstance(v, str) else v


def _nfc_frame(df: pd.DataFrame) -> pd.DataFrame:
    for col in df.columns:
        s = df[col]
        if s.dtype == object or pd.api.types.is_string_dtype(s):
            # Normalise each distinct value once: a traffic table has 125,000 rows but a few
            # hundred distinct texts, and a per-cell Python call cost 0.4 s per load.
            try:
                changed = {v: n for v in s.dropna().unique() if (n := _nfc(v)) != v}
            except TypeError:  # unhashable cells (lists from Parquet): the slow way
                df[col] = s.map(_nfc)
                continue
            if changed:
                df[col] = s.map(lambda v, m=changed: m.get(v, v) if isinstance(v, str) else v)
    df.columns = [unicodedata.normalize("NFC", str(c)).strip() for c in df.columns]
    return df


def _check_field_counts(text: str, sep: str, source: str) -> None:
    """Rows with more fields than the header would silently shift columns in pandas."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader, None)
        if not header:
            return
        bad = [(reader.line_num, len(row)) for row in reader if row and len(row) > len(header)]
    except csv.Error as exc:  # a quote opened and never closed runs past the field limit
        raise DataError(
            f"{source}: line {reader.line_num} is not well-formed CSV ({exc}) — look there for "
            "a '\"' that opens a text and never closes it, or export the table again"
        ) from None
    if bad:
        lines = ", ".join(str(n) for n, _ in bad[:5]) + (
            f", … ({len(bad)} in all)" if len(bad) > 5 else ""
        )
        raise DataError(
            f"{source}: line {bad[0][0]} has {bad[0][1]} fields but the header has {len(header)} "
            f"(lines {lines}). Quote text that contains '{sep}', or remove the extra fields"
        )


def _read_delimited(path: Path, dtype) -> pd.DataFrame:
    raw = path.read_bytes()
    source = str(path)
    if not raw.strip(b"\x00\r\n\t \xef\xbb\xbf\xff\xfe"):
        raise DataError(f"{source}: the file is empty — export the table again")
    if _looks_binary(raw):
        raise DataError(
            f"{source}: this is not a text table (it contains binary data). If it is an Excel "
            "workbook, give it the .xlsx extension; otherwise export it as CSV"
        )
    text, _encoding = decode_text(raw, source)
    text = unicodedata.normalize("NFC", text)
    first_lines = "\n".join(text.splitlines()[:20])
    try:
        dialect = csv.Sniffer().sniff(first_lines, delimiters=",;\t|")
        sep = dialect.delimiter
    except csv.Error:
        sep = "," if "," in first_lines else ("\t" if "\t" in first_lines else ";")
    _check_field_counts(text, sep, source)
    try:
        df = pd.read_csv(io.StringIO(text), sep=sep, dtype=dtype, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(
            f"{source}: the file has no rows or columns — export the table again"
        ) from None
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{source}: not a well-formed table ({exc}). Check that every row has the same "
            f"number of '{sep}'-separated fields and that text with '{sep}' is quoted"
        ) from None
    if df.shape[1] < 2:
        raise DataError(
            f"{source}: found only one column ({list(df.columns)[:1]}); the file is not a "
            "table with a recognised delimiter (comma, semicolon, tab or |)"
        )
    return df


def read_table(path: str | Path, *, dtype=None, sheet: str | int = 0) -> pd.DataFrame:
    """Read a CSV / TSV / text export, an Excel workbook or a Parquet file into a DataFrame.

    Text cells and column names are NFC-normalised and stripped. Nothing is validated here
    beyond "is this a table"; see :mod:`evaluation.data.panels` for content checks.

    Parameters
    ----------
    path
        The file. The suffix decides the reader: .csv/.tsv/.txt, .xlsx/.xlsm, .parquet/.pq.
    dtype
        Passed to the reader (e.g. ``{"ward_code": str}`` keeps leading zeros).
    sheet
        Excel sheet name or index.

    Raises
    ------
    DataError
        The file is missing, empty, binary, of an unsupported type, or not a table.
    """
    path = Path(path)
    source = str(path)
    if not path.exists():
        raise DataError(f"{source}: no such file — check the path (current folder: {Path.cwd()})")
    if path.is_dir():
        raise DataError(f"{source}: is a folder, not a file")
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise DataError(
            f"{source}: unsupported file type '{suffix or '(none)'}'; use one of "
            f"{', '.join(SUPPORTED_SUFFIXES)}"
        )
    if path.stat().st_size == 0:
        raise DataError(f"{source}: the file is empty (0 bytes) — export the table again")
    if suffix in (".xlsx", ".xlsm"):
        try:
            df = pd.read_excel(path, sheet_name=sheet, dtype=dtype, engine="openpyxl")
        except (ValueError, KeyError, OSError) as exc:
            raise DataError(f"{source}: cannot read it as an Excel workbook ({exc})") from None
        except Exception as exc:  # openpyxl raises zipfile / XML errors for non-workbooks
            raise DataError(
                f"{source}: not a valid .xlsx workbook ({type(exc).__name__}: {exc}); "
                "open it in Excel and save it again as .xlsx"
            ) from None
        if df.empty and df.shape[1] == 0:
            raise DataError(f"{source}: the sheet {sheet!r} is empty")
    elif suffix in (".parquet", ".pq"):
        try:
            df = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid etc.
            raise DataError(
                f"{source}: not a valid Parquet file ({type(exc).__name__}: {exc})"
            ) from None
        if dtype:
            df = df.astype(dtype)
    else:
        df = _read_delimited(path, dtype)
    if df.shape[0] == 0:
        raise DataError(f"{source}: the table has a header but no rows")
    df = _nfc_frame(df)
    df.attrs["source"] = source
    return df


def yaml_problem(exc: BaseException) -> str:
    """Where and what a YAML syntax error is, for a message that names the file:
    " at line 4, column 7: mapping values are not allowed here"."""
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    return f"{where}: {getattr(exc, 'problem', None) or exc}"
