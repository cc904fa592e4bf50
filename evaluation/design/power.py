"""Power and minimum detectable effect (MDE) of the planned analysis, on the user's own panel.

The design is the ``cohort`` column: the planned first treated period of each unit (missing =
not treated). A design's power against an effect δ is the probability that the analysis that
will be run — the estimator with the inference ``inference="auto"`` resolves for this design
(:func:`evaluation.inference.choose.choose_inference`) — rejects "no effect" at the chosen
level. It is computed by simulation on the *observed* outcome, so the panel's own serial
correlation, seasonality and ward heterogeneity are kept, not assumed away (Burlig, Preonas &
Woerman 2020, "Panel data and experimental design", *J. Development Economics* 144): each
replication r

1. re-draws which units take which planned start — a permutation of the planned cohorts across
   units (within strata when given), the assignment mechanism of a randomised rollout;
2. adds the effect to the treated cells of the observed outcome: Y_r = Y + δ·D_r (additive), or
   Y + δ·D_r∘Y (proportional, for counts: δ = −0.1 is a 10 % reduction);
3. runs the analysis's test and records whether p < 1 − level (the workbench's verdicts call an
   effect detected when p is below the level, :mod:`evaluation.analysis.policy`).

Power is the share of replications that reject; with few distinct assignments (13 for one
pilot ward of 13) every one is evaluated and the power is exact over the assignment
distribution.

Speed comes from linearity. TWFE and Callaway & Sant'Anna's aggregations are linear in the
outcome, so under any re-assignment a, θ_a(Y + δ·Z_r) = θ_a(Y) + δ·θ_a(Z_r), with Z_r = D_r (or
D_r∘Y). Randomization inference (MacKinnon & Webb 2020) compares θ_r(Y_r) with θ_a(Y_r) over the
re-assignments a the analysis draws, so the p-value of replication r at *every* δ follows from
the four arrays θ_r(Y), θ_r(Z_r), θ_a(Y), θ_a(Z_r), which the estimators' vectorised hooks
(:func:`evaluation.estimators.twfe.randomization_statistic`,
:meth:`evaluation.estimators.att_gt.results.AttGt.unit_contributions`) compute for all
replications and re-assignments at once. The conformal test of one treated unit
(Chernozhukov, Wüthrich & Zhu 2021) is linear in δ the same way, and with cluster-robust
standard errors an additive effect leaves the TWFE residuals unchanged, so t_r(δ) = (β_r + δ)/
se_r. A whole power curve then costs a few array comparisons per effect, and :func:`mde` is a
root-find on that curve (common random numbers: every effect sees the same draws), not a nested
simulation. The draws the analysis would make (its seed and number of re-assignments) are
reproduced exactly, so each simulated p-value equals the one the estimator reports on the
replication's data (checked in the tests). Other methods (the wild bootstrap, influence-
function errors) fall back to re-running the estimator on each replication's data.

The MDE (Bloom 1995, "Minimum detectable effects", *Evaluation Review* 19(5)) is the smallest
effect in the chosen direction detected with the target power; :func:`did_variance` and
:func:`analytic_mde` give Burlig et al.'s closed form under AR(1) errors against which the
simulation is checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.data.prepare import Panel, check_level, prepare
from evaluation.errors import DataError, examples
from evaluation.formats import number, percent
from evaluation.inference import engine
from evaluation.inference.choose import Design, choose_inference, design_limit_warning
from evaluation.inference.conformal import choose_statistic, permutation_index
from evaluation.inference.randomization import (
    count_assignments,
    enumerate_assignments,
    sample_assignments,
)

__all__ = [
    "MDEResult",
    "PowerResult",
    "analytic_mde",
    "did_variance",
    "mde",
    "power",
    "power_and_mde",
]

ESTIMATORS = ("twfe", "att_gt")
SCALES = ("additive", "proportional")
DIRECTIONS = ("decrease", "increase")
#: grid points of the power curve over [0, top]; the MDE is refined by bisection between two
_GRID = 21
#: the simulation's settings and their defaults (those of :func:`power`)
_DEFAULTS = {
    "estimator": "twfe",
    "inference": "auto",
    "reps": 1000,
    "seed": 0,
    "strata": None,
    "level": 0.95,
    "scale": "additive",
    "permutations": 9999,
    "analysis_seed": 0,
    "options": None,
    "aggregation": "simple",
}
#: elements per block of the vectorised statistic (keeps memory near 100 MB at most)
_BLOCK = 2_000_000
#: up to this many units the randomization statistics are one matrix product (cost N² per
#: pair of replication and re-assignment, in BLAS); beyond it, look-ups (cost N)
_MATMUL_UNITS = 40


# --------------------------------------------------------------------------------------------
# Results


def _fields_dict(result: Any, skip: tuple[str, ...]) -> dict[str, Any]:
    """A result's dataclass fields but ``skip``, in order, as JSON values (its ``to_dict``)."""
    return {f.name: jsonable(getattr(result, f.name)) for f in fields(result) if f.name not in skip}


