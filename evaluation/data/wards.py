"""A district's own ward table: names, codes, populations, neighbours and reorganisations.

No district is built into the package. Everything that needs wards — validation and its hints,
the registry, a plan's ``wards: all``, exposures, neighbours, the pages — reads the
:class:`WardTable` of the district being analysed: ``wards.csv`` in the data folder (or a file
the plan names), with ``adjacency.csv`` and ``crosswalk.csv`` beside it when present
(docs/ARCHITECTURE.md §4, data/README.md):

``wards.csv``
    required ``ward`` (the name), ``ward_code`` (text: leading zeros are kept) and
    ``population`` (may be empty where no rate needs it); optional ``district``, ``aliases``
    (other spellings, separated by ``;``), ``area_km2``, ``households``, ``urban_class``,
    ``valid_from`` and ``valid_to`` (the first and last day the ward existed; empty = always).
``adjacency.csv``
    ``ward_a``, ``ward_b``: pairs of wards sharing a border (names or codes).
``crosswalk.csv``
    ``old_code``, ``new_code``, ``pop_share``, ``area_share``, ``valid_from``: how old wards
    were carried into new ones at a reorganisation (the share of the old ward's population and
    area in each piece; each old ward's shares sum to 1).

A name is read by date: before a ward's ``valid_from`` it is not that ward, from it on it is
(a reorganisation may reuse a name — Hà Nội's new Đông Ngạc of 1 July 2025 is not the old
one). The wards valid on one date form a *level* (:class:`Level`): an analysis runs at one
level, and rows recorded at another are carried across it (:mod:`evaluation.data.levels`).

Names arrive in many spellings: with or without diacritics, decomposed Unicode (NFD) from
macOS, "P." or "Phường" prefixes, upper case, double spaces, old-style tone placement
("Thuỵ" for "Thụy"), zero-padded numbers ("Cổ Nhuế 02"), or the code with its leading zeros
lost by Excel (617). :meth:`WardTable.resolve` maps all of them to the ward's code, and
reports every name it cannot match with the closest names *of this table*.

The package keeps Hà Nội reference tables with their sources — the 13 wards of Bắc Từ Liêm
before 1 July 2025, the new wards that absorbed them and the crosswalk between them
(:func:`hanoi_reference`) — as a starting point a user can copy, not as a built-in universe.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evaluation.errors import DataError, Problem, examples

__all__ = [
    "WARDS_FILE",
    "ADJACENCY_FILE",
    "CROSSWALK_FILE",
    "Level",
    "WardTable",
    "find_ward_table",
    "hanoi_reference",
    "load_wards",
    "normalize_ward",
    "ward_key",
]

WARDS_FILE = "wards.csv"
ADJACENCY_FILE = "adjacency.csv"
CROSSWALK_FILE = "crosswalk.csv"

_OPTIONAL = (
    "district",
    "aliases",
    "area_km2",
    "households",
    "urban_class",
    "valid_from",
    "valid_to",
)
_PREFIX = re.compile(r"^(phuong|p\.?|ward|xa|x\.|thi tran|tt\.?)\s+", re.IGNORECASE)
_ROMAN = {"i": "1", "ii": "2", "iii": "3"}
_FAR_PAST = pd.Timestamp("1900-01-01")
_FAR_FUTURE = pd.Timestamp("2262-01-01")


# --------------------------------------------------------------------------------------------
# spelling
# --------------------------------------------------------------------------------------------


#: đ and Đ (U+0111, U+0110), the letters NFD does not decompose into a base letter and a mark
_D_STROKE = str.maketrans({0x0111: "d", 0x0110: "D"})


def _strip_accents(text: str) -> str:
    text = text.translate(_D_STROKE)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def ward_key(name: object) -> str:
    """A spelling-insensitive key: no diacritics, prefix, case, punctuation or padding."""
    text = unicodedata.normalize("NFC", str(name)).strip()
    text = _strip_accents(text).lower()
    text = re.sub(r"[_\-–,;:/]+", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    text = text.replace("p.", "p. ") if text.startswith("p.") else text
    text = re.sub(r"\s+", " ", text)
    while True:
        stripped = _PREFIX.sub("", text)
        if stripped == text:
            break
        text = stripped
    text = text.replace(".", " ")
    words = []
    for w in text.split():
        if w.isdigit():
            w = str(int(w))
        words.append(_ROMAN.get(w, w))
    return " ".join(words)


def _nfc(value: object) -> object:
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


def _code_text(value: object) -> str:
    """A code as text: ``617.0`` read by a spreadsheet becomes ``617``; leading zeros stay."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


