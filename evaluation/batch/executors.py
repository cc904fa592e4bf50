"""Where runs execute: this machine's cores, or a Dask distributed cluster.

Both executors run each job through :func:`evaluation.batch.forkserver.run_isolated` — a
process forked from a warm server on the machine that runs it — so isolation, timeouts and
thread limits are the same everywhere. They report through three callbacks:
``on_start(job)``, ``on_done(job, record)`` and ``tick()`` (twice a second, for the manifest).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import json
import os
import signal
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evaluation.batch.forkserver import (
    BASE_PRELOAD,
    cpu_count,
    kill_runs_in,
    run_isolated,
    warm_server,
)
from evaluation.batch.job import Job, error_info, failure_record
from evaluation.core.files import write_json_atomic
from evaluation.errors import BatchError, PlanError

__all__ = ["LocalExecutor", "DaskExecutor", "job_payloads", "run_task"]

OnStart = Callable[[Job], None]
OnDone = Callable[[Job, dict[str, Any]], None]


class LocalExecutor:
    """Runs jobs on this machine, ``workers`` at a time, each forked from the warm server.

    Each run gets ``cores // workers`` BLAS/OpenMP threads (at least one): with as many
    workers as cores, one each, so parallel runs do not fight over the cores.
    """

    def __init__(
        self, workers: int | None = None, preload: Sequence[str] = BASE_PRELOAD, code_key: str = ""
    ):
        _check_workers(workers)
        cores = cpu_count()
        self.workers = workers or cores
        self.blas_threads = max(1, cores // self.workers)
        self.preload, self.code_key = tuple(preload), code_key
        self.server = warm_server(preload, code_key)

    def _one(self, job: Job, on_start: OnStart) -> dict[str, Any]:
        job = dataclasses.replace(job, blas_threads=self.blas_threads)
        try:
            if self.server.dead:  # it crashed (out of memory, say): the next runs get a new one
                self.server = warm_server(self.preload, self.code_key)
            return run_isolated(job, on_start=on_start, server=self.server)
        except Exception as exc:  # one broken run never stops the others
            return failure_record(
                error_info(type(exc).__name__, str(exc), traceback=traceback.format_exc())
            )

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_done: OnDone, tick) -> None:
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

    def warm_info(self) -> dict[str, Any] | None:
        """What the warm server imported and what it could not (for the manifest)."""
        if not self.server.ready.is_set():
            return None
        return dict(self.server.info)

    def close(self) -> None:
        """The warm server is kept for the next batch of this process (closed at exit)."""


class DaskExecutor:
    """Runs jobs as tasks on a Dask distributed cluster: one the batch starts on this machine
    (a ``LocalCluster``) when no scheduler is given, or an existing one at ``scheduler``.

    Each task calls :func:`~evaluation.batch.forkserver.run_isolated` on its worker, which
    forks the run from that worker's own warm server — the same isolation, timeouts and thread
    limits as locally. The run folder must be on a file system all workers share (NFS, say),
    and the package installed on them: tasks carry only what differs between runs (about
    1 KB); what every run of the batch shares is written once into the run folder and read
    by path (:func:`job_payloads`), and the data are read by path by the notebooks.

    A cluster the batch started is the batch's: sized to the machine (``workers`` processes,
    default one per core, one thread each, the machine's memory divided between them), and
    shut down when the batch ends, also on Ctrl-C or SIGTERM (:meth:`close`), with any worker
    process still alive then killed by its pid. An existing cluster is left running; runs of
    this batch still in flight on it when the batch is interrupted are stopped.

    A worker that dies mid-run (killed, out of memory) loses no output: the outputs are written
    under ``*.partial`` names of that attempt and renamed only when complete, and the scheduler
    gives the run to another worker — up to ``distributed.scheduler.allowed-failures`` deaths
    (3 by default), after which the run is reported failed with the reason.
    """

    def __init__(
        self,
        scheduler: str | None = None,
        workers: int | None = None,
        preload: Sequence[str] = BASE_PRELOAD,
        code_key: str = "",
        notice: Callable[[str], None] | None = None,
    ):
        try:
            from distributed import Client
        except ImportError:
            raise BatchError(
                "--executor dask needs the 'distributed' package: "
                "pip install 'pilot-evaluation-workbench[dask]'"
            ) from None
        _check_workers(workers)
        self.notice = notice or (lambda text: None)
        self.cluster: Any = None
        self._worker_pids: set[int] = set()
        self._closed = False
        if scheduler is None:
            self.cluster = _local_cluster(workers or cpu_count())
            address = self.cluster.scheduler_address
        else:
            address = scheduler
        try:
            self.client = Client(address, timeout=30, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            self._close_cluster()
            raise BatchError(
                f"--scheduler: cannot reach a Dask scheduler at {scheduler!r} ({exc})"
            ) from None
        except BaseException:
            self._close_cluster()
            raise
        try:
            self._describe(address, tuple(preload), code_key)
        except BaseException:
            self.close()
            raise

    def _describe(self, address: str, preload: tuple[str, ...], code_key: str) -> None:
        """Size the runs to the cluster, say what it is, start the workers' warm servers."""
        threads = _threads_by_host(self.client)
        self.workers = sum(threads.values())  # runs at a time
        self.blas_threads = _blas_share(self.client, threads)
        self.preload, self.code_key = preload, code_key
        if self.cluster is not None:
            self._remember_worker_pids()
            n = len(self.cluster.workers)
            memory = _memory_limit(n)
            self.notice(
                f"pilot-eval: started a Dask LocalCluster at {address}: {n} worker processes "
                f"× 1 thread, memory limit {memory / 2**30:.1f} GiB each, "
                f"{self.blas_threads} BLAS thread(s) per run"
            )
        else:
            self.notice(
                f"pilot-eval: Dask cluster at {address}: {len(threads)} host(s), "
                f"{self.workers} worker thread(s), {self.blas_threads} BLAS thread(s) per run"
            )
        # each worker's warm server starts its imports now, while the batch hashes its inputs
        self.client.run(_start_warm_server, preload, code_key)

    # -- running ---------------------------------------------------------------------------

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_done: OnDone, tick) -> None:
        if not jobs:
            return
        import uuid

        jobs = [dataclasses.replace(j, blas_threads=self.blas_threads) for j in jobs]
        batch = uuid.uuid4().hex[:8]
        shared = Path(jobs[0].work) / f"dask-batch-{batch}.json"
        payloads = job_payloads(jobs, shared)
        pending: dict[str, tuple[Any, Job]] = {}
        for i, (job, payload) in enumerate(zip(jobs, payloads, strict=True)):
            key = f"pilot-eval-{batch}-{job.run_id}"
            # submitted longest first: the higher priority runs first
            fut = self.client.submit(
                run_task, payload, str(shared), key=key, pure=False, priority=len(jobs) - i
            )
            pending[key] = (fut, job)
        started: set[str] = set()
        try:
            while pending:
                # polling Future.done() needs no default client (ours is not made the default,
                # so a batch never changes what else in the process uses Dask)
                self._report_started(pending, started, on_start)
                done = [key for key, (fut, _) in pending.items() if fut.done()]
                if not done:
                    time.sleep(0.25)
                for key in done:
                    fut, job = pending.pop(key)
                    record = self._record(fut)
                    # forget the result at once: a finished run's record lives in its worker's
                    # memory, and while a future holds it the scheduler would run it again
                    # (rewriting its outputs) if that worker died later in the batch
                    fut.release()
                    on_done(job, record)
                tick()
        except BaseException:
            self._stop([fut for fut, _ in pending.values()], jobs[0].out_dir)
            raise

    def _report_started(self, pending: dict[str, tuple[Any, Job]], started: set[str], on_start):
        """ "running" once the scheduler has given a run to a worker (not when it is queued)."""
        try:
            processing = self.client.processing()
        except Exception:  # the scheduler is busy or gone: the runs' own records will say
            return
        for keys in processing.values():
            for key in keys:
                key = str(key)
                if key in pending and key not in started:
                    started.add(key)
                    on_start(pending[key][1])

    def _record(self, fut: Any) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as exc:
            if type(exc).__name__ == "KilledWorker":
                import dask

                allowed = dask.config.get("distributed.scheduler.allowed-failures", 3)
                return failure_record(
                    error_info(
                        "KilledWorker",
                        f"the Dask worker running this run died {allowed + 1} times "
                        f"(out of memory, or killed); after {allowed} deaths "
                        "(distributed.scheduler.allowed-failures) the run is given up. Its "
                        "outputs were not written — run the batch again with --resume.",
                    )
                )
            return failure_record(error_info(type(exc).__name__, f"the Dask task failed: {exc}"))

    def _stop(self, futures: list[Any], out_dir: str) -> None:
        """Ctrl-C or SIGTERM: cancel what has not started, stop this batch's runs in flight."""
        with _signals_held():
            try:
                self.client.cancel(futures, force=True)
                self.client.run(kill_runs_in, out_dir, on_error="ignore")
            except Exception:  # the cluster is going away anyway; close() still runs
                pass

    def warm_info(self) -> dict[str, Any] | None:
        """What the workers' warm servers imported and what they could not (for the manifest)."""
        try:
            infos = self.client.run(_warm_info, self.code_key, on_error="ignore")
        except Exception:
            return None
        infos = [i for i in infos.values() if isinstance(i, dict)]
        if not infos:
            return None
        failed: dict[str, str] = {}
        for i in infos:
            failed.update(i.get("failed") or {})
        seconds = [i["seconds"] for i in infos if isinstance(i.get("seconds"), int | float)]
        return {"failed": failed, "seconds": max(seconds) if seconds else None}

    # -- closing ---------------------------------------------------------------------------

    def _remember_worker_pids(self) -> None:
        """The pids of the cluster's worker processes, now and after any restart."""
        try:
            pids = self.client.run(os.getpid, on_error="ignore")
        except Exception:
            return
        self._worker_pids.update(p for p in pids.values() if isinstance(p, int))

    def close(self) -> None:
        """Disconnect; a cluster the batch started is shut down and none of its processes
        outlives it (a second Ctrl-C while it closes is held back until it has)."""
        if self._closed:
            return
        self._closed = True
        with _signals_held():
            if self.cluster is not None:
                self._remember_worker_pids()  # a worker restarted after a death has a new pid
            try:
                self.client.close(timeout=10)
            except Exception:
                pass
            if self.cluster is not None:
                self._close_cluster()
                self.notice("pilot-eval: the Dask LocalCluster was shut down")

    def _close_cluster(self) -> None:
        if self.cluster is None:
            return
        cluster, self.cluster = self.cluster, None
        for nanny in list(getattr(cluster, "workers", {}).values()):
            pid = getattr(getattr(getattr(nanny, "process", None), "process", None), "pid", None)
            if isinstance(pid, int):
                self._worker_pids.add(pid)
        try:
            cluster.close(timeout=20)
        except Exception:
            pass
        _kill_survivors(self._worker_pids)


