"""Names from files people exchange reach every table and page as text (issue 19).

The registry's programme names, notes and wave labels, ward names, data notes and a plan's
parameters carry formula, DDE and markup payloads through ``pilot-eval validate``, ``pilot-eval
run`` and ``pilot-eval batch``. Then no workbook cell is a formula (read back with openpyxl), no
CSV text field starts with a formula trigger (OWASP: ``= + - @`` tab, carriage return), every
original text is recovered exactly, no page carries the markup unescaped, and the validation
report neither starts a line with a trigger nor lets a control character through.

And a path typed is a path from where it was typed: ``pilot-eval run
notebooks/district_summary.ipynb -p data_dir data/demo`` works from the project folder.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import openpyxl
import pytest
import yaml

from evaluation.batch.paths import is_path_parameter, recorded_parameters
from evaluation.batch.plan import (
    plan_for_notebook,
    plan_from_dict,
)
from evaluation.cli import main
from evaluation.errors import PlanError
from evaluation.report.cells import TRIGGERS, append_row, csv_field, csv_text, is_number_text
from evaluation.report.workbook import write_findings_tables

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"

#: The payloads tried (the closing note of issue 19 lists them)
HYPERLINK = '=HYPERLINK("http://example.invalid/x","Bấm vào đây")'
DDE_AT = "@SUM(1+1)*cmd|' /C calc'!A0"
DDE = "=cmd|' /C calc'!A0"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
MD_LINK = "[Bấm vào đây](http://example.invalid/x)"  # markdown: a live link in a heading
PAYLOADS = (HYPERLINK, DDE_AT, "+1+1", "-1+1", DDE, "\t=1+1", "\r=1+1", SCRIPT, IMG)
#: ASCII-hyphen text is a trigger; a quote first must survive the round trip
OTHER_TEXT = ("-4 (ước tính)", "'=1+1", "a,=1+1", "a;=1+1", 'say "=1+1"')


# --------------------------------------------------------------------------------------------
# What every output must satisfy
# --------------------------------------------------------------------------------------------


def csv_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")))


def original(field: str) -> str:
    """What a reader of findings.csv does (data/README.md): remove one leading quote."""
    return field[1:] if field.startswith("'") else field


def assert_tables_hold_no_formula(out: Path) -> tuple[list[list[str]], list[str]]:
    """No formula cell in any sheet; no trigger-led text in the CSV. Returns (csv rows, the
    texts of the workbook's cells)."""
    wb = openpyxl.load_workbook(out / "findings.xlsx")
    texts = []
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                if isinstance(cell.value, str):
                    assert cell.data_type in ("s", "inlineStr"), (ws.title, cell.coordinate)
                    texts.append(cell.value)
                    if cell.value.startswith(TRIGGERS):  # editing it in Excel keeps it text
                        assert cell.quotePrefix, (ws.title, cell.coordinate, cell.value)
    rows = csv_rows(out / "findings.csv")
    for row in rows:
        for field in row:
            if not is_number_text(field):
                assert not field.startswith(TRIGGERS), field
    return rows, texts


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.bad: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or "alert(1)" in (value or ""):
                self.bad.append(f"<{tag} {name}={value!r}>")
            if name in ("href", "src") and "example.invalid" in (value or ""):
                self.bad.append(f"<{tag} {name}={value!r}>")  # a name became an address

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and "alert(1)" in data:
            self.bad.append(f"<script>{data}")


def assert_pages_escape_markup(out: Path) -> int:
    """No page carries a payload as markup; returns how many pages were read."""
    pages = [out / "index.html", *sorted((out / "reports").glob("*.html"))]
    for page in pages:
        text = page.read_text("utf-8")
        assert SCRIPT not in text and IMG not in text, page.name
        parser = _Tags()
        parser.feed(text)
        assert not parser.bad, (page.name, parser.bad[:3])
    return len(pages)


# --------------------------------------------------------------------------------------------
# The rule, cell by cell
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (HYPERLINK, "'" + HYPERLINK),
        (DDE_AT, "'" + DDE_AT),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-4 (ước tính)", "'-4 (ước tính)"),  # an ASCII hyphen leads: a trigger
        ("+1,1 km/h [0,6; 1,4]", "'+1,1 km/h [0,6; 1,4]"),
        ("'=1+1", "''=1+1"),  # one quote more, so removing one gives the original back
        ("−6,4 phút [−7,8; −3,2]", "−6,4 phút [−7,8; −3,2]"),  # U+2212 is no trigger
        (SCRIPT, SCRIPT),
        ("Cổ Nhuế 2", "Cổ Nhuế 2"),
        (-3.2, -3.2),  # numbers stay numbers
        (0, 0),
        ("-3.2", "-3.2"),  # so does a text that is just a number
        ("+1e-05", "+1e-05"),
        (None, ""),
    ],
)
def test_csv_field_neutralises_text_and_keeps_numbers(value, written):
    assert csv_field(value) == written


