"""The warm server: a process that imports everything once and forks one child per run.

A papermill run with a kernel pays ~0.8 s to start the kernel and ~1.5 s to import numpy,
pandas, matplotlib and the package, for well under a second of analysis. The warm server is a
process of its own that imports all of that — papermill and the ``pilot-eval`` engine included
— and runs a small notebook through them once (:func:`evaluation.batch.engine.warm_up`). Each
run is then a ``fork()`` of it: a copy-on-write snapshot, so runs share no state (whatever a run
changes dies with its process), which calls papermill with the ``pilot-eval`` engine
(:func:`evaluation.batch.job.execute_job`) and exits.

Each child runs with its BLAS/OpenMP thread pools limited (threadpoolctl) to its share of the
cores — set in the server before the fork, and inherited — so runs side by side do not
oversubscribe the machine; nobody has to set ``OMP_NUM_THREADS``.

A child dies with the server (``PR_SET_PDEATHSIG``), which dies when its batch dies (its stdin
closes), so a killed batch leaves no orphan writing into the run folder. A run that ignores its
timeout is killed, with its whole process group, after a grace period.

Protocol between the batch (:class:`WarmServer`) and the server (:func:`serve`), JSON lines.
In, on the server's stdin: ``{"op": "run", "token": t, "job": {...}}`` and
``{"op": "kill", "token": t}``; EOF means the batch is gone. Out, on a private copy of its
stdout: ``ready`` (with what could not be imported), ``started`` (with the child's pid) and
``exited`` (with its exit status, negative for a signal).
"""

from __future__ import annotations

import atexit
import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evaluation.errors import BatchError

__all__ = [
    "BASE_PRELOAD",
    "WarmServer",
    "cpu_count",
    "default_preload",
    "import_modules",
    "kill_runs_in",
    "limit_threads",
    "prestart",
    "run_isolated",
    "serve",
    "warm",
    "warm_server",
]

#: Imported once by the warm server, in this order (papermill before the engine and the job,
#: which it imports through its entry point). A plan's notebooks' imports and its ``preload``
#: list are added.
BASE_PRELOAD = (
    "numpy",
    "pandas",
    "matplotlib",
    "matplotlib.pyplot",
    "matplotlib_inline.backend_inline",
    "IPython.core.interactiveshell",
    "threadpoolctl",
    "papermill",
    "evaluation",
    "evaluation.results",
    "evaluation.analysis.record",
    "evaluation.report.html",
    "evaluation.batch.engine",
    "evaluation.batch.job",
)


def default_preload(plan: Any) -> tuple[str, ...]:
    """Modules for the warm server: the base set, the notebooks' own imports, the plan's list."""
    mods = list(BASE_PRELOAD)
    for nb in plan.notebooks:
        mods += [m for m in nb.info.imports if m not in mods]
    mods += [m for m in plan.preload if m not in mods]
    return tuple(mods)


# ============================================================================================
# The server process
# ============================================================================================


def import_modules(modules: Sequence[str]) -> dict[str, str]:
    """Import each module; returns those that could not be imported, with the reason.

    A module that cannot be imported is skipped (a plan may name one that was renamed): it
    costs the runs that need it their own import, and the batch reports it.
    """
    import importlib

    failed = {}
    for mod in modules:
        try:
            importlib.import_module(mod)
        except BaseException as exc:  # a broken import must not take the server down
            failed[mod] = f"{type(exc).__name__}: {exc}"
    return failed


#: Kept out of the warm server's imports: each costs seconds and no run uses it.
#: ``rfc3987_syntax`` builds a lark grammar when it is imported (about 2 s, half the server's
#: start-up); ``jsonschema`` imports it, if installed, only to offer the "iri" format checker,
#: which nbformat's notebook validation never asks for (python-jsonschema/jsonschema#1392).
#: Blocked while the preload is imported, then unblocked, so a notebook that imports one of
#: them itself still can.
SKIPPED_IMPORTS = ("rfc3987_syntax",)


def warm(preload: Sequence[str]) -> dict[str, str]:
    """Import the preload list and warm up the engine and the templates; returns what failed."""
    blocked = [m for m in SKIPPED_IMPORTS if m not in sys.modules and m not in preload]
    sys.modules.update(dict.fromkeys(blocked))  # None in sys.modules: import raises ImportError
    try:
        failed = import_modules(preload)
    finally:
        for m in blocked:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]
    try:
        from evaluation.batch import engine
        from evaluation.report import html

        engine.warm_up()
        html.warm()
    except Exception as exc:
        failed["warm_up"] = f"{type(exc).__name__}: {exc}"
    return failed


