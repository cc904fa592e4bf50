"""Data notes: events in how a district's data were recorded, which every analysis must know.

A data folder may hold ``data_notes.yaml``::

    # How these data were recorded (read by every report).
    recording_changes:
      - table: fires            # traffic | fires | electrical | antt
        date: 2024-01-01        # from this day on, the table counts differently
        vi: Từ 01/01/2024 mọi vụ cháy, kể cả vụ nhỏ, đều được lập hồ sơ.
        en: From 1 Jan 2024 every fire, small ones included, is recorded.

A recording change that hits every ward on the same day shifts every ward's counts together:
difference-in-differences with period effects removes it, a before/after comparison does not,
so the reports draw it on the charts and say so next to naive comparisons. Without the file
there are no notes (never a date taken from the demo data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from evaluation.data.io import yaml_problem
from evaluation.errors import DataError

__all__ = ["DATA_NOTES", "DataNotes", "RecordingChange", "load_data_notes"]

#: the file name inside a data folder
DATA_NOTES = "data_notes.yaml"
_TABLES = ("traffic", "fires", "electrical", "antt")


@dataclass(frozen=True)
class RecordingChange:
    """From ``date`` on, ``table`` was recorded differently (``vi``/``en`` say how)."""

    table: str
    date: pd.Timestamp
    vi: str = ""
    en: str = ""


@dataclass(frozen=True)
class DataNotes:
    """The notes of one data folder (empty when it has no ``data_notes.yaml``)."""

    recording_changes: tuple[RecordingChange, ...] = field(default_factory=tuple)
    source: str = ""

    def changes(self, table: str) -> list[RecordingChange]:
        """The recording changes of one table, by date."""
        return sorted((c for c in self.recording_changes if c.table == table), key=lambda c: c.date)


def load_data_notes(path: str | Path) -> DataNotes:
    """Read ``data_notes.yaml`` (no notes when the file does not exist).

    Raises
    ------
    DataError
        Naming the file, the entry and the key, for a table the workbench does not know, a
        date it cannot read, or a malformed file.
    """
    path = Path(path)
    if not path.exists():
        return DataNotes(source=str(path))
    import yaml

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise DataError(
            f"{path}: not valid YAML{yaml_problem(exc)} — check the indentation there"
        ) from None
    if not isinstance(doc, dict):
        raise DataError(
            f"{path}: expected keys such as 'recording_changes', got {type(doc).__name__}"
        )
    unknown = sorted(set(doc) - {"recording_changes"})
    if unknown:
        raise DataError(f"{path}: unknown key(s) {', '.join(unknown)}; known: recording_changes")
    changes = []
    for i, entry in enumerate(doc.get("recording_changes") or [], start=1):
        where = f"{path}, recording_changes entry {i}"
        if not isinstance(entry, dict) or "table" not in entry or "date" not in entry:
            raise DataError(
                f"{where}: needs 'table' and 'date' (and 'vi', 'en' to say what changed)"
            )
        if entry["table"] not in _TABLES:
            raise DataError(f"{where}: table {entry['table']!r} is not one of {', '.join(_TABLES)}")
        date = pd.to_datetime(str(entry["date"]), errors="coerce")
        if pd.isna(date):
            raise DataError(f"{where}: date {entry['date']!r} is not a date; write YYYY-MM-DD")
        changes.append(
            RecordingChange(
                entry["table"], date, str(entry.get("vi", "")), str(entry.get("en", ""))
            )
        )
    return DataNotes(tuple(changes), str(path))
