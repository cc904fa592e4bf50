"""Ward gazetteer, name normalisation and the 2025 reorganisation crosswalk.

The 13 wards of Bắc Từ Liêm before 1 July 2025 (GSO codes 00595–00620) and the new wards that
absorbed them (Resolution 1656/NQ-UBTVQH15) are package data in ``evaluation/reference/``:
``wards.csv`` (codes, names, areas, populations, with the source of each figure and ``[EST]``
where estimated), ``wards_new.csv``, ``crosswalk.csv`` (old → new with area and population
shares) and ``adjacency.csv``.

Names arrive in many spellings: with or without diacritics, decomposed Unicode (NFD) from
macOS, "P." or "Phường" prefixes, upper case, double spaces, old-style tone placement
("Thuỵ" for "Thụy"), zero-padded numbers ("Cổ Nhuế 02"), or the GSO code with its leading zeros
lost by Excel (617). :func:`normalize_ward` maps all of them to the canonical NFC name.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from functools import lru_cache
from importlib import resources

import pandas as pd

from evaluation.errors import DataError, examples

__all__ = [
    "wards",
    "new_wards",
    "crosswalk",
    "adjacency",
    "neighbours",
    "normalize_ward",
    "normalize_wards",
    "ward_key",
    "to_new_wards",
    "REORGANISATION_DATE",
]

REORGANISATION_DATE = pd.Timestamp("2025-07-01")

_PREFIX = re.compile(r"^(phuong|p\.?|ward|xa|thi tran)\s+", re.IGNORECASE)
_ROMAN = {"i": "1", "ii": "2", "iii": "3"}


def _read_reference(name: str, code_cols: tuple[str, ...] = ()) -> pd.DataFrame:
    with resources.files("evaluation.reference").joinpath(name).open("rb") as fh:
        df = pd.read_csv(fh, dtype={c: str for c in code_cols}, encoding="utf-8")
    for col in df.columns:
        if pd.api.types.is_string_dtype(df[col]):
            df[col] = df[col].map(
                lambda v: unicodedata.normalize("NFC", v) if isinstance(v, str) else v
            )
    return df


@lru_cache(maxsize=1)
def _wards() -> pd.DataFrame:
    return _read_reference("wards.csv", ("ward_code",))


def wards() -> pd.DataFrame:
    """The 13 pre-2025 wards of Bắc Từ Liêm: code, names, area, populations, urban class.

    ``pop_2024_est`` and the three areas/populations the public sources lack are estimates,
    marked ``[EST]`` in the source columns (see ``data/README.md``).
    """
    return _wards().copy()


@lru_cache(maxsize=1)
def _new_wards() -> pd.DataFrame:
    return _read_reference("wards_new.csv")


def new_wards() -> pd.DataFrame:
    """The new wards (from 1 July 2025) that absorbed Bắc Từ Liêm, with published figures."""
    return _new_wards().copy()


@lru_cache(maxsize=1)
def _crosswalk() -> pd.DataFrame:
    return _read_reference("crosswalk.csv", ("old_code",))


def crosswalk() -> pd.DataFrame:
    """Old ward → new ward pieces with ``area_share`` and ``pop_share`` (each sums to 1 per
    old ward) and whether the weight is published or estimated."""
    return _crosswalk().copy()


@lru_cache(maxsize=1)
def _adjacency() -> pd.DataFrame:
    return _read_reference("adjacency.csv")


def adjacency() -> pd.DataFrame:
    """Pairs of adjacent old wards (``ward_a``, ``ward_b``, ``source``: sjkland or inferred)."""
    return _adjacency().copy()


def neighbours(ward: str) -> list[str]:
    """Canonical names of the wards sharing a border with ``ward`` (old wards)."""
    name = normalize_ward(ward)
    a = _adjacency()
    out = set(a.loc[a["ward_a"] == name, "ward_b"]) | set(a.loc[a["ward_b"] == name, "ward_a"])
    return sorted(out)


def _strip_accents(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
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


@lru_cache(maxsize=1)
def _lookup() -> dict[str, str]:
    table: dict[str, str] = {}
    w = _wards()
    for _, row in w.iterrows():
        for variant in (row["name_vi"], row["name_ascii"]):
            table[ward_key(variant)] = row["name_vi"]
        code = row["ward_code"]
        table[code] = row["name_vi"]
        table[str(int(code))] = row["name_vi"]  # Excel drops the leading zeros: 00617 -> 617
    for _, row in _new_wards().iterrows():
        name = unicodedata.normalize("NFC", row["name_vi"])
        table.setdefault(ward_key(name), name)
        table.setdefault(ward_key(row["name_ascii"]), name)
    return table


def _suggest(key: str) -> list[str]:
    table = _lookup()
    close = difflib.get_close_matches(key, [k for k in table if not k.isdigit()], n=3, cutoff=0.6)
    seen: list[str] = []
    for k in close:
        if table[k] not in seen:
            seen.append(table[k])
    return seen


def normalize_ward(name: object, *, source: str = "argument 'ward'") -> str:
    """Canonical Vietnamese (NFC) name of a ward given in any common spelling or its GSO code.

    Raises
    ------
    DataError
        When the name matches no ward; the message suggests the closest known names.
    """
    if name is None or (isinstance(name, float) and pd.isna(name)):
        raise DataError(f"{source}: a ward name is missing — fill it in or drop the row")
    key = ward_key(name)
    hit = _lookup().get(key)
    if hit is None:
        suggestions = _suggest(key)
        hint = f" Did you mean {examples(suggestions)}?" if suggestions else ""
        raise DataError(
            f"{source}: unknown ward {name!r}.{hint} Known wards: {', '.join(_wards()['name_vi'])}."
        )
    return hit


def normalize_wards(values: pd.Series, *, source: str = "data", column: str = "ward") -> pd.Series:
    """Normalise a whole column of ward names; every unknown name is reported at once.

    Raises
    ------
    DataError
        Listing each unknown spelling, the first rows where it occurs, and the closest names.
    """
    table = _lookup()
    raw = values.astype("string")
    uniques = raw.dropna().unique()
    mapping = {u: table.get(ward_key(u)) for u in uniques}
    unknown = [u for u, v in mapping.items() if v is None]
    if raw.isna().any():
        rows = list(raw.index[raw.isna()][:5])
        raise DataError(
            f"{source}, column '{column}': {int(raw.isna().sum())} rows have no ward name "
            f"(rows {examples(rows)}) — fill them in or drop those rows"
        )
    if unknown:
        lines = []
        for u in unknown[:10]:
            rows = list(raw.index[raw == u][:3])
            sugg = _suggest(ward_key(u))
            hint = f"; did you mean {examples(sugg)}?" if sugg else ""
            lines.append(f"  {u!r} (rows {examples(rows)}){hint}")
        more = f"\n  … and {len(unknown) - 10} more" if len(unknown) > 10 else ""
        raise DataError(
            f"{source}, column '{column}': {len(unknown)} ward name(s) match no known ward:\n"
            + "\n".join(lines)
            + more
            + "\nFix the spelling or use the GSO code (e.g. 00617 for Cổ Nhuế 2)."
        )
    return raw.map(mapping).astype(str)


def to_new_wards(
    data: pd.DataFrame,
    *,
    ward: str = "ward",
    time: str | None = None,
    counts: tuple[str, ...] | list[str] = (),
    rates: tuple[str, ...] | list[str] = (),
    weight: str = "pop_share",
) -> pd.DataFrame:
    """Aggregate an old-ward panel to the new wards of 1 July 2025.

    Counts (fires, cases, minutes summed over junctions …) are allocated to new wards in
    proportion to each piece's ``weight`` share (population by default, or ``"area_share"``)
    and summed, so district totals are preserved exactly. Rates and averages are averaged with
    the old wards' 2024 population × share as weights.

    Parameters
    ----------
    data
        Long panel with one row per old ward (× ``time`` if given).
    counts, rates
        Columns to sum and to average.
    weight
        ``"pop_share"`` or ``"area_share"`` from :func:`crosswalk`.

    Returns
    -------
    DataFrame with ``new_ward`` (canonical name), ``new_code``, the time column, the aggregated
    columns and ``btl_coverage_est`` (share of the new ward's population that lies in Bắc Từ
    Liêm, so a reader knows when a new ward is only partly covered by these data).
    """
    if weight not in ("pop_share", "area_share"):
        raise DataError(f"argument 'weight' must be 'pop_share' or 'area_share', not {weight!r}")
    missing = [c for c in [ward, *counts, *rates] + ([time] if time else []) if c not in data]
    if missing:
        raise DataError(
            f"to_new_wards: column(s) {examples(missing)} not in the data; "
            f"columns are {examples(list(data.columns), 12)}"
        )
    df = data.copy()
    df["_old"] = normalize_wards(df[ward], source="to_new_wards", column=ward)
    cw = _crosswalk()
    pop = _wards().set_index("name_vi")["pop_2024_est"]
    merged = df.merge(
        cw[["old_name", "new_code", "new_name", weight]],
        left_on="_old",
        right_on="old_name",
        how="left",
    )
    keys = ["new_code", "new_name"] + ([time] if time else [])
    out = {}
    for c in counts:
        merged[c] = merged[c] * merged[weight]
    for c in rates:
        merged["_w"] = merged["_old"].map(pop) * merged[weight]
        merged[c] = merged[c] * merged["_w"]
    grouped = merged.groupby(keys, sort=True, dropna=False)
    for c in counts:
        out[c] = grouped[c].sum(min_count=1)
    if rates:
        wsum = grouped["_w"].sum()
        for c in rates:
            out[c] = grouped[c].sum(min_count=1) / wsum
    result = pd.DataFrame(out).reset_index().rename(columns={"new_name": "new_ward"})
    cov = _new_wards().set_index("new_code")["btl_coverage_est"]
    result["btl_coverage_est"] = result["new_code"].map(cov)
    return result
