"""Noise panels for the inference study: ward × week outcomes calibrated to the demo data.

One replication of the study in :mod:`evaluation.validation.inference_size_power` draws::

    y_it = μ + α_i + λ_t + τ_i·1{t ≥ c_i} + ε_it,   ε_it = ρ ε_i,t−1 + √(1−ρ²) σ η_it,

13 wards × 104 weeks, η iid N(0, 1), ε stationary from the first week, fresh week effects
λ_t ~ N(0, σ_λ²) each replication, and μ, the ward effects α_i, σ_λ and σ calibrated to the
ward × week means of congestion minutes in the demo data before any programme
(:func:`calibrate_to_demo`). A :class:`PlantedDesign` says which ward starts when and the
effect planted in each (:func:`pilot_design`, :func:`rollout_design`); :func:`simulate_noise`
draws the outcome without any programme and :func:`panel_frame` adds a scenario's effects.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.data.embedded import demo_truth

__all__ = [
    "Calibration",
    "PlantedDesign",
    "calibrate_to_demo",
    "pilot_design",
    "rollout_design",
    "simulate_noise",
    "panel_frame",
]


# --------------------------------------------------------------------------------------------
# calibration to the demo data


@dataclass(frozen=True)
class Calibration:
    """Scale of the simulated district, estimated from the demo data's pre-programme weeks.

    ``noise_sd`` is the stationary standard deviation σ of the AR(1) errors (the residual
    standard deviation of a two-way fixed-effects fit, degrees-of-freedom corrected);
    ``demo_rho`` the first-order autocorrelation of those residuals (the simulation uses
    ``rho``, 0.5, as the issue prescribes).
    """

    wards: tuple[str, ...]
    baseline: float
    ward_effects: tuple[float, ...]
    week_sd: float
    noise_sd: float
    rho: float
    demo_rho: float
    demo_noise_sd_by_ward: tuple[float, float]
    n_weeks_used: int
    first_week: str
    last_week: str

    def describe(self) -> str:
        ward_sd = float(np.std(self.ward_effects, ddof=1))
        return (
            f"Calibrated to the demo data (ev.load_demo('traffic') → aggregate_traffic, ward × "
            f"week means of congestion minutes), {self.n_weeks_used} complete weeks before any "
            f"programme ({self.first_week} to {self.last_week}), two-way fixed-effects "
            f"decomposition: baseline μ = {self.baseline:.2f} min, ward effects α_i as estimated "
            f"(sd {ward_sd:.2f}), week effects λ_t ~ N(0, {self.week_sd:.2f}²) drawn afresh, "
            f"AR(1) errors with stationary sd σ = {self.noise_sd:.2f} min (demo residual sd by "
            f"ward {self.demo_noise_sd_by_ward[0]:.2f}–{self.demo_noise_sd_by_ward[1]:.2f}) and "
            f"ρ = {self.rho:g} (the demo residuals' own lag-1 autocorrelation is "
            f"{self.demo_rho:.2f}; ρ = 0.5 is the harder case)."
        )


def calibrate_to_demo(rho: float = 0.5, traffic: pd.DataFrame | None = None) -> Calibration:
    """Estimate μ, α_i, σ_λ and σ from the demo's weekly congestion before any programme.

    Uses complete weeks (Monday to Sunday, all inside the data window) that end before the
    earliest programme start minus its anticipation window (``truth.yaml``), so no planted
    effect, anticipation or spillover enters the noise scale.
    """
    from evaluation.data.embedded import load_demo
    from evaluation.data.panels import aggregate_traffic

    truth = demo_truth()
    model = truth["traffic_model"]
    if traffic is None:
        traffic = load_demo("traffic")
    weekly = aggregate_traffic(traffic, freq="week", outcomes=("congestion_minutes",))
    first_start = min(pd.Timestamp(w["start"]) for w in model["wards"].values())
    cutoff = first_start - pd.Timedelta(days=int(model["shape"]["anticipation_days"]))
    window_start = pd.Timestamp(truth["windows"]["traffic"][0])
    # the district's own 13 wards (the bordering wards of other districts are the demo's
    # comparison wards, not part of the district the study simulates)
    own = set(model["wards"])
    keep = (weekly["period_start"] >= window_start) & (weekly["period_end"] < cutoff)
    keep &= weekly["ward"].isin(own)
    Y = weekly[keep].pivot(index="ward", columns="period_start", values="congestion_minutes")
    Y = Y.dropna(axis=1)
    values = Y.to_numpy(dtype=float)
    N, T = values.shape
    mu = float(values.mean())
    a = values.mean(axis=1) - mu
    lam = values.mean(axis=0) - mu
    resid = values - mu - a[:, None] - lam[None, :]
    sigma = float(np.sqrt((resid**2).sum() / ((N - 1) * (T - 1))))
    lag = float((resid[:, 1:] * resid[:, :-1]).sum() / (resid[:, :-1] ** 2).sum())
    by_ward = resid.std(axis=1, ddof=1) * math.sqrt(T / (T - 1))
    return Calibration(
        wards=tuple(Y.index),
        baseline=mu,
        ward_effects=tuple(float(x) for x in a),
        week_sd=float(np.std(lam, ddof=1)),
        noise_sd=sigma,
        rho=float(rho),
        demo_rho=lag,
        demo_noise_sd_by_ward=(float(by_ward.min()), float(by_ward.max())),
        n_weeks_used=T,
        first_week=str(Y.columns[0].date()),
        last_week=str((Y.columns[-1] + pd.Timedelta(days=6)).date()),
    )


# --------------------------------------------------------------------------------------------
# designs and scenarios


@dataclass(frozen=True)
class PlantedDesign:
    """Which ward starts when, and the demo's planted effect per ward (minutes).

    ``scenarios``: ``"null"`` (no effect), ``"constant"`` (one effect, the demo truth, in
    every treated ward-week) and ``"demo"`` (the demo's effect per ward); for the pilot the
    last two coincide and only ``"demo"`` is run.
    """

    key: str
    title: str
    cohorts: np.ndarray
    demo_effects: np.ndarray
    n_weeks: int
    scenarios: tuple[str, ...]
    note: str = ""

    @property
    def treated_weeks(self) -> np.ndarray:
        """Treated weeks per ward (0 for never treated)."""
        c = np.where(np.isnan(self.cohorts), self.n_weeks, self.cohorts)
        return (self.n_weeks - c).astype(float)

    def effects(self, scenario: str) -> np.ndarray:
        if scenario == "null":
            return np.zeros_like(self.demo_effects)
        if scenario == "demo":
            return self.demo_effects.copy()
        if scenario == "constant":
            return np.where(np.isnan(self.cohorts), 0.0, self.truth("demo"))
        raise ValueError(f"unknown scenario {scenario!r}")

    def truth(self, scenario: str) -> float:
        """Average effect over the treated ward-weeks (the estimand of att_gt's 'simple');
        the same for ``"constant"`` and ``"demo"`` by construction."""
        if scenario == "null":
            return 0.0
        w = self.treated_weeks
        return float((self.demo_effects * w).sum() / w.sum())


def _wave_of(truth: dict) -> dict[str, str]:
    return {name: w["wave"] for name, w in truth["traffic_model"]["wards"].items()}


def pilot_design(
    calibration: Calibration,
    start: int = 58,
    n_weeks: int = 104,
    effect: float | None = None,
    key: str = "pilot",
) -> PlantedDesign:
    """(i) One treated ward, Cổ Nhuế 2, from week ``start`` (58 pre-weeks, like the pilot).

    ``effect`` defaults to the demo's realised pilot effect before wave A (truth.yaml
    ``pilot_until_wave_A.att_minutes``, about −7.6 minutes). ``n_weeks=78`` ends the panel
    when the demo's wave A starts (20 post-weeks), the window a pilot-only evaluation has.
    """
    truth = demo_truth()
    if effect is None:
        effect = float(
            truth["traffic_model"]["realised_effects"]["pilot_until_wave_A"]["att_minutes"]
        )
    waves = _wave_of(truth)
    pilot = [w for w in calibration.wards if waves.get(w) == "pilot"]
    cohorts = np.array([start if w in pilot else np.nan for w in calibration.wards], dtype=float)
    effects = np.where(np.isnan(cohorts), 0.0, effect)
    return PlantedDesign(
        key=key,
        title=f"({'i' if key == 'pilot' else 'i′'}) one treated ward ({pilot[0]}), {start} "
        f"pre-weeks, {n_weeks - start} post-weeks",
        cohorts=cohorts,
        demo_effects=effects,
        n_weeks=n_weeks,
        scenarios=("null", "demo"),
        note=f"planted effect {effect:.2f} min in every post-week (constant = demo)",
    )


def rollout_design(
    calibration: Calibration, starts: Sequence[int] = (52, 61, 70), n_weeks: int = 104
) -> PlantedDesign:
    """(ii) The 12 other wards in the demo's three waves of four, from weeks ``starts``;
    Cổ Nhuế 2 (the pilot ward) plays the one never-treated ward.

    Wave effects are the demo's realised ones (truth.yaml ``wave_*_until_AI_signals``: about
    −8.9, −6.6 and −2.9 minutes), constant over time within a wave.
    """
    truth = demo_truth()
    realised = truth["traffic_model"]["realised_effects"]
    waves = _wave_of(truth)
    start_of = dict(zip("ABC", starts, strict=True))
    effect_of = {k: float(realised[f"wave_{k}_until_AI_signals"]["att_minutes"]) for k in "ABC"}
    cohorts = np.array([start_of.get(waves.get(w), np.nan) for w in calibration.wards], dtype=float)
    effects = np.array([effect_of.get(waves.get(w), 0.0) for w in calibration.wards])
    d = PlantedDesign(
        key="rollout",
        title=(
            f"(ii) rollout to 12 wards in 3 waves of 4 (weeks {', '.join(map(str, starts))}), "
            "1 never-treated ward"
        ),
        cohorts=cohorts,
        demo_effects=effects,
        n_weeks=n_weeks,
        scenarios=("null", "constant", "demo"),
    )
    waves_txt = ", ".join(f"wave {k} {effect_of[k]:.2f}" for k in "ABC")
    return PlantedDesign(
        **{
            **d.__dict__,
            "note": f"demo effects {waves_txt} min; truth = average over treated ward-weeks "
            f"= {d.truth('demo'):.3f} min (also planted as the constant effect)",
        }
    )


def simulate_noise(calibration: Calibration, n_weeks: int, rng: np.random.Generator) -> np.ndarray:
    """Outcome without any programme: μ + α_i + λ_t + AR(1) ε_it (wards × weeks)."""
    N = len(calibration.wards)
    sigma, rho = calibration.noise_sd, calibration.rho
    shocks = rng.standard_normal((N, n_weeks))
    eps = np.empty((N, n_weeks))
    eps[:, 0] = sigma * shocks[:, 0]  # stationary start
    innovation = sigma * math.sqrt(1 - rho**2)
    for t in range(1, n_weeks):
        eps[:, t] = rho * eps[:, t - 1] + innovation * shocks[:, t]
    weeks = calibration.week_sd * rng.standard_normal(n_weeks)
    wards = np.asarray(calibration.ward_effects)
    return calibration.baseline + wards[:, None] + weeks[None, :] + eps


def panel_frame(
    Y0: np.ndarray, design: PlantedDesign, scenario: str, wards: Sequence[str]
) -> pd.DataFrame:
    """Long ward × week table (``ward``, ``week``, ``cohort``, ``y``) for one scenario."""
    N, T = Y0.shape
    c = np.where(np.isnan(design.cohorts), T, design.cohorts)
    treated = np.arange(T)[None, :] >= c[:, None]
    Y = Y0 + design.effects(scenario)[:, None] * treated
    return pd.DataFrame(
        {
            "ward": np.repeat(np.asarray(wards, dtype=object), T),
            "week": np.tile(np.arange(T), N),
            "cohort": np.repeat(design.cohorts, T),
            "y": Y.ravel(),
        }
    )
