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
from evaluation.i18n import Text, both, say, say_in

__all__ = ["add_checks"]

_FAILURES = (DesignError, DataError, InferenceError)

# TRANSLATORS: the names of the checks of a ward's estimate (the first of each pair when the
# check ran, the second when it could not)
_FAKE_STARTS = say("Fake start dates (before the launch)")
_FAKE_STARTS_FAILED = say("Fake start dates")
_PLACEBO_WARDS = say("Comparison wards treated as if they had started")
_PLACEBO_WARDS_FAILED = say("Placebo wards")
_SPILLOVER = say("Without bordering wards (spill-over)")
_SPILLOVER_FAILED = say("Without bordering wards")


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
        return _failed(_FAKE_STARTS_FAILED, exc)
    fakes = pt.table[pt.table["kind"] == "placebo"]["estimate"].dropna()
    n_big = int((fakes.abs() >= abs(estimate_)).sum())
    big = fakes.iloc[int(fakes.abs().to_numpy().argmax())] if len(fakes) else math.nan
    shown, unit, d = _shown(ind, big)
    real, _, _ = _shown(ind, estimate_)
    said = say(
        "{n} of {total} fake start dates give an estimate as large as the real one; the largest "
        "is {largest} against {real}.",
        n=str(n_big),
        total=str(len(fakes)),
        largest=both(fmt.number, shown, d) + unit,
        real=both(fmt.number, real, d) + unit,
    )
    return Check(*_FAKE_STARTS, *said, n_big == 0, float(shown))


def _placebo_wards(data, ind: Indicator, kw: dict) -> Check:
    try:
        ps = quiet(placebo_in_space, "twfe", data, ind.outcome, UNIT, TIME, "cohort", **kw)
    except _FAILURES as exc:
        return _failed(_PLACEBO_WARDS_FAILED, exc)
    said = say(
        "The real estimate is larger than {share} of the placebo estimates ({n} wards); rank "
        "p = {p} (smallest possible {min_p}).",
        share=both(fmt.percent, 100 * (1 - ps.share_as_large), 0),
        n=str(ps.n_placebos),
        p=both(fmt.pvalue, ps.pvalue),
        min_p=both(fmt.pvalue, ps.min_pvalue),
    )
    return Check(*_PLACEBO_WARDS, *said, ps.share_as_large < 0.1, float(ps.pvalue))


def _spillover(district: District, finding: Finding, win, ind: Indicator) -> Check:
    """Re-estimate without comparison wards bordering a ward treated within the window."""
    if not district.ward_table.has_adjacency:
        said = say("The ward table has no list of bordering wards (adjacency.csv): not checked.")
        return Check(*_SPILLOVER, *said, None)
    starts = district.starts(finding.programme)
    end = win.data[TIME].max()
    treated = set(starts[starts <= end].index)
    near = {w for t in treated for w in district.neighbours(t, finding.programme)}
    far = [w for w in win.comparison if w not in near]
    o = finding.info
    if len(far) < 2:
        said = say(
            "Only {n} comparison ward(s) do not border a treated ward: too few to check.",
            n=str(len(far)),
        )
        return Check(*_SPILLOVER, *said, None)
    data = win.data[win.data[UNIT].isin([win.ward, *far])]
    try:
        est = estimate(data, ind)
    except _FAILURES as exc:
        return _failed(_SPILLOVER_FAILED, exc)
    said = say(
        "Against the {n} wards not bordering a treated ward only: {estimate} {unit} {interval}. "
        "Bordering wards may benefit indirectly (diverted traffic), which shrinks the main "
        "estimate.",
        n=str(len(far)),
        estimate=both(fmt.signed, est.estimate, 2),
        unit=o.units,
        interval=both(fmt.interval, est.ci_low, est.ci_high, 2),
    )
    return Check(*_SPILLOVER, *said, None, float(est.estimate))


def _failed(name: Text, exc: Exception) -> Check:
    """A check the design could not run: the English says why in the method's own (English)
    error message; the Vietnamese page says only that it could not be run."""
    return Check(
        *name,
        # TRANSLATORS: on the Vietnamese page, where the method's English error is not shown
        say_in("Not possible with this design.", "vi"),
        # TRANSLATORS: {reason} is the method's error message, in English only
        say_in("Not possible with this design: {reason}", "en", reason=str(exc)),
        None,
    )
