"""Running a plan: every notebook × ward into one run folder, one failure never stopping the rest.

:func:`run_batch` checks the options, starts the executor (the local warm server starts its
imports now, while the inputs are hashed), takes the folder's lock and then, in order:

1. clears what a killed batch left behind (temporary files, reports of wards no longer planned);
2. decides, run by run, what to execute and what ``--resume`` may skip (:func:`_plan_runs`);
3. writes a manifest and an index that say "running", then executes the runs, keeping the
   manifest in step as they end (:class:`~evaluation.batch.manifest.ManifestWriter`);
4. collects the findings and writes the tables, the final manifest and the index — in that
   order, so that the index never points at a file that is not there yet.

Outputs are written atomically: a run's files appear only when it has ended, and ``index.html``
says "not finished" until the last run is in, or "interrupted" after Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.batch.executors import DaskExecutor, LocalExecutor
from evaluation.batch.forkserver import default_preload
from evaluation.batch.job import WORK_DIR, Job
from evaluation.batch.lock import OutputLock
from evaluation.batch.manifest import (
    MANIFEST_SCHEMA,
    REGISTRY_PREFIX,
    SUCCEEDED,
    ManifestWriter,
    environment,
    hash_folder,
    now,
    package_code_hash,
    read_manifest,
    run_key,
    run_outputs,
    sha256_file,
)
from evaluation.batch.outputs import collect_findings, ward_groups, write_index, write_tables
from evaluation.batch.paths import (
    Redactor,
    locate,
    recorded_parameters,
    relative,
    resolve_located,
    run_log,
)
from evaluation.batch.plan import ENGINES, Plan, RunSpec
from evaluation.core.files import write_text_atomic
from evaluation.errors import BatchError, PlanError

__all__ = ["BatchResult", "run_batch", "HARD_KILL_GRACE"]

HARD_KILL_GRACE = 5.0  # seconds a run gets after its timeout to stop by itself before SIGKILL

#: The end of a traceback the manifest keeps (the whole of it is in the run's log)
_TRACEBACK_KEPT = 4000

Progress = Callable[[dict[str, Any] | None, int, int], None]


@dataclass
class BatchResult:
    """What :func:`run_batch` did: the run folder, every run's record and the exit status."""

    out: Path
    manifest: dict[str, Any]
    findings: list[dict[str, Any]]

    @property
    def runs(self) -> list[dict[str, Any]]:
        return self.manifest["runs"]

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.runs)

    @property
    def exit_code(self) -> int:
        """0 when every run succeeded (or was skipped as unchanged), 1 otherwise."""
        return 0 if all(r["status"] in SUCCEEDED for r in self.runs) else 1


@dataclass(frozen=True)
class _Options:
    """The command line's choices, as the manifest records them."""

    executor: str
    scheduler: str | None
    engine: str
    timeout: float | None
    resume: bool
    run_env: Mapping[str, str]


