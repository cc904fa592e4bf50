"""A generated city: many wards, grouped into districts or not, with staggered programmes.

Hà Nội's programmes are evaluated city-wide too: about 580 wards and communes in some 30
districts before 1 July 2025, 126 wards and communes with no district level since. A city is a
:class:`~evaluation.synthetic.scenarios.scenario.Scenario` over a bigger
:class:`~evaluation.synthetic.scenarios.universe.Universe` (:meth:`Universe.generated` with
``districts``), written by :func:`~evaluation.synthetic.scenarios.write_district` like any
district: its own ``wards.csv`` and ``adjacency.csv``, ``junctions.csv``, three years of daily
junction × peak traffic, fires, minor electrical incidents, security by police period, the
pilot registry, ``data_notes.yaml`` and the truth.

Three programmes, each rolled out area by area (an area is a district, or without a district
level a block of about 20 neighbouring units), with planted effects:

* the traffic model: a pilot ward, then three waves of areas (−15 %, −25 %, −20 % of congestion
  minutes at full strength; the pilot −20 %); about a fifth of the areas never take it;
* public fire-fighting points: each area opens them on its own date in about half of its wards,
  with an effect on fire counts drawn per area (−15 … −30 %);
* community cameras: each area on its own date, in most wards — and **no effect** on the share
  of cases solved (the programme whose right answer is "no change").

    >>> from evaluation.synthetic.scenarios import city_scenario, write_district
    >>> truth = write_district("city_data", city_scenario(126, seed=0), seed=0)  # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluation.synthetic.scenarios.scenario import Scenario, Wave, _date
from evaluation.synthetic.scenarios.universe import Universe

__all__ = ["city_scenario", "city_universe", "areas_of", "CITY_POPULATION"]

#: Hà Nội's population, shared among the generated units (the median ward scales with it)
CITY_POPULATION = 8_500_000

#: the data windows: three years of daily traffic, fires and police periods from January 2022
_TRAFFIC = ("2022-07-01", "2025-06-30")
_FIRE = ("2022-01-01", "2025-06-30")
_SECURITY = ("2022-01-15", "2025-06-15")

_PILOT_START = "2023-09-04"
#: the traffic waves: name, start, effect at full strength, share of the areas
_WAVES = (
    ("A", "2024-01-08", -0.15, 0.3),
    ("B", "2024-05-06", -0.25, 0.3),
    ("C", "2024-09-02", -0.20, 0.2),
)
_PILOT_EFFECT = -0.20


def city_universe(n: int, seed: int = 0, *, districts: int = 0) -> Universe:
    """``n`` generated units of a city; ``districts`` > 0 groups them into that many districts
    (before 1 July 2025: ~30 districts of ~20 wards), 0 leaves the city without a district
    level (since then: 126 units). Populations share :data:`CITY_POPULATION`."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, districts, 0x0C17]))
    median = round(CITY_POPULATION / n / 1.1, -2)  # a log-normal's mean is ~1.1 × its median
    return Universe.generated(
        n,
        rng,
        district="Quận Mẫu" if districts else "",
        code_start=10000,
        districts=districts,
        median_population=median,
    )


def areas_of(universe: Universe) -> list[list[str]]:
    """The areas programmes roll out by: the districts when there are at least five, else
    at least five blocks of about 20 neighbouring units (consecutive on the grid)."""
    names = universe.names
    by_district: dict[str, list[str]] = {}
    for name, d in zip(names, universe.districts, strict=True):
        by_district.setdefault(d, []).append(name)
    if len(by_district) >= 5:
        return list(by_district.values())
    k = min(len(names), max(5, round(len(names) / 20)))
    return [names[i * len(names) // k : (i + 1) * len(names) // k] for i in range(k)]


def city_scenario(n: int, seed: int = 0, *, districts: int = 0) -> Scenario:
    """The truth of a generated city of ``n`` units (see the module docstring); the same
    ``(n, seed, districts)`` give the same scenario."""
    universe = city_universe(n, seed, districts=districts)
    rng = np.random.default_rng(np.random.SeedSequence([seed, n, districts, 0x0C18]))
    areas = [areas_of(universe)[i] for i in rng.permutation(len(areas_of(universe)))]
    k = len(areas)

    # traffic: the pilot in a ward of the first area, then waves of whole areas, the last
    # fifth of the areas (at least one) never treated
    pilot = areas[0][int(rng.integers(len(areas[0])))]
    cuts = np.cumsum([0] + [max(1, math.floor(share * k)) for *_, share in _WAVES])
    cuts = np.minimum(cuts, k - 1)  # an area is always left as the comparison
    waves = []
    for (name, start, effect, _), lo, hi in zip(_WAVES, cuts[:-1], cuts[1:], strict=True):
        wards = tuple(w for area in areas[lo:hi] for w in area if w != pilot)
        if wards:
            waves.append(Wave(name, start, wards, effect))

    # fire points: each area on its own date, about half of its wards, an effect per area
    fire_days = np.sort(rng.integers(0, _span("2023-01-02", "2024-10-28"), k))
    fire_points = []
    for area, day in zip(areas, fire_days, strict=True):
        start = _date(pd.Timestamp("2023-01-02") + pd.Timedelta(days=int(day)))
        effect = round(float(rng.uniform(-0.30, -0.15)), 3)
        chosen = rng.permutation(len(area))[: max(1, round(0.5 * len(area)))]
        fire_points += [(area[i], start, effect) for i in sorted(chosen)]

    # cameras: each area on its own police period, most of its wards, no effect at all
    camera_months = np.sort(rng.integers(6, 31, k))
    camera_starts = []
    for area, month in zip(areas, camera_months, strict=True):
        start = _date(pd.Timestamp(_SECURITY[0]) + pd.DateOffset(months=int(month)))
        chosen = rng.permutation(len(area))[: max(1, round(0.8 * len(area)))]
        camera_starts += [(area[i], start) for i in sorted(chosen)]

    return Scenario(
        kind="city",
        traffic_start=_TRAFFIC[0],
        traffic_end=_TRAFFIC[1],
        fire_start=_FIRE[0],
        fire_end=_FIRE[1],
        security_start=_SECURITY[0],
        security_end=_SECURITY[1],
        junctions_per_ward=4,
        pilot_ward=pilot,
        pilot_start=_PILOT_START,
        pilot_effect=_PILOT_EFFECT,
        final_review="2025-03-03",
        waves=tuple(waves),
        fire_points=tuple(fire_points),
        camera_starts=tuple(camera_starts),
        camera_effect_pp=0.0,
        recording_change=None,
        common_programme=None,
        universe=universe,
    )


def _span(a: str, b: str) -> int:
    return (pd.Timestamp(b) - pd.Timestamp(a)).days
