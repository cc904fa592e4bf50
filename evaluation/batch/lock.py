"""The lock on an output folder: one batch writes a run folder at a time.

Two cron jobs, or a scheduled batch and an analyst's, must not write the same folder. A batch
holds an exclusive ``flock`` on ``OUT/.pilot-eval.lock`` (the file names the holder) and
removes the file when it is done. The kernel drops the lock when the holder dies, however it
dies, so a killed batch never leaves a lock that blocks the next one — only, at worst, the file.
"""

from __future__ import annotations

import os
from pathlib import Path

from evaluation.batch.manifest import now
from evaluation.errors import BatchError

__all__ = ["LOCK_NAME", "OutputLock", "OutputLocked"]

LOCK_NAME = ".pilot-eval.lock"


class OutputLocked(BatchError):
    """Another batch holds the lock on this output folder (exit status 75 on the command line)."""


class OutputLock:
    """An exclusive ``flock`` on ``OUT/.pilot-eval.lock`` holding the owner's pid.

    Used as a context manager; the file is removed on exit. Removing a lock file races with a
    batch that opened it just before: that batch would lock a file no longer in the folder
    while a third creates a new one. So a lock counts only if, once taken, the path still
    names the file that was locked; otherwise it is taken again on the new file.

    Raises
    ------
    OutputLocked
        On entry, when another batch holds the lock (the message names its pid and start).
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> OutputLock:
        import fcntl

        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 4096, 0).decode("utf-8", "replace").strip() or "unknown"
                os.close(fd)
                raise OutputLocked(
                    f"output folder {str(self.path.parent)!r} is being written by another "
                    f"pilot-eval batch ({holder}). Wait for it to finish, or use another --out."
                ) from None
            if self._still_named(fd):
                break
            os.close(fd)  # its holder removed it as we opened it: lock the current file
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {now()}\n".encode(), 0)
        self.fd = fd
        return self

    def _still_named(self, fd: int) -> bool:
        try:
            return os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            return False

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            # unlink while still holding the lock: whoever opens the path next creates a new
            # file, and one that opened the old file finds it no longer named (see above)
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self.fd)
            self.fd = None
