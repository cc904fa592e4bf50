"""The district's data as the analyses need it: validated tables and unit × period panels.

:func:`load_district` reads a data folder (the demo data, or a user's files in the same shapes,
see ``data/README.md``) and the pilot registry once per process, and returns a
:class:`District` whose panels are built on first use:

* :meth:`District.traffic_weekly` — ward × week mean congestion minutes and speed at the
  hotspot junctions (both peaks), only whole weeks inside the data's date range;
* :meth:`District.fires_monthly` / :meth:`District.fires_quarterly` — ward × month (quarter)
  counts of fires, escalated fires (medium or worse), fires in rental housing, deaths,
  injuries and losses, with every empty cell present as zero and the ward's population as
  exposure;
* :meth:`District.electrical_monthly` — minor electrical incidents (the placebo outcome);
* :meth:`District.security` — security and order by ward × police period (15th → 14th),
  old wards only, with the share of criminal cases solved.

Each takes ``programme=`` to add the ``cohort`` column from the registry (the first treated
period; missing = never treated). Loaded tables are cached per process, keyed on the file
paths and modification times — a notebook re-run in the same kernel after the data changed
reads them again; nothing is shared between processes or runs.

Everything about *who* was treated *when* comes from the registry — the pilot ward is the
entry with ``wave: pilot`` (or the single earliest start) — and everything about how the data
were recorded from the data folder's ``data_notes.yaml`` (e.g. a change in how fires were
counted; none when the file is absent). When the folder holds a ``truth/`` folder (simulated
data with planted effects, as the demo), the reports show the truth beside the estimates.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd

from evaluation.data import panels as _panels
from evaluation.data.io import read_table
from evaluation.data.notes import DATA_NOTES, DataNotes, load_data_notes
from evaluation.data.registry import Registry, add_cohort, load_registry
from evaluation.data.schema import SCHEMAS
from evaluation.data.wards import wards as _ward_table
from evaluation.errors import DataError

__all__ = ["District", "load_district", "default_registry_path", "TABLE_FILES"]

#: file name patterns of each table in a data folder (the first pattern that matches wins)
TABLE_FILES: dict[str, tuple[str, str]] = {
    # name: (glob pattern, schema)
    "traffic": ("traffic_peak*", "traffic_peak"),
    "fires": ("fire_incidents*", "fire_incident"),
    "electrical": ("electrical_incidents_monthly*", "electrical_incident_monthly"),
    "antt": ("antt_period.*", "antt_period"),
}
_SUFFIXES = (".parquet", ".pq", ".csv", ".tsv", ".txt", ".xlsx", ".xlsm")

#: fire premises covered by the rental-housing checks
RENTAL_PREMISES = ("nhà trọ", "chung cư mini")


def default_registry_path() -> Path:
    """``params/pilots.yaml`` of the source checkout."""
    return Path(__file__).resolve().parents[2] / "params" / "pilots.yaml"


def _default_data_dir() -> Path:
    from evaluation.data.embedded import demo_folder

    return demo_folder()


def _files(folder: Path, name: str) -> list[Path]:
    pattern, _ = TABLE_FILES[name]
    found = sorted(p for p in folder.glob(pattern) if p.suffix.lower() in _SUFFIXES)
    if not found:
        raise DataError(
            f"{folder}: no {name} table — expected a file named like '{pattern}' "
            f"({', '.join(s.lstrip('.') for s in _SUFFIXES[:3])}, …); see data/README.md"
        )
    return found


@lru_cache(maxsize=16)
def _read(paths: tuple[str, ...], stamps: tuple[int, ...], schema: str) -> pd.DataFrame:
    del stamps  # part of the cache key only: a changed file is read again
    parts = [read_table(p) for p in paths]
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _panels.validate_table(df, SCHEMAS[schema], source=paths[0])


class District:
    """The district's tables, registry and panels (see the module docstring).

    Attributes
    ----------
    data_dir, registry_path
        Where the data and the registry came from.
    registry
        The parsed pilot registry.
    truth
        The planted truth (``truth.yaml``) when ``data_dir`` is the demo data, else None
        (read on first use).
    """

    def __init__(self, data_dir: Path, registry_path: Path, registry: Registry):
        self.data_dir = data_dir
        self.registry_path = registry_path
        self.registry = registry
        #: results computed from this district's data, kept as long as the district is
        #: (e.g. the rollout's ATT(g, t), which several findings read)
        self.memo: dict[tuple, object] = {}

    def __repr__(self) -> str:
        return f"District({str(self.data_dir)!r}, {self.registry!r})"

    @property
    def has_truth(self) -> bool:
        """True when the data are simulated with planted effects (a ``truth/`` folder beside
        the tables, as in the demo data): the reports then show the truth beside estimates."""
        return (self.data_dir / "truth").is_dir()

    @cached_property
    def truth(self) -> dict | None:
        """The planted parameters (``truth.yaml``) of simulated data; None for real data."""
        path = self.data_dir / "truth.yaml"
        if not path.exists():
            return None
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(path.read_text(encoding="utf-8"), loader)

    # ------------------------------------------------------------------ data notes
    @cached_property
    def notes(self) -> DataNotes:
        """Events in how the data were recorded (``data_notes.yaml``; none without it)."""
        return load_data_notes(self.data_dir / DATA_NOTES)

    # ------------------------------------------------------------------ registry
    def pilot_ward(self, programme: str, requested: str | None = None) -> str | None:
        """The programme's pilot ward: the registry entry with ``wave: pilot``, else — for a
        programme rolled out in waves — the one ward that started before all others; None
        when the programme had no pilot (e.g. a ward-by-ward rollout without waves).

        ``requested`` (a notebook parameter) is checked against the registry: a ward that
        contradicts it raises a DataError naming both, so a report never evaluates a ward
        the registry does not call the pilot.
        """
        p = self.registry.for_programme(programme)
        pilots = p.loc[p["wave"].astype(str).str.lower() == "pilot", "ward"] if "wave" in p else []
        if len(pilots) > 1:
            raise DataError(
                f"{self.registry.source}: programme {programme!r} has {len(pilots)} entries with "
                f"wave: pilot ({', '.join(pilots)}); mark one pilot ward"
            )
        ward = pilots.iloc[0] if len(pilots) else None
        has_waves = "wave" in p and p["wave"].fillna("").astype(str).str.len().gt(0).any()
        if ward is None and has_waves and len(p) > 1:
            first = p["start"].min()
            earliest = p.loc[p["start"] == first, "ward"]
            if len(earliest) == 1 and (p["start"] > first).any():
                ward = earliest.iloc[0]
        if requested is not None:
            from evaluation.data.wards import normalize_ward

            asked = normalize_ward(requested, source="parameter pilot_ward")
            if asked != ward:
                raise DataError(
                    f"parameter pilot_ward={requested!r} contradicts the registry "
                    f"{self.registry.source}: its pilot of {programme!r} is "
                    + (f"{ward!r} (wave: pilot)" if ward else "no ward (no wave: pilot entry)")
                    + ". Leave pilot_ward empty to use the registry, or correct the registry."
                )
        return ward

    def waves(self, programme: str) -> pd.Series:
        """The wave of each ward in ``programme`` (the registry's ``wave``; "" when absent)."""
        p = self.registry.for_programme(programme).set_index("ward")
        wave = p["wave"] if "wave" in p else pd.Series("", index=p.index)
        return wave.fillna("").astype(str)

    def programme_meta(self, programme: str) -> dict:
        return dict(self.registry.programmes.get(programme, {}))

    # ------------------------------------------------------------------ tables
    def table(self, name: str) -> pd.DataFrame:
        """A validated table: ``traffic``, ``fires``, ``electrical`` or ``antt``."""
        if name not in TABLE_FILES:
            raise DataError(f"no table {name!r}; choose one of {', '.join(TABLE_FILES)}")
        paths = _files(self.data_dir, name)
        stamps = tuple(p.stat().st_mtime_ns for p in paths)
        return _read(tuple(str(p) for p in paths), stamps, TABLE_FILES[name][1]).copy()

    @cached_property
    def wards(self) -> pd.DataFrame:
        """The 13 wards: ``ward``, ``ward_code``, ``urban_class``, ``population`` (2024
        estimate, the exposure of rates) and ``households``."""
        w = _ward_table()
        return pd.DataFrame(
            {
                "ward": w["name_vi"],
                "ward_code": w["ward_code"],
                "urban_class": w["urban_class"],
                "population": w["pop_2024_est"].astype(float),
                "households": w["households_est"].astype(float),
            }
        ).reset_index(drop=True)

    @property
    def ward_names(self) -> list[str]:
        return self.wards["ward"].tolist()

    def programme_label(self, programme: str, lang: str = "vi") -> str:
        return self.registry.label(programme, lang)

    def starts(self, programme: str) -> pd.Series:
        """Start date of ``programme`` by ward (wards without it are absent)."""
        p = self.registry.for_programme(programme)
        return p.set_index("ward")["start"].sort_values()

    def programmes_of(self, ward: str) -> pd.DataFrame:
        """The registry entries of one ward, by start date."""
        p = self.registry.pilots
        return p[p["ward"] == ward].sort_values("start").reset_index(drop=True)

    def with_cohort(self, panel: pd.DataFrame, programme: str) -> pd.DataFrame:
        """``panel`` with the ``cohort`` column of ``programme`` (starts after the data: never)."""
        return add_cohort(panel, self.registry, programme, outside="never")

    def _panel(self, name: str, programme: str | None, build) -> pd.DataFrame:
        """A panel with the cohort of ``programme``, built once per district (a copy is
        returned, so callers may modify it)."""
        key = (name, programme)
        cache = self.__dict__.setdefault("_panels", {})
        if key not in cache:
            base = build()
            cache[key] = self.with_cohort(base, programme) if programme else base
        return cache[key].copy()

    # ------------------------------------------------------------------ traffic
    @cached_property
    def _traffic_weekly(self) -> pd.DataFrame:
        t = self.table("traffic")
        w = _panels.aggregate_traffic(t, freq="week")
        first, last = t["date"].min(), t["date"].max()
        # whole weeks only: the first and last weeks of the data may hold a day or two
        w = w[(w["period_start"] >= first) & (w["period_end"] <= last)]
        return w.reset_index(drop=True)

    def traffic_weekly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × week (Monday start): ``congestion_minutes`` and ``avg_speed_kmh`` (means over
        the junction-peaks observed), ``n_obs``; with ``cohort`` when ``programme`` is given."""
        return self._panel("traffic_weekly", programme, lambda: self._traffic_weekly)

    @cached_property
    def holidays(self) -> list[pd.Timestamp]:
        """Days flagged as public holidays or Tết in the traffic table (empty without it)."""
        t = self.table("traffic")
        if "is_holiday" not in t:
            return []
        return sorted(pd.to_datetime(t.loc[t["is_holiday"], "date"].unique()))

    # ------------------------------------------------------------------ fires
    @cached_property
    def _fire_window(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        dates = [self.table("fires")["date"]]
        try:
            dates.append(self.table("electrical")["month"])
        except DataError:
            pass
        d = pd.concat(dates)
        start = d.min().to_period("M").to_timestamp()
        end = d.max().to_period("M").to_timestamp(how="end").normalize()
        return start, end

    def fire_records(self, exclude: tuple[str, ...] = ()) -> pd.DataFrame:
        """The fire incident records, without the incidents whose ids are in ``exclude``."""
        f = self.table("fires")
        f["rental"] = f["premise_type"].isin(RENTAL_PREMISES)
        f["electrical_cause"] = f["cause"] == "điện"
        if exclude:
            unknown = sorted(set(exclude) - set(f["incident_id"]))
            if unknown:
                raise DataError(f"fire records: no incident with id {', '.join(unknown)}")
            f = f[~f["incident_id"].isin(exclude)]
        return f

    def fire_panel(
        self, freq: str = "month", exclude: tuple[str, ...] = (), programme: str | None = None
    ) -> pd.DataFrame:
        """Ward × month (``freq="month"``) or quarter (``"quarter"``) fire counts.

        Columns: ``fires``, ``escalated`` (fires of medium or worse severity), ``rental``
        (fires in rental rooms and mini apartment blocks), ``deaths``, ``injuries``,
        ``loss_mvnd`` (million VND), ``population`` (exposure), ``escalated_share``
        (escalated / fires; missing without fires) and ``cohort`` when ``programme`` is given.
        """
        if freq not in ("month", "quarter"):
            raise DataError(f"fire_panel: freq must be 'month' or 'quarter', not {freq!r}")
        start, end = self._fire_window
        f = self.fire_records(exclude)
        p = _panels.aggregate_incidents(
            f,
            freq="month",
            flags=("escalated", "rental"),
            sums=("deaths", "injuries", "loss_mvnd"),
            units=self.ward_names,
            start=start,
            end=end,
            count_name="fires",
        )
        if freq == "quarter":
            p["period_start"] = p["period_start"].dt.to_period("Q").dt.start_time
            cols = ["fires", "escalated", "rental", "deaths", "injuries", "loss_mvnd"]
            p = p.groupby(["ward", "period_start"], as_index=False, sort=True)[cols].sum()
            p.insert(2, "period_end", p["period_start"] + pd.offsets.QuarterEnd(0))
        p = p.merge(self.wards[["ward", "population"]], on="ward", how="left")
        p["escalated_share"] = p["escalated"] / p["fires"].where(p["fires"] > 0)
        return self.with_cohort(p, programme) if programme else p

    def fires_monthly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × month fire counts with population (see :meth:`fire_panel`)."""
        return self._panel("fires_monthly", programme, lambda: self.fire_panel("month"))

    def fires_quarterly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × quarter fire counts with population (see :meth:`fire_panel`)."""
        return self._panel("fires_quarterly", programme, lambda: self.fire_panel("quarter"))

    def electrical_monthly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × month minor electrical incidents (no programme acts on them: a placebo)."""

        def build() -> pd.DataFrame:
            e = self.table("electrical").rename(columns={"month": "period_start"})
            e = e.merge(self.wards[["ward", "population"]], on="ward", how="left")
            return e.sort_values(["ward", "period_start"]).reset_index(drop=True)

        return self._panel("electrical_monthly", programme, build)

    # ------------------------------------------------------------------ security and order
    @cached_property
    def _security(self) -> pd.DataFrame:
        a = self.table("antt").sort_values(["ward", "period_start"]).reset_index(drop=True)
        a = a.merge(self.wards[["ward", "population"]], on="ward", how="left")
        crimes = a["criminal_cases"].astype(float)
        a["solved_share"] = 100 * a["solved_cases"] / crimes.where(crimes > 0)
        return a

    def security(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × police period (15th → 14th): the ANTT indicators with ``population`` and
        ``solved_share`` (percent of criminal cases solved; missing in a period without
        cases); with ``cohort`` when ``programme`` is given."""
        return self._panel("security", programme, lambda: self._security)

    # ------------------------------------------------------------------ planted truth
    @cached_property
    def traffic_truth_weekly(self) -> pd.DataFrame | None:
        """Realised weekly effects of the traffic programmes (simulated data only), congestion
        and speed side by side: ``effect_congestion``, ``effect_speed``, counterfactual means."""
        if not (self.data_dir / "truth" / "traffic_daily.parquet").exists():
            return None
        from evaluation.data.embedded import traffic_truth

        c = traffic_truth("week", "congestion", folder=self.data_dir)
        s = traffic_truth("week", "speed", folder=self.data_dir)
        keep = ["ward", "period_start", "effect", "counterfactual"]
        return c[keep].merge(
            s[keep], on=["ward", "period_start"], suffixes=("_congestion", "_speed")
        )

    @cached_property
    def security_truth(self) -> pd.DataFrame | None:
        """Expected accidents and solve rates with and without the programmes (demo only)."""
        path = self.data_dir / "truth" / "antt_period.csv"
        if not path.exists():
            return None
        return pd.read_csv(path, parse_dates=["period_start"])

    @cached_property
    def fire_truth(self) -> pd.DataFrame | None:
        """Expected fires, escalations, deaths and losses with and without the fire programme,
        ward × month (demo only)."""
        path = self.data_dir / "truth" / "fire_monthly.csv"
        if not path.exists():
            return None
        return pd.read_csv(path, parse_dates=["month"]).rename(columns={"month": "period_start"})


@lru_cache(maxsize=4)
def _load(data_dir: str, registry_path: str, registry_stamp: int) -> District:
    del registry_stamp
    return District(Path(data_dir), Path(registry_path), load_registry(registry_path))


def load_district(
    data_dir: str | Path | None = None, registry_path: str | Path | None = None
) -> District:
    """The district's data and registry, loaded once per process.

    Parameters
    ----------
    data_dir
        Folder with the tables (file names as in ``data/demo/``); default: the demo data.
    registry_path
        The pilot registry YAML; default: ``params/pilots.yaml`` of the source checkout.

    Raises
    ------
    DataError
        When the folder or the registry does not exist (tables are checked when first used).
    """
    folder = Path(data_dir) if data_dir is not None else _default_data_dir()
    if not folder.is_dir():
        raise DataError(
            f"data_dir {str(folder)!r} is not a folder (current folder: {Path.cwd()}) — give "
            "the folder holding the tables, e.g. data/demo"
        )
    reg = Path(registry_path) if registry_path is not None else default_registry_path()
    if not reg.exists():
        raise DataError(f"registry_path {str(reg)!r}: no such file (current folder: {Path.cwd()})")
    return _load(str(folder.resolve()), str(reg.resolve()), reg.stat().st_mtime_ns)
