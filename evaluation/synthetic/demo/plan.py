"""What the demo district does and what its programmes truly do (the planted truth).

Everything the simulator plants is declared here, once: programme dates per ward, effect
sizes, their shape over time, spillovers and shocks. The registry ``params/pilots.yaml`` and
the truth file ``data/demo/truth.yaml`` are both written from these constants, so they cannot
disagree with the simulated data.

Choices (BRIEF.md §7 was a proposal; these are ours, with the reason for each):

* Traffic pilot in Cổ Nhuế 2 from 2024-02-15 (the real launch date), −30 % congestion minutes
  and +15 % speed at its hotspots, ramping in linearly over 4 weeks. The pilot starts five days
  after Tết 2024, so a naive before/after comparison is confounded by the Tết slump — on
  purpose: DiD must remove it.
* Rollout to the other 12 wards in three waves (2024-07-01, 2024-09-01, 2024-11-01), effects
  by urban class (dense −30 %, mid −20 %, peri-urban −10 %) — heterogeneous across cohorts and
  growing then decaying over time, exactly the case where TWFE's forbidden comparisons bias it.
* Decay: nine months after launch the effect fades linearly over three months to two thirds of
  its size (no "duy trì" maintenance), so event-study paths bend.
* Anticipation: −3 % in the 14 days before each launch (volunteer recruitment starts early).
* Spillover: an untreated ward adjacent to a treated one gets −5 % while it waits (diverted,
  calmer flows) — a SUTVA violation that biases DiD with neighbouring controls towards zero.
* AI signal system from 2025-12-13: −10 % congestion everywhere, when every ward is already
  treated: no control group can separate it from the programme; a naive before/after would
  credit the programme.
* Fire programme (tổ liên gia + public fire points): public points open ward by ward between
  2023-03 and 2024-06 (tổ liên gia formed one to two months earlier); two peri-urban wards
  (Liên Mạc, Thượng Cát) have not opened one by the end of 2025 and are the never-treated
  group. Mechanism is fast first response: fires −10 % × dose and escalation (medium or worse)
  −35 %, which lowers losses per fire by about a quarter and deaths per fire by about a third
  (a small −5 % death risk within severity adds to it); dose is public points per 1,000
  households (0.6–1.6, mean 1.05).
* Rental-housing checks after the Khương Hạ fire (campaign from 2023-09-13) in every ward at
  once: −15 % fires in nhà trọ / chung cư mini. No control group exists, so no DiD can
  estimate it; it is a common shock that time effects absorb.
* Recording break: from 2024-01 fire statistics count 1.8 × as many fires (a definitional
  change, the same in all wards). DiD differences it out; a naive before/after does not.
* Camera campaign: cameras installed ward by ward from 2022-05; the share of criminal cases
  solved rises by 5 percentage points per 100 cameras per 10,000 residents, capped at +15 pp.
* The 2024-12-18 arson at a café on Phạm Văn Đồng, Cổ Nhuế 2 (11 dead) is planted as a single
  outlier that no programme caused.
"""

from __future__ import annotations

import pandas as pd

SEED = 20240215

TRAFFIC_START = pd.Timestamp("2023-01-01")
TRAFFIC_END = pd.Timestamp("2025-12-31")
FIRE_START = pd.Timestamp("2022-01-01")
FIRE_END = pd.Timestamp("2025-12-31")
ANTT_FIRST_PERIOD = pd.Timestamp("2021-12-15")
ANTT_LAST_OLD_PERIOD = pd.Timestamp("2025-05-15")  # 15 May – 14 Jun 2025; then new wards
ANTT_LAST_PERIOD = pd.Timestamp("2025-11-15")

PILOT_WARD = "Cổ Nhuế 2"
PILOT_START = pd.Timestamp("2024-02-15")
PILOT_INTERIM = pd.Timestamp("2024-05-15")
FINAL_REVIEW = pd.Timestamp("2024-12-20")

WAVES = {
    "A": (pd.Timestamp("2024-07-01"), ["Cổ Nhuế 1", "Xuân Đỉnh", "Phú Diễn", "Minh Khai"]),
    "B": (pd.Timestamp("2024-09-01"), ["Xuân Tảo", "Phúc Diễn", "Đức Thắng", "Đông Ngạc"]),
    "C": (pd.Timestamp("2024-11-01"), ["Thụy Phương", "Tây Tựu", "Liên Mạc", "Thượng Cát"]),
}

