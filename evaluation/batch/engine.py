"""``pilot-eval``: a papermill engine that runs a notebook's cells in this process.

papermill's default engine starts a Jupyter kernel for each notebook (~0.8 s) and the kernel
then imports numpy, pandas, matplotlib and the package (~1.5 s), for well under a second of
analysis in a ward report. This engine runs the cells in an IPython ``InteractiveShell`` inside
the calling process and captures what a kernel would send — streams, rich displays, matplotlib
figures through the inline backend, errors with their tracebacks — into the notebook, with
papermill's own bookkeeping (cell timings and statuses, ``metadata.papermill``). It is
registered through the ``papermill.engine`` entry point (pyproject.toml), so::

    papermill --engine pilot-eval notebooks/ward_report.ipynb out.ipynb -p ward "Cổ Nhuế 2"

runs a notebook without a kernel. The batch drives every run through it, in processes forked
from a warm server that imported everything once (:mod:`evaluation.batch.forkserver`) — that
is where its speed comes from. Only Python notebooks, and no kernel features (widgets, comms):
for those, papermill's default engine (``--engine kernel`` in the batch).

Parameters are papermill's (``papermill.parameterize``). The engine's kernel name is
``pilot-eval``, and a Python translator is registered under that name that writes text with
``repr``: the injected cell reads ``ward = 'Cổ Nhuế 2'`` rather than papermill's
``ward = "C\\u1ed5 Nhu\\u1ebf 2"`` — the same value, readable in the executed notebook. Other
kernels keep papermill's translators.

Timeouts: a ``RunTimeout`` raised in the running cell (by the batch's alarm, or by this
engine's own for papermill's ``--execution-timeout``) stops the notebook in that cell, which
records a ``Timeout`` error; the engine then raises :class:`CellTimeout`.

Why ``PilotEvalEngine`` is made on first use (module ``__getattr__``) rather than defined at
import: papermill imports this module through its entry point *while papermill itself is being
imported*. A class deriving from ``papermill.engines.Engine`` at import time would make
importing this module before papermill circular (papermill would meet it half-made).
"""

from __future__ import annotations

import base64
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

__all__ = [
    "ENGINE_NAME",
    "KERNEL_NAME",
    "CellTimeout",
    "InProcessEngine",
    "PilotEvalEngine",
    "RunTimeout",
    "readable_python_translator",
    "warm_up",
]

ENGINE_NAME = "pilot-eval"  # papermill --engine pilot-eval (papermill 2.7 has no -e)
KERNEL_NAME = "pilot-eval"  # what nb_kernel_name reports: selects the readable translator


class RunTimeout(BaseException):
    """Raised in the running cell when its time is up.

    A BaseException, so that ``except Exception`` in a notebook cannot swallow it. The message
    says whose limit it was ("the run exceeded its timeout of 900 s").
    """


class CellTimeout(TimeoutError):
    """The notebook was stopped in cell ``cell_index`` for running past its time limit."""

    def __init__(self, message: str, cell_index: int):
        super().__init__(message)
        self.cell_index = cell_index


