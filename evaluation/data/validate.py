"""``pilot-eval validate FILE …``: check data files, the ward table and the pilot registry.

Each file is read (CSV in any common encoding, Excel, Parquet, or a registry ``.yaml``),
recognised by its name or columns as one of the known tables (or checked as a generic
ward × period panel with ``--unit`` and ``--time``), and every problem is printed with the
file, column, rows, offending values and what to do. Ward names are checked against the
district's own ward table — ``wards.csv`` beside the files (or ``--wards``) — and read on each
row's date, so rows recorded under the new wards after a reorganisation are recognised as
such; the report says which wards ended and which began, and how many rows each side has.
Exit status 0 when every file is clean, 2 when any has a problem. No traceback reaches the
user for bad input.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

import pandas as pd

from evaluation.data.io import read_table
from evaluation.data.notes import DATA_NOTES, load_data_notes
from evaluation.data.panels import check_table
from evaluation.data.schema import SCHEMAS, Column, TableSchema, detect_schema
from evaluation.data.wards import (
    ADJACENCY_FILE,
    CROSSWALK_FILE,
    WARDS_FILE,
    WardTable,
    find_ward_table,
)
from evaluation.errors import DataError, Problem, examples

__all__ = ["add_arguments", "main", "run", "validate_file"]

#: tables whose counts are modelled as rates per population: every ward in them needs one
_EXPOSURE_TABLES = ("fire_incident", "electrical_incident_monthly", "antt_period")


def _panel_schema(unit: str, time: str, counts: list[str], numbers: list[str]) -> TableSchema:
    cols = [Column(unit, "ward"), Column(time, "date")]
    cols += [Column(c, "count") for c in counts] + [Column(c, "number") for c in numbers]
    return TableSchema(
        "ward_panel", "ward × period panel", "any", tuple(cols), key=(unit, time), ward_date=time
    )


def _levels_line(df: pd.DataFrame, schema: TableSchema, wards: WardTable) -> str:
    """How many rows fall on each side of each reorganisation (by the wards they name)."""
    if not wards.change_dates or schema.ward_date not in df.columns or "ward" not in df.columns:
        return ""
    try:
        dates = pd.to_datetime(df[schema.ward_date], errors="coerce")
        ok = dates.notna()
        codes = wards.resolve(df.loc[ok, "ward"], dates[ok])
    except DataError:
        return ""  # reported as problems already
    parts = []
    for level in wards.levels():
        n = int(codes.isin(level.codes).sum())
        parts.append(f"{n:,} rows under the {level.describe()}")
    return "; ".join(parts)


def _population_problems(
    df: pd.DataFrame, schema: TableSchema, wards: WardTable, source: str
) -> list[Problem]:
    if schema.name not in _EXPOSURE_TABLES or "ward" not in df.columns:
        return []
    try:
        dates = pd.to_datetime(df[schema.ward_date], errors="coerce") if schema.ward_date else None
        codes = set(
            wards.resolve(df["ward"].dropna(), None if dates is None else dates[df["ward"].notna()])
        )
    except DataError:
        return []
    pop = wards.population(sorted(codes))
    lacking = [wards.name(c) for c, v in pop.items() if not (v > 0)]
    if not lacking:
        return []
    return [
        Problem(
            wards.source,
            "population",
            f"ward(s) {examples(lacking, 10)} appear in {source} but have no population",
            "rates in this table are per person: fill in population for these wards",
        )
    ]


def validate_file(
    path: Path,
    table: str | None = None,
    unit: str | None = None,
    time: str | None = None,
    counts: list[str] = (),
    numbers: list[str] = (),
    wards: WardTable | None = None,
) -> tuple[str, int, list[Problem]]:
    """Check one file; returns (what it was recognised as, number of rows, problems)."""
    source = str(path)
    if path.name == DATA_NOTES:
        try:
            notes = load_data_notes(path)
        except DataError as exc:
            return "data notes", 0, [Problem(source, None, str(exc).split(": ", 1)[-1])]
        return "data notes", len(notes.recording_changes), []
    if path.name.lower() in (WARDS_FILE, ADJACENCY_FILE, CROSSWALK_FILE):
        try:
            table_ = WardTable.read(path if path.name.lower() == WARDS_FILE else path.parent)
        except DataError as exc:
            return (
                "ward table",
                0,
                exc.problems or [Problem(source, None, str(exc).split(": ", 1)[-1])],
            )
        kind = {WARDS_FILE: "ward table", ADJACENCY_FILE: "adjacency", CROSSWALK_FILE: "crosswalk"}
        n = {
            WARDS_FILE: len(table_),
            ADJACENCY_FILE: len(table_.adjacency),
            CROSSWALK_FILE: len(table_.crosswalk),
        }
        return kind[path.name.lower()], n[path.name.lower()], []
    if path.suffix.lower() in (".yaml", ".yml") and path.name.startswith("truth"):
        return "planted truth of simulated data (not checked)", 0, []
    if path.suffix.lower() in (".yaml", ".yml"):
        from evaluation.data.registry import load_registry

        try:
            reg = load_registry(path, wards)
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
    problems = check_table(df, schema, source, wards)
    if wards is not None and not problems:
        problems += _population_problems(df, schema, wards, source)
    kind = schema.name
    if wards is not None and not problems:
        sides = _levels_line(df, schema, wards)
        kind += f"; {sides}" if sides else ""
    return kind, len(df), problems


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``pilot-eval validate`` (shared with ``python -m evaluation.data.validate``)."""
    parser.add_argument(
        "files",
        nargs="+",
        type=Path,
        help="CSV / XLSX / Parquet tables, wards.csv, a registry .yaml, or a data folder",
    )
    parser.add_argument(
        "--wards",
        type=Path,
        metavar="WARDS.csv",
        help="the district's ward table (default: wards.csv beside the first file that has one)",
    )
    parser.add_argument(
        "--table", choices=sorted(SCHEMAS), help="the kind of table (default: recognise it)"
    )
    parser.add_argument("--unit", help="ward column of a generic ward × period panel")
    parser.add_argument("--time", help="period column of a generic panel (dates)")
    parser.add_argument("--counts", nargs="*", default=[], help="count columns of the panel")
    parser.add_argument(
        "--numbers", nargs="*", default=[], help="other numeric columns of the panel"
    )


