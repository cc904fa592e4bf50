"""Size, coverage and power of the workbench's inference on simulated district panels.

Issue 4, item 6 ("proof by simulation"). Simulates 13 wards × 104 weeks with ward and week
effects and AR(1) errors (ρ = 0.5) calibrated to the demo data, for (i) one treated ward and
(ii) a rollout to 12 wards in three waves, and reports for every method — the defaults of
``inference="auto"`` beside the conventional cluster-robust ones, on the same draws — the
rejection rate of a 5 % test with no effect (size), the coverage of 95 % intervals (no effect,
a constant planted effect, the demo's wave-specific effects) and the power at the demo data's
planted effect sizes, with Monte-Carlo standard errors. See
:mod:`evaluation.validation.inference_size_power` for the data-generating process and the definitions.

Usage::

    .venv/bin/python simulations/inference_size_power.py            # 1,000 reps
    .venv/bin/python simulations/inference_size_power.py --quick    # 150 reps

Each process limits its BLAS threads to one through threadpoolctl (the workers share the cores),
so no environment variable needs setting.
    .venv/bin/python simulations/inference_size_power.py --reps 200 --seed 7 --workers 2

Prints the two tables (markdown) and writes them, with the calibration, the command and the
wall time, to ``simulations/results/inference_size_power.md`` (``--out`` to change); ``--raw
FILE.csv`` keeps every estimate.
"""

from __future__ import annotations

import argparse  # noqa: E402
import os
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run from a fresh clone without installing

from evaluation.validation import inference_size_power as sim  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=1000, help="replications (default 1000)")
    parser.add_argument(
        "--quick", action="store_true", help="150 replications, 999 re-assignments/draws"
    )
    parser.add_argument("--seed", type=int, default=20240215, help="master seed")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="processes (default: all cores)"
    )
    parser.add_argument(
        "--inference-reps",
        type=int,
        default=None,
        help="randomization re-assignments / bootstrap draws per estimate (default 9999, the "
        "package default; 999 with --quick)",
    )
    parser.add_argument(
        "--designs",
        default="pilot,rollout,pilot_wave_a",
        help="comma-separated: pilot (i), rollout (ii), pilot_wave_a (the pilot with its "
        "post-period ended when wave A starts: 58 + 20 weeks)",
    )
    parser.add_argument(
        "--raw",
        type=Path,
        default=None,
        help="also write every estimate (one row per replication × scenario × method) to this CSV",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=HERE / "results" / "inference_size_power.md",
        help="markdown results file",
    )
    args = parser.parse_args(argv)
    reps = 150 if args.quick and args.reps == 1000 else args.reps
    inference_reps = args.inference_reps or (999 if args.quick else 9999)

    t0 = time.perf_counter()
    calibration = sim.calibrate_to_demo()
    make = {
        "pilot": lambda: sim.pilot_design(calibration),
        "rollout": lambda: sim.rollout_design(calibration),
        "pilot_wave_a": lambda: sim.pilot_design(calibration, n_weeks=78, key="pilot_wave_a"),
    }
    designs = [make[k.strip()]() for k in args.designs.split(",") if k.strip()]
    methods = {d.key: sim.methods_for(d.key, reps=inference_reps) for d in designs}
    results = sim.run_study(
        designs, calibration, reps=reps, seed=args.seed, workers=args.workers, methods=methods
    )
    summary = sim.summarise(results)
    wall = time.perf_counter() - t0

    command = ".venv/bin/python simulations/inference_size_power.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    failures = sim.requirement_failures(summary)
    parts = [
        "# Inference on the district's designs: size, coverage and power by simulation",
        "",
        f"`{command.strip()}` — {reps:,} replications per design, {inference_reps:,} "
        f"re-assignments / bootstrap draws per estimate, seed {args.seed}, {args.workers} "
        f"worker(s), wall time {wall / 60:.1f} min on {platform.machine()} "
        f"({os.cpu_count()} cores), Python {platform.python_version()}.",
        "",
        calibration.describe(),
        "",
        "Cells: % of replications, Monte-Carlo standard error in brackets. Size = share of "
        "p ≤ 0.05 with no effect; coverage = share of 95 % intervals containing the truth (the "
        "average effect over treated ward-weeks, which att_gt's `simple` aggregation "
        "estimates); power = share of p ≤ 0.05 under the demo effects. **Bold** = the default "
        "(`inference='auto'`). Requirement for the defaults: size in [3 %, 7 %] and coverage "
        "≥ 93 %.",
    ]
    for design in designs:
        parts += ["", f"## {design.title}", "", design.note + ".", ""]
        parts.append(sim.markdown_table(summary, design))
        per = summary[summary["design"] == design.key]
        timing = ", ".join(f"{r.method} {1000 * r.seconds:.0f} ms" for r in per.itertuples())
        parts += ["", f"Mean time per estimate: {timing}."]
        fails = per["failures"].sum()
        if fails:
            parts.append(f"Failed estimates: {int(fails)} (counted as not covering).")
    parts += [
        "",
        "## Requirement check (defaults)",
        "",
        "All defaults meet it."
        if not failures
        else "Not met:\n" + "\n".join(f"- {f}" for f in failures),
    ]
    text = "\n".join(parts) + "\n"
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"written: {args.out}")
    if args.raw is not None:
        results.to_csv(args.raw, index=False)
        print(f"written: {args.raw}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