def test_csv_text_quotes_every_text_and_round_trips():
    rows = [["name", "estimate"]] + [[t, -3.2] for t in PAYLOADS + OTHER_TEXT]
    text = csv_text(rows)
    assert '\r\n"\'=HYPERLINK(""http://' in text  # quoted, quotes doubled, quote-prefixed
    assert ",-3.2\r\n" in text  # the number is not quoted: a number to every reader
    back = list(csv.reader(io.StringIO(text, newline="")))
    assert [original(r[0]) for r in back[1:]] == list(PAYLOADS + OTHER_TEXT)
    assert {r[1] for r in back[1:]} == {"-3.2"}


def test_workbook_cells_are_text_exactly_as_written():
    wb = openpyxl.Workbook()
    ws = wb.active
    values = [*PAYLOADS, *OTHER_TEXT, "bell\x07 and escape\x1b[2J", -3.2, None]
    append_row(ws, values)
    buf = io.BytesIO()
    wb.save(buf)
    cells = openpyxl.load_workbook(io.BytesIO(buf.getvalue())).active[1]
    n = len(PAYLOADS + OTHER_TEXT)
    for cell, value in zip(cells[:n], values[:n], strict=True):
        assert (cell.value, cell.data_type) == (value, "s")  # no quote shown: it is text
        assert cell.quotePrefix == value.startswith(TRIGGERS)
    # XML cannot hold C0 controls: shown as U+FFFD rather than failing the whole batch
    assert cells[n].value == "bell\ufffd and escape\ufffd[2J"
    assert (cells[n + 1].value, cells[n + 1].data_type) == (-3.2, "n")


def test_findings_tables_with_payloads_in_every_text_field(tmp_path):
    findings = []
    for i, p in enumerate(PAYLOADS + OTHER_TEXT):
        findings.append(
            {
                "notebook": "ward_report",
                "run_id": f"run{i}",
                "report": f"reports/run{i}.html",
                "finding_id": f"f{i}",
                "ward": p,
                "programme": p,
                "programme_vi": p,
                "programme_en": p,
                "outcome": "congestion_minutes",
                "role": "ward",
                "level": "ward",
                "wave": p,
                "estimate": -3.2,
                "ci_low": -5.0,
                "ci_high": -1.5,
                "pvalue": 0.01,
                "method": p,
                "method_vi": p,
                "verdict_vi": p,
                "verdict_en": p,
                "effect_vi": "+1,1 km/h [0,6; 1,4]",
                "notes_vi": [p, "ghi chú"],
                "warnings": [p],
                "window": ["2024-02-15", "2024-06-30"],
            }
        )
    write_findings_tables(tmp_path, findings)
    rows, texts = assert_tables_hold_no_formula(tmp_path)
    header = rows[0]
    for row, p in zip(rows[1:], PAYLOADS + OTHER_TEXT, strict=True):
        field = dict(zip(header, row, strict=True))
        for key in ("ward", "programme", "programme_vi", "wave", "verdict_vi", "method"):
            assert original(field[key]) == p, (key, field[key])
        assert float(field["estimate"]) == -3.2
    for p in PAYLOADS + OTHER_TEXT:  # the workbook shows each text exactly
        assert p in texts, p


