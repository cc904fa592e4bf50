"""Where runs execute: this machine's cores, or a Dask distributed cluster.

Both executors run each job through :func:`evaluation.batch.forkserver.run_isolated` — a
process forked from a warm server on the machine that runs it — so isolation, timeouts and
thread limits are the same everywhere. They report through three callbacks:
``on_start(job)``, ``on_done(job, record)`` and ``tick()`` (twice a second, for the manifest).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from evaluation.batch.forkserver import BASE_PRELOAD, cpu_count, run_isolated, warm_server
from evaluation.batch.job import Job, error_info, failure_record
from evaluation.errors import BatchError, PlanError

__all__ = ["LocalExecutor", "DaskExecutor"]

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
        if workers is not None and (
            isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
        ):
            raise PlanError(f"--workers: expected a positive whole number, got {workers!r}")
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

    def close(self) -> None:
        """The warm server is kept for the next batch of this process (closed at exit)."""


class DaskExecutor:
    """Runs jobs as tasks on a Dask distributed cluster.

    Each task calls :func:`~evaluation.batch.forkserver.run_isolated` on its worker, which
    forks the run from that worker machine's own warm server — the same isolation, timeouts and
    thread limits as locally. The run folder must be on a file system all workers share (NFS,
    say), and the package installed on them.
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

    def run(self, jobs: Sequence[Job], on_start: OnStart, on_done: OnDone, tick) -> None:
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
                    on_done(futures[fut], self._record(fut))
                tick()
        except BaseException:
            self.client.cancel(list(pending))
            raise

    @staticmethod
    def _record(fut: Any) -> dict[str, Any]:
        try:
            return fut.result()
        except Exception as exc:
            return failure_record(error_info(type(exc).__name__, f"the Dask task failed: {exc}"))

    def close(self) -> None:
        self.client.close()
