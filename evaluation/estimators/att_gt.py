"""Callaway & Sant'Anna (2021) group-time average treatment effects and their aggregations.

ATT(g, t) is the average effect in period t on the units first treated in period g (the
"group" or cohort). Each is a 2×2 difference-in-differences between group g and a comparison
group — the never-treated, or the not-yet-treated by period t — from a base period before g:

    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | C],

with the base period b = g − 1 − anticipation for post-treatment periods and, for pre-treatment
("placebo") periods, b = t − 1 (``base_period="varying"``) or b = g − 1 − anticipation
(``"universal"``). With covariates the comparison is adjusted by outcome regression (Heckman,
Ichimura & Todd 1997; ``est_method="reg"``) or the doubly robust estimator of Sant'Anna & Zhao
(2020, *J. Econometrics* 219(1); ``"dr"``), using covariate values of the base period.

Standard errors come from the influence functions (analytic) or a multiplier bootstrap with
Rademacher weights, which also gives uniform confidence bands. The aggregations
(``simple``, ``dynamic``, ``group``, ``calendar``) and their influence functions — including
the estimation of the aggregation weights — follow the R package ``did`` (Callaway &
Sant'Anna, ``compute.aggte``), so numbers can be compared with it one for one.

Reference: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.data.prepare import check_level, prepare, show
from evaluation.errors import DataError, DesignError, examples
from evaluation.inference import engine
from evaluation.inference.choose import Design
from evaluation.inference.randomization import reassigned_cohorts
from evaluation.results import Estimate, PretrendTest

__all__ = ["att_gt", "AttGt", "AttGtAggregate"]

_CONTROL = {
    "never": "never",
    "nevertreated": "never",
    "notyet": "notyet",
    "notyettreated": "notyet",
}
_KINDS = ("simple", "dynamic", "group", "calendar")
# did drops near-zero standard errors (e.g. the universal base period's zero cells) as NA
_SE_FLOOR = math.sqrt(np.finfo(float).eps) * 10


# --------------------------------------------------------------------------------------------
# result objects


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
class _Parts:
    """Rows of an aggregation (labels, estimates, influence functions) and the overall one."""

    col: str | None
    labels: list = field(default_factory=list)
    ests: list = field(default_factory=list)
    psis: list = field(default_factory=list)
    overall_est: float = math.nan
    overall_psi: np.ndarray | None = None

    def add(self, label, est: float, psi: np.ndarray) -> None:
        self.labels.append(label)
        self.ests.append(est)
        self.psis.append(psi)


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
        if kind not in _KINDS:
            raise DataError(f"aggregate(kind={kind!r}): choose one of {', '.join(_KINDS)}")
        if balance_e is not None and kind != "dynamic":
            raise DataError("balance_e applies to aggregate('dynamic') only")
        att = self.table["att"].to_numpy(dtype=float)
        if np.isnan(att).any() and not na_rm:
            raise DesignError(
                "some ATT(g,t) could not be computed (no comparison units in that period); "
                "pass na_rm=True to aggregate the others, or use control='never'."
            )
        keep_cell = ~np.isnan(att)
        parts = self._combine(kind, min_e, max_e, balance_e, keep_cell)
        limits = {"min_e": min_e, "max_e": max_e, "balance_e": balance_e, "na_rm": na_rm}
        overall = self._overall(kind, parts, keep_cell, limits, inference, reps)
        table, crit = self._by_row(parts)
        if kind == "group" and overall.inference_method == "randomization":
            self._groups_by_randomization(table, keep_cell, limits, reps)
        return AttGtAggregate(
            kind=kind,
            overall=overall,
            table=table,
            crit_val=float(crit),
            influence=parts.overall_psi,
            vcov=self._row_vcov(parts) if kind == "dynamic" else None,
        )

    def _combine(self, kind, min_e, max_e, balance_e, keep_cell) -> _Parts:
        """The did ``aggte`` arithmetic: each row's estimate and influence function (with the
        estimation of the aggregation weights), and the overall ones."""
        att = self.table["att"].to_numpy(dtype=float)
        g, t, IF = self._group_pos, self._time_pos, self.influence
        G, w = self._unit_group, self._unit_weight
        glist = np.unique(g)
        pg_group = np.array([np.mean(w * (G == gg)) for gg in glist])
        pgg = pg_group[np.searchsorted(glist, g)]
        max_t = int(t.max())

        def wif(cells: np.ndarray) -> np.ndarray:
            groups, pgk = g[cells], pgg[cells]
            ind = w[:, None] * (G[:, None] == groups[None, :]) - pgk[None, :]
            s = pgk.sum()
            return ind / s - ind.sum(axis=1, keepdims=True) * (pgk / s**2)[None, :]

        def agg(cells: np.ndarray, with_wif: bool = True) -> tuple[float, np.ndarray]:
            weights = pgg[cells] / pgg[cells].sum()
            est = float(weights @ att[cells])
            psi = IF[:, cells] @ weights
            if with_wif:
                psi = psi + wif(cells) @ att[cells]
            return est, psi

        parts = _Parts(col=None)
        if kind == "simple":
            cells = np.flatnonzero(keep_cell & (g <= t) & (t <= g + max_e))
            parts.overall_est, parts.overall_psi = agg(cells)
            return parts
        if kind == "dynamic":
            e_all = t - g
            include = keep_cell.copy()
            if balance_e is not None:
                include &= (max_t - g) >= balance_e
            eseq = np.unique(e_all[include])
            if balance_e is not None:
                eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - max_t)]
            for e in eseq[(eseq >= min_e) & (eseq <= max_e)]:
                parts.add(int(e), *agg(np.flatnonzero(include & (e_all == e))))
            pos = np.asarray(parts.labels) >= 0
            if not pos.any():
                raise DesignError("no post-treatment event times to aggregate")
            parts.col = "event_time"
            parts.overall_est = float(np.mean(np.asarray(parts.ests)[pos]))
            parts.overall_psi = np.column_stack(parts.psis)[:, pos].mean(axis=1)
            return parts
        if kind == "group":
            for gg in glist:
                cells = np.flatnonzero(keep_cell & (g == gg) & (g <= t) & (t <= g + max_e))
                if len(cells):
                    parts.add(gg, *agg(cells, with_wif=False))
            gl = np.asarray(parts.labels)
            pg = pg_group[np.searchsorted(glist, gl)]
            wts = pg / pg.sum()
            att_g = np.asarray(parts.ests)
            ind = w[:, None] * (G[:, None] == gl[None, :]) - pg[None, :]
            s = pg.sum()
            wif_g = ind / s - ind.sum(axis=1, keepdims=True) * (pg / s**2)[None, :]
            parts.col = "group"
            parts.overall_est = float(wts @ att_g)
            parts.overall_psi = np.column_stack(parts.psis) @ wts + wif_g @ att_g
            parts.labels = [self._times[int(x)] for x in gl]
            return parts
        for tt in np.unique(t[t >= int(g.min())]):  # calendar
            cells = np.flatnonzero(keep_cell & (t == tt) & (g <= t))
            if len(cells):
                parts.add(self._times[int(tt)], *agg(cells))
        parts.col = "time"
        parts.overall_est = float(np.mean(parts.ests))
        parts.overall_psi = np.column_stack(parts.psis).mean(axis=1)
        return parts

    def _overall(self, kind, parts, keep_cell, limits, inference, reps) -> Estimate:
        """The overall effect with the inference the design calls for (engine.infer)."""
        se = float(self._se(parts.overall_psi[:, None], uniform=False)[0][0])
        how = "multiplier bootstrap" if self.bootstrap else "influence-function (analytic)"
        label = f"{how} standard errors of Callaway & Sant'Anna (2021), normal intervals" + (
            f", clustered by units within {self.n_clusters} clusters"
            if self._cluster is not None
            else ""
        )
        n_treated_clusters, n_periods, unit, cohort, time = self._design

        def randomization() -> engine.RandomizationRefit:
            fit = partial(_overall_point, refit=self._refit, kind=kind, **limits)
            batch = self._randomization_batch(
                kind,
                limits["min_e"],
                limits["max_e"],
                limits["balance_e"],
                keep_cell,
                parts.overall_est,
            )
            return engine.RandomizationRefit(
                fit, self._data, unit, cohort, time, self.outcome, batch=batch
            )

        refits = {
            "analytic": engine.StandardError(
                se, None, label, method="bootstrap" if self.bootstrap else None
            ),
            "randomization": randomization,
        }
        design = Design("att_gt", self.n_clusters, n_treated_clusters, n_periods)
        result = engine.infer(
            inference,
            design,
            parts.overall_est,
            refits,
            level=self.level,
            seed=self.seed,
            reps=reps,
        )
        return Estimate(
            estimate=parts.overall_est,
            method=f"Callaway & Sant'Anna (2021) ATT, {kind} aggregation "
            f"({'never' if self.control == 'never' else 'not-yet'}-treated comparison, "
            f"{self.est_method})",
            outcome=self.outcome,
            level=self.level,
            n_obs=self.n_obs,
            n_units=self.n_units,
            n_treated=self.n_treated,
            n_clusters=self.n_clusters,
            warnings=list(self.warnings) + result.warnings,
            details={
                "kind": kind,
                "control": self.control,
                "base_period": self.base_period,
                "anticipation": self.anticipation,
            },
            **result.fields(),
        )

    def _by_row(self, parts: _Parts) -> tuple[pd.DataFrame, float]:
        """The table by event time / group / period, with influence-function intervals (and
        uniform bands when bootstrapped)."""
        z = _normal_q(self.level)
        if parts.col is None:
            se = float(self._se(parts.overall_psi[:, None], uniform=False)[0][0])
            est = parts.overall_est
            table = pd.DataFrame(
                {"estimate": [est], "se": [se], "ci_low": [est - z * se], "ci_high": [est + z * se]}
            )
            return table, z
        se, crit = self._se(np.column_stack(parts.psis), uniform=self.bootstrap)
        est = np.asarray(parts.ests)
        table = pd.DataFrame({parts.col: parts.labels, "estimate": est, "se": se})
        table["ci_low"] = est - z * se
        table["ci_high"] = est + z * se
        if not self.bootstrap:
            return table, z
        table["band_low"] = est - crit * se
        table["band_high"] = est + crit * se
        table["crit_val"] = crit
        return table, crit

    def _groups_by_randomization(self, table: pd.DataFrame, keep_cell, limits, reps) -> None:
        """Randomization inference for each cohort's ATT as well (the waves of a rollout), when
        the overall effect got it: with few clusters the influence-function intervals of the
        rows over-reject like the overall one would. Replaces the rows' ``ci_low``, ``ci_high``
        and adds ``pvalue``, ``min_pvalue`` and ``inference`` (the uniform bands, if any, stay
        influence-function based)."""
        g, t = self._group_pos, self._time_pos
        glist = np.unique(g)
        pg_group = np.array([np.mean(self._unit_weight * (self._unit_group == gg)) for gg in glist])
        pgg = pg_group[np.searchsorted(glist, g)]
        n_treated_clusters, n_periods, unit, cohort, time = self._design
        design = Design("att_gt", self.n_clusters, n_treated_clusters, n_periods)
        choice = engine.Choice("randomization", "randomization inference for each cohort", True)
        columns = {"ci_low": [], "ci_high": [], "pvalue": [], "min_pvalue": []}
        for label, est in zip(table["group"], table["estimate"], strict=True):
            gg = int(np.flatnonzero(self._times == label)[0])
            cells = np.flatnonzero(keep_cell & (g == gg) & (g <= t) & (t <= g + limits["max_e"]))
            L = np.zeros(len(g))
            L[cells] = pgg[cells] / pgg[cells].sum()
            fit = partial(_group_point, refit=self._refit, label=label, **limits)
            refit = engine.RandomizationRefit(
                fit,
                self._data,
                unit,
                cohort,
                time,
                self.outcome,
                batch=self._weights_batch(L, float(est)),
            )
            res = engine.run(
                choice, design, refit, float(est), level=self.level, seed=self.seed, reps=reps
            )
            for key in columns:
                columns[key].append(getattr(res, key))
        for key, values in columns.items():
            table[key] = values
        table["inference"] = "randomization"

    def _row_vcov(self, parts: _Parts) -> pd.DataFrame:
        """Covariance of the rows' estimates from their influence functions (ψ'ψ / n², summed
        within clusters when clustered), indexed by the row labels."""
        P = np.column_stack(parts.psis)
        n = P.shape[0]
        if self._cluster is not None:
            S = np.zeros((int(self._cluster.max()) + 1, P.shape[1]))
            np.add.at(S, self._cluster, P)
            P = S
        V = P.T @ P / n**2
        return pd.DataFrame(V, index=parts.labels, columns=parts.labels)

    def _se(self, psi: np.ndarray, uniform: bool) -> tuple[np.ndarray, float]:
        n = psi.shape[0]
        if self.bootstrap:
            rng = np.random.default_rng(self.seed)
            se, crit = multiplier_bootstrap(psi, self._cluster, self.n_boot, rng, self.level)
            return se, crit
        if self._cluster is None:
            se = np.sqrt((psi**2).sum(axis=0)) / n
        else:
            S = np.zeros((int(self._cluster.max()) + 1, psi.shape[1]))
            np.add.at(S, self._cluster, psi)
            se = np.sqrt((S**2).sum(axis=0)) / n
        se = np.where(se <= _SE_FLOOR, np.nan, se)
        return se, _normal_q(self.level)

    def _overall_weights(self, kind, min_e, max_e, balance_e, keep_cell) -> np.ndarray:
        """The overall estimate of ``aggregate(kind)`` as weights on the ATT(g, t) cells.

        Every aggregation is linear in ATT(g, t) with weights that depend only on the cells
        and the group sizes, both unchanged when cohorts are permuted across units; this
        mirrors the cell selection of :meth:`aggregate`, which checks the result against its
        own overall estimate before using it.
        """
        g, t = self._group_pos, self._time_pos
        G, w = self._unit_group, self._unit_weight
        glist = np.unique(g)
        pg_group = np.array([np.mean(w * (G == gg)) for gg in glist])
        pgg = pg_group[np.searchsorted(glist, g)]
        L = np.zeros(len(g))

        def share(cells: np.ndarray) -> np.ndarray:
            return pgg[cells] / pgg[cells].sum()

        if kind == "simple":
            cells = np.flatnonzero(keep_cell & (g <= t) & (t <= g + max_e))
            L[cells] = share(cells)
        elif kind == "dynamic":
            e_all = t - g
            include = keep_cell.copy()
            if balance_e is not None:
                include &= (int(t.max()) - g) >= balance_e
            eseq = np.unique(e_all[include])
            if balance_e is not None:
                eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - int(t.max()))]
            eseq = eseq[(eseq >= min_e) & (eseq <= max_e) & (eseq >= 0)]
            for e in eseq:
                cells = np.flatnonzero(include & (e_all == e))
                L[cells] += share(cells) / len(eseq)
        elif kind == "group":
            rows = []
            for j, gg in enumerate(glist):
                cells = np.flatnonzero(keep_cell & (g == gg) & (g <= t) & (t <= g + max_e))
                if len(cells):
                    rows.append((pg_group[j], cells))
            total = sum(p for p, _ in rows)
            for p, cells in rows:
                L[cells] += (p / total) * share(cells)
        else:  # calendar
            rows = [
                cells
                for tt in np.unique(t[t >= int(g.min())])
                if len(cells := np.flatnonzero(keep_cell & (t == tt) & (g <= t)))
            ]
            for cells in rows:
                L[cells] += share(cells) / len(rows)
        return L

    def _randomization_batch(self, kind, min_e, max_e, balance_e, keep_cell, overall_est):
        """Exact vectorised ``aggregate(kind)`` estimates under many cohort re-assignments.

        Without covariates or weights, on a balanced panel, ATT(g, t) is a difference of
        group means of Y_t − Y_b, and the overall estimate a fixed linear combination L of the
        cells (:meth:`_overall_weights`). So the estimate is Σ_i M[group of unit i, i] with
        M[h, i] = Σ_k L_k (1{h = g_k}/n_g − 1{h ∈ C_k}/n_C,k)(Y_i,t_k − Y_i,b_k): one (groups ×
        units) matrix for all assignments (Callaway & Sant'Anna 2021 aggregation; MacKinnon &
        Webb 2020 randomization inference). Returns None when the fast path does not apply.
        """
        if self._fast is None:
            return None
        L = self._overall_weights(kind, min_e, max_e, balance_e, keep_cell)
        return self._weights_batch(L, overall_est)

    def _weights_batch(self, L: np.ndarray, target: float, contributions: bool = False):
        """The vectorised statistic Σ_k L_k ATT(g_k, t_k) under many re-assignments (see
        :meth:`_randomization_batch`), or None when the weights do not reproduce ``target``.
        With ``contributions``, its decomposition over units (:meth:`unit_contributions`)."""
        f = self._fast
        if f is None:
            return None
        cells = np.flatnonzero(L != 0)
        att = self.table["att"].to_numpy(dtype=float)
        if not (
            len(cells)
            and np.isfinite(att[cells]).all()
            and abs(L[cells] @ att[cells] - target) <= 1e-9 * max(1.0, abs(target))
        ):
            return None  # the weights do not reproduce the aggregation: use the generic path
        tk, bk = self._time_pos[cells], f["base"][cells]
        TmG, CmG = f["treated_groups"][:, cells], f["control_groups"][:, cells]
        counts = f["counts"]
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = np.where(TmG, 1.0 / (counts @ TmG), 0.0)
            coef -= np.where(CmG, 1.0 / (counts @ CmG), 0.0)
        coef *= L[cells]
        ugroups, last, never = f["groups"], f["last_cohort"], f["never"]

        def groups_of(units, donors):
            C = reassigned_cohorts(f["units"], f["cohort_pos"], units, donors)
            if last is not None:  # no never-treated units: the last cohort is the comparison
                C = np.where(C == last, never, C)
            return np.searchsorted(ugroups, C)

        if contributions:  # M_Z = coef · (Z_t − Z_b)ᵀ for any outcome, one or a stack

            def unit_matrix(Z):
                Z = np.asarray(Z, dtype=float)
                return coef @ np.swapaxes(Z[..., tk] - Z[..., bk], -1, -2)

            identity = np.arange(len(f["units"]))[None, :]
            return groups_of(pd.Index(f["units"]), identity)[0], unit_matrix
        M_y = coef @ (f["Y"][:, tk] - f["Y"][:, bk]).T
        M_d = coef @ (f["D"][:, tk] - f["D"][:, bk]).T
        cols = np.arange(M_y.shape[1])

        def batch(units, donors):
            h = groups_of(units, donors)
            return M_y[h, cols].sum(axis=1), M_d[h, cols].sum(axis=1)

        return batch

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
        if self._fast is None:
            return None
        agg = self.aggregate(
            kind, min_e=min_e, max_e=max_e, balance_e=balance_e, na_rm=na_rm, inference="none"
        )
        keep_cell = ~np.isnan(self.table["att"].to_numpy(dtype=float))
        L = self._overall_weights(kind, min_e, max_e, balance_e, keep_cell)
        return self._weights_batch(L, agg.overall.estimate, contributions=True)

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


def _overall_point(data, *, refit, kind, min_e, max_e, balance_e, na_rm) -> float:
    res = refit(data)
    return res.aggregate(
        kind, min_e=min_e, max_e=max_e, balance_e=balance_e, na_rm=na_rm, inference="none"
    ).overall.estimate


def _group_point(data, *, refit, label, min_e, max_e, balance_e, na_rm) -> float:
    table = (
        refit(data)
        .aggregate(
            "group", min_e=min_e, max_e=max_e, balance_e=balance_e, na_rm=na_rm, inference="none"
        )
        .table
    )
    row = table.loc[table["group"] == label, "estimate"]
    return float(row.iloc[0]) if len(row) else float("nan")


def _normal_q(level: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(0.5 + level / 2))


def _normal_p(est: float, se: float) -> float:
    from scipy import stats

    if not (np.isfinite(se) and se > 0):
        return math.nan
    return float(2 * stats.norm.sf(abs(est / se)))


def multiplier_bootstrap(
    psi: np.ndarray,
    cluster: np.ndarray | None,
    n_boot: int,
    rng: np.random.Generator,
    level: float,
) -> tuple[np.ndarray, float]:
    """Multiplier bootstrap of influence functions (R ``did::mboot``): Rademacher weights per
    unit (or per cluster, on cluster means), SE from the interquartile range of the draws,
    and the uniform critical value = (level) quantile of max_j |draw_j / σ_j|."""
    from scipy import stats

    n, k = psi.shape
    if cluster is not None:
        G = int(cluster.max()) + 1
        sizes = np.bincount(cluster, minlength=G)
        base = np.zeros((G, k))
        np.add.at(base, cluster, psi)
        base /= sizes[:, None]
        m = G
    else:
        base, m = psi, n
    draws = np.empty((n_boot, k))
    chunk = max(1, int(4_000_000 // max(m, 1)))
    for s in range(0, n_boot, chunk):
        b = min(chunk, n_boot - s)
        v = rng.integers(0, 2, size=(b, m), dtype=np.int8).astype(float) * 2 - 1
        draws[s : s + b] = (v @ base) / m
    draws *= math.sqrt(m)
    q75, q25 = np.quantile(draws, [0.75, 0.25], axis=0, method="inverted_cdf")
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    sigma = np.where(sigma <= _SE_FLOOR, np.nan, sigma)
    with np.errstate(invalid="ignore", divide="ignore"):
        tmax = np.nanmax(np.abs(draws / sigma), axis=1)
    tmax = tmax[np.isfinite(tmax)]
    crit = float(np.quantile(tmax, level, method="inverted_cdf")) if len(tmax) else math.nan
    return sigma / math.sqrt(m), crit


# --------------------------------------------------------------------------------------------
# estimation


def att_gt(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    control: str = "never",
    anticipation: int = 0,
    base_period: str = "varying",
    covariates: Sequence[str] = (),
    est_method: str = "dr",
    bootstrap: bool = False,
    n_boot: int = 999,
    seed: int | None = 0,
    cluster: str | None = None,
    weights: str | None = None,
    level: float = 0.95,
) -> AttGt:
    """Group-time average treatment effects ATT(g, t) of Callaway & Sant'Anna (2021).

    Parameters
    ----------
    data, outcome, unit, time, cohort
        Long panel (one row per unit × period) and column names; ``cohort`` is the first
        treated period, missing = never treated. Units not observed in every period are
        dropped (as R ``did`` does by default), with a warning.
    control
        ``"never"`` (never-treated units) or ``"notyet"`` (never- and not-yet-treated units).
        Without never-treated units, ``"notyet"`` uses the last cohort as the comparison until
        it is treated and drops the later periods (as R ``did`` does).
    anticipation
        Number of periods before the start in which units may already react.
    base_period
        ``"varying"`` (pre-periods compared with the period just before) or ``"universal"``
        (all compared with g − 1 − anticipation).
    covariates
        Columns for conditional parallel trends (values of the base period are used).
    est_method
        ``"dr"`` (doubly robust, Sant'Anna & Zhao 2020; the default, as in R did) or ``"reg"``
        (outcome regression). Without covariates both equal the unconditional 2×2 comparison.
    bootstrap, n_boot, seed
        Multiplier bootstrap (Rademacher weights) for standard errors and uniform bands.
    cluster
        Column of clusters (e.g. ``"ward"`` when units are junctions); influence functions are
        summed within clusters.
    weights
        Column of positive unit weights (constant within unit).
    level
        Confidence level.

    Returns
    -------
    AttGt
        ``.table`` of ATT(g, t); ``.aggregate(kind)``; ``.pretrend``; ``.plot()``.
    """
    level = check_level(level)
    ctrl = _check_options(control, base_period, est_method, anticipation, n_boot)
    anticipation = int(anticipation)
    covariates = list(covariates) if not isinstance(covariates, str) else [covariates]
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="att_gt",
        cluster=cluster,
        controls=covariates,
        weights=weights,
        one_row_per_cell=True,
        allow_always_treated=False,
        anticipation=anticipation,
    )
    units = _balanced_units(prep, cluster, unit, weights, len(covariates))
    G, never, T_eff, last_cohort = _comparison_groups(units, prep, ctrl, anticipation)
    cells = _cells(G, never, T_eff, base_period, anticipation, ctrl)
    n = len(G)
    dY = units.Y[:, cells.t]
    dY -= units.Y[:, cells.b]
    if covariates:
        att, IF = _cells_with_covariates(
            dY,
            cells.treated[cells.ug],
            cells.control[cells.ug],
            units.w,
            units.X,
            cells.b,
            est_method,
            covariates,
            n,
        )
    else:
        att, IF = _cells_unconditional(dY, cells.treated, cells.control, cells.ug, units.w, n)
    del dY
    same = cells.t == cells.b  # universal base period itself: ATT = 0 by construction
    att[same] = 0.0
    IF[:, same] = 0.0
    counts = np.bincount(cells.ug, minlength=len(cells.groups)).astype(float)
    n_ctrl = (counts @ cells.control).astype(int)
    if (n_ctrl == 0).any():
        units.warnings.append(
            f"{int((n_ctrl == 0).sum())} ATT(g,t) have no comparison units and are missing."
        )
    result = AttGt(
        table=pd.DataFrame(
            {
                "group": prep.times[cells.g],
                "time": prep.times[cells.t],
                "event_time": cells.t - cells.g,
                "att": att,
            }
        ),
        influence=IF,
        pretrend=None,
        outcome=outcome,
        control=ctrl,
        anticipation=anticipation,
        base_period=base_period,
        est_method=est_method,
        level=level,
        bootstrap=bool(bootstrap),
        n_boot=int(n_boot),
        seed=seed,
        n_obs=int(n * prep.T),
        n_units=n,
        n_treated=int((prep.cohort_pos[units.keep] < prep.T).sum()),
        n_clusters=units.n_clusters,
        crit_val=math.nan,
        warnings=units.warnings,
        _unit_group=G,
        _unit_weight=units.w,
        _cluster=units.cluster,
        _group_pos=cells.g,
        _time_pos=cells.t,
        _times=prep.times,
        _data=data,
        _design=(_treated_clusters(G < never, units.cluster), prep.T, unit, cohort, time),
    )
    if not covariates and prep.weights is None and units.keep.all():
        # what the vectorised randomization inference needs (AttGt._randomization_batch)
        result._fast = {
            "units": prep.units,
            "cohort_pos": prep.cohort_pos,
            "Y": units.Y,
            "D": prep.wide(prep.treated.astype(float)),
            "base": cells.b,
            "groups": cells.groups,
            "treated_groups": cells.treated,
            "control_groups": cells.control,
            "counts": counts,
            "last_cohort": last_cohort,
            "never": never,
        }
    result._refit = partial(
        att_gt,
        outcome=outcome,
        unit=unit,
        time=time,
        cohort=cohort,
        control=control,
        anticipation=anticipation,
        base_period=base_period,
        covariates=tuple(covariates),
        est_method=est_method,
        bootstrap=False,
        cluster=cluster,
        weights=weights,
        level=level,
    )
    _complete_table(result, cells, att, IF, counts, n_ctrl, prep.times, anticipation, n)
    return result


def _check_options(control, base_period, est_method, anticipation, n_boot) -> str:
    """The options att_gt takes, checked; returns the comparison group ("never"/"notyet")."""
    ctrl = _CONTROL.get(control) if isinstance(control, str) else None
    if ctrl is None:
        raise DataError(f"argument 'control' must be 'never' or 'notyet', got {control!r}")
    if base_period not in ("varying", "universal"):
        raise DataError(
            f"argument 'base_period' must be 'varying' or 'universal', got {base_period!r}"
        )
    if est_method not in ("reg", "dr"):
        raise DataError(
            f"argument 'est_method' must be 'reg' (outcome regression) or 'dr' (doubly robust), "
            f"got {est_method!r}"
        )
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        raise DataError(
            f"argument 'anticipation' must be a whole number of periods ≥ 0, got {anticipation!r}"
        )
    if not isinstance(n_boot, int | np.integer) or n_boot < 99:
        raise DataError(f"argument 'n_boot' must be an integer ≥ 99, got {n_boot!r}")
    return ctrl


@dataclass
class _Units:
    """The units att_gt uses (observed in every period), as unit × period matrices."""

    keep: np.ndarray
    G: np.ndarray
    Y: np.ndarray
    X: list[np.ndarray]
    w: np.ndarray
    cluster: np.ndarray | None
    n_clusters: int
    warnings: list[str]


def _balanced_units(prep, cluster, unit, weights, n_covariates) -> _Units:
    """Drop units not observed in every period (as R did does) and check that weights and
    clusters are constant within units."""
    warnings = list(prep.warnings)
    Y = prep.wide()
    keep = ~np.isnan(Y).any(axis=1)
    if not keep.all():
        dropped = prep.units[~keep]
        warnings.append(
            f"{len(dropped)} unit(s) not observed in every period were dropped to balance the "
            f"panel (as R did does): {examples(dropped.tolist())}."
        )
    X = [prep.wide(prep.controls[:, j])[keep] for j in range(n_covariates)]
    W = prep.wide(np.ones(prep.n) if prep.weights is None else prep.weights)[keep]
    if prep.weights is not None and np.any(np.nanmax(W, 1) != np.nanmin(W, 1)):
        raise DataError(
            f"argument 'weights': column '{weights}' must be constant within each unit for "
            "att_gt (unit weights)."
        )
    cl_unit, n_clusters = None, int(keep.sum())
    if cluster is not None and cluster != unit:
        cl_rows = prep.wide(prep.cluster.astype(float))[keep]
        if np.any(np.nanmax(cl_rows, 1) != np.nanmin(cl_rows, 1)):
            raise DataError(
                f"argument 'cluster': column '{cluster}' changes within a unit; units must be "
                "nested in clusters."
            )
        codes, uniq = pd.factorize(cl_rows[:, 0], sort=True)
        cl_unit, n_clusters = codes.astype(np.int64), len(uniq)
    return _Units(
        keep, prep.cohort_pos[keep].copy(), Y[keep], X, W[:, 0], cl_unit, n_clusters, warnings
    )


def _comparison_groups(units: _Units, prep, ctrl: str, anticipation: int):
    """Timing group of each unit (``never`` = T for the comparison group), the usable periods
    and, without never-treated units, the last cohort that stands in for them (as R did)."""
    G, T = units.G, prep.T
    never, T_eff, last_cohort = T, T, None
    if not (G == never).any():
        if ctrl == "never":
            raise DesignError(
                "att_gt(control='never'): no unit stays untreated, so there is no never-treated "
                "comparison group. Use control='notyet' (later cohorts serve as comparisons "
                "until they are treated)."
            )
        last_cohort = int(G.max())
        T_eff = last_cohort - anticipation
        G = np.where(G == last_cohort, never, G)
        units.warnings.append(
            f"No never-treated units: the last cohort ({show(prep.times[last_cohort])}) serves "
            f"as the comparison group and periods from {show(prep.times[min(T_eff, T - 1)])} on "
            "are not used (as in R did)."
        )
        if not (G < never).any():
            raise DesignError(
                "att_gt: every unit is treated at the same time, so there is no comparison group."
            )
    if T_eff < 2:
        raise DesignError("att_gt: fewer than two usable periods remain.")
    small = [int((G == gg).sum()) for gg in np.unique(G[G < never])]
    if (G == never).sum() < 2 or min(small) < 2:
        units.warnings.append(
            "Some cohorts or the never-treated group have a single unit: ATT(g,t) are then "
            "one unit's changes and the influence-function standard errors are unreliable."
        )
    return G, never, T_eff, last_cohort


@dataclass
class _Cells:
    """The (g, t, base) cells and who is treated / comparison in each, by timing group."""

    g: np.ndarray
    t: np.ndarray
    b: np.ndarray
    groups: np.ndarray
    ug: np.ndarray
    treated: np.ndarray
    control: np.ndarray


def _cells(G, never, T_eff, base_period, anticipation, ctrl) -> _Cells:
    gs, ts, bs = [], [], []
    for gg in np.unique(G[G < never]):
        ref = gg - 1 - anticipation
        if base_period == "varying":
            for c in range(1, T_eff):
                gs.append(gg), ts.append(c), bs.append(ref if gg <= c else c - 1)
        else:
            for c in range(0, T_eff):
                gs.append(gg), ts.append(c), bs.append(ref)
    gk, tk, bk = np.array(gs), np.array(ts), np.array(bs)
    # Membership is decided per timing group, not per unit: a groups × cells table, gathered
    # to units only where the covariate path needs it.
    ugroups, ug = np.unique(G, return_inverse=True)  # last entry is `never` when present
    TmG = ugroups[:, None] == gk[None, :]
    if ctrl == "never":
        CmG = np.broadcast_to((ugroups == never)[:, None], (len(ugroups), len(gk)))
    else:
        horizon = np.maximum(tk, bk) + anticipation
        CmG = (ugroups[:, None] == never) | ((ugroups[:, None] > horizon[None, :]) & ~TmG)
    return _Cells(gk, tk, bk, ugroups, ug, TmG, CmG)


def _complete_table(result: AttGt, cells: _Cells, att, IF, counts, n_ctrl, times, anticipation, n):
    """Standard errors, intervals, bands and counts of the ATT(g, t) table; the pre-test."""
    table = result.table
    se, crit = result._se(IF, uniform=result.bootstrap)
    z = _normal_q(result.level)
    table["se"] = se
    table["ci_low"] = att - z * se
    table["ci_high"] = att + z * se
    if result.bootstrap:
        table["band_low"] = att - crit * se
        table["band_high"] = att + crit * se
    table["post"] = cells.g <= cells.t
    table["base"] = times[cells.b]
    table["n_treated"] = (counts @ cells.treated).astype(int)
    table["n_control"] = n_ctrl
    result.crit_val = float(crit)
    result.pretrend = _wald_pretest(att, IF, cells.g, cells.t, anticipation, n, se)
    if result.pretrend is None and bool(((cells.g > cells.t) & np.isfinite(se)).any()):
        result.warnings.append(
            "The joint pre-trend test is not computed: the covariance of the pre-treatment "
            "ATT(g,t) is singular (more pre-treatment cells than units). Inspect the "
            "pre-treatment estimates of aggregate('dynamic') instead."
        )


def _treated_clusters(treated_units: np.ndarray, cl_unit: np.ndarray | None) -> int:
    if cl_unit is None:
        return int(treated_units.sum())
    return int(np.unique(cl_unit[treated_units]).size)


def _cells_unconditional(dY, TmG, CmG, ug, w, n):
    """All ATT(g,t) without covariates at once: difference of (weighted) mean changes.

    Influence function (full sample of n units, as R did scales it):
        ψᵢ = n · [ Tᵢ wᵢ (ΔYᵢ − m_T) / Σ_T w − Cᵢ wᵢ (ΔYᵢ − m_C) / Σ_C w ],
    which is what DRDID's reg_did_panel and drdid_panel reduce to with an intercept only.
    Group sums come from a (groups × units) @ (units × cells) product; ψ needs one pass over
    the units × cells matrix.
    """
    n_groups = TmG.shape[0]
    onehot = np.zeros((n_groups, len(ug)))
    onehot[ug, np.arange(len(ug))] = w
    S = onehot.sum(axis=1)  # weight of each timing group
    GS = onehot @ dY  # groups × cells: Σ w ΔY within each group
    sT = S @ TmG
    sC = S @ CmG
    with np.errstate(invalid="ignore", divide="ignore"):
        mT = (GS * TmG).sum(axis=0) / sT
        mC = (GS * CmG).sum(axis=0) / sC
        aG = np.where(TmG, 1.0 / sT, 0.0)
        cG = np.where(CmG, 1.0 / sC, 0.0)
    att = mT - mC
    coef = (aG - cG)[ug]
    offset = np.nan_to_num(aG * mT - cG * mC)[ug]
    coef *= dY
    coef -= offset
    coef *= (n * w)[:, None]
    coef[:, sC == 0] = 0.0
    return att, coef


def _cells_with_covariates(dY, Tm, Cm, w, Xw, bk, est_method, names, n):
    """ATT(g,t) adjusted for covariates, one 2×2 at a time (DRDID reg_did_panel / drdid_panel)."""
    K = dY.shape[1]
    att = np.full(K, np.nan)
    IF = np.zeros((len(w), K))
    for k in range(K):
        sub = Tm[:, k] | Cm[:, k]
        if not Cm[:, k].any():
            continue
        D = Tm[sub, k].astype(float)
        Z = np.column_stack([np.ones(int(sub.sum()))] + [x[sub, bk[k]] for x in Xw])
        wi = w[sub] / w[sub].mean()
        fn = _reg_did_panel if est_method == "reg" else _drdid_panel
        a, psi = fn(dY[sub, k], D, Z, wi, names)
        att[k] = a
        IF[sub, k] = (n / sub.sum()) * psi
    return att, IF


def _ols_controls(dy, D, Z, w, names):
    ctrl = D == 0
    Zc = Z[ctrl] * w[ctrl, None]
    A = Zc.T @ Z[ctrl]
    if np.linalg.matrix_rank(A) < A.shape[0]:
        raise DesignError(
            "att_gt: the outcome regression on the comparison units is singular — covariates "
            f"{', '.join(map(repr, names))} are collinear or constant among the comparison units"
            " of some (g, t). Remove some covariates."
        )
    beta = np.linalg.solve(A, Zc.T @ dy[ctrl])
    return beta, A


def _reg_did_panel(dy, D, Z, w, names):
    """Outcome-regression DiD (Heckman, Ichimura & Todd 1997), DRDID::reg_did_panel."""
    n1 = len(dy)
    beta, A = _ols_controls(dy, D, Z, w, names)
    out = Z @ beta
    w_t = w * D
    eta_t = np.sum(w_t * dy) / np.sum(w_t)
    eta_c = np.sum(w_t * out) / np.sum(w_t)
    w_ols = w * (1 - D)
    XpX_inv = np.linalg.inv(A / n1)
    alr_ols = (w_ols * (dy - out))[:, None] * Z @ XpX_inv
    inf_treat = (w_t * dy - w_t * eta_t) / np.mean(w_t)
    inf_c1 = w_t * out - w_t * eta_c
    M1 = (w_t[:, None] * Z).mean(axis=0)
    inf_control = (inf_c1 + alr_ols @ M1) / np.mean(w_t)
    return eta_t - eta_c, inf_treat - inf_control


def _logit(D, Z, w, maxiter: int = 100):
    beta = np.zeros(Z.shape[1])
    for _ in range(maxiter):
        p = 1 / (1 + np.exp(-(Z @ beta)))
        Wd = w * p * (1 - p)
        H = (Z * Wd[:, None]).T @ Z
        step = np.linalg.lstsq(H, Z.T @ (w * (D - p)), rcond=None)[0]
        beta += step
        if np.max(np.abs(step)) < 1e-12:
            break
    p = 1 / (1 + np.exp(-(Z @ beta)))
    H = (Z * (w * p * (1 - p))[:, None]).T @ Z
    return p, H


def _drdid_panel(dy, D, Z, w, names):
    """Doubly robust DiD of Sant'Anna & Zhao (2020), DRDID::drdid_panel (logit propensity
    score, trimming controls with p ≥ 0.995, OLS outcome regression)."""
    n1 = len(dy)
    ps, H = _logit(D, Z, w)
    if not np.all(np.isfinite(H)) or np.linalg.matrix_rank(H) < H.shape[0]:
        # perfect separation: with a handful of wards the covariates can predict treatment
        # exactly, and the propensity score (hence the doubly robust estimate) does not exist
        raise DesignError(
            "att_gt(est_method='dr'): the propensity score cannot be estimated for some (g, t) "
            f"— with {int(D.sum())} treated and {int((D == 0).sum())} comparison units, "
            f"covariates {', '.join(map(repr, names))} separate them perfectly. Use "
            "est_method='reg' (outcome regression) or fewer covariates."
        )
    ps = np.minimum(ps, 1 - 1e-6)
    trim = np.where(D == 0, ps < 0.995, True)
    beta, A = _ols_controls(dy, D, Z, w, names)
    out = Z @ beta
    w_t = trim * w * D
    w_c = trim * w * ps * (1 - D) / (1 - ps)
    r = dy - out
    eta_t = np.sum(w_t * r) / np.sum(w_t)
    eta_c = np.sum(w_c * r) / np.sum(w_c)
    w_ols = w * (1 - D)
    XpX_inv = np.linalg.inv(A / n1)
    alr_ols = (w_ols * r)[:, None] * Z @ XpX_inv
    hess = np.linalg.inv(H) * n1
    alr_ps = (w * (D - ps))[:, None] * Z @ hess
    inf_t1 = w_t * r - w_t * eta_t
    M1 = (w_t[:, None] * Z).mean(axis=0)
    inf_treat = (inf_t1 - alr_ols @ M1) / np.mean(w_t)
    inf_c1 = w_c * r - w_c * eta_c
    M2 = ((w_c * (r - eta_c))[:, None] * Z).mean(axis=0)
    M3 = (w_c[:, None] * Z).mean(axis=0)
    inf_control = (inf_c1 + alr_ps @ M2 - alr_ols @ M3) / np.mean(w_c)
    return eta_t - eta_c, inf_treat - inf_control


def _wald_pretest(att, IF, gk, tk, anticipation, n, se) -> PretrendTest | None:
    """Wald test of the pre-treatment ATT(g,t), as R did's att_gt reports it:
    W = n · a'V⁻¹a with V = ψ'ψ/n over cells with t < g (and a non-zero SE), χ² with q df."""
    from scipy import stats

    pre = np.flatnonzero((gk > tk) & np.isfinite(se) & np.isfinite(att))
    if len(pre) == 0:
        return None
    if len(pre) >= n:  # the covariance of q > n − 1 cells is singular: nothing to test
        return None
    a = att[pre]
    V = IF[:, pre].T @ IF[:, pre] / n
    eig = np.linalg.eigvalsh(V)
    if eig[0] <= np.finfo(float).eps * max(eig[-1], 0.0):  # R did: rcond(preV) <= eps
        return None
    W = float(n * a @ np.linalg.solve(V, a))
    return PretrendTest(
        stat=W,
        pvalue=float(stats.chi2.sf(W, len(pre))),
        df=len(pre),
        test="Wald chi2 (influence function)",
    )
