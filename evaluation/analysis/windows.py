"""The comparisons the findings rest on, for any district: which panel an outcome lives in,
which wards a ward is compared with and over which weeks, and the planted truth over exactly
the cells an estimate covers.

* :data:`INDICATORS` — for each outcome the workbench can evaluate, the panel it is measured
  in (weekly traffic, monthly fires, police periods) and the model it calls for (least squares
  in the outcome's unit; Poisson with population exposure for counts; weights for shares).
* :func:`comparison_window` — one ward against the wards not yet (or never) treated, over the
  periods before the next cohort starts: a balanced panel in which the ward is the only treated
  unit, so its estimate is its own, and permuting which ward is treated is a valid test.
* :func:`estimate` — the model of an indicator on a panel, ``inference="auto"``.
* truth helpers — the realised effect over given cells, from the simulated outcomes with and
  without the programmes (``truth/`` folder of simulated data).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.analysis.district import District
from evaluation.errors import DataError, DesignError
from evaluation.estimators.twfe import twfe
from evaluation.i18n import Text, say
from evaluation.inference.choose import MIN_PRE_PERIODS
from evaluation.results import Estimate

__all__ = [
    "INDICATORS",
    "Indicator",
    "TIME",
    "UNIT",
    "Window",
    "base_period",
    "comparison_window",
    "estimate",
    "quiet",
    "truth_for",
]

#: the unit and period columns of every panel of :class:`~evaluation.analysis.district.District`
UNIT, TIME = "ward", "period_start"


def quiet(fn, *args, **kw):
    """Run an estimator without numerical warnings leaking into a report's stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return fn(*args, **kw)


# TRANSLATORS: a period of a panel, one and several ("12 weeks before the start")
_WEEK, _WEEKS = say("week"), say("weeks")
_MONTH, _MONTHS = say("month"), say("months")
# TRANSLATORS: the police's reporting period, the 15th of a month to the 14th of the next
_POLICE, _POLICES = say("police period"), say("police periods")


@dataclass(frozen=True)
class Indicator:
    """How an outcome is evaluated: its panel (a District method taking ``programme``), the
    model (``family``, ``exposure``, ``weights`` column or None), the period in words (one
    and several, in both languages), and the fewest events a ward needs before and after its
    start for a count model."""

    outcome: str
    panel: Callable[[District, str], pd.DataFrame]
    family: str = "gaussian"
    exposure: str | None = None
    weights: str | None = None
    period: Text = _WEEK
    periods: Text = _WEEKS
    min_events: int = 0

    @property
    def period_vi(self) -> str:
        return self.period.vi

    @property
    def period_en(self) -> str:
        return self.period.en

    def data(self, district: District, programme: str) -> pd.DataFrame:
        panel = self.panel(district, programme)
        if self.weights == "criminal_cases":  # a share is only defined with cases
            panel = panel[panel["criminal_cases"] > 0].assign(
                criminal_cases=lambda d: d["criminal_cases"].astype(float)
            )
        return panel


def _traffic(d: District, p: str) -> pd.DataFrame:
    return d.traffic_weekly(p)


def _fires(d: District, p: str) -> pd.DataFrame:
    return d.fires_monthly(p)


def _security(d: District, p: str) -> pd.DataFrame:
    return d.security(p)


def _electrical(d: District, p: str) -> pd.DataFrame:
    return d.electrical_monthly(p)


INDICATORS: dict[str, Indicator] = {
    i.outcome: i
    for i in (
        Indicator("congestion_minutes", _traffic),
        Indicator("avg_speed_kmh", _traffic),
        Indicator(
            "traffic_accidents", _security, "poisson", "population", None, _POLICE, _POLICES, 1
        ),
        Indicator("fires", _fires, "poisson", "population", None, _MONTH, _MONTHS, 1),
        Indicator(
            "electrical_incidents", _electrical, "poisson", "population", None, _MONTH, _MONTHS, 1
        ),
        Indicator("solved_share", _security, "gaussian", None, "criminal_cases", _POLICE, _POLICES),
        Indicator("theft_cases", _security, "poisson", "population", None, _POLICE, _POLICES, 1),
    )
}

#: outcomes too rare for a comparison with ward and period effects (said so, with the counts)
RARE_OUTCOMES = ("escalated", "deaths", "loss_mvnd")


