"""Print pyproject.toml's floors as pins: `name==version` for every `name>=version` among the
core dependencies and the test extra (what `make test-oldest` installs, as uv constraints).

    python scripts/floors.py > constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_FLOOR = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)\s*$")


def floors(
    pyproject: Path = ROOT / "pyproject.toml", extras: tuple[str, ...] = ("test",)
) -> dict[str, str]:
    """Package name -> its floor, for the core dependencies and ``extras``."""
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    out: dict[str, str] = {}
    for req in requirements:
        m = _FLOOR.match(req)
        if m is None:
            sys.exit(f"pyproject.toml: {req!r} has no floor of the form name>=version")
        name = m.group(1).lower()
        if name in out and out[name] != m.group(2):
            sys.exit(f"pyproject.toml: {name} has two floors, {out[name]} and {m.group(2)}")
        out[name] = m.group(2)
    return out


if __name__ == "__main__":
    print("\n".join(f"{name}=={version}" for name, version in floors().items()))
