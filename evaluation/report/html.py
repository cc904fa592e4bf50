"""HTML for officials: one report per run (no code); the index is :mod:`evaluation.report.index`.

Pages are self-contained — figures inline as base64, one small stylesheet inline, no script,
no font, no request to any other machine — so they open offline and travel as e-mail
attachments. They are built from our own Jinja2 templates (``evaluation/report/templates/``) rather
than nbconvert's, which would add ~260 KB of CSS and a require.js/MathJax loader to each report.

Everything that comes from data, parameters or notebook outputs is escaped: Jinja2 autoescape
for text; markdown through mistune with raw HTML escaped, and a link to another machine kept
as the text it was written as (a registry name ``[Bấm vào đây](http://…)`` in a heading is no
link); HTML outputs (pandas tables, ``Estimate`` summaries) through an allow-list sanitiser
(nh3, the Python binding of the Rust ``ammonia`` crate, which parses HTML as browsers do) that
drops scripts, styles, event handlers and any address that would be fetched.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evaluation import formats as fmt
from evaluation.i18n import Text, say

__all__ = [
    "css",
    "downloads",
    "markdown_to_html",
    "render_report",
    "runs_and_problems",
    "sanitize_html",
    "status_counts",
    "template",
    "warm",
]

STATUS_LABELS = {
    "ok": " / ".join(say("Completed")),
    "skipped": " / ".join(say("Unchanged")),
    "failed": " / ".join(say("Failed")),
    "timeout": " / ".join(say("Timed out")),
    "pending": " / ".join(say("Waiting")),
    "running": " / ".join(say("Running")),
    "interrupted": " / ".join(say("Interrupted")),
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------------------------
# Templates, loaded and compiled once per process (the warm server does it before forking)
# --------------------------------------------------------------------------------------------


@cache
def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("evaluation.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def template(name: str):
    """A compiled page template of ``evaluation/report/templates``."""
    return _env().get_template(name)


@cache
def css() -> str:
    """The one stylesheet, inlined in every page (its comments, for its readers, left out)."""
    text = resources.files("evaluation.report").joinpath("templates/style.css").read_text("utf-8")
    return re.sub(r"/\*.*?\*/\s*", "", text, flags=re.S)


@cache
def _markdown():
    import mistune

    class Renderer(mistune.HTMLRenderer):
        attachments: Mapping[str, Any] = {}

        def image(self, text: str, url: str, title: str | None = None) -> str:
            # Only images carried inside the notebook; a remote one would be a request.
            if url.startswith("attachment:"):
                for mime, data in (self.attachments.get(url[11:]) or {}).items():
                    if mime in _IMAGE_MIMES:
                        url = f"data:{mime};base64,{_b64(data)}"
                        break
            if url.startswith(tuple(f"data:{m};base64," for m in _IMAGE_MIMES[:2])):
                return f'<img src="{html.escape(url)}" alt="{html.escape(text)}">'
            return f"<em>[{html.escape(text or 'image')}]</em>"

        def link(self, text: str, url: str, title: str | None = None) -> str:
            # A page links only within its run folder. An address to another machine comes
            # from a name ("[Bấm vào đây](http://…)" in a registry) shown in a heading: it
            # stays the text it was written as, never a live link.
            if _EXTERNAL.match(url):
                address = html.escape(url)
                return address if text in (url, address) else f"[{text}]({address})"
            return super().link(text, url, title)

    renderer = Renderer(escape=True)
    return mistune.create_markdown(
        escape=True, renderer=renderer, plugins=["table", "strikethrough"]
    ), renderer


def warm() -> None:
    """Load and compile everything once (called by the warm server before it forks runs)."""
    for name in ("report.html.j2", "index.html.j2"):
        template(name)
    css()
    _markdown()


def markdown_to_html(text: str, attachments: Mapping[str, Any] | None = None) -> str:
    """Markdown → HTML with any raw HTML in it escaped (text from notebooks and displays)."""
    md, renderer = _markdown()
    renderer.attachments = attachments or {}
    try:
        return md(text)
    finally:
        renderer.attachments = {}


# --------------------------------------------------------------------------------------------
# The sanitiser for HTML outputs
# --------------------------------------------------------------------------------------------

_ALLOWED_TAGS = frozenset(
    "a abbr b blockquote br caption code col colgroup dd details div dl dt em figcaption figure "
    "h1 h2 h3 h4 h5 h6 hr i img li ol p pre s small span strong sub summary sup table tbody td "
    "tfoot th thead tr u ul".split()
)
# dropped together with everything inside them
_DROP_TAGS = frozenset(
    "script style iframe object embed noscript template svg math head title textarea select "
    "canvas audio video form".split()
)
_ALLOWED_ATTRS = frozenset(
    "class colspan rowspan title align valign scope alt width height open data-label".split()
)
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_EXTERNAL = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*:|//)", re.I)
_SAFE_HREF = re.compile(r"^(?:https?:|mailto:|#|[^:]*$)", re.I)
_DATA_IMG = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")


def _attribute_filter(tag: str, name: str, value: str) -> str | None:
    """Addresses: links to the web, mail or this page; images only when carried inline."""
    if name == "href":
        return value if _SAFE_HREF.match(value.strip()) else None
    if name == "src":
        return value if tag == "img" and _DATA_IMG.match(value.strip()) else None
    return value


def sanitize_html(markup: str) -> str:
    """Keep only an allow-list of tags and attributes (tables, text, images carried inline).
    Scripts, styles, event handlers, forms and remote addresses are dropped with their
    content; unbalanced tags are closed, so output cannot break the page around it."""
    import nh3

    return nh3.clean(
        markup,
        tags=set(_ALLOWED_TAGS),
        clean_content_tags=set(_DROP_TAGS),
        attributes={"*": set(_ALLOWED_ATTRS), "a": {"href"}, "img": {"src"}},
        url_schemes={"http", "https", "mailto", "data"},
        attribute_filter=_attribute_filter,
        link_rel=None,
        strip_comments=True,
    )


# --------------------------------------------------------------------------------------------
# One run's report
# --------------------------------------------------------------------------------------------

_HIDDEN_TAGS = {
    "parameters",
    "injected-parameters",
    "remove-cell",
    "remove-output",
    "remove_cell",
    "remove_output",
    "hide-output",
    # papermill's "An Exception was encountered" banner: the report has its own alert
    "papermill-error-cell-tag",
}
_MPL_REPR = re.compile(r"^\s*\[?\s*<(?:matplotlib\.|Figure|Axes)|^\s*Text\(")


def _b64(data: Any) -> str:
    if isinstance(data, list):
        data = "".join(data)
    return str(data).replace("\n", "")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _output_blocks(out: Mapping[str, Any]) -> list[dict[str, Any]]:
    kind = out.get("output_type")
    if kind == "stream":
        text = _ANSI.sub("", _text(out.get("text", "")))
        if not text.strip():
            return []
        return [{"kind": "stderr" if out.get("name") == "stderr" else "text", "content": text}]
    if kind == "error":
        tb = _ANSI.sub("", "\n".join(out.get("traceback") or []))
        return [
            {
                "kind": "error",
                "ename": out.get("ename", ""),
                "evalue": out.get("evalue", ""),
                "traceback": tb[-6000:],
            }
        ]
    if kind not in ("display_data", "execute_result"):
        return []
    data = out.get("data") or {}
    meta = out.get("metadata") or {}
    alt = _text(data.get("text/plain", ""))
    if not alt or _MPL_REPR.match(alt):
        # "<Figure size 600x300 with 1 Axes>" tells a reader nothing
        alt = " / ".join(say("Chart"))
    for mime in _IMAGE_MIMES:
        if mime in data:
            width = (
                (meta.get(mime) or {}).get("width") if isinstance(meta.get(mime), dict) else None
            )
            return [
                {
                    "kind": "image",
                    "src": f"data:{mime};base64,{_b64(data[mime])}",
                    "alt": alt[:120],
                    "width": width,
                }
            ]
    if "image/svg+xml" in data:
        import base64

        svg = _text(data["image/svg+xml"]).encode("utf-8")
        # as an <img>, an SVG can neither run scripts nor fetch anything
        return [
            {
                "kind": "image",
                "src": "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii"),
                "alt": alt[:120],
                "width": None,
            }
        ]
    from markupsafe import Markup

    if "text/html" in data:
        return [{"kind": "html", "content": Markup(sanitize_html(_text(data["text/html"])))}]
    if "text/markdown" in data:
        return [
            {"kind": "markdown", "content": Markup(markdown_to_html(_text(data["text/markdown"])))}
        ]
    if "text/plain" in data:
        text = _text(data["text/plain"])
        if kind == "execute_result" and _MPL_REPR.match(text):
            return []  # "[<matplotlib.lines.Line2D at 0x…>]" means nothing to a reader
        return [{"kind": "text", "content": text}]
    return []


def _title(nb: Any, meta: Mapping[str, Any]) -> str:
    base = meta.get("notebook_title") or ""
    if not base:
        for cell in nb.get("cells", []):
            if cell.get("cell_type") == "markdown":
                m = re.search(r"^#\s+(.+)$", _text(cell.get("source", "")), flags=re.M)
                if m:
                    base = m.group(1).strip()
                    break
    base = base or Path(str(meta.get("notebook", "report"))).stem
    ward = meta.get("ward")
    return f"{base} — {ward}" if ward else base


def _duration(seconds: Any) -> str:
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        return ""
    # the number once, in the page's (Vietnamese) format, then the unit in both languages
    if s < 120:
        # TRANSLATORS: seconds (a run's duration, "5,3 giây / s")
        return f"{fmt.number(s, 1)} " + " / ".join(say("s"))
    # TRANSLATORS: minutes (a run's duration, "2,5 phút / min")
    return f"{fmt.number(s / 60, 1)} " + " / ".join(say("min"))


#: parameters that only say where this machine keeps its files
_MACHINE_PARAMETERS = frozenset({"results_path"})


def _param_text(value: Any) -> str:
    """A parameter as a reader sees it; a path only by its last parts — where the files sit on
    the analyst's machine is no business of the page (and would leak user names)."""
    if isinstance(value, str):
        if "/" in value or "\\" in value:
            parts = [p for p in re.split(r"[\\/]+", value) if p and p not in (".", "..")]
            return "…/" + "/".join(parts[-2:]) if len(parts) > 2 or value.startswith("/") else value
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


