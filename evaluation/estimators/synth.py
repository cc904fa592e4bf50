"""Synthetic control for one treated ward (or the average of a few treated at the same date).

The synthetic control of Abadie, Diamond & Hainmueller (2010, *JASA* 105(490)) predicts what the
treated unit would have looked like without the programme as a weighted average of control
units, with non-negative weights that sum to one, chosen so that the weighted controls track
the treated unit over the pre-period. The effect is the average post-period gap between the
treated unit and its synthetic copy.

We compute the weights exactly as the ``synthdid`` R package's ``sc_estimate`` does
(Arkhangelsky, Athey, Hirshberg, Imbens & Wager 2021, *AER* 111(12)): the weights minimise the
mean squared pre-period gap plus an infinitesimal ridge penalty ``ζ² ‖ω‖²`` with
``ζ = 10⁻⁶ · σ̂`` (σ̂ = standard deviation of the controls' first differences in the
pre-period), found by the package's Frank–Wolfe solver, first run for 100 iterations, then
sparsified (weights below a quarter of the largest set to zero) and run again to convergence.
Following the solver step for step is what reproduces the published Proposition 99 numbers
(SC −19.620): the exact minimiser of the same objective differs by about 0.1 packs there,
because Frank–Wolfe stops before the optimum on that nearly flat objective.

Only pre-period outcomes enter the fit. The classical ADH predictor matching with a
data-driven V-matrix is deliberately not offered: its nested optimisation is ill-posed (Kaul,
Klößner, Pfeifer & Schieler 2015 show that with all lagged outcomes as predictors the
covariates become irrelevant; Klößner et al. 2018 show the V-search is not reproducible across
software).

This module also holds what the single-treated-unit estimators share: the input checks
(:func:`prepare_single_unit_panel`), the Frank–Wolfe solvers, the result class
:class:`SyntheticEstimate` and the choice of inference (placebo-in-space, conformal, the
placebo variance of Arkhangelsky et al.).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluation.errors import DataError, DesignError, InferenceError, examples
from evaluation.inference.choose import MIN_PRE_PERIODS, design_limit_warning
from evaluation.results import Estimate

__all__ = [
    "SyntheticEstimate",
    "SinglePanel",
    "synthetic_control",
    "prepare_single_unit_panel",
    "synthdid_weights",
    "simplex_least_squares",
]

# Pre-period length from which the conformal test (one p-value per cyclic shift of T periods)
# is preferred by inference="auto": with T ≥ 21 periods its smallest p-value 1/T is below 5 %,
# and Chernozhukov, Wüthrich & Zhu (2021) need a long pre-period to estimate the
# counterfactual model consistently.
CONFORMAL_MIN_PRE = MIN_PRE_PERIODS  # one rule with twfe's inference='auto'

INFERENCE_CHOICES = (
    "auto",
    "conformal",
    "placebo",
    "randomization",
    "placebo_variance",
    "jackknife",
    "none",
)


# --------------------------------------------------------------------------------------------
# Input: one balanced panel, treated rows last
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
    def N1(self) -> int:
        return self.Y.shape[0] - self.N0

    @property
    def T1(self) -> int:
        return self.Y.shape[1] - self.T0

    @property
    def controls(self) -> list:
        return self.units[: self.N0]

    @property
    def treated(self) -> list:
        return self.units[self.N0 :]


def fmt_time(value: Any) -> str:
    """A period for messages: dates without a midnight time part, others as they print."""
    if isinstance(value, pd.Timestamp | np.datetime64):
        ts = pd.Timestamp(value)
        return str(ts.date()) if ts == ts.normalize() else ts.isoformat()
    return str(value)


def _missing(values: pd.Series) -> np.ndarray:
    return values.isna().to_numpy()


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
        converted = pd.to_numeric(y, errors="coerce")
        bad = y[converted.isna() & y.notna()]
        raise DataError(
            f"{method}: outcome column {outcome!r} must be numeric; found values such as "
            f"{examples(bad.astype(str).unique().tolist())}. Convert it (e.g. "
            f"pd.to_numeric) or fix those rows."
        )
    for arg, col in (("unit", unit), ("time", time)):
        miss = _missing(df[col])
        if miss.any():
            raise DataError(
                f"{method}: {arg} column {col!r} has {int(miss.sum())} missing value(s) "
                f"(rows {examples(np.flatnonzero(miss).tolist())}). Fill or drop those rows."
            )
    miss = _missing(y)
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

    try:
        times = sorted(pd.unique(df[time]))
    except TypeError as exc:
        raise DataError(
            f"{method}: time column {time!r} mixes types that cannot be ordered "
            f"({examples(pd.unique(df[time]).tolist())})."
        ) from exc
    wide = df.pivot(index=unit, columns=time, values=outcome)
    wide = wide.reindex(columns=times)
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

    unit_cohort = df.groupby(unit, sort=False)[cohort].first().reindex(wide.index)
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
            f"{int(beyond.sum())} unit(s) start after the last period ({fmt_time(last)}) and "
            "serve as "
            f"controls: {examples(unit_cohort.index[beyond].tolist())}."
        )
    treated_mask = treated_mask & ~beyond
    if not treated_mask.any():
        raise DesignError(
            f"{method}: no unit is treated within the observed periods ({fmt_time(times[0])} … "
            f"{fmt_time(last)}): "
            f"column {cohort!r} is missing (never treated) or later than the last period for "
            "every unit. Set the cohort of the pilot ward to its first treated period."
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
        keep = [t for t in times if t < next_start]
        notes.append(
            f"The panel is cut before {fmt_time(next_start)}, when {examples(later)} start(s) "
            "treatment: they serve as controls only while untreated. The effect covers "
            f"{fmt_time(start)} to {fmt_time(keep[-1])}."
        )
        times = keep
        wide = wide[times]
    controls = [u for u in wide.index if u not in treated_units]

    T0 = sum(1 for t in times if t < start)
    T1 = len(times) - T0
    if T0 < min_pre_periods:
        raise DesignError(
            f"{method}: needs at least {min_pre_periods} periods before the start "
            f"({fmt_time(start)}) "
            f"of {examples(treated_units)}, but the panel has {T0}"
            + (f" ({fmt_time(times[0])} … {fmt_time(times[T0 - 1])})" if T0 else "")
            + ". Use a longer pre-period (earlier data, or finer periods such as weeks "
            "instead of months), or a difference-in-differences estimator (ev.did_2x2, "
            "ev.twfe), which needs fewer."
        )
    if T1 < 1:  # pragma: no cover - the start lies inside the periods by construction
        raise DesignError(f"{method}: no period at or after the start ({start}).")
    if len(controls) < 2:
        raise DesignError(
            f"{method}: needs at least two control units (never treated, or treated after the "
            f"periods used), found {len(controls)}"
            + (f" ({examples(controls)})" if controls else "")
            + f" besides the treated {examples(treated_units)}. Add comparison wards or use "
            "an estimator that compares the treated ward with its own past."
        )
    order = controls + treated_units
    Y = wide.loc[order].to_numpy(dtype=float)
    return SinglePanel(
        Y=Y,
        units=order,
        times=list(times),
        N0=len(controls),
        T0=T0,
        start=start,
        outcome=outcome,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Solvers
# --------------------------------------------------------------------------------------------


def _sparsify(v: np.ndarray) -> np.ndarray:
    # synthdid's sparsify_function: drop weights at or below a quarter of the largest.
    v = v.copy()
    v[v <= v.max() / 4] = 0.0
    return v / v.sum()


def _fw_synthdid(
    Yc: np.ndarray,
    zeta: float,
    intercept: bool,
    init: np.ndarray | None,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """synthdid's ``sc.weight.fw``: Frank–Wolfe with exact line search.

    Minimises ``ζ² ‖x‖² + ‖A x − b‖² / n`` over the unit simplex, where ``A = Yc[:, :-1]``,
    ``b = Yc[:, -1]`` and n is the number of rows (columns centred first when
    ``intercept``). Stops when an iteration lowers the objective by less than
    ``min_decrease²`` or after ``max_iter`` iterations — the same rule as the R code, so the
    same (not fully converged) weights come out.
    """
    n, p1 = Yc.shape
    p = p1 - 1
    x = np.full(p, 1.0 / p) if init is None else np.asarray(init, dtype=float).copy()
    if intercept:
        Yc = Yc - Yc.mean(axis=0)
    A = np.ascontiguousarray(Yc[:, :p])
    At = np.ascontiguousarray(A.T)  # contiguous columns for the line search
    b = np.ascontiguousarray(Yc[:, p])
    zeta2 = float(zeta) ** 2
    eta = n * zeta2
    threshold = float(min_decrease) ** 2
    dot = np.dot  # the loop runs up to 10⁴ times on small arrays: keep Python overhead low
    Ax = dot(A, x)
    prev = prev2 = math.inf
    t = 0
    while t < max_iter and (t < 2 or prev2 - prev > threshold):
        t += 1
        half_grad = dot(Ax - b, A) + eta * x
        i = int(half_grad.argmin())
        xi = x[i]
        # the R code skips the step when the direction e_i − x is zero, i.e. x = e_i
        if not (xi == 1.0 and np.count_nonzero(x) == 1):
            dx = -x
            dx[i] = 1.0 - xi
            d_err = At[i] - Ax
            step = -dot(half_grad, dx) / (dot(d_err, d_err) + eta * dot(dx, dx))
            step = 1.0 if step > 1.0 else (float(step) if step > 0.0 else 0.0)
            x = x + step * dx
            Ax = dot(A, x)
        err = Ax - b
        prev2, prev = prev, zeta2 * dot(x, x) + dot(err, err) / n
    return x


def simplex_least_squares(
    A: np.ndarray,
    b: np.ndarray,
    ridge: float = 0.0,
    *,
    intercept: bool = False,
    init: np.ndarray | None = None,
    tol: float = 1e-10,
    max_iter: int = 20_000,
) -> tuple[np.ndarray, float]:
    """Exact minimiser of ``‖A w + c − b‖² + ridge ‖w‖²`` over the simplex (w ≥ 0, Σw = 1).

    Pairwise Frank–Wolfe (Lacoste-Julien & Jaggi 2015) with exact line search on the Gram
    matrix; it converges linearly on this problem, unlike plain Frank–Wolfe, so it is used
    where many refits are needed and synthdid's exact iterates do not matter (the conformal
    test). ``c`` is a free intercept when ``intercept`` (columns centred), else 0.
    Returns ``(w, c)``.
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    if intercept:
        a_mean = A.mean(axis=0)
        b_mean = b.mean()
        A = A - a_mean
        b = b - b_mean
    J = A.shape[1]
    G = A.T @ A
    G[np.diag_indices(J)] += ridge
    c = A.T @ b
    w = np.full(J, 1.0 / J) if init is None else np.asarray(init, dtype=float).copy()
    Gw = G @ w
    scale = max(float(b @ b), float(np.trace(G)) / J, 1e-300)
    for _ in range(max_iter):
        g = Gw - c  # half gradient
        i = int(np.argmin(g))
        active = np.flatnonzero(w > 0)
        a = int(active[np.argmax(g[active])])
        gap = float(g @ w - g[i])  # Frank–Wolfe duality gap (halved)
        if gap <= tol * scale or i == a:
            break
        curvature = G[i, i] + G[a, a] - 2.0 * G[i, a]
        max_step = w[a]
        step = max_step if curvature <= 0 else min(max_step, (g[a] - g[i]) / curvature)
        w[i] += step
        w[a] -= step
        if w[a] < 1e-15:
            w[a] = 0.0
        Gw += step * (G[:, i] - G[:, a])
    w = np.clip(w, 0.0, None)
    w /= w.sum()
    const = float(b_mean - a_mean @ w) if intercept else 0.0
    return w, const


