"""The one place where estimator inputs are checked and turned into arrays.

Every estimator calls :func:`prepare` (regression-type estimators: a long panel as integer-coded
arrays) or :func:`prepare_single_unit_panel` (synthetic control, synthetic DiD, the conformal
test: a balanced unit × period matrix, controls first) before any computation. They check the
columns, types and values a user can get wrong — with messages that name the argument, the
column, example values and the fix — and the designs that cannot identify an effect, then hand
back plain numpy arrays the estimators can trust. After this, estimator code never meets a
missing value, an unsorted time axis or a unit whose cohort changes over time.

Conventions fixed here (docs/ARCHITECTURE.md §4):

* ``cohort`` is the first period a unit is treated; missing (NaN / NaT / None) = never treated.
  A unit is treated in every period ``time >= cohort``.
* Times may be numbers, dates (datetime64) or pandas Periods. They are placed on the sorted
  grid of distinct observed times; a cohort between grid points starts at the next grid time, a
  cohort after the last period means "not treated within the sample".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import DataError, DesignError, examples

__all__ = [
    "Panel",
    "SinglePanel",
    "as_columns",
    "check_level",
    "prepare",
    "prepare_single_unit_panel",
    "show",
]


def show(value: Any) -> str:
    """A time or unit label as people write it: 2024-03-01, 2007, Cổ Nhuế 2."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def check_level(level: Any) -> float:
    """The confidence level as a float in (0, 1), or a DataError saying what is wrong."""
    try:
        level = float(level)
    except (TypeError, ValueError):
        raise DataError(f"argument 'level' must be a number in (0, 1), got {level!r}") from None
    if not 0 < level < 1:
        raise DataError(f"argument 'level' must be in (0, 1), e.g. 0.95; got {level!r}")
    return level


# --------------------------------------------------------------------------------------------
# Long panels for the regression-type estimators (did_2x2, twfe, event_study, att_gt, bacon)
# --------------------------------------------------------------------------------------------


@dataclass
class Panel:
    """Checked inputs of one estimator call, as integer-coded numpy arrays.

    Row arrays have length ``n`` (rows of the data); unit arrays have length ``N``.
    ``cohort_pos[i]`` is the position on the time grid of unit i's first treated period, or
    ``T`` when the unit is not treated within the sample (never treated, or treated later).
    """

    y: np.ndarray
    unit: np.ndarray
    time: np.ndarray
    units: np.ndarray
    times: pd.Index
    cohort_pos: np.ndarray
    cohort_label: np.ndarray
    treated: np.ndarray
    cluster: np.ndarray
    n_clusters: int
    cluster_name: str
    controls: np.ndarray
    control_names: list[str]
    weights: np.ndarray | None
    exposure: np.ndarray | None
    one_row_per_cell: bool
    balanced: bool
    time_kind: str
    outcome: str
    unit_name: str
    time_name: str
    cohort_name: str
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def N(self) -> int:  # noqa: N802 - the usual symbol for the number of units
        return len(self.units)

    @property
    def T(self) -> int:  # noqa: N802 - the usual symbol for the number of periods
        return len(self.times)

    @property
    def ever_treated(self) -> np.ndarray:
        """Per unit: treated at some period of the sample."""
        return self.cohort_pos < self.T

    @property
    def n_treated(self) -> int:
        return int(self.ever_treated.sum())

    @property
    def cohorts(self) -> np.ndarray:
        """Sorted grid positions of the treatment cohorts present in the sample."""
        return np.unique(self.cohort_pos[self.ever_treated])

    def n_treated_clusters(self) -> int:
        """Clusters containing at least one ever-treated unit."""
        treated_rows = self.ever_treated[self.unit]
        return int(np.unique(self.cluster[treated_rows]).size)

    def wide(self, values: np.ndarray | None = None) -> np.ndarray:
        """Unit × period matrix of ``values`` (default: the outcome); needs one row per cell."""
        v = self.y if values is None else values
        out = np.full((self.N, self.T), np.nan)
        out[self.unit, self.time] = v
        return out


