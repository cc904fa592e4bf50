"""Congestion at hotspot junctions: junction × day × peak, with the planted programme effects.

Model (log scale, junction j, day d, peak p ∈ {AM, PM}):

    minutes⁰ = min(L_p, base_jp · calendar_d · trend_d · AI_d · exp(a_jd + b_jdp))
    minutes  = min(L_p, base_jp · calendar_d · trend_d · AI_d · effect_wd · exp(a_jd + b_jdp))

with peak lengths L_AM = 150 and L_PM = 180 minutes, a junction random effect in base_jp
(AM 25, PM 35 minutes at a mid-density weekday, × 1.2 dense / 0.7 peri-urban, lognormal sd
0.3), the calendar (weekends × 0.5, summer school holidays × 0.8 on weekdays, rain × up to
1.25, two weeks before Tết × 1.4, Tết week × 0.2, other public holidays × 0.4), a common
traffic-growth trend of 3 % a year, AR(1) day-to-day noise a_jd (ρ = 0.5, sd 0.22) and peak
noise b_jdp (sd 0.12). ``effect_wd`` multiplies in the programme (direct effect with ramp and
decay), anticipation and spillover from :mod:`evaluation.synthetic.demo.plan`.

Speed: free-flow 25–30 km/h times exp(−0.8 · minutes⁰ / L_p) with noise, times
(1 − 0.5 × programme effect), so the speed effect is planted exactly (+15 % for −30 %).

Because minutes⁰ (the counterfactual) is simulated with the same noise, the realised effect in
every cell is known exactly; ``truth_traffic_daily`` keeps per ward × day the sums of observed
and counterfactual values over observed junction-peaks, from which any aggregation's true ATT
follows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.synthetic import calendar
from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.geography import district_wards, neighbours

PEAK_MINUTES = {"AM": 150.0, "PM": 180.0}
BASE_MINUTES = {"AM": 25.0, "PM": 35.0}
CLASS_FACTOR = {"dense": 1.2, "mid": 1.0, "peri-urban": 0.7}
JUNCTIONS_PER_CLASS = {"dense": 5, "mid": 4, "peri-urban": 3}

# Roads at each ward's hotspots [EST]: plausible from the brief (§1.4); not an official list.
ROADS = {
    "Cổ Nhuế 2": [
        "Phạm Văn Đồng",
        "Cổ Nhuế",
        "Trần Cung",
        "Hoàng Tăng Bí",
        "Tân Xuân",
        "Hoàng Quốc Việt kéo dài",
        "Văn Tiến Dũng",
        "Chợ Cổ Nhuế",
    ],
    "Cổ Nhuế 1": ["Phạm Văn Đồng", "Hoàng Quốc Việt", "Trần Cung", "Nguyễn Hoàng Tôn", "Cổ Nhuế"],
    "Xuân Đỉnh": ["Phạm Văn Đồng", "Xuân Đỉnh", "Tân Xuân", "Xuân La", "Đông Ngạc"],
    "Xuân Tảo": ["Xuân Tảo", "Võ Chí Công", "Xuân La", "Nguyễn Văn Huyên"],
    "Phú Diễn": ["Quốc lộ 32", "Phú Diễn", "Phạm Văn Đồng", "Đức Diễn", "Trần Hữu Dực"],
    "Phúc Diễn": ["Quốc lộ 32", "Phúc Diễn", "Văn Tiến Dũng", "Kiều Mai", "Đình Quán"],
    "Đức Thắng": ["Đức Thắng", "Phạm Văn Đồng", "Văn Tiến Dũng", "Đông Thắng", "Hoàng Công Chất"],
    "Đông Ngạc": ["Đông Ngạc", "Phạm Văn Đồng", "Đường Thượng Thụy", "Kỳ Vũ"],
    "Minh Khai": ["Quốc lộ 32", "Văn Tiến Dũng", "Nhổn", "Phú Minh"],
    "Thụy Phương": ["Thụy Phương", "Văn Tiến Dũng", "Tân Phong", "Đường 69"],
    "Tây Tựu": ["Tây Tựu", "Quốc lộ 32", "Phú Minh"],
    "Liên Mạc": ["Liên Mạc", "Đê Tả Hồng Hà", "Thượng Cát"],
    "Thượng Cát": ["Thượng Cát", "Đê Tả Hồng Hà", "Cầu Thăng Long"],
    # bordering wards of neighbouring districts (comparison wards, never treated)
    "Phú Thượng": ["An Dương Vương", "Phú Thượng", "Võ Chí Công"],
    "Xuân La": ["Xuân La", "Lạc Long Quân", "Võ Chí Công", "Phạm Văn Đồng"],
    "Nghĩa Đô": ["Hoàng Quốc Việt", "Nguyễn Văn Huyên", "Phạm Văn Đồng", "Hoàng Sâm"],
    "Mai Dịch": ["Hồ Tùng Mậu", "Phạm Văn Đồng", "Trần Bình", "Lê Đức Thọ"],
    "Xuân Phương": ["Xuân Phương", "Quốc lộ 32", "Trịnh Văn Bô"],
}


# Junction id prefixes; Phú Diễn and Phúc Diễn share initials, hence PCD
PREFIX = {
    "Thượng Cát": "TC",
    "Liên Mạc": "LM",
    "Đông Ngạc": "DN",
    "Đức Thắng": "DT",
    "Thụy Phương": "TP",
    "Tây Tựu": "TT",
    "Xuân Đỉnh": "XD",
    "Xuân Tảo": "XT",
    "Minh Khai": "MK",
    "Cổ Nhuế 1": "CN1",
    "Cổ Nhuế 2": "CN2",
    "Phú Diễn": "PD",
    "Phúc Diễn": "PCD",
    "Phú Thượng": "PTH",
    "Xuân La": "XL",
    "Nghĩa Đô": "ND",
    "Mai Dịch": "MD",
    "Xuân Phương": "XP",
}


def make_junctions(rng: np.random.Generator, wards: pd.DataFrame | None = None) -> pd.DataFrame:
    """Hotspot junctions: 7 in Cổ Nhuế 2 (as chosen by the pilot), 5/4/3 elsewhere by class."""
    rows = []
    for _, w in (district_wards() if wards is None else wards).iterrows():
        n = 7 if w["name_vi"] == plan.PILOT_WARD else JUNCTIONS_PER_CLASS[w["urban_class"]]
        roads = ROADS[w["name_vi"]]
        prefix = PREFIX[w["name_vi"]]
        for i in range(n):
            a = roads[i % len(roads)]
            b = roads[(i + 1 + i // len(roads)) % len(roads)]
            kind = "T" if rng.random() < 0.6 else "X"
            rows.append(
                {
                    "junction_id": f"{prefix}-{i + 1:02d}",
                    "ward": w["name_vi"],
                    "ward_code": w["ward_code"],
                    "name": f"{a} × {b}",
                    "type": kind,
                    "signalised": bool(i == 0 or (w["urban_class"] == "dense" and i == 1)),
                    "hotspot": True,
                    "sensor": "",
                }
            )
    j = pd.DataFrame(rows)
    j["sensor"] = np.where(j["signalised"], "camera", "manual count")
    return j


def _ramp_decay(k: np.ndarray) -> np.ndarray:
    """Share of the full effect k days after launch (0 before)."""
    ramp = np.clip((k + 1) / plan.RAMP_DAYS, 0.0, 1.0)
    fade = np.clip((k - plan.DECAY_AFTER_DAYS) / plan.DECAY_OVER_DAYS, 0.0, 1.0)
    decay = 1.0 - (1.0 - plan.DECAY_TO) * fade
    return np.where(k >= 0, ramp * decay, 0.0)


def programme_effects(days: pd.DatetimeIndex) -> pd.DataFrame:
    """Per ward × day: direct effect, anticipation and spillover on congestion (fractions)."""
    starts = plan.traffic_starts()
    w = district_wards().set_index("name_vi")
    frames = []
    for ward, start in starts.items():
        k = (days - start).days.to_numpy()
        full = plan.TRAFFIC_EFFECT[w.loc[ward, "urban_class"]]
        direct = full * _ramp_decay(k) + 0.0  # + 0.0 turns -0.0 into 0.0
        antic = np.where((k < 0) & (k >= -plan.ANTICIPATION_DAYS), plan.ANTICIPATION_EFFECT, 0.0)
        treated_nb = [n for n in neighbours(ward) if n in starts]
        nb_start = min((starts[n] for n in treated_nb), default=pd.Timestamp.max)
        spill = np.where((days >= nb_start) & (k < 0), plan.SPILLOVER_EFFECT, 0.0)
        frames.append(
            pd.DataFrame(
                {
                    "ward": ward,
                    "date": days,
                    "direct": direct,
                    "anticipation": antic,
                    "spillover": spill,
                    "full_effect": full,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def simulate_traffic(
    rng: np.random.Generator,
    wards: pd.DataFrame | None = None,
    rain: np.ndarray | None = None,
    weather: dict | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (junctions, traffic_peak, truth_traffic_daily) for ``wards`` (default the
    district's 13). ``rain`` gives wards simulated apart (the comparison wards) the district's
    weather, so every ward lives through the same days; the rain drawn here is put in
    ``weather["rain"]`` when ``weather`` is given."""
    wards = district_wards() if wards is None else wards
    junctions = make_junctions(rng, wards)
    days = pd.date_range(plan.TRAFFIC_START, plan.TRAFFIC_END, freq="D")
    nd, nj = len(days), len(junctions)
    wards = wards.set_index("name_vi")
    cls = junctions["ward"].map(wards["urban_class"]).to_numpy()

    # calendar
    tet, pre_tet = calendar.tet_phase(days)
    other_hol = calendar.public_holidays(days)
    holiday = tet | other_hol
    weekend = days.day_of_week.to_numpy() >= 5
    school = calendar.school_day(days, holiday)
    summer_weekday = np.isin(days.month, [6, 7, 8]) & ~weekend
    rain = calendar.simulate_rain(days, rng) if rain is None else rain
    cal = np.ones(nd)
    cal *= np.where(weekend, 0.5, 1.0)
    cal *= np.where(summer_weekday & ~holiday, 0.8, 1.0)
    cal *= 1.0 + 0.25 * np.clip(rain / 20.0, 0.0, 1.0)
    cal *= np.where(pre_tet, 1.4, 1.0)
    cal *= np.where(tet, 0.2, 1.0)
    cal *= np.where(other_hol & ~tet, 0.4, 1.0)
    years = (days - days[0]).days.to_numpy() / 365.25
    cal *= np.exp(0.03 * years)
    ai = np.where(days >= plan.AI_SIGNAL_DATE, 1.0 + plan.AI_SIGNAL_EFFECT, 1.0)
    cal *= ai

    # programme multipliers per junction × day
    eff = programme_effects(days)
    eff["mult"] = (1 + eff["direct"]) * (1 + eff["anticipation"]) * (1 + eff["spillover"])
    eff["speed_mult"] = 1 + plan.SPEED_EFFECT_RATIO * (eff["mult"] - 1)
    others = sorted(set(junctions["ward"]) - set(eff["ward"]))
    if others:  # never treated, no spill-over planted: the comparison wards' truth is zero
        zero = pd.DataFrame(
            {"ward": np.repeat(others, nd), "date": np.tile(days, len(others))}
        ).assign(direct=0.0, anticipation=0.0, spillover=0.0, full_effect=0.0, mult=1.0,
                 speed_mult=1.0)  # fmt: skip
        eff = pd.concat([eff, zero], ignore_index=True)
    eff = eff[eff["ward"].isin(set(junctions["ward"]))]
    mult_wd = eff.pivot(index="ward", columns="date", values="mult")
    speed_wd = eff.pivot(index="ward", columns="date", values="speed_mult")
    mult = mult_wd.loc[junctions["ward"]].to_numpy()  # (nj, nd)
    speed_mult = speed_wd.loc[junctions["ward"]].to_numpy()

    # noise: AR(1) across days per junction, plus peak-specific noise
    rho, sd = 0.5, 0.22
    a = np.empty((nj, nd))
    a[:, 0] = rng.normal(0, sd, nj)
    innov = rng.normal(0, sd * np.sqrt(1 - rho**2), (nj, nd))
    for t in range(1, nd):
        a[:, t] = rho * a[:, t - 1] + innov[:, t]
    free_flow = rng.uniform(25.0, 30.0, nj)
    junction_re = rng.normal(0, 0.3, nj)
    volunteers_rate = np.where(junctions["ward"].to_numpy() == plan.PILOT_WARD, 3.0, 2.0)

    # sensor gaps: scattered days plus one or two outages per junction-year
    p_missing = np.where(junctions["signalised"].to_numpy(), 0.01, 0.05)
    missing = rng.random((nj, nd)) < p_missing[:, None]
    for j in range(nj):
        for _ in range(rng.poisson(1.0 * nd / 365.25)):
            s = rng.integers(0, nd)
            missing[j, s : s + rng.integers(3, 15)] = True

    starts = plan.traffic_starts()
    never = pd.Timestamp.max.normalize()
    k_launch = np.stack([(days - starts.get(w, never)).days.to_numpy() for w in junctions["ward"]])
    frames = []
    truth_parts = []
    for peak in ("AM", "PM"):
        L = PEAK_MINUTES[peak]
        base = BASE_MINUTES[peak] * np.array([CLASS_FACTOR[c] for c in cls]) * np.exp(junction_re)
        b = rng.normal(0, 0.12, (nj, nd))
        mu0 = base[:, None] * cal[None, :] * np.exp(a + b)
        y0 = np.minimum(L, mu0)
        y = np.minimum(L, mu0 * mult)
        eta = rng.normal(0, 0.04, (nj, nd))
        s0 = free_flow[:, None] * np.exp(-0.8 * y0 / L + eta)
        s = s0 * speed_mult
        y0 = np.round(y0, 1)
        y = np.round(y, 1)
        s0 = np.round(s0, 1)
        s = np.round(s, 1)
        vol_rate = (
            np.where(k_launch >= 0, volunteers_rate[:, None], 0.0)
            * np.where(weekend, 0.5, 1.0)[None, :]
        )
        volunteers = rng.poisson(vol_rate)
        obs = ~missing
        frames.append(
            pd.DataFrame(
                {
                    "junction_id": np.repeat(junctions["junction_id"].to_numpy(), nd),
                    "ward": np.repeat(junctions["ward"].to_numpy(), nd),
                    "date": np.tile(days.to_numpy(), nj),
                    "peak": peak,
                    "congestion_minutes": np.where(obs, y, np.nan).ravel(),
                    "avg_speed_kmh": np.where(obs, s, np.nan).ravel(),
                    "rain_mm": np.tile(rain, nj),
                    "is_weekend": np.tile(weekend, nj),
                    "is_holiday": np.tile(holiday, nj),
                    "is_school_day": np.tile(school, nj),
                    "volunteers_on_duty": volunteers.ravel().astype("int64"),
                }
            )
        )
        truth_parts.append(
            pd.DataFrame(
                {
                    "ward": np.repeat(junctions["ward"].to_numpy(), nd),
                    "date": np.tile(days.to_numpy(), nj),
                    "peak": peak,
                    "observed": obs.ravel(),
                    "y": np.where(obs, y, 0.0).ravel(),
                    "y0": np.where(obs, y0, 0.0).ravel(),
                    "speed": np.where(obs, s, 0.0).ravel(),
                    "speed0": np.where(obs, s0, 0.0).ravel(),
                }
            )
        )
    traffic = pd.concat(frames, ignore_index=True)
    traffic = traffic.sort_values(["date", "junction_id", "peak"], kind="stable").reset_index(
        drop=True
    )

    t = pd.concat(truth_parts, ignore_index=True)
    truth = (
        t.groupby(["ward", "date"], sort=True)
        .agg(
            n_obs=("observed", "sum"),
            congestion_sum=("y", "sum"),
            congestion0_sum=("y0", "sum"),
            speed_sum=("speed", "sum"),
            speed0_sum=("speed0", "sum"),
        )
        .reset_index()
    )
    truth["n_obs"] = truth["n_obs"].astype("int64")
    truth = truth.merge(
        eff[["ward", "date", "direct", "anticipation", "spillover"]],
        on=["ward", "date"],
        how="left",
    )
    for c in ("congestion_sum", "congestion0_sum", "speed_sum", "speed0_sum"):
        truth[c] = truth[c].round(1)
    for c in ("direct", "anticipation", "spillover"):
        truth[c] = truth[c].round(6)
    if weather is not None:
        weather["rain"] = rain
    return junctions, traffic, truth