# --------------------------------------------------------------------------------------------
# levels
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Level:
    """The wards valid on one date: what an analysis compares, before or after a
    reorganisation. ``start`` and ``end`` bound the days on which exactly these wards exist
    (None: open)."""

    date: pd.Timestamp
    codes: tuple[str, ...]
    names: tuple[str, ...]
    start: pd.Timestamp | None
    end: pd.Timestamp | None

    def contains(self, code: str) -> bool:
        return code in self.codes

    def describe(self) -> str:
        lo = self.start.strftime("%d/%m/%Y") if self.start is not None else "…"
        hi = self.end.strftime("%d/%m/%Y") if self.end is not None else "…"
        return f"{len(self.codes)} wards valid {lo} – {hi}"


# --------------------------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------------------------


class WardTable:
    """A district's wards (see the module docstring).

    Attributes
    ----------
    table
        One row per ward (a ward that changed is two rows, each with its dates): ``ward``,
        ``ward_code``, ``population`` (float, NaN when unknown), ``district``, ``aliases``
        (tuple of str), ``area_km2``, ``households``, ``urban_class``, ``valid_from``,
        ``valid_to`` (NaT: open), and any further columns of the file.
    adjacency
        ``code_a``, ``code_b`` (each pair once) — empty without ``adjacency.csv``.
    crosswalk
        ``old_code``, ``new_code``, ``pop_share``, ``area_share``, ``valid_from`` — empty
        without ``crosswalk.csv``.
    source
        Where the table came from (for messages).
    """

    def __init__(
        self,
        table: pd.DataFrame,
        adjacency: pd.DataFrame | None = None,
        crosswalk: pd.DataFrame | None = None,
        *,
        source: str = WARDS_FILE,
        adjacency_source: str = ADJACENCY_FILE,
        crosswalk_source: str = CROSSWALK_FILE,
    ):
        self.source = source
        self.table = _check_table(table, source)
        self.adjacency = self._adjacency(adjacency, adjacency_source)
        self.crosswalk = self._crosswalk(crosswalk, crosswalk_source)

    def __repr__(self) -> str:
        return f"WardTable({self.source!r}, {len(self.table)} wards)"

    def __len__(self) -> int:
        return len(self.table)

    # ------------------------------------------------------------------ lookup
    @cached_property
    def _by_code(self) -> pd.DataFrame:
        return self.table.set_index("ward_code", drop=False)

    @cached_property
    def _keys(self) -> dict[str, list[str]]:
        """Spelling key (and code, and code without leading zeros) → the codes it may mean."""
        keys: dict[str, list[str]] = {}

        def add(key: str, code: str) -> None:
            if key and code not in keys.setdefault(key, []):
                keys[key].append(code)

        for row in self.table.itertuples(index=False):
            add(ward_key(row.ward), row.ward_code)
            for alias in row.aliases:
                add(ward_key(alias), row.ward_code)
            add(row.ward_code, row.ward_code)
            if row.ward_code.isdigit():
                add(str(int(row.ward_code)), row.ward_code)
        return keys

    def _candidates(self, value: object) -> list[str]:
        text = _code_text(value) if not isinstance(value, str) else value
        text = _nfc(text)
        hit = self._keys.get(str(text))  # an exact code first: "00617"
        if hit is None:
            hit = self._keys.get(ward_key(text), [])
        return hit

    def suggest(self, value: object, limit: int = 3) -> list[str]:
        """The names of this table closest to ``value`` (for "did you mean …?")."""
        key = ward_key(value)
        names = [k for k in self._keys if not k.isdigit()]
        close = difflib.get_close_matches(key, names, n=limit, cutoff=0.6)
        out: list[str] = []
        for k in close:
            for code in self._keys[k]:
                name = self.name(code)
                if name not in out:
                    out.append(name)
        return out[:limit]

    def valid_on(self, code: str, date: pd.Timestamp) -> bool:
        row = self._by_code.loc[code]
        lo = row["valid_from"] if pd.notna(row["valid_from"]) else _FAR_PAST
        hi = row["valid_to"] if pd.notna(row["valid_to"]) else _FAR_FUTURE
        return bool(lo <= date <= hi)

    def name(self, code: str) -> str:
        """The canonical name of the ward with ``code``."""
        return self.name_of[code]

    @cached_property
    def name_of(self) -> dict[str, str]:
        """Code → canonical name (for ``Series.map``: fast on millions of rows)."""
        return dict(zip(self.table["ward_code"], self.table["ward"], strict=True))

    def code(self, name: object, date: object = None, *, source: str = "argument 'ward'") -> str:
        """The code of one ward given by any spelling or code, read on ``date`` when the name
        was used by more than one ward over time (default: the latest ward of that name).

        Raises
        ------
        DataError
            When the name matches no ward of this table (with the closest names), or matches
            none valid on ``date``.
        """
        if name is None or (isinstance(name, float) and pd.isna(name)):
            raise DataError(f"{source}: a ward name is missing — fill it in or drop the row")
        codes = self._candidates(name)
        if not codes:
            sugg = self.suggest(name)
            hint = f" Did you mean {examples(sugg)}?" if sugg else ""
            raise DataError(
                f"{source}: unknown ward {name!r} — not in the ward table {self.source}.{hint} "
                f"Its wards are {examples(self.names(), 20)}."
            )
        if date is None or pd.isna(date):
            return max(codes, key=lambda c: self._valid_from(c))
        ts = pd.Timestamp(date)
        valid = [c for c in codes if self.valid_on(c, ts)]
        if len(valid) == 1:
            return valid[0]
        if not valid:
            raise DataError(
                f"{source}: ward {name!r} did not exist on {ts:%d/%m/%Y} according to "
                f"{self.source} ({self._validity_text(codes)}) — list the ward it was recorded "
                "under then, or correct valid_from / valid_to"
            )
        raise DataError(
            f"{source}: {name!r} names {len(valid)} wards valid on {ts:%d/%m/%Y} in "
            f"{self.source} ({examples(valid)}) — give the ward code instead"
        )

    def normalize(self, name: object, date: object = None, *, source: str = "argument 'ward'"):
        """The canonical (NFC) name of one ward given by any spelling or its code."""
        return self.name(self.code(name, date, source=source))

    def _valid_from(self, code: str) -> pd.Timestamp:
        v = self._by_code.at[code, "valid_from"]
        return v if pd.notna(v) else _FAR_PAST

    def _validity_text(self, codes: Iterable[str]) -> str:
        parts = []
        for c in codes:
            r = self._by_code.loc[c]
            lo = f"{r['valid_from']:%d/%m/%Y}" if pd.notna(r["valid_from"]) else "…"
            hi = f"{r['valid_to']:%d/%m/%Y}" if pd.notna(r["valid_to"]) else "…"
            parts.append(f"{r['ward']} ({c}) {lo} – {hi}")
        return "; ".join(parts)

    def resolve(
        self,
        values: pd.Series,
        dates: pd.Series | None = None,
        *,
        source: str = "data",
        column: str = "ward",
        prefer: str = "latest",
    ) -> pd.Series:
        """The ward code of every row: names in any spelling or codes, read on the row's date.

        Without ``dates``, a name several wards have used over time means the latest of them
        (``prefer="latest"``) or the oldest (``"earliest"``: e.g. junctions named when they
        were installed).

        Raises
        ------
        DataError
            One error listing every name that matches no ward (rows, closest names), every
            name used on a date when no ward of that name existed (a ward renamed mid-series:
            the table lacks the ward that replaced it), and rows without a name.
        """
        raw = values.astype("string")
        if raw.isna().any():
            rows = list(raw.index[raw.isna()][:5])
            raise DataError(
                f"{source}, column '{column}': {int(raw.isna().sum())} rows have no ward name "
                f"(rows {examples(rows)}) — fill them in or drop those rows"
            )
        uniques = pd.unique(raw.to_numpy(dtype=object))
        candidates = {u: self._candidates(u) for u in uniques}
        problems: list[str] = []
        unknown = [u for u, c in candidates.items() if not c]
        for u in unknown[:10]:
            rows = list(raw.index[raw == u][:3])
            sugg = self.suggest(u)
            hint = f"; did you mean {examples(sugg)}?" if sugg else ""
            problems.append(f"  {u!r} (rows {examples(rows)}){hint}")
        if len(unknown) > 10:
            problems.append(f"  … and {len(unknown) - 10} more")
        if unknown:
            raise DataError(
                f"{source}, column '{column}': {len(unknown)} ward name(s) match no ward of the "
                f"ward table {self.source}:\n"
                + "\n".join(problems)
                + "\nFix the spelling, use the ward code, or add the ward to the ward table."
            )
        out = pd.Series(pd.NA, index=raw.index, dtype=object)
        timed = dates is not None
        when = (
            pd.Series(np.asarray(pd.to_datetime(dates), dtype="datetime64[ns]"), index=raw.index)
            if timed
            else None
        )
        for u, codes in candidates.items():
            mask = (raw == u).to_numpy()
            if len(codes) == 1 and (not timed or self._always(codes[0])):
                out[mask] = codes[0]
                continue
            if not timed:
                pick = max if prefer == "latest" else min
                out[mask] = pick(codes, key=lambda c: self._valid_from(c))
                continue
            d = when[mask]
            chosen = pd.Series(pd.NA, index=d.index, dtype=object)
            for c in codes:
                r = self._by_code.loc[c]
                lo = r["valid_from"] if pd.notna(r["valid_from"]) else _FAR_PAST
                hi = r["valid_to"] if pd.notna(r["valid_to"]) else _FAR_FUTURE
                hit = (d >= lo) & (d <= hi)
                chosen[hit & chosen.isna()] = c
            missing = chosen.isna()
            if missing.any():
                bad = d[missing]
                problems.append(
                    f"  {u!r} on {bad.min():%d/%m/%Y} – {bad.max():%d/%m/%Y} ({int(missing.sum())} "
                    f"rows, e.g. rows {examples(list(bad.index[:3]))}): no ward of that name "
                    f"existed then ({self._validity_text(codes)})"
                )
            out[mask] = chosen.to_numpy()
        if problems:
            raise DataError(
                f"{source}, column '{column}': ward names used on dates when, according to the "
                f"ward table {self.source}, no such ward existed:\n"
                + "\n".join(problems)
                + "\nA ward renamed or merged mid-series needs its successor in the ward table "
                "(a row with valid_from) — or the rows are under the wrong name."
            )
        return out.astype(str)

    def _always(self, code: str) -> bool:
        r = self._by_code.loc[code]
        return pd.isna(r["valid_from"]) and pd.isna(r["valid_to"])

    # ------------------------------------------------------------------ wards and levels
    def names(self, codes: Iterable[str] | None = None) -> list[str]:
        """Names of ``codes`` (default: every ward of the table, in its order)."""
        if codes is None:
            return self.table["ward"].tolist()
        return [self.name(c) for c in codes]

    @property
    def codes(self) -> list[str]:
        return self.table["ward_code"].tolist()

    @cached_property
    def change_dates(self) -> list[pd.Timestamp]:
        """The days on which the set of wards changed (a reorganisation), in order."""
        days = set(self.table["valid_from"].dropna())
        days |= {d + pd.Timedelta(days=1) for d in self.table["valid_to"].dropna()}
        vf = self.table["valid_from"]
        first = vf.min() if vf.notna().all() else None
        return sorted(d for d in days if first is None or d > first)

    def level(self, date: object | None = None) -> Level:
        """The wards valid on ``date`` (default: the latest level)."""
        ts = pd.Timestamp(date) if date is not None else self._latest_day()
        t = self.table
        lo = t["valid_from"].fillna(_FAR_PAST)
        hi = t["valid_to"].fillna(_FAR_FUTURE)
        keep = (lo <= ts) & (hi >= ts)
        rows = t[keep]
        before = [d for d in self.change_dates if d <= ts]
        after = [d for d in self.change_dates if d > ts]
        return Level(
            date=ts,
            codes=tuple(rows["ward_code"]),
            names=tuple(rows["ward"]),
            start=before[-1] if before else None,
            end=after[0] - pd.Timedelta(days=1) if after else None,
        )

    def levels(self) -> list[Level]:
        """Every level of the table, oldest first (one when nothing was reorganised)."""
        if not self.change_dates:
            return [self.level(self._latest_day())]
        first = self.change_dates[0] - pd.Timedelta(days=1)
        return [self.level(d) for d in [first, *self.change_dates]]

    def _latest_day(self) -> pd.Timestamp:
        last = self.table["valid_from"].dropna()
        return last.max() if len(last) else pd.Timestamp("2000-01-01")

    def frame(self, codes: Sequence[str] | None = None) -> pd.DataFrame:
        """The table's rows for ``codes`` (default all), indexed by nothing, in ``codes``' order."""
        if codes is None:
            return self.table.copy()
        return self._by_code.loc[list(codes)].reset_index(drop=True)

    def population(self, codes: Sequence[str]) -> pd.Series:
        """Population by ward code (NaN where the table has none)."""
        return self._by_code.loc[list(codes), "population"].astype(float)

    def districts(self) -> list[str]:
        """The districts the table names, most wards first (empty without a district column)."""
        d = self.table["district"].replace("", pd.NA).dropna()
        return d.value_counts(sort=True).index.tolist()

    # ------------------------------------------------------------------ neighbours
    def _adjacency(self, adj: pd.DataFrame | None, source: str) -> pd.DataFrame:
        empty = pd.DataFrame({"code_a": pd.Series(dtype=str), "code_b": pd.Series(dtype=str)})
        if adj is None or adj.empty:
            return empty
        missing = [c for c in ("ward_a", "ward_b") if c not in adj.columns]
        if missing:
            raise DataError(
                f"{source}: column(s) {examples(missing)} missing — an adjacency table lists "
                f"pairs of neighbouring wards as ward_a, ward_b (columns: {examples(list(adj.columns))})"
            )
        problems, pairs = [], set()
        for i, (a, b) in enumerate(zip(adj["ward_a"], adj["ward_b"], strict=True), start=2):
            ca, cb = self._candidates(a), self._candidates(b)
            bad = [v for v, c in ((a, ca), (b, cb)) if not c]
            if bad:
                sugg = self.suggest(bad[0])
                hint = f"; did you mean {examples(sugg)}?" if sugg else ""
                problems.append(f"  line {i}: {examples(bad)} not in {self.source}{hint}")
                continue
            for x in ca:
                for y in cb:
                    if x != y and self._overlap(x, y):
                        pairs.add(tuple(sorted((x, y))))
        if problems:
            raise DataError(
                f"{source}: ward name(s) that match no ward of the ward table:\n"
                + "\n".join(problems[:10])
            )
        return pd.DataFrame(sorted(pairs), columns=["code_a", "code_b"])

    def _overlap(self, a: str, b: str) -> bool:
        ra, rb = self._by_code.loc[a], self._by_code.loc[b]
        lo = max(ra["valid_from"] if pd.notna(ra["valid_from"]) else _FAR_PAST,
                 rb["valid_from"] if pd.notna(rb["valid_from"]) else _FAR_PAST)  # fmt: skip
        hi = min(ra["valid_to"] if pd.notna(ra["valid_to"]) else _FAR_FUTURE,
                 rb["valid_to"] if pd.notna(rb["valid_to"]) else _FAR_FUTURE)  # fmt: skip
        return bool(lo <= hi)

    def neighbour_codes(self, code: str) -> list[str]:
        return list(self._neighbour_map.get(code, ()))

    @cached_property
    def _neighbour_map(self) -> dict[str, tuple[str, ...]]:
        """Each code's bordering codes, built once: a city's checks ask for every treated
        ward's neighbours in every report, and scanning the pairs each time grew with the
        square of the wards."""
        out: dict[str, set[str]] = {}
        for a, b in zip(self.adjacency["code_a"], self.adjacency["code_b"], strict=True):
            out.setdefault(a, set()).add(b)
            out.setdefault(b, set()).add(a)
        return {k: tuple(sorted(v)) for k, v in out.items()}

    def neighbours(self, ward: object, date: object = None) -> list[str]:
        """Names of the wards sharing a border with ``ward`` on ``date`` (default: the latest
        ward of that name; empty without adjacency.csv)."""
        code = self.code(ward, date)
        when = pd.Timestamp(date) if date is not None else None
        out = {
            self.name(c)
            for c in self.neighbour_codes(code)
            if when is None or self.valid_on(c, when)
        }
        return sorted(out)

    @property
    def has_adjacency(self) -> bool:
        return not self.adjacency.empty

    # ------------------------------------------------------------------ reorganisation
    def _crosswalk(self, cw: pd.DataFrame | None, source: str) -> pd.DataFrame:
        cols = ["old_code", "new_code", "pop_share", "area_share", "valid_from"]
        if cw is None or cw.empty:
            return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
        missing = [c for c in ("old_code", "new_code") if c not in cw.columns]
        if missing:
            raise DataError(
                f"{source}: column(s) {examples(missing)} missing — a crosswalk lists old_code, "
                f"new_code, pop_share, area_share, valid_from (columns: {examples(list(cw.columns))})"
            )
        out = pd.DataFrame(
            {
                "old_code": cw["old_code"].map(_code_text),
                "new_code": cw["new_code"].map(_code_text),
            }
        )
        for share in ("pop_share", "area_share"):
            out[share] = pd.to_numeric(cw[share], errors="coerce") if share in cw else np.nan
        out["valid_from"] = (
            pd.to_datetime(cw["valid_from"], errors="coerce") if "valid_from" in cw else pd.NaT
        )
        problems = []
        known = set(self.codes)
        for col in ("old_code", "new_code"):
            bad = sorted(set(out[col]) - known)
            if bad:
                problems.append(f"{col} {examples(bad)} not in {self.source}")
        for share in ("pop_share", "area_share"):
            s = out[share]
            if s.notna().any():
                if ((s < 0) | (s > 1)).any():
                    problems.append(
                        f"{share} outside 0–1 on lines {examples(list(s.index[(s < 0) | (s > 1)] + 2))}"
                    )
                sums = s.groupby(out["old_code"]).sum(min_count=1)
                off = sums[(sums - 1).abs() > 0.011]
                if len(off):
                    problems.append(
                        f"{share} of each old ward must sum to 1; it does not for "
                        + examples([f"{c} ({v:.3f})" for c, v in off.items()])
                    )
        if out["pop_share"].isna().all() and out["area_share"].isna().all():
            problems.append(
                "neither pop_share nor area_share is given: rows cannot be carried across"
            )
        if problems:
            raise DataError(
                f"{source}: {len(problems)} problem(s) in the crosswalk:\n"
                + "\n".join(f"- {p}" for p in problems)
            )
        return out

    @property
    def has_crosswalk(self) -> bool:
        return not self.crosswalk.empty

    def pieces(self, weight: str = "pop_share") -> pd.DataFrame:
        """The crosswalk with one ``share`` column: ``weight`` where given, else the other share
        (and the name of the share actually used per row in ``basis``)."""
        if weight not in ("pop_share", "area_share"):
            raise DataError(
                f"argument 'weight' must be 'pop_share' or 'area_share', not {weight!r}"
            )
        other = "area_share" if weight == "pop_share" else "pop_share"
        cw = self.crosswalk.copy()
        cw["share"] = cw[weight].where(cw[weight].notna(), cw[other])
        cw["basis"] = np.where(cw[weight].notna(), weight, other)
        return cw

    def describe_changes(self) -> list[str]:
        """One line per reorganisation: which wards end and which begin."""
        lines = []
        for day in self.change_dates:
            ended = self.table[self.table["valid_to"] == day - pd.Timedelta(days=1)]
            began = self.table[self.table["valid_from"] == day]
            lines.append(
                f"{day:%d/%m/%Y}: {len(ended)} ward(s) end ({examples(ended['ward'].tolist(), 8)}), "
                f"{len(began)} begin ({examples(began['ward'].tolist(), 8)})"
            )
        return lines

    # ------------------------------------------------------------------ reading
    @classmethod
    def read(
        cls,
        path: str | Path,
        *,
        adjacency: str | Path | None = None,
        crosswalk: str | Path | None = None,
    ) -> WardTable:
        """Read ``wards.csv`` (``path`` is the file or the folder holding it) with
        ``adjacency.csv`` and ``crosswalk.csv`` beside it unless given.

        Raises
        ------
        DataError
            Naming the file, the column and the rows of every problem found.
        """
        from evaluation.data.io import read_table

        path = Path(path)
        file = path / WARDS_FILE if path.is_dir() else path
        if not file.exists():
            raise DataError(
                f"{file}: no ward table — a district's data folder holds {WARDS_FILE} (columns "
                "ward, ward_code, population; see data/README.md), or the plan names one with "
                "`ward_table:`; `pilot-eval init` writes a template"
            )
        folder = file.parent
        table = read_table(file, dtype={"ward_code": str})
        extra = {}
        for name, given, default in (
            ("adjacency", adjacency, ADJACENCY_FILE),
            ("crosswalk", crosswalk, CROSSWALK_FILE),
        ):
            p = Path(given) if given is not None else folder / default
            if p.exists():
                extra[name] = (
                    read_table(p, dtype={"old_code": str, "new_code": str}),
                    str(p),
                )
            elif given is not None:
                raise DataError(f"{p}: no such {name} file")
        adj, adj_src = extra.get("adjacency", (None, ADJACENCY_FILE))
        cw, cw_src = extra.get("crosswalk", (None, CROSSWALK_FILE))
        return cls(
            table, adj, cw, source=str(file), adjacency_source=adj_src, crosswalk_source=cw_src
        )


