"""Batch plans: validation up front, parameter typing, the results schema (nothing is executed)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml

from evaluation.analysis.record import (
    FINDING_FIELDS,
    finding,
    read_findings,
    record_findings,
    table_columns,
    validate_findings,
)
from evaluation.batch.inspect import inspect_notebook
from evaluation.batch.plan import load_plan, load_yaml, parse_parameter, plan_from_dict
from evaluation.errors import DataError, PlanError

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"
DISTRICT_NB = FIXTURES / "district_fixture.ipynb"
ROOT = Path(__file__).parents[1]
DEMO = ROOT / "data" / "demo"


def write_plan(tmp_path: Path, text: str) -> Path:
    """The plan, with the demo district's ward table beside it (`ward_table: wards.csv`)."""
    import shutil

    for name in ("wards.csv", "adjacency.csv", "crosswalk.csv"):
        shutil.copy(DEMO / name, tmp_path / name)
    p = tmp_path / "plan.yaml"
    mapping = "notebooks" in text and not text.lstrip().startswith("-")
    head = "ward_table: wards.csv\n" if mapping and "ward_table:" not in text else ""
    p.write_text(
        head + text.replace("WARD_NB", str(WARD_NB)).replace("DISTRICT_NB", str(DISTRICT_NB)),
        encoding="utf-8",
    )
    return p


def plan_error(tmp_path: Path, text: str) -> str:
    with pytest.raises(PlanError) as err:
        load_plan(write_plan(tmp_path, text))
    return str(err.value)


# --- YAML and command-line values keep their types ------------------------------------------


def test_yaml_keeps_ward_codes_dates_and_words_as_text():
    text = "a: 00617\nb: '00617'\nc: 06:30\nd: no\ne: 2024-02-15\nf: 617\ng: 1.5\nh: true\ni: 1e3"
    # PyYAML's YAML 1.1 reading, the trap: 00617 is octal 399, `no` is False, a date object
    trap = yaml.safe_load(text)
    assert trap["a"] == 399 and trap["d"] is False and not isinstance(trap["e"], str)
    ours = load_yaml(text, "test")
    assert ours == {
        "a": "00617",
        "b": "00617",
        "c": "06:30",
        "d": "no",
        "e": "2024-02-15",
        "f": 617,
        "g": 1.5,
        "h": True,
        "i": 1000.0,
    }


def test_command_line_values_take_the_type_of_the_notebook_default():
    declared = inspect_notebook(WARD_NB).declared
    assert declared["ward"].default == "Cổ Nhuế 2"
    assert parse_parameter("ward", "00617", declared) == "00617"  # papermill -p gives 617
    assert parse_parameter("ward", "617", declared) == "617"
    assert parse_parameter("effect", "-3", declared) == -3.0
    assert isinstance(parse_parameter("effect", "-3", declared), float)
    assert parse_parameter("ignore_alarm", "yes", declared) is True
    assert parse_parameter("fail_wards", "[Tây Tựu, '00617']", declared) == ["Tây Tựu", "00617"]
    # default None: YAML 1.2 scalars, leading zeros and dates stay text
    assert parse_parameter("gate", "00617", declared) == "00617"
    assert parse_parameter("gate", "617", declared) == 617
    assert parse_parameter("gate", "null", declared) is None
    assert parse_parameter("gate", "2024-02-15", declared) == "2024-02-15"
    with pytest.raises(PlanError, match="parameter 'effect': expected a number, got 'abc'"):
        parse_parameter("effect", "abc", declared)
    with pytest.raises(PlanError, match="expected true or false"):
        parse_parameter("ignore_alarm", "maybe", declared)


def test_inspect_notebook_reads_declared_parameters_and_imports():
    info = inspect_notebook(WARD_NB)
    assert set(info.declared) >= {"ward", "data_dir", "results_path", "effect", "fail_wards"}
    assert info.declared["effect"].default == -5.0
    assert {"numpy", "pandas", "matplotlib.pyplot", "evaluation.analysis.record"} <= set(
        info.imports
    )
    # `ev.Estimate` loads evaluation.results lazily: found, so the warm worker imports it once
    assert "evaluation.results" in info.imports
    assert info.title.startswith("Báo cáo phường")


# --- a good plan ------------------------------------------------------------------------------


