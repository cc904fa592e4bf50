"""Vietnamese by catalogue: every sentence the package writes comes from a gettext catalogue.

The messages are English ids with named placeholders (evaluation/i18n.py); the Vietnamese and
English texts are in evaluation/locale/{vi,en}/LC_MESSAGES/evaluation.po. These tests fail on a
message missing from a catalogue, untranslated, fuzzy or with other placeholders than its id;
on a message id the extractor cannot read (not a literal); and on Vietnamese written in the
code instead of the catalogue (outside the simulators, whose names and texts are data). The
rendered pages are checked for English-only sentences in tests/test_demo_run.py.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest

from evaluation import i18n

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "evaluation"

#: letters only Vietnamese uses (with "đ"): a string holding one is Vietnamese text
VIETNAMESE = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I
)
#: folders whose Vietnamese is data, not a sentence to a reader: the simulators' ward names,
#: data dictionaries and planted texts, the reference tables, the validation studies' reports
DATA_FOLDERS = ("synthetic", "validation", "reference")

#: modules whose Vietnamese literals are data, not sentences: the categories of the input
#: data (premise types of the fire records) and the warm-up cell the batch runs once
DATA_MODULES = {"data/schema.py", "batch/engine.py"}

#: modules whose sentences are still written in code, to be moved into the catalogue: none left
#: (every module's sentences are catalogue messages; a module that writes Vietnamese in code
#: fails test_no_vietnamese_in_code — put it here only while moving it, and say so)
NOT_YET_IN_CATALOGUE: set[str] = set()


def _load_catalogue_script():
    spec = importlib.util.spec_from_file_location("catalogue", ROOT / "scripts" / "catalogue.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["catalogue"] = module
    spec.loader.exec_module(module)
    return module


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _vietnamese_in_code(path: Path) -> list[tuple[int, str]]:
    """Vietnamese string literals of a module that are not docstrings, comments or message ids
    in the catalogue."""
    tree = ast.parse(path.read_text("utf-8"))
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            if VIETNAMESE.search(node.value):
                found.append((node.lineno, node.value[:60]))
    return found


def _modules() -> list[Path]:
    return [
        p
        for p in sorted(PACKAGE.rglob("*.py"))
        if not any(part in DATA_FOLDERS for part in p.relative_to(PACKAGE).parts)
        and p.relative_to(PACKAGE).as_posix() not in DATA_MODULES
    ]


def test_every_message_is_translated_in_both_catalogues():
    catalogue = _load_catalogue_script()
    problems = list(catalogue.problems())
    assert problems == [], "\n".join(problems[:20])


def test_every_message_id_is_a_literal_the_extractor_reads():
    bad = []
    for path in _modules():
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name | ast.Attribute)
                and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr)
                in ("say", "say_in")
            ):
                first = node.args[0] if node.args else None
                if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert bad == [], bad


def test_no_vietnamese_in_code_outside_the_catalogue():
    """A module off the list holds no Vietnamese literal; the list names only modules that
    still do (so that it shrinks as they move)."""
    offenders, done = {}, []
    for path in _modules():
        rel = path.relative_to(PACKAGE).as_posix()
        found = _vietnamese_in_code(path)
        if found and rel not in NOT_YET_IN_CATALOGUE:
            offenders[rel] = found[:3]
        if not found and rel in NOT_YET_IN_CATALOGUE:
            done.append(rel)
    assert offenders == {}, offenders
    assert done == [], f"take these off NOT_YET_IN_CATALOGUE: {done}"


def test_a_missing_or_fuzzy_translation_is_found(tmp_path, monkeypatch):
    catalogue = _load_catalogue_script()
    locale = tmp_path / "locale"
    shutil.copytree(PACKAGE / "locale", locale)
    vi = locale / "vi" / "LC_MESSAGES" / "evaluation.po"
    text = vi.read_text("utf-8")
    first = re.search(r'msgid "(.+)"\nmsgstr "(.+)"\n', text)
    assert first, "the catalogue has a one-line message to blank"
    vi.write_text(text.replace(first.group(0), f'msgid "{first.group(1)}"\nmsgstr ""\n'), "utf-8")
    monkeypatch.setattr(catalogue, "LOCALE", locale)
    monkeypatch.setattr(catalogue, "ROOT", tmp_path)
    problems = list(catalogue.problems())
    assert any("untranslated" in p and first.group(1) in p for p in problems)
    vi.write_text(text.replace(first.group(0), "#, fuzzy\n" + first.group(0)), "utf-8")
    assert any("fuzzy" in p for p in catalogue.problems())


def test_the_catalogue_is_read_without_a_compiled_file(tmp_path, monkeypatch):
    """A plain install from the source tree has no .mo: the .po is read directly."""
    locale = tmp_path / "locale"
    shutil.copytree(PACKAGE / "locale", locale, ignore=shutil.ignore_patterns("*.mo"))
    monkeypatch.setattr(i18n, "LOCALE_DIR", locale)
    i18n.catalogue.cache_clear()
    try:
        words = i18n.say("the conclusion on {what}", what=i18n.say("the pilot"))
        assert words == ("kết luận về thí điểm", "the conclusion on the pilot")
    finally:
        i18n.catalogue.cache_clear()


def test_a_bare_number_is_refused_and_a_text_fills_each_language():
    with pytest.raises(TypeError, match="evaluation.formats"):
        i18n.say("the conclusion on {what}", what=0.25)
    m = i18n.both(lambda x, lang: f"{x:.2f}".replace(".", "," if lang == "vi" else "."), 0.5)
    assert m == ("0,50", "0.50")
    assert i18n.say_in("the pilot", "vi") == "thí điểm"
