"""The district's calendar: Tết, public holidays, school terms, weekends and rain.

Tết (lunar new year) dates are fixed facts; the rest follow Vietnamese law (Labour Code 2019:
1/1, Tết, Hùng Kings' day on 10/3 lunar, 30/4, 1/5, 2/9 plus one adjacent day) and Hà Nội's
school year (summer break June–August). Rain is simulated from a monthly climatology of Hà Nội
(wet season May–September).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Tết (lunar new year's day), a fixed fact per year; a calendar covers these years only
TET = {
    2019: "2019-02-05",
    2020: "2020-01-25",
    2021: "2021-02-12",
    2022: "2022-02-01",
    2023: "2023-01-22",
    2024: "2024-02-10",
    2025: "2025-01-29",
    2026: "2026-02-17",
    2027: "2027-02-06",
    2028: "2028-01-26",
}
HUNG_KINGS = {2022: "2022-04-10", 2023: "2023-04-29", 2024: "2024-04-18", 2025: "2025-04-07"}
NATIONAL_DAY_EXTRA = {
    2022: "2022-09-01",
    2023: "2023-09-01",
    2024: "2024-09-03",
    2025: "2025-09-01",
}

# Probability of a rainy day and mean rain (mm) on a rainy day, January → December (Hà Nội)
RAIN_PROB = np.array([0.25, 0.35, 0.45, 0.40, 0.45, 0.55, 0.55, 0.60, 0.50, 0.35, 0.20, 0.15])
RAIN_MEAN_MM = np.array([4, 5, 6, 12, 20, 28, 30, 32, 26, 18, 10, 5], dtype=float)


def tet_phase(days: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Boolean arrays: in the Tết holiday (day −2 … +4) and in the two weeks before it."""
    holiday = np.zeros(len(days), dtype=bool)
    before = np.zeros(len(days), dtype=bool)
    for d in TET.values():
        t = pd.Timestamp(d)
        holiday |= (days >= t - pd.Timedelta(days=2)) & (days <= t + pd.Timedelta(days=4))
        before |= (days >= t - pd.Timedelta(days=16)) & (days < t - pd.Timedelta(days=2))
    return holiday, before


def public_holidays(days: pd.DatetimeIndex) -> np.ndarray:
    """Boolean: a public holiday other than Tết."""
    md = days.strftime("%m-%d")
    out = np.isin(md, ["01-01", "04-30", "05-01", "09-02"])
    extra = pd.to_datetime(list(HUNG_KINGS.values()) + list(NATIONAL_DAY_EXTRA.values()))
    out |= days.isin(extra)
    return out


def school_day(days: pd.DatetimeIndex, holiday: np.ndarray) -> np.ndarray:
    """Boolean: schools are in session (a weekday outside June–August and holidays)."""
    summer = np.isin(days.month, [6, 7, 8])
    return (days.day_of_week < 5) & ~summer & ~holiday


def simulate_rain(days: pd.DatetimeIndex, rng: np.random.Generator) -> np.ndarray:
    """Daily rainfall in mm (0 on dry days), one district-wide gauge."""
    m = days.month.to_numpy() - 1
    wet = rng.random(len(days)) < RAIN_PROB[m]
    amount = rng.exponential(RAIN_MEAN_MM[m])
    return np.round(np.where(wet, amount, 0.0), 1)


def month_season(months: np.ndarray) -> np.ndarray:
    """Fire seasonality multipliers by month (1–12): dry season, Tết, summer electrical load."""
    table = np.array([1.30, 1.35, 1.10, 0.90, 1.00, 1.10, 1.00, 0.85, 0.85, 0.90, 1.00, 1.20])
    return table[np.asarray(months) - 1]
