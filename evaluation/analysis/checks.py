"""Robustness checks of one ward's (or the pilot's) own estimate, in words.

* **Fake start dates** (placebo in time, Abadie 2021): re-estimate with the start moved into
  the pre-period; "effects" before the programme existed mean the comparison does not track the
  ward's untreated path.
* **Comparison wards as if treated** (placebo in space, Abadie, Diamond & Hainmueller 2010):
  the real estimate ranked among the estimates of the comparison wards given the start date.
* **Without bordering wards** (spill-over): comparison wards next to a treated ward may benefit
  indirectly (diverted traffic), which shrinks the estimate; re-estimated against the others.

The checks are computed for the findings a page shows in detail (a ward report, the pilot
page), not for the district's whole family of findings.
"""

from __future__ import annotations

import math

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Check, Finding
from evaluation.analysis.windows import (
    INDICATORS,
    TIME,
    UNIT,
    Indicator,
    comparison_window,
    estimate,
    quiet,
)
from evaluation.core.timing import stage
from evaluation.diagnostics.placebo import placebo_in_space, placebo_in_time
from evaluation.errors import DataError, DesignError, InferenceError

__all__ = ["add_checks"]

_FAILURES = (DesignError, DataError, InferenceError)


def add_checks(district: District, finding: Finding) -> Finding:
    """Run the checks of a pilot or ward finding that has its own number; returns it."""
    if finding.level not in ("pilot", "ward") or not finding.has_number or finding.checks:
        return finding
    with stage("findings"):
        return _add_checks(district, finding)


def _add_checks(district: District, finding: Finding) -> Finding:
    ind = INDICATORS.get(finding.outcome)
    if ind is None:
        return finding
    panel = ind.data(district, finding.programme)
    pilot = district.pilot_ward(finding.programme)
    exclude = (pilot,) if pilot and finding.ward != pilot else ()
    win = comparison_window(
        panel, district.starts(finding.programme), finding.ward, exclude=exclude
    )
    if win is None:
        return finding
    kw = _model_kwargs(ind)
    est = finding.estimate.estimate
    finding.checks = [_fake_starts(win.data, ind, est, kw)]
    if ind.family == "gaussian":
        finding.checks.append(_placebo_wards(win.data, ind, kw))
        finding.checks.append(_spillover(district, finding, win, ind))
    return finding


def _model_kwargs(ind: Indicator) -> dict:
    kw: dict = {}
    if ind.family == "poisson":
        kw.update(family="poisson", exposure=ind.exposure)
    if ind.weights:
        kw["weights"] = ind.weights
    return kw


def _shown(ind: Indicator, value: float) -> tuple[float, str, int]:
    if ind.family == "poisson":
        return 100 * math.expm1(value), "%", 0
    return value, "", 2


def _fake_starts(data, ind: Indicator, estimate_: float, kw: dict) -> Check:
    try:
        pt = quiet(
            placebo_in_time,
            "twfe",
            data,
            ind.outcome,
            UNIT,
            TIME,
            "cohort",
            max_fake_starts=6,
            **kw,
        )
    except _FAILURES as exc:
        return _failed("Ngày bắt đầu giả", "Fake start dates", exc)
    fakes = pt.table[pt.table["kind"] == "placebo"]["estimate"].dropna()
    n_big = int((fakes.abs() >= abs(estimate_)).sum())
    big = fakes.iloc[int(fakes.abs().to_numpy().argmax())] if len(fakes) else math.nan
    shown, unit, d = _shown(ind, big)
    real, _, _ = _shown(ind, estimate_)
    return Check(
        "Ngày bắt đầu giả (trước khi triển khai)",
        "Fake start dates (before the launch)",
        f"{n_big}/{len(fakes)} ngày bắt đầu giả cho ước lượng lớn bằng ước lượng thật; lớn nhất "
        f"{fmt.number(shown, d, 'vi')}{unit} so với {fmt.number(real, d, 'vi')}{unit}.",
        f"{n_big} of {len(fakes)} fake start dates give an estimate as large as the real one; "
        f"the largest is {fmt.number(shown, d, 'en')}{unit} against {fmt.number(real, d, 'en')}{unit}.",
        n_big == 0,
        float(shown),
    )


