"""Goodman-Bacon (2021) decomposition of the two-way fixed-effects DiD estimate.

With staggered adoption, the TWFE coefficient on D_it in y_it = α_i + λ_t + β·D_it + ε_it
(balanced panel, no controls) is exactly a weighted average of every 2×2 DiD that can be formed
between timing groups (Goodman-Bacon 2021, *J. Econometrics* 225(2), Theorem 1):

* treated vs never treated, over the whole panel;
* earlier- vs later-treated: the early group treated, the later group (not yet treated) as
  control, before the later group starts;
* later- vs earlier-treated: the later group treated, the *already treated* earlier group as
  control, after the early group started — the "forbidden" comparison: when effects grow over
  time, the control's own treatment effect changes are subtracted and bias β (even its sign);
* later-treated vs always-treated units (treated from the first period), also forbidden.

The weights depend only on group sizes n_k and the shares of periods treated D̄_k:
s_kU ∝ (n_k+n_U)² n_kU(1−n_kU) D̄_k(1−D̄_k), s^k_kl ∝ ((n_k+n_l)(1−D̄_l))² n_kl(1−n_kl)
(D̄_k−D̄_l)/(1−D̄_l) · (1−D̄_k)/(1−D̄_l), s^l_kl ∝ ((n_k+n_l)D̄_k)² n_kl(1−n_kl) (D̄_l/D̄_k)
(D̄_k−D̄_l)/D̄_k, each divided by the variance of the two-way demeaned treatment V̂^D; they sum
to one and Σ s·β̂ reproduces the TWFE estimate to rounding error, which
:func:`bacon_decomposition` checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.absorb import Absorber
from evaluation.core.jsonable import jsonable
from evaluation.data.prepare import prepare
from evaluation.errors import DataError, DesignError

__all__ = ["bacon_decomposition", "BaconDecomposition"]

TREATED_VS_NEVER = "treated vs never treated"
EARLY_VS_LATE = "earlier vs later treated"
LATE_VS_EARLY = "later vs earlier treated (already-treated control)"
LATE_VS_ALWAYS = "later vs always treated (already-treated control)"
FORBIDDEN = (LATE_VS_EARLY, LATE_VS_ALWAYS)


@dataclass
class BaconDecomposition:
    """The 2×2 comparisons behind a TWFE estimate and their weights.

    Attributes
    ----------
    table
        One row per 2×2: ``type``, ``treated``, ``control`` (cohort labels, or "never" /
        "always"), ``estimate``, ``weight``, ``forbidden``.
    twfe
        The TWFE estimate being decomposed.
    """

    table: pd.DataFrame
    twfe: float
    outcome: str
    n_units: int
    n_periods: int
    warnings: list[str] = field(default_factory=list)

    @property
    def weighted_sum(self) -> float:
        """Σ weight × estimate — equals ``twfe`` up to rounding."""
        return float((self.table["weight"] * self.table["estimate"]).sum())

    @property
    def forbidden_weight(self) -> float:
        """Total weight on comparisons that use already-treated units as controls."""
        return float(self.table.loc[self.table["forbidden"], "weight"].sum())

    def summary(self) -> pd.DataFrame:
        """Total weight and weight-averaged estimate by type (as R bacondecomp prints)."""
        t = self.table
        g = t.assign(we=t["weight"] * t["estimate"]).groupby("type", sort=False)
        out = pd.DataFrame({"weight": g["weight"].sum(), "estimate": g["we"].sum()})
        out["estimate"] = out["estimate"] / out["weight"]
        out["contribution"] = out["weight"] * out["estimate"]
        return out.reset_index()

    def plot(self, ax=None, *, title: str | None = None):
        """Each 2×2 estimate against its weight, by type, with the TWFE estimate as a line."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4))
        styles = {
            TREATED_VS_NEVER: ("o", "#1f5fa8"),
            EARLY_VS_LATE: ("s", "#3a8f5c"),
            LATE_VS_EARLY: ("^", "#b04a3a"),
            LATE_VS_ALWAYS: ("v", "#d08a2e"),
        }
        for typ, sub in self.table.groupby("type", sort=False):
            marker, color = styles.get(typ, ("o", "0.3"))
            ax.scatter(sub["weight"], sub["estimate"], marker=marker, color=color, label=typ)
        ax.axhline(self.twfe, color="0.3", lw=1, ls="--", label=f"TWFE = {self.twfe:.3g}")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_xlabel("weight")
        ax.set_ylabel("2×2 DiD estimate")
        ax.set_title(title or "Goodman-Bacon decomposition of TWFE", fontsize=10)
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.25)
        return ax

    def to_dict(self) -> dict[str, Any]:
        return {
            "table": jsonable(self.table),
            "summary": jsonable(self.summary()),
            "twfe": jsonable(self.twfe),
            "weighted_sum": jsonable(self.weighted_sum),
            "forbidden_weight": jsonable(self.forbidden_weight),
            "outcome": self.outcome,
            "n_units": self.n_units,
            "n_periods": self.n_periods,
            "warnings": list(self.warnings),
        }


