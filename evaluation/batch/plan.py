"""Batch plans: YAML with types that survive, validated before anything runs.

A plan says which notebooks to run, for which wards, with which parameters, on which data
folder, into which output folder (keys: :func:`load_plan`). Every value is checked against the
notebook's ``parameters`` cell, so a misspelt key, an unknown ward or a number where the
notebook expects text is refused with the key and the fix, before a single run starts.

Values keep their types end to end: the YAML here is read with YAML 1.2 scalars (``00617`` is
the text "00617", never the number 617 or the octal 399), the batch hands the values to
papermill as Python objects, and papermill writes them into the notebook as
``ward = '00617'``.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from evaluation.batch.inspect import Declared, NotebookInfo, inspect_notebook
from evaluation.batch.paths import is_path_parameter
from evaluation.data.io import yaml_problem
from evaluation.errors import DataError, PlanError, examples

__all__ = [
    "Plan",
    "NotebookSpec",
    "RunSpec",
    "load_plan",
    "plan_from_dict",
    "plan_for_notebook",
    "parse_parameter",
    "load_yaml",
    "ENGINES",
    "DEFAULT_TIMEOUT",
    "RESERVED_PARAMETERS",
    "resolve_path_parameters",
]

#: How a run executes: ``inprocess`` (papermill with the ``pilot-eval`` engine, in a process
#: forked from the warm worker) or ``kernel`` (papermill with a Jupyter kernel per run).
ENGINES = ("inprocess", "kernel")
DEFAULT_TIMEOUT = 900.0

#: Parameters the batch sets itself; a plan may not set them under ``parameters``.
RESERVED_PARAMETERS = ("results_path", "ward", "data_dir", "registry_path", "ward_table")

_PLAN_KEYS = (
    "title",
    "data",
    "registry",
    "ward_table",
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


def load_yaml(text: str, source: str) -> Any:
    """Parse YAML text with YAML 1.2 scalars (see :func:`_plan_loader`).

    Raises
    ------
    PlanError
        Naming ``source``, the line and column, and the usual fix.
    """
    import yaml

    try:
        return yaml.load(text, Loader=_plan_loader())  # noqa: S506 — a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise PlanError(
            f"{source}: not valid YAML{yaml_problem(exc)} — check the indentation and quote "
            "values that contain ':' or '#'"
        ) from None


# --------------------------------------------------------------------------------------------
# Parameter values against the notebook's defaults
# --------------------------------------------------------------------------------------------


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

    Unlike papermill's ``-p``, which turns ``00617`` into the integer 617 (papermill's ``-r``
    passes text unchanged), nothing is guessed.

    Raises
    ------
    PlanError
        The text cannot be read as the type the notebook's default has.
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
    value = load_yaml(text, where) if text.strip() else text
    if want in ("list", "tuple", "dict"):
        return _check_type(value, decl, where)
    if isinstance(value, list | dict) and want is None and not _json_like(value):
        raise PlanError(f"{where}: cannot pass {text!r} to a notebook")
    if not isinstance(value, str | int | float | bool | list | dict) and value is not None:
        return text
    return value


# --------------------------------------------------------------------------------------------
# Path-valued parameters: a path typed is a path from where it was typed
# --------------------------------------------------------------------------------------------


def resolve_path_parameters(params: Mapping[str, Any], base: str | os.PathLike) -> dict[str, Any]:
    """``params`` with every relative path parameter (:func:`is_path_parameter`, a text value)
    made absolute from ``base``: the folder ``pilot-eval run`` was typed in, or a plan's folder.

    The notebook runs in its own folder, so a relative path left as typed would be read from
    there; its own defaults (``data_dir = "../data/demo"``) are not given here and still are.
    """
    out = dict(params)
    for name, value in params.items():
        if is_path_parameter(name) and isinstance(value, str) and value.strip():
            out[name] = str((Path(base) / Path(value).expanduser()).resolve())
    return out


# --------------------------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------------------------


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
    registry: Path | None = None
    ward_table: Path | None = None
    out: Path | None = None
    timeout: float = DEFAULT_TIMEOUT
    engine: str = "inprocess"
    preload: tuple[str, ...] = ()
    source: Path | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The plan file's stem, else the first notebook's name (the default run folder)."""
        return self.source.stem if self.source else self.notebooks[0].name

    def runs(self) -> list[RunSpec]:
        """Every notebook × ward run, in plan order."""
        out: list[RunSpec] = []
        for nb in self.notebooks:
            for ward in nb.wards if nb.wards is not None else (None,):
                params = dict(nb.parameters)
                if ward is not None:
                    params["ward"] = ward
                    rid = f"{nb.name}--{slug(ward)}"
                else:
                    rid = nb.name  # `pilot-eval run` puts the ward in the name itself
                shown = params.get("ward") if isinstance(params.get("ward"), str) else None
                out.append(RunSpec(rid, nb, shown, params, nb.timeout))
        return out