def _placebo_wards(data, ind: Indicator, kw: dict) -> Check:
    try:
        ps = quiet(placebo_in_space, "twfe", data, ind.outcome, UNIT, TIME, "cohort", **kw)
    except _FAILURES as exc:
        return _failed("Phường giả định", "Placebo wards", exc)
    larger = fmt.percent(100 * (1 - ps.share_as_large), 0, "vi")
    return Check(
        "Phường đối chứng giả định được triển khai",
        "Comparison wards treated as if they had started",
        f"Ước lượng thật lớn hơn {larger} các ước lượng giả ({ps.n_placebos} phường); p theo "
        f"thứ hạng = {fmt.pvalue(ps.pvalue, 'vi')} (nhỏ nhất có thể {fmt.pvalue(ps.min_pvalue, 'vi')}).",
        f"The real estimate is larger than {fmt.percent(100 * (1 - ps.share_as_large), 0, 'en')} "
        f"of the placebo estimates ({ps.n_placebos} wards); rank p = {fmt.pvalue(ps.pvalue, 'en')} "
        f"(smallest possible {fmt.pvalue(ps.min_pvalue, 'en')}).",
        ps.share_as_large < 0.1,
        float(ps.pvalue),
    )


def _spillover(district: District, finding: Finding, win, ind: Indicator) -> Check:
    """Re-estimate without comparison wards bordering a ward treated within the window."""
    if not district.ward_table.has_adjacency:
        return Check(
            "Loại phường giáp ranh (lan tỏa)",
            "Without bordering wards (spill-over)",
            "Bảng phường không có danh sách phường giáp ranh (adjacency.csv): chưa kiểm tra được.",
            "The ward table has no list of bordering wards (adjacency.csv): not checked.",
            None,
        )
    starts = district.starts(finding.programme)
    end = win.data[TIME].max()
    treated = set(starts[starts <= end].index)
    near = {w for t in treated for w in district.neighbours(t, finding.programme)}
    far = [w for w in win.comparison if w not in near]
    o = finding.info
    if len(far) < 2:
        return Check(
            "Loại phường giáp ranh (lan tỏa)",
            "Without bordering wards (spill-over)",
            f"Chỉ còn {len(far)} phường đối chứng không giáp phường đã triển khai: không đủ để "
            "kiểm tra.",
            f"Only {len(far)} comparison ward(s) do not border a treated ward: too few to check.",
            None,
        )
    data = win.data[win.data[UNIT].isin([win.ward, *far])]
    try:
        est = estimate(data, ind)
    except _FAILURES as exc:
        return _failed("Loại phường giáp ranh", "Without bordering wards", exc)
    iv_vi = fmt.interval(est.ci_low, est.ci_high, 2, "vi")
    iv_en = fmt.interval(est.ci_low, est.ci_high, 2, "en")
    return Check(
        "Loại phường giáp ranh (lan tỏa)",
        "Without bordering wards (spill-over)",
        f"Chỉ so với {len(far)} phường không giáp phường đã triển khai: "
        f"{fmt.signed(est.estimate, 2, 'vi')} {o.unit_vi} {iv_vi}. Phường giáp ranh có thể hưởng "
        "lợi gián tiếp (xe tránh sang đường khác), làm ước lượng chính nhỏ đi.",
        f"Against the {len(far)} wards not bordering a treated ward only: "
        f"{fmt.signed(est.estimate, 2, 'en')} {o.unit_en} {iv_en}. Bordering wards may benefit "
        "indirectly (diverted traffic), which shrinks the main estimate.",
        None,
        float(est.estimate),
    )


def _failed(name_vi: str, name_en: str, exc: Exception) -> Check:
    return Check(
        name_vi,
        name_en,
        "Không thực hiện được với thiết kế này.",
        f"Not possible with this design: {exc}",
        None,
    )
