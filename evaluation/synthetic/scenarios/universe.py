"""The wards of a generated district: names, codes, populations, urban class and borders.

A :class:`Universe` is what a generated district is made of — by default Bắc Từ Liêm's 13
wards before 2025 (from the package's Hà Nội reference tables), or any other set: a list of
names with populations (e.g. Cầu Giấy's eight wards), or ``n`` wards with generated names,
populations from a plausible spread and neighbours on a grid (:meth:`Universe.generated`).
:func:`evaluation.synthetic.scenarios.write_district` writes it as the district's own
``wards.csv`` and ``adjacency.csv``, so that the analyses meet it as they meet a user's.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

import numpy as np
import pandas as pd

from evaluation.data.wards import WardTable, hanoi_reference

__all__ = ["Universe", "UniverseWard", "NAME_POOL"]

#: names for generated wards (common Vietnamese place names); more wards than names get numbers
NAME_POOL = (
    "An Bình", "An Khánh", "An Phú", "Bình Minh", "Bình An", "Cẩm Bình", "Đại Đồng",
    "Đồng Tâm", "Đông Hòa", "Hòa Bình", "Hòa Lạc", "Hồng Hà", "Hưng Thịnh", "Kim Liên",
    "Khương Đình", "Lạc Long", "Liên Hiệp", "Long Biên", "Minh Châu", "Mỹ Đình", "Nam Sơn",
    "Ngọc Hà", "Ngọc Lâm", "Nhân Chính", "Phú Lương", "Phúc Lợi", "Phương Liệt", "Quang Trung",
    "Quảng An", "Quỳnh Mai", "Sơn Đồng", "Tân Mai", "Tân Phong", "Tây Mỗ", "Thạch Bàn",
    "Thanh Lương", "Thanh Trì", "Thịnh Liệt", "Thống Nhất", "Thuận An", "Trung Hòa",
    "Trung Liệt", "Trường Lâm", "Tương Mai", "Văn Miếu", "Văn Quán", "Việt Hưng", "Vĩnh Hưng",
    "Vĩnh Tuy", "Xuân Mai", "Yên Hòa", "Yên Nghĩa", "Yên Sở", "Định Công", "Đức Giang",
    "Gia Thụy", "Giáp Bát", "Hạ Đình", "Hoàng Liệt", "Kiến Hưng",
)  # fmt: skip


@dataclass(frozen=True)
class UniverseWard:
    """One ward: ``rental_ratio`` is rental houses per household (fires in rented rooms
    scale with it); ``district`` is the ward's own district in a city of several (empty: the
    universe's)."""

    name: str
    code: str
    population: float
    urban_class: str
    rental_ratio: float
    households: float
    district: str = ""