# --------------------------------------------------------------------------------------------
# Capturing what a kernel would send
# --------------------------------------------------------------------------------------------

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

    def exception(self, ename: str, evalue: str, traceback: Sequence[str]) -> None:
        out = {
            "output_type": "error",
            "ename": ename,
            "evalue": evalue,
            "traceback": list(traceback),
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
    """A fresh IPython shell whose display machinery feeds the capture."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib_inline import backend_inline
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
                _CAPTURE.exception(getattr(etype, "__name__", str(etype)), str(evalue), stb)

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


# --------------------------------------------------------------------------------------------
# Running the cells
# --------------------------------------------------------------------------------------------


class _Session:
    """One notebook's execution: a fresh shell, the cwd importable (as in a kernel), and the
    real stdout/stderr put back whatever happens."""

    def __init__(self, execution_timeout: float | None):
        self.shell = _make_shell()
        self.count = 0
        self.cwd = os.getcwd()
        sys.path.insert(0, self.cwd)  # modules beside the notebook import, as in a kernel
        self.alarm = _CellAlarm(execution_timeout)

    def run(self, source: str) -> tuple[_Capture, bool, BaseException | None]:
        """Run one cell: (its capture, whether it failed, the timeout if it timed out)."""
        global _CAPTURE
        self.count += 1
        self.shell.execution_count = self.count
        _CAPTURE = cap = _Capture()
        real_out, real_err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream("stdout"), _Stream("stderr")
        timed_out: BaseException | None = None
        try:
            with self.alarm:
                result = self.shell.run_cell(source, store_history=False, silent=False)
        except RunTimeout as exc:  # the alarm fired outside the user's code (in IPython)
            timed_out, result = exc, None
        finally:
            sys.stdout, sys.stderr = real_out, real_err
            _CAPTURE = None
        if result is not None and isinstance(result.error_in_exec, RunTimeout):
            timed_out = result.error_in_exec
        failed = result is None or not result.success
        if failed and cap.error is None and result is not None:
            # an error IPython did not show (e.g. raised before execution): the notebook
            # must still say what it was
            e = result.error_before_exec or result.error_in_exec
            if e is not None:
                cap.exception(type(e).__name__, str(e), [])
        return cap, failed, timed_out

    def close(self) -> None:
        from IPython.core.interactiveshell import InteractiveShell

        try:
            import matplotlib.pyplot as plt

            plt.close("all")
        except Exception:
            pass
        type(self.shell).clear_instance()
        InteractiveShell.clear_instance()
        try:
            sys.path.remove(self.cwd)
        except ValueError:
            pass


class _CellAlarm:
    """papermill's ``execution_timeout`` (seconds per cell) as SIGALRM; off when None, or
    outside the main thread, where signals cannot be delivered."""

    def __init__(self, seconds: float | None):
        usable = threading.current_thread() is threading.main_thread()
        self.seconds = seconds if seconds and usable else None
        self.previous: Any = None

    def _fire(self, signum, frame):  # noqa: ARG002
        raise RunTimeout(f"the cell exceeded the execution timeout of {self.seconds:g} s")

    def __enter__(self) -> None:
        if self.seconds:
            self.previous = signal.signal(signal.SIGALRM, self._fire)
            signal.setitimer(signal.ITIMER_REAL, self.seconds)

    def __exit__(self, *exc: object) -> None:
        if self.seconds:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous)


def _log_outputs(outputs, log_output: bool, stdout_file: Any, stderr_file: Any) -> None:
    """What papermill's default engine does with a cell's streams (``--log-output``,
    ``--stdout-file``, ``--stderr-file``)."""
    from papermill.log import logger

    for out in outputs:
        if out["output_type"] != "stream":
            if log_output and "text/plain" in out.get("data", {}):
                logger.info("".join(out["data"]["text/plain"]))
            continue
        to_file = stdout_file if out["name"] == "stdout" else stderr_file
        if log_output:
            (logger.info if out["name"] == "stdout" else logger.warning)(out["text"])
        if to_file is not None:
            to_file.write(out["text"])
            to_file.flush()


def _raises_exception(cell: Any) -> bool:
    return "raises-exception" in (cell.get("metadata", {}).get("tags") or [])


class InProcessEngine:
    """The engine's behaviour; :data:`PilotEvalEngine` is this with papermill's ``Engine``."""

    @classmethod
    def execute_managed_notebook(
        cls,
        nb_man: Any,
        kernel_name: str,  # noqa: ARG003 — no kernel: the cells run in this process
        log_output: bool = False,
        execution_timeout: float | None = None,
        stdout_file: Any = None,
        stderr_file: Any = None,
        on_cell: Callable[[int, Any], None] | None = None,
        **kwargs: Any,  # noqa: ARG003 — papermill passes the kernel engine's options too
    ) -> Any:
        """Run every code cell of ``nb_man.nb`` in a fresh IPython shell, in order.

        Stops at the first cell that raises (unless it is tagged ``raises-exception``), as
        papermill's default engine does: the cell keeps its error output and is marked failed.

        Parameters
        ----------
        nb_man
            papermill's ``NotebookExecutionManager`` around the parameterized notebook.
        execution_timeout
            Seconds per cell (papermill's ``--execution-timeout``), main thread only.
        on_cell
            Called as ``on_cell(index, cell)`` before each code cell (the batch records
            there which cell a run is in, for when it has to be killed).

        Raises
        ------
        CellTimeout
            A cell ran past its time limit; the notebook keeps what ran until then.
        """
        nb = nb_man.nb
        _check_python(nb)
        session = _Session(execution_timeout)
        try:
            for index, cell in enumerate(nb.cells):
                if cell.get("cell_type") != "code":  # marked as papermill's engine marks them
                    nb_man.cell_start(cell, index)
                    nb_man.cell_complete(cell, index)
                    continue
                if on_cell is not None:
                    on_cell(index, cell)
                nb_man.cell_start(cell, index)
                if not _run_cell(
                    session, nb_man, cell, index, log_output, stdout_file, stderr_file
                ):
                    break
        finally:
            session.close()
        return nb

    @classmethod
    def nb_kernel_name(cls, nb: Any, name: str | None = None) -> str:  # noqa: ARG003
        """No kernel runs; the name selects this engine's parameter translator."""
        return KERNEL_NAME


def _run_cell(session, nb_man, cell, index, log_output, stdout_file, stderr_file) -> bool:
    """Run one cell through the session and record it; False when the notebook must stop."""
    import nbformat

    source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
    cap, failed, timed_out = session.run(source)
    if timed_out is not None:
        message = f"{timed_out} in this cell"
        if cap.error is not None:  # say it in the notebook too, not "RunTimeout:"
            cap.error.update(ename="Timeout", evalue=message)
        else:
            cap.exception("Timeout", message, [])
    cell.outputs = nbformat.from_dict(cap.outputs)  # papermill reads them as attributes
    cell.execution_count = session.count
    _log_outputs(cap.outputs, log_output, stdout_file, stderr_file)
    stop = timed_out is not None or (failed and not _raises_exception(cell))
    if stop:
        nb_man.cell_exception(cell, index)
    nb_man.cell_complete(cell, index)
    if timed_out is not None:
        raise CellTimeout(message, index)
    return not stop


def _check_python(nb: Any) -> None:
    from papermill.utils import nb_language

    try:
        language = nb_language(nb)
    except ValueError:
        return  # no language recorded: papermill's own choice of translator will have told
    if language.lower() != "python":
        raise ValueError(
            f"the pilot-eval engine runs Python notebooks only; this one is {language!r} — "
            "run it with papermill's default engine (without --engine pilot-eval)"
        )


# --------------------------------------------------------------------------------------------
# papermill's side: the Engine subclass and the readable translator
# --------------------------------------------------------------------------------------------


def readable_python_translator() -> type:
    """papermill's Python translator, writing text with ``repr`` and never through black.

    ``repr`` keeps letters as they are (``'Cổ Nhuế 2'``) and still escapes quotes,
    backslashes and control characters; skipping black (which papermill runs when it is
    installed) makes the injected cell the same on every machine.
    """
    from papermill.translators import PythonTranslator, Translator

    class ReadablePythonTranslator(PythonTranslator):
        @classmethod
        def translate_str(cls, val):
            return repr(str(val))

        @classmethod
        def codify(cls, parameters, comment="Parameters"):
            return Translator.codify.__func__(cls, parameters, comment)

    return ReadablePythonTranslator


def _derive_engine() -> type:
    # may load our entry point (when papermill is not imported yet), which calls back here
    from papermill.engines import Engine
    from papermill.translators import papermill_translators

    if "PilotEvalEngine" in globals():
        return globals()["PilotEvalEngine"]

    class PilotEvalEngine(InProcessEngine, Engine):
        """papermill ``--engine pilot-eval``: a notebook's cells in an IPython shell in this process."""

    PilotEvalEngine.__qualname__ = "PilotEvalEngine"
    globals()["PilotEvalEngine"] = PilotEvalEngine
    papermill_translators.register(KERNEL_NAME, readable_python_translator())
    return PilotEvalEngine


def __getattr__(name: str) -> Any:
    if name == "PilotEvalEngine":
        return _derive_engine()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if TYPE_CHECKING:
    from papermill.engines import Engine

    class PilotEvalEngine(InProcessEngine, Engine):
        """papermill ``--engine pilot-eval``."""


# --------------------------------------------------------------------------------------------
# Warming up a server process
# --------------------------------------------------------------------------------------------

_WARM_UP_CELLS = (
    "import matplotlib.pyplot as plt\nimport pandas as pd\n"
    "df = pd.DataFrame({'a': [1.5, 2.0], 'b': ['x', 'ẩ']})\ndisplay(df)\ndf.describe()",
    "fig, ax = plt.subplots(figsize=(2, 1))\nax.plot([0, 1], [1, 0])\nax.set_title('Cổ Nhuế')\n"
    "plt.show()",
    "from IPython.display import Markdown\nMarkdown('**Kết luận**')",
)


def warm_up() -> None:
    """Run a small notebook through papermill and this engine once, keeping nothing.

    The one-off costs behind a first run — papermill's parameterization and nbformat's
    schema, the first shell, the first DataFrame display and the first figure (IPython's
    completer, pandas' HTML formatter, matplotlib's fonts and Agg renderer) — are then paid
    once, in the warm server, instead of in every run forked from it. No shell, namespace or
    figure survives: only imported modules and caches do.
    """
    import nbformat
    import papermill
    from papermill.engines import papermill_engines

    papermill_engines.register(ENGINE_NAME, _derive_engine())  # also without the entry point
    nb = nbformat.v4.new_notebook(
        metadata={
            "kernelspec": {"name": "python3", "language": "python", "display_name": "Python 3"},
            "language_info": {"name": "python"},
        }
    )
    parameters = nbformat.v4.new_code_cell("label = ''")
    parameters.metadata["tags"] = ["parameters"]
    nb.cells = [parameters] + [nbformat.v4.new_code_cell(c) for c in _WARM_UP_CELLS]
    papermill.execute_notebook(
        nb, None, parameters={"label": "ẩ"}, engine_name=ENGINE_NAME, progress_bar=False
    )
