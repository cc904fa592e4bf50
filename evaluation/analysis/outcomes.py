"""The outcomes the reports speak of, each defined once: what is measured, per what, over which
period — the glossary every page links to, and the names and units the verdicts use.

The definitions describe the indicators as the workbench builds them from the documented input
tables (``data/README.md``): e.g. congestion minutes are recorded per junction and peak, and the
analyses use their weekly mean over a ward's hotspot junctions and both peaks.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Outcome", "OUTCOMES", "outcome_info"]


@dataclass(frozen=True)
class Outcome:
    """An indicator: its names, unit, direction, display precision and definition.

    ``lower_is_better`` says which direction is an improvement; ``percent`` that effects on it
    are estimated as a percent change (Poisson models of counts); ``digits`` the decimals shown.
    """

    key: str
    vi: str
    en: str
    unit_vi: str = ""
    unit_en: str = ""
    lower_is_better: bool = True
    digits: int = 1
    percent: bool = False
    definition_vi: str = ""
    definition_en: str = ""

    def unit(self, lang: str) -> str:
        return self.unit_vi if lang == "vi" else self.unit_en

    def name(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


_PEAKS_VI = "khung giờ cao điểm sáng (6:00–8:30) và chiều (16:00–19:00)"
_PEAKS_EN = "the morning (06:00–08:30) and evening (16:00–19:00) peaks"

OUTCOMES: dict[str, Outcome] = {
    o.key: o
    for o in (
        Outcome(
            "congestion_minutes",
            "thời gian ùn tắc giờ cao điểm",
            "peak-hour congestion time",
            "phút",
            "minutes",
            definition_vi=(
                "Số phút trong một khung giờ cao điểm mà xe qua nút giao chậm hơn 10 km/h, "
                f"ở các nút giao trọng điểm của phường, trong {_PEAKS_VI}; tính trung bình cho "
                "mỗi nút giao và mỗi khung giờ, theo từng tuần (thứ Hai đến Chủ nhật)."
            ),
            definition_en=(
                "Minutes of a peak during which traffic through a junction moves slower than "
                f"10 km/h, at the ward's hotspot junctions, in {_PEAKS_EN}; averaged per "
                "junction and peak, week by week (Monday to Sunday)."
            ),
        ),
        Outcome(
            "avg_speed_kmh",
            "tốc độ trung bình giờ cao điểm",
            "peak-hour average speed",
            "km/h",
            "km/h",
            lower_is_better=False,
            definition_vi=(
                "Tốc độ trung bình của xe qua các nút giao trọng điểm của phường trong "
                f"{_PEAKS_VI}, trung bình theo tuần."
            ),
            definition_en=(
                f"Mean speed of traffic through the ward's hotspot junctions in {_PEAKS_EN}, "
                "averaged week by week."
            ),
        ),
        Outcome(
            "traffic_accidents",
            "số vụ tai nạn giao thông",
            "road accidents",
            "vụ",
            "accidents",
            percent=True,
            definition_vi=(
                "Số vụ tai nạn giao thông trên địa bàn phường trong mỗi kỳ báo cáo của công an "
                "(ngày 15 tháng này đến ngày 14 tháng sau); tác động tính bằng phần trăm thay "
                "đổi của số vụ trên dân số."
            ),
            definition_en=(
                "Road traffic accidents in the ward per police reporting period (15th of a "
                "month to the 14th of the next); effects are percent changes of the rate per "
                "resident."
            ),
        ),
        Outcome(
            "fires",
            "số vụ cháy",
            "fires",
            "vụ",
            "fires",
            percent=True,
            definition_vi=(
                "Số vụ cháy được ghi nhận trong phường mỗi tháng (theo hồ sơ vụ cháy); tác động "
                "tính bằng phần trăm thay đổi của số vụ cháy trên dân số."
            ),
            definition_en=(
                "Fires recorded in the ward per calendar month (from the incident records); "
                "effects are percent changes of the fire rate per resident."
            ),
        ),
        Outcome(
            "fire_rate",
            "tỷ lệ cháy",
            "fire rate",
            "vụ/100.000 dân/năm",
            "fires per 100,000 residents a year",
            definition_vi="Số vụ cháy trên 100.000 dân, quy ra một năm, tính theo tháng.",
            definition_en="Fires per 100,000 residents, as a yearly rate, month by month.",
        ),
        Outcome(
            "escalated",
            "số vụ cháy từ mức trung bình trở lên",
            "fires of medium or worse severity",
            "vụ",
            "fires",
            percent=True,
            definition_vi="Số vụ cháy có mức độ trung bình, lớn hoặc nghiêm trọng, theo tháng.",
            definition_en="Fires of medium, large or serious severity, per month.",
        ),
        Outcome(
            "deaths",
            "số người chết do cháy",
            "fire deaths",
            "người",
            "people",
            definition_vi="Số người chết trong các vụ cháy, theo tháng.",
            definition_en="People killed in fires, per month.",
        ),
        Outcome(
            "loss_mvnd",
            "thiệt hại tài sản do cháy",
            "property lost to fire",
            "triệu đồng",
            "million VND",
            digits=0,
            definition_vi="Thiệt hại tài sản trong các vụ cháy (triệu đồng), theo tháng.",
            definition_en="Property lost in fires (million VND), per month.",
        ),
        Outcome(
            "rental",
            "số vụ cháy ở nhà trọ, chung cư mini",
            "fires in rental housing",
            "vụ",
            "fires",
            percent=True,
            definition_vi="Số vụ cháy ở nhà trọ và chung cư mini, theo tháng.",
            definition_en="Fires in rental rooms and mini apartment blocks, per month.",
        ),
        Outcome(
            "electrical_incidents",
            "số sự cố chập điện nhỏ",
            "minor electrical incidents",
            "vụ",
            "incidents",
            percent=True,
            definition_vi=(
                "Số sự cố chập điện nhỏ (chưa thành đám cháy), theo tháng — dùng để kiểm tra: "
                "điểm chữa cháy không thể làm thay đổi chỉ số này."
            ),
            definition_en=(
                "Minor electrical incidents (not fires), per month — a check: fire points "
                "cannot change them."
            ),
        ),
        Outcome(
            "solved_share",
            "tỷ lệ án hình sự được làm rõ",
            "share of criminal cases solved",
            "điểm %",
            "percentage points",
            lower_is_better=False,
            definition_vi=(
                "Phần trăm số vụ án hình sự được làm rõ trong mỗi kỳ báo cáo của công an "
                "(ngày 15 đến ngày 14); tác động tính bằng điểm phần trăm."
            ),
            definition_en=(
                "Percent of criminal cases solved per police reporting period (15th to 14th); "
                "effects are in percentage points."
            ),
        ),
        Outcome(
            "theft_cases",
            "số vụ trộm cắp",
            "theft cases",
            "vụ",
            "cases",
            percent=True,
            definition_vi="Số vụ trộm cắp trong mỗi kỳ báo cáo của công an.",
            definition_en="Theft cases per police reporting period.",
        ),
    )
}


def outcome_info(key: str) -> Outcome:
    """The outcome's names and definition (a bare stand-in for an outcome not listed)."""
    return OUTCOMES.get(key) or Outcome(key, key, key)
