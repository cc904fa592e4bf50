"""Rendering only: what officials and analysts read, from findings the analysis made.

- :mod:`evaluation.report.html` — the self-contained HTML report of one run (Jinja2 templates
  in ``templates/``), sanitised;
- :mod:`evaluation.report.index` — the index page of a batch run;
- :mod:`evaluation.report.workbook` — ``findings.xlsx`` and ``findings.csv``, every cell through
  :mod:`evaluation.report.cells` (text from data is never a formula);
- :mod:`evaluation.report.figures`, :mod:`evaluation.report.tables` — figures and small HTML
  tables that read well in a report without code.

Nothing here decides: verdicts, their wording, the policy, outcome definitions and caveats
come from :mod:`evaluation.analysis`. The layer sits below :mod:`evaluation.batch`. Nothing is
imported here, so ``import evaluation.report.html`` costs only that module.
"""
