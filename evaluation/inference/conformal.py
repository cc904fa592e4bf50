"""Conformal (time-permutation) inference for one treated unit.

Chernozhukov, Wüthrich & Zhu (2021), "An Exact and Robust Conformal Inference Method for
Counterfactual and Synthetic Controls", *JASA* 116(536). To test the sharp null that the
programme changed the treated unit's outcome by θ₀ in every post-period:

1. subtract θ₀ from the treated unit's post-period outcomes (its outcome without the programme
   under the null);
2. fit the counterfactual model (a synthetic control, with or without intercept, or DiD) on
   *all* periods, pre and post — under the null the post-period is as untreated as the
   pre-period;
3. take the residuals ``û₁ … û_T`` and a statistic of the T₁ post-period residuals: CWZ's
   ``S = mean |û_t|^q`` (``"mean_abs"``, we report its q-th root), or the absolute mean residual
   ``|mean û_t|`` (``"abs_mean"``);
4. recompute S for permutations π of the time index: moving-block (the T cyclic shifts
   t ↦ t + j mod T; valid with serially correlated, stationary errors) or iid (random
   permutations; valid for exchangeable errors). ``p = share of permutations with
   S(û_π) ≥ S(û)`` — the identity included, so the smallest p is 1/T (moving block) or
   1/(B + 1) (B random permutations).

Which statistic: the null model is fitted on *all* periods, so a constant effect over a long
post-period is partly absorbed by the fit and leaves residuals of both signs; ``mean |û|``
then barely separates the post block from the others (simulated power 22 % against the demo
pilot's effect with 46 of 104 weeks treated), while ``|mean û|`` keeps the sign and detects it
(100 %) with size 6.3 % at AR(1) ρ = 0.5 (``simulations/inference_size_power.py``). Its size
degrades with stronger serial correlation (7.6 % at ρ = 0.8, 10.4 % at ρ = 0.9), so
``statistic="auto"`` estimates the lag-1 autocorrelation of the pre-period residuals and uses
``|mean û|`` when it is at most ``AUTOCORRELATION_LIMIT`` (0.6), CWZ's robust ``mean |û|``
otherwise.

A confidence set collects every θ₀ whose p-value exceeds 1 − level (test inversion); we
evaluate p on a grid around the point estimate, widen it while its ends are accepted, and
refine the two ends by bisection. It is reported as an interval from the lowest to the highest
accepted value.

With a single treated ward of 13, a long pre-period makes this the only test that can reach
the 5 % level: with 104 weekly periods the smallest p is 1/104, against 1/13 for any
cross-sectional permutation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.core.simplex import noise_level, simplex_least_squares, synthdid_weights
from evaluation.data.prepare import prepare_single_unit_panel
from evaluation.errors import DataError
from evaluation.inference.choose import design_limit_warning

__all__ = [
    "conformal_test",
    "ConformalTest",
    "conformal_inference",
    "conformal_pvalue",
    "choose_statistic",
    "describe",
    "did_residuals",
    "extreme_threshold",
    "permutation_index",
    "result_warnings",
    "statistic_words",
]

MODELS = ("sc", "sc_intercept", "did")
STATISTICS = ("auto", "abs_mean", "mean_abs")
#: pre-period residual autocorrelation above which "auto" keeps CWZ's robust mean |û|
AUTOCORRELATION_LIMIT = 0.6


def choose_statistic(y: np.ndarray, Y0: np.ndarray, T0: int) -> tuple[str, float]:
    """``("abs_mean" or "mean_abs", ρ̂)``: ρ̂ is the lag-1 autocorrelation of the treated-minus-
    controls gap over the pre-period (demeaned); above the limit the robust statistic is kept."""
    gap = np.asarray(y, dtype=float)[:T0] - np.asarray(Y0, dtype=float)[:T0].mean(axis=1)
    r = gap - gap.mean()
    denom = float(r @ r)
    rho = float(r[1:] @ r[:-1]) / denom if denom > 0 and len(r) > 2 else 0.0
    return ("abs_mean" if rho <= AUTOCORRELATION_LIMIT else "mean_abs"), rho


def statistic_words(statistic: str, q: float) -> str:
    if statistic == "abs_mean":
        return "|mean residual|"
    return "mean |residual|" if q == 1 else f"(mean |residual|^{q:g})^(1/{q:g})"


def _check(model: str, permutation: str, q: float, level: float, n_permutations: int) -> None:
    if model not in MODELS:
        raise DataError(
            f"conformal_test: model must be one of {', '.join(map(repr, MODELS))}, got {model!r}."
        )
    if permutation not in ("moving_block", "iid"):
        raise DataError(
            f"conformal_test: permutation must be 'moving_block' or 'iid', got {permutation!r}."
        )
    if not (isinstance(q, int | float) and q >= 1):
        raise DataError(f"conformal_test: q must be a number ≥ 1 (1 or 2 usual), got {q!r}.")
    if not (0.5 <= float(level) < 1):
        raise DataError(f"conformal_test: level must be in [0.5, 1), got {level!r}.")
    if not (isinstance(n_permutations, int | np.integer) and n_permutations >= 19):
        raise DataError(
            f"conformal_test: n_permutations must be an integer ≥ 19, got {n_permutations!r}."
        )


class _NullFitter:
    """Residuals of the counterfactual model fitted under a null θ₀, over all T periods."""

    def __init__(self, y: np.ndarray, Y0: np.ndarray, T0: int, model: str, zeta: float):
        self.y = np.asarray(y, dtype=float)
        self.Y0 = np.asarray(Y0, dtype=float)  # T × J
        self.T = len(self.y)
        self.T0 = T0
        self.model = model
        # synthdid's objective ζ²‖ω‖² + ‖err‖²/T equals (‖err‖² + Tζ²‖ω‖²)/T.
        self.ridge = self.T * float(zeta) ** 2
        self.post = np.arange(self.T) >= T0
        self._w = None  # warm start across nearby θ₀

    def residuals(self, theta: float) -> np.ndarray:
        y0 = self.y - theta * self.post
        if self.model == "did":
            return did_residuals(y0, self.Y0)
        w, c = simplex_least_squares(
            self.Y0, y0, self.ridge, intercept=self.model == "sc_intercept", init=self._w
        )
        self._w = w
        return y0 - (self.Y0 @ w + c)

    def pre_only_effect(self) -> float:
        """The model's usual estimate: fit on the pre-period only, average post residual."""
        pre = ~self.post
        if self.model == "did":
            d = self.y - self.Y0.mean(axis=1)
            return float(d[self.post].mean() - d[pre].mean())
        w, c = simplex_least_squares(
            self.Y0[pre],
            self.y[pre],
            self.T0 * self.ridge / self.T,
            intercept=self.model == "sc_intercept",
        )
        return float(np.mean(self.y[self.post] - self.Y0[self.post] @ w - c))


