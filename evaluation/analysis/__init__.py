"""The analyses behind the notebooks, for any district, so that the notebooks stay thin.

* :mod:`~evaluation.analysis.district` — the district's tables, registry and data notes,
  loaded once per process, as validated ward × period panels with cohorts;
* :mod:`~evaluation.analysis.evaluate` — every programme of the registry evaluated with the
  design its timing allows: the findings (headlines, waves, wards, alternatives, checks) every
  page shares, with one verdict policy (:mod:`~evaluation.analysis.findings`);
* :mod:`~evaluation.analysis.designs` — indicators, comparison windows and planted truth;
* :mod:`~evaluation.analysis.traffic` — the rollout by Callaway & Sant'Anna, its waves, the
  TWFE contrast and the pilot's single-unit alternatives;
* :mod:`~evaluation.analysis.checks` — placebo and spill-over checks of one ward's estimate;
* :mod:`~evaluation.analysis.fires` — descriptive fire tables;
* :mod:`~evaluation.analysis.figures`, :mod:`~evaluation.analysis.tables` — figures and small
  HTML tables that read well in a report without code;
* :mod:`~evaluation.analysis.cache` — the findings computed once per data and code version.
"""