def _check_table(df: pd.DataFrame, source: str) -> pd.DataFrame:
    """The ward table typed and checked: every problem in one DataError."""
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    problems: list[Problem] = []
    missing = [c for c in ("ward", "ward_code", "population") if c not in df.columns]
    if missing:
        close = {m: difflib.get_close_matches(m, list(df.columns), n=1) for m in missing}
        hint = "; ".join(f"'{m}' (did you mean '{c[0]}'?)" for m, c in close.items() if c)
        raise DataError(
            f"{source}: required column(s) {examples(missing)} missing — a ward table has ward, "
            f"ward_code, population (columns: {examples(list(df.columns), 12)})"
            + (f"; {hint}" if hint else "")
        )
    if df.empty:
        raise DataError(f"{source}: the ward table has no rows")
    out = df.copy()
    out["ward"] = df["ward"].map(_nfc)
    out["ward_code"] = df["ward_code"].map(lambda v: _code_text(v) if pd.notna(v) else v)
    for col in ("ward", "ward_code"):
        empty = out[col].isna() | (out[col].astype(str).str.len() == 0)
        if empty.any():
            problems.append(
                Problem(
                    source,
                    col,
                    f"empty on rows {examples(list(out.index[empty] + 2))}",
                    "fill it in",
                )
            )
    pop = pd.to_numeric(df["population"], errors="coerce")
    bad = df["population"].notna() & (df["population"].astype(str).str.strip() != "") & pop.isna()
    if bad.any():
        problems.append(
            Problem(
                source,
                "population",
                f"not a number on rows {examples(list(out.index[bad] + 2))}: "
                f"{examples(df.loc[bad, 'population'].tolist())}",
                "write digits without thousands separators, or leave it empty if unknown",
            )
        )
    if (pop < 0).any():
        problems.append(Problem(source, "population", "negative population", "check the figure"))
    out["population"] = pop.astype(float)
    for col in _OPTIONAL:
        if col not in out.columns:
            out[col] = pd.NA
    out["district"] = out["district"].map(lambda v: _nfc(v) if isinstance(v, str) else "")
    out["aliases"] = out["aliases"].map(
        lambda v: (
            tuple(a.strip() for a in str(v).split(";") if a.strip()) if isinstance(v, str) else ()
        )
    )
    for col in ("area_km2", "households"):
        out[col] = pd.to_numeric(out[col], errors="coerce").astype(float)
    out["urban_class"] = out["urban_class"].map(lambda v: v.strip() if isinstance(v, str) else "")
    for col in ("valid_from", "valid_to"):
        raw = out[col]
        parsed = pd.to_datetime(raw, errors="coerce")
        given = raw.notna() & (raw.astype(str).str.strip() != "")
        bad = given & parsed.isna()
        if bad.any():
            problems.append(
                Problem(
                    source,
                    col,
                    f"not a date on rows {examples(list(out.index[bad] + 2))}: "
                    f"{examples(raw[bad].tolist())}",
                    "write YYYY-MM-DD, or leave it empty",
                )
            )
        out[col] = parsed
    order = (
        out["valid_from"].notna() & out["valid_to"].notna() & (out["valid_from"] > out["valid_to"])
    )
    if order.any():
        problems.append(
            Problem(
                source,
                "valid_to",
                f"before valid_from on rows {examples(list(out.index[order] + 2))}",
            )
        )
    dup = out["ward_code"].duplicated(keep=False) & out["ward_code"].notna()
    if dup.any():
        problems.append(
            Problem(
                source,
                "ward_code",
                f"{examples(sorted(set(out.loc[dup, 'ward_code'])))} used by more than one row",
                "each ward (or each version of a reorganised ward) needs its own code",
            )
        )
    if not problems:
        problems += _same_name_same_time(out, source)
    if problems:
        raise DataError(
            f"{source}: {len(problems)} problem(s) in the ward table:\n"
            + "\n".join(f"- {p}" for p in problems),
            problems,
        )
    return out.reset_index(drop=True)


