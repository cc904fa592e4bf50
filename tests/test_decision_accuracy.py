"""The reports' verdicts on districts other than the demo: a reduced run of the decision-accuracy
study (:mod:`evaluation.validation.decision_accuracy`).

Each district is generated with a random pilot ward, wave order and planted effects
(:mod:`evaluation.synthetic.scenarios`), written in the documented input format and read back
through the analysis layer the notebooks use. What must hold on *any* district:

* no number is shown under a ward it does not belong to (attribution errors: 0);
* every verdict agrees with its own statistics (Improved ⇔ interval excludes 0 on the good
  side and the adjusted p-value is below 0.05; a number-less finding never gets a verdict
  other than "Design cannot decide");
* with a large planted effect the headlines find it, and their intervals cover it.

The full study (hundreds of districts, false-verdict rates and coverage by family) is
``simulations/decision_accuracy.py``; its results are in
``simulations/results/decision_accuracy.md``.
"""

from __future__ import annotations

import functools
import math
import tempfile

import numpy as np
import pytest

from evaluation.analysis.district import load_district
from evaluation.analysis.evaluate import district_findings
from evaluation.synthetic.scenarios import random_scenario, write_district
from evaluation.validation import decision_accuracy as study

pytestmark = pytest.mark.slow

KINDS = ("null", "large", "heterogeneous_waves", "spillover")


@functools.cache
def _simulate(kind: str):
    """One generated district of ``kind``, analysed (cached: every test reads the same one)."""
    rng = np.random.default_rng([7, KINDS.index(kind)])
    scenario = random_scenario(rng, kind)
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_district(tmp, scenario, seed=int(rng.integers(2**31)))
        district = load_district(tmp, truth.registry_path)
        findings = district_findings(district)
        errors = study.attribution_errors(district, findings)
    return kind, scenario, district, findings, errors


@pytest.fixture(autouse=True)
def _no_disk_cache(monkeypatch):
    monkeypatch.setenv("PILOT_EVAL_CACHE", "off")  # every district is new


@pytest.fixture(params=KINDS)
def simulated(request):
    return _simulate(request.param)


def test_no_number_under_a_ward_it_does_not_belong_to(simulated):
    kind, _, _, findings, errors = simulated
    assert findings
    assert errors == [], f"{kind}: {errors}"


def test_pilot_findings_are_the_registrys_pilot(simulated):
    _, _, district, findings, _ = simulated
    for f in findings:
        if f.level == "pilot":
            assert f.ward == district.pilot_ward(f.programme)
            if f.has_number:
                assert f.wards == [f.ward]


def test_every_verdict_agrees_with_its_own_statistics(simulated):
    kind, _, _, findings, _ = simulated
    checked = 0
    for f in findings:
        v = f.verdict
        if v is None:
            continue
        s = f.shown
        if not f.has_number:
            assert v.category == "design_limited", f.id
            continue
        if v.category in ("improved", "worsened"):
            checked += 1
            assert v.p_adjusted is not None and v.p_adjusted < 0.05, f.id
            assert s.ci_low is not None and s.ci_high is not None, f.id
            assert not (s.ci_low <= 0 <= s.ci_high), f"{f.id}: interval includes 0"
            lower = f.info.lower_is_better
            good = (s.estimate < 0) == lower
            assert (v.category == "improved") == good, f"{f.id}: {v.category} with {s.estimate}"
            # the interval lies on the verdict's side
            assert (s.ci_high < 0) == (s.estimate < 0), f.id
        elif v.category == "unclear":
            interval_excludes = (
                s.ci_low is not None
                and s.ci_high is not None
                and math.isfinite(s.ci_low)
                and math.isfinite(s.ci_high)
                and not (s.ci_low <= 0 <= s.ci_high)
            )
            if interval_excludes:  # then the adjusted p-value must be what held it back
                assert v.p_adjusted is None or v.p_adjusted >= 0.05, f.id
    if kind == "large":
        assert checked > 0


def test_large_effects_are_found_and_covered():
    _, _, _, findings, _ = _simulate("large")
    heads = {
        f.level: f
        for f in findings
        if f.programme == "traffic_model" and f.outcome == "congestion_minutes"
        if f.role == "headline"
    }
    for level in ("pilot", "district"):
        f = heads[level]
        assert f.verdict.category == "improved", (level, f.verdict.text_en)
        assert f.truth is not None and f.truth < 0
        assert f.shown.ci_low <= f.truth <= f.shown.ci_high, (level, f.truth, f.shown)


def test_no_effect_is_not_called_an_improvement_in_the_headlines():
    _, _, _, findings, _ = _simulate("null")
    for f in findings:
        if f.role == "headline" and f.verdict is not None:
            assert f.truth is None or abs(f.truth) < 1e-9
            assert f.verdict.category != "improved", f"{f.id}: {f.verdict.text_en}"
