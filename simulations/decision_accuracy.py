"""Decision accuracy: are the verdicts officials read right, on districts whose truth we know?

Simulates districts whose truths vary — no effect anywhere, the pilot only,
heterogeneous waves, small and large effects, spillovers to untreated neighbours, anticipation
before each start, a district-wide shock no comparison removes — with the pilot ward and the
wave order drawn at random (:func:`evaluation.synthetic.scenarios.random_scenario`, a generator
independent of the demo's), writes each in the documented input format, and runs it through
the same analysis layer the notebooks use (:func:`evaluation.analysis.evaluate.district_findings`:
the registry, the designs, the inference, the one verdict policy). Then, per family of
findings (the pilot's headline, the rollout's, its waves, its wards, the fire points, the
cameras, and the secondary outcomes), it reports:

* **false verdicts** — the share of findings called "Improved"/"Worsened" when the planted
  effect on exactly the cells they cover is zero (goal ≤ 5 %), and the share of districts with
  at least one false verdict in the family;
* **detection** — the share called "Improved" when the planted effect is not zero, by kind of
  district (the demo's effect sizes are the "heterogeneous_waves" and "large" kinds);
* **coverage** — the share of shown 95 % intervals that contain the planted effect over their
  own cells (goal ≥ 90 %);
* **attribution** — the count of numbers shown under a ward they do not belong to (a ward row
  whose number averages other wards, a ward row with a number although no comparison ward was
  left, a pilot finding for another ward than the registry's pilot): goal 0.

Usage::

    .venv/bin/python simulations/decision_accuracy.py                  # 240 districts
    .venv/bin/python simulations/decision_accuracy.py --districts 16 --out /tmp/da.md

The tables, the command and the wall time go to simulations/results/decision_accuracy.md.
A reduced version runs in the tests (tests/test_decision_accuracy.py).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a fresh clone without installing

os.environ.setdefault("PILOT_EVAL_CACHE", "off")  # every district is new: nothing to reuse

from evaluation.validation.decision_accuracy import results_markdown, run_study  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--districts", type=int, default=240, help="districts (default 240)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "decision_accuracy.md")
    args = parser.parse_args(argv)
    t0 = time.time()
    scored, problems = run_study(args.districts, seed=args.seed, workers=args.workers)
    command = "python simulations/decision_accuracy.py " + " ".join(argv or sys.argv[1:])
    text = results_markdown(
        scored,
        problems,
        n_districts=args.districts,
        seed=args.seed,
        command=command,
        minutes=(time.time() - t0) / 60,
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
