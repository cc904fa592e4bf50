"""Randomization inference for Poisson TWFE: the vectorised solver, the interval, its validity.

``ev.twfe(..., family="poisson")`` gets its randomization interval by inverting the test under
a constant proportional effect, Y(0) = Y·exp(−τD), with every assignment solved at once by
:class:`evaluation.core.poisson_batch.PoissonTwfeBatch`. Checked here:

* the vectorised estimates equal the generic refit (``twfe(..., inference="none")`` on the
  re-assigned data) to 1e-8 on every assignment and τ, on panels with constant and
  time-varying exposure, without exposure, with all-zero wards and months dropped, with
  cohorts after the sample, and with shuffled rows; the fallback (several rows per cell)
  gives the generic p-value and says why there is no interval;
* (a) the interval is the set {τ : p(τ) > α} found by brute force on a grid of τ with the
  generic refit (all 30 assignments of a small design);
* (b) coverage of a planted constant proportional effect and (c) size at no effect, on
  fire-like district panels (:mod:`evaluation.validation.count_intervals`), within Monte-Carlo bands.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.data.prepare import prepare
from evaluation.errors import InferenceError
from evaluation.estimators import twfe as twfe_module
from evaluation.inference import randomization as ri
from evaluation.validation import count_intervals as cs

TOL = 1e-8


def counts_panel(cohorts, n_t=24, seed=0, exposure="constant", mean=2.0, effect=-0.4):
    """Ward × period Poisson counts with ward and period effects and a proportional effect."""
    rng = np.random.default_rng(seed)
    n = len(cohorts)
    coh = np.asarray(cohorts, dtype=float)
    pop = rng.uniform(5e3, 4e4, n)
    if exposure == "growing":  # ward-specific growth: the exposure is not separable
        pop_it = pop[:, None] * np.exp(rng.uniform(-0.01, 0.03, n)[:, None] * np.arange(n_t))
    else:
        pop_it = np.broadcast_to(pop[:, None], (n, n_t))
    rate = pop_it / pop.mean() * np.exp(rng.normal(0, 0.3, n)[:, None] + rng.normal(0, 0.2, n_t))
    treated = np.arange(n_t)[None, :] >= coh[:, None]  # NaN compares False
    y = rng.poisson(mean * rate * np.exp(effect * treated))
    names = np.array([f"P. {chr(0x1EA0 + i)}{i}" for i in range(n)])
    d = pd.DataFrame(
        {
            "ward": np.repeat(names, n_t),
            "t": np.tile(np.arange(n_t), n),
            "y": y.ravel().astype(float),
            "pop": pop_it.ravel(),
            "cohort": np.repeat(coh, n_t),
        }
    )
    return d if exposure != "none" else d.drop(columns="pop")


def generic_estimates(d, donors, tau, exposure):
    """β̂ under each assignment on Y·exp(−τD) by re-running the estimator (the generic path)."""
    units = np.sort(d["ward"].unique())
    observed = d.groupby("ward")["cohort"].first().reindex(units).to_numpy()
    code = pd.Index(units).get_indexer(d["ward"])
    d_obs = (d["t"] >= d["cohort"]).to_numpy()  # NaN compares False
    y_tau = d["y"].to_numpy() * np.exp(-tau * d_obs)
    out = []
    for row in donors:
        data = d.assign(y=y_tau, cohort=observed[row][code])
        e = ev.twfe(data, "y", "ward", "t", "cohort", family="poisson", exposure=exposure,
                    inference="none")  # fmt: skip
        out.append(e.estimate)
    return np.array(out)


def batch_of(d, exposure):
    prep = prepare(d, "y", "ward", "t", "cohort", estimator="twfe", exposure=exposure,
                   count_outcome=True)  # fmt: skip
    keep = twfe_module._drop_all_zero_groups(prep.y, [prep.unit, prep.time])
    return twfe_module._poisson_randomization_batch(prep, keep), keep


STAGGERED = [6, 7, 9, 9, 11, 13, 14, 16, 17, 19, 21, np.nan, np.nan]  # like the fire points


@pytest.mark.parametrize(
    "case",
    [
        "constant exposure",
        "growing exposure",
        "no exposure",
        "all-zero ward and months",
        "cohorts after the sample, shuffled",
    ],  # fmt: skip
)
def test_vectorised_poisson_equals_the_generic_refit(case):
    cohorts, exposure_kind, n_t = STAGGERED, "constant", 24
    if case == "growing exposure":
        exposure_kind = "growing"
    elif case == "no exposure":
        exposure_kind = "none"
    elif case == "cohorts after the sample, shuffled":
        cohorts = STAGGERED[:9] + [30, 30, np.nan, np.nan]
    d = counts_panel(cohorts, n_t=n_t, seed=len(case), exposure=exposure_kind)
    if case == "all-zero ward and months":
        # ward 2 (treated, so kept wards receive its cohort) and two months have no counts
        zero = (d["ward"] == d["ward"].unique()[2]) | d["t"].isin([3, 12])
        d.loc[zero, "y"] = 0.0
    if case.endswith("shuffled"):
        d = d.sample(frac=1.0, random_state=3).reset_index(drop=True)
    exposure = None if exposure_kind == "none" else "pop"
    batch, keep = batch_of(d, exposure)
    assert batch is not None
    if case == "all-zero ward and months":
        assert (~keep).sum() == n_t + 2 * (len(cohorts) - 1)
    rng = np.random.default_rng(1)
    n = len(cohorts)
    donors = np.vstack([np.arange(n), [rng.permutation(n) for _ in range(11)]])
    units = pd.Index(np.sort(d["ward"].unique()))
    for tau in (0.0, math.log(0.5), 0.7):
        fast = batch(units, donors, tau)
        slow = generic_estimates(d, donors, tau, exposure)
        np.testing.assert_allclose(fast, slow, rtol=0, atol=TOL)


def test_the_observed_assignment_gives_the_reported_estimate():
    d = counts_panel(STAGGERED, seed=5)
    batch, _ = batch_of(d, "pop")
    e = ev.twfe(d, "y", "ward", "t", "cohort", family="poisson", exposure="pop", inference="none")
    identity = np.arange(len(STAGGERED))[None, :]
    assert batch(pd.Index(np.sort(d["ward"].unique())), identity, 0.0)[0] == pytest.approx(
        e.estimate, abs=TOL
    )


def spy_results(monkeypatch):
    """Capture every RandomizationResult that randomization_inference returns."""
    captured = []
    real = ri.randomization_inference

    def spy(*args, **kwargs):
        res = real(*args, **kwargs)
        captured.append(res)
        return res

    monkeypatch.setattr(ri, "randomization_inference", spy)
    return captured


def test_p_value_and_distribution_equal_the_generic_path(monkeypatch):
    d = counts_panel(STAGGERED, seed=2)
    captured = spy_results(monkeypatch)

    def run():
        return ev.twfe(d, "y", "ward", "t", "cohort", family="poisson", exposure="pop",
                       inference="randomization", n_boot=99, seed=4)  # fmt: skip

    fast = run()
    monkeypatch.setattr(twfe_module, "_poisson_randomization_batch", lambda prep, keep: None)
    slow = run()
    (res_fast, res_slow) = captured
    np.testing.assert_allclose(res_fast.distribution, res_slow.distribution, rtol=0, atol=TOL)
    assert fast.pvalue == slow.pvalue and fast.estimate == slow.estimate
    assert "vectorised" in fast.inference and "vectorised" not in slow.inference
    # the fast path inverts the test; the fallback reports the p-value only, and says why
    assert math.isfinite(fast.ci_low) and fast.ci_low < fast.estimate < fast.ci_high
    assert math.isnan(slow.ci_low) and any("No confidence interval" in w for w in slow.warnings)
    lo, hi = fast.details["percent_change_ci"]
    assert lo == pytest.approx(100 * math.expm1(fast.ci_low))
    assert hi == pytest.approx(100 * math.expm1(fast.ci_high))


def test_several_rows_per_cell_fall_back_and_say_why():
    d = counts_panel(STAGGERED, seed=2)
    halves = pd.concat([d.assign(y=np.floor(d["y"] / 2)), d.assign(y=np.ceil(d["y"] / 2))])
    e = ev.twfe(halves, "y", "ward", "t", "cohort", family="poisson", exposure="pop",
                inference="randomization", n_boot=19)  # fmt: skip
    assert math.isnan(e.ci_low) and math.isfinite(e.pvalue)
    assert any("one row for every unit and period" in w for w in e.warnings)


# ------------------------------------------------------------------ (a) brute force


SMALL = [3, 3, 6, np.nan, np.nan]  # 5 wards: 30 distinct assignments, all enumerated


def generic_pvalue(d, tau):
    """p(τ) by brute force: every assignment refitted on Y·exp(−τD) (no batch, no search)."""
    d_obs = (d["t"] >= d["cohort"]).to_numpy()
    shifted = d.assign(y=d["y"] * np.exp(-tau * d_obs))

    def fit(data):
        return ev.twfe(data, "y", "ward", "t", "cohort", family="poisson", exposure="pop",
                       inference="none").estimate  # fmt: skip

    res = ri.randomization_inference(fit, shifted, unit="ward", cohort="cohort", ci=False)
    assert res.exact and res.n_assignments == 30
    return res.pvalue


@pytest.mark.slow
def test_interval_is_the_set_not_rejected_on_a_brute_force_grid():
    d = counts_panel(SMALL, n_t=10, seed=11, mean=4.0, effect=-0.6)
    e = ev.twfe(d, "y", "ward", "t", "cohort", family="poisson", exposure="pop",
                inference="randomization")  # fmt: skip
    lo, hi = e.ci_low, e.ci_high
    assert math.isfinite(lo) and math.isfinite(hi) and lo < e.estimate < hi
    alpha = 0.05
    width = hi - lo
    grid = np.linspace(lo - 0.5 * width, hi + 0.5 * width, 49)
    # a grid point within the search's precision of an end is neither inside nor outside: the
    # grid puts one at each end by construction (lo - w/2 + 12 steps of w/24 = lo, give or
    # take rounding), and which side rounding puts it on is not the test's business
    on_end = np.isclose(grid, lo, rtol=0, atol=1e-5) | np.isclose(grid, hi, rtol=0, atol=1e-5)
    assert on_end.sum() == 2
    grid = grid[~on_end]
    accepted = np.array([generic_pvalue(d, tau) > alpha for tau in grid])
    inside = (grid > lo) & (grid < hi)
    assert accepted[inside].all() and not accepted[~inside].any()
    # the ends, to the search's precision (xtol = 1e-6)
    for end, outward in ((lo, -1.0), (hi, 1.0)):
        assert generic_pvalue(d, end - outward * 1e-5) > alpha
        assert generic_pvalue(d, end + outward * 1e-5) <= alpha


def test_the_generic_search_refits_to_the_same_interval():
    d = counts_panel(SMALL, n_t=10, seed=11, mean=4.0, effect=-0.6)
    fast = ev.twfe(d, "y", "ward", "t", "cohort", family="poisson", exposure="pop",
                   inference="randomization")  # fmt: skip

    def fit(data):
        return ev.twfe(data, "y", "ward", "t", "cohort", family="poisson", exposure="pop",
                       inference="none").estimate  # fmt: skip

    slow = ri.randomization_inference(fit, d, unit="ward", cohort="cohort", time="t",
                                      outcome="y", effect="multiplicative")  # fmt: skip
    assert slow.pvalue == fast.pvalue
    assert slow.ci_low == pytest.approx(fast.ci_low, abs=1e-6)
    assert slow.ci_high == pytest.approx(fast.ci_high, abs=1e-6)
    with pytest.raises(InferenceError, match="'effect' must be"):
        ri.randomization_inference(fit, d, unit="ward", cohort="cohort", effect="log")


# ------------------------------------------------------------------ (b), (c) simulation

# Monte-Carlo bands for R = 250 replications (binomial probabilities, exact). A valid 95 %
# interval covers with probability ≥ 95 % (randomization inference is exact for a constant
# effect under a randomised rollout, and the interval is the hull of the accepted set); the
# coverage estimate has standard error √(0.95·0.05/250) = 1.4 points. The band asks for
# ≥ 93 % − 2 × 1.4 = 90.2 % (226 of 250): a method covering 95 % fails it with probability
# 0.09 %, one covering 85 % passes with probability 0.8 % (one covering 90 %, 47 %). A bound
# from above stops an interval that is merely wide (an infinite one always covers): at most
# 99.6 % (249 of 250; a valid but conservative method covering 96.5 % exceeds it with
# probability 0.01 %), and every interval finite. Narrowing every interval by 30 % around its
# estimate brings the coverage on these draws to 88 %: the test fails. Size at no effect: a
# valid 5 % test rejects with probability ≤ 5 % (standard error 1.4 points); the band
# [1.2 %, 9.2 %] (3 to 23 rejections of 250) holds a test of size exactly 5 % with probability
# 99.8 %, one of size 15 % with probability 0.5 %, and never one that does not reject.
REPS = 250
N_BOOT = 199  # re-assignments per test: any number keeps the test exact (Phipson & Smyth 2010)


@pytest.fixture(scope="module")
def single_thread():
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # small matrices: BLAS threads only contend
        yield


@pytest.mark.slow
def test_coverage_of_a_constant_proportional_effect(single_thread):
    effect = math.log(0.6)  # fires fall by 40 %
    r = cs.interval_replications(REPS, effect, seed=20240601, n_boot=N_BOOT)
    assert (r["error"] == "").all(), r.loc[r["error"] != "", "error"].head().tolist()
    assert np.isfinite(r[["ci_low", "ci_high"]].to_numpy()).all()
    coverage, se = cs.rate_with_error(r["covered"])
    assert 0.902 <= coverage <= 0.996, f"coverage {coverage:.3f} (MC se {se:.3f})"
    # the estimates are centred on the planted effect: mean error within 4 standard errors
    err = r["estimate"] - effect
    assert abs(err.mean()) < 4 * err.std(ddof=1) / math.sqrt(REPS)


@pytest.mark.slow
def test_size_at_no_effect(single_thread):
    r = cs.interval_replications(REPS, 0.0, seed=20240602, n_boot=N_BOOT)
    assert (r["error"] == "").all()
    size, se = cs.rate_with_error(r["pvalue"] <= 0.05)
    assert 0.012 <= size <= 0.092, f"size {size:.3f} (MC se {se:.3f})"
    # the interval and the p-value are the same test: 0 is outside exactly when p ≤ 5 %
    assert ((r["pvalue"] <= 0.05) == ~r["covered"]).all()
