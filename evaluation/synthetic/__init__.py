"""Every generator of data with planted truth — never imported by production code.

* :mod:`~evaluation.synthetic.demo` — the demo district (``data/demo/``, ``params/pilots.yaml``,
  ``data/README.md``): ``python -m evaluation.synthetic.demo --out data/demo`` (``make
  demo-data``);
* :mod:`~evaluation.synthetic.scenarios` — other districts, drawn independently of the demo (a
  generator of its own, so one checks the other): any pilot ward, waves, effects including
  none, with their registry and truth, in the documented input formats;
* :mod:`~evaluation.synthetic.noise` — ward × week AR(1) noise panels calibrated to the demo,
  with planted designs, for the inference study;
* :mod:`~evaluation.synthetic.counts` — Poisson ward × month fire panels for the count study;
* :mod:`~evaluation.synthetic.calendar` — the one calendar of Tết, public holidays, school
  terms and rain every generator shares;
* :mod:`~evaluation.synthetic.files` — the one writer of registries, data notes and commented
  YAML.

The generators draw differently on purpose; the facts they share (dates of Tết, the file
formats) live here once. The layer contract (``docs/ARCHITECTURE.md``) forbids production
modules to import this package.
"""
