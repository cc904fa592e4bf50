"""Look at a run folder's pages as officials do: on a desk screen, on a phone, on paper.

    python scripts/screenshots.py output --out /tmp/shots [--ward "Cổ Nhuế 2"]

For each kind of page (the index, a ward report and every district notebook's report) it

- screenshots the whole page at 1280 px and at a true 390 px viewport — headless Chromium lays
  out no narrower than about 500 px, so the page is loaded in a 390 px-wide iframe inside a
  wrapper page, and the wrapper is photographed in tiles that are stitched together;
- measures the page's width at 390 px (``scrollWidth``: more than 390 means the page scrolls
  sideways) and names the elements that stick out;
- prints the page to A4 PDF (the page's own ``@media print``) and, with ``pdftoppm``, turns each
  printed sheet into a PNG to look at.

It writes ``widths.json`` (page → measured widths and the elements past the edge) beside the
images and prints one line per page. Without Chromium it says so and exits 0: `make test` runs
where there is none. The tests use :func:`find_chromium` and :func:`measure`.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

PHONE = 390
DESK = 1280
#: the height of one screenshot tile in CSS pixels (Chromium's own limit is far above it)
TILE = 3000
_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--allow-file-access-from-files",
    "--force-device-scale-factor=1",
    "--virtual-time-budget=8000",
)

#: run inside the wrapper once the page in the iframe has loaded: its size at that width, and
#: the elements whose right edge passes the viewport (the outermost of each, not their children)
_MEASURE_JS = """
var f = document.getElementById('page');
f.onload = function () {
  var d = f.contentDocument, w = f.clientWidth, out = [];
  d.querySelectorAll('body *').forEach(function (el) {
    var r = el.getBoundingClientRect();
    if (r.right > w + 1 && r.width > 0) {
      var p = el.parentElement, inner = false;
      while (p && p !== d.body) {
        var pr = p.getBoundingClientRect(), s = d.defaultView.getComputedStyle(p);
        if (pr.right > w + 1 || /auto|scroll|hidden/.test(s.overflowX)) { inner = true; break; }
        p = p.parentElement;
      }
      if (!inner) out.push(el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
        ? '.' + String(el.className).trim().split(/\\s+/).join('.') : '') + ' ' +
        Math.round(r.right) + 'px: ' + (el.textContent || '').trim().slice(0, 60));
    }
  });
  var pre = document.createElement('pre');
  pre.id = 'measured';
  pre.textContent = JSON.stringify({width: d.documentElement.scrollWidth,
    height: d.documentElement.scrollHeight, wider: out.slice(0, 20)});
  document.body.appendChild(pre);
};
"""


def find_chromium() -> str | None:
    """The path of a Chromium (or Chrome) on this machine, or None."""
    for name in _BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def _wrapper(page: Path, width: int, height: int, top: int = 0, script: str = "") -> str:
    src = page.resolve().as_uri()
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'></head>"
        "<body style='margin:0;overflow:hidden;background:#fff'>"
        f"<div style='width:{width}px;height:{height}px;overflow:hidden;position:relative'>"
        f"<iframe id='page' src='{src}' style='border:0;position:absolute;left:0;top:{-top}px;"
        f"width:{width}px;height:{top + height}px'></iframe></div>"
        f"<script>{script}</script></body></html>"
    )


def _chromium(browser: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [browser, *_FLAGS, *args], capture_output=True, text=True, timeout=timeout
    )


def measure(browser: str, page: Path, width: int = PHONE) -> dict:
    """The page laid out in a ``width``-px viewport: ``width`` (its scrollWidth), ``height``
    and ``wider`` (the elements whose right edge passes the viewport)."""
    with tempfile.TemporaryDirectory() as tmp:
        wrapper = Path(tmp) / "measure.html"
        wrapper.write_text(_wrapper(page, width, 800, script=_MEASURE_JS), "utf-8")
        done = _chromium(browser, "--dump-dom", wrapper.as_uri())
    m = re.search(r'<pre id="measured">(.*?)</pre>', done.stdout, flags=re.S)
    if m is None:
        raise RuntimeError(f"Chromium did not measure {page}: {done.stderr[-500:]}")
    import html

    return json.loads(html.unescape(m.group(1)))


def screenshot(browser: str, page: Path, width: int, height: int, png: Path) -> Path:
    """The whole page at ``width`` px, photographed in tiles of :data:`TILE` px and stitched."""
    from PIL import Image

    tiles = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, top in enumerate(range(0, max(height, 1), TILE)):
            h = min(TILE, height - top)
            wrapper = Path(tmp) / f"tile{i}.html"
            wrapper.write_text(_wrapper(page, width, h, top), "utf-8")
            shot = Path(tmp) / f"tile{i}.png"
            _chromium(
                browser, f"--screenshot={shot}", f"--window-size={width},{h}", wrapper.as_uri()
            )
            tiles.append(Image.open(shot).convert("RGB").crop((0, 0, width, h)))
    image = Image.new("RGB", (width, height), "white")
    top = 0
    for tile in tiles:
        image.paste(tile, (0, top))
        top += tile.height
    image.save(png, optimize=True)
    return png


def print_pdf(browser: str, page: Path, pdf: Path) -> list[Path]:
    """The page printed (A4, its own print stylesheet); each sheet as a PNG when pdftoppm is
    installed."""
    _chromium(browser, f"--print-to-pdf={pdf}", "--no-pdf-header-footer", page.resolve().as_uri())
    if not shutil.which("pdftoppm") or not pdf.exists():
        return []
    prefix = pdf.with_suffix("")
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), f"{prefix}-sheet"], check=True)
    return sorted(pdf.parent.glob(f"{prefix.name}-sheet*.png"))


def pages_of(run: Path, ward: str | None = None) -> dict[str, Path]:
    """One page of each kind in a run folder: the index, one ward report (``ward``'s, else the
    first), and each other notebook's report."""
    pages = {"index": run / "index.html"}
    reports = sorted((run / "reports").glob("*.html"))
    wards = [p for p in reports if p.name.startswith("ward_report--")]
    if wards:
        chosen = wards[0]
        if ward:
            from evaluation.batch.plan import slug

            chosen = next((p for p in wards if p.stem.endswith(slug(ward))), chosen)
        pages[chosen.stem] = chosen
    for p in reports:
        if not p.name.startswith("ward_report--"):
            pages[p.stem] = p
    return {k: v for k, v in pages.items() if v.exists()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("run", type=Path, help="a run folder (index.html, reports/)")
    ap.add_argument("--out", type=Path, required=True, help="where the images go")
    ap.add_argument("--ward", help="the ward whose report to look at (default: the first)")
    ap.add_argument("--no-print", action="store_true", help="skip the PDFs")
    args = ap.parse_args(argv)
    browser = find_chromium()
    if browser is None:
        print("screenshots: skipped — no Chromium on this machine (apt-get install chromium)")
        return 0
    if not (args.run / "index.html").exists():
        print(f"screenshots: {args.run} is not a run folder (no index.html)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    widths = {}
    for name, page in pages_of(args.run, args.ward).items():
        phone = measure(browser, page, PHONE)
        desk = measure(browser, page, DESK)
        screenshot(browser, page, DESK, desk["height"], args.out / f"{name}-{DESK}.png")
        screenshot(browser, page, PHONE, phone["height"], args.out / f"{name}-{PHONE}.png")
        sheets = [] if args.no_print else print_pdf(browser, page, args.out / f"{name}.pdf")
        widths[name] = {"phone": phone, "desk": desk, "sheets": len(sheets)}
        flag = "OK " if phone["width"] <= PHONE else "WIDE"
        print(
            f"{flag} {name}: {phone['width']} px wide at {PHONE} px, {desk['width']} at {DESK}; "
            f"{len(sheets)} printed sheets"
        )
        for el in phone["wider"][:5]:
            print(f"     past the edge: {el}")
    (args.out / "widths.json").write_text(json.dumps(widths, ensure_ascii=False, indent=1), "utf-8")
    print(f"screenshots: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
