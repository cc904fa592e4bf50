"""HonestDiD sensitivity analysis (evaluation.inference.honest_did) against R's published output,
two Python implementations, and the theory.

Published numbers used here:

* R HonestDiD README (github.com/asheshrambachan/HonestDiD, README.md, "Example usage –
  Medicaid expansions"): ``createSensitivityResults_relativeMagnitudes(..., numPrePeriods = 5,
  numPostPeriods = 2, Mbarvec = seq(0.5, 2, by = 0.5))`` and ``createSensitivityResults(...,
  Mvec = seq(0, 0.05, by = 0.01))``, printed by tibble to 3 significant digits.
* Stata honestdid README (github.com/mcaceresb/stata-honestdid, README.md), same data: the
  original interval and the average-effect (``l_vec = (0.5, 0.5)``) relative-magnitudes table,
  printed to 3 decimals. Stata simulates with its own random numbers, so C-LF endpoints there
  can differ from R's by a θ-grid step or two.

The READMEs give the code but not the numbers of ``betahat`` and ``sigma``: they are the
``fixest::feols(dins ~ i(year, D, ref = 2013) | stfips + year, cluster = "stfips")`` event study
on ``ehec_data`` (years < 2016, the 2015 cohort dropped). ``EHEC_BETA``/``EHEC_SIGMA`` below are
that regression with fixest's default small-sample correction, reproduced by
``test_ehec_inputs_reproduce`` from the copy of ``ehec_data`` shipped in the ``moderndid``
wheel (run through pyfixest, which implements fixest's "nested" K).
"""

from __future__ import annotations

import json
import math

import matplotlib
import numpy as np
import pandas as pd
import pytest

import evaluation.inference.honest_did.arp as hd_arp
from evaluation.errors import DataError
from evaluation.inference.honest_did import honest_did, sensitivity
from evaluation.inference.honest_did.rdraws import _r_normals
from evaluation.inference.honest_did.smoothness import _r_folded_normal_quantile

matplotlib.use("Agg")

EHEC_BETA = np.array(
    [-0.00528535453272, -0.0112973246482, -0.00267599181179, -0.00141931225211,
     0.000339663518971, 0.0464468541599, 0.069206175479]
)  # fmt: skip
_UPPER = [
    [7.48848363590e-05, 6.03987409564e-05, 4.44461981846e-05, 3.38576470609e-05,
     4.32801125474e-05, 4.76588047878e-05, 2.42512869975e-05],
    [7.26650061700e-05, 3.78933022129e-05, 2.86657802515e-05, 4.54332062840e-05,
     4.42885011932e-05, 2.82465504298e-05],
    [5.05205194016e-05, 2.67367943248e-05, 2.77819356767e-05, 3.06064410891e-05,
     9.63753388267e-06],
    [4.00322202634e-05, 2.41285997572e-05, 2.38086820907e-05, 2.92387814336e-06],
    [5.46266220705e-05, 3.68253105174e-05, 9.72294750242e-06],
    [8.37566882468e-05, 6.32139796253e-05],
    [1.07123523030e-04],
]  # fmt: skip
EHEC_SIGMA = np.zeros((7, 7))
for _i, _row in enumerate(_UPPER):
    EHEC_SIGMA[_i, _i:] = _row
EHEC_SIGMA = EHEC_SIGMA + np.triu(EHEC_SIGMA, 1).T

# R README, relative magnitudes (C-LF), θ = first post period: Mbar, lb, ub.
R_RM = [
    (0.5, 0.0240, 0.0672),
    (1.0, 0.0170, 0.0720),
    (1.5, 0.00824, 0.0797),
    (2.0, -0.000916, 0.0881),
]
# R README, smoothness (FLCI), θ = first post period: M, lb, ub.
R_SD = [
    (0.00, 0.0259, 0.0607), (0.01, 0.0132, 0.0787), (0.02, 0.00286, 0.0907),
    (0.03, -0.00714, 0.101), (0.04, -0.0171, 0.111), (0.05, -0.0271, 0.121),
]  # fmt: skip
# Stata README, relative magnitudes (C-LF), θ = average of the two post periods.
STATA_RM_AVG = [
    (0.0, 0.041, 0.075), (0.5, 0.033, 0.080), (1.0, 0.020, 0.090),
    (1.5, 0.006, 0.103), (2.0, -0.008, 0.117),
]  # fmt: skip


def _half_unit(printed: float) -> float:
    """Half a unit in the last of 3 significant digits, as tibble prints them."""
    return 0.5 * 10.0 ** (math.floor(math.log10(abs(printed))) - 2)