# Effect on congestion minutes by urban class (multiplicative, at full strength)
TRAFFIC_EFFECT = {"dense": -0.30, "mid": -0.20, "peri-urban": -0.10}
SPEED_EFFECT_RATIO = -0.5  # speed effect = −0.5 × congestion effect (−30 % → +15 %)
RAMP_DAYS = 28
DECAY_AFTER_DAYS = 273  # ~9 months
DECAY_OVER_DAYS = 91  # fades over ~3 months …
DECAY_TO = 2 / 3  # … to two thirds of full strength
ANTICIPATION_DAYS = 14
ANTICIPATION_EFFECT = -0.03
SPILLOVER_EFFECT = -0.05
AI_SIGNAL_DATE = pd.Timestamp("2025-12-13")
AI_SIGNAL_EFFECT = -0.10
ACCIDENT_EFFECT = -0.15  # road accidents in wards running the traffic model

# Fire programme: public fire-fighting points (ward, opening month, dose = points per 1,000 hh)
FIRE_POINTS = {
    "Cổ Nhuế 2": ("2023-03-15", 1.6),
    "Xuân Đỉnh": ("2023-04-10", 1.4),
    "Cổ Nhuế 1": ("2023-06-05", 1.3),
    "Phú Diễn": ("2023-06-20", 1.1),
    "Đức Thắng": ("2023-08-01", 1.2),
    "Phúc Diễn": ("2023-10-02", 1.0),
    "Minh Khai": ("2023-11-15", 0.9),
    "Đông Ngạc": ("2024-01-08", 0.8),
    "Xuân Tảo": ("2024-02-26", 0.9),
    "Thụy Phương": ("2024-04-15", 0.6),
    "Tây Tựu": ("2024-06-03", 0.7),
}
TO_LIEN_GIA_LEAD_DAYS = {"default": 45}  # tổ liên gia formed ~1.5 months before the point opens
FIRE_COUNT_EFFECT_PER_DOSE = -0.10
FIRE_ESCALATION_EFFECT = -0.35
FIRE_LOSS_EFFECT = 0.0  # within severity: losses fall only through less escalation
FIRE_DEATH_RISK_EFFECT = -0.05  # within severity (occupants alerted earlier)
FIRE_RATE_PER_100K_YEAR = 14.0  # recorded, after the 2024 recording change (Hanoi H1 2024)
RECORDING_BREAK = pd.Timestamp("2024-01-01")
RECORDING_BREAK_FACTOR = 1.8
RENTAL_CHECK_DATE = pd.Timestamp("2023-09-13")
RENTAL_CHECK_EFFECT = -0.15  # on nhà trọ / chung cư mini fires
RENTAL_PREMISES = ("nhà trọ", "chung cư mini")
ARSON = {
    "incident_id": "F-2024-12-18-PVD258",
    "date": "2024-12-18",
    "hour": 23,
    "ward": "Cổ Nhuế 2",
    "premise_type": "karaoke/bar/café",
    "cause": "phóng hỏa",
    "severity": "nghiêm trọng",
    "deaths": 11,
    "injuries": 2,
    "loss_mvnd": 1500.0,
}

# Camera campaign: first cameras per ward (month) and the per-capita effect on solve rates
CAMERA_STARTS = {
    "Xuân Đỉnh": "2022-05-15",
    "Cổ Nhuế 2": "2022-06-15",
    "Cổ Nhuế 1": "2022-07-15",
    "Phú Diễn": "2022-08-15",
    "Minh Khai": "2022-09-15",
    "Đức Thắng": "2022-10-15",
    "Phúc Diễn": "2022-12-15",
    "Đông Ngạc": "2023-02-15",
    "Xuân Tảo": "2023-03-15",
    "Thụy Phương": "2023-05-15",
    "Tây Tựu": "2023-07-15",
    "Liên Mạc": "2023-09-15",
    "Thượng Cát": "2023-11-15",
}
CAMERAS_PER_YEAR = 1000
SOLVE_BASE = 0.72
SOLVE_EFFECT_PER_100_CAMERAS_PER_10K = 0.05
SOLVE_EFFECT_CAP = 0.15

#: the demo's targets are assumptions, and say so where they are shown
DEMO_TARGET_SOURCE = (
    "[EST] giả định của bộ dữ liệu mẫu, không phải mục tiêu chính thức — thay bằng mục tiêu "
    "trong kế hoạch của quận / a demo assumption, not an official target"
)

