"""What a notebook declares, read without running it: parameters, imports, title.

The batch checks a plan against each notebook's ``parameters`` cell before anything runs (a
misspelt or mistyped parameter fails the plan, not a run at 2 a.m.), and gives the warm worker
the modules the notebook will import so each run does not import them again.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evaluation.errors import PlanError, examples

__all__ = ["Declared", "NotebookInfo", "inspect_notebook", "cell_source"]


@dataclass(frozen=True)
class Declared:
    """A parameter declared in a notebook's ``parameters`` cell: ``name = default``."""

    name: str
    default: Any
    known: bool  # the default is a literal we could read (else any value is accepted)

    @property
    def type_name(self) -> str | None:
        """The default's type (``"str"``, ``"float"``…), None when any value is accepted."""
        if not self.known or self.default is None:
            return None
        return type(self.default).__name__


@dataclass(frozen=True)
class NotebookInfo:
    """What the batch needs to know about a notebook before running it."""

    path: Path
    sha256: str
    declared: dict[str, Declared]
    imports: tuple[str, ...]  # modules imported by its code cells (for the warm worker)
    title: str


def cell_source(cell: Mapping[str, Any]) -> str:
    """A cell's source as one string (notebook files may store it as a list of lines)."""
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def inspect_notebook(path: str | os.PathLike, source: str | None = None) -> NotebookInfo:
    """Read a notebook's ``parameters`` cell and imports without running anything.

    Parameters
    ----------
    path
        The ``.ipynb`` file.
    source
        Where the path came from, for messages (``"plan.yaml, notebooks[2]"``).

    Raises
    ------
    PlanError
        When the file is missing, not a notebook, has no (or more than one) cell tagged
        ``parameters``, or the parameters cell is not plain Python assignments.
    """
    path = Path(path)
    where = source or str(path)
    raw, cells = _read_cells(path, where)
    return NotebookInfo(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        declared=_declared(_parameters_cell(cells, path, where), path, where),
        imports=_imported_modules(_code_trees(cells)),
        title=_title(cells),
    )


def _read_cells(path: Path, where: str) -> tuple[bytes, list[Any]]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(
            f"{where}: notebook {str(path)!r} does not exist — check the path"
        ) from None
    except IsADirectoryError:
        raise PlanError(f"{where}: {str(path)!r} is a folder, not a notebook file") from None
    try:
        cells = json.loads(raw.decode("utf-8"))["cells"]
    except (ValueError, KeyError, TypeError):
        raise PlanError(
            f"{where}: {str(path)!r} is not a Jupyter notebook (.ipynb JSON with 'cells')"
        ) from None
    return raw, cells


def _parameters_cell(cells: Sequence[Any], path: Path, where: str) -> str:
    tagged = [
        i for i, c in enumerate(cells) if "parameters" in (c.get("metadata", {}).get("tags") or [])
    ]
    if not tagged:
        raise PlanError(
            f"{where}: notebook {path.name} has no cell tagged 'parameters' — in JupyterLab "
            "open the property inspector (gear icon) on the cell that sets the defaults and "
            "add the tag 'parameters'"
        )
    if len(tagged) > 1:
        raise PlanError(
            f"{where}: notebook {path.name} has {len(tagged)} cells tagged 'parameters' "
            f"(cells {examples(tagged)}) — keep the tag on one cell only"
        )
    return cell_source(cells[tagged[0]])


def _declared(text: str, path: Path, where: str) -> dict[str, Declared]:
    """``name = literal`` assignments of the parameters cell (a non-literal accepts anything)."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise PlanError(
            f"{where}: the parameters cell of {path.name} is not valid Python "
            f"(line {exc.lineno}: {exc.msg})"
        ) from None
    declared: dict[str, Declared] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                try:
                    declared[target.id] = Declared(target.id, ast.literal_eval(value), True)
                except ValueError:
                    declared[target.id] = Declared(target.id, None, False)
    return declared


def _title(cells: Sequence[Any]) -> str:
    """The first ``# heading`` in the markdown cells (the index and reports show it)."""
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            m = re.search(r"^#\s+(.+)$", cell_source(cell), flags=re.M)
            if m:
                return m.group(1).strip()
    return ""


def _code_trees(cells: Sequence[Any]) -> list[ast.Module]:
    trees = []
    for cell in cells:
        if cell.get("cell_type") == "code":
            try:
                trees.append(ast.parse(_strip_magics(cell_source(cell))))
            except SyntaxError:
                continue
    return trees


def _strip_magics(text: str) -> str:
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in text.split("\n")
    )


def _imported_modules(trees: Sequence[ast.Module]) -> tuple[str, ...]:
    """Modules a notebook imports, including the package modules behind ``ev.name`` calls.

    ``import evaluation as ev`` imports almost nothing (the package loads lazily); ``ev.twfe``
    then imports the estimator and statsmodels on first use — in every run. Mapping the
    names a notebook uses to their modules lets the warm worker import them once instead.
    """
    from evaluation import _EXPORTS

    imports: set[str] = set()
    aliases: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    imports.add(a.name)
                    if a.name == "evaluation":
                        aliases.add(a.asname or a.name)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imports.add(node.module)
                if node.module == "evaluation":
                    imports.update(_EXPORTS[a.name] for a in node.names if a.name in _EXPORTS)
    for tree in trees:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in aliases
                and node.attr in _EXPORTS
            ):
                imports.add(_EXPORTS[node.attr])
    return tuple(sorted(imports))