def estimate(
    data: pd.DataFrame, indicator: Indicator, *, inference: str = "auto", n_boot: int = 9999
) -> Estimate:
    """Two-way fixed effects of the indicator's model on ``data`` (cohort column ``cohort``)."""
    kw: dict = {"inference": inference, "n_boot": n_boot}
    if indicator.family == "poisson":
        kw.update(family="poisson", exposure=indicator.exposure)
        # A ward without a single event carries no information on a rate ratio with ward
        # effects (its effect diverges); leaving it out before estimating keeps every
        # re-assignment of randomization inference estimable. The outcomes are fixed under the
        # null, so choosing wards by them does not bias the test.
        totals = data.groupby(UNIT)[indicator.outcome].transform("sum")
        data = data[totals > 0]
        starts = data.groupby(UNIT)["cohort"].first().dropna().unique()
        if len(starts) == 1:
            # one ward's window: randomization inference gives its start to each ward in turn,
            # so each needs events before and after it for the rate ratio to exist
            post = data[TIME] >= starts[0]
            before = data[~post].groupby(UNIT)[indicator.outcome].sum()
            after = data[post].groupby(UNIT)[indicator.outcome].sum()
            both = before.index[(before > 0) & (after.reindex(before.index, fill_value=0) > 0)]
            data = data[data[UNIT].isin(both)]
    if indicator.weights:
        kw["weights"] = indicator.weights
    return quiet(twfe, data, indicator.outcome, UNIT, TIME, "cohort", **kw)


# --------------------------------------------------------------------------------------------
# One ward against the wards not yet treated
# --------------------------------------------------------------------------------------------


