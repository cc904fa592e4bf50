"""The message catalogues: extract, update, compile and check (Babel).

    python scripts/catalogue.py update    extract every say()/say_in() message of evaluation/ into
                                          evaluation/locale/evaluation.pot and merge it into the
                                          vi and en catalogues (new messages untranslated; the
                                          English catalogue's texts are the message ids)
    python scripts/catalogue.py compile   the .po files to .mo (make setup runs it)
    python scripts/catalogue.py check     list untranslated, fuzzy and obsolete messages and
                                          placeholders that differ; exit 1 if any
    python scripts/catalogue.py learn vi FILE.json
                                          set translations from a JSON object {msgid: text}
                                          (messages not yet in the catalogue are refused)

A message id is English with {named} placeholders (evaluation/i18n.py); a translator fills the
Vietnamese ``msgstr`` in evaluation/locale/vi/LC_MESSAGES/evaluation.po. Run ``update`` after
adding or changing a message, translate, then ``check`` (tests/test_catalogue.py runs it too).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "evaluation"
LOCALE = PACKAGE / "locale"
DOMAIN = "evaluation"
LANGS = ("vi", "en")
#: the functions whose first argument is a message id (evaluation.i18n)
KEYWORDS = {"say": (1,), "say_in": (1,)}
METHOD_MAP = [("**.py", "python")]


def po_path(lang: str) -> Path:
    return LOCALE / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extracted() -> Catalog:
    """Every message of the package's source, as a template catalogue (no locations: line
    numbers would change the catalogue at every edit)."""
    template = Catalog(project="pilot-evaluation", domain=DOMAIN, fuzzy=False)
    # Babel's tokenizer warns on stderr about f-strings that are no message at all: silenced
    with contextlib.redirect_stderr(io.StringIO()):
        found = list(
            extract_from_dir(
                str(PACKAGE),
                method_map=METHOD_MAP,
                keywords=KEYWORDS,
                comment_tags=("TRANSLATORS:",),
                strip_comment_tags=True,
            )
        )
    for _file, _line, message, comments, context in found:
        template.add(message, None, auto_comments=comments, context=context)
    return template


def _read(lang: str) -> Catalog:
    path = po_path(lang)
    if not path.is_file():
        return Catalog(locale=lang, domain=DOMAIN, project="pilot-evaluation", fuzzy=False)
    with path.open("rb") as fh:
        return read_po(fh, locale=lang)


#: a fixed header date, so that a catalogue changes only when its messages do
_EPOCH = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
_HEADER = """\
# Messages of the pilot evaluation workbench (evaluation/i18n.py), {lang}.
# Written by scripts/catalogue.py update; translate the msgstr lines, keep every {{placeholder}}.
#"""


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.creation_date = catalog.revision_date = _EPOCH
    catalog.header_comment = _HEADER.format(lang=catalog.locale or "template")
    catalog.last_translator = "pilot-evaluation"
    catalog.language_team = str(catalog.locale or "")
    catalog.version = "1"
    buf = io.BytesIO()
    write_po(buf, catalog, width=100, no_location=True, omit_header=False, sort_output=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(buf.getvalue())
    tmp.replace(path)


def update() -> None:
    template = extracted()
    _write(template, LOCALE / f"{DOMAIN}.pot")
    for lang in LANGS:
        catalog = _read(lang)
        # no fuzzy matching: a changed sentence must be translated again, not guessed
        catalog.update(template, no_fuzzy_matching=True)
        catalog.obsolete.clear()
        if lang == "en":
            for message in catalog:
                if message.id and not message.string:
                    message.string = message.id
        catalog.fuzzy = False
        _write(catalog, po_path(lang))
    print(f"{len(template)} messages; catalogues updated in {LOCALE.relative_to(ROOT)}")


def compile_all() -> None:
    for lang in LANGS:
        catalog = _read(lang)
        mo = po_path(lang).with_suffix(".mo")
        buf = io.BytesIO()
        write_mo(buf, catalog, use_fuzzy=False)
        tmp = mo.with_suffix(".tmp")
        tmp.write_bytes(buf.getvalue())
        tmp.replace(mo)


def problems() -> Iterator[str]:
    """Every message of the source missing from a catalogue, untranslated, fuzzy or obsolete
    there, or whose placeholders differ from its id's."""
    from evaluation.i18n import placeholders

    ids = {m.id for m in extracted() if m.id}
    for lang in LANGS:
        catalog = _read(lang)
        have = {m.id: m for m in catalog if m.id}
        where = po_path(lang).relative_to(ROOT)
        for msgid in sorted(ids - set(have)):
            yield f"{where}: not in the catalogue (run scripts/catalogue.py update): {msgid!r}"
        for msgid, m in sorted(have.items()):
            if msgid not in ids:
                yield f"{where}: no longer used (run scripts/catalogue.py update): {msgid!r}"
            elif not m.string:
                yield f"{where}: untranslated: {msgid!r}"
            elif m.fuzzy:
                yield f"{where}: fuzzy (check the translation, then remove the flag): {msgid!r}"
            elif placeholders(m.string) != placeholders(msgid):
                yield (
                    f"{where}: placeholders {sorted(placeholders(m.string))} differ from the "
                    f"id's {sorted(placeholders(msgid))}: {msgid!r}"
                )


def learn(lang: str, path: Path) -> int:
    """Set the translations of ``path`` (JSON {msgid: text}) in ``lang``'s catalogue."""
    import json

    from evaluation.i18n import placeholders

    pairs = json.loads(path.read_text("utf-8"))
    catalog = _read(lang)
    bad = 0
    for msgid, string in pairs.items():
        message = catalog.get(msgid)
        if message is None:
            print(f"not in the catalogue (run update first): {msgid!r}")
            bad += 1
        elif placeholders(string) != placeholders(msgid):
            print(f"placeholders differ: {msgid!r} → {string!r}")
            bad += 1
        else:
            message.string = string
            message.flags.discard("fuzzy")
    _write(catalog, po_path(lang))
    print(f"{len(pairs) - bad} translation(s) set in {po_path(lang).relative_to(ROOT)}")
    return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("update", "compile", "check", "learn"))
    parser.add_argument("lang", nargs="?", choices=LANGS)
    parser.add_argument("file", nargs="?", type=Path)
    args = parser.parse_args(argv)
    if args.command == "learn":
        if not args.lang or not args.file:
            parser.error("learn needs a language and a JSON file")
        return learn(args.lang, args.file)
    if args.command == "update":
        update()
    elif args.command == "compile":
        compile_all()
    else:
        found = list(problems())
        for p in found:
            print(p)
        print(f"{len(found)} problem(s)")
        return 1 if found else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
