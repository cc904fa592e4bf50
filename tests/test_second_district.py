"""Another district, end to end through the documented paths: a copied plan, and ``init``.

Its data are written by a generator other than the demo's (:mod:`evaluation.synthetic.scenarios`)
for a district that is not Bắc Từ Liêm — Cầu Giấy's eight wards, with their own ward table —
with the pilot in Dịch Vọng Hậu, two waves in other months and other effects. As the README
tells a user: copy the monthly plan next to the data, point it at the data and the registry,
run ``pilot-eval batch``. Then the pilot evaluated must be the registry's pilot, no ward, date
or name of the demo district may appear on any page, and every headline verdict must be right
against the planted truth.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.analysis.outcomes import outcome_info
from evaluation.data.wards import hanoi_reference
from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district
from tests import page_checks

ROOT = Path(__file__).resolve().parents[1]
DEMO_PILOT, DEMO_WAVE_A = "Cổ Nhuế 2", "2024-07-01"
#: every name of the demo district: none may reach another district's pages
BTL_NAMES = set(hanoi_reference().table["ward"]) | {"Bắc Từ Liêm"}

CAU_GIAY = Universe.of(
    "Cầu Giấy",
    ["Quan Hoa", "Nghĩa Đô", "Nghĩa Tân", "Mai Dịch", "Dịch Vọng", "Dịch Vọng Hậu",
     "Trung Hòa", "Yên Hòa"],
    [36_000, 45_000, 24_000, 41_000, 28_000, 29_000, 58_000, 42_000],
    adjacency=[("Quan Hoa", "Dịch Vọng"), ("Quan Hoa", "Nghĩa Đô"), ("Dịch Vọng", "Dịch Vọng Hậu"),
               ("Dịch Vọng Hậu", "Mai Dịch"), ("Mai Dịch", "Nghĩa Tân"), ("Nghĩa Tân", "Nghĩa Đô"),
               ("Trung Hòa", "Yên Hòa"), ("Yên Hòa", "Quan Hoa"), ("Trung Hòa", "Dịch Vọng Hậu")],
    codes=["00160", "00157", "00169", "00167", "00163", "00166", "00175", "00172"],
)  # fmt: skip


def cau_giay_scenario() -> Scenario:
    """A pilot in Dịch Vọng Hậu, two waves, two wards left untreated; −25 % congestion."""
    return Scenario(
        universe=CAU_GIAY,
        pilot_ward="Dịch Vọng Hậu",
        pilot_start="2024-03-11",
        pilot_effect=-0.25,
        waves=(
            Wave("A", "2024-08-05", ("Mai Dịch", "Nghĩa Tân", "Trung Hòa"), -0.25),
            Wave("B", "2024-11-04", ("Quan Hoa", "Yên Hòa"), -0.25),
        ),
        fire_points=(
            ("Trung Hòa", "2022-10-03", -0.2),
            ("Nghĩa Đô", "2023-01-09", -0.2),
            ("Mai Dịch", "2023-05-15", -0.2),
            ("Dịch Vọng", "2023-09-11", -0.2),
        ),
        camera_starts=(
            ("Quan Hoa", "2022-06-15"),
            ("Yên Hòa", "2022-09-15"),
            ("Dịch Vọng Hậu", "2023-01-15"),
            ("Mai Dịch", "2023-04-15"),
            ("Trung Hòa", "2023-08-15"),
        ),
        common_programme=None,
    )


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The README's path: monthly.yaml copied next to the district's data, its data, registry
    and out keys edited — nothing else (the notebooks are found wherever the plan lies)."""
    exe = Path(sys.executable).with_name("pilot-eval")
    if not exe.exists():
        pytest.skip("console script pilot-eval not installed in this environment")
    base = tmp_path_factory.mktemp("caugiay")
    data = base / "data"
    scenario = cau_giay_scenario()
    truth = write_district(data, scenario, seed=2)
    text = (ROOT / "params" / "monthly.yaml").read_text(encoding="utf-8")
    text = (
        text.replace("data: ../data/demo", "data: data")
        .replace("registry: pilots.yaml", "registry: data/pilots.yaml")
        .replace("out: ../output", "out: out")
        .replace(
            'title: "Đánh giá các mô hình thí điểm quận Bắc Từ Liêm — báo cáo tháng / Bắc Từ Liêm '
            'pilot evaluation — monthly report"',
            'title: "Cầu Giấy — báo cáo tháng / monthly report"',
        )
    )
    path = base / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    proc = subprocess.run(
        [str(exe), "batch", str(path)], capture_output=True, text=True, timeout=1800, cwd=base
    )
    return scenario, truth, base / "out", proc


