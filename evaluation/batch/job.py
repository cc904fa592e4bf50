"""One run, in the process forked for it: papermill, the results check, the outputs.

The notebook is parameterized and executed through papermill's API — the ``pilot-eval`` engine
(:mod:`evaluation.batch.engine`) or, with ``engine="kernel"``, papermill's default engine with a
Jupyter kernel. Its status is read from the executed notebook, as papermill reads it, but
without papermill's error banner cells: the executed notebook keeps the source notebook's cell
numbering, which the manifest and the reports quote.

Outputs go to ``*.partial`` names and are renamed when the run has ended: the executed notebook
and the HTML report always (a failed run's report says so at the top), the results JSON only
when the run succeeded. A timeout (SIGALRM, armed for the run's whole timeout) stops the run in
the cell it was in, and is reported as ``timeout`` with that cell — never as completed.
"""

from __future__ import annotations

import json
import os
import re
import signal
import time
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evaluation.analysis.record import read_findings
from evaluation.batch import engine as pilot_engine
from evaluation.batch.engine import CellTimeout, RunTimeout
from evaluation.batch.manifest import now
from evaluation.batch.paths import Redactor
from evaluation.core import timing
from evaluation.report import html

__all__ = ["Job", "WORK_DIR", "execute_job", "failure_record", "error_info"]

WORK_DIR = ".pilot-eval"  # temporary files of runs in flight (logs, progress, records)

# papermill is imported where it is used: this module is also imported by the batch's own
# process (for Job), which must not pay papermill's ~1.5 s of imports; the warm server has
# imported it before it forks the runs.

