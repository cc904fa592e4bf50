"""The one place where estimator inputs are checked and turned into arrays.

Every estimator calls :func:`prepare` first. It checks the columns, types and values a user can
get wrong (with messages that name the argument, the column, example values and the fix) and
the designs that cannot identify an effect, then hands back a :class:`Panel` of plain numpy
arrays the estimators can trust. After this, estimator code never meets a missing value, an
unsorted time axis or a unit whose cohort changes over time.

Conventions fixed here (DESIGN.md §3):

* ``cohort`` is the first period a unit is treated; missing (NaN / NaT / None) = never treated.
  A unit is treated in every period ``time >= cohort``.
* Times may be numbers, dates (datetime64) or pandas Periods. They are placed on the sorted
  grid of distinct observed times; a cohort between grid points starts at the next grid time, a
  cohort after the last period means "not treated within the sample".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.errors import DataError, DesignError, examples

__all__ = ["Panel", "prepare", "as_columns", "show"]


def show(value) -> str:
    """A time or unit label as people write it: 2024-03-01, 2007, Cổ Nhuế 2."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        return ts.date().isoformat() if ts == ts.normalize() else ts.isoformat()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


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


def _numeric(data: pd.DataFrame, col: str, argument: str) -> np.ndarray:
    s = data[col]
    if s.dtype == bool or pd.api.types.is_bool_dtype(s.dtype):
        return s.to_numpy(dtype=float)
    if not pd.api.types.is_numeric_dtype(s.dtype):
        converted = pd.to_numeric(s, errors="coerce")
        bad = s[converted.isna() & s.notna()]
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
        conv = pd.to_numeric(c, errors="coerce")
        bad = c[conv.isna() & c.notna()]
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
    if cluster is not None:
        needed["cluster"] = cluster
    if weights is not None:
        needed["weights"] = weights
    if exposure is not None:
        needed["exposure"] = exposure
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

    unit_col, time_col = data[unit], data[time]
    for col, arg, series in ((unit, "unit", unit_col), (time, "time", time_col)):
        miss = pd.isna(series.to_numpy())
        if miss.any():
            raise DataError(
                f"argument '{arg}': column '{col}' is missing at rows "
                f"{examples(data.index[miss].tolist())}. Every row needs a {arg}."
            )

    kind = _time_kind(time_col)
    if kind == "other":
        raise DataError(
            f"argument 'time': column '{time}' has type {time_col.dtype}; use numbers "
            "(e.g. years or period indices), dates (datetime64) or pandas Periods. Text dates can "
            f"be converted with pd.to_datetime(data['{time}'])."
        )

    unit_codes, unit_labels = _codes(unit_col)
    time_codes, time_labels = _codes(time_col)
    times = pd.Index(time_labels) if kind != "period" else pd.PeriodIndex(time_labels)
    N, T = len(unit_labels), len(times)
    if T < 2:
        raise DesignError(
            f"{estimator}: the data have a single period ({show(times[0])} in column '{time}'); "
            "a difference-in-differences needs periods before and after treatment."
        )

    # cohort: constant within unit, same type as time
    coh = _cohort_on_time_axis(data, cohort, time, kind)
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
        tmin = float(times.min())
        zero = ~unit_na & (unit_val.astype(float) == 0)
        if zero.any() and tmin > 0:
            raise DataError(
                f"argument 'cohort': column '{cohort}' is 0 for {int(zero.sum())} unit(s) (e.g. "
                f"{examples(np.asarray(unit_labels)[zero].tolist())}), before the first period "
                f"{show(times.min())}. In this package a missing cohort means never treated; if 0 "
                f"means 'never treated' (the R did / Stata convention), replace it: "
                f"data['{cohort}'] = data['{cohort}'].replace(0, float('nan'))."
            )

    cohort_pos = np.full(N, T, dtype=np.int64)
    if (~unit_na).any():
        treated_vals = unit_val[~unit_na]
        if kind == "number":
            pos = np.searchsorted(times.to_numpy(dtype=float), treated_vals.astype(float), "left")
        elif kind == "datetime":
            pos = times.searchsorted(pd.DatetimeIndex(treated_vals), side="left")
        else:
            pos = times.searchsorted(pd.PeriodIndex(treated_vals), side="left")
        cohort_pos[~unit_na] = np.asarray(pos, dtype=np.int64)

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
    first_pre = 1 + max(int(anticipation), 0)
    always = cohort_pos < first_pre
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
    never = ~treated_units
    if not never.any() and len(timing_groups) == 1:
        raise DesignError(
            f"{estimator}: every unit is treated at the same time ({show(times[timing_groups[0]])})"
            " and none stays untreated, so the effect cannot be told apart from what happened "
            "to everyone in that period. A difference-in-differences needs untreated or "
            "later-treated units to compare with."
        )

    # rows per cell
    cell = unit_codes * T + time_codes
    counts = np.bincount(cell, minlength=N * T)
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
    balanced = one_per_cell and len(data) == N * T

    treated_rows = time_codes >= cohort_pos[unit_codes]

    # cluster
    if cluster is None or cluster == unit:
        cl_codes, n_cl, cl_name = unit_codes, N, unit
    else:
        miss = pd.isna(data[cluster].to_numpy())
        if miss.any():
            raise DataError(
                f"argument 'cluster': column '{cluster}' is missing at rows "
                f"{examples(data.index[miss].tolist())}. Every row needs a cluster (e.g. ward)."
            )
        codes, labels = _codes(data[cluster])
        cl_codes, n_cl, cl_name = codes, len(labels), cluster

    # controls
    if controls:
        X = np.empty((len(data), len(controls)))
        for j, c in enumerate(controls):
            X[:, j] = _numeric(data, c, f"controls[{j}]")
            _no_missing(
                X[:, j],
                data,
                c,
                "controls",
                "Drop or fill these rows, or leave this control out.",
            )
    else:
        X = np.empty((len(data), 0))

    w = None
    if weights is not None:
        w = _numeric(data, weights, "weights")
        _no_missing(w, data, weights, "weights", "Every row needs a weight.")
        if (w <= 0).any():
            bad = data.index[w <= 0]
            raise DataError(
                f"argument 'weights': column '{weights}' must be positive; it is zero or "
                f"negative at rows {examples(bad.tolist())}. Drop those rows instead."
            )
    e = None
    if exposure is not None:
        e = _numeric(data, exposure, "exposure")
        _no_missing(e, data, exposure, "exposure", "Every row needs an exposure (e.g. population).")
        if (e <= 0).any():
            bad = data.index[e <= 0]
            raise DataError(
                f"argument 'exposure': column '{exposure}' must be positive (it enters as "
                f"log(exposure)); it is zero or negative at rows {examples(bad.tolist())}."
            )

    return Panel(
        y=y,
        unit=unit_codes,
        time=time_codes,
        units=np.asarray(unit_labels),
        times=times,
        cohort_pos=cohort_pos,
        cohort_label=np.where(unit_na, None, unit_val).astype(object),
        treated=treated_rows,
        cluster=cl_codes,
        n_clusters=n_cl,
        cluster_name=cl_name,
        controls=X,
        control_names=list(controls),
        weights=w,
        exposure=e,
        one_row_per_cell=one_per_cell,
        balanced=balanced,
        time_kind=kind,
        outcome=outcome,
        unit_name=unit,
        time_name=time,
        cohort_name=cohort,
        warnings=warnings,
    )
