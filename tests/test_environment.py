"""environment.yml (conda) and pyproject.toml (the one list of dependencies) agree."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req, maxsplit=1)[0].strip().lower().replace("_", "-")


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))

    core = {_name(r): r.replace(" ", "") for r in project["dependencies"]}
    conda_reqs = {_name(r): r.replace(" ", "") for r in conda if _name(r) not in ("python", "pip")}
    assert conda_reqs == core, (
        "environment.yml must list pyproject's core dependencies, same bounds"
    )

    python = next(d for d in conda if d.startswith("python"))
    assert project["requires-python"] == ">=3.11" and python == "python=3.11"
    # the package and its test extra come from pyproject itself, as in `make setup`
    assert pip == ['-e ".[test]"']
    assert "test" in project["optional-dependencies"]


def test_console_script_is_declared():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["pilot-eval"] == "evaluation.cli:main"
