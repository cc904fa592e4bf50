"""Placebo checks: exact rank p-values, their inversion, and the generic in-space / in-time runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.errors import DataError, DesignError
from evaluation.inference.rank_test import placebo_space_matrix, rank_pvalue


def before_after(Yp: np.ndarray, n0: int, T0: int):
    """A transparent 'estimator' for checking the rank logic: post − pre mean of the last row,
    its gap path the row minus its pre-period mean."""
    y = Yp[-1]
    gap = y - y[:T0].mean()
    return float(gap[T0:].mean()), gap


def shifted_panel(shifts: np.ndarray, T0: int = 10, T1: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    Y = rng.normal(0, 0.01, size=(len(shifts), T0 + T1))
    Y[:, T0:] += shifts[:, None]
    return Y


def test_exact_rank_pvalue_on_constructed_case():
    # 12 controls with post-period shifts 1..12, treated shift 9.5: by |effect| the treated is
    # beaten by the controls with shifts 10, 11, 12 → rank 4 of 13 → p = 4/13
    shifts = np.r_[np.arange(1.0, 13.0), 9.5]
    Y = shifted_panel(shifts)
    est, gap = before_after(Y, 12, 10)
    res = placebo_space_matrix(
        Y,
        12,
        10,
        before_after,
        point=est,
        gap=gap,
        statistic="effect",
        level=0.95,
        max_sets=1000,
        seed=0,
        units=list(range(13)),
    )
    assert res["pvalue"] == pytest.approx(4 / 13)
    assert res["min_pvalue"] == pytest.approx(1 / 13)
    assert res["n_sets"] == 12 and res["enumerated"]
    assert rank_pvalue(100.0, np.arange(12.0)) == pytest.approx(1 / 13)
    assert rank_pvalue(-1.0, np.arange(12.0)) == pytest.approx(1.0)


@pytest.mark.parametrize("statistic", ["effect", "rmspe_ratio"])
def test_inverted_interval_matches_brute_force(statistic):
    # 39 units so that the 10 % level is reachable; compare the closed-form set with a
    # brute-force scan of θ (subtract θ from the treated post-period, recompute the rank p).
    rng = np.random.default_rng(1)
    shifts = np.r_[rng.normal(0, 1, 38), 3.0]
    Y = shifted_panel(shifts, seed=2) + rng.normal(0, 0.3, size=(39, 15))
    units = list(range(39))
    est, gap = before_after(Y, 38, 10)
    res = placebo_space_matrix(
        Y,
        38,
        10,
        before_after,
        point=est,
        gap=gap,
        statistic=statistic,
        level=0.90,
        max_sets=1000,
        seed=0,
        units=units,
    )
    accepted = []
    for theta in np.linspace(est - 6, est + 6, 801):
        Yt = Y.copy()
        Yt[-1, 10:] -= theta
        e, g = before_after(Yt, 38, 10)
        r = placebo_space_matrix(
            Yt,
            38,
            10,
            before_after,
            point=e,
            gap=g,
            statistic=statistic,
            level=0.90,
            max_sets=1000,
            seed=0,
            units=units,
        )
        if r["pvalue"] > 0.10:
            accepted.append(theta)
    step = 12 / 800
    assert min(accepted) == pytest.approx(res["ci_low"], abs=step)
    assert max(accepted) == pytest.approx(res["ci_high"], abs=step)


def test_group_placebos_enumerated_for_several_treated():
    shifts = np.r_[np.zeros(8), 5.0, 5.0]
    Y = shifted_panel(shifts)
    est, gap = before_after(Y, 8, 10)
    res = placebo_space_matrix(
        Y,
        8,
        10,
        before_after,
        point=est,
        gap=gap,
        statistic="effect",
        level=0.95,
        max_sets=1000,
        seed=0,
        units=list(range(10)),
    )
    assert res["n_sets"] == math.comb(8, 2)
    assert res["pvalue"] == pytest.approx(1 / 29)


# --------------------------------------------------------------------------------------------
# Generic runs over package estimators
# --------------------------------------------------------------------------------------------


def ward_panel(effect: float = 5.0, seed: int = 0, J: int = 8, T0: int = 20, T1: int = 6):
    rng = np.random.default_rng(seed)
    T = T0 + T1
    common = np.cumsum(rng.normal(size=T))
    Y = common[None, :] + rng.normal(0, 0.3, size=(J + 1, T)) + np.linspace(-2, 2, J + 1)[:, None]
    Y[J] = Y[:J].mean(axis=0) + rng.normal(0, 0.3, T)  # treated inside the controls' range
    Y[J, T0:] += effect
    df = pd.DataFrame(
        [(f"w{i}", t, Y[i, t]) for i in range(J + 1) for t in range(T)],
        columns=["ward", "month", "y"],
    )
    df["cohort"] = np.where(df["ward"] == f"w{J}", T0, np.nan)
    return df


def test_placebo_in_space_agrees_with_estimator_inference():
    df = ward_panel()
    res = ev.placebo_in_space("synthetic_control", df, "y", "ward", "month", "cohort")
    est = ev.synthetic_control(df, "y", "ward", "month", "cohort", inference="placebo")
    assert res.statistic == "rmspe_ratio"
    assert res.pvalue == pytest.approx(est.pvalue)
    assert res.pvalue == pytest.approx(1 / 9)  # the planted effect ranks first
    assert res.n_placebos == 8 and res.min_pvalue == pytest.approx(1 / 9)
    assert res.share_as_large == 0.0
    plc = res.table[res.table["kind"] == "placebo"].set_index("label")["estimate"]
    mine = est.details["placebo"].set_index("units")["estimate"]
    np.testing.assert_allclose(plc.sort_index(), mine.drop("w8").sort_index(), rtol=1e-9)
    json.dumps(res.to_dict())


def test_placebo_in_space_with_callable_and_effect_statistic():
    import matplotlib

    matplotlib.use("Agg")
    df = ward_panel(effect=0.0, seed=3)
    res = ev.placebo_in_space(
        ev.synthetic_did, df, "y", "ward", "month", "cohort", statistic="effect"
    )
    assert res.estimator == "synthetic_did"
    assert 0 < res.pvalue <= 1 and res.pvalue * 9 == pytest.approx(round(res.pvalue * 9))
    ax = res.plot()
    assert len(ax.lines) >= 10  # 8 placebo gaps + treated + start (+ zero line)


def test_placebo_in_time_finds_no_effect_before_start():
    import matplotlib

    matplotlib.use("Agg")
    df = ward_panel(effect=5.0)
    res = ev.placebo_in_time("synthetic_did", df, "y", "ward", "month", "cohort")
    t = res.table
    plc = t[t["kind"] == "placebo"]
    assert len(plc) == 8 and plc["label"].min() >= 10 and plc["label"].max() <= 19
    assert (plc["estimate"].abs() < 1.5).all()  # no programme yet → small placebo effects
    assert abs(res.real.estimate - 5.0) < 1.0
    assert res.share_as_large == 0.0
    res.plot()
    assert "Placebo in time" in res.summary()


def test_placebo_in_time_records_refused_runs():
    df = ward_panel()
    res = ev.placebo_in_time(
        ev.synthetic_control, df, "y", "ward", "month", "cohort", fake_starts=[3, 15]
    )
    t = res.table.set_index("label")
    assert np.isnan(t.loc[3, "estimate"]) and "at least 5 periods" in t.loc[3, "error"]
    assert np.isfinite(t.loc[15, "estimate"])
    assert res.n_placebos == 1 and any("failed" in w for w in res.warnings)


def test_placebo_bad_input():
    df = ward_panel()
    with pytest.raises(DataError, match="not an estimator"):
        ev.placebo_in_space("no_such_method", df, "y", "ward", "month", "cohort")
    with pytest.raises(DataError, match="fake_starts"):
        ev.placebo_in_time("synthetic_did", df, "y", "ward", "month", "cohort", fake_starts=[22])
    df2 = df.copy()
    df2["cohort"] = np.nan
    with pytest.raises(DesignError, match="no unit is treated"):
        ev.placebo_in_space("synthetic_did", df2, "y", "ward", "month", "cohort")


def test_placebo_in_space_with_rollout_uses_window_before_next_cohort():
    # every control ward joins at month 23: placebos run on months < 23, like the estimator
    df = ward_panel(T0=20, T1=6)
    df.loc[df["ward"].isin(["w0", "w1", "w2", "w3"]), "cohort"] = 23
    res = ev.placebo_in_space("synthetic_did", df, "y", "ward", "month", "cohort")
    direct = ev.synthetic_did(df, "y", "ward", "month", "cohort", inference="none")
    assert res.real.estimate == pytest.approx(direct.estimate)
    assert direct.details["n_post_periods"] == 3
    assert res.n_placebos == 8  # the later wards serve as placebo units too
    assert any("before 23" in w for w in res.warnings)


def _unbalanced_weighted_panel(n_units: int = 40, n_periods: int = 30, seed: int = 3):
    """Units × weeks with holes and weights (as the traffic windows of a city), the first unit
    treated from week 20 with a planted effect of −3."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        for t in range(n_periods):
            if rng.random() < 0.05:
                continue  # a missing week
            y = 10 + 0.3 * i + 0.1 * t + rng.normal(0, 1) - (3.0 if i == 0 and t >= 20 else 0)
            rows.append((f"u{i:02d}", pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=t), y))
    df = pd.DataFrame(rows, columns=["unit", "week", "y"])
    df["n_obs"] = rng.integers(4, 9, len(df)).astype(float)
    df["cohort"] = pd.NaT
    df.loc[df["unit"] == "u00", "cohort"] = pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=20)
    return df


