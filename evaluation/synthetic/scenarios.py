"""Simulated districts whose truth differs from the demo's: end-to-end tests and accuracy studies.

The demo data (``data/demo``) are one draw of one truth: the pilot in Cổ Nhuế 2, three waves
in July, September and November 2024, effects by urban class. Findings must be right for any
district, so this module writes *other* districts — written from scratch, independent of the
demo generator — in exactly the documented input format (``data/README.md``), with the truth
beside them:

* :class:`Scenario` describes one district's truth: which ward pilots the traffic model and
  when, the rollout waves (wards, dates, order, effect of each), ramp-in, anticipation,
  spillover to untreated neighbours, decay, a district-wide shock no comparison removes, the
  fire points (wards, dates, effect on fire counts per ward), a change in how fires are
  recorded, the cameras (dates, effect on the share of cases solved) and a programme started
  in every ward on one day;
* :func:`random_scenario` draws scenarios of a kind (``KINDS``) for a simulation study: the
  pilot ward, the wave order, dates and effect sizes at random;
* :func:`write_district` simulates the tables from ``(scenario, seed)`` and writes them, the
  pilot registry, ``data_notes.yaml`` (data-quality events) and the truth (``truth/`` tables
  in the demo's formats, ``truth.yaml``); it returns a :class:`Truth` whose helpers give the
  true average effect over any set of ward × period cells.

Data-generating process (all multiplicative, log-normal noise unless said otherwise):

* traffic, junction j of ward w, day d, peak p (AM 150 min, PM 180 min long)::

      minutes⁰ = min(L_p, base_p · class_w · e^(u_w + v_j) · calendar_d · shock_d
                          · e^(g_w,week(d) + h_d + a_jd + b_jdp))
      minutes  = min(L_p, [same] · (1 + direct_wd)(1 + anticipation_wd)(1 + spillover_wd))

  with ward and junction effects u, v, ward × week effects g, day effects h common to every
  ward, AR(1) day-to-day errors a (ρ = 0.6) and peak errors b; the calendar has weekdays,
  public holidays, Tết (and the rush before it), the summer school break, rain, an annual
  cycle and a 2.5 %/year trend. Speed falls with congestion; the programme moves it by
  ``speed_per_congestion`` × its effect on minutes. Because minutes⁰ is drawn with the same
  noise, the realised effect of every cell is known exactly (the truth tables keep both).
* fires: Poisson counts per ward × day × premise type with population exposure, season, Tết,
  the recording change (× factor from its date, every ward), the everyone-at-once programme
  (on rental premises) and the fire points (× (1 + effect_w) after a ramp); each fire gets a
  severity (escalation less likely where a fire point runs), deaths, injuries, a loss.
* security: criminal cases, solved cases (solve rate + camera effect after a ramp), road
  accidents (× (1 + accident effect) where the traffic model runs) and the other indicators
  per ward × police period (15th → 14th).

Reproducible: the same ``(scenario, seed)`` writes the same files — CSV and YAML byte for
byte, Parquet value for value. One district takes a fraction of a second.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluation.data.schema import CAUSES, PREMISE_TYPES, SEVERITIES
from evaluation.data.wards import adjacency, normalize_ward, wards
from evaluation.errors import DataError
from evaluation.synthetic.calendar import TET
from evaluation.synthetic.files import commented_yaml, data_notes_yaml, registry_yaml

__all__ = ["KINDS", "Wave", "Scenario", "Truth", "random_scenario", "write_district"]

#: the kinds of scenario :func:`random_scenario` draws
KINDS = (
    "null",
    "pilot_only",
    "heterogeneous_waves",
    "small",
    "large",
    "spillover",
    "anticipation",
    "common_shock",
)

_FIXED_HOLIDAYS = ["01-01", "04-30", "05-01", "09-01", "09-02"]

# traffic: peak length and a mid-density ward's ordinary weekday congestion (minutes), AM / PM
_PEAK_LENGTH = np.array([150.0, 180.0])
_PEAK_BASE = np.array([24.0, 33.0])
_CLASS_LEVEL = {"dense": 1.25, "mid": 1.0, "peri-urban": 0.75}
_WEEKDAY = np.array([1.05, 1.0, 1.0, 1.0, 1.1, 0.6, 0.45])  # Monday … Sunday
# chance of a rainy day and mean rain on one (mm), January … December
_RAIN_P = np.array([0.2, 0.3, 0.4, 0.4, 0.5, 0.55, 0.6, 0.6, 0.5, 0.35, 0.2, 0.15])
_RAIN_MM = np.array([3.0, 4, 6, 10, 18, 25, 30, 30, 24, 15, 8, 4])

# fires: seasonal multiplier by month, premise mix (rental types scale with rental housing)
_FIRE_SEASON = np.array([1.25, 1.3, 1.1, 0.95, 1.0, 1.1, 1.05, 0.9, 0.85, 0.9, 1.0, 1.15])
_MIX = np.array([0.40, 0.05, 0.03, 0.10, 0.11, 0.10, 0.03, 0.02, 0.01, 0.15])
_RENTAL = np.isin(PREMISE_TYPES, ["nhà trọ", "chung cư mini"])
_RESIDENTIAL = np.isin(PREMISE_TYPES, ["nhà dân", "nhà trọ", "chung cư mini", "nhà ở kết hợp KD"])
_CAUSE_P = np.array([0.66, 0.2, 0.03, 0.01, 0.05, 0.05])  # in the order of schema.CAUSES
# per severity (nhỏ, trung bình, lớn, nghiêm trọng): share among escalated fires, chance of a
# death, mean further deaths, chance of an injury, median loss (million VND)
_ESCALATE = 0.14
_SEV_SHARE = np.array([0.0, 0.9, 0.07, 0.03])
_DEATH_P = np.array([0.003, 0.05, 0.2, 0.5])
_EXTRA_DEATHS = np.array([0.2, 0.4, 0.8, 1.5])
_INJURY_P = np.array([0.01, 0.1, 0.35, 0.6])
_LOSS_MEDIAN = np.array([2.5, 18.0, 220.0, 550.0])
_LOSS_SIGMA = 0.9

_TRAFFIC_FILE = "traffic_peak"
_TABLE_GLOBS = (
    "traffic_peak*",
    "fire_incidents*",
    "electrical_incidents_monthly*",
    "antt_period.*",
)


# --------------------------------------------------------------------------------------------
# the scenario


@dataclass(frozen=True)
class Wave:
    """One rollout wave of the traffic model: its letter, start date, wards and effect.

    ``effect`` is the proportional effect on congestion minutes at full strength (−0.2 = 20 %
    fewer minutes).
    """

    name: str
    start: str
    wards: tuple[str, ...]
    effect: float


def _default_waves() -> tuple[Wave, ...]:
    return (
        Wave("A", "2024-08-12", ("Thượng Cát", "Liên Mạc", "Thụy Phương", "Đông Ngạc"), -0.15),
        Wave("B", "2024-10-21", ("Cổ Nhuế 2", "Xuân Đỉnh", "Phú Diễn", "Minh Khai"), -0.25),
    )


def _default_fire_points() -> tuple[tuple[str, str, float], ...]:
    return (
        ("Phú Diễn", "2022-09-05", -0.25),
        ("Tây Tựu", "2022-11-14", -0.15),
        ("Minh Khai", "2023-02-20", -0.20),
        ("Đức Thắng", "2023-04-03", -0.30),
        ("Xuân Tảo", "2023-06-12", -0.10),
        ("Cổ Nhuế 1", "2023-09-25", -0.20),
        ("Thụy Phương", "2024-01-08", -0.15),
        ("Đông Ngạc", "2024-04-22", -0.25),
        ("Liên Mạc", "2024-08-05", -0.10),
    )


def _default_cameras() -> tuple[tuple[str, str], ...]:
    order = (
        "Phúc Diễn",
        "Tây Tựu",
        "Minh Khai",
        "Thượng Cát",
        "Cổ Nhuế 1",
        "Liên Mạc",
        "Đức Thắng",
        "Xuân Tảo",
        "Thụy Phương",
        "Cổ Nhuế 2",
        "Phú Diễn",
        "Đông Ngạc",
        "Xuân Đỉnh",
    )
    starts = pd.date_range("2022-04-15", periods=len(order), freq="MS") + pd.Timedelta(days=14)
    return tuple((w, d.strftime("%Y-%m-%d")) for w, d in zip(order, starts, strict=True))


@dataclass(frozen=True)
class Scenario:
    """The truth of one simulated district (every date is text, ``YYYY-MM-DD``).

    The defaults describe a district unlike the demo: the traffic pilot runs in Tây Tựu from
    2024-03-18, two waves follow in August and October 2024 in another order, four wards are
    never treated, effects differ by wave (pilot −20 %, A −15 %, B −25 %), 2 years of traffic;
    nine wards open fire points with effects from −10 % to −30 %; fires are recorded 1.5 × as
    often from 2023-07-01; rental checks start everywhere on 2023-05-02.

    Attributes
    ----------
    kind
        A label (the :func:`random_scenario` kind, or ``"custom"``).
    traffic_start, traffic_end, fire_start, fire_end
        The data windows (days); fires also set the electrical incidents' months.
    security_start, security_end
        First and last police periods (their start, the 15th).
    junctions_per_ward
        Hotspot junctions per ward (the demo has 3–7).
    pilot_ward, pilot_start, pilot_effect
        The traffic pilot: ward, first day, proportional effect on congestion minutes.
    interim_review, final_review
        Review dates written to the registry (interim: 3 months after the pilot if None).
    waves
        The rollout waves, in order (wards in none of them are never treated).
    ramp_days
        Days over which the traffic effect grows linearly to full strength (0: at once).
    anticipation_days, anticipation_effect
        Proportional effect in the days before each start (volunteers recruited early).
    spillover_effect
        Proportional effect on an untreated ward while a neighbour runs the programme.
    decay_after_days, decay_over_days, decay_to
        After ``decay_after_days`` the effect fades linearly over ``decay_over_days`` to
        ``decay_to`` of its size (None: no decay).
    shock_date, shock_effect
        A district-wide change in congestion from that day on (no comparison removes it).
    speed_per_congestion
        The speed effect as a multiple of the congestion effect (−0.5: −20 % minutes → +10 %).
    accident_effect
        Proportional effect on road accidents where the traffic model runs (same ramp).
    fire_points
        ``(ward, start, effect)``: public fire points and their proportional effect on fires.
    fire_rate
        Recorded fires per 100,000 residents per year, before any recording change.
    fire_escalation_effect, fire_ramp_days
        Effect of a fire point on the chance that a fire escalates; ramp-in days.
    recording_change, recording_factor
        From this day every ward's fires are recorded ``recording_factor`` × as often.
    camera_starts, camera_effect_pp, camera_ramp_days
        ``(ward, first cameras)``; the share of criminal cases solved rises by
        ``camera_effect_pp`` percentage points, reached after ``camera_ramp_days``.
    common_programme, common_start, common_effect
        A programme started in every ward on one day (None: none); proportional effect on
        fires in rental rooms and mini apartment blocks.
    """

    kind: str = "custom"
    traffic_start: str = "2023-06-01"
    traffic_end: str = "2025-05-31"
    fire_start: str = "2022-01-01"
    fire_end: str = "2025-05-31"
    security_start: str = "2022-01-15"
    security_end: str = "2025-04-15"
    junctions_per_ward: int = 3
    pilot_ward: str = "Tây Tựu"
    pilot_start: str = "2024-03-18"
    pilot_effect: float = -0.20
    interim_review: str | None = None
    final_review: str | None = "2025-03-20"
    waves: tuple[Wave, ...] = field(default_factory=_default_waves)
    ramp_days: int = 21
    anticipation_days: int = 0
    anticipation_effect: float = 0.0
    spillover_effect: float = 0.0
    decay_after_days: int | None = None
    decay_over_days: int = 90
    decay_to: float = 1.0
    shock_date: str | None = None
    shock_effect: float = 0.0
    speed_per_congestion: float = -0.5
    accident_effect: float = -0.10
    fire_points: tuple[tuple[str, str, float], ...] = field(default_factory=_default_fire_points)
    fire_rate: float = 9.0
    fire_escalation_effect: float = -0.30
    fire_ramp_days: int = 30
    recording_change: str | None = "2023-07-01"
    recording_factor: float = 1.5
    camera_starts: tuple[tuple[str, str], ...] = field(default_factory=_default_cameras)
    camera_effect_pp: float = 8.0
    camera_ramp_days: int = 180
    common_programme: str | None = "rental_check"
    common_start: str = "2023-05-02"
    common_effect: float = -0.20

    def __post_init__(self) -> None:
        # canonical ward names, so every table and the registry spell them one way
        canon = _canonical_ward
        waves = tuple(
            dataclasses.replace(w, wards=tuple(canon(x) for x in w.wards)) for w in self.waves
        )
        object.__setattr__(self, "pilot_ward", canon(self.pilot_ward))
        object.__setattr__(self, "waves", waves)
        fire = tuple((canon(w), d, float(e)) for w, d, e in self.fire_points)
        object.__setattr__(self, "fire_points", fire)
        cams = tuple((canon(w), d) for w, d in self.camera_starts)
        object.__setattr__(self, "camera_starts", cams)
        self._check()

    def _check(self) -> None:
        problems = []
        rolled = [w for wave in self.waves for w in wave.wards]
        if len(set(rolled)) < len(rolled) or self.pilot_ward in rolled:
            problems.append("a ward is in two waves, or the pilot ward is in a wave")
        names = [w.name for w in self.waves]
        if len(set(names)) < len(names) or "pilot" in names:
            problems.append(f"wave names must be distinct and not 'pilot': {names}")
        for label, items in (
            ("fire_points", self.fire_points),
            ("camera_starts", self.camera_starts),
        ):
            if len({i[0] for i in items}) < len(items):
                problems.append(f"{label}: a ward is listed twice")
        years = set(range(min(TET), max(TET) + 1))
        for a, b, starts, lead in (
            ("traffic_start", "traffic_end", self.traffic_starts().values(), 28),
            ("fire_start", "fire_end", [pd.Timestamp(d) for _, d, _ in self.fire_points], 31),
            (
                "security_start",
                "security_end",
                [pd.Timestamp(d) for _, d in self.camera_starts],
                31,
            ),
        ):
            t0, t1 = pd.Timestamp(getattr(self, a)), pd.Timestamp(getattr(self, b))
            if not (t0 < t1 and {t0.year, t1.year} <= years):
                problems.append(
                    f"{a}..{b}: {t0.date()}..{t1.date()} is empty or outside {min(years)}–{max(years)}"
                )
            early = [str(s.date()) for s in starts if s < t0 + pd.Timedelta(days=lead)]
            if early:
                # the analysis needs a pre-period: a start at the window's edge has none
                problems.append(f"start(s) {early} less than {lead} days after {a} {t0.date()}")
        if pd.Timestamp(self.security_start).day != 15 or pd.Timestamp(self.security_end).day != 15:
            problems.append("police periods start on the 15th: security_start/end must be the 15th")
        if problems:
            raise DataError("Scenario: " + "; ".join(problems))

    # ---------------------------------------------------------------- derived views
    def traffic_starts(self) -> dict[str, pd.Timestamp]:
        """First day of the traffic model per treated ward (pilot first, then wave order)."""
        out = {self.pilot_ward: pd.Timestamp(self.pilot_start)}
        for wave in self.waves:
            out.update({w: pd.Timestamp(wave.start) for w in wave.wards})
        return out

    def traffic_full_effects(self) -> dict[str, float]:
        """Full-strength proportional effect on congestion minutes per treated ward."""
        out = {self.pilot_ward: float(self.pilot_effect)}
        for wave in self.waves:
            out.update({w: float(wave.effect) for w in wave.wards})
        return out

    def wave_of(self, ward: str) -> str | None:
        """``"pilot"``, the wave letter, or None for a ward the traffic model never reached."""
        ward = normalize_ward(ward)
        if ward == self.pilot_ward:
            return "pilot"
        return next((w.name for w in self.waves if ward in w.wards), None)

    def starts(self, programme: str) -> dict[str, pd.Timestamp]:
        """Start per ward of a registry programme (``traffic_model``, ``fire_point``,
        ``camera`` or the common programme)."""
        if programme == "traffic_model":
            return self.traffic_starts()
        if programme == "fire_point":
            return {w: pd.Timestamp(d) for w, d, _ in self.fire_points}
        if programme == "camera":
            return {w: pd.Timestamp(d) for w, d in self.camera_starts}
        if programme == self.common_programme:
            return dict.fromkeys(wards()["name_vi"], pd.Timestamp(self.common_start))
        raise DataError(f"Scenario.starts: no programme {programme!r} in this scenario")

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, not tuples): what ``truth.yaml`` stores under ``scenario``."""
        return _plain(dataclasses.asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Scenario:
        """The scenario back from :meth:`to_dict` (``truth.yaml``'s ``scenario``)."""
        d = dict(data)
        d["waves"] = tuple(
            Wave(w["name"], w["start"], tuple(w["wards"]), w["effect"]) for w in d["waves"]
        )
        d["fire_points"] = tuple(tuple(x) for x in d["fire_points"])
        d["camera_starts"] = tuple(tuple(x) for x in d["camera_starts"])
        return cls(**d)


def _canonical_ward(name: str) -> str:
    return normalize_ward(name, source="Scenario")


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


# --------------------------------------------------------------------------------------------
# random scenarios for a study


def _date(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


def _size(rng: np.random.Generator, kind: str) -> float:
    """A traffic effect size for the kind (proportional, negative = fewer minutes)."""
    if kind == "null":
        return 0.0
    lo, hi = {"small": (-0.08, -0.03), "large": (-0.45, -0.30)}.get(kind, (-0.30, -0.12))
    return round(float(rng.uniform(lo, hi)), 3)


def _wave_starts(rng: np.random.Generator, pilot: pd.Timestamp, last: pd.Timestamp, n: int):
    """Wave start dates: 13–26 weeks after the pilot, then 6–12 weeks apart, squeezed to end
    by ``last`` (so every wave has a post-period)."""
    gaps = np.concatenate([[rng.integers(91, 183)], rng.integers(42, 85, n - 1)]).astype(float)
    room = (last - pilot).days
    if gaps.sum() > room:
        gaps *= room / gaps.sum()
    return [pilot + pd.Timedelta(days=int(g)) for g in np.cumsum(gaps)]


def random_scenario(rng: np.random.Generator, kind: str = "heterogeneous_waves") -> Scenario:
    """Draw a scenario of ``kind`` for a simulation study.

    Every kind draws the windows (2 years of traffic starting between 2022-07 and 2023-07,
    3–4 years of fires and police periods), the pilot ward and its start (26–45 weeks into the
    traffic data), the wave order (the other wards shuffled into 2–4 waves, 0–3 left never
    treated), the wave dates, the fire points (7–11 wards, effect per ward), the cameras, and
    with some chance a recording change in the fire data and an everyone-at-once programme.
    The kind sets the effects:

    ``null``
        No programme has any effect (the nuisance — noise, recording change — stays).
    ``pilot_only``
        Only the pilot ward is treated (no rollout); effect −12 … −30 %.
    ``heterogeneous_waves``
        Each wave and the pilot with its own effect (−5 … −35 %), sometimes decaying.
    ``small`` / ``large``
        One effect everywhere, −3 … −8 % / −30 … −45 % (fires and cameras alike).
    ``spillover``
        Moderate effects and −4 … −10 % on untreated neighbours of treated wards.
    ``anticipation``
        Moderate effects and −3 … −10 % in the 1–3 weeks before each start.
    ``common_shock``
        Moderate effects and a district-wide change of −8 … −20 % after the last wave.

    Parameters
    ----------
    rng
        The random generator (the study's stream; the scenario is a function of its state).
    kind
        One of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise DataError(f"random_scenario: kind {kind!r} is not one of {', '.join(KINDS)}")
    names = list(wards()["name_vi"])
    null = kind == "null"
    t0 = pd.Timestamp("2022-07-01") + pd.DateOffset(months=int(rng.integers(0, 13)))
    t1 = t0 + pd.DateOffset(years=2) - pd.Timedelta(days=1)
    f0 = t0 - pd.DateOffset(months=int(rng.integers(12, 25)))
    s0 = f0 + pd.Timedelta(days=14)
    s1 = (t1 - pd.DateOffset(months=1)).replace(day=15)

    order = [names[i] for i in rng.permutation(len(names))]
    pilot_ward, others = order[0], order[1:]
    pilot_start = t0 + pd.Timedelta(days=int(rng.integers(182, 316)))
    effect = _size(rng, kind)
    waves: list[Wave] = []
    if kind != "pilot_only":
        n_waves = int(rng.integers(2, 5))
        treated = others[: len(others) - int(rng.integers(0, 4))]
        sizes = np.diff(np.linspace(0, len(treated), n_waves + 1).round().astype(int))
        starts = _wave_starts(rng, pilot_start, t1 - pd.Timedelta(days=112), n_waves)
        cut = np.concatenate([[0], np.cumsum(sizes)])
        for i in range(n_waves):
            e = _size(rng, "moderate") if kind == "heterogeneous_waves" else effect
            group = tuple(treated[cut[i] : cut[i + 1]])
            waves.append(Wave("ABCD"[i], _date(starts[i]), group, e))
    last_start = pd.Timestamp(waves[-1].start) if waves else pilot_start

    extra: dict[str, Any] = {}
    if kind == "heterogeneous_waves":
        effect = _size(rng, "moderate")
        if rng.random() < 0.5:
            extra.update(
                decay_after_days=int(rng.integers(120, 271)),
                decay_over_days=int(rng.integers(60, 121)),
                decay_to=round(float(rng.uniform(0.4, 0.8)), 2),
            )
    elif kind == "spillover":
        extra["spillover_effect"] = round(float(rng.uniform(-0.10, -0.04)), 3)
    elif kind == "anticipation":
        extra["anticipation_days"] = int(rng.choice([7, 14, 21]))
        extra["anticipation_effect"] = round(float(rng.uniform(-0.10, -0.03)), 3)
    elif kind == "common_shock":
        latest = t1 - pd.Timedelta(days=28)
        shock = min(last_start + pd.Timedelta(days=int(rng.integers(28, 113))), latest)
        extra["shock_date"] = _date(shock)
        extra["shock_effect"] = round(float(rng.uniform(-0.20, -0.08)), 3)

    # fire points: a random subset of wards, opening across the middle of the fire window
    fire_lo, fire_hi = f0 + pd.DateOffset(months=6), t1 - pd.DateOffset(months=6)
    span = (fire_hi - fire_lo).days
    fire_wards = [names[i] for i in rng.permutation(len(names))[: int(rng.integers(7, 12))]]
    fire_days = np.sort(rng.integers(0, span, len(fire_wards)))
    fire_points = tuple(
        (w, _date(fire_lo + pd.Timedelta(days=int(k))), _size(rng, kind))
        for w, k in zip(fire_wards, fire_days, strict=True)
    )
    cam_wards = [names[i] for i in rng.permutation(len(names))[: int(rng.integers(10, 14))]]
    cam_months = np.sort(rng.integers(3, 25, len(cam_wards)))
    camera_starts = tuple(
        (w, _date(s0 + pd.DateOffset(months=int(m))))
        for w, m in zip(cam_wards, cam_months, strict=True)
    )
    pp = {"null": 0.0, "small": 2.0, "large": 15.0}.get(kind, round(float(rng.uniform(4, 10)), 1))
    if rng.random() < 0.6:
        month = f0 + pd.DateOffset(months=int(rng.integers(12, 25)))
        extra["recording_change"] = _date(month)
        extra["recording_factor"] = round(float(rng.uniform(1.3, 2.0)), 2)
    else:
        extra["recording_change"] = None
    if rng.random() < 0.5:
        extra["common_programme"] = "rental_check"
        extra["common_start"] = _date(fire_lo + pd.Timedelta(days=int(rng.integers(0, span))))
        extra["common_effect"] = 0.0 if null else round(float(rng.uniform(-0.30, -0.10)), 3)
    else:
        extra["common_programme"] = None
    return Scenario(
        kind=kind,
        traffic_start=_date(t0),
        traffic_end=_date(t1),
        fire_start=_date(f0),
        fire_end=_date(t1),
        security_start=_date(s0),
        security_end=_date(s1),
        pilot_ward=pilot_ward,
        pilot_start=_date(pilot_start),
        pilot_effect=effect,
        final_review=_date(last_start + pd.DateOffset(months=3)),
        waves=tuple(waves),
        ramp_days=int(rng.choice([0, 7, 14, 28])),
        accident_effect=0.0 if null else round(float(rng.uniform(-0.2, -0.05)), 3),
        fire_points=fire_points,
        fire_escalation_effect=0.0 if null else round(float(rng.uniform(-0.4, -0.15)), 3),
        camera_starts=camera_starts,
        camera_effect_pp=pp,
        **extra,
    )


# --------------------------------------------------------------------------------------------
# calendar and programme shapes


def _day_numbers(days: pd.DatetimeIndex) -> np.ndarray:
    return days.to_numpy().astype("datetime64[D]").astype(np.int64)


def _day_number(ts: str | pd.Timestamp) -> int:
    return int(np.datetime64(pd.Timestamp(ts).date(), "D").astype(np.int64))


def _tet(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Boolean: in the Tết holiday (2 days before to 4 after), in the two weeks before it."""
    d = _day_numbers(days)
    holiday = np.zeros(len(d), dtype=bool)
    rush = np.zeros(len(d), dtype=bool)
    for year in range(days[0].year, days[-1].year + 1):
        t = _day_number(TET[year])
        holiday |= (d >= t - 2) & (d <= t + 4)
        rush |= (d >= t - 16) & (d < t - 2)
    return holiday, rush


def _calendar(days: pd.DatetimeIndex, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Daily flags, rain and the calendar's multiplier of congestion."""
    month = days.month.to_numpy()
    dow = days.day_of_week.to_numpy()
    tet, rush = _tet(days)
    fixed = np.isin(days.strftime("%m-%d"), _FIXED_HOLIDAYS)
    holiday = tet | fixed
    summer_weekday = np.isin(month, [6, 7, 8]) & (dow < 5)
    wet = rng.random(len(days)) < _RAIN_P[month - 1]
    rain = np.round(np.where(wet, rng.exponential(_RAIN_MM[month - 1]), 0.0), 1)
    years = (_day_numbers(days) - _day_number(days[0])) / 365.25
    level = (
        _WEEKDAY[dow]
        * np.where(summer_weekday, 0.85, 1.0)
        * np.where(fixed & ~tet, 0.45, 1.0)
        * np.where(tet, 0.2, 1.0)
        * np.where(rush, 1.35, 1.0)
        * (1 + 0.3 * np.minimum(rain / 25.0, 1.0))
        * np.exp(0.025 * years)
        # busier in the cool, dry months (peak in mid-November)
        * (1 + 0.04 * np.cos(2 * np.pi * (days.day_of_year.to_numpy() - 320) / 365.25))
    )
    return {
        "level": level,
        "rain": rain,
        "weekend": dow >= 5,
        "holiday": holiday,
        "school": (dow < 5) & ~np.isin(month, [6, 7, 8]) & ~holiday,
    }


def _ramp(k: np.ndarray, days: int) -> np.ndarray:
    """Share of the full effect ``k`` days after a start: linear over ``days`` (0 before)."""
    share = np.clip((k + 1) / days, 0.0, 1.0) if days > 0 else np.ones(k.shape)
    return np.where(k >= 0, share, 0.0)


def _traffic_share(s: Scenario, k: np.ndarray) -> np.ndarray:
    """Share of the full traffic effect ``k`` days after the start: ramp, then decay."""
    share = _ramp(k, s.ramp_days)
    if s.decay_after_days is not None:
        fade = np.clip((k - s.decay_after_days) / max(s.decay_over_days, 1), 0.0, 1.0)
        share = share * (1 - (1 - s.decay_to) * fade)
    return share


def _since(names: list[str], starts: dict[str, pd.Timestamp], d: np.ndarray) -> np.ndarray:
    """Days since each ward's start (ward × day); a very negative number for wards without."""
    s = np.array([_day_number(starts[w]) if w in starts else 10**7 for w in names])
    return d[None, :] - s[:, None]


def _traffic_effects(s: Scenario, names: list[str], days: pd.DatetimeIndex):
    """Direct effect, anticipation and spillover (fractions), ward × day, ``names`` order."""
    k = _since(names, s.traffic_starts(), _day_numbers(days))
    full = s.traffic_full_effects()
    direct = np.array([full.get(w, 0.0) for w in names])[:, None] * _traffic_share(s, k)
    window = (k < 0) & (k >= -s.anticipation_days)
    antic = np.where(window, s.anticipation_effect, 0.0)
    adj = adjacency()
    index = {w: i for i, w in enumerate(names)}
    a = np.zeros((len(names), len(names)))
    for x, y in zip(adj["ward_a"], adj["ward_b"], strict=True):
        a[index[x], index[y]] = a[index[y], index[x]] = 1.0
    running = (k >= 0).astype(float)
    # an untreated ward next to a running one: diverted, calmer flows
    spill = np.where((a @ running > 0) & (k < 0), s.spillover_effect, 0.0)
    return direct + 0.0, antic + 0.0, spill + 0.0  # + 0.0 turns −0.0 into 0.0


# --------------------------------------------------------------------------------------------
# the tables


def _ward_table() -> pd.DataFrame:
    w = wards()
    return pd.DataFrame(
        {
            "ward": w["name_vi"],
            "code": w["ward_code"],
            "urban_class": w["urban_class"],
            "population": w["pop_2024_est"].astype(float),
            "rental_ratio": w["n_rental_houses_est"] / w["households_est"],
        }
    )


def _simulate_traffic(s: Scenario, W: pd.DataFrame, rng: np.random.Generator):
    """Return (junctions, traffic_peak, truth_traffic_daily)."""
    days = pd.date_range(s.traffic_start, s.traffic_end, freq="D")
    names = list(W["ward"])
    nw, nd, n = len(W), len(days), s.junctions_per_ward
    ward_of = np.repeat(np.arange(nw), n)
    nj = len(ward_of)
    cal = _calendar(days, rng)
    level = cal["level"]
    if s.shock_date is not None:
        level = level * np.where(days >= pd.Timestamp(s.shock_date), 1 + s.shock_effect, 1.0)
    direct, antic, spill = _traffic_effects(s, names, days)
    mult = ((1 + direct) * (1 + antic) * (1 + spill))[ward_of]  # junction × day

    base = (
        _PEAK_BASE[None, :]
        * W["urban_class"].map(_CLASS_LEVEL).to_numpy()[ward_of, None]
        * np.exp(rng.normal(0, 0.15, nw)[ward_of] + rng.normal(0, 0.25, nj))[:, None]
    )
    week = (_day_numbers(days) - _day_number(days[0]) + days[0].day_of_week) // 7
    noise = rng.normal(0, 0.05, (nw, week[-1] + 1))[:, week][ward_of]  # ward × week
    noise += rng.normal(0, 0.06, nd)[None, :]  # day effects, common to every ward
    rho, sd = 0.6, 0.18
    innov = rng.normal(0, sd * np.sqrt(1 - rho**2), (nj, nd))
    ar = np.empty((nj, nd))
    ar[:, 0] = rng.normal(0, sd, nj)
    for t in range(1, nd):
        ar[:, t] = rho * ar[:, t - 1] + innov[:, t]
    noise += ar
    mu0 = (
        base[:, None, :]
        * level[None, :, None]
        * np.exp(noise[:, :, None] + rng.normal(0, 0.1, (nj, nd, 2)))
    )
    y0 = np.minimum(_PEAK_LENGTH, mu0)
    y = np.minimum(_PEAK_LENGTH, mu0 * mult[:, :, None])
    free_flow = rng.uniform(24.0, 32.0, nj)[:, None, None]
    s0 = free_flow * np.exp(-0.9 * y0 / _PEAK_LENGTH + rng.normal(0, 0.04, (nj, nd, 2)))
    sp = s0 * (1 + s.speed_per_congestion * (mult[:, :, None] - 1))
    y0, y, s0, sp = (np.round(v, 1) for v in (y0, y, s0, sp))

    # sensors: cameras at signalised junctions miss ~1 % of days, manual counts ~4 % plus outages
    signalised = np.arange(nj) % n == 0
    observed = rng.random((nj, nd)) >= np.where(signalised, 0.01, 0.04)[:, None]
    for j in np.flatnonzero(~signalised & (rng.random(nj) < 0.6)):
        first = int(rng.integers(0, nd))
        observed[j, first : first + int(rng.integers(3, 13))] = False

    codes = W["code"].to_numpy()[ward_of]
    jid = np.array([f"J{c}-{i % n + 1:02d}" for i, c in enumerate(codes)])
    junctions = pd.DataFrame(
        {
            "junction_id": jid,
            "ward": np.array(names)[ward_of],
            "ward_code": codes,
            "name": [f"Điểm nóng {i % n + 1} — {names[w]}" for i, w in enumerate(ward_of)],
            "type": np.where(rng.random(nj) < 0.6, "T", "X"),
            "signalised": signalised,
            "hotspot": True,
            "sensor": np.where(signalised, "camera", "manual count"),
        }
    )

    obs3 = np.broadcast_to(observed[:, :, None], y.shape)

    def by_day(v: np.ndarray) -> np.ndarray:  # junction × day × peak → day × junction × peak
        return v.transpose(1, 0, 2).ravel()

    traffic = pd.DataFrame(
        {
            "junction_id": np.tile(np.repeat(jid, 2), nd),
            "ward": np.tile(np.repeat(np.array(names)[ward_of], 2), nd),
            "date": np.repeat(days.to_numpy(), nj * 2),
            "peak": np.tile(["AM", "PM"], nd * nj),
            "congestion_minutes": by_day(np.where(obs3, y, np.nan)),
            "avg_speed_kmh": by_day(np.where(obs3, sp, np.nan)),
            "rain_mm": np.repeat(cal["rain"], nj * 2),
            "is_weekend": np.repeat(cal["weekend"], nj * 2),
            "is_holiday": np.repeat(cal["holiday"], nj * 2),
            "is_school_day": np.repeat(cal["school"], nj * 2),
        }
    )

    def per_ward(v: np.ndarray) -> np.ndarray:  # sum over a ward's junctions and both peaks
        return np.where(obs3, v, 0.0).reshape(nw, n, nd, 2).sum(axis=(1, 3)).ravel()

    truth = pd.DataFrame(
        {
            "ward": np.repeat(names, nd),
            "date": np.tile(days.to_numpy(), nw),
            "n_obs": (observed.reshape(nw, n, nd).sum(axis=1) * 2).ravel().astype("int64"),
            "congestion_sum": per_ward(y),
            "congestion0_sum": per_ward(y0),
            "speed_sum": per_ward(sp),
            "speed0_sum": per_ward(s0),
            "direct": direct.ravel(),
            "anticipation": antic.ravel(),
            "spillover": spill.ravel(),
        }
    )
    sums = ["congestion_sum", "congestion0_sum", "speed_sum", "speed0_sum"]
    truth[sums] = truth[sums].round(4)
    truth[["direct", "anticipation", "spillover"]] = truth[
        ["direct", "anticipation", "spillover"]
    ].round(6)
    truth = truth.sort_values(["ward", "date"], kind="stable").reset_index(drop=True)
    return junctions, traffic, truth


def _per_fire(p_escalate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected deaths and loss (M VND) per recorded fire, given the chance it escalates."""
    deaths = _DEATH_P * (1 + _EXTRA_DEATHS)
    loss = _LOSS_MEDIAN * np.exp(_LOSS_SIGMA**2 / 2)
    return (
        (1 - p_escalate) * deaths[0] + p_escalate * (_SEV_SHARE @ deaths),
        (1 - p_escalate) * loss[0] + p_escalate * (_SEV_SHARE @ loss),
    )


def _per_fire_expected(escalation_effect: float) -> dict[str, dict[str, float]]:
    """Expected escalation, deaths and loss per recorded fire without and with a fire point
    in full force, and their ratio (the keys of the demo's ``truth.yaml``)."""
    out = {}
    for key, p in (("untreated", _ESCALATE), ("treated", _ESCALATE * (1 + escalation_effect))):
        deaths, loss = _per_fire(np.array(p))
        out[key] = {"escalated": p, "deaths": float(deaths), "loss_mvnd": float(loss)}
    out["ratio_treated_to_untreated"] = {
        k: out["treated"][k] / out["untreated"][k] for k in out["treated"]
    }
    return {k: {kk: round(float(vv), 4) for kk, vv in v.items()} for k, v in out.items()}


def _simulate_fires(s: Scenario, W: pd.DataFrame, rng: np.random.Generator):
    """Return (fire_incidents, truth_fire_monthly, fire_daily) where ``fire_daily`` holds the
    expected fires and escalations per ward × day with and without the fire points."""
    days = pd.date_range(s.fire_start, s.fire_end, freq="D")
    names = list(W["ward"])
    nd = len(days)
    d = _day_numbers(days)
    tet, _ = _tet(days)
    recorded = np.ones(nd)
    if s.recording_change is not None:
        recorded[days >= pd.Timestamp(s.recording_change)] = s.recording_factor
    base = (
        s.fire_rate
        / 1e5
        / 365.25
        * W["population"].to_numpy()[:, None]
        * (_FIRE_SEASON[days.month.to_numpy() - 1] * recorded)[None, :]
    )
    mix = np.where(_RENTAL, _MIX[None, :] * W["rental_ratio"].to_numpy()[:, None] / 0.06, _MIX)
    mix /= mix.sum(axis=1, keepdims=True)
    by_type = np.where(_RESIDENTIAL[None, :] & tet[:, None], 1.5, 1.0)  # day × premise type
    if s.common_programme is not None:
        after = days >= pd.Timestamp(s.common_start)
        by_type = by_type * np.where(_RENTAL[None, :] & after[:, None], 1 + s.common_effect, 1.0)
    lam0 = base[:, :, None] * mix[:, None, :] * by_type[None, :, :]
    points = {w: pd.Timestamp(x) for w, x, _ in s.fire_points}
    effects = {w: e for w, _, e in s.fire_points}
    effect = np.array([effects.get(w, 0.0) for w in names])
    share = _ramp(_since(names, points, d), s.fire_ramp_days)
    lam1 = lam0 * (1 + effect[:, None] * share)[:, :, None]

    wi, di, ki = np.nonzero(counts := rng.poisson(lam1))
    reps = counts[wi, di, ki]
    wi, di, ki = (np.repeat(v, reps) for v in (wi, di, ki))
    n = len(wi)
    p_esc = _ESCALATE * (1 + s.fire_escalation_effect * share[wi, di])
    escalated = rng.random(n) < p_esc
    sev = np.where(escalated, 1 + rng.choice(3, n, p=_SEV_SHARE[1:]), 0)
    deaths = np.where(rng.random(n) < _DEATH_P[sev], 1 + rng.poisson(_EXTRA_DEATHS[sev]), 0)
    injuries = np.where(rng.random(n) < _INJURY_P[sev], 1 + rng.poisson(0.4, n), 0)
    local = rng.random(n) < 0.25 + 0.45 * share[wi, di]
    fires = pd.DataFrame(
        {
            "date": days[di],
            "hour": np.where(
                rng.random(n) < 0.4, rng.choice([22, 23, 0, 1, 2, 3, 4], n), rng.integers(5, 22, n)
            ).astype("int64"),
            "ward": np.array(names)[wi],
            "premise_type": np.array(PREMISE_TYPES)[ki],
            "cause": np.array(CAUSES)[rng.choice(len(CAUSES), n, p=_CAUSE_P)],
            "severity": np.array(SEVERITIES)[sev],
            "deaths": deaths.astype("int64"),
            "injuries": injuries.astype("int64"),
            "loss_mvnd": np.round(_LOSS_MEDIAN[sev] * np.exp(rng.normal(0, _LOSS_SIGMA, n)), 1),
            "response_min": np.round(
                np.where(local, 2 + rng.exponential(2.5, n), 7 + rng.exponential(6.0, n)), 1
            ),
            "local_first_response": local,
            "escalated": escalated,
        }
    )
    fires = fires.sort_values(["date", "hour", "ward"], kind="stable").reset_index(drop=True)
    year = fires["date"].dt.year.astype(str)
    seq = (fires.groupby(year).cumcount() + 1).map("{:04d}".format)
    fires.insert(0, "incident_id", "CC-" + year + "-" + seq)

    # expected values per ward × day, with (1) and without (0) the fire points
    f0, f1 = lam0.sum(axis=2), lam1.sum(axis=2)
    p1 = _ESCALATE * (1 + s.fire_escalation_effect * share)
    d0, l0 = _per_fire(np.full_like(p1, _ESCALATE))
    d1, l1 = _per_fire(p1)
    daily = pd.DataFrame(
        {
            "ward": np.repeat(names, nd),
            "date": np.tile(days.to_numpy(), len(names)),
            "fires0": f0.ravel(),
            "fires1": f1.ravel(),
            "escalated0": (f0 * _ESCALATE).ravel(),
            "escalated1": (f1 * p1).ravel(),
            "deaths0": (f0 * d0).ravel(),
            "deaths1": (f1 * d1).ravel(),
            "loss0": (f0 * l0).ravel(),
            "loss1": (f1 * l1).ravel(),
            "share": share.ravel(),
        }
    )
    month = daily["date"].dt.to_period("M").dt.to_timestamp()
    g = daily.groupby([daily["ward"], month.rename("month")], sort=False)
    truth = g[
        ["fires0", "fires1", "escalated0", "escalated1", "deaths0", "deaths1", "loss0", "loss1"]
    ].sum()
    truth.columns = [f"{c[:-1]}_expected{c[-1]}" for c in truth.columns]  # fires0 → fires_expected0
    truth["programme_share"] = g["share"].mean()
    truth = truth.round(6).reset_index()
    return fires, truth, daily[["ward", "date", "fires0", "fires1", "escalated0", "escalated1"]]


def _simulate_electrical(s: Scenario, W: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Minor electrical incidents per ward × month: seasonal, no programme acts on them."""
    months = pd.date_range(s.fire_start, s.fire_end, freq="MS")
    lam = (W["population"].to_numpy() / 25_000 * rng.uniform(0.8, 1.2, len(W)))[
        :, None
    ] * _FIRE_SEASON[months.month.to_numpy() - 1][None, :]
    return pd.DataFrame(
        {
            "ward": np.repeat(W["ward"].to_numpy(), len(months)),
            "month": np.tile(months.to_numpy(), len(W)),
            "electrical_incidents": rng.poisson(lam).ravel().astype("int64"),
        }
    )


def _simulate_security(s: Scenario, W: pd.DataFrame, rng: np.random.Generator):
    """Return (antt_period, truth_antt_period), old wards × police periods."""
    fortnight = pd.Timedelta(days=14)
    periods = (
        pd.date_range(
            pd.Timestamp(s.security_start) - fortnight,
            pd.Timestamp(s.security_end) - fortnight,
            freq="MS",
        )
        + fortnight
    )
    ends = periods + pd.DateOffset(months=1) - pd.Timedelta(days=1)
    names = list(W["ward"])
    nw, npd = len(W), len(periods)
    mid = _day_numbers(periods) + 14  # exposure at mid-period
    scale = (W["population"].to_numpy() / 30_000)[:, None] * np.ones((1, npd))
    rental = (W["rental_ratio"].to_numpy() / 0.06)[:, None]

    cams = {w: pd.Timestamp(d) for w, d in s.camera_starts}
    k_cam = _since(names, cams, mid)
    solve0 = np.clip(0.72 + rng.normal(0, 0.05, nw), 0.5, 0.85)[:, None] * np.ones((1, npd))
    solve1 = solve0 + s.camera_effect_pp / 100 * _ramp(k_cam, s.camera_ramp_days)
    k_traffic = _since(names, s.traffic_starts(), mid)
    acc0 = 0.8 * scale
    acc1 = acc0 * (1 + s.accident_effect * _traffic_share(s, k_traffic))
    installs = np.where(k_cam >= 0, np.where(k_cam < 365, 4.0, 1.0), 0.0) * scale
    campaign = 1.0
    if s.common_programme is not None:
        campaign = np.where(periods >= pd.Timestamp(s.common_start), 2.0, 1.0)[None, :]

    crime = rng.poisson(2.5 * scale * (0.7 + 0.3 * rental))
    accidents = rng.poisson(acc1)
    disputes = rng.poisson(3.0 * scale)
    checks = rng.poisson(45 * scale * (0.6 + 0.4 * rental) * campaign)
    table = {
        "ward": np.repeat(names, npd),
        "period_start": np.tile(periods.to_numpy(), nw),
        "period_end": np.tile(ends.to_numpy(), nw),
        "criminal_cases": crime,
        "theft_cases": rng.binomial(crime, 0.55),
        "drug_cases": rng.poisson(0.25 * scale),
        "solved_cases": rng.binomial(crime, solve1),
        "traffic_accidents": accidents,
        "traffic_deaths": rng.binomial(accidents, 0.3),
        "traffic_injuries": rng.poisson(0.9 * accidents),
        "disputes_received": disputes,
        "disputes_mediated_ok": rng.binomial(disputes, 0.85),
        "cameras_cum": np.cumsum(rng.poisson(installs), axis=1),
        "residence_checks": checks,
        "residence_violations": rng.binomial(checks, 0.09),
    }
    antt = pd.DataFrame({k: np.ravel(v) for k, v in table.items()})
    for c in antt.columns[3:]:
        antt[c] = antt[c].astype("int64")
    truth = pd.DataFrame(
        {
            "ward": np.repeat(names, npd),
            "period_start": np.tile(periods.to_numpy(), nw),
            "accidents_expected0": acc0.ravel(),
            "accidents_expected1": acc1.ravel(),
            "solve_rate0": solve0.ravel(),
            "solve_rate1": solve1.ravel(),
        }
    )
    truth[truth.columns[2:]] = truth[truth.columns[2:]].round(6)
    return antt, truth


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
            names = list(wards()["name_vi"])
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
            keep &= np.isin(code, [names.index(normalize_ward(w)) for w in chosen])
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
        others = [w for w in wards()["name_vi"] if s.wave_of(w) != "pilot"]
        if "pilot" in out:
            a, b = windows["pilot"][1:]
            out["pilot"]["effect_on_other_wards_minutes"] = round(
                self.traffic_effect(others, a, b), 4
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The planted parameters and realised effects (``truth.yaml``)."""
        s = self.scenario
        w = _ward_table().set_index("ward")
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


# --------------------------------------------------------------------------------------------
# writing


_LABELS = {
    "traffic_model": (
        "Mô hình “Giao thông an toàn, thông suốt”",
        "Safe and smooth traffic model",
        "traffic",
        ["congestion_minutes", "avg_speed_kmh", "traffic_accidents"],
    ),
    "fire_point": (
        "Điểm chữa cháy công cộng",
        "Public fire-fighting points",
        "fire",
        ["fires", "escalated", "deaths", "loss_mvnd"],
    ),
    "camera": (
        "Mô hình “Camera an ninh”",
        "Community security cameras",
        "security",
        ["solved_share", "theft_cases"],
    ),
    "common": (
        "Tổng kiểm tra PCCC nhà trọ, chung cư mini trên toàn quận",
        "District-wide fire-safety checks of rental housing",
        "fire",
        ["fires"],
    ),
}


def _registry_yaml(s: Scenario, seed: int) -> str:
    """The pilot registry (format of ``params/pilots.yaml``)."""
    ids = ["traffic_model", "fire_point", "camera"] + [s.common_programme] * (
        s.common_programme is not None
    )
    programmes = {}
    for pid in ids:
        vi, en, domain, outcomes = _LABELS.get(pid, _LABELS["common"])
        programmes[pid] = {"name_vi": vi, "name_en": en, "domain": domain, "outcomes": outcomes}
    if s.common_programme is not None:
        programmes[s.common_programme]["note"] = (
            "Started in every ward on one day: no control group, not identifiable by DiD."
        )
    interim = s.interim_review or _date(pd.Timestamp(s.pilot_start) + pd.DateOffset(months=3))
    pilots = []
    for ward, start in s.traffic_starts().items():
        entry = {"ward": ward, "programme": "traffic_model", "start": _date(start)}
        entry["wave"] = s.wave_of(ward)
        if entry["wave"] == "pilot":
            entry["interim_review"] = interim
        if s.final_review is not None:
            entry["final_review"] = s.final_review
        pilots.append(entry)
    pilots += [{"ward": w, "programme": "fire_point", "start": d} for w, d, _ in s.fire_points]
    pilots += [{"ward": w, "programme": "camera", "start": d} for w, d in s.camera_starts]
    if s.common_programme is not None:
        pilots += [
            {"ward": w, "programme": s.common_programme, "start": s.common_start}
            for w in wards()["name_vi"]
        ]
    header = (
        f"Pilot registry of a SIMULATED district (evaluation.synthetic.scenarios, seed {seed}).\n"
        "Not real data: the planted truth is in truth.yaml beside the tables."
    )
    comments = "".join(f"# {line}\n" for line in header.splitlines())
    return registry_yaml(programmes, pilots, header=comments)


def _notes_yaml(s: Scenario) -> str:
    """``data_notes.yaml``: data-quality events the analysis must take into account."""
    changes = []
    if s.recording_change is not None:
        d = s.recording_change
        changes.append(
            {
                "table": "fires",
                "date": d,
                "vi": f"Từ ngày {d}, thống kê cháy tính thêm cả các vụ cháy nhỏ do công an "
                "phường xử lý (thay đổi cách thống kê, áp dụng ở mọi phường).",
                "en": f"From {d}, fire statistics also count small fires handled by ward police "
                "(a change in recording, in every ward).",
            }
        )
    return data_notes_yaml(changes, header="# Data-quality events (simulated district).\n")


def _check_folder(folder: Path, ours: set[str]) -> None:
    """Refuse a folder holding other tables that the analysis would read along with ours."""
    if not folder.exists():
        return
    strays = sorted(
        p.name for g in _TABLE_GLOBS for p in folder.glob(g) if p.is_file() and p.name not in ours
    )
    if strays:
        raise DataError(
            f"write_district: {folder} already holds {', '.join(strays)}, which would be read "
            "together with the simulated tables — write to an empty folder"
        )


def write_district(
    folder: str | Path,
    scenario: Scenario | None = None,
    seed: int = 0,
    *,
    registry: str | Path | None = None,
    traffic_format: str = "parquet",
) -> Truth:
    """Simulate a district from ``(scenario, seed)`` and write it as a data folder.

    Files (the documented input format, ``data/README.md``; each table passes
    ``pilot-eval validate``): ``junctions.csv``, ``traffic_peak.parquet`` (or ``.csv``),
    ``fire_incidents.csv``, ``electrical_incidents_monthly.csv``, ``antt_period.csv``; the
    pilot registry (``registry``, default ``FOLDER/pilots.yaml``); ``data_notes.yaml``
    (``recording_changes``); and the truth: ``truth/traffic_daily.parquet``,
    ``truth/fire_monthly.csv``, ``truth/antt_period.csv`` (the demo's formats) and
    ``truth.yaml``. Files of the same names are replaced.

    Parameters
    ----------
    folder
        Output folder (created); it must not hold other traffic, fire, electrical or ANTT
        tables, which the analysis would read along with these.
    scenario
        The truth to plant (default: :class:`Scenario`'s defaults).
    seed
        Seed of the noise: the same scenario and seed write the same files.
    registry
        Where to write the pilot registry.
    traffic_format
        ``"parquet"`` or ``"csv"``.

    Returns
    -------
    Truth
        The planted parameters, the files and the true-effect helpers.
    """
    if traffic_format not in ("parquet", "csv"):
        raise DataError(
            f"write_district: traffic_format must be 'parquet' or 'csv', not {traffic_format!r}"
        )
    s = scenario if scenario is not None else Scenario()
    folder = Path(folder)
    registry_path = Path(registry) if registry is not None else folder / "pilots.yaml"
    tables = {
        "junctions.csv": None,
        f"{_TRAFFIC_FILE}.{traffic_format}": None,
        "fire_incidents.csv": None,
        "electrical_incidents_monthly.csv": None,
        "antt_period.csv": None,
    }
    _check_folder(folder, set(tables))
    W = _ward_table()
    rngs = [np.random.default_rng(x) for x in np.random.SeedSequence(seed).spawn(4)]
    junctions, traffic, traffic_truth = _simulate_traffic(s, W, rngs[0])
    fires, fire_truth, fire_daily = _simulate_fires(s, W, rngs[1])
    antt, antt_truth = _simulate_security(s, W, rngs[3])
    tables.update(
        {
            "junctions.csv": junctions,
            f"{_TRAFFIC_FILE}.{traffic_format}": traffic,
            "fire_incidents.csv": fires,
            "electrical_incidents_monthly.csv": _simulate_electrical(s, W, rngs[2]),
            "antt_period.csv": antt,
            "truth/traffic_daily.parquet": traffic_truth,
            "truth/fire_monthly.csv": fire_truth,
            "truth/antt_period.csv": antt_truth,
        }
    )
    (folder / "truth").mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = folder / name
        if name.endswith(".parquet"):
            df.to_parquet(path, index=False)
        else:
            df.to_csv(path, index=False, lineterminator="\n", date_format="%Y-%m-%d")
        written.append(path)
    truth = Truth(s, seed, folder, registry_path, (), traffic_truth, fire_daily, antt_truth)
    texts = {
        registry_path: _registry_yaml(s, seed),
        folder / "data_notes.yaml": _notes_yaml(s),
        folder / "truth.yaml": commented_yaml(
            truth.to_dict(),
            "Planted truth of a SIMULATED district (evaluation.synthetic.scenarios).\n"
            "Scenario under `scenario`; realised effects from the simulated outcomes.",
        ),
    }
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    truth.files = tuple(written)
    return truth