#: đ and Đ (U+0111, U+0110), the letters NFD does not decompose into a base letter and a mark
_D_STROKE = str.maketrans({0x0111: "d", 0x0110: "D"})


def slug(text: str) -> str:
    """ASCII file-name part: 'Cổ Nhuế 2' -> 'co-nhue-2'."""
    text = unicodedata.normalize("NFD", str(text).translate(_D_STROKE))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "x"


def _suggest(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _refuse_unknown_keys(
    mapping: Mapping[str, Any], allowed: Sequence[str], where: str, listing: str
) -> None:
    """A misspelt key is refused with the closest allowed one, never silently ignored."""
    unknown = [k for k in mapping if k not in allowed]
    if unknown:
        k = str(unknown[0])
        raise PlanError(
            f"{where}: unknown key '{k}'{_suggest(k, allowed)} — {listing}: {', '.join(allowed)}"
        )


def load_plan(path: str | os.PathLike) -> Plan:
    """Read and validate a batch plan (YAML).

    Keys (paths are relative to the plan file)::

        title: "Báo cáo tháng / Monthly report"   # shown on the index page
        data: ../data/demo        # input folder: passed as `data_dir`, its files hashed
        registry: pilots.yaml     # the pilot registry: passed as `registry_path`, hashed
        ward_table: wards.csv     # the district's ward table (default: wards.csv in `data`)
        out: ../output            # run folder (the command line's --out wins)
        timeout: 900              # seconds per run (a notebook entry may override)
        wards: all                # or a list; "all" = the district's own wards (ward table)
        parameters: {...}         # for every notebook that declares them
        engine: inprocess         # or kernel (papermill with a Jupyter kernel per run)
        preload: [statsmodels.api]  # extra modules to import once in the warm worker
        notebooks:
          - notebook: ../notebooks/ward_report.ipynb   # declares `ward`: one run per ward
            parameters: {outcome: congestion_minutes}
          - ../notebooks/district_summary.ipynb        # no `ward`: one run

    A notebook path is read relative to the plan's folder; when nothing is there, the
    workbench's own notebook of that name is used (:func:`workbench_notebooks`), so a plan
    copied anywhere — or written by ``pilot-eval init`` with bare names such as
    ``ward_report.ipynb`` — finds the notebooks. A notebook whose parameters cell declares
    ``ward`` runs once per ward (its own ``wards:`` overrides the plan's); every notebook must
    declare ``results_path``. Values keep their
    YAML 1.2 types — ``00617`` stays the text "00617" — and must match the type of the
    notebook's default.

    ``preload`` only saves time: a module that cannot be imported (renamed, say) is skipped,
    and the batch says so in the manifest (``options.warm_worker.failed``) and on stderr; runs
    that need it then import it themselves.

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
    raw = load_yaml(text, str(path))
    return plan_from_dict(raw, base=path.parent, source=path)


def plan_from_dict(
    raw: Any, *, base: str | os.PathLike = ".", source: str | os.PathLike | None = None
) -> Plan:
    """Validate a plan given as a mapping (what :func:`load_plan` reads from YAML).

    ``base`` is the folder relative paths start from; ``source`` names the plan in messages.
    """
    src = str(source) if source is not None else "plan"
    base = Path(base)
    if not isinstance(raw, dict):
        raise PlanError(f"{src}: a plan is a YAML mapping with at least a 'notebooks' key")
    _refuse_unknown_keys(raw, _PLAN_KEYS, src, "allowed keys")
    settings = _plan_settings(raw, src, base, Path(source).stem if source else "pilot-eval")
    wards = _WardContext(settings, src)
    plan_wards = wards.resolve(raw["wards"], f"{src}, key 'wards'") if "wards" in raw else None
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
    specs = [
        _notebook_spec(
            entry, f"{src}, notebooks[{i}]", src, base, shared, plan_wards, settings, wards
        )
        for i, entry in enumerate(entries)
    ]
    _check_shared_used(shared, specs, src)
    plan = Plan(
        notebooks=tuple(specs),
        source=Path(source).resolve() if source is not None else None,
        raw=raw,
        **settings,
    )
    _check_run_ids(plan, src)
    return plan


def _plan_settings(raw: Mapping[str, Any], src: str, base: Path, default_title: str) -> dict:
    """The plan-wide keys: title, timeout, engine, preload, data and out folders."""
    title = raw.get("title") or default_title
    if not isinstance(title, str):
        raise PlanError(f"{src}, key 'title': expected text, got {title!r}")
    timeout = _timeout(raw.get("timeout", DEFAULT_TIMEOUT), f"{src}, key 'timeout'")
    engine = raw.get("engine", "inprocess")
    if engine not in ENGINES:
        raise PlanError(f"{src}, key 'engine': {engine!r} is not one of {', '.join(ENGINES)}")
    preload = raw.get("preload") or []
    if not isinstance(preload, list) or not all(isinstance(m, str) for m in preload):
        raise PlanError(f"{src}, key 'preload': expected a list of module names")
    data = _folder(raw, "data", src, base)
    if data is not None and not data.is_dir():
        raise PlanError(
            f"{src}, key 'data': folder {str(data)!r} does not exist — point it at the "
            "folder that holds the input files (relative paths start at the plan's folder)"
        )
    registry = _folder(raw, "registry", src, base)
    if registry is not None and not registry.is_file():
        raise PlanError(
            f"{src}, key 'registry': file {str(registry)!r} does not exist — point it at the "
            "pilot registry (YAML; relative paths start at the plan's folder)"
        )
    ward_table = _folder(raw, "ward_table", src, base)
    if ward_table is not None and not ward_table.exists():
        raise PlanError(
            f"{src}, key 'ward_table': {str(ward_table)!r} does not exist — point it at the "
            "district's wards.csv (relative paths start at the plan's folder)"
        )
    return {
        "title": title,
        "timeout": timeout,
        "engine": engine,
        "preload": tuple(preload),
        "data": data,
        "registry": registry,
        "ward_table": ward_table,
        "out": _folder(raw, "out", src, base),
    }


def _folder(raw: Mapping[str, Any], key: str, src: str, base: Path) -> Path | None:
    if raw.get(key) is None:
        return None
    if not isinstance(raw[key], str):
        raise PlanError(f"{src}, key '{key}': expected a path, got {raw[key]!r}")
    return (base / raw[key]).resolve()


def _notebook_spec(
    entry: Any,
    where: str,
    src: str,
    base: Path,
    shared: Mapping[str, Any],
    plan_wards: tuple[str, ...] | None,
    settings: Mapping[str, Any],
    wards: _WardContext | None = None,
) -> NotebookSpec:
    """One ``notebooks:`` entry, checked against the notebook's parameters cell."""
    if isinstance(entry, str):
        entry = {"notebook": entry}
    if not isinstance(entry, dict) or "notebook" not in entry:
        raise PlanError(f"{where}: expected a notebook path or a mapping with 'notebook:'")
    _refuse_unknown_keys(entry, _NOTEBOOK_KEYS, where, "allowed")
    if not isinstance(entry["notebook"], str):
        raise PlanError(f"{where}, key 'notebook': expected a path, got {entry['notebook']!r}")
    nb_path = _find_notebook(base, entry["notebook"])
    info = inspect_notebook(nb_path, source=f"{where}, key 'notebook'")
    if "results_path" not in info.declared:
        raise PlanError(
            f"{where}: notebook {nb_path.name} does not declare `results_path` — add "
            "`results_path = None` to its parameters cell and end it with "
            "evaluation.analysis.record.record_findings(results_path, findings)"
        )
    params = resolve_path_parameters(_notebook_parameters(entry, info, where, src, shared), base)
    if "data_dir" in info.declared and settings["data"] is not None:
        params["data_dir"] = str(settings["data"])
    if "registry_path" in info.declared and settings["registry"] is not None:
        params["registry_path"] = str(settings["registry"])
    if "ward_table" in info.declared and settings.get("ward_table") is not None:
        params["ward_table"] = str(settings["ward_table"])
    name = entry.get("name") or nb_path.stem
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        raise PlanError(f"{where}, key 'name': use letters, digits, '-', '_' or '.'; got {name!r}")
    return NotebookSpec(
        nb_path,
        name,
        entry["notebook"],
        info,
        params,
        _notebook_wards(entry, info, where, plan_wards, wards),
        _timeout(entry.get("timeout", settings["timeout"]), f"{where}, key 'timeout'"),
    )


def _notebook_parameters(
    entry: Mapping[str, Any], info: NotebookInfo, where: str, src: str, shared: Mapping[str, Any]
) -> dict[str, Any]:
    """The plan's shared parameters the notebook declares, then the entry's own, typed."""
    own = entry.get("parameters") or {}
    if not isinstance(own, dict):
        raise PlanError(f"{where}, key 'parameters': expected a mapping of name: value")
    _check_names(own, f"{where}, key 'parameters'")
    params: dict[str, Any] = {}
    for name, value in shared.items():
        if name in info.declared:
            params[name] = _check_type(value, info.declared[name], f"{src}, parameters.{name}")
    for name, value in own.items():
        if name not in info.declared:
            known = [n for n in info.declared if n not in RESERVED_PARAMETERS]
            raise PlanError(
                f"{where}, parameters.{name}: notebook {info.path.name} has no parameter "
                f"'{name}'{_suggest(name, known)} — its parameters are {examples(known, 20)}"
            )
        params[name] = _check_type(value, info.declared[name], f"{where}, parameters.{name}")
    return params


def _notebook_wards(
    entry: Mapping[str, Any],
    info: NotebookInfo,
    where: str,
    plan_wards: tuple[str, ...] | None,
    context: _WardContext | None = None,
) -> tuple[str, ...] | None:
    """The wards a notebook runs for: its own ``wards:``, else the plan's; None = one run."""
    per_ward = "ward" in info.declared
    name = info.path.name
    if "wards" in entry:
        if not per_ward:
            raise PlanError(
                f"{where}, key 'wards': notebook {name} has no `ward` parameter, so "
                "it runs once; remove 'wards' here or add `ward` to its parameters cell"
            )
        if context is None:
            raise PlanError(f"{where}, key 'wards': the plan has no data folder to read wards from")
        wards = context.resolve(entry["wards"], f"{where}, key 'wards'")
    elif per_ward:
        if plan_wards is None:
            raise PlanError(
                f"{where}: notebook {name} has a `ward` parameter but the plan "
                "names no wards — add `wards: all` or a list of wards"
            )
        wards = plan_wards
    else:
        return None
    for w in wards:
        _check_type(w, info.declared["ward"], f"{where}, ward {w!r}")
    return wards


def _check_shared_used(shared: Mapping[str, Any], specs: Sequence[NotebookSpec], src: str) -> None:
    used = {n for s in specs for n in shared if n in s.info.declared}
    unused = [n for n in shared if n not in used]
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


def _check_run_ids(plan: Plan, src: str) -> None:
    ids = [r.id for r in plan.runs()]
    clash = sorted({i for i in ids if ids.count(i) > 1})
    if clash:
        raise PlanError(
            f"{src}: two runs would share the output name {examples(clash)} — "
            "a ward is listed twice (perhaps in two spellings)"
        )


def plan_for_notebook(
    notebook: str | os.PathLike,
    parameters: Mapping[str, Any] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    engine: str = "inprocess",
    base: str | os.PathLike | None = None,
) -> Plan:
    """A one-run plan (``pilot-eval run``): the notebook with exactly these parameters.

    A relative path parameter (:func:`is_path_parameter`: ``-p data_dir data/demo``) is taken
    from ``base``, the folder the command was typed in (default: the current folder), not from
    the notebook's folder where the notebook runs.

    Raises
    ------
    PlanError
        The notebook has no such parameter, a value has the wrong type, the engine is unknown,
        or ``data_dir`` / ``registry_path`` is not an existing folder / file.
    """
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
    base = Path.cwd() if base is None else Path(base)
    params = resolve_path_parameters(params, base)
    _check_inputs_exist(params, base)
    ward = params.get("ward")
    name = nb_path.stem + (f"--{slug(str(ward))}" if ward is not None else "")
    spec = NotebookSpec(
        nb_path, name, str(notebook), info, params, None, _timeout(timeout, "--timeout")
    )
    data, registry = params.get("data_dir"), params.get("registry_path")
    return Plan(
        title=info.title or nb_path.stem,
        notebooks=(spec,),
        data=Path(data) if isinstance(data, str) else None,
        registry=Path(registry) if isinstance(registry, str) else None,
        timeout=spec.timeout,
        engine=engine,
        raw={"notebooks": [{"notebook": str(nb_path), "parameters": params}]},
    )


def _check_inputs_exist(params: Mapping[str, Any], base: Path) -> None:
    """``-p data_dir`` must be a folder and ``-p registry_path`` a file: refused before the
    run starts, with the path as resolved and where relative paths start."""
    for name, want, is_kind in (
        ("data_dir", "folder", Path.is_dir),
        ("registry_path", "file", Path.is_file),
    ):
        value = params.get(name)
        if isinstance(value, str) and not is_kind(Path(value)):
            raise PlanError(
                f"-p {name}: {value!r} is not a {want} — a relative path starts at the folder "
                f"pilot-eval is run from ({base})"
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
                "registry_path": "set the plan's `registry:` file instead",
                "ward_table": "set the plan's `ward_table:` file instead",
                "results_path": "the batch sets it for each run",
            }[name]
            raise PlanError(f"{where}: '{name}' is set by the batch — {hint}")


def workbench_notebooks() -> Path | None:
    """The workbench's own notebooks: ``PILOT_EVAL_NOTEBOOKS``, else ``notebooks/`` of the
    source checkout the package runs from; None when neither exists."""
    env = os.environ.get("PILOT_EVAL_NOTEBOOKS")
    folder = Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"
    return folder if folder.is_dir() else None


def _find_notebook(base: Path, given: str) -> Path:
    """``given`` relative to the plan's folder, else the workbench's notebook of that name."""
    path = (base / given).resolve()
    if path.exists():
        return path
    own = workbench_notebooks()
    if own is not None and (own / Path(given).name).exists():
        return (own / Path(given).name).resolve()
    return path  # inspect_notebook reports it missing, naming the path tried


class _WardContext:
    """The district's ward table and registry, read once while a plan is checked: what
    ``wards: all`` means and how listed wards are spelt."""

    def __init__(self, settings: Mapping[str, Any], src: str):
        self.settings = settings
        self.src = src

    @cached_property
    def table(self):
        from evaluation.data.wards import find_ward_table, load_wards

        where = self.settings.get("ward_table") or find_ward_table(self.settings.get("data"))
        if where is None:
            return None
        try:
            return load_wards(where)
        except DataError as exc:
            raise PlanError(str(exc)) from None

    def _no_table(self, where: str) -> PlanError:
        return PlanError(
            f"{where}: `all` needs the district's ward table, and the data folder "
            f"{str(self.settings.get('data'))!r} holds no wards.csv — add it there (ward, "
            "ward_code, population; see data/README.md), name it with `ward_table:`, or list "
            "the wards (`pilot-eval init` writes a ward table from the data)"
        )

    @cached_property
    def registry(self):
        from evaluation.data.registry import load_registry

        if self.settings.get("registry") is None or self.table is None:
            return None
        try:
            return load_registry(self.settings["registry"], self.table)
        except DataError as exc:
            raise PlanError(str(exc)) from None

    def level_date(self):
        reg = self.registry
        if reg is None or not len(reg.pilots):
            return None
        return reg.pilots["start"].min()

    def resolve(self, value: Any, where: str) -> tuple[str, ...]:
        """``all`` (the district's own wards) or a list of names/codes → canonical names."""
        from evaluation.data.registry import home_wards

        if value == "all":
            if self.table is None:
                raise self._no_table(where)
            if self.registry is None:
                return tuple(self.table.level(None).names)
            return tuple(home_wards(self.registry, self.table))
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
            if self.table is None:  # no ward table: the names are taken as written
                w = " ".join(unicodedata.normalize("NFC", w).split())
            else:
                try:
                    w = self.table.normalize(w, self.level_date(), source=where)
                except DataError as exc:
                    raise PlanError(str(exc)) from None
            out.append(unicodedata.normalize("NFC", w))
        dup = sorted({w for w in out if out.count(w) > 1})
        if dup:
            raise PlanError(f"{where}: {examples(dup)} listed more than once")
        return tuple(out)
