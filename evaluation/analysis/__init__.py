"""The analysis of a district's programmes and its decisions, for any district, so that the
notebooks stay thin. Read in this order — each module uses only the ones before it:

* :mod:`~evaluation.analysis.outcomes` — what each indicator is, its unit and its good direction;
* :mod:`~evaluation.analysis.policy` — the one verdict policy (Holm within declared families,
  an interval required, "cannot decide" when the design cannot reach the level);
* :mod:`~evaluation.analysis.verdict`, :mod:`~evaluation.analysis.caveats` — the verdict's
  plain-language wording and the caveats, in Vietnamese and English;
* :mod:`~evaluation.analysis.record` — the findings schema notebooks record and the batch reads;
* :mod:`~evaluation.analysis.district` — the district's tables, registry and data notes,
  loaded once per process, as validated ward × period panels with cohorts;
* :mod:`~evaluation.analysis.windows` — indicators, comparison windows and planted truth;
* :mod:`~evaluation.analysis.findings` — a finding: one estimate, judged by the policy;
* :mod:`~evaluation.analysis.traffic`, :mod:`~evaluation.analysis.fires`,
  :mod:`~evaluation.analysis.checks` — the estimates behind the findings: the rollout by
  Callaway & Sant'Anna, the TWFE contrast and the pilot's single-unit alternatives; fire
  tables; placebo and spill-over checks;
* :mod:`~evaluation.analysis.wording` — the words around a verdict: question, method, window;
* :mod:`~evaluation.analysis.single_ward` — one ward against the wards not yet treated: the
  pilot's headline and each ward's own number, or why it has none;
* :mod:`~evaluation.analysis.staggered` — a rollout's average, its waves and the TWFE contrast;
* :mod:`~evaluation.analysis.evaluate` — every programme of the registry evaluated with the
  design its timing allows: the findings every page shares;
* :mod:`~evaluation.analysis.cache` — the findings computed once per data and code version.

Rendering (figures, tables, pages) is :mod:`evaluation.report`'s.
"""