def _parameters(meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    return [
        (k, _param_text(v))
        for k, v in (meta.get("parameters") or {}).items()
        if k not in _MACHINE_PARAMETERS
    ]


def _report_words() -> dict[str, Text]:
    """The words of a report page's frame (its template), from the catalogue."""
    return {
        "all_reports": say("All reports"),
        "ward": say("Ward"),
        "run_at": say("Run at"),
        "status": say("Status"),
        "incomplete": say("This report is INCOMPLETE."),
        "technical_details": say("Technical details"),
        "technical_messages": say("Technical messages"),
        "run_parameters": say("Run parameters"),
    }


def _alert(status: str, cell_index: int | None) -> Text:
    """Why a report is incomplete: the time limit or an error, and in which cell."""
    if cell_index is None:
        if status == "timeout":
            return say("The analysis was stopped for running past its time limit.")
        return say("The analysis stopped at an error; what follows ends there.")
    # counted from 1 for readers; the 0-based index is what the manifest and nbformat use (the
    # English page gives it too, for the analyst who opens the executed notebook)
    cell = Text(str(cell_index + 1), f"{cell_index + 1} (index {cell_index})")
    if status == "timeout":
        # TRANSLATORS: {cell} is the cell's number, counted from 1
        return say(
            "The analysis was stopped for running past its time limit in cell {cell} of the "
            "executed notebook.",
            cell=cell,
        )
    # TRANSLATORS: {cell} is the cell's number, counted from 1
    return say(
        "The analysis stopped at an error in cell {cell} of the executed notebook; what "
        "follows ends there.",
        cell=cell,
    )


def render_report(
    nb: Mapping[str, Any],
    meta: Mapping[str, Any] | None = None,
    status: str = "ok",
    error: Mapping[str, Any] | None = None,
) -> str:
    """The HTML report of one executed notebook: markdown and outputs, never code.

    ``meta`` may give ``plan_title``, ``notebook``, ``notebook_title``, ``ward``, ``started``,
    ``duration_s``, ``parameters``, ``version``, ``git_commit`` and ``index`` (relative link
    back to the index). A run that did not complete says so at the top, with its error.
    """
    from markupsafe import Markup

    meta = dict(meta or {})
    blocks: list[dict[str, Any]] = []
    for cell in nb.get("cells", []):
        tags = set((cell.get("metadata") or {}).get("tags") or [])
        if tags & _HIDDEN_TAGS:
            continue
        if cell.get("cell_type") == "markdown":
            content = markdown_to_html(_text(cell.get("source", "")), cell.get("attachments"))
            blocks.append({"kind": "markdown", "content": Markup(content)})
        elif cell.get("cell_type") == "code":
            for out in cell.get("outputs") or []:
                blocks.extend(_output_blocks(out))
    alert_vi, alert_en = _alert(status, (error or {}).get("cell_index"))
    commit = meta.get("git_commit") or ""
    return template("report.html.j2").render(
        css=Markup(css()),
        title=_title(nb, meta),
        plan_title=meta.get("plan_title", ""),
        ward=meta.get("ward"),
        started=fmt.datetime_text(meta.get("started")) if meta.get("started") else "—",
        duration=_duration(meta.get("duration_s")),
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        alert_vi=alert_vi,
        alert_en=alert_en,
        words=_report_words(),
        error=error,
        blocks=blocks,
        parameters=_parameters(meta),
        version=meta.get("version", ""),
        commit=commit[:10],
        notebook=Path(str(meta.get("notebook", ""))).name,
        index=meta.get("index"),
    )


# --------------------------------------------------------------------------------------------
# Runs: what the index lists beside the findings (evaluation.report.index)
# --------------------------------------------------------------------------------------------

_PROBLEM_STATUSES = ("failed", "timeout", "interrupted")
_COUNTED_STATUSES = ("ok", "skipped", "failed", "timeout", "interrupted", "running", "pending")

Exists = Callable[[str | None], bool]


def _run_links(run: Mapping[str, Any], exists: Exists) -> list[tuple[str, str]]:
    outs = run.get("outputs") or {}
    pairs = [
        (" / ".join(say("Report")), outs.get("html")),
        ("Notebook", outs.get("notebook")),
        ("JSON", outs.get("results")),
    ]
    return [(label, href) for label, href in pairs if href and exists(href)]


def _cell_words(cell_index: int | None) -> Text | None:
    """Which cell failed: counted from 1 (the English gives the 0-based index too)."""
    if cell_index is None:
        return None
    cell = Text(str(cell_index + 1), f"{cell_index + 1} (index {cell_index})")
    # TRANSLATORS: {cell} is the cell's number, counted from 1
    return say("cell {cell} of the executed notebook", cell=cell)


def runs_and_problems(
    runs: Sequence[Mapping[str, Any]], exists: Exists
) -> tuple[list[dict], list[dict]]:
    """Every run with its links, and the runs that did not succeed with their error."""
    run_rows, problems = [], []
    for r in runs:
        status = r.get("status", "pending")
        label = STATUS_LABELS.get(status, status)
        run_rows.append(
            {
                "id": r.get("id"),
                "ward": r.get("ward") or "",
                "status": status,
                "status_label": label,
                "duration": _duration(r.get("duration_s")),
                "links": _run_links(r, exists),
            }
        )
        if status in _PROBLEM_STATUSES:
            err = r.get("error") or {}
            problems.append(
                {
                    "id": r.get("id"),
                    "notebook_name": Path(str(r.get("notebook") or "")).name,
                    "ward": r.get("ward"),
                    "status": status,
                    "status_label": label,
                    "ename": err.get("ename"),
                    "evalue": err.get("evalue"),
                    "cell_index": err.get("cell_index"),
                    "cell": _cell_words(err.get("cell_index")),
                    "cell_source": err.get("cell_source"),
                    "links": _run_links(r, exists),
                }
            )
    return run_rows, problems


def status_counts(runs: Sequence[Mapping[str, Any]]) -> list[dict]:
    counts = []
    for status in _COUNTED_STATUSES:
        n = sum(r.get("status") == status for r in runs)
        if n:
            counts.append({"status": status, "label": STATUS_LABELS[status], "n": n})
    return counts


def downloads(batch_status: str, exists: Exists) -> list[tuple[str, str]]:
    """The tables and the manifest, offered only once the batch has finished."""
    if batch_status != "finished":
        return []
    return [
        (label, href)
        for label, href in (
            ("findings.xlsx (Excel)", "findings.xlsx"),
            ("findings.csv", "findings.csv"),
            ("manifest.json", "manifest.json"),
        )
        if exists(href)
    ]
