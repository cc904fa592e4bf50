"""Pilot Evaluation Workbench: honest evaluation of Bắc Từ Liêm's pilot programmes.

``import evaluation as ev`` gives the verbs an analyst uses — the estimators, the checks, the
design tools, the data loaders, and the district's analysis as the pages compute it (its
findings, a ward's comparison window, the pages' checks and sensitivity), so that an analyst can
reproduce a page's number and change one thing at a time (``notebooks/explore.ipynb``). Everything else stays in its module: result types
(``evaluation.results``, ``evaluation.estimators.att_gt.results``), the inference methods
(``evaluation.inference``), the error hierarchy (``evaluation.errors``), findings and reports
(``evaluation.report``) and batch runs (``evaluation.batch``).

Submodules load on first use (PEP 562), so importing the package is cheap — a notebook that only
reads data never pays for the estimators, and a batch of hundreds of notebook runs saves that
time on each. The ``TYPE_CHECKING`` block names every export for type checkers and editors; a
test keeps it equal to the table below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # estimators (docs/ARCHITECTURE.md §4)
    "did_2x2": "evaluation.estimators.did2x2",
    "twfe": "evaluation.estimators.twfe",
    "event_study": "evaluation.estimators.event_study",
    "att_gt": "evaluation.estimators.att_gt",
    "synthetic_control": "evaluation.estimators.synth",
    "synthetic_did": "evaluation.estimators.sdid",
    # inference a reader asks for by name
    "conformal_test": "evaluation.inference.conformal",
    "adjust_pvalues": "evaluation.inference.multiple",
    "honest_did": "evaluation.inference.honest_did",
    # diagnostics
    "placebo_in_space": "evaluation.diagnostics.placebo",
    "placebo_in_time": "evaluation.diagnostics.placebo",
    "bacon_decomposition": "evaluation.diagnostics.bacon",
    # the district's analysis, as the pages compute it (notebooks/explore.ipynb)
    "load_district": "evaluation.analysis.district",
    "district_findings": "evaluation.analysis.evaluate",
    "comparison_window": "evaluation.analysis.windows",
    "add_checks": "evaluation.analysis.checks",
    "pilot_sensitivity": "evaluation.analysis.traffic",
    # design: before the rollout
    "power": "evaluation.design.power",
    "mde": "evaluation.design.power",
    "rollout_schedule": "evaluation.design.rollout",
    "compare_designs": "evaluation.design.rollout",
    # data
    "read_table": "evaluation.data.io",
    "validate_panel": "evaluation.data.panels",
    "aggregate_incidents": "evaluation.data.panels",
    "load_wards": "evaluation.data.wards",
    "normalize_ward": "evaluation.data.wards",
    "to_new_wards": "evaluation.data.levels",
    "load_registry": "evaluation.data.registry",
    "add_cohort": "evaluation.data.registry",
    "load_demo": "evaluation.data.embedded",
    # results and errors every caller meets
    "Estimate": "evaluation.results",
    "DataError": "evaluation.errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static analysers and editors see every export
    from evaluation.analysis.checks import add_checks  # noqa: F401
    from evaluation.analysis.district import load_district  # noqa: F401
    from evaluation.analysis.evaluate import district_findings  # noqa: F401
    from evaluation.analysis.traffic import pilot_sensitivity  # noqa: F401
    from evaluation.analysis.windows import comparison_window  # noqa: F401
    from evaluation.data.embedded import load_demo  # noqa: F401
    from evaluation.data.io import read_table  # noqa: F401
    from evaluation.data.levels import to_new_wards  # noqa: F401
    from evaluation.data.panels import aggregate_incidents, validate_panel  # noqa: F401
    from evaluation.data.registry import add_cohort, load_registry  # noqa: F401
    from evaluation.data.wards import load_wards, normalize_ward  # noqa: F401
    from evaluation.design.power import mde, power  # noqa: F401
    from evaluation.design.rollout import compare_designs, rollout_schedule  # noqa: F401
    from evaluation.diagnostics.bacon import bacon_decomposition  # noqa: F401
    from evaluation.diagnostics.placebo import placebo_in_space, placebo_in_time  # noqa: F401
    from evaluation.errors import DataError  # noqa: F401
    from evaluation.estimators.att_gt import att_gt  # noqa: F401
    from evaluation.estimators.did2x2 import did_2x2  # noqa: F401
    from evaluation.estimators.event_study import event_study  # noqa: F401
    from evaluation.estimators.sdid import synthetic_did  # noqa: F401
    from evaluation.estimators.synth import synthetic_control  # noqa: F401
    from evaluation.estimators.twfe import twfe  # noqa: F401
    from evaluation.inference.conformal import conformal_test  # noqa: F401
    from evaluation.inference.honest_did import honest_did  # noqa: F401
    from evaluation.inference.multiple import adjust_pvalues  # noqa: F401
    from evaluation.results import Estimate  # noqa: F401
