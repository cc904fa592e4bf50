"""Seeded simulator of the demo district: 13 wards of Bắc Từ Liêm with planted effects.

``simulate_district(seed)`` returns every demo table and the truth; ``write_demo(folder)``
writes them as committed under ``data/demo/`` (plus ``params/pilots.yaml`` and
``data/README.md``). The same seed reproduces the same files byte for byte (CSV, YAML) or value
for value (Parquet); a test checks it. Run ``python -m evaluation.synthetic.demo --out data/demo``
(``make demo-data``).

What is planted and why: :mod:`evaluation.synthetic.demo.plan`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.plan import DEMO_FILES
from evaluation.synthetic.files import data_notes_yaml, dates_in_microseconds

__all__ = ["simulate_district", "write_demo", "DEMO_FILES"]


def simulate_district(seed: int = plan.SEED) -> dict[str, object]:
    """Simulate every demo table. Returns a dict of DataFrames plus ``truth`` (a dict)."""
    from evaluation.synthetic.demo.fires import simulate_electrical, simulate_fires
    from evaluation.synthetic.demo.security import simulate_antt
    from evaluation.synthetic.demo.traffic import simulate_traffic
    from evaluation.synthetic.demo.truth import summarise_truth

    streams = np.random.SeedSequence(seed).spawn(4)
    junctions, traffic, truth_traffic = simulate_traffic(np.random.default_rng(streams[0]))
    fires, truth_fire = simulate_fires(np.random.default_rng(streams[1]))
    electrical = simulate_electrical(np.random.default_rng(streams[2]))
    antt, antt_new, truth_antt = simulate_antt(np.random.default_rng(streams[3]))
    tables: dict[str, object] = {
        "junctions": junctions,
        "traffic": traffic,
        "fires": fires,
        "electrical": electrical,
        "antt": antt,
        "antt_new": antt_new,
        "truth_traffic": truth_traffic,
        "truth_fire": truth_fire,
        "truth_antt": truth_antt,
    }
    tables["truth"] = summarise_truth(tables, seed)
    return tables


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; these are shared, readable files
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _csv(df: pd.DataFrame, path: Path) -> None:
    _atomic_write(
        path,
        lambda tmp: df.to_csv(
            tmp, index=False, lineterminator="\n", date_format="%Y-%m-%d", encoding="utf-8"
        ),
    )


def _parquet(df: pd.DataFrame, path: Path) -> None:
    df = dates_in_microseconds(df)
    _atomic_write(path, lambda tmp: df.to_parquet(tmp, index=False, compression="zstd"))


def _text(text: str, path: Path) -> None:
    def write(tmp: str) -> None:
        Path(tmp).write_text(text, encoding="utf-8")

    _atomic_write(path, write)


def render_tables(tables: dict[str, object]) -> dict[str, object]:
    """Map file name (relative to the demo folder) → DataFrame or text, as written to disk."""
    import yaml

    traffic: pd.DataFrame = tables["traffic"]  # type: ignore[assignment]
    out: dict[str, object] = {DEMO_FILES["junctions"]: tables["junctions"]}
    for year in (2023, 2024, 2025):
        part = traffic[traffic["date"].dt.year == year].reset_index(drop=True)
        out[DEMO_FILES[f"traffic_{year}"]] = part
    for key in (
        "fires",
        "electrical",
        "antt",
        "antt_new",
        "truth_traffic",
        "truth_fire",
        "truth_antt",
    ):
        out[DEMO_FILES[key]] = tables[key]
    out[DEMO_FILES["notes"]] = data_notes_yaml(
        plan.data_notes()["recording_changes"],
        header="# How the demo data were recorded (read by every report; "
        "see evaluation/data/notes.py).\n",
    )
    out[DEMO_FILES["truth"]] = (
        "# Planted truth of the demo data (machine-readable). Written by evaluation.synthetic.demo;\n"
        "# do not edit: run `make demo-data`. Prose and tables: data/README.md.\n"
        + yaml.safe_dump(tables["truth"], allow_unicode=True, sort_keys=False, width=100)
    )
    return out


def write_demo(
    folder: str | Path = "data/demo",
    *,
    registry: str | Path = "params/pilots.yaml",
    readme: str | Path = "data/README.md",
    seed: int = plan.SEED,
) -> list[Path]:
    """Simulate and write the demo data set and its truth to ``folder``, the pilot registry to
    ``registry`` and the data dictionary to ``readme``.

    Every file is written atomically (temporary file, then rename), so an interrupted run
    never leaves a half-written table.
    """
    from evaluation.synthetic.demo.dictionary import data_readme
    from evaluation.synthetic.demo.registry import demo_registry_yaml

    folder = Path(folder)
    tables = simulate_district(seed)
    written = []
    for name, obj in render_tables(tables).items():
        path = folder / name
        if isinstance(obj, pd.DataFrame):
            (_parquet if name.endswith(".parquet") else _csv)(obj, path)
        else:
            _text(str(obj), path)
        written.append(path)
    _text(demo_registry_yaml(), Path(registry))
    _text(data_readme(tables), Path(readme))
    return written + [Path(registry), Path(readme)]