def as_columns(value: str | Sequence[str] | None, argument: str) -> list[str]:
    """Normalise a column-name argument that may be one name, several, or nothing."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    try:
        names = list(value)
    except TypeError:
        raise DataError(
            f"argument '{argument}' must be a column name or a list of column names, got {value!r}"
        ) from None
    for v in names:
        if not isinstance(v, str):
            raise DataError(f"argument '{argument}' must hold column names (strings), got {v!r}")
    return names


def _codes(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Sorted integer codes and labels of a column without missing values.

    np.unique is several times faster than pandas' hash factorisation on the small panels that
    randomization inference re-estimates thousands of times; on millions of rows the hash
    (no sort of every row) wins.
    """
    arr = values.to_numpy()
    if arr.dtype.kind in "iufmMb" and len(arr) < 200_000:
        labels, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64, copy=False).ravel(), labels
    codes, labels = pd.factorize(values, sort=True)
    return codes.astype(np.int64, copy=False), np.asarray(labels)


def _check_columns(data: pd.DataFrame, needed: dict[str, str]) -> None:
    missing = {arg: col for arg, col in needed.items() if col not in data.columns}
    if missing:
        arg, col = next(iter(missing.items()))
        raise DataError(
            f"argument '{arg}' names column '{col}', which is not in the data. "
            f"Columns present: {examples(list(map(str, data.columns)), 12)}. "
            "Pass the name of an existing column (names are case-sensitive)."
        )