def test_a_markdown_link_in_a_name_is_no_link_on_a_page():
    from evaluation.report.html import markdown_to_html

    page = markdown_to_html(f"### {MD_LINK} · [mục](#muc) · <http://example.invalid/y>")
    assert 'href="http' not in page and "[Bấm vào đây](http://example.invalid/x)" in page
    assert '<a href="#muc">mục</a>' in page  # links within the page still work


# --------------------------------------------------------------------------------------------
# Payload inputs
# --------------------------------------------------------------------------------------------


def payload_registry(path: Path, *, ward: str | None = None) -> Path:
    """params/pilots.yaml with payloads in programme names, short names, notes, wave labels and
    a programme id (and, when given, a payload ward in one entry)."""
    doc = yaml.safe_load((ROOT / "params" / "pilots.yaml").read_text("utf-8"))
    progs = doc["programmes"]
    progs["traffic_model"].update(
        name_vi=HYPERLINK, name_en=SCRIPT, short_vi=DDE_AT, short_en="+1+1", note=IMG
    )
    progs["fire_point"].update(name_vi=DDE, name_en="\t=1+1", short_vi="-1+1", short_en="\r=1+1")
    progs["to_lien_gia"].update(
        name_vi=f"{IMG} {HYPERLINK}",
        name_en=f"\r=1+1{SCRIPT}",
        short_vi="\t=1+1",
        short_en="-4 (ước tính)",
        note=DDE,
    )
    progs["rental_check"].update(name_vi=MD_LINK, name_en=f"**{HYPERLINK}**")
    camera = DDE + "_id"  # a programme id is text from the file too
    progs[camera] = progs.pop("camera")
    waves = {"A": DDE_AT, "B": "-1+1", "C": IMG}
    for entry in doc["pilots"]:
        if entry["programme"] == "camera":
            entry["programme"] = camera
        if entry.get("wave") in waves:
            entry["wave"] = waves[entry["wave"]]
    if ward is not None:
        doc["pilots"][-1]["ward"] = ward
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def payload_fires(path: Path) -> Path:
    """The demo fire incidents with a payload ward in the first rows and a header carrying
    control characters, written as Excel writes CSV (every text quoted)."""
    with open(ROOT / "data" / "demo" / "fire_incidents.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    ward = rows[0].index("ward")
    for row, p in zip(rows[1:], [*PAYLOADS, "\x1b[2J\x1b[31mOK", "a\n✓ x.csv: fine"], strict=False):
        row[ward] = p
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, quoting=csv.QUOTE_NONNUMERIC).writerows(rows)
    return path


def payload_columns(path: Path) -> Path:
    """A table nobody knows, whose column names carry a DDE payload and control characters:
    validate lists its columns as they are."""
    header = ["ward", DDE, "x\x1b[2J\n✓ forged.csv: no problems found", "\u202eevil"]
    path.write_text(
        ",".join(f'"{h}"' for h in header) + "\n" + "Cổ Nhuế 2,1,2,3\n", encoding="utf-8"
    )
    return path


