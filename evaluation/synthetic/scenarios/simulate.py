"""The data-generating process of a generated district: the calendar, the programmes' shapes and
the tables (traffic, fires, minor electrical incidents, security), see the package docstring."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.data.schema import CAUSES, PREMISE_TYPES, SEVERITIES
from evaluation.synthetic.calendar import TET
from evaluation.synthetic.scenarios.scenario import Scenario

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
    adj = s.universe.adjacency_csv()
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


def _ward_table(s: Scenario) -> pd.DataFrame:
    return s.universe.frame()[["ward", "code", "urban_class", "population", "rental_ratio"]]


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
