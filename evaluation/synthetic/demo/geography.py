"""The demo's wards: Bắc Từ Liêm's 13, five bordering wards of neighbouring districts that never
took its programmes, and the new wards that absorbed them all on 1 July 2025.

The 13 wards, the new wards and the crosswalk come from the package's Hà Nội reference tables
(:func:`evaluation.data.wards.hanoi_reference`, with their sources). The bordering wards and
the pieces of the new wards they went to are this demo's own **[EST]** figures: plausible
from the brief's geography (§1.3, §2), not official. They are the comparison wards from
outside the programme that let the last rollout wave and the months after it be estimated.

:func:`ward_table`, :func:`adjacency` and :func:`crosswalk` are what ``make demo-data`` writes
to ``data/demo/wards.csv``, ``adjacency.csv`` and ``crosswalk.csv`` — the demo district's own
ward table, read by every analysis like any user's.
"""

from __future__ import annotations

from functools import cache

import pandas as pd

from evaluation.data.wards import hanoi_reference

__all__ = [
    "REORGANISATION",
    "district_wards",
    "outside_wards",
    "ward_table",
    "adjacency",
    "crosswalk",
    "neighbours",
    "new_ward_pieces",
]

#: the day the new wards began (Resolution 1656/NQ-UBTVQH15)
REORGANISATION = pd.Timestamp("2025-07-01")

# The generators' columns (as the reference tables had them before the ward table existed)
_COLUMNS = {
    "ward": "name_vi",
    "population": "pop_2024_est",
    "households": "households",
    "n_rental_houses_est": "n_rental_houses_est",
}

#: bordering wards of neighbouring districts [EST]: code, district, 2024 population,
#: households, rental houses, urban class, area (km²), and the new wards they went to
_OUTSIDE = [
    ("Phú Thượng", "00091", "Tây Hồ", 33_500, 9_300, 700, "mid", 6.8, {"N-PT": 1.0}),
    ("Xuân La", "00103", "Tây Hồ", 38_200, 10_800, 900, "dense", 1.6, {"N-XD": 0.7, "N-PT": 0.3}),
    ("Nghĩa Đô", "00157", "Cầu Giấy", 41_000, 11_600, 1_000, "dense", 1.4, {"N-ND": 1.0}),
    (
        "Mai Dịch",
        "00167",
        "Cầu Giấy",
        45_300,
        12_900,
        1_200,
        "dense",
        1.9,
        {"N-PD": 0.85, "N-ND": 0.15},
    ),
    ("Xuân Phương", "00593", "Nam Từ Liêm", 31_800, 8_700, 600, "mid", 3.3, {"N-XP": 1.0}),
]
#: new wards the reference lacks or lists without a population [EST]
_NEW_EXTRA = {
    "N-PT": {
        "population": 55_000,
        "source": "[EST] the old Phú Thượng plus pieces of Xuân La, Xuân Tảo, Đông Ngạc, Xuân Đỉnh",
    },
}
_NEW_WARDS = [
    ("Nghĩa Đô", "N-ND", 125_568, 4.34, "Wikipedia mirror (kiwix 2025-08), unverified"),
]
_OUTSIDE_ADJACENCY = [
    ("Phú Thượng", "Đông Ngạc"),
    ("Phú Thượng", "Xuân Đỉnh"),
    ("Phú Thượng", "Xuân La"),
    ("Xuân La", "Xuân Đỉnh"),
    ("Xuân La", "Xuân Tảo"),
    ("Xuân La", "Nghĩa Đô"),
    ("Nghĩa Đô", "Xuân Tảo"),
    ("Nghĩa Đô", "Cổ Nhuế 1"),
    ("Nghĩa Đô", "Mai Dịch"),
    ("Mai Dịch", "Cổ Nhuế 1"),
    ("Mai Dịch", "Phú Diễn"),
    ("Xuân Phương", "Phúc Diễn"),
    ("Xuân Phương", "Minh Khai"),
]
#: the new wards' own borders (the brief's Hanoi TV source, §1.3)
_NEW_ADJACENCY = [
    ("N-DN", "N-PT"),
    ("N-DN", "N-XD"),
    ("N-DN", "N-TC"),
    ("N-DN", "N-PD"),
    ("N-DN", "N-TT"),
    ("N-DN", "N-ND"),
    ("N-XD", "N-ND"),
    ("N-XD", "N-PT"),
    ("N-XD", "N-PD"),
    ("N-TC", "N-TT"),
    ("N-PD", "N-XP"),
    ("N-TT", "N-XP"),
]


def _generator_frame(table: pd.DataFrame) -> pd.DataFrame:
    out = table.rename(columns=_COLUMNS).reset_index(drop=True)
    out["pop_2024_est"] = out["pop_2024_est"].astype(int)
    out["households_est"] = out["households"].astype(int)
    out["n_rental_houses_est"] = out["n_rental_houses_est"].astype(int)
    return out


@cache
def _reference():
    return hanoi_reference()


def district_wards() -> pd.DataFrame:
    """Bắc Từ Liêm's 13 wards before 1 July 2025, as the generators read them: ``name_vi``,
    ``ward_code``, ``district``, ``pop_2024_est``, ``households_est``,
    ``n_rental_houses_est``, ``urban_class``, ``area_km2``."""
    ref = _reference()
    old = ref.level(REORGANISATION - pd.Timedelta(days=1))
    return _generator_frame(ref.frame(old.codes)).copy()


