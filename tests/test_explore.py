"""The analysts' worked notebook (notebooks/explore.ipynb) on a district it was not written for.

nbval runs it on the demo data in ``make test``; its ``assert`` cells check each number redone
through ``import evaluation as ev`` against the page's (the pilot's headline, the spill-over
check, the synthetic DiD and synthetic control folded under the headline, the rollout's
Callaway & Sant'Anna headline and its two-way fixed effects contrast). Here it runs on a
generated district — other ward names, other dates, other effects — so those checks hold for
any district, not only for the demo's numbers.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"


def scenario() -> Scenario:
    """14 generated wards: a pilot from 06/05/2024, waves in October 2024 and February 2025,
    three wards never treated; −25 % congestion."""
    universe = Universe.generated(14, np.random.default_rng(11), district="Quận Thử")
    pilot, *rest = universe.names
    return Scenario(
        universe=universe,
        pilot_ward=pilot,
        pilot_start="2024-05-06",
        pilot_effect=-0.25,
        final_review="2025-04-30",
        waves=(
            Wave("A", "2024-10-07", tuple(rest[:5]), -0.25),
            Wave("B", "2025-02-03", tuple(rest[5:10]), -0.25),
        ),
        fire_points=((rest[0], "2023-03-06", -0.2), (rest[4], "2023-09-04", -0.2)),
        camera_starts=((rest[1], "2022-06-15"), (rest[2], "2023-01-15")),
        common_programme=None,
    )


def test_every_number_redone_through_ev_equals_the_page_on_a_generated_district(tmp_path):
    import nbformat
    import papermill

    folder = tmp_path / "district"
    truth = write_district(folder, scenario(), seed=5)
    out = tmp_path / "explore.ipynb"
    papermill.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"data_dir": str(folder), "registry_path": str(truth.registry_path)},
        engine_name="pilot-eval",
        progress_bar=False,
        cwd=str(NOTEBOOK.parent),
    )  # an assert cell that fails raises here
    nb = nbformat.read(out, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    outputs = [o for c in code for o in c.outputs]
    assert not any(o.output_type == "error" for o in outputs)
    text = json.dumps([o.get("text", "") or o.get("data", {}) for o in outputs], ensure_ascii=False)
    assert scenario().pilot_ward in text and "Cổ Nhuế" not in text  # its own wards, not the demo's
    # the side-by-side table holds the page's number and the one redone by hand, equal
    table = next(
        o["data"]["text/html"]
        for o in outputs
        if "text/html" in o.get("data", {}) and "redone by hand" in o["data"]["text/html"]
    )
    rows = pd.read_html(io.StringIO(table), index_col=0)[0]
    page, redone = rows.loc["page: pilot (TWFE, auto)"], rows.loc["redone by hand"]
    for column in ("estimate", "ci_low", "ci_high", "pvalue"):
        assert page[column] == redone[column]
    assert rows.loc["TWFE, inference=cluster", "estimate"] == page["estimate"]
    assert "Bằng lời" in text and "In words" in text  # the HonestDiD breakdown, read out