@dataclass
class PowerResult:
    """Power of the planned analysis against one or several effects.

    Attributes
    ----------
    table
        One row per effect: ``effect`` (outcome units, or relative for ``scale="proportional"``),
        ``power`` (share of replications whose test rejects) and ``mc_se`` (its Monte-Carlo
        standard error √(p(1 − p)/R); 0 when every assignment was evaluated).
    reps, exact, n_assignments
        Replications evaluated, whether they are all the distinct assignments of the planned
        cohorts (then the power is exact), and how many distinct assignments there are.
    inference_method, inference
        The analysis's inference (code) and why ``inference="auto"`` chose it.
    baseline
        Mean outcome of the planned treated units before their start.
    sentence_vi, sentence_en
        The result in one plain sentence (the first effect of the table).
    """

    table: pd.DataFrame
    outcome: str
    estimator: str
    inference_method: str
    inference: str
    level: float
    scale: str
    reps: int
    exact: bool
    n_assignments: int
    min_pvalue: float
    baseline: float
    sentence_vi: str = ""
    sentence_en: str = ""
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def effect(self) -> float:
        return float(self.table["effect"].iloc[0])

    @property
    def power(self) -> float:
        return float(self.table["power"].iloc[0])

    @property
    def mc_se(self) -> float:
        return float(self.table["mc_se"].iloc[0])

    def plot(self, ax=None, *, target: float | None = 0.8, color: str = "#1f5fa8", label=None):
        """The power curve (power against the effect) with its Monte-Carlo band."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.4))
        t = self.table.sort_values("effect")
        x = t["effect"].to_numpy(dtype=float)
        if self.scale == "proportional":
            x = 100 * x
        p, se = t["power"].to_numpy(), t["mc_se"].to_numpy()
        ax.plot(x, p, color=color, lw=1.6, label=label)
        ax.fill_between(x, p - 2 * se, p + 2 * se, color=color, alpha=0.15, lw=0)
        ax.axhline(1 - self.level, color="0.5", lw=0.8, ls=":")
        if target is not None:
            ax.axhline(target, color="0.4", lw=0.8, ls="--")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("effect (%)" if self.scale == "proportional" else f"effect ({self.outcome})")
        ax.set_ylabel("power")
        ax.grid(alpha=0.25)
        return ax

    def to_dict(self) -> dict[str, Any]:
        out = _fields_dict(self, skip=("table", "details"))
        out["table"] = jsonable(self.table)
        return out


@dataclass
class MDEResult:
    """Minimum detectable effect of the planned analysis (Bloom 1995).

    ``mde`` is signed, in outcome units (for ``scale="proportional"`` the relative effect times
    the baseline); ``mde_percent`` is it as a percentage of the treated units' pre-period
    baseline. Both are NaN when no effect in that direction reaches the target power
    (``detectable`` False; the warnings and sentences say why). ``achieved_power`` and
    ``mc_se`` are the simulated power at the MDE and its Monte-Carlo error; ``mde_mc_se``
    translates that error into outcome units through the slope of the curve. ``curve`` is the
    power curve the root was found on.
    """

    mde: float
    mde_percent: float
    target_power: float
    achieved_power: float
    mc_se: float
    mde_mc_se: float
    detectable: bool
    direction: str
    curve: PowerResult
    sentence_vi: str = ""
    sentence_en: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def level(self) -> float:
        return self.curve.level

    @property
    def inference(self) -> str:
        return self.curve.inference

    @property
    def inference_method(self) -> str:
        return self.curve.inference_method

    @property
    def baseline(self) -> float:
        return self.curve.baseline

    def plot(self, ax=None, **kwargs):
        """The power curve with the MDE marked."""
        ax = self.curve.plot(ax, target=self.target_power, **kwargs)
        if self.detectable:
            x = self.mde if self.curve.scale == "additive" else 100 * self.mde / self.baseline
            ax.axvline(x, color="#b04a3a", lw=1.0)
        return ax

    def to_dict(self) -> dict[str, Any]:
        out = _fields_dict(self, skip=("curve",))
        out["curve"] = self.curve.to_dict()
        return out


# --------------------------------------------------------------------------------------------
# Theory: the DiD variance with serially correlated errors


def did_variance(n_pre: int, n_post: int, *, rho: float = 0.0, sigma: float = 1.0) -> float:
    """Variance of one unit's post-minus-pre mean error under stationary AR(1) errors.

    Burlig, Preonas & Woerman (2020, eq. 7) write the DiD variance as
    ``(m + r)/(m r)·σ² + (m − 1)/m·ψᴮ + (r − 1)/r·ψᴬ − 2ψˣ`` per unit of ``1/(P(1 − P)J)``, with
    ψᴮ, ψᴬ the average covariance between distinct pre- (post-) periods and ψˣ between a pre- and
    a post-period; for AR(1) errors Cov(ε_s, ε_t) = σ²ρ^|s−t|. This equals Var(ē_post − ē_pre)
    exactly; with ρ = 0 it is the iid σ²(1/m + 1/r).
    """
    m, r = int(n_pre), int(n_post)
    if m < 1 or r < 1:
        raise DataError(f"did_variance: need n_pre ≥ 1 and n_post ≥ 1, got {m} and {r}")
    if not -1 < rho < 1:
        raise DataError(f"did_variance: rho must be in (−1, 1) for stationary errors, got {rho}")
    t = np.arange(m + r)
    cov = sigma**2 * float(rho) ** np.abs(t[:, None] - t[None, :])
    pre, post = cov[:m, :m], cov[m:, m:]
    off = ~np.eye(m, dtype=bool), ~np.eye(r, dtype=bool)
    psi_b = pre[off[0]].mean() if m > 1 else 0.0
    psi_a = post[off[1]].mean() if r > 1 else 0.0
    psi_x = cov[:m, m:].mean()
    return float(
        (m + r) / (m * r) * sigma**2 + (m - 1) / m * psi_b + (r - 1) / r * psi_a - 2 * psi_x
    )


def analytic_mde(
    n_treated: int,
    n_control: int,
    n_pre: int,
    n_post: int,
    *,
    rho: float = 0.0,
    sigma: float = 1.0,
    level: float = 0.95,
    power: float = 0.8,
    df: int | None = None,
) -> float:
    """Bloom's (1995) MDE of the two-group DiD with AR(1) errors (Burlig et al. 2020, eq. 7).

    ``(q_{1−α/2} + q_{power}) · √((1/N₁ + 1/N₀)·V)`` with V = :func:`did_variance` (unit and
    period effects cancel in the DiD) and q normal quantiles, or Student's t with ``df``
    degrees of freedom (G − 1 for cluster-robust errors, as Burlig et al. write it).
    """
    from scipy import stats

    dist = stats.norm if df is None else stats.t(df)
    z = dist.ppf(1 - (1 - level) / 2) + dist.ppf(power)
    v = did_variance(n_pre, n_post, rho=rho, sigma=sigma)
    return float(z * math.sqrt((1 / n_treated + 1 / n_control) * v))


# --------------------------------------------------------------------------------------------
# The plan: design, inference and replications


@dataclass
class _Plan:
    data: pd.DataFrame
    outcome: str
    unit: str
    time: str
    cohort: str
    estimator: str
    options: dict
    aggregation: str
    prep: Panel
    Y: np.ndarray  # N × T, sorted units and periods
    units: pd.Index
    cpos: np.ndarray  # planned cohort position per unit (T = not treated)
    labels: np.ndarray  # planned cohort label per unit (the data's values)
    groups: pd.Series  # stratum per unit ("all" without strata)
    strata: str | None
    method: str
    reason: str
    design: Design
    level: float
    scale: str
    permutations: int
    analysis_seed: int
    baseline: float
    warnings: list[str]
    att: Any = None


def _check_args(data, outcome, unit, time, cohort, reps, settings: Mapping[str, Any]):
    estimator, scale = settings["estimator"], settings["scale"]
    strata, options = settings["strata"], settings["options"]
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"argument 'data' must be a pandas DataFrame (long panel), got {type(data).__name__}"
        )
    if estimator not in ESTIMATORS:
        raise DataError(
            f"argument 'estimator' must be one of {', '.join(map(repr, ESTIMATORS))}, got "
            f"{estimator!r}: power is computed for the analysis that will be run"
        )
    if scale not in SCALES:
        raise DataError(
            f"argument 'scale' must be 'additive' (the effect in outcome units) or "
            f"'proportional' (a relative change, e.g. -0.1 for 10 % fewer), got {scale!r}"
        )
    if not isinstance(reps, int | np.integer) or isinstance(reps, bool) or reps < 2:
        raise DataError(
            f"argument 'reps' must be a whole number ≥ 2 of simulated assignments, got {reps!r} "
            "(e.g. reps=1000)"
        )
    if options is not None and not isinstance(options, Mapping):
        raise DataError(
            f"argument 'options' must be a dict of the estimator's keyword arguments (e.g. "
            f"{{'control': 'notyet'}}), got {options!r}"
        )
    for arg, col in (("outcome", outcome), ("unit", unit), ("time", time), ("cohort", cohort)):
        if not isinstance(col, str) or col not in data.columns:
            raise DataError(
                f"argument '{arg}': column {col!r} is not in the data (columns: "
                f"{examples(list(data.columns), 12)}); pass the name of the {arg} column"
            )
    if strata is not None and (not isinstance(strata, str) or strata not in data.columns):
        raise DataError(
            f"argument 'strata': column {strata!r} is not in the data (columns: "
            f"{examples(list(data.columns), 12)}); give the column of the randomisation strata "
            "(one value per unit, e.g. 'urban_class'), or None"
        )


def _effects(effect: Any) -> np.ndarray:
    values = np.atleast_1d(np.asarray(effect, dtype=object))
    try:
        out = values.astype(float)
    except (TypeError, ValueError):
        raise DataError(
            f"argument 'effect' must be a number or a list of numbers (the effect to detect, in "
            f"outcome units), got {effect!r}"
        ) from None
    if out.ndim != 1 or len(out) == 0 or not np.isfinite(out).all():
        raise DataError(
            f"argument 'effect' must hold finite numbers, got {effect!r}; e.g. effect=-2.0 or "
            "effect=[-1, -2, -3]"
        )
    return out


def _unit_strata(data: pd.DataFrame, unit: str, strata: str | None, units: pd.Index) -> pd.Series:
    if strata is None:
        return pd.Series("all", index=units)
    per_unit = data.groupby(unit, sort=True)[strata].nunique(dropna=False)
    bad = per_unit.index[per_unit > 1]
    if len(bad):
        raise DataError(
            f"argument 'strata': column '{strata}' changes within unit(s) "
            f"{examples(list(bad))}; a unit belongs to one stratum — give each unit one value"
        )
    g = data.groupby(unit, sort=True)[strata].first()
    if g.isna().any():
        raise DataError(
            f"argument 'strata': column '{strata}' is missing for unit(s) "
            f"{examples(list(g.index[g.isna()]))}; give every unit a stratum"
        )
    return g.reindex(units).astype(str)


def _plan(
    data,
    outcome,
    unit,
    time,
    cohort,
    *,
    estimator,
    inference,
    strata,
    level,
    scale,
    permutations,
    analysis_seed,
    options,
    aggregation,
) -> _Plan:
    options = dict(options or {})
    level = check_level(level)
    att_gt_options = estimator == "att_gt"
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator=estimator,
        one_row_per_cell=att_gt_options,
        allow_always_treated=not att_gt_options,
        anticipation=int(options.get("anticipation", 0)) if att_gt_options else 0,
    )
    if not prep.balanced:
        raise DataError(
            f"power: the panel must be balanced (one row per {unit} × {time}, every unit in every "
            f"period) to re-assign the planned starts; it has {prep.n} rows for {prep.N} units × "
            f"{prep.T} periods. Aggregate to one row per cell and fill or drop the gaps first"
        )
    if not isinstance(permutations, int | np.integer) or permutations < 19:
        raise DataError(
            f"argument 'permutations' must be a whole number ≥ 19 (the analysis's randomization "
            f"re-assignments), got {permutations!r}"
        )
    units = pd.Index(prep.units)
    Y = prep.wide()
    labels = np.asarray(data.groupby(unit, sort=True)[cohort].first().reindex(units), dtype=object)
    groups = _unit_strata(data, unit, strata, units)
    design, available = _design_of(prep, estimator, options)
    if inference == "auto":
        method, why = choose_inference(
            design.n_clusters,
            design.n_treated_clusters,
            design.n_periods,
            estimator,
            n_pre_periods=design.n_pre_periods,
            available=available,
        )
        reason = f"chosen by inference='auto': {why}"
    else:  # the estimator's own check of an explicit request (same messages)
        choice = engine.resolve(inference, design, available)
        method, reason = choice.method, choice.reason
    if method == "none":
        raise DataError("argument 'inference': power needs a test; 'none' computes no p-value")
    treated = prep.cohort_pos < prep.T
    pre = np.arange(prep.T)[None, :] < prep.cohort_pos[:, None]
    baseline = float(Y[treated][pre[treated]].mean()) if treated.any() else math.nan
    warnings = []
    if scale == "proportional" and not (np.nanmin(Y) >= 0):
        warnings.append(
            "scale='proportional' multiplies the outcome; it has negative values, so a relative "
            "effect is hard to read — prefer scale='additive'."
        )
    return _Plan(
        data=data,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        estimator=estimator,
        options=options,
        aggregation=aggregation,
        prep=prep,
        Y=Y,
        units=units,
        cpos=prep.cohort_pos.copy(),
        labels=labels,
        groups=groups,
        strata=strata,
        method=method,
        reason=reason,
        design=design,
        level=level,
        scale=scale,
        permutations=int(permutations),
        analysis_seed=int(analysis_seed),
        baseline=baseline,
        warnings=warnings,
    )


def _design_of(prep: Panel, estimator: str, options: dict) -> tuple[Design, tuple[str, ...]]:
    """The Design the estimator hands its inference, and the methods it can run on it
    (mirrors twfe's and att_gt's own construction; the tests check they agree)."""
    G = prep.n_clusters
    if estimator == "twfe":
        G1 = prep.n_treated_clusters()
        available = ["cluster", "wild", "randomization"]
        if G < 2:
            available = ["randomization"]
        elif min(G1, G - G1) < 1:
            available.remove("wild")
        n_pre = None
        if prep.n_treated == 1 and G == prep.N:
            n_pre = int(prep.cohort_pos[prep.ever_treated][0])
            available.append("conformal")
        return Design("twfe", G, G1, prep.T, n_pre, prep.cluster_name), tuple(available)
    cpos = prep.cohort_pos
    treated = cpos < prep.T
    if treated.all() and options.get("control", "never") in ("notyet", "notyettreated"):
        treated = cpos < cpos.max()  # the last cohort is the comparison group (as R did)
    return Design("att_gt", G, int(treated.sum()), prep.T), ("analytic", "randomization")


def _assignments(plan: _Plan, reps: int, seed: int | None) -> tuple[np.ndarray, bool, int]:
    """Replication assignments as rows of donor positions (unit j takes the planned cohort of
    unit ``donors[r, j]``): every distinct one when there are at most ``reps``, else ``reps``
    random permutations within strata."""
    cohorts = pd.Series(plan.cpos, index=plan.units)
    n_assign = 1
    for g in plan.groups.unique():
        n_assign *= count_assignments(cohorts[plan.groups == g])
    if n_assign <= reps:
        return enumerate_assignments(cohorts, plan.groups), True, n_assign
    # a stream of its own, so the replications never coincide with the analysis's draws
    rng = np.random.default_rng([0 if seed is None else int(seed), 0x5EED])
    return sample_assignments(cohorts, plan.groups, reps, rng), False, n_assign


def _directions(plan: _Plan, donors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Treated indicators D_r (R × N × T) of the replications and the effect's direction Z_r
    (D_r, or D_r∘Y for proportional effects)."""
    C = plan.cpos[donors]  # R × N planned cohort positions under each replication
    D = (np.arange(plan.prep.T)[None, None, :] >= C[:, :, None]).astype(float)
    return D, (D if plan.scale == "additive" else D * plan.Y[None])


