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

from evaluation.errors import DataError, DesignError, InferenceError, examples
from evaluation.estimators import _inference as inf
from evaluation.estimators._prepare import prepare, show
from evaluation.estimators.twfe import _check_level
from evaluation.inference.choose import choose_inference
from evaluation.results import Estimate, PretrendTest, jsonable

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

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "overall": self.overall.to_dict(),
            "table": jsonable(self.table),
            "crit_val": jsonable(self.crit_val),
        }


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
        inference: str | None = None,
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
            None: as ``att_gt`` was run (analytic influence-function SEs or the multiplier
            bootstrap). ``"randomization"``: randomization inference for the overall effect
            (re-estimating on permuted cohorts). ``"auto"``: chosen by design.
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
        g = self._group_pos
        t = self._time_pos
        IF = self.influence
        G = self._unit_group
        w = self._unit_weight
        glist = np.unique(g)
        pg_group = np.array([np.mean(w * (G == gg)) for gg in glist])
        pgg = pg_group[np.searchsorted(glist, g)]
        max_t = int(t.max())

        def wif(cells: np.ndarray, groups: np.ndarray | None = None, pgk=None) -> np.ndarray:
            groups = g[cells] if groups is None else groups
            pgk = pgg[cells] if pgk is None else pgk
            ind = w[:, None] * (G[:, None] == groups[None, :]) - pgk[None, :]
            s = pgk.sum()
            return ind / s - ind.sum(axis=1, keepdims=True) * (pgk / s**2)[None, :]

        def agg(cells: np.ndarray, weights: np.ndarray, with_wif: bool = True):
            est = float(weights @ att[cells])
            psi = IF[:, cells] @ weights
            if with_wif:
                psi = psi + wif(cells) @ att[cells]
            return est, psi

        labels: list = []
        ests: list[float] = []
        psis: list[np.ndarray] = []
        if kind == "simple":
            cells = np.flatnonzero(keep_cell & (g <= t) & (t <= g + max_e))
            est, psi = agg(cells, pgg[cells] / pgg[cells].sum())
            overall_est, overall_psi = est, psi
            col = None
        elif kind == "dynamic":
            e_all = t - g
            include = keep_cell.copy()
            if balance_e is not None:
                include &= (max_t - g) >= balance_e
            eseq = np.unique(e_all[include])
            if balance_e is not None:
                eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - max_t)]
            eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
            for e in eseq:
                cells = np.flatnonzero(include & (e_all == e))
                est, psi = agg(cells, pgg[cells] / pgg[cells].sum())
                labels.append(int(e))
                ests.append(est)
                psis.append(psi)
            pos = np.asarray(labels) >= 0
            if not pos.any():
                raise DesignError("no post-treatment event times to aggregate")
            overall_est = float(np.mean(np.asarray(ests)[pos]))
            overall_psi = np.column_stack(psis)[:, pos].mean(axis=1)
            col = "event_time"
        elif kind == "group":
            for gg in glist:
                cells = np.flatnonzero(keep_cell & (g == gg) & (g <= t) & (t <= g + max_e))
                if len(cells) == 0:
                    continue
                est, psi = agg(cells, pgg[cells] / pgg[cells].sum(), with_wif=False)
                labels.append(gg)
                ests.append(est)
                psis.append(psi)
            gl = np.asarray(labels)
            pg = pg_group[np.searchsorted(glist, gl)]
            wts = pg / pg.sum()
            att_g = np.asarray(ests)
            overall_est = float(wts @ att_g)
            ind = w[:, None] * (G[:, None] == gl[None, :]) - pg[None, :]
            s = pg.sum()
            wif_g = ind / s - ind.sum(axis=1, keepdims=True) * (pg / s**2)[None, :]
            overall_psi = np.column_stack(psis) @ wts + wif_g @ att_g
            labels = [self._times[int(x)] for x in gl]
            col = "group"
        else:  # calendar
            min_g = int(g.min())
            for tt in np.unique(t[t >= min_g]):
                cells = np.flatnonzero(keep_cell & (t == tt) & (g <= t))
                if len(cells) == 0:
                    continue
                est, psi = agg(cells, pgg[cells] / pgg[cells].sum())
                labels.append(self._times[int(tt)])
                ests.append(est)
                psis.append(psi)
            overall_est = float(np.mean(ests))
            overall_psi = np.column_stack(psis).mean(axis=1)
            col = "time"

        se_overall, _ = self._se(overall_psi[:, None], uniform=False)
        z = _normal_q(self.level)
        overall_se = float(se_overall[0])
        p = _normal_p(overall_est, overall_se)
        lo, hi = overall_est - z * overall_se, overall_est + z * overall_se
        how = "multiplier bootstrap" if self.bootstrap else "influence-function (analytic)"
        text = f"{how} standard errors of Callaway & Sant'Anna (2021), normal intervals" + (
            f", clustered by units within {self.n_clusters} clusters"
            if self._cluster is not None
            else ""
        )
        method_code = "bootstrap" if self.bootstrap else "analytic"
        warnings = list(self.warnings)
        min_p = math.nan
        choice_method, reason = choose_inference(
            self.n_clusters, self._design[0], self._design[1], estimator="att_gt"
        )
        if inference == "auto":
            inference = "randomization" if choice_method == "randomization" else None
            text = reason + "; " + text
        if inference not in (None, "randomization"):
            raise InferenceError(
                f"aggregate(inference={inference!r}) does not apply to att_gt: choose None (the "
                "analytic or bootstrap standard errors att_gt was run with), 'randomization' "
                "or 'auto'"
            )
        if inference == "randomization":
            fit = partial(
                _overall_point,
                refit=self._refit,
                kind=kind,
                min_e=min_e,
                max_e=max_e,
                balance_e=balance_e,
                na_rm=na_rm,
            )
            res = inf.randomization(
                fit,
                self._data,
                unit=self._design[2],
                cohort=self._design[3],
                time=self._design[4],
                outcome=self.outcome,
                level=self.level,
                seed=self.seed,
                reps=reps,
                batch=self._randomization_batch(
                    kind, min_e, max_e, balance_e, keep_cell, overall_est
                ),
            )
            warnings.extend(getattr(res, "warnings", ()))
            f = inf.fields_from(res)
            overall_se, lo, hi, p, min_p = (
                f["se"],
                f["ci_low"],
                f["ci_high"],
                f["pvalue"],
                f["min_pvalue"],
            )
            method_code = "randomization"
            text = reason + "; " + getattr(res, "description", "randomization inference")
        elif choice_method == "randomization":
            warnings.append(
                f"{reason.split(':')[0]}: the influence-function standard errors assume many "
                "treated and untreated units and are unreliable here; use "
                "aggregate(..., inference='randomization')."
            )
        overall = Estimate(
            estimate=overall_est,
            se=overall_se,
            ci_low=lo,
            ci_high=hi,
            pvalue=p,
            min_pvalue=min_p,
            method=f"Callaway & Sant'Anna (2021) ATT, {kind} aggregation "
            f"({'never' if self.control == 'never' else 'not-yet'}-treated comparison, "
            f"{self.est_method})",
            inference=text,
            inference_method=method_code,
            outcome=self.outcome,
            level=self.level,
            n_obs=self.n_obs,
            n_units=self.n_units,
            n_treated=self.n_treated,
            n_clusters=self.n_clusters,
            warnings=warnings,
            details={
                "kind": kind,
                "control": self.control,
                "base_period": self.base_period,
                "anticipation": self.anticipation,
            },
        )
        if col is None:
            table = pd.DataFrame(
                {"estimate": [overall_est], "se": [overall_se], "ci_low": [lo], "ci_high": [hi]}
            )
            crit = z
        else:
            P = np.column_stack(psis)
            se, crit = self._se(P, uniform=self.bootstrap)
            est = np.asarray(ests)
            table = pd.DataFrame({col: labels, "estimate": est, "se": se})
            table["ci_low"] = est - z * se
            table["ci_high"] = est + z * se
            if self.bootstrap:
                table["band_low"] = est - crit * se
                table["band_high"] = est + crit * se
                table["crit_val"] = crit
            else:
                crit = z
        return AttGtAggregate(
            kind=kind, overall=overall, table=table, crit_val=float(crit), influence=overall_psi
        )

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
        f = self._fast
        if f is None:
            return None
        L = self._overall_weights(kind, min_e, max_e, balance_e, keep_cell)
        cells = np.flatnonzero(L != 0)
        att = self.table["att"].to_numpy(dtype=float)
        if not (
            len(cells)
            and np.isfinite(att[cells]).all()
            and abs(L[cells] @ att[cells] - overall_est) <= 1e-9 * max(1.0, abs(overall_est))
        ):
            return None  # the weights do not reproduce the aggregation: use the generic path
        tk, bk = self._time_pos[cells], f["base"][cells]
        TmG, CmG = f["treated_groups"][:, cells], f["control_groups"][:, cells]
        counts = f["counts"]
        with np.errstate(invalid="ignore", divide="ignore"):
            coef = np.where(TmG, 1.0 / (counts @ TmG), 0.0)
            coef -= np.where(CmG, 1.0 / (counts @ CmG), 0.0)
        coef *= L[cells]
        M_y = coef @ (f["Y"][:, tk] - f["Y"][:, bk]).T
        M_d = coef @ (f["D"][:, tk] - f["D"][:, bk]).T
        ugroups, last, never = f["groups"], f["last_cohort"], f["never"]
        cols = np.arange(M_y.shape[1])

        def batch(units, donors):
            C = inf.reassigned_cohorts(f["units"], f["cohort_pos"], units, donors)
            if last is not None:  # no never-treated units: the last cohort is the comparison
                C = np.where(C == last, never, C)
            h = np.searchsorted(ugroups, C)
            return M_y[h, cols].sum(axis=1), M_d[h, cols].sum(axis=1)

        return batch

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
        kind, min_e=min_e, max_e=max_e, balance_e=balance_e, na_rm=na_rm
    ).overall.estimate


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
    level = _check_level(level)
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
    warnings = list(prep.warnings)
    T = prep.T
    Y = prep.wide()
    keep_units = ~np.isnan(Y).any(axis=1)
    if not keep_units.all():
        dropped = prep.units[~keep_units]
        warnings.append(
            f"{len(dropped)} unit(s) not observed in every period were dropped to balance the "
            f"panel (as R did does): {examples(dropped.tolist())}."
        )
    G = prep.cohort_pos[keep_units].copy()
    Y = Y[keep_units]
    Xw = [prep.wide(prep.controls[:, j])[keep_units] for j in range(len(covariates))]
    w_rows = np.ones(prep.n) if prep.weights is None else prep.weights
    W = prep.wide(w_rows)[keep_units]
    if prep.weights is not None and np.any(np.nanmax(W, 1) != np.nanmin(W, 1)):
        raise DataError(
            f"argument 'weights': column '{weights}' must be constant within each unit for "
            "att_gt (unit weights)."
        )
    w = W[:, 0]
    cl_unit = None
    n_clusters = int(keep_units.sum())
    if cluster is not None and cluster != unit:
        cl_rows = prep.wide(prep.cluster.astype(float))[keep_units]
        if np.any(np.nanmax(cl_rows, 1) != np.nanmin(cl_rows, 1)):
            raise DataError(
                f"argument 'cluster': column '{cluster}' changes within a unit; units must be "
                "nested in clusters."
            )
        codes, uniq = pd.factorize(cl_rows[:, 0], sort=True)
        cl_unit = codes.astype(np.int64)
        n_clusters = len(uniq)
    n = len(G)
    NEVER = T
    T_eff = T
    last_cohort = None
    if not (G == NEVER).any():
        if ctrl == "never":
            raise DesignError(
                "att_gt(control='never'): no unit stays untreated, so there is no never-treated "
                "comparison group. Use control='notyet' (later cohorts serve as comparisons "
                "until they are treated)."
            )
        gmax = int(G.max())
        last_cohort = gmax
        T_eff = gmax - anticipation
        G = np.where(G == gmax, NEVER, G)
        warnings.append(
            f"No never-treated units: the last cohort ({show(prep.times[gmax])}) serves as the "
            f"comparison group and periods from {show(prep.times[min(T_eff, T - 1)])} on are not "
            "used (as in R did)."
        )
        if not (G < NEVER).any():
            raise DesignError(
                "att_gt: every unit is treated at the same time, so there is no comparison group."
            )
    if T_eff < 2:
        raise DesignError("att_gt: fewer than two usable periods remain.")
    glist = np.unique(G[G < NEVER])
    small = [int((G == gg).sum()) for gg in glist]
    if (G == NEVER).sum() < 2 or min(small) < 2:
        warnings.append(
            "Some cohorts or the never-treated group have a single unit: ATT(g,t) are then "
            "one unit's changes and the influence-function standard errors are unreliable."
        )

    # cells (g, t, base)
    gs, ts, bs = [], [], []
    for gg in glist:
        ref = gg - 1 - anticipation
        if base_period == "varying":
            for c in range(1, T_eff):
                b = ref if gg <= c else c - 1
                gs.append(gg), ts.append(c), bs.append(b)
        else:
            for c in range(0, T_eff):
                gs.append(gg), ts.append(c), bs.append(ref)
    gk, tk, bk = np.array(gs), np.array(ts), np.array(bs)
    K = len(gk)
    # Membership is decided per timing group, not per unit: a groups × cells table, gathered
    # to units only where the covariate path needs it.
    ugroups, ug = np.unique(G, return_inverse=True)  # last entry is NEVER when present
    TmG = ugroups[:, None] == gk[None, :]
    if ctrl == "never":
        CmG = np.broadcast_to((ugroups == NEVER)[:, None], (len(ugroups), K))
    else:
        horizon = np.maximum(tk, bk) + anticipation
        CmG = (ugroups[:, None] == NEVER) | ((ugroups[:, None] > horizon[None, :]) & ~TmG)
    same = tk == bk  # universal base period itself: ATT = 0 by construction
    dY = Y[:, tk]
    dY -= Y[:, bk]
    if covariates:
        att, IF = _cells_with_covariates(dY, TmG[ug], CmG[ug], w, Xw, bk, est_method, covariates, n)
    else:
        att, IF = _cells_unconditional(dY, TmG, CmG, ug, w, n)
    del dY
    att[same] = 0.0
    IF[:, same] = 0.0
    counts = np.bincount(ug, minlength=len(ugroups)).astype(float)
    n_ctrl = (counts @ CmG).astype(int)
    if (n_ctrl == 0).any():
        warnings.append(
            f"{int((n_ctrl == 0).sum())} ATT(g,t) have no comparison units and are missing."
        )

    table = pd.DataFrame(
        {
            "group": prep.times[gk],
            "time": prep.times[tk],
            "event_time": tk - gk,
            "att": att,
        }
    )
    result = AttGt(
        table=table,
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
        n_obs=int(n * T),
        n_units=n,
        n_treated=int((prep.cohort_pos[keep_units] < T).sum()),
        n_clusters=n_clusters,
        crit_val=math.nan,
        warnings=warnings,
        _unit_group=G,
        _unit_weight=w,
        _cluster=cl_unit,
        _group_pos=gk,
        _time_pos=tk,
        _times=prep.times,
        _data=data,
        _design=(
            _treated_clusters(G < NEVER, cl_unit),
            T,
            unit,
            cohort,
            time,
        ),
    )
    if not covariates and prep.weights is None and keep_units.all():
        # what the vectorised randomization inference needs (AttGt._randomization_batch)
        result._fast = {
            "units": prep.units,
            "cohort_pos": prep.cohort_pos,
            "Y": Y,
            "D": prep.wide(prep.treated.astype(float)),
            "base": bk,
            "groups": ugroups,
            "treated_groups": TmG,
            "control_groups": CmG,
            "counts": counts,
            "last_cohort": last_cohort,
            "never": NEVER,
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
    se, crit = result._se(IF, uniform=bool(bootstrap))
    z = _normal_q(level)
    table["se"] = se
    table["ci_low"] = att - z * se
    table["ci_high"] = att + z * se
    if bootstrap:
        table["band_low"] = att - crit * se
        table["band_high"] = att + crit * se
    table["post"] = gk <= tk
    table["base"] = prep.times[bk]
    table["n_treated"] = (counts @ TmG).astype(int)
    table["n_control"] = n_ctrl
    result.crit_val = float(crit)
    result.pretrend = _wald_pretest(att, IF, gk, tk, anticipation, n, se)
    if result.pretrend is None and bool(((gk > tk) & np.isfinite(se)).any()):
        warnings.append(
            "The joint pre-trend test is not computed: the covariance of the pre-treatment "
            "ATT(g,t) is singular (more pre-treatment cells than units). Inspect the "
            "pre-treatment estimates of aggregate('dynamic') instead."
        )
    return result


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