def outside_wards() -> pd.DataFrame:
    """The five bordering wards of neighbouring districts [EST], in the same columns."""
    rows = [
        {
            "name_vi": name,
            "ward_code": code,
            "district": district,
            "pop_2024_est": pop,
            "households_est": hh,
            "households": float(hh),
            "n_rental_houses_est": rental,
            "urban_class": cls,
            "area_km2": area,
        }
        for name, code, district, pop, hh, rental, cls, area, _ in _OUTSIDE
    ]
    return pd.DataFrame(rows)


def ward_table(recorded: str = "new") -> pd.DataFrame:
    """``data/demo/wards.csv``: every ward of the demo, old and new, in the documented format
    with the source of each figure. ``recorded="old"`` gives the table of a world without the
    reorganisation: the old wards only, valid throughout."""
    ref = _reference().table.copy()
    ref["aliases"] = ""
    ref["valid_from"] = ref["valid_from"].dt.strftime("%Y-%m-%d").fillna("")
    ref["valid_to"] = ref["valid_to"].dt.strftime("%Y-%m-%d").fillna("")
    for code, extra in _NEW_EXTRA.items():
        i = ref.index[ref["ward_code"] == code]
        ref.loc[i, "population"] = extra["population"]
        ref.loc[i, "population_source"] = extra["source"]
    old = ref[ref["valid_to"] != ""]
    new = ref[ref["valid_to"] == ""]
    outside = pd.DataFrame(
        [
            {
                "ward": name,
                "ward_code": code,
                "population": pop,
                "district": district,
                "aliases": "",
                "area_km2": area,
                "households": hh,
                "urban_class": cls,
                "valid_from": "",
                "valid_to": (REORGANISATION - pd.Timedelta(days=1)).strftime("%Y-%m-%d"),
                "name_ascii": "",
                "population_source": "[EST] demo: a bordering ward of a neighbouring district",
                "area_source": "[EST]",
                "n_rental_houses_est": rental,
            }
            for name, code, district, pop, hh, rental, cls, area, _ in _OUTSIDE
        ]
    )
    added = pd.DataFrame(
        [
            {
                "ward": name,
                "ward_code": code,
                "population": pop,
                "district": "",
                "aliases": "",
                "area_km2": area,
                "valid_from": REORGANISATION.strftime("%Y-%m-%d"),
                "valid_to": "",
                "population_source": source,
            }
            for name, code, pop, area, source in _NEW_WARDS
        ]
    )
    cols = [
        "ward",
        "ward_code",
        "population",
        "district",
        "aliases",
        "area_km2",
        "households",
        "urban_class",
        "valid_from",
        "valid_to",
        "population_source",
        "n_rental_houses_est",
    ]
    table = pd.concat([old, outside, new, added], ignore_index=True)[cols]
    if recorded == "old":
        table = pd.concat([old, outside], ignore_index=True)[cols].assign(valid_to="")
    for c in ("population", "households", "n_rental_houses_est"):
        table[c] = table[c].map(lambda v: "" if pd.isna(v) else str(int(v)))
    table["area_km2"] = table["area_km2"].map(lambda v: "" if pd.isna(v) else f"{float(v):g}")
    return table.fillna("")


def crosswalk() -> pd.DataFrame:
    """``data/demo/crosswalk.csv``: the reference crosswalk plus the bordering wards' pieces."""
    ref = _reference().crosswalk.copy()
    rows = [
        {"old_code": code, "new_code": new, "pop_share": share, "area_share": share}
        for _, code, _, _, _, _, _, _, pieces in _OUTSIDE
        for new, share in pieces.items()
    ]
    out = pd.concat([ref, pd.DataFrame(rows)], ignore_index=True)
    out["valid_from"] = REORGANISATION.strftime("%Y-%m-%d")
    out["pop_share"] = out["pop_share"].round(4)
    out["area_share"] = out["area_share"].round(4)
    return out[["old_code", "new_code", "pop_share", "area_share", "valid_from"]]


def adjacency() -> pd.DataFrame:
    """``data/demo/adjacency.csv``: old wards' borders (reference and [EST]), new wards'."""
    ref = _reference()
    pairs = [(ref.name(a), ref.name(b)) for a, b in ref.adjacency.itertuples(index=False)]
    names = dict(zip(ref.table["ward_code"], ref.table["ward"], strict=True))
    names["N-ND"] = "Nghĩa Đô"
    old = [p for p in pairs if p not in _new_pairs(names)]
    rows = [*old, *_OUTSIDE_ADJACENCY, *[(a, b) for a, b in _NEW_ADJACENCY]]
    out = pd.DataFrame(rows, columns=["ward_a", "ward_b"]).drop_duplicates()
    return out.reset_index(drop=True)


def _new_pairs(names: dict[str, str]) -> set[tuple[str, str]]:
    return {(names[a], names[b]) for a, b in _NEW_ADJACENCY if a in names and b in names}


def neighbours(ward: str) -> list[str]:
    """Old-level neighbours of a demo ward (Bắc Từ Liêm's and the bordering wards)."""
    adj = adjacency()
    old = set(district_wards()["name_vi"]) | set(outside_wards()["name_vi"])
    out = set(adj.loc[adj["ward_a"] == ward, "ward_b"]) | set(
        adj.loc[adj["ward_b"] == ward, "ward_a"]
    )
    return sorted(out & old)


def new_ward_pieces() -> pd.DataFrame:
    """Old ward name → new ward name and population share (for re-recording rows)."""
    cw = crosswalk()
    table = ward_table().set_index("ward_code")["ward"]
    return pd.DataFrame(
        {
            "old": cw["old_code"].map(table),
            "old_code": cw["old_code"],
            "new": cw["new_code"].map(table),
            "new_code": cw["new_code"],
            "share": cw["pop_share"].astype(float),
        }
    )