# --------------------------------------------------------------------------------------------
# Evaluators: which replications reject at effect δ


class _LinearTest:
    """Replication r rejects at δ when the share of reference statistics k with
    |A_rk + δB_rk| ≥ |a_r + δb_r| (ties by ``tol``) is below α. Randomization inference
    (reference = re-assignments) and the conformal |mean residual| test (reference = time
    shifts) both have this form."""

    def __init__(self, a, b, A, B, alpha: float, rule: str):
        self.a, self.b, self.A, self.B = a, b, A, B
        self.alpha, self.rule = alpha, rule
        self.n = len(a)
        self.K = A.shape[1]

    def reject(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        return self.pvalues(delta, rows) < self.alpha  # p < α, as the verdicts read it

    def pvalues(self, delta: float, rows: np.ndarray | None = None) -> np.ndarray:
        """The analysis's p-value in each replication (``rows``) at effect δ."""
        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        count = np.empty(len(rows), dtype=np.int64)
        step = max(1, _BLOCK // self.K)
        shared = self.A.shape[0] == 1
        buf = np.empty((min(step, len(rows)), self.K))
        for s in range(0, len(rows), step):
            r = rows[s : s + step]
            obs = np.abs(self.a[r] + delta * self.b[r])
            if self.rule == "randomization":  # randomization.py's tie rule
                cut = obs - 1e-10 * np.maximum(1.0, obs)
            else:  # conformal.py's tie rule
                cut = obs * (1 - 1e-12) - 1e-300
            x = buf[: len(r)]  # |A + δB| in place: this loop is the whole cost of a curve
            np.multiply(self.B[r], delta, out=x)
            x += self.A if shared else self.A[r]
            np.abs(x, out=x)
            count[s : s + len(r)] = np.count_nonzero(x >= cut[:, None], axis=1)
        return count / self.K

    def spread(self) -> float:
        """A rough standard error of the estimate (the scale the MDE search starts from)."""
        if self.rule == "randomization":
            s = float(np.std(self.a)) if self.n > 2 else float(np.std(self.A))
            return s if s > 0 else float(np.std(self.A))
        return float(np.median(np.std(self.A, axis=1) / np.maximum(np.abs(self.b), 1e-12)))


class _MeanAbsConformal:
    """The conformal test with CWZ's robust statistic mean |û| (used by ``statistic="auto"``
    when the pre-period residuals are strongly autocorrelated): not linear, but each δ costs
    one pass over the T shifts."""

    def __init__(self, u0, zc, index, alpha):
        self.u0, self.zc, self.index, self.alpha = u0, zc, index, alpha
        self.n = len(u0)

    def reject(self, delta: float, rows=None) -> np.ndarray:
        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        u = self.u0[rows] + delta * self.zc[rows]  # rows × T
        stats = np.abs(u[:, self.index]).mean(axis=2)  # rows × shifts
        s0 = stats[:, :1]
        return (stats >= s0 * (1 - 1e-12) - 1e-300).mean(axis=1) < self.alpha

    def spread(self) -> float:
        return float(np.median(np.std(self.u0, axis=1)))


class _ClusterT:
    """TWFE with CR1 standard errors: an additive effect moves β̂_r by δ and leaves the
    residuals (hence se_r) unchanged, so t_r(δ) = (β̂_r + δ)/se_r, compared with Student's t
    with G − 1 degrees of freedom as twfe does."""

    def __init__(self, beta, se, df, alpha):
        from scipy import stats

        self.beta, self.se, self.alpha = beta, se, alpha
        self.n = len(beta)
        self.t = stats.t
        self.df = df

    def reject(self, delta: float, rows=None) -> np.ndarray:
        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        t = np.abs(self.beta[rows] + delta) / self.se[rows]
        return 2 * self.t.sf(t, self.df) < self.alpha

    def spread(self) -> float:
        return float(np.median(self.se))


class _Refit:
    """Any other method: re-run the estimator on each replication's data (slow, exact)."""

    def __init__(self, plan: _Plan, donors: np.ndarray, alpha: float):
        self.plan, self.donors, self.alpha = plan, donors, alpha
        self.n = len(donors)
        data, unit = plan.data, plan.unit
        self._codes = plan.units.get_indexer(data[unit])
        self._cell = (
            plan.prep.time.astype(np.int64),
            plan.prep.unit.astype(np.int64),
        )  # row -> (period, unit) positions, in data row order
        self._y = data[plan.outcome].to_numpy(dtype=float)
        self._cache: dict[tuple[int, float], bool] = {}

    def _data(self, r: int, delta: float) -> pd.DataFrame:
        p = self.plan
        d = self.donors[r]
        cohort = p.labels[d][self._codes]
        t, u = self._cell
        treated = t >= p.cpos[d][u]
        shift = treated * (1.0 if p.scale == "additive" else self._y)
        return p.data.assign(**{p.cohort: cohort, p.outcome: self._y + delta * shift})

    def _pvalue(self, data: pd.DataFrame, inference: str) -> Any:
        from evaluation.estimators.att_gt import att_gt
        from evaluation.estimators.twfe import twfe

        p = self.plan
        args = (data, p.outcome, p.unit, p.time, p.cohort)
        if p.estimator == "twfe":
            return twfe(
                *args,
                inference=inference,
                level=p.level,
                seed=p.analysis_seed,
                n_boot=p.permutations,
                **p.options,
            )
        res = att_gt(*args, seed=p.analysis_seed, level=p.level, **p.options)
        return res.aggregate(p.aggregation, inference=inference, reps=p.permutations).overall

    def reject(self, delta: float, rows=None) -> np.ndarray:
        import warnings

        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        out = np.empty(len(rows), dtype=bool)
        for i, r in enumerate(rows):
            key = (int(r), float(delta))
            if key not in self._cache:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = self._pvalue(self._data(int(r), delta), self.plan.method)
                self._cache[key] = bool(est.pvalue < self.alpha)
            out[i] = self._cache[key]
        return out

    def spread(self) -> float:
        est = [self._pvalue(self._data(r, 0.0), "none").estimate for r in range(min(self.n, 20))]
        return float(np.std(est))


def _evaluator(plan: _Plan, donors: np.ndarray):
    """The fastest exact evaluator of the analysis's test for these replications, and the
    smallest p-value it can return."""
    alpha = 1 - plan.level
    if plan.method == "randomization":
        linear = _unit_contributions(plan)
        if linear is not None:
            return _randomization(plan, donors, *linear, alpha)
    if plan.method == "conformal" and plan.estimator == "twfe":
        return _conformal(plan, donors, alpha)
    if (
        plan.method == "cluster"
        and plan.estimator == "twfe"
        and plan.scale == "additive"
        and plan.prep.n_clusters == plan.prep.N
    ):
        return _cluster(plan, donors, alpha)
    ev = _Refit(plan, donors, alpha)
    return ev, math.nan


def _unit_contributions(plan: _Plan):
    """The estimator's hook: (groups, contributions) with θ_a(Z) = Σ_i M_Z[groups[d_a,i], i]."""
    if plan.estimator == "twfe":
        from evaluation.estimators.twfe import unit_contributions

        return unit_contributions(plan.prep)
    from evaluation.estimators.att_gt import att_gt

    plan.att = att_gt(
        plan.data,
        plan.outcome,
        plan.unit,
        plan.time,
        plan.cohort,
        seed=plan.analysis_seed,
        level=plan.level,
        **plan.options,
    )
    return plan.att.unit_contributions(plan.aggregation)


def _one_hot(index: np.ndarray, width: int) -> np.ndarray:
    """Rows of ``index`` (K × N, values < width) as 0/1 rows of length width·N: entry
    index[k, j]·N + j is one — so that (values flattened the same way) @ onehotᵀ sums
    values[index[k, j], j] over j, a matrix product instead of a gather per assignment."""
    K, N = index.shape
    out = np.zeros((K, width * N))
    out[np.arange(K)[:, None], index * N + np.arange(N)[None, :]] = 1.0
    return out


def _theta(M: np.ndarray, Gr: np.ndarray, draws: np.ndarray | None) -> np.ndarray:
    """θ[r, k] = Σ_j M_r[Gr[r, draws[k, j]], j]: the statistic of replication r (unit u in
    group Gr[r, u]) when unit j takes the cohort of unit draws[k, j] of the replication's data.
    ``M`` is one (G × N) matrix of unit contributions or one per replication (R × G × N);
    ``draws=None`` is the replication itself (returns R values).

    For few units a matrix product (R × N²) @ (N² × K) with V_r[u, j] = M_r[Gr[r, u], j]; for
    many units, where N² outgrows the gather, blocks of look-ups."""
    R, N = Gr.shape
    cols = np.arange(N)
    rows = np.arange(R)[:, None]
    if draws is None:
        return (M[Gr, cols] if M.ndim == 2 else M[rows, Gr, cols]).sum(axis=1)
    if N <= _MATMUL_UNITS:
        V = M[Gr] if M.ndim == 2 else M[rows, Gr]  # R × N × N
        return V.reshape(R, -1) @ _one_hot(draws, N).T
    K = len(draws)
    out = np.empty((R, K))
    step = max(1, _BLOCK // (K * N))
    for s in range(0, R, step):
        g = Gr[s : s + step][:, draws]  # block × K × N
        if M.ndim == 2:
            out[s : s + step] = M[g, cols].sum(axis=2)
        else:
            sub = np.arange(len(g))[:, None, None]
            out[s : s + step] = M[s : s + step][sub, g, cols].sum(axis=2)
    return out


def _randomization(plan: _Plan, donors: np.ndarray, groups, contributions, alpha: float):
    """The analysis's randomization test for every replication: the same re-assignments as
    :func:`evaluation.inference.randomization.randomization_inference` with the analysis's
    seed — all distinct ones when there are at most ``permutations``, else that many random
    permutations of the replication's cohorts plus the replication itself.

    With θ_a(Z) = Σ_j M_Z[g_a(j), j] (the estimator's unit contributions), the statistics of
    all replications and re-assignments are matrix products (:func:`_theta`) instead of R·K
    refits.
    """
    units = plan.units
    N = len(units)
    cohorts = pd.Series(plan.cpos, index=units)
    n_assign = 1
    for g in plan.groups.unique():
        n_assign *= count_assignments(cohorts[plan.groups == g])
    _, Z = _directions(plan, donors)
    R = len(donors)
    M_y = contributions(plan.Y)  # G × N
    M_z = np.empty((R, *M_y.shape))
    step = max(1, _BLOCK // (N * plan.prep.T))
    for s in range(0, R, step):
        M_z[s : s + step] = contributions(Z[s : s + step])
    Gr = groups[donors]  # R × N: group of each unit under replication r
    a, b = _theta(M_y, Gr, None), _theta(M_z, Gr, None)
    if n_assign <= plan.permutations:  # the same set of assignments for every replication
        onehot = _one_hot(groups[enumerate_assignments(cohorts, plan.groups)], M_y.shape[0])
        A = (M_y.reshape(-1) @ onehot.T)[None, :]
        B = M_z.reshape(R, -1) @ onehot.T
        min_p = 1 / n_assign
    else:
        # randomization_inference permutes the *replication's* cohorts: in draw k unit j
        # takes the cohort of unit draws[k, j] of the replication's data
        draws = sample_assignments(
            cohorts, plan.groups, plan.permutations, np.random.default_rng(plan.analysis_seed)
        )
        A = np.column_stack([_theta(M_y, Gr, draws), a])
        B = np.column_stack([_theta(M_z, Gr, draws), b])
        min_p = 1 / (plan.permutations + 1)
    return _LinearTest(a, b, A, B, alpha, "randomization"), min_p


def _conformal(plan: _Plan, donors: np.ndarray, alpha: float):
    """twfe's conformal test (DiD counterfactual, moving-block shifts of the residuals, the
    statistic chosen per replication as :func:`conformal_inference` does) for every
    replication's treated unit."""
    Y, T = plan.Y, plan.prep.T
    C = plan.cpos[donors]  # R × N
    treated = np.argmin(C, axis=1)
    T0 = int(C.min())
    index = permutation_index(T, T0, "moving_block", 0, 0)
    post = (np.arange(T) >= T0).astype(float)
    R = len(donors)
    u0, zc, robust = np.empty((R, T)), np.empty((R, T)), np.zeros(R, dtype=bool)
    for r in range(R):
        y = Y[treated[r]]
        Y0 = np.delete(Y, treated[r], axis=0).T
        robust[r] = choose_statistic(y, Y0, T0)[0] == "mean_abs"
        d = y - Y0.mean(axis=1)
        u0[r] = d - d.mean()
        z = post if plan.scale == "additive" else y * post
        zc[r] = z - z.mean()
    min_p = 1 / index.shape[0]
    if robust.any():
        return _Mixed(u0, zc, index, robust, alpha), min_p
    A = u0[:, index].mean(axis=2)
    B = zc[:, index].mean(axis=2)
    return _LinearTest(A[:, 0], B[:, 0], A, B, alpha, "conformal"), min_p


class _Mixed:
    """Conformal replications of which some use the robust statistic (see _MeanAbsConformal)."""

    def __init__(self, u0, zc, index, robust, alpha):
        A, B = u0[:, index].mean(axis=2), zc[:, index].mean(axis=2)
        self.lin = _LinearTest(A[:, 0], B[:, 0], A, B, alpha, "conformal")
        self.rob = _MeanAbsConformal(u0, zc, index, alpha)
        self.robust = robust
        self.n = len(u0)

    def reject(self, delta, rows=None):
        rows = np.arange(self.n) if rows is None else np.asarray(rows)
        out = self.lin.reject(delta, rows)
        r = self.robust[rows]
        if r.any():
            out[r] = self.rob.reject(delta, rows[r])
        return out

    def spread(self):
        return self.lin.spread()


def _cluster(plan: _Plan, donors: np.ndarray, alpha: float):
    """β̂_r and CR1 se_r of TWFE for every replication; the small-sample factor of the CR1
    covariance (G/(G − 1)·(n − 1)/(n − k)) is the same for all of them, so it is read off
    twfe's own standard error on the planned design."""
    from evaluation.estimators.twfe import twfe

    D, _ = _directions(plan, np.vstack([np.arange(plan.prep.N)[None, :], donors]))

    def within(X):
        return (
            X
            - X.mean(axis=-1, keepdims=True)
            - X.mean(axis=-2, keepdims=True)
            + X.mean(axis=(-2, -1), keepdims=True)
        )

    Yw = within(plan.Y)
    Dw = within(D)
    den = (Dw * Dw).sum(axis=(1, 2))
    beta = (Dw * Yw[None]).sum(axis=(1, 2)) / den
    e = Yw[None] - beta[:, None, None] * Dw
    scores = (Dw * e).sum(axis=2)  # R × N (cluster = unit)
    raw = (scores**2).sum(axis=1) / den**2
    est = twfe(plan.data, plan.outcome, plan.unit, plan.time, plan.cohort, inference="cluster")
    factor = est.se**2 / raw[0]
    se = np.sqrt(factor * raw[1:])
    return _ClusterT(beta[1:], se, plan.prep.n_clusters - 1, alpha), math.nan


# --------------------------------------------------------------------------------------------
# Power curves and the MDE


@dataclass
class _Curve:
    deltas: list[float] = field(default_factory=list)
    rejections: list[np.ndarray] = field(default_factory=list)

    def add(self, delta: float, rej: np.ndarray) -> float:
        self.deltas.append(float(delta))
        self.rejections.append(rej)
        return float(rej.mean())


@dataclass
class _Analysis:
    """One plan with its replications and the evaluator of its test."""

    plan: _Plan
    donors: np.ndarray
    exact: bool
    n_assign: int
    ev: Any
    min_p: float


def _mc_se(p: float, n: int, exact: bool) -> float:
    return 0.0 if exact else math.sqrt(max(p * (1 - p), 0.0) / n)


def _run(data, outcome, unit, time, cohort, *, reps, seed, **settings) -> _Analysis:
    """Check the arguments, plan the analysis (``settings``: the keyword arguments of
    :func:`_plan`), draw ``reps`` replications with ``seed`` and build the test's evaluator."""
    _check_args(data, outcome, unit, time, cohort, reps, settings)
    plan = _plan(data, outcome, unit, time, cohort, **settings)
    donors, exact, n_assign = _assignments(plan, reps, seed)
    ev, min_p = _evaluator(plan, donors)
    return _Analysis(plan, donors, exact, n_assign, ev, min_p)


def _limit_warning(plan: _Plan, min_p: float) -> str | None:
    situation = (
        f"with {plan.prep.n_treated} treated of {plan.prep.N} units"
        if plan.method == "randomization"
        else f"with {plan.prep.T} periods to permute"
    )
    return design_limit_warning(min_p, plan.level, situation)


def _result(plan, curve: _Curve, exact, n_assign, min_p, n) -> PowerResult:
    order = np.argsort(np.abs(curve.deltas), kind="stable")
    rows = []
    for i in order:
        p = float(curve.rejections[i].mean())
        rows.append({"effect": curve.deltas[i], "power": p, "mc_se": _mc_se(p, n, exact)})
    warnings = list(plan.warnings)
    limit = _limit_warning(plan, min_p)
    if limit:
        warnings.append(limit)
    if plan.strata and plan.method == "randomization":
        warnings.append(
            f"The randomization test permutes the starts within strata ('{plan.strata}'), as "
            "the assignment was drawn; run the analysis the same way (randomization_inference "
            "with strata=…), since the estimators' own inference='randomization' permutes across "
            "all units."
        )
    return PowerResult(
        table=pd.DataFrame(rows, columns=["effect", "power", "mc_se"]),
        outcome=plan.outcome,
        estimator=plan.estimator,
        inference_method=plan.method,
        inference=plan.reason,
        level=plan.level,
        scale=plan.scale,
        reps=n,
        exact=exact,
        n_assignments=int(n_assign),
        min_pvalue=float(min_p),
        baseline=plan.baseline,
        warnings=warnings,
        details={
            "n_units": plan.prep.N,
            "n_treated": plan.prep.n_treated,
            "n_periods": plan.prep.T,
            "permutations": plan.permutations,
            "strata": plan.strata,
            "aggregation": plan.aggregation if plan.estimator == "att_gt" else None,
        },
    )


def _unit_words(outcome_unit: str | Sequence[str] | None) -> tuple[str, str]:
    if outcome_unit is None:
        return "", ""
    if isinstance(outcome_unit, str):
        return outcome_unit, outcome_unit
    vi, en = outcome_unit
    return str(vi), str(en)


def _amount(x: float, plan: _Plan, lang: str, units: tuple[str, str]) -> str:
    """An effect in words: "3,2 phút (12 %)" — outcome units and % of the baseline."""
    if plan.scale == "proportional":
        value, pct = x * plan.baseline, 100 * x
    else:
        value = x
        pct = 100 * x / plan.baseline if plan.baseline and np.isfinite(plan.baseline) else math.nan
    unit = units[0] if lang == "vi" else units[1]
    text = number(abs(value), 2 if abs(value) < 10 else 1, lang) + (f" {unit}" if unit else "")
    if np.isfinite(pct):
        text += f" ({percent(abs(pct), 0, lang)})"
    return text


def power(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    effect: float | Sequence[float],
    estimator: str = "twfe",
    inference: str = "auto",
    reps: int = 1000,
    seed: int | None = 0,
    strata: str | None = None,
    level: float = 0.95,
    scale: str = "additive",
    permutations: int = 9999,
    analysis_seed: int = 0,
    options: Mapping[str, Any] | None = None,
    aggregation: str = "simple",
    outcome_unit: str | Sequence[str] | None = None,
) -> PowerResult:
    """Power of the planned DiD analysis against ``effect``, simulated on the observed panel.

    Each replication re-draws which units take which planned start (a permutation of the
    ``cohort`` column across units, within ``strata``), adds the effect to the treated cells of
    the observed outcome and runs the analysis's test; power is the share of replications in
    which p < 1 − ``level`` (see the module docstring; Burlig, Preonas & Woerman 2020).

    Parameters
    ----------
    data, outcome, unit, time, cohort
        Balanced long panel (one row per unit × period) of the outcome *without* the
        programme's effect, and its columns; ``cohort`` is the planned first treated period
        (missing = not treated).
    effect
        The effect to detect: a number or a list (a power curve from the same draws). In
        outcome units, or relative (−0.1 = 10 % fewer) with ``scale="proportional"``.
    estimator
        The analysis: ``"twfe"`` or ``"att_gt"`` (with ``aggregation`` and ``options``, e.g.
        ``{"control": "notyet", "anticipation": 2}``).
    inference
        ``"auto"`` (what the estimator will choose for this design, by
        :func:`evaluation.inference.choose.choose_inference`) or a method it offers.
    reps, seed
        Replications (every distinct assignment is used when there are at most ``reps``) and
        their seed.
    strata
        Unit-level column: assignments are permuted within strata, by the replications and by
        the randomization test alike (MacKinnon & Webb 2020: randomization inference must
        permute the assignment mechanism that was used).
    level
        Confidence level of the analysis (0.95: detected when p < 0.05).
    scale
        ``"additive"`` or ``"proportional"`` (for counts and rates).
    permutations, analysis_seed
        The analysis's randomization re-assignments and seed (the estimators' ``n_boot``/``reps``
        and ``seed``): the simulated p-values are the ones it would report.
    options, aggregation
        Keyword arguments of the estimator; the aggregation of ``att_gt``.
    outcome_unit
        Unit of the outcome for the sentences: ``("phút", "minutes")`` or one word.

    Returns
    -------
    PowerResult

    References
    ----------
    Burlig, F., Preonas, L. & Woerman, M. (2020). Panel data and experimental design. *Journal
    of Development Economics* 144, 102458. MacKinnon, J. G. & Webb, M. D. (2020). Randomization
    inference for difference-in-differences with few treated clusters. *Journal of
    Econometrics* 218(2), 435–450. Chernozhukov, V., Wüthrich, K. & Zhu, Y. (2021). An exact
    and robust conformal inference method for counterfactual and synthetic controls. *JASA*
    116(536).
    """
    effects = _effects(effect)
    an = _run(data, outcome, unit, time, cohort, **_settings(locals()))
    return _power_result(an, effects, outcome_unit)


def _power_result(an: _Analysis, effects: np.ndarray, outcome_unit) -> PowerResult:
    plan, ev = an.plan, an.ev
    curve = _Curve()
    for d in effects:
        curve.add(d, ev.reject(float(d)))
    res = _result(plan, curve, an.exact, an.n_assign, an.min_p, ev.n)
    res.table = res.table.set_index("effect").loc[effects].reset_index()
    units = _unit_words(outcome_unit)
    res.details["outcome_unit"] = units
    p, se = res.power, res.mc_se
    a_vi, a_en = (percent(100 * (1 - plan.level), 0, lang) for lang in ("vi", "en"))
    pm_vi = "" if an.exact else f" (± {percent(100 * se, 0, 'vi')})"
    pm_en = "" if an.exact else f" (± {percent(100 * se, 0, 'en')})"
    if res.effect == 0:  # the test's size
        res.sentence_vi = (
            f"Nếu mô hình không có tác động, phân tích dự kiến vẫn báo có tác động (p < {a_vi}) "
            f"với xác suất {percent(100 * p, 0, 'vi')}{pm_vi} — tỷ lệ báo nhầm của kiểm định."
        )
        res.sentence_en = (
            f"If the programme had no effect, the planned analysis would still report one "
            f"(p < {a_en}) with probability {percent(100 * p, 0, 'en')}{pm_en} — the test's "
            "false-alarm rate."
        )
        return res
    move_vi = "giảm" if res.effect < 0 else "tăng"
    move_en = "reduction" if res.effect < 0 else "increase"
    res.sentence_vi = (
        f"Nếu mô hình làm {move_vi} {_amount(res.effect, plan, 'vi', units)} ở các đơn vị triển "
        f"khai, phân tích dự kiến phát hiện được (p < {a_vi}) với xác suất "
        f"{percent(100 * p, 0, 'vi')}{pm_vi}."
    )
    res.sentence_en = (
        f"If the programme brought a {move_en} of {_amount(res.effect, plan, 'en', units)} in "
        f"the treated units, the planned analysis would detect it (p < {a_en}) with "
        f"probability {percent(100 * p, 0, 'en')}{pm_en}."
    )
    return res


def mde(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    power: float = 0.8,
    level: float = 0.95,
    direction: str = "decrease",
    estimator: str = "twfe",
    inference: str = "auto",
    reps: int = 1000,
    seed: int | None = 0,
    strata: str | None = None,
    scale: str = "additive",
    permutations: int = 9999,
    analysis_seed: int = 0,
    options: Mapping[str, Any] | None = None,
    aggregation: str = "simple",
    outcome_unit: str | Sequence[str] | None = None,
) -> MDEResult:
    """Minimum detectable effect of the planned analysis (Bloom 1995), by simulation.

    The smallest effect in ``direction`` that the analysis detects (p < 1 − ``level``) with
    probability ``power``, found on the power curve of :func:`power` — every effect evaluated
    on the same replications, so the curve is computed once and the MDE is a root-find on it
    (a grid of effects, then bisection between the two grid points that bracket the target).
    Arguments as in :func:`power`; ``direction`` is ``"decrease"`` (the district's programmes
    reduce congestion, fires, crime) or ``"increase"``.

    Returns
    -------
    MDEResult
        ``mde`` in outcome units (signed), ``mde_percent`` of the treated units' baseline, the
        power curve, the inference chosen and why, and one sentence in Vietnamese and English.
        When no effect reaches the target power — e.g. a randomization test with one treated
        ward of 13, whose smallest p-value is 1/13 — ``detectable`` is False and the result
        says why instead of giving a number.

    References
    ----------
    Bloom, H. S. (1995). Minimum detectable effects: a simple way to report the statistical
    power of experimental designs. *Evaluation Review* 19(5), 547–556. Burlig, Preonas &
    Woerman (2020), *J. Development Economics* 144.
    """
    target = _target(power, direction)
    an = _run(data, outcome, unit, time, cohort, **_settings(locals()))
    return _mde_result(an, target, direction, outcome_unit)


def _mde_result(an: _Analysis, target: float, direction: str, outcome_unit) -> MDEResult:
    plan, ev = an.plan, an.ev
    sign = -1.0 if direction == "decrease" else 1.0
    curve = _Curve()
    found = _search(ev, curve, sign, target, an.min_p, 1 - plan.level)
    res = _result(plan, curve, an.exact, an.n_assign, an.min_p, ev.n)
    units = _unit_words(outcome_unit)
    res.details["outcome_unit"] = units
    if found is None:
        return _not_detectable(plan, res, target, direction, an.min_p)
    delta, achieved, slope = found
    value = delta * plan.baseline if plan.scale == "proportional" else delta
    pct = 100 * value / plan.baseline if plan.baseline else math.nan
    se = _mc_se(achieved, ev.n, an.exact)
    out = MDEResult(
        mde=float(value),
        mde_percent=float(pct),
        target_power=target,
        achieved_power=achieved,
        mc_se=se,
        mde_mc_se=float(se / slope) if slope > 0 else math.nan,
        detectable=True,
        direction=direction,
        curve=res,
        warnings=list(res.warnings),
    )
    pw_vi, pw_en = percent(100 * target, 0, "vi"), percent(100 * target, 0, "en")
    a_vi, a_en = (percent(100 * (1 - plan.level), 0, lang) for lang in ("vi", "en"))
    move_vi = "mức giảm" if sign < 0 else "mức tăng"
    move_en = "reduction" if sign < 0 else "increase"
    base_vi = number(plan.baseline, 1, "vi") + (f" {units[0]}" if units[0] else "")
    base_en = number(plan.baseline, 1, "en") + (f" {units[1]}" if units[1] else "")
    out.sentence_vi = (
        f"Thiết kế này phát hiện được {move_vi} {_amount(delta, plan, 'vi', units)} với xác "
        f"suất {pw_vi} (ở mức ý nghĩa {a_vi}; mức nền của các đơn vị triển khai là {base_vi})."
    )
    out.sentence_en = (
        f"This design can detect a {move_en} of {_amount(delta, plan, 'en', units)} with "
        f"{pw_en} power (at the {a_en} level; the treated units' baseline is {base_en})."
    )
    return out


def power_and_mde(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    effect: float | Sequence[float] | None = None,
    power: float = 0.8,
    direction: str = "decrease",
    outcome_unit: str | Sequence[str] | None = None,
    **kwargs: Any,
) -> tuple[PowerResult | None, MDEResult]:
    """:func:`power` at ``effect`` (None: skipped) and :func:`mde` from one set of
    replications — what the design comparison and the review planner report per design.
    ``kwargs`` are those of :func:`power` (estimator, inference, reps, …)."""
    target = _target(power, direction)
    an = _run(data, outcome, unit, time, cohort, **_run_defaults(kwargs))
    pw = None if effect is None else _power_result(an, _effects(effect), outcome_unit)
    return pw, _mde_result(an, target, direction, outcome_unit)


def _target(power: Any, direction: str) -> float:
    try:
        target = float(power)
    except (TypeError, ValueError):
        target = math.nan
    if not 0 < target < 1:
        raise DataError(f"argument 'power' must be in (0, 1), e.g. 0.8; got {power!r}")
    if direction not in DIRECTIONS:
        raise DataError(
            f"argument 'direction' must be 'decrease' or 'increase' (the effect sought), got "
            f"{direction!r}"
        )
    return target


def _settings(args: dict) -> dict:
    """The simulation settings among a public function's arguments."""
    return {k: args[k] for k in _DEFAULTS}


def _run_defaults(kwargs: dict) -> dict:
    defaults = _DEFAULTS
    unknown = sorted(set(kwargs) - set(defaults))
    if unknown:
        raise DataError(
            f"unknown argument(s) {examples(unknown)}; the simulation takes {', '.join(defaults)}"
        )
    return defaults | kwargs


def _search(ev, curve: _Curve, sign: float, target: float, min_p: float, alpha: float):
    """The first effect (in ``sign``'s direction) whose power reaches ``target``: a grid from 0,
    widened until the target is reached, then bisection between the bracketing grid points on
    the replications whose decision differs there (common random numbers). Returns
    (effect, power there, slope of the curve) or None."""
    if np.isfinite(min_p) and min_p >= alpha:
        return None  # no p-value of this design can be below the level
    top = 6.0 * max(ev.spread(), 1e-12)
    start = 0.0
    for _ in range(8):
        grid = np.linspace(start, top, _GRID)
        powers = [curve.add(sign * g, ev.reject(sign * g)) for g in grid]
        hit = next((i for i, p in enumerate(powers) if p >= target), None)
        if hit is not None:
            break
        if max(powers) <= alpha and start > 0 and top > 50 * ev.spread():
            return None  # flat at the level: the test never rejects more than by chance
        start, top = top, top * 3
    else:
        return None
    if hit == 0:
        return sign * grid[0], powers[0], math.inf
    lo, hi = grid[hit - 1], grid[hit]
    r_lo, r_hi = curve.rejections[-_GRID + hit - 1], curve.rejections[-_GRID + hit]
    flip = np.flatnonzero(r_lo != r_hi)
    base = int(r_hi.sum()) - int(r_hi[flip].sum())  # rows decided alike at both ends
    n = len(r_hi)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        p = (base + int(ev.reject(sign * mid, flip).sum())) / n
        if p >= target:
            hi = mid
        else:
            lo = mid
        if hi - lo <= 1e-6 * max(abs(hi), 1e-12):
            break
    rej = ev.reject(sign * hi)
    achieved = curve.add(sign * hi, rej)
    width = max(grid[1] - grid[0], 1e-12)
    slope = (powers[hit] - powers[hit - 1]) / width
    return sign * hi, achieved, slope


def _not_detectable(plan, res: PowerResult, target, direction, min_p) -> MDEResult:
    a = 1 - plan.level
    if np.isfinite(min_p) and min_p >= a:
        why_en = (
            f"the smallest p-value this design can give is {number(min_p, 3, 'en')}, not below "
            f"{number(a, 2, 'en')}"
        )
        why_vi = (
            f"giá trị p nhỏ nhất thiết kế này có thể cho là {number(min_p, 3, 'vi')}, không nhỏ "
            f"hơn {number(a, 2, 'vi')}"
        )
    else:
        best = float(res.table["power"].max()) if len(res.table) else 0.0
        why_en = f"even very large effects are detected with probability {percent(100 * best, 0, 'en')} at most"
        why_vi = f"kể cả tác động rất lớn cũng chỉ được phát hiện với xác suất tối đa {percent(100 * best, 0, 'vi')}"
    move_vi = "mức giảm" if direction == "decrease" else "mức tăng"
    move_en = "reduction" if direction == "decrease" else "increase"
    pw_vi, pw_en = percent(100 * target, 0, "vi"), percent(100 * target, 0, "en")
    return MDEResult(
        mde=math.nan,
        mde_percent=math.nan,
        target_power=target,
        achieved_power=math.nan,
        mc_se=math.nan,
        mde_mc_se=math.nan,
        detectable=False,
        direction=direction,
        curve=res,
        sentence_vi=(
            f"Thiết kế này không phát hiện được {move_vi} nào, dù lớn đến đâu, với xác suất "
            f"{pw_vi}: {why_vi}."
        ),
        sentence_en=(
            f"This design cannot detect any {move_en}, however large, with {pw_en} power: {why_en}."
        ),
        warnings=list(res.warnings),
    )