def did_residuals(y: np.ndarray, Y0: np.ndarray) -> np.ndarray:
    """Residuals of the DiD counterfactual (equal control weights plus intercept) of the treated
    path ``y`` (length T) on the controls ``Y0`` (T × J), over all periods. They are linear in
    ``y``: the residuals of y + δ·z are those of y plus δ·(z − mean z)."""
    d = y - Y0.mean(axis=1)
    return d - d.mean()


def extreme_threshold(observed):
    """The conformal test's rule for "at least as extreme": a permuted statistic S_π counts when
    S_π ≥ this threshold, the observed S less a relative 1e-12 and an absolute 1e-300, so that
    ties created by rounding in the permuted sums count against rejection. Elementwise on
    arrays (the batched tests of :mod:`evaluation.inference.batched`)."""
    return observed * (1 - 1e-12) - 1e-300


def permutation_index(T: int, T0: int, permutation: str, n_permutations: int, seed: int):
    """Rows = permutations (the identity first), columns = positions of the post block."""
    post = np.arange(T0, T)
    if permutation == "moving_block":
        return (post[None, :] + np.arange(T)[:, None]) % T
    rng = np.random.default_rng(seed)
    draws = np.argsort(rng.random((n_permutations, T)), axis=1)[:, T0:]
    return np.vstack([post[None, :], draws])


