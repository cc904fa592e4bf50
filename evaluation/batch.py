"""Batch runs: plans, run folders, the manifest, locking, resume and the findings index.

A *plan* (YAML, ``params/*.yaml``) says which notebooks to run, for which wards, with which
parameters, on which data folder, into which output folder. :func:`load_plan` checks all of it
before anything runs; :func:`run_batch` executes every notebook × ward in isolated processes
(:mod:`evaluation.executors`) and writes a *run folder*::

    OUT/
      index.html            findings across wards and programmes, failures with their error
      manifest.json         plan, parameters, input hashes, versions, durations, status, errors
      findings.csv/.xlsx    the findings table for people who work in Excel
      reports/ID.html       one report per run, without code, self-contained
      notebooks/ID.ipynb    the executed notebooks
      results/ID.json       the findings each notebook recorded (schema: FINDING_FIELDS)

Every notebook records its key results with :func:`record_findings` into the JSON file whose
path the batch passes as the ``results_path`` parameter; the index is built from those files,
never from notebook outputs.

Outputs are written atomically (temporary name, then ``os.replace``): a run's files appear only
when the run has ended, the manifest is rewritten whole after each run, and ``index.html`` says
"not finished" until the last run is in. A lock on ``OUT/.pilot-eval.lock`` stops two batches
(two cron jobs, say) from writing the same folder. ``resume=True`` skips runs that succeeded
before and whose inputs — notebook file, parameters, data files, package code — are unchanged.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import math
import os
import re
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluation.errors import BatchError, DataError, PlanError, examples

__all__ = [
    "FINDING_FIELDS",
    "RUN_STATUSES",
    "Plan",
    "NotebookSpec",
    "RunSpec",
    "BatchResult",
    "OutputLocked",
    "load_plan",
    "plan_from_dict",
    "plan_for_notebook",
    "inspect_notebook",
    "parse_parameter",
    "run_batch",
    "finding",
    "record_findings",
    "validate_findings",
    "read_findings",
]

# --------------------------------------------------------------------------------------------
# The results schema: what each notebook records, one entry per finding
# --------------------------------------------------------------------------------------------

#: field -> (accepted JSON types, may be null). Notebooks may add more keys; these are required.
FINDING_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "notebook": ((str,), False),
    "ward": ((str,), True),  # null for district-level findings
    "programme": ((str,), True),
    "outcome": ((str,), False),
    "estimate": ((int, float), True),  # null when the design could not estimate it
    "ci_low": ((int, float), True),
    "ci_high": ((int, float), True),
    "pvalue": ((int, float), True),
    "method": ((str,), False),
    "inference": ((str,), False),
    "verdict_vi": ((str,), False),
    "verdict_en": ((str,), False),
    "warnings": ((list,), False),
}

#: Status of one run in the manifest. ``pending``/``running`` only while a batch is in flight
#: (a manifest left with them was interrupted); ``interrupted`` after Ctrl-C or SIGTERM.
RUN_STATUSES = ("pending", "running", "ok", "failed", "timeout", "skipped", "interrupted")
SUCCEEDED = ("ok", "skipped")

#: Parameters the batch sets itself; a plan may not set them under ``parameters``.
RESERVED_PARAMETERS = ("results_path", "ward", "data_dir")

MANIFEST_SCHEMA = 1
LOCK_NAME = ".pilot-eval.lock"
WORK_DIR = ".pilot-eval"  # temporary files of runs in flight (job files, logs, records)
HARD_KILL_GRACE = 5.0  # seconds a run gets after its timeout to stop by itself before SIGKILL


def validate_findings(obj: Any, source: str = "results") -> list[dict[str, Any]]:
    """Check a results object against :data:`FINDING_FIELDS`; return it as a list of dicts.

    Raises
    ------
    DataError
        Naming the file (``source``), the finding's position, the field and the value.
    """
    if isinstance(obj, Mapping) and "findings" in obj:
        obj = obj["findings"]
    if not isinstance(obj, list):
        raise DataError(
            f"{source}: expected a list of findings (JSON array), got {type(obj).__name__} — "
            "write it with evaluation.batch.record_findings(results_path, [...])"
        )
    out = []
    for i, item in enumerate(obj):
        where = f"{source}, finding {i}"
        if not isinstance(item, Mapping):
            raise DataError(f"{where}: expected an object, got {type(item).__name__}")
        missing = [k for k in FINDING_FIELDS if k not in item]
        if missing:
            raise DataError(
                f"{where}: missing field(s) {examples(missing)} — every finding needs "
                f"{', '.join(FINDING_FIELDS)}"
            )
        for key, (types, nullable) in FINDING_FIELDS.items():
            value = item[key]
            if value is None:
                if not nullable:
                    raise DataError(f"{where}, field '{key}': must not be null")
                continue
            if isinstance(value, bool) or not isinstance(value, types):
                raise DataError(
                    f"{where}, field '{key}': expected {'/'.join(t.__name__ for t in types)}, "
                    f"got {value!r}"
                )
            if isinstance(value, float) and not math.isfinite(value):
                raise DataError(
                    f"{where}, field '{key}': {value!r} is not a number JSON can hold — "
                    "use null for 'not estimable'"
                )
        if item["pvalue"] is not None and not 0.0 <= item["pvalue"] <= 1.0:
            raise DataError(f"{where}, field 'pvalue': {item['pvalue']!r} is not in [0, 1]")
        if not all(isinstance(w, str) for w in item["warnings"]):
            raise DataError(f"{where}, field 'warnings': must be a list of strings")
        out.append(dict(item))
    return out


def finding(
    result: Any = None,
    *,
    notebook: str,
    outcome: str | None = None,
    ward: str | None = None,
    programme: str | None = None,
    verdict_vi: str,
    verdict_en: str,
    **fields: Any,
) -> dict[str, Any]:
    """One finding for :func:`record_findings`, filled from an ``Estimate`` where given.

    ``result`` is an :class:`evaluation.Estimate` (or anything with ``estimate``, ``ci_low``,
    ``ci_high``, ``pvalue``, ``method``, ``inference``, ``warnings`` attributes); ``fields``
    override or add keys (e.g. ``estimate=None`` when not estimable, ``pvalue_holm=0.2``).
    """
    from evaluation.results import jsonable

    item: dict[str, Any] = {"notebook": notebook, "ward": ward, "programme": programme}
    if result is not None:
        for key in ("estimate", "ci_low", "ci_high", "pvalue", "method", "inference"):
            item[key] = jsonable(getattr(result, key, None))
        item["warnings"] = [str(w) for w in getattr(result, "warnings", [])]
        outcome = outcome or getattr(result, "outcome", None)
    item["outcome"] = outcome
    item.update(verdict_vi=verdict_vi, verdict_en=verdict_en)
    item.update({k: jsonable(v) for k, v in fields.items()})
    item.setdefault("warnings", [])
    for key in ("estimate", "ci_low", "ci_high", "pvalue"):
        item.setdefault(key, None)
    return item


def record_findings(path: str | os.PathLike | None, findings: Iterable[Mapping[str, Any]]) -> None:
    """Validate findings and write them as the run's results JSON (atomically).

    Notebooks call this last, with the ``results_path`` parameter. With ``path=None`` (the
    notebook opened interactively, not from a batch) it only validates them. Returns nothing,
    so the call leaves no output in the report.

    Raises
    ------
    DataError
        A finding lacks a field of :data:`FINDING_FIELDS` or has a value of the wrong type.
    """
    from evaluation.results import jsonable

    items = validate_findings(jsonable(list(findings)), source="record_findings")
    if path is not None:
        _write_json_atomic(Path(path), items)


def read_findings(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Read and validate a results JSON file written by :func:`record_findings`."""
    path = Path(path)
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(
            f"{path}: the notebook recorded no findings — it must call "
            "evaluation.batch.record_findings(results_path, [...]) (an empty list is fine)"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc})") from None
    return validate_findings(obj, source=str(path))


