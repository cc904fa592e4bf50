"""Result objects returned by every estimator (the signature of docs/ARCHITECTURE.md §4).

``Estimate`` is one number with its uncertainty and the story of how that uncertainty was
obtained; ``EventStudy`` is a path of effects by time relative to treatment with a pre-trend
test. Both serialise to plain JSON (``to_dict``) so batch runs can record them, and both render
as a small HTML table in notebooks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable

__all__ = ["Estimate", "EventStudy", "PretrendTest", "jsonable"]


def _fmt(x: float | None, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}g}" if abs(x) < 1e-3 or abs(x) >= 1e5 else f"{x:.{digits}f}"


@dataclass
class Estimate:
    """A treatment-effect estimate with its uncertainty.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, pvalue
        The point estimate on the scale named by ``scale``, its standard error (NaN when the
        inference method yields none, e.g. a permutation test), the confidence interval at
        ``level`` and the two-sided p-value of "no effect".
    method
        The estimator, e.g. ``"TWFE (Poisson PML)"`` or ``"synthetic control"``.
    inference
        What produced ``se``/``ci``/``pvalue`` and why it was chosen, in words.
    inference_method
        Short code of the inference: ``"cluster"``, ``"wild"``, ``"randomization"``,
        ``"conformal"``, ``"analytic"``, ``"bootstrap"`` or ``"none"``.
    n_obs, n_units, n_treated, n_clusters
        Rows used, cross-sectional units, treated units, clusters for inference.
    warnings
        Plain-language caveats a reader must see (design limits, poor fit, few clusters, …).
    min_pvalue
        The smallest p-value the inference could possibly return on this design
        (e.g. 1/13 for a permutation test with one treated ward of 13); NaN when not bounded.
    details
        Method-specific extras (rate ratio, weights, 2×2 means table, …), JSON-serialisable.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    pvalue: float
    method: str
    inference: str
    inference_method: str = "analytic"
    outcome: str = ""
    scale: str = "difference"
    level: float = 0.95
    n_obs: int = 0
    n_units: int = 0
    n_treated: int = 0
    n_clusters: int = 0
    min_pvalue: float = float("nan")
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def significant(self) -> bool:
        """True when the p-value is below 1 − level (e.g. 0.05)."""
        return bool(np.isfinite(self.pvalue) and self.pvalue < 1 - self.level)

    @property
    def design_can_reject(self) -> bool:
        """False when even the strongest possible evidence could not reach 1 − level."""
        return not (np.isfinite(self.min_pvalue) and self.min_pvalue > 1 - self.level)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-serialisable dictionary of every field."""
        return {
            "estimate": jsonable(self.estimate),
            "se": jsonable(self.se),
            "ci_low": jsonable(self.ci_low),
            "ci_high": jsonable(self.ci_high),
            "pvalue": jsonable(self.pvalue),
            "level": jsonable(self.level),
            "method": self.method,
            "inference": self.inference,
            "inference_method": self.inference_method,
            "outcome": self.outcome,
            "scale": self.scale,
            "n_obs": jsonable(self.n_obs),
            "n_units": jsonable(self.n_units),
            "n_treated": jsonable(self.n_treated),
            "n_clusters": jsonable(self.n_clusters),
            "min_pvalue": jsonable(self.min_pvalue),
            "warnings": list(self.warnings),
            "details": jsonable(self.details),
        }

    def summary(self) -> str:
        """A few lines of plain text: estimate, interval, p-value, inference, warnings."""
        pct = int(round(self.level * 100))
        lines = [
            f"{self.method}" + (f" — {self.outcome}" if self.outcome else ""),
            f"  effect ({self.scale}): {_fmt(self.estimate)}   "
            f"{pct}% CI [{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]   p = {_fmt(self.pvalue)}",
            f"  inference: {self.inference}",
            f"  {self.n_obs} obs, {self.n_units} units ({self.n_treated} treated), "
            f"{self.n_clusters} clusters",
        ]
        lines += [f"  ! {w}" for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        from html import escape

        pct = int(round(self.level * 100))
        rows = [
            ("Effect (" + self.scale + ")", _fmt(self.estimate)),
            (f"{pct}% CI", f"[{_fmt(self.ci_low)}, {_fmt(self.ci_high)}]"),
            ("p-value", _fmt(self.pvalue)),
            ("Std. error", _fmt(self.se)),
            ("Inference", self.inference),
            ("Units (treated)", f"{self.n_units} ({self.n_treated})"),
            ("Observations", str(self.n_obs)),
        ]
        body = "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)
        warn = "".join(f"<li>{escape(w)}</li>" for w in self.warnings)
        title = escape(self.method + (f" — {self.outcome}" if self.outcome else ""))
        return (
            f"<div class='estimate'><b>{title}</b><table>{body}</table>"
            + (f"<ul class='warnings'>{warn}</ul>" if warn else "")
            + "</div>"
        )


@dataclass
class PretrendTest:
    """Joint test that all leads (pre-treatment event-time coefficients) are zero."""

    stat: float
    pvalue: float
    df: int
    test: str = "Wald"

    def to_dict(self) -> dict[str, Any]:
        return {k: jsonable(getattr(self, k)) for k in ("stat", "pvalue", "df", "test")}


@dataclass
class EventStudy:
    """Dynamic effects by time relative to treatment (``rel_time`` = period − cohort).

    ``coefs`` has columns ``rel_time``, ``estimate``, ``se``, ``ci_low``, ``ci_high`` (and may
    carry more, e.g. ``n_obs``); the reference period appears with estimate 0 and NaN se.
    ``pretrend`` is the joint test of the leads. ``vcov`` is the (cluster-robust) covariance of
    the estimated coefficients, indexed and columned by ``rel_time`` without the reference
    period — what a sensitivity analysis of parallel trends needs (Rambachan & Roth 2023).
    """

    coefs: pd.DataFrame
    pretrend: PretrendTest | None
    method: str
    inference: str
    inference_method: str = "cluster"
    outcome: str = ""
    reference: int = -1
    level: float = 0.95
    time_unit: str = "period"
    n_obs: int = 0
    n_units: int = 0
    n_treated: int = 0
    n_clusters: int = 0
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    vcov: pd.DataFrame | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "coefs": jsonable(self.coefs),
            "pretrend": self.pretrend.to_dict() if self.pretrend else None,
            "method": self.method,
            "inference": self.inference,
            "inference_method": self.inference_method,
            "outcome": self.outcome,
            "reference": self.reference,
            "level": self.level,
            "time_unit": self.time_unit,
            "n_obs": jsonable(self.n_obs),
            "n_units": jsonable(self.n_units),
            "n_treated": jsonable(self.n_treated),
            "n_clusters": jsonable(self.n_clusters),
            "warnings": list(self.warnings),
            "details": jsonable(self.details),
        }

    def sensitivity(self, *, restriction: str = "relative_magnitude", M=None, **kwargs):
        """HonestDiD sensitivity of the post-period effect to violations of parallel trends
        (Rambachan & Roth 2023): robust intervals by M̄ (relative magnitudes) or M
        (smoothness) and the breakdown value; see
        :func:`evaluation.inference.honest_did.sensitivity` for the keywords."""
        from evaluation.inference.honest_did import sensitivity

        return sensitivity(self, restriction=restriction, M=M, **kwargs)

    def plot(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """Coefficients with confidence intervals against event time; leads shaded.

        Returns the matplotlib Axes.
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.6))
        c = self.coefs.sort_values("rel_time")
        x = c["rel_time"].to_numpy(dtype=float)
        ax.axhline(0, color="0.4", lw=0.8)
        ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
        lo = c["ci_low"].to_numpy(dtype=float)
        hi = c["ci_high"].to_numpy(dtype=float)
        est = c["estimate"].to_numpy(dtype=float)
        ok = np.isfinite(lo) & np.isfinite(hi)
        ax.vlines(x[ok], lo[ok], hi[ok], color=color, lw=1.6, alpha=0.7)
        ax.plot(x, est, "o", color=color, ms=4.5)
        ax.set_xlabel(f"{self.time_unit}s relative to start (reference = {self.reference})")
        ax.set_ylabel(f"effect on {self.outcome}" if self.outcome else "effect")
        if title is None:
            title = self.method
            if self.pretrend is not None and np.isfinite(self.pretrend.pvalue):
                title += f" — pre-trend p = {self.pretrend.pvalue:.2f}"
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.25)
        return ax
