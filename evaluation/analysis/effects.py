"""The building blocks of every evaluation: outcomes, results with verdicts, comparison designs.

* :class:`ProgrammeEffect` — one programme on one outcome in one ward (or the district): the
  estimate, a verdict in Vietnamese and English (:func:`evaluation.report.verdict.verdict`),
  the comparison used, the checks and, on the demo data, the planted truth; it turns itself
  into a finding for the batch index (:meth:`ProgrammeEffect.finding`).
* Comparison designs for one ward: :func:`comparison_window` (the ward against the wards not
  yet treated, before the next wave starts) and :func:`later_or_never_sample` (the ward
  against every period in which another ward did not have the programme yet).
* Checks shared by the designs: fake start dates (placebo in time) and fake treated wards
  (placebo in space), and :func:`_coherent`, which keeps a conformal confidence set from being
  shown as an interval when it is not one.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.inference.placebo import placebo_in_space, placebo_in_time
from evaluation.report.verdict import LABELS, Verdict, fmt_en, fmt_vi, verdict
from evaluation.results import Estimate

__all__ = [
    "UNIT",
    "TIME",
    "Outcome",
    "OUTCOMES",
    "outcome_info",
    "date_vi",
    "date_en",
    "Check",
    "ProgrammeEffect",
    "ComparisonWindow",
    "comparison_window",
    "later_or_never_sample",
    "not_evaluable",
    "effect_from_estimate",
    "effects_table",
    "method_vi",
    "METHOD_VI",
    "WAVE_VI",
]

#: the unit and period columns of every panel of :mod:`evaluation.analysis.district`
UNIT, TIME = "ward", "period_start"


@dataclass(frozen=True)
class Outcome:
    key: str
    vi: str
    en: str
    unit_vi: str = ""
    unit_en: str = ""
    lower_is_better: bool = True
    digits: int = 1


OUTCOMES: dict[str, Outcome] = {
    o.key: o
    for o in (
        Outcome("congestion_minutes", "thời gian ùn tắc giờ cao điểm", "peak-hour congestion time", "phút", "minutes"),
        Outcome("avg_speed_kmh", "tốc độ trung bình giờ cao điểm", "peak-hour average speed", "km/h", "km/h", False),
        Outcome("traffic_accidents", "số vụ tai nạn giao thông", "road accidents", "vụ", "accidents"),
        Outcome("fires", "số vụ cháy", "fires", "vụ", "fires"),
        Outcome("fire_rate", "tỷ lệ cháy", "fire rate", "vụ/100.000 dân/năm", "fires per 100,000 residents a year"),
        Outcome("escalated", "số vụ cháy từ mức trung bình trở lên", "fires of medium or worse severity", "vụ", "fires"),
        Outcome("deaths", "số người chết do cháy", "fire deaths", "người", "people"),
        Outcome("loss_mvnd", "thiệt hại tài sản do cháy", "property lost to fire", "triệu đồng", "million VND", digits=0),
        Outcome("rental", "số vụ cháy ở nhà trọ, chung cư mini", "fires in rental housing", "vụ", "fires"),
        Outcome("electrical_incidents", "số sự cố chập điện nhỏ", "minor electrical incidents", "vụ", "incidents"),
        Outcome("solved_share", "tỷ lệ án hình sự được làm rõ", "share of criminal cases solved", "điểm %", "percentage points", False),
        Outcome("theft_cases", "số vụ trộm cắp", "theft cases", "vụ", "cases"),
    )
}  # fmt: skip


def outcome_info(key: str) -> Outcome:
    return OUTCOMES.get(key) or Outcome(key, key, key)


def date_vi(d) -> str:
    return "—" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%d/%m/%Y")


def date_en(d) -> str:
    return "—" if d is None or pd.isna(d) else pd.Timestamp(d).strftime("%-d %b %Y")


@dataclass
class Check:
    """One robustness check, in words; ``ok`` is None when it could not be run."""

    name_vi: str
    name_en: str
    result_vi: str
    result_en: str
    ok: bool | None = None
    value: float | None = None


@dataclass
class ProgrammeEffect:
    """The evaluation of one programme on one outcome in one ward (or the district).

    ``estimate`` is None when the design cannot produce a number (said in ``verdict``).
    ``truth`` is the planted effect on the display scale (minutes, km/h, percent, …) when the
    data are the demo data. ``percent`` says the display scale is a percent change (Poisson
    models: 100·(rate ratio − 1)).
    """

    ward: str | None
    programme: str
    outcome: str
    estimate: Estimate | None
    verdict: Verdict
    design_vi: str
    design_en: str
    window: tuple[pd.Timestamp, pd.Timestamp] | None = None
    comparison: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    truth: float | None = None
    percent: bool = False
    notes_vi: list[str] = field(default_factory=list)
    notes_en: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def info(self) -> Outcome:
        return outcome_info(self.outcome)

    def display(self) -> tuple[float, float, float]:
        """(estimate, ci_low, ci_high) on the display scale (percent for log rate ratios)."""
        e = self.estimate
        if e is None:
            return (math.nan, math.nan, math.nan)
        vals = (e.estimate, e.ci_low, e.ci_high)
        if self.percent:
            return tuple(100 * (math.exp(v) - 1) if _finite(v) else math.nan for v in vals)  # type: ignore[return-value]
        return tuple(float(v) if _finite(v) else math.nan for v in vals)  # type: ignore[return-value]

    @property
    def unit_vi(self) -> str:
        return "%" if self.percent else self.info.unit_vi

    @property
    def unit_en(self) -> str:
        return "%" if self.percent else self.info.unit_en

    def effect_text(self, lang: str = "vi") -> str:
        """'−6,4 phút [−9,3; 1,8]' / '−6.4 minutes [−9.3, 1.8]'; '—' without an estimate."""
        est, lo, hi = self.display()
        if not _finite(est):
            return "—"
        f = fmt_vi if lang == "vi" else fmt_en
        d = 0 if self.percent else self.info.digits
        unit = self.unit_vi if lang == "vi" else self.unit_en
        sep = "; " if lang == "vi" else ", "
        text = f"{f(est, d)}{'' if unit == '%' else ' '}{unit}"
        if _finite(lo) and _finite(hi):
            text += f" [{f(lo, d)}{sep}{f(hi, d)}]"
        return text

    def truth_text(self, lang: str = "vi") -> str:
        if self.truth is None or not _finite(self.truth):
            return ""
        f = fmt_vi if lang == "vi" else fmt_en
        d = 0 if self.percent else self.info.digits
        unit = self.unit_vi if lang == "vi" else self.unit_en
        return f"{f(self.truth, d)}{'' if unit == '%' else ' '}{unit}"

    def truth_covered(self) -> bool | None:
        """Whether the interval covers the planted truth (None without truth or interval)."""
        _, lo, hi = self.display()
        if self.truth is None or not (_finite(lo) and _finite(hi)):
            return None
        return bool(lo <= self.truth <= hi)

    def finding(self, notebook: str, registry=None, **extra: Any) -> dict[str, Any]:
        """One finding for :func:`evaluation.batch.record_findings` (``registry`` adds the
        programme's name for the index)."""
        from evaluation.batch import finding

        est, lo, hi = self.display()
        fields: dict[str, Any] = {
            "outcome_label": f"{self.info.vi} / {self.info.en}"
            + (f" ({self.unit_vi})" if self.unit_vi else ""),
            "verdict_category": self.verdict.category,
            "verdict_label_vi": self.verdict.label_vi,
            "verdict_label_en": self.verdict.label_en,
            "scale": "percent change" if self.percent else "difference",
            "unit": self.unit_en,
            "design": self.design_en,
            "comparison": list(self.comparison),
        }
        if registry is not None:
            fields["programme_label"] = (
                f"{registry.label(self.programme, 'vi')} / {registry.label(self.programme, 'en')}"
            )
        if self.window is not None:
            fields["window"] = [
                self.window[0].date().isoformat(),
                self.window[1].date().isoformat(),
            ]
        if self.truth is not None and _finite(self.truth):
            fields["truth"] = float(self.truth)
        fields.update(extra)
        e = self.estimate
        return finding(
            e,
            notebook=notebook,
            ward=self.ward,
            programme=self.programme,
            outcome=self.outcome,
            verdict_vi=self.verdict.text_vi,
            verdict_en=self.verdict.text_en,
            estimate=est if _finite(est) else None,
            ci_low=lo if _finite(lo) else None,
            ci_high=hi if _finite(hi) else None,
            pvalue=e.pvalue if e is not None and _finite(e.pvalue) else None,
            method=e.method if e is not None else "not estimable",
            inference=e.inference if e is not None else "none",
            warnings=[str(w) for w in (e.warnings if e is not None else [])] + list(self.notes_en),
            **fields,
        )

    def row(self, registry=None) -> dict[str, Any]:
        """A row for a summary table (numbers on the display scale)."""
        est, lo, hi = self.display()
        e = self.estimate
        return {
            "ward": self.ward or "Toàn quận",
            "programme": self.programme,
            "programme_vi": registry.label(self.programme, "vi") if registry else self.programme,
            "outcome": self.outcome,
            "outcome_vi": self.info.vi,
            "unit": self.unit_vi,
            "estimate": est,
            "ci_low": lo,
            "ci_high": hi,
            "pvalue": e.pvalue if e is not None else math.nan,
            "min_pvalue": e.min_pvalue if e is not None else math.nan,
            "inference": e.inference_method if e is not None else "",
            "truth": self.truth if self.truth is not None else math.nan,
            "verdict": self.verdict.label_vi,
            "category": self.verdict.category,
        }


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _verdict(est: Estimate, outcome: str, *, percent: bool, baseline: float | None = None):
    o = outcome_info(outcome)
    return verdict(
        est,
        outcome_vi=o.vi,
        outcome_en=o.en,
        unit_vi="" if percent else o.unit_vi,
        unit_en="" if percent else o.unit_en,
        lower_is_better=o.lower_is_better,
        baseline=baseline,
    )


def _no_estimate_verdict(text_vi: str, text_en: str) -> Verdict:
    label_vi, label_en = LABELS["design_limited"]
    return Verdict("design_limited", label_vi, label_en, text_vi, text_en)


def _prefixed(v: Verdict, vi: str, en: str) -> Verdict:
    return Verdict(v.category, v.label_vi, v.label_en, f"{vi} {v.text_vi}", f"{en} {v.text_en}")


def _coherent(est: Estimate) -> tuple[Estimate, list[str]]:
    """Drop a conformal confidence set that cannot be read as an interval.

    Test inversion of the conformal test over constant effects can give an empty set, or a
    set whose hull excludes the point estimate or contradicts the p-value of "no effect" —
    when the effect is not constant over the weeks (it builds up, or decays). The p-value of
    "no effect" stays valid; the interval is then not reported, and the reader is told why.
    """
    if est.inference_method != "conformal":
        return est, []
    lo, hi, alpha = est.ci_low, est.ci_high, 1 - est.level
    if _finite(lo) and _finite(hi):
        if lo <= est.estimate <= hi and (est.pvalue < alpha) != (lo <= 0 <= hi):
            return est, []
    en = (
        "The conformal test finds no single constant effect that fits every week after the "
        "start (the effect changes from week to week, e.g. it builds up): no confidence "
        "interval is reported; the p-value of 'no effect' remains valid."
    )
    vi = (
        "Kiểm định hoán vị theo thời gian không tìm được một mức tác động cố định phù hợp với "
        "mọi tuần sau khi triển khai (tác động thay đổi theo tuần, ví dụ tăng dần): không báo "
        "cáo khoảng tin cậy; giá trị p của giả thuyết «không có tác động» vẫn hợp lệ."
    )
    fixed = dataclasses.replace(
        est, ci_low=math.nan, ci_high=math.nan, warnings=[*est.warnings, en]
    )
    return fixed, [vi]


def _quiet(fn, *args, **kw):
    """Run an estimator without numerical warnings leaking into a report's stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kw)


@dataclass
class ComparisonWindow:
    """The ward against the wards not yet (or never) treated, before the next wave starts.

    ``data`` holds the ward and its comparison wards over the periods before ``next_cohort``
    (the first period of the next wave), with the comparison wards' cohort cleared (they are
    untreated throughout the window). ``end`` is the day before the next wave's start date.
    """

    ward: str
    start: pd.Timestamp
    cohort: pd.Timestamp
    next_start: pd.Timestamp
    next_cohort: pd.Timestamp
    comparison: list[str]
    data: pd.DataFrame

    @property
    def end(self) -> pd.Timestamp:
        return self.next_start - pd.Timedelta(days=1)

    @property
    def n_pre(self) -> int:
        return int(self.data.loc[self.data[TIME] < self.cohort, TIME].nunique())

    @property
    def n_post(self) -> int:
        return int(self.data.loc[self.data[TIME] >= self.cohort, TIME].nunique())


def comparison_window(panel: pd.DataFrame, starts: pd.Series, ward: str) -> ComparisonWindow | None:
    """The ward's window and comparison wards, or None when no untreated ward remains.

    ``panel`` carries ``cohort`` (first treated period of each ward; missing = never);
    ``starts`` the registry start date by ward. The window runs from the data's first period
    to the period before the first later cohort; comparison wards are those whose cohort is
    at or after that period, or who are never treated. Wards of the ward's own wave are
    neither treated ward nor comparison.
    """
    cohorts = panel.groupby(UNIT, sort=True)["cohort"].first()
    if ward not in cohorts.index:
        raise DataError(f"ward {ward!r} is not in the panel")
    g = cohorts[ward]
    if pd.isna(g):
        raise DesignError(f"{ward} never started this programme: there is no effect to estimate")
    later = cohorts[cohorts.notna() & (cohorts > g)]
    never = cohorts[cohorts.isna()]
    if later.empty and never.empty:
        return None
    if later.empty:
        next_cohort = panel[TIME].max() + pd.Timedelta(days=1)
        next_start = next_cohort
    else:
        next_cohort = later.min()
        next_start = starts[later.index[later == next_cohort]].min()
    comparison = sorted(set(later.index) | set(never.index))
    data = panel[(panel[TIME] < next_cohort) & panel[UNIT].isin([ward, *comparison])].copy()
    data.loc[data[UNIT] != ward, "cohort"] = pd.NaT
    return ComparisonWindow(
        ward=ward,
        start=pd.Timestamp(starts[ward]),
        cohort=g,
        next_start=pd.Timestamp(next_start),
        next_cohort=next_cohort,
        comparison=comparison,
        data=data.reset_index(drop=True),
    )


def later_or_never_sample(panel: pd.DataFrame, ward: str) -> tuple[pd.DataFrame, list[str]]:
    """The ward's whole series with every period in which another ward was still untreated.

    Comparison wards are the never-treated ones and those that started *after* the ward
    (kept until their own start); wards that started earlier or together are left out, so no
    treated period of another ward enters the comparison (no "forbidden" comparisons,
    Goodman-Bacon 2021). Every comparison ward has periods after the ward's start, so
    permuting which ward is treated (randomization inference) always leaves an estimable
    design.
    """
    cohorts = panel.groupby(UNIT, sort=True)["cohort"].first()
    g = cohorts.get(ward)
    if g is None or pd.isna(g):
        raise DesignError(f"{ward} never started this programme: there is no effect to estimate")
    others = cohorts.drop(ward)
    comparison = sorted(others.index[others.isna() | (others > g)])
    keep = (panel[UNIT] == ward) | (
        panel[UNIT].isin(comparison) & (panel["cohort"].isna() | (panel[TIME] < panel["cohort"]))
    )
    data = panel[keep].copy()
    data.loc[data[UNIT] != ward, "cohort"] = pd.NaT
    return data.reset_index(drop=True), comparison


def _effective_post(data: pd.DataFrame, ward: str, g) -> pd.Series:
    """The ward's post periods that some comparison ward is observed in (they carry the
    estimate; later ones are absorbed by their period effect)."""
    other_times = set(data.loc[data[UNIT] != ward, TIME])
    own = data.loc[(data[UNIT] == ward) & (data[TIME] >= g), TIME]
    return own[own.isin(other_times)]


def _placebo_checks(
    data: pd.DataFrame, outcome: str, estimate: float, kinds=("time", "space"), **kw
) -> list[Check]:
    """Placebo in time (fake starts) and in space (each comparison ward as if treated)."""
    checks: list[Check] = []
    if "time" in kinds:
        checks += _placebo_time_check(data, outcome, estimate, **kw)
    if "space" not in kinds:
        return checks
    try:
        ps = _quiet(placebo_in_space, "twfe", data, outcome, UNIT, TIME, "cohort", **kw)
        checks.append(
            Check(
                "Phường đối chứng giả định được triển khai",
                "Comparison wards treated as if they had started",
                f"Ước lượng thật lớn hơn {fmt_vi(100 * (1 - ps.share_as_large), 0)}% các ước "
                f"lượng giả ({ps.n_placebos} phường); p theo thứ hạng = "
                f"{fmt_vi(ps.pvalue, 3)} (nhỏ nhất có thể {fmt_vi(ps.min_pvalue, 3)}).",
                f"The real estimate is larger than {fmt_en(100 * (1 - ps.share_as_large), 0)} % "
                f"of the placebo estimates ({ps.n_placebos} wards); rank p = "
                f"{fmt_en(ps.pvalue, 3)} (smallest possible {fmt_en(ps.min_pvalue, 3)}).",
                ps.share_as_large < 0.1,
                float(ps.pvalue),
            )
        )
    except (DesignError, DataError, InferenceError) as exc:
        checks.append(_check_failed("Phường giả định", "Placebo wards", exc))
    return checks


def _placebo_time_check(data: pd.DataFrame, outcome: str, estimate: float, **kw) -> list[Check]:
    checks: list[Check] = []
    try:
        pt = _quiet(placebo_in_time, "twfe", data, outcome, UNIT, TIME, "cohort", **kw)
        fakes = pt.table[pt.table["kind"] == "placebo"]["estimate"].dropna()
        n_big = int((fakes.abs() >= abs(estimate)).sum())
        big = fakes.iloc[int(fakes.abs().to_numpy().argmax())] if len(fakes) else math.nan
        if kw.get("family") == "poisson":  # log rate ratios, shown as percent changes
            shown, real, unit, d = 100 * math.expm1(big), 100 * math.expm1(estimate), "%", 0
        else:
            shown, real, unit, d = big, estimate, "", 2
        checks.append(
            Check(
                "Ngày bắt đầu giả (trước khi triển khai)",
                "Fake start dates (before the launch)",
                f"{n_big}/{len(fakes)} ngày bắt đầu giả cho ước lượng lớn bằng ước lượng thật; "
                f"lớn nhất {fmt_vi(shown, d)}{unit} so với {fmt_vi(real, d)}{unit}.",
                f"{n_big} of {len(fakes)} fake start dates give an estimate as large as the real "
                f"one; the largest is {fmt_en(shown, d)}{unit} against {fmt_en(real, d)}{unit}.",
                n_big == 0,
                float(shown),
            )
        )
    except (DesignError, DataError, InferenceError) as exc:
        checks.append(_check_failed("Ngày bắt đầu giả", "Fake start dates", exc))
    return checks


def _check_failed(name_vi: str, name_en: str, exc: Exception) -> Check:
    return Check(
        name_vi,
        name_en,
        "Không thực hiện được với thiết kế này.",
        f"Not possible with this design: {exc}",
        None,
    )


def not_evaluable(
    ward: str | None, programme: str, outcome: str, text_vi: str, text_en: str
) -> ProgrammeEffect:
    """A finding without a number: the design cannot estimate this effect, and why."""
    return ProgrammeEffect(
        ward=ward,
        programme=programme,
        outcome=outcome,
        estimate=None,
        verdict=_no_estimate_verdict(text_vi, text_en),
        design_vi=text_vi,
        design_en=text_en,
        notes_vi=[text_vi],
        notes_en=[text_en],
    )


def _too_few_events(
    data: pd.DataFrame, ward: str, outcome: str, programme: str
) -> ProgrammeEffect | None:
    """A Poisson estimate for one ward needs events both before and after its start (with
    none on one side the rate ratio is 0 or infinite)."""
    own = data[data[UNIT] == ward]
    g = own["cohort"].iloc[0]
    before = int(own.loc[own[TIME] < g, outcome].sum())
    after = int(own.loc[own[TIME] >= g, outcome].sum())
    if before > 0 and after > 0:
        return None
    o = outcome_info(outcome)
    return not_evaluable(
        ward,
        programme,
        outcome,
        f"Quá ít sự kiện để ước lượng: phường có {before} {o.unit_vi} trước và {after} "
        f"{o.unit_vi} sau khi triển khai trong thời kỳ so sánh ({o.vi}).",
        f"Too few events to estimate: the ward had {before} {o.unit_en} before and {after} "
        f"after the start within the comparison period ({o.en}).",
    )


def _later_design_text(ward: str, start, comparison: list[str], what_vi: str, what_en: str):
    n = len(comparison)
    names = ", ".join(comparison) if comparison else "—"
    vi = (
        f"So sánh phường {ward} (bắt đầu {date_vi(start)}) với {n} phường chưa có {what_vi} "
        f"trong cùng thời kỳ ({names}; mỗi phường chỉ dùng số liệu trước khi chính phường đó "
        "triển khai)."
    )
    en = (
        f"{ward} (started {date_en(start)}) against the {n} wards without {what_en} at the same "
        f"time ({names}; each only until it started its own)."
    )
    return vi, en


def effect_from_estimate(
    est: Estimate,
    outcome: str,
    *,
    programme: str,
    design_vi: str,
    design_en: str,
    ward: str | None = None,
    percent: bool = False,
    truth: float | None = None,
    **details: Any,
) -> ProgrammeEffect:
    """Wrap an estimate computed in a notebook as a :class:`ProgrammeEffect` with its verdict
    (``percent=True`` for Poisson log rate ratios)."""
    return ProgrammeEffect(
        ward=ward,
        programme=programme,
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=percent),
        design_vi=design_vi,
        design_en=design_en,
        truth=truth,
        percent=percent,
        details=dict(details),
    )


#: method names as a Vietnamese reader sees them
METHOD_VI = {
    "TWFE (least squares)": "Sai khác kép, hiệu ứng cố định (TWFE)",
    "TWFE (Poisson PML)": "Mô hình Poisson, hiệu ứng cố định",
    "synthetic DiD": "Sai khác kép tổng hợp (SDID)",
    "synthetic control": "Đối chứng tổng hợp (SC)",
}


WAVE_VI = {"pilot": "thí điểm", "all": "tất cả"}


def method_vi(method: str) -> str:
    """The Vietnamese name of an estimator (``Estimate.method``), with the English after it."""
    for key, vi in METHOD_VI.items():
        if method.startswith(key):
            return f"{vi} / {key}"
    if method.startswith("Callaway"):
        return "Callaway & Sant'Anna (so với phường chưa triển khai / not-yet-treated)"
    return method


def effects_table(effects: list[ProgrammeEffect], registry=None) -> pd.DataFrame:
    """One row per effect (see :meth:`ProgrammeEffect.row`)."""
    return pd.DataFrame([e.row(registry) for e in effects])
