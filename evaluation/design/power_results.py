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


def _amount(x: float, res: PowerResult, lang: str, units: tuple[str, str]) -> str:
    """An effect in words: "3,2 phút (12 %)" — outcome units and % of the baseline."""
    if res.scale == "proportional":
        value, pct = x * res.baseline, 100 * x
    else:
        value = x
        pct = 100 * x / res.baseline if res.baseline and np.isfinite(res.baseline) else math.nan
    unit = units[0] if lang == "vi" else units[1]
    text = number(abs(value), 2 if abs(value) < 10 else 1, lang) + (f" {unit}" if unit else "")
    if np.isfinite(pct):
        text += f" ({percent(abs(pct), 0, lang)})"
    return text


def power_sentences(res: PowerResult, units: tuple[str, str]) -> tuple[str, str]:
    """The power at the curve's first effect in one sentence, Vietnamese and English (the
    test's false-alarm rate when that effect is 0)."""
    p, se = res.power, res.mc_se
    a_vi, a_en = (percent(100 * (1 - res.level), 0, lang) for lang in ("vi", "en"))
    pm_vi = "" if res.exact else f" (± {percent(100 * se, 0, 'vi')})"
    pm_en = "" if res.exact else f" (± {percent(100 * se, 0, 'en')})"
    if res.effect == 0:  # the test's size
        vi = (
            f"Nếu mô hình không có tác động, phân tích dự kiến vẫn báo có tác động (p < {a_vi}) "
            f"với xác suất {percent(100 * p, 0, 'vi')}{pm_vi} — tỷ lệ báo nhầm của kiểm định."
        )
        en = (
            f"If the programme had no effect, the planned analysis would still report one "
            f"(p < {a_en}) with probability {percent(100 * p, 0, 'en')}{pm_en} — the test's "
            "false-alarm rate."
        )
        return vi, en
    move_vi = "giảm" if res.effect < 0 else "tăng"
    move_en = "reduction" if res.effect < 0 else "increase"
    vi = (
        f"Nếu mô hình làm {move_vi} {_amount(res.effect, res, 'vi', units)} ở các đơn vị triển "
        f"khai, phân tích dự kiến phát hiện được (p < {a_vi}) với xác suất "
        f"{percent(100 * p, 0, 'vi')}{pm_vi}."
    )
    en = (
        f"If the programme brought a {move_en} of {_amount(res.effect, res, 'en', units)} in "
        f"the treated units, the planned analysis would detect it (p < {a_en}) with "
        f"probability {percent(100 * p, 0, 'en')}{pm_en}."
    )
    return vi, en


def mde_sentences(
    curve: PowerResult, delta: float, target: float, direction: str, units: tuple[str, str]
) -> tuple[str, str]:
    """The MDE ``delta`` (on the curve's scale) found on ``curve`` at the ``target`` power, in
    one sentence, Vietnamese and English."""
    pw_vi, pw_en = percent(100 * target, 0, "vi"), percent(100 * target, 0, "en")
    a_vi, a_en = (percent(100 * (1 - curve.level), 0, lang) for lang in ("vi", "en"))
    move_vi = "mức giảm" if direction == "decrease" else "mức tăng"
    move_en = "reduction" if direction == "decrease" else "increase"
    base_vi = number(curve.baseline, 1, "vi") + (f" {units[0]}" if units[0] else "")
    base_en = number(curve.baseline, 1, "en") + (f" {units[1]}" if units[1] else "")
    vi = (
        f"Thiết kế này phát hiện được {move_vi} {_amount(delta, curve, 'vi', units)} với xác "
        f"suất {pw_vi} (ở mức ý nghĩa {a_vi}; mức nền của các đơn vị triển khai là {base_vi})."
    )
    en = (
        f"This design can detect a {move_en} of {_amount(delta, curve, 'en', units)} with "
        f"{pw_en} power (at the {a_en} level; the treated units' baseline is {base_en})."
    )
    return vi, en


def not_detectable(res: PowerResult, target: float, direction: str, min_p: float) -> MDEResult:
    """The MDE when no effect in ``direction`` reaches the target power, and why in words: the
    design's smallest p-value is not below the level, or the curve ``res`` stays below the
    target."""
    a = 1 - res.level
    if np.isfinite(min_p) and min_p >= a:
        why_en = (
            f"the smallest p-value this design can give is {number(min_p, 3, 'en')}, not below "
            f"{number(a, 2, 'en')}"
        )
        why_vi = (
            f"giá trị p nhỏ nhất thiết kế này có thể cho là {number(min_p, 3, 'vi')}, không nhỏ "
            f"hơn {number(a, 2, 'vi')}"
        )
    else:
        best = float(res.table["power"].max()) if len(res.table) else 0.0
        why_en = f"even very large effects are detected with probability {percent(100 * best, 0, 'en')} at most"
        why_vi = f"kể cả tác động rất lớn cũng chỉ được phát hiện với xác suất tối đa {percent(100 * best, 0, 'vi')}"
    move_vi = "mức giảm" if direction == "decrease" else "mức tăng"
    move_en = "reduction" if direction == "decrease" else "increase"
    pw_vi, pw_en = percent(100 * target, 0, "vi"), percent(100 * target, 0, "en")
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
        sentence_vi=(
            f"Thiết kế này không phát hiện được {move_vi} nào, dù lớn đến đâu, với xác suất "
            f"{pw_vi}: {why_vi}."
        ),
        sentence_en=(
            f"This design cannot detect any {move_en}, however large, with {pw_en} power: {why_en}."
        ),
        warnings=list(res.warnings),
    )
