"""The notebooks as stored: the shape the batch and papermill rely on.

Running them is nbval's job (``make test`` runs ``pytest --nbval-lax notebooks``); these checks
are static and fast: no stored outputs, one ``parameters`` cell, the python3 kernel; for the
batch's notebooks, the parameters the batch injects, findings recorded, and every one in the
monthly plan. The analysts' worked notebook (``explore.ipynb``) is not a batch page: it is run
by nbval only, and works through the public API (``import evaluation as ev``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evaluation.batch import inspect_notebook, load_plan

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
#: notebooks for analysts, run by nbval, not pages of the monthly batch
ANALYSTS = {"explore"}
BATCH = [p for p in NOTEBOOKS if p.stem not in ANALYSTS]


def test_the_four_notebooks_exist_and_are_in_the_monthly_plan():
    names = {p.stem for p in NOTEBOOKS}
    assert {"ward_report", "congestion_pilot", "fire_incidents", "district_summary"} <= names
    assert ANALYSTS <= names
    planned = {nb.path.resolve() for nb in load_plan(ROOT / "params" / "monthly.yaml").notebooks}
    assert {p.resolve() for p in BATCH} <= planned
    assert not {p.resolve() for p in NOTEBOOKS if p.stem in ANALYSTS} & planned


def test_the_analysts_notebook_works_through_the_public_api_only():
    nb = json.loads((ROOT / "notebooks" / "explore.ipynb").read_text(encoding="utf-8"))
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "import evaluation as ev" in source
    # the one formatter aside, nothing is imported from the package's modules
    imports = re.findall(r"^\s*(?:from|import) (evaluation\S*)(?: import (\w+))?", source, re.M)
    assert set(imports) <= {("evaluation", ""), ("evaluation", "formats")}, imports
    assert not re.search(r"\bev\._", source)  # no private names through ev either
    # every step checks itself against the page where a check can fail
    assert source.count("assert ") >= 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_stored_clean_with_one_parameters_cell(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell.get("outputs") == [] and cell.get("execution_count") is None, (
                f"{path.name}: stored with outputs — clear them (jupyter nbconvert "
                "--clear-output --inplace)"
            )
    info = inspect_notebook(path)  # raises unless exactly one cell is tagged 'parameters'
    assert {"data_dir", "registry_path"} <= set(info.declared)
    assert info.title, "the first markdown cell needs a '# title' (the index shows it)"
    if path.stem in ANALYSTS:
        return
    assert "results_path" in info.declared
    assert info.declared["results_path"].default is None
    source = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert re.search(r"record_findings\(\s*results_path", source), "findings are not recorded"


def test_only_the_ward_report_runs_once_per_ward():
    declared = {p.stem: inspect_notebook(p).declared for p in NOTEBOOKS}
    # declared, with no demo ward as its default: the batch or the analyst names the ward
    assert declared["ward_report"]["ward"].default is None
    assert all("ward" not in d for name, d in declared.items() if name != "ward_report")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_papermill_reads_every_parameter_and_nbformat_validates(path, caplog):
    import nbformat
    import papermill

    with caplog.at_level("WARNING"):
        params = papermill.inspect_notebook(str(path))
    assert not [r for r in caplog.records if "Unable to parse" in r.getMessage()]
    assert set(inspect_notebook(path).declared) == set(params)
    nbformat.validate(nbformat.read(path, as_version=4))  # cell ids and all
