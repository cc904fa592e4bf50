"""Every estimator and every aggregation defaults to inference="auto", and on the district's
13-ward designs that default is the method the design rule picks (issue 10, item 2).

The expected method comes from :func:`choose_inference` applied to the design, not from the
estimators, so a default that drifts away from "auto" (or an "auto" that an estimator resolves
on its own) fails here.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.estimators.att_gt import AttGt
from evaluation.inference.choose import choose_inference

N_WARDS, N_WEEKS = 13, 60


def panel(cohorts: dict[int, float], seed: int = 3) -> pd.DataFrame:
    """13 wards × 60 weeks, AR(1) noise, ward and week effects; ``cohorts`` maps ward index to
    its first treated week (others never treated)."""
    rng = np.random.default_rng(seed)
    week = rng.normal(size=N_WEEKS)
    rows = []
    for i in range(N_WARDS):
        a, e = rng.normal(), 0.0
        for t in range(N_WEEKS):
            e = 0.5 * e + rng.normal()
            c = cohorts.get(i, np.nan)
            y = 20 + a + week[t] + e - (2.0 if t >= c else 0.0)
            rows.append((f"w{i:02d}", t, c, y, rng.poisson(3.0)))
    return pd.DataFrame(rows, columns=["ward", "week", "cohort", "y", "count"])


PILOT = panel({0: 40})  # one ward, 40 pre-weeks ≥ 20 post-weeks: conformal territory
SHORT_PILOT = panel({0: 44}).query("week >= 30")  # 14 pre-weeks: randomization
ROLLOUT = panel({i: 20 + 8 * ((i - 1) // 4) for i in range(1, 13)})  # 3 waves, 1 never
WAVES_WITH_CONTROLS = panel({i: 20 + 8 * ((i - 1) // 3) for i in range(1, 10)})  # 9 treated

ESTIMATORS = [
    ev.did_2x2,
    ev.twfe,
    ev.event_study,
    ev.att_gt,
    ev.synthetic_control,
    ev.synthetic_did,
]


def test_every_estimator_and_aggregation_defaults_to_auto():
    for fn in ESTIMATORS:
        params = inspect.signature(fn).parameters
        if fn is ev.att_gt:  # att_gt's table has influence-function SEs; its aggregations infer
            assert "inference" not in params
            continue
        assert params["inference"].default == "auto", fn.__name__
    assert inspect.signature(AttGt.aggregate).parameters["inference"].default == "auto"


def _expected(data: pd.DataFrame, estimator: str, n_pre: int | None = None) -> str:
    cohorts = data.groupby("ward")["cohort"].first()
    return choose_inference(
        N_WARDS,
        int(cohorts.notna().sum()),
        data["week"].nunique(),
        estimator,
        n_pre_periods=n_pre,
    )[0]


def _n_pre(data: pd.DataFrame) -> int:
    start = data["cohort"].min()
    return int((data["week"].drop_duplicates() < start).sum())


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (PILOT, "pilot"),
        (SHORT_PILOT, "short pilot"),
        (ROLLOUT, "rollout"),
        (WAVES_WITH_CONTROLS, "waves"),
    ],
)
def test_default_is_what_auto_picks_for_the_design(data, name):
    args = (data, "y", "ward", "week", "cohort")
    single = data.groupby("ward")["cohort"].first().nunique() == 1
    n_pre = _n_pre(data) if single else None

    t = ev.twfe(*args, n_boot=199)
    assert t.inference_method == _expected(data, "twfe", n_pre), name
    assert t.inference_method == ev.twfe(*args, inference="auto", n_boot=199).inference_method

    p = ev.twfe(data, "count", "ward", "week", "cohort", family="poisson", n_boot=99)
    assert p.inference_method == _expected(data, "twfe_poisson"), name

    es = ev.event_study(*args, window=(-2, 2), n_boot=99)
    assert es.inference_method == _expected(data, "event_study"), name

    fit = ev.att_gt(*args, control="notyet")
    for kind in ("simple", "dynamic", "group", "calendar"):
        overall = fit.aggregate(kind, reps=199).overall
        assert overall.inference_method == _expected(data, "att_gt"), (name, kind)

    if single:
        d = ev.did_2x2(*args, n_boot=199)
        assert d.inference_method == _expected(data, "did_2x2"), name
        # the synthetic estimators pool the units starting together: the single-path rule
        for fn, key in (
            (ev.synthetic_control, "synthetic_control"),
            (ev.synthetic_did, "synthetic_did"),
        ):
            r = fn(*args)
            assert r.inference_method == _expected(data, key, n_pre), (name, key)
            assert "chosen by inference='auto'" in r.inference


def test_the_pilot_gets_conformal_and_the_rollout_randomization():
    # the two designs of the district, spelled out (the rule itself is tested above)
    assert ev.twfe(PILOT, "y", "ward", "week", "cohort").inference_method == "conformal"
    assert ev.synthetic_did(PILOT, "y", "ward", "week", "cohort").inference_method == "conformal"
    roll = ev.att_gt(ROLLOUT, "y", "ward", "week", "cohort", control="notyet")
    assert roll.aggregate("simple", reps=199).overall.inference_method == "randomization"


@pytest.mark.parametrize(
    ("call", "method"),
    [
        (
            lambda: ev.twfe(
                WAVES_WITH_CONTROLS, "y", "ward", "week", "cohort", inference="cluster"
            ),
            "cluster",
        ),
        (
            lambda: ev.twfe(PILOT, "y", "ward", "week", "cohort", inference="wild", n_boot=99),
            "wild",
        ),
        (
            lambda: (
                ev.att_gt(ROLLOUT, "y", "ward", "week", "cohort", control="notyet")
                .aggregate("simple", inference="analytic")
                .overall
            ),
            "analytic",
        ),
        (
            lambda: ev.twfe(SHORT_PILOT, "y", "ward", "week", "cohort", inference="conformal"),
            "conformal",
        ),
    ],
)
def test_a_method_the_design_cannot_support_runs_but_warns_in_one_wording(call, method):
    r = call()
    assert r.inference_method == method
    caveats = [w for w in r.warnings if w.startswith(f"inference={method!r} was requested")]
    assert len(caveats) == 1, r.warnings
    assert "does not support it" in caveats[0] and "inference='auto' would use" in caveats[0]


def test_a_supported_request_carries_no_caveat():
    r = ev.twfe(SHORT_PILOT, "y", "ward", "week", "cohort", inference="randomization")
    assert not any("was requested" in w for w in r.warnings)