def _to_numbers(s: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``s`` as numbers (unreadable values → NaN) and the values that could not be read."""
    converted = pd.to_numeric(s, errors="coerce")
    return converted, s[converted.isna() & s.notna()]


def _numeric(data: pd.DataFrame, col: str, argument: str) -> np.ndarray:
    s = data[col]
    if s.dtype == bool or pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        converted, bad = _to_numbers(s)
        if len(bad):
            raise DataError(
                f"argument '{argument}': column '{col}' must be numeric; found text values "
                f"{examples(bad.astype(str).unique().tolist())} (rows "
                f"{examples(bad.index.tolist())}). Convert or remove these values first."
            )
        s = converted
    return s.to_numpy(dtype=float, na_value=np.nan)


def _no_missing(values: np.ndarray, data: pd.DataFrame, col: str, argument: str, fix: str):
    bad = ~np.isfinite(values)
    if bad.any():
        rows = data.index[bad]
        raise DataError(
            f"argument '{argument}': column '{col}' has {int(bad.sum())} missing or "
            f"infinite value(s), e.g. at rows {examples(rows.tolist())}. {fix}"
        )


def _time_kind(s: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "datetime"
    if isinstance(s.dtype, pd.PeriodDtype):
        return "period"
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return "number"
    return "other"


def _cohort_on_time_axis(data: pd.DataFrame, cohort: str, time: str, kind: str):
    """The cohort column converted to the time column's type (missing = never treated):
    a float array for numeric times, a Series otherwise."""
    c = data[cohort]
    if kind == "number":
        if c.dtype.kind in "iuf":
            return c.to_numpy(dtype=float)
        conv, bad = _to_numbers(c)
        if len(bad):
            raise DataError(
                f"argument 'cohort': column '{cohort}' must hold the first treated period in "
                f"the same units as time column '{time}' (numbers); found "
                f"{examples(bad.astype(str).unique().tolist())}. Use a number, or leave it "
                "empty (NaN) for units never treated."
            )
        return conv.to_numpy(dtype=float)
    if kind == "datetime":
        if pd.api.types.is_datetime64_any_dtype(c.dtype):
            out = c
        else:
            try:
                out = pd.to_datetime(c, errors="raise")
            except (ValueError, TypeError):
                raise DataError(
                    f"argument 'cohort': column '{cohort}' must hold dates like time column "
                    f"'{time}'; could not read {examples(c.dropna().astype(str).unique().tolist())}"
                    " as dates. Use the start date of treatment, or NaT for never treated."
                ) from None
        tz_t = getattr(data[time].dt, "tz", None)
        tz_c = getattr(out.dt, "tz", None)
        if (tz_t is None) != (tz_c is None):
            raise DataError(
                f"argument 'cohort': column '{cohort}' and time column '{time}' differ in time "
                "zone (one is time-zone aware, the other not). Make both naive or both aware."
            )
        return out.astype(data[time].dtype)
    if kind == "period":
        if isinstance(c.dtype, pd.PeriodDtype):
            return c
        try:
            return pd.Series(
                pd.PeriodIndex(c.astype("string").where(c.notna(), None), freq=data[time].dt.freq),
                index=c.index,
            )
        except (ValueError, TypeError):
            raise DataError(
                f"argument 'cohort': column '{cohort}' must hold periods like time column "
                f"'{time}'; could not read {examples(c.dropna().astype(str).unique().tolist())}."
            ) from None
    return c


def prepare(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    estimator: str,
    cluster: str | None = None,
    controls: Sequence[str] = (),
    weights: str | None = None,
    exposure: str | None = None,
    count_outcome: bool = False,
    one_row_per_cell: bool = False,
    allow_always_treated: bool = True,
    anticipation: int = 0,
) -> Panel:
    """Check the inputs of an estimator and return them as a :class:`Panel`.

    Parameters
    ----------
    estimator
        Name of the calling function, used in messages (``"twfe"``, ``"att_gt"``, …).
    one_row_per_cell
        Require at most one row per unit × period (true panels: ``att_gt``, ``bacon``).
    allow_always_treated
        Whether units treated at or before the first period are acceptable. They identify
        nothing on their own; TWFE can still use them as (already treated) controls, but
        estimators that need a pre-period for every cohort must refuse them.
    count_outcome
        The outcome must be a non-negative count rate (Poisson PML).

    Raises
    ------
    DataError
        For input a user must fix: a missing column, text in a numeric column, missing values,
        a cohort that changes within a unit, non-positive weights or exposure.
    DesignError
        For valid data that cannot identify an effect: a single period, no treated unit, every
        unit treated at the same time with nobody left to compare with, cohorts without a
        pre-period where one is needed.
    """
    controls = _check_call(
        data, estimator, outcome, unit, time, cohort, cluster, controls, weights, exposure
    )
    y = _outcome_values(data, outcome, count_outcome)
    _no_missing_labels(data, unit, time)
    kind = _time_kind(data[time])
    if kind == "other":
        raise DataError(
            f"argument 'time': column '{time}' has type {data[time].dtype}; use numbers "
            "(e.g. years or period indices), dates (datetime64) or pandas Periods. Text dates can "
            f"be converted with pd.to_datetime(data['{time}'])."
        )
    unit_codes, unit_labels = _codes(data[unit])
    time_codes, time_labels = _codes(data[time])
    times = pd.Index(time_labels) if kind != "period" else pd.PeriodIndex(time_labels)
    if len(times) < 2:
        raise DesignError(
            f"{estimator}: the data have a single period ({show(times[0])} in column '{time}'); "
            "a difference-in-differences needs periods before and after treatment."
        )
    unit_na, unit_val = _unit_cohorts(data, cohort, time, kind, unit_codes, unit_labels)
    cohort_pos = _cohort_positions(times, kind, unit_na, unit_val)
    warnings = _check_timing(
        estimator,
        cohort,
        times,
        unit_labels,
        cohort_pos,
        unit_na,
        allow_always_treated,
        anticipation,
    )
    one_per_cell = _check_cells(
        estimator, unit, time, unit_codes, time_codes, unit_labels, times, one_row_per_cell
    )
    cl_codes, n_cl, cl_name = _clusters(data, cluster, unit, unit_codes, len(unit_labels))
    return Panel(
        y=y,
        unit=unit_codes,
        time=time_codes,
        units=np.asarray(unit_labels),
        times=times,
        cohort_pos=cohort_pos,
        cohort_label=np.where(unit_na, None, unit_val).astype(object),
        treated=time_codes >= cohort_pos[unit_codes],
        cluster=cl_codes,
        n_clusters=n_cl,
        cluster_name=cl_name,
        controls=_control_values(data, controls),
        control_names=list(controls),
        weights=_positive_values(data, weights, "weights", _WEIGHT_TEXT),
        exposure=_positive_values(data, exposure, "exposure", _EXPOSURE_TEXT),
        one_row_per_cell=one_per_cell,
        balanced=one_per_cell and len(data) == len(unit_labels) * len(times),
        time_kind=kind,
        outcome=outcome,
        unit_name=unit,
        time_name=time,
        cohort_name=cohort,
        warnings=warnings,
    )


def _check_call(
    data, estimator, outcome, unit, time, cohort, cluster, controls, weights, exposure
) -> list[str]:
    """The argument types and the columns they name; returns the controls as a list."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{estimator}: argument 'data' must be a pandas DataFrame in long format (one row "
            f"per unit × period), got {type(data).__name__}"
        )
    for arg, val in (("outcome", outcome), ("unit", unit), ("time", time), ("cohort", cohort)):
        if not isinstance(val, str):
            raise DataError(f"{estimator}: argument '{arg}' must be a column name, got {val!r}")
    controls = as_columns(controls, "controls")
    needed = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort}
    for arg, col in (("cluster", cluster), ("weights", weights), ("exposure", exposure)):
        if col is not None:
            needed[arg] = col
    for i, c in enumerate(controls):
        needed[f"controls[{i}]"] = c
    _check_columns(data, needed)
    if len(data) == 0:
        raise DataError(f"{estimator}: argument 'data' has no rows")
    dup_roles = [c for c in controls if c in (outcome, unit, time, cohort)]
    if dup_roles:
        raise DataError(
            f"argument 'controls' lists '{dup_roles[0]}', which is already the outcome, unit, "
            "time or cohort column; remove it from controls"
        )
    return controls