def run_batch(
    plan: Plan,
    out: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    timeout: float | None = None,
    engine: str | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    run_env: Mapping[str, str] | None = None,
    notice: Callable[[str], None] | None = None,
) -> BatchResult:
    """Run every notebook × ward of a plan into a run folder; one failure never stops the rest.

    Parameters
    ----------
    plan
        From :func:`~evaluation.batch.plan.load_plan` or
        :func:`~evaluation.batch.plan.plan_for_notebook`.
    out
        The run folder (default: the plan's ``out``, else ``output/<plan name>``).
    workers
        Runs at a time on this machine (default: the number of cores): the local executor's
        processes, or the worker processes of the Dask cluster the batch starts. Ignored with
        ``scheduler`` (the cluster there has the workers it has).
    executor, scheduler
        ``"local"`` (processes forked from a pre-warmed worker on this machine) or ``"dask"``
        (the same runs as tasks on a Dask cluster: the one at ``scheduler``, whose workers must
        share OUT's file system, or without ``scheduler`` a ``LocalCluster`` the batch starts
        on this machine and shuts down when it ends, also when interrupted).
    timeout
        Seconds per run, overriding the plan. A run past it is stopped and reported as
        ``timeout``, with the cell it was in.
    engine
        ``"inprocess"`` (default: papermill with the ``pilot-eval`` engine, cells in an IPython
        shell in a forked process) or ``"kernel"`` (papermill with a real Jupyter kernel per
        run; slower, for notebooks that need kernel features).
    resume
        Skip runs that succeeded in the folder's previous manifest with identical inputs.
    progress
        Called as ``progress(record, done, total)`` after each run, and once with
        ``record=None`` when the runs start.
    run_env
        Environment variables set in each run's process (``pilot-eval reproduce`` gives the
        re-run a cache of its own); not recorded in the manifest.
    notice
        Called with a line of text when the executor has something to say (the Dask cluster
        it started, and that it shut it down).

    Returns
    -------
    BatchResult
        ``exit_code`` is 0 when all runs succeeded and 1 otherwise.

    Raises
    ------
    OutputLocked
        Another batch is writing to ``out``.
    BatchError
        The folder cannot be written, or the executor cannot start.
    """
    out_dir = Path(out) if out is not None else (plan.out or Path("output") / plan.name)
    out_dir = out_dir.resolve()
    options = _Options(executor, scheduler, engine or plan.engine, timeout, resume, run_env or {})
    _check_options(options)
    _make_writable(out_dir)
    preload = default_preload(plan)
    code_hash = package_code_hash()
    # before anything is written: a Dask scheduler that cannot be reached stops the batch here;
    # a local warm worker starts now and does its imports while the inputs are hashed
    if executor == "local":
        pool: Any = LocalExecutor(workers=workers, preload=preload, code_key=code_hash)
    else:
        pool = DaskExecutor(scheduler, workers, preload=preload, code_key=code_hash, notice=notice)
    try:
        with OutputLock(out_dir):
            try:
                return _Batch(plan, out_dir, pool, options, preload, code_hash, progress).run()
            finally:
                pool.close()
                _clear_partials(out_dir)  # nothing runs any more: no attempt's file is live
    except BaseException:
        pool.close()  # the lock was busy, say: a cluster the batch started still goes
        raise


def _check_options(options: _Options) -> None:
    if options.engine not in ENGINES:
        raise PlanError(f"--engine: {options.engine!r} is not one of {', '.join(ENGINES)}")
    if options.executor not in ("local", "dask"):
        raise PlanError(f"--executor: {options.executor!r} is not one of local, dask")
    if options.scheduler and options.executor != "dask":
        raise PlanError("--scheduler: a Dask scheduler's address needs --executor dask")


