"""Every sentence a reader sees, from a gettext message catalogue — in Vietnamese and English.

The package writes its sentences in English as gettext message ids, with named placeholders;
the Vietnamese (and English) texts live in catalogues a translator can review without reading
code: ``evaluation/locale/{vi,en}/LC_MESSAGES/evaluation.po``, extracted with Babel
(``make messages``: ``pybabel extract`` then ``pybabel update``) and compiled at install
(``make setup`` runs ``pybabel compile``; where no compiled ``.mo`` is present — a plain
``pip install`` of a source tree — the ``.po`` is read directly).

A page shows both languages, Vietnamese first, so a message is looked up in both at once::

    from evaluation.i18n import say, say_in

    words = say("Evidence of an effect: {name} {move} by about {size}.", name=name, ...)
    words.vi, words.en          # or: vi, en = words
    say_in("No estimate", lang)     # one language

A placeholder's value is a :class:`Text` (its Vietnamese part fills the Vietnamese sentence, its
English part the English one) or a plain ``str`` (names, codes: the same in both). Numbers and
dates are formatted by :mod:`evaluation.formats` for each language first — a bare number is
refused, so that no sentence prints "0.25" on a Vietnamese page. The message id must be a
literal string (the extractor reads it from the source; ``tests/test_catalogue.py`` checks).
"""

from __future__ import annotations

import gettext
import string
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

__all__ = ["DOMAIN", "LANGS", "LOCALE_DIR", "Text", "both", "catalogue", "say", "say_in", "text"]

DOMAIN = "evaluation"
LANGS = ("vi", "en")
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


class Text(NamedTuple):
    """One sentence (or phrase) in both languages; unpacks as ``(vi, en)``."""

    vi: str
    en: str

    def lang(self, lang: str) -> str:
        """The text in ``lang`` ("vi" or "en")."""
        return self.vi if lang == "vi" else self.en

    def __add__(self, other: Any) -> Text:  # type: ignore[override]
        """Two texts joined language by language (a str joins both)."""
        if isinstance(other, Text):
            return Text(self.vi + other.vi, self.en + other.en)
        if isinstance(other, str):
            return Text(self.vi + other, self.en + other)
        return NotImplemented

    def __radd__(self, other: Any) -> Text:
        if isinstance(other, str):
            return Text(other + self.vi, other + self.en)
        return NotImplemented


def both(format_: Any, /, *args: Any, **kwargs: Any) -> Text:
    """A value formatted for each language: ``both(fmt.number, 0.25, 2)`` → ("0,25", "0.25")
    (``format_`` takes the language as its ``lang`` keyword)."""
    return Text(*(format_(*args, lang=lang, **kwargs) for lang in LANGS))


def text(value: str) -> Text:
    """A value that is the same in both languages (a ward's name, a code)."""
    return Text(value, value)


@cache
def catalogue(lang: str) -> dict[str, str]:
    """The message id → text mapping of ``lang``: the compiled ``.mo`` when it is present and
    not older than the ``.po``, else the ``.po`` read directly (untranslated and fuzzy entries
    are left out, so they fall back to the English id)."""
    folder = LOCALE_DIR / lang / "LC_MESSAGES"
    po, mo = folder / f"{DOMAIN}.po", folder / f"{DOMAIN}.mo"
    if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as fh:
            translations = gettext.GNUTranslations(fh)
        return {k: v for k, v in translations._catalog.items() if isinstance(k, str) and k}
    if not po.is_file():
        return {}
    from babel.messages.pofile import read_po

    with po.open("rb") as fh:
        cat = read_po(fh, locale=lang)
    return {
        m.id: m.string for m in cat if m.id and isinstance(m.id, str) and m.string and not m.fuzzy
    }


_FIELDS = string.Formatter()


def _fill(template: str, lang: str, values: dict[str, Any]) -> str:
    if not values:
        return template
    own = {}
    for name, value in values.items():
        if isinstance(value, Text):
            own[name] = value.lang(lang)
        elif isinstance(value, str):
            own[name] = value
        else:
            raise TypeError(
                f"placeholder {{{name}}} got {type(value).__name__} {value!r}: format numbers "
                "and dates for each language with evaluation.formats and pass a Text"
            )
    return template.format(**own)


def say(msgid: str, /, **values: Any) -> Text:
    """The message ``msgid`` (English, with ``{named}`` placeholders) in both languages."""
    return Text(*(_fill(catalogue(lang).get(msgid, msgid), lang, values) for lang in LANGS))


def say_in(msgid: str, lang: str, /, **values: Any) -> str:
    """The message ``msgid`` in one language ("vi" or "en")."""
    return _fill(catalogue(lang).get(msgid, msgid), lang, values)


def placeholders(message: str) -> set[str]:
    """The named placeholders of a message ("{name} {size}" → {"name", "size"})."""
    return {f for _, f, _, _ in _FIELDS.parse(message) if f}
