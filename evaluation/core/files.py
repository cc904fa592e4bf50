"""Atomic file writes: a reader sees the old file or the new one, never half of one.

Everything a run leaves in its folder — results JSON, executed notebooks, reports, the findings
tables, the manifest — is written under a temporary name and renamed into place, so a batch that
is killed, or a reader that looks while a batch is running, never meets a truncated file.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

__all__ = ["sha256_file", "write_bytes_atomic", "write_text_atomic", "write_json_atomic"]


def write_bytes_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to a temporary name beside ``path``, then rename it to ``path``.

    ``durable`` also flushes the data to disk before the rename, so a power cut cannot leave
    an empty file under the final name. The temporary name carries the process and thread, so
    writers in different processes or threads never share one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_text_atomic(path: Path, text: str) -> None:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_json_atomic(path: Path, obj: Any, durable: bool = True) -> None:
    """:func:`write_bytes_atomic` for JSON: UTF-8, letters kept (``ensure_ascii=False``), no NaN."""
    text = json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    write_bytes_atomic(path, text.encode("utf-8"), durable)


def sha256_file(path: Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (inputs of a run, the registry)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