def _set_pdeathsig() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def limit_threads(threads: int | None) -> None:
    """A run's share of the cores: for the BLAS/OpenMP pools already loaded (threadpoolctl),
    and through the environment for any started later or in a subprocess (a Jupyter kernel).

    The server calls it before it forks a run: the child inherits the limit (the pools' sizes
    live in the libraries' memory) without paying threadpoolctl's library scan itself.
    """
    n = max(1, threads or 1)
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # declared, but a bare environment still runs, only slower
        return
    threadpool_limits(limits=n)


def _child(job: Any, server_pid: int) -> None:
    """The forked child: detach, redirect output to the run's log, run, leave the record."""
    from evaluation.batch.job import execute_job
    from evaluation.core.files import write_json_atomic

    os.setpgid(0, 0)  # its own group: a timeout kills the run and anything it started
    _set_pdeathsig()
    if os.getppid() != server_pid:  # the server died between fork and prctl
        os._exit(1)
    for sig in (signal.SIGINT, signal.SIGCHLD, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)
    os.environ.update(job.env)
    job.work.mkdir(parents=True, exist_ok=True)
    log = os.open(job.work / f"{job.run_id}.log", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    os.close(devnull)
    record = execute_job(job)
    # a scratch file read once by the parent: atomic, but not worth an fsync
    write_json_atomic(job.record_path, record, durable=False)


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


class _Server:
    """The server's loop: read requests on stdin, fork runs, reap them, report."""

    def __init__(self, proto: Any):
        import selectors

        self.proto = proto
        self.me = os.getpid()
        self.children: dict[int, str] = {}  # pid -> token
        self.by_token: dict[str, int] = {}
        self.buf = b""
        self.eof = False
        self.threads: int | None = None  # the BLAS/OpenMP limit set in this process
        self.sig_r, self.sig_w = os.pipe()  # SIGCHLD wakes the loop through this pipe
        os.set_blocking(self.sig_r, False)
        os.set_blocking(self.sig_w, False)
        signal.set_wakeup_fd(self.sig_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        self.sel = selectors.DefaultSelector()
        self.sel.register(0, selectors.EVENT_READ)
        self.sel.register(self.sig_r, selectors.EVENT_READ)

    def send(self, **msg: Any) -> None:
        try:
            self.proto.write(json.dumps(msg) + "\n")
        except OSError:  # the batch is gone; stdin's EOF will tell the loop
            pass

    def loop(self) -> None:
        while not self.eof or self.children:
            if self.eof:  # the batch is gone: nothing may go on writing into its folder
                for pid in list(self.children):
                    _killpg(pid)
            for key, _ in self.sel.select(timeout=1.0):
                if key.fd == self.sig_r:
                    try:
                        os.read(self.sig_r, 4096)
                    except BlockingIOError:
                        pass
                else:
                    self._read_requests()
            self._reap()

    def _read_requests(self) -> None:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            self.eof = True
            self.sel.unregister(0)
            return
        self.buf += chunk
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            msg = json.loads(line)
            if msg["op"] == "run":
                self._fork(msg["token"], msg["job"])
            elif msg["op"] == "import":  # before the runs that follow it are forked
                t0 = time.perf_counter()
                failed = import_modules(msg["modules"])
                self.send(event="imported", seconds=time.perf_counter() - t0, failed=failed)
            elif msg["op"] == "kill":
                pid = self.by_token.get(msg["token"])
                if pid in self.children:
                    _killpg(pid)

    def _fork(self, token: str, spec: dict[str, Any]) -> None:
        from evaluation.batch.job import Job

        job = Job(**{**spec, "preload": tuple(spec["preload"])})
        if job.blas_threads != self.threads:  # inherited by this child and the next ones
            limit_threads(job.blas_threads)
            self.threads = job.blas_threads
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                self.sel.close()
                self.proto.close()
                os.close(self.sig_r)
                os.close(self.sig_w)
                signal.set_wakeup_fd(-1)
                _child(job, self.me)
                code = 0
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(code)
        self.children[pid] = token
        self.by_token[token] = pid
        self.send(event="started", token=token, pid=pid)

    def _reap(self) -> None:
        while self.children:
            try:
                pid, st = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self.children.clear()
                return
            if pid == 0:
                return
            token = self.children.pop(pid, None)
            # whatever the run started (a Jupyter kernel, a subprocess) goes with it
            _killpg(pid, group_only=True)
            if token is not None:
                self.by_token.pop(token, None)
                self.send(
                    event="exited", token=token, pid=pid, status=os.waitstatus_to_exitcode(st)
                )


def serve(preload: Sequence[str]) -> None:
    """Main of the warm server process: import once, then fork one child per run request."""
    proto = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)  # a print() in an imported module must not corrupt the protocol
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the batch's to handle
    t0 = time.perf_counter()
    failed = warm(preload)
    server = _Server(proto)
    server.send(
        event="ready", pid=os.getpid(), seconds=round(time.perf_counter() - t0, 3), failed=failed
    )
    server.loop()
    # nothing to clean up (the runs are reaped, the protocol is line-buffered): skipping the
    # interpreter's finalization of numpy, pandas, matplotlib and IPython saves the batch the
    # better part of a second at its end
    try:
        proto.flush()
    except OSError:  # the batch (or the Dask worker) that started the server is gone
        pass
    os._exit(0)


# ============================================================================================
# The batch's side
# ============================================================================================


class _Waiter:
    def __init__(self) -> None:
        self.started = threading.Event()
        self.exited = threading.Event()
        self.pid: int | None = None
        self.status: int | None = None


class WarmServer:
    """Client side of the warm server: submit runs, wait for them, kill them.

    It starts importing ``preload`` at once; :meth:`ensure` adds modules later (those a plan
    needs, once the plan has been read), imported before any run submitted after it. ``info``
    holds the import time and what could not be imported.
    """

    def __init__(self, preload: Sequence[str]):
        self.preload = tuple(preload)
        self.loaded = set(self.preload)  # asked for, imported or not
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "evaluation.batch.forkserver",
                "serve",
                json.dumps(self.preload),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self.ready = threading.Event()
        self.info: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._waiters: dict[str, _Waiter] = {}
        self._folders: dict[str, str] = {}  # token -> the run folder of its batch
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
            if msg.get("event") == "imported":
                self.info["seconds"] = round(self.info.get("seconds", 0) + msg["seconds"], 3)
                self.info.setdefault("failed", {}).update(msg["failed"])
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

    def ensure(self, modules: Sequence[str]) -> None:
        """Have the server import these modules too, before the runs submitted after this."""
        missing = [m for m in modules if m not in self.loaded]
        if missing:
            self._send({"op": "import", "modules": missing})
            self.loaded.update(missing)

    def submit(self, job: Any) -> tuple[str, _Waiter]:
        with self._lock:
            self._counter += 1
            token = f"{job.run_id}#{self._counter}"
            w = self._waiters[token] = _Waiter()
            self._folders[token] = str(job.out_dir)
        self._send({"op": "run", "token": token, "job": dataclasses.asdict(job)})
        return token, w

    def kill(self, token: str) -> None:
        try:
            self._send({"op": "kill", "token": token})
        except (BatchError, OSError):
            pass

    def kill_all(self, out_dir: str | None = None) -> int:
        """Kill the runs in flight (only those writing into ``out_dir``, when given)."""
        killed = 0
        for token, w in list(self._waiters.items()):
            if w.exited.is_set():
                continue
            if out_dir is None or self._folders.get(token) == str(out_dir):
                self.kill(token)
                killed += 1
        return killed

    def forget(self, token: str) -> None:
        with self._lock:
            self._waiters.pop(token, None)
            self._folders.pop(token, None)

    def close(self) -> None:
        with self._lock:
            self.dead = True
            try:
                if self.proc.stdin:
                    self.proc.stdin.close()  # EOF: the server kills what runs and exits
            except OSError:
                pass
        if not self.ready.is_set():  # still importing (a plan was refused): no run to wait for
            self.proc.kill()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


_servers: dict[str, WarmServer] = {}  # by package code hash
_servers_lock = threading.Lock()


def warm_server(preload: Sequence[str], code_key: str = "") -> WarmServer:
    """The process's warm server, importing at least ``preload`` (started on first use, then
    reused: a later call adds the modules it lacks).

    ``code_key`` (the package code hash) makes a changed package start a new server, so a
    long-lived process (a JupyterLab session running batches) never runs stale code.
    """
    with _servers_lock:
        server = _servers.get(code_key)
        if server is None or server.dead:
            for old_key in [k for k in _servers if k != code_key]:
                _servers.pop(old_key).close()
            server = _servers[code_key] = WarmServer(preload)
            return server
        server.ensure(preload)
        return server


def prestart(code_key: str) -> None:
    """Start this process's warm server now, on the base modules, so that it imports them
    while the batch reads its plan; the plan's own modules follow (:meth:`WarmServer.ensure`)."""
    warm_server(BASE_PRELOAD, code_key)


def kill_runs_in(out_dir: str) -> int:
    """Kill this process's runs in flight that write into ``out_dir`` (a batch interrupted
    while its runs were on a Dask cluster it does not own); returns how many."""
    return sum(server.kill_all(out_dir) for server in list(_servers.values()))


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
    job: Any,
    on_start: Callable[[Any], None] | None = None,
    server: WarmServer | None = None,
) -> dict[str, Any]:
    """Run one job in a process forked from the warm server; wait, enforce the timeout.

    Returns the run's record (status ``ok``, ``failed`` or ``timeout``). Usable on any
    machine with the package installed, which is how Dask workers call it.
    """
    if job.blas_threads is None:
        job = dataclasses.replace(job, blas_threads=_dask_share_of_cores())
    job = dataclasses.replace(job, attempt=uuid.uuid4().hex[:10])
    server = server or warm_server(job.preload or BASE_PRELOAD, job.code_key)
    t0 = time.time()
    job.work.mkdir(parents=True, exist_ok=True)
    token, w = server.submit(job)
    try:
        w.started.wait()
        if on_start is not None and not server.dead:
            on_start(job)
        killed = not w.exited.wait(job.timeout + job.grace)
        if killed:
            server.kill(token)
            w.exited.wait(30)
    finally:
        server.forget(token)
    record = _read_json(job.record_path)
    if job.record_path.exists():
        job.record_path.unlink()
    if record is not None and not killed:
        return record
    return _unreported(job, w, killed, t0)


