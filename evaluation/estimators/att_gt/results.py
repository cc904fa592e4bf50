"""The result objects of Callaway & Sant'Anna (2021) group-time average treatment effects.

:class:`AttGt` holds the ATT(g, t) table, the units' influence functions and what inference
needs later (the unit groups and weights, the clusters, the refit for randomization inference,
the arrays of the vectorised batch); :class:`AttGtAggregate` holds one aggregation of it, with
its plot and the HonestDiD sensitivity analysis of Rambachan & Roth (2023).

The arithmetic methods of :class:`AttGt` delegate to :mod:`.aggregate` (R ``did::aggte``) and
:mod:`.bootstrap` (standard errors). They stay methods of the class, so that the vectorised
randomization hooks (``AttGt._randomization_batch``, ``AttGt._weights_batch``) can still be
switched off on the class, as the tests and the speed simulation do.

References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230. Rambachan, A. & Roth, J. (2023). A More
Credible Approach to Parallel Trends. *Review of Economic Studies* 90(5), 2555–2591.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.errors import DataError
from evaluation.estimators.att_gt.aggregate import (
    _Parts,
    aggte,
    by_row,
    combine,
    contributions_by_unit,
    groups_by_randomization,
    influence_batch,
    overall_estimate,
    overall_weights,
    randomization_batch,
    row_vcov,
    weights_batch,
)
from evaluation.estimators.att_gt.bootstrap import influence_se
from evaluation.results import Estimate, PretrendTest


@dataclass
class AttGtAggregate:
    """An aggregation of ATT(g, t): an overall Estimate and a table by event time / group /
    calendar period (``kind``), with uniform-band critical values when bootstrapped."""

    kind: str
    overall: Estimate
    table: pd.DataFrame
    crit_val: float
    influence: np.ndarray = field(repr=False)
    vcov: pd.DataFrame | None = field(default=None, repr=False)

    def plot(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """Estimates with (uniform when bootstrapped) confidence intervals; returns the Axes."""
        import matplotlib.pyplot as plt

        if self.kind == "simple":
            raise DataError("aggregate('simple') has a single number; plot 'dynamic' instead")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.6))
        col = {"dynamic": "event_time", "group": "group", "calendar": "time"}[self.kind]
        t = self.table
        x = np.arange(len(t)) if self.kind != "dynamic" else t[col].to_numpy(dtype=float)
        lo = t["band_low"] if "band_low" in t else t["ci_low"]
        hi = t["band_high"] if "band_high" in t else t["ci_high"]
        est = t["estimate"].to_numpy(dtype=float)
        pre = (t[col] < 0).to_numpy() if self.kind == "dynamic" else np.zeros(len(t), bool)
        colors = np.where(pre, "#b04a3a", color)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.vlines(x, lo, hi, colors=colors, lw=1.6, alpha=0.7)
        ax.scatter(x, est, c=colors, s=18, zorder=3)
        if self.kind != "dynamic":
            ax.set_xticks(x, [str(v) for v in t[col]], rotation=45, ha="right")
        if self.kind == "dynamic":
            ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
        ax.set_xlabel(
            {
                "dynamic": "periods since treatment",
                "group": "cohort (first treated)",
                "calendar": "period",
            }[self.kind]
        )
        ax.set_ylabel("ATT")
        ax.set_title(title or f"Callaway & Sant'Anna — {self.kind} aggregation", fontsize=10)
        ax.grid(alpha=0.25)
        return ax

    def sensitivity(self, *, restriction: str = "relative_magnitude", M=None, **kwargs):
        """HonestDiD sensitivity of the average post-treatment effect of a ``dynamic``
        aggregation to violations of parallel trends (Rambachan & Roth 2023), as R's HonestDiD
        does for ``did``: it needs ``att_gt(..., base_period="universal")``, so that the
        event time before the start is the normalised reference, as in an event study.
        Keywords as :func:`evaluation.inference.honest_did.sensitivity`."""
        from evaluation.inference.honest_did import sensitivity

        if self.kind != "dynamic" or self.vcov is None:
            raise DataError("sensitivity() needs aggregate('dynamic')")
        if self.overall.details.get("base_period") != "universal":
            raise DataError(
                "sensitivity() needs att_gt(..., base_period='universal'): with the varying "
                "base period the pre-treatment estimates are period-to-period changes, not "
                "deviations from one reference period, and the bounds of Rambachan & Roth (2023) "
                "do not apply to them"
            )
        reference = -1 - int(self.overall.details.get("anticipation", 0))
        times = [int(e) for e in self.table["event_time"] if int(e) != reference]
        coefs = self.table.rename(columns={"event_time": "rel_time"})
        view = _EventPath(coefs, self.vcov.loc[times, times], reference, self.overall.level)
        post = [t for t in times if t > reference]
        l_vec = kwargs.pop("l_vec", None)
        if l_vec is None and "post" not in kwargs:  # the average over e ≥ 0 (not anticipation)
            l_vec = np.array([1.0 if t >= 0 else 0.0 for t in post])
            l_vec /= l_vec.sum()
        return sensitivity(view, restriction=restriction, M=M, l_vec=l_vec, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "overall": self.overall.to_dict(),
            "table": jsonable(self.table),
            "crit_val": jsonable(self.crit_val),
        }


@dataclass
class _EventPath:
    """An aggregation seen as an event study (what the sensitivity analysis reads)."""

    coefs: pd.DataFrame
    vcov: pd.DataFrame
    reference: int
    level: float


@dataclass
class AttGt:
    """Group-time average treatment effects ATT(g, t) (Callaway & Sant'Anna 2021).

    Attributes
    ----------
    table
        One row per (group, time): ``group``, ``time`` (original labels), ``event_time``,
        ``att``, ``se``, ``ci_low``, ``ci_high`` (pointwise), ``band_low``/``band_high``
        (uniform, bootstrap only), ``post``, ``base`` (base period), ``n_treated``,
        ``n_control``.
    influence
        n_units × cells influence functions (scaled as in R ``did``: SE = √Σψ² / n).
    pretrend
        Wald test that all pre-treatment ATT(g, t) are zero (as ``did`` reports it).
    """

    table: pd.DataFrame
    influence: np.ndarray = field(repr=False)
    pretrend: PretrendTest | None
    outcome: str
    control: str
    anticipation: int
    base_period: str
    est_method: str
    level: float
    bootstrap: bool
    n_boot: int
    seed: int | None
    n_obs: int
    n_units: int
    n_treated: int
    n_clusters: int
    crit_val: float
    warnings: list[str] = field(default_factory=list)
    _unit_group: np.ndarray = field(default=None, repr=False)
    _unit_weight: np.ndarray = field(default=None, repr=False)
    _cluster: np.ndarray | None = field(default=None, repr=False)
    _group_pos: np.ndarray = field(default=None, repr=False)
    _time_pos: np.ndarray = field(default=None, repr=False)
    _times: pd.Index = field(default=None, repr=False)
    _refit: Any = field(default=None, repr=False)
    _data: Any = field(default=None, repr=False)
    _design: tuple = field(default=(), repr=False)
    _fast: dict | None = field(default=None, repr=False)

    # ---------------------------------------------------------------- aggregation (did aggte)
    def aggregate(
        self,
        kind: str = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
        na_rm: bool = False,
        inference: str = "auto",
        reps: int = 9999,
    ) -> AttGtAggregate:
        """Aggregate ATT(g, t) as R ``did::aggte`` does.

        Parameters
        ----------
        kind
            ``"simple"`` (post-treatment cells weighted by group size), ``"dynamic"`` (by
            event time e = t − g; overall = mean over e ≥ 0), ``"group"`` (by cohort, mean
            over its post periods; overall weighted by group size) or ``"calendar"`` (by
            period; overall = mean over periods).
        min_e, max_e, balance_e
            Event-time limits and balancing (dynamic only), as in ``aggte``.
        na_rm
            Drop cells whose ATT could not be computed (no comparison units).
        inference
            Inference for the overall effect: ``"auto"`` (chosen by design: the
            influence-function standard errors with many clusters, randomization inference
            — re-estimating on permuted cohorts — with few; see
            :func:`evaluation.inference.choose.choose_inference`), ``"analytic"`` (the
            influence-function or, when ``att_gt`` ran the multiplier bootstrap, bootstrap
            standard errors), ``"randomization"`` or ``"none"``. The table by event time,
            group or period keeps the influence-function intervals.
        reps
            Re-assignments drawn by randomization inference (all, when fewer exist).

        Returns
        -------
        AttGtAggregate
        """
        return AttGtAggregate(
            **aggte(
                self,
                kind,
                min_e=min_e,
                max_e=max_e,
                balance_e=balance_e,
                na_rm=na_rm,
                inference=inference,
                reps=reps,
            )
        )

    def _combine(self, kind, min_e, max_e, balance_e, keep_cell) -> _Parts:
        """Each row's estimate and influence function, and the overall ones
        (:func:`.aggregate.combine`)."""
        return combine(self, kind, min_e, max_e, balance_e, keep_cell)

    def _overall(self, kind, parts, keep_cell, limits, inference, reps) -> Estimate:
        """The overall effect with its inference (:func:`.aggregate.overall_estimate`)."""
        return overall_estimate(self, kind, parts, keep_cell, limits, inference, reps)

    def _by_row(self, parts: _Parts) -> tuple[pd.DataFrame, float]:
        """The table by event time / group / period (:func:`.aggregate.by_row`)."""
        return by_row(self, parts)

    def _groups_by_randomization(self, table: pd.DataFrame, keep_cell, limits, reps) -> None:
        """Randomization inference for each cohort's row
        (:func:`.aggregate.groups_by_randomization`)."""
        groups_by_randomization(self, table, keep_cell, limits, reps)

    def _row_vcov(self, parts: _Parts) -> pd.DataFrame:
        """Covariance of the rows' estimates (:func:`.aggregate.row_vcov`)."""
        return row_vcov(self, parts)

    def _se(self, psi: np.ndarray, uniform: bool) -> tuple[np.ndarray, float]:
        """Standard errors and critical value of influence functions
        (:func:`.bootstrap.influence_se`)."""
        return influence_se(self, psi, uniform)

    def _overall_weights(self, kind, min_e, max_e, balance_e, keep_cell) -> np.ndarray:
        """The overall estimate as weights on the cells (:func:`.aggregate.overall_weights`)."""
        return overall_weights(self, kind, min_e, max_e, balance_e, keep_cell)

    def _randomization_batch(self, kind, min_e, max_e, balance_e, keep_cell, overall_est):
        """The vectorised randomization statistic of ``aggregate(kind)``, or None
        (:func:`.aggregate.randomization_batch`)."""
        return randomization_batch(self, kind, min_e, max_e, balance_e, keep_cell, overall_est)

    def _weights_batch(self, L: np.ndarray, target: float, contributions: bool = False):
        """The vectorised statistic Σ_k L_k ATT(g_k, t_k), or None
        (:func:`.aggregate.weights_batch`)."""
        return weights_batch(self, L, target, contributions=contributions)

    def unit_contributions(
        self,
        kind: str = "simple",
        *,
        min_e: float = -math.inf,
        max_e: float = math.inf,
        balance_e: int | None = None,
        na_rm: bool = False,
    ):
        """``aggregate(kind)``'s overall estimate under re-assigned cohorts, on *any* outcome,
        as a sum over units.

        Returns ``(groups, contributions)``, or None where the vectorised randomization
        inference does not apply (covariates, weights, unbalanced panel): ``groups[i]`` is
        unit i's timing group (units in sorted order; the last cohort stands for the
        never-treated when there are none, as in R did), and ``contributions(Z)`` for a unit ×
        period outcome matrix Z (N × T, sorted periods; or a stack R × N × T) is the (G × N)
        matrix M (or R × G × N) with θ_a(Z) = Σ_i M[groups[d_a,i], i] for the assignment in
        which unit i takes the cohort of unit d_a,i (see :meth:`_randomization_batch`). The
        aggregation is linear in the outcome, so the design stage
        (:mod:`evaluation.design.power`) evaluates θ_a(Y + δ·D_r) = θ_a(Y) + δ·θ_a(D_r) for
        every replication, assignment and effect with matrix products instead of refits
        (:func:`evaluation.inference.batched.randomization_test`; Callaway & Sant'Anna 2021;
        Burlig, Preonas & Woerman 2020).
        """
        return contributions_by_unit(
            self, kind, min_e=min_e, max_e=max_e, balance_e=balance_e, na_rm=na_rm
        )

    def influence_pieces(self, kind: str = "simple"):
        """``aggregate(kind)``'s overall estimate and cluster-summed influence function under
        re-assigned cohorts, for any outcome, without refitting — or None where this does not
        apply (:func:`.aggregate.influence_batch`: no covariates or weights, balanced panel,
        ``"simple"``, analytic standard errors). The design stage
        (:mod:`evaluation.design.power`) turns them into the analytic test of every simulated
        replication at every effect (:func:`evaluation.inference.batched.influence_test`)."""
        return influence_batch(self, kind)

    def plot(self, ax=None, *, title: str | None = None):
        """ATT(g, t) by period, one panel row per cohort (pre-periods red, post blue)."""
        import matplotlib.pyplot as plt

        groups = list(dict.fromkeys(self.table["group"]))
        if ax is None:
            _, axes = plt.subplots(
                len(groups), 1, figsize=(7, 2.2 * len(groups)), sharex=True, squeeze=False
            )
            axes = axes[:, 0]
        else:
            axes = [ax] * len(groups)
        for a, gg in zip(axes, groups, strict=True):
            t = self.table[self.table["group"] == gg]
            x = np.arange(len(t)) if not pd.api.types.is_numeric_dtype(t["time"]) else t["time"]
            colors = np.where(t["post"], "#1f5fa8", "#b04a3a")
            lo = t["band_low"] if "band_low" in t else t["ci_low"]
            hi = t["band_high"] if "band_high" in t else t["ci_high"]
            a.axhline(0, color="0.4", lw=0.8)
            a.vlines(x, lo, hi, colors=colors, lw=1.4, alpha=0.7)
            a.scatter(x, t["att"], c=colors, s=14, zorder=3)
            a.set_title(f"cohort {gg}", fontsize=9)
            a.grid(alpha=0.25)
        axes[-1].set_xlabel("period")
        if title:
            axes[0].figure.suptitle(title, fontsize=10)
        return axes[0] if len(axes) == 1 else axes

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": jsonable(self.table),
            "pretrend": self.pretrend.to_dict() if self.pretrend else None,
            "outcome": self.outcome,
            "control": self.control,
            "anticipation": self.anticipation,
            "base_period": self.base_period,
            "est_method": self.est_method,
            "level": self.level,
            "bootstrap": self.bootstrap,
            "n_obs": self.n_obs,
            "n_units": self.n_units,
            "n_treated": self.n_treated,
            "n_clusters": self.n_clusters,
            "warnings": list(self.warnings),
        }
