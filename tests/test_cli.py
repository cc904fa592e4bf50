"""The `pilot-eval` command line: exit statuses, messages without tracebacks, typed `-p` values."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from evaluation.batch.lock import OutputLock
from evaluation.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "notebooks"
WARD_NB = FIXTURES / "ward_fixture.ipynb"


def write_plan(folder: Path, text: str) -> Path:
    path = folder / "plan.yaml"
    path.write_text(text.replace("WARD_NB", str(WARD_NB)), encoding="utf-8")
    return path


def test_run_keeps_ward_codes_as_text_and_types_numbers(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(WARD_NB),
            "-p",
            "ward",
            "00617",
            "-p",
            "effect",
            "-3",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    stdout = capsys.readouterr().out
    report = out / "reports" / "ward_fixture--00617.html"
    assert f"report: {report}" in stdout and f"index: {out / 'index.html'}" in stdout
    found = json.loads((out / "results" / "ward_fixture--00617.json").read_text("utf-8"))[0]
    assert found["ward"] == "00617"  # `papermill -p ward 00617` would inject the integer 617
    assert found["estimate"] == pytest.approx(-3.0, abs=1.5)  # the planted effect we passed
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["runs"][0]["parameters"] == {"ward": "00617", "effect": -3.0}


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["-p", "nosuch", "1"], "-p nosuch: notebook ward_fixture.ipynb has no parameter 'nosuch'"),
        (["-p", "effect", "abc"], "parameter 'effect': expected a number, got 'abc'"),
        (["-p", "results_path", "x"], "the batch sets results_path itself"),
    ],
)
def test_run_refuses_bad_parameters_with_exit_2(tmp_path, capsys, argv, expected):
    assert main(["run", str(WARD_NB), *argv, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert expected in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_unusable_plans_exit_2_naming_the_problem(tmp_path, capsys):
    assert main(["batch", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml' does not exist" in capsys.readouterr().err
    plan = write_plan(
        tmp_path,
        "wards: [Cổ Nhuế 2]\nnotebooks:\n  - notebook: WARD_NB\n    parameters: {label: 5}\n",
    )
    assert main(["batch", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "notebooks[0], parameters.label" in err and "expects text" in err
    assert main(["run", str(FIXTURES / "no_parameters.ipynb")]) == 2
    assert "no cell tagged 'parameters'" in capsys.readouterr().err


def test_busy_output_folder_exits_75(tmp_path, capsys):
    plan = write_plan(tmp_path, "wards: [Cổ Nhuế 2]\nnotebooks: [WARD_NB]\n")
    out = tmp_path / "out"
    out.mkdir()
    with OutputLock(out):
        assert main(["batch", str(plan), "--out", str(out), "--quiet"]) == 75
    err = capsys.readouterr().err
    assert "being written by another pilot-eval batch" in err and "Traceback" not in err


def test_report_runs_params_monthly_from_the_working_folder(tmp_path, capsys, monkeypatch):
    (tmp_path / "params").mkdir()
    write_plan(
        tmp_path / "params", "title: Tháng\nwards: [Xuân Đỉnh]\nnotebooks: [WARD_NB]\n"
    ).rename(tmp_path / "params" / "monthly.yaml")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "--quiet"]) == 0
    stdout = capsys.readouterr().out
    assert f"index: {tmp_path / 'output' / 'index.html'}" in stdout
    assert (tmp_path / "output" / "reports" / "ward_fixture--xuan-dinh.html").is_file()


def test_validate_delegates_to_the_data_validator(tmp_path, capsys):
    pytest.importorskip("evaluation.data.validate", reason="the data validator is not installed")
    bad = tmp_path / "empty.csv"
    bad.write_text("", encoding="utf-8")
    code = main(["validate", str(bad)])
    assert code == 2
    captured = capsys.readouterr()
    assert "empty.csv" in captured.out + captured.err
    assert "Traceback" not in captured.err


def test_console_script_end_to_end_with_a_failure(tmp_path):
    """The installed `pilot-eval` in a fresh process: plain progress lines (no TTY), exit 1."""
    exe = shutil.which("pilot-eval", path=str(Path(sys.executable).parent))
    if exe is None:
        pytest.skip("the pilot-eval console script is not installed in this environment")
    plan = write_plan(
        tmp_path,
        "wards: [Cổ Nhuế 2, Tây Tựu]\nnotebooks:\n  - notebook: WARD_NB\n"
        "    parameters: {fail_wards: [Tây Tựu]}\n",
    )
    proc = subprocess.run(
        [exe, "batch", str(plan), "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "[2/2]" in proc.stderr and "failed   ward_fixture--tay-tuu" in proc.stderr
    assert "RuntimeError: planted failure in Tây Tựu (cell index" in proc.stderr
    assert "1 ok, 1 failed" in proc.stdout
    assert (tmp_path / "out" / "index.html").is_file()


def test_a_preload_module_that_does_not_exist_is_skipped_with_a_warning(tmp_path, capsys):
    """`preload:` only saves time: a renamed module must not stop the batch."""
    plan = write_plan(
        tmp_path,
        "wards: [Cổ Nhuế 2]\npreload: [evaluation.no_such_module, json]\nnotebooks: [WARD_NB]\n",
    )
    out = tmp_path / "out"
    assert main(["batch", str(plan), "--out", str(out), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "could not import 'evaluation.no_such_module'" in err and "skipped" in err
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    failed = manifest["options"]["warm_worker"]["failed"]
    assert list(failed) == ["evaluation.no_such_module"]
    assert "ModuleNotFoundError" in failed["evaluation.no_such_module"]
    assert manifest["runs"][0]["status"] == "ok"
