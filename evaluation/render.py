"""HTML for officials: one report per run (no code) and the index of findings.

Pages are self-contained — figures inline as base64, one small stylesheet inline, no script,
no font, no request to any other machine — so they open offline and travel as e-mail
attachments. They are built from our own Jinja2 templates (``evaluation/templates/``) rather
than nbconvert's, which would add ~260 KB of CSS and a require.js/MathJax loader to each report.

Everything that comes from data, parameters or notebook outputs is escaped: Jinja2 autoescape
for text; markdown through mistune with raw HTML escaped; HTML outputs (pandas tables,
``Estimate`` summaries) through an allow-list sanitiser that rebuilds the markup tag by tag and
drops scripts, styles, event handlers and any address that would be fetched.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "render_report",
    "render_index",
    "sanitize_html",
    "markdown_to_html",
    "warm",
    "format_number",
    "format_pvalue",
]

STATUS_LABELS = {
    "ok": "Hoàn tất / Completed",
    "skipped": "Không đổi / Unchanged",
    "failed": "Lỗi / Failed",
    "timeout": "Quá thời gian / Timed out",
    "pending": "Đang chờ / Waiting",
    "running": "Đang chạy / Running",
    "interrupted": "Bị ngắt / Interrupted",
}

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# --------------------------------------------------------------------------------------------
# Templates, loaded and compiled once per process (the warm server does it before forking)
# --------------------------------------------------------------------------------------------


@cache
def _env():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.PackageLoader("evaluation", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def _template(name: str):
    return _env().get_template(name)


@cache
def _css() -> str:
    return resources.files("evaluation").joinpath("templates/style.css").read_text("utf-8")


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

    renderer = Renderer(escape=True)
    return mistune.create_markdown(
        escape=True, renderer=renderer, plugins=["table", "strikethrough"]
    ), renderer


def warm() -> None:
    """Load and compile everything once (called by the warm server before it forks runs)."""
    for name in ("report.html.j2", "index.html.j2"):
        _template(name)
    _css()
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
_VOID_TAGS = frozenset({"br", "col", "hr", "img"})
# dropped together with everything inside them
_DROP_TAGS = frozenset(
    {
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "svg",
        "math",
        "head",
        "title",
        "textarea",
        "select",
        "canvas",
        "audio",
        "video",
        "form",
    }
)
_ALLOWED_ATTRS = frozenset(
    {
        "class",
        "colspan",
        "rowspan",
        "title",
        "align",
        "valign",
        "scope",
        "alt",
        "width",
        "height",
        "open",
    }
)
_IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp")
_SAFE_HREF = re.compile(r"^(?:https?:|mailto:|#|[^:]*$)", re.I)
_DATA_IMG = re.compile(r"^data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+$")


class _Sanitizer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.stack: list[str] = []
        self.skip = 0

    def _attrs(self, tag: str, attrs: list[tuple[str, str | None]]) -> str:
        parts = []
        for name, value in attrs:
            name = name.lower()
            value = "" if value is None else value
            if name in _ALLOWED_ATTRS:
                pass
            elif name == "href" and tag == "a" and _SAFE_HREF.match(value.strip()):
                pass
            elif name == "src" and tag == "img" and _DATA_IMG.match(value.strip()):
                pass
            else:
                continue
            parts.append(f' {name}="{html.escape(value, quote=True)}"')
        return "".join(parts)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            self.skip += 1
            return
        if self.skip or tag not in _ALLOWED_TAGS:
            return
        if tag == "img" and not any(
            n == "src" and v and _DATA_IMG.match(v.strip()) for n, v in attrs
        ):
            return
        self.out.append(f"<{tag}{self._attrs(tag, attrs)}>")
        if tag not in _VOID_TAGS:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_TAGS:
            return
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS and self.stack and self.stack[-1] == tag and not self.skip:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_TAGS:
            self.skip = max(0, self.skip - 1)
            return
        if self.skip or tag not in self.stack:
            return
        while self.stack:
            top = self.stack.pop()
            self.out.append(f"</{top}>")
            if top == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(html.escape(data, quote=False))

    def result(self) -> str:
        self.close()
        return "".join(self.out) + "".join(f"</{t}>" for t in reversed(self.stack))


def sanitize_html(markup: str) -> str:
    """Rebuild HTML keeping only an allow-list of tags and attributes (tables, text, images
    carried inline). Scripts, styles, event handlers, forms and remote addresses are dropped;
    text is re-escaped; unbalanced tags are closed, so output cannot break the page around it."""
    s = _Sanitizer()
    s.feed(markup)
    return s.result()


# --------------------------------------------------------------------------------------------
# Numbers
# --------------------------------------------------------------------------------------------


def format_number(x: Any) -> str:
    """Readable number: 3 significant figures, thin-space thousands (unambiguous in Vietnamese,
    where ',' is the decimal separator and '.' groups thousands)."""
    if x is None or isinstance(x, bool):
        return "—"
    try:
        x = float(x)
    except (TypeError, ValueError):
        return str(x)
    if not math.isfinite(x):
        return "—"
    ax = abs(x)
    if ax >= 100 or ax == 0:
        s = f"{x:,.0f}"
    elif ax >= 10:
        s = f"{x:,.1f}"
    elif ax >= 1:
        s = f"{x:.2f}"
    elif ax >= 0.001:
        s = f"{x:.3g}"
    else:
        s = f"{x:.2e}"
    return s.replace(",", "\u202f").replace("-", "−")


def format_pvalue(p: Any) -> str:
    if p is None:
        return "—"
    try:
        p = float(p)
    except (TypeError, ValueError):
        return str(p)
    if not math.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


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
        alt = "Biểu đồ / Chart"  # "<Figure size 600x300 with 1 Axes>" tells a reader nothing
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
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


def _param_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, ensure_ascii=False)


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
    cell_index = (error or {}).get("cell_index")
    # counted from 1 for readers; the 0-based index is what the manifest and nbformat use
    where_vi = f" ở ô thứ {cell_index + 1} của notebook đã chạy" if cell_index is not None else ""
    where_en = (
        f" in cell {cell_index + 1} (index {cell_index}) of the executed notebook"
        if cell_index is not None
        else ""
    )
    if status == "timeout":
        alert_vi = f"Phân tích bị dừng vì chạy quá thời gian cho phép{where_vi}."
        alert_en = f"The analysis was stopped for running past its time limit{where_en}."
    else:
        alert_vi = f"Phân tích dừng lại vì lỗi{where_vi}; nội dung phía dưới chỉ đến chỗ lỗi."
        alert_en = f"The analysis stopped at an error{where_en}; what follows ends there."
    commit = meta.get("git_commit") or ""
    return _template("report.html.j2").render(
        css=Markup(_css()),
        title=_title(nb, meta),
        plan_title=meta.get("plan_title", ""),
        ward=meta.get("ward"),
        started=str(meta.get("started", ""))[:16].replace("T", " "),
        duration=_duration(meta.get("duration_s")),
        status=status,
        status_label=STATUS_LABELS.get(status, status),
        alert_vi=alert_vi,
        alert_en=alert_en,
        error=error,
        blocks=blocks,
        parameters=[(k, _param_text(v)) for k, v in (meta.get("parameters") or {}).items()],
        version=meta.get("version", ""),
        commit=commit[:10],
        notebook=Path(str(meta.get("notebook", ""))).name,
        index=meta.get("index"),
    )


# --------------------------------------------------------------------------------------------
# The index
# --------------------------------------------------------------------------------------------


def _sort_key(text: Any) -> str:
    import unicodedata

    s = unicodedata.normalize("NFD", str(text or "")).replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in s if not unicodedata.combining(c)).casefold()


#: verdict categories (evaluation.report.verdict) in the order a reader wants them
CATEGORY_ORDER = ("improved", "worsened", "unclear", "design_limited")
CATEGORY_LABELS = {
    "improved": "Cải thiện / Improved",
    "worsened": "Xấu đi / Worsened",
    "unclear": "Chưa rõ / No clear effect",
    "design_limited": "Chưa đủ để kết luận / Design cannot decide",
}


def _finding_groups(findings: Sequence[Mapping[str, Any]]) -> dict[tuple, list]:
    """Findings by (programme, outcome), in the order the notebooks recorded them — the plan
    lists the district notebooks first, so their headline programmes lead — district-wide
    findings first within a group."""
    groups: dict[tuple, list] = {}
    for f in findings:
        groups.setdefault((f.get("programme"), f.get("outcome")), []).append(f)
    return groups


def _group_label(f: Mapping[str, Any]) -> str:
    # readable names when the notebook recorded them (programme_label, outcome_label)
    prog = f.get("programme_label") or f.get("programme") or "Toàn quận / District"
    return f"{prog} — {f.get('outcome_label') or f.get('outcome')}"


def _finding_row(f: Mapping[str, Any], exists: Callable[[str | None], bool]) -> dict[str, Any]:
    lo, hi = f.get("ci_low"), f.get("ci_high")
    cat = f.get("verdict_category")
    return {
        "ward": f.get("ward") or "Toàn quận / District",
        "estimate": format_number(f.get("estimate")),
        "ci": "—" if lo is None and hi is None else f"[{format_number(lo)}, {format_number(hi)}]",
        "pvalue": format_pvalue(f.get("pvalue")),
        "category": cat,
        "category_label": CATEGORY_LABELS.get(cat, "") if cat else "",
        "verdict_vi": f.get("verdict_vi", ""),
        "verdict_en": f.get("verdict_en", ""),
        "warnings": list(f.get("warnings") or []),
        "method": f.get("method", ""),
        "inference": f.get("inference", ""),
        "report": f.get("report") if exists(f.get("report")) else None,
    }


def render_index(
    manifest: Mapping[str, Any],
    findings: Sequence[Mapping[str, Any]],
    out_dir: str | Path | None = None,
) -> str:
    """The index page: findings by programme and outcome across wards, then problems, then
    every run with links. Says plainly when the batch has not finished."""
    from markupsafe import Markup

    runs = manifest.get("runs", [])
    out_dir = Path(out_dir) if out_dir is not None else None

    def exists(rel: str | None) -> bool:
        return bool(rel) and (out_dir is None or (out_dir / rel).is_file())

    groups, summary = _finding_groups(findings), []
    rows = []
    for items in groups.values():
        label = _group_label(items[0])
        district = [f for f in items if f.get("ward") is None]
        per_ward: dict[str, Mapping[str, Any]] = {}
        for f in items:
            if f.get("ward") is not None:
                per_ward.setdefault(str(f["ward"]), f)  # a ward's first (main) finding
        counts = {}
        for f in per_ward.values():
            cat = f.get("verdict_category")
            if cat:
                counts[cat] = counts.get(cat, 0) + 1
        summary.append(
            {
                "label": label,
                "headline": _finding_row(district[0], exists) if district else None,
                "counts": [
                    {"category": c, "label": CATEGORY_LABELS.get(c, c), "n": counts[c]}
                    for c in CATEGORY_ORDER
                    if counts.get(c)
                ],
                "n_wards": len(per_ward),
                "anchor": f"g{len(summary) + 1}",
            }
        )
        for i, f in enumerate(district + [f for f in items if f.get("ward") is not None]):
            row = _finding_row(f, exists)
            row["group"] = label if i == 0 else None
            row["anchor"] = summary[-1]["anchor"] if i == 0 else None
            rows.append(row)

    def links(r: Mapping[str, Any]) -> list[tuple[str, str]]:
        outs = r.get("outputs") or {}
        pairs = [
            ("Báo cáo / Report", outs.get("html")),
            ("Notebook", outs.get("notebook")),
            ("JSON", outs.get("results")),
        ]
        return [(label, href) for label, href in pairs if href and exists(href)]

    problems, run_rows = [], []
    for r in runs:
        status = r.get("status", "pending")
        run_rows.append(
            {
                "id": r.get("id"),
                "ward": r.get("ward") or "",
                "status": status,
                "status_label": STATUS_LABELS.get(status, status),
                "duration": _duration(r.get("duration_s")),
                "links": links(r),
            }
        )
        if status in ("failed", "timeout", "interrupted"):
            err = r.get("error") or {}
            problems.append(
                {
                    "id": r.get("id"),
                    "notebook_name": Path(str(r.get("notebook") or "")).name,
                    "ward": r.get("ward"),
                    "status": status,
                    "status_label": STATUS_LABELS.get(status, status),
                    "ename": err.get("ename"),
                    "evalue": err.get("evalue"),
                    "cell_index": err.get("cell_index"),
                    "cell_source": err.get("cell_source"),
                    "links": links(r),
                }
            )
    counts = []
    for status in ("ok", "skipped", "failed", "timeout", "interrupted", "running", "pending"):
        n = sum(r.get("status") == status for r in runs)
        if n:
            counts.append({"status": status, "label": STATUS_LABELS[status], "n": n})
    env = manifest.get("environment") or {}
    data = manifest.get("data") or {}
    batch_status = manifest.get("status", "running")
    downloads = []
    if batch_status == "finished":
        downloads = [
            (label, href)
            for label, href in (
                ("findings.xlsx (Excel)", "findings.xlsx"),
                ("findings.csv", "findings.csv"),
                ("manifest.json", "manifest.json"),
            )
            if exists(href)
        ]
    return _template("index.html.j2").render(
        css=Markup(_css()),
        title=manifest.get("title") or "pilot-eval",
        started=str(manifest.get("started") or "")[:16].replace("T", " "),
        finished=str(manifest.get("finished") or "")[:16].replace("T", " "),
        batch_status=batch_status,
        n_runs=len(runs),
        counts=counts,
        rows=rows,
        summary=summary,
        problems=problems,
        runs=run_rows,
        downloads=downloads,
        version=env.get("evaluation", ""),
        commit=(env.get("git_commit") or "")[:10],
        python=env.get("python", ""),
        data_folder=data.get("folder"),
        n_data_files=len(data.get("files") or {}),
    )
