"""The result of HonestDiD: robust intervals as M varies, in a table, a sentence and a plot.

:class:`HonestDiDResult` holds the robust confidence intervals for θ = l'τ_post of Rambachan &
Roth (2023), "A More Credible Approach to Parallel Trends", *Review of Economic Studies* 90(5),
one per value of M (M̄), next to the conventional interval, and the breakdown value: the
smallest M at which the robust interval includes 0. It says in one sentence how much violation
of parallel trends the sign of θ survives, serialises to JSON, and plots like R's
``createSensitivityPlot``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

_SYMBOL = {"relative_magnitude": "M̄", "smoothness": "M"}


@dataclass
class HonestDiDResult:
    """Robust confidence intervals for θ = l'τ_post under bounded violations of parallel trends.

    ``table`` has one row per value of M (M̄ for relative magnitudes) with columns ``M``,
    ``ci_low``, ``ci_high``, ``method``. ``original_ci`` is the conventional interval
    θ̂ ± z·se, valid only under exact parallel trends. ``breakdown`` is the smallest M at which
    the robust interval includes 0 (``None`` if none does), found as ``breakdown_method`` says:
    ``"grid"`` (among the M given) or ``"bisection"``.
    """

    table: pd.DataFrame
    restriction: str
    method: str
    estimate: float
    se: float
    original_ci: tuple[float, float]
    level: float
    l_vec: np.ndarray
    num_pre_periods: int
    num_post_periods: int
    breakdown: float | None
    breakdown_method: str
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def symbol(self) -> str:
        return _SYMBOL[self.restriction]

    @property
    def summary(self) -> str:
        """One plain-language sentence: how much violation the sign of θ survives."""
        lo, hi = self.original_ci
        pct = f"{self.level:.0%}"
        if lo <= 0 <= hi:
            return (
                f"The original {pct} confidence interval for θ already includes 0, so there is "
                "no conclusion about the sign of θ for violations of parallel trends to overturn."
            )
        claim = f"The conclusion that {'θ > 0' if lo > 0 else 'θ < 0'}"
        sym = self.symbol

        def up_to(value: str) -> str:
            if self.restriction == "relative_magnitude":
                return (
                    f"violations of parallel trends up to {sym} {value} times the largest "
                    "pre-period violation"
                )
            return (
                f"departures from a linear pre-trend whose slope changes by up to "
                f"{sym} {value} per period"
            )

        robust = f"({pct} robust intervals)"
        t = self.table.sort_values("M")
        if self.breakdown is None:
            top = f"= {float(t.M.max()):g}"
            return f"{claim} survives {up_to(top)}, the largest value examined {robust}."
        if self.breakdown_method == "bisection":
            value = f"≈ {self.breakdown:.3g}"
            return (
                f"{claim} survives {up_to(value)} (breakdown value found by bisection; "
                f"{pct} robust intervals)."
            )
        covers = (t.ci_low <= 0) & (t.ci_high >= 0)
        below = t.M[~covers & (t.M < self.breakdown)]
        if below.empty:
            return (
                f"{claim} does not survive even {sym} = {self.breakdown:g}, the smallest "
                f"value examined {robust}."
            )
        value = f"= {float(below.max()):g}"
        return f"{claim} survives {up_to(value)}, but not {sym} = {self.breakdown:g} {robust}."

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable summary (floats, lists and strings only)."""

        def num(x: Any) -> float | None:
            return None if x is None or not np.isfinite(x) else float(x)

        return {
            "restriction": self.restriction,
            "method": self.method,
            "estimate": num(self.estimate),
            "se": num(self.se),
            "original_ci": [num(self.original_ci[0]), num(self.original_ci[1])],
            "level": float(self.level),
            "l_vec": [float(v) for v in self.l_vec],
            "num_pre_periods": self.num_pre_periods,
            "num_post_periods": self.num_post_periods,
            "table": [
                {
                    "M": num(r.M),
                    "ci_low": num(r.ci_low),
                    "ci_high": num(r.ci_high),
                    "method": r.method,
                }
                for r in self.table.itertuples()
            ],
            "breakdown": num(self.breakdown),
            "breakdown_method": self.breakdown_method,
            "summary": self.summary,
            "warnings": list(self.warnings),
            "details": {k: v for k, v in self.details.items() if isinstance(v, int | float | str)},
        }

    def plot(self, ax=None):
        """Original and robust intervals against M, like HonestDiD's ``createSensitivityPlot``.

        The original interval is drawn one M-step to the left of the smallest M. Returns the
        matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.6))
        t = self.table.sort_values("M")
        m = t.M.to_numpy(dtype=float)
        gap = float(np.min(np.diff(np.unique(m)))) if np.unique(m).size > 1 else max(m[0], 1.0) / 2
        x0 = float(m.min()) - gap
        width = gap / 4
        for x, lo, hi, color, label in [
            (x0, *self.original_ci, "#c0392b", "Original"),
            *[
                (x, lo, hi, "#01a2d9", self.method)
                for x, lo, hi in zip(m, t.ci_low, t.ci_high, strict=True)
            ],
        ]:
            if not (np.isfinite(lo) and np.isfinite(hi)):
                continue
            ax.vlines(x, lo, hi, color=color, lw=1.6, label=label)
            ax.hlines([lo, hi], x - width, x + width, color=color, lw=1.6)
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles, strict=True))
        ax.legend(
            unique.values(),
            unique.keys(),
            frameon=False,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.18),
            ncol=2,
        )
        # The original interval assumes exact parallel trends: its tick says so, not M = x0.
        ticks = [x0, *np.unique(m)]
        ax.set_xticks(ticks, ["original", *(f"{v:g}" for v in np.unique(m))])
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel(self.symbol)
        ax.set_ylabel(f"{self.level:.0%} confidence interval for θ")
        ax.set_title(self.summary, fontsize=8, wrap=True)
        return ax
