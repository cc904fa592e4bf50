"""The analyses behind the notebooks, so that the notebooks stay thin.

* :mod:`~evaluation.analysis.district` — the district's tables and registry, loaded once per
  process, as validated ward × period panels with cohorts;
* :mod:`~evaluation.analysis.effects` — results with verdicts (:class:`ProgrammeEffect`) and
  the comparison designs for one ward;
* :mod:`~evaluation.analysis.traffic`, :mod:`~evaluation.analysis.fires`,
  :mod:`~evaluation.analysis.security` — each programme with the estimator and inference its
  design calls for;
* :mod:`~evaluation.analysis.programmes` — every programme of a ward (or of every ward) in one
  call, multiple-testing adjustment, and the one namespace the notebooks import;
* :mod:`~evaluation.analysis.figures`, :mod:`~evaluation.analysis.tables` — figures and small
  HTML tables that read well in a report without code.
"""
