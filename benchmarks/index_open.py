"""How big an index page is, how long it takes to open in a browser, and how fast its ward
finder answers a keystroke.

    .venv/bin/python -m tests.city_findings 580 30 /tmp/city580       # a city's index page
    .venv/bin/python benchmarks/index_open.py output/index.html /tmp/city580/index.html

Each page is opened in headless Chromium inside a frame 390 px wide (a phone's width; headless
Chromium lays out no narrower than ~500 px on its own), ``--repeat`` times, a fresh browser each
time. A small wrapper page times, from its own start: the frame's ``load`` event (read, parse,
the finder's script, first layout) and a full layout forced after it; then a search typed into
the finder (``--query``), the time of its ``input`` handler plus the layout it causes. The
medians are printed with the page's size and its table rows.

Chromium's command line cannot slow the CPU down (that needs the DevTools protocol), so the
figures are this machine's; a mid-range phone's CPU is about 4× slower — the factor
Lighthouse's mobile emulation uses — and the script prints that estimate beside them.
Skips (exit 0, says why) without Chromium.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

PHONE_SLOWDOWN = 4.0

_WRAPPER = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" style="width:390px;height:844px;border:0"></iframe><pre id="out"></pre>
<script>
var f = document.getElementById("f"), t0 = performance.now();
f.onload = function () {
  var loaded = performance.now() - t0, d = f.contentDocument;
  d.body.offsetHeight;
  var laid = performance.now() - t0, box = d.getElementById("ward-q"), typed = null;
  if (box) {
    var t = performance.now();
    box.value = QUERY;
    box.dispatchEvent(new Event("input"));
    d.body.offsetHeight;
    typed = performance.now() - t;
  }
  document.getElementById("out").textContent = "RESULT" + JSON.stringify({
    load_ms: loaded, layout_ms: laid, search_ms: typed,
    rows: d.querySelectorAll("tr").length,
    shown: d.querySelectorAll("tr[data-k]:not([hidden])").length});
};
f.src = PAGE;
</script></body></html>
"""


def measure(chromium: str, page: Path, query: str, folder: Path) -> dict:
    wrapper = folder / "wrapper.html"
    wrapper.write_text(
        _WRAPPER.replace("PAGE", json.dumps(page.resolve().as_uri())).replace(
            "QUERY", json.dumps(query)
        ),
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--allow-file-access-from-files",
            "--dump-dom",
            wrapper.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    start = out.find("RESULT")
    if start < 0:
        raise RuntimeError(f"no timing came back for {page}")
    return json.loads(out[start + 6 : out.index("}", start) + 1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("pages", nargs="+", type=Path, help="index.html files")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--query", default="co nhue", help="what to type into the finder")
    args = parser.parse_args(argv)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("index_open: skipped — no Chromium (apt-get install chromium)")
        return 0
    print(
        f"{'page':<42} {'size':>10} {'rows':>6} {'load ms':>8} {'layout ms':>9} "
        f"{'search ms':>9}   phone ×{PHONE_SLOWDOWN:g} (layout, search)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for page in args.pages:
            runs = [measure(chromium, page, args.query, Path(tmp)) for _ in range(args.repeat)]
            med = {
                k: statistics.median(r[k] for r in runs)
                for k in ("load_ms", "layout_ms", "search_ms")
                if all(r[k] is not None for r in runs)
            }
            size = page.stat().st_size
            search = med.get("search_ms")
            phone = f"{med['layout_ms'] * PHONE_SLOWDOWN:,.0f} ms"
            phone += f", {search * PHONE_SLOWDOWN:,.0f} ms" if search is not None else ""
            print(
                f"{str(page)[-42:]:<42} {size:>10,} {runs[0]['rows']:>6} {med['load_ms']:>8.0f} "
                f"{med['layout_ms']:>9.0f} {search if search is not None else float('nan'):>9.1f}"
                f"   {phone}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
