"""The data dictionary ``data/README.md``, written from the schemas and the truth.

Generating it (rather than writing it by hand) keeps every column, unit and planted number in
the dictionary identical to what the simulator wrote.
"""

from __future__ import annotations

import inspect

from evaluation.data.schema import SCHEMAS, TableSchema
from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.geography import district_wards as _wards
from evaluation.synthetic.demo.plan import DEMO_FILES

KIND_TEXT = {
    "ward": "ward name",
    "date": "date (YYYY-MM-DD)",
    "count": "whole number ≥ 0",
    "nonneg": "number ≥ 0",
    "number": "number",
    "share": "fraction 0–1",
    "category": "one of a list",
    "bool": "true / false",
    "text": "text",
    "id": "identifier",
}


def _columns_table(schema: TableSchema) -> str:
    lines = ["| column | type | unit | meaning |", "|---|---|---|---|"]
    for c in schema.columns:
        kind = KIND_TEXT[c.kind] + ("" if c.required else ", optional")
        meaning = c.description + (
            f" ({', '.join(c.allowed)})"
            if c.allowed and c.kind == "category" and len(c.allowed) <= 10
            else ""
        )
        lines.append(f"| `{c.name}` | {kind} | {c.unit} | {meaning} |")
    return "\n".join(lines)


def _table_section(title: str, schema: TableSchema, files: list[str], rows: int) -> str:
    return (
        f"### {title}\n\n{schema.description} Frequency: {schema.frequency}. "
        f"Files: {', '.join(f'`demo/{f}`' for f in files)} ({rows:,} rows). "
        f"Key: {' × '.join(schema.key)}.\n\n{_columns_table(schema)}\n"
    )


def _plan_choices() -> str:
    doc = inspect.getdoc(plan) or ""
    return doc.split("Choices", 1)[1].split("\n", 1)[1].strip() if "Choices" in doc else doc


#: How the tables the workbench writes keep text from data from becoming a formula
#: (evaluation/report/cells.py applies it)
_OUTPUT_TEXT = (
    "## Text in the findings tables\n\n"
    "Names in the findings come from files people exchange — the registry's programme names "
    "and notes, wave labels, ward names — and `findings.csv` and `findings.xlsx` are opened in "
    "Excel or LibreOffice, which read a cell that starts with `=`, `+`, `-`, `@`, a tab or a "
    "carriage return as a formula (`=HYPERLINK(…)`, or a DDE command such as "
    "`=cmd|' /C calc'!A0`). So text from data is never written as a formula:\n\n"
    "- `findings.csv` follows OWASP's advice on CSV injection: a text field that starts with "
    "one of those characters gets a single quote `'` in front (`=HYPERLINK(…)` → "
    "`'=HYPERLINK(…)`, `+1,1 km/h [0,6; 1,4]` → `'+1,1 km/h [0,6; 1,4]`), and every text field "
    "is wrapped in double quotes, so a `,` or `;` in a name cannot start a new cell. A text "
    "field that already starts with `'` gets one more: to get every original text back, remove "
    "one leading `'` from each field that starts with one. Numbers are written as numbers "
    "(`-6.3668915145359515`), and so is a text that is just a number (`-3.2`). The minus sign "
    "of the formatted texts (`−6,4 phút`, U+2212) is not a trigger; an ASCII hyphen is "
    "(`-4 (ước tính)` → `'-4 (ước tính)`).\n"
    "- `findings.xlsx` stores every text as a text cell, exactly as written (no quote shown); "
    "one that starts with a trigger character also carries Excel's quote prefix, so editing "
    "the cell keeps it text. Characters a workbook cannot hold (control characters other than "
    "tab, line feed and carriage return) are replaced by U+FFFD, the replacement character.\n"
)