def test_validate_reports_payloads_as_quoted_text(tmp_path, capsys):
    # the district's ward table beside the files: names not in it are reported
    shutil.copy(ROOT / "data" / "demo" / "wards.csv", tmp_path / "wards.csv")
    clean = payload_registry(tmp_path / "pilots.yaml")
    bad = payload_registry(tmp_path / "bad_ward.yaml", ward=HYPERLINK)
    fires = payload_fires(tmp_path / "fire_incidents.csv")
    notes = tmp_path / "data_notes.yaml"
    notes.write_text(
        yaml.safe_dump(
            {"recording_changes": [{"table": "fires", "date": "2024-01-01", "vi": DDE, "en": IMG}]}
        ),
        encoding="utf-8",
    )
    other = payload_columns(tmp_path / "other.csv")
    code = main(["validate", str(clean), str(notes), str(bad), str(fires), str(other)])
    captured = capsys.readouterr()
    assert code == 2 and "Traceback" not in captured.err
    out = captured.out
    assert f"✓ {clean}: pilot registry" in out  # names are free text: nothing to report
    assert f"✓ {notes}: data notes" in out
    assert repr(HYPERLINK) in out  # the unknown ward of the registry, quoted
    for p in PAYLOADS[:5]:  # each unknown ward of the data file, quoted
        assert repr(p) in out, p
    assert "'\\x1b[2J\\x1b[31mOK'" in out
    assert "x\\x1b[2J\\n✓ forged.csv" in out and "\\u202eevil" in out  # column names, escaped
    for line in out.splitlines():
        assert not line.startswith(TRIGGERS), line  # no line a spreadsheet would evaluate
        assert not line.startswith("✓ forged"), line  # no line forged by a value
        assert not any(ch in line for ch in "\x1b\r\t\x07\u202e"), repr(line)


