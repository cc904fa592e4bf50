"""Loaded by each worker of the Dask ``LocalCluster`` a batch starts (a Dask preload module).

A terminal's Ctrl-C reaches every process of the foreground group: the batch, and the cluster's
worker processes it started. The batch handles it — it marks its folder interrupted, stops the
runs in flight and shuts the cluster down in order — so the workers ignore it rather than die
mid-task, each with a traceback on the terminal. (Workers restarted after a death load this
again.) SIGTERM is left as it is: it is how the cluster's nanny stops a worker.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


def dask_setup(worker: Any) -> None:  # noqa: ARG001 — Dask's preload interface
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
