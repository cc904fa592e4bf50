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

Every ward comes from the district's own ward table (``wards.csv`` in the data folder, or the
one the plan names): names are read by date, populations give the exposures, neighbours the
spill-over checks. Each programme is analysed at one level of wards — by default the level at
which it was assigned (the wards valid on its first start) — and rows recorded at another
level are carried across it (:mod:`evaluation.data.levels`): traffic exactly, through its
junctions; counts recorded under new wards end the window at the reorganisation (the exact
choice), and :meth:`District.carried` says what was done so that the pages can say it too.
Wards of the table outside the district's own (another ``district``) that never took a
programme enter as comparison wards.

Everything about *who* was treated *when* comes from the registry — the pilot ward is the
entry with ``wave: pilot`` (or the single earliest start) — and everything about how the data
were recorded from the data folder's ``data_notes.yaml`` (e.g. a change in how fires were
counted; none when the file is absent). When the folder holds a ``truth/`` folder (simulated
data with planted effects, as the demo), the reports show the truth beside the estimates.
"""

from __future__ import annotations

import hashlib
from functools import cached_property, lru_cache
from pathlib import Path

import pandas as pd

from evaluation.core.timing import stage
from evaluation.data import panels as _panels
from evaluation.data.io import read_table
from evaluation.data.levels import Carried, carry_counts, junction_wards
from evaluation.data.notes import DATA_NOTES, DataNotes, load_data_notes
from evaluation.data.registry import (
    Registry,
    add_cohort,
    home_district,
    home_districts,
    load_registry,
)
from evaluation.data.schema import ELECTRICAL_CAUSE, RENTAL_PREMISES, SCHEMAS
from evaluation.data.wards import Level, WardTable, find_ward_table, load_wards
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
def _read(
    paths: tuple[str, ...], stamps: tuple[int, ...], schema: str, wards: WardTable
) -> pd.DataFrame:
    del stamps  # part of the cache key only: a changed file is read again
    dtype = {"ward_code": str} if "ward_code" in {c.name for c in SCHEMAS[schema].columns} else None
    parts = [read_table(p, dtype=dtype) for p in paths]
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return _panels.validate_table(df, SCHEMAS[schema], source=paths[0], wards=wards)


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

    def __init__(
        self, data_dir: Path, registry_path: Path, registry: Registry, ward_table: WardTable
    ):
        self.data_dir = data_dir
        self.registry_path = registry_path
        self.registry = registry
        #: the district's own ward table (names, codes, populations, neighbours, changes)
        self.ward_table = ward_table
        #: how each panel was carried to its level: (panel, level date) → Carried
        self.carried: dict[tuple[str, pd.Timestamp], Carried] = {}
        #: how counts recorded under newer wards reach older ones: "truncate" (the window
        #: ends at the reorganisation), or allocation by "pop_share" / "area_share"
        self.carry = "truncate"
        #: results computed from this district's data, kept as long as the district is
        #: (e.g. the rollout's ATT(g, t), which several findings read)
        self.memo: dict[tuple, object] = {}

    def alternate(self, carry: str) -> District:
        """The same district with counts carried across a reorganisation by ``carry`` (a
        sensitivity check: allocation by population or by area share)."""
        other = District(self.data_dir, self.registry_path, self.registry, self.ward_table)
        other.carry = carry
        return other

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
            asked = self.ward_table.normalize(requested, source="parameter pilot_ward")
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
        key = tuple(str(p) for p in paths)
        with stage("read"):
            return _read(key, stamps, TABLE_FILES[name][1], self.ward_table).copy()

    @cached_property
    def junctions(self) -> pd.DataFrame | None:
        """``junctions.csv`` (each junction's ward when it was installed), or None."""
        path = self.data_dir / "junctions.csv"
        if not path.exists():
            return None
        j = read_table(path, dtype={"ward_code": str})
        return _panels.validate_table(j, SCHEMAS["junction"], str(path), self.ward_table)

    # ------------------------------------------------------------------ wards and levels
    @cached_property
    def home_district(self) -> str:
        """The district whose programmes the registry records (the ``district`` most of its
        wards have in the ward table); "" when the table names no districts."""
        return home_district(self.registry, self.ward_table)

    @cached_property
    def home_districts(self) -> list[str]:
        """Every district a programme of the registry reached (a city's registry reaches
        many); their wards are the district's (or city's) own, the others' comparisons."""
        return home_districts(self.registry, self.ward_table)

    def level(self, programme: str | None = None) -> Level:
        """The wards a programme is analysed over: those valid on its first start (default:
        the registry's first start) — the level at which it was assigned."""
        levels = self.__dict__.setdefault("_levels", {})
        if programme not in levels:  # once per programme: every check of a city's reports asks
            p = self.registry.pilots
            if programme is not None:
                p = self.registry.for_programme(programme)
            first = p["start"].min() if len(p) else None
            levels[programme] = self.ward_table.level(first)
        return levels[programme]

    def ward_frame(self, level: Level | None = None) -> pd.DataFrame:
        """The wards of ``level`` (default: the district's level): ``ward``, ``ward_code``,
        ``district``, ``urban_class``, ``population`` (the exposure of rates),
        ``households`` and ``home`` (a ward of the district itself, not a comparison ward
        from a neighbouring district)."""
        level = level or self.level()
        frames = self.__dict__.setdefault("_ward_frames", {})
        key = (level.date, level.codes)
        if key not in frames:  # once per level: every finding of a city asks
            f = self.ward_table.frame(level.codes)
            homes = self.home_districts
            cols = ["ward", "ward_code", "district", "urban_class", "population", "households"]
            out = f[cols].copy()
            out["home"] = out["district"].isin(homes) if homes else True
            frames[key] = out.reset_index(drop=True)
        return frames[key].copy()

    @property
    def wards(self) -> pd.DataFrame:
        """:meth:`ward_frame` at the district's level (its own wards and comparison wards)."""
        return self.ward_frame()

    @property
    def ward_names(self) -> list[str]:
        """The district's own wards at its level (comparison wards of other districts apart)."""
        f = self.ward_frame()
        return f.loc[f["home"], "ward"].tolist()

    @property
    def comparison_wards(self) -> list[str]:
        """Wards of neighbouring districts in the ward table, at the district's level: they
        never took the district's programmes and serve as comparisons."""
        f = self.ward_frame()
        return f.loc[~f["home"], "ward"].tolist()

    def neighbours(self, ward: str, programme: str | None = None) -> list[str]:
        """Wards sharing a border with ``ward`` at the programme's level."""
        level = self.level(programme)
        codes = self.__dict__.setdefault("_level_codes", {})
        inside = codes.setdefault(level.codes, frozenset(level.codes))
        return [
            self.ward_table.name(c)
            for c in self.ward_table.neighbour_codes(self.ward_table.code(ward, level.date))
            if c in inside
        ]

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
        """A panel at the programme's level with its cohort, built once per district and
        level (a copy is returned, so callers may modify it). ``build(level)`` makes it."""
        level = self.level(programme)
        cache = self.__dict__.setdefault("_panels", {})
        base_key = (name, level.date)
        if base_key not in cache:
            with stage("panels"):
                cache[base_key] = self._shared(
                    f"panel {name} {level.date} {self.carry}", build, level
                )
        if programme is None:
            return cache[base_key].copy()
        key = (name, level.date, programme)
        if key not in cache:
            cache[key] = self.with_cohort(cache[base_key], programme)
        return cache[key].copy()

    def _shared(self, name: str, build, *args):
        """``build(*args)``, computed once per batch: by this process, or read from the analysis
        cache where another process of the batch left it (:func:`~evaluation.analysis.cache.
        shared`: keyed on the data, the registry, the code and — here — the ward table), with
        what the build recorded in :attr:`carried`."""
        from evaluation.analysis.cache import shared

        def run():
            before = dict(self.carried)
            value = build(*args)
            return value, {k: v for k, v in self.carried.items() if before.get(k) is not v}

        value, carried = shared(self, f"{name} wards={self._wards_digest}", run)
        self.carried.update(carried)
        return value

    @cached_property
    def _wards_digest(self) -> str:
        """The ward table's content (it may lie outside the data folder, in a plan's
        ``ward_table:``), for the keys of :meth:`_shared`."""
        t = self.ward_table
        parts = [t.table.to_csv(index=False)]
        for name in ("adjacency", "crosswalk"):
            frame = getattr(t, name, None)
            if isinstance(frame, pd.DataFrame):
                parts.append(frame.to_csv(index=False))
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

    # ------------------------------------------------------------------ traffic
    def _traffic_weekly(self, level: Level) -> pd.DataFrame:
        t = self.table("traffic")
        codes, rep = junction_wards(t, self.ward_table, level, self.junctions, source="traffic")
        self.carried[("traffic", level.date)] = rep
        t = t[codes.notna().to_numpy()].copy()
        t["ward"] = codes[codes.notna()].map(self.ward_table.name_of).to_numpy()
        w = _panels.aggregate_traffic(t, freq="week")
        first, last = t["date"].min(), t["date"].max()
        # whole weeks only: the first and last weeks of the data may hold a day or two
        w = w[(w["period_start"] >= first) & (w["period_end"] <= last)]
        return w.reset_index(drop=True)

    def traffic_weekly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × week (Monday start): ``congestion_minutes`` and ``avg_speed_kmh`` (means over
        the junction-peaks observed), ``n_obs``; with ``cohort`` when ``programme`` is given.
        Junctions are placed in the wards of the programme's level (they never move)."""
        return self._panel("traffic_weekly", programme, self._traffic_weekly)

    @cached_property
    def holidays(self) -> list[pd.Timestamp]:
        """Days flagged as public holidays or Tết in the traffic table (empty without it)."""
        return self._shared("holidays", self._holidays)

    def _holidays(self) -> list[pd.Timestamp]:
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
        f["electrical_cause"] = f["cause"] == ELECTRICAL_CAUSE
        if exclude:
            unknown = sorted(set(exclude) - set(f["incident_id"]))
            if unknown:
                raise DataError(f"fire records: no incident with id {', '.join(unknown)}")
            f = f[~f["incident_id"].isin(exclude)]
        return f

    def fire_panel(
        self,
        freq: str = "month",
        exclude: tuple[str, ...] = (),
        programme: str | None = None,
        level: Level | None = None,
    ) -> pd.DataFrame:
        """Ward × month (``freq="month"``) or quarter (``"quarter"``) fire counts.

        Columns: ``fires``, ``escalated`` (fires of medium or worse severity), ``rental``
        (fires in rental rooms and mini apartment blocks), ``deaths``, ``injuries``,
        ``loss_mvnd`` (million VND), ``population`` (exposure), ``escalated_share``
        (escalated / fires; missing without fires) and ``cohort`` when ``programme`` is given.
        """
        if freq not in ("month", "quarter"):
            raise DataError(f"fire_panel: freq must be 'month' or 'quarter', not {freq!r}")
        level = level or self.level(programme)
        start, end = self._fire_window
        f = self.fire_records(exclude)
        cols = ["fires", "escalated", "rental", "deaths", "injuries", "loss_mvnd"]
        # counted under the ward each fire was recorded in, then carried to the level
        f["ward"] = f["ward_code"]
        p = _panels.aggregate_incidents(
            f,
            freq="month",
            flags=("escalated", "rental"),
            sums=("deaths", "injuries", "loss_mvnd"),
            units=self._recorded_units(f["ward_code"], level, start, end),
            start=start,
            end=end,
            count_name="fires",
        )
        p = self._recorded_only(p, start, end)
        p, rep = carry_counts(
            p.rename(columns={"ward": "ward_code"}).assign(ward=lambda d: d["ward_code"]),
            self.ward_table,
            level,
            counts=cols,
            how=self.carry,
            integers=False,
            source="fire_incidents",
        )
        if not exclude:
            self.carried[("fires", level.date)] = rep
        if freq == "quarter":
            p["period_start"] = p["period_start"].dt.to_period("Q").dt.start_time
            p = p.groupby(["ward", "period_start"], as_index=False, sort=True)[cols].sum()
            p.insert(2, "period_end", p["period_start"] + pd.offsets.QuarterEnd(0))
        p = p[["ward", "period_start", "period_end", *cols]]
        p = p.merge(self.ward_frame(level)[["ward", "population"]], on="ward", how="left")
        p["escalated_share"] = p["escalated"] / p["fires"].where(p["fires"] > 0)
        return self.with_cohort(p, programme) if programme else p

    def _recorded_units(self, codes: pd.Series, level: Level, start, end) -> list[str]:
        """The ward codes a count table covers: every ward it names, and the district's own
        wards at ``level`` (a ward without a fire still has a zero)."""
        own = self.ward_frame(level)
        units = set(codes) | set(own.loc[own["home"], "ward_code"])
        return sorted(units)

    def _recorded_only(self, p: pd.DataFrame, start, end) -> pd.DataFrame:
        """Drop the zero cells of wards on dates when they did not exist (a zero-filled grid
        of old wards after a reorganisation would count fires that were recorded elsewhere)."""
        t = self.ward_table.table.set_index("ward_code")
        lo = p["ward"].map(t["valid_from"])
        hi = p["ward"].map(t["valid_to"])
        # a month counts for a ward that existed during it (an open end never excludes)
        first = lo.dt.to_period("M").dt.start_time
        keep = ~(p["period_start"] < first).fillna(False) & ~(p["period_start"] > hi).fillna(False)
        return p[keep.astype(bool)].reset_index(drop=True)

    def fires_monthly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × month fire counts with population (see :meth:`fire_panel`)."""
        return self._panel("fires_monthly", programme, lambda lv: self._fire_base(lv, "month"))

    def fires_quarterly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × quarter fire counts with population (see :meth:`fire_panel`)."""
        return self._panel("fires_quarterly", programme, lambda lv: self._fire_base(lv, "quarter"))

    def _fire_base(self, level: Level, freq: str) -> pd.DataFrame:
        return self.fire_panel(freq, level=level)

    def electrical_monthly(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × month minor electrical incidents (no programme acts on them: a placebo)."""

        def build(level: Level) -> pd.DataFrame:
            e = self.table("electrical").rename(columns={"month": "period_start"})
            e, rep = carry_counts(
                e,
                self.ward_table,
                level,
                counts=["electrical_incidents"],
                how=self.carry,
                integers=False,
                source="electrical",
            )
            self.carried[("electrical", level.date)] = rep
            e = e.drop(columns=["ward_code"])
            e = e.merge(self.ward_frame(level)[["ward", "population"]], on="ward", how="left")
            return e.sort_values(["ward", "period_start"]).reset_index(drop=True)

        return self._panel("electrical_monthly", programme, build)

    # ------------------------------------------------------------------ security and order
    def _security(self, level: Level) -> pd.DataFrame:
        a = self.table("antt")
        counts = [c.name for c in SCHEMAS["antt_period"].columns if c.kind == "count"]
        a, rep = carry_counts(
            a, self.ward_table, level, counts=counts, how=self.carry, integers=False,
            source="antt_period",
        )  # fmt: skip
        self.carried[("antt", level.date)] = rep
        a = a.drop(columns=["ward_code"]).sort_values(["ward", "period_start"])
        a = a.reset_index(drop=True)
        a = a.merge(self.ward_frame(level)[["ward", "population"]], on="ward", how="left")
        crimes = a["criminal_cases"].astype(float)
        a["solved_share"] = 100 * a["solved_cases"] / crimes.where(crimes > 0)
        return a

    def security(self, programme: str | None = None) -> pd.DataFrame:
        """Ward × police period (15th → 14th): the ANTT indicators with ``population`` and
        ``solved_share`` (percent of criminal cases solved; missing in a period without
        cases); with ``cohort`` when ``programme`` is given."""
        return self._panel("security", programme, self._security)

    # ------------------------------------------------------------------ planted truth
    @cached_property
    def traffic_truth_weekly(self) -> pd.DataFrame | None:
        """Realised weekly effects of the traffic programmes (simulated data only), congestion
        and speed side by side: ``effect_congestion``, ``effect_speed``, counterfactual means."""
        if not (self.data_dir / "truth" / "traffic_daily.parquet").exists():
            return None
        return self._shared("traffic truth weekly", self._traffic_truth_weekly)

    def _traffic_truth_weekly(self) -> pd.DataFrame:
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
def _load(data_dir: str, registry_path: str, wards_path: str, stamps: tuple[int, ...]) -> District:
    del stamps
    table = load_wards(wards_path)
    return District(Path(data_dir), Path(registry_path), load_registry(registry_path, table), table)


def load_district(
    data_dir: str | Path | None = None,
    registry_path: str | Path | None = None,
    ward_table: str | Path | None = None,
) -> District:
    """The district's data, ward table and registry, loaded once per process.

    Parameters
    ----------
    data_dir
        Folder with the tables (file names as in ``data/demo/``); default: the demo data.
    registry_path
        The pilot registry YAML; default: ``params/pilots.yaml`` of the source checkout.
    ward_table
        The district's ward table (``wards.csv``, with ``adjacency.csv`` and ``crosswalk.csv``
        beside it); default: ``wards.csv`` in ``data_dir``.

    Raises
    ------
    DataError
        When the folder, the ward table or the registry does not exist or is unusable (tables
        are checked when first used).
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
    wards = Path(ward_table) if ward_table is not None else find_ward_table(folder)
    if wards is None or not wards.exists():
        raise DataError(
            f"data_dir {str(folder)!r}: no ward table — put the district's wards.csv (ward, "
            "ward_code, population; see data/README.md) in the data folder, or name it with "
            "the plan's `ward_table:`; `pilot-eval init` writes a template from the data"
        )
    wards = wards / "wards.csv" if wards.is_dir() else wards
    stamps = tuple(
        p.stat().st_mtime_ns
        for p in (reg, wards, wards.parent / "adjacency.csv", wards.parent / "crosswalk.csv")
        if p.exists()
    )
    return _load(str(folder.resolve()), str(reg.resolve()), str(wards.resolve()), stamps)
