"""``pilot-eval reproduce RUN_DIR``: run a recorded batch again and compare every finding.

A run folder's ``manifest.json`` records what the batch ran — the plan, every run's notebook
and parameters, the sha256 of every input file and of the registry, the package versions, the
git commit and a hash of the package's code. :func:`reproduce`

1. checks the inputs and the environment against the record, saying which differ (a data file
   whose content changed, a notebook, the plan; pandas 3.1.1 → 2.2.0; another commit);
2. runs the recorded plan again, with the same engine, into a temporary folder — with an
   analysis cache of its own, so every number is computed afresh, never read back from the
   cache the original run filled;
3. compares every finding of every run, by run and finding id: the estimate, the interval's
   ends, the p-value (and the adjusted p-value) and the verdict.

Numbers agree when ``|Δ| ≤ tolerance × max(1, |recorded|, |re-run|)`` (default 1e-9): relative
for large numbers, absolute below 1 (a p-value, an effect near zero). Randomness in the
package is seeded (every estimator's ``seed``, a schedule's seed in its plan), so the same
code, data and libraries give the same bits; the tolerance only allows for the last bits that
another CPU or BLAS build may round differently — ten thousand times finer than any digit a
page shows, and far coarser than that noise. Verdicts must be equal.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evaluation.analysis.record import read_findings
from evaluation.batch.manifest import (
    REGISTRY_PREFIX,
    SUCCEEDED,
    environment,
    hash_folder,
    package_code_hash,
    read_manifest,
    sha256_file,
)
from evaluation.batch.paths import is_path_parameter, relative, resolve_located
from evaluation.batch.plan import Plan, plan_for_notebook, plan_from_dict
from evaluation.batch.run import run_batch
from evaluation.errors import BatchError, DataError
from evaluation.i18n import Text, say

__all__ = [
    "COMPARED_NUMBERS",
    "COMPARED_TEXT",
    "TOLERANCE",
    "Difference",
    "Mismatch",
    "Reproduction",
    "reproduce",
]

#: Default tolerance: |Δ| ≤ TOLERANCE × max(1, |recorded|, |re-run|)
TOLERANCE = 1e-9
#: The numbers of a finding that must come out the same (when either side has them)
COMPARED_NUMBERS = ("estimate", "ci_low", "ci_high", "pvalue", "p_adjusted")
#: ... and its verdict
COMPARED_TEXT = ("verdict_category",)


@dataclass(frozen=True)
class Mismatch:
    """An input or a part of the environment that is not what the run recorded."""

    what: str  # "data", "registry", "plan", "notebook", "parameters", "package", …
    name: str  # the file (relative), the package, …
    recorded: str | None  # None: it was not there
    current: str | None  # None: it is not there now


@dataclass(frozen=True)
class Difference:
    """A finding's field that the re-run does not reproduce within the tolerance."""

    run_id: str
    finding: str  # its finding_id, or its position in the run (#1, #2, …) when it has none
    field: str  # estimate, ci_low, …; "finding" when the finding itself is missing on one side
    recorded: Any
    rerun: Any

    @property
    def delta(self) -> float | None:
        try:
            return float(self.rerun) - float(self.recorded)
        except (TypeError, ValueError):
            return None