def _outcome_values(data: pd.DataFrame, outcome: str, count_outcome: bool) -> np.ndarray:
    y = _numeric(data, outcome, "outcome")
    _no_missing(
        y,
        data,
        outcome,
        "outcome",
        "Drop these rows (e.g. data.dropna(subset=[...])) or fill them before estimating.",
    )
    if count_outcome and (y < 0).any():
        bad = data.index[y < 0]
        raise DataError(
            f"argument 'outcome': family='poisson' needs non-negative counts, but column "
            f"'{outcome}' is negative at rows {examples(bad.tolist())}. Use family='gaussian' "
            "for outcomes that can be negative."
        )
    return y


def _no_missing_labels(data: pd.DataFrame, unit: str, time: str) -> None:
    for col, arg in ((unit, "unit"), (time, "time")):
        miss = pd.isna(data[col].to_numpy())
        if miss.any():
            raise DataError(
                f"argument '{arg}': column '{col}' is missing at rows "
                f"{examples(data.index[miss].tolist())}. Every row needs a {arg}."
            )


def _unit_cohorts(data, cohort, time, kind, unit_codes, unit_labels):
    """Per unit: whether its cohort is missing (never treated) and its value; a DataError
    when the cohort changes within a unit or uses 0 for "never treated"."""
    coh = _cohort_on_time_axis(data, cohort, time, kind)
    N = len(unit_labels)
    first_row = np.empty(N, dtype=np.int64)
    first_row[unit_codes[::-1]] = np.arange(len(data) - 1, -1, -1)
    coh_arr = coh if isinstance(coh, np.ndarray) else coh.to_numpy()
    coh_na = np.isnan(coh_arr) if coh_arr.dtype.kind == "f" else pd.isna(coh_arr)
    unit_na = coh_na[first_row]
    unit_val = coh_arr[first_row]
    row_na_expected = unit_na[unit_codes]
    changed = coh_na != row_na_expected
    both = ~coh_na & ~row_na_expected
    if both.any():
        changed[both] = coh_arr[both] != unit_val[unit_codes][both]
    if changed.any():
        bad_units = pd.unique(np.asarray(unit_labels)[unit_codes[changed]])
        raise DataError(
            f"argument 'cohort': column '{cohort}' must be the same on every row of a unit "
            f"(the first treated period), but it changes within unit(s) "
            f"{examples(bad_units.tolist())}. If a unit's treatment switches on, give every "
            "row the period it first turned on (and NaN for units never treated)."
        )
    if kind == "number" and not unit_na.all():
        # The R did / Stata csdid convention codes "never treated" as 0. Read literally, 0
        # would mean "treated before the data begin", so refuse and say how to convert.
        tmin = float(np.min(data[time].to_numpy(dtype=float)))
        zero = ~unit_na & (unit_val.astype(float) == 0)
        if zero.any() and tmin > 0:
            raise DataError(
                f"argument 'cohort': column '{cohort}' is 0 for {int(zero.sum())} unit(s) (e.g. "
                f"{examples(np.asarray(unit_labels)[zero].tolist())}), before the first period "
                f"{show(tmin)}. In this package a missing cohort means never treated; if 0 "
                f"means 'never treated' (the R did / Stata convention), replace it: "
                f"data['{cohort}'] = data['{cohort}'].replace(0, float('nan'))."
            )
    return unit_na, unit_val