def _pvalue(
    u: np.ndarray, index: np.ndarray, q: float, statistic: str = "mean_abs"
) -> tuple[float, float]:
    if statistic == "abs_mean":
        stats = np.abs(np.mean(u[index], axis=1))
        q = 1.0
    else:
        stats = np.mean(np.abs(u[index]) ** q, axis=1)
    s0 = stats[0]
    p = float(np.mean(stats >= extreme_threshold(s0)))
    return p, float(s0 ** (1.0 / q))


def conformal_pvalue(
    y: np.ndarray,
    Y0: np.ndarray,
    T0: int,
    theta: float = 0.0,
    *,
    model: str = "sc",
    zeta: float = 0.0,
    permutation: str = "moving_block",
    q: float = 1,
    n_permutations: int = 999,
    seed: int = 0,
    statistic: str = "auto",
) -> float:
    """p-value of H₀: effect = θ in every post-period, from matrices (used by simulations).

    ``y`` is the treated path (length T), ``Y0`` the controls (T × J), the first ``T0``
    periods untreated.
    """
    if statistic == "auto":
        statistic = choose_statistic(y, Y0, T0)[0]
    fitter = _NullFitter(y, Y0, T0, model, zeta)
    index = permutation_index(len(y), T0, permutation, n_permutations, seed)
    return _pvalue(fitter.residuals(theta), index, q, statistic)[0]


def conformal_inference(
    y: np.ndarray,
    Y0: np.ndarray,
    T0: int,
    *,
    model: str,
    zeta: float,
    permutation: str,
    level: float,
    n_permutations: int,
    seed: int,
    center: float | None = None,
    null: float = 0.0,
    q: float = 1,
    grid_points: int = 41,
    bisections: int = 14,
    statistic: str = "auto",
) -> dict[str, Any]:
    """p-value at ``null`` and the confidence set by test inversion (see module docstring)."""
    alpha = 1 - level
    rho = choose_statistic(y, Y0, T0)[1]
    if statistic == "auto":
        statistic = "abs_mean" if rho <= AUTOCORRELATION_LIMIT else "mean_abs"
    fitter = _NullFitter(y, Y0, T0, model, zeta)
    T = len(fitter.y)
    index = permutation_index(T, T0, permutation, n_permutations, seed)
    min_p = 1.0 / index.shape[0]
    evaluated: dict[float, float] = {}

    def p_at(theta: float) -> float:
        theta = float(theta)
        if theta not in evaluated:
            evaluated[theta] = _pvalue(fitter.residuals(theta), index, q, statistic)[0]
        return evaluated[theta]

    u_null = fitter.residuals(null)
    pvalue, stat = _pvalue(u_null, index, q, statistic)
    evaluated[float(null)] = pvalue
    if model == "did" and statistic == "abs_mean":
        return _exact_did_interval(fitter, index, u_null, null, pvalue, stat, level, min_p, rho)
    if center is None or not np.isfinite(center):
        center = fitter.pre_only_effect()
    spread = float(np.std(fitter.residuals(center)))
    scale = spread if spread > 0 else max(abs(center), 1.0) * 1e-3
    half = 8.0 * scale
    is_open = False
    for _ in range(6):
        grid = center + np.linspace(-half, half, grid_points)
        accepted = [t for t in grid if p_at(t) > alpha]
        if not accepted or (p_at(grid[0]) <= alpha and p_at(grid[-1]) <= alpha):
            break
        half *= 4.0
    else:
        is_open = True
    accepted = sorted(t for t, p in evaluated.items() if p > alpha)
    if not accepted:
        ci_low = ci_high = float("nan")
        empty = True
    else:
        empty = False
        step = 2 * half / (grid_points - 1)

        def refine(inside: float, direction: float) -> float:
            outside = inside + direction * step
            if p_at(outside) > alpha:  # grid edge reached
                return outside
            for _ in range(bisections):
                mid = 0.5 * (inside + outside)
                if p_at(mid) > alpha:
                    inside = mid
                else:
                    outside = mid
            return inside

        ci_low = refine(accepted[0], -1.0)
        ci_high = refine(accepted[-1], +1.0)
    grid_df = pd.DataFrame(sorted(evaluated.items()), columns=["theta", "pvalue"])
    return {
        "pvalue": pvalue,
        "statistic": stat,
        "ci_low": ci_low,
        "ci_high": ci_high,
        "min_pvalue": min_p,
        "n_permutations": index.shape[0],
        "grid": grid_df,
        "empty": empty,
        "open": is_open,
        "residuals": u_null,
        "center": float(center),
        "statistic_name": statistic,
        "autocorrelation": rho,
        # the accepted set is reported as one interval; say so when that interval holds the
        # null although the test rejects it (a non-convex acceptance set)
        "nonconvex": bool(not empty and pvalue <= alpha and ci_low <= null <= ci_high),
    }