def job_payloads(jobs: Sequence[Job], shared: Path) -> list[dict[str, Any]]:
    """What each Dask task carries: the fields of its job that differ between the batch's runs.

    The fields every job shares (the warm server's import list, the plan's folder, the code
    hash, the report header's common part …) are written once to ``shared`` (JSON, atomically,
    in the run folder the workers share) and read there by :func:`run_task`.
    """
    rows = [dataclasses.asdict(j) for j in jobs]
    common = {
        name: value
        for name, value in rows[0].items()
        if name != "meta" and all(r[name] == value for r in rows[1:])
    }
    meta = rows[0]["meta"]
    common_meta = {k: v for k, v in meta.items() if all(r["meta"].get(k, _NO) == v for r in rows)}
    common["meta"] = common_meta
    write_json_atomic(shared, common, durable=False)
    payloads = []
    for r in rows:
        own = {k: v for k, v in r.items() if k not in common}
        own["meta"] = {k: v for k, v in r["meta"].items() if k not in common_meta}
        payloads.append(own)
    return payloads


_NO = object()
_SHARED: dict[str, dict[str, Any]] = {}  # on a worker: the batch's shared fields, read once


def run_task(payload: dict[str, Any], shared: str) -> dict[str, Any]:
    """A Dask task: rebuild the job from its own fields and the batch's shared ones, run it."""
    common = _SHARED.get(shared)
    if common is None:
        with open(shared, encoding="utf-8") as fh:
            common = _SHARED[shared] = json.load(fh)
    fields = {**common, **payload, "meta": {**common["meta"], **payload.get("meta", {})}}
    fields["preload"] = tuple(fields["preload"])
    return run_isolated(Job(**fields))


