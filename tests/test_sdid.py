"""Synthetic DiD (ev.synthetic_did): published numbers, weights, placebo variance, jackknife."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.core.simplex import synthdid_weights
from evaluation.data.prepare import prepare_single_unit_panel
from evaluation.errors import DesignError, InferenceError
from evaluation.estimators.synth import jackknife_se, placebo_variance


def factor_panel(seed=0, J=20, N1=1, T0=30, T1=8, effect=3.0, level_gap=10.0):
    """Interactive fixed effects: Y = α_i + γ_t + μ_i f_t + ε, treated units shifted by a
    constant level (which SDID's intercept absorbs) and by ``effect`` after T0."""
    rng = np.random.default_rng(seed)
    T = T0 + T1
    N = J + N1
    f = np.cumsum(rng.normal(size=T))
    mu = rng.uniform(0.5, 1.5, N)
    Y = rng.normal(0, 2, N)[:, None] + rng.normal(0, 1, T)[None, :] + mu[:, None] * f[None, :]
    Y += rng.normal(0, 0.5, size=(N, T))
    Y[J:] += level_gap
    Y[J:, T0:] += effect
    df = pd.DataFrame(
        [(f"u{i:02d}", t, Y[i, t]) for i in range(N) for t in range(T)],
        columns=["ward", "week", "y"],
    )
    df["cohort"] = np.where(df["ward"].isin([f"u{i:02d}" for i in range(J, N)]), T0, np.nan)
    return df


@pytest.mark.reference
def test_prop99_sdid_matches_published(prop99):
    est = ev.synthetic_did(prop99, "PacksPerCapita", "State", "Year", "cohort", inference="none")
    assert est.estimate == pytest.approx(-15.604, abs=0.01)
    assert est.unit_weights.sum() == pytest.approx(1.0) and (est.unit_weights >= 0).all()
    assert est.time_weights.sum() == pytest.approx(1.0) and (est.time_weights >= 0).all()
    # synthdid's time weights concentrate on the last pre-treatment years (AER 2021, Fig. 1)
    assert est.time_weights.loc[[1986, 1987, 1988]].sum() > 0.95
    # the shifted synthetic path reproduces the estimate as the mean post-period gap
    assert est.paths.loc[est.paths["post"], "gap"].mean() == pytest.approx(est.estimate)
    json.dumps(est.to_dict())


@pytest.mark.reference
def test_prop99_placebo_se_consistent_with_published(prop99):
    # Arkhangelsky et al. (2021, Table 1) report placebo SEs 8.4 (SDID) and 17.7 (DID) from
    # 200 random draws of a pseudo-treated state. We use all 38 placebos; the published values
    # must lie in the 99 % Monte Carlo range of a 200-draw SD from them. (SC's 9.9 is checked
    # in test_synth.py on the placebo-in-space estimates.)
    panel = prepare_single_unit_panel(
        prop99, "PacksPerCapita", "State", "Year", "cohort", method="test", min_pre_periods=2
    )
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    rng = np.random.default_rng(0)
    for kind, published in (("sdid", 8.4), ("did", 17.7)):
        w = synthdid_weights(Y, N0, T0, kind=kind)
        se, info = placebo_variance(
            Y, N0, T0, kind=kind, zeta_omega=w["zeta_omega"], zeta_lambda=w["zeta_lambda"]
        )
        ests = np.array(info["details"]["placebo_estimates"])
        assert len(ests) == 38 and se == pytest.approx(np.std(ests))
        draws = [np.std(rng.choice(ests, 200)) for _ in range(2000)]
        lo, hi = np.percentile(draws, [0.5, 99.5])
        assert lo <= published <= hi, (kind, se, lo, hi)


def test_level_difference_is_absorbed():
    # the treated units sit 10 above all controls: SC cannot fit, SDID's intercept can
    df = factor_panel(seed=1)
    sdid = ev.synthetic_did(df, "y", "ward", "week", "cohort", inference="none")
    sc = ev.synthetic_control(df, "y", "ward", "week", "cohort", inference="none")
    assert sdid.estimate == pytest.approx(3.0, abs=1.0)
    assert abs(sc.estimate - 3.0) > abs(sdid.estimate - 3.0)
    assert any("convex hull" in w for w in sc.warnings)
    assert not any("Poor pre-period fit" in w for w in sdid.warnings)


def test_jackknife_matches_direct_computation():
    df = factor_panel(seed=2, N1=4)
    est = ev.synthetic_did(df, "y", "ward", "week", "cohort", inference="jackknife")
    assert est.inference_method == "jackknife" and est.n_treated == 4
    # second implementation: leave each unit out, renormalise ω, keep λ (synthdid's
    # jackknife_se), written here with pandas on the long table
    wide = df.pivot(index="ward", columns="week", values="y")
    omega = est.unit_weights
    lam = est.time_weights
    treated = [u for u in wide.index if u not in omega.index]
    post = [t for t in wide.columns if t >= 30]

    def tau(drop):
        w = omega.drop([drop] if drop else [], errors="ignore")
        w = w / w.sum()
        tr = [u for u in treated if u != drop]
        diff = wide.loc[tr].mean() - (wide.loc[w.index].mul(w, axis=0)).sum()
        return diff[post].mean() - (diff[lam.index] * lam).sum()

    assert tau(None) == pytest.approx(est.estimate)
    u = np.array([tau(d) for d in wide.index])
    n = len(u)
    se = np.sqrt((n - 1) / n * np.sum((u - u.mean()) ** 2))
    assert est.se == pytest.approx(se, rel=1e-10)
    assert est.ci_low == pytest.approx(est.estimate - 1.959964 * se, rel=1e-6)


def test_jackknife_needs_two_treated():
    df = factor_panel(seed=3)
    with pytest.raises(InferenceError, match="at least two treated units"):
        ev.synthetic_did(df, "y", "ward", "week", "cohort", inference="jackknife")
    se, info = jackknife_se(np.zeros((5, 6)), 4, 3, np.full(4, 0.25), np.full(3, 1 / 3))
    assert np.isnan(se) and "two treated" in info["why"]


def test_placebo_variance_covers_in_simulation():
    # Algorithm 4 with homoskedastic units: its SE estimates the estimator's sampling SD, so
    # the normal 95 % interval covers the planted effect in about 95 % of 300 panels (uniform
    # weights, so the check is fast; binomial sd of the coverage 1.3 points).
    rng = np.random.default_rng(7)
    J, T0, T1, hits = 30, 8, 4, 0
    for _ in range(300):
        Y = rng.normal(size=(J + 1, T0 + T1)) + rng.normal(0, 3, size=(J + 1, 1))
        Y[J, T0:] += 2.0
        tau = synthdid_weights(Y, J, T0, kind="did")["estimate"]
        se, _ = placebo_variance(Y, J, T0, kind="did", zeta_omega=0.0, zeta_lambda=0.0)
        hits += abs(tau - 2.0) <= 1.959964 * se
    assert 0.90 <= hits / 300 <= 0.985


def test_auto_placebo_groups_for_several_treated_short_pre_period():
    df = factor_panel(seed=4, J=9, N1=2, T0=10, T1=4, effect=8.0)
    est = ev.synthetic_did(df, "y", "ward", "week", "cohort")
    assert est.inference_method == "randomization"
    assert est.min_pvalue == pytest.approx(1 / 37)  # C(9, 2) = 36 placebo pairs + the real one
    assert est.pvalue == pytest.approx(1 / 37)


def test_auto_conformal_with_long_pre_period():
    df = factor_panel(seed=5, J=12, T0=60, T1=20, effect=0.0)
    est = ev.synthetic_did(df, "y", "ward", "week", "cohort")
    assert est.inference_method == "conformal" and "auto" in est.inference
    assert est.min_pvalue == pytest.approx(1 / 80)


def test_bad_input_sdid():
    df = factor_panel(seed=6, T0=2, T1=3)
    with pytest.raises(DesignError, match="at least 3 periods before the start.*has 2"):
        ev.synthetic_did(df, "y", "ward", "week", "cohort")
    with pytest.raises(InferenceError, match="one treated unit"):
        ev.synthetic_did(factor_panel(), "y", "ward", "week", "cohort", inference="cluster")