def _same_name_same_time(t: pd.DataFrame, source: str) -> list[Problem]:
    """Two wards whose names (or aliases) read the same and that exist at the same time."""
    seen: dict[str, list[int]] = {}
    for i, row in t.iterrows():
        for name in (row["ward"], *row["aliases"]):
            rows = seen.setdefault(ward_key(name), [])
            if i not in rows:
                rows.append(i)
    problems = []
    for key, rows in seen.items():
        if len(rows) < 2:
            continue
        for a in range(len(rows)):
            for b in range(a + 1, len(rows)):
                ra, rb = t.loc[rows[a]], t.loc[rows[b]]
                lo = max(ra["valid_from"] if pd.notna(ra["valid_from"]) else _FAR_PAST,
                         rb["valid_from"] if pd.notna(rb["valid_from"]) else _FAR_PAST)  # fmt: skip
                hi = min(ra["valid_to"] if pd.notna(ra["valid_to"]) else _FAR_FUTURE,
                         rb["valid_to"] if pd.notna(rb["valid_to"]) else _FAR_FUTURE)  # fmt: skip
                if lo <= hi:
                    problems.append(
                        Problem(
                            source,
                            "ward",
                            f"{ra['ward']!r} ({ra['ward_code']}) and {rb['ward']!r} "
                            f"({rb['ward_code']}) read alike ({key!r}) and exist at the same time",
                            "rename one, or give them valid_from / valid_to that do not overlap",
                        )
                    )
    return problems


