"""The planted truth of a written district and the true average effect over any cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import DataError
from evaluation.synthetic.scenarios.scenario import Scenario, _date, _plain
from evaluation.synthetic.scenarios.simulate import (
    _day_number,
    _day_numbers,
    _per_fire_expected,
    _ward_table,
)

# --------------------------------------------------------------------------------------------
# the truth


@dataclass(eq=False)
class Truth:
    """What :func:`write_district` planted and wrote, with the true effect over any cells.

    The helpers average the realised effect — the simulated outcome minus the same cell's
    outcome had no programme run anywhere — over the ward × period cells chosen by ``wards``
    (None: all), ``start`` and ``end`` (inclusive dates) and, with ``since_start=True``, only
    the cells from each ward's own start of the programme on (its treated cells). A cell
    counts when it overlaps the window (a police period from the 15th to the 14th).

    Attributes
    ----------
    scenario, seed
        What the district was simulated from.
    folder, registry_path
        Where the data and the pilot registry were written.
    files
        Every file written.
    traffic_daily, fire_daily, security
        The truth per ward × day (traffic: ``truth/traffic_daily.parquet``; fires: expected
        counts with and without the fire points) and per ward × police period
        (``truth/antt_period.csv``).
    """

    scenario: Scenario
    seed: int
    folder: Path
    registry_path: Path
    files: tuple[Path, ...]
    traffic_daily: pd.DataFrame = field(repr=False)
    fire_daily: pd.DataFrame = field(repr=False)
    security: pd.DataFrame = field(repr=False)

    def treated_wards(self, programme: str = "traffic_model") -> list[str]:
        """Wards that start ``programme`` inside its data window (the registry's cohorts)."""
        last = {
            "traffic_model": self.scenario.traffic_end,
            "fire_point": self.scenario.fire_end,
            "camera": self.scenario.security_end,
        }.get(programme, self.scenario.fire_end)
        starts = self.scenario.starts(programme)
        return sorted(w for w, s in starts.items() if s <= pd.Timestamp(last))

    def _grid(self, table: str) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
        """Ward numbers (in :func:`wards` order) and the first and last day of each cell of a
        truth table, computed once: a study calls the helpers many times."""
        cache = self.__dict__.setdefault("_grids", {})
        if table not in cache:
            frame = getattr(self, table)
            names = self.scenario.universe.names
            code = pd.Categorical(frame["ward"], categories=names).codes
            if table == "security":  # police periods: the 15th to the 14th
                first = pd.DatetimeIndex(frame["period_start"])
                last = first + pd.DateOffset(months=1) - pd.Timedelta(days=1)
            else:
                first = last = pd.DatetimeIndex(frame["date"])
            cache[table] = (names, code, _day_numbers(first), _day_numbers(last))
        return cache[table]

    def _cells(self, table: str, programme: str, wards_, start, end, since_start) -> pd.DataFrame:
        names, code, first, last = self._grid(table)
        keep = np.ones(len(code), dtype=bool)
        if wards_ is not None:
            chosen = [wards_] if isinstance(wards_, str) else list(wards_)
            canon = self.scenario.universe.normalize
            keep &= np.isin(code, [names.index(canon(w)) for w in chosen])
        if start is not None:
            keep &= last >= _day_number(start)
        if end is not None:
            keep &= first <= _day_number(end)
        if since_start:
            starts = self.scenario.starts(programme)
            never = np.iinfo(np.int64).max
            own = np.array([_day_number(starts[w]) if w in starts else never for w in names])
            keep &= last >= own[code]
        if not keep.any():
            raise DataError(
                f"Truth: no {programme} cell in wards {wards_!r} between {start} and {end}"
                + (" from the wards' starts" if since_start else "")
            )
        return getattr(self, table)[keep]

    def traffic_effect(
        self,
        wards: str | list[str] | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        *,
        outcome: str = "congestion",
        percent: bool = False,
        since_start: bool = False,
    ) -> float:
        """True average effect on congestion minutes (``outcome="congestion"``) or speed
        (``"speed"``, km/h) per observed junction-peak: (Σ observed − Σ counterfactual) /
        Σ junction-peaks — the effect on the cell means the weekly panels show. With
        ``percent=True``: 100 × (Σ observed / Σ counterfactual − 1)."""
        if outcome not in ("congestion", "speed"):
            raise DataError(
                f"traffic_effect: outcome must be 'congestion' or 'speed', not {outcome!r}"
            )
        t = self._cells("traffic_daily", "traffic_model", wards, start, end, since_start)
        y, y0 = t[f"{outcome}_sum"].sum(), t[f"{outcome}0_sum"].sum()
        if percent:
            return float(100 * (y / y0 - 1))
        return float((y - y0) / t["n_obs"].sum())

    def fire_effect_percent(
        self,
        wards: str | list[str] | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        *,
        outcome: str = "fires",
        since_start: bool = False,
    ) -> float:
        """True effect of the fire points on expected recorded ``fires`` (or ``escalated``
        fires), percent: 100 × (Σ expected with / Σ expected without − 1)."""
        if outcome not in ("fires", "escalated"):
            raise DataError(
                f"fire_effect_percent: outcome must be 'fires' or 'escalated', not {outcome!r}"
            )
        f = self._cells("fire_daily", "fire_point", wards, start, end, since_start)
        return float(100 * (f[f"{outcome}1"].sum() / f[f"{outcome}0"].sum() - 1))

    def solve_share_effect(
        self,
        wards: str | list[str] | None = None,
        start: str | pd.Timestamp | None = None,
        end: str | pd.Timestamp | None = None,
        *,
        since_start: bool = False,
    ) -> float:
        """True effect of the cameras on the share of criminal cases solved, percentage
        points, averaged over ward × police periods."""
        a = self._cells("security", "camera", wards, start, end, since_start)
        return float(100 * (a["solve_rate1"] - a["solve_rate0"]).mean())

    # ---------------------------------------------------------------- truth.yaml
    def realised_traffic(self) -> dict[str, dict[str, Any]]:
        """Realised effects of the pilot (until the first wave) and of each wave (until a
        district-wide shock or the end of the data), as ``truth.yaml`` lists them."""
        s = self.scenario
        stop = pd.Timestamp(s.traffic_end)
        if s.shock_date is not None:
            stop = min(stop, pd.Timestamp(s.shock_date) - pd.Timedelta(days=1))
        windows = {}
        first_wave = min(
            (pd.Timestamp(w.start) for w in s.waves), default=stop + pd.Timedelta(days=1)
        )
        pilot_end = min(stop, first_wave - pd.Timedelta(days=1))
        windows["pilot"] = ([s.pilot_ward], pd.Timestamp(s.pilot_start), pilot_end)
        for w in s.waves:
            windows[f"wave_{w.name}"] = (list(w.wards), pd.Timestamp(w.start), stop)
        out = {}
        for key, (group, a, b) in windows.items():
            if a > b or not group:
                continue
            out[key] = {
                "wards": group,
                "window": [_date(a), _date(b)],
                "att_minutes": round(self.traffic_effect(group, a, b), 4),
                "att_pct": round(self.traffic_effect(group, a, b, percent=True), 2),
                "att_speed_kmh": round(self.traffic_effect(group, a, b, outcome="speed"), 4),
                "att_speed_pct": round(
                    self.traffic_effect(group, a, b, outcome="speed", percent=True), 2
                ),
            }
        others = [w for w in s.universe.names if s.wave_of(w) != "pilot"]
        if "pilot" in out:
            a, b = windows["pilot"][1:]
            out["pilot"]["effect_on_other_wards_minutes"] = round(
                self.traffic_effect(others, a, b), 4
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The planted parameters and realised effects (``truth.yaml``)."""
        s = self.scenario
        w = _ward_table(s).set_index("ward")
        full = s.traffic_full_effects()
        fire = self.treated_wards("fire_point")
        doc = {
            "generator": "evaluation.synthetic.scenarios",
            "seed": int(self.seed),
            "kind": s.kind,
            "windows": {
                "traffic": [s.traffic_start, s.traffic_end],
                "fires": [s.fire_start, s.fire_end],
                "police_periods": [s.security_start, s.security_end],
            },
            "traffic_model": {
                "wards": {
                    ward: {
                        "start": _date(start),
                        "wave": s.wave_of(ward),
                        "urban_class": w.loc[ward, "urban_class"],
                        "full_effect_congestion": full[ward],
                        "full_effect_speed": round(s.speed_per_congestion * full[ward], 6),
                    }
                    for ward, start in s.traffic_starts().items()
                },
                "never_treated": [x for x in w.index if s.wave_of(x) is None],
                "shape": {
                    "ramp_days": s.ramp_days,
                    "decay_after_days": s.decay_after_days,
                    "decay_over_days": s.decay_over_days,
                    "decay_to_share_of_full": s.decay_to,
                    "anticipation_days": s.anticipation_days,
                    "anticipation_effect": s.anticipation_effect,
                    "spillover_effect_on_untreated_neighbours": s.spillover_effect,
                    "speed_effect_per_congestion_effect": s.speed_per_congestion,
                },
                "realised_effects": self.realised_traffic(),
                "road_accident_effect": s.accident_effect,
            },
            "fire_programme": {
                "programme": "fire_point",
                "wards": {
                    ward: {
                        "fire_point_start": d,
                        "fire_count_effect": e,
                        "realised_effect_pct": round(
                            self.fire_effect_percent(ward, since_start=True), 3
                        )
                        if ward in fire
                        else None,
                    }
                    for ward, d, e in s.fire_points
                },
                "never_treated": [x for x in w.index if x not in fire],
                "escalation_effect": s.fire_escalation_effect,
                "per_fire_expected": _per_fire_expected(s.fire_escalation_effect),
                "ramp_days": s.fire_ramp_days,
                "base_rate_per_100k_per_year": s.fire_rate,
                "placebo_outcome": "electrical_incidents (no programme effect by construction)",
            },
            "camera": {
                "starts": dict(s.camera_starts),
                "solve_share_gain_pp": s.camera_effect_pp,
                "ramp_days": s.camera_ramp_days,
            },
            "shocks": {
                "district_wide_congestion": None
                if s.shock_date is None
                else {"date": s.shock_date, "effect": s.shock_effect, "identifiable_by_did": False},
                "fire_recording_change": None
                if s.recording_change is None
                else {"date": s.recording_change, "factor": s.recording_factor},
                "everyone_at_once": None
                if s.common_programme is None
                else {
                    "programme": s.common_programme,
                    "date": s.common_start,
                    "effect_on_rental_fires": s.common_effect,
                    "identifiable_by_did": False,
                },
            },
            "scenario": s.to_dict(),
        }
        return _plain(doc)