_MODEL_WORDS = {
    "sc": "synthetic control",
    "sc_intercept": "synthetic control with intercept",
    "did": "DiD (equal control weights plus intercept)",
}


def describe(res: dict[str, Any], model: str, permutation: str, n_post: int) -> str:
    """The conformal test of :func:`conformal_inference` in words, for ``Estimate.inference``."""
    T = res["n_permutations"] if permutation == "moving_block" else None
    perms = (
        f"all {T} cyclic (moving-block) shifts of the residuals"
        if T is not None
        else f"{res['n_permutations'] - 1} random (iid) permutations of the residuals"
    )
    return (
        f"residuals of a {_MODEL_WORDS[model]} counterfactual fitted under the null over every "
        f"period, {perms}; statistic {statistic_words(res['statistic_name'], 1)} over the "
        f"{n_post} post-periods (pre-period residual autocorrelation "
        f"{res['autocorrelation']:.2f}); interval by test inversion for a constant effect"
    )


def result_warnings(res: dict[str, Any], level: float, n_periods: int) -> list[str]:
    """The caveats of a conformal result, in the package's one wording: a confidence set that
    is not an interval, empty or open, and a design that cannot reach the level at all."""
    out: list[str] = []
    if res.get("nonconvex"):
        out.append(
            f"The {level:.0%} confidence set is not a single interval: the test rejects no "
            f"effect (p = {res['pvalue']:.3f}) although the interval shown, from the lowest to "
            "the highest accepted effect, contains it. Read the p-value; the interval is "
            "conservative."
        )
    if res["empty"]:
        out.append(
            "No constant effect is accepted by the conformal test at this level: the effect "
            "likely varies over the post-period, so the confidence set is empty."
        )
    if res["open"]:
        out.append(
            "The conformal confidence interval reached the edge of the search grid; the "
            "reported bound is a lower bound on its width."
        )
    limit = design_limit_warning(res["min_pvalue"], level, f"with {n_periods} periods to permute")
    if limit:
        out.append(limit)
    return out


def _exact_did_interval(fitter, index, u_null, null, pvalue, stat, level, min_p, rho):
    """Exact test inversion for the DiD counterfactual with the |mean residual| statistic.

    The DiD residuals are linear in the null: û(θ) = û(θ₀) − (θ − θ₀)(P − T₁/T), P the
    post-period indicator, so each permuted block's statistic is |A_j − (θ − θ₀) B_j| with
    A_j, B_j the block means of û(θ₀) and of P − T₁/T. The accepted set then follows exactly
    from the crossings of these lines (:func:`evaluation.inference.randomization.invert_linear`);
    it always contains the DiD estimate (where the observed statistic is 0, so p = 1).
    """
    from evaluation.inference.randomization import invert_linear

    post = fitter.post.astype(float)
    A = u_null[index].mean(axis=1)
    B = (post - post.mean())[index].mean(axis=1)
    lo, hi = invert_linear(float(A[0]), float(B[0]), A, B, level)
    lo, hi = lo + null, hi + null
    center = float(null + A[0] / B[0]) if B[0] != 0 else float("nan")
    thetas = np.unique(np.array([v for v in (lo, center, hi) if np.isfinite(v)] + [null]))
    grid_df = pd.DataFrame(
        {
            "theta": thetas,
            "pvalue": [
                _pvalue(u_null - (t - null) * (post - post.mean()), index, 1, "abs_mean")[0]
                for t in thetas
            ],
        }
    )
    empty = not (np.isfinite(lo) or np.isfinite(hi))
    return {
        "pvalue": pvalue,
        "statistic": stat,
        "ci_low": float(lo),
        "ci_high": float(hi),
        "min_pvalue": min_p,
        "n_permutations": index.shape[0],
        "grid": grid_df,
        "empty": bool(empty and np.isnan(lo)),
        "open": bool(np.isinf(lo) or np.isinf(hi)),
        "residuals": u_null,
        "center": center,
        "statistic_name": "abs_mean",
        "autocorrelation": rho,
        "nonconvex": bool(pvalue <= 1 - level and lo <= null <= hi),
    }


