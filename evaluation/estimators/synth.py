"""Synthetic control and synthetic DiD for one treated ward (or the average of a few treated
at the same date): the weights, the estimate, and the refits their inference runs through.

The synthetic control of Abadie, Diamond & Hainmueller (2010, *JASA* 105(490)) predicts what the
treated unit would have looked like without the programme as a weighted average of control
units, with non-negative weights that sum to one, chosen so that the weighted controls track
the treated unit over the pre-period. The effect is the average post-period gap between the
treated unit and its synthetic copy. Synthetic DiD (Arkhangelsky, Athey, Hirshberg, Imbens &
Wager 2021, *AER* 111(12)) re-weights both units and pre-periods and then takes a
difference-in-differences, so a constant level difference is allowed.

We compute the weights exactly as the ``synthdid`` R package does (``sc_estimate``,
``synthdid_estimate``; :func:`evaluation.core.simplex.synthdid_weights`): that is what
reproduces the published Proposition 99 numbers (SC −19.620, SDID −15.604). Only pre-period
outcomes enter the fit. The classical ADH predictor matching with a data-driven V-matrix is
deliberately not offered: its nested optimisation is ill-posed (Kaul, Klößner, Pfeifer &
Schieler 2015 show that with all lagged outcomes as predictors the covariates become
irrelevant; Klößner et al. 2018 show the V-search is not reproducible across software).

Inference goes through :func:`evaluation.inference.engine.infer` like every estimator's: the
conformal test (Chernozhukov, Wüthrich & Zhu 2021), the placebo-in-space rank test (the
randomization inference of a single treated unit), the placebo variance (Algorithm 4 of
Arkhangelsky et al.) and, for synthetic DiD with several treated units, the jackknife
(Algorithm 3).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.simplex import noise_level, synthdid_weights, synthetic_paths
from evaluation.data.prepare import SinglePanel, prepare_single_unit_panel
from evaluation.errors import DataError
from evaluation.inference import engine
from evaluation.inference.choose import Setting
from evaluation.inference.rank_test import placebo_sets
from evaluation.results import Estimate

__all__ = [
    "SyntheticEstimate",
    "fit_synthetic",
    "jackknife_se",
    "placebo_variance",
    "synthetic_control",
]

_METHOD = {"sc": "synthetic control", "sdid": "synthetic DiD"}
_ESTIMATOR = {"sc": "synthetic_control", "sdid": "synthetic_did"}
_CONFORMAL_MODEL = {"sc": "sc", "sdid": "sc_intercept"}


@dataclass
class SyntheticEstimate(Estimate):
    """An :class:`~evaluation.results.Estimate` from a synthetic control or synthetic DiD.

    Extra attributes (also copied into ``details`` so ``to_dict()`` carries them):

    unit_weights : pandas.Series
        ω, the weight of each control unit in the synthetic comparison (≥ 0, sum 1).
    time_weights : pandas.Series
        λ, the weight of each pre-period in the baseline the post-period is compared with
        (all zero for the synthetic control, which compares levels; uniform for DiD).
    paths : pandas.DataFrame
        Columns ``time``, ``treated`` (average of the treated units), ``synthetic``, ``gap``
        (treated − synthetic) and ``post`` (bool), one row per period.
    pre_rmspe, post_rmspe : float
        Root mean squared gap over the pre-period (the fit) and over the post-period.
    start
        The first treated period.
    """

    unit_weights: pd.Series | None = field(default=None, repr=False)
    time_weights: pd.Series | None = field(default=None, repr=False)
    paths: pd.DataFrame | None = field(default=None, repr=False)
    pre_rmspe: float = float("nan")
    post_rmspe: float = float("nan")
    start: Any = None

    def __post_init__(self) -> None:
        if self.unit_weights is not None:
            self.details.setdefault("unit_weights", self.unit_weights)
        if self.time_weights is not None:
            self.details.setdefault("time_weights", self.time_weights)
        if self.paths is not None:
            self.details.setdefault("paths", self.paths)
        self.details.setdefault("pre_rmspe", self.pre_rmspe)
        self.details.setdefault("post_rmspe", self.post_rmspe)
        self.details.setdefault("start", self.start)

    def _xy(self):
        p = self.paths
        x = p["time"]
        if isinstance(x.dtype, pd.PeriodDtype):
            x = x.dt.to_timestamp()
        return x, p

    def _mark_start(self, ax) -> None:
        x, p = self._xy()
        post = p["post"].to_numpy(dtype=bool)
        first_post = np.flatnonzero(post)[0]
        ax.axvline(x.iloc[first_post], color="0.35", lw=0.9, ls="--", label="start")

    def plot(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """Treated (average) path against its synthetic copy, start marked. Returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.6))
        x, p = self._xy()
        treated_label = (
            "treated" if self.n_treated <= 1 else f"treated (average of {self.n_treated})"
        )
        ax.plot(x, p["treated"], color=color, lw=1.8, label=treated_label)
        ax.plot(x, p["synthetic"], color="0.45", lw=1.6, ls="-.", label="synthetic")
        self._mark_start(ax)
        ax.set_ylabel(self.outcome or "outcome")
        if title is None:
            title = f"{self.method}: effect {self.estimate:.3g}"
            if np.isfinite(self.pvalue):
                title += f" (p = {self.pvalue:.2g})"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.25)
        return ax

    def plot_gap(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """Gap (treated − synthetic) over time with the start and the average effect marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.2))
        x, p = self._xy()
        ax.axhline(0, color="0.4", lw=0.8)
        ax.plot(x, p["gap"], color=color, lw=1.6)
        post = p["post"].to_numpy(dtype=bool)
        ax.hlines(
            self.estimate,
            x[post].iloc[0],
            x[post].iloc[-1],
            color=color,
            ls=":",
            label=f"average effect {self.estimate:.3g}",
        )
        self._mark_start(ax)
        ax.set_ylabel(f"gap in {self.outcome}" if self.outcome else "gap")
        ax.set_title(title or f"{self.method}: treated − synthetic", fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.25)
        return ax


# --------------------------------------------------------------------------------------------
# Shared by both estimators
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticOptions:
    """The options both synthetic estimators take (see :func:`synthetic_control`)."""

    inference: str = "auto"
    level: float = 0.95
    seed: int = 0
    placebo_statistic: str = "rmspe_ratio"
    permutation: str = "moving_block"
    n_permutations: int = 999
    max_placebos: int = 200
    min_pre_periods: int = 5

    @classmethod
    def among(cls, args: Mapping[str, Any]) -> SyntheticOptions:
        """The options among a public estimator's arguments (its ``locals()``)."""
        return cls(**{f.name: args[f.name] for f in fields(cls)})


def fit_synthetic(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    kind: str,
    options: SyntheticOptions,
    eta_omega: float | None,
    eta_lambda: float = 1e-6,
) -> SyntheticEstimate:
    """Fit the synthetic control (``kind="sc"``) or synthetic DiD (``"sdid"``) and run its
    inference through the engine."""
    method = _METHOD[kind]
    o = options
    check_options(
        method, o.level, o.placebo_statistic, o.permutation, o.n_permutations, o.max_placebos
    )
    if eta_omega is not None and not (np.isfinite(eta_omega) and eta_omega >= 0):
        raise DataError(f"{method}: eta_omega must be a non-negative number, got {eta_omega!r}.")
    panel = prepare_single_unit_panel(
        data, outcome, unit, time, cohort, method=method, min_pre_periods=max(2, o.min_pre_periods)
    )
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    if kind == "sc":
        w = synthdid_weights(Y, N0, T0, kind="sc", eta_omega=eta_omega)
    else:
        zeta_lambda = eta_lambda * noise_level(Y, N0, T0)
        w = synthdid_weights(Y, N0, T0, kind="sdid", eta_omega=eta_omega, zeta_lambda=zeta_lambda)
    omega, lam, point = w["omega"], w["lambda"], w["estimate"]
    parts = synthetic_paths(Y, N0, T0, omega, lam)
    refits = _refits(panel, kind, w, parts[2], o, eta_omega)
    design = Setting(
        _ESTIMATOR[kind],
        n_clusters=int(Y.shape[0]),
        n_treated_clusters=panel.N1,
        n_periods=Y.shape[1],
        n_pre_periods=T0,
    )
    result = engine.infer(
        o.inference, design, point, refits, level=o.level, seed=o.seed, reps=o.n_permutations
    )
    details = {"zeta_omega": w["zeta_omega"], "noise_level": w["noise"]}
    if kind == "sdid":
        details["zeta_lambda"] = w["zeta_lambda"]
    return _estimate(panel, method, point, omega, lam, parts, result, o.level, details)


def _refits(panel: SinglePanel, kind: str, w: dict, gap: np.ndarray, o, eta_omega) -> dict:
    """What each inference method of the synthetic estimators needs (see the engine)."""
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    zo, zl = w["zeta_omega"], w["zeta_lambda"]

    def fit(Yp: np.ndarray, n0: int, t0: int) -> tuple[float, np.ndarray]:
        # the synthetic control re-estimates its (tiny) ridge on each placebo matrix; synthetic
        # DiD keeps the original regularisation, as synthdid's placebo code does
        if kind == "sc":
            r = synthdid_weights(Yp, n0, t0, kind="sc", eta_omega=eta_omega)
        else:
            r = synthdid_weights(Yp, n0, t0, kind="sdid", zeta_omega=zo, zeta_lambda=zl)
        return r["estimate"], synthetic_paths(Yp, n0, t0, r["omega"], r["lambda"])[2]

    refits: dict[str, Any] = {
        "conformal": engine.ConformalRefit(
            Y[N0:].mean(axis=0),
            Y[:N0].T,
            T0,
            model=_CONFORMAL_MODEL[kind],
            zeta=zo,
            center=w["estimate"],
            permutation=o.permutation,
            n_permutations=o.n_permutations,
        ),
        "randomization": engine.PlaceboRefit(
            Y, N0, T0, fit, gap, panel.units, o.placebo_statistic, o.max_placebos
        ),
        "placebo_variance": engine.VarianceRefit(
            lambda: placebo_variance(
                Y,
                N0,
                T0,
                kind=kind,
                zeta_omega=zo,
                zeta_lambda=zl,
                max_sets=o.max_placebos,
                seed=o.seed,
            )
        ),
    }
    if kind == "sdid" and panel.N1 >= 2:
        refits["jackknife"] = engine.VarianceRefit(
            lambda: jackknife_se(Y, N0, T0, w["omega"], w["lambda"])
        )
    return refits


def _estimate(panel, method, point, omega, lam, parts, result, level, details) -> SyntheticEstimate:
    treated, synth, gap = parts
    T0 = panel.T0
    paths = pd.DataFrame(
        {
            "time": panel.times,
            "treated": treated,
            "synthetic": synth,
            "gap": gap,
            "post": np.arange(len(panel.times)) >= T0,
        }
    )
    return SyntheticEstimate(
        estimate=float(point),
        method=method,
        outcome=panel.outcome,
        level=level,
        n_obs=int(panel.Y.size),
        n_units=int(panel.Y.shape[0]),
        n_treated=panel.N1,
        n_clusters=int(panel.Y.shape[0]),
        warnings=list(panel.notes) + fit_warning(panel, gap[:T0], method) + result.warnings,
        details={
            "treated_units": list(panel.treated),
            "n_pre_periods": T0,
            "n_post_periods": panel.T1,
            **details,
            **result.details,
        },
        unit_weights=pd.Series(omega, index=pd.Index(panel.controls, name="unit"), name="weight"),
        time_weights=pd.Series(lam, index=pd.Index(panel.times[:T0], name="time"), name="weight"),
        paths=paths,
        pre_rmspe=float(np.sqrt(np.mean(gap[:T0] ** 2))),
        post_rmspe=float(np.sqrt(np.mean(gap[T0:] ** 2))),
        start=panel.start,
        **result.fields(),
    )


def fit_warning(panel: SinglePanel, pre_gap: np.ndarray, method: str) -> list[str]:
    """Warn when the treated unit is poorly reproduced in the pre-period.

    Two signs that the treated unit lies outside the convex hull of the controls: its pre-period
    outcome is above every control (or below every control) in at least half of the pre-periods
    (only for the level-matching synthetic control), or the pre-period RMSPE exceeds a quarter of
    the outcome's spread (standard deviation of all units' pre-period outcomes).
    """
    out: list[str] = []
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    rmspe = float(np.sqrt(np.mean(pre_gap**2)))
    spread = float(np.std(Y[:, :T0]))
    rel = rmspe / spread if spread > 0 else (0.0 if rmspe == 0 else math.inf)
    treated = Y[N0:, :T0].mean(axis=0)
    above = float(np.mean(treated > Y[:N0, :T0].max(axis=0)))
    below = float(np.mean(treated < Y[:N0, :T0].min(axis=0)))
    outside = max(above, below) if method == "synthetic control" else 0.0
    if outside >= 0.5 or rel > 0.25:
        where = "above" if above >= below else "below"
        out.append(
            f"Poor pre-period fit: the {method} misses the treated unit by {rmspe:.3g} on "
            f"average (pre-period RMSPE), {rel:.0%} of the outcome's spread ({spread:.3g})"
            + (
                f"; the treated unit is {where} every control in {outside:.0%} of the "
                "pre-periods, i.e. outside the range (convex hull) the controls can reproduce"
                if outside >= 0.5
                else ""
            )
            + ". The estimate then reflects the mismatch as much as the programme: compare "
            "with synthetic DiD (ev.synthetic_did, which allows a level difference) or DiD."
        )
    return out


def check_options(
    method: str,
    level: float,
    statistic: str,
    permutation: str,
    n_permutations: int,
    max_placebos: int,
) -> None:
    if not (isinstance(level, float | int) and 0.5 <= float(level) < 1):
        raise DataError(f"{method}: 'level' must be a confidence level in [0.5, 1), got {level!r}.")
    if statistic not in ("rmspe_ratio", "effect"):
        raise DataError(
            f"{method}: placebo_statistic must be 'rmspe_ratio' or 'effect', got {statistic!r}."
        )
    if permutation not in ("moving_block", "iid"):
        raise DataError(
            f"{method}: permutation must be 'moving_block' or 'iid', got {permutation!r}."
        )
    if not (isinstance(n_permutations, int | np.integer) and n_permutations >= 19):
        raise DataError(
            f"{method}: n_permutations must be an integer ≥ 19, got {n_permutations!r}."
        )
    if not (isinstance(max_placebos, int | np.integer) and max_placebos >= 1):
        raise DataError(f"{method}: max_placebos must be a positive integer, got {max_placebos!r}.")


def placebo_variance(
    Y: np.ndarray,
    N0: int,
    T0: int,
    *,
    kind: str,
    zeta_omega: float,
    zeta_lambda: float,
    max_sets: int = 200,
    seed: int = 0,
) -> tuple[float, dict[str, Any]]:
    """Placebo standard error, Algorithm 4 of Arkhangelsky et al. (2021).

    The estimator is re-run (weights re-fitted, regularisation kept) on the controls only, with
    N₁ of them as pseudo-treated; the SE is the standard deviation of these placebo estimates
    (population form, as synthdid's ``sqrt((r − 1)/r) · sd``). synthdid draws 200 random sets;
    when all sets can be listed (``C(N₀, N₁) ≤ max_sets``, e.g. the 38 states of Prop 99 or the
    12 control wards) we use every set, which is the value those random draws estimate.
    """
    N1 = Y.shape[0] - N0
    if N0 <= N1:
        return float("nan"), {"why": f"{N0} controls for {N1} treated; need more controls"}
    sets, enumerated = placebo_sets(N0, N1, max_sets, seed)
    ests = np.empty(len(sets))
    for k, s in enumerate(sets):
        donors = [j for j in range(N0) if j not in s]
        ests[k] = synthdid_weights(
            Y[donors + list(s)],
            len(donors),
            T0,
            kind=kind,
            zeta_omega=zeta_omega,
            zeta_lambda=zeta_lambda,
        )["estimate"]
    se = float(np.std(ests))
    how = f"all {len(sets)} sets" if enumerated else f"{len(sets)} random sets"
    warnings = []
    if len(sets) < 20:
        warnings.append(
            f"The placebo standard error rests on only {len(sets)} placebo estimates, so it is "
            "itself imprecise; prefer the exact placebo-in-space test (inference='placebo')."
        )
    text = (
        "placebo variance (Arkhangelsky et al. 2021, Algorithm 4): the estimator re-run with "
        f"{N1} control(s) at a time as pseudo-treated ({how}), SE = standard deviation of the "
        "placebo estimates, normal confidence interval; assumes the treated units' noise is "
        "like the controls'"
    )
    return se, {"text": text, "warnings": warnings, "details": {"placebo_estimates": ests.tolist()}}


def jackknife_se(
    Y: np.ndarray, N0: int, T0: int, omega: np.ndarray, lam: np.ndarray
) -> tuple[float, dict[str, Any]]:
    """Jackknife standard error with fixed weights, Algorithm 3 of Arkhangelsky et al. (2021).

    Each unit is left out in turn; unit weights of the remaining controls are renormalised,
    time weights kept (synthdid's ``jackknife_se``). Undefined with one treated unit or when a
    single control carries all the weight.
    """
    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    if N1 < 2:
        return float("nan"), {"why": "the jackknife needs at least two treated units"}
    if np.count_nonzero(omega) <= 1:
        return float("nan"), {"why": "one control carries all the unit weight"}
    ests = np.empty(N)
    lam_full = np.r_[-lam, np.full(T1, 1.0 / T1)]
    for i in range(N):
        keep_c = [j for j in range(N0) if j != i]
        keep_t = [j for j in range(N0, N) if j != i]
        w = omega[keep_c]
        w = w / w.sum()
        n1 = len(keep_t)
        ests[i] = float(np.r_[-w, np.full(n1, 1.0 / n1)] @ Y[keep_c + keep_t] @ lam_full)
    se = float(math.sqrt((N - 1) / N * np.sum((ests - ests.mean()) ** 2)))
    text = (
        "jackknife (Arkhangelsky et al. 2021, Algorithm 3): each of the "
        f"{N} units left out in turn with the weights held fixed; normal confidence interval"
    )
    warnings = []
    if N1 < 10:
        warnings.append(
            f"The jackknife with only {N1} treated units can be unreliable (Arkhangelsky et al. "
            "2021, §5); compare with inference='placebo'."
        )
    return se, {
        "text": text,
        "warnings": warnings,
        "details": {"jackknife_estimates": ests.tolist()},
    }


# --------------------------------------------------------------------------------------------
# Public estimator
# --------------------------------------------------------------------------------------------


def synthetic_control(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    inference: str = "auto",
    level: float = 0.95,
    seed: int = 0,
    placebo_statistic: str = "rmspe_ratio",
    permutation: str = "moving_block",
    n_permutations: int = 999,
    max_placebos: int = 200,
    min_pre_periods: int = 5,
    eta: float = 1e-6,
) -> SyntheticEstimate:
    """Synthetic control estimate of the effect on one treated unit (ADH 2010).

    Estimates the average post-period effect on the treated unit,
    ``τ = mean over t ≥ start of (Y_treated,t − Σ_j ω_j Y_j,t)``, with non-negative control
    weights ω summing to one, fitted to the treated unit's pre-period outcomes (Abadie,
    Diamond & Hainmueller 2010, *JASA* 105(490)), computed as the ``synthdid`` R package's
    ``sc_estimate`` (Arkhangelsky et al. 2021, *AER* 111(12)): ridge ζ = ``eta`` · σ̂,
    Frank–Wolfe with sparsification. On California's Proposition 99 it gives −19.620 packs.

    Several treated units with the same start are aggregated: the weights reproduce their
    average path and the estimate is their average effect (as in synthdid). With staggered
    starts the earliest cohort is evaluated and the panel is cut before the next one starts.

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per unit × period, balanced and without missing outcomes.
    outcome, unit, time, cohort : str
        Column names; ``cohort`` is the first treated period, missing for never-treated units.
    inference : {"auto", "conformal", "placebo", "randomization", "placebo_variance", "none"}
        ``"placebo"`` (alias ``"randomization"``): placebo-in-space rank test — each control
        in turn as if treated (controls only as donors), p = rank of the treated unit's
        statistic among the J + 1, smallest p = 1/(J + 1); CI by inverting the test over a
        constant effect. ``"conformal"``: Chernozhukov, Wüthrich & Zhu (2021, *JASA*)
        permutation of residuals over time (see :func:`evaluation.conformal_test`), smallest p
        = 1/T with moving-block permutations. ``"placebo_variance"``: Algorithm 4 of
        Arkhangelsky et al. (normal CI; assumes controls and treated have the same noise).
        ``"auto"`` uses conformal when the pre-period has at least 20 periods and is at
        least as long as the post-period, else placebo; ``Estimate.inference`` says which and
        why. ``"cluster"`` and ``"wild"`` raise :class:`~evaluation.errors.InferenceError`.
    level : float
        Confidence level of the interval.
    seed : int
        Seed for random permutations or placebo sets (only used when they are sampled).
    placebo_statistic : {"rmspe_ratio", "effect"}
        Statistic ranked by the placebo test: post/pre RMSPE ratio (ADH 2010; rewards a good
        pre-period fit) or the absolute average effect.
    permutation : {"moving_block", "iid"}
        Permutations of the conformal test; moving-block (cyclic shifts) is valid under serial
        correlation, iid only for exchangeable errors.
    n_permutations : int
        Number of random permutations for ``permutation="iid"`` (smallest p = 1/(n + 1)).
    max_placebos : int
        Placebo sets are enumerated when there are at most this many (always, with one treated
        unit and up to 200 controls), otherwise this many are drawn at random (synthdid draws
        200). Each is a refit.
    min_pre_periods : int
        Fewest pre-periods accepted (default 5); fewer raise DesignError.
    eta : float
        Ridge strength relative to σ̂ (synthdid's ``eta.omega`` for SC, default 10⁻⁶).

    Returns
    -------
    SyntheticEstimate
        With ``unit_weights``, ``time_weights`` (zero: SC compares levels), ``paths``,
        ``pre_rmspe``, ``plot()`` and ``plot_gap()``.

    Examples
    --------
    >>> est = ev.synthetic_control(panel, "crashes", "ward", "week", "cohort")  # doctest: +SKIP
    >>> est.unit_weights.sort_values(ascending=False).head()  # doctest: +SKIP
    """
    return fit_synthetic(
        data,
        outcome,
        unit,
        time,
        cohort,
        kind="sc",
        options=SyntheticOptions.among(locals()),
        eta_omega=eta,
    )
