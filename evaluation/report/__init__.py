"""What a run reports: the findings schema, the verdicts, and the HTML officials receive.

- :mod:`evaluation.report.findings` — the findings schema (``FINDING_FIELDS``), what
  notebooks call to record their results (:func:`~evaluation.report.findings.finding`,
  :func:`~evaluation.report.findings.record_findings`), reading and validating them back, and
  the column order of the findings table;
- :mod:`evaluation.report.verdict` and the modules beside it — plain-language verdicts in
  Vietnamese and English, and the policy behind them;
- :mod:`evaluation.report.html` — the self-contained HTML report of one run and the index page
  (Jinja2 templates in ``templates/``);
- :mod:`evaluation.report.files` — atomic file writes for everything a run leaves behind.

The layer sits below :mod:`evaluation.batch`: the batch imports it, never the reverse, so a
notebook records its findings without loading any of the batch machinery. Nothing is imported
here, so ``import evaluation.report.findings`` costs only that module.
"""