#: The batch's engine names -> papermill's (None: papermill's default, a Jupyter kernel)
PAPERMILL_ENGINES = {"inprocess": pilot_engine.ENGINE_NAME, "kernel": None}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one run (plain data: it crosses processes and Dask)."""

    run_id: str
    notebook: str  # absolute path of the source notebook
    parameters: dict[str, Any]  # given to papermill as-is (results_path → a .partial file)
    out_dir: str
    outputs: dict[str, str]  # final paths relative to out_dir: notebook, html, results
    timeout: float
    grace: float = 5.0
    engine: str = "inprocess"
    preload: tuple[str, ...] = ()  # for the warm server (empty: its base list)
    code_key: str = ""  # package code hash: a changed package gets a fresh warm server
    blas_threads: int | None = None  # BLAS/OpenMP threads of the run (None: 1)
    meta: dict[str, Any] = field(default_factory=dict)  # header of the HTML report
    # what the executed notebook records (evaluation.batch.paths): the plan's folder, and the
    # notebook and parameters with relative paths, as in the manifest
    plan_dir: str = ""
    recorded_notebook: str = ""
    recorded_parameters: dict[str, Any] | None = None
    env: dict[str, str] = field(default_factory=dict)  # set in the run's process
    # this attempt's tag, in the names of its *.partial files and its record: a run retried
    # after its Dask worker died never shares a file with the attempt that was cut off
    attempt: str = ""

    @property
    def work(self) -> Path:
        return Path(self.out_dir) / WORK_DIR

    @property
    def partial_suffix(self) -> str:
        return f".{self.attempt}.partial" if self.attempt else ".partial"

    @property
    def record_path(self) -> Path:
        tag = f".{self.attempt}" if self.attempt else ""
        return self.work / f"{self.run_id}{tag}.record.json"


def error_info(
    ename: str,
    evalue: str,
    cell_index: int | None = None,
    cell_source: str | None = None,
    traceback: str = "",
) -> dict[str, Any]:
    """A run's ``error``: the cell's source cut to what a reader needs, the whole traceback
    (the batch keeps its end in the manifest and all of it in the run's log)."""
    return {
        "ename": ename,
        "evalue": evalue,
        "cell_index": cell_index,
        "cell_source": cell_source[:4000] if cell_source is not None else None,
        "traceback": traceback,
    }


def failure_record(
    error: dict[str, Any],
    *,
    status: str = "failed",
    duration_s: float | None = None,
    worker: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The record of a run that produced nothing (it crashed, was killed, or never started)."""
    record: dict[str, Any] = {"status": status, "finished": now()}
    if duration_s is not None:
        record["duration_s"] = duration_s
    record.update(outputs={}, n_findings=None, error=error)
    if worker is not None:
        record["worker"] = worker
    return record


def execute_job(job: Job) -> dict[str, Any]:
    """Execute one run and write its outputs; returns the run's manifest record.

    Runs in the forked child; the current directory becomes the notebook's folder, so relative
    paths and modules beside the notebook behave as in JupyterLab.
    """
    final, partial = _paths(job)
    timing.reset()  # this run's stages, not what the warm worker did before forking it
    t0, started = time.time(), now()
    nb, status, error = _run_notebook(job, partial, final)
    n_findings = None
    if status == "ok":
        n_findings, status, error = _check_results(partial["results"])
    duration = time.time() - t0
    with timing.stage("reports"):
        written, status, error = _write_outputs(job, nb, status, error, started, t0)
    for p in partial.values():
        if p.exists():
            p.unlink()
    return {
        "status": status,
        "started": started,
        "finished": now(),
        "duration_s": round(duration, 3),
        "outputs": written,
        "n_findings": n_findings,
        "error": error,
        "worker": {"host": os.uname().nodename, "pid": os.getpid()},
        # where the run's time went (read, panels, findings, reports) and its process's peak
        # memory: benchmarks/city.py reads them
        "stages": timing.stage_seconds(),
        "peak_rss_mb": timing.peak_rss_mb(),
    }


def _paths(job: Job) -> tuple[dict[str, Path], dict[str, Path]]:
    """A run's final output files, and the ``*.partial`` names they are written under."""
    final = {k: Path(job.out_dir) / v for k, v in job.outputs.items()}
    return final, {k: p.with_name(p.name + job.partial_suffix) for k, p in final.items()}


def _run_notebook(job: Job, partial, final) -> tuple[Any, str, dict[str, Any] | None]:
    """Parameterize and execute under the run's timeout: (notebook, status, error)."""
    message = f"the run exceeded its timeout of {job.timeout:g} s"

    def alarm(signum, frame):  # noqa: ARG001
        raise RunTimeout(message)

    nb = None
    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, job.timeout)
    try:
        for p in partial.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        os.chdir(Path(job.notebook).parent)
        nb = _parameterized(job, final["notebook"], partial["results"])
        status, error = _execute(nb, job)
    except RunTimeout:  # outside the notebook's cells (in papermill, say)
        status, error = "timeout", error_info("Timeout", message)
    except BaseException as exc:  # our own failure must still produce a record
        status = "failed"
        error = error_info(type(exc).__name__, str(exc), traceback=traceback.format_exc())
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    return nb, status, error


def _parameterized(job: Job, output_path: Path, results_partial: Path) -> Any:
    """The notebook with papermill's injected-parameters cell and metadata (not run yet);
    ``results_path`` names this attempt's own ``*.partial`` file."""
    import papermill
    from papermill.engines import papermill_engines
    from papermill.translators import papermill_translators

    engine_name = PAPERMILL_ENGINES[job.engine]
    if engine_name is None:
        # papermill's default translator writes "C\u1ed5 Nhu\u1ebf 2"; this child process
        # (only it) writes text as the pilot-eval engine does, readable in the notebook
        papermill_translators.register("python", pilot_engine.readable_python_translator())
    else:  # a source checkout run without `pip install -e .` has no entry point
        papermill_engines.register(engine_name, pilot_engine.PilotEvalEngine)
    parameters = dict(job.parameters)
    if "results_path" in parameters:
        parameters["results_path"] = str(results_partial)
    nb = papermill.execute_notebook(
        job.notebook,
        None,
        parameters=parameters,
        engine_name=engine_name,
        kernel_name="python3" if engine_name is None else None,
        prepare_only=True,
        progress_bar=False,
    )
    nb.metadata.papermill["output_path"] = str(output_path)
    return nb


def _execute(nb: Any, job: Job) -> tuple[str, dict[str, Any] | None]:
    """Execute through papermill's engine registry; (status, error) as papermill would judge.

    ``papermill.execute_notebook`` would do the same and then raise at the first error,
    after adding banner cells that shift the numbering; reading the notebook here keeps it.
    """
    from papermill.engines import papermill_engines

    engine_name = PAPERMILL_ENGINES[job.engine]
    progress = _ProgressFile(job) if engine_name is not None else None
    if progress is None:  # a kernel: papermill's per-cell timeout too, and time to start it
        options: dict[str, Any] = {"execution_timeout": job.timeout, "start_timeout": 60}
    else:
        options = {"on_cell": progress}
    try:
        papermill_engines.execute_notebook_with_engine(
            engine_name,
            nb,
            kernel_name=papermill_engines.nb_kernel_name(engine_name, nb, None),
            input_path=job.notebook,
            output_path=None,  # written once, below, with the report
            progress_bar=False,
            log_output=False,
            **options,
        )
    except CellTimeout as exc:  # the pilot-eval engine stopped the cell
        return "timeout", _error_at(nb, exc.cell_index, "Timeout", str(exc))
    except (TimeoutError, RunTimeout) as exc:  # a kernel's cell: nbclient's timeout, or ours
        evalue = f"the run exceeded its timeout of {job.timeout:g} s ({type(exc).__name__})"
        return "timeout", _error_at(nb, _last_started(nb), "Timeout", evalue)
    finally:
        if progress is not None:
            progress.close()
    return _first_error(nb)


def _error_at(nb: Any, index: int | None, ename: str, evalue: str) -> dict[str, Any]:
    source = _source(nb.cells[index]) if index is not None else None
    return error_info(ename, evalue, index, source)


def _last_started(nb: Any) -> int | None:
    """The last code cell that started: where a kernel was stopped."""
    started = [
        i
        for i, c in enumerate(nb.cells)
        if c.get("cell_type") == "code" and c.metadata.get("papermill", {}).get("start_time")
    ]
    return started[-1] if started else None


def _first_error(nb: Any) -> tuple[str, dict[str, Any] | None]:
    """papermill's verdict, read from the notebook: the first cell marked as raising."""
    for index, cell in enumerate(nb.cells):
        if not cell.metadata.get("papermill", {}).get("exception"):
            continue
        out = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), {})
        tb = "\n".join(_ANSI.sub("", line) for line in out.get("traceback", []))
        ename = out.get("ename") or "CellExecutionError"
        return "failed", error_info(ename, out.get("evalue", ""), index, _source(cell), tb)
    return "ok", None