def _did(path_t: np.ndarray, path_c: np.ndarray, pre: slice, post: slice) -> float:
    return float(
        (path_t[post].mean() - path_t[pre].mean()) - (path_c[post].mean() - path_c[pre].mean())
    )


def bacon_decomposition(
    data: pd.DataFrame, outcome: str, unit: str, time: str, cohort: str
) -> BaconDecomposition:
    """Decompose the TWFE DiD estimate into its 2×2 comparisons (Goodman-Bacon 2021).

    Parameters
    ----------
    data
        A balanced panel: every unit observed once in every period.
    outcome, unit, time, cohort
        Column names; ``cohort`` is the first treated period, missing = never treated.

    Returns
    -------
    BaconDecomposition
        ``.table`` of 2×2 estimates and weights (summing exactly back to ``.twfe``),
        ``.summary()``, ``.forbidden_weight``, ``.plot()``.

    Raises
    ------
    DataError
        If the panel is not balanced (the decomposition theorem needs a balanced panel).
    """
    prep = prepare(
        data,
        outcome,
        unit,
        time,
        cohort,
        estimator="bacon_decomposition",
        one_row_per_cell=True,
        allow_always_treated=True,
    )
    if not prep.balanced:
        raise DataError(
            f"bacon_decomposition needs a balanced panel (each of the {prep.N} units in every "
            f"one of the {prep.T} periods); {prep.N * prep.T - prep.n} unit × period rows are "
            "missing. Keep units observed throughout, or fill the gaps."
        )
    N, T = prep.N, prep.T
    D = prep.treated.astype(float)
    ab = Absorber([prep.unit, prep.time])
    Dd, yd = ab.demean(np.column_stack([D, prep.y])).T
    VD = float(Dd @ Dd) / (N * T)
    if VD <= 1e-14:
        raise DesignError("bacon_decomposition: treatment does not vary beyond unit and period.")
    twfe = float(Dd @ yd) / float(Dd @ Dd)

    # group mean paths and sizes; position T = never treated, 0 = always treated
    Y = prep.wide()
    gpos = prep.cohort_pos
    groups = np.unique(gpos)
    paths = {int(g): Y[gpos == g].mean(axis=0) for g in groups}
    share = {int(g): float(np.mean(gpos == g)) for g in groups}
    dbar = {int(g): (T - int(g)) / T for g in groups}
    timing = [int(g) for g in groups if 0 < g < T]
    never = T if T in paths else None
    always = 0 if 0 in paths else None

    def label(g: int):
        if g == T:
            return "never"
        if g == 0:
            return "always"
        return prep.times[g]

    rows = []
    if never is not None:
        for k in timing:
            nk, nu = share[k], share[never]
            nku = nk / (nk + nu)
            s = (nk + nu) ** 2 * nku * (1 - nku) * dbar[k] * (1 - dbar[k]) / VD
            est = _did(paths[k], paths[never], slice(0, k), slice(k, T))
            rows.append((TREATED_VS_NEVER, label(k), label(never), est, s))
    for i, k in enumerate(timing):
        for late in timing[i + 1 :]:
            nk, nl = share[k], share[late]
            nkl = nk / (nk + nl)
            dk, dl = dbar[k], dbar[late]
            s_early = (
                ((nk + nl) * (1 - dl)) ** 2
                * nkl
                * (1 - nkl)
                * ((dk - dl) / (1 - dl))
                * ((1 - dk) / (1 - dl))
                / VD
            )
            est_early = _did(paths[k], paths[late], slice(0, k), slice(k, late))
            rows.append((EARLY_VS_LATE, label(k), label(late), est_early, s_early))
            s_late = ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * ((dk - dl) / dk) / VD
            est_late = _did(paths[late], paths[k], slice(k, late), slice(late, T))
            rows.append((LATE_VS_EARLY, label(late), label(k), est_late, s_late))
    if always is not None:
        for late in timing:
            na, nl = share[always], share[late]
            nal = na / (na + nl)
            dl = dbar[late]
            s = (na + nl) ** 2 * nal * (1 - nal) * dl * (1 - dl) / VD
            est = _did(paths[late], paths[always], slice(0, late), slice(late, T))
            rows.append((LATE_VS_ALWAYS, label(late), label(always), est, s))
    table = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight"])
    table["forbidden"] = table["type"].isin(FORBIDDEN)
    result = BaconDecomposition(
        table=table,
        twfe=twfe,
        outcome=outcome,
        n_units=N,
        n_periods=T,
        warnings=list(prep.warnings),
    )
    gap = abs(result.weighted_sum - twfe)
    if gap > 1e-8 * max(1.0, abs(twfe)) or abs(table["weight"].sum() - 1) > 1e-8:
        raise AssertionError(  # a defect of this module, not of the user's data
            f"Bacon decomposition does not add up: Σ w·β = {result.weighted_sum!r}, TWFE = "
            f"{twfe!r}, Σ w = {table['weight'].sum()!r}"
        )
    if result.forbidden_weight > 0:
        result.warnings.append(
            f"{result.forbidden_weight:.0%} of the TWFE weight is on comparisons that use "
            "already-treated units as controls; if effects change over time these bias TWFE. "
            "Prefer att_gt."
        )
    return result
