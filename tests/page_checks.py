"""What a page must be on a phone and on paper, checked in its HTML and stylesheet (no browser):
every table becomes cards or scrolls inside its own box, nothing is set wider than a 390 px
screen, the print stylesheet keeps rows whole, no date in the text is written yyyy-mm-dd, and no
sentence is in English alone.

Used by the demo run (tests/test_demo_run.py) and another district's run
(tests/test_second_district.py); the checks themselves are tested on pages made to fail them
(tests/test_page_checks.py).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

PHONE = 390
_VOID = frozenset("area base br col embed hr img input link meta source track wbr".split())
#: containers the stylesheet lets scroll sideways inside themselves (overflow-x: auto)
SCROLLERS = ("scroll", "output", "markdown")
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


class _Elements(HTMLParser):
    """Every element with its attributes and the classes of its open ancestors."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict[str, str]]] = []
        self.elements: list[tuple[str, dict[str, str], list[tuple[str, dict[str, str]]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.elements.append((tag, a, list(self.stack)))
        if tag not in _VOID:
            self.stack.append((tag, a))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        # what a reader sees: not the stylesheet, and not machine text shown as code (the
        # registry lines a page offers to copy are YAML, whose dates are yyyy-mm-dd)
        if not any(t in ("style", "script", "pre", "code") for t, _ in self.stack):
            self.text.append(data)


def _parse(html: str) -> _Elements:
    p = _Elements()
    p.feed(html)
    p.close()
    return p


def _classes(attrs: dict[str, str]) -> set[str]:
    return set(attrs.get("class", "").split())


def stylesheet(html: str) -> str:
    m = re.search(r"<style>(.*?)</style>", html, flags=re.S)
    return m.group(1) if m else ""


def _block(css: str, opening: str) -> str:
    """The rules inside ``opening{ … }`` (an at-rule), braces balanced."""
    start = css.find(opening)
    if start < 0:
        return ""
    i = css.index("{", start) + 1
    depth, j = 1, i
    while depth and j < len(css):
        depth += {"{": 1, "}": -1}.get(css[j], 0)
        j += 1
    return css[i : j - 1]


def _rule(css: str, selector: str) -> str:
    """The declarations of every rule whose selector list names ``selector``, in order."""
    found = []
    for m in re.finditer(r"([^{}]+)\{([^{}]*)\}", css):
        if selector in [s.strip() for s in m.group(1).split(",")]:
            found.append(m.group(2))
    return ";".join(found)


def table_problems(html: str) -> list[str]:
    """Tables that would widen the page on a phone: neither cards (``table.stack`` with every
    cell labelled by ``data-label``) nor inside a box that scrolls sideways, or a scrolling
    box the stylesheet does not make scroll."""
    css = stylesheet(html)
    screen = re.sub(r"@media[^{]*\{", "", css.split("@page")[0])
    problems = []
    for cls in SCROLLERS:
        if "overflow-x:auto" not in _rule(screen, f".{cls}").replace(" ", ""):
            problems.append(f".{cls} does not scroll inside itself (overflow-x:auto)")
    elements = _parse(html).elements
    tables: dict[int, list] = {}
    for n, (tag, attrs, ancestors) in enumerate(elements):
        if tag == "table":
            tables[n] = [attrs, ancestors, []]
        elif tag == "td":
            owner = max((k for k in tables if k < n), default=None)
            if owner is not None:
                tables[owner][2].append(attrs)
    for n, (attrs, ancestors, cells) in tables.items():
        scrolls = any(_classes(a) & set(SCROLLERS) for _, a in ancestors)
        if "stack" in _classes(attrs):
            unlabelled = [c for c in cells if "data-label" not in c]
            if unlabelled and not scrolls:
                problems.append(f"table {n}: {len(unlabelled)} cells without data-label")
        elif not scrolls:
            problems.append(f"table {n} ({attrs.get('class', '')}) is neither cards nor scrolls")
    return problems


def wide_settings(html: str) -> list[str]:
    """Widths set in the markup above a phone's 390 px (inline styles, width attributes); an
    image may be wider only because the stylesheet scales every image to its column."""
    css = stylesheet(html)
    images_scale = "max-width:100%" in _rule(css, "img").replace(" ", "") or "max-width:100%" in (
        _rule(css, ".output img").replace(" ", "")
    )
    found = []
    for tag, attrs, _ in _parse(html).elements:
        for m in re.finditer(r"(?:min-)?width\s*:\s*(\d+(?:\.\d+)?)px", attrs.get("style", "")):
            if float(m.group(1)) > PHONE:
                found.append(f"<{tag} style={attrs['style']!r}>")
        width = attrs.get("width", "")
        if width.isdigit() and int(width) > PHONE and not (tag == "img" and images_scale):
            found.append(f"<{tag} width={width}>")
    return found


def print_problems(html: str) -> list[str]:
    """What the print stylesheet must do for A4: the page size, rows never split, header rows
    repeated on each sheet, no navigation, images within the page's width."""
    css = stylesheet(html)
    printing = _block(css, "@media print").replace(" ", "")
    problems = []
    if not re.search(r"@page\{[^}]*size:A4", css.replace(" ", "")):
        problems.append("no @page of size A4")
    if not printing:
        return [*problems, "no @media print"]
    rows = _rule(printing, "tr")
    if "break-inside:avoid" not in rows:
        problems.append("table rows may be split across sheets")
    if "display:table-header-group" not in _rule(printing, "thead"):
        problems.append("table headers are not repeated on each sheet")
    hidden = _rule(printing, ".back")
    if "display:none" not in hidden or "display:none" not in _rule(printing, "nav.toc"):
        problems.append("navigation is printed")
    if "max-width:100%" not in _rule(printing, "img"):
        problems.append("images may run past the page")
    if "overflow:visible" not in _rule(printing, ".scroll"):
        problems.append("a scrolling table would be cut at the sheet's edge")
    return problems


def visible_text(html: str) -> str:
    return " ".join(_parse(html).text)


def iso_dates(html: str) -> list[str]:
    """Dates written yyyy-mm-dd in the text a reader sees (with a little context)."""
    text = visible_text(html)
    return [text[max(0, m.start() - 30) : m.end() + 10] for m in _ISO_DATE.finditer(text)]


#: letters only Vietnamese has (a sentence with one of them is not English)
_VIETNAMESE = re.compile(
    "[àáảãạăằắẳẵặâầấẩẫậèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵđ]", re.I
)
#: words that make a run of Latin words an English sentence rather than a name or a method
_ENGLISH = frozenset(
    "the and of is to with was were for this that not are be by on in from it as at which an "
    "no or than its".split()
)
#: elements whose text is a unit of reading (a paragraph, a cell, a heading, a label)
_BLOCKS = frozenset(
    "p div li td th dt dd h1 h2 h3 h4 h5 h6 summary figcaption caption title label".split()
)


class _Reading(HTMLParser):
    """The text of each block a Vietnamese reader reads: not the English beside it (an
    element of class ``en``, or ``em``/``i`` — the pages' English lines), not code."""

    _SKIP = frozenset(("style", "script", "pre", "code", "em", "i"))

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.blocks: list[str] = []
        self._current: list[str] = []

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(text)
        self._current = []

    def handle_starttag(self, tag, attrs):
        if tag in _BLOCKS or tag == "br":
            self._flush()
        if tag in _VOID:
            return
        hidden = tag in self._SKIP or "en" in _classes({k: v or "" for k, v in attrs})
        self.stack.append((tag, hidden))

    def handle_endtag(self, tag):
        if tag in _BLOCKS:
            self._flush()
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not any(hidden for _, hidden in self.stack):
            self._current.append(data)


def english_only(html: str) -> list[str]:
    """Sentences a Vietnamese reader meets in English only: four or more Latin words with two
    or more English function words and no Vietnamese letter, outside the page's English
    lines. A "Vietnamese / English" pair is fine: what follows " / " after Vietnamese text is
    its translation."""
    p = _Reading()
    p.feed(html)
    p.close()
    p._flush()
    found = []
    for block in p.blocks:
        parts = block.split(" / ")
        kept = [parts[0]]
        for part in parts[1:]:
            if not _VIETNAMESE.search(kept[-1]):
                kept.append(part)
        for sentence in re.split(r"(?<=[.;:!?])\s+", " ".join(kept)):
            words = re.findall(r"[A-Za-z]+", sentence)
            if (
                len(words) >= 4
                and not _VIETNAMESE.search(sentence)
                and len({w.lower() for w in words} & _ENGLISH) >= 2
            ):
                found.append(sentence[:160])
    return found