def _start_warm_server(preload: tuple[str, ...], code_key: str) -> None:
    """On a worker: start its warm server's imports (returns at once)."""
    warm_server(preload, code_key)


def _warm_info(code_key: str) -> dict[str, Any] | None:
    """On a worker: its warm server's import report (see :class:`WarmServer`)."""
    from evaluation.batch import forkserver

    server = forkserver._servers.get(code_key)
    if server is None or not server.ready.wait(60):
        return None
    return dict(server.info)


def _check_workers(workers: int | None) -> None:
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise PlanError(f"--workers: expected a positive whole number, got {workers!r}")


def _memory_limit(n_workers: int) -> int:
    """Each worker's share of the machine's memory, in bytes."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 * 2**30
    return int(total // max(1, n_workers))


def _local_cluster(n_workers: int) -> Any:
    """A LocalCluster sized to this machine: processes, one thread each, memory shared out.

    Its processes die with the batch even if the batch is killed outright: the workers watch
    their nanny's pipe and the warm servers their worker's, and each run dies with its warm
    server (``PR_SET_PDEATHSIG``).
    """
    import logging

    from distributed import LocalCluster

    try:
        return LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=_memory_limit(n_workers),
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
            preload=["evaluation.batch.dask_worker"],  # Ctrl-C is the batch's to handle
        )
    except Exception as exc:
        raise BatchError(f"--executor dask: could not start a Dask LocalCluster ({exc})") from None


def _threads_by_host(client: Any) -> dict[str, int]:
    info = client.scheduler_info(n_workers=-1).get("workers", {})
    threads: dict[str, int] = {}
    for w in info.values():
        threads[w.get("host", "?")] = threads.get(w.get("host", "?"), 0) + int(w.get("nthreads", 1))
    return threads


def _blas_share(client: Any, threads: dict[str, int]) -> int:
    """BLAS/OpenMP threads per run: on each host its cores over the runs it holds at once; the
    smallest share, so that no host is oversubscribed."""
    try:
        cores = client.run(cpu_count, on_error="ignore")
        hosts = {
            a: w.get("host", "?") for a, w in client.scheduler_info(n_workers=-1)["workers"].items()
        }
    except Exception:
        return 1
    per_host = {hosts.get(a, "?"): n for a, n in cores.items() if isinstance(n, int)}
    shares = [max(1, per_host[h] // max(1, t)) for h, t in threads.items() if h in per_host]
    return min(shares) if shares else 1


def _kill_survivors(pids: set[int]) -> None:
    """After the cluster has closed: SIGKILL any of its worker processes (by pid) still alive,
    with the processes they started."""
    try:
        import psutil
    except ImportError:
        return
    procs = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            procs += [p, *p.children(recursive=True)]
        except psutil.Error:
            continue
    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


class _signals_held:
    """Hold SIGINT and SIGTERM back while a cluster shuts down (re-raised as Ctrl-C after)."""

    def __enter__(self) -> _signals_held:
        self.previous: dict[int, Any] = {}
        self.caught: list[int] = []
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, lambda s, f: self.caught.append(s))
        return self

    def __exit__(self, *exc: Any) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)
        if self.caught and exc[0] is None:
            raise KeyboardInterrupt
