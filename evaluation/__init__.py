"""Pilot Evaluation Workbench: honest evaluation of Bắc Từ Liêm's pilot programmes.

``import evaluation as ev`` gives the whole public API. Submodules load on first use
(PEP 562), so importing the package is cheap — a notebook that only reads data never pays for
statsmodels or matplotlib, and a batch of hundreds of notebook runs saves that time on each.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # errors and results
    "WorkbenchError": "evaluation.errors",
    "DataError": "evaluation.errors",
    "DesignError": "evaluation.errors",
    "InferenceError": "evaluation.errors",
    "PlanError": "evaluation.errors",
    "BatchError": "evaluation.errors",
    "Estimate": "evaluation.results",
    "EventStudy": "evaluation.results",
    "PretrendTest": "evaluation.results",
    # data layer
    "read_table": "evaluation.data.io",
    "normalize_ward": "evaluation.data.wards",
    "normalize_wards": "evaluation.data.wards",
    "wards": "evaluation.data.wards",
    "crosswalk": "evaluation.data.wards",
    "adjacency": "evaluation.data.wards",
    "to_new_wards": "evaluation.data.wards",
    "load_registry": "evaluation.data.registry",
    "add_cohort": "evaluation.data.registry",
    "validate_panel": "evaluation.data.panels",
    "aggregate_incidents": "evaluation.data.panels",
    "police_period": "evaluation.data.panels",
    "load_demo": "evaluation.data.demo",
    "demo_truth": "evaluation.data.demo",
    "simulate_district": "evaluation.simulate",
    # estimators
    "did_2x2": "evaluation.estimators.did2x2",
    "twfe": "evaluation.estimators.twfe",
    "event_study": "evaluation.estimators.event_study",
    "att_gt": "evaluation.estimators.att_gt",
    "AttGt": "evaluation.estimators.att_gt",
    "AttGtAggregate": "evaluation.estimators.att_gt",
    "bacon_decomposition": "evaluation.estimators.bacon",
    "BaconDecomposition": "evaluation.estimators.bacon",
    "choose_inference": "evaluation.inference.choose",
    "synthetic_control": "evaluation.estimators.synth",
    "synthetic_did": "evaluation.estimators.sdid",
    "SyntheticEstimate": "evaluation.estimators.synth",
    # inference and checks
    "randomization_inference": "evaluation.inference.randomization",
    "RandomizationResult": "evaluation.inference.randomization",
    "wild_cluster_bootstrap": "evaluation.inference.wild",
    "WildBootstrapResult": "evaluation.inference.wild",
    "conformal_test": "evaluation.inference.conformal",
    "placebo_in_time": "evaluation.inference.placebo",
    "placebo_in_space": "evaluation.inference.placebo",
    "ConformalTest": "evaluation.inference.conformal",
    "PlaceboResult": "evaluation.inference.placebo",
    "adjust_pvalues": "evaluation.inference.multiple",
    # batch runs
    "load_plan": "evaluation.batch",
    "run_batch": "evaluation.batch",
    "finding": "evaluation.batch",
    "record_findings": "evaluation.batch",
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


if TYPE_CHECKING:  # static analysers and IDEs see the real names
    from evaluation.errors import (  # noqa: F401
        BatchError,
        DataError,
        DesignError,
        InferenceError,
        PlanError,
        WorkbenchError,
    )
    from evaluation.results import Estimate, EventStudy, PretrendTest  # noqa: F401