def _cohort_positions(times: pd.Index, kind: str, unit_na, unit_val) -> np.ndarray:
    """Grid position of each unit's first treated period (T for untreated in the sample)."""
    T = len(times)
    cohort_pos = np.full(len(unit_na), T, dtype=np.int64)
    if (~unit_na).any():
        treated_vals = unit_val[~unit_na]
        if kind == "number":
            pos = np.searchsorted(times.to_numpy(dtype=float), treated_vals.astype(float), "left")
        elif kind == "datetime":
            pos = times.searchsorted(pd.DatetimeIndex(treated_vals), side="left")
        else:
            pos = times.searchsorted(pd.PeriodIndex(treated_vals), side="left")
        cohort_pos[~unit_na] = np.asarray(pos, dtype=np.int64)
    return cohort_pos


def _check_timing(
    estimator, cohort, times, unit_labels, cohort_pos, unit_na, allow_always_treated, anticipation
) -> list[str]:
    """Designs that identify nothing raise a DesignError; returns warnings for the others."""
    T = len(times)
    warnings: list[str] = []
    late = (~unit_na) & (cohort_pos >= T)
    if late.any():
        warnings.append(
            f"{int(late.sum())} unit(s) have a cohort after the last period "
            f"({show(times[-1])}) and are used as not-treated units."
        )
    treated_units = cohort_pos < T
    if not treated_units.any():
        raise DesignError(
            f"{estimator}: no unit is treated within the sample (column '{cohort}' is missing "
            f"for every unit or after the last period {show(times[-1])}); there is no effect to "
            "estimate. Check that the cohort column holds the pilot start dates."
        )
    always = cohort_pos < 1 + max(int(anticipation), 0)
    if always.any():
        labels = np.asarray(unit_labels)[always]
        what = (
            f"{int(always.sum())} unit(s) are treated from the first period on"
            + (f" (allowing {anticipation} anticipation period(s))" if anticipation else "")
            + f", so their cohort has no pre-period: {examples(labels.tolist())}"
        )
        if not allow_always_treated:
            raise DesignError(
                f"{estimator}: {what}. Their effect cannot be identified. Drop these units, "
                "or extend the data back to before they were treated."
            )
        warnings.append(
            f"{what}; they identify no effect of their own and serve only as already-treated "
            "comparisons (the Bacon decomposition shows how much weight they get)."
        )
    timing_groups = np.unique(cohort_pos[treated_units])
    if treated_units.all() and len(timing_groups) == 1:
        raise DesignError(
            f"{estimator}: every unit is treated at the same time ({show(times[timing_groups[0]])})"
            " and none stays untreated, so the effect cannot be told apart from what happened "
            "to everyone in that period. A difference-in-differences needs untreated or "
            "later-treated units to compare with."
        )
    return warnings


def _check_cells(
    estimator, unit, time, unit_codes, time_codes, unit_labels, times, one_row_per_cell
) -> bool:
    """Whether every unit × period cell holds at most one row (required by some estimators)."""
    N, T = len(unit_labels), len(times)
    counts = np.bincount(unit_codes * T + time_codes, minlength=N * T)
    multi = counts > 1
    one_per_cell = not multi.any()
    if one_row_per_cell and not one_per_cell:
        idx = np.flatnonzero(multi)[:5]
        pairs = [f"({show(unit_labels[i // T])}, {show(times[i % T])})" for i in idx]
        raise DataError(
            f"{estimator} needs one row per unit × period, but column pair ('{unit}', '{time}') "
            f"repeats, e.g. {', '.join(pairs)} ({int(multi.sum())} cells in all). Aggregate "
            "first (e.g. data.groupby([unit, time], as_index=False)[outcome].mean()) or use "
            "did_2x2 / twfe, which accept repeated observations."
        )
    return one_per_cell