PROGRAMMES = {
    "traffic_model": {
        "short_vi": "Giao thông",
        "short_en": "Traffic",
        "name_vi": "Mô hình “Giao thông Bắc Từ Liêm an toàn và thông suốt”",
        "name_en": "Safe and smooth traffic model",
        "domain": "traffic",
        "outcomes": ["congestion_minutes", "avg_speed_kmh", "traffic_accidents"],
        # volunteers are recruited and junctions re-marked about two weeks before a launch
        "anticipation_days": ANTICIPATION_DAYS,
        # what the programme set out to do, and what was said of it (a decision card checks
        # both): the target is the demo's assumption; the claim is the district's own words
        "target": {
            "outcome": "congestion_minutes",
            "change_percent": -20,
            "source": DEMO_TARGET_SOURCE,
        },
        "claim": {
            "vi": "Sau 3 tháng, tình trạng ùn tắc tại các nút giao đã được giải quyết",
            "en": "After three months, congestion at the junctions was resolved",
            "change_percent": -100,
            "months": 3,
            "source": "laodongvaphapluat.laodongthudo.vn/hieu-qua-tu-mo-hinh-giao-thong-bac-tu-"
            "liem-an-toan-va-thong-suot-5622.html",
        },
    },
    "fire_point": {
        "short_vi": "Điểm chữa cháy",
        "short_en": "Fire points",
        "name_vi": "Điểm chữa cháy công cộng",
        "name_en": "Public fire-fighting points",
        "domain": "fire",
        "outcomes": ["fires", "escalated", "deaths", "loss_mvnd"],
        # the domain brief's "−20 % on incidents", an assumption of the demo
        "target": {"outcome": "fires", "change_percent": -20, "source": DEMO_TARGET_SOURCE},
    },
    "to_lien_gia": {
        "short_vi": "Tổ liên gia",
        "short_en": "Fire groups",
        "name_vi": "Tổ liên gia an toàn PCCC",
        "name_en": "Inter-household fire-safety groups",
        "domain": "fire",
        "outcomes": ["fires", "escalated"],
    },
    "camera": {
        "short_vi": "Camera",
        "short_en": "Cameras",
        "name_vi": "Mô hình “Camera an ninh”",
        "name_en": "Community security cameras",
        "domain": "security",
        "outcomes": ["solved_share", "theft_cases"],
    },
    "rental_check": {
        "short_vi": "Kiểm tra nhà trọ",
        "short_en": "Rental checks",
        "name_vi": "Tổng kiểm tra nhà trọ, chung cư mini (sau vụ cháy Khương Hạ)",
        "name_en": "Rental-housing fire checks (after the Khương Hạ fire)",
        "domain": "fire",
        "outcomes": ["fires"],
        "note": "District-wide on one date: no control group, not identifiable by DiD.",
    },
}


def traffic_starts() -> dict[str, pd.Timestamp]:
    """Launch date of the traffic model in each of the 13 wards."""
    starts = {PILOT_WARD: PILOT_START}
    for start, wards in WAVES.values():
        for w in wards:
            starts[w] = start
    return starts


def traffic_wave(ward: str) -> str:
    if ward == PILOT_WARD:
        return "pilot"
    return next(name for name, (_, wards) in WAVES.items() if ward in wards)


def fire_point_starts() -> dict[str, tuple[pd.Timestamp, float]]:
    return {w: (pd.Timestamp(d), dose) for w, (d, dose) in FIRE_POINTS.items()}


def to_lien_gia_starts() -> dict[str, pd.Timestamp]:
    lead = pd.Timedelta(days=TO_LIEN_GIA_LEAD_DAYS["default"])
    return {w: d - lead for w, (d, _) in fire_point_starts().items()}


#: file names of the demo tables inside the data folder
DEMO_FILES = {
    "notes": "data_notes.yaml",
    "junctions": "junctions.csv",
    "traffic_2023": "traffic_peak_2023.parquet",
    "traffic_2024": "traffic_peak_2024.parquet",
    "traffic_2025": "traffic_peak_2025.parquet",
    "fires": "fire_incidents.csv",
    "electrical": "electrical_incidents_monthly.csv",
    "antt": "antt_period.csv",
    "wards": "wards.csv",
    "adjacency": "adjacency.csv",
    "crosswalk": "crosswalk.csv",
    "truth_traffic": "truth/traffic_daily.parquet",
    "truth_fire": "truth/fire_monthly.csv",
    "truth_antt": "truth/antt_period.csv",
    "truth": "truth.yaml",
}


def data_notes() -> dict:
    """The demo's ``data_notes.yaml``: the change in how fires were recorded."""
    d = RECORDING_BREAK.strftime("%d/%m/%Y")
    return {
        "recording_changes": [
            {
                "table": "fires",
                "date": RECORDING_BREAK.date().isoformat(),
                "vi": f"Từ {d}, thống kê ghi nhận cả các vụ cháy nhỏ: số vụ được ghi tăng khoảng "
                f"{str(RECORDING_BREAK_FACTOR).replace('.', ',')} lần ở mọi phường, không phải do "
                "cháy nhiều hơn.",
                "en": f"From {d} the statistics also record small fires: about "
                f"{RECORDING_BREAK_FACTOR:.1f} times as many fires are counted in every ward, not because "
                "more fires happen.",
            }
        ]
    }