# --------------------------------------------------------------------------------------------
# YAML with types that survive: "00617" and 00617 stay text, dates stay text
# --------------------------------------------------------------------------------------------

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"


def _plan_loader():
    """A SafeLoader with YAML 1.2 core-schema scalars.

    PyYAML follows YAML 1.1: unquoted ``00617`` is the *octal* number 399, ``00619`` a string,
    ``no`` is False, ``06:30`` a base-60 number and ``2024-02-15`` a date object that papermill
    cannot inject. Here integers have no leading zeros, booleans are only true/false and dates
    stay text, so a ward code or a date means what it looks like.
    """
    import yaml

    class PlanLoader(yaml.SafeLoader):
        pass

    PlanLoader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT, _BOOL, _TIMESTAMP)]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    PlanLoader.add_implicit_resolver(
        _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
    )
    PlanLoader.add_implicit_resolver(
        _INT,
        re.compile(r"^(?:[-+]?(?:0|[1-9][0-9_]*)|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    PlanLoader.add_implicit_resolver(
        _FLOAT,
        re.compile(
            r"^(?:[-+]?(?:(?:0|[1-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
            r"|(?:0|[1-9][0-9_]*)[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    return PlanLoader


def _load_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        return yaml.load(text, Loader=_plan_loader())  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlanError(
            f"{source}: not valid YAML{where}: {problem} — check the indentation and quote "
            "values that contain ':' or '#'"
        ) from None


# --------------------------------------------------------------------------------------------
# Notebooks: the parameters cell, declared parameters and their types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Declared:
    """A parameter declared in a notebook's ``parameters`` cell: ``name = default``."""

    name: str
    default: Any
    known: bool  # the default is a literal we could read (else any value is accepted)

    @property
    def type_name(self) -> str | None:
        if not self.known or self.default is None:
            return None
        return type(self.default).__name__


@dataclass(frozen=True)
class NotebookInfo:
    """What the batch needs to know about a notebook before running it."""

    path: Path
    sha256: str
    declared: dict[str, Declared]
    imports: tuple[str, ...]  # top-level modules imported by its code cells (to pre-warm)
    title: str


def _cell_source(cell: Mapping[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def inspect_notebook(path: str | os.PathLike, source: str | None = None) -> NotebookInfo:
    """Read a notebook's ``parameters`` cell and imports without running anything.

    Raises
    ------
    PlanError
        When the file is missing, not a notebook, has no (or more than one) cell tagged
        ``parameters``, or the parameters cell is not plain Python assignments.
    """
    path = Path(path)
    where = source or str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PlanError(
            f"{where}: notebook {str(path)!r} does not exist — check the path"
        ) from None
    except IsADirectoryError:
        raise PlanError(f"{where}: {str(path)!r} is a folder, not a notebook file") from None
    try:
        nb = json.loads(raw.decode("utf-8"))
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError):
        raise PlanError(
            f"{where}: {str(path)!r} is not a Jupyter notebook (.ipynb JSON with 'cells')"
        ) from None
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
    text = _cell_source(cells[tagged[0]])
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
    title = ""
    trees = []
    for cell in cells:
        if cell.get("cell_type") == "markdown" and not title:
            m = re.search(r"^#\s+(.+)$", _cell_source(cell), flags=re.M)
            title = m.group(1).strip() if m else ""
        if cell.get("cell_type") == "code":
            try:
                trees.append(ast.parse(_strip_magics(_cell_source(cell))))
            except SyntaxError:
                continue
    return NotebookInfo(
        path=path,
        sha256=hashlib.sha256(raw).hexdigest(),
        declared=declared,
        imports=_imported_modules(trees),
        title=title,
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


def _strip_magics(text: str) -> str:
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in text.split("\n")
    )


def _check_type(value: Any, decl: Declared | None, where: str) -> Any:
    """Check a plan value against the notebook's default; return it (ints widened to float)."""
    if not _json_like(value):
        raise PlanError(
            f"{where}: {value!r} ({type(value).__name__}) cannot be passed to a notebook — use "
            "text, a number, true/false, null, a list or a mapping"
        )
    if decl is None or decl.type_name is None:
        return value
    want = decl.type_name
    if want == "str" and not isinstance(value, str):
        raise PlanError(
            f"{where}: the notebook expects text (its default is {decl.default!r}) but the "
            f'plan gives {value!r} — put it in quotes, e.g. {decl.name}: "{value}"'
        )
    if want == "bool" and not isinstance(value, bool):
        raise PlanError(f"{where}: the notebook expects true or false, the plan gives {value!r}")
    if want == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise PlanError(f"{where}: the notebook expects a whole number, the plan gives {value!r}")
    if want == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PlanError(f"{where}: the notebook expects a number, the plan gives {value!r}")
        return float(value)
    if want in ("list", "tuple") and not isinstance(value, list):
        raise PlanError(f"{where}: the notebook expects a list, e.g. [a, b]; got {value!r}")
    if want == "dict" and not isinstance(value, dict):
        raise PlanError(f"{where}: the notebook expects a mapping; got {value!r}")
    return value


def _json_like(value: Any) -> bool:
    if value is None or isinstance(value, str | bool | int):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_json_like(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_like(v) for k, v in value.items())
    return False


def parse_parameter(name: str, text: str, declared: Mapping[str, Declared] | None = None) -> Any:
    """Turn a command-line value (``pilot-eval run -p NAME VALUE``) into a typed parameter.

    The rule, chosen so that a ward code never loses its leading zeros:

    1. If the notebook's parameters cell gives ``NAME`` a literal default, the value takes that
       default's type: text stays text exactly as typed (``-p ward 00617`` → ``"00617"``),
       ``int``/``float`` must parse as such, ``bool`` accepts true/false/yes/no/1/0, and lists
       or mappings are read as YAML/JSON (``-p wards '[Tây Tựu, Xuân Đỉnh]'``).
    2. Otherwise (default ``None`` or not a literal) the value is read as a YAML 1.2 scalar:
       ``617`` → 617, ``2.5`` → 2.5, ``true`` → True, ``null`` → None, and anything else —
       including ``00617`` and ``2024-02-15`` — stays text. Quote it (``'"617"'``) to force text.

    Unlike papermill's ``-p``, which turns ``00617`` into the integer 617, nothing is guessed.
    """
    decl = (declared or {}).get(name)
    want = decl.type_name if decl else None
    where = f"parameter '{name}'"
    if want == "str":
        return text
    if want == "bool":
        low = text.strip().lower()
        if low in ("true", "yes", "1", "on"):
            return True
        if low in ("false", "no", "0", "off"):
            return False
        raise PlanError(f"{where}: expected true or false, got {text!r}")
    if want == "int":
        try:
            return int(text.replace("_", ""), 10)
        except ValueError:
            raise PlanError(f"{where}: expected a whole number, got {text!r}") from None
    if want == "float":
        try:
            return float(text)
        except ValueError:
            raise PlanError(f"{where}: expected a number, got {text!r}") from None
    value = _load_yaml(text, where) if text.strip() else text
    if want in ("list", "tuple", "dict"):
        return _check_type(value, decl, where)
    if isinstance(value, list | dict) and want is None and not _json_like(value):
        raise PlanError(f"{where}: cannot pass {text!r} to a notebook")
    if not isinstance(value, str | int | float | bool | list | dict) and value is not None:
        return text
    return value


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------

_PLAN_KEYS = (
    "title",
    "data",
    "out",
    "timeout",
    "wards",
    "parameters",
    "notebooks",
    "engine",
    "preload",
    "description",
)
_NOTEBOOK_KEYS = ("notebook", "name", "wards", "parameters", "timeout")
ENGINES = ("inprocess", "kernel")
DEFAULT_TIMEOUT = 900.0


@dataclass(frozen=True)
class NotebookSpec:
    """One notebook entry of a plan."""

    path: Path
    name: str  # short name used in run ids (the file stem unless the plan gives `name`)
    label: str  # as written in the plan, for messages and the index
    info: NotebookInfo
    parameters: dict[str, Any]
    wards: tuple[str, ...] | None  # one run per ward; None = one run
    timeout: float


@dataclass(frozen=True)
class RunSpec:
    """One notebook run: a notebook with its parameters (and ward)."""

    id: str
    notebook: NotebookSpec
    ward: str | None
    parameters: dict[str, Any]  # user parameters (and ward), without injected paths
    timeout: float


@dataclass(frozen=True)
class Plan:
    """A validated batch plan (see :func:`load_plan`)."""

    title: str
    notebooks: tuple[NotebookSpec, ...]
    data: Path | None = None
    out: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    engine: str = "inprocess"
    preload: tuple[str, ...] = ()
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    def runs(self) -> list[RunSpec]:
        """Every notebook × ward run, in plan order."""
        out: list[RunSpec] = []
        for nb in self.notebooks:
            for ward in nb.wards if nb.wards is not None else (None,):
                params = dict(nb.parameters)
                if ward is not None:
                    params["ward"] = ward
                    rid = f"{nb.name}--{_slug(ward)}"
                else:
                    rid = nb.name  # `pilot-eval run` puts the ward in the name itself
                shown = params.get("ward") if isinstance(params.get("ward"), str) else None
                out.append(RunSpec(rid, nb, shown, params, nb.timeout))
        return out


def _slug(text: str) -> str:
    """ASCII file-name part: 'Cổ Nhuế 2' -> 'co-nhue-2'."""
    text = unicodedata.normalize("NFD", str(text).replace("đ", "d").replace("Đ", "D"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load_plan(path: str | os.PathLike) -> Plan:
    """Read and validate a batch plan (YAML).

    Keys (paths are relative to the plan file)::

        title: "Báo cáo tháng / Monthly report"   # shown on the index page
        data: ../data/demo        # input folder: passed as `data_dir`, its files hashed
        out: ../output            # run folder (the command line's --out wins)
        timeout: 900              # seconds per run (a notebook entry may override)
        wards: all                # or a list; "all" = the 13 wards of Bắc Từ Liêm
        parameters: {...}         # for every notebook that declares them
        preload: [statsmodels.api]  # extra modules to import once in the warm worker
        notebooks:
          - notebook: ../notebooks/ward_report.ipynb   # declares `ward`: one run per ward
            parameters: {outcome: congestion_minutes}
          - ../notebooks/district_summary.ipynb        # no `ward`: one run

    A notebook whose parameters cell declares ``ward`` runs once per ward (its own ``wards:``
    overrides the plan's); every notebook must declare ``results_path``. Values keep their
    YAML 1.2 types — ``00617`` stays the text "00617" — and must match the type of the
    notebook's default.

    Raises
    ------
    PlanError
        Naming the key and what to do, for anything that would make a run fail before it starts:
        unknown keys, missing notebooks or parameters cells, undeclared or mistyped parameters,
        unknown wards, a missing data folder.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise PlanError(f"plan {str(path)!r} does not exist — check the path") from None
    except (IsADirectoryError, UnicodeDecodeError) as exc:
        raise PlanError(f"plan {str(path)!r} cannot be read as a YAML text file ({exc})") from None
    raw = _load_yaml(text, str(path))
    return plan_from_dict(raw, base=path.parent, source=path)


def plan_from_dict(
    raw: Any, *, base: str | os.PathLike = ".", source: str | os.PathLike | None = None
) -> Plan:
    """Validate a plan given as a mapping (what :func:`load_plan` reads from YAML)."""
    src = str(source) if source is not None else "plan"
    base = Path(base)
    if not isinstance(raw, dict):
        raise PlanError(f"{src}: a plan is a YAML mapping with at least a 'notebooks' key")
    unknown = [k for k in raw if k not in _PLAN_KEYS]
    if unknown:
        k = str(unknown[0])
        raise PlanError(
            f"{src}: unknown key '{k}'{_suggest(k, _PLAN_KEYS)} — allowed keys: "
            f"{', '.join(_PLAN_KEYS)}"
        )

    title = raw.get("title") or (Path(source).stem if source else "pilot-eval")
    if not isinstance(title, str):
        raise PlanError(f"{src}, key 'title': expected text, got {title!r}")
    timeout = _timeout(raw.get("timeout", DEFAULT_TIMEOUT), f"{src}, key 'timeout'")
    engine = raw.get("engine", "inprocess")
    if engine not in ENGINES:
        raise PlanError(f"{src}, key 'engine': {engine!r} is not one of {', '.join(ENGINES)}")
    preload = raw.get("preload") or []
    if not isinstance(preload, list) or not all(isinstance(m, str) for m in preload):
        raise PlanError(f"{src}, key 'preload': expected a list of module names")

    data = None
    if raw.get("data") is not None:
        if not isinstance(raw["data"], str):
            raise PlanError(f"{src}, key 'data': expected a folder path, got {raw['data']!r}")
        data = (base / raw["data"]).resolve()
        if not data.is_dir():
            raise PlanError(
                f"{src}, key 'data': folder {str(data)!r} does not exist — point it at the "
                "folder that holds the input files (relative paths start at the plan's folder)"
            )
    out = None
    if raw.get("out") is not None:
        if not isinstance(raw["out"], str):
            raise PlanError(f"{src}, key 'out': expected a folder path, got {raw['out']!r}")
        out = (base / raw["out"]).resolve()

    plan_wards = _wards(raw["wards"], f"{src}, key 'wards'") if "wards" in raw else None
    shared = raw.get("parameters") or {}
    if not isinstance(shared, dict):
        raise PlanError(f"{src}, key 'parameters': expected a mapping of name: value")
    _check_names(shared, f"{src}, key 'parameters'")

    entries = raw.get("notebooks")
    if not isinstance(entries, list) or not entries:
        raise PlanError(
            f"{src}, key 'notebooks': expected a non-empty list of notebooks, e.g.\n"
            "notebooks:\n  - notebook: ../notebooks/ward_report.ipynb"
        )
    specs: list[NotebookSpec] = []
    used_shared: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"{src}, notebooks[{i}]"
        if isinstance(entry, str):
            entry = {"notebook": entry}
        if not isinstance(entry, dict) or "notebook" not in entry:
            raise PlanError(f"{where}: expected a notebook path or a mapping with 'notebook:'")
        bad = [k for k in entry if k not in _NOTEBOOK_KEYS]
        if bad:
            k = str(bad[0])
            raise PlanError(
                f"{where}: unknown key '{k}'{_suggest(k, _NOTEBOOK_KEYS)} — allowed: "
                f"{', '.join(_NOTEBOOK_KEYS)}"
            )
        if not isinstance(entry["notebook"], str):
            raise PlanError(f"{where}, key 'notebook': expected a path, got {entry['notebook']!r}")
        nb_path = (base / entry["notebook"]).resolve()
        info = inspect_notebook(nb_path, source=f"{where}, key 'notebook'")
        if "results_path" not in info.declared:
            raise PlanError(
                f"{where}: notebook {nb_path.name} does not declare `results_path` — add "
                "`results_path = None` to its parameters cell and end it with "
                "evaluation.batch.record_findings(results_path, findings)"
            )
        own = entry.get("parameters") or {}
        if not isinstance(own, dict):
            raise PlanError(f"{where}, key 'parameters': expected a mapping of name: value")
        _check_names(own, f"{where}, key 'parameters'")
        params: dict[str, Any] = {}
        for name, value in shared.items():
            if name in info.declared:
                used_shared.add(name)
                params[name] = _check_type(value, info.declared[name], f"{src}, parameters.{name}")
        for name, value in own.items():
            if name not in info.declared:
                known = [n for n in info.declared if n not in RESERVED_PARAMETERS]
                raise PlanError(
                    f"{where}, parameters.{name}: notebook {nb_path.name} has no parameter "
                    f"'{name}'{_suggest(name, known)} — its parameters are {examples(known, 20)}"
                )
            params[name] = _check_type(value, info.declared[name], f"{where}, parameters.{name}")
        if "data_dir" in info.declared and data is not None:
            params["data_dir"] = str(data)
        per_ward = "ward" in info.declared
        wards = None
        if "wards" in entry:
            if not per_ward:
                raise PlanError(
                    f"{where}, key 'wards': notebook {nb_path.name} has no `ward` parameter, so "
                    "it runs once; remove 'wards' here or add `ward` to its parameters cell"
                )
            wards = _wards(entry["wards"], f"{where}, key 'wards'")
        elif per_ward:
            if plan_wards is None:
                raise PlanError(
                    f"{where}: notebook {nb_path.name} has a `ward` parameter but the plan "
                    "names no wards — add `wards: all` or a list of wards"
                )
            wards = plan_wards
        if wards is not None:
            decl = info.declared["ward"]
            for w in wards:
                _check_type(w, decl, f"{where}, ward {w!r}")
        name = entry.get("name") or nb_path.stem
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
            raise PlanError(
                f"{where}, key 'name': use letters, digits, '-', '_' or '.'; got {name!r}"
            )
        timeout_nb = _timeout(entry.get("timeout", timeout), f"{where}, key 'timeout'")
        specs.append(
            NotebookSpec(nb_path, name, entry["notebook"], info, params, wards, timeout_nb)
        )
    unused = [n for n in shared if n not in used_shared]
    if unused:
        raise PlanError(
            f"{src}, key 'parameters': no notebook declares {examples(unused)} — check the "
            "spelling or move it under the notebook that uses it"
        )
    names = [s.name for s in specs]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise PlanError(
            f"{src}, key 'notebooks': {examples(dup)} appears more than once — give each entry "
            "its own `name:` so their outputs do not overwrite each other"
        )
    plan = Plan(
        title=title,
        notebooks=tuple(specs),
        data=data,
        out=out,
        timeout=timeout,
        engine=engine,
        preload=tuple(preload),
        source=Path(source).resolve() if source is not None else None,
        raw=raw,
    )
    ids = [r.id for r in plan.runs()]
    clash = sorted({i for i in ids if ids.count(i) > 1})
    if clash:
        raise PlanError(
            f"{src}: two runs would share the output name {examples(clash)} — "
            "a ward is listed twice (perhaps in two spellings)"
        )
    return plan


def plan_for_notebook(
    notebook: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    engine: str = "inprocess",
) -> Plan:
    """A one-run plan (``pilot-eval run``): the notebook with exactly these parameters."""
    nb_path = Path(notebook).resolve()
    info = inspect_notebook(nb_path, source="NOTEBOOK")
    if engine not in ENGINES:
        raise PlanError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}")
    params = dict(parameters or {})
    for name, value in params.items():
        if name not in info.declared:
            known = [n for n in info.declared if n != "results_path"]
            raise PlanError(
                f"-p {name}: notebook {nb_path.name} has no parameter '{name}'"
                f"{_suggest(name, known)} — its parameters are {examples(known, 20)}"
            )
        if name == "results_path":
            raise PlanError("-p results_path: the batch sets results_path itself")
        params[name] = _check_type(value, info.declared[name], f"-p {name}")
    ward = params.get("ward")
    name = nb_path.stem + (f"--{_slug(str(ward))}" if ward is not None else "")
    spec = NotebookSpec(
        nb_path, name, str(notebook), info, params, None, _timeout(timeout, "--timeout")
    )
    data = params.get("data_dir")
    return Plan(
        title=info.title or nb_path.stem,
        notebooks=(spec,),
        data=Path(data).resolve() if isinstance(data, str) and Path(data).is_dir() else None,
        timeout=spec.timeout,
        engine=engine,
        raw={"notebooks": [{"notebook": str(nb_path), "parameters": params}]},
    )


def _timeout(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise PlanError(f"{where}: expected a positive number of seconds, got {value!r}")
    return float(value)


def _check_names(params: Mapping[str, Any], where: str) -> None:
    for name in params:
        if not isinstance(name, str) or not name.isidentifier():
            raise PlanError(f"{where}: {name!r} is not a valid parameter name")
        if name in RESERVED_PARAMETERS:
            hint = {
                "ward": "list wards under `wards:` instead",
                "data_dir": "set the plan's `data:` folder instead",
                "results_path": "the batch sets it for each run",
            }[name]
            raise PlanError(f"{where}: '{name}' is set by the batch — {hint}")


def _wards(value: Any, where: str) -> tuple[str, ...]:
    """Resolve ``all`` or a list of ward names/codes to canonical names."""
    from evaluation.data import wards as gazetteer

    if value == "all":
        return tuple(str(w) for w in gazetteer.wards()["name_vi"])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise PlanError(f"{where}: expected `all` or a non-empty list of wards, got {value!r}")
    out = []
    for w in value:
        if isinstance(w, bool) or not isinstance(w, str | int):
            raise PlanError(f"{where}: {w!r} is not a ward name or code")
        if isinstance(w, int):
            raise PlanError(
                f"{where}: {w!r} is a number; ward codes keep their leading zeros, so write "
                f'them in quotes (e.g. "{w:05d}") or give the ward name'
            )
        try:
            w = gazetteer.normalize_ward(w, source=where)
        except DataError as exc:
            raise PlanError(str(exc)) from None
        out.append(unicodedata.normalize("NFC", w))
    dup = sorted({w for w in out if out.count(w) > 1})
    if dup:
        raise PlanError(f"{where}: {examples(dup)} listed more than once")
    return tuple(out)


# --------------------------------------------------------------------------------------------
# Files: atomic writes, hashes, environment
# --------------------------------------------------------------------------------------------


def _write_bytes_atomic(path: Path, data: bytes, durable: bool = True) -> None:
    """Write to a temporary name, then rename: readers see the old file or the new, never half.

    ``durable`` also flushes it to disk first, so a power cut cannot leave an empty file under
    the final name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_text_atomic(path: Path, text: str) -> None:
    _write_bytes_atomic(path, text.encode("utf-8"))


def _write_json_atomic(path: Path, obj: Any, durable: bool = True) -> None:
    text = json.dumps(obj, ensure_ascii=False, indent=1, allow_nan=False) + "\n"
    _write_bytes_atomic(path, text.encode("utf-8"), durable)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _hash_folder(folder: Path | None, skip: Iterable[Path] = ()) -> dict[str, str]:
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


def _package_code_hash() -> str:
    """One hash over the package's code, templates and reference data (for --resume)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for rel, digest in _hash_folder(root).items():
        if rel.endswith((".pyc", ".pyo")):
            continue
        h.update(f"{rel}\0{digest}\n".encode())
    return h.hexdigest()


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


def _environment(code_hash: str) -> dict[str, Any]:
    import platform
    import subprocess
    from importlib import metadata

    import evaluation

    versions = {}
    for name in _VERSIONED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    repo = Path(__file__).resolve().parents[1]
    commit, dirty = None, None
    try:
        commit = (
            subprocess.run(
                ["git", "-C", str(repo), "rev-parse", "HEAD"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            or None
        )
        if commit:
            status = subprocess.run(
                ["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout
            dirty = bool(status.strip())
    except (OSError, subprocess.SubprocessError):
        pass
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


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def _run_key(run: RunSpec, data_hashes: Mapping[str, str], code_hash: str) -> str:
    """What a run's output depends on; equal keys mean --resume may skip it."""
    blob = json.dumps(
        {
            "notebook": run.notebook.info.sha256,
            "parameters": run.parameters,
            "data": data_hashes,
            "code": code_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------------------------
# The lock
# --------------------------------------------------------------------------------------------


class OutputLocked(BatchError):
    """Another batch holds the lock on this output folder (exit status 75 on the command line)."""


class _OutputLock:
    """An exclusive ``flock`` on ``OUT/.pilot-eval.lock`` holding the owner's pid.

    The kernel drops the lock when the process dies, however it dies, so a killed batch never
    leaves a stale lock behind; the file itself is left in place (removing it would race).
    """

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self.fd: int | None = None

    def __enter__(self) -> _OutputLock:
        import fcntl

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
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}, started {_now()}\n".encode(), 0)
        self.fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


# --------------------------------------------------------------------------------------------
# Running a plan
# --------------------------------------------------------------------------------------------


@dataclass
class BatchResult:
    """What :func:`run_batch` did: the run folder, every run's record and the exit status."""

    out: Path
    manifest: dict[str, Any]
    findings: list[dict[str, Any]]

    @property
    def runs(self) -> list[dict[str, Any]]:
        return self.manifest["runs"]

    @property
    def index(self) -> Path:
        return self.out / "index.html"

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.runs)

    @property
    def exit_code(self) -> int:
        """0 when every run succeeded (or was skipped as unchanged), 1 otherwise."""
        return 0 if all(r["status"] in SUCCEEDED for r in self.runs) else 1


def _outputs(rid: str) -> dict[str, str]:
    return {
        "notebook": f"notebooks/{rid}.ipynb",
        "html": f"reports/{rid}.html",
        "results": f"results/{rid}.json",
    }


def _read_manifest(out: Path) -> dict[str, Any] | None:
    try:
        m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and isinstance(m.get("runs"), list) else None


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def run_batch(
    plan: Plan,
    out: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    timeout: float | None = None,
    engine: str | None = None,
    resume: bool = False,
    progress: Callable[[dict[str, Any] | None, int, int], None] | None = None,
) -> BatchResult:
    """Run every notebook × ward of a plan into a run folder; one failure never stops the rest.

    Parameters
    ----------
    plan
        From :func:`load_plan` or :func:`plan_for_notebook`.
    out
        The run folder (default: the plan's ``out``, else ``output/<plan name>``).
    workers
        Runs at a time on this machine (default: the number of cores). Ignored by Dask.
    executor, scheduler
        ``"local"`` (processes forked from a pre-warmed worker on this machine) or ``"dask"``
        (the same runs as tasks on the Dask cluster at ``scheduler``; OUT must then be on a
        file system the workers share).
    timeout
        Seconds per run, overriding the plan. A run past it is stopped and reported as
        ``timeout``, with the cell it was in.
    engine
        ``"inprocess"`` (default: cells run in a fresh IPython shell in a forked process) or
        ``"kernel"`` (papermill with a real Jupyter kernel per run; slower, for notebooks that
        need kernel features).
    resume
        Skip runs that succeeded in the folder's previous manifest with identical inputs.
    progress
        Called as ``progress(record, done, total)`` after each run, and once with
        ``record=None`` when the runs start.

    Returns
    -------
    BatchResult
        ``exit_code`` is 0 when all runs succeeded and 1 otherwise.

    Raises
    ------
    OutputLocked
        Another batch is writing to ``out``.
    BatchError
        The folder cannot be written, or the executor cannot start.
    """
    from evaluation import executors

    out_dir = Path(out) if out is not None else (plan.out or Path("output") / _plan_name(plan))
    out_dir = out_dir.resolve()
    engine = engine or plan.engine
    if engine not in ENGINES:
        raise PlanError(f"--engine: {engine!r} is not one of {', '.join(ENGINES)}")
    if executor not in ("local", "dask"):
        raise PlanError(f"--executor: {executor!r} is not one of local, dask")
    if executor == "dask" and not scheduler:
        raise PlanError("--executor dask needs --scheduler ADDRESS (e.g. tcp://10.0.0.5:8786)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BatchError(
            f"--out: cannot create the output folder {str(out_dir)!r} ({exc})"
        ) from None
    if not os.access(out_dir, os.W_OK):
        raise BatchError(f"--out: the output folder {str(out_dir)!r} is not writable")

    preload = executors.default_preload(plan)
    code_hash = _package_code_hash()
    # before anything is written: a Dask scheduler that cannot be reached stops the batch here;
    # a local warm worker starts now and does its imports while the inputs are hashed
    if executor == "local":
        pool = executors.LocalExecutor(workers=workers, preload=preload, code_key=code_hash)
    else:
        pool = executors.DaskExecutor(scheduler)

    with _OutputLock(out_dir):
        try:
            return _run_locked(
                plan,
                out_dir,
                pool,
                executor,
                scheduler,
                timeout,
                engine,
                resume,
                progress,
                preload,
                code_hash,
            )
        finally:
            pool.close()


def _plan_name(plan: Plan) -> str:
    return plan.source.stem if plan.source else plan.notebooks[0].name


def _run_locked(
    plan, out_dir, pool, executor, scheduler, timeout, engine, resume, progress, preload, code_hash
) -> BatchResult:
    from evaluation import executors, render

    work = out_dir / WORK_DIR
    previous = _read_manifest(out_dir)
    env = _environment(code_hash)
    data_hashes = _hash_folder(plan.data, skip=[out_dir])
    runs = plan.runs()
    prev_runs = {r.get("id"): r for r in (previous or {}).get("runs", []) if isinstance(r, dict)}

    # Leftovers of a killed batch: temporary files, and outputs of runs that will be redone.
    for sub in ("notebooks", "reports", "results", WORK_DIR):
        d = out_dir / sub
        if d.is_dir():
            for p in d.iterdir():
                if p.name.endswith((".partial", ".tmp")) or sub == WORK_DIR:
                    if p.is_file():
                        _remove(p)
    work.mkdir(exist_ok=True)
    current_ids = {r.id for r in runs}
    for rid in prev_runs:
        if rid not in current_ids and isinstance(rid, str):
            for rel in _outputs(rid).values():  # a ward dropped from the plan: its old report goes
                _remove(out_dir / rel)

    records: list[dict[str, Any]] = []
    jobs = []
    for run in runs:
        key = _run_key(run, data_hashes, env["package_code_sha256"])
        outputs = _outputs(run.id)
        rec: dict[str, Any] = {
            "id": run.id,
            "notebook": run.notebook.label,
            "notebook_path": str(run.notebook.path),
            "notebook_sha256": run.notebook.info.sha256,
            "ward": run.ward,
            "parameters": run.parameters,
            "key": key,
            "status": "pending",
            "engine": engine,
        }
        old = prev_runs.get(run.id)
        if (
            resume
            and old is not None
            and old.get("status") in SUCCEEDED
            and old.get("key") == key
            and all((out_dir / rel).is_file() for rel in outputs.values())
        ):
            first = old.get("skipped", {}).get("finished") or old.get("finished")
            rec.update(
                status="skipped",
                outputs=outputs,
                n_findings=old.get("n_findings"),
                duration_s=0.0,
                skipped={
                    "reason": "unchanged since the last successful run (--resume)",
                    "finished": first,
                },
            )
        else:
            for rel in outputs.values():
                _remove(out_dir / rel)
            run_timeout = float(timeout) if timeout is not None else run.timeout
            params = dict(run.parameters)
            params["results_path"] = str(out_dir / (outputs["results"] + ".partial"))
            jobs.append(
                executors.Job(
                    run_id=run.id,
                    notebook=str(run.notebook.path),
                    parameters=params,
                    out_dir=str(out_dir),
                    outputs=outputs,
                    timeout=run_timeout,
                    grace=HARD_KILL_GRACE,
                    engine=engine,
                    preload=preload,
                    code_key=code_hash,
                    meta={
                        "plan_title": plan.title,
                        "notebook": run.notebook.label,
                        "notebook_title": run.notebook.info.title,
                        "ward": run.ward,
                        "parameters": run.parameters,
                        "version": env["evaluation"],
                        "git_commit": env["git_commit"],
                        "index": "../index.html",
                    },
                )
            )
        records.append(rec)

    manifest: dict[str, Any] = {
        "schema": MANIFEST_SCHEMA,
        "status": "running",
        "title": plan.title,
        "started": _now(),
        "finished": None,
        "command": sys.argv,
        "pid": os.getpid(),
        "plan": {
            "source": str(plan.source) if plan.source else None,
            "sha256": sha256_file(plan.source) if plan.source else None,
            "content": plan.raw,
        },
        "options": {
            "executor": executor,
            "scheduler": scheduler,
            "engine": engine,
            "workers": getattr(pool, "workers", None),
            "timeout": timeout,
            "resume": resume,
        },
        "environment": env,
        "data": {"folder": str(plan.data) if plan.data else None, "files": data_hashes},
        "runs": records,
    }
    by_id = {r["id"]: r for r in records}
    manifest_path = out_dir / "manifest.json"
    _write_json_atomic(manifest_path, manifest)
    _write_text_atomic(out_dir / "index.html", render.render_index(manifest, [], out_dir))

    total = len(records)
    done = sum(r["status"] == "skipped" for r in records)
    if progress:
        progress(None, done, total)  # the start: a bar can show before the first run ends
        for i, r in enumerate(r for r in records if r["status"] == "skipped"):
            progress(r, i + 1, total)

    state = {"dirty": False, "written": time.monotonic()}
    lock = threading.Lock()

    def flush(force: bool = False) -> None:
        # The manifest is rewritten whole (atomically); at most twice a second while runs
        # finish, so a batch of thousands of runs does not spend its time rewriting it.
        with lock:
            if state["dirty"] and (force or time.monotonic() - state["written"] >= 0.5):
                _write_json_atomic(manifest_path, manifest)
                state.update(dirty=False, written=time.monotonic())

    def on_start(job) -> None:
        with lock:
            by_id[job.run_id].update(status="running", started=_now())
            state["dirty"] = True

    def on_done(job, result: dict[str, Any]) -> None:
        nonlocal done
        rec = by_id[job.run_id]
        with lock:
            rec.update(result)
            state["dirty"] = True
        done += 1
        if progress:
            progress(rec, done, total)

    if jobs:
        try:
            pool.run(jobs, on_start=on_start, on_done=on_done, tick=flush)
        except BaseException:
            for r in records:
                if r["status"] in ("pending", "running"):
                    r["status"] = "interrupted"
            manifest.update(status="interrupted", finished=_now())
            state["dirty"] = True
            flush(force=True)
            _write_text_atomic(out_dir / "index.html", render.render_index(manifest, [], out_dir))
            raise

    server = getattr(pool, "server", None)
    if server is not None and server.ready.is_set():
        info = server.info  # what the warm worker imported, and what it could not
        manifest["options"]["warm_worker"] = {
            "preload": list(preload),
            "failed": info.get("failed", {}),
            "seconds": info.get("seconds"),
        }
    findings: list[dict[str, Any]] = []
    for rec in records:
        if rec["status"] not in SUCCEEDED:
            continue
        try:
            items = read_findings(out_dir / rec["outputs"]["results"])
        except DataError as exc:  # a results file changed under us: the run did not succeed
            rec.update(
                status="failed",
                error={
                    "ename": "DataError",
                    "evalue": str(exc),
                    "cell_index": None,
                    "cell_source": None,
                },
            )
            continue
        for item in items:
            findings.append({"run_id": rec["id"], "report": rec["outputs"]["html"], **item})
    manifest.update(status="finished", finished=_now())
    _write_tables(out_dir, findings)
    manifest["tables"] = {"csv": "findings.csv", "xlsx": "findings.xlsx"}
    # order matters: the tables, then the manifest, then the index that points at them
    _write_json_atomic(manifest_path, manifest)
    _write_text_atomic(out_dir / "index.html", render.render_index(manifest, findings, out_dir))
    _remove_tree(work)
    return BatchResult(out=out_dir, manifest=manifest, findings=findings)


def _remove_tree(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# The findings table (CSV for any tool, XLSX for Excel)
# --------------------------------------------------------------------------------------------


def table_columns(findings: Sequence[Mapping[str, Any]]) -> list[str]:
    """Standard columns first, then any extra keys notebooks added, in first-seen order."""
    cols = ["run_id", *FINDING_FIELDS, "report"]
    for f in findings:
        for k in f:
            if k not in cols:
                cols.append(k)
    return cols


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return value


def _write_tables(out_dir: Path, findings: Sequence[Mapping[str, Any]]) -> None:
    import csv
    import io

    cols = table_columns(findings)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(cols)
    for f in findings:
        writer.writerow(["" if f.get(c) is None else _cell(f.get(c)) for c in cols])
    # UTF-8 with BOM: Excel then reads Vietnamese diacritics right when the file is double-clicked
    _write_bytes_atomic(out_dir / "findings.csv", buf.getvalue().encode("utf-8-sig"))

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "findings"
    ws.append(cols)
    for c in ws[1]:
        c.font = Font(bold=True)
    for f in findings:
        ws.append([_cell(f.get(c)) for c in cols])
    ws.freeze_panes = "A2"
    for i, c in enumerate(cols, start=1):
        width = max([len(c)] + [len(str(_cell(f.get(c)) or "")) for f in findings[:200]])
        ws.column_dimensions[ws.cell(1, i).column_letter].width = min(60, max(8, width + 2))
    buf2 = io.BytesIO()
    wb.save(buf2)
    _write_bytes_atomic(out_dir / "findings.xlsx", buf2.getvalue())