@dataclass
class ConformalTest:
    """Result of :func:`conformal_test`.

    ``pvalue`` tests H₀: effect = ``null`` in every post-period; ``ci_low``/``ci_high`` bound
    the constant effects not rejected at ``level``; ``grid`` holds every (theta, pvalue)
    evaluated; ``residuals`` the residual path under the null (columns ``time``, ``residual``,
    ``post``); ``estimate`` is the model's usual estimate (fitted on the pre-period only).
    """

    pvalue: float
    null: float
    statistic: float
    estimate: float
    ci_low: float
    ci_high: float
    level: float
    model: str
    permutation: str
    q: float
    n_permutations: int
    min_pvalue: float
    grid: pd.DataFrame
    residuals: pd.DataFrame
    outcome: str = ""
    warnings: list[str] = field(default_factory=list)
    statistic_name: str = "mean_abs"
    autocorrelation: float = float("nan")

    @property
    def method(self) -> str:
        perms = (
            "moving-block (cyclic shift)" if self.permutation == "moving_block" else "iid"
        ) + f" permutations ({self.n_permutations})"
        return (
            f"conformal test (Chernozhukov, Wüthrich & Zhu 2021), model {self.model}, "
            f"{perms}, statistic {statistic_words(self.statistic_name, self.q)}"
        )

    def to_dict(self) -> dict[str, Any]:
        keys = (
            "pvalue",
            "null",
            "statistic",
            "estimate",
            "ci_low",
            "ci_high",
            "level",
            "model",
            "permutation",
            "q",
            "statistic_name",
            "autocorrelation",
            "n_permutations",
            "min_pvalue",
            "outcome",
            "warnings",
            "grid",
            "residuals",
        )
        out = {k: jsonable(getattr(self, k)) for k in keys}
        out["method"] = self.method
        return out

    def summary(self) -> str:
        pct = int(round(self.level * 100))
        lines = [
            self.method + (f" — {self.outcome}" if self.outcome else ""),
            f"  H0: effect = {self.null:g} in every post-period: p = {self.pvalue:.3g} "
            f"(smallest attainable {self.min_pvalue:.3g})",
            f"  estimate {self.estimate:.3g}, {pct}% CI [{self.ci_low:.3g}, {self.ci_high:.3g}]",
        ]
        return "\n".join(lines + [f"  ! {w}" for w in self.warnings])

    def __str__(self) -> str:
        return self.summary()

    def plot(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """p-value against the hypothesised effect θ, with 1 − level and the CI marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.4))
        g = self.grid.sort_values("theta")
        ax.step(g["theta"], g["pvalue"], where="mid", color=color, lw=1.5)
        ax.axhline(
            1 - self.level, color="0.4", ls="--", lw=0.9, label=f"{1 - self.level:.0%} level"
        )
        if np.isfinite(self.ci_low) and np.isfinite(self.ci_high):
            ax.axvspan(
                self.ci_low, self.ci_high, color=color, alpha=0.12, label=f"{self.level:.0%} CI"
            )
        ax.axvline(self.estimate, color=color, lw=0.9, ls=":", label="estimate")
        ax.set_xlabel("hypothesised effect θ")
        ax.set_ylabel("p-value")
        ax.set_ylim(0, 1.02)
        ax.set_title(title or "Conformal test inversion", fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.25)
        return ax


def conformal_test(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    null: float = 0.0,
    model: str = "sc",
    permutation: str = "moving_block",
    q: float = 1,
    level: float = 0.95,
    n_permutations: int = 999,
    seed: int = 0,
    min_pre_periods: int = 5,
    statistic: str = "auto",
) -> ConformalTest:
    """Conformal permutation test and confidence interval for one treated unit.

    Tests that the programme changed the treated unit's outcome (the average of the treated
    units if several start together) by ``null`` in every post-period, by permuting the
    residuals of a counterfactual model fitted under that null over all periods
    (Chernozhukov, Wüthrich & Zhu 2021, *JASA* 116(536); see the module docstring), and
    inverts the test over a grid for a confidence interval of a constant effect.

    Parameters
    ----------
    data, outcome, unit, time, cohort
        Long balanced panel and its columns (``cohort`` = first treated period, missing for
        never treated); checked as for :func:`evaluation.synthetic_control`.
    null : float
        The effect under the null hypothesis (0: no effect).
    model : {"sc", "sc_intercept", "did"}
        Counterfactual model: synthetic control (simplex weights, no intercept, ridge
        10⁻⁶σ̂ as in synthdid's SC), synthetic control with an intercept (ridge as synthdid's
        SDID unit weights), or DiD (equal weights plus intercept).
    permutation : {"moving_block", "iid"}
        Cyclic shifts of the time index (all T of them; robust to serial correlation) or
        ``n_permutations`` random permutations (exchangeable errors only).
    q : float
        Exponent of the statistic ``(mean over post-periods of |û_t|^q)^(1/q)``; 1 is robust
        to outliers, 2 has more power against large short-lived effects.
    statistic : {"auto", "abs_mean", "mean_abs"}
        ``"mean_abs"``: CWZ's ``mean |û|^q``; ``"abs_mean"``: ``|mean û|``, far more powerful
        against a constant effect over a long post-period; ``"auto"``: ``|mean û|`` unless
        the pre-period residuals are strongly autocorrelated (see the module docstring).
    level : float
        Confidence level of the interval.
    n_permutations, seed
        Number and seed of iid permutations.
    min_pre_periods : int
        Fewest pre-periods accepted.

    Returns
    -------
    ConformalTest
        ``pvalue``, ``ci_low``/``ci_high``, ``min_pvalue``, ``grid``, ``residuals``,
        ``plot()``.
    """
    _check(model, permutation, q, level, n_permutations)
    if statistic not in STATISTICS:
        raise DataError(
            f"conformal_test: statistic must be one of {', '.join(map(repr, STATISTICS))}, "
            f"got {statistic!r}."
        )
    if not isinstance(null, int | float) or not math.isfinite(null):
        raise DataError(f"conformal_test: 'null' must be a finite number, got {null!r}.")
    panel = prepare_single_unit_panel(
        data,
        outcome,
        unit,
        time,
        cohort,
        method="conformal test",
        min_pre_periods=max(2, min_pre_periods),
    )
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    sigma = noise_level(Y, N0, T0)
    if model == "sc":
        zeta = 1e-6 * sigma
    elif model == "sc_intercept":
        zeta = ((panel.N1 * panel.T1) ** 0.25) * sigma
    else:
        zeta = 0.0
    y = Y[N0:].mean(axis=0)
    Y0 = Y[:N0].T
    if model == "sc":
        center = synthdid_weights(Y, N0, T0, kind="sc")["estimate"]
    elif model == "sc_intercept":
        center = synthdid_weights(Y, N0, T0, kind="sdid")["estimate"]
    else:
        center = synthdid_weights(Y, N0, T0, kind="did")["estimate"]
    res = conformal_inference(
        y,
        Y0,
        T0,
        model=model,
        zeta=zeta,
        permutation=permutation,
        level=level,
        n_permutations=n_permutations,
        seed=seed,
        center=center,
        null=float(null),
        q=q,
        statistic=statistic,
    )
    warnings = list(panel.notes) + result_warnings(res, level, len(y))
    residuals = pd.DataFrame(
        {"time": panel.times, "residual": res["residuals"], "post": np.arange(len(y)) >= T0}
    )
    return ConformalTest(
        pvalue=res["pvalue"],
        null=float(null),
        statistic=res["statistic"],
        estimate=center,
        ci_low=res["ci_low"],
        ci_high=res["ci_high"],
        level=float(level),
        model=model,
        permutation=permutation,
        q=float(q),
        n_permutations=res["n_permutations"],
        min_pvalue=res["min_pvalue"],
        grid=res["grid"],
        residuals=residuals,
        outcome=outcome,
        warnings=warnings,
        statistic_name=res["statistic_name"],
        autocorrelation=res["autocorrelation"],
    )