@dataclass(frozen=True)
class Universe:
    """The wards of a generated district (see the module docstring)."""

    district: str
    wards: tuple[UniverseWard, ...]
    adjacency: tuple[tuple[str, str], ...] = ()

    @property
    def names(self) -> list[str]:
        return [w.name for w in self.wards]

    def frame(self) -> pd.DataFrame:
        """``ward``, ``code``, ``urban_class``, ``population``, ``rental_ratio``, ``households``."""
        return pd.DataFrame(
            {
                "ward": self.names,
                "code": [w.code for w in self.wards],
                "urban_class": [w.urban_class for w in self.wards],
                "population": [float(w.population) for w in self.wards],
                "rental_ratio": [float(w.rental_ratio) for w in self.wards],
                "households": [float(w.households) for w in self.wards],
            }
        )

    @property
    def districts(self) -> list[str]:
        """Each ward's district, in ward order ("" for every ward of a city without a district
        level)."""
        return [w.district or self.district for w in self.wards]

    def wards_csv(self) -> pd.DataFrame:
        """The district's (or city's) ``wards.csv`` in the documented format; without a
        district level (no ward has a district) the optional ``district`` column is left out."""
        f = self.frame()
        table = pd.DataFrame(
            {
                "ward": f["ward"],
                "ward_code": f["code"],
                "population": f["population"].round().astype(int),
                "district": self.districts,
                "households": f["households"].round().astype(int),
                "urban_class": f["urban_class"],
            }
        )
        return table if any(self.districts) else table.drop(columns="district")

    def adjacency_csv(self) -> pd.DataFrame:
        return pd.DataFrame(list(self.adjacency), columns=["ward_a", "ward_b"])

    @cached_property
    def table(self) -> WardTable:
        """The wards as a :class:`~evaluation.data.wards.WardTable` (spellings, borders)."""
        return WardTable(
            self.wards_csv(), self.adjacency_csv(), source=f"{self.district or 'city'} (generated)"
        )

    def normalize(self, name: str) -> str:
        return self.table.normalize(name, source="Scenario")

    def to_dict(self) -> dict[str, Any]:
        return {
            "district": self.district,
            "wards": [dataclasses.asdict(w) for w in self.wards],
            "adjacency": [list(p) for p in self.adjacency],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Universe:
        return cls(
            data["district"],
            tuple(UniverseWard(**w) for w in data["wards"]),
            tuple(tuple(p) for p in data.get("adjacency", ())),
        )

    # ------------------------------------------------------------------ ready-made universes
    @classmethod
    def bac_tu_liem(cls) -> Universe:
        """Bắc Từ Liêm's 13 wards before 1 July 2025 (the package's Hà Nội reference)."""
        return _bac_tu_liem()

    @classmethod
    def of(
        cls,
        district: str,
        names: list[str],
        populations: list[float],
        *,
        urban_class: list[str] | None = None,
        adjacency: list[tuple[str, str]] = (),
        codes: list[str] | None = None,
    ) -> Universe:
        """A universe from names and populations (classes default from population rank)."""
        n = len(names)
        classes = urban_class or _classes(np.asarray(populations, dtype=float))
        codes = codes or [f"{90000 + i:05d}" for i in range(n)]
        wards = tuple(
            UniverseWard(
                name,
                str(code),
                float(pop),
                cls_,
                _RENTAL[cls_],
                round(float(pop) / 3.5),
            )
            for name, code, pop, cls_ in zip(names, codes, populations, classes, strict=True)
        )
        return cls(district, wards, tuple(tuple(p) for p in adjacency))

    @classmethod
    def generated(
        cls,
        n: int,
        rng: np.random.Generator,
        *,
        district: str = "Quận Mẫu",
        code_start: int = 80000,
        districts: int = 0,
        median_population: float = 25_000,
    ) -> Universe:
        """``n`` wards with generated names, populations from a log-normal spread (median
        ``median_population``, by default 25,000 with a ward of 2,000 to 150,000 people — the
        bounds scale with the median), urban class by population rank and borders on a grid
        (each ward bordering its neighbours to the east, west, north and south).

        ``districts`` > 0 groups the wards into that many districts of neighbouring wards
        (contiguous runs of the grid, named ``"{district} 1"``, ``"{district} 2"``, …): a city
        before 1 July 2025. ``district=""`` with ``districts=0`` gives a city without a
        district level (Hà Nội's wards and communes since 1 July 2025)."""
        if n < 3:
            raise ValueError("a generated district needs at least 3 wards")
        if not 0 <= districts <= n:
            raise ValueError(f"districts must be 0 … {n} (the number of wards), not {districts}")
        pool = list(NAME_POOL)
        order = rng.permutation(len(pool))
        names = []
        for i in range(n):
            base = pool[order[i % len(pool)]]
            names.append(base if i < len(pool) else f"{base} {i // len(pool) + 1}")
        scale = median_population / 25_000
        pops = np.clip(
            np.round(np.exp(rng.normal(math.log(median_population), 0.45, n)), -1),
            2_000 * scale,
            150_000 * scale,
        )
        width = max(2, int(math.ceil(math.sqrt(n))))
        pairs = []
        for i in range(n):
            r, c = divmod(i, width)
            for j in (i + 1 if c + 1 < width else None, i + width):
                if j is not None and j < n:
                    pairs.append((names[i], names[j]))
        codes = [f"{code_start + 3 * i:05d}" for i in range(n)]
        universe = cls.of(district, names, list(pops), adjacency=pairs, codes=codes)
        if districts:
            # consecutive runs of a snake through the grid (each row starts where the row
            # before ended, the last, partial row running forward): connected blocks
            rows = -(-n // width)
            snake = [
                r * width + (c if (rows - 1 - r) % 2 == 0 else width - 1 - c)
                for r, c in (divmod(i, width) for i in range(n))
            ]
            rank = np.argsort(np.argsort(snake))
            own = [f"{district} {k * districts // n + 1}".strip() for k in rank]
            wards = tuple(
                dataclasses.replace(w, district=d) for w, d in zip(universe.wards, own, strict=True)
            )
            universe = dataclasses.replace(universe, wards=wards)
        return universe


_RENTAL = {"dense": 0.10, "mid": 0.06, "peri-urban": 0.035}


def _classes(pops: np.ndarray) -> list[str]:
    """Urban class by population rank: the top third dense, the bottom third peri-urban."""
    rank = pops.argsort().argsort() / max(len(pops) - 1, 1)
    return ["dense" if r >= 2 / 3 else "peri-urban" if r < 1 / 3 else "mid" for r in rank]


@cache
def _bac_tu_liem() -> Universe:
    ref = hanoi_reference()
    level = ref.level(pd.Timestamp("2025-06-30"))
    f = ref.frame(level.codes)
    wards = tuple(
        UniverseWard(
            row.ward,
            row.ward_code,
            float(row.population),
            row.urban_class,
            float(row.n_rental_houses_est) / float(row.households),
            float(row.households),
        )
        for row in f.itertuples(index=False)
    )
    adj = tuple(
        (ref.name(a), ref.name(b))
        for a, b in ref.adjacency.itertuples(index=False)
        if a in level.codes and b in level.codes
    )
    return Universe("Bắc Từ Liêm", wards, adj)