# --------------------------------------------------------------------------------------------
# finding and loading
# --------------------------------------------------------------------------------------------


def find_ward_table(*places: str | Path | None) -> Path | None:
    """The first ``wards.csv`` in ``places`` (files or folders; a file's own folder is looked in
    too), or None."""
    for place in places:
        if place is None:
            continue
        p = Path(place)
        if p.is_file() and p.name.lower() == WARDS_FILE:
            return p
        folder = p if p.is_dir() else p.parent
        if (folder / WARDS_FILE).exists():
            return folder / WARDS_FILE
    return None


def load_wards(
    source: str | Path | WardTable,
    *,
    adjacency: str | Path | None = None,
    crosswalk: str | Path | None = None,
) -> WardTable:
    """A district's ward table: ``wards.csv`` (or the folder holding it), with
    ``adjacency.csv`` and ``crosswalk.csv`` beside it unless given (``ev.load_wards``).

    Examples
    --------
    >>> wards = ev.load_wards("data/demo")                     # doctest: +SKIP
    >>> ev.normalize_ward("Co Nhue 2", wards)                  # doctest: +SKIP
    'Cổ Nhuế 2'
    """
    if isinstance(source, WardTable):
        return source
    return WardTable.read(source, adjacency=adjacency, crosswalk=crosswalk)


def normalize_ward(
    name: object,
    wards: WardTable | str | Path,
    *,
    date: object = None,
    source: str = "argument 'ward'",
) -> str:
    """Canonical Vietnamese (NFC) name of a ward of ``wards`` given in any common spelling or by
    its code, read on ``date`` when a reorganisation reused the name (``ev.normalize_ward``).

    Raises
    ------
    DataError
        When the name matches no ward of the table; the message suggests the closest names.
    """
    return load_wards(wards).normalize(name, date, source=source)


def hanoi_reference() -> WardTable:
    """The package's Hà Nội reference tables, with the source of every figure: the 13 wards of
    Bắc Từ Liêm before 1 July 2025, the new wards that absorbed them (Resolution
    1656/NQ-UBTVQH15), the crosswalk between them and the old wards' adjacency. A starting point
    to copy into a district's data folder (``[EST]`` marks estimates), never read by an
    analysis on its own."""
    folder = resources.files("evaluation.reference").joinpath("hanoi")
    with resources.as_file(folder) as path:
        return WardTable.read(Path(path))
