"""Malformed files: each gives a DataError naming the file, the column, the values and the fix.

The files live in tests/data/bad/. `pilot-eval validate` must list every problem of a file and
exit with status 2, without a traceback.
"""

import subprocess
import sys
from pathlib import Path

import pytest

import evaluation as ev
from evaluation.data import validate
from evaluation.data.io import read_table
from evaluation.data.panels import validate_table
from evaluation.data.registry import load_registry
from evaluation.data.schema import SCHEMAS, detect_schema
from evaluation.data.wards import load_wards

BAD = Path(__file__).parent / "data" / "bad"
#: the demo district's ward table beside the bad files: names are checked against it
WARDS = load_wards(BAD / "wards.csv")

# file -> fragments that must all appear in the error (what, where, which values, what to do)
CASES = {
    "fires_missing_severity.csv": [
        "column 'severity'",
        "required column is missing",
        "columns found",
    ],
    "traffic_misspelt_column.csv": [
        "'congestion_minutes'",
        "the file has 'congestion_minuts'",
        "rename",
    ],
    "fires_bad_dates.csv": [
        "column 'date'",
        "'2024-13-45'",
        "'hôm qua'",
        "rows 2, 3",
        "YYYY-MM-DD",
    ],
    "fires_unknown_ward.csv": [
        "unknown ward 'Cổ Nhuế 3'",
        "did you mean 'Cổ Nhuế 2'",
        "unknown ward 'Xuan Dinhh'",
        "'Xuân Đỉnh'",
    ],
    "antt_duplicate_period.csv": [
        "ward × period_start",
        "Cổ Nhuế 2 / 2024-02-15",
        "rows 2, 3",
        "remove or sum",
    ],
    "fires_negative_counts.csv": [
        "column 'deaths'",
        "negative",
        "-1",
        "column 'injuries'",
        "column 'loss_mvnd'",
        "cannot be negative",
    ],
    "fires_non_numeric.csv": [
        "column 'deaths'",
        "'không rõ'",
        "column 'loss_mvnd'",
        "'1.200,5'",
        "decimal mark",
    ],
    "empty.csv": ["empty"],
    "fires_header_only.csv": ["header but no rows"],
    "image_renamed.csv": ["not a text table", "binary"],
    "report_text.txt": ["only one column", "delimiter"],
    "fires_unknown_category.csv": [
        "column 'severity'",
        "'rất lớn'",
        "allowed: nhỏ",
        "column 'premise_type'",
        "'ki ốt'",
    ],
    "fires_fractional_deaths.csv": ["column 'deaths'", "not whole numbers", "1.5"],
    "report.docx": ["unsupported file type '.docx'", ".xlsx"],
    "corrupt.xlsx": ["not a valid .xlsx workbook", "save it again"],
    "corrupt.parquet": ["not a valid Parquet file"],
    "fires_missing_ward.csv": ["column 'ward'", "missing", "rows 2"],
    "fires_ragged.csv": ["line 2 has 12 fields", "header has 10", "Quote text"],
    "electrical_duplicates_and_text.csv": ["'x'", "not numbers", "ward × month", "rows 2, 3"],
    "fires_utf16_unknown_ward.txt": ["unknown ward 'Cổ Nhuế 9'", "'Cổ Nhuế 2'"],
    "fires_cp1258_negative.csv": ["column 'deaths'", "-3", "negative"],
    "registry_unknown_ward.yaml": ["pilots entry 2", "'Co Nhue 5'", "Did you mean 'Cổ Nhuế 2'"],
    "registry_bad_date.yaml": ["pilots entry 1", "column 'start'", "'15 tháng 2'", "YYYY-MM-DD"],
    "registry_duplicate.yaml": ["Cổ Nhuế 2 / traffic_model", "more than once"],
    "registry_unknown_programme.yaml": ["unknown programme 'trafic_model'", "'traffic_model'"],
    "registry_not_a_registry.yaml": ["not a pilot registry", "'pilots'"],
    "registry_missing_start.yaml": ["pilots entry 1", "missing key(s) 'start'"],
    "registry_broken_yaml.yaml": ["not valid YAML at line 2, column 9"],
    # ward names that lost a letter in an ASCII export: two unknown wards in the same period
    # used to look like one duplicated key and crash the message (issue 8)
    "antt_lost_first_letter.csv": [
        "unknown ward 'ong Ngac'",
        "did you mean 'Đông Ngạc'",
        "unknown ward 'uc Thang'",
        "'Đức Thắng'",
    ],
    "fires_lost_letters.csv": [
        "unknown ward 'Tay Tu'",
        "did you mean 'Tây Tựu'",
        "unknown ward 'hượng Cát'",
        "'Thượng Cát'",
    ],
}


