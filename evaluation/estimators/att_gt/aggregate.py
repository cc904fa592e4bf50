"""Aggregations of group-time average treatment effects, as R ``did::aggte`` computes them.

An aggregation is a weighted average of the ATT(g, t) cells: ``simple`` (post-treatment cells
weighted by group size), ``dynamic`` (by event time e = t − g), ``group`` (by cohort) and
``calendar`` (by period). Its influence function includes the estimation of the weights (the
group shares), as in ``did``'s ``compute.aggte``, so numbers can be compared with it one for
one. The overall effect gets the inference the design calls for
(:func:`evaluation.inference.engine.infer`): influence-function (or multiplier-bootstrap)
standard errors, or randomization inference over re-assigned cohorts (MacKinnon & Webb 2020).
Without covariates or weights on a balanced panel every aggregation is a fixed linear
combination of the cells, which gives an exact vectorised batch of the statistic under many
re-assignments instead of refits.

Every function takes the :class:`~evaluation.estimators.att_gt.results.AttGt` (``res``) whose
methods call it, and calls its other methods through it, so that a method replaced on the
class is the one used.

References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230. MacKinnon, J. G. & Webb, M. D. (2020).
Randomization inference for difference-in-differences with few treated clusters. *J.
Econometrics* 218(2), 435–450.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd

from evaluation.errors import DataError, DesignError
from evaluation.estimators.att_gt.bootstrap import _normal_q
from evaluation.inference import engine
from evaluation.inference.choose import Setting
from evaluation.inference.randomization import reassigned_cohorts
from evaluation.results import Estimate

_KINDS = ("simple", "dynamic", "group", "calendar")


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


def aggte(res, kind, *, min_e, max_e, balance_e, na_rm, inference, reps) -> dict:
    """The fields of the :class:`~evaluation.estimators.att_gt.results.AttGtAggregate` that
    ``res.aggregate(kind, ...)`` returns (arguments as there)."""
    if kind not in _KINDS:
        raise DataError(f"aggregate(kind={kind!r}): choose one of {', '.join(_KINDS)}")
    if balance_e is not None and kind != "dynamic":
        raise DataError("balance_e applies to aggregate('dynamic') only")
    att = res.table["att"].to_numpy(dtype=float)
    if np.isnan(att).any() and not na_rm:
        raise DesignError(
            "some ATT(g,t) could not be computed (no comparison units in that period); "
            "pass na_rm=True to aggregate the others, or use control='never'."
        )
    keep_cell = ~np.isnan(att)
    parts = res._combine(kind, min_e, max_e, balance_e, keep_cell)
    limits = {"min_e": min_e, "max_e": max_e, "balance_e": balance_e, "na_rm": na_rm}
    overall = res._overall(kind, parts, keep_cell, limits, inference, reps)
    table, crit = res._by_row(parts)
    if kind == "group" and overall.inference_method == "randomization":
        res._groups_by_randomization(table, keep_cell, limits, reps)
    return {
        "kind": kind,
        "overall": overall,
        "table": table,
        "crit_val": float(crit),
        "influence": parts.overall_psi,
        "vcov": res._row_vcov(parts) if kind == "dynamic" else None,
    }


def combine(res, kind, min_e, max_e, balance_e, keep_cell) -> _Parts:
    """The did ``aggte`` arithmetic: each row's estimate and influence function (with the
    estimation of the aggregation weights), and the overall ones."""
    att = res.table["att"].to_numpy(dtype=float)
    g, t, IF = res._group_pos, res._time_pos, res.influence
    G, w = res._unit_group, res._unit_weight
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
        parts.labels = [res._times[int(x)] for x in gl]
        return parts
    for tt in np.unique(t[t >= int(g.min())]):  # calendar
        cells = np.flatnonzero(keep_cell & (t == tt) & (g <= t))
        if len(cells):
            parts.add(res._times[int(tt)], *agg(cells))
    parts.col = "time"
    parts.overall_est = float(np.mean(parts.ests))
    parts.overall_psi = np.column_stack(parts.psis).mean(axis=1)
    return parts


def overall_estimate(res, kind, parts, keep_cell, limits, inference, reps) -> Estimate:
    """The overall effect with the inference the design calls for (engine.infer)."""
    se = float(res._se(parts.overall_psi[:, None], uniform=False)[0][0])
    how = "multiplier bootstrap" if res.bootstrap else "influence-function (analytic)"
    label = f"{how} standard errors of Callaway & Sant'Anna (2021), normal intervals" + (
        f", clustered by units within {res.n_clusters} clusters" if res._cluster is not None else ""
    )
    n_treated_clusters, n_periods, unit, cohort, time = res._design

    def randomization() -> engine.RandomizationRefit:
        fit = partial(_overall_point, refit=res._refit, kind=kind, **limits)
        batch = res._randomization_batch(
            kind,
            limits["min_e"],
            limits["max_e"],
            limits["balance_e"],
            keep_cell,
            parts.overall_est,
        )
        return engine.RandomizationRefit(
            fit, res._data, unit, cohort, time, res.outcome, batch=batch
        )

    refits = {
        "analytic": engine.StandardError(
            se, None, label, method="bootstrap" if res.bootstrap else None
        ),
        "randomization": randomization,
    }
    design = Setting("att_gt", res.n_clusters, n_treated_clusters, n_periods)
    result = engine.infer(
        inference,
        design,
        parts.overall_est,
        refits,
        level=res.level,
        seed=res.seed,
        reps=reps,
    )
    return Estimate(
        estimate=parts.overall_est,
        method=f"Callaway & Sant'Anna (2021) ATT, {kind} aggregation "
        f"({'never' if res.control == 'never' else 'not-yet'}-treated comparison, "
        f"{res.est_method})",
        outcome=res.outcome,
        level=res.level,
        n_obs=res.n_obs,
        n_units=res.n_units,
        n_treated=res.n_treated,
        n_clusters=res.n_clusters,
        warnings=list(res.warnings) + result.warnings,
        details={
            "kind": kind,
            "control": res.control,
            "base_period": res.base_period,
            "anticipation": res.anticipation,
        },
        **result.fields(),
    )


def by_row(res, parts: _Parts) -> tuple[pd.DataFrame, float]:
    """The table by event time / group / period, with influence-function intervals (and
    uniform bands when bootstrapped)."""
    z = _normal_q(res.level)
    if parts.col is None:
        se = float(res._se(parts.overall_psi[:, None], uniform=False)[0][0])
        est = parts.overall_est
        table = pd.DataFrame(
            {"estimate": [est], "se": [se], "ci_low": [est - z * se], "ci_high": [est + z * se]}
        )
        return table, z
    se, crit = res._se(np.column_stack(parts.psis), uniform=res.bootstrap)
    est = np.asarray(parts.ests)
    table = pd.DataFrame({parts.col: parts.labels, "estimate": est, "se": se})
    table["ci_low"] = est - z * se
    table["ci_high"] = est + z * se
    if not res.bootstrap:
        return table, z
    table["band_low"] = est - crit * se
    table["band_high"] = est + crit * se
    table["crit_val"] = crit
    return table, crit


def groups_by_randomization(res, table: pd.DataFrame, keep_cell, limits, reps) -> None:
    """Randomization inference for each cohort's ATT as well (the waves of a rollout), when
    the overall effect got it: with few clusters the influence-function intervals of the
    rows over-reject like the overall one would. Replaces the rows' ``ci_low``, ``ci_high``
    and adds ``pvalue``, ``min_pvalue`` and ``inference`` (the uniform bands, if any, stay
    influence-function based)."""
    g, t = res._group_pos, res._time_pos
    glist = np.unique(g)
    pg_group = np.array([np.mean(res._unit_weight * (res._unit_group == gg)) for gg in glist])
    pgg = pg_group[np.searchsorted(glist, g)]
    n_treated_clusters, n_periods, unit, cohort, time = res._design
    design = Setting("att_gt", res.n_clusters, n_treated_clusters, n_periods)
    choice = engine.Choice("randomization", "randomization inference for each cohort", True)
    columns = {"ci_low": [], "ci_high": [], "pvalue": [], "min_pvalue": []}
    for label, est in zip(table["group"], table["estimate"], strict=True):
        gg = int(np.flatnonzero(res._times == label)[0])
        cells = np.flatnonzero(keep_cell & (g == gg) & (g <= t) & (t <= g + limits["max_e"]))
        L = np.zeros(len(g))
        L[cells] = pgg[cells] / pgg[cells].sum()
        fit = partial(_group_point, refit=res._refit, label=label, **limits)
        refit = engine.RandomizationRefit(
            fit,
            res._data,
            unit,
            cohort,
            time,
            res.outcome,
            batch=res._weights_batch(L, float(est)),
        )
        ri = engine.run(
            choice, design, refit, float(est), level=res.level, seed=res.seed, reps=reps
        )
        for key in columns:
            columns[key].append(getattr(ri, key))
    for key, values in columns.items():
        table[key] = values
    table["inference"] = "randomization"


def row_vcov(res, parts: _Parts) -> pd.DataFrame:
    """Covariance of the rows' estimates from their influence functions (ψ'ψ / n², summed
    within clusters when clustered), indexed by the row labels."""
    P = np.column_stack(parts.psis)
    n = P.shape[0]
    if res._cluster is not None:
        S = np.zeros((int(res._cluster.max()) + 1, P.shape[1]))
        np.add.at(S, res._cluster, P)
        P = S
    V = P.T @ P / n**2
    return pd.DataFrame(V, index=parts.labels, columns=parts.labels)


def overall_weights(res, kind, min_e, max_e, balance_e, keep_cell) -> np.ndarray:
    """The overall estimate of ``aggregate(kind)`` as weights on the ATT(g, t) cells.

    Every aggregation is linear in ATT(g, t) with weights that depend only on the cells
    and the group sizes, both unchanged when cohorts are permuted across units; this
    mirrors the cell selection of :func:`combine`, and :func:`weights_batch` checks the result
    against the overall estimate before using it.
    """
    g, t = res._group_pos, res._time_pos
    G, w = res._unit_group, res._unit_weight
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


def randomization_batch(res, kind, min_e, max_e, balance_e, keep_cell, overall_est):
    """Exact vectorised ``aggregate(kind)`` estimates under many cohort re-assignments.

    Without covariates or weights, on a balanced panel, ATT(g, t) is a difference of
    group means of Y_t − Y_b, and the overall estimate a fixed linear combination L of the
    cells (:func:`overall_weights`). So the estimate is Σ_i M[group of unit i, i] with
    M[h, i] = Σ_k L_k (1{h = g_k}/n_g − 1{h ∈ C_k}/n_C,k)(Y_i,t_k − Y_i,b_k): one (groups ×
    units) matrix for all assignments (Callaway & Sant'Anna 2021 aggregation; MacKinnon &
    Webb 2020 randomization inference). Returns None when the fast path does not apply.
    """
    if res._fast is None:
        return None
    L = res._overall_weights(kind, min_e, max_e, balance_e, keep_cell)
    return res._weights_batch(L, overall_est)


def _reassigned_groups(f: dict, units, donors: np.ndarray) -> np.ndarray:
    """Each unit's timing group (a position in ``f["groups"]``) under each re-assignment
    (assignments × units; ``f`` the fit's ``_fast`` pieces): the last cohort stands for the
    never-treated when there are none, as in R did."""
    C = reassigned_cohorts(f["units"], f["cohort_pos"], units, donors)
    if f["last_cohort"] is not None:  # no never-treated units: the last cohort compares
        C = np.where(C == f["last_cohort"], f["never"], C)
    return np.searchsorted(f["groups"], C)


def weights_batch(res, L: np.ndarray, target: float, contributions: bool = False):
    """The vectorised statistic Σ_k L_k ATT(g_k, t_k) under many re-assignments (see
    :func:`randomization_batch`), or None when the weights do not reproduce ``target``.
    With ``contributions``, its decomposition over units (``AttGt.unit_contributions``)."""
    f = res._fast
    if f is None:
        return None
    cells = np.flatnonzero(L != 0)
    att = res.table["att"].to_numpy(dtype=float)
    if not (
        len(cells)
        and np.isfinite(att[cells]).all()
        and abs(L[cells] @ att[cells] - target) <= 1e-9 * max(1.0, abs(target))
    ):
        return None  # the weights do not reproduce the aggregation: use the generic path
    tk, bk = res._time_pos[cells], f["base"][cells]
    TmG, CmG = f["treated_groups"][:, cells], f["control_groups"][:, cells]
    counts = f["counts"]
    with np.errstate(invalid="ignore", divide="ignore"):
        coef = np.where(TmG, 1.0 / (counts @ TmG), 0.0)
        coef -= np.where(CmG, 1.0 / (counts @ CmG), 0.0)
    coef *= L[cells]

    if contributions:  # M_Z = coef · (Z_t − Z_b)ᵀ for any outcome, one or a stack

        def unit_matrix(Z):
            Z = np.asarray(Z, dtype=float)
            return coef @ np.swapaxes(Z[..., tk] - Z[..., bk], -1, -2)

        identity = np.arange(len(f["units"]))[None, :]
        return _reassigned_groups(f, pd.Index(f["units"]), identity)[0], unit_matrix
    M_y = coef @ (f["Y"][:, tk] - f["Y"][:, bk]).T
    M_d = coef @ (f["D"][:, tk] - f["D"][:, bk]).T
    cols = np.arange(M_y.shape[1])

    def batch(units, donors):
        h = _reassigned_groups(f, units, donors)
        return M_y[h, cols].sum(axis=1), M_d[h, cols].sum(axis=1)

    return batch


def influence_batch(res, kind):
    """``aggregate(kind)``'s overall estimate and influence function under many cohort
    re-assignments, for any outcome, without refitting — the linear pieces of the analytic test
    (:func:`evaluation.inference.batched.influence_test`), or None where they do not apply.

    Applies without covariates or weights, on a balanced panel (where ``_fast`` is set), to
    ``kind="simple"`` with analytic standard errors. Re-assigning cohorts across units keeps
    the cells, the timing groups' sizes, hence the comparison groups and the aggregation
    weights; it moves only which units are in which group. For an outcome Z with changes ΔZ
    (units × post-treatment cells) and group h_i of unit i, :func:`.cells._cells_unconditional`
    and :func:`combine` reduce to group sums: with m_T, m_C the treated and comparison means
    of ΔZ in each cell, a_gk = 1{g treated in k}/n_T,k, c_gk = 1{g compares in k}/n_C,k and
    weights ω_k (the groups' shares p_k / s, s = Σ p_k),

        θ = Σ_k ω_k (m_T,k − m_C,k)
        ψ_i = n Σ_k ω_k [(a − c)_{h_i k} ΔZ_ik − a_{h_i k} m_T,k + c_{h_i k} m_C,k]
              + (Σ_{k: g_k = h_i} ATT_k − p·ATT)/s − (#{k: g_k = h_i} − s)(p·ATT)/s²,

    the last line the estimation of the weights (``wif``). Both are linear in Z for fixed
    assignments, so the test's variance is a quadratic in the effect (Callaway & Sant'Anna
    2021, the influence function of their aggregation, as R ``did::aggte`` computes it).

    Returns ``pieces(donors, Z)``: for assignments ``donors`` (R × N, unit j takes the cohort
    of unit donors[r, j], units sorted) and Z (R × N × T, sorted periods; None for the observed
    outcome), the estimates (R) and the influence functions summed within clusters (R × C; C =
    N without clusters). The standard error is √Σ_c ψ_c² / N (:func:`.bootstrap.influence_se`).
    """
    f = res._fast
    if f is None or res.bootstrap or kind != "simple":
        return None
    att = res.table["att"].to_numpy(dtype=float)
    g, t = res._group_pos, res._time_pos
    cells = np.flatnonzero(~np.isnan(att) & (g <= t))
    if not len(cells):
        return None
    counts, ugroups = f["counts"], f["groups"]
    n = int(counts.sum())
    TmG, CmG = f["treated_groups"][:, cells], f["control_groups"][:, cells]
    sT, sC = counts @ TmG, counts @ CmG
    aG, cG = np.where(TmG, 1.0 / sT, 0.0), np.where(CmG, 1.0 / sC, 0.0)
    p = counts[np.searchsorted(ugroups, g[cells])] / n  # the groups' shares, as combine
    s = p.sum()
    omega = p / s
    member = (ugroups[:, None] == g[cells][None, :]).astype(float)  # group × cell: g_k = group
    n_member = member.sum(axis=1)
    P = (aG - cG) * omega  # group × cell
    tk, bk = t[cells], f["base"][cells]
    cluster = res._cluster
    units = pd.Index(f["units"])
    check = float(omega @ att[cells])
    target = res.aggregate(kind, inference="none").overall.estimate
    if not abs(check - target) <= 1e-9 * max(1.0, abs(target)):
        return None  # the cells do not reproduce the aggregation: use the generic path

    def pieces(donors: np.ndarray, Z: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        h = _reassigned_groups(f, units, donors)  # R × N timing group of each unit
        R, N = h.shape
        H = (h[:, None, :] == np.arange(len(ugroups))[None, :, None]).astype(float)  # R×G×N
        Z = f["Y"] if Z is None else Z
        dZ = Z[..., tk] - Z[..., bk]  # (R ×) N × K
        GS = H @ dZ  # R × G × K: sums of ΔZ within each group
        mT = np.einsum("rgk,gk->rk", GS, TmG.astype(float)) / sT
        mC = np.einsum("rgk,gk->rk", GS, CmG.astype(float)) / sC
        A = mT - mC  # R × K: ATT(g, t) of the post-treatment cells
        est = A @ omega
        lin = dZ @ P.T  # (R ×) N × G
        lin = np.broadcast_to(lin, (R, N, len(ugroups)))
        lin = np.take_along_axis(lin, h[:, :, None], axis=2)[:, :, 0]
        off = (aG[None] * mT[:, None, :] - cG[None] * mC[:, None, :]) @ omega  # R × G
        pa = A @ p
        wif = (A @ member.T - pa[:, None]) / s - (n_member[None, :] - s) * (pa / s**2)[:, None]
        psi = n * (lin - np.take_along_axis(off, h, axis=1)) + np.take_along_axis(wif, h, axis=1)
        if cluster is not None:
            S = np.zeros((R, int(cluster.max()) + 1))
            np.add.at(S.T, cluster, psi.T)
            psi = S
        return est, psi

    return pieces


def contributions_by_unit(res, kind, *, min_e, max_e, balance_e, na_rm):
    """``res.unit_contributions(kind, ...)``: ``(groups, contributions)``, or None where the
    vectorised randomization inference does not apply (see
    :meth:`~evaluation.estimators.att_gt.results.AttGt.unit_contributions`)."""
    if res._fast is None:
        return None
    agg = res.aggregate(
        kind, min_e=min_e, max_e=max_e, balance_e=balance_e, na_rm=na_rm, inference="none"
    )
    keep_cell = ~np.isnan(res.table["att"].to_numpy(dtype=float))
    L = res._overall_weights(kind, min_e, max_e, balance_e, keep_cell)
    return res._weights_batch(L, agg.overall.estimate, contributions=True)


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
