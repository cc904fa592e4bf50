"""The group × time cells of Callaway & Sant'Anna (2021): ATT(g, t) and its influence function.

Each cell (g, t) is a 2×2 difference-in-differences between the units first treated in g and
the comparison group (never-treated, or not yet treated by t) from base period b:

    ATT(g, t) = E[Y_t − Y_b | G = g] − E[Y_t − Y_b | C].

Without covariates all cells are computed at once as differences of (weighted) mean changes.
With covariates each cell is adjusted, as DRDID does for panels, by outcome regression
(``reg_did_panel``; Heckman, Ichimura & Todd 1997) or by the doubly robust estimator of
Sant'Anna & Zhao (2020) (``drdid_panel``: logit propensity score, OLS outcome regression),
using covariate values of the base period. The Wald test of the pre-treatment cells is the
pre-test R ``did`` reports.

References: Callaway, B. & Sant'Anna, P. H. C. (2021). Difference-in-Differences with multiple
time periods. *Journal of Econometrics* 225(2), 200–230. Sant'Anna, P. H. C. & Zhao, J. (2020).
Doubly robust difference-in-differences estimators. *Journal of Econometrics* 219(1), 101–122.
Heckman, J. J., Ichimura, H. & Todd, P. E. (1997). Matching as an econometric evaluation
estimator. *Review of Economic Studies* 64(4), 605–654.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluation.errors import DesignError
from evaluation.results import PretrendTest


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