def noise_level(Y: np.ndarray, N0: int, T0: int) -> float:
    """synthdid's σ̂: standard deviation of the controls' first differences in the pre-period."""
    d = np.diff(Y[:N0, :T0], axis=1)
    return float(np.std(d, ddof=1)) if d.size > 1 else 0.0


def _collapsed(Y: np.ndarray, N0: int, T0: int) -> np.ndarray:
    # synthdid's collapsed.form: controls × pre-periods, bordered by the post-period means of
    # each control (last column) and the treated units' average path (last row).
    top = np.column_stack([Y[:N0, :T0], Y[:N0, T0:].mean(axis=1)])
    bottom = np.append(Y[N0:, :T0].mean(axis=0), Y[N0:, T0:].mean())
    return np.vstack([top, bottom])


def synthdid_weights(
    Y: np.ndarray,
    N0: int,
    T0: int,
    *,
    kind: str,
    zeta_omega: float | None = None,
    zeta_lambda: float | None = None,
    eta_omega: float | None = None,
    min_decrease: float | None = None,
    max_iter: int = 10_000,
    max_iter_pre_sparsify: int = 100,
    omega_init: np.ndarray | None = None,
) -> dict[str, Any]:
    """Unit weights ω and time weights λ as in the R package ``synthdid`` (version 0.0.9).

    ``kind`` is ``"sdid"`` (``synthdid_estimate``: both weights fitted, with intercepts,
    ζ_ω = (N₁T₁)^¼ σ̂, ζ_λ = 10⁻⁶ σ̂), ``"sc"`` (``sc_estimate``: ω without intercept and
    ζ_ω = 10⁻⁶ σ̂, λ = 0) or ``"did"`` (``did_estimate``: uniform ω and λ). Returns a dict
    with ``omega``, ``lambda``, ``estimate``, ``zeta_omega``, ``zeta_lambda``, ``noise``.
    ``zeta_*`` passed in are used as given (placebo and jackknife replications keep the
    original regularisation, as synthdid does).
    """
    N, T = Y.shape
    N1, T1 = N - N0, T - T0
    sigma = noise_level(Y, N0, T0)
    if min_decrease is None:
        min_decrease = 1e-5 * sigma
    if zeta_omega is None:
        if eta_omega is None:
            eta_omega = (N1 * T1) ** 0.25 if kind == "sdid" else 1e-6
        zeta_omega = eta_omega * sigma
    if zeta_lambda is None:
        zeta_lambda = 1e-6 * sigma
    Yc = _collapsed(Y, N0, T0)
    if kind == "sdid":
        lam = _fw_synthdid(Yc[:N0], zeta_lambda, True, None, min_decrease, max_iter_pre_sparsify)
        lam = _fw_synthdid(Yc[:N0], zeta_lambda, True, _sparsify(lam), min_decrease, max_iter)
    elif kind == "sc":
        lam = np.zeros(T0)
    elif kind == "did":
        lam = np.full(T0, 1.0 / T0)
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    if kind == "did":
        omega = np.full(N0, 1.0 / N0)
    else:
        target = Yc[:, :T0].T  # pre-periods × (controls + treated average)
        intercept = kind == "sdid"
        omega = _fw_synthdid(
            target, zeta_omega, intercept, omega_init, min_decrease, max_iter_pre_sparsify
        )
        omega = _fw_synthdid(
            target, zeta_omega, intercept, _sparsify(omega), min_decrease, max_iter
        )
    estimate = float(np.r_[-omega, np.full(N1, 1.0 / N1)] @ Y @ np.r_[-lam, np.full(T1, 1.0 / T1)])
    return {
        "omega": omega,
        "lambda": lam,
        "estimate": estimate,
        "zeta_omega": float(zeta_omega),
        "zeta_lambda": float(zeta_lambda),
        "noise": sigma,
    }