def _findings(out: Path) -> list[dict]:
    found = []
    for path in sorted((out / "results").glob("*.json")):
        found += json.loads(path.read_text(encoding="utf-8"))
    return found


def test_the_batch_runs_every_notebook(run):
    _, _, out, proc = run
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert {r["status"] for r in manifest["runs"]} == {"ok"}
    assert (out / "index.html").exists()


def test_the_pilot_is_the_registry_pilot_not_the_demo_default(run):
    scenario, _, out, _ = run
    pilot = [f for f in _findings(out) if f.get("level") == "pilot"]
    assert pilot and {f["ward"] for f in pilot} == {scenario.pilot_ward}
    assert scenario.pilot_ward != DEMO_PILOT
    head = next(f for f in pilot if f["role"] == "headline")
    assert head["window"][0] == str(scenario.pilot_start)[:10]


def test_no_demo_date_pilot_or_ward_name_reaches_any_page(run):
    _, _, out, _ = run
    # the demo's first wave (01/07/2024) must not be the start of any traffic answer here; a fire
    # quarter may begin on 1 July by its own calendar
    for f in _findings(out):
        if f.get("window") and f["programme"] == "traffic_model":
            assert DEMO_WAVE_A not in f["window"], f["finding_id"]
            assert "01/07/2024" not in (f.get("window_text") or ""), f["finding_id"]
    pages = [out / "index.html", *sorted((out / "reports").glob("*.html"))]
    assert len(pages) == 1 + 4 + 8  # the district notebooks and one report per ward
    for page in pages:
        text = page.read_text(encoding="utf-8")
        leaked = sorted(n for n in BTL_NAMES if n in text)
        assert not leaked, (page.name, leaked)


def test_its_pages_read_on_a_phone_print_on_a4_and_write_no_yyyy_mm_dd(run):
    _, _, out, _ = run
    for page in [out / "index.html", *sorted((out / "reports").glob("*.html"))]:
        html = page.read_text(encoding="utf-8")
        assert page_checks.table_problems(html) == [], page.name
        assert page_checks.wide_settings(html) == [], page.name
        assert page_checks.print_problems(html) == [], page.name
        assert page_checks.iso_dates(html) == [], page.name
        assert page_checks.english_only(html) == [], page.name


def test_wards_all_means_this_districts_wards(run):
    _, _, out, _ = run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    wards = sorted(r["ward"] for r in manifest["runs"] if r.get("ward"))
    assert wards == sorted(CAU_GIAY.names)


def test_every_headline_verdict_is_right_against_the_planted_truth(run):
    _, _, out, _ = run
    heads = {}
    for f in _findings(out):
        if f.get("role") == "headline" and f["estimate"] is not None:
            heads[f["finding_id"]] = f
    assert heads
    for fid, f in heads.items():
        t = f["truth"]
        assert t is not None, fid
        assert f["ci_low"] <= t <= f["ci_high"], (fid, f["ci_low"], t, f["ci_high"])
        lower_is_better = outcome_info(f["outcome"]).lower_is_better
        if f["verdict_category"] == "improved":
            assert (t < 0) == lower_is_better, fid  # the planted effect is an improvement
        assert f["verdict_category"] != "worsened", fid  # every planted effect improves


def test_copying_the_plan_keeps_the_outputs_of_other_runs(run, tmp_path):
    """Nothing lost: a single run into the batch folder adds or replaces only its own files."""
    scenario, truth, out, _ = run
    before = {p.relative_to(out) for p in out.rglob("*") if p.is_file()}
    exe = Path(sys.executable).with_name("pilot-eval")
    target = tmp_path / "copy"
    shutil.copytree(out, target)
    proc = subprocess.run(
        [
            str(exe),
            "run",
            str(ROOT / "notebooks" / "ward_report.ipynb"),
            "-p",
            "ward",
            scenario.pilot_ward,
            "-p",
            "data_dir",
            str(truth.folder),
            "-p",
            "registry_path",
            str(truth.registry_path),
            "--out",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    after = {p.relative_to(target) for p in target.rglob("*") if p.is_file()}
    if proc.returncode == 0:  # it added or replaced its own files only
        assert before <= after, sorted(before - after)[:10]
    else:  # or it refused, saying why, and left everything as it was
        assert "--out" in proc.stderr + proc.stdout and after == before
    assert not (target / ".pilot-eval.lock").exists()
