"""The ``pilot-eval`` command line (docs/ARCHITECTURE.md §5).

::

    pilot-eval batch PLAN.yaml [--out DIR] [--workers N] [--executor local|dask]
                     [--scheduler ADDR] [--timeout S] [--engine inprocess|kernel]
                     [--resume] [--quiet]
    pilot-eval run NOTEBOOK [-p NAME VALUE ...] [--out DIR] [--timeout S] [--engine ...]
    pilot-eval validate FILE [FILE ...] [--wards WARDS.csv] [--unit COL --time COL]
    pilot-eval init DIR --data DATA                 # a new district: plan, registry, ward table
    pilot-eval report [--out DIR] [batch options]   # params/monthly.yaml (`make report`)
    pilot-eval reproduce RUN_DIR [--workers N] [--tolerance T] [--keep DIR] [--quiet]

Exit status: 0 every run succeeded; 1 some runs failed or timed out; 2 the plan, a parameter
or the data is unusable (the message says which and what to do); 75 another batch is writing
the same output folder (EX_TEMPFAIL: try again later — what a cron job should do); 130 the
batch was interrupted (Ctrl-C or SIGTERM; rerun with ``--resume``). No traceback is printed for
bad input.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE, EXIT_BUSY, EXIT_INTERRUPTED = 0, 1, 2, 75, 130

_EPILOG = (
    "exit status: 0 all runs succeeded, 1 some failed or timed out, 2 unusable plan or data, "
    "75 another batch holds the output folder's lock, 130 interrupted (rerun with --resume)"
)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _add_run_options(p: argparse.ArgumentParser, *, batch: bool) -> None:
    p.add_argument(
        "--out", metavar="DIR", help="run folder (default: the plan's `out`, else output/NAME)"
    )
    p.add_argument(
        "--timeout",
        type=_positive_float,
        metavar="S",
        help="seconds per run; a run past it is stopped and reported as 'timeout'",
    )
    p.add_argument(
        "--engine",
        choices=("inprocess", "kernel"),
        help="inprocess (default, fast: papermill's pilot-eval engine in runs forked from a "
        "pre-warmed worker) or kernel (papermill with a Jupyter kernel per run)",
    )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    if batch:
        p.add_argument(
            "--workers",
            type=_positive_int,
            metavar="N",
            help="runs at a time (default: the number of cores); with --executor dask and no "
            "--scheduler, the worker processes of the cluster it starts",
        )
        p.add_argument(
            "--executor",
            choices=("local", "dask"),
            default="local",
            help="local processes (default) or a Dask distributed cluster: without --scheduler "
            "a LocalCluster on this machine, started for the batch and shut down after it "
            "(also on Ctrl-C)",
        )
        p.add_argument(
            "--scheduler",
            metavar="ADDR",
            help="an existing Dask cluster's scheduler for --executor dask, e.g. "
            "tcp://host:8786 (left running; OUT must be on a file system its workers share)",
        )
        p.add_argument(
            "--resume",
            action="store_true",
            help="skip runs that succeeded before with unchanged notebook, "
            "parameters, data and package code",
        )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pilot-eval",
        description="Run the pilot-evaluation notebooks and build shareable reports.",
        epilog=_EPILOG,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("batch", help="run every notebook × ward of a plan", epilog=_EPILOG)
    p.add_argument("plan", metavar="PLAN.yaml", help="batch plan (see params/monthly.yaml)")
    _add_run_options(p, batch=True)
    p.set_defaults(func=_cmd_batch)

    p = sub.add_parser(
        "run",
        help="run one notebook",
        epilog="Values take the type of the parameter's default in the notebook's parameters "
        'cell: text stays text exactly as typed (-p ward 00617 gives "00617", not 617). For a '
        "parameter whose default is None, the value is read as YAML 1.2: 617 → number, "
        "true/false, null, [a, b] → list; anything else, 00617 and dates included, stays text. "
        "Paths: a parameter whose name ends in _dir, _path or _file (data_dir, registry_path) "
        "is a path, and a relative one starts at the folder you run pilot-eval from (-p "
        "data_dir data/demo in the project folder), not at the notebook's folder; the "
        "manifest records it relative to the run folder. " + _EPILOG,
    )
    p.add_argument("notebook", metavar="NOTEBOOK", help="a notebook with a 'parameters' cell")
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="set a parameter (repeatable)",
    )
    _add_run_options(p, batch=False)
    p.set_defaults(func=_cmd_run)

    from evaluation.data.validate import add_arguments as add_validate_arguments

    p = sub.add_parser(
        "validate",
        help="check data files, the ward table and registries; print every problem found",
        description="Check data files against the district's ward table (wards.csv beside them, "
        "or --wards), and pilot registries; print every problem with file, column, rows and "
        "what to do. Exit 2 if any.",
    )
    add_validate_arguments(p)
    p.set_defaults(func=_cmd_validate)

    p = sub.add_parser(
        "init",
        help="start a new district: a plan, a registry template and a ward table from its data",
        description="Write DIR/plan.yaml (pointing at DATA and the workbench's notebooks), "
        "DIR/pilots.yaml (a registry template listing the wards found in the data) and, when "
        "DATA holds no wards.csv, DIR/wards.csv (the ward names found, population to fill in). "
        "Existing files are never overwritten.",
    )
    p.add_argument("folder", metavar="DIR", help="folder for the plan and registry (created)")
    p.add_argument("--data", required=True, metavar="DATA", help="the district's data folder")
    p.set_defaults(func=_cmd_init)

    p = sub.add_parser(
        "report", help="run params/monthly.yaml (what `make report` does)", epilog=_EPILOG
    )
    p.add_argument("--plan", metavar="PLAN.yaml", help=argparse.SUPPRESS)
    _add_run_options(p, batch=True)
    p.set_defaults(func=_cmd_report)

    _add_reproduce_parser(sub)
    return parser


def _add_reproduce_parser(sub: Any) -> None:
    p = sub.add_parser(
        "reproduce",
        help="run a recorded run folder again and compare every finding",
        description="Read RUN_DIR/manifest.json; check the data, registry, plan and notebooks "
        "against their recorded sha256 and the package versions and git commit against the "
        "recorded ones (saying which differ); run the recorded plan again into a temporary "
        "folder, with a fresh analysis cache; compare every finding (estimate, interval, "
        "p-value, verdict) and print a table of those that differ.",
        epilog="exit status: 0 every finding reproduced, 1 some number or verdict moved beyond "
        "the tolerance (or a run no longer succeeds), 2 the run folder is unusable (no "
        "finished batch's manifest, or a plan that no longer validates)",
    )
    p.add_argument("run_dir", metavar="RUN_DIR", help="a run folder (what --out named)")
    p.add_argument(
        "--workers",
        type=_positive_int,
        metavar="N",
        help="runs at a time (default: the number of cores)",
    )
    p.add_argument(
        "--tolerance",
        type=_positive_float,
        metavar="T",
        # the default is evaluation.batch.reproduce.TOLERANCE (not imported here: a second)
        help="numbers agree when |Δ| ≤ T × max(1, |value|) (default 1e-9)",
    )
    p.add_argument("--keep", metavar="DIR", help="write the re-run into DIR and keep it")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress output")
    p.set_defaults(func=_cmd_reproduce)


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


class _Progress:
    """A tqdm bar on a terminal, one plain line per run otherwise (cron mail, CI logs)."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.bar = None
        self.tty = sys.stderr.isatty()

    def __call__(self, rec: dict[str, Any] | None, done: int, total: int) -> None:
        if self.quiet:
            return
        if rec is None:  # the batch starts
            if self.tty:
                from tqdm import tqdm

                self.bar = tqdm(total=total, unit="run", file=sys.stderr, dynamic_ncols=True)
            else:
                print(f"pilot-eval: {total} runs", file=sys.stderr, flush=True)
            return
        status = rec["status"]
        err = rec.get("error") or {}
        line = f"{status:<8} {rec['id']}"
        if rec.get("duration_s") and status != "skipped":
            line += f"  ({rec['duration_s']:.1f} s)"
        if status in ("failed", "timeout"):
            cell = err.get("cell_index")
            line += f"\n         {err.get('ename')}: {_one_line(err.get('evalue'))}"
            if cell is not None:
                line += f" (cell index {cell})"
        if self.bar is not None:
            if status not in ("ok", "skipped"):
                self.bar.write(line, file=sys.stderr)
            self.bar.update(1)
            if done >= total:
                self.bar.close()
        else:
            print(f"[{done}/{total}] {line}", file=sys.stderr, flush=True)


