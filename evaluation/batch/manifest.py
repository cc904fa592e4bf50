"""The manifest: what a batch ran, on which inputs and code, and how each run ended.

``OUT/manifest.json`` records the plan, the parameters of every run, the sha256 of every input
file, the package versions and git commit, durations, statuses and errors. It is rewritten
whole (atomically) while the batch runs, so it always describes the folder as it is; a run's
*key* — the hash of what its output depends on — is what ``--resume`` compares to decide that
a run may be skipped.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluation.core.files import sha256_file, write_json_atomic

__all__ = [
    "MANIFEST_SCHEMA",
    "REGISTRY_PREFIX",
    "RUN_STATUSES",
    "SUCCEEDED",
    "ManifestWriter",
    "environment",
    "hash_folder",
    "now",
    "package_code_hash",
    "read_manifest",
    "run_key",
    "run_outputs",
    "sha256_file",
]

MANIFEST_SCHEMA = 1

#: Status of one run in the manifest. ``pending``/``running`` only while a batch is in flight
#: (a manifest left with them was interrupted); ``interrupted`` after Ctrl-C or SIGTERM.
RUN_STATUSES = ("pending", "running", "ok", "failed", "timeout", "skipped", "interrupted")
SUCCEEDED = ("ok", "skipped")

#: The registry's hash sits among the data files' as ``registry:NAME``
REGISTRY_PREFIX = "registry:"

#: Package versions recorded in the manifest (those that are installed).
_VERSIONED = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "matplotlib",
    "ipython",
    "nbformat",
    "papermill",
    "pyyaml",
    "jinja2",
    "openpyxl",
    "distributed",
)

_PACKAGE = Path(__file__).resolve().parents[1]  # evaluation/


def now() -> str:
    """Local time with its offset, to the second (the manifest's timestamps)."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def hash_folder(folder: Path | None, skip: Iterable[Path] = ()) -> dict[str, str]:
    """sha256 of every file under ``folder`` (relative POSIX path -> hex digest).

    Hidden files and folders and ``__pycache__`` are left out, and so is anything under
    ``skip`` (the run folder, when it sits inside the data folder).
    """
    if folder is None:
        return {}
    skip = [p.resolve() for p in skip]
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder)
        if any(part.startswith(".") or part == "__pycache__" for part in rel.parts):
            continue
        if p.is_file() and not any(p.resolve().is_relative_to(s) for s in skip):
            out[rel.as_posix()] = sha256_file(p)
    return out


def package_code_hash() -> str:
    """One hash over the package's code, templates and reference data (for ``--resume``)."""
    h = hashlib.sha256()
    for rel, digest in hash_folder(_PACKAGE).items():
        if rel.endswith((".pyc", ".pyo")):
            continue
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()


def environment(code_hash: str) -> dict[str, Any]:
    """Versions, git commit and machine: what a reader needs to reproduce the numbers."""
    import platform
    from importlib import metadata

    import evaluation

    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    commit, dirty = _git_state(_PACKAGE.parent)
    return {
        "evaluation": evaluation.__version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "host": platform.node(),
        "packages": versions,
        "package_code_sha256": code_hash,
    }


def _git_state(repo: Path) -> tuple[str | None, bool | None]:
    """(commit, has uncommitted changes) of the checkout the package runs from, if it is one."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=10
        ).stdout

    try:
        commit = git("rev-parse", "HEAD").strip() or None
        if commit is None:
            return None, None
        return commit, bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.SubprocessError):
        return None, None


def run_key(
    notebook_sha256: str,
    parameters: Mapping[str, Any],
    data_hashes: Mapping[str, str],
    code_hash: str,
) -> str:
    """What a run's output depends on; equal keys mean ``--resume`` may skip it."""
    blob = json.dumps(
        {
            "notebook": notebook_sha256,
            "parameters": parameters,
            "data": data_hashes,
            "code": code_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def run_outputs(run_id: str) -> dict[str, str]:
    """A run's files, relative to the run folder."""
    return {
        "notebook": f"notebooks/{run_id}.ipynb",
        "html": f"reports/{run_id}.html",
        "results": f"results/{run_id}.json",
    }


def read_manifest(out: Path) -> dict[str, Any] | None:
    """The folder's previous manifest, or None when there is none (or it is unreadable)."""
    try:
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and isinstance(m.get("runs"), list) else None


class ManifestWriter:
    """Keeps ``manifest.json`` in step with a running batch.

    The manifest is rewritten whole (atomically) — at most twice a second while runs finish,
    so a batch of thousands of runs does not spend its time rewriting it. Runs report from
    the executor's threads, hence the lock.
    """

    def __init__(self, path: Path, manifest: dict[str, Any]):
        self.path = path
        self.manifest = manifest
        self.by_id = {r["id"]: r for r in manifest["runs"]}
        self._lock = threading.Lock()
        self._dirty = False
        self._written = time.monotonic()

    def write(self) -> None:
        """Write it now."""
        with self._lock:
            write_json_atomic(self.path, self.manifest)
            self._dirty, self._written = False, time.monotonic()

    def update_run(self, run_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Merge ``fields`` into a run's record (written at the next :meth:`flush`)."""
        with self._lock:
            record = self.by_id[run_id]
            record.update(fields)
            self._dirty = True
        return record

    def mark_interrupted(self) -> None:
        """Ctrl-C, SIGTERM or a crash: runs not finished, and the batch, say so."""
        with self._lock:
            for r in self.manifest["runs"]:
                if r["status"] in ("pending", "running"):
                    r["status"] = "interrupted"
            self.manifest.update(status="interrupted", finished=now())
            self._dirty = True

    def flush(self, force: bool = False) -> None:
        """Write it if something changed and half a second has passed (or ``force``)."""
        with self._lock:
            due = force or time.monotonic() - self._written >= 0.5
            if self._dirty and due:
                write_json_atomic(self.path, self.manifest)
                self._dirty, self._written = False, time.monotonic()
