"""The truth of a generated district: :class:`Scenario` (the pilot, the waves, the effects, the
fire points, the cameras, the shocks) and :func:`random_scenario`, which draws one of a kind
for a study."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import DataError
from evaluation.synthetic.calendar import TET
from evaluation.synthetic.scenarios.universe import Universe

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
    universe: Universe = field(default_factory=Universe.bac_tu_liem)

    def __post_init__(self) -> None:
        # canonical ward names, so every table and the registry spell them one way
        canon = self.universe.normalize
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
        ward = self.universe.normalize(ward)
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
            return dict.fromkeys(self.universe.names, pd.Timestamp(self.common_start))
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
        if "universe" in d:
            d["universe"] = Universe.from_dict(d["universe"])
        return cls(**d)


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


def random_scenario(
    rng: np.random.Generator, kind: str = "heterogeneous_waves", universe: Universe | None = None
) -> Scenario:
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
    universe
        The district's wards (default: Bắc Từ Liêm's 13 before 2025); the numbers of wards
        with fire points and cameras scale with its size.
    """
    if kind not in KINDS:
        raise DataError(f"random_scenario: kind {kind!r} is not one of {', '.join(KINDS)}")
    universe = universe if universe is not None else Universe.bac_tu_liem()
    names = universe.names
    n = len(names)
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
    k_fire = int(rng.integers(max(2, round(0.54 * n)), max(3, round(0.923 * n))))
    fire_wards = [names[i] for i in rng.permutation(n)[:k_fire]]
    fire_days = np.sort(rng.integers(0, span, len(fire_wards)))
    fire_points = tuple(
        (w, _date(fire_lo + pd.Timedelta(days=int(k))), _size(rng, kind))
        for w, k in zip(fire_wards, fire_days, strict=True)
    )
    k_cam = int(rng.integers(max(2, round(0.77 * n)), n + 1))
    cam_wards = [names[i] for i in rng.permutation(n)[:k_cam]]
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
        universe=universe,
        **extra,
    )
