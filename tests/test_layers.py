"""The package's structure: one-way layers, no import circle, a lean public API.

The contracts live in pyproject.toml (``[tool.importlinter]``, explained in
docs/ARCHITECTURE.md); ``make lint`` runs them with ``lint-imports`` and this test runs the same
command, so an import against the layers fails CI. A second test keeps the contracts honest the
other way: every pair of layers they permit must be one the code uses, so the contract says
what the code does rather than everything it might.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import evaluation as ev

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contract_holds():
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.skip("import-linter is not installed (it is in the test extra)")
    run = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert "0 broken" in run.stdout


def _contracts() -> list[dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return config["tool"]["importlinter"]["contracts"]


def _layer_of(module: str, layers: list[str]) -> str | None:
    for layer in layers:
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def test_every_pair_of_layers_the_contracts_permit_is_used():
    grimp = pytest.importorskip("grimp")
    contracts = {c["id"]: c for c in _contracts()}
    layers = [name.strip() for entry in contracts["layers"]["layers"] for name in entry.split("|")]
    side = ["evaluation.synthetic", "evaluation.validation"]
    graph = grimp.build_graph("evaluation")
    used: set[tuple[str, str]] = set()
    for module in graph.modules:
        a = _layer_of(module, layers + side)
        for imported in graph.find_modules_directly_imported_by(module):
            b = _layer_of(imported, layers + side)
            if a and b and a != b:
                used.add((a, b))
    permitted: set[tuple[str, str]] = set()
    for a in layers + side:
        short = a.removeprefix("evaluation.")
        uses = contracts.get(f"{short}-uses")
        if a in layers:
            below = layers[layers.index(a) + 1 :]
            if a == "evaluation.errors":
                below = []
        else:
            below = [b for b in layers + side if b != a]
        forbidden = set(uses["forbidden_modules"]) if uses else set()
        permitted |= {(a, b) for b in below if b not in forbidden}
    unused = sorted(permitted - used)
    assert not unused, (
        "the contracts permit imports the code does not make — add the lower layer to the "
        f"`forbidden_modules` of the importer's `*-uses` contract in pyproject.toml: {unused}"
    )
    assert used <= permitted  # lint-imports says which import breaks which contract


def test_no_module_imports_itself_through_another():
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("evaluation")
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(imported=module, importer=imported):
                circles.append((module, imported))
    assert not circles, f"import circles (module ↔ module): {circles[:10]}"


def _type_checking_names() -> set[str]:
    tree = ast.parse((ROOT / "evaluation" / "__init__.py").read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom):
                    names |= {alias.asname or alias.name for alias in stmt.names}
    return names


def test_the_public_api_is_lean_and_visible_to_type_checkers():
    exported = set(ev._EXPORTS)
    # 27 verbs, and the five that let an analyst redo a page's number (notebooks/explore.ipynb)
    assert len(exported) <= 32, sorted(exported)
    assert _type_checking_names() == exported
    for name in exported:
        assert getattr(ev, name) is not None
    # plumbing stays in its modules
    for plumbing in ("run_batch", "load_plan", "record_findings", "finding", "choose_inference"):
        assert plumbing not in exported
    with pytest.raises(AttributeError):
        ev.run_batch  # noqa: B018


def test_the_readme_lists_the_public_api():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [name for name in ev._EXPORTS if f"ev.{name}" not in readme]
    assert not missing, f"README does not mention: {missing}"
