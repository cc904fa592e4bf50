"""Writers shared by every generator of simulated districts: the pilot registry, the data notes
and commented YAML, in the formats users write them (``params/pilots.yaml``, ``data_notes.yaml``).

The demo (:mod:`evaluation.synthetic.demo`) and the independent district generator
(:mod:`evaluation.synthetic.scenarios`) draw their data differently on purpose — one checks the
other — but the files a user reads are written one way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

__all__ = ["registry_yaml", "data_notes_yaml", "commented_yaml", "dates_in_microseconds"]


def dates_in_microseconds(df: Any) -> Any:
    """``df`` with its date columns at microsecond resolution, the resolution of the committed
    Parquet files.

    pandas 3 makes dates in microseconds and pandas 2 in nanoseconds; stated here, a simulation
    writes the same column types (and ``make demo-data`` the same files) under either.
    """
    dates = [c for c, t in df.dtypes.items() if str(t).startswith("datetime64[")]
    return df.astype({c: "datetime64[us]" for c in dates}) if dates else df


def commented_yaml(doc: Any, header: str, width: int = 100, **kw: Any) -> str:
    """``doc`` as block YAML under ``header`` (each line turned into a ``#`` comment).

    The pure-Python dumper is used: the same bytes whether or not libyaml is installed.
    """
    body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=width, **kw)
    return "".join(f"# {line}\n" for line in header.splitlines()) + body


def registry_yaml(
    programmes: Mapping[str, Any], pilots: Sequence[Mapping[str, Any]], *, header: str
) -> str:
    """A pilot registry: ``header`` (comment lines, verbatim), the ``programmes:`` block, then
    ``pilots:`` with one entry per line, as in ``params/pilots.yaml``."""
    body = yaml.safe_dump(
        {"programmes": dict(programmes)}, allow_unicode=True, sort_keys=False, width=100
    )
    lines = ["pilots:"]
    for e in pilots:
        inner = ", ".join(f"{k}: {_scalar(v)}" for k, v in e.items())
        lines.append(f"  - {{{inner}}}")
    return header + "\n" + body + "\n" + "\n".join(lines) + "\n"


def data_notes_yaml(recording_changes: Sequence[Mapping[str, Any]], *, header: str) -> str:
    """``data_notes.yaml``: ``header`` (comment lines, verbatim) and the recording changes."""
    body = yaml.safe_dump(
        {"recording_changes": [dict(c) for c in recording_changes]},
        allow_unicode=True,
        sort_keys=False,
        width=100,
    )
    return header + body


def _scalar(v: Any) -> str:
    """``v`` as a YAML scalar that may stand inside a flow mapping (``{ward: …}``): dumped as
    the one item of a flow list, so a name holding ``,``, ``{`` or ``"`` is quoted."""
    text = yaml.safe_dump([v], allow_unicode=True, default_flow_style=True, width=10_000).strip()
    return text.removeprefix("[").removesuffix("]")
