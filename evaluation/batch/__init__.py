"""Batch runs: every notebook × ward of a plan, executed with papermill, into one run folder.

A *plan* (YAML, ``params/*.yaml``) says which notebooks to run, for which wards, with which
parameters, on which data folder, into which output folder. :func:`load_plan` checks all of it
before anything runs; :func:`run_batch` executes every run in isolated processes and writes a
*run folder*::

    OUT/
      index.html            findings across wards and programmes, failures with their error
      manifest.json         plan, parameters, input hashes, versions, durations, status, errors
      findings.csv/.xlsx    the findings table for people who work in Excel
      reports/ID.html       one report per run, without code, self-contained
      notebooks/ID.ipynb    the executed notebooks
      results/ID.json       the findings each notebook recorded (evaluation.analysis.record)
      logs/ID.log           the whole traceback of a run that failed

Every path in it is relative (to the run folder, the plan's folder or the checkout:
:mod:`evaluation.batch.paths`), and :func:`reproduce` runs it again and compares every finding.

Modules, one per concern; a module imports only modules listed below it::

    reproduce.py   reproduce: a recorded run folder run again, every finding compared
    run.py         run_batch: the orchestration of one batch in its locked run folder
    executors.py   LocalExecutor (this machine) and DaskExecutor (a Dask cluster)
    forkserver.py  the warm server: imports once, forks one child per run
    job.py         one run in its child: papermill, the results check, the outputs
    engine.py      the ``pilot-eval`` papermill engine: cells in an in-process IPython shell
    outputs.py     the findings tables and the index (through evaluation.report)
    lock.py        the lock on the output folder
    paths.py       paths relative to the run folder, the plan's folder or the checkout
    manifest.py    hashes, the environment, run keys, the manifest
    plan.py        plans: YAML with types that survive, validation, runs, parameter typing
    inspect.py     what a notebook declares, read without running it

Names load on first use (PEP 562): papermill imports :mod:`evaluation.batch.engine` through its
``papermill.engine`` entry point whenever papermill itself is imported, and that must not pull
in the rest of the batch machinery.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "Plan": "evaluation.batch.plan",
    "NotebookSpec": "evaluation.batch.plan",
    "RunSpec": "evaluation.batch.plan",
    "load_plan": "evaluation.batch.plan",
    "plan_from_dict": "evaluation.batch.plan",
    "plan_for_notebook": "evaluation.batch.plan",
    "parse_parameter": "evaluation.batch.plan",
    "NotebookInfo": "evaluation.batch.inspect",
    "inspect_notebook": "evaluation.batch.inspect",
    "BatchResult": "evaluation.batch.run",
    "run_batch": "evaluation.batch.run",
    "OutputLocked": "evaluation.batch.lock",
    "RUN_STATUSES": "evaluation.batch.manifest",
    "Reproduction": "evaluation.batch.reproduce",
    "reproduce": "evaluation.batch.reproduce",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluation.batch' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # static analysers and editors see the real names
    from evaluation.batch.inspect import NotebookInfo, inspect_notebook  # noqa: F401
    from evaluation.batch.lock import OutputLocked  # noqa: F401
    from evaluation.batch.manifest import RUN_STATUSES  # noqa: F401
    from evaluation.batch.plan import (  # noqa: F401
        NotebookSpec,
        Plan,
        RunSpec,
        load_plan,
        parse_parameter,
        plan_for_notebook,
        plan_from_dict,
    )
    from evaluation.batch.reproduce import Reproduction, reproduce  # noqa: F401
    from evaluation.batch.run import BatchResult, run_batch  # noqa: F401