@dataclass
class Window:
    """One ward against the wards not yet (or never) treated, before the next cohort starts.

    ``data`` holds the ward and its comparison wards over the periods before ``next_cohort``
    (the first period of the next cohort), the comparison wards' cohort cleared (untreated
    throughout). ``start`` is the ward's start in the registry, ``end`` the last day of the
    last period used.
    """

    ward: str
    start: pd.Timestamp
    cohort: pd.Timestamp
    next_start: pd.Timestamp | None
    comparison: list[str]
    data: pd.DataFrame
    #: the periods after the start were cut to as many as before it (see comparison_window)
    cut: bool = False

    @property
    def end(self) -> pd.Timestamp:
        last = self.data[TIME].max()
        if "period_end" in self.data:
            return pd.Timestamp(self.data.loc[self.data[TIME] == last, "period_end"].max())
        return pd.Timestamp(last)

    @property
    def before(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The periods before the start the comparison rests on (first day, last day)."""
        return base_period(self.data, self.cohort)

    @property
    def n_pre(self) -> int:
        return int(self.data.loc[self.data[TIME] < self.cohort, TIME].nunique())

    @property
    def n_post(self) -> int:
        return int(self.data.loc[self.data[TIME] >= self.cohort, TIME].nunique())


def base_period(
    panel: pd.DataFrame, cohort, anticipation: int = 0
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The periods of ``panel`` before ``cohort`` (a first treated period) that a comparison
    takes as its base, as (first day, last day): from the panel's first period to the last
    before the start, less the ``anticipation`` periods just before it. None when there are
    none (a start at the beginning of the data)."""
    times = np.sort(pd.to_datetime(panel[TIME]).unique())
    pre = times[times < np.datetime64(pd.Timestamp(cohort), "ns")]
    if anticipation > 0:
        pre = pre[: max(len(pre) - anticipation, 0)]
    if len(pre) == 0:
        return None
    last = pd.Timestamp(pre[-1])
    if "period_end" in panel:
        end = pd.Timestamp(panel.loc[pd.to_datetime(panel[TIME]) == last, "period_end"].max())
    else:
        later = times[times > pre[-1]]
        end = pd.Timestamp(later[0]) - pd.Timedelta(days=1) if len(later) else last
    return pd.Timestamp(pre[0]), end


def comparison_window(
    panel: pd.DataFrame, starts: pd.Series, ward: str, *, exclude: tuple[str, ...] = ()
) -> Window | None:
    """The ward's window and comparison wards, or None when no untreated ward remains.

    ``panel`` carries ``cohort`` (first treated period of each ward; missing = never);
    ``starts`` the registry start date by ward. The window runs from the data's first period
    to the period before the first later cohort; comparison wards are those whose cohort is at
    or after that period, or who are never treated; wards that started earlier or together
    with this one (its own wave) are neither treated ward nor comparison, and so are the wards
    in ``exclude``.
    """
    panel = panel[~panel[UNIT].isin(exclude) | (panel[UNIT] == ward)]
    cohorts = panel.groupby(UNIT, sort=True)["cohort"].first()
    if ward not in cohorts.index:
        raise DataError(f"ward {ward!r} is not in the panel")
    g = cohorts[ward]
    if pd.isna(g):
        raise DesignError(f"{ward} never started this programme: there is no effect to estimate")
    later = cohorts[cohorts.notna() & (cohorts > g)]
    never = cohorts[cohorts.isna()]
    if later.empty and never.empty:
        return None
    if later.empty:
        next_cohort, next_start = panel[TIME].max() + pd.Timedelta(days=1), None
    else:
        next_cohort = later.min()
        next_start = pd.Timestamp(starts[later.index[later == next_cohort]].min())
    comparison = sorted(set(later.index) | set(never.index))
    data = panel[(panel[TIME] < next_cohort) & panel[UNIT].isin([ward, *comparison])].copy()
    data.loc[data[UNIT] != ward, "cohort"] = pd.NaT
    # Every ward in the window must be observed before and after the start, as the treated
    # ward is: randomization inference gives the start to each of them in turn (a panel with
    # gaps, e.g. police periods without a criminal case, can leave a ward without either).
    post = data[TIME] >= g
    both = data[post].groupby(UNIT).size().reindex(data[UNIT].unique(), fill_value=0).gt(0)
    both &= data[~post].groupby(UNIT).size().reindex(both.index, fill_value=0).gt(0)
    if not both.get(ward, False):
        return None
    comparison = [w for w in comparison if both.get(w, False)]
    if not comparison:
        return None
    data = data[data[UNIT].isin([ward, *comparison])]
    # One treated ward is judged by permuting time (conformal inference), which needs at least
    # as many periods before the start as after it; with fewer it falls back to permuting
    # wards, whose smallest p-value (1 / number of wards) can never reach 5 % in a district of
    # 13. So when the data before the start are long enough, the window keeps as many periods
    # after the start as before it, and says so, rather than leave the question undecidable.
    times = np.sort(data[TIME].unique())
    n_pre = int((times < g).sum())
    cut = MIN_PRE_PERIODS <= n_pre < len(times) - n_pre
    if cut:
        data = data[data[TIME] < times[2 * n_pre]]
    return Window(
        ward,
        pd.Timestamp(starts[ward]),
        g,
        next_start,
        comparison,
        data.reset_index(drop=True),
        cut,
    )


def events(data: pd.DataFrame, ward: str, outcome: str) -> tuple[int, int]:
    """Events of ``outcome`` in ``ward`` before and from its first treated period."""
    own = data[data[UNIT] == ward]
    g = own["cohort"].iloc[0]
    return int(own.loc[own[TIME] < g, outcome].sum()), int(own.loc[own[TIME] >= g, outcome].sum())


def baseline(data: pd.DataFrame, wards, outcome: str, cohort_col: str = "cohort") -> float | None:
    """The treated wards' mean outcome before their start: the level a percentage refers to."""
    d = data[data[UNIT].isin(list(wards))]
    pre = d.loc[d[cohort_col].isna() | (d[TIME] < d[cohort_col]), outcome]
    return float(pre.mean()) if len(pre) else None


# --------------------------------------------------------------------------------------------
# Planted truth (simulated data)
# --------------------------------------------------------------------------------------------


def treated_cells(data: pd.DataFrame) -> pd.DataFrame:
    """The (ward, period) cells an estimate on ``data`` counts as treated."""
    d = data[data["cohort"].notna() & (data[TIME] >= data["cohort"])]
    return d[[UNIT, TIME]].drop_duplicates()


def truth_for(
    district: District, outcome: str, cells: pd.DataFrame, *, weights=None
) -> float | None:
    """The realised effect over ``cells`` (ward × period) on the display scale — minutes or
    km/h for traffic, percent change for counts, percentage points for shares — from the
    simulated outcomes with and without the programmes; None for real data."""
    if cells.empty:
        return None
    if outcome in ("congestion_minutes", "avg_speed_kmh"):
        t = district.traffic_truth_weekly
        if t is None:
            return None
        col = "effect_congestion" if outcome == "congestion_minutes" else "effect_speed"
        rows = cells.merge(t, on=[UNIT, TIME])
        return float(rows[col].mean()) if len(rows) else None
    if outcome in ("fires", "escalated"):
        ft = district.fire_truth
        if ft is None:
            return None
        col = {"fires": "fires_expected", "escalated": "escalated_expected"}[outcome]
        rows = cells.merge(ft, on=[UNIT, TIME])
        return _percent(rows[f"{col}1"].sum(), rows[f"{col}0"].sum())
    st = district.security_truth
    if st is None:
        return None
    rows = cells.merge(st, on=[UNIT, TIME])
    if not len(rows):
        return None
    if outcome == "traffic_accidents":
        return _percent(rows["accidents_expected1"].sum(), rows["accidents_expected0"].sum())
    if outcome == "solved_share":
        w = rows[weights] if weights is not None and weights in rows else 1.0
        diff = 100 * (rows["solve_rate1"] - rows["solve_rate0"])
        return float((diff * w).sum() / (w.sum() if hasattr(w, "sum") else len(rows)))
    return None


def _percent(with_: float, without: float) -> float | None:
    return 100 * (with_ / without - 1) if without > 0 and math.isfinite(with_) else None