def _unreported(job: Any, w: _Waiter, killed: bool, t0: float) -> dict[str, Any]:
    """The record of a run whose child did not report: killed, crashed, or its server died.

    Where it was comes from the child's progress file, what it said from its log.
    """
    from evaluation.batch.job import error_info, failure_record

    progress = _read_json(job.work / f"{job.run_id}.progress") or {}
    log_tail = ""
    try:
        log_tail = (job.work / f"{job.run_id}.log").read_text("utf-8", "replace")[-3000:]
    except OSError:
        pass
    status, ename = "failed", "WorkerDied"
    if killed or (
        w.status is not None and w.status == -signal.SIGKILL and time.time() - t0 >= job.timeout
    ):
        status, ename = "timeout", "Timeout"
        evalue = (
            f"the run exceeded its timeout of {job.timeout:g} s and did not stop by itself "
            f"within {job.grace:g} s; it was killed"
        )
    elif w.status is None:
        evalue = "the run's process ended without a result (the warm worker process ended)"
    elif w.status < 0:
        evalue = f"the run's process ended without a result (signal {-w.status})"
    else:
        evalue = f"the run's process ended without a result (exit status {w.status})"
    for rel in job.outputs.values():  # nothing half-written may stay behind
        p = Path(job.out_dir) / (rel + job.partial_suffix)
        if p.exists():
            p.unlink()
    error = error_info(
        ename, evalue, progress.get("cell_index"), progress.get("cell_source"), log_tail
    )
    return failure_record(
        error,
        status=status,
        duration_s=round(time.time() - t0, 3),
        worker={"host": os.uname().nodename, "pid": w.pid},
    )


def _dask_share_of_cores() -> int:
    """BLAS threads for a run on a Dask worker: its cores over the tasks it runs at once."""
    try:
        from distributed import get_worker

        return max(1, cpu_count() // max(1, get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        serve(json.loads(sys.argv[2]))
    else:
        sys.exit("usage: python -m evaluation.batch.forkserver serve '[\"module\", ...]'")