def _clusters(data, cluster, unit, unit_codes, n_units) -> tuple[np.ndarray, int, str]:
    if cluster is None or cluster == unit:
        return unit_codes, n_units, unit
    miss = pd.isna(data[cluster].to_numpy())
    if miss.any():
        raise DataError(
            f"argument 'cluster': column '{cluster}' is missing at rows "
            f"{examples(data.index[miss].tolist())}. Every row needs a cluster (e.g. ward)."
        )
    codes, labels = _codes(data[cluster])
    return codes, len(labels), cluster


def _control_values(data: pd.DataFrame, controls: list[str]) -> np.ndarray:
    X = np.empty((len(data), len(controls)))
    for j, c in enumerate(controls):
        X[:, j] = _numeric(data, c, f"controls[{j}]")
        _no_missing(
            X[:, j], data, c, "controls", "Drop or fill these rows, or leave this control out."
        )
    return X


_WEIGHT_TEXT = (
    "Every row needs a weight.",
    "must be positive; it is zero or negative at rows {rows}. Drop those rows instead.",
)
_EXPOSURE_TEXT = (
    "Every row needs an exposure (e.g. population).",
    "must be positive (it enters as log(exposure)); it is zero or negative at rows {rows}.",
)


def _positive_values(data, column, argument, text) -> np.ndarray | None:
    """A column of positive numbers (weights, exposure), or None when not asked for."""
    if column is None:
        return None
    v = _numeric(data, column, argument)
    _no_missing(v, data, column, argument, text[0])
    if (v <= 0).any():
        rows = examples(data.index[v <= 0].tolist())
        raise DataError(f"argument '{argument}': column '{column}' " + text[1].format(rows=rows))
    return v


# --------------------------------------------------------------------------------------------
# Balanced matrices for the single-treated-unit estimators (synthetic control, synthetic DiD,
# the conformal test)
# --------------------------------------------------------------------------------------------


@dataclass
class SinglePanel:
    """A checked, balanced unit × period matrix with the control rows first.

    ``Y[:N0]`` are the controls, ``Y[N0:]`` the treated units; columns ``[:T0]`` are the
    pre-period, ``[T0:]`` the post-period. ``notes`` are caveats found while building it
    (e.g. the panel was cut before a later cohort started).
    """

    Y: np.ndarray
    units: list
    times: list
    N0: int
    T0: int
    start: Any
    outcome: str
    notes: list[str] = field(default_factory=list)

    @property
    def N1(self) -> int:  # noqa: N802 - the paper's symbol
        return self.Y.shape[0] - self.N0

    @property
    def T1(self) -> int:  # noqa: N802 - the paper's symbol
        return self.Y.shape[1] - self.T0

    @property
    def controls(self) -> list:
        return self.units[: self.N0]

    @property
    def treated(self) -> list:
        return self.units[self.N0 :]