def data_readme(tables: dict) -> str:
    truth = tables["truth"]
    tm = truth["traffic_model"]
    fp = truth["fire_programme"]
    n_traffic = len(tables["traffic"])
    parts = [
        "# Data dictionary\n",
        "This folder holds the **embedded demo data**: a simulated Bắc Từ Liêm district (its 13 "
        "wards before the 1 July 2025 reorganisation, and five bordering wards of neighbouring "
        "districts that never took its programmes) with programme effects planted at known "
        "sizes, so that every estimator in the workbench can be checked against the truth. The "
        "numbers are not real statistics. Everything here is written by the seeded simulator "
        f"(`evaluation/synthetic/demo/`, seed {truth['seed']}) with `make demo-data`; do not edit by "
        "hand — a test regenerates the files and checks they are identical.\n",
        "Like real police and fire records, the rows from **1 July 2025** name the **new wards** "
        "that absorbed the old ones (Resolution 1656/NQ-UBTVQH15): a junction's traffic rows "
        "name the new ward it lies in, each fire the new ward where it happened, each police "
        "period ending after the change the new ward. The programmes were assigned to the old "
        "wards, so the analyses run at the old wards' level and carry the newer rows back: "
        "traffic exactly, through its junctions (`junctions.csv` keeps each junction's ward when "
        "it was installed); counts have no exact way back, so their windows end at the change "
        "(and an allocation by population or area share is a sensitivity check).\n",
        "Bring your own data in the same shapes (CSV in UTF-8, UTF-16 or Windows-1258, Excel "
        "`.xlsx`, or Parquet) with your district's own `wards.csv`, and check it with "
        "`pilot-eval validate FOLDER/*` (or start one with `pilot-eval init`).\n",
        "## The ward table\n",
        "Every analysis reads the district's wards from `wards.csv` in the data folder (or the "
        "file a plan names with `ward_table:`): one row per ward — a ward a reorganisation "
        "changed is two rows, each with its dates.\n\n"
        "| column | type | meaning |\n|---|---|---|\n"
        "| `ward` | text | the ward's name (any spelling in the data maps to it) |\n"
        "| `ward_code` | text | its code (GSO code where there is one); leading zeros are kept |\n"
        "| `population` | number ≥ 0 | residents: the exposure of every rate (may be empty where no rate needs it) |\n"
        "| `district` | text, optional | its district; wards of other districts that never took a programme are comparison wards |\n"
        "| `aliases` | text, optional | other spellings, separated by `;` |\n"
        "| `area_km2`, `households` | number, optional | area; households |\n"
        "| `urban_class` | text, optional | e.g. dense / mid / peri-urban: strata for rollout schedules |\n"
        "| `valid_from`, `valid_to` | date, optional | the first and last day the ward existed (empty: always) |\n\n"
        "A name is read by date: a row dated before a ward's `valid_from` is not that ward. "
        "`adjacency.csv` (`ward_a`, `ward_b`, names or codes) lists bordering wards for the "
        "spill-over checks; `crosswalk.csv` (`old_code`, `new_code`, `pop_share`, `area_share`, "
        "`valid_from`) says how each old ward was divided among the new ones (each old ward's "
        "shares sum to 1). The package keeps Hà Nội reference tables with their sources in "
        "`evaluation/reference/hanoi/` as a starting point.\n",
        "## Files\n",
        "| file | what |\n|---|---|\n"
        "| `demo/wards.csv`, `demo/adjacency.csv`, `demo/crosswalk.csv` | the demo district's ward table: old, bordering and new wards, borders, and how the old wards became the new |\n"
        f"| `demo/junctions.csv` | the {len(tables['junctions'])} hotspot junctions (7 in Cổ Nhuế 2) and the ward each was installed in |\n"
        "| `demo/traffic_peak_YYYY.parquet` | congestion, junction × day × peak, one file per year |\n"
        "| `demo/fire_incidents.csv` | fire incidents, one row per fire |\n"
        "| `demo/electrical_incidents_monthly.csv` | minor electrical incidents, ward × month |\n"
        "| `demo/antt_period.csv` | security and order indicators, ward × police period |\n"
        "| `demo/truth.yaml` | the planted truth, machine-readable |\n"
        "| `demo/truth/*.{csv,parquet}` | realised and expected outcomes with and without the programmes |\n"
        "| `../params/pilots.yaml` | the pilot registry: which ward started which programme when |\n",
        "The 13 wards, the new wards and the crosswalk between them come from the package's "
        "Hà Nội reference tables (`evaluation/reference/hanoi/`: GSO codes, names, areas, 2013 "
        "populations with sources, 2024 populations **[EST]**, urban class, published or "
        "**[EST]** crosswalk shares, sourced or inferred borders); the five bordering wards "
        "(Phú Thượng and Xuân La of Tây Hồ, Nghĩa Đô and Mai Dịch of Cầu Giấy, Xuân Phương of "
        "Nam Từ Liêm), their codes, populations and pieces are **[EST]**.\n",
        "## Tables\n",
        _table_section(
            "Traffic congestion",
            SCHEMAS["traffic_peak"],
            [DEMO_FILES[f"traffic_{y}"] for y in (2023, 2024, 2025)],
            n_traffic,
        ),
        _table_section(
            "Fire incidents", SCHEMAS["fire_incident"], [DEMO_FILES["fires"]], len(tables["fires"])
        ),
        _table_section(
            "Electrical incidents",
            SCHEMAS["electrical_incident_monthly"],
            [DEMO_FILES["electrical"]],
            len(tables["electrical"]),
        ),
        _table_section(
            "Security and order (ANTT)",
            SCHEMAS["antt_period"],
            [DEMO_FILES["antt"]],
            len(tables["antt"]),
        ),
        _table_section(
            "Junctions", SCHEMAS["junction"], [DEMO_FILES["junctions"]], len(tables["junctions"])
        ),
        "### Truth tables\n\n"
        "- `truth/traffic_daily.parquet` — ward × day: `n_obs` (junction-peaks observed), "
        "`congestion_sum` / `congestion0_sum` (sum of observed minutes, and of the same cells' "
        "minutes had no programme run anywhere), `speed_sum` / `speed0_sum`, and the planted "
        "`direct`, `anticipation`, `spillover` effects (fractions). The true average effect over "
        "any set of cells is (Σ congestion_sum − Σ congestion0_sum) / Σ n_obs; "
        "`evaluation.data.embedded.traffic_truth()` computes it per ward × period.\n"
        "- `truth/fire_monthly.csv` — ward × month expected recorded fires, escalations, deaths "
        "and losses without (`…0`) and with (`…1`) the fire programme, and the share of the "
        "programme in force.\n"
        "- `truth/antt_period.csv` — ward × police period expected road accidents and the "
        "solve rate without and with the programmes.\n",
        _OUTPUT_TEXT,
        "## Planted truth\n",
        _plan_choices() + "\n",
        "### Traffic model: launch dates and effects\n",
        "| ward | wave | start | urban class | effect on congestion | on speed |\n|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {w} | {v['wave']} | {v['start']} | {v['urban_class']} | "
            f"{v['full_effect_congestion']:+.0%} | {v['full_effect_speed']:+.0%} |"
            for w, v in tm["wards"].items()
        )
        + "\n",
        "### Realised average effects on congestion minutes (from the simulated outcomes)\n",
        "| window | wards | effect (minutes) | effect (%) | counterfactual minutes | speed (%) |\n"
        "|---|---|---|---|---|---|\n"
        + "\n".join(
            f"| {k} ({v['window'][0]} → {v['window'][1]}) | "
            f"{'Cổ Nhuế 2' if k.startswith('pilot') else 'wave ' + k.split('_')[1]} | "
            f"{v['att_minutes']:.2f} | {v['att_pct']:.1f} | {v['counterfactual_minutes']:.1f} | "
            f"{v['att_speed_pct']:+.1f} |"
            for k, v in tm["realised_effects"].items()
        )
        + "\n\nDuring the pilot the other wards' congestion was "
        f"{tm['realised_effects']['pilot_first_3_months']['spillover_in_other_wards_minutes']:.2f} "
        "minutes lower than without it (spillover to Cổ Nhuế 2's neighbours), so a DiD that uses "
        "them as controls understates the pilot's effect by about that much.\n",
        "### Fire programme\n",
        "| ward | tổ liên gia from | public fire point from | dose | effect on fire counts |\n"
        "|---|---|---|---|---|\n"
        + "\n".join(
            f"| {w} | {v['to_lien_gia_start']} | {v['fire_point_start']} | "
            f"{v['dose_points_per_1000_households']} | {v['fire_count_effect']:+.0%} |"
            for w, v in fp["wards"].items()
        )
        + f"\n\nNever treated within the data: {', '.join(fp['never_treated'])}. Per recorded "
        "fire, the programme multiplies the expected escalation by "
        f"{fp['per_fire_expected']['ratio_treated_to_untreated']['escalated']:.2f}, deaths by "
        f"{fp['per_fire_expected']['ratio_treated_to_untreated']['deaths']:.2f} and losses by "
        f"{fp['per_fire_expected']['ratio_treated_to_untreated']['loss_mvnd']:.2f}. Expected "
        "recorded fires per 100,000 residents per year: "
        + "; ".join(
            f"{k}: {v['per_100k_per_year']:.1f} ({v['without_programme_per_100k_per_year']:.1f} "
            "without the programme)"
            for k, v in fp["recorded_rates"].items()
        )
        + ". Electrical incidents carry no programme effect: a placebo outcome.\n",
        "### Estimates and sources\n",
        "Ward codes, names, most 2013 areas and populations are from public sources (see "
        "`evaluation/reference/hanoi/wards.csv`, columns `*_source`). Estimated (**[EST]**): the 2013 "
        "area and population of Cổ Nhuế 1, Cổ Nhuế 2 and Phúc Diễn (split of the district "
        "residual), every 2024 population (2013 × 1.12–1.25, dense wards growing faster; total "
        f"{int(_wards()['pop_2024_est'].sum()):,}), "
        "households, rental houses, junction names, most crosswalk shares, half of the "
        "adjacency list, and every effect size and rate above.\n",
    ]
    return "\n".join(parts)