def test_validate_refuses_a_broken_csv_without_a_traceback(tmp_path, capsys):
    lines = (ROOT / "data" / "demo" / "electrical_incidents_monthly.csv").read_text().splitlines()
    path = tmp_path / "electrical_incidents_monthly.csv"
    path.write_text(
        "\n".join([lines[0], lines[1], '"Minh Khai' + ",x" * 70_000, *lines[2:]]) + "\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "line 3 is not well-formed CSV" in captured.out and "never closes" in captured.out


# --------------------------------------------------------------------------------------------
# Through a run and a batch
# --------------------------------------------------------------------------------------------


def pilot_eval(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "evaluation.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.slow
def test_run_from_the_project_folder_with_a_payload_registry(tmp_path):
    """The issue's two commands in one: the payload registry, and ``-p data_dir data/demo``
    typed in the project folder (the notebook runs in notebooks/)."""
    registry = payload_registry(tmp_path / "pilots.yaml")
    out = tmp_path / "out"
    proc = pilot_eval(
        "run",
        "notebooks/district_summary.ipynb",
        "-p",
        "data_dir",
        "data/demo",
        "-p",
        "registry_path",
        str(registry),
        "--out",
        str(out),
        "--quiet",
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows, texts = assert_tables_hold_no_formula(out)
    assert len(rows) > 50
    # the names reached the tables, as text
    assert HYPERLINK in texts and DDE in texts
    fields = {original(f) for row in rows for f in row}
    assert {HYPERLINK, DDE, DDE_AT, "-1+1", IMG} <= fields
    assert "'" + HYPERLINK in {f for row in rows for f in row}
    assert assert_pages_escape_markup(out) == 2
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    params = manifest["runs"][0]["parameters"]
    # recorded relative to the plan's folder — for a single run, the notebook's — so that
    # `pilot-eval reproduce` finds them again from wherever the checkout lies
    notebooks = ROOT / "notebooks"
    assert params["data_dir"] == "../data/demo"
    assert (notebooks / params["registry_path"]).resolve() == registry.resolve()
    assert (notebooks / manifest["data"]["folder"]).resolve() == (ROOT / "data" / "demo")
    assert str(ROOT) not in (out / "manifest.json").read_text("utf-8")


def test_run_with_a_payload_ward_and_label(tmp_path):
    """A ward name and a free-text parameter from a user reach the findings as text (the
    fixture does not check wards: it stands in for a district's own ward table)."""
    out = tmp_path / "out"
    proc = pilot_eval(
        "run",
        str(WARD_NB),
        "-p",
        "ward",
        HYPERLINK,
        "-p",
        "label",
        f"{DDE} {SCRIPT}",
        "--out",
        str(out),
        "--quiet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows, texts = assert_tables_hold_no_formula(out)
    head = dict(zip(rows[0], rows[1], strict=True))
    assert head["ward"] == "'" + HYPERLINK and HYPERLINK in texts
    assert assert_pages_escape_markup(out) == 2


@pytest.mark.slow
def test_batch_with_payload_registry_data_notes_and_parameters(tmp_path):
    payload_registry(tmp_path / "pilots.yaml")
    data = tmp_path / "data"
    data.mkdir()
    for f in (ROOT / "data" / "demo").iterdir():
        if f.is_file() and f.name != "truth.yaml":
            (data / f.name).write_bytes(f.read_bytes())
    notes = yaml.safe_load((data / "data_notes.yaml").read_text("utf-8"))
    notes["recording_changes"][0]["vi"] = f"{HYPERLINK} {notes['recording_changes'][0]['vi']}"
    notes["recording_changes"][0]["en"] = SCRIPT
    (data / "data_notes.yaml").write_text(yaml.safe_dump(notes, allow_unicode=True), "utf-8")
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            {
                "title": f"{SCRIPT} {HYPERLINK}",
                "data": "data",  # relative to the plan, as ever
                "registry": "pilots.yaml",
                "wards": ["Cổ Nhuế 2"],
                "notebooks": [
                    {"notebook": str(ROOT / "notebooks" / "district_summary.ipynb")},
                    {"notebook": str(ROOT / "notebooks" / "fire_incidents.ipynb")},
                    {"notebook": str(ROOT / "notebooks" / "ward_report.ipynb")},
                    {"notebook": str(WARD_NB), "parameters": {"label": f"{DDE_AT} {IMG}"}},
                ],
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    proc = pilot_eval("batch", str(plan), "--out", str(tmp_path / "out"), cwd=ROOT)
    out = tmp_path / "out"
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows, texts = assert_tables_hold_no_formula(out)
    fields = {original(f) for row in rows for f in row}
    assert {HYPERLINK, DDE, DDE + "_id", DDE_AT, "-1+1", IMG} <= fields  # names, id, waves
    assert any(f.endswith(f"{DDE_AT} {IMG}") for f in fields)  # the plan's parameter
    assert HYPERLINK in texts
    assert assert_pages_escape_markup(out) == 5
    ward = (out / "reports" / "ward_report--co-nhue-2.html").read_text("utf-8")
    assert MD_LINK in ward  # the registry's name, shown as written
    fires = (out / "reports" / "fire_incidents.html").read_text("utf-8")
    assert "=HYPERLINK(&quot;http://example.invalid/x&quot;" in fires  # the data note, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fires


# --------------------------------------------------------------------------------------------
# A path typed is a path from where it was typed
# --------------------------------------------------------------------------------------------


def test_which_parameters_are_paths():
    assert is_path_parameter("data_dir") and is_path_parameter("registry_path")
    assert is_path_parameter("spawn_file") and not is_path_parameter("results_path")
    assert not is_path_parameter("ward") and not is_path_parameter("directory")
    assert is_path_parameter("ward_table")  # a file, though its name does not say so


def test_run_parameters_start_at_the_callers_folder(tmp_path):
    (tmp_path / "mine").mkdir()
    plan = plan_for_notebook(WARD_NB, {"data_dir": "mine", "ward": "Cổ Nhuế 2"}, base=tmp_path)
    params = plan.runs()[0].parameters
    assert params["data_dir"] == str((tmp_path / "mine").resolve())
    assert params["ward"] == "Cổ Nhuế 2"  # not a path: untouched
    assert plan.data == (tmp_path / "mine").resolve()
    with pytest.raises(PlanError, match=r"-p data_dir: .*nope' is not a folder .*run from"):
        plan_for_notebook(WARD_NB, {"data_dir": "nope"}, base=tmp_path)


def test_plan_parameters_start_at_the_plans_folder(tmp_path):
    plan = plan_from_dict(
        {
            "wards": ["Cổ Nhuế 2"],
            "notebooks": [{"notebook": str(WARD_NB), "parameters": {"spawn_file": "pid.txt"}}],
        },
        base=tmp_path / "plans",
        source=tmp_path / "plans" / "p.yaml",
    )
    assert plan.runs()[0].parameters["spawn_file"] == str(
        (tmp_path / "plans" / "pid.txt").resolve()
    )


def test_paths_are_recorded_relative_to_the_plan_folder(tmp_path):
    params = {"data_dir": str(tmp_path / "data"), "ward": "/not/a/path/parameter", "n": 3}
    rec = recorded_parameters(params, tmp_path / "output" / "run")
    assert rec == {"data_dir": "../../data", "ward": "/not/a/path/parameter", "n": 3}


def test_a_relative_data_dir_typed_on_the_command_line_is_refused_clearly(tmp_path, capsys):
    assert main(["run", str(WARD_NB), "-p", "data_dir", "no/such", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "-p data_dir" in err and "no/such" in err and "is not a folder" in err


# --------------------------------------------------------------------------------------------
# A district whose own ward table names wards with payloads
# --------------------------------------------------------------------------------------------

#: ward names a district's wards.csv could hold by mistake or malice
PAYLOAD_WARDS = (
    '=HYPERLINK("http://example.invalid/w","Phường Một")',
    "<b>Phường</b> <img src=x onerror=alert(1)>",
)


@pytest.fixture(scope="module")
def payload_district(tmp_path_factory):
    """Six generated wards, two named with payloads, the pilot in the first payload ward."""
    from evaluation.synthetic.scenarios import Scenario, Universe, Wave, write_district

    names = [*PAYLOAD_WARDS, "Phường Ba", "Phường Bốn", "Phường Năm", "Phường Sáu"]
    universe = Universe.of(
        "Quận <i>Thử</i>",
        names,
        [30_000, 42_000, 25_000, 38_000, 51_000, 27_000],
        adjacency=list(zip(names, names[1:], strict=False)),
    )
    scenario = Scenario(
        universe=universe,
        pilot_ward=names[0],
        pilot_start="2024-03-11",
        pilot_effect=-0.25,
        waves=(Wave("A", "2024-09-02", (names[1], names[2]), -0.25),),
        fire_points=((names[1], "2023-01-09", -0.2), (names[3], "2023-05-15", -0.2)),
        camera_starts=((names[0], "2022-09-15"), (names[4], "2023-04-15")),
        common_programme=None,
    )
    data = tmp_path_factory.mktemp("payload_wards") / "data"
    write_district(data, scenario, seed=3)
    return data, names


def test_validate_reads_a_ward_table_of_payload_names(payload_district, capsys):
    data, names = payload_district
    assert main(["validate", str(data)]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    for line in out.splitlines():
        assert not line.startswith(TRIGGERS), line
        assert "<img" not in line or "'" in line, line


@pytest.mark.slow
def test_a_ward_report_for_a_payload_ward(payload_district, tmp_path):
    """The ward's name comes from the district's own table and reaches every page, sheet and
    CSV of its report as text."""
    data, names = payload_district
    out = tmp_path / "out"
    proc = pilot_eval(
        "run",
        str(ROOT / "notebooks" / "ward_report.ipynb"),
        "-p",
        "data_dir",
        str(data),
        "-p",
        "registry_path",
        str(data / "pilots.yaml"),
        "-p",
        "ward",
        names[0],
        "--out",
        str(out),
        "--quiet",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    rows, texts = assert_tables_hold_no_formula(out)
    assert names[0] in texts
    assert any(original(f) == names[0] for row in rows for f in row)
    assert assert_pages_escape_markup(out) == 2
    page = next((out / "reports").glob("*.html")).read_text("utf-8")
    assert "&lt;b&gt;Phường&lt;/b&gt;" in page or "<b>Phường</b>" not in page
