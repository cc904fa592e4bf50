"""``pilot-eval init DIR --data DATA``: start a new district from its data.

Writes, into ``DIR`` (created; an existing file is never overwritten):

* ``plan.yaml`` — a batch plan that points at ``DATA``, the registry and the ward table
  beside it, and names the workbench's notebooks by file name only, so the plan finds them
  wherever it lies (:func:`evaluation.batch.plan.workbench_notebooks`);
* ``pilots.yaml`` — a pilot registry template: one example programme and, as comments, one
  entry per ward found in the data, ready to be filled in;
* ``wards.csv`` — when ``DATA`` holds none: the district's ward table with every ward name
  found in the data (one row each, a placeholder code, population to fill in), which
  ``pilot-eval validate`` then checks.

Nothing here guesses what it cannot know: populations, codes, which ward started which
programme and when are the district's to write; the printed next steps say where.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path

import pandas as pd

from evaluation.data.io import read_table
from evaluation.data.schema import detect_schema
from evaluation.data.wards import WARDS_FILE
from evaluation.errors import DataError, PlanError
from evaluation.i18n import say

__all__ = ["init_district"]

_READABLE = (".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".parquet", ".pq")
_NOTEBOOKS = (
    "district_summary.ipynb",
    "congestion_pilot.ipynb",
    "fire_incidents.ipynb",
    "ward_report.ipynb",
    "rollout_plan.ipynb",
)


def _ward_names(data: Path) -> list[str]:
    """Every distinct ward name in the data folder's tables, in order of first appearance."""
    seen: dict[str, None] = {}
    for path in sorted(data.iterdir()):
        if not path.is_file() or path.suffix.lower() not in _READABLE:
            continue
        if path.name.lower() in (WARDS_FILE, "adjacency.csv", "crosswalk.csv"):
            continue
        try:
            df = read_table(path)
        except DataError:
            continue
        if detect_schema(list(df.columns), path.name) is None or "ward" not in df.columns:
            continue
        for name in df["ward"].dropna().astype(str):
            key = " ".join(unicodedata.normalize("NFC", name).split())
            if key:
                seen.setdefault(key, None)
    return list(seen)


def _registry_text(names: list[str]) -> str:
    name, short = say("Programme name"), say("Programme")
    entries = "\n".join(
        f"  # - {{ward: {n}, programme: my_programme, start: 'YYYY-MM-DD'}}" for n in names
    )
    return f"""\
# Pilot registry: which ward started which programme when (see data/README.md).
#
# programmes: one block per programme — name_vi/name_en, short_vi/short_en (short names on
#   charts), domain (traffic | fire | security), outcomes (the first is its headline), optional
#   anticipation_days, target (e.g. {{outcome: congestion_minutes, change: -0.20, source: ...}}).
# pilots: one entry per ward × programme with its start date; optional wave ("pilot" marks the
#   pilot ward), interim_review, final_review, dose. A ward without an entry never took it.

programmes:
  my_programme:
    name_vi: {name.vi}
    name_en: {name.en}
    short_vi: {short.vi}
    short_en: {short.en}
    domain: traffic
    outcomes: [congestion_minutes, avg_speed_kmh]

pilots:
  # one line per ward that started the programme (the wards found in the data):
{entries if entries else "  # - {ward: ..., programme: my_programme, start: 'YYYY-MM-DD'}"}
  []
"""


def _plan_text(folder: Path, data: Path, wards_path: Path | None) -> str:
    rel = os.path.relpath(data, folder)
    title = say("Pilot evaluation — {district}", district=folder.name)
    lines = [
        "# Batch plan written by `pilot-eval init` — paths are relative to this file.",
        "# Run it with: pilot-eval batch plan.yaml",
        f'title: "{title.vi} / {title.en}"',
        f"data: {rel}",
        "registry: pilots.yaml",
    ]
    if wards_path is not None:
        lines.append(f"ward_table: {os.path.relpath(wards_path, folder)}")
    lines += [
        "out: output",
        "timeout: 900",
        "wards: all                # the district's own wards (its ward table)",
        "# The workbench's notebooks, by name: found wherever this plan lies.",
        "notebooks:",
        *[f"  - notebook: {nb}" for nb in _NOTEBOOKS],
    ]
    return "\n".join(lines) + "\n"


def _write_new(path: Path, text: str) -> Path:
    if path.exists():
        raise PlanError(
            f"{path} already exists — init never overwrites; remove it or pick a new folder"
        )
    path.write_text(text, encoding="utf-8")
    return path


def init_district(
    folder: str | os.PathLike, data: str | os.PathLike
) -> tuple[list[Path], list[str]]:
    """Write the plan, the registry template and (when missing) the ward table; returns the
    files written and the next steps to print."""
    folder, data = Path(folder), Path(data)
    if not data.is_dir():
        raise PlanError(
            f"--data {str(data)!r} is not a folder — give the folder holding the district's tables"
        )
    names = _ward_names(data)
    if not names:
        raise PlanError(
            f"--data {str(data)!r}: no table with a 'ward' column found (traffic, fire incidents, "
            "security, electrical incidents; see data/README.md)"
        )
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    steps = []
    own = data / WARDS_FILE
    wards_path = None
    if not own.exists():
        wards_path = folder / WARDS_FILE
        table = pd.DataFrame(
            {
                "ward": names,
                "ward_code": [f"W{i + 1:03d}" for i in range(len(names))],
                "population": [""] * len(names),
                "district": [""] * len(names),
                "aliases": [""] * len(names),
                "urban_class": [""] * len(names),
                "valid_from": [""] * len(names),
                "valid_to": [""] * len(names),
            }
        )
        if wards_path.exists():
            raise PlanError(f"{wards_path} already exists — init never overwrites")
        table.to_csv(wards_path, index=False, lineterminator="\n", encoding="utf-8")
        written.append(wards_path)
        steps.append(
            f"fill in {wards_path}: each ward's population (the exposure of every rate), its "
            "real code, district and urban class; merge spellings of one ward into one row "
            "(list the others under aliases, separated by ;)"
        )
    written.append(_write_new(folder / "pilots.yaml", _registry_text(names)))
    written.append(
        _write_new(
            folder / "plan.yaml",
            _plan_text(
                folder.resolve(), data.resolve(), wards_path.resolve() if wards_path else None
            ),
        )
    )
    steps += [
        f"describe the programmes and their start dates in {folder / 'pilots.yaml'}",
        f"check everything: pilot-eval validate {data} {folder / 'pilots.yaml'}"
        + (f" --wards {wards_path}" if wards_path else ""),
        f"run it: pilot-eval batch {folder / 'plan.yaml'}",
    ]
    return written, steps
