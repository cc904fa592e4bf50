"""The vectorised randomization inference equals the generic one (re-running the estimator).

For TWFE and for Callaway & Sant'Anna's aggregations the estimators hand randomization
inference an exact batch form (all re-assignments at once, with array operations). Here each
result is computed twice — with the batch, and with the batch switched off so that the
estimator is re-run on every re-assigned data set — and the re-assignment distributions, the
p-values and the test-inversion intervals must agree to 1e-10. The designs cover one treated
ward (exact enumeration), staggered cohorts with and without never-treated units, not-yet-treated
comparisons, anticipation, a universal base period, dates as periods, cohorts after the sample,
shuffled rows and strata.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.data.prepare import prepare
from evaluation.estimators import att_gt as att_gt_module
from evaluation.estimators import twfe as twfe_module
from evaluation.inference import randomization as ri
from evaluation.inference.randomization import invert_linear, randomization_inference

TOL = 1e-10


def district(cohorts, n_t=30, effect=-2.0, seed=0, dates=False, shuffle=False):
    """13 wards (or len(cohorts)), AR(1) noise, ward and period effects, planted effect."""
    rng = np.random.default_rng(seed)
    n = len(cohorts)
    coh = np.asarray(cohorts, dtype=float)
    unit = np.repeat(np.arange(n), n_t)
    t = np.tile(np.arange(n_t), n)
    e = np.zeros((n, n_t))
    for s in range(n_t):
        e[:, s] = (0.5 * e[:, s - 1] if s else 0.0) + rng.normal(size=n)
    c = coh[unit]
    treated = ~np.isnan(c) & (t >= c)
    y = 20 + 3 * rng.normal(size=n)[unit] + rng.normal(size=n_t)[t] + e.ravel() + effect * treated
    names = np.array([f"P. {chr(0x1EA0 + i)}{i}" for i in range(n)])  # non-ASCII ward names
    d = pd.DataFrame({"ward": names[unit], "week": t, "y": y, "cohort": c})
    d["stratum"] = np.where(unit % 2 == 0, "a", "b")
    if dates:
        start = pd.Timestamp("2023-01-02")
        d["week"] = start + pd.to_timedelta(7 * d["week"], unit="D")
        d["cohort"] = start + pd.to_timedelta(7 * d["cohort"], unit="D")  # NaN -> NaT
    if shuffle:
        d = d.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return d


PILOT = [12] + [np.nan] * 12
ROLLOUT = [np.nan] + [10] * 4 + [14] * 4 + [18] * 4
NO_NEVER = [8] * 4 + [12] * 4 + [16] * 5
TWO_NEVER = [np.nan, np.nan, 6, 6, 6, 11, 11, 11, 11, 19, 19, 19, 19]


def results_both_ways(monkeypatch, run):
    """Run ``run()`` with the vectorised batch and with it switched off; return both
    RandomizationResults and the two outputs of ``run``."""
    captured = []
    real = ri.randomization_inference

    def spy(*args, **kwargs):
        res = real(*args, **kwargs)
        captured.append((res, kwargs.get("fast") is not None))
        return res

    monkeypatch.setattr(ri, "randomization_inference", spy)
    out_fast = run()
    n_fast = len(captured)
    monkeypatch.setattr(twfe_module, "_randomization_batch", lambda prep: None)
    monkeypatch.setattr(twfe_module, "_projected_batch", lambda prep: None)
    monkeypatch.setattr(att_gt_module.AttGt, "_randomization_batch", lambda self, *a: None)
    monkeypatch.setattr(att_gt_module.AttGt, "_weights_batch", lambda self, *a, **k: None)
    out_slow = run()
    # the overall effect is the first test of each run (a group aggregation then tests each
    # cohort too: the same pairing holds for every one of them)
    assert len(captured) == 2 * n_fast
    for (f, used_f), (s, used_s) in zip(captured[:n_fast], captured[n_fast:], strict=True):
        assert used_f and not used_s
        assert_same(f, s)
    (fast, _), (slow, _) = captured[0], captured[n_fast]
    return fast, slow, out_fast, out_slow


def assert_same(fast, slow):
    assert fast.exact == slow.exact and fast.n_assignments == slow.n_assignments
    assert len(fast.distribution) == len(slow.distribution)
    np.testing.assert_allclose(fast.distribution, slow.distribution, rtol=0, atol=TOL)
    assert fast.pvalue == slow.pvalue
    for a, b in ((fast.ci_low, slow.ci_low), (fast.ci_high, slow.ci_high)):
        assert a == pytest.approx(b, abs=TOL) or (np.isinf(a) and a == b)
    assert fast.estimate == pytest.approx(slow.estimate, abs=TOL)


@pytest.mark.parametrize(
    "cohorts, dates, shuffle, reps",
    [
        (PILOT, False, False, 999),  # one treated ward: all 13 assignments
        (ROLLOUT, False, True, 199),  # 3 waves + 1 never-treated, sampled
        (NO_NEVER, True, False, 199),  # no never-treated, dates as periods
        ([3, 3] + [np.nan] * 5, False, False, 999),  # 21 assignments, exact
        (TWO_NEVER[:-2] + [40, 40], False, True, 199),  # two cohorts after the sample
    ],
)
def test_twfe_fast_path_equals_refitting(monkeypatch, cohorts, dates, shuffle, reps):
    d = district(cohorts, dates=dates, shuffle=shuffle, seed=len(cohorts) + reps)

    def run():
        return ev.twfe(d, "y", "ward", "week", "cohort", inference="randomization", n_boot=reps)

    fast, slow, est_fast, est_slow = results_both_ways(monkeypatch, run)
    assert_same(fast, slow)
    assert est_fast.pvalue == est_slow.pvalue
    assert "vectorised" in est_fast.inference and "vectorised" not in est_slow.inference


@pytest.mark.parametrize("kind", ["simple", "dynamic", "group", "calendar"])
@pytest.mark.parametrize(
    "cohorts, control, options, dates",
    [
        (PILOT, "never", {}, False),
        (ROLLOUT, "never", {}, False),
        (ROLLOUT, "notyet", {"anticipation": 1}, True),
        (NO_NEVER, "notyet", {}, False),
        (TWO_NEVER, "notyet", {"base_period": "universal"}, True),
    ],
)
def test_att_gt_fast_path_equals_refitting(monkeypatch, kind, cohorts, control, options, dates):
    d = district(cohorts, n_t=24, dates=dates, shuffle=True, seed=7)
    agg_kw = {"max_e": 6} if kind == "dynamic" else {}

    def run():
        res = ev.att_gt(d, "y", "ward", "week", "cohort", control=control, **options)
        return res.aggregate(kind, inference="randomization", reps=49, **agg_kw).overall

    fast, slow, o_fast, o_slow = results_both_ways(monkeypatch, run)
    assert_same(fast, slow)
    assert o_fast.estimate == o_slow.estimate
    assert (o_fast.ci_low, o_fast.ci_high) == pytest.approx((o_slow.ci_low, o_slow.ci_high))


def test_the_fast_paths_step_aside_where_they_do_not_apply():
    d = district(TWO_NEVER, seed=2)
    d["x"] = np.random.default_rng(0).normal(size=len(d))
    d["pop"] = 1.0 + (d["ward"].str.len() % 3)
    with_x = ev.att_gt(d, "y", "ward", "week", "cohort", covariates=["x"], est_method="reg")
    assert with_x._fast is None
    assert ev.att_gt(d, "y", "ward", "week", "cohort", weights="pop")._fast is None
    assert ev.att_gt(d, "y", "ward", "week", "cohort")._fast is not None
    for kw in ({"controls": ["x"]}, {"weights": "pop"}):
        prep = prepare(d, "y", "ward", "week", "cohort", estimator="twfe", **kw)
        assert twfe_module._randomization_batch(prep) is None
    unbalanced = d.drop(index=d.index[5])
    prep = prepare(unbalanced, "y", "ward", "week", "cohort", estimator="twfe")
    assert twfe_module._randomization_batch(prep) is None
    # ...where the residualised-treatment batch takes over (tested against refits above)...
    assert twfe_module._projected_batch(prep) is not None
    r = ev.twfe(unbalanced, "y", "ward", "week", "cohort", inference="randomization", n_boot=49)
    assert np.isfinite(r.pvalue) and "vectorised" in r.inference
    # ...except on panels too large to residualise in blocks: then the estimator re-fits
    big = prepare(unbalanced, "y", "ward", "week", "cohort", estimator="twfe")
    big.y = np.resize(big.y, twfe_module._PROJECTION_MAX_ROWS + 1)
    assert twfe_module._projected_batch(big) is None


@pytest.mark.parametrize("n_wards, reps", [(13, 99), (7, 10_000)])
def test_strata_and_the_batch_agree_when_called_directly(n_wards, reps):
    """Permuting within strata: sampled on 13 wards, enumerated (exact) on 7."""
    d = district(ROLLOUT, seed=11)
    d = d[d["ward"].isin(sorted(d["ward"].unique())[:n_wards])]
    prep = prepare(d, "y", "ward", "week", "cohort", estimator="twfe")

    def fit(x):
        return ev.twfe(x, "y", "ward", "week", "cohort", inference="none").estimate

    kw = dict(unit="ward", cohort="cohort", time="week", outcome="y", linear=True, strata="stratum")
    fast = randomization_inference(
        fit, d, reps=reps, fast=twfe_module._randomization_batch(prep), **kw
    )
    slow = randomization_inference(fit, d, reps=reps, **kw)
    assert fast.exact == (n_wards == 7)
    assert_same(fast, slow)


def brute_force_interval(a0, b0, a, b, level):
    """The definition: p(τ) at every crossing, between crossings and beyond both ends."""
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        cand = np.concatenate([(a0 - a) / (b0 - b), (a0 + a) / (b0 + b)])
    cand = np.unique(cand[np.isfinite(cand)])
    mids = np.concatenate([[cand[0] - 1.0], (cand[:-1] + cand[1:]) / 2, [cand[-1] + 1.0]])
    points = np.sort(np.concatenate([cand, mids]))

    def p_at(tau):
        t_obs = abs(a0 - tau * b0)
        return np.mean(np.abs(a - tau * b) >= t_obs - 1e-10 * max(1.0, t_obs))

    acc = np.array([p_at(t) > alpha for t in points])
    if not acc.any():
        return np.nan, np.nan
    lo = -np.inf if acc[0] else points[acc].min()
    hi = np.inf if acc[-1] else points[acc].max()
    return lo, hi


@pytest.mark.parametrize("seed", range(12))
def test_interval_inversion_equals_the_brute_force_scan(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(5, 400))
    a = rng.normal(size=k) * rng.uniform(0.1, 3)
    b = rng.normal(size=k) * rng.uniform(0.0, 1.0)
    a0, b0 = float(rng.normal() * 2), float(rng.uniform(0.2, 1.5))
    if seed % 3 == 0:  # assignments that equal the observed one, or share its θ(D)
        a[:3], b[:3] = a0, b0
        b[3:6] = b0
        b[6:9] = -b0
    if seed % 4 == 1:  # duplicated assignments (a permutation that swaps alike units)
        a[k // 2 :], b[k // 2 :] = a[: k - k // 2], b[: k - k // 2]
    level = [0.95, 0.9, 0.8][seed % 3]
    got = invert_linear(a0, b0, a, b, level)
    want = brute_force_interval(a0, b0, a, b, level)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_interval_inversion_with_too_few_assignments_is_unbounded():
    a = np.array([0.3, -0.2, 0.1, 1.0])  # 4 assignments: p ≥ 1/4 for every τ
    b = np.array([0.1, 0.05, -0.1, 1.0])
    assert invert_linear(1.0, 1.0, a, b, 0.95) == (-np.inf, np.inf)


@pytest.mark.parametrize("variant", ["weights", "unbalanced", "controls"])
def test_twfe_projected_fast_path_equals_refitting(monkeypatch, variant):
    """Weighted, unbalanced or with controls: the residualised-treatment batch (one absorption
    for hundreds of assignments) gives the refits' estimates to 1e-10."""
    d = district(ROLLOUT, seed=11, shuffle=True)
    kw = {}
    if variant == "weights":
        d["w"] = 1.0 + (np.arange(len(d)) % 7)
        kw["weights"] = "w"
    elif variant == "unbalanced":
        d = d.drop(index=d.index[::9]).reset_index(drop=True)
    else:
        d["x"] = np.sin(np.arange(len(d)) / 3.0) + d["y"] * 0.0
        kw["controls"] = ["x"]

    def run():
        return ev.twfe(
            d, "y", "ward", "week", "cohort", inference="randomization", n_boot=199, **kw
        )

    fast, slow, est_fast, est_slow = results_both_ways(monkeypatch, run)
    assert_same(fast, slow)
    assert est_fast.pvalue == est_slow.pvalue
