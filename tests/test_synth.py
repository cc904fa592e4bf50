"""Synthetic control (ev.synthetic_control): published numbers, planted weights, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.core.simplex import synthdid_weights
from evaluation.data.prepare import prepare_single_unit_panel
from evaluation.errors import DataError, DesignError, InferenceError


def long_panel(Y: np.ndarray, T0: int, treated_rows=(-1,), start_offset: int = 0) -> pd.DataFrame:
    """Rows of Y are units (named u00, u01, …), columns periods 0..T-1; cohort = T0 for the
    treated rows."""
    N, T = Y.shape
    names = [f"u{i:02d}" for i in range(N)]
    treated = {names[r] for r in treated_rows}
    df = pd.DataFrame(
        [(names[i], t + start_offset, Y[i, t]) for i in range(N) for t in range(T)],
        columns=["ward", "week", "y"],
    )
    df["cohort"] = np.where(df["ward"].isin(treated), T0 + start_offset, np.nan)
    return df


def convex_case(seed: int = 3, J: int = 12, T0: int = 40, T1: int = 10, effect: float = 2.0):
    rng = np.random.default_rng(seed)
    X = np.cumsum(rng.normal(size=(J, T0 + T1)), axis=1) + rng.normal(0, 5, size=(J, 1))
    w = np.zeros(J)
    w[[0, 3, 7]] = [0.5, 0.3, 0.2]
    y = w @ X
    y[T0:] += effect
    return np.vstack([X, y]), w


# --------------------------------------------------------------------------------------------
# Published numbers: Arkhangelsky et al. (2021, AER), Table 1, California Proposition 99
# --------------------------------------------------------------------------------------------


@pytest.mark.reference
def test_prop99_synthetic_control_matches_published(prop99):
    est = ev.synthetic_control(
        prop99, "PacksPerCapita", "State", "Year", "cohort", inference="none"
    )
    assert est.estimate == pytest.approx(-19.620, abs=0.01)
    assert est.n_treated == 1 and est.n_units == 39 and est.n_obs == 1209
    w = est.unit_weights
    assert len(w) == 38 and (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert (est.time_weights == 0).all()  # SC compares levels: no pre-period baseline
    # the average post-period gap is the estimate
    assert est.paths.loc[est.paths["post"], "gap"].mean() == pytest.approx(est.estimate)


@pytest.mark.reference
def test_prop99_did_weights_match_published(prop99):
    # The shared synthdid machinery with uniform weights is plain DiD: Table 1's −27.349.
    panel = prepare_single_unit_panel(
        prop99, "PacksPerCapita", "State", "Year", "cohort", method="test", min_pre_periods=2
    )
    assert synthdid_weights(panel.Y, panel.N0, panel.T0, kind="did")["estimate"] == (
        pytest.approx(-27.349, abs=0.01)
    )


@pytest.mark.reference
def test_prop99_auto_inference_is_placebo_and_exact(prop99):
    # 19 pre-periods < 20 → placebo-in-space with 38 controls: p is a multiple of 1/39
    est = ev.synthetic_control(prop99, "PacksPerCapita", "State", "Year", "cohort")
    assert est.inference_method == "randomization"
    assert "placebo-in-space" in est.inference and "auto" in est.inference
    assert est.min_pvalue == pytest.approx(1 / 39)
    k = est.pvalue * 39
    assert k == pytest.approx(round(k)) and 1 <= round(k) <= 39
    table = est.details["placebo"]
    assert len(table) == 39 and table["treated"].sum() == 1
    # p is the treated unit's rank of the post/pre RMSPE ratio
    real = table.loc[table["treated"], "rmspe_ratio"].iloc[0]
    assert est.pvalue == pytest.approx((table["rmspe_ratio"] >= real).sum() / 39)
    assert est.ci_low < est.estimate < est.ci_high
    json.dumps(est.to_dict())  # JSON-serialisable with weights, paths and placebo table
    # Arkhangelsky et al. (2021, Table 1): placebo SE of SC 9.9 from 200 random pseudo-treated
    # states; it must lie in the 99 % Monte Carlo range of a 200-draw SD of our 38 placebos.
    placebos = table.loc[~table["treated"], "estimate"].to_numpy()
    rng = np.random.default_rng(0)
    draws = [np.std(rng.choice(placebos, 200)) for _ in range(2000)]
    lo, hi = np.percentile(draws, [0.5, 99.5])
    assert lo <= 9.9 <= hi


# --------------------------------------------------------------------------------------------
# Constructed cases
# --------------------------------------------------------------------------------------------


def test_weights_recover_exact_convex_combination():
    Y, w_true = convex_case()
    est = ev.synthetic_control(long_panel(Y, 40), "y", "ward", "week", "cohort", inference="none")
    w = est.unit_weights.reindex([f"u{i:02d}" for i in range(12)]).to_numpy()
    # synthdid's Frank–Wolfe stops near (not at) the optimum: weights within 0.02
    np.testing.assert_allclose(w, w_true, atol=0.02)
    assert est.estimate == pytest.approx(2.0, abs=0.05)  # the planted effect
    assert est.pre_rmspe < 0.05
    assert not any("Poor pre-period fit" in m for m in est.warnings)


def test_several_treated_units_are_aggregated():
    # two treated wards whose average is the convex combination: SC fits the average
    Y, w_true = convex_case(seed=5)
    rng = np.random.default_rng(0)
    d = rng.normal(0, 3, Y.shape[1])
    Y2 = np.vstack([Y[:-1], Y[-1] + d, Y[-1] - d])
    est = ev.synthetic_control(
        long_panel(Y2, 40, treated_rows=(-1, -2)), "y", "ward", "week", "cohort", inference="none"
    )
    assert est.n_treated == 2
    # Frank–Wolfe stops short of the exact fit (as synthdid's does): 0.1 on a ±10 scale
    assert est.estimate == pytest.approx(2.0, abs=0.1)
    np.testing.assert_allclose(est.paths["treated"], Y[-1], atol=1e-9)


def test_staggered_cohorts_cut_panel_before_next_start():
    Y, _ = convex_case(seed=7, T0=40, T1=20)
    df = long_panel(Y, 40)
    df.loc[df["ward"] == "u05", "cohort"] = 50  # a later cohort
    est = ev.synthetic_control(df, "y", "ward", "week", "cohort", inference="none")
    assert est.details["n_post_periods"] == 10  # periods 40..49
    assert "u05" in est.unit_weights.index  # a control while untreated
    assert any("cut before 50" in m for m in est.warnings)


def test_outside_convex_hull_warns_with_fit_error():
    Y, _ = convex_case(seed=11)
    Y[-1] = Y[:-1].max(axis=0) + 25.0  # above every control in every period
    est = ev.synthetic_control(long_panel(Y, 40), "y", "ward", "week", "cohort", inference="none")
    msg = " ".join(est.warnings)
    assert "Poor pre-period fit" in msg and "convex hull" in msg
    assert f"{est.pre_rmspe:.3g}" in msg
    assert est.pre_rmspe > 20


def test_plot_and_json():
    import matplotlib

    matplotlib.use("Agg")
    Y, _ = convex_case()
    est = ev.synthetic_control(long_panel(Y, 40), "y", "ward", "week", "cohort", inference="none")
    ax = est.plot()
    assert len(ax.lines) >= 3  # treated, synthetic, start line
    ax2 = est.plot_gap()
    assert ax2.get_ylabel().startswith("gap")
    d = json.loads(json.dumps(est.to_dict()))
    assert set(d["details"]["unit_weights"]) == {f"u{i:02d}" for i in range(12)}
    assert len(d["details"]["paths"]) == 50


# --------------------------------------------------------------------------------------------
# Inference choices
# --------------------------------------------------------------------------------------------


def test_auto_uses_conformal_with_long_pre_period():
    Y, _ = convex_case(T0=60, T1=20, effect=0.0)
    Y = Y + np.random.default_rng(1).normal(0, 0.5, Y.shape)
    est = ev.synthetic_control(long_panel(Y, 60), "y", "ward", "week", "cohort")
    assert est.inference_method == "conformal"
    assert "auto" in est.inference and "60 periods" in est.inference
    assert est.min_pvalue == pytest.approx(1 / 80)
    assert est.ci_low <= 0 <= est.ci_high  # no effect planted


def test_auto_short_design_warns_it_cannot_reach_5_percent():
    # 13 wards, 8 pre-periods: placebo-in-space, smallest p = 1/13
    Y, _ = convex_case(T0=8, T1=4, effect=30.0)
    est = ev.synthetic_control(long_panel(Y, 8), "y", "ward", "week", "cohort")
    assert est.inference_method == "randomization"
    assert est.min_pvalue == pytest.approx(1 / 13)
    assert not est.design_can_reject
    msg = " ".join(est.warnings)
    assert "cannot reach the 5% significance level" in msg
    assert "longer pre-period" in msg and "rollout" in msg
    # a huge planted effect gets the smallest attainable p, yet the CI is unbounded
    assert est.pvalue == pytest.approx(1 / 13)
    assert np.isinf(est.ci_low) and np.isinf(est.ci_high)


@pytest.mark.parametrize("inference", ["cluster", "wild"])
def test_cluster_and_wild_raise(inference):
    Y, _ = convex_case()
    with pytest.raises(InferenceError, match="one treated unit"):
        ev.synthetic_control(long_panel(Y, 40), "y", "ward", "week", "cohort", inference=inference)


def test_unknown_inference_raises():
    Y, _ = convex_case()
    with pytest.raises(InferenceError, match="jackknife.*unreliable"):
        ev.synthetic_control(
            long_panel(Y, 40), "y", "ward", "week", "cohort", inference="jackknife"
        )


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------


def _df():
    Y, _ = convex_case()
    return long_panel(Y, 40)


def test_too_few_pre_periods_says_how_many():
    Y, _ = convex_case(T0=3, T1=5)
    with pytest.raises(DesignError, match=r"at least 5 periods before the start .* has 3"):
        ev.synthetic_control(long_panel(Y, 3), "y", "ward", "week", "cohort")


def test_fewer_than_two_controls():
    df = _df()
    df = df[df["ward"].isin(["u00", "u12"])]
    with pytest.raises(DesignError, match="at least two control units.*found 1"):
        ev.synthetic_control(df, "y", "ward", "week", "cohort")


def test_missing_outcome_names_rows():
    df = _df()
    df.loc[(df["ward"] == "u03") & (df["week"] == 7), "y"] = np.nan
    with pytest.raises(DataError, match=r"missing value.*\(u03, 7\)"):
        ev.synthetic_control(df, "y", "ward", "week", "cohort")


def test_unbalanced_panel_names_unit_and_period():
    df = _df()
    df = df[~((df["ward"] == "u04") & (df["week"].isin([10, 11])))]
    with pytest.raises(DataError, match=r"unbalanced panel.*u04.*10, 11"):
        ev.synthetic_control(df, "y", "ward", "week", "cohort")


def test_duplicate_rows_and_missing_column_and_text_outcome():
    df = _df()
    with pytest.raises(DataError, match="more than one row per unit"):
        ev.synthetic_control(pd.concat([df, df.head(1)]), "y", "ward", "week", "cohort")
    with pytest.raises(DataError, match="outcome='crashes'"):
        ev.synthetic_control(df, "crashes", "ward", "week", "cohort")
    bad = df.astype({"y": object})
    bad.loc[0, "y"] = "n/a"
    with pytest.raises(DataError, match="must be numeric.*'n/a'"):
        ev.synthetic_control(bad, "y", "ward", "week", "cohort")


def test_no_treated_unit():
    df = _df()
    df["cohort"] = np.nan
    with pytest.raises(DesignError, match="no unit is treated"):
        ev.synthetic_control(df, "y", "ward", "week", "cohort")


def test_cohort_must_be_constant_within_unit():
    df = _df()
    df.loc[(df["ward"] == "u02") & (df["week"] == 0), "cohort"] = 30
    with pytest.raises(DataError, match="constant within each unit.*u02"):
        ev.synthetic_control(df, "y", "ward", "week", "cohort")


def test_dates_as_periods():
    Y, _ = convex_case()
    df = long_panel(Y, 40)
    weeks = pd.date_range("2023-01-02", periods=50, freq="W-MON")
    df["week"] = weeks[df["week"].to_numpy()]
    df["cohort"] = pd.to_datetime(np.where(df["ward"] == "u12", str(weeks[40].date()), None))
    est = ev.synthetic_control(df, "y", "ward", "week", "cohort", inference="none")
    assert est.estimate == pytest.approx(2.0, abs=0.05)
    assert est.start == weeks[40]
    json.dumps(est.to_dict())
