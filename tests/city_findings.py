"""A city's findings without running its analysis: generated wards in generated districts, and
findings made by the analysis layer's own classes (``Finding``, the verdict policy, ``record``),
so the index meets the records, texts and verdicts a real city batch writes.

Used by tests/test_city_index.py; ``python -m tests.city_findings UNITS DISTRICTS FOLDER`` writes
a run folder's index for a look in a browser (and for benchmarks/index_open.py).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.analysis.findings import Finding, apply_policy, not_estimable
from evaluation.results import Estimate
from evaluation.synthetic.scenarios import Universe
from evaluation.synthetic.scenarios.universe import NAME_POOL

#: programme → (Vietnamese name, English name, [(outcome, planted effect, noise, baseline)])
PROGRAMMES = {
    "traffic_model": (
        "Giao thông an toàn và thông suốt",
        "Safe and smooth traffic",
        [
            ("congestion_minutes", -5.0, 2.5, 32.0),
            ("avg_speed_kmh", 1.2, 0.8, 21.0),
            ("traffic_accidents", 0.0, 0.6, 3.0),
        ],
    ),
    "fire_point": (
        "Điểm chữa cháy công cộng",
        "Public fire-fighting points",
        [("fires", -0.15, 0.12, 1.4)],
    ),
    "camera": (
        "Camera an ninh cộng đồng",
        "Community security cameras",
        [("solved_share", 6.0, 3.0, 55.0), ("theft_cases", 0.0, 0.5, 4.0)],
    ),
}


def city_wards(n_units: int, n_districts: int, seed: int = 0) -> pd.DataFrame:
    """A city's ``wards.csv``: ``n_units`` generated wards (unique names, codes, populations),
    in ``n_districts`` districts of about equal size, each named after a place."""
    rng = np.random.default_rng(seed)
    universe = Universe.generated(n_units, rng, district="Thành phố Mẫu", code_start=30000)
    table = universe.wards_csv()
    places = rng.permutation(len(NAME_POOL))[:n_districts]
    names = [f"Quận {NAME_POOL[i]} Mới" for i in places]
    table["district"] = [names[i * n_districts // n_units] for i in range(n_units)]
    return table


def slug(name: str) -> str:
    text = unicodedata.normalize("NFD", name).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def city_findings(wards: pd.DataFrame, seed: int = 0) -> list[dict]:
    """Every programme's city-wide headline and its treated wards' own findings (a few wards
    without a number of their own), judged under the one verdict policy."""
    rng = np.random.default_rng(seed)
    names = wards["ward"].tolist()
    window = (pd.Timestamp("2024-01-01"), pd.Timestamp("2025-06-30"))
    records = []
    for programme, (name_vi, name_en, outcomes) in PROGRAMMES.items():
        treated = [w for w in names if rng.random() < 0.6]
        made: list[Finding] = []
        for outcome, effect, noise, baseline in outcomes:
            head = f"{programme}:{outcome}:district"
            made.append(
                _finding(
                    head, programme, outcome, "district", "headline", head, effect,
                    noise / np.sqrt(len(treated)), baseline, window, treated,
                )
            )  # fmt: skip
            for ward in treated:
                fid = f"{programme}:{outcome}:ward:{ward}"
                family = f"{programme}:{outcome}:wards"
                if rng.random() < 0.1:
                    made.append(
                        not_estimable(
                            fid, programme, outcome, level="ward", role="ward", family=family,
                            reason_vi="Không còn phường nào chưa triển khai để so sánh.",
                            reason_en="No ward was left untreated to compare with.",
                            ward=ward, covered_by=head,
                        )
                    )  # fmt: skip
                    continue
                estimate = effect + rng.normal(0, noise)
                f = _finding(
                    fid, programme, outcome, "ward", "ward", family, estimate, noise,
                    baseline, window, [ward],
                )  # fmt: skip
                f.ward = ward
                made.append(f)
        apply_policy(made)
        for f in made:
            rec = f.record("district_summary", programme_vi=name_vi, programme_en=name_en)
            run = f"ward_report--{slug(f.ward)}" if f.ward else "district_summary"
            records.append({"run_id": run, "report": f"reports/{run}.html", **rec})
    return records


def _finding(
    fid, programme, outcome, level, role, family, estimate, se, baseline, window, treated
) -> Finding:
    from scipy import stats

    p = float(2 * stats.norm.sf(abs(estimate) / se))
    est = Estimate(
        estimate=float(estimate),
        se=float(se),
        ci_low=float(estimate - 1.96 * se),
        ci_high=float(estimate + 1.96 * se),
        pvalue=p,
        method="TWFE (least squares)",
        inference="generated for a test of the index",
        inference_method="cluster",
        outcome=outcome,
    )
    return Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        level=level,
        role=role,
        family=family,
        estimate=est,
        method_vi="sai khác kép (TWFE)",
        method_en="difference in differences (TWFE)",
        design_vi=f"{len(treated)} phường so với các phường chưa triển khai.",
        design_en=f"{len(treated)} wards against the wards not yet treated.",
        baseline=baseline,
        window=window,
        wards=list(treated),
        question_vi=f"Mô hình có tác động đến {outcome} trên toàn thành phố không?",
        question_en=f"Did the programme change {outcome} across the city?",
    )


def city_manifest(wards: pd.DataFrame, title: str = "Thành phố Mẫu / Generated city") -> dict:
    """A finished batch's manifest: the city's district notebooks and one report per ward."""
    runs = [
        {"id": rid, "notebook": f"{rid}.ipynb", "ward": None, "status": "ok", "duration_s": 30.0}
        for rid in ("district_summary", "congestion_pilot", "fire_incidents", "rollout_plan")
    ]
    for ward in wards["ward"]:
        rid = f"ward_report--{slug(ward)}"
        runs.append(
            {
                "id": rid,
                "notebook": "ward_report.ipynb",
                "ward": ward,
                "status": "ok",
                "duration_s": 4.2,
                "outputs": {
                    "notebook": f"notebooks/{rid}.ipynb",
                    "html": f"reports/{rid}.html",
                    "results": f"results/{rid}.json",
                },
            }
        )
    return {
        "title": title,
        "status": "finished",
        "started": "2025-07-01T01:00:00+00:00",
        "finished": "2025-07-01T02:00:00+00:00",
        "runs": runs,
        "environment": {"evaluation": "0", "python": "3.11"},
        "data": {},
    }


def ward_info(wards: pd.DataFrame) -> dict[str, dict[str, str]]:
    """What the batch hands the index (evaluation.batch.outputs.ward_groups)."""
    return {
        w: {"code": c, "group": d}
        for w, c, d in zip(wards["ward"], wards["ward_code"], wards["district"], strict=True)
    }


if __name__ == "__main__":  # python -m tests.city_findings 580 30 /tmp/city580
    from evaluation.report.index import render_index

    units, districts, folder = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    folder.mkdir(parents=True, exist_ok=True)
    table = city_wards(units, districts)
    page = render_index(
        city_manifest(table), city_findings(table), None, ward_info(table), "district"
    )
    (folder / "index.html").write_text(page, encoding="utf-8")
    print(f"{folder / 'index.html'}: {len(page.encode('utf-8')):,} bytes")