def prepare_single_unit_panel(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    method: str,
    min_pre_periods: int,
) -> SinglePanel:
    """Check the input of a single-treated-unit estimator and return its outcome matrix.

    Rules (each violation raises :class:`~evaluation.errors.DataError` or
    :class:`~evaluation.errors.DesignError` naming the column, example values and the fix):

    * the columns exist; the outcome is numeric and has no missing values; unit, time and
      cohort have no missing labels (a missing cohort means never treated);
    * one row per unit × period, every unit observed in every period (balanced);
    * the cohort is constant within a unit;
    * the treated units are those whose cohort falls inside the observed periods; the earliest
      such cohort is evaluated. Units treated later are kept as controls and the panel is cut
      just before they start (a note says so), because after their start they are no longer
      untreated comparisons;
    * at least ``min_pre_periods`` periods before the start and at least two control units.
    """
    df = _single_unit_columns(data, outcome, unit, time, cohort, method)
    wide, times = _balanced_matrix(df, outcome, unit, time, method)
    unit_cohort = df.groupby(unit, sort=False)[cohort].first().reindex(wide.index)
    treated_units, start, times, notes = _first_cohort_window(
        unit_cohort, times, cohort, time, method
    )
    wide = wide[times]
    controls = [u for u in wide.index if u not in treated_units]
    T0 = sum(1 for t in times if t < start)
    if T0 < min_pre_periods:
        raise DesignError(
            f"{method}: needs at least {min_pre_periods} periods before the start "
            f"({show(start)}) "
            f"of {examples(treated_units)}, but the panel has {T0}"
            + (f" ({show(times[0])} … {show(times[T0 - 1])})" if T0 else "")
            + ". Use a longer pre-period (earlier data, or finer periods such as weeks "
            "instead of months), or a difference-in-differences estimator (ev.did_2x2, "
            "ev.twfe), which needs fewer."
        )
    if len(controls) < 2:
        raise DesignError(
            f"{method}: needs at least two control units (never treated, or treated after the "
            f"periods used), found {len(controls)}"
            + (f" ({examples(controls)})" if controls else "")
            + f" besides the treated {examples(treated_units)}. Add comparison wards or use "
            "an estimator that compares the treated ward with its own past."
        )
    order = controls + treated_units
    return SinglePanel(
        Y=wide.loc[order].to_numpy(dtype=float),
        units=order,
        times=list(times),
        N0=len(controls),
        T0=T0,
        start=start,
        outcome=outcome,
        notes=notes,
    )


def _single_unit_columns(data, outcome, unit, time, cohort, method) -> pd.DataFrame:
    """The four columns, checked: present, numeric finite outcome, no missing labels, one row
    per unit × period, a cohort constant within each unit."""
    if not isinstance(data, pd.DataFrame):
        raise DataError(
            f"{method}: 'data' must be a pandas DataFrame in long format (one row per unit × "
            f"period), got {type(data).__name__}."
        )
    names = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort}
    absent = [f"{arg}={col!r}" for arg, col in names.items() if col not in data.columns]
    if absent:
        raise DataError(
            f"{method}: column(s) not found in data: {', '.join(absent)}. "
            f"Available columns: {examples(list(map(str, data.columns)), 12)}."
        )
    df = data[[unit, time, cohort, outcome]]
    if len(df) == 0:
        raise DataError(f"{method}: 'data' has no rows.")
    y = df[outcome]
    if not (pd.api.types.is_numeric_dtype(y) or pd.api.types.is_bool_dtype(y)):
        bad = _to_numbers(y)[1]
        raise DataError(
            f"{method}: outcome column {outcome!r} must be numeric; found values such as "
            f"{examples(bad.astype(str).unique().tolist())}. Convert it (e.g. "
            f"pd.to_numeric) or fix those rows."
        )
    for arg, col in (("unit", unit), ("time", time)):
        miss = df[col].isna().to_numpy()
        if miss.any():
            raise DataError(
                f"{method}: {arg} column {col!r} has {int(miss.sum())} missing value(s) "
                f"(rows {examples(np.flatnonzero(miss).tolist())}). Fill or drop those rows."
            )
    miss = y.isna().to_numpy()
    if miss.any():
        rows = df.loc[miss, [unit, time]]
        shown = [f"({u}, {t})" for u, t in rows.head(5).itertuples(index=False)]
        raise DataError(
            f"{method}: outcome column {outcome!r} has {int(miss.sum())} missing value(s), "
            f"e.g. (unit, period) = {examples(shown)}"
            + (f" … ({len(rows)} in all)" if len(rows) > 5 else "")
            + ". A synthetic control needs every unit in every period: impute them with a "
            "documented rule, drop the affected units, or shorten the period."
        )
    if not np.isfinite(y.to_numpy(dtype=float)).all():
        raise DataError(
            f"{method}: outcome column {outcome!r} contains infinite values; fix or drop them."
        )
    dup = df.duplicated([unit, time], keep=False)
    if dup.any():
        rows = df.loc[dup, [unit, time]].drop_duplicates()
        shown = [f"({u}, {t})" for u, t in rows.head(5).itertuples(index=False)]
        raise DataError(
            f"{method}: more than one row per unit × period in columns ({unit!r}, {time!r}), "
            f"e.g. {examples(shown)}. Aggregate to one row per ward and period first "
            "(e.g. ev.aggregate_incidents)."
        )
    per_unit = df.groupby(unit, sort=False)[cohort].nunique(dropna=False)
    varying = per_unit[per_unit > 1]
    if len(varying):
        raise DataError(
            f"{method}: cohort column {cohort!r} must be constant within each unit (it is the "
            f"first treated period); it varies for {examples(varying.index.tolist())}."
        )
    return df


