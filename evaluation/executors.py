"""Executing notebook runs: a pre-warmed fork server, and local or Dask executors around it.

Why not one papermill kernel per run: a papermill run pays ~0.8 s to start a kernel and
~1.5 s to import numpy, pandas, matplotlib and the package, for ~0.06 s of analysis. Here a
*warm server* process imports all of that once; each run is a ``fork()`` of it (a copy-on-write
snapshot, so runs share no state: whatever a run changes dies with its process) that executes
the notebook's cells in a fresh IPython ``InteractiveShell``, captures what a kernel would send
(streams, rich displays, matplotlib figures through the inline backend, errors with their
tracebacks) into the notebook, renders the HTML report with templates the server already
compiled, and exits. Notebooks stay papermill notebooks: parameters are injected the way
papermill does it (an ``injected-parameters`` cell after the ``parameters`` cell, and
``metadata.papermill.parameters``), and ``papermill`` still runs them unchanged. Neither
papermill nor nbformat is imported on this path: together they cost ~1.3 s of imports, and a
notebook is plain JSON.

``engine="kernel"`` runs a run through papermill with a real Jupyter kernel instead (slower;
for notebooks that need kernel features such as widgets or other languages).

Timeouts: the child arms ``SIGALRM`` for the run's timeout and stops in the cell it was in,
keeping the partial notebook; a run that ignores it is killed (its whole process group) after a
grace period. Either way it is reported as ``timeout`` with the cell — never as completed.

Runs never write into their final file names until they have ended (``*.partial`` first), and a
run's process dies with the server (``PR_SET_PDEATHSIG``), which dies when its batch dies (its
stdin closes), so a killed batch leaves no orphan writing into the run folder.
"""

from __future__ import annotations

import atexit
import base64
import concurrent.futures as cf
import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.errors import BatchError

__all__ = ["Job", "LocalExecutor", "DaskExecutor", "run_isolated", "execute_job", "default_preload"]

#: Imported once by the warm server. Notebook imports and a plan's ``preload`` are added.
BASE_PRELOAD = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "IPython.core.interactiveshell",
    "evaluation",
    "evaluation.results",
    "evaluation.batch",
    "evaluation.render",
)


@dataclass(frozen=True)
class Job:
    """Everything a worker needs for one run (plain data: it crosses processes and Dask)."""

    run_id: str
    notebook: str  # absolute path of the source notebook
    parameters: dict[str, Any]  # injected as-is (includes results_path → a .partial file)
    out_dir: str
    outputs: dict[str, str]  # final paths relative to out_dir: notebook, html, results
    timeout: float
    grace: float = 5.0
    engine: str = "inprocess"
    preload: tuple[str, ...] = BASE_PRELOAD
    code_key: str = ""  # package code hash: a changed package gets a fresh warm server
    meta: dict[str, Any] = field(default_factory=dict)  # header of the HTML report

    @property
    def work(self) -> Path:
        return Path(self.out_dir) / ".pilot-eval"


def default_preload(plan: Any) -> tuple[str, ...]:
    """Modules for the warm server: the base set, the notebooks' own imports, the plan's list."""
    mods = list(BASE_PRELOAD)
    for nb in plan.notebooks:
        mods += [m for m in nb.info.imports if m not in mods]
    mods += [m for m in plan.preload if m not in mods]
    return tuple(mods)


def _now() -> str:
    from datetime import datetime

    return datetime.now().astimezone().isoformat(timespec="seconds")


_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


# ============================================================================================
# The child: execute one run (in a process forked from the warm server)
# ============================================================================================


class RunTimeout(BaseException):
    """Raised in the running cell by SIGALRM. A BaseException so `except Exception` in a
    notebook cannot swallow it."""


_CAPTURE: _Capture | None = None