_READABLE = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq", ".yaml", ".yml")


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the readable files directly inside it."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out += sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in _READABLE)
        else:
            out.append(p)
    return out


def run(args: argparse.Namespace) -> int:
    """Check every file of ``args``; print each problem; 2 when any was found."""
    args.files = _expand(list(args.files))
    if not args.files:
        print("no data files found in the folders given", file=sys.stderr)
        return 2
    total = 0
    wards: WardTable | None = None
    where = args.wards or find_ward_table(*args.files)
    if where is not None:
        try:
            wards = WardTable.read(where)
        except DataError as exc:
            print(_printable(f"✗ {where}: the ward table is unusable"))
            for p in exc.problems or [str(exc)]:
                print(_printable(f"  - {p}"))
            print(
                "\nFix the ward table first: every other file is checked against it.",
                file=sys.stderr,
            )
            return 2
        print(_printable(f"✓ {wards.source}: ward table, {len(wards)} wards"))
        for line in wards.describe_changes():
            print(_printable(f"  reorganisation {line}"))
    else:
        print(
            f"! no ward table ({WARDS_FILE}) beside {args.files[0]}: ward names are not checked "
            "— add one (see data/README.md, or `pilot-eval init`), or pass --wards"
        )
    for path in args.files:
        if wards is not None and path.resolve() == Path(wards.source).resolve():
            continue
        kind, rows, problems = validate_file(
            path, args.table, args.unit, args.time, args.counts, args.numbers, wards
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="pilot-eval validate",
        description="Check data files, the ward table and pilot registries; print every problem.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
