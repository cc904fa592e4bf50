"""Compute a district's findings once, share them between the processes of a batch.

Every ward report needs the verdicts of *all* wards (a ward's verdict is adjusted for the other
wards tested with it), so each would evaluate the whole district. The findings are therefore
kept, per process and on disk, under a key made of everything they depend on: the content of
every data file and of the registry, the package's source code, and the verdict policy. The
first process of a batch computes them while the others wait on a file lock, then read them;
a change to any input or to the code makes a new key, so a stale result is never read.

The district's panels (ward × week traffic, ward × month fires, …) and the planted truth are
shared the same way (:func:`shared`): a city's ward report needs the panels of every ward, and
reading and aggregating three years of daily junction data in each of hundreds of runs made
the batch's cost grow with the square of the number of wards.

The cache lives in ``$PILOT_EVAL_CACHE`` (default ``~/.cache/pilot-eval``); set
``PILOT_EVAL_CACHE=off`` to compute every time. Files are written atomically (temporary file,
then rename), and a cache file that cannot be read is recomputed, never trusted.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import pickle
import tempfile
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from evaluation.core.files import sha256_file

__all__ = ["cache_dir", "cache_key", "cached", "is_cached", "shared", "shared_parts"]

_MEMORY: dict[str, Any] = {}


def cache_dir() -> Path | None:
    """The cache folder, or None when caching is switched off."""
    value = os.environ.get("PILOT_EVAL_CACHE", "")
    if value.lower() in ("off", "0", "no", "false"):
        return None
    return Path(value) if value else Path.home() / ".cache" / "pilot-eval"


@lru_cache(maxsize=1)
def _code_digest() -> str:
    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    # the code, and the message catalogues its findings' sentences are written from (a changed
    # translation must not be served from a cache written before it)
    for path in sorted([*root.rglob("*.py"), *root.glob("locale/*/LC_MESSAGES/*.po")]):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@lru_cache(maxsize=1)
def _library_versions() -> str:
    """The numeric libraries' versions: another numpy or scipy may give other last digits, so a
    finding computed under one is never served under another."""
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for name in ("numpy", "scipy", "pandas", "statsmodels"):
        try:
            out.append(f"{name}={version(name)}")
        except PackageNotFoundError:
            out.append(f"{name}=?")
    return ";".join(out)


def _data_digest(district) -> str:
    """The content of every data file and of the registry, hashed once per process for as long
    as no file changes (size and modification time)."""
    files = sorted(p for p in Path(district.data_dir).rglob("*") if p.is_file())
    files.append(Path(district.registry_path))
    stamps = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    return _digest(str(district.data_dir), stamps)


@lru_cache(maxsize=8)
def _digest(data_dir: str, stamps: tuple[tuple[str, int, int], ...]) -> str:
    h = hashlib.sha256()
    *data, registry = stamps
    for path, _, _ in data:
        h.update(str(Path(path).relative_to(data_dir)).encode())
        h.update(sha256_file(Path(path)).encode())
    h.update(sha256_file(Path(registry[0])).encode())
    return h.hexdigest()


def cache_key(district, policy) -> str:
    """The key of a district's findings: data files, registry, code, library versions and
    policy."""
    h = hashlib.sha256()
    h.update(_data_digest(district).encode())
    h.update(_code_digest().encode())
    h.update(_library_versions().encode())
    h.update(repr(policy).encode())
    return h.hexdigest()[:32]


def cached(district, policy, compute: Callable[[], Any]) -> Any:
    """``compute()``'s result for this district and policy, from memory, disk, or computed."""
    return _through_disk("findings", cache_key(district, policy), compute)


def shared(district, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()``'s result for ``name`` — something derived from the district's data alone,
    such as a panel (``name`` says which, and how it was built) — from memory, disk, or
    computed by this process (one process of a batch computes, the others wait and read)."""
    h = hashlib.sha256()
    for part in (_data_digest(district), _code_digest(), _library_versions(), name):
        h.update(part.encode())
    return _through_disk("shared", h.hexdigest()[:32], compute)


def is_cached(district, policy) -> bool:
    """Whether the district's findings under ``policy`` are already computed (memory or disk)."""
    key = cache_key(district, policy)
    folder = cache_dir()
    return f"findings-{key}" in _MEMORY or (
        folder is not None and (folder / f"findings-{key}.pkl").is_file()
    )


def shared_parts(district, names: list[str], compute: Callable[[str], Any]) -> dict[str, Any]:
    """``compute(name)`` for every name, shared like :func:`shared` — but the processes of a
    batch that ask at once split the work: each takes the parts no other process is computing
    (a lock it can have without waiting), then waits for the parts the others took. A city's
    findings, computed programme by programme, so keep both cores busy."""
    keys = {}
    for name in names:
        h = hashlib.sha256()
        for part in (_data_digest(district), _code_digest(), _library_versions(), name):
            h.update(part.encode())
        keys[name] = h.hexdigest()[:32]
    folder = cache_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        for name in names:  # first pass: only what nobody else is computing
            memo = f"shared-{keys[name]}"
            if memo in _MEMORY:
                continue
            with open(folder / f"{memo}.lock", "a+b") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # another process computes it: take the next one
                try:
                    value = _read(folder / f"{memo}.pkl")
                    if value is None:
                        value = compute(name)
                        _write(folder / f"{memo}.pkl", value)
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)
            _MEMORY[memo] = value
    # then every part: from memory, from the other processes' files (waiting for them), or
    # computed here (no cache)
    return {name: _through_disk("shared", keys[name], lambda n=name: compute(n)) for name in names}


def _through_disk(kind: str, key: str, compute: Callable[[], Any]) -> Any:
    memo = f"{kind}-{key}"
    if memo in _MEMORY:
        return _MEMORY[memo]
    folder = cache_dir()
    if folder is None:
        value = compute()
        _MEMORY[memo] = value
        return value
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{kind}-{key}.pkl"
    with open(folder / f"{kind}-{key}.lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one process computes, the others wait and read
        try:
            value = _read(path)
            if value is None:
                value = compute()
                _write(path, value)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    _MEMORY[memo] = value
    return value


def _read(path: Path) -> Any:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except FileNotFoundError:
        return None
    except Exception:  # a torn or foreign file: recompute rather than trust it
        return None


def _write(path: Path, value: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