def test_plan_expands_notebook_by_ward_and_types_parameters(tmp_path):
    (tmp_path / "data").mkdir()
    plan = load_plan(
        write_plan(
            tmp_path,
            """
title: Thử
data: data
timeout: 30
wards: ["Cổ Nhuế 2", "Tây Tựu"]
parameters: {label: 00617}
notebooks:
  - notebook: WARD_NB
    parameters: {effect: -2, fail_wards: ["Tây Tựu"]}
  - DISTRICT_NB
""",
        )
    )
    runs = plan.runs()
    assert [r.id for r in runs] == [
        "ward_fixture--co-nhue-2",
        "ward_fixture--tay-tuu",
        "district_fixture",
    ]
    first = runs[0].parameters
    assert first["ward"] == "Cổ Nhuế 2" and first["label"] == "00617"
    assert first["effect"] == -2.0 and isinstance(first["effect"], float)
    assert first["data_dir"] == str((tmp_path / "data").resolve())
    assert "label" not in runs[2].parameters  # only notebooks that declare it get it
    assert runs[2].ward is None and plan.timeout == 30.0


def test_wards_all_and_spelling_variants(tmp_path):
    import shutil

    shutil.copy(ROOT / "params" / "pilots.yaml", tmp_path / "pilots.yaml")
    text = "registry: pilots.yaml\nwards: all\nnotebooks: [WARD_NB]\n"
    plan = load_plan(write_plan(tmp_path, text))
    wards = [r.ward for r in plan.runs()]
    # the district's own wards at the level its programmes were assigned: not the bordering
    # wards of other districts, not the new wards of 2025
    assert len(wards) == 13 and "Cổ Nhuế 2" in wards and len(set(wards)) == 13
    assert "Mai Dịch" not in wards
    plan = load_plan(write_plan(tmp_path, "wards: [Co Nhue 2, P. Tây Tựu]\nnotebooks: [WARD_NB]\n"))
    assert [r.ward for r in plan.runs()] == ["Cổ Nhuế 2", "Tây Tựu"]


# --- plans that must be refused, with the key named -------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("notebook: [WARD_NB]\n", ["unknown key 'notebook'", "did you mean 'notebooks'"]),
        ("notebooks: []\n", ["key 'notebooks'", "non-empty list"]),
        ("wards: [Cổ Nhuế 2]\nnotebooks: [nope.ipynb]\n", ["notebooks[0]", "does not exist"]),
        ("notebooks: [NOPARAMS]\n", ["no cell tagged 'parameters'", "add the tag"]),
        (
            "wards: [Cổ Nhuế 2]\nnotebooks:\n  - notebook: WARD_NB\n    parameters: {efect: 1}\n",
            ["parameters.efect", "no parameter 'efect'", "did you mean 'effect'"],
        ),
        (
            "wards: [Cổ Nhuế 2]\nparameters: {colour: red}\nnotebooks: [WARD_NB]\n",
            ["key 'parameters'", "no notebook declares 'colour'"],
        ),
        (
            "wards: [Cổ Nhuế 2]\nnotebooks:\n  - notebook: WARD_NB\n    parameters: {label: 5}\n",
            ["parameters.label", "expects text", "quotes"],
        ),
        (
            "wards: [Cổ Nhuế 2]\nnotebooks:\n  - notebook: WARD_NB\n    parameters: {effect: x}\n",
            ["parameters.effect", "expects a number"],
        ),
        ("notebooks: [WARD_NB]\n", ["has a `ward` parameter", "wards: all"]),
        ("wards: [617]\nnotebooks: [WARD_NB]\n", ["key 'wards'", "leading zeros", '"00617"']),
        (
            "wards: [Cổ Nhuế 2]\ntimeout: -1\nnotebooks: [WARD_NB]\n",
            ["key 'timeout'", "positive number"],
        ),
        (
            "wards: [Cổ Nhuế 2]\nparameters: {ward: x}\nnotebooks: [WARD_NB]\n",
            ["'ward' is set by the batch", "wards:"],
        ),
        (
            "data: no/such/folder\nwards: [Cổ Nhuế 2]\nnotebooks: [WARD_NB]\n",
            ["key 'data'", "does not exist"],
        ),
        (
            "wards: [Cổ Nhuế 2]\nnotebooks:\n  - notebook: WARD_NB\n    colour: red\n",
            ["notebooks[0]", "unknown key 'colour'"],
        ),
        (
            "notebooks:\n  - notebook: WARD_NB\n    wards: [Cổ Nhuế 2]\n  - notebook: WARD_NB\n"
            "    wards: [Tây Tựu]\n",
            ["appears more than once", "name:"],
        ),
        ("wards: [Cổ Nhuế 2, Cổ Nhuế 2]\nnotebooks: [WARD_NB]\n", ["listed more than once"]),
        ("wards: [Cổ Nhuế 2\nnotebooks: [WARD_NB]\n", ["not valid YAML", "line"]),
        ("engine: docker\nnotebooks: [WARD_NB]\n", ["key 'engine'", "inprocess"]),
        ("- a\n- b\n", ["a plan is a YAML mapping"]),
    ],
)
def test_plan_errors_name_the_key_and_the_fix(tmp_path, text, expected):
    text = text.replace("NOPARAMS", str(FIXTURES / "no_parameters.ipynb"))
    message = plan_error(tmp_path, text)
    for part in expected:
        assert part in message, message