def _notice(text: str) -> None:
    """What the executor says about itself (the Dask cluster it started and shut down)."""
    print(text, file=sys.stderr, flush=True)


def _one_line(text: Any, limit: int = 300) -> str:
    s = " ".join(str(text or "").split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def _execute(plan, args: argparse.Namespace, out: str | None) -> int:
    from evaluation.batch.run import run_batch

    result = run_batch(
        plan,
        out,
        workers=getattr(args, "workers", None),
        executor=getattr(args, "executor", "local"),
        scheduler=getattr(args, "scheduler", None),
        timeout=args.timeout,
        engine=args.engine,
        resume=getattr(args, "resume", False),
        progress=_Progress(args.quiet),
        notice=None if args.quiet else _notice,
    )
    parts = [
        f"{result.count(s)} {s}" for s in ("ok", "skipped", "failed", "timeout") if result.count(s)
    ]
    print(f"pilot-eval: {', '.join(parts) or 'no runs'} — {_count(result.findings)}")
    print(f"index: {result.index}")
    _warn_preload(result.manifest)
    return result.exit_code


def _count(findings: list[dict[str, Any]]) -> str:
    from evaluation.batch.outputs import findings_count

    return findings_count(findings)


def _warn_preload(manifest: dict[str, Any]) -> None:
    """A plan's ``preload`` module that could not be imported was skipped: say so."""
    failed = dict(manifest["options"].get("warm_worker", {}).get("failed", {}))
    warm_up = failed.pop("warm_up", None)
    for module, why in failed.items():
        print(
            f"pilot-eval: warning: the warm worker could not import {module!r} ({why}); it was "
            "skipped, runs that need it import it themselves — check the plan's `preload:` list",
            file=sys.stderr,
        )
    if warm_up:
        print(
            f"pilot-eval: warning: the warm worker's warm-up failed ({warm_up}); runs were "
            "slower, not wrong",
            file=sys.stderr,
        )


def _prestart(args: argparse.Namespace) -> None:
    """Local runs: start the warm worker's imports now, while the plan is read and checked."""
    if getattr(args, "executor", "local") == "local":
        from evaluation.batch.forkserver import prestart
        from evaluation.batch.manifest import package_code_hash

        prestart(package_code_hash())


def _cmd_batch(args: argparse.Namespace) -> int:
    from evaluation.batch.plan import load_plan
    from evaluation.batch.preflight import check_plan_inputs

    _prestart(args)
    plan = load_plan(args.plan)
    check_plan_inputs(plan)  # problems every run would meet: once, before any run
    return _execute(plan, args, args.out)


def _cmd_run(args: argparse.Namespace) -> int:
    from evaluation.batch.inspect import inspect_notebook
    from evaluation.batch.plan import parse_parameter, plan_for_notebook

    _prestart(args)
    info = inspect_notebook(args.notebook, source="NOTEBOOK")
    params: dict[str, Any] = {}
    for name, text in args.parameter:
        if name in params:
            from evaluation.errors import PlanError

            raise PlanError(f"-p {name}: given twice")
        params[name] = parse_parameter(name, text, info.declared)
    plan = plan_for_notebook(
        args.notebook,
        params,
        engine=args.engine or "inprocess",
        **({"timeout": args.timeout} if args.timeout else {}),
    )
    run_id = plan.runs()[0].id
    out = args.out or str(Path("output") / run_id)
    code = _execute(plan, args, out)
    report = Path(out).resolve() / "reports" / f"{run_id}.html"
    if report.exists():
        print(f"report: {report}")
    return code


def _cmd_init(args: argparse.Namespace) -> int:
    from evaluation.batch.init import init_district

    written, steps = init_district(args.folder, args.data)
    for path in written:
        print(f"wrote {path}")
    print("\nNext:")
    for i, step in enumerate(steps, start=1):
        print(f"  {i}. {step}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from evaluation.data.validate import run

    return int(run(args) or 0)


def _find_monthly() -> Path:
    import evaluation

    candidates = [
        Path.cwd() / "params" / "monthly.yaml",
        Path(evaluation.__file__).resolve().parents[1] / "params" / "monthly.yaml",
    ]
    for c in candidates:
        if c.is_file():
            return c
    from evaluation.errors import PlanError

    raise PlanError(
        "pilot-eval report: params/monthly.yaml not found (looked in "
        + " and ".join(str(c.parent) for c in candidates)
        + ") — run it from the workbench folder or use `pilot-eval batch PLAN.yaml`"
    )


def _cmd_report(args: argparse.Namespace) -> int:
    from evaluation.batch.plan import load_plan
    from evaluation.batch.preflight import check_plan_inputs

    plan_path = Path(args.plan) if args.plan else _find_monthly()
    _prestart(args)
    plan = load_plan(plan_path)
    check_plan_inputs(plan)
    return _execute(plan, args, args.out or "output")


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from evaluation.batch.reproduce import TOLERANCE, reproduce

    result = reproduce(
        args.run_dir,
        workers=args.workers,
        tolerance=args.tolerance or TOLERANCE,
        keep=args.keep,
        progress=_Progress(args.quiet),
    )
    print(result.report(), end="")
    return result.exit_code


# --------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: Any) -> None:  # noqa: ARG001
    # systemd and kill(1) stop a batch with SIGTERM: unwind like Ctrl-C so the manifest and
    # the index say "interrupted" and the runs in flight are stopped.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pilot-eval`` console script; returns the exit status."""
    from evaluation.errors import BatchError, DataError, WorkbenchError

    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    if _is_main_thread():
        previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return int(args.func(args))
    except DataError as exc:  # PlanError is a DataError
        print(f"pilot-eval: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except BatchError as exc:
        from evaluation.batch.lock import OutputLocked

        print(f"pilot-eval: {exc}", file=sys.stderr)
        return EXIT_BUSY if isinstance(exc, OutputLocked) else EXIT_UNUSABLE
    except WorkbenchError as exc:
        print(f"pilot-eval: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        print(
            "pilot-eval: interrupted — runs in flight were stopped; the manifest and index "
            "say so. Run the same command with --resume to finish.",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _is_main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