def synthetic_paths(Y: np.ndarray, N0: int, T0: int, omega: np.ndarray, lam: np.ndarray):
    """Treated average path, synthetic path and gap; the synthetic path is shifted by the
    λ-weighted pre-period difference (zero shift for SC, whose λ = 0), so that the average
    post-period gap equals the estimate."""
    treated = Y[N0:].mean(axis=0)
    synth = omega @ Y[:N0]
    shift = float(lam @ (treated[:T0] - synth[:T0])) if lam.sum() > 0 else 0.0
    synth = synth + shift
    return treated, synth, treated - synth


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass
class SyntheticEstimate(Estimate):
    """An :class:`~evaluation.results.Estimate` from a synthetic control or synthetic DiD.

    Extra attributes (also copied into ``details`` so ``to_dict()`` carries them):

    unit_weights : pandas.Series
        ω, the weight of each control unit in the synthetic comparison (≥ 0, sum 1).
    time_weights : pandas.Series
        λ, the weight of each pre-period in the baseline the post-period is compared with
        (all zero for the synthetic control, which compares levels; uniform for DiD).
    paths : pandas.DataFrame
        Columns ``time``, ``treated`` (average of the treated units), ``synthetic``, ``gap``
        (treated − synthetic) and ``post`` (bool), one row per period.
    pre_rmspe, post_rmspe : float
        Root mean squared gap over the pre-period (the fit) and over the post-period.
    start
        The first treated period.
    """

    unit_weights: pd.Series | None = field(default=None, repr=False)
    time_weights: pd.Series | None = field(default=None, repr=False)
    paths: pd.DataFrame | None = field(default=None, repr=False)
    pre_rmspe: float = float("nan")
    post_rmspe: float = float("nan")
    start: Any = None

    def __post_init__(self) -> None:
        if self.unit_weights is not None:
            self.details.setdefault("unit_weights", self.unit_weights)
        if self.time_weights is not None:
            self.details.setdefault("time_weights", self.time_weights)
        if self.paths is not None:
            self.details.setdefault("paths", self.paths)
        self.details.setdefault("pre_rmspe", self.pre_rmspe)
        self.details.setdefault("post_rmspe", self.post_rmspe)
        self.details.setdefault("start", self.start)

    def _xy(self):
        p = self.paths
        x = p["time"]
        if isinstance(x.dtype, pd.PeriodDtype):
            x = x.dt.to_timestamp()
        return x, p

    def _mark_start(self, ax) -> None:
        x, p = self._xy()
        post = p["post"].to_numpy(dtype=bool)
        first_post = np.flatnonzero(post)[0]
        ax.axvline(x.iloc[first_post], color="0.35", lw=0.9, ls="--", label="start")

    def plot(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """Treated (average) path against its synthetic copy, start marked. Returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.6))
        x, p = self._xy()
        treated_label = (
            "treated" if self.n_treated <= 1 else f"treated (average of {self.n_treated})"
        )
        ax.plot(x, p["treated"], color=color, lw=1.8, label=treated_label)
        ax.plot(x, p["synthetic"], color="0.45", lw=1.6, ls="-.", label="synthetic")
        self._mark_start(ax)
        ax.set_ylabel(self.outcome or "outcome")
        if title is None:
            title = f"{self.method}: effect {self.estimate:.3g}"
            if np.isfinite(self.pvalue):
                title += f" (p = {self.pvalue:.2g})"
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.25)
        return ax

    def plot_gap(self, ax=None, *, title: str | None = None, color: str = "#1f5fa8"):
        """Gap (treated − synthetic) over time with the start and the average effect marked."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 3.2))
        x, p = self._xy()
        ax.axhline(0, color="0.4", lw=0.8)
        ax.plot(x, p["gap"], color=color, lw=1.6)
        post = p["post"].to_numpy(dtype=bool)
        ax.hlines(
            self.estimate,
            x[post].iloc[0],
            x[post].iloc[-1],
            color=color,
            ls=":",
            label=f"average effect {self.estimate:.3g}",
        )
        self._mark_start(ax)
        ax.set_ylabel(f"gap in {self.outcome}" if self.outcome else "gap")
        ax.set_title(title or f"{self.method}: treated − synthetic", fontsize=10)
        ax.legend(fontsize=8, frameon=False)
        ax.grid(alpha=0.25)
        return ax


# --------------------------------------------------------------------------------------------
# Shared pieces of the single-unit estimators
# --------------------------------------------------------------------------------------------


def check_inference(inference: str, method: str, allowed: Sequence[str]) -> str:
    """Validate ``inference=`` for a single-unit estimator; raise a helpful InferenceError."""
    if inference in ("cluster", "wild"):
        raise InferenceError(
            f"{method}: inference={inference!r} does not apply. Cluster-robust standard errors "
            "and the wild cluster bootstrap rely on many treated clusters; with one treated "
            "unit they have no valid justification and over-reject badly (on Proposition 99 "
            "cluster-robust SEs give p ≈ 7e-12, an exact placebo test p ≈ 0.03). Use "
            "inference='auto', 'conformal' (needs a long pre-period) or 'placebo' "
            "(placebo-in-space rank test)."
        )
    if inference not in allowed:
        raise InferenceError(
            f"{method}: unknown or inapplicable inference={inference!r}; choose one of "
            f"{', '.join(map(repr, allowed))}."
        )
    return "placebo" if inference == "randomization" else inference


def fit_warning(panel: SinglePanel, pre_gap: np.ndarray, method: str) -> list[str]:
    """Warn when the treated unit is poorly reproduced in the pre-period.

    Two signs that the treated unit lies outside the convex hull of the controls: its pre-period
    outcome is above every control (or below every control) in at least half of the pre-periods
    (only for the level-matching synthetic control), or the pre-period RMSPE exceeds a quarter of
    the outcome's spread (standard deviation of all units' pre-period outcomes).
    """
    out: list[str] = []
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    rmspe = float(np.sqrt(np.mean(pre_gap**2)))
    spread = float(np.std(Y[:, :T0]))
    rel = rmspe / spread if spread > 0 else (0.0 if rmspe == 0 else math.inf)
    treated = Y[N0:, :T0].mean(axis=0)
    above = float(np.mean(treated > Y[:N0, :T0].max(axis=0)))
    below = float(np.mean(treated < Y[:N0, :T0].min(axis=0)))
    outside = max(above, below) if method == "synthetic control" else 0.0
    if outside >= 0.5 or rel > 0.25:
        where = "above" if above >= below else "below"
        out.append(
            f"Poor pre-period fit: the {method} misses the treated unit by {rmspe:.3g} on "
            f"average (pre-period RMSPE), {rel:.0%} of the outcome's spread ({spread:.3g})"
            + (
                f"; the treated unit is {where} every control in {outside:.0%} of the "
                "pre-periods, i.e. outside the range (convex hull) the controls can reproduce"
                if outside >= 0.5
                else ""
            )
            + ". The estimate then reflects the mismatch as much as the programme: compare "
            "with synthetic DiD (ev.synthetic_did, which allows a level difference) or DiD."
        )
    return out


def _limit_warning(min_p: float, level: float, situation: str) -> list[str]:
    w = design_limit_warning(min_p, level, situation)
    return [w] if w else []


def single_unit_inference(
    panel: SinglePanel,
    fit: Callable[[np.ndarray, int, int], tuple[float, np.ndarray]],
    point: float,
    gap: np.ndarray,
    *,
    method: str,
    inference: str,
    level: float,
    seed: int,
    statistic: str,
    permutation: str,
    n_permutations: int,
    max_placebos: int,
    conformal_model: str,
    conformal_zeta: float,
    placebo_variance: Callable[[], tuple[float, dict]] | None = None,
    jackknife: Callable[[], tuple[float, dict]] | None = None,
) -> dict[str, Any]:
    """Choose and run the inference of a single-treated-unit estimator.

    ``fit(Y, N0, T0) -> (estimate, gap)`` re-runs the estimator on another matrix (placebo
    runs); ``gap`` is the treated − synthetic path. Returns the Estimate fields ``se``,
    ``ci_low``, ``ci_high``, ``pvalue``, ``inference``, ``inference_method``, ``min_pvalue``,
    plus ``warnings`` and ``details``.
    """
    from evaluation.inference import conformal as _conformal
    from evaluation.inference import placebo as _placebo

    alpha = 1 - level
    T, T0, T1, N1, J = panel.Y.shape[1], panel.T0, panel.T1, panel.N1, panel.N0
    reason = ""
    if inference == "auto":
        if T0 >= CONFORMAL_MIN_PRE and T0 >= T1:
            inference = "conformal"
            reason = (
                f"chosen by 'auto' because the pre-period is long ({T0} periods ≥ "
                f"{CONFORMAL_MIN_PRE} and at least as long as the {T1}-period post-period), so "
                f"permuting residuals over time can reach p = 1/{T}"
            )
        else:
            inference = "placebo"
            why = (
                f"the pre-period ({T0} periods) is shorter than the {CONFORMAL_MIN_PRE} the "
                "conformal test needs"
                if T0 < CONFORMAL_MIN_PRE
                else f"the post-period ({T1}) is longer than the pre-period ({T0})"
            )
            reason = (
                f"chosen by 'auto' because {why}; ranking the treated unit among the controls "
                "run as if treated is a permutation test, exact when the treated unit was in "
                "effect a random draw among the units"
            )

    nan = float("nan")
    out: dict[str, Any] = {
        "se": nan,
        "ci_low": nan,
        "ci_high": nan,
        "pvalue": nan,
        "min_pvalue": nan,
        "warnings": [],
        "details": {},
    }
    if inference == "none":
        out.update(inference="none: point estimate only", inference_method="none")
        return out

    if inference == "placebo":
        res = _placebo.placebo_space_matrix(
            panel.Y,
            panel.N0,
            T0,
            fit,
            point=point,
            gap=gap,
            statistic=statistic,
            level=level,
            max_sets=max_placebos,
            seed=seed,
            units=panel.units,
        )
        out.update(
            pvalue=res["pvalue"],
            ci_low=res["ci_low"],
            ci_high=res["ci_high"],
            min_pvalue=res["min_pvalue"],
            inference_method="randomization",
        )
        stat_words = (
            "post/pre RMSPE ratio (Abadie, Diamond & Hainmueller 2010)"
            if statistic == "rmspe_ratio"
            else "absolute average effect"
        )
        sets = (
            f"each of the {J} controls in turn as if treated"
            if N1 == 1
            else f"{res['n_sets']} sets of {N1} controls as if treated"
            + (" (all)" if res["enumerated"] else " (random draws)")
        )
        out["inference"] = (
            f"placebo-in-space rank test: {sets}, the controls only as donors; p = rank of "
            f"the treated unit's {stat_words} among all {res['n_sets'] + 1}; "
            f"{level:.0%} CI by test inversion over a constant effect"
            + (f" — {reason}" if reason else "")
        )
        out["details"]["placebo"] = res["table"]
        out["details"]["placebo_statistic"] = statistic
        if res["empty"]:
            out["warnings"].append(
                "No constant effect is consistent with the placebo test at this level (the "
                "post-period gap varies too much over time), so the confidence set is empty."
            )
        unit_word = "ward" if N1 == 1 else f"group of {N1} wards"
        out["warnings"] += _limit_warning(
            res["min_pvalue"],
            level,
            f"with one treated {unit_word} and {res['n_sets']} placebo comparisons",
        )
        if math.isinf(res["ci_low"]) and not res["empty"]:
            out["warnings"].append(
                f"The {level:.0%} confidence interval is unbounded: with "
                f"{res['n_sets'] + 1} units in the comparison no effect size, however large "
                f"or small, can be rejected at the {alpha:.0%} level."
            )
        return out

    if inference == "conformal":
        y = panel.Y[panel.N0 :].mean(axis=0)
        Y0 = panel.Y[: panel.N0].T
        res = _conformal.conformal_inference(
            y,
            Y0,
            T0,
            model=conformal_model,
            zeta=conformal_zeta,
            permutation=permutation,
            level=level,
            n_permutations=n_permutations,
            seed=seed,
            center=point,
            statistic="auto",
        )
        out["warnings"].extend(_conformal.nonconvex_warning(res, level))
        out.update(
            pvalue=res["pvalue"],
            ci_low=res["ci_low"],
            ci_high=res["ci_high"],
            min_pvalue=res["min_pvalue"],
            inference_method="conformal",
        )
        perm_words = (
            f"all {T} cyclic (moving-block) shifts"
            if permutation == "moving_block"
            else f"{res['n_permutations']} random (iid) permutations"
        )
        model_words = {
            "sc": "synthetic control",
            "sc_intercept": "synthetic control with intercept",
            "did": "DiD",
        }[conformal_model]
        out["inference"] = (
            "conformal inference (Chernozhukov, Wüthrich & Zhu 2021): residuals of a "
            f"{model_words} fitted under the null over all {T} periods, {perm_words} of the "
            f"residuals; statistic = {_conformal.statistic_words(res['statistic_name'], 1)} "
            f"over the {T1} post-periods (pre-period residual autocorrelation "
            f"{res['autocorrelation']:.2f}); "
            f"{level:.0%} CI by test inversion over a constant effect"
            + (f" — {reason}" if reason else "")
        )
        out["details"]["conformal_grid"] = res["grid"]
        if res["empty"]:
            out["warnings"].append(
                "No constant effect is accepted by the conformal test at this level: the "
                "effect likely varies over the post-period, so the confidence set is empty."
            )
        if res["open"]:
            out["warnings"].append(
                "The conformal confidence interval reached the edge of the search grid; the "
                "reported bound is a lower bound on its width."
            )
        out["warnings"] += _limit_warning(res["min_pvalue"], level, f"with {T} periods to permute")
        return out

    if inference in ("placebo_variance", "jackknife"):
        runner = placebo_variance if inference == "placebo_variance" else jackknife
        if runner is None:
            raise InferenceError(
                f"{method}: inference={inference!r} is not available for this estimator."
            )
        se, info = runner()
        from scipy import stats

        z = float(stats.norm.ppf(1 - alpha / 2))
        if not (np.isfinite(se) and se > 0):
            raise InferenceError(
                f"{method}: the {inference.replace('_', ' ')} standard error could not be "
                f"computed ({info.get('why', 'too few units')}). Use inference='placebo' or "
                "'conformal'."
            )
        p = float(2 * stats.norm.sf(abs(point) / se))
        out.update(
            se=se,
            ci_low=point - z * se,
            ci_high=point + z * se,
            pvalue=p,
            inference_method=inference,
        )
        out["inference"] = info["text"] + (f" — {reason}" if reason else "")
        out["details"].update(info.get("details", {}))
        out["warnings"] += info.get("warnings", [])
        return out
    raise InferenceError(f"{method}: inference={inference!r} is not available.")  # pragma: no cover


def build_estimate(
    panel: SinglePanel,
    *,
    method: str,
    point: float,
    omega: np.ndarray,
    lam: np.ndarray,
    gap_parts: tuple[np.ndarray, np.ndarray, np.ndarray],
    inf: dict[str, Any],
    level: float,
    extra_details: dict[str, Any],
    warnings: list[str],
) -> SyntheticEstimate:
    treated, synth, gap = gap_parts
    T0 = panel.T0
    pre_rmspe = float(np.sqrt(np.mean(gap[:T0] ** 2)))
    post_rmspe = float(np.sqrt(np.mean(gap[T0:] ** 2)))
    paths = pd.DataFrame(
        {
            "time": panel.times,
            "treated": treated,
            "synthetic": synth,
            "gap": gap,
            "post": np.arange(len(panel.times)) >= T0,
        }
    )
    unit_weights = pd.Series(omega, index=pd.Index(panel.controls, name="unit"), name="weight")
    time_weights = pd.Series(lam, index=pd.Index(panel.times[:T0], name="time"), name="weight")
    details = {
        "treated_units": list(panel.treated),
        "n_pre_periods": T0,
        "n_post_periods": panel.T1,
        **extra_details,
        **inf["details"],
    }
    return SyntheticEstimate(
        estimate=float(point),
        se=inf["se"],
        ci_low=inf["ci_low"],
        ci_high=inf["ci_high"],
        pvalue=inf["pvalue"],
        method=method,
        inference=inf["inference"],
        inference_method=inf["inference_method"],
        outcome=panel.outcome,
        level=level,
        n_obs=int(panel.Y.size),
        n_units=int(panel.Y.shape[0]),
        n_treated=panel.N1,
        n_clusters=int(panel.Y.shape[0]),
        min_pvalue=inf["min_pvalue"],
        warnings=list(panel.notes) + warnings + inf["warnings"],
        details=details,
        unit_weights=unit_weights,
        time_weights=time_weights,
        paths=paths,
        pre_rmspe=pre_rmspe,
        post_rmspe=post_rmspe,
        start=panel.start,
    )


def check_options(
    method: str,
    level: float,
    statistic: str,
    permutation: str,
    n_permutations: int,
    max_placebos: int,
) -> None:
    if not (isinstance(level, float | int) and 0.5 <= float(level) < 1):
        raise DataError(f"{method}: 'level' must be a confidence level in [0.5, 1), got {level!r}.")
    if statistic not in ("rmspe_ratio", "effect"):
        raise DataError(
            f"{method}: placebo_statistic must be 'rmspe_ratio' or 'effect', got {statistic!r}."
        )
    if permutation not in ("moving_block", "iid"):
        raise DataError(
            f"{method}: permutation must be 'moving_block' or 'iid', got {permutation!r}."
        )
    if not (isinstance(n_permutations, int | np.integer) and n_permutations >= 19):
        raise DataError(
            f"{method}: n_permutations must be an integer ≥ 19, got {n_permutations!r}."
        )
    if not (isinstance(max_placebos, int | np.integer) and max_placebos >= 1):
        raise DataError(f"{method}: max_placebos must be a positive integer, got {max_placebos!r}.")


# --------------------------------------------------------------------------------------------
# Public estimator
# --------------------------------------------------------------------------------------------


def synthetic_control(
    data: pd.DataFrame,
    outcome: str,
    unit: str,
    time: str,
    cohort: str,
    *,
    inference: str = "auto",
    level: float = 0.95,
    seed: int = 0,
    placebo_statistic: str = "rmspe_ratio",
    permutation: str = "moving_block",
    n_permutations: int = 999,
    max_placebos: int = 200,
    min_pre_periods: int = 5,
    eta: float = 1e-6,
) -> SyntheticEstimate:
    """Synthetic control estimate of the effect on one treated unit (ADH 2010).

    Estimates the average post-period effect on the treated unit,
    ``τ = mean over t ≥ start of (Y_treated,t − Σ_j ω_j Y_j,t)``, with non-negative control
    weights ω summing to one, fitted to the treated unit's pre-period outcomes (Abadie,
    Diamond & Hainmueller 2010, *JASA* 105(490)), computed as the ``synthdid`` R package's
    ``sc_estimate`` (Arkhangelsky et al. 2021, *AER* 111(12)): ridge ζ = ``eta`` · σ̂,
    Frank–Wolfe with sparsification. On California's Proposition 99 it gives −19.620 packs.

    Several treated units with the same start are aggregated: the weights reproduce their
    average path and the estimate is their average effect (as in synthdid). With staggered
    starts the earliest cohort is evaluated and the panel is cut before the next one starts.

    Parameters
    ----------
    data : DataFrame
        Long panel, one row per unit × period, balanced and without missing outcomes.
    outcome, unit, time, cohort : str
        Column names; ``cohort`` is the first treated period, missing for never-treated units.
    inference : {"auto", "conformal", "placebo", "randomization", "placebo_variance", "none"}
        ``"placebo"`` (alias ``"randomization"``): placebo-in-space rank test — each control
        in turn as if treated (controls only as donors), p = rank of the treated unit's
        statistic among the J + 1, smallest p = 1/(J + 1); CI by inverting the test over a
        constant effect. ``"conformal"``: Chernozhukov, Wüthrich & Zhu (2021, *JASA*)
        permutation of residuals over time (see :func:`evaluation.conformal_test`), smallest p
        = 1/T with moving-block permutations. ``"placebo_variance"``: Algorithm 4 of
        Arkhangelsky et al. (normal CI; assumes controls and treated have the same noise).
        ``"auto"`` uses conformal when the pre-period has at least 20 periods and is at
        least as long as the post-period, else placebo; ``Estimate.inference`` says which and
        why. ``"cluster"`` and ``"wild"`` raise :class:`~evaluation.errors.InferenceError`.
    level : float
        Confidence level of the interval.
    seed : int
        Seed for random permutations or placebo sets (only used when they are sampled).
    placebo_statistic : {"rmspe_ratio", "effect"}
        Statistic ranked by the placebo test: post/pre RMSPE ratio (ADH 2010; rewards a good
        pre-period fit) or the absolute average effect.
    permutation : {"moving_block", "iid"}
        Permutations of the conformal test; moving-block (cyclic shifts) is valid under serial
        correlation, iid only for exchangeable errors.
    n_permutations : int
        Number of random permutations for ``permutation="iid"`` (smallest p = 1/(n + 1)).
    max_placebos : int
        Placebo sets are enumerated when there are at most this many (always, with one treated
        unit and up to 200 controls), otherwise this many are drawn at random (synthdid draws
        200). Each is a refit.
    min_pre_periods : int
        Fewest pre-periods accepted (default 5); fewer raise DesignError.
    eta : float
        Ridge strength relative to σ̂ (synthdid's ``eta.omega`` for SC, default 10⁻⁶).

    Returns
    -------
    SyntheticEstimate
        With ``unit_weights``, ``time_weights`` (zero: SC compares levels), ``paths``,
        ``pre_rmspe``, ``plot()`` and ``plot_gap()``.

    Examples
    --------
    >>> est = ev.synthetic_control(panel, "crashes", "ward", "week", "cohort")  # doctest: +SKIP
    >>> est.unit_weights.sort_values(ascending=False).head()  # doctest: +SKIP
    """
    method = "synthetic control"
    check_options(method, level, placebo_statistic, permutation, n_permutations, max_placebos)
    if inference == "jackknife":
        raise InferenceError(
            f"{method}: inference='jackknife' is not offered: the jackknife is unreliable for the "
            "synthetic control (Arkhangelsky et al. 2021, §5) and undefined with one treated "
            "unit. Use 'placebo', 'conformal' or 'placebo_variance', or ev.synthetic_did."
        )
    inference = check_inference(
        inference,
        method,
        ("auto", "conformal", "placebo", "randomization", "placebo_variance", "none"),
    )
    panel = prepare_single_unit_panel(
        data, outcome, unit, time, cohort, method=method, min_pre_periods=max(2, min_pre_periods)
    )
    Y, N0, T0 = panel.Y, panel.N0, panel.T0
    w = synthdid_weights(Y, N0, T0, kind="sc", eta_omega=eta)
    omega, lam = w["omega"], w["lambda"]
    parts = synthetic_paths(Y, N0, T0, omega, lam)

    def fit(Yp: np.ndarray, n0: int, t0: int) -> tuple[float, np.ndarray]:
        r = synthdid_weights(Yp, n0, t0, kind="sc", eta_omega=eta)
        return r["estimate"], synthetic_paths(Yp, n0, t0, r["omega"], r["lambda"])[2]

    def placebo_var():
        from evaluation.estimators.sdid import placebo_variance

        return placebo_variance(
            Y,
            N0,
            T0,
            kind="sc",
            zeta_omega=w["zeta_omega"],
            zeta_lambda=w["zeta_lambda"],
            max_sets=max_placebos,
            seed=seed,
        )

    inf = single_unit_inference(
        panel,
        fit,
        w["estimate"],
        parts[2],
        method=method,
        inference=inference,
        level=level,
        seed=seed,
        statistic=placebo_statistic,
        permutation=permutation,
        n_permutations=n_permutations,
        max_placebos=max_placebos,
        conformal_model="sc",
        conformal_zeta=w["zeta_omega"],
        placebo_variance=placebo_var,
    )
    warnings = fit_warning(panel, parts[2][:T0], method)
    return build_estimate(
        panel,
        method=method,
        point=w["estimate"],
        omega=omega,
        lam=lam,
        gap_parts=parts,
        inf=inf,
        level=level,
        extra_details={"zeta_omega": w["zeta_omega"], "noise_level": w["noise"]},
        warnings=warnings,
    )
