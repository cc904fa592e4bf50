"""The tables the workbench knows, column by column.

One description per table drives three things: the data dictionary (``data/README.md``), the
checks of :mod:`evaluation.data.panels` (``pilot-eval validate``), and the type conversions
applied when a table is loaded. A user's own file is recognised by its columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "Column",
    "TableSchema",
    "SCHEMAS",
    "PREMISE_TYPES",
    "CAUSES",
    "ELECTRICAL_CAUSE",
    "RENTAL_PREMISES",
    "SEVERITIES",
    "TRUE_WORDS",
    "FALSE_WORDS",
    "GOAL_EXAMPLES",
    "detect_schema",
]

PREMISE_TYPES = (
    "nhà dân",
    "nhà trọ",
    "chung cư mini",
    "nhà ở kết hợp KD",
    "cơ sở SXKD",
    "phương tiện",
    "karaoke/bar/café",
    "chợ/TTTM",
    "trường học",
    "khác",
)
CAUSES = ("điện", "sơ suất nguồn lửa/nhiệt", "vi phạm quy định", "phóng hỏa", "khác", "chưa rõ")
#: the premise types of rental housing (the fire records' rental-housing indicator)
RENTAL_PREMISES = ("nhà trọ", "chung cư mini")
#: the cause of an electrical fire (the fire records' electrical-cause indicator)
ELECTRICAL_CAUSE = "điện"
SEVERITIES = ("nhỏ", "trung bình", "lớn", "nghiêm trọng")
#: the values a yes/no column may hold (read in lower case, stripped), Vietnamese among them
TRUE_WORDS = ("true", "1", "yes", "có", "1.0")
FALSE_WORDS = ("false", "0", "no", "không", "0.0")
#: a programme's target and claim in the registry as a user writes them (the hint of an error)
GOAL_EXAMPLES = {
    "target": "{outcome: congestion_minutes, change_percent: -20, source: 'Kế hoạch số …/KH-UBND'}",
    "claim": "{vi: 'đã giải quyết được ùn tắc', en: 'congestion was resolved', "
    "change_percent: -100, months: 3, source: 'báo …, dd/mm/yyyy'}",
}


@dataclass(frozen=True)
class Column:
    """One column: its name, kind, unit and meaning.

    kind: ``ward`` (a ward name, normalised), ``date``, ``count`` (non-negative integer),
    ``number`` (real), ``nonneg`` (non-negative real), ``share`` (0..1), ``category``
    (one of ``allowed``), ``bool``, ``text``, ``id``.
    """

    name: str
    kind: str
    unit: str = ""
    description: str = ""
    required: bool = True
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSchema:
    name: str
    description: str
    frequency: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    files: tuple[str, ...] = field(default_factory=tuple)
    #: the date column by which the table's ward names are read (a name reused by a
    #: reorganisation means the ward valid on that date); None: the ward at the oldest level
    ward_date: str | None = None

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)


TRAFFIC = TableSchema(
    name="traffic_peak",
    description="Congestion at hotspot junctions, one row per junction × day × peak.",
    frequency="daily, two peaks (AM 06:00–08:30, PM 16:00–19:00)",
    key=("junction_id", "date", "peak"),
    files=("traffic_peak_2023.parquet", "traffic_peak_2024.parquet", "traffic_peak_2025.parquet"),
    ward_date="date",
    columns=(
        Column("junction_id", "id", "", "Junction identifier, e.g. CN2-01 (ward prefix + number)"),
        Column("ward", "ward", "", "Ward the junction lies in, as recorded that day"),
        Column("date", "date", "", "Calendar day"),
        Column(
            "peak",
            "category",
            "",
            "AM = 06:00–08:30 (150 min), PM = 16:00–19:00 (180 min)",
            allowed=("AM", "PM"),
        ),
        Column(
            "congestion_minutes",
            "nonneg",
            "minutes",
            "Minutes in the peak with queue speed under 10 km/h; missing when the sensor was down",
        ),
        Column("avg_speed_kmh", "nonneg", "km/h", "Mean speed through the junction in the peak"),
        Column("rain_mm", "nonneg", "mm", "Rainfall that day (district gauge)", required=False),
        Column("is_weekend", "bool", "", "Saturday or Sunday", required=False),
        Column("is_holiday", "bool", "", "Public holiday or Tết week", required=False),
        Column("is_school_day", "bool", "", "Schools in session", required=False),
        Column(
            "volunteers_on_duty",
            "count",
            "people",
            "Traffic volunteers at the junction",
            required=False,
        ),
    ),
)

FIRES = TableSchema(
    name="fire_incident",
    description="Fire incidents as records, one row per fire.",
    frequency="event",
    key=("incident_id",),
    files=("fire_incidents.csv",),
    ward_date="date",
    columns=(
        Column("incident_id", "id", "", "Unique incident number"),
        Column("date", "date", "", "Date of the fire"),
        Column("hour", "count", "h", "Hour of ignition 0–23", required=False),
        Column("ward", "ward", "", "Ward where the fire happened, as recorded that day"),
        Column("premise_type", "category", "", "Type of premises", allowed=PREMISE_TYPES),
        Column("cause", "category", "", "Cause as finally determined", allowed=CAUSES),
        Column(
            "severity", "category", "", "nhỏ / trung bình / lớn / nghiêm trọng", allowed=SEVERITIES
        ),
        Column("deaths", "count", "people", "Deaths"),
        Column("injuries", "count", "people", "Injuries"),
        Column("loss_mvnd", "nonneg", "million VND", "Property loss"),
        Column(
            "response_min",
            "nonneg",
            "minutes",
            "Minutes to first fire-fighting response",
            required=False,
        ),
        Column(
            "local_first_response",
            "bool",
            "",
            "First response by local forces / public point",
            required=False,
        ),
        Column("escalated", "bool", "", "Severity medium or worse", required=False),
    ),
)

ANTT = TableSchema(
    name="antt_period",
    description="Security and order (ANTT) indicators, one row per ward × police period.",
    frequency="police period: 15th of a month to the 14th of the next",
    key=("ward", "period_start"),
    files=("antt_period.csv",),
    ward_date="period_end",
    columns=(
        Column("ward", "ward", "", "Ward, as recorded in that period"),
        Column("period_start", "date", "", "First day of the police period (the 15th)"),
        Column("period_end", "date", "", "Last day of the police period (the 14th)"),
        Column("criminal_cases", "count", "cases", "Criminal cases recorded (phạm pháp hình sự)"),
        Column("theft_cases", "count", "cases", "Theft cases (trộm cắp)"),
        Column("drug_cases", "count", "cases", "Drug cases"),
        Column("solved_cases", "count", "cases", "Criminal cases solved in the period"),
        Column("traffic_accidents", "count", "accidents", "Road traffic accidents"),
        Column("traffic_deaths", "count", "people", "Deaths in road traffic accidents"),
        Column("traffic_injuries", "count", "people", "Injuries in road traffic accidents"),
        Column("disputes_received", "count", "cases", "Disputes received for grassroots mediation"),
        Column("disputes_mediated_ok", "count", "cases", "Disputes mediated successfully"),
        Column(
            "cameras_cum", "count", "cameras", "Community security cameras installed, cumulative"
        ),
        Column("residence_checks", "count", "checks", "Residence / rental-housing inspections"),
        Column("residence_violations", "count", "cases", "Violations found in those inspections"),
    ),
)

ELECTRICAL = TableSchema(
    name="electrical_incident_monthly",
    description="Minor electrical short-circuit and rubbish-fire events (counted apart from fires).",
    frequency="calendar month",
    key=("ward", "month"),
    files=("electrical_incidents_monthly.csv",),
    ward_date="month",
    columns=(
        Column("ward", "ward", "", "Ward, as recorded that month"),
        Column("month", "date", "", "First day of the calendar month"),
        Column(
            "electrical_incidents", "count", "events", "Short circuits and minor electrical events"
        ),
    ),
)

JUNCTIONS = TableSchema(
    name="junction",
    description="Hotspot junctions where congestion is measured.",
    frequency="static",
    key=("junction_id",),
    files=("junctions.csv",),
    columns=(
        Column("junction_id", "id", "", "Junction identifier (ward prefix + number, e.g. CN2-01)"),
        Column("ward", "ward", "", "Ward the junction lay in when it was installed"),
        Column("ward_code", "id", "", "Code of that ward (as in wards.csv)", required=False),
        Column("name", "text", "", "Roads meeting there ([EST] in the demo, not an official list)"),
        Column(
            "type",
            "category",
            "",
            "T-junction, crossroads or roundabout",
            allowed=("T", "X", "roundabout"),
        ),
        Column("signalised", "bool", "", "Traffic lights"),
        Column("hotspot", "bool", "", "A congestion hotspot chosen by ward police"),
        Column(
            "sensor",
            "category",
            "",
            "How congestion is measured (camera: ~1 % missing days; "
            "manual count: ~5 % plus outages)",
            allowed=("camera", "manual count"),
        ),
    ),
)

PANEL = TableSchema(
    name="ward_panel",
    description="Any ward × period panel (a user's own indicators).",
    frequency="any",
    key=("ward", "period"),
    ward_date="period",
    columns=(
        Column("ward", "ward", "", "Ward name or GSO code"),
        Column(
            "period",
            "date",
            "",
            "Period (a date: day, week start, month start or police period start)",
        ),
    ),
)

SCHEMAS: dict[str, TableSchema] = {s.name: s for s in (TRAFFIC, FIRES, ANTT, ELECTRICAL, JUNCTIONS)}


def detect_schema(columns: list[str], filename: str = "") -> TableSchema | None:
    """The known table whose columns best match, or None.

    The file name decides when it names a table (``fire_incidents.csv``); otherwise the schema
    sharing most required columns wins, if it shares at least half of them.
    """
    name = filename.lower()
    for s in SCHEMAS.values():
        if (
            any(name.startswith(f.split(".")[0].rsplit("_", 1)[0]) for f in s.files)
            or s.name in name
        ):
            return s
    best, score = None, 0.0
    cols = {c.strip().lower() for c in columns}
    for s in SCHEMAS.values():
        req = s.required
        share = sum(1 for c in req if c in cols) / len(req)
        if share > score:
            best, score = s, share
    return best if score >= 0.5 else None
