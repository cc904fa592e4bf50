"""A generated city, end to end through the path users take: the monthly plan copied beside its
data (data, registry and out changed), ``pilot-eval batch`` with the local executor.

The city (:func:`evaluation.synthetic.scenarios.city_scenario`) is not the demo: 30 generated
units in five districts of six, four junctions each, three years of traffic, fires and police
periods, and three programmes rolled out district by district — the traffic model (a pilot,
then three waves, one district never), fire points (an effect per district) and cameras with
**no** effect. Every run must succeed, every programme must have findings, every headline's
interval must hold the planted truth (the cameras' too: zero), and no ward, district or date
of the demo may reach a page.

``benchmarks/city.py`` runs the same path at 126 and 580 units and times it.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluation.data.wards import hanoi_reference, load_wards
from evaluation.report.index import unique_findings
from evaluation.synthetic.scenarios import city_scenario, city_universe, write_district
from evaluation.synthetic.scenarios.city import areas_of

ROOT = Path(__file__).resolve().parents[1]
#: every name of the demo district (its wards before and after 2025, its neighbours)
DEMO_NAMES = set(hanoi_reference().table["ward"]) | {"Bắc Từ Liêm"}
UNITS, DISTRICTS, SEED = 30, 5, 4


# ------------------------------------------------------------------------------ the generator


def test_a_city_before_2025_has_districts_of_neighbouring_wards():
    u = city_universe(580, districts=29)
    table = u.wards_csv()
    assert len(table) == 580 and table["ward"].is_unique and table["ward_code"].is_unique
    sizes = table["district"].value_counts()
    assert len(sizes) == 29 and sizes.between(19, 21).all()
    # a plausible spread that adds up to a city of millions
    assert 7e6 < table["population"].sum() < 1e7
    assert table["population"].min() >= 500 and table["population"].max() < 120_000
    # each district is a connected block of bordering wards
    district = dict(zip(table["ward"], table["district"], strict=True))
    links: dict[str, set[str]] = {}
    for a, b in u.adjacency_csv().itertuples(index=False):
        if district[a] == district[b]:
            links.setdefault(a, set()).add(b)
            links.setdefault(b, set()).add(a)
    for name, members in table.groupby("district")["ward"]:
        seen, todo = set(), [members.iloc[0]]
        while todo:
            w = todo.pop()
            if w not in seen:
                seen.add(w)
                todo += links.get(w, set()) - seen
        assert seen == set(members), name


def test_a_city_after_2025_has_no_district_level():
    u = city_universe(126)
    assert "district" not in u.wards_csv().columns
    assert len(areas_of(u)) == 6  # rolled out by blocks of about 20 units


def test_the_city_scenario_staggers_three_programmes_across_districts():
    s = city_scenario(580, seed=1, districts=29)
    district = dict(zip(s.universe.names, s.universe.districts, strict=True))
    wave_districts = [{district[w] for w in wave.wards} for wave in s.waves]
    assert [w.name for w in s.waves] == ["A", "B", "C"]
    # whole districts per wave, no district in two waves, some never treated
    assert all(not (a & b) for i, a in enumerate(wave_districts) for b in wave_districts[i + 1 :])
    treated = set().union(*wave_districts) | {district[s.pilot_ward]}
    assert 0 < 29 - len(treated) <= 10
    # fire points: each district opens on its own date
    fire_dates = {}
    for ward, start, _ in s.fire_points:
        fire_dates.setdefault(district[ward], set()).add(start)
    assert all(len(d) == 1 for d in fire_dates.values()) and len(fire_dates) == 29
    assert len({next(iter(d)) for d in fire_dates.values()}) > 20
    assert s.camera_effect_pp == 0.0 and len(s.camera_starts) > 400  # the programme with none
    assert s.junctions_per_ward == 4
    assert pd.Timestamp(s.traffic_end) - pd.Timestamp(s.traffic_start) > pd.Timedelta(days=1090)


def test_the_same_seed_gives_the_same_city_and_another_seed_another():
    a, b = city_scenario(60, seed=2), city_scenario(60, seed=2)
    assert a.to_dict() == b.to_dict()
    assert city_scenario(60, seed=3).to_dict() != a.to_dict()


# ------------------------------------------------------------------------------ end to end


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    exe = Path(sys.executable).with_name("pilot-eval")
    if not exe.exists():
        pytest.skip("console script pilot-eval not installed in this environment")
    base = tmp_path_factory.mktemp("city")
    scenario = city_scenario(UNITS, SEED, districts=DISTRICTS)
    truth = write_district(base / "data", scenario, seed=SEED)
    text = (ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8")
    for old, new in (
        ("data: ../data/demo", "data: data"),
        ("registry: pilots.yaml", "registry: data/pilots.yaml"),
        ("out: ../output", "out: out"),
    ):
        assert old in text
        text = text.replace(old, new)
    text = "\n".join(
        'title: "Thành phố mô phỏng / simulated city"' if line.startswith("title:") else line
        for line in text.splitlines()
    )
    (base / "plan.yaml").write_text(text + "\n", encoding="utf-8")
    validate = subprocess.run(
        [str(exe), "validate", "data", "data/pilots.yaml"], capture_output=True, text=True, cwd=base
    )
    proc = subprocess.run(
        [str(exe), "batch", "plan.yaml", "--executor", "local", "--quiet"],
        capture_output=True,
        text=True,
        timeout=3600,
        cwd=base,
    )
    return scenario, truth, base, validate, proc


def _findings(out: Path) -> list[dict]:
    found = []
    for path in sorted((out / "results").glob("*.json")):
        found += json.loads(path.read_text(encoding="utf-8"))
    return found


@pytest.mark.slow
def test_the_city_is_valid_input_and_reads_as_a_district(city):
    scenario, _, base, validate, _ = city
    assert validate.returncode == 0, validate.stdout[-3000:] + validate.stderr[-2000:]
    table = load_wards(base / "data" / "wards.csv")
    assert sorted(table.table["ward"]) == sorted(scenario.universe.names)
    assert len(table.districts()) == DISTRICTS


@pytest.mark.slow
def test_every_run_of_the_city_succeeds(city):
    scenario, _, base, _, proc = city
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    manifest = json.loads((base / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert {r["status"] for r in manifest["runs"]} == {"ok"}
    # every unit of every district has its report: the city's wards are all its own
    wards = sorted(r["ward"] for r in manifest["runs"] if r.get("ward"))
    assert wards == sorted(scenario.universe.names)
    # each run recorded where its time went, the batch its index
    assert all({"findings", "reports"} <= set(r["stages"]) for r in manifest["runs"])
    assert manifest["stages"]["index"] > 0


@pytest.mark.slow
def test_every_programme_has_findings_and_the_headlines_hold_the_planted_truth(city):
    _, _, base, _, _ = city
    found = _findings(base / "out")
    assert {f["programme"] for f in found} == {"traffic_model", "fire_point", "camera"}
    heads = {f["finding_id"]: f for f in found if f["role"] == "headline" and f["estimate"]}
    assert {f["programme"] for f in heads.values()} == {"traffic_model", "fire_point", "camera"}
    for fid, f in heads.items():
        t = f["truth"]
        assert t is not None, fid
        assert f["ci_low"] <= t <= f["ci_high"], (fid, f["ci_low"], t, f["ci_high"])
        assert f["verdict_category"] != "worsened", fid
    # the traffic model and the fire points work; the cameras do nothing, and are not said to
    improved = {f["programme"] for f in heads.values() if f["verdict_category"] == "improved"}
    assert {"traffic_model", "fire_point"} <= improved and "camera" not in improved
    with open(base / "out" / "findings.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # every finding once (a finding several pages show is one row: unique_findings)
    assert len(rows) == len(unique_findings(found)[0])
    assert {r["programme"] for r in rows} == {"traffic_model", "fire_point", "camera"}


@pytest.mark.slow
def test_no_ward_or_district_of_the_demo_reaches_a_page(city):
    _, _, base, _, _ = city
    out = base / "out"
    pages = [out / "index.html", *sorted((out / "reports").glob("*.html"))]
    assert len(pages) == 1 + 4 + UNITS
    for page in pages:
        text = page.read_text(encoding="utf-8")
        leaked = sorted(n for n in DEMO_NAMES if n in text)
        assert not leaked, (page.name, leaked)
