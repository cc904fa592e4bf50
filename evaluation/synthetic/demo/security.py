"""Security and order (ANTT) indicators per ward × police period (15th → 14th).

Counts are Poisson or binomial, scaled by population and rental housing (BRIEF §7.2). Planted:

* road accidents −15 % in wards running the traffic model (same ramp as congestion);
* the share of criminal cases solved rises by 5 pp per 100 cameras per 10,000 residents
  (capped at +15 pp) as each ward's camera count grows;
* residence checks × 2.5 for six months after the 2023-09-13 rental-housing campaign, × 1.5
  after that, in every ward.

Police report by the new wards from the period starting 2025-06-15 (the reorganisation took
effect on 1 July 2025): those periods are written to a separate table by new ward, with each
old ward's counts split over its new wards by population share.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.geography import district_wards, new_ward_pieces
from evaluation.synthetic.demo.traffic import _ramp_decay

COUNT_COLUMNS = [
    "criminal_cases",
    "theft_cases",
    "drug_cases",
    "solved_cases",
    "traffic_accidents",
    "traffic_deaths",
    "traffic_injuries",
    "disputes_received",
    "disputes_mediated_ok",
    "cameras_cum",
    "residence_checks",
    "residence_violations",
]


SUBCOUNTS = (
    ("criminal_cases", "theft_cases"),
    ("criminal_cases", "solved_cases"),
    ("traffic_accidents", "traffic_deaths"),
    ("disputes_received", "disputes_mediated_ok"),
    ("residence_checks", "residence_violations"),
)


def police_periods() -> pd.DatetimeIndex:
    months = pd.date_range(
        plan.ANTT_FIRST_PERIOD - pd.Timedelta(days=14),
        plan.ANTT_LAST_PERIOD - pd.Timedelta(days=14),
        freq="MS",
    )
    return months + pd.Timedelta(days=14)


def simulate_antt(
    rng: np.random.Generator, wards: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Return (antt by old ward for every period, antt by new ward for the periods after
    ``plan.ANTT_LAST_OLD_PERIOD``, truth_antt_period) for ``wards`` (default the district's
    13; the bordering wards have neither cameras nor the traffic model)."""
    periods = police_periods()
    ends = periods + pd.DateOffset(months=1) - pd.Timedelta(days=1)
    w = district_wards() if wards is None else wards
    pop_total = district_wards()["pop_2024_est"].sum()
    traffic_starts = plan.traffic_starts()
    campaign_k = (periods - plan.RENTAL_CHECK_DATE).days.to_numpy()
    campaign = np.where(campaign_k >= 0, np.where(campaign_k < 183, 2.5, 1.5), 1.0)
    frames, truths = [], []
    for _, ward in w.iterrows():
        name = ward["name_vi"]
        scale = ward["pop_2024_est"] / 30_000
        rental = (ward["n_rental_houses_est"] / ward["households_est"]) / 0.06
        n = len(periods)
        # cameras: Poisson installations from the ward's start, faster until the end of 2024
        start = pd.Timestamp(plan.CAMERA_STARTS.get(name, "2262-01-01"))
        rate = plan.CAMERAS_PER_YEAR / 12 * ward["pop_2024_est"] / pop_total
        active = periods >= start
        rate_p = np.where(
            active, np.where(periods < pd.Timestamp("2025-01-01"), rate, 0.4 * rate), 0.0
        )
        cameras = np.cumsum(rng.poisson(rate_p))
        per_10k = cameras / (ward["pop_2024_est"] / 10_000)
        solve_gain = np.minimum(
            plan.SOLVE_EFFECT_CAP, plan.SOLVE_EFFECT_PER_100_CAMERAS_PER_10K * per_10k / 100
        )
        crime = rng.poisson(2.5 * scale * (0.7 + 0.3 * rental), n)
        theft = rng.binomial(crime, 0.55)
        drugs = rng.poisson(0.25 * scale, n)
        solved = rng.binomial(crime, plan.SOLVE_BASE + solve_gain)
        never = pd.Timestamp("2262-01-01")
        k = (periods - traffic_starts.get(name, never)).days.to_numpy() + 14  # mid-period
        acc_mult = 1 + plan.ACCIDENT_EFFECT * _ramp_decay(k)
        acc_rate0 = 0.8 * scale * np.ones(n)
        accidents = rng.poisson(acc_rate0 * acc_mult)
        deaths = rng.binomial(accidents, 0.35)
        injuries = rng.poisson(0.9 * accidents)
        disputes = rng.poisson(3.0 * scale, n)
        mediated = rng.binomial(disputes, 0.85)
        checks = rng.poisson(60 * scale * (0.6 + 0.4 * rental) * campaign)
        violations = rng.binomial(checks, np.where(campaign_k >= 0, 0.08, 0.10))
        frames.append(
            pd.DataFrame(
                {
                    "ward": name,
                    "period_start": periods,
                    "period_end": ends,
                    "criminal_cases": crime,
                    "theft_cases": theft,
                    "drug_cases": drugs,
                    "solved_cases": solved,
                    "traffic_accidents": accidents,
                    "traffic_deaths": deaths,
                    "traffic_injuries": injuries,
                    "disputes_received": disputes,
                    "disputes_mediated_ok": mediated,
                    "cameras_cum": cameras,
                    "residence_checks": checks,
                    "residence_violations": violations,
                }
            )
        )
        truths.append(
            pd.DataFrame(
                {
                    "ward": name,
                    "period_start": periods,
                    "accidents_expected0": np.round(acc_rate0, 6),
                    "accidents_expected1": np.round(acc_rate0 * acc_mult, 6),
                    "solve_rate0": plan.SOLVE_BASE,
                    "solve_rate1": np.round(plan.SOLVE_BASE + solve_gain, 6),
                }
            )
        )
    antt = pd.concat(frames, ignore_index=True)
    for c in COUNT_COLUMNS:
        antt[c] = antt[c].astype("int64")
    truth = pd.concat(truths, ignore_index=True)

    new = _split_to_new_wards(antt[antt["period_start"] > plan.ANTT_LAST_OLD_PERIOD], rng)
    return antt.reset_index(drop=True), new, truth