class _Capture:
    """Collects one cell's outputs in the order a kernel would send them."""

    def __init__(self) -> None:
        self.outputs: list[dict[str, Any]] = []
        self.error: dict[str, Any] | None = None

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    @staticmethod
    def _data(data: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for mime, value in data.items():
            if isinstance(value, bytes):  # PNG/JPEG from formatters: notebooks store base64
                value = base64.b64encode(value).decode("ascii")
            out[mime] = value
        return out

    def display(self, data: dict[str, Any], metadata: dict[str, Any] | None) -> None:
        self.outputs.append(
            {"output_type": "display_data", "data": self._data(data), "metadata": metadata or {}}
        )

    def result(self, data: dict[str, Any], metadata: dict[str, Any] | None, count: int) -> None:
        self.outputs.append(
            {
                "output_type": "execute_result",
                "data": self._data(data),
                "metadata": metadata or {},
                "execution_count": count,
            }
        )

    def exception(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        out = {
            "output_type": "error",
            "ename": getattr(etype, "__name__", str(etype)),
            "evalue": str(evalue),
            "traceback": list(stb),
        }
        self.outputs.append(out)
        self.error = out


class _Stream:
    """sys.stdout / sys.stderr replacement that feeds the capture."""

    encoding = "utf-8"
    errors = "strict"

    def __init__(self, name: str):
        self.name = name

    def write(self, text: str) -> int:
        if _CAPTURE is not None:
            _CAPTURE.stream(self.name, str(text))
        return len(text)

    def writelines(self, lines: Sequence[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return False

    def fileno(self) -> int:
        import io

        raise io.UnsupportedOperation("captured stream has no file descriptor")


def _make_shell():
    """A fresh IPython shell whose display machinery feeds the capture (built in the child)."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets import Type
    from traitlets.config import Config

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, *args, **kwargs):  # noqa: ARG002
            if _CAPTURE is not None:
                _CAPTURE.display(data, metadata)

        def clear_output(self, wait=False):  # noqa: ARG002
            if _CAPTURE is not None:
                _CAPTURE.outputs.clear()

    class Hook(DisplayHook):
        def start_displayhook(self):
            pass

        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            if _CAPTURE is not None:
                _CAPTURE.result(format_dict, md_dict, self.shell.execution_count)

        def finish_displayhook(self):
            pass

    class BatchShell(InteractiveShell):
        displayhook_class = Type(Hook)
        display_pub_class = Type(Publisher)

        def enable_gui(self, gui=None):  # the inline backend needs no event loop
            pass

        def init_virtualenv(self):
            pass

        def _showtraceback(self, etype, evalue, stb):
            if _CAPTURE is not None:
                _CAPTURE.exception(etype, evalue, stb)

    from matplotlib_inline import backend_inline

    # matplotlib_inline remembers (module-globally) that it already registered the figure
    # formatters; a new shell needs them registered again
    if hasattr(backend_inline.configure_inline_support, "current_backend"):
        del backend_inline.configure_inline_support.current_backend
    backend_inline.InlineBackend.clear_instance()

    cfg = Config()
    cfg.HistoryManager.enabled = False  # no shared sqlite history between parallel runs
    cfg.Completer.use_jedi = False  # nobody completes code in a batch run
    shell = BatchShell.instance(config=cfg)
    shell.enable_matplotlib("inline")
    return shell


_WARM_UP_CELLS = (
    "import matplotlib.pyplot as plt\nimport pandas as pd\n"
    "df = pd.DataFrame({'a': [1.5, 2.0], 'b': ['x', 'ẩ']})\ndisplay(df)\ndf.describe()",
    "fig, ax = plt.subplots(figsize=(2, 1))\nax.plot([0, 1], [1, 0])\nax.set_title('Cổ Nhuế')\n"
    "plt.show()",
    "from IPython.display import Markdown\nMarkdown('**Kết luận**')",
)


def readable_parameters() -> None:
    """Make papermill (the kernel engine) write text parameters as :func:`inject_parameters`.

    papermill writes ``ward = "C\\u1ed5 Nhu\\u1ebf 2"``; ``repr`` gives ``ward = 'Cổ Nhuế 2'``,
    the same value (quotes, backslashes and control characters still escaped) that an analyst
    can read in the executed notebook. Registered in the worker process of the run only.
    """
    from papermill.translators import PythonTranslator, papermill_translators

    class ReadablePythonTranslator(PythonTranslator):
        @classmethod
        def translate_str(cls, val):
            return repr(str(val))

    papermill_translators.register("python", ReadablePythonTranslator)


def warm_up() -> None:
    """Exercise the display pipeline once in the warm server, then throw the shell away.

    The lazy imports and one-off set-up behind the first shell, the first DataFrame display
    and the first figure (IPython's completer, pandas' HTML formatter, matplotlib's fonts and
    Agg renderer) then happen once here instead of in every run. No shell, namespace or
    figure survives into the forked runs: only imported modules and font caches do.
    """
    global _CAPTURE
    from IPython.core.interactiveshell import InteractiveShell

    shell = _make_shell()
    real_out, real_err = sys.stdout, sys.stderr
    _CAPTURE = _Capture()
    sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
    try:
        for cell in _WARM_UP_CELLS:
            shell.run_cell(cell, store_history=False)
    finally:
        sys.stdout, sys.stderr = real_out, real_err
        _CAPTURE = None
    import matplotlib.pyplot as plt

    plt.close("all")
    shell.reset(new_session=False)
    InteractiveShell.clear_instance()
    from evaluation import render

    render.warm()


def read_notebook(path: str | os.PathLike) -> dict[str, Any]:
    """A notebook as plain JSON (nbformat 4); older formats are upgraded through nbformat."""
    with open(path, encoding="utf-8") as fh:
        nb = json.load(fh)
    if nb.get("nbformat") != 4:
        import nbformat

        nb = json.loads(nbformat.writes(nbformat.reads(json.dumps(nb), as_version=4)))
    nb.setdefault("metadata", {})
    for cell in nb.get("cells", []):
        cell.setdefault("metadata", {})
        if cell.get("cell_type") == "code":
            cell.setdefault("outputs", [])
    return nb


def inject_parameters(nb: dict[str, Any], parameters: dict[str, Any]) -> None:
    """Inject parameters the way papermill does, in place.

    A code cell tagged ``injected-parameters`` holding ``name = value`` lines goes right after
    the cell tagged ``parameters`` (or replaces an earlier injected cell), and the values are
    recorded in ``metadata.papermill.parameters``. Values are written with ``repr``, so text
    keeps its letters (``ward = 'Cổ Nhuế 2'``; papermill would write ``"C\\u1ed5 Nhu\\u1ebf 2"``)
    and ``'00617'`` stays a string.
    """
    lines = ["# Parameters"] + [f"{name} = {value!r}" for name, value in parameters.items()]
    cell: dict[str, Any] = {
        "cell_type": "code",
        "execution_count": None,
        "metadata": {"tags": ["injected-parameters"]},
        "outputs": [],
        "source": "\n".join(lines) + "\n",
    }
    if nb.get("nbformat_minor", 0) >= 5:  # cell ids exist from nbformat 4.5 on
        cell["id"] = "injected-parameters"
    cells = nb["cells"]

    def tagged(tag: str) -> int | None:
        return next(
            (i for i, c in enumerate(cells) if tag in (c["metadata"].get("tags") or [])), None
        )

    injected, declared = tagged("injected-parameters"), tagged("parameters")
    if injected is not None:
        cells[injected] = cell
    elif declared is not None:
        cells.insert(declared + 1, cell)
    else:
        cells.insert(0, cell)
    nb["metadata"].setdefault("papermill", {})["parameters"] = dict(parameters)


def _alarm(signum, frame):  # noqa: ARG001
    raise RunTimeout()


def _source(cell: Any) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def _error_info(
    cell_index: int, cell: Any, out: dict[str, Any] | None, ename: str = "", evalue: str = ""
) -> dict[str, Any]:
    tb = [strip_ansi(line) for line in (out or {}).get("traceback", [])]
    text = "\n".join(tb)
    return {
        "ename": ename or (out or {}).get("ename", "Error"),
        "evalue": evalue or (out or {}).get("evalue", ""),
        "cell_index": cell_index,
        "cell_source": _source(cell)[:4000],
        "traceback": text[-8000:],
    }


class _ProgressFile:
    """Which cell the run is in, for the parent to report if it has to kill the run.

    One open file rewritten in place (no rename per cell: cells can be many and fast)."""

    def __init__(self, job: Job):
        try:
            self.fd = os.open(
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


def _execute_inprocess(nb: Any, job: Job) -> tuple[str, dict[str, Any] | None]:
    """Run the code cells in a fresh shell; returns (status, error)."""
    global _CAPTURE
    shell = _make_shell()
    real_out, real_err = sys.stdout, sys.stderr
    count = 0
    status, error = "ok", None
    progress = _ProgressFile(job)
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        progress(index, cell)
        count += 1
        shell.execution_count = count
        _CAPTURE = cap = _Capture()
        t0 = time.time()
        timed_out = False
        sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
        try:
            result = shell.run_cell(_source(cell), store_history=False, silent=False)
        except RunTimeout:  # the alarm fired outside the user's code (in IPython itself)
            timed_out, result = True, None
        finally:
            sys.stdout, sys.stderr = real_out, real_err
            _CAPTURE = None
        failed = result is None or not result.success
        if result is not None and isinstance(result.error_in_exec, RunTimeout):
            timed_out = True
        cell["outputs"] = cap.outputs
        cell["execution_count"] = count
        cell.setdefault("metadata", {})["papermill"] = {
            "start_time": _iso(t0),
            "end_time": _iso(time.time()),
            "duration": round(time.time() - t0, 4),
            "status": "failed" if failed else "completed",
            "exception": failed,
        }
        if timed_out:
            status = "timeout"
            message = f"the run exceeded its timeout of {job.timeout:g} s in this cell"
            if cap.error is not None:  # say it in the notebook too, not "RunTimeout:"
                cap.error.update(ename="Timeout", evalue=message)
            error = _error_info(index, cell, cap.error, "Timeout", message)
            break
        if failed and "raises-exception" not in (cell["metadata"].get("tags") or []):
            status = "failed"
            error = _error_info(index, cell, cap.error)
            if result is not None and result.error_before_exec is not None and cap.error is None:
                e = result.error_before_exec
                error.update(ename=type(e).__name__, evalue=str(e))
            break
    progress.close()
    try:
        import matplotlib.pyplot as plt

        plt.close("all")
    except Exception:
        pass
    return status, error


def _iso(t: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(t, UTC).isoformat()


def _execute_kernel(job: Job, nb_partial: Path) -> tuple[Any, str, dict[str, Any] | None]:
    """Run through papermill with a real Jupyter kernel; status from our own reading."""
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    readable_parameters()

    status, error = "ok", None
    try:
        pm.execute_notebook(
            job.notebook,
            str(nb_partial),
            parameters=job.parameters,
            kernel_name="python3",
            cwd=str(Path(job.notebook).parent),
            execution_timeout=job.timeout,
            progress_bar=False,
            log_output=False,
            request_save_on_cell_execute=False,
        )
    except PapermillExecutionError as exc:
        status = "failed"
        error = {
            "ename": exc.ename,
            "evalue": exc.evalue,
            "cell_index": exc.cell_index,
            "cell_source": str(exc.source)[:4000],
            "traceback": strip_ansi("\n".join(exc.traceback))[-8000:],
        }
    except (TimeoutError, RunTimeout) as exc:
        # papermill would write "completed" into a timed-out notebook; we do not trust it
        status = "timeout"
        error = {
            "ename": "Timeout",
            "evalue": f"the run exceeded its timeout of {job.timeout:g} s ({type(exc).__name__})",
            "cell_index": None,
            "cell_source": None,
            "traceback": "",
        }
    nb = nbformat.read(str(nb_partial), as_version=4) if nb_partial.exists() else None
    if status == "timeout" and nb is not None:
        for i, cell in enumerate(nb["cells"]):
            if cell.get("metadata", {}).get("papermill", {}).get("status") == "running":
                error.update(cell_index=i, cell_source=_source(cell)[:4000])
                break
    return nb, status, error


def execute_job(job: Job) -> dict[str, Any]:
    """Execute one run and write its outputs; returns the run's manifest record.

    Runs in the forked child. Outputs go to ``*.partial`` names and are renamed when the run
    has ended: the executed notebook and the HTML report always (a failed run's report says so
    at the top), the results JSON only when the run succeeded.
    """
    out_dir = Path(job.out_dir)
    final = {k: out_dir / v for k, v in job.outputs.items()}
    partial = {k: p.with_name(p.name + ".partial") for k, p in final.items()}
    t0 = time.time()
    started = _now()
    status, error, nb = "failed", None, None
    signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, job.timeout)
    try:
        for p in partial.values():
            p.parent.mkdir(parents=True, exist_ok=True)
        # relative paths, and modules beside the notebook, behave as in JupyterLab
        os.chdir(Path(job.notebook).parent)
        sys.path.insert(0, str(Path(job.notebook).parent))
        if job.engine == "kernel":
            nb, status, error = _execute_kernel(job, partial["notebook"])
        else:
            nb = read_notebook(job.notebook)
            nb["metadata"]["papermill"] = {
                "input_path": job.notebook,
                "output_path": str(final["notebook"]),
                "parameters": {},
                "environment_variables": {},
            }
            inject_parameters(nb, job.parameters)
            status, error = _execute_inprocess(nb, job)
    except RunTimeout:
        status = "timeout"
        error = {
            "ename": "Timeout",
            "evalue": f"the run exceeded its timeout of {job.timeout:g} s",
            "cell_index": None,
            "cell_source": None,
            "traceback": "",
        }
    except BaseException as exc:  # our own failure must still produce a record
        status = "failed"
        error = {
            "ename": type(exc).__name__,
            "evalue": str(exc),
            "cell_index": None,
            "cell_source": None,
            "traceback": traceback.format_exc()[-8000:],
        }
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)

    n_findings = None
    if status == "ok":
        from evaluation.batch import read_findings

        try:
            n_findings = len(read_findings(partial["results"]))
        except Exception as exc:
            status = "failed"
            error = {
                "ename": type(exc).__name__,
                "evalue": str(exc),
                "cell_index": None,
                "cell_source": None,
                "traceback": "",
            }
    duration = time.time() - t0
    written: dict[str, str] = {}
    try:
        if nb is not None:
            nb.setdefault("metadata", {}).setdefault("papermill", {}).update(
                start_time=_iso(t0),
                end_time=_iso(time.time()),
                duration=round(duration, 4),
                exception=status != "ok",
            )
            _write(
                partial["notebook"],
                json.dumps(nb, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
            )
            from evaluation import render

            html = render.render_report(
                nb,
                meta={**job.meta, "started": started, "duration_s": duration},
                status=status,
                error=error,
            )
            _write(partial["html"], html)
            os.replace(partial["notebook"], final["notebook"])
            os.replace(partial["html"], final["html"])
            written.update(notebook=job.outputs["notebook"], html=job.outputs["html"])
        if status == "ok":
            os.replace(partial["results"], final["results"])
            written["results"] = job.outputs["results"]
    except Exception as exc:
        status = "failed"
        error = {
            "ename": type(exc).__name__,
            "evalue": f"writing the outputs failed: {exc}",
            "cell_index": None,
            "cell_source": None,
            "traceback": traceback.format_exc(),
        }
    for p in partial.values():
        if p.exists():
            p.unlink()
    return {
        "status": status,
        "started": started,
        "finished": _now(),
        "duration_s": round(duration, 3),
        "outputs": written,
        "n_findings": n_findings,
        "error": error,
        "worker": {"host": os.uname().nodename, "pid": os.getpid()},
    }


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


# ============================================================================================
# The warm server (a process of its own; one per batch process and preload list)
# ============================================================================================


def _set_pdeathsig() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(job: Job, server_pid: int) -> None:
    os.setpgid(0, 0)  # its own group: a timeout kills the run and anything it started
    _set_pdeathsig()
    if os.getppid() != server_pid:  # the server died between fork and prctl
        os._exit(1)
    for sig in (signal.SIGINT, signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    job.work.mkdir(parents=True, exist_ok=True)
    log = os.open(job.work / f"{job.run_id}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(devnull)
    record = execute_job(job)
    from evaluation.batch import _write_json_atomic

    # a scratch file read once by the parent: atomic, but not worth an fsync
    _write_json_atomic(job.work / f"{job.run_id}.record.json", record, durable=False)


def _serve(preload: Sequence[str]) -> None:
    """Main loop of the warm server: import once, then fork one child per run request.

    Protocol: JSON lines. In (stdin): ``{"op": "run", "token": t, "job": {...}}`` and
    ``{"op": "kill", "token": t}``; EOF means the batch is gone (kill the children, exit).
    Out (a private copy of stdout): ``ready``, ``started`` (with pid) and ``exited`` (with the
    exit status, negative for a signal).
    """
    import importlib
    import selectors

    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # a print() in an imported module must not corrupt the protocol

    def send(**msg: Any) -> None:
        try:
            proto.write(json.dumps(msg) + "\n")
        except OSError:  # the batch is gone; stdin's EOF will tell the loop
            pass

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    t0 = time.perf_counter()
    failed = {}
    for mod in preload:
        try:
            importlib.import_module(mod)
        except BaseException as exc:  # a broken import must not take the server down
            failed[mod] = f"{type(exc).__name__}: {exc}"
    try:
        warm_up()
    except Exception as exc:
        failed["warm_up"] = f"{type(exc).__name__}: {exc}"
    send(event="ready", pid=os.getpid(), seconds=round(time.perf_counter() - t0, 3), failed=failed)

    sig_r, sig_w = os.pipe()
    os.set_blocking(sig_r, False)
    os.set_blocking(sig_w, False)
    signal.set_wakeup_fd(sig_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    sel = selectors.DefaultSelector()
    sel.register(0, selectors.EVENT_READ)
    sel.register(sig_r, selectors.EVENT_READ)
    children: dict[int, str] = {}
    by_token: dict[str, int] = {}
    buf = b""
    me = os.getpid()
    eof = False
    while not eof or children:
        if eof:  # the batch is gone: nothing may go on writing into its folder
            for pid in list(children):
                _killpg(pid)
        for key, _ in sel.select(timeout=1.0):
            if key.fd == sig_r:
                try:
                    os.read(sig_r, 4096)
                except BlockingIOError:
                    pass
                continue
            chunk = os.read(0, 1 << 16)
            if not chunk:
                eof = True
                sel.unregister(0)
                continue
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                msg = json.loads(line)
                if msg["op"] == "run":
                    job = Job(**{**msg["job"], "preload": tuple(msg["job"]["preload"])})
                    pid = os.fork()
                    if pid == 0:
                        code = 1
                        try:
                            sel.close()
                            proto.close()
                            os.close(sig_r)
                            os.close(sig_w)
                            signal.set_wakeup_fd(-1)
                            _child(job, me)
                            code = 0
                        except BaseException:
                            traceback.print_exc()
                        finally:
                            os._exit(code)
                    children[pid] = msg["token"]
                    by_token[msg["token"]] = pid
                    send(event="started", token=msg["token"], pid=pid)
                elif msg["op"] == "kill":
                    pid = by_token.get(msg["token"])
                    if pid in children:
                        _killpg(pid)
        while children:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                children.clear()
                break
            if pid == 0:
                break
            token = children.pop(pid, None)
            # whatever the run started (a Jupyter kernel, a subprocess) goes with it
            _killpg(pid, group_only=True)
            if token is not None:
                by_token.pop(token, None)
                send(event="exited", token=token, pid=pid, status=os.waitstatus_to_exitcode(st))


def _killpg(pid: int, group_only: bool = False) -> None:
    """SIGKILL a run's process group (the run called setpgid), or the run itself."""
    kills = [lambda: os.killpg(pid, signal.SIGKILL)]
    if not group_only:
        kills.append(lambda: os.kill(pid, signal.SIGKILL))
    for kill in kills:
        try:
            kill()
            return
        except (ProcessLookupError, PermissionError):
            continue


class _Waiter:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.exited = threading.Event()
        self.pid: int | None = None
        self.status: int | None = None


class WarmServer:
    """Client side of the warm server: submit runs, wait for them, kill them."""

    def __init__(self, preload: Sequence[str]):
        self.preload = tuple(preload)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "evaluation.executors", "serve", json.dumps(list(preload))],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self.ready = threading.Event()
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._waiters: dict[str, _Waiter] = {}
        self._counter = 0
        self.dead = False
        self._reader = threading.Thread(target=self._read, name="pilot-eval-warm", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                msg = json.loads(line)
            except ValueError:
                continue
            if msg.get("event") == "ready":
                self.info = msg
                self.ready.set()
                continue
            w = self._waiters.get(msg.get("token", ""))
            if w is None:
                continue
            if msg["event"] == "started":
                w.pid = msg["pid"]
                w.started.set()
            elif msg["event"] == "exited":
                w.status = msg["status"]
                w.exited.set()
        self.dead = True
        self.ready.set()
        for w in list(self._waiters.values()):
            w.started.set()
            w.exited.set()

    def _send(self, msg: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        with self._lock:
            if self.dead:
                raise BatchError("the warm worker process has ended")
            self.proc.stdin.write((json.dumps(msg, ensure_ascii=False) + "\n").encode("utf-8"))
            self.proc.stdin.flush()

    def submit(self, job: Job) -> tuple[str, _Waiter]:
        with self._lock:
            self._counter += 1
            token = f"{job.run_id}#{self._counter}"
            w = self._waiters[token] = _Waiter()
        self._send({"op": "run", "token": token, "job": dataclasses.asdict(job)})
        return token, w

    def kill(self, token: str) -> None:
        try:
            self._send({"op": "kill", "token": token})
        except (BatchError, OSError):
            pass

    def kill_all(self) -> None:
        for token, w in list(self._waiters.items()):
            if not w.exited.is_set():
                self.kill(token)

    def forget(self, token: str) -> None:
        with self._lock:
            self._waiters.pop(token, None)

    def close(self) -> None:
        with self._lock:
            self.dead = True
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()  # EOF: the server kills what runs and exits
            except OSError:
                pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_servers: dict[tuple[str, ...], WarmServer] = {}
_servers_lock = threading.Lock()


def warm_server(preload: Sequence[str], code_key: str = "") -> WarmServer:
    """The process's warm server for this preload list (started on first use, then reused).

    ``code_key`` (the package code hash) makes a changed package start a new server, so a
    long-lived process (a JupyterLab session running batches) never runs stale code.
    """
    key = (code_key, *preload)
    with _servers_lock:
        server = _servers.get(key)
        if server is None or server.dead:
            for old_key in [k for k in _servers if k[0] != code_key]:
                _servers.pop(old_key).close()
            server = _servers[key] = WarmServer(preload)
        return server


def _close_servers() -> None:
    for server in list(_servers.values()):
        server.close()
    _servers.clear()


atexit.register(_close_servers)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def run_isolated(
    job: Job,
    on_start: Callable[[Job], None] | None = None,
    server: WarmServer | None = None,
) -> dict[str, Any]:
    """Run one job in a process forked from the warm server; wait, enforce the timeout.

    Returns the run's record (status ``ok``, ``failed`` or ``timeout``). Usable on any
    machine with the package installed, which is how Dask workers call it.
    """
    server = server or warm_server(job.preload, job.code_key)
    t0 = time.time()
    job.work.mkdir(parents=True, exist_ok=True)
    token, w = server.submit(job)
    try:
        w.started.wait()
        if on_start is not None and not server.dead:
            on_start(job)
        if not w.exited.wait(job.timeout + job.grace):
            server.kill(token)
            w.exited.wait(30)
            killed = True
        else:
            killed = False
    finally:
        server.forget(token)
    record = _read_json(job.work / f"{job.run_id}.record.json")
    if record is not None and not killed:
        return record
    # The child did not report: it was killed, crashed, or the server died.
    progress = _read_json(job.work / f"{job.run_id}.progress") or {}
    log_tail = ""
    try:
        log_tail = (job.work / f"{job.run_id}.log").read_text("utf-8", "replace")[-3000:]
    except OSError:
        pass
    if killed or (
        w.status is not None and w.status == -signal.SIGKILL and time.time() - t0 >= job.timeout
    ):
        status, ename = "timeout", "Timeout"
        evalue = (
            f"the run exceeded its timeout of {job.timeout:g} s and did not stop by itself "
            f"within {job.grace:g} s; it was killed"
        )
    else:
        status, ename = "failed", "WorkerDied"
        how = (
            "the warm worker process ended"
            if w.status is None
            else f"signal {-w.status}"
            if w.status < 0
            else f"exit status {w.status}"
        )
        evalue = f"the run's process ended without a result ({how})"
    for rel in job.outputs.values():  # nothing half-written may stay behind
        p = Path(job.out_dir) / (rel + ".partial")
        if p.exists():
            p.unlink()
    return {
        "status": status,
        "finished": _now(),
        "duration_s": round(time.time() - t0, 3),
        "outputs": {},
        "n_findings": None,
        "error": {
            "ename": ename,
            "evalue": evalue,
            "cell_index": progress.get("cell_index"),
            "cell_source": progress.get("cell_source"),
            "traceback": log_tail,
        },
        "worker": {"host": os.uname().nodename, "pid": w.pid},
    }


# ============================================================================================
# Executors
# ============================================================================================


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class LocalExecutor:
    """Runs jobs on this machine, ``workers`` at a time, each forked from the warm server."""

    def __init__(
        self, workers: int | None = None, preload: Sequence[str] = BASE_PRELOAD, code_key: str = ""
    ):
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            from evaluation.errors import PlanError

            raise PlanError(f"--workers: expected a positive whole number, got {workers!r}")
        self.workers = workers or _cpu_count()
        self.preload, self.code_key = tuple(preload), code_key
        self.server = warm_server(preload, code_key)

    def _one(self, job: Job, on_start: Callable[[Job], None] | None) -> dict[str, Any]:
        try:
            if self.server.dead:  # it crashed (out of memory, say): the next runs get a new one
                self.server = warm_server(self.preload, self.code_key)
            return run_isolated(job, on_start=on_start, server=self.server)
        except Exception as exc:  # one broken run never stops the others
            return {
                "status": "failed",
                "finished": _now(),
                "outputs": {},
                "n_findings": None,
                "error": {
                    "ename": type(exc).__name__,
                    "evalue": str(exc),
                    "cell_index": None,
                    "cell_source": None,
                    "traceback": traceback.format_exc(),
                },
            }

    def run(
        self,
        jobs: Sequence[Job],
        on_start: Callable[[Job], None],
        on_done: Callable[[Job, dict[str, Any]], None],
        tick: Callable[[], None],
    ) -> None:
        pool = cf.ThreadPoolExecutor(self.workers, thread_name_prefix="pilot-eval-run")
        futures = {pool.submit(self._one, job, on_start): job for job in jobs}
        pending = set(futures)
        try:
            while pending:
                done, pending = cf.wait(pending, timeout=0.5, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    on_done(futures[fut], fut.result())
                tick()
        except BaseException:
            for fut in pending:
                fut.cancel()
            self.server.kill_all()
            raise
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        """The warm server is kept for the next batch of this process (closed at exit)."""


class DaskExecutor:
    """Runs jobs as tasks on a Dask distributed cluster.

    Each task calls :func:`run_isolated` on its worker, which forks the run from that worker
    machine's own warm server — the same isolation and timeouts as locally. The run folder
    must be on a file system all workers share (NFS, say), and the package installed on them.
    """

    def __init__(self, scheduler: str):
        try:
            from distributed import Client
        except ImportError:
            raise BatchError(
                "--executor dask needs the 'distributed' package: "
                "pip install 'pilot-evaluation-workbench[dask]'"
            ) from None
        try:
            self.client = Client(scheduler, timeout=30, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise BatchError(
                f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} ({exc})"
            ) from None

    def run(
        self,
        jobs: Sequence[Job],
        on_start: Callable[[Job], None],
        on_done: Callable[[Job, dict[str, Any]], None],
        tick: Callable[[], None],
    ) -> None:
        import uuid

        batch = uuid.uuid4().hex[:8]
        futures = {}
        for job in jobs:
            fut = self.client.submit(
                run_isolated, job, key=f"pilot-eval-{batch}-{job.run_id}", pure=False, retries=0
            )
            futures[fut] = job
            on_start(job)  # "running" here means: handed to the cluster
        pending = set(futures)
        try:
            while pending:
                # polling Future.done() needs no default client (ours is not made the default,
                # so a batch never changes what else in the process uses Dask)
                done = {fut for fut in pending if fut.done()}
                if not done:
                    time.sleep(0.2)
                for fut in done:
                    pending.discard(fut)
                    job = futures[fut]
                    try:
                        record = fut.result()
                    except Exception as exc:
                        record = {
                            "status": "failed",
                            "finished": _now(),
                            "outputs": {},
                            "n_findings": None,
                            "error": {
                                "ename": type(exc).__name__,
                                "evalue": f"the Dask task failed: {exc}",
                                "cell_index": None,
                                "cell_source": None,
                                "traceback": "",
                            },
                        }
                    on_done(job, record)
                tick()
        except BaseException:
            self.client.cancel(list(pending))
            raise

    def close(self) -> None:
        self.client.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        _serve(json.loads(sys.argv[2]))
    else:
        sys.exit("usage: python -m evaluation.executors serve '[\"module\", ...]'")
