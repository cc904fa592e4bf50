"""Every caveat the methods can write has its Vietnamese (evaluation/analysis/caveats.py).

The estimators and the inference write their caveats in English; a page shows each in
Vietnamese from the message catalogue. These tests read the methods' source, render every
caveat they can write (each placeholder filled with a sample value of its format) and fail on
one that has no Vietnamese — so that a new caveat is translated before it can reach a page,
where an untranslated one fails this test (at run time it is labelled, with a warning).
"""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path

import pytest

from evaluation.analysis import caveats
from evaluation.analysis.caveats import (
    UntranslatedCaveat,
    UntranslatedCaveatWarning,
    translate,
    vietnamese,
)
from evaluation.inference.choose import design_limit_warning

PACKAGE = Path(__file__).resolve().parents[1] / "evaluation"
VIETNAMESE = re.compile("[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)

#: where the caveats of an :class:`~evaluation.results.Estimate` are written: the estimators,
#: the inference methods, the panels they prepare, the Bacon decomposition, and the conformal
#: caveat of a single ward's analysis. (HonestDiD's and the power planner's notes, the placebo
#: diagnostics' and the ward levels' are other results' notes, not an estimate's caveats.)
SOURCES = (
    "estimators",
    "inference",
    "data/prepare.py",
    "diagnostics/bacon.py",
    "analysis/single_ward.py",
)
NOT_CAVEATS = ("inference/honest_did",)


def _sample(value: ast.FormattedValue, known: dict[str, str]) -> str:
    if isinstance(value.value, ast.Name) and value.value.id in known:
        return known[value.value.id]
    spec = ast.unparse(value.format_spec) if value.format_spec else ""
    if "%" in spec:
        return "5%"
    if "f" in spec or "g" in spec:
        return "0.077"
    return "'auto'" if value.conversion == ord("r") else "3"


def _render(node: ast.expr, known: dict[str, str]) -> str | None:
    """The text of a string expression with each placeholder filled by a sample — or, for a
    variable the function set to a string, by that string (``known``) — None when the
    expression is not a string written here."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name):
        return known.get(node.id)
    if isinstance(node, ast.JoinedStr):
        parts = [v.value if isinstance(v, ast.Constant) else _sample(v, known) for v in node.values]
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _render(node.left, known), _render(node.right, known)
        return left + right if left is not None and right is not None else None
    if isinstance(node, ast.IfExp):  # the longer form: the caveat with its optional part
        return _render(node.body, known)
    return None


def _strings_set(fn: ast.FunctionDef) -> dict[str, str]:
    """The variables a function sets to a string (``what = f"…"``), rendered."""
    known: dict[str, str] = {}
    for node in ast.walk(fn):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                text = _render(node.value, known)
                if text is not None:
                    known[target.id] = text
    return known


def _name(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else getattr(node, "attr", "")


def _files() -> list[Path]:
    out = []
    for source in SOURCES:
        path = PACKAGE / source
        for p in [path] if path.is_file() else sorted(path.rglob("*.py")):
            if not any(p.relative_to(PACKAGE).as_posix().startswith(x) for x in NOT_CAVEATS):
                out.append(p)
    return out


def written_caveats() -> list[tuple[str, str]]:
    """(where, text) of every English caveat the methods' source can write: appended to a list
    of warnings or notes, given as ``warnings=[…]``, or returned by a ``…_warning`` function;
    the situations passed to ``design_limit_warning`` give its caveat once each."""
    found = []
    for path in _files():
        rel = path.relative_to(PACKAGE).as_posix()
        for fn in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not isinstance(fn, ast.FunctionDef):
                continue
            warns = "warning" in fn.name and fn.name != "design_limit_warning"
            known = _strings_set(fn)
            for node in ast.walk(fn):
                texts: list[ast.expr] = []
                if isinstance(node, ast.Call) and _name(node.func) == "append":
                    target = _name(node.func.value)
                    if "warn" in target or "notes" in target or (warns and target == "out"):
                        texts += node.args
                if isinstance(node, ast.Call):
                    texts += [
                        e
                        for kw in node.keywords
                        if kw.arg == "warnings" and isinstance(kw.value, ast.List)
                        for e in kw.value.elts
                    ]
                    if _name(node.func) == "design_limit_warning" and len(node.args) == 3:
                        situation = _render(node.args[2], known)
                        if situation is not None:
                            found.append(
                                (f"{rel}:{node.lineno}", design_limit_warning(0.2, 0.95, situation))
                            )
                if warns and isinstance(node, ast.Return) and node.value is not None:
                    texts.append(node.value)
                for t in texts:
                    text = _render(t, known)
                    if text and not VIETNAMESE.search(text):  # a finding's notes are bilingual
                        found.append((f"{rel}:{t.lineno}", text))
    return found


def test_the_source_reader_finds_the_caveats_of_every_kind_of_method():
    where = {w.split(":")[0] for w, _ in written_caveats()}
    for module in (
        "estimators/twfe.py",
        "estimators/synth.py",
        "estimators/att_gt/preprocess.py",
        "inference/choose.py",
        "inference/conformal.py",
        "data/prepare.py",
        "diagnostics/bacon.py",
    ):
        assert module in where, module


def test_every_caveat_the_methods_can_write_has_its_vietnamese():
    untranslated = [f"{where}: {text}" for where, text in written_caveats() if not _has(text)]
    assert untranslated == [], "\n".join(untranslated)


def _has(text: str) -> bool:
    try:
        return translate(text) is not None
    except UntranslatedCaveat:
        return False


def test_an_untranslated_caveat_warns_and_is_labelled_never_fails_the_page():
    """The test above keeps every caveat translated; one that still arrives at run time is
    shown under a Vietnamese label with a warning, and the report is not lost for it."""
    with pytest.warns(UntranslatedCaveatWarning, match="no Vietnamese"):
        v = vietnamese("A caveat nobody has translated yet.")
    assert v == "Lưu ý kỹ thuật, chưa có bản tiếng Việt: A caveat nobody has translated yet."
    # a design-limit caveat in a situation without Vietnamese is untranslated too
    with pytest.warns(UntranslatedCaveatWarning):
        vietnamese(design_limit_warning(0.2, 0.95, "with two moons"))
    assert not _has("A caveat nobody has translated yet.")
    assert not _has(design_limit_warning(0.2, 0.95, "with two moons"))


def test_a_caveat_keeps_its_numbers_in_vietnamese_forms():
    v = vietnamese(design_limit_warning(0.077, 0.95, "with 1 treated of 13 units"))
    assert "với 1 phường triển khai trong tổng số 13 phường" in v and "p = 0,077" in v
    v = vietnamese(
        "Poor pre-period fit: the synthetic control misses the treated unit by 1.25 on average "
        "(pre-period RMSPE), 40% of the outcome's spread (3.1); the treated unit is above every "
        "control in 60% of the pre-periods, i.e. outside the range (convex hull) the controls "
        "can reproduce. The estimate then reflects the mismatch as much as the programme: "
        "compare with synthetic DiD (ev.synthetic_did, which allows a level difference) or DiD."
    )
    assert "1,25" in v and "40%" in v and "(3,1)" in v and "cao hơn" in v and "60%" in v


def test_every_pattern_is_a_message_in_the_catalogue():
    """Each pattern's Vietnamese is the catalogue's, not English: a caveat rendered from its
    own pattern's example reads in Vietnamese."""
    for where, text in written_caveats():
        assert VIETNAMESE.search(vietnamese(text)), (where, vietnamese(text))
    assert len(caveats.CATALOGUE) >= 20


def test_the_caveats_of_the_rank_and_conformal_tests_read_in_vietnamese():
    """The caveats these tests write, from their own functions: every flag raised, one treated
    ward and a group of them."""
    from evaluation.inference import conformal, rank_test

    res = {"empty": True, "min_pvalue": 0.2, "n_sets": 4, "ci_low": -math.inf}
    written = [w for n in (1, 3) for w in rank_test.result_warnings(res, n, 0.95)]
    res = {"nonconvex": True, "pvalue": 0.01, "empty": True, "open": True, "min_pvalue": 0.2}
    written += conformal.result_warnings(res, 0.95, 12)
    assert len(written) == 8
    said = [vietnamese(w) for w in written]
    assert all(VIETNAMESE.search(s) for s in said), said
    assert any("với một nhóm 3 phường triển khai và 4 phép so sánh giả dược" in s for s in said)
    assert any("với 12 kỳ số liệu để hoán vị" in s for s in said)
