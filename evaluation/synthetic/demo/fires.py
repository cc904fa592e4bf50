"""Fire incidents as records, with population exposure, seasonality and the planted effects.

Expected recorded fires in ward w, day d, premise type k:

    λ = 14 / 100,000 / 365 · pop_w · share_wk · season_m · Tết_dk · break_d · rental_dk · programme_wd

* ``share_wk``: premise mix; nhà trọ and chung cư mini scale with the ward's rental housing;
* ``season_m``: BRIEF §7.2 multipliers (dry season and Tết high, late summer low); Tết week
  × 1.5 for residential premises;
* ``break_d``: 1 / 1.8 before 2024-01 (the recording change: fewer fires counted before);
* ``rental_dk``: × 0.85 for rental premises after the 2023-09-13 campaign (every ward);
* ``programme_wd``: 1 − 0.10 × dose from the ward's public fire point opening (30-day ramp).

Each fire then gets a severity (15 % medium or worse, × 0.65 where the programme runs), deaths
and injuries by severity (death risk × 0.95 with the programme), a lognormal loss by severity,
an hour, a cause and the first response (local forces first: 20 % → 70 % with the programme). The 2024-12-18 arson in
Cổ Nhuế 2 is appended as a fixed record. ``truth_fire_monthly`` holds, per ward × month, the
expected counts, escalations, deaths and losses with and without the programme.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.data.schema import CAUSES, PREMISE_TYPES
from evaluation.synthetic import calendar
from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.geography import district_wards

BASE_MIX = {
    "nhà dân": 0.38,
    "nhà trọ": 0.06,
    "chung cư mini": 0.03,
    "nhà ở kết hợp KD": 0.10,
    "cơ sở SXKD": 0.12,
    "phương tiện": 0.10,
    "karaoke/bar/café": 0.03,
    "chợ/TTTM": 0.02,
    "trường học": 0.01,
    "khác": 0.15,
}
RESIDENTIAL = ("nhà dân", "nhà trọ", "chung cư mini", "nhà ở kết hợp KD")
CAUSE_P = {
    "điện": 0.68,
    "sơ suất nguồn lửa/nhiệt": 0.18,
    "vi phạm quy định": 0.02,
    "phóng hỏa": 0.01,
    "khác": 0.06,
    "chưa rõ": 0.05,
}
P_ESCALATE = 0.15
SEVERE_GIVEN_ESCALATED = {"trung bình": 0.93, "lớn": 0.05, "nghiêm trọng": 0.02}
P_DEATH = {"nhỏ": 0.004, "trung bình": 0.06, "lớn": 0.25, "nghiêm trọng": 0.6}
EXTRA_DEATHS = {"nhỏ": 0.3, "trung bình": 0.4, "lớn": 0.8, "nghiêm trọng": 1.5}
P_INJURY = {"nhỏ": 0.01, "trung bình": 0.10, "lớn": 0.4, "nghiêm trọng": 0.7}
LOSS_MEDIAN = {"nhỏ": 2.0, "trung bình": 20.0, "lớn": 250.0, "nghiêm trọng": 600.0}
LOSS_SIGMA = 0.9
RAMP_DAYS = 30

assert set(BASE_MIX) == set(PREMISE_TYPES) and set(CAUSE_P) == set(CAUSES)


def severity_probs(treated: bool) -> dict[str, float]:
    esc = P_ESCALATE * ((1 + plan.FIRE_ESCALATION_EFFECT) if treated else 1.0)
    out = {"nhỏ": 1 - esc}
    out.update({k: esc * v for k, v in SEVERE_GIVEN_ESCALATED.items()})
    return out


def expected_per_fire(treated: bool) -> dict[str, float]:
    """Expected escalation, deaths, injuries and loss (M VND) per recorded fire."""
    sp = severity_probs(treated)
    risk = (1 + plan.FIRE_DEATH_RISK_EFFECT) if treated else 1.0
    loss_mult = (1 + plan.FIRE_LOSS_EFFECT) if treated else 1.0
    return {
        "escalated": 1 - sp["nhỏ"],
        "deaths": sum(sp[s] * min(1.0, P_DEATH[s] * risk) * (1 + EXTRA_DEATHS[s]) for s in sp),
        "loss_mvnd": sum(
            sp[s] * LOSS_MEDIAN[s] * np.exp(LOSS_SIGMA**2 / 2) * loss_mult for s in sp
        ),
    }


def _ward_mix(w: pd.DataFrame) -> pd.DataFrame:
    ratio = w["n_rental_houses_est"] / w["households_est"]
    rows = []
    for (_, ward), r in zip(w.iterrows(), ratio, strict=True):
        mix = dict(BASE_MIX)
        for k in plan.RENTAL_PREMISES:
            mix[k] = BASE_MIX[k] * r / 0.06
        total = sum(mix.values())
        rows.append({"ward": ward["name_vi"], **{k: v / total for k, v in mix.items()}})
    return pd.DataFrame(rows).set_index("ward")


def programme_share(days: pd.DatetimeIndex, ward: str) -> np.ndarray:
    """Share (0–1) of the fire programme's full effect in force on each day."""
    starts = plan.fire_point_starts()
    if ward not in starts:
        return np.zeros(len(days))
    k = (days - starts[ward][0]).days.to_numpy()
    return np.where(k >= 0, np.clip((k + 1) / RAMP_DAYS, 0, 1), 0.0)