def _check_results(path: Path) -> tuple[int | None, str, dict[str, Any] | None]:
    """A run succeeded only if it recorded valid findings: (count, status, error)."""
    try:
        return len(read_findings(path)), "ok", None
    except Exception as exc:
        return None, "failed", error_info(type(exc).__name__, str(exc))


def _write_outputs(
    job: Job, nb: Any, status: str, error: dict[str, Any] | None, started: str, t0: float
) -> tuple[dict[str, str], str, dict[str, Any] | None]:
    """Executed notebook and report (always), results (on success): (written, status, error)."""
    final, partial = _paths(job)
    written: dict[str, str] = {}
    duration = time.time() - t0
    try:
        if nb is not None:
            nb.metadata.papermill.update(
                start_time=_iso(t0),
                end_time=_iso(time.time()),
                duration=round(duration, 4),
                exception=status != "ok",
            )
            shown = _as_recorded(nb, job)
            text = json.dumps(shown, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
            _write(partial["notebook"], text)
            meta = {**job.meta, "started": started, "duration_s": duration}
            redact = Redactor(job.out_dir, job.plan_dir or None)
            page_error = redact.tree(error) if error else error
            _write(
                partial["html"], html.render_report(shown, meta, status=status, error=page_error)
            )
            os.replace(partial["notebook"], final["notebook"])
            os.replace(partial["html"], final["html"])
            written.update(notebook=job.outputs["notebook"], html=job.outputs["html"])
        if status == "ok":
            os.replace(partial["results"], final["results"])
            written["results"] = job.outputs["results"]
    except Exception as exc:
        status = "failed"
        error = error_info(
            type(exc).__name__,
            f"writing the outputs failed: {exc}",
            traceback=traceback.format_exc(),
        )
    return written, status, error


def _as_recorded(nb: Any, job: Job) -> dict[str, Any]:
    """The executed notebook as the run folder keeps it: no path of this machine.

    Its outputs (a traceback, a warning) name files relative to the run folder, the plan's
    folder or the checkout (:class:`~evaluation.batch.paths.Redactor`); papermill's record of
    the run and the injected parameters show the paths the manifest records — the plan's
    inputs relative to the plan's folder, ``results_path`` relative to the run folder — from
    which ``pilot-eval reproduce`` runs it again.
    """
    shown = Redactor(job.out_dir, job.plan_dir or None).tree(nb)
    if job.recorded_parameters is None:  # a job made by hand (tests): redacted is enough
        return shown
    params = job.recorded_parameters
    papermill = shown.get("metadata", {}).get("papermill")
    if isinstance(papermill, dict):
        papermill.update(
            input_path=job.recorded_notebook,
            output_path=job.outputs.get("notebook"),
            parameters=params,
        )
    for cell in shown.get("cells", []):
        if "injected-parameters" in (cell.get("metadata") or {}).get("tags", []):
            cell["source"] = pilot_engine.readable_python_translator().codify(
                params, _INJECTED_COMMENT
            )
    return shown


_INJECTED_COMMENT = (
    "Parameters\n# (paths: data_dir and registry_path relative to the plan's folder, "
    "results_path to the run folder; see manifest.json)"
)


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


class _ProgressFile:
    """Which cell the run is in, for the parent to report if it has to kill the run.

    The engine calls it as ``progress(index, cell)`` before each cell. One open file rewritten
    in place (no rename per cell: cells can be many and fast).
    """

    def __init__(self, job: Job):
        try:
            self.fd: int | None = os.open(
                job.work / f"{job.run_id}.progress", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644
            )
        except OSError:
            self.fd = None

    def __call__(self, index: int, cell: Any) -> None:
        if self.fd is None:
            return
        data = json.dumps({"cell_index": index, "cell_source": _source(cell)[:4000]}).encode()
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, data, 0)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
