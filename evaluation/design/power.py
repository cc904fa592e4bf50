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
the four arrays θ_r(Y), θ_r(Z_r), θ_a(Y), θ_a(Z_r). The estimators' hooks give θ as a sum of
unit contributions (:func:`evaluation.estimators.twfe.unit_contributions`,
:meth:`evaluation.estimators.att_gt.AttGt.unit_contributions`), from which the four arrays of
all replications and re-assignments are matrix products. The conformal test of one treated
unit (Chernozhukov, Wüthrich & Zhu 2021) is linear in δ the same way, and with cluster-robust
standard errors an additive effect leaves the TWFE residuals unchanged, so t_r(δ) = (β_r + δ)/
se_r (β_r and se_r of every replication from :func:`evaluation.estimators.twfe.cluster_batch`).
This module plans the simulation — the design, the inference ``"auto"`` chooses, the
replications, the linear pieces from the estimators' hooks — and the inference layer's batched
tests (:mod:`evaluation.inference.batched`) turn the pieces into p-values with the rules of
:mod:`evaluation.inference.randomization` and :mod:`evaluation.inference.conformal`, drawing the
analysis's own re-assignments (its seed and number), so each simulated p-value equals the one
the estimator reports on the replication's data (checked in the tests). Callaway & Sant'Anna's
influence-function standard errors (what "auto" runs with many wards) are linear pieces too:
the simple aggregation's estimate and influence function are both linear in the outcome for a
fixed assignment (:meth:`evaluation.estimators.att_gt.AttGt.influence_pieces`), so the
variance is a quadratic in δ (:func:`evaluation.inference.batched.influence_test`) — the
rollout page of a 126-ward city took 613 s refitting att_gt per replication and takes 9 s so
(``benchmarks/city.py --units 126``). Other methods (the wild bootstrap, other aggregations'
influence functions) fall back to re-running the estimator on each replication's data. A whole
power curve then costs a few array comparisons per effect, and :func:`mde` is a root-find on that curve (common random numbers: every effect sees the same
draws), not a nested simulation.

