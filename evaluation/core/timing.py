"""Where a process spends its time, by stage: the timers a batch records for each run.

A batch run reads tables, builds panels, computes findings and renders its report; the batch
then builds the index. :func:`stage` times a block under one of those names; nested stages are
exclusive (the seconds spent reading inside a findings computation count as ``read``, not
twice), so the stages of a run add up to at most its duration. :func:`stage_seconds` gives the
totals of this process so far; a run's process records them in the manifest
(``runs[].stages``), where ``benchmarks/city.py`` reads them.
"""

from __future__ import annotations

import resource
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["STAGES", "stage", "stage_seconds", "reset", "peak_rss_mb"]

#: the stages a batch reports, in the order they happen
STAGES = ("read", "panels", "findings", "reports", "index")

_totals: dict[str, float] = {}
_stack: list[list] = []  # [name, started, seconds spent in nested stages]


@contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` (exclusive of the stages nested inside it)."""
    frame = [name, time.perf_counter(), 0.0]
    _stack.append(frame)
    try:
        yield
    finally:
        _stack.pop()
        spent = time.perf_counter() - frame[1]
        _totals[name] = _totals.get(name, 0.0) + spent - frame[2]
        if _stack:
            _stack[-1][2] += spent


def stage_seconds() -> dict[str, float]:
    """Seconds this process has spent in each stage (only the stages it entered)."""
    return {k: round(v, 4) for k, v in _totals.items()}


def reset() -> None:
    """Forget the totals (a forked run starts from zero, whatever its parent did)."""
    _totals.clear()
    _stack.clear()


def peak_rss_mb() -> float:
    """The peak resident memory of this process so far, in MiB (pages it shares with the
    process it was forked from included)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (1024 * 1024 if sys.platform == "darwin" else 1024), 1)
