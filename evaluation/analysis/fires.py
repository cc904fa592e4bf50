"""What fire records show besides the effect estimates: rates, counts by programme status,
and the before/after comparison that a recording change or a district-wide programme spoils.

Fires are rare (a few per ward a year), so the fire notebook leans on these descriptive tables
beside the findings of :mod:`evaluation.analysis.evaluate`. Dates of recording changes come
from the data folder's ``data_notes.yaml`` (:mod:`evaluation.data.notes`), never from the demo.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.windows import TIME, UNIT
from evaluation.i18n import say, text

__all__ = [
    "common_shock_rates",
    "fires_by_status",
    "naive_before_after_rate",
    "per_100k_year",
]


def per_100k_year(panel: pd.DataFrame, outcome: str = "fires") -> pd.Series:
    """Monthly counts as a rate per 100,000 residents per year."""
    return panel[outcome] / panel["population"] * 1e5 * 12


def naive_before_after_rate(panel: pd.DataFrame, outcome: str = "fires") -> dict[str, float]:
    """The comparison a report without a control group would make: the treated wards' rate
    (per 100,000 residents per year) after their start against before it, pooled."""
    treated = panel[panel["cohort"].notna()]
    post = treated[TIME] >= treated["cohort"]

    def rate(d: pd.DataFrame) -> float:
        return float(d[outcome].sum() / (d["population"].sum() / 12) * 1e5)

    before, after = rate(treated[~post]), rate(treated[post])
    return {"before": before, "after": after, "percent": 100 * (after / before - 1)}


def fires_by_status(
    district: District, programme: str, *, split=None, exclude: tuple[str, ...] = ()
) -> pd.DataFrame:
    """Fires, escalations (medium or worse), deaths and losses by whether ``programme`` was in
    force in the ward on the day of the fire — and, when ``split`` is a date (e.g. a change in
    how fires are recorded), before and from it."""
    f = district.fire_records(tuple(exclude))
    start = f[UNIT].map(district.starts(programme))
    # TRANSLATORS: the whole period of the fire records, in a table of fires by period
    everything = say("all")
    regime = f"{everything.vi} / {everything.en}"
    if split is not None:
        # the periods either side of a recording change, as the table has written them
        # (Vietnamese only, under the column "Thời kỳ / period")
        label = text(fmt.date_text(split))
        since = say("from {date}", date=label).vi
        before = say("before {date}", date=label).vi
        regime = np.where(f["date"] >= pd.Timestamp(split), since, before)
    f = f.assign(in_force=start.notna() & (f["date"] >= start), regime=regime)
    out = (
        f.groupby(["regime", "in_force"], sort=False)
        .agg(
            fires=("incident_id", "size"),
            escalated=("escalated", "sum"),
            deaths=("deaths", "sum"),
            loss=("loss_mvnd", "sum"),
        )
        .reset_index()
    )
    out["escalated_share"] = 100 * out["escalated"] / out["fires"]
    out["loss_per_fire"] = out["loss"] / out["fires"]
    return out.sort_values(["regime", "in_force"], ascending=[False, True]).reset_index(drop=True)


def common_shock_rates(
    district: District, date, outcome: str = "rental", months: int = 12
) -> pd.DataFrame:
    """District rate of ``outcome`` (per 100,000 residents a year) in the ``months`` before
    and after ``date``: the only comparison a programme started everywhere at once allows."""
    p = district.fires_monthly()
    date = pd.Timestamp(date).to_period("M").to_timestamp()
    before = p[(p[TIME] < date) & (p[TIME] >= date - pd.DateOffset(months=months))]
    after = p[(p[TIME] >= date) & (p[TIME] < date + pd.DateOffset(months=months))]

    def rate(d, col):
        return float(d[col].sum() / (d["population"].sum() / 12) * 1e5)

    rows = []
    for col in (outcome, "fires"):
        b, a = rate(before, col), rate(after, col)
        rows.append({"outcome": col, "before": b, "after": a, "percent": 100 * (a / b - 1)})
    return pd.DataFrame(rows)
