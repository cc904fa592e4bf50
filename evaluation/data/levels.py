"""Carrying rows across a reorganisation: one level of wards for an analysis.

Since 1 July 2025 police and fire records in Hà Nội are kept under the new wards, while most
programmes were assigned to the old ones. An analysis runs at one *level* — the wards valid on
one date (:class:`evaluation.data.wards.Level`), by default the level at which the programme
was assigned — and rows recorded at another level are carried across, saying how:

* **junctions** (traffic) never move: a junction's ward at any level is read from its own rows
  (before the change they name the old ward, after it the new one) or from ``junctions.csv``,
  so traffic is carried exactly, in both directions (:func:`junction_wards`);
* **counts forward** (old rows into new wards): each row is split over the new wards by the
  crosswalk's population (or area) shares, in whole numbers that keep every row's total
  (largest remainders), so no count is lost (:func:`carry_counts`);
* **counts backward** (new rows into old wards) have no exact answer — a fire recorded in the
  new Đông Ngạc may have happened in any of its old pieces — so by default the analysis window
  ends at the change (``how="truncate"``); allocating by population or area share
  (``how="pop_share" | "area_share"``) is the stated assumption a sensitivity check uses;
* **treatment at a new level**: a new ward's exposure to a programme assigned to old wards is
  the share of its population in treated old wards (:func:`treated_share`).

:func:`to_new_wards` (``ev.to_new_wards``) carries a table to the newest level: rows already
recorded under new wards are kept as they are, never split a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.data.wards import Level, WardTable, load_wards
from evaluation.errors import DataError, examples

__all__ = [
    "Carried",
    "carry_counts",
    "junction_wards",
    "split_whole",
    "to_new_wards",
    "treated_share",
]

HOW = ("truncate", "pop_share", "area_share")


@dataclass
class Carried:
    """What carrying a table to a level did, for the page that reports on it."""

    level: Level
    kept: int = 0
    forward: int = 0
    backward: int = 0
    dropped: int = 0
    how: str = "truncate"
    window_end: pd.Timestamp | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.forward or self.backward or self.dropped)


def split_whole(counts: np.ndarray, shares: np.ndarray) -> np.ndarray:
    """Split each row's whole count over its pieces in proportion to ``shares``, in whole
    numbers that sum exactly to the row's count (largest remainders; ties to the first piece).

    ``counts`` has one value per row, ``shares`` one row per count (rows sum to 1).
    """
    counts = np.asarray(counts, dtype=float)
    shares = np.asarray(shares, dtype=float)
    exact = counts[:, None] * shares
    base = np.floor(exact + 1e-9)
    left = np.rint(counts - base.sum(axis=1)).astype(int)
    frac = exact - base
    order = np.argsort(-frac, axis=1, kind="stable")
    ranks = np.empty_like(order)
    rows = np.arange(len(counts))[:, None]
    ranks[rows, order] = np.arange(shares.shape[1])[None, :]
    return base + (ranks < left[:, None])


def _row_codes(df: pd.DataFrame, wards: WardTable, ward: str, time: str | None, source: str):
    if "ward_code" in df.columns and df["ward_code"].notna().all():
        codes = df["ward_code"].astype(str)
        unknown = sorted(set(codes) - set(wards.codes))
        if not unknown:
            return codes
    dates = pd.to_datetime(df[time]) if time else None
    return wards.resolve(df[ward], dates, source=source, column=ward)


def carry_counts(
    df: pd.DataFrame,
    wards: WardTable,
    level: Level,
    *,
    ward: str = "ward",
    time: str = "period_start",
    counts: tuple[str, ...] | list[str] = (),
    rates: tuple[str, ...] | list[str] = (),
    how: str = "truncate",
    integers: bool = True,
    weight: str = "pop_share",
    source: str = "data",
) -> tuple[pd.DataFrame, Carried]:
    """``df`` (one row per ward × period, or per incident) with every row at ``level``.

    Rows of wards at the level are kept. Rows of older wards are split over their successors
    by population share (area share where the crosswalk has no population share); rows of
    newer wards are dropped (``how="truncate"``: the window ends at the change) or allocated to
    their old pieces by the reverse of the chosen share (``how="pop_share"`` / ``"area_share"``).
    ``weight`` chooses the share that splits older rows (``"area_share"`` where population
    shares are not trusted). ``counts`` are split in whole numbers when ``integers`` (row totals kept exactly), else as
    fractions; ``rates`` are copied (forward: averaged by the pieces' populations). Other
    columns are copied. The result keeps ``ward`` (names at the level), adds ``ward_code``,
    and is re-aggregated to one row per ward × ``time`` when rows were carried.
    """
    if how not in HOW:
        raise DataError(f"argument 'how' must be one of {', '.join(HOW)}, not {how!r}")
    codes = _row_codes(df, wards, ward, time, source)
    data = df.copy()
    data["ward_code"] = codes.to_numpy()
    inside = data["ward_code"].isin(level.codes)
    rep = Carried(level=level, how=how, kept=int(inside.sum()))
    if inside.all():
        data[ward] = data["ward_code"].map(wards.name_of)
        return data, rep
    if not wards.has_crosswalk:
        outside = sorted(set(data.loc[~inside, "ward_code"]))
        raise DataError(
            f"{source}: rows of ward(s) {examples(wards.names(outside))} are not at the analysis "
            f"level ({level.describe()}) and the ward table has no crosswalk.csv to carry them "
            "across — add the crosswalk, or analyse at their level"
        )
    start = level.start if level.start is not None else pd.Timestamp.min
    valid_from = wards.table.set_index("ward_code")["valid_from"]
    newer = ~inside & data["ward_code"].map(valid_from).gt(start).fillna(False).astype(bool)
    older = ~inside & ~newer
    parts = [data[inside]]
    if older.any():
        fwd = _forward(data[older], wards, level, counts, rates, integers, weight)
        rep.forward = int(older.sum())
        parts.append(fwd)
    if newer.any():
        if how == "truncate":
            rep.dropped = int(newer.sum())
            if time in data:
                rep.window_end = pd.to_datetime(data.loc[newer, time]).min() - pd.Timedelta(days=1)
                # rows of the level's wards after the change would leave the window uneven
                late = inside & (pd.to_datetime(data[time]) > rep.window_end)
                parts[0] = data[inside & ~late]
                rep.dropped += int(late.sum())
        else:
            parts.append(_backward(data[newer], wards, level, counts, rates, how, integers))
            rep.backward = int(newer.sum())
    out = pd.concat(parts, ignore_index=True)
    out[ward] = out["ward_code"].map(wards.name_of)
    if (rep.forward or rep.backward) and time in out.columns and counts:
        out = _collapse(out, ward, time, counts, rates)
    return out, rep


def _steps(wards: WardTable, codes: set[str], level: Level, direction: str) -> pd.DataFrame:
    """Crosswalk pieces chained until every code reaches the level: ``from``, ``to``,
    ``pop_share``, ``area_share`` (products along the chain)."""
    cw = wards.crosswalk
    a, b = ("old_code", "new_code") if direction == "forward" else ("new_code", "old_code")
    frontier = pd.DataFrame({"from": sorted(codes), "at": sorted(codes)})
    frontier["pop_share"] = 1.0
    frontier["area_share"] = 1.0
    done = []
    for _ in range(10):
        here = frontier["at"].isin(level.codes)
        done.append(frontier[here])
        frontier = frontier[~here]
        if frontier.empty:
            break
        step = frontier.merge(cw, left_on="at", right_on=a, how="left")
        lost = step[b].isna()
        if lost.any():
            missing = sorted(set(step.loc[lost, "at"]))
            raise DataError(
                f"crosswalk: ward(s) {examples(wards.names(missing))} have no "
                f"{'successor' if direction == 'forward' else 'predecessor'} in crosswalk.csv, so "
                f"their rows cannot be carried to the analysis level ({level.describe()})"
            )
        step["pop_share"] = step["pop_share_x"] * step["pop_share_y"].fillna(step["area_share_y"])
        step["area_share"] = step["area_share_x"] * step["area_share_y"].fillna(step["pop_share_y"])
        frontier = step[["from", b, "pop_share", "area_share"]].rename(columns={b: "at"})
    return pd.concat(done, ignore_index=True).rename(columns={"at": "to"})


def _forward(rows, wards, level, counts, rates, integers, weight="pop_share") -> pd.DataFrame:
    steps = _steps(wards, set(rows["ward_code"]), level, "forward")
    other = "area_share" if weight == "pop_share" else "pop_share"
    steps["share"] = steps[weight].where(steps[weight].notna(), steps[other])
    return _spread(rows, steps, wards, counts, rates, integers, by_population=True)


def _backward(rows, wards, level, counts, rates, how, integers) -> pd.DataFrame:
    steps = _steps(wards, set(rows["ward_code"]), level, "backward")
    # the chain's shares are the OLD wards' shares in the new one: weight them by the old
    # wards' population (or area) to get each old piece's part of the new ward
    size = wards.table.set_index("ward_code")
    basis = "population" if how == "pop_share" else "area_km2"
    steps["w"] = steps[how] * steps["to"].map(size[basis]).astype(float)
    if steps["w"].isna().any():
        bad = sorted(set(steps.loc[steps["w"].isna(), "to"]))
        raise DataError(
            f"{wards.source}: ward(s) {examples(wards.names(bad))} have no {basis}, needed to "
            f"allocate rows recorded after the reorganisation by {how}"
        )
    steps["share"] = steps["w"] / steps.groupby("from")["w"].transform("sum")
    return _spread(rows, steps, wards, counts, rates, integers, by_population=False)


def _spread(rows, steps, wards, counts, rates, integers, by_population) -> pd.DataFrame:
    rows = rows.reset_index(drop=True).copy()
    rows["_row"] = np.arange(len(rows))
    merged = rows.merge(steps[["from", "to", "share"]], left_on="ward_code", right_on="from")
    merged = merged.sort_values(["_row", "to"], kind="stable").reset_index(drop=True)
    for c in counts:
        if c not in merged:
            continue
        values = merged[c].astype(float)
        if integers and len(merged):
            width = merged.groupby("_row").size().max()
            pos = merged.groupby("_row").cumcount().to_numpy()
            share = np.zeros((len(rows), width))
            share[merged["_row"].to_numpy(), pos] = merged["share"].to_numpy()
            total = rows[c].astype(float).fillna(0).to_numpy()
            split = split_whole(total, share)
            merged[c] = split[merged["_row"].to_numpy(), pos]
            merged.loc[values.isna().to_numpy(), c] = np.nan
        else:
            merged[c] = values * merged["share"]
    if by_population and rates:
        pop = merged["ward_code"].map(wards.table.set_index("ward_code")["population"])
        merged["_rate_w"] = pop.astype(float).fillna(1.0) * merged["share"]
    merged["ward_code"] = merged["to"]
    return merged.drop(columns=["from", "to", "share", "_row"])


def _collapse(df, ward, time, counts, rates) -> pd.DataFrame:
    keys = ["ward_code", ward, time]
    agg = {c: "sum" for c in counts if c in df}
    if rates:
        w = df["_rate_w"] if "_rate_w" in df else pd.Series(1.0, index=df.index)
        w = w.fillna(1.0)
        for r in rates:
            if r in df:
                df[f"_{r}_wx"] = df[r] * w
        df["_w"] = w
        agg.update({f"_{r}_wx": "sum" for r in rates if r in df})
        agg["_w"] = "sum"
    temps = {"_rate_w", "_w", *(f"_{r}_wx" for r in rates)}
    others = [c for c in df.columns if c not in agg and c not in keys and c not in temps]
    agg.update({c: "first" for c in others})
    out = df.groupby(keys, as_index=False, sort=True, dropna=False).agg(agg)
    for r in rates:
        if f"_{r}_wx" in out:
            out[r] = out[f"_{r}_wx"] / out["_w"]
    return out.drop(columns=[c for c in out.columns if c in temps])


def junction_wards(
    traffic: pd.DataFrame,
    wards: WardTable,
    level: Level,
    junctions: pd.DataFrame | None = None,
    *,
    source: str = "traffic",
) -> tuple[pd.Series, Carried]:
    """Each traffic row's ward code at ``level``, through its junction, which never moves.

    A junction's ward at the level is the ward its own rows name while that ward is at the
    level; failing that, its ward in ``junctions.csv`` if that one is at the level; failing
    that, the one successor (or predecessor) that takes the whole of its ward. Rows whose
    junction cannot be placed at the level are marked missing (and counted as dropped).
    """
    codes = _row_codes(traffic, wards, "ward", "date", source)
    rep = Carried(level=level)
    at = codes.isin(level.codes)
    rep.kept = int(at.sum())
    if at.all():
        return codes, rep
    jid = traffic["junction_id"].astype(str)
    placed = (
        pd.Series(codes.where(at).to_numpy(), index=jid.index)
        .groupby(jid.to_numpy())
        .agg(lambda s: s.dropna().mode().iat[0] if s.notna().any() else pd.NA)
    )
    if junctions is not None and len(junctions):
        jcodes = _row_codes(junctions, wards, "ward", None, "junctions.csv")
        fixed = pd.Series(jcodes.to_numpy(), index=junctions["junction_id"].astype(str))
        fixed = fixed[fixed.isin(level.codes)]
        placed = placed.fillna(fixed.reindex(placed.index))
    if placed.isna().any() and wards.has_crosswalk:
        cw = wards.crosswalk
        for j in placed.index[placed.isna()]:
            own = codes[jid == j].iloc[0]
            whole = cw[
                (cw["old_code"] == own) & (cw["pop_share"].fillna(cw["area_share"]) >= 0.999)
            ]
            back = cw[(cw["new_code"] == own)]
            if len(whole) == 1 and whole["new_code"].iat[0] in level.codes:
                placed[j] = whole["new_code"].iat[0]
            elif len(back) == 1 and back["old_code"].iat[0] in level.codes:
                placed[j] = back["old_code"].iat[0]
    out = jid.map(placed)
    moved = ~at & out.notna()
    newer = moved & ~codes.isin(level.codes)
    rep.forward = int(
        (moved & (pd.to_datetime(traffic["date"]) < (level.start or pd.Timestamp.max))).sum()
    )
    rep.backward = int(newer.sum()) - rep.forward
    rep.dropped = int(out.isna().sum())
    if rep.dropped:
        lost = sorted(set(jid[out.isna()]))
        rep.notes.append(
            f"{rep.dropped} rows of junction(s) {examples(lost)} could not be placed in a ward "
            "of the analysis level (add them to junctions.csv)"
        )
    return out, rep


def treated_share(
    wards: WardTable, level: Level, treated_codes: dict[str, pd.Timestamp]
) -> pd.DataFrame:
    """For each ward of ``level``: the share of its population in old wards treated by a
    programme, and from when — ``ward_code``, ``date`` (each start that raises the share) and
    ``share`` (cumulative). A programme assigned to old wards reaches a new ward in part."""
    old = set(treated_codes)
    steps = _steps(wards, old, level, "forward") if wards.has_crosswalk else pd.DataFrame()
    rows = []
    pop = wards.table.set_index("ward_code")["population"]
    for code in level.codes:
        if code in old:
            rows.append({"ward_code": code, "date": treated_codes[code], "share": 1.0})
            continue
        if steps.empty:
            continue
        parts = steps[steps["to"] == code]
        if parts.empty:
            continue
        w = parts["pop_share"].fillna(parts["area_share"]) * parts["from"].map(pop).astype(float)
        total = pop.get(code, np.nan)
        if not np.isfinite(total) or total <= 0:
            total = w.sum()
        for (_, p), wi in zip(parts.iterrows(), w, strict=True):
            rows.append({"ward_code": code, "date": treated_codes[p["from"]], "share": wi / total})
    df = pd.DataFrame(rows, columns=["ward_code", "date", "share"])
    if df.empty:
        return df
    df = df.sort_values(["ward_code", "date"])
    df["share"] = df.groupby("ward_code")["share"].cumsum().clip(upper=1.0)
    return df.reset_index(drop=True)


def to_new_wards(
    data: pd.DataFrame,
    wards: WardTable | str,
    *,
    ward: str = "ward",
    time: str | None = None,
    counts: tuple[str, ...] | list[str] = (),
    rates: tuple[str, ...] | list[str] = (),
    weight: str = "pop_share",
    integers: bool = True,
) -> pd.DataFrame:
    """``data`` carried to the newest wards of ``wards`` (``ev.to_new_wards``).

    Rows already recorded under a new ward are kept as they are; rows of old wards are split
    over the new wards by ``weight`` (``"pop_share"`` or ``"area_share"``): ``counts`` in whole
    numbers that keep every row's total (``integers=True``; fractions otherwise), ``rates``
    averaged by the pieces' populations. Names are read on the row's ``time``; without it every
    row is read as recorded at the oldest level. Totals of every count are preserved exactly.

    Returns
    -------
    DataFrame with ``ward`` (the new ward's name), ``ward_code``, the time column, the carried
    columns, and ``coverage``: the share of the new ward's population the data's old wards
    account for (below 1 when part of the new ward lies outside these data).
    """
    w = load_wards(wards)
    if weight not in ("pop_share", "area_share"):
        raise DataError(f"argument 'weight' must be 'pop_share' or 'area_share', not {weight!r}")
    cols = [ward, *counts, *rates] + ([time] if time else [])
    missing = [c for c in cols if c not in data]
    if missing:
        raise DataError(
            f"to_new_wards: column(s) {examples(missing)} not in the data; "
            f"columns are {examples(list(data.columns), 12)}"
        )
    df = data[cols].copy()
    if time is None:
        time_col = "_recorded"
        df[time_col] = w.levels()[0].date
    else:
        time_col = time
    df["ward_code"] = w.resolve(
        df[ward], pd.to_datetime(df[time_col]), source="to_new_wards", column=ward
    ).to_numpy()
    olds = set(df["ward_code"])
    out, _ = carry_counts(
        df,
        w,
        w.levels()[-1],
        ward=ward,
        time=time_col,
        counts=counts,
        rates=rates,
        integers=integers,
        weight=weight,
        source="to_new_wards",
    )
    if time is None:
        out = out.drop(columns=[time_col])
    out["coverage"] = _coverage(w, olds, out["ward_code"])
    return out.reset_index(drop=True)


def _coverage(wards: WardTable, old_codes: set[str], new_codes: pd.Series) -> pd.Series:
    pop = wards.table.set_index("ward_code")["population"]
    cw = wards.crosswalk
    if cw.empty:
        return pd.Series(1.0, index=new_codes.index)
    share = cw["pop_share"].fillna(cw["area_share"])
    covered = (
        (cw["old_code"].map(pop) * share)[cw["old_code"].isin(old_codes)]
        .groupby(cw["new_code"][cw["old_code"].isin(old_codes)])
        .sum()
    )
    everyone = (cw["old_code"].map(pop) * share).groupby(cw["new_code"]).sum()
    ratio = (covered / everyone).clip(upper=1.0)
    return new_codes.map(ratio).fillna(1.0).astype(float)