def demo(pre: int = 4, post: int = 4, seed: int = 3):
    """A demo-sized event study: 4 pre- and 4 post-periods, a positive effect."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(pre + post, pre + post))
    S = (A @ A.T / (pre + post) + np.eye(pre + post)) * 0.01**2
    b = rng.multivariate_normal(np.zeros(pre + post), S)
    b[pre:] += 0.05
    return b, S


# ------------------------------------------------------------------------------------------
# R's published examples
# ------------------------------------------------------------------------------------------


def test_ehec_inputs_reproduce():
    md = pytest.importorskip("moderndid")
    pf = pytest.importorskip("pyfixest")
    df = md.load_ehec()
    df = df.to_pandas() if hasattr(df, "to_pandas") else pd.DataFrame(df)
    d = df[(df.year < 2016) & (df.yexp2.isna() | (df.yexp2 != 2015))].copy()
    d["D"] = (d.yexp2 == 2014).astype(int)
    fit = pf.feols("dins ~ i(year, D, ref=2013) | stfips + year", data=d, vcov={"CRV1": "stfips"})
    np.testing.assert_allclose(fit.coef().to_numpy(), EHEC_BETA, rtol=1e-9)
    np.testing.assert_allclose(np.asarray(fit._vcov), EHEC_SIGMA, rtol=1e-9)


def test_r_readme_relative_magnitudes():
    res = honest_did(EHEC_BETA, EHEC_SIGMA, 5, 2, M=[m for m, _, _ in R_RM])
    assert list(res.table.columns) == ["M", "ci_low", "ci_high", "method"]
    assert (res.table.method == "C-LF").all()
    for (m, lb, ub), row in zip(R_RM, res.table.itertuples(), strict=True):
        assert row.M == m
        # Same θ-grid and R's own random draws: every printed digit agrees.
        assert abs(row.ci_low - lb) <= _half_unit(lb), (m, row.ci_low, lb)
        assert abs(row.ci_high - ub) <= _half_unit(ub), (m, row.ci_high, ub)
    # The README: "the breakdown value for a significant effect is Mbar = 2".
    assert res.breakdown == 2.0 and res.breakdown_method == "grid"
    assert "up to M̄ = 1.5 times the largest pre-period violation" in res.summary


def test_r_readme_smoothness_flci():
    res = honest_did(
        EHEC_BETA, EHEC_SIGMA, 5, 2, restriction="smoothness", M=[m for m, _, _ in R_SD]
    )
    assert (res.table.method == "FLCI").all()
    for (m, lb, ub), row in zip(R_SD, res.table.itertuples(), strict=True):
        # 2e-6 of slack: R's M = 0 lower bound sits 1.3e-6 from a rounding boundary (CVXR's
        # solver tolerance); everything else agrees to the printed digits.
        assert abs(row.ci_low - lb) <= _half_unit(lb) + 2e-6, (m, row.ci_low, lb)
        assert abs(row.ci_high - ub) <= _half_unit(ub) + 2e-6, (m, row.ci_high, ub)
    # The README: "the breakdown value for a significant effect is M ≈ 0.03".
    assert res.breakdown == pytest.approx(0.03)
    exact = honest_did(
        EHEC_BETA, EHEC_SIGMA, 5, 2, restriction="smoothness", M=0.03, flci_quantile="exact"
    )
    # R simulates the folded-normal quantile; the exact one moves the ends by < 1e-3 of θ̂.
    assert abs(exact.table.ci_low[0] - res.table.ci_low[3]) < 5e-5


def test_stata_readme_original_and_average():
    res = honest_did(
        EHEC_BETA, EHEC_SIGMA, 5, 2, M=[m for m, _, _ in STATA_RM_AVG], l_vec=[0.5, 0.5]
    )
    assert res.original_ci == pytest.approx((0.040, 0.075), abs=5e-4)
    first = honest_did(EHEC_BETA, EHEC_SIGMA, 5, 2, M=1.0)
    assert first.original_ci == pytest.approx((0.029, 0.064), abs=5e-4)
    step = res.details["grid_step"]
    for (m, lb, ub), row in zip(STATA_RM_AVG, res.table.itertuples(), strict=True):
        assert abs(row.ci_low - lb) <= 5e-4 + 2 * step, (m, row.ci_low, lb)
        assert abs(row.ci_high - ub) <= 5e-4 + 2 * step, (m, row.ci_high, ub)


def test_r_random_numbers():
    # set.seed(0); rnorm(5) in R (default Mersenne-Twister, Inversion).
    np.testing.assert_allclose(
        _r_normals(5, 0), [1.2629543, -0.3262334, 1.3297993, 1.2724293, 0.4146414], atol=5e-8
    )
    z = _r_normals(10**6, 0)
    for mu in (0.0, 0.7, 3.0):
        assert _r_folded_normal_quantile(0.95, mu, 0) == pytest.approx(
            np.quantile(np.abs(z + mu), 0.95), abs=1e-12
        )


# ------------------------------------------------------------------------------------------
# Second implementations
# ------------------------------------------------------------------------------------------


def test_matches_moderndid():
    pytest.importorskip("moderndid.didhonest")
    from moderndid.didhonest import create_sensitivity_results_rm, create_sensitivity_results_sm

    ours = honest_did(EHEC_BETA, EHEC_SIGMA, 5, 2, M=[1.0])
    theirs = create_sensitivity_results_rm(EHEC_BETA, EHEC_SIGMA, 5, 2, m_bar_vec=[1.0])
    step = ours.details["grid_step"]
    # moderndid simulates the least-favourable critical value with numpy's generator.
    assert abs(ours.table.ci_low[0] - theirs["lb"][0]) <= 2 * step
    assert abs(ours.table.ci_high[0] - theirs["ub"][0]) <= 2 * step

    ms = [0.0, 0.02, 0.05]
    ours = honest_did(
        EHEC_BETA, EHEC_SIGMA, 5, 2, restriction="smoothness", M=ms, flci_quantile="exact"
    )
    theirs = create_sensitivity_results_sm(EHEC_BETA, EHEC_SIGMA, 5, 2, m_vec=ms)
    np.testing.assert_allclose(ours.table.ci_low, np.asarray(theirs["lb"]), atol=2e-5)
    np.testing.assert_allclose(ours.table.ci_high, np.asarray(theirs["ub"]), atol=2e-5)


def _diff_diff_results(b, S, pre, post):
    from diff_diff.results import MultiPeriodDiDResults, PeriodEffect

    periods = [*range(-pre - 1, -1), *range(0, post)]  # reference period −1 omitted
    effects = {
        p: PeriodEffect(p, float(b[i]), float(np.sqrt(S[i, i])), 0.0, 1.0, (0.0, 0.0))
        for i, p in enumerate(periods)
    }
    return MultiPeriodDiDResults(
        period_effects=effects, avg_att=0.0, avg_se=1.0, avg_t_stat=0.0, avg_p_value=1.0,
        avg_conf_int=(0.0, 0.0), n_obs=1, n_treated=1, n_control=1,
        pre_periods=[*range(-pre - 1, 0)], post_periods=[*range(0, post)],
        vcov=S, reference_period=-1, interaction_indices={p: i for i, p in enumerate(periods)},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("inputs", "pre", "post"), [((EHEC_BETA, EHEC_SIGMA), 5, 2), (demo(), 4, 4)]
)
def test_smoothness_matches_diff_diff(inputs, pre, post):
    pytest.importorskip("diff_diff")
    from diff_diff.honest_did import HonestDiD

    b, S = inputs
    res = _diff_diff_results(b, S, pre, post)
    lv = np.full(post, 1 / post)
    ms = [0.0, 0.01, 0.03]
    ours = honest_did(
        b, S, pre, post, restriction="smoothness", M=ms, l_vec=lv, flci_quantile="exact"
    )
    for m, row in zip(ms, ours.table.itertuples(), strict=True):
        with np.errstate(all="ignore"):
            theirs = HonestDiD(method="smoothness", M=m, l_vec=lv).fit(res)
        assert row.ci_low == pytest.approx(theirs.ci_lb, abs=1e-5)
        assert row.ci_high == pytest.approx(theirs.ci_ub, abs=1e-5)


# ------------------------------------------------------------------------------------------
# Theory
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("pre", "post"), [(5, 2), (4, 4), (1, 3), (3, 1)])
def test_smoothness_m0_is_linear_trend_extrapolation(pre, post):
    """At M = 0 the FLCI is the GLS (best unbiased) estimate under an exactly linear trend."""
    b, S = (EHEC_BETA, EHEC_SIGMA) if (pre, post) == (5, 2) else demo(pre, post)
    lv = np.arange(1, post + 1, dtype=float)
    lv /= lv.sum()
    t = np.r_[np.arange(-pre, 0), np.arange(1, post + 1)].astype(float)
    Z = np.column_stack([t, np.vstack([np.zeros((pre, post)), np.eye(post)])])  # (γ, τ)
    Si = np.linalg.inv(S)
    cov = np.linalg.inv(Z.T @ Si @ Z)
    theta = lv @ (cov @ Z.T @ Si @ b)[1:]
    se = math.sqrt(lv @ cov[1:, 1:] @ lv)
    res = honest_did(
        b, S, pre, post, restriction="smoothness", M=0, l_vec=lv, flci_quantile="exact"
    )
    z = 1.959963984540054
    assert res.table.ci_low[0] == pytest.approx(theta - z * se, abs=1e-9)
    assert res.table.ci_high[0] == pytest.approx(theta + z * se, abs=1e-9)


@pytest.mark.parametrize(
    "inputs", [(EHEC_BETA, EHEC_SIGMA, 5, 2), (*demo(), 4, 4), (*demo(3, 1, seed=5), 3, 1)]
)
def test_relative_magnitudes_widen_with_mbar(inputs):
    b, S, pre, post = inputs
    res = honest_did(b, S, pre, post, M=np.arange(0, 2.51, 0.25), l_vec=np.full(post, 1 / post))
    lo, hi = res.table.ci_low.to_numpy(), res.table.ci_high.to_numpy()
    assert np.all(np.diff(lo) <= 1e-12) and np.all(np.diff(hi) >= -1e-12)
    assert lo[-1] < lo[0] and hi[-1] > hi[0]  # and they do widen
    # With 0 allowed violation the interval is not wider than a generous conventional one.
    assert hi[0] - lo[0] < 2 * (res.original_ci[1] - res.original_ci[0])


def test_smoothness_widens_with_m():
    b, S = demo()
    res = honest_did(b, S, 4, 4, restriction="smoothness", M=np.linspace(0, 0.05, 6))
    width = (res.table.ci_high - res.table.ci_low).to_numpy()
    assert np.all(np.diff(width) > 0)


@pytest.mark.parametrize("restriction", ["relative_magnitude", "smoothness"])
def test_breakdown_is_where_interval_first_includes_zero(restriction):
    b, S = demo()
    ms = np.linspace(0, 2, 9) if restriction == "relative_magnitude" else np.linspace(0, 0.1, 9)
    grid = honest_did(b, S, 4, 4, restriction=restriction, M=ms)
    t = grid.table
    covers = (t.ci_low <= 0) & (t.ci_high >= 0)
    assert covers.any() and not covers.iloc[0]
    first = t.M[covers].min()
    assert grid.breakdown == first
    assert not covers[t.M < first].any()
    bis = honest_did(b, S, 4, 4, restriction=restriction, M=ms, breakdown="bisection")
    assert bis.breakdown_method == "bisection"
    below = t.M[t.M < first].max()
    assert below <= bis.breakdown <= first
    at = honest_did(b, S, 4, 4, restriction=restriction, M=bis.breakdown).table.iloc[0]
    assert at.ci_low <= 0 <= at.ci_high
    before = honest_did(b, S, 4, 4, restriction=restriction, M=bis.breakdown * 0.99).table.iloc[0]
    assert before.ci_low > 0
    assert "found by bisection" in bis.summary


def test_breakdown_when_nothing_breaks_and_when_not_significant():
    b, S = demo()
    res = honest_did(b, S, 4, 4, M=[0.0, 0.1])
    assert res.breakdown is None and "the largest value examined" in res.summary
    b2 = b.copy()
    b2[4:] = 0.0
    flat = honest_did(b2, S, 4, 4, M=[0.5])
    assert flat.breakdown == 0.0 and "already includes 0" in flat.summary


def test_lp_fallback_agrees_with_vertex_enumeration(monkeypatch):
    kw = dict(M=[0.5, 1.5], l_vec=[0.5, 0.5], grid_points=41, n_sims=100)
    enumerated = honest_did(EHEC_BETA, EHEC_SIGMA, 5, 2, **kw)
    monkeypatch.setattr(hd_arp, "_MAX_BASES", 0)
    lp = honest_did(EHEC_BETA, EHEC_SIGMA, 5, 2, **kw)
    assert "lp" in lp.details
    pd.testing.assert_frame_equal(enumerated.table, lp.table)


def test_conditional_method_is_not_shorter_than_hybrid_everywhere():
    b, S = demo()
    lf = honest_did(b, S, 4, 4, M=[1.0])
    arp = honest_did(b, S, 4, 4, M=[1.0], method="Conditional")
    assert arp.table.method[0] == "Conditional"
    # Both cover the identified set around θ̂ and agree within a few tenths of a standard error.
    assert abs(lf.table.ci_low[0] - arp.table.ci_low[0]) < 0.5 * lf.se
    assert abs(lf.table.ci_high[0] - arp.table.ci_high[0]) < 0.5 * lf.se


def test_defaults_follow_r():
    b, S = demo()
    rm = honest_did(b, S, 4, 4)
    np.testing.assert_allclose(rm.table.M, np.linspace(0, 2, 10))
    assert rm.l_vec.tolist() == [1, 0, 0, 0]
    sd = honest_did(b, S, 4, 4, restriction="smoothness")
    assert len(sd.table) == 10 and sd.table.M.iloc[0] == 0 and sd.table.M.iloc[-1] > 0


# ------------------------------------------------------------------------------------------
# Result object, input checks, the event-study adapter
# ------------------------------------------------------------------------------------------


def test_result_serialises_and_plots():
    res = honest_did(EHEC_BETA, EHEC_SIGMA, 5, 2, M=[0.5, 1.0])
    d = json.loads(json.dumps(res.to_dict()))
    assert d["breakdown"] is None and d["table"][0]["method"] == "C-LF"
    assert d["summary"].startswith("The conclusion that θ > 0 survives")
    ax = res.plot()
    assert ax.get_xlabel() == "M̄" and len(ax.collections) >= 3


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(betahat=np.zeros(6)), "betahat"),
        (dict(betahat=np.r_[np.nan, np.zeros(6)]), "betahat"),
        (dict(sigma=np.eye(6)), "sigma"),
        (dict(sigma=np.ones((7, 6))), "sigma must be a square"),
        (dict(sigma=np.eye(7) + np.eye(7, k=1) * 0.1), "symmetric"),
        (dict(sigma=np.diag([1.0, 1, 1, 1, 1, 1, -1])), "positive semi-definite"),
        (dict(num_pre_periods=0, num_post_periods=7), "num_pre_periods"),
        (dict(num_post_periods=0), "num_post_periods"),
        (dict(M=-0.5), "non-negative"),
        (dict(M=[0.5, -1]), "non-negative"),
        (dict(M=[]), "empty"),
        (dict(level=1.0), "level"),
        (dict(level=0), "level"),
        (dict(l_vec=[1.0]), "l_vec"),
        (dict(l_vec=[0.0, 0.0]), "l_vec"),
        (dict(restriction="linear"), "restriction"),
        (dict(method="FLCI"), "method"),
        (dict(restriction="smoothness", method="C-LF"), "method"),
        (dict(grid_bounds=(1.0, -1.0)), "grid_bounds"),
    ],
)
def test_bad_input_raises_data_error(kwargs, match):
    args = dict(betahat=EHEC_BETA, sigma=np.eye(7) * 1e-4, num_pre_periods=5, num_post_periods=2)
    args.update(kwargs)
    b, s, pre, post = (
        args.pop(k) for k in ("betahat", "sigma", "num_pre_periods", "num_post_periods")
    )
    with pytest.raises(DataError, match=match):
        honest_did(b, s, pre, post, **{"M": 1.0, **args})


class _StandIn:
    """What EventStudy and att_gt's dynamic aggregation expose."""

    def __init__(self, b, S, pre, post, reference=-1, level=0.95):
        times = [*range(reference - pre, reference), *range(reference + 1, reference + 1 + post)]
        rows = [*zip(times, b, strict=True)] + [
            (reference, 0.0)
        ]  # the reference row, as EventStudy has it
        self.coefs = pd.DataFrame(rows, columns=["rel_time", "estimate"]).sort_values("rel_time")
        self.vcov = pd.DataFrame(S, index=times, columns=times)
        self.reference = reference
        self.level = level


def test_sensitivity_on_event_study_object():
    b, S = demo()
    es = _StandIn(b, S, 4, 4)
    avg = sensitivity(es, M=[0.5, 1.0])
    direct = honest_did(b, S, 4, 4, M=[0.5, 1.0], l_vec=np.full(4, 0.25))
    pd.testing.assert_frame_equal(avg.table, direct.table)
    first = sensitivity(es, restriction="smoothness", M=0.01, post="first")
    pd.testing.assert_frame_equal(
        first.table, honest_did(b, S, 4, 4, restriction="smoothness", M=0.01).table
    )
    # Shuffled rows and a 90% result keep their meaning.
    es.coefs = es.coefs.sample(frac=1, random_state=1)
    es.level = 0.9
    assert sensitivity(es, M=0.5).level == 0.9


def test_sensitivity_rejects_gaps_and_missing_vcov():
    b, S = demo()
    es = _StandIn(b, S, 4, 4)
    es.vcov = es.vcov.drop(index=-3, columns=-3)
    with pytest.raises(DataError, match="consecutive"):
        sensitivity(es, M=1.0)
    es.vcov = None
    with pytest.raises(DataError, match="vcov"):
        sensitivity(es, M=1.0)