The MDE (Bloom 1995, "Minimum detectable effects", *Evaluation Review* 19(5)) is the smallest
effect in the chosen direction detected with the target power; :func:`did_variance` and
:func:`analytic_mde` (:mod:`evaluation.design.analytic_power`) give Burlig et al.'s closed form
under AR(1) errors against which the simulation is checked. :class:`PowerResult` and
:class:`MDEResult` are defined, with their sentences, in :mod:`evaluation.design.power_results`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.data.prepare import Panel, check_level, prepare
from evaluation.design.analytic_power import analytic_mde, did_variance
from evaluation.design.power_results import (
    MDEResult,
    PowerResult,
    mde_sentences,
    not_detectable,
    power_sentences,
    unit_words,
)
from evaluation.errors import DataError, examples
from evaluation.inference import batched, engine
from evaluation.inference.batched import BatchedTest
from evaluation.inference.choose import Setting, choose_inference, design_limit_warning
from evaluation.inference.randomization import (
    count_assignments_within,
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
    design: Setting
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
    design, available = _setting_of(prep, estimator, options)
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


def _setting_of(prep: Panel, estimator: str, options: dict) -> tuple[Setting, tuple[str, ...]]:
    """The setting the estimator hands its inference, and the methods it can run on it
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
        return Setting("twfe", G, G1, prep.T, n_pre, prep.cluster_name), tuple(available)
    cpos = prep.cohort_pos
    treated = cpos < prep.T
    if treated.all() and options.get("control", "never") in ("notyet", "notyettreated"):
        treated = cpos < cpos.max()  # the last cohort is the comparison group (as R did)
    return Setting("att_gt", G, int(treated.sum()), prep.T), ("analytic", "randomization")


def _assignments(plan: _Plan, reps: int, seed: int | None) -> tuple[np.ndarray, bool, int]:
    """Replication assignments as rows of donor positions (unit j takes the planned cohort of
    unit ``donors[r, j]``): every distinct one when there are at most ``reps``, else ``reps``
    random permutations within strata."""
    cohorts = pd.Series(plan.cpos, index=plan.units)
    n_assign = count_assignments_within(cohorts, plan.groups)
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
# The test: which replications reject at effect δ (evaluation.inference.batched)


class _Refit(BatchedTest):
    """Any other method: re-run the estimator on each replication's data and read the
    p-value it reports (slow, exact)."""

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
        self._cache: dict[tuple[int, float], float] = {}

    def _data(self, r: int, delta: float) -> pd.DataFrame:
        p = self.plan
        d = self.donors[r]
        cohort = p.labels[d][self._codes]
        t, u = self._cell
        treated = t >= p.cpos[d][u]
        shift = treated * (1.0 if p.scale == "additive" else self._y)
        return p.data.assign(**{p.cohort: cohort, p.outcome: self._y + delta * shift})

    def _estimate(self, data: pd.DataFrame, inference: str) -> Any:
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

    def pvalues(self, delta: float, rows=None) -> np.ndarray:
        import warnings

        rows = self._rows(rows)
        out = np.empty(len(rows))
        for i, r in enumerate(rows):
            key = (int(r), float(delta))
            if key not in self._cache:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    est = self._estimate(self._data(int(r), delta), self.plan.method)
                self._cache[key] = est.pvalue
            out[i] = self._cache[key]
        return out

    def spread(self) -> float:
        est = [self._estimate(self._data(r, 0.0), "none").estimate for r in range(min(self.n, 20))]
        return float(np.std(est))


def _evaluator(plan: _Plan, donors: np.ndarray) -> BatchedTest:
    """The fastest exact form of the analysis's test for these replications: a batched test
    from the linear pieces the estimators' hooks give, else re-running the estimator."""
    alpha = 1 - plan.level
    if plan.method == "randomization":
        linear = _unit_contributions(plan)
        if linear is not None:
            _, Z = _directions(plan, donors)
            return batched.randomization_test(
                *linear,
                plan.Y,
                Z,
                donors,
                pd.Series(plan.cpos, index=plan.units),
                plan.groups,
                reps=plan.permutations,
                seed=plan.analysis_seed,
                alpha=alpha,
            )
    if plan.method == "conformal" and plan.estimator == "twfe":  # twfe's DiD counterfactual
        C = plan.cpos[donors]  # R × N: one treated unit per replication
        treated, T0 = np.argmin(C, axis=1), int(C.min())
        proportional = plan.scale == "proportional"
        return batched.conformal_did_test(plan.Y, treated, T0, alpha, proportional=proportional)
    if (
        plan.method == "cluster"
        and plan.estimator == "twfe"
        and plan.scale == "additive"
        and plan.prep.n_clusters == plan.prep.N
    ):
        from evaluation.estimators.twfe import cluster_batch

        beta, se, df = cluster_batch(plan.prep, plan.data, plan.cpos[donors])
        return batched.cluster_t_test(beta, se, df, alpha)
    if plan.method == "analytic" and plan.estimator == "att_gt":
        pieces = _influence_pieces(plan)
        if pieces is not None:
            from evaluation.estimators.att_gt.bootstrap import _SE_FLOOR

            def directions(rows: np.ndarray) -> np.ndarray:
                return _directions(plan, donors[rows])[1]

            return batched.influence_test(
                pieces, donors, directions, plan.prep.N, alpha, floor=_SE_FLOOR
            )
    return _Refit(plan, donors, alpha)


def _influence_pieces(plan: _Plan):
    """att_gt's hook for the analytic test: estimates and influence functions under
    re-assigned cohorts (:meth:`evaluation.estimators.att_gt.AttGt.influence_pieces`)."""
    return _fit_att_gt(plan).influence_pieces(plan.aggregation)


def _fit_att_gt(plan: _Plan):
    """The analysis's att_gt on the observed data (kept on the plan)."""
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
    return plan.att


def _unit_contributions(plan: _Plan):
    """The estimator's hook: (groups, contributions) with θ_a(Z) = Σ_i M_Z[groups[d_a,i], i]."""
    if plan.estimator == "twfe":
        from evaluation.estimators.twfe import unit_contributions

        return unit_contributions(plan.prep)
    return _fit_att_gt(plan).unit_contributions(plan.aggregation)


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
    ev: BatchedTest
    min_p: float


def _mc_se(p: float, n: int, exact: bool) -> float:
    return 0.0 if exact else math.sqrt(max(p * (1 - p), 0.0) / n)


def _run(data, outcome, unit, time, cohort, *, reps, seed, **settings) -> _Analysis:
    """Check the arguments, plan the analysis (``settings``: the keyword arguments of
    :func:`_plan`), draw ``reps`` replications with ``seed`` and build the test's evaluator."""
    _check_args(data, outcome, unit, time, cohort, reps, settings)
    plan = _plan(data, outcome, unit, time, cohort, **settings)
    donors, exact, n_assign = _assignments(plan, reps, seed)
    ev = _evaluator(plan, donors)
    return _Analysis(plan, donors, exact, n_assign, ev, ev.min_pvalue)


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
    units = unit_words(outcome_unit)
    res.details["outcome_unit"] = units
    res.sentence_vi, res.sentence_en = power_sentences(res, units)
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
    units = unit_words(outcome_unit)
    res.details["outcome_unit"] = units
    if found is None:
        return not_detectable(res, target, direction, an.min_p)
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
    out.sentence_vi, out.sentence_en = mde_sentences(res, delta, target, direction, units)
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