def test_the_suite_has_at_least_twenty_malformed_files():
    files = {p.name for p in BAD.iterdir()} - {"wards.csv"}  # the district's ward table
    assert set(CASES) == files  # every file is asserted, every case has its file
    assert len(files) >= 20


def _error_of(path: Path) -> ev.DataError:
    with pytest.raises(ev.DataError) as info:
        if path.suffix == ".yaml":
            load_registry(path, WARDS)
        else:
            df = read_table(path)
            validate_table(df, detect_schema(list(df.columns), path.name), wards=WARDS)
    return info.value


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_malformed_file_raises_a_clear_data_error(name):
    err = _error_of(BAD / name)
    assert isinstance(err, ValueError)  # DataError is a ValueError (docs/ARCHITECTURE.md §4)
    text = str(err)
    assert str(BAD / name) in text, "the message must name the file"
    for fragment in CASES[name]:
        assert fragment in text, f"{fragment!r} missing from:\n{text}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_validate_command_lists_every_problem_and_exits_2(name, capsys):
    assert validate.main([str(BAD / name)]) == 2
    out = capsys.readouterr().out
    assert "Traceback" not in out
    for fragment in CASES[name]:
        assert fragment in out


def test_validate_reports_all_problems_of_a_file_not_only_the_first(capsys):
    validate.main([str(BAD / "fires_negative_counts.csv")])
    out = capsys.readouterr().out
    assert "3 problem(s)" in out
    assert out.count("\n  - ") == 3


def test_validate_exits_0_on_the_demo_data(capsys):
    demo = Path(__file__).parents[1] / "data" / "demo"
    files = sorted(str(p) for p in demo.glob("*.csv")) + sorted(
        str(p) for p in demo.glob("*.parquet")
    )
    assert validate.main(files + [str(Path(__file__).parents[1] / "params" / "pilots.yaml")]) == 0
    assert capsys.readouterr().out.count("✓") == len(files) + 1


def test_validate_checks_a_generic_panel_with_unit_and_time(tmp_path, capsys):
    f = tmp_path / "my_panel.csv"
    f.write_text(
        "phuong,thang,so_vu\nCổ Nhuế 2,2024-01-01,3\nCo Nhue 2,2024-01-01,-1\n", encoding="utf-8"
    )
    code = validate.main([str(f), "--unit", "phuong", "--time", "thang", "--counts", "so_vu"])
    out = capsys.readouterr().out
    assert code == 2
    assert "column 'so_vu'" in out and "negative" in out and "phuong × thang" in out


def test_command_line_user_sees_no_traceback():
    exe = Path(sys.executable).with_name("pilot-eval")
    if not exe.exists():
        pytest.skip("console script pilot-eval not installed in this environment")
    proc = subprocess.run(
        [str(exe), "validate", str(BAD / "fires_bad_dates.csv"), str(BAD / "corrupt.xlsx")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert "'hôm qua'" in proc.stdout and "corrupt.xlsx" in proc.stdout


def test_known_schemas_are_recognised_by_file_name_and_columns():
    assert detect_schema([], "fire_incidents_2025.csv").name == "fire_incident"
    cols = [c.name for c in SCHEMAS["antt_period"].columns]
    assert detect_schema(cols, "bao_cao.xlsx").name == "antt_period"
    assert detect_schema(["a", "b"], "x.csv") is None


def _strip_accents(text: str) -> str:
    import unicodedata

    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


@pytest.mark.parametrize("table", ["fires", "electrical", "antt", "traffic"])
def test_names_stripped_of_diacritics_or_mixed_in_one_file_are_read_as_the_same_wards(
    table, tmp_path
):
    """An ASCII export of any table, and a file mixing spellings ("P. Xuân Đỉnh", "xuan dinh",
    "Phường Xuân Đỉnh"), validates and maps every row to the canonical ward."""
    from evaluation.data.embedded import load_demo

    original = load_demo(table)
    if table == "traffic":
        original = original.head(3000)
    ascii_ = original.assign(ward=original["ward"].map(_strip_accents))
    spellings = [str, _strip_accents, lambda w: f"P. {w}", lambda w: f"Phường {w.lower()}"]
    mixed = original.assign(ward=[spellings[i % 4](w) for i, w in enumerate(original["ward"])])
    schema = detect_schema(list(original.columns), f"{table}.csv")
    for variant in (ascii_, mixed):
        path = tmp_path / f"{table}.csv"
        variant.to_csv(path, index=False)
        assert validate.main([str(path), "--wards", str(BAD / "wards.csv")]) == 0
        back = validate_table(read_table(path), schema, source=str(path), wards=WARDS)
        assert back["ward"].tolist() == original["ward"].tolist()