@dataclass
class Reproduction:
    """What :func:`reproduce` found; :meth:`report` is the text ``pilot-eval reproduce`` prints."""

    run_dir: Path
    title: str
    recorded_at: str | None
    tolerance: float
    inputs: list[Mismatch] = field(default_factory=list)
    environment: list[Mismatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the environment's comparison
    differences: list[Difference] = field(default_factory=list)
    compared: int = 0  # findings compared
    n_inputs: int = 0  # files checked
    rerun_status: dict[str, int] = field(default_factory=dict)
    rerun_seconds: float = 0.0
    rerun_dir: Path | None = None  # kept only when asked for (--keep)

    @property
    def exit_code(self) -> int:
        """0 when every finding came out as recorded, 1 otherwise."""
        return 1 if self.differences else 0

    @property
    def changed_findings(self) -> list[tuple[str, str]]:
        """(run id, finding) of every finding that moved, in order, once each."""
        return list(dict.fromkeys((d.run_id, d.finding) for d in self.differences))

    def report(self) -> str:
        return _report(self)


Progress = Callable[[dict[str, Any] | None, int, int], None]


def reproduce(
    run_dir: str | os.PathLike,
    *,
    workers: int | None = None,
    tolerance: float = TOLERANCE,
    keep: str | os.PathLike | None = None,
    progress: Progress | None = None,
) -> Reproduction:
    """Run a recorded batch again and compare every finding with the recorded one.

    Parameters
    ----------
    run_dir
        A run folder written by ``pilot-eval batch`` / ``report`` / ``run``.
    workers
        Runs at a time (default: the number of cores).
    tolerance
        Numbers agree when ``|Δ| ≤ tolerance × max(1, |recorded|, |re-run|)``.
    keep
        Write the re-run into this folder and keep it (default: a temporary folder, removed).
    progress
        Passed to :func:`~evaluation.batch.run.run_batch`.

    Raises
    ------
    BatchError
        The folder holds no usable record: no manifest, a batch that did not finish, a
        manifest written before it recorded relative paths, or a plan folder that is gone.
    PlanError
        The recorded plan no longer validates (a notebook was deleted, say).
    """
    run_dir = Path(run_dir).resolve()
    manifest = _usable_manifest(run_dir)
    plan_dir = _plan_dir(manifest, run_dir)
    plan = _recorded_plan(manifest, plan_dir)
    out = Reproduction(
        run_dir=run_dir,
        title=str(manifest.get("title") or ""),
        recorded_at=manifest.get("finished") or manifest.get("started"),
        tolerance=tolerance,
    )
    out.inputs, out.n_inputs = _input_mismatches(manifest, plan, plan_dir, run_dir)
    out.environment = _environment_mismatches(manifest.get("environment") or {})
    out.notes = _environment_notes(manifest.get("environment") or {})
    recorded = _findings_of(run_dir, manifest)
    options = manifest.get("options") or {}
    with tempfile.TemporaryDirectory(prefix="pilot-eval-reproduce-") as tmp:
        rerun_dir = Path(keep).resolve() if keep is not None else Path(tmp) / "run"
        t0 = time.perf_counter()
        result = run_batch(
            plan,
            rerun_dir,
            workers=workers,
            engine=options.get("engine"),
            timeout=options.get("timeout"),
            progress=progress,
            # a cache of its own: the findings are computed again, not read from the cache
            # the recorded run filled (its key covers the data and the code, not the libraries)
            run_env={"PILOT_EVAL_CACHE": str(Path(tmp) / "cache")},
        )
        out.rerun_seconds = time.perf_counter() - t0
        out.rerun_status = {
            s: result.count(s) for s in ("ok", "failed", "timeout") if result.count(s)
        }
        out.inputs += _parameter_mismatches(manifest, result.manifest)
        again = _findings_of(rerun_dir, result.manifest)
        out.rerun_dir = rerun_dir if keep is not None else None
    out.differences, out.compared = compare_findings(recorded, again, tolerance)
    return out


# --------------------------------------------------------------------------------------------
# The record
# --------------------------------------------------------------------------------------------


def _usable_manifest(run_dir: Path) -> dict[str, Any]:
    if not (run_dir / "manifest.json").is_file():
        raise BatchError(
            f"{str(run_dir)!r} holds no manifest.json — give the folder a batch wrote "
            "(pilot-eval batch/report/run --out DIR)"
        )
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise BatchError(f"{str(run_dir / 'manifest.json')!r} cannot be read as a run's manifest")
    if manifest.get("status") != "finished":
        raise BatchError(
            f"{str(run_dir)!r}: the batch did not finish (status {manifest.get('status')!r}) — "
            "finish it with --resume, then reproduce it"
        )
    return manifest


def _plan_dir(manifest: Mapping[str, Any], run_dir: Path) -> Path:
    record = manifest.get("plan") or {}
    folder = resolve_located(record.get("folder"), run_dir)
    if folder is None:
        raise BatchError(
            f"{str(run_dir)!r}: its manifest records no plan folder (written by an older "
            "pilot-eval, with absolute paths) — run the batch again to reproduce it later"
        )
    if not folder.is_dir():
        where = record["folder"]
        raise BatchError(
            f"{str(run_dir)!r}: the plan's folder {where['path']!r} (relative to the "
            f"{where['relative_to']}) is not there — {str(folder)!r} does not exist"
        )
    return folder


def _recorded_plan(manifest: Mapping[str, Any], plan_dir: Path) -> Plan:
    """The plan as it was recorded, read again from the manifest (not from the plan file,
    which may have changed since: the inputs say so)."""
    record = manifest["plan"]
    content = record.get("content")
    if record.get("source"):
        source = plan_dir / record["source"]
        return plan_from_dict(content, base=plan_dir, source=source if source.is_file() else None)
    (entry,) = content["notebooks"]  # a single notebook run (pilot-eval run)
    params = {
        k: str(plan_dir / v) if is_path_parameter(k) and isinstance(v, str) else v
        for k, v in (entry.get("parameters") or {}).items()
    }
    options = manifest.get("options") or {}
    return plan_for_notebook(
        plan_dir / entry["notebook"], params, engine=options.get("engine") or "inprocess"
    )


def _findings_of(run_dir: Path, manifest: Mapping[str, Any]) -> dict[str, list[dict] | None]:
    """Run id → its findings (None for a run that did not succeed)."""
    out: dict[str, list[dict] | None] = {}
    for rec in manifest.get("runs") or []:
        results = (rec.get("outputs") or {}).get("results")
        if rec.get("status") not in SUCCEEDED or not results:
            out[rec["id"]] = None
            continue
        try:
            out[rec["id"]] = read_findings(run_dir / results)
        except DataError:
            out[rec["id"]] = None
    return out


# --------------------------------------------------------------------------------------------
# Inputs and environment
# --------------------------------------------------------------------------------------------


def _input_mismatches(
    manifest: Mapping[str, Any], plan: Plan, plan_dir: Path, run_dir: Path
) -> tuple[list[Mismatch], int]:
    """The plan file, every data file, the registry and every notebook, against their hashes."""
    found: list[Mismatch] = []
    record = manifest.get("plan") or {}
    checked = 0
    if record.get("source"):
        checked += 1
        path = plan_dir / record["source"]
        now = sha256_file(path) if path.is_file() else None
        if now != record.get("sha256"):
            found.append(Mismatch("plan", _shown(path), record.get("sha256"), now))
    # the folder and registry that were hashed (as recorded, relative to the plan's folder)
    data = manifest.get("data") or {}
    folder = plan_dir / data["folder"] if data.get("folder") else plan.data
    registry = plan_dir / data["registry"] if data.get("registry") else plan.registry
    recorded = dict(data.get("files") or {})
    current = hash_folder(folder, skip=[run_dir]) if folder and folder.is_dir() else {}
    if registry is not None and registry.is_file():
        current[REGISTRY_PREFIX + registry.name] = sha256_file(registry)
    for name in sorted(set(recorded) | set(current)):
        checked += 1
        if recorded.get(name) == current.get(name):
            continue
        if name.startswith(REGISTRY_PREFIX):
            what, path = "registry", registry
        else:
            what, path = "data", (folder / name if folder else Path(name))
        found.append(Mismatch(what, _shown(path), recorded.get(name), current.get(name)))
    seen: set[str] = set()
    for rec in manifest.get("runs") or []:
        rel = rec.get("notebook_path")
        if not isinstance(rel, str) or rel in seen:
            continue
        seen.add(rel)
        checked += 1
        path = plan_dir / rel
        now = sha256_file(path) if path.is_file() else None
        if now != rec.get("notebook_sha256"):
            found.append(Mismatch("notebook", _shown(path), rec.get("notebook_sha256"), now))
    return found, checked


def _parameter_mismatches(recorded: Mapping[str, Any], rerun: Mapping[str, Any]) -> list[Mismatch]:
    """Runs the plan makes now that it did not make then (or with other parameters)."""
    before = {r["id"]: r.get("parameters") for r in recorded.get("runs") or []}
    after = {r["id"]: r.get("parameters") for r in rerun.get("runs") or []}
    found = []
    for rid in sorted(set(before) | set(after)):
        if before.get(rid) != after.get(rid):
            found.append(Mismatch("parameters", rid, _text(before.get(rid)), _text(after.get(rid))))
    return found


def _environment_mismatches(recorded: Mapping[str, Any]) -> list[Mismatch]:
    """Package versions, Python, the package's own version, commit and code, as recorded."""
    current = environment(package_code_hash())
    found = []
    packages = set(recorded.get("packages") or {}) | set(current["packages"])
    for name in sorted(packages):
        a, b = (recorded.get("packages") or {}).get(name), current["packages"].get(name)
        if a != b:
            found.append(Mismatch("package", name, a, b))
    for key, name in (
        ("python", "Python"),
        ("evaluation", "evaluation (this package)"),
        ("git_commit", "git commit"),
        ("package_code_sha256", "the package's code (sha256)"),
    ):
        if recorded.get(key) != current.get(key):
            found.append(Mismatch(key, name, recorded.get(key), current.get(key)))
    return found


def _environment_notes(recorded: Mapping[str, Any]) -> list[str]:
    """What a reader should know about the comparison of the environment."""
    notes = []
    current_dirty = environment(package_code_hash()).get("git_dirty")
    if recorded.get("git_dirty") or current_dirty:
        when = " and ".join(
            w
            for w, dirty in (("at the run", recorded.get("git_dirty")), ("now", current_dirty))
            if dirty
        )
        notes.append(
            f"the checkout had uncommitted changes {when}: the commit alone does not say which "
            "code ran; the package code's sha256 does"
        )
    return notes


# --------------------------------------------------------------------------------------------
# Findings
# --------------------------------------------------------------------------------------------


def _keyed(findings: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    """A run's findings by finding id (by position, #1 …, where a notebook gives none)."""
    out: dict[str, Mapping[str, Any]] = {}
    for i, f in enumerate(findings):
        key = str(f.get("finding_id") or f"#{i + 1}")
        if key in out:  # the same id twice in one run: tell them apart by position
            key = f"{key} #{i + 1}"
        out[key] = f
    return out


def numbers_agree(a: Any, b: Any, tolerance: float = TOLERANCE) -> bool:
    """``|a − b| ≤ tolerance × max(1, |a|, |b|)``; None, NaN and infinities only match
    themselves."""
    if a is None or b is None:
        return a is None and b is None
    x, y = float(a), float(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return abs(x - y) <= tolerance * max(1.0, abs(x), abs(y))


def compare_findings(
    recorded: Mapping[str, list[dict] | None],
    rerun: Mapping[str, list[dict] | None],
    tolerance: float = TOLERANCE,
) -> tuple[list[Difference], int]:
    """Every finding of every run, field by field: (differences, findings compared)."""
    diffs: list[Difference] = []
    compared = 0
    for rid in list(dict.fromkeys([*recorded, *rerun])):
        before, after = recorded.get(rid), rerun.get(rid)
        if before is None and after is None:
            continue  # failed then and now: nothing to compare
        if before is None or after is None:
            state = {True: "ran", False: "did not succeed"}
            diffs.append(
                Difference(rid, "(run)", "run", state[before is not None], state[after is not None])
            )
            continue
        a, b = _keyed(before), _keyed(after)
        for key in list(dict.fromkeys([*a, *b])):
            if key not in a or key not in b:
                diffs.append(
                    Difference(
                        rid,
                        key,
                        "finding",
                        "present" if key in a else "absent",
                        "present" if key in b else "absent",
                    )
                )
                continue
            compared += 1
            for name in COMPARED_NUMBERS:
                x, y = a[key].get(name), b[key].get(name)
                if not numbers_agree(x, y, tolerance):
                    diffs.append(Difference(rid, key, name, x, y))
            for name in COMPARED_TEXT:
                x, y = a[key].get(name), b[key].get(name)
                if x != y:
                    diffs.append(Difference(rid, key, name, x, y))
    return diffs, compared


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------


def _shown(path: Path | None) -> str:
    """A file as the terminal shows it: relative to the current folder when inside it."""
    if path is None:
        return "?"
    path = Path(path).resolve()
    cwd = Path.cwd().resolve()
    return relative(path, cwd) if path.is_relative_to(cwd) else str(path)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    import json

    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.12g}"
    return str(value)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _short_hash(value: str | None) -> str:
    if value is None:
        return "(none)"
    return value[:12] if len(value) == 64 else value


def _table(rows: Sequence[Sequence[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def _heading(words: Text) -> str:
    """A heading of the terminal report, Vietnamese first: "Đầu vào / Inputs"."""
    return f"{words.vi} / {words.en}"


def _heading_en_first(words: Text) -> str:
    """The report's closing verdict, English first (the order this line has always had)."""
    return f"{words.en} / {words.vi}"


def _report(r: Reproduction) -> str:
    inputs, environment = _heading(say("Inputs")), _heading(say("Environment"))
    rerun, findings = _heading(say("Re-run")), _heading(say("Findings"))
    lines = [f"pilot-eval reproduce: {_shown(r.run_dir)}"]
    if r.title:
        lines.append(f"  {r.title}")
    if r.recorded_at:
        lines.append(f"  recorded {r.recorded_at}")
    lines.append("")

    lines.append(
        f"{inputs}: {r.n_inputs} checked (plan, data files, registry, notebooks) — "
        + (f"{len(r.inputs)} differ" if r.inputs else "all as recorded")
    )
    if r.inputs:
        rows = [("", "file / run", "recorded", "now")]
        for m in r.inputs:
            hashed = m.what in ("plan", "data", "registry", "notebook")
            rec = _short_hash(m.recorded) if hashed else (m.recorded or "(none)")
            cur = _short_hash(m.current) if hashed else (m.current or "(none)")
            state = "changed" if m.recorded and m.current else ("new" if m.current else "missing")
            rows.append((f"{m.what} {state}", m.name, rec, cur))
        lines += _table(rows)
    lines.append("")

    lines.append(
        f"{environment}: " + (f"{len(r.environment)} differ" if r.environment else "as recorded")
    )
    if r.environment:
        rows = [("", "recorded", "now")]
        for m in r.environment:
            rows.append((m.name, _short_hash(m.recorded), _short_hash(m.current)))
        lines += _table(rows)
    lines += [f"  note: {n}" for n in r.notes]
    lines.append("")

    status = ", ".join(f"{n} {s}" for s, n in r.rerun_status.items()) or "no runs"
    where = f"into {_shown(r.rerun_dir)}" if r.rerun_dir else "into a temporary folder"
    lines.append(f"{rerun}: {status} in {r.rerun_seconds:.0f} s, {where}")
    lines.append("")

    tolerance = f"{r.tolerance:.0e}".replace("e-0", "e-").replace("e+0", "e")
    rule = f"|Δ| ≤ {tolerance} × max(1, |value|); verdicts equal"
    lines.append(
        f"{findings}: {r.compared} compared ({rule}) — "
        + (
            f"{_count(len(r.changed_findings), 'finding')} "
            f"{'differs' if len(r.changed_findings) == 1 else 'differ'} "
            f"({_count(len(r.differences), 'value')})"
            if r.differences
            else "all reproduced"
        )
    )
    if r.differences:
        rows = [("run", "finding", "field", "recorded", "re-run", "Δ")]
        for d in r.differences:
            delta = d.delta
            rows.append(
                (
                    d.run_id,
                    d.finding,
                    d.field,
                    _value(d.recorded),
                    _value(d.rerun),
                    f"{delta:+.3g}" if delta is not None and math.isfinite(delta) else "",
                )
            )
        lines += _table(rows)
    lines.append("")
    if r.differences:
        not_reproduced = _heading_en_first(say("NOT REPRODUCED"))
        lines.append(
            f"{not_reproduced}: {_count(len(r.changed_findings), 'finding')} "
            "moved beyond the tolerance"
            + (" — see what differs from the record, above" if r.inputs or r.environment else "")
        )
    else:
        reproduced = _heading_en_first(say("Reproduced"))
        lines.append(f"{reproduced}: every finding as recorded")
    return "\n".join(lines) + "\n"
