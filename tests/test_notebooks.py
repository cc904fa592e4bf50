"""The notebooks as stored: the shape the batch and papermill rely on.

Running them is nbval's job (``make test`` runs ``pytest --nbval-lax notebooks``); these checks
are static and fast: no stored outputs, one ``parameters`` cell declaring what the batch
injects, the python3 kernel, findings recorded, and every notebook in the monthly plan.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evaluation.batch import inspect_notebook, load_plan

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_four_notebooks_exist_and_are_in_the_monthly_plan():
    names = {p.stem for p in NOTEBOOKS}
    assert {"ward_report", "congestion_pilot", "fire_incidents", "district_summary"} <= names
    planned = {nb.path.resolve() for nb in load_plan(ROOT / "params" / "monthly.yaml").notebooks}
    assert {p.resolve() for p in NOTEBOOKS} <= planned


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
    assert {"data_dir", "registry_path", "results_path"} <= set(info.declared)
    assert info.declared["results_path"].default is None
    source = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert re.search(r"record_findings\(\s*results_path", source), "findings are not recorded"
    assert info.title, "the first markdown cell needs a '# title' (the index shows it)"


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
