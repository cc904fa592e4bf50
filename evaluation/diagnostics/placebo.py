"""Placebo checks: fake treated wards (in space) and fake start dates (in time).

* **In space** (Abadie, Diamond & Hainmueller 2010, §4.2; Abadie, Diamond & Hainmueller 2015):
  re-run the estimator with each control unit (or set of controls, when several units are
  treated) as if it had been treated, the real treated units left out, and rank the real
  estimate among the placebo ones (:func:`evaluation.inference.rank_test.rank_pvalue`: exact when
  the treated unit was, as far as the statistic can tell, a random draw among the units).
* **In time** (Abadie 2021, *JEL* 59(2), §7): keep only the pre-period, pretend the programme
  started earlier, and re-estimate. Sizeable "effects" before the programme existed mean the
  method or the comparison units do not reproduce the treated unit's untreated path.

Both work with any estimator of the package, given as a function or by name.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.core.jsonable import jsonable
from evaluation.data.prepare import show
from evaluation.errors import DataError, DesignError, InferenceError, examples
from evaluation.estimators.did2x2 import did_2x2
from evaluation.estimators.sdid import synthetic_did
from evaluation.estimators.synth import synthetic_control
from evaluation.estimators.twfe import twfe, twfe_designs
from evaluation.inference.rank_test import placebo_sets, rank_pvalue, rmspe_ratio
from evaluation.results import Estimate

__all__ = ["ESTIMATORS", "PlaceboResult", "placebo_in_space", "placebo_in_time"]


#: the estimators a placebo can be asked for by name
ESTIMATORS: dict[str, Callable[..., Estimate]] = {
    "did_2x2": did_2x2,
    "twfe": twfe,
    "synthetic_control": synthetic_control,
    "synthetic_did": synthetic_did,
}


def _resolve(estimator: Callable | str) -> tuple[Callable, str]:
    if isinstance(estimator, str):
        fn = ESTIMATORS.get(estimator)
        if fn is None:
            raise DataError(
                f"estimator {estimator!r} is not an estimator of the package; use one of "
                f"{', '.join(map(repr, ESTIMATORS))}, or pass the function itself."
            )
        return fn, estimator
    if not callable(estimator):
        raise DataError(
            f"estimator must be a function or its name, got {type(estimator).__name__}."
        )
    return estimator, getattr(estimator, "__name__", "estimator")


def _accepts_inference(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "inference" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _run(fn: Callable, data, outcome, unit, time, cohort, kw: dict) -> Estimate:
    # Placebo runs need only the point estimate: skip the (possibly costly) inference when the
    # estimator allows it, unless the caller asked for a specific inference.
    if "inference" not in kw and _accepts_inference(fn):
        try:
            return fn(data, outcome, unit, time, cohort, inference="none", **kw)
        except InferenceError:
            pass
    return fn(data, outcome, unit, time, cohort, **kw)


def _runner(fn: Callable, outcome, unit, time, cohort, kw: dict) -> Callable[..., Estimate]:
    """``run(frame, starts)``: the estimator on ``frame`` with ``starts`` (unit → start) as the
    only treated units."""

    def run(frame: pd.DataFrame, starts: dict) -> Estimate:
        return _run(fn, _with_cohort(frame, unit, cohort, starts), outcome, unit, time, cohort, kw)

    return run


def _batched_runs(
    fn: Callable, frame: pd.DataFrame, designs: list[dict], labels: list, args: tuple, kw: dict
) -> list[dict] | None:
    """The placebo rows of every design at once, where the estimator has a batched form: TWFE
    by least squares, point estimates only (:func:`~evaluation.estimators.twfe.twfe_designs`,
    equal to a run per design to rounding). None where it has not: run them one by one."""
    if fn is not twfe or not designs or set(kw) - {"weights"}:
        return None
    outcome, unit, time, cohort = args
    first = _with_cohort(frame, unit, cohort, designs[0])
    try:
        estimates = twfe_designs(first, outcome, unit, time, cohort, designs, **kw)
    except (DesignError, DataError):
        return None  # the one-by-one runs say why, design by design
    rows = []
    for label, value in zip(labels, estimates, strict=True):
        if np.isfinite(value):
            rows.append({**_row("placebo", label, None), "estimate": float(value), "error": ""})
            rows[-1].update(pvalue=math.nan, ci_low=math.nan, ci_high=math.nan)
        else:
            rows.append(_row("placebo", label, None, "the treatment is absorbed by the effects"))
    return rows


def _placebo_run(run: Callable, frame: pd.DataFrame, starts: dict, label: Any):
    """One placebo run: its table row, and its estimate (None when the estimator refused)."""
    try:
        est = run(frame, starts)
    except DesignError as exc:
        return _row("placebo", label, None, str(exc)), None
    return _row("placebo", label, est), est


def _as_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def _cohorts(data: pd.DataFrame, unit: str, time: str, cohort: str, fn_name: str):
    for col in (unit, time, cohort):
        if col not in data.columns:
            raise DataError(
                f"{fn_name}: column {col!r} not found in data; available: "
                f"{examples(list(map(str, data.columns)), 12)}."
            )
    per_unit = data.groupby(unit, sort=False)[cohort].first()
    periods = sorted(pd.unique(data[time]))
    last = periods[-1]
    treated = per_unit[per_unit.notna() & per_unit.map(lambda c: pd.notna(c) and c <= last)]
    never = [u for u in per_unit.index if u not in treated.index]
    if treated.empty:
        raise DesignError(
            f"{fn_name}: no unit is treated within the observed periods (column {cohort!r}); "
            "set the cohort of the treated ward(s)."
        )
    return per_unit, treated, never, periods


def _first_cohort(data: pd.DataFrame, unit: str, time: str, cohort: str, fn_name: str):
    """The earliest cohort's units, the window before the next cohort starts, and a note."""
    per_unit, treated, _, periods = _cohorts(data, unit, time, cohort, fn_name)
    start = min(treated.to_numpy())
    first_group = treated.index[treated == start].tolist()
    later = treated[treated != start]
    window, warnings = data, []
    if len(later):
        # As the single-unit estimators do: units treated later are comparisons only while
        # untreated, so every run stops before the next cohort starts.
        next_start = min(later.to_numpy())
        window = data[data[time] < next_start]
        warnings.append(
            f"Runs use the periods before {show(next_start)}, when "
            f"{examples(later.index.tolist())} start treatment; until then they are controls."
        )
    controls = [u for u in per_unit.index if u not in first_group]
    return start, first_group, controls, window, warnings, periods


