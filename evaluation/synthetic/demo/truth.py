"""Summaries of the planted truth, written to ``data/demo/truth.yaml``.

Two kinds of numbers: the planted parameters (effect sizes, dates, shapes), and quantities
derived from them that an analyst checks an estimator against — the realised average effect
in a window, computed from the simulated outcomes with and without the programme (same noise),
and expected baselines and rates.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluation.synthetic.demo import plan
from evaluation.synthetic.demo.fires import P_ESCALATE, expected_per_fire
from evaluation.synthetic.demo.geography import district_wards as _wards
from evaluation.synthetic.demo.traffic import BASE_MINUTES, CLASS_FACTOR


def _d(ts) -> str:
    return pd.Timestamp(ts).date().isoformat()


def _r(x: float, nd: int = 4) -> float:
    return float(round(float(x), nd))


def realised_traffic_effect(truth: pd.DataFrame, wards, start, end) -> dict[str, float]:
    """Pooled realised effect on congestion minutes over observed junction-peaks in a window."""
    sel = truth[
        truth["ward"].isin(list(wards))
        & truth["date"].between(pd.Timestamp(start), pd.Timestamp(end))
    ]
    n = sel["n_obs"].sum()
    y, y0 = sel["congestion_sum"].sum(), sel["congestion0_sum"].sum()
    s, s0 = sel["speed_sum"].sum(), sel["speed0_sum"].sum()
    return {
        "att_minutes": _r((y - y0) / n),
        "att_pct": _r(100 * (y - y0) / y0, 2),
        "counterfactual_minutes": _r(y0 / n),
        "att_speed_kmh": _r((s - s0) / n),
        "att_speed_pct": _r(100 * (s - s0) / s0, 2),
        "junction_peaks": int(n),
    }


def _traffic_section(truth: pd.DataFrame) -> dict:
    w = _wards().set_index("name_vi")
    starts = plan.traffic_starts()
    wards_info = {}
    for ward, start in sorted(starts.items(), key=lambda kv: (kv[1], kv[0])):
        full = plan.TRAFFIC_EFFECT[w.loc[ward, "urban_class"]]
        wards_info[ward] = {
            "start": _d(start),
            "wave": plan.traffic_wave(ward),
            "urban_class": str(w.loc[ward, "urban_class"]),
            "full_effect_congestion": full,
            "full_effect_speed": _r(plan.SPEED_EFFECT_RATIO * full),
        }
    pilot_end3 = plan.PILOT_START + pd.DateOffset(months=3) - pd.Timedelta(days=1)
    wave_a = plan.WAVES["A"][0]
    controls = [x for x in starts if x != plan.PILOT_WARD]
    realised = {
        "pilot_first_3_months": {
            "window": [_d(plan.PILOT_START), _d(pilot_end3)],
            **realised_traffic_effect(truth, [plan.PILOT_WARD], plan.PILOT_START, pilot_end3),
            "spillover_in_other_wards_minutes": realised_traffic_effect(
                truth, controls, plan.PILOT_START, pilot_end3
            )["att_minutes"],
        },
        "pilot_until_wave_A": {
            "window": [_d(plan.PILOT_START), _d(wave_a - pd.Timedelta(days=1))],
            **realised_traffic_effect(
                truth, [plan.PILOT_WARD], plan.PILOT_START, wave_a - pd.Timedelta(days=1)
            ),
            "spillover_in_other_wards_minutes": realised_traffic_effect(
                truth, controls, plan.PILOT_START, wave_a - pd.Timedelta(days=1)
            )["att_minutes"],
        },
    }
    last_before_ai = plan.AI_SIGNAL_DATE - pd.Timedelta(days=1)
    for name, (start, wards) in plan.WAVES.items():
        realised[f"wave_{name}_until_AI_signals"] = {
            "window": [_d(start), _d(last_before_ai)],
            **realised_traffic_effect(truth, wards, start, last_before_ai),
        }
    # expected pre-period mean on an ordinary day: term-time weekday, dry, no holiday, 2023
    j_class = []
    for ward in w.index:
        n = (
            7
            if ward == plan.PILOT_WARD
            else {"dense": 5, "mid": 4, "peri-urban": 3}[w.loc[ward, "urban_class"]]
        )
        j_class += [CLASS_FACTOR[w.loc[ward, "urban_class"]]] * n
    mean_class = float(np.mean(j_class))
    noise = math.exp(0.3**2 / 2) * math.exp((0.22**2 + 0.12**2) / 2)
    baseline = {
        peak: _r(BASE_MINUTES[peak] * mean_class * noise * math.exp(0.03 * 0.5), 2)
        for peak in ("AM", "PM")
    }
    return {
        "outcomes": {
            "congestion_minutes": "minutes with queue speed < 10 km/h in the peak",
            "avg_speed_kmh": "mean speed in the peak",
        },
        "shape": {
            "ramp_days": plan.RAMP_DAYS,
            "decay_after_days": plan.DECAY_AFTER_DAYS,
            "decay_over_days": plan.DECAY_OVER_DAYS,
            "decay_to_share_of_full": _r(plan.DECAY_TO),
            "anticipation_days": plan.ANTICIPATION_DAYS,
            "anticipation_effect": plan.ANTICIPATION_EFFECT,
            "spillover_effect_on_untreated_neighbours": plan.SPILLOVER_EFFECT,
            "speed_effect_per_congestion_effect": plan.SPEED_EFFECT_RATIO,
        },
        "wards": wards_info,
        "realised_effects": realised,
        "expected_baseline_minutes_2023_ordinary_weekday": {
            **baseline,
            "definition": "mean over all hotspot junctions of congestion minutes on term-time "
            "weekdays in 2023 without rain or holiday (before any programme), "
            "from the model's parameters",
            "junction_effect_sd_log": 0.3,
            "n_junctions": len(j_class),
        },
        "road_accident_effect": plan.ACCIDENT_EFFECT,
    }


def _fire_section(truth_fire: pd.DataFrame) -> dict:
    starts = plan.fire_point_starts()
    tlg = plan.to_lien_gia_starts()
    wards_info = {
        ward: {
            "fire_point_start": _d(start),
            "to_lien_gia_start": _d(tlg[ward]),
            "dose_points_per_1000_households": dose,
            "fire_count_effect": _r(plan.FIRE_COUNT_EFFECT_PER_DOSE * dose),
        }
        for ward, (start, dose) in sorted(starts.items(), key=lambda kv: kv[1][0])
    }
    never = sorted(set(_wards()["name_vi"]) - set(starts))
    untreated, treated = expected_per_fire(False), expected_per_fire(True)
    pop = _wards()["pop_2024_est"].sum()
    tf = truth_fire[truth_fire["ward"].isin(set(_wards()["name_vi"]))].copy()  # the district's own
    year = tf["month"].dt.year
    rates = {}
    for label, years in (("2022-2023", (2022, 2023)), ("2024-2025", (2024, 2025))):
        sel = tf[year.isin(years)]
        rates[label] = {
            "expected_recorded_fires": _r(sel["fires_expected1"].sum(), 2),
            "per_100k_per_year": _r(sel["fires_expected1"].sum() / pop * 1e5 / len(years), 3),
            "without_programme_per_100k_per_year": _r(
                sel["fires_expected0"].sum() / pop * 1e5 / len(years), 3
            ),
        }
    return {
        "programme": "fire_point (public fire-fighting points; tổ liên gia formed ~45 days before)",
        "wards": wards_info,
        "never_treated": never,
        "fire_count_effect_per_dose": plan.FIRE_COUNT_EFFECT_PER_DOSE,
        "mean_dose": _r(np.mean([d for _, d in starts.values()])),
        "escalation_effect": plan.FIRE_ESCALATION_EFFECT,
        "loss_effect_within_severity": plan.FIRE_LOSS_EFFECT,
        "death_risk_effect_within_severity": plan.FIRE_DEATH_RISK_EFFECT,
        "per_fire_expected": {
            "untreated": {k: _r(v) for k, v in untreated.items()},
            "treated": {k: _r(v) for k, v in treated.items()},
            "ratio_treated_to_untreated": {k: _r(treated[k] / untreated[k]) for k in treated},
        },
        "base_escalation_share": P_ESCALATE,
        "ramp_days": 30,
        "recorded_rates": rates,
        "base_rate_per_100k_per_year_after_2024": plan.FIRE_RATE_PER_100K_YEAR,
        "placebo_outcome": "electrical_incidents (no programme effect by construction)",
    }


def summarise_truth(tables: dict, seed: int) -> dict:
    """The truth document for ``truth.yaml``."""
    return {
        "seed": seed,
        "windows": {
            "traffic": [_d(plan.TRAFFIC_START), _d(plan.TRAFFIC_END)],
            "fires": [_d(plan.FIRE_START), _d(plan.FIRE_END)],
            "antt_old_wards": [_d(plan.ANTT_FIRST_PERIOD), _d(plan.ANTT_LAST_OLD_PERIOD)],
            "antt_new_wards_from": _d(plan.ANTT_LAST_OLD_PERIOD + pd.DateOffset(months=1)),
        },
        "traffic_model": _traffic_section(tables["truth_traffic"]),
        "fire_programme": _fire_section(tables["truth_fire"]),
        "camera": {
            "starts": dict(plan.CAMERA_STARTS),
            "cameras_per_year_district": plan.CAMERAS_PER_YEAR,
            "solve_rate_base": plan.SOLVE_BASE,
            "solve_rate_gain_per_100_cameras_per_10k_residents": plan.SOLVE_EFFECT_PER_100_CAMERAS_PER_10K,
            "solve_rate_gain_cap": plan.SOLVE_EFFECT_CAP,
        },
        "shocks": {
            "ai_signal_system": {
                "date": _d(plan.AI_SIGNAL_DATE),
                "effect_congestion": plan.AI_SIGNAL_EFFECT,
                "scope": "every junction in every ward",
                "identifiable_by_did": False,
                "why": "all wards are treated by then; time effects absorb it, and a before/after "
                "comparison would wrongly credit the traffic model",
            },
            "fire_recording_break": {
                "date": _d(plan.RECORDING_BREAK),
                "factor": plan.RECORDING_BREAK_FACTOR,
                "scope": "recorded fire counts in every ward (definitional change)",
                "identifiable_by_did": False,
                "why": "common to all wards: DiD differences it out; naive before/after does not",
            },
            "rental_housing_checks": {
                "date": _d(plan.RENTAL_CHECK_DATE),
                "effect": plan.RENTAL_CHECK_EFFECT,
                "premises": list(plan.RENTAL_PREMISES),
                "scope": "every ward at once, the bordering wards too (a city-wide campaign)",
                "identifiable_by_did": False,
                "why": "no ward is left untreated, so no control group exists",
            },
            "boundary_change": {
                "date": "2025-07-01",
                "note": "from this date every table names the new wards (police periods from the "
                "one starting 2025-06-15, which ends after the change); junctions.csv keeps each "
                "junction's old ward",
            },
        },
        "outlier": {k: (v if not isinstance(v, float) else _r(v)) for k, v in plan.ARSON.items()}
        | {"caused_by_programme": False},
    }