def expected_rates(
    days: pd.DatetimeIndex, wards: pd.DataFrame | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """λ with and without the fire programme: arrays (ward, day, premise type), for ``wards``
    (default the district's 13)."""
    w = district_wards() if wards is None else wards
    mix = _ward_mix(w)
    tet, _ = calendar.tet_phase(days)
    season = calendar.month_season(days.month.to_numpy())
    recording = np.where(days < plan.RECORDING_BREAK, 1 / plan.RECORDING_BREAK_FACTOR, 1.0)
    after_rental = days >= plan.RENTAL_CHECK_DATE
    types = list(PREMISE_TYPES)
    starts = plan.fire_point_starts()
    lam0 = np.empty((len(w), len(days), len(types)))
    lam1 = np.empty_like(lam0)
    for i, (_, ward) in enumerate(w.iterrows()):
        name = ward["name_vi"]
        daily = plan.FIRE_RATE_PER_100K_YEAR / 1e5 / 365.25 * ward["pop_2024_est"]
        base = daily * season * recording
        dose = starts[name][1] if name in starts else 0.0
        prog = 1 + plan.FIRE_COUNT_EFFECT_PER_DOSE * dose * programme_share(days, name)
        for k, t in enumerate(types):
            lam = base * mix.loc[name, t]
            if t in RESIDENTIAL:
                lam = lam * np.where(tet, 1.5, 1.0)
            if t in plan.RENTAL_PREMISES:
                lam = lam * np.where(after_rental, 1 + plan.RENTAL_CHECK_EFFECT, 1.0)
            lam0[i, :, k] = lam
            lam1[i, :, k] = lam * prog
    return lam0, lam1, types


def simulate_fires(
    rng: np.random.Generator, wards: pd.DataFrame | None = None, id_prefix: str = "F"
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return (fire_incidents, truth_fire_monthly) for ``wards`` (default the district's 13;
    the bordering wards' records come from their own police, numbered ``id_prefix``-…)."""
    days = pd.date_range(plan.FIRE_START, plan.FIRE_END, freq="D")
    w = district_wards() if wards is None else wards
    lam0, lam1, types = expected_rates(days, w)
    counts = rng.poisson(lam1)
    wi, di, ki = np.nonzero(counts)
    reps = counts[wi, di, ki]
    wi, di, ki = np.repeat(wi, reps), np.repeat(di, reps), np.repeat(ki, reps)
    n = len(wi)
    ward_names = w["name_vi"].to_numpy()[wi]
    dates = days[di]
    share = np.array(
        [programme_share(days[[d]], wn)[0] for d, wn in zip(di, ward_names, strict=True)]
    )
    treated = rng.random(n) < share  # the programme acts on the share of the ramp in force

    sev_t = severity_probs(True)
    sev_c = severity_probs(False)
    sev_names = list(sev_c)
    u = rng.random(n)
    cum_t = np.cumsum([sev_t[s] for s in sev_names])
    cum_c = np.cumsum([sev_c[s] for s in sev_names])
    sev_idx = np.where(treated, np.searchsorted(cum_t, u), np.searchsorted(cum_c, u))
    severity = np.array(sev_names)[np.minimum(sev_idx, len(sev_names) - 1)]
    risk = np.where(treated, 1 + plan.FIRE_DEATH_RISK_EFFECT, 1.0)
    p_death = np.array([P_DEATH[s] for s in severity]) * risk
    deaths = np.where(
        rng.random(n) < p_death, 1 + rng.poisson([EXTRA_DEATHS[s] for s in severity]), 0
    )
    injuries = np.where(rng.random(n) < [P_INJURY[s] for s in severity], 1 + rng.poisson(0.5, n), 0)
    loss = np.array([LOSS_MEDIAN[s] for s in severity]) * np.exp(rng.normal(0, LOSS_SIGMA, n))
    loss *= np.where(treated, 1 + plan.FIRE_LOSS_EFFECT, 1.0)
    night = rng.random(n) < 0.35
    hour = np.where(night, rng.choice([22, 23, 0, 1, 2, 3, 4], n), rng.integers(6, 22, n))
    cause = rng.choice(list(CAUSE_P), n, p=list(CAUSE_P.values()))
    local = rng.random(n) < np.where(treated, 0.7, 0.2)
    response = np.where(local, 2 + rng.exponential(2.0, n), 8 + rng.exponential(6.0, n))

    fires = pd.DataFrame(
        {
            "date": dates,
            "hour": hour.astype("int64"),
            "ward": ward_names,
            "premise_type": np.array(types)[ki],
            "cause": cause,
            "severity": severity,
            "deaths": deaths.astype("int64"),
            "injuries": injuries.astype("int64"),
            "loss_mvnd": np.round(loss, 1),
            "response_min": np.round(response, 1),
            "local_first_response": local,
        }
    )
    arson = dict(plan.ARSON)
    arson_row = {k: arson[k] for k in fires.columns if k in arson}
    arson_row.update(
        {
            "date": pd.Timestamp(arson["date"]),
            "response_min": 9.0,
            "local_first_response": False,
            "_fixed_id": arson["incident_id"],
        }
    )
    fixed = [arson_row] if arson["ward"] in set(w["name_vi"]) else []
    fires = pd.concat([fires.assign(_fixed_id=""), pd.DataFrame(fixed)], ignore_index=True)
    fires["escalated"] = fires["severity"] != "nhỏ"
    fires = fires.sort_values(["date", "hour", "ward"], kind="stable").reset_index(drop=True)
    year = fires["date"].dt.year.astype(str)
    seq = fires.groupby(year).cumcount() + 1
    generated = id_prefix + "-" + year + "-" + seq.map("{:04d}".format)
    fires.insert(0, "incident_id", generated.where(fires["_fixed_id"] == "", fires["_fixed_id"]))
    fires = fires.drop(columns="_fixed_id")

    # truth per ward × month: expected values with and without the programme
    month = days.to_period("M").to_timestamp()
    per_c = expected_per_fire(False)
    per_t = expected_per_fire(True)
    rows = []
    for i, name in enumerate(w["name_vi"]):
        l0 = lam0[i].sum(axis=1)
        l1 = lam1[i].sum(axis=1)
        s = programme_share(days, name)
        frame = pd.DataFrame({"month": month, "l0": l0, "l1": l1, "s": s})
        for key in ("escalated", "deaths", "loss_mvnd"):
            frame[f"{key}0"] = l0 * per_c[key]
            frame[f"{key}1"] = l1 * (s * per_t[key] + (1 - s) * per_c[key])
        g = (
            frame.groupby("month")
            .agg(
                fires_expected0=("l0", "sum"),
                fires_expected1=("l1", "sum"),
                escalated_expected0=("escalated0", "sum"),
                escalated_expected1=("escalated1", "sum"),
                deaths_expected0=("deaths0", "sum"),
                deaths_expected1=("deaths1", "sum"),
                loss_expected0=("loss_mvnd0", "sum"),
                loss_expected1=("loss_mvnd1", "sum"),
                programme_share=("s", "mean"),
            )
            .reset_index()
        )
        g.insert(0, "ward", name)
        rows.append(g)
    truth = pd.concat(rows, ignore_index=True)
    num = truth.columns.difference(["ward", "month"])
    truth[num] = truth[num].round(6)
    return fires, truth


def simulate_electrical(
    rng: np.random.Generator, wards: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Minor electrical incidents per ward × month: seasonal, no programme effect (a placebo
    outcome for the fire programme, whose mechanism is first response, not ignition)."""
    months = pd.date_range(plan.FIRE_START, plan.FIRE_END, freq="MS")
    season = calendar.month_season(months.month.to_numpy())
    rows = []
    for _, w in (district_wards() if wards is None else wards).iterrows():
        lam = 1.1 * w["pop_2024_est"] / 30_000 * season
        rows.append(
            pd.DataFrame(
                {
                    "ward": w["name_vi"],
                    "month": months,
                    "electrical_incidents": rng.poisson(lam).astype("int64"),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
