"""Paths in a run folder: relative, never where this machine keeps its files.

A run folder travels — it is mailed to officials, archived, opened on another machine, re-run
by ``pilot-eval reproduce``. What it says about files must mean the same there, and must not
show this machine's folders (they say nothing to a reader, and leak user names). So every file
of a run names a file relative to one of three folders:

- the **run folder** — its own outputs (``results/ID.json``, ``logs/ID.log``);
- the **plan's folder** — the inputs, as the plan names them (``../data/demo``,
  ``pilots.yaml``, ``../notebooks/ward_report.ipynb``); a single notebook run without a plan
  file has the notebook's folder in its place;
- the **checkout** the package runs from (the folder that holds ``evaluation/``) — the
  package's own files in a traceback (``evaluation/analysis/evaluate.py``).

The plan's folder itself is recorded relative to the checkout when it lies inside it (the
plans under ``params/``), else relative to the run folder (:func:`locate`). Free text — error
messages, tracebacks, a notebook's printed output — goes through :class:`Redactor`, which
replaces those folders, the Python installation and the home folder by short relative forms.
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "is_path_parameter",
    "recorded_parameters",
    "CHECKOUT",
    "LOGS_DIR",
    "Redactor",
    "locate",
    "relative",
    "resolve_located",
    "run_log",
]

#: The folder that holds the ``evaluation`` package: a source checkout, or site-packages.
CHECKOUT = Path(__file__).resolve().parents[2]

#: Full tracebacks of the runs that did not succeed, one file per run.
LOGS_DIR = "logs"

#: Parameters that hold a path although their names do not say so
_PATH_NAMES = ("ward_table",)


def is_path_parameter(name: str) -> bool:
    """A parameter holds a path when its name ends in ``_dir``, ``_path`` or ``_file``
    (``data_dir``, ``registry_path``) or is ``ward_table``; ``results_path`` is the batch's own
    output. Such parameters are resolved from where they were typed and recorded relative to
    the plan's folder."""
    if name == "results_path":
        return False
    return name in _PATH_NAMES or name.endswith(("_dir", "_path", "_file"))


def recorded_parameters(params: Mapping[str, Any], folder: str | os.PathLike) -> dict[str, Any]:
    """``params`` as a run records them: absolute path parameters relative to ``folder`` (the
    plan's folder; for a single run, the notebook's), so that the manifest says where the inputs
    were without naming this machine's folders, and ``pilot-eval reproduce`` finds them again."""
    out = dict(params)
    for name, value in params.items():
        if is_path_parameter(name) and isinstance(value, str) and os.path.isabs(value):
            try:
                out[name] = relative(value, folder)
            except ValueError:  # another drive (Windows): only the absolute path says where
                pass
    return out


_IN_CHECKOUT = "checkout"
_IN_RUN = "run folder"


def run_log(run_id: str) -> str:
    """A run's log (full traceback of a failure), relative to the run folder."""
    return f"{LOGS_DIR}/{run_id}.log"


def relative(path: str | os.PathLike, start: str | os.PathLike) -> str:
    """``path`` relative to the folder ``start`` (POSIX separators, ``.`` for ``start``)."""
    return Path(os.path.relpath(os.path.abspath(path), os.path.abspath(start))).as_posix()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def locate(folder: str | os.PathLike, run_dir: str | os.PathLike) -> dict[str, str]:
    """Where a folder is, as the manifest records it: ``{"path", "relative_to"}``.

    Relative to the checkout when it lies inside it (a plan under ``params/``), else to the
    run folder (a district's own folder beside its outputs).
    """
    folder = Path(folder).resolve()
    if _inside(folder, CHECKOUT):
        return {"path": relative(folder, CHECKOUT), "relative_to": _IN_CHECKOUT}
    return {"path": relative(folder, run_dir), "relative_to": _IN_RUN}


def resolve_located(located: Any, run_dir: str | os.PathLike) -> Path | None:
    """The folder a :func:`locate` record names, on this machine (None if it names none)."""
    if not isinstance(located, Mapping) or not isinstance(located.get("path"), str):
        return None
    base = {_IN_CHECKOUT: CHECKOUT, _IN_RUN: Path(run_dir)}.get(located.get("relative_to"))
    return None if base is None else (Path(base) / located["path"]).resolve()


class Redactor:
    """Replaces this machine's folders in text by the short forms a reader can use.

    In order of precedence (the longest folder wins): the run folder → a path relative to it;
    the checkout, and the plan's folder when it lies outside the checkout → paths relative to
    them; site-packages, the standard
    library and the Python installation → ``…/site-packages``, ``…/python3.11``, ``…/.venv``;
    the home folder → ``~``. A folder is matched only as a whole path, at the start of a path.
    """

    def __init__(self, run_dir: str | os.PathLike, plan_dir: str | os.PathLike | None = None):
        pairs: list[tuple[str, str]] = [(str(run_dir), "")]
        if plan_dir is not None and not _inside(Path(plan_dir).resolve(), CHECKOUT):
            pairs.append((str(plan_dir), ""))  # inside the checkout: relative to it
        pairs.append((str(CHECKOUT), ""))
        paths = sysconfig.get_paths()
        for key in ("purelib", "platlib", "stdlib", "platstdlib"):
            if paths.get(key):
                pairs.append((paths[key], "…/" + Path(paths[key]).name))
        for prefix in dict.fromkeys((sys.prefix, sys.base_prefix, sys.exec_prefix)):
            pairs.append((prefix, "…/" + Path(prefix).name))
        pairs.append((str(Path.home()), "~"))
        self.pairs = _with_real_paths(pairs)
        alternatives = "|".join(re.escape(folder) for folder, _ in self.pairs)
        # a whole folder at the start of a path — after the start of the text, a character
        # that cannot be part of a path, or a terminal colour code (IPython's tracebacks) —
        # and followed by a separator or by something that cannot continue a file name
        self._pattern = re.compile(
            rf"(^|[^\w.\-/~]|\x1b\[[0-9;]*m)({alternatives})(/|(?![\w.\-]))", re.M
        )
        self._replacement = dict(self.pairs)

    def text(self, value: str) -> str:
        """``value`` with every folder of this machine replaced (see the class)."""

        def swap(m: re.Match[str]) -> str:
            before, short = m.group(1), self._replacement[m.group(2)]
            if m.group(3):  # a path below the folder
                return before + (f"{short}/" if short else "")
            return before + (short or ".")

        return self._pattern.sub(swap, value)

    def tree(self, obj: Any) -> Any:
        """A JSON-like object with every string redacted, images left as they are."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, Mapping):
            return {
                k: v if _is_payload(k) else self.tree(v) for k, v in obj.items()
            }  # nbformat's NotebookNode is a dict: rebuilt as a plain dict, same JSON
        if isinstance(obj, list | tuple):
            return [self.tree(v) for v in obj]
        return obj


def _is_payload(key: Any) -> bool:
    """Binary outputs (base64 images, PDFs): no text a reader sees, never rewritten."""
    return isinstance(key, str) and key.startswith(("image/", "application/pdf"))


def _with_real_paths(pairs: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each folder also under its resolved name (/tmp may be a link); longest first, and
    never the file-system root (it would match every path)."""
    out: dict[str, str] = {}
    for folder, short in pairs:
        for name in (os.path.abspath(folder), os.path.realpath(folder)):
            name = name.rstrip("/")
            if name and name not in out:
                out[name] = short
    return sorted(out.items(), key=lambda item: -len(item[0]))
