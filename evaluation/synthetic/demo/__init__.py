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

from evaluation.synthetic.demo import geography, plan
from evaluation.synthetic.demo.plan import DEMO_FILES
from evaluation.synthetic.files import data_notes_yaml, dates_in_microseconds

__all__ = ["simulate_district", "write_demo", "DEMO_FILES"]


RECORDED = ("new", "old")


def simulate_district(seed: int = plan.SEED, recorded: str = "new") -> dict[str, object]:
    """Simulate every demo table. Returns a dict of DataFrames plus ``truth`` (a dict).

    The district's 13 wards are drawn from the first four streams of ``seed`` (as before the
    bordering wards existed), the five bordering wards of neighbouring districts from streams
    of their own, sharing the district's weather. ``recorded="new"`` writes the rows from
    1 July 2025 under the new wards, as records are kept (:mod:`.records`); ``"old"`` keeps
    every row under its old ward — the same draws, so the two differ only in how rows are
    named (a test checks that the pilot's findings do not move).
    """
    from evaluation.synthetic.demo.fires import simulate_electrical, simulate_fires
    from evaluation.synthetic.demo.geography import outside_wards
    from evaluation.synthetic.demo.records import record_under_new_wards
    from evaluation.synthetic.demo.security import simulate_antt
    from evaluation.synthetic.demo.traffic import simulate_traffic
    from evaluation.synthetic.demo.truth import summarise_truth

    if recorded not in RECORDED:
        raise ValueError(f"recorded must be one of {RECORDED}, not {recorded!r}")
    streams = np.random.SeedSequence(seed).spawn(6)
    rng = [np.random.default_rng(s) for s in streams[:4]]
    weather: dict = {}
    junctions, traffic, truth_traffic = simulate_traffic(rng[0], weather=weather)
    fires, truth_fire = simulate_fires(rng[1])
    electrical = simulate_electrical(rng[2])
    antt, antt_new, truth_antt = simulate_antt(rng[3])

    outside = outside_wards()
    orng = [np.random.default_rng(s) for s in streams[4].spawn(4)]
    oj, ot, ott = simulate_traffic(orng[0], outside, rain=weather["rain"])
    of, otf = simulate_fires(orng[1], outside, id_prefix="FN")
    oe = simulate_electrical(orng[2], outside)
    oa, oa_new, ota = simulate_antt(orng[3], outside)

    def cat(a: pd.DataFrame, b: pd.DataFrame, order: list[str]) -> pd.DataFrame:
        return (
            pd.concat([a, b], ignore_index=True)
            .sort_values(order, kind="stable")
            .reset_index(drop=True)
        )

    new_keys = ["ward", "period_start", "period_end"]
    count_cols = [c for c in antt_new.columns if c not in new_keys]
    tables: dict[str, object] = {
        "junctions": pd.concat([junctions, oj], ignore_index=True),
        "traffic": cat(traffic, ot, ["date", "junction_id", "peak"]),
        "fires": cat(fires, of, ["date", "hour", "incident_id"]),
        "electrical": pd.concat([electrical, oe], ignore_index=True),
        "antt": pd.concat([antt, oa], ignore_index=True),
        "antt_new": pd.concat([antt_new, oa_new], ignore_index=True)
        .groupby(new_keys, as_index=False, sort=True)[count_cols]
        .sum(),
        "truth_traffic": pd.concat([truth_traffic, ott], ignore_index=True),
        "truth_fire": pd.concat([truth_fire, otf], ignore_index=True),
        "truth_antt": pd.concat([truth_antt, ota], ignore_index=True),
    }
    if recorded == "new":
        tables = record_under_new_wards(tables, np.random.default_rng(streams[5]))
    else:
        tables["antt"] = tables["antt"].sort_values(["ward", "period_start"], kind="stable")
    tables.pop("antt_new")
    tables["truth"] = summarise_truth(tables, seed)
    tables["recorded"] = recorded
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
        "truth_traffic",
        "truth_fire",
        "truth_antt",
    ):
        out[DEMO_FILES[key]] = tables[key]
    recorded = tables.get("recorded", "new")
    out[DEMO_FILES["wards"]] = geography.ward_table(recorded)
    adjacency = geography.adjacency()
    if recorded == "old":  # no reorganisation: the old wards' borders only, no crosswalk
        names = set(geography.ward_table("old")["ward"])
        adjacency = adjacency[adjacency["ward_a"].isin(names) & adjacency["ward_b"].isin(names)]
    out[DEMO_FILES["adjacency"]] = adjacency
    if recorded == "new":
        out[DEMO_FILES["crosswalk"]] = geography.crosswalk()
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
    recorded: str = "new",
) -> list[Path]:
    """Simulate and write the demo data set and its truth to ``folder``, the pilot registry to
    ``registry`` and the data dictionary to ``readme``.

    Every file is written atomically (temporary file, then rename), so an interrupted run
    never leaves a half-written table.
    """
    from evaluation.synthetic.demo.dictionary import data_readme
    from evaluation.synthetic.demo.registry import demo_registry_yaml

    folder = Path(folder)
    tables = simulate_district(seed, recorded)
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