@pytest.mark.parametrize("weights", [None, "n_obs"])
def test_batched_twfe_placebos_equal_one_run_per_placebo(weights):
    """The placebos of TWFE are computed together (one absorption for every fake treated unit
    and every fake start, :func:`evaluation.estimators.twfe.twfe_designs`); a wrapper function
    is not recognised as TWFE, so it runs the estimator once per placebo — a second
    implementation. Both must give the same table and the same rank p-values."""
    from evaluation.estimators.twfe import twfe

    df = _unbalanced_weighted_panel()
    kw = {"weights": weights} if weights else {}

    def one_by_one(*args, **kwargs):
        return twfe(*args, **kwargs)

    for check, extra in ((ev.placebo_in_space, {}), (ev.placebo_in_time, {"max_fake_starts": 6})):
        fast = check("twfe", df, "y", "unit", "week", "cohort", **extra, **kw)
        slow = check(one_by_one, df, "y", "unit", "week", "cohort", **extra, **kw)
        assert list(fast.table.columns) == list(slow.table.columns)
        assert list(fast.table["label"]) == list(slow.table["label"])
        np.testing.assert_allclose(
            fast.table["estimate"], slow.table["estimate"], rtol=1e-9, atol=1e-12
        )
        assert (fast.pvalue, fast.share_as_large, fast.n_placebos) == (
            slow.pvalue,
            slow.share_as_large,
            slow.n_placebos,
        )
    # in space the planted effect of −3 ranks first among the 39 comparison units
    assert ev.placebo_in_space("twfe", df, "y", "unit", "week", "cohort", **kw).pvalue == 1 / 40