def _make_writable(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(
            f"--out: cannot create the output folder {str(out_dir)!r} ({exc})"
        ) from None
    if not os.access(out_dir, os.W_OK):
        raise BatchError(f"--out: the output folder {str(out_dir)!r} is not writable")


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _clear_partials(out_dir: Path) -> None:
    """The ``*.partial`` files of runs that were cut off (killed, or their worker died)."""
    for sub in ("notebooks", "reports", "results"):
        d = out_dir / sub
        if d.is_dir():
            for p in d.iterdir():
                if p.name.endswith(".partial") and p.is_file():
                    _remove(p)


def _clear_leftovers(out_dir: Path, current_ids: set[str], previous_ids: set[Any]) -> None:
    """Temporary files of a killed batch, and the outputs of runs no longer in the plan."""
    for sub in ("notebooks", "reports", "results", WORK_DIR):
        d = out_dir / sub
        if d.is_dir():
            for p in d.iterdir():
                if (p.name.endswith((".partial", ".tmp")) or sub == WORK_DIR) and p.is_file():
                    _remove(p)
    for rid in previous_ids:
        if rid not in current_ids and isinstance(rid, str):
            for rel in run_outputs(rid).values():  # a ward dropped from the plan: its report goes
                _remove(out_dir / rel)
            _remove(out_dir / run_log(rid))


def plan_folder(plan: Plan) -> Path:
    """The folder the plan's relative paths start from: the plan file's, or for a single
    notebook run (no plan file) the notebook's — where its run's relative paths resolve."""
    return plan.source.parent if plan.source else plan.notebooks[0].path.parent


def _plan_identity(plan_record: Any, out_dir: Path) -> Any:
    """What makes two batches the same batch: the plan file, or for a single notebook run
    (no plan file) the notebook's folder, the notebook and its parameters."""
    if not isinstance(plan_record, dict):
        return None
    folder = resolve_located(plan_record.get("folder"), out_dir)
    if folder is None:  # written before manifests held relative paths: absolute ones
        return plan_record.get("source") or plan_record.get("content")
    if plan_record.get("source"):
        return str(folder / plan_record["source"])
    return [str(folder), plan_record.get("content")]


def _refuse_another_batch(
    out_dir: Path, previous: Any, plan: Plan, plan_record: dict[str, Any]
) -> None:
    """A run folder belongs to one plan: running another plan into it would replace its index
    and remove the reports of runs that plan does not have. Refuse, and say what to do."""
    if not isinstance(previous, dict):
        return
    theirs_record = previous.get("plan")
    theirs = _plan_identity(theirs_record, out_dir)
    if isinstance(theirs_record, dict) and "folder" in theirs_record:
        mine = _plan_identity(plan_record, out_dir)
    else:
        mine = str(plan.source) if plan.source else plan.raw
    if theirs is None or theirs == mine:
        return
    what = previous.get("title") or "another batch"
    source = theirs if isinstance(theirs, str) else "a single notebook run"
    n = len(previous.get("runs") or [])
    raise BatchError(
        f"--out: the folder {str(out_dir)!r} holds the outputs of {what!r} ({n} runs, "
        f"plan {source}); "
        "running a different plan there would replace its index and remove its reports. "
        "Choose another folder (e.g. --out output/mine), or delete that folder first."
    )


def _relative_plan(raw: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """The plan as written, with any absolute path among its paths made relative to its folder."""

    def rel(value: Any) -> Any:
        return relative(value, base) if isinstance(value, str) and os.path.isabs(value) else value

    content = {k: rel(v) if k in ("data", "registry", "out") else v for k, v in raw.items()}
    if isinstance(raw.get("notebooks"), list):
        content["notebooks"] = [
            {**e, "notebook": rel(e.get("notebook"))} if isinstance(e, dict) else rel(e)
            for e in raw["notebooks"]
        ]
    return content


class _Batch:
    """One batch in its locked run folder: what to run, the manifest, the runs, the index."""

    def __init__(
        self,
        plan: Plan,
        out_dir: Path,
        pool: Any,
        options: _Options,
        preload: tuple[str, ...],
        code_hash: str,
        progress: Progress | None,
    ):
        self.plan, self.out_dir, self.pool, self.options = plan, out_dir, pool, options
        self.preload, self.code_hash, self.progress = preload, code_hash, progress
        self.done = self.total = 0
        self.plan_dir = plan_folder(plan)
        self.redact = Redactor(out_dir, self.plan_dir)
        self.wards = ward_groups(plan.ward_table, plan.data)  # the index groups a city's wards

    def run(self) -> BatchResult:
        previous = read_manifest(self.out_dir)
        _refuse_another_batch(self.out_dir, previous, self.plan, self._plan_record())
        env = environment(self.code_hash)
        data_hashes = hash_folder(self.plan.data, skip=[self.out_dir])
        if self.plan.registry is not None:  # a changed registry re-runs every notebook
            data_hashes[REGISTRY_PREFIX + self.plan.registry.name] = sha256_file(self.plan.registry)
        runs = self.plan.runs()
        prev_runs = {
            r.get("id"): r for r in (previous or {}).get("runs", []) if isinstance(r, dict)
        }
        _clear_leftovers(self.out_dir, {r.id for r in runs}, set(prev_runs))
        (self.out_dir / WORK_DIR).mkdir(exist_ok=True)
        records, jobs = self._plan_runs(runs, prev_runs, data_hashes, env)
        manifest = self._new_manifest(records, env, data_hashes)
        self.writer = ManifestWriter(self.out_dir / "manifest.json", manifest)
        self.writer.write()
        write_index(self.out_dir, manifest, [], self.wards)
        self._report_skipped(records)
        if jobs:
            self._execute(_longest_first(jobs, runs, prev_runs))
        self._record_warm_worker(manifest)
        t_index = time.perf_counter()
        findings = collect_findings(self.out_dir, records)
        for rec in records:  # a results file that could not be read back: its error too
            if rec.get("error"):
                rec["error"] = self._recorded_error(rec["id"], rec["error"], rec["status"])
        manifest.update(status="finished", finished=now())
        write_tables(self.out_dir, findings)
        manifest["tables"] = {"csv": "findings.csv", "xlsx": "findings.xlsx"}
        # order matters: the tables, then the manifest, then the index that points at them
        self.writer.write()
        write_index(self.out_dir, manifest, findings, self.wards)
        # the index stage (findings read back, tables, index page), for benchmarks/city.py
        manifest["stages"] = {"index": round(time.perf_counter() - t_index, 4)}
        self.writer.write()
        shutil.rmtree(self.out_dir / WORK_DIR, ignore_errors=True)
        return BatchResult(out=self.out_dir, manifest=manifest, findings=findings)

    # -- deciding what to run -------------------------------------------------------------

    def _plan_runs(
        self,
        runs: list[RunSpec],
        prev_runs: Mapping[Any, dict[str, Any]],
        data_hashes: Mapping[str, str],
        env: Mapping[str, Any],
    ) -> tuple[list[dict[str, Any]], list[Job]]:
        """A manifest record per run, and a job for each run that ``--resume`` cannot skip."""
        records: list[dict[str, Any]] = []
        jobs: list[Job] = []
        for run in runs:
            info = run.notebook.info
            parameters = recorded_parameters(run.parameters, self.plan_dir)
            key = run_key(info.sha256, parameters, data_hashes, env["package_code_sha256"])
            rec: dict[str, Any] = {
                "id": run.id,
                "notebook": self._label(run),
                "notebook_path": relative(run.notebook.path, self.plan_dir),
                "notebook_sha256": info.sha256,
                "ward": run.ward,
                "parameters": parameters,
                "key": key,
                "status": "pending",
                "engine": self.options.engine,
            }
            old = prev_runs.get(run.id)
            if self._reusable(old, key, run.id):
                rec.update(_skipped(old, run.id))
            else:
                for rel in run_outputs(run.id).values():
                    _remove(self.out_dir / rel)
                _remove(self.out_dir / run_log(run.id))
                jobs.append(self._job(run, env, parameters))
            records.append(rec)
        return records, jobs

    def _reusable(self, old: Mapping[str, Any] | None, key: str, run_id: str) -> bool:
        """``--resume``: it succeeded before, with the same inputs, and its files are there."""
        return (
            self.options.resume
            and old is not None
            and old.get("status") in SUCCEEDED
            and old.get("key") == key
            and all((self.out_dir / rel).is_file() for rel in run_outputs(run_id).values())
        )

    def _label(self, run: RunSpec) -> str:
        """The notebook as the plan names it; an absolute path relative to the plan's folder."""
        label = run.notebook.label
        return relative(label, self.plan_dir) if os.path.isabs(label) else label

    def _job(self, run: RunSpec, env: Mapping[str, Any], recorded: dict[str, Any]) -> Job:
        outputs = run_outputs(run.id)
        params = dict(run.parameters)
        params["results_path"] = str(self.out_dir / (outputs["results"] + ".partial"))
        timeout = self.options.timeout
        return Job(
            run_id=run.id,
            notebook=str(run.notebook.path),
            parameters=params,
            out_dir=str(self.out_dir),
            outputs=outputs,
            timeout=float(timeout) if timeout is not None else run.timeout,
            grace=HARD_KILL_GRACE,
            engine=self.options.engine,
            preload=self.preload,
            code_key=self.code_hash,
            plan_dir=str(self.plan_dir),
            recorded_notebook=relative(run.notebook.path, self.plan_dir),
            recorded_parameters={**recorded, "results_path": outputs["results"]},
            env=dict(self.options.run_env),
            meta={
                "plan_title": self.plan.title,
                "notebook": self._label(run),
                "notebook_title": run.notebook.info.title,
                "ward": run.ward,
                "parameters": recorded,
                "version": env["evaluation"],
                "git_commit": env["git_commit"],
                "index": "../index.html",
            },
        )

    def _new_manifest(
        self, records: list[dict[str, Any]], env: dict[str, Any], data_hashes: dict[str, str]
    ) -> dict[str, Any]:
        plan, o = self.plan, self.options
        return {
            "schema": MANIFEST_SCHEMA,
            "status": "running",
            "title": plan.title,
            "started": now(),
            "finished": None,
            "command": self._command(),
            "pid": os.getpid(),
            "plan": self._plan_record(),
            "options": {
                "executor": o.executor,
                "scheduler": o.scheduler,
                "engine": o.engine,
                "workers": getattr(self.pool, "workers", None),
                "timeout": o.timeout,
                "resume": o.resume,
            },
            "environment": env,
            "data": {
                "folder": relative(plan.data, self.plan_dir) if plan.data else None,
                "registry": relative(plan.registry, self.plan_dir) if plan.registry else None,
                "files": data_hashes,
            },
            "runs": records,
        }

    def _plan_record(self) -> dict[str, Any]:
        """The plan in the manifest: its file and folder (:func:`~evaluation.batch.paths.locate`)
        and its content, every path in it relative to that folder."""
        plan = self.plan
        if plan.source:
            content = _relative_plan(plan.raw, self.plan_dir)
        else:  # a single notebook run: the notebook, beside which its relative paths resolve
            spec = plan.notebooks[0]
            content = {
                "notebooks": [
                    {
                        "notebook": relative(spec.path, self.plan_dir),
                        "parameters": recorded_parameters(spec.parameters, self.plan_dir),
                    }
                ]
            }
        return {
            "source": plan.source.name if plan.source else None,
            "folder": locate(self.plan_dir, self.out_dir),
            "sha256": sha256_file(plan.source) if plan.source else None,
            "content": content,
        }

    def _command(self) -> list[str]:
        """The command line, as anyone could type it: ``pilot-eval`` and relative paths."""
        argv = list(sys.argv) or ["pilot-eval"]
        program = Path(argv[0]).name
        argv[0] = "pilot-eval" if program in ("pilot-eval", "cli.py") else program
        return [argv[0], *(self.redact.text(a) for a in argv[1:])]

    def _recorded_error(self, run_id: str, error: Mapping[str, Any], status: str) -> dict[str, Any]:
        """A run's error as the manifest keeps it: paths relative, the end of the traceback;
        the whole traceback, and what the run printed, go to its log (``logs/ID.log``)."""
        if "log" in error:  # already recorded
            return dict(error)
        out = {k: self.redact.text(v) if isinstance(v, str) else v for k, v in error.items()}
        traceback = out.get("traceback") or ""
        printed = self._printed(run_id)
        if traceback or printed:
            log = run_log(run_id)
            write_text_atomic(self.out_dir / log, _log_text(run_id, status, out, printed))
            out["log"] = log
        if len(traceback) > _TRACEBACK_KEPT:
            out["traceback"] = "…\n" + traceback[-_TRACEBACK_KEPT:]
        return out

    def _printed(self, run_id: str) -> str:
        """What the run's process wrote to stdout and stderr (its warnings, say), redacted."""
        try:
            text = (self.out_dir / WORK_DIR / f"{run_id}.log").read_text("utf-8", "replace")
        except OSError:
            return ""
        return self.redact.text(text)

    # -- running ----------------------------------------------------------------------------

    def _report_skipped(self, records: list[dict[str, Any]]) -> None:
        self.total = len(records)
        skipped = [r for r in records if r["status"] == "skipped"]
        self.done = len(skipped)
        if self.progress:
            self.progress(None, self.done, self.total)  # a bar can show before a run ends
            for i, r in enumerate(skipped):
                self.progress(r, i + 1, self.total)

    def _on_start(self, job: Job) -> None:
        self.writer.update_run(job.run_id, {"status": "running", "started": now()})

    def _on_done(self, job: Job, result: dict[str, Any]) -> None:
        if result.get("error"):
            error = self._recorded_error(job.run_id, result["error"], result.get("status", ""))
            result = {**result, "error": error}
        record = self.writer.update_run(job.run_id, result)
        self.done += 1
        if self.progress:
            self.progress(record, self.done, self.total)

    def _execute(self, jobs: list[Job]) -> None:
        try:
            self.pool.run(
                jobs, on_start=self._on_start, on_done=self._on_done, tick=self.writer.flush
            )
        except BaseException:  # Ctrl-C, SIGTERM: the folder must say so
            self.writer.mark_interrupted()
            self.writer.flush(force=True)
            write_index(self.out_dir, self.writer.manifest, [], self.wards)
            raise

    def _record_warm_worker(self, manifest: dict[str, Any]) -> None:
        """What the warm worker imported, and what it could not (skipped, see load_plan)."""
        info = self.pool.warm_info()
        if info is None:
            return
        # the server may have imported for an earlier batch of this process: this batch's list
        failed = {
            m: why
            for m, why in info.get("failed", {}).items()
            if m in self.preload or m == "warm_up"
        }
        manifest["options"]["warm_worker"] = {
            "preload": list(self.preload),
            "failed": failed,
            "seconds": info.get("seconds"),
        }


def _longest_first(
    jobs: list[Job], runs: list[RunSpec], prev_runs: Mapping[Any, dict[str, Any]]
) -> list[Job]:
    """The order runs start in: longest first, so that short runs fill the workers around the
    long ones and no long run starts last. (The manifest keeps the plan's order.)

    A run is expected to take what it took in the folder's previous batch. Without that, a
    notebook that runs once (a district-wide analysis) is expected to take longer than any
    run of a per-ward notebook; ties keep the plan's order.
    """
    per_ward = {r.id: r.notebook.wards is not None for r in runs}

    def expected(job: Job) -> float:
        old = prev_runs.get(job.run_id) or {}
        seconds = old.get("duration_s")  # only a run that completed says how long it takes
        if old.get("status") == "ok" and isinstance(seconds, int | float):
            return float(seconds)
        return 0.0 if per_ward[job.run_id] else math.inf

    return sorted(jobs, key=lambda job: -expected(job))  # stable


def _skipped(old: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """The record of a run ``--resume`` skipped: unchanged since it last succeeded."""
    first = old.get("skipped", {}).get("finished") or old.get("finished")
    return {
        "status": "skipped",
        "outputs": run_outputs(run_id),
        "n_findings": old.get("n_findings"),
        "duration_s": 0.0,
        "skipped": {
            "reason": "unchanged since the last successful run (--resume)",
            "finished": first,
        },
    }


def _log_text(run_id: str, status: str, error: Mapping[str, Any], printed: str) -> str:
    """A failed run's log: what failed and where, the whole traceback, what the run printed."""
    lines = [f"run {run_id}: {status}", f"{error.get('ename')}: {error.get('evalue')}"]
    if error.get("cell_index") is not None:
        i = error["cell_index"]
        lines.append(f"in cell {i + 1} (index {i}) of the executed notebook")
    if error.get("cell_source"):
        lines += ["", "--- cell ---", str(error["cell_source"])]
    if error.get("traceback"):
        lines += ["", "--- traceback ---", str(error["traceback"])]
    if printed.strip():
        lines += ["", "--- output of the run's process (stdout, stderr) ---", printed]
    return "\n".join(lines).rstrip("\n") + "\n"