def _split_to_new_wards(antt: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Police report by new ward: split each old ward's counts over its new wards.

    Each event is allocated at random by population share (a multinomial split), so counts stay
    whole numbers; camera totals are split in proportion and rounded.
    """
    cw = new_ward_pieces()
    rows = []
    for (ward, period), grp in antt.groupby(["ward", "period_start"], sort=True):
        pieces = cw[cw["old"] == ward]
        shares = pieces["share"].to_numpy()
        shares = shares / shares.sum()
        rec = grp.iloc[0]
        split: dict[str, np.ndarray] = {}
        for c in (
            "criminal_cases",
            "drug_cases",
            "traffic_accidents",
            "disputes_received",
            "residence_checks",
        ):
            split[c] = rng.multinomial(int(rec[c]), shares)
        # sub-counts are drawn from their parent's events so theft ≤ criminal etc. in every piece
        for parent, child in SUBCOUNTS:
            split[child] = rng.multivariate_hypergeometric(split[parent], int(rec[child]))
        split["traffic_injuries"] = rng.multinomial(int(rec["traffic_injuries"]), shares)
        split["cameras_cum"] = np.round(rec["cameras_cum"] * shares).astype(int)
        for j, new in enumerate(pieces["new"]):
            row = {"ward": new, "period_start": period, "period_end": rec["period_end"]}
            row.update({c: int(split[c][j]) for c in COUNT_COLUMNS})
            rows.append(row)
    out = pd.DataFrame(rows)
    out = (
        out.groupby(["ward", "period_start", "period_end"], sort=True)[COUNT_COLUMNS]
        .sum()
        .reset_index()
    )
    return out
