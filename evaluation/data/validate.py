"""``pilot-eval validate FILE …``: check data files and the pilot registry, listing every problem.

Each file is read (CSV in any common encoding, Excel, Parquet, or a registry ``.yaml``),
recognised by its name or columns as one of the known tables (or checked as a generic
ward × period panel with ``--unit`` and ``--time``), and every problem is printed with the
file, column, rows, offending values and what to do. Exit status 0 when every file is clean,
2 when any has a problem. No traceback reaches the user for bad input.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

from evaluation.data.io import read_table
from evaluation.data.notes import DATA_NOTES, load_data_notes
from evaluation.data.panels import check_table
from evaluation.data.schema import SCHEMAS, Column, TableSchema, detect_schema
from evaluation.errors import DataError, Problem

__all__ = ["main", "validate_file"]


def _panel_schema(unit: str, time: str, counts: list[str], numbers: list[str]) -> TableSchema:
    cols = [Column(unit, "ward"), Column(time, "date")]
    cols += [Column(c, "count") for c in counts] + [Column(c, "number") for c in numbers]
    return TableSchema("ward_panel", "ward × period panel", "any", tuple(cols), key=(unit, time))


def validate_file(
    path: Path,
    table: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    counts: list[str] = (),
    numbers: list[str] = (),
) -> tuple[str, int, list[Problem]]:
    """Check one file; returns (what it was recognised as, number of rows, problems)."""
    source = str(path)
    if path.name == DATA_NOTES:
        try:
            notes = load_data_notes(path)
        except DataError as exc:
            return "data notes", 0, [Problem(source, None, str(exc).split(": ", 1)[-1])]
        return "data notes", len(notes.recording_changes), []
    if path.suffix.lower() in (".yaml", ".yml") and path.name.startswith("truth"):
        return "planted truth of simulated data (not checked)", 0, []
    if path.suffix.lower() in (".yaml", ".yml"):
        from evaluation.data.registry import load_registry

        try:
            reg = load_registry(path)
        except DataError as exc:
            return (
                "pilot registry",
                0,
                exc.problems or [Problem(source, None, str(exc).split(": ", 1)[-1])],
            )
        return "pilot registry", len(reg.pilots), []
    try:
        df = read_table(path)
    except DataError as exc:
        return "file", 0, [Problem(source, None, str(exc).split(": ", 1)[-1])]
    if unit or time:
        if not (unit and time):
            return (
                "panel",
                len(df),
                [Problem(source, None, "give both --unit and --time for a panel")],
            )
        schema = _panel_schema(unit, time, list(counts), list(numbers))
    elif table:
        schema = SCHEMAS[table]
    else:
        schema = detect_schema(list(df.columns), path.name)
        if schema is None:
            return (
                "unknown table",
                len(df),
                [
                    Problem(
                        source,
                        None,
                        f"not recognised as one of the known tables ({', '.join(SCHEMAS)}); columns are "
                        f"{', '.join(map(str, df.columns[:12]))}",
                        "name the table with --table, or check it as a panel with --unit and --time",
                    )
                ],
            )
    return schema.name, len(df), check_table(df, schema, source)


def _printable(line: str) -> str:
    """One line of the report as the reader's terminal will show it, whatever the data hold.

    Values are quoted where they are reported; column names and file names are not, so a
    control or format character from a file (an escape sequence that clears the screen, a
    line feed that forges a "✓ no problems found" line, a right-to-left override) is shown
    as its escape (``\\x1b``, ``\\n``, ``\\u202e``) instead of acting on the terminal.
    """
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")
        else ch
        for ch in line
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pilot-eval validate",
        description="Check data files and pilot registries; print every problem found.",
    )
    parser.add_argument(
        "files", nargs="+", type=Path, help="CSV / XLSX / Parquet tables or a registry .yaml"
    )
    parser.add_argument(
        "--table", choices=sorted(SCHEMAS), help="the kind of table (default: recognise it)"
    )
    parser.add_argument("--unit", help="unit column of a generic panel (ward names or codes)")
    parser.add_argument("--time", help="period column of a generic panel (dates)")
    parser.add_argument("--counts", nargs="*", default=[], help="count columns of the panel")
    parser.add_argument(
        "--numbers", nargs="*", default=[], help="other numeric columns of the panel"
    )
    args = parser.parse_args(argv)
    total = 0
    for path in args.files:
        kind, rows, problems = validate_file(
            path, args.table, args.unit, args.time, args.counts, args.numbers
        )
        total += len(problems)
        if problems:
            print(_printable(f"✗ {path}: {len(problems)} problem(s) ({kind})"))
            for p in problems:
                print(_printable(f"  - {p}"))
        else:
            print(_printable(f"✓ {path}: {kind}, {rows:,} rows, no problems found"))
    if total:
        print(f"\n{total} problem(s) in {len(args.files)} file(s).", file=sys.stderr)
    return 2 if total else 0


if __name__ == "__main__":
    raise SystemExit(main())
