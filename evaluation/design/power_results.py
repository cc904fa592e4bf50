"""The results of :func:`evaluation.design.power.power` and :func:`~evaluation.design.power.mde`,
and their sentences in Vietnamese and English.

:class:`PowerResult` (a power curve) and :class:`MDEResult` (the minimum detectable effect found
on it) are what the design tools return and the rollout and review planners report
(:mod:`evaluation.design.rollout`, :mod:`evaluation.design.reviews`); they are exported by
:mod:`evaluation.design.power`, which computes them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.formats import number, percent
from evaluation.i18n import LANGS, Text, both, say

__all__ = [
    "MDEResult",
    "PowerResult",
    "mde_sentences",
    "not_detectable",
    "power_sentences",
    "unit_words",
]


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
# Sentences


def unit_words(outcome_unit: str | Sequence[str] | None) -> tuple[str, str]:
    """The outcome's unit in Vietnamese and English for the sentences (``outcome_unit`` of
    :func:`~evaluation.design.power.power`): ``("phút", "minutes")``, one word, or none."""
    if outcome_unit is None:
        return "", ""
    if isinstance(outcome_unit, str):
        return outcome_unit, outcome_unit
    vi, en = outcome_unit
    return str(vi), str(en)


def _amount(x: float, res: PowerResult, units: tuple[str, str]) -> Text:
    """An effect in words: "3,2 phút (12%)" — outcome units and % of the baseline."""
    if res.scale == "proportional":
        value, pct = x * res.baseline, 100 * x
    else:
        value = x
        pct = 100 * x / res.baseline if res.baseline and np.isfinite(res.baseline) else math.nan
    digits = 2 if abs(value) < 10 else 1
    parts = []
    for lang, unit in zip(LANGS, units, strict=True):
        text = number(abs(value), digits, lang) + (f" {unit}" if unit else "")
        if np.isfinite(pct):
            text += f" ({percent(abs(pct), 0, lang)})"
        parts.append(text)
    return Text(*parts)


def _probability(p: float, se: float, exact: bool) -> Text:
    """A simulated probability with its Monte Carlo error: "12% (± 3%)" (exact: "12%")."""
    if exact:
        return both(percent, 100 * p, 0)
    return Text(
        *(f"{percent(100 * p, 0, lang)} (± {percent(100 * se, 0, lang)})" for lang in LANGS)
    )


def power_sentences(res: PowerResult, units: tuple[str, str]) -> Text:
    """The power at the curve's first effect in one sentence, Vietnamese and English (the
    test's false-alarm rate when that effect is 0)."""
    alpha = both(percent, 100 * (1 - res.level), 0)
    probability = _probability(res.power, res.mc_se, res.exact)
    if res.effect == 0:  # the test's size
        return say(
            "If the programme had no effect, the planned analysis would still report one "
            "(p < {alpha}) with probability {probability} — the test's false-alarm rate.",
            alpha=alpha,
            probability=probability,
        )
    amount = _amount(res.effect, res, units)
    if res.effect < 0:
        return say(
            "If the programme brought a reduction of {amount} in the treated units, the planned "
            "analysis would detect it (p < {alpha}) with probability {probability}.",
            amount=amount,
            alpha=alpha,
            probability=probability,
        )
    return say(
        "If the programme brought an increase of {amount} in the treated units, the planned "
        "analysis would detect it (p < {alpha}) with probability {probability}.",
        amount=amount,
        alpha=alpha,
        probability=probability,
    )


def mde_sentences(
    curve: PowerResult, delta: float, target: float, direction: str, units: tuple[str, str]
) -> Text:
    """The MDE ``delta`` (on the curve's scale) found on ``curve`` at the ``target`` power, in
    one sentence, Vietnamese and English."""
    values = {
        "amount": _amount(delta, curve, units),
        "power": both(percent, 100 * target, 0),
        "alpha": both(percent, 100 * (1 - curve.level), 0),
        "baseline": Text(
            *(
                number(curve.baseline, 1, lang) + (f" {unit}" if unit else "")
                for lang, unit in zip(LANGS, units, strict=True)
            )
        ),
    }
    if direction == "decrease":
        return say(
            "This design can detect a reduction of {amount} with {power} power (at the {alpha} "
            "level; the treated units' baseline is {baseline}).",
            **values,
        )
    return say(
        "This design can detect an increase of {amount} with {power} power (at the {alpha} "
        "level; the treated units' baseline is {baseline}).",
        **values,
    )


def not_detectable(res: PowerResult, target: float, direction: str, min_p: float) -> MDEResult:
    """The MDE when no effect in ``direction`` reaches the target power, and why in words: the
    design's smallest p-value is not below the level, or the curve ``res`` stays below the
    target."""
    a = 1 - res.level
    if np.isfinite(min_p) and min_p >= a:
        why = say(
            "the smallest p-value this design can give is {min_p}, not below {alpha}",
            min_p=both(number, min_p, 3),
            alpha=both(number, a, 2),
        )
    else:
        best = float(res.table["power"].max()) if len(res.table) else 0.0
        why = say(
            "even very large effects are detected with probability {best} at most",
            best=both(percent, 100 * best, 0),
        )
    power = both(percent, 100 * target, 0)
    if direction == "decrease":
        sentence = say(
            "This design cannot detect any reduction, however large, with {power} power: {why}.",
            power=power,
            why=why,
        )
    else:
        sentence = say(
            "This design cannot detect any increase, however large, with {power} power: {why}.",
            power=power,
            why=why,
        )
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
        sentence_vi=sentence.vi,
        sentence_en=sentence.en,
        warnings=list(res.warnings),
    )