def _balanced_matrix(df, outcome, unit, time, method) -> tuple[pd.DataFrame, list]:
    """Units × sorted periods; a DataError naming the holes when the panel is unbalanced."""
    try:
        times = sorted(pd.unique(df[time]))
    except TypeError as exc:
        raise DataError(
            f"{method}: time column {time!r} mixes types that cannot be ordered "
            f"({examples(pd.unique(df[time]).tolist())})."
        ) from exc
    wide = df.pivot(index=unit, columns=time, values=outcome).reindex(columns=times)
    holes = wide.isna()
    if holes.to_numpy().any():
        counts = holes.sum(axis=1)
        counts = counts[counts > 0]
        first_unit = counts.index[0]
        missing_times = [t for t, h in holes.loc[first_unit].items() if h]
        raise DataError(
            f"{method}: unbalanced panel — {len(counts)} unit(s) lack some periods in column "
            f"{time!r}: {examples([f'{u} ({n} missing)' for u, n in counts.items()])}; e.g. "
            f"{first_unit} has no row for {examples(missing_times)}. Synthetic controls need "
            "every unit in every period: add the missing rows (zero for counts that were "
            "simply not reported), or drop those units."
        )
    return wide, times


def _first_cohort_window(unit_cohort: pd.Series, times: list, cohort, time, method):
    """The earliest cohort's units and start, and the periods before the next cohort starts
    (later units are controls only while untreated); notes say what was cut."""
    treated_mask = unit_cohort.notna()
    last = times[-1]
    try:
        beyond = treated_mask & np.asarray(
            [bool(c > last) if pd.notna(c) else False for c in unit_cohort], dtype=bool
        )
    except TypeError as exc:
        raise DataError(
            f"{method}: cohort column {cohort!r} cannot be compared with time column {time!r} "
            f"(cohort values {examples(unit_cohort.dropna().unique().tolist())}, periods "
            f"{examples(times)}). The cohort must be the first treated period, in the same "
            "type as the time column."
        ) from exc
    notes: list[str] = []
    if beyond.any():
        notes.append(
            f"{int(beyond.sum())} unit(s) start after the last period ({show(last)}) and serve "
            f"as controls: {examples(unit_cohort.index[beyond].tolist())}."
        )
    treated_mask = treated_mask & ~beyond
    if not treated_mask.any():
        raise DesignError(
            f"{method}: no unit is treated within the observed periods ({show(times[0])} … "
            f"{show(last)}): column {cohort!r} is missing (never treated) or later than the "
            "last period for every unit. Set the cohort of the pilot ward to its first treated "
            "period."
        )
    starts = [
        pd.Timestamp(c) if isinstance(c, np.datetime64) else c
        for c in sorted(pd.unique(unit_cohort[treated_mask]))
    ]
    start = starts[0]
    treated_units = unit_cohort.index[treated_mask & (unit_cohort == start)].tolist()
    later = unit_cohort.index[treated_mask & (unit_cohort != start)].tolist()
    if later:
        next_start = starts[1]
        times = [t for t in times if t < next_start]
        notes.append(
            f"The panel is cut before {show(next_start)}, when {examples(later)} start(s) "
            "treatment: they serve as controls only while untreated. The effect covers "
            f"{show(start)} to {show(times[-1])}."
        )
    return treated_units, start, times, notes