def _with_cohort(data: pd.DataFrame, unit: str, cohort: str, assign: dict) -> pd.DataFrame:
    col = data[cohort].where(pd.Series(False, index=data.index))  # all missing, same dtype
    for u, c in assign.items():
        col = col.mask(data[unit] == u, c)
    out = data.copy()
    out[cohort] = col
    return out


@dataclass
class PlaceboResult:
    """Placebo estimates beside the real one.

    ``table`` has one row per run: ``kind`` ("real" or "placebo"), ``label`` (the fake start or
    the fake treated unit(s)), ``estimate`` and, when the estimator provides them, ``pvalue``,
    ``ci_low``, ``ci_high``, ``pre_rmspe``, ``post_rmspe``, ``rmspe_ratio``, and ``error`` for
    runs the estimator refused (e.g. a fake start too early for a synthetic control).
    ``pvalue`` is the rank p-value of the real estimate among the placebos by ``statistic``;
    ``share_as_large`` the share of placebos at least as large in absolute value as the real
    estimate.
    """

    kind: str
    estimator: str
    real: Estimate
    table: pd.DataFrame
    statistic: str
    pvalue: float
    share_as_large: float
    min_pvalue: float
    n_placebos: int
    paths: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> str:
        what = "fake start dates" if self.kind == "time" else "fake treated units"
        lines = [
            f"Placebo in {self.kind} ({self.estimator}): {self.n_placebos} {what}",
            f"  real estimate {self.real.estimate:.3g}; {self.share_as_large:.0%} of placebo "
            f"estimates are at least as large in absolute value",
            f"  rank p-value ({self.statistic}): {self.pvalue:.3g} "
            f"(smallest possible {self.min_pvalue:.3g})",
        ]
        return "\n".join(lines + [f"  ! {w}" for w in self.warnings])

    def __str__(self) -> str:
        return self.summary()

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "estimator": self.estimator,
            "real": self.real.to_dict(),
            "table": jsonable(self.table),
            "statistic": self.statistic,
            "pvalue": jsonable(self.pvalue),
            "share_as_large": jsonable(self.share_as_large),
            "min_pvalue": jsonable(self.min_pvalue),
            "n_placebos": self.n_placebos,
            "warnings": list(self.warnings),
        }

    def plot(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """In space with paths: every placebo gap in grey, the real one in colour (ADH 2010,
        Fig. 4). Otherwise: placebo estimates as points (with CIs if available) and the real
        estimate highlighted. Returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.6))
        ax.axhline(0, color="0.4", lw=0.8)
        if self.paths is not None and self.kind == "space":
            p = self.paths
            x = p["time"]
            if isinstance(x.dtype, pd.PeriodDtype):
                x = x.dt.to_timestamp()
            for col in p.columns:
                if col not in ("time", "real", "post"):
                    ax.plot(x, p[col], color="0.7", lw=0.8)
            ax.plot(x, p["real"], color=color, lw=2.0, label="treated")
            first_post = np.flatnonzero(p["post"].to_numpy(dtype=bool))[0]
            ax.axvline(x.iloc[first_post], color="0.35", ls="--", lw=0.9, label="start")
            ax.set_ylabel("gap (unit − synthetic)")
            ax.legend(fontsize=8, frameon=False)
        else:
            t = self.table
            plc = t[t["kind"] == "placebo"].reset_index(drop=True)
            xs = np.arange(len(plc))
            est = plc["estimate"].to_numpy(dtype=float)
            if {"ci_low", "ci_high"} <= set(plc.columns):
                lo = plc["ci_low"].to_numpy(dtype=float)
                hi = plc["ci_high"].to_numpy(dtype=float)
                ok = np.isfinite(lo) & np.isfinite(hi)
                ax.vlines(xs[ok], lo[ok], hi[ok], color="0.6", lw=1.2)
            ax.plot(xs, est, "o", color="0.45", ms=4.5, label="placebo")
            ax.plot([len(plc)], [self.real.estimate], "D", color=color, ms=6, label="real")
            labels = [str(v) for v in plc["label"]] + ["real"]
            ax.set_xticks(np.arange(len(labels)))
            ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
            ax.set_ylabel(f"effect on {self.real.outcome}" if self.real.outcome else "effect")
            ax.legend(fontsize=8, frameon=False)
        ax.set_title(title or f"Placebo in {self.kind}: rank p = {self.pvalue:.2g}", fontsize=10)
        ax.grid(alpha=0.25)
        return ax


def _row(kind: str, label: Any, est: Estimate | None, error: str = "") -> dict:
    row: dict[str, Any] = {"kind": kind, "label": label}
    if est is None:
        row.update(estimate=float("nan"), error=error)
        return row
    row.update(
        estimate=_as_float(est.estimate),
        pvalue=_as_float(getattr(est, "pvalue", float("nan"))),
        ci_low=_as_float(getattr(est, "ci_low", float("nan"))),
        ci_high=_as_float(getattr(est, "ci_high", float("nan"))),
        error="",
    )
    pre = _as_float(getattr(est, "pre_rmspe", float("nan")))
    post = _as_float(getattr(est, "post_rmspe", float("nan")))
    if np.isfinite(pre) and np.isfinite(post):
        row.update(pre_rmspe=pre, post_rmspe=post, rmspe_ratio=rmspe_ratio(post, pre))
    return row


def _summarise(kind, name, real, rows, statistic, warnings, paths=None) -> PlaceboResult:
    table = pd.DataFrame(rows)
    plc = table[(table["kind"] == "placebo") & table["estimate"].notna()]
    if plc.empty:
        raise DesignError(
            f"placebo in {kind}: the estimator could not run on any placebo "
            f"({examples(table['error'].dropna().unique().tolist(), 3)})."
        )
    if statistic == "auto":
        statistic = (
            "rmspe_ratio"
            if "rmspe_ratio" in table.columns and table["rmspe_ratio"].notna().all()
            else "effect"
        )
    if statistic == "rmspe_ratio":
        if "rmspe_ratio" not in table.columns or plc["rmspe_ratio"].isna().any():
            raise DataError(
                "statistic='rmspe_ratio' needs an estimator reporting pre/post RMSPE "
                "(synthetic_control, synthetic_did); use statistic='effect'."
            )
        real_stat = float(table.loc[table["kind"] == "real", "rmspe_ratio"].iloc[0])
        stats = plc["rmspe_ratio"].to_numpy(dtype=float)
    else:
        real_stat = abs(real.estimate)
        stats = np.abs(plc["estimate"].to_numpy(dtype=float))
    share = float(
        np.mean(
            np.abs(plc["estimate"].to_numpy(dtype=float))
            >= abs(real.estimate) - 1e-12 * abs(real.estimate)
        )
    )
    n = len(plc)
    if len(plc) < (table["kind"] == "placebo").sum():
        failed = table[(table["kind"] == "placebo") & table["estimate"].isna()]
        reasons = [f"{a}: {b}" for a, b in zip(failed["label"], failed["error"], strict=True)]
        warnings.append(
            f"{len(failed)} placebo run(s) failed and are left out: {examples(reasons, 2)}"
        )
    return PlaceboResult(
        kind=kind,
        estimator=name,
        real=real,
        table=table,
        statistic=statistic,
        pvalue=rank_pvalue(real_stat, stats),
        share_as_large=share,
        min_pvalue=1.0 / (n + 1),
        n_placebos=n,
        paths=paths,
        warnings=warnings,
    )


def placebo_in_space(
    estimator: Callable | str,
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    statistic: str = "auto",
    max_placebos: int = 1000,
    seed: int = 0,
    **kw: Any,
) -> PlaceboResult:
    """Re-run an estimator with control units as if treated (placebo-in-space).

    The units of the earliest cohort are the treated; every other unit (or, when N₁ > 1 units
    start together, every set of N₁ of them — all sets if at most ``max_placebos``, else a
    seeded random sample) receives their start date in turn, the real treated units left out
    of these runs. With a staggered rollout, all runs (the real one too) use only the periods
    before the next cohort starts, when the later units are still untreated comparisons. The
    real estimate is then ranked among the placebo estimates.

    Parameters
    ----------
    estimator : callable or str
        A package estimator with the signature ``(data, outcome, unit, time, cohort, ...)``
        returning an Estimate, or its name (``"synthetic_control"``, ``"twfe"``, …).
    data, outcome, unit, time, cohort
        As for the estimator.
    statistic : {"auto", "effect", "rmspe_ratio"}
        What is ranked: the absolute estimate, or the post/pre RMSPE ratio (ADH 2010; only for
        estimators that report ``pre_rmspe``). ``"auto"`` uses the ratio when available.
    max_placebos, seed
        Cap and seed for sampling placebo sets when there are too many to enumerate.
    **kw
        Passed to the estimator (e.g. ``min_pre_periods``). Without an ``inference`` argument
        the placebo runs ask for ``inference="none"`` when the estimator accepts it.

    Returns
    -------
    PlaceboResult
        ``table``, ``pvalue`` (exact rank p-value, smallest ``1/(placebos + 1)``),
        ``share_as_large``, ``plot()``.
    """
    fn, name = _resolve(estimator)
    start, first_group, controls, window, warnings, _ = _first_cohort(
        data, unit, time, cohort, "placebo_in_space"
    )
    n1 = len(first_group)
    if len(controls) < n1 + 1:
        raise DesignError(
            f"placebo_in_space: {len(controls)} control unit(s) for {n1} treated; placebo "
            "groups need more controls than treated units."
        )
    run = _runner(fn, outcome, unit, time, cohort, kw)
    real = run(window, dict.fromkeys(first_group, start))
    rest = window[~window[unit].isin(first_group)]
    sets, _ = placebo_sets(len(controls), n1, max_placebos, seed)
    rows = [dict(_row("real", ", ".join(map(str, first_group)), real))]
    real_paths = getattr(real, "paths", None)
    gaps: dict[str, np.ndarray] = {}
    chosen_sets = [[controls[j] for j in s] for s in sets]
    batched = _batched_runs(
        fn,
        rest,
        [dict.fromkeys(c, start) for c in chosen_sets],
        [", ".join(map(str, c)) for c in chosen_sets],
        (outcome, unit, time, cohort),
        kw,
    )
    if batched is not None:
        rows += batched
        sets = []
    for s in sets:
        chosen = [controls[j] for j in s]
        label = ", ".join(map(str, chosen))
        row, est = _placebo_run(run, rest, dict.fromkeys(chosen, start), label)
        rows.append(row)
        p = getattr(est, "paths", None)
        if real_paths is not None and p is not None and len(p) == len(real_paths):
            gaps[label] = p["gap"].to_numpy()
    paths = None
    if real_paths is not None and gaps:
        paths = pd.DataFrame(
            {
                "time": real_paths["time"],
                "real": real_paths["gap"],
                "post": real_paths["post"],
                **gaps,
            }
        )
    return _summarise("space", name, real, rows, statistic, warnings, paths)


def _fake_starts(fake_starts, periods: list, start, time: str, max_fake_starts: int) -> list:
    """The fake start dates of placebo_in_time: those given, checked to lie in the pre-period
    after its first period, or by default up to ``max_fake_starts`` evenly spaced periods of
    the second half of the pre-period (each run keeps half of it as its own pre-period)."""
    pre_periods = [t for t in periods if t < start]
    if len(pre_periods) < 2:
        raise DesignError(
            f"placebo_in_time: {len(pre_periods)} period(s) before the start "
            f"({show(start)}); at least two are needed to place a fake start."
        )
    if fake_starts is None:
        candidates = pre_periods[max(1, math.ceil(len(pre_periods) / 2)) :]
        if len(candidates) > max_fake_starts:
            pick = np.linspace(0, len(candidates) - 1, max_fake_starts).round().astype(int)
            candidates = [candidates[i] for i in sorted(set(pick.tolist()))]
        fake_starts = candidates
    else:
        fake_starts = list(fake_starts)
        if isinstance(periods[0], pd.Timestamp):  # accept "2023-07-24" for a date column
            try:
                fake_starts = [pd.Timestamp(v) for v in fake_starts]
            except (TypeError, ValueError) as exc:
                raise DataError(
                    f"placebo_in_time: fake_starts must be dates like the time column {time!r}, "
                    f"got {examples(fake_starts)}."
                ) from exc
        bad = [s for s in fake_starts if not (s in pre_periods and s != pre_periods[0])]
        if bad:
            raise DataError(
                f"placebo_in_time: fake_starts must be periods of column {time!r} after the "
                f"first and before the real start ({show(start)}); got {examples(bad)}. "
                f"Pre-periods: {examples(pre_periods)}."
            )
    if not fake_starts:
        raise DesignError("placebo_in_time: no fake start date available in the pre-period.")
    return fake_starts


def placebo_in_time(
    estimator: Callable | str,
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    fake_starts: Sequence | None = None,
    *,
    max_fake_starts: int = 8,
    **kw: Any,
) -> PlaceboResult:
    """Re-run an estimator with fake start dates inside the pre-period (placebo-in-time).

    Only periods before the real start of the earliest treated cohort are kept; its units get
    each fake start as cohort, all other units are untreated in that window. An estimator that
    reproduces the untreated path well finds placebo effects near zero.

    Parameters
    ----------
    estimator : callable or str
        A package estimator ``(data, outcome, unit, time, cohort, ...)`` or its name.
    data, outcome, unit, time, cohort
        As for the estimator.
    fake_starts : sequence, optional
        Fake first treated periods (values of the time column, before the real start). By
        default up to ``max_fake_starts`` evenly spaced periods of the second half of the
        pre-period, so each run keeps at least half of the pre-period as its own pre-period.
    **kw
        Passed to the estimator (``inference="none"`` is requested unless given).

    Returns
    -------
    PlaceboResult
        ``table`` (one row per fake start, plus the real estimate), ``share_as_large`` (share
        of placebo estimates at least as large in absolute value as the real one), the rank
        ``pvalue`` of the real estimate among them, and ``plot()``.
    """
    fn, name = _resolve(estimator)
    start, first_group, _, window, warnings, periods = _first_cohort(
        data, unit, time, cohort, "placebo_in_time"
    )
    fake_starts = _fake_starts(fake_starts, periods, start, time, max_fake_starts)
    run = _runner(fn, outcome, unit, time, cohort, kw)
    real = run(window, dict.fromkeys(first_group, start))
    pre_window = window[window[time] < start]
    rows = [_row("real", start, real)]
    designs = [dict.fromkeys(first_group, s) for s in fake_starts]
    batched = _batched_runs(
        fn, pre_window, designs, list(fake_starts), (outcome, unit, time, cohort), kw
    )
    if batched is not None:
        rows += batched
    else:
        for s in fake_starts:
            rows.append(_placebo_run(run, pre_window, dict.fromkeys(first_group, s), s)[0])
    return _summarise("time", name, real, rows, "effect", warnings)