def test_unknown_ward_is_refused_with_a_suggestion(tmp_path):
    pytest.importorskip("evaluation.data.wards", reason="the ward gazetteer is not installed")
    message = plan_error(tmp_path, "wards: [Co Nhue 9]\nnotebooks: [WARD_NB]\n")
    assert "Co Nhue 9" in message and "Cổ Nhuế" in message


def test_notebook_without_results_path_is_refused(tmp_path):
    nb = json.loads(DISTRICT_NB.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if "parameters" in cell["metadata"].get("tags", []):
            cell["source"] = "data_dir = None\n"
    path = tmp_path / "no_results.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    with pytest.raises(PlanError, match="does not declare `results_path`"):
        plan_from_dict({"notebooks": [str(path)]}, base=tmp_path)


def test_missing_plan_file(tmp_path):
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "nope.yaml")


# --- the results schema ----------------------------------------------------------------------


def good_finding(**over):
    item = {
        "notebook": "n",
        "ward": "Cổ Nhuế 2",
        "programme": "p",
        "outcome": "o",
        "estimate": -5.0,
        "ci_low": -6.0,
        "ci_high": -4.0,
        "pvalue": 0.08,
        "method": "m",
        "inference": "i",
        "verdict_vi": "v",
        "verdict_en": "v",
        "warnings": [],
    }
    item.update(over)
    return item


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ({"estimate": float("nan")}, "field 'estimate'"),
        ({"pvalue": 1.5}, "not in [0, 1]"),
        ({"estimate": True}, "field 'estimate'"),
        ({"method": None}, "field 'method': must not be null"),
        ({"warnings": [1]}, "list of strings"),
    ],
)
def test_findings_schema_refuses_bad_values(item, expected):
    with pytest.raises(DataError, match=expected.replace("[", r"\[").replace("]", r"\]")):
        validate_findings([good_finding(**item)], source="x.json")


def test_findings_schema_requires_every_field():
    item = good_finding()
    del item["verdict_en"]
    with pytest.raises(DataError, match="x.json, finding 0: missing field"):
        validate_findings([item], source="x.json")
    assert validate_findings([good_finding(estimate=None, extra=1)])[0]["extra"] == 1
    assert set(FINDING_FIELDS) == set(good_finding())


def test_record_findings_round_trip_and_estimate_helper(tmp_path):
    from evaluation.results import Estimate

    est = Estimate(
        estimate=-4.2,
        se=0.5,
        ci_low=-5.2,
        ci_high=-3.2,
        pvalue=1 / 13,
        method="2×2 DiD",
        inference="permutation",
        outcome="minutes",
        warnings=["one treated ward"],
        min_pvalue=1 / 13,
    )
    item = finding(
        est,
        notebook="nb",
        ward="Cổ Nhuế 2",
        programme="Giao thông",
        verdict_vi="Giảm",
        verdict_en="Down",
        n_treated=1,
    )
    assert item["estimate"] == -4.2 and item["outcome"] == "minutes" and item["n_treated"] == 1
    assert item["warnings"] == ["one treated ward"]
    path = tmp_path / "r.json"
    assert record_findings(path, [item]) is None
    back = read_findings(path)
    assert back[0]["ward"] == "Cổ Nhuế 2" and math.isclose(back[0]["pvalue"], 1 / 13)
    assert not list(tmp_path.glob("*.tmp"))
    record_findings(None, [item])  # interactive use: validates, writes nothing
    with pytest.raises(DataError, match="recorded no findings"):
        read_findings(tmp_path / "missing.json")


def test_findings_table_columns_schema_first_then_extras_in_order():
    items = [good_finding(extra_b=1), good_finding(extra_a=2, extra_b=3)]
    cols = table_columns(items)
    assert cols[: len(FINDING_FIELDS) + 2] == ["run_id", *FINDING_FIELDS, "report"]
    assert cols[len(FINDING_FIELDS) + 2 :] == ["extra_b", "extra_a"]  # first-seen order
