"""The estimators, one module per method family, each taking a long DataFrame and column names
and returning a result object (docs/ARCHITECTURE.md §4): :mod:`.did2x2`, :mod:`.twfe` (least squares and
Poisson PML), :mod:`.event_study`, :mod:`.att_gt` (Callaway & Sant'Anna 2021), :mod:`.synth`
(synthetic control, and what it shares with synthetic DiD) and :mod:`.sdid`.

Each checks its input through :mod:`evaluation.data.prepare`, fits through the kernels of
:mod:`evaluation.core`, and gets its standard errors, intervals and p-values from the one
entry point :func:`evaluation.inference.engine.infer` (``inference="auto"`` by default).
"""
