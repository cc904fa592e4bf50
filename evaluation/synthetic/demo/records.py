"""Recording the demo's rows as real records are kept after 1 July 2025: under the new wards.

The simulation runs on the old wards (the programmes were assigned to them). From the
reorganisation on, police and fire records name the new ward:

* a junction's traffic rows name the new ward it lies in (``junctions.csv`` keeps the ward it
  was installed in); an old ward split between new wards has its junctions dealt to the
  pieces in proportion to their population shares, largest piece first;
* each fire is recorded in the new ward of its piece, drawn by population share;
* monthly electrical incidents are split over the pieces in whole numbers (largest
  remainders) and summed by new ward;
* police periods from the one that ends after the change are reported by new ward (the split
  is drawn in :mod:`evaluation.synthetic.demo.security`).

An analysis at the old wards' level must carry these rows back (``evaluation.data.levels``):
traffic exactly, through its junctions; counts only under an assumption, or not at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.data.levels import split_whole
from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.geography import REORGANISATION, new_ward_pieces

__all__ = ["junction_new_wards", "record_under_new_wards"]


def junction_new_wards(junctions: pd.DataFrame) -> pd.Series:
    """The new ward of each junction (index: junction_id)."""
    pieces = new_ward_pieces()
    out = {}
    for ward, group in junctions.groupby("ward", sort=False):
        p = pieces[pieces["old"] == ward].sort_values("share", ascending=False, kind="stable")
        n = split_whole(np.array([len(group)]), p["share"].to_numpy()[None, :])[0].astype(int)
        names = np.repeat(p["new"].to_numpy(), n)
        out.update(dict(zip(group["junction_id"], names, strict=True)))
    return pd.Series(out)


def _split_monthly(df: pd.DataFrame, value: str, time: str) -> pd.DataFrame:
    pieces = new_ward_pieces()
    rows = []
    for row in df.itertuples(index=False):
        p = pieces[pieces["old"] == row.ward]
        counts = split_whole(np.array([getattr(row, value)]), p["share"].to_numpy()[None, :])[0]
        for new, c in zip(p["new"], counts, strict=True):
            rows.append({"ward": new, time: getattr(row, time), value: int(c)})
    out = pd.DataFrame(rows).groupby(["ward", time], as_index=False, sort=True)[value].sum()
    return out[["ward", time, value]]


def record_under_new_wards(
    tables: dict[str, pd.DataFrame], rng: np.random.Generator
) -> dict[str, pd.DataFrame]:
    """The demo tables with every row from the reorganisation on under its new ward."""
    out = dict(tables)
    after = REORGANISATION

    t = tables["traffic"].copy()
    new_of = junction_new_wards(tables["junctions"])
    late = t["date"] >= after
    t.loc[late, "ward"] = t.loc[late, "junction_id"].map(new_of).to_numpy()
    out["traffic"] = t

    f = tables["fires"].copy()
    pieces = new_ward_pieces()
    late = (f["date"] >= after).to_numpy()
    wards = f["ward"].to_numpy(dtype=object).copy()
    u = rng.random(len(f))
    for i in np.flatnonzero(late):
        p = pieces[pieces["old"] == wards[i]]
        cum = np.cumsum(p["share"].to_numpy() / p["share"].sum())
        wards[i] = p["new"].to_numpy()[min(int(np.searchsorted(cum, u[i])), len(p) - 1)]
    f["ward"] = wards
    out["fires"] = f

    e = tables["electrical"]
    early = e[e["month"] < after]
    moved = _split_monthly(e[e["month"] >= after], "electrical_incidents", "month")
    out["electrical"] = pd.concat([early, moved], ignore_index=True)
    out["electrical"]["electrical_incidents"] = out["electrical"]["electrical_incidents"].astype(
        "int64"
    )

    a = tables["antt"]
    old = a[a["period_start"] <= plan.ANTT_LAST_OLD_PERIOD]
    out["antt"] = pd.concat([old, tables["antt_new"]], ignore_index=True)
    return out
