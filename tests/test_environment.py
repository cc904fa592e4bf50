"""The environment is declared once (pyproject.toml), locked once (uv.lock), and environment.yml
(conda) agrees with the lock."""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parents[1]
SCRIPT = ROOT / "scripts" / "environment_from_lock.py"
FLOORS = ROOT / "scripts" / "floors.py"


def test_environment_yml_pins_the_locked_versions():
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_environment_yml_lists_every_core_dependency_and_the_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    names = {d.split("=")[0] for d in conda} - {"python", "pip"}
    assert len(names) == len(project["dependencies"])
    assert "python=3.11" in conda and project["requires-python"] == ">=3.11"
    assert pip == ['-e ".[test]"']


def test_the_lock_pins_what_this_environment_runs():
    """`make test` runs on the locked versions, not on whatever was newest that day."""
    from importlib.metadata import version

    if Path(sys.prefix).resolve() != (ROOT / ".venv").resolve():
        pytest.skip("not the locked .venv (make test-latest / test-oldest use their own)")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--versions"], capture_output=True, text=True, check=True
    )
    locked = json.loads(done.stdout)
    for name in ("pandas", "numpy", "scipy", "statsmodels", "matplotlib", "papermill"):
        assert version(name) == locked[name], name


def test_console_script_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["pilot-eval"] == "evaluation.cli:main"


def test_make_test_oldest_pins_every_dependency_at_its_floor():
    """Every core and test dependency has a floor, and `make test-oldest` installs exactly it:
    the floors are the oldest versions tested."""
    done = subprocess.run(
        [sys.executable, str(FLOORS)], capture_output=True, text=True, check=True, cwd=ROOT
    )
    pins = dict(line.split("==") for line in done.stdout.split())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    assert len(pins) == len(declared)
    assert pins["pandas"] == "2.2" and pins["scipy"] == "1.17"
    makefile = (ROOT / "Makefile").read_text()
    assert "scripts/floors.py > .venv-oldest/floors.txt" in makefile
    assert "-c .venv-oldest/floors.txt" in makefile
