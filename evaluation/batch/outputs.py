"""What a batch writes from its runs' findings: the findings tables and the index page.

The tables are for people who work in Excel (``findings.xlsx``) or any other tool
(``findings.csv``); the index is rendered by :mod:`evaluation.report.html`. Both are written
atomically, the index last, so that it never links to a table that is not there yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from evaluation.analysis.record import read_findings
from evaluation.batch.manifest import SUCCEEDED
from evaluation.core.files import write_text_atomic
from evaluation.errors import DataError
from evaluation.report.index import render_index, unique_findings
from evaluation.report.workbook import write_findings_tables

__all__ = [
    "WardGroups",
    "collect_findings",
    "findings_count",
    "ward_groups",
    "write_index",
    "write_tables",
]


def collect_findings(out_dir: Path, records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The findings of every run that succeeded, each with its run id and report.

    A results file that cannot be read back (changed under the batch, say) means the run did
    not succeed after all: its record is marked failed, with the reason.
    """
    findings: list[dict[str, Any]] = []
    for rec in records:
        if rec["status"] not in SUCCEEDED:
            continue
        try:
            items = read_findings(out_dir / rec["outputs"]["results"])
        except DataError as exc:
            error = {
                "ename": "DataError",
                "evalue": str(exc),
                "cell_index": None,
                "cell_source": None,
            }
            rec.update(status="failed", error=error)
            continue
        for item in items:
            findings.append({"run_id": rec["id"], "report": rec["outputs"]["html"], **item})
    return findings


def write_index(
    out_dir: Path,
    manifest: Mapping[str, Any],
    findings: Sequence[Mapping],
    wards: WardGroups | None = None,
) -> None:
    """``index.html``: what the batch found, or, while it runs, that it has not finished."""
    info, kind = wards if wards is not None else ({}, None)
    page = render_index(manifest, findings, out_dir, wards=info, group_kind=kind)
    write_text_atomic(out_dir / "index.html", page)


#: each ward's code and group, and what the groups are (see :func:`ward_groups`)
WardGroups = tuple[dict[str, dict[str, str]], str | None]


def ward_groups(ward_table: Path | None, data: Path | None = None) -> WardGroups:
    """The ward table's wards for the index: each ward's code and its group — its district
    when the table names two or more, else (a table of old wards with a crosswalk) the new ward
    that took most of its population — and which of the two the groups are. The table is the
    plan's ``ward_table``, else the data folder's ``wards.csv``; without one (or with one that
    cannot be read: the plan's check names its problems), none."""
    from evaluation.data.wards import find_ward_table, load_wards

    ward_table = ward_table or find_ward_table(data)
    if ward_table is None:
        return {}, None
    try:
        table = load_wards(ward_table)
    except (DataError, OSError):
        return {}, None
    t = table.table
    info = {str(w): {"code": str(c)} for w, c in zip(t["ward"], t["ward_code"], strict=True)}
    district = t["district"].fillna("").astype(str).str.strip()
    if district[district != ""].nunique() >= 2:
        for w, d in zip(t["ward"], district, strict=True):
            if d:
                info[str(w)]["group"] = d
        return info, "district"
    if table.has_crosswalk:
        names = table.name_of
        pieces = table.pieces("pop_share").sort_values("share", ascending=False)
        for old, new in pieces.drop_duplicates("old_code")[["old_code", "new_code"]].itertuples(
            index=False
        ):
            if old in names and new in names:
                info[names[old]]["group"] = names[new]
        return info, "new_ward"
    return info, None


def write_tables(out_dir: Path, findings: Sequence[Mapping[str, Any]]) -> None:
    """``findings.csv`` and ``findings.xlsx``: one row per finding
    (:func:`evaluation.report.workbook.write_findings_tables`)."""
    write_findings_tables(out_dir, findings)


def findings_count(findings: list[dict[str, Any]]) -> str:
    """What the terminal says it counted, in the words the index uses: distinct findings (each
    once, as in findings.csv and on the index), and the rows the pages show (a district finding
    appears on every ward page it answers for)."""
    n = len(unique_findings(findings)[0])
    if n == len(findings):
        return f"{n} findings"
    return f"{n} findings (findings.csv, index.html; {len(findings)} rows across the pages)"
