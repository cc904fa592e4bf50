"""What only the weekly outcomes of a staggered rollout allow: the rollout and its waves by
Callaway & Sant'Anna (2021), the two-way fixed effects contrast and its Goodman-Bacon (2021)
decomposition, the pilot's single-unit alternatives (synthetic control, synthetic DiD), and the
naive before/after comparison they must beat.

Nothing here names a ward or a date: the rollout's wards, waves and starts come from the
registry (:class:`~evaluation.analysis.district.District`), the anticipation window from the
programme's ``anticipation_days`` in the registry (none when absent).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evaluation.analysis.district import District
from evaluation.analysis.windows import TIME, UNIT, Window, quiet
from evaluation.estimators.att_gt import att_gt
from evaluation.estimators.twfe import twfe
from evaluation.results import Estimate

__all__ = [
    "SENSITIVITY_M",
    "Rollout",
    "anticipation_periods",
    "before_after",
    "pilot_alternatives",
    "pilot_sensitivity",
    "rollout_sensitivity",
    "rollout",
    "twfe_contrast",
]


def anticipation_periods(district: District, programme: str, panel: pd.DataFrame) -> int:
    """The registry's ``anticipation_days`` in periods of ``panel`` (rounded up): the periods
    before each start left out of the base period, because wards already react to a launch
    they know is coming."""
    days = float(district.programme_meta(programme).get("anticipation_days") or 0)
    if days <= 0:
        return 0
    step = pd.Series(sorted(panel[TIME].unique())).diff().dt.days.median()
    return int(math.ceil(days / step)) if step and step > 0 else 0


@dataclass
class Rollout:
    """The rollout of a programme on one weekly outcome, without its pilot ward.

    ``att`` is Callaway & Sant'Anna's ATT(g, t) with not-yet-treated comparisons; ``simple``
    the average over the treated ward-weeks that had a comparison (randomization inference);
    ``group`` the waves (randomization inference each); ``dynamic`` effects by weeks since the
    start (influence-function intervals, for the figure). ``used`` are the post-treatment
    (cohort, period) cells that enter ``simple``.
    """

    outcome: str
    panel: pd.DataFrame
    att: Any
    simple: Estimate
    group: Any
    dynamic: Any
    anticipation: int
    used: pd.DataFrame

    @property
    def last_period(self) -> pd.Timestamp:
        return pd.Timestamp(self.used["time"].max())

    def covered_wards(self) -> list[str]:
        cohorts = self.panel.groupby(UNIT)["cohort"].first()
        groups = set(self.used["group"])
        return sorted(w for w, g in cohorts.items() if g in groups)

    def cells(self) -> pd.DataFrame:
        """The treated ward-weeks the simple average covers."""
        cohorts = self.panel.groupby(UNIT)["cohort"].first().rename("group").reset_index()
        cells = cohorts.merge(self.used, on="group")
        return cells.rename(columns={"time": TIME})[[UNIT, TIME, "group"]]


def rollout(district: District, programme: str, outcome: str, panel: pd.DataFrame) -> Rollout:
    """Callaway & Sant'Anna ATT(g, t) of the rollout on ``panel`` (the pilot ward already left
    out), not-yet-treated comparisons, the registry's anticipation.

    Kept in the district's memo, keyed by the panel's content: computed once per district and
    panel, never handed to another district (a process-wide cache keyed by ``id(district)``
    gave a later district, at a reused address, an earlier one's results)."""
    columns = [UNIT, TIME, "cohort", outcome]
    fingerprint = int(pd.util.hash_pandas_object(panel[columns], index=False).sum())
    key = ("rollout", programme, outcome, fingerprint)
    if key in district.memo:
        return district.memo[key]
    k = anticipation_periods(district, programme, panel)
    att = quiet(att_gt, panel, outcome, UNIT, TIME, "cohort", control="notyet", anticipation=k)
    simple = quiet(att.aggregate, "simple").overall
    group = quiet(att.aggregate, "group")
    dynamic = quiet(att.aggregate, "dynamic", min_e=-12, max_e=12, inference="analytic")
    used = att.table.loc[att.table["post"] & att.table["att"].notna(), ["group", "time"]]
    roll = Rollout(outcome, panel, att, simple, group, dynamic, k, used.reset_index(drop=True))
    district.memo[key] = roll
    return roll


def twfe_contrast(panel: pd.DataFrame, outcome: str):
    """Two-way fixed effects on the whole rollout (``inference="auto"``) and its Goodman-Bacon
    (2021) decomposition: the regression many would run, and why it is biased when effects
    differ between waves or change over time."""
    from evaluation.diagnostics.bacon import bacon_decomposition

    est = quiet(twfe, panel, outcome, UNIT, TIME, "cohort", inference="auto", n_boot=999)
    bacon = quiet(bacon_decomposition, panel, outcome, UNIT, TIME, "cohort")
    return est, bacon


def pilot_alternatives(win: Window, outcome: str) -> dict[str, Estimate]:
    """Synthetic DiD (Arkhangelsky et al. 2021) and synthetic control (Abadie et al. 2010) for
    the pilot ward over its window, ``inference="auto"`` (conformal with a long pre-period)."""
    from evaluation.estimators.sdid import synthetic_did
    from evaluation.estimators.synth import synthetic_control

    args = (win.data, outcome, UNIT, TIME, "cohort")
    return {"sdid": quiet(synthetic_did, *args), "sc": quiet(synthetic_control, *args)}


def before_after(
    panel: pd.DataFrame, ward: str, outcome: str = "congestion_minutes", periods: int = 4
) -> pd.DataFrame:
    """The naive comparison: mean of ``outcome`` in the ``periods`` before the ward's first
    treated period and in the ``periods`` from it, for the ward and for the other wards'
    average — and the difference of the two changes (a 2×2 difference-in-differences).

    ``panel`` carries the ward's ``cohort``. Returns rows ``ward``, ``others``, ``difference``
    with columns ``before``, ``after``, ``change``.
    """
    g = panel.loc[panel[UNIT] == ward, "cohort"].iloc[0]
    times = sorted(panel[TIME].unique())
    k = times.index(g)
    before_t, after_t = times[max(0, k - periods) : k], times[k : k + periods]

    def means(mask):
        d = panel[mask]
        return (
            float(d.loc[d[TIME].isin(before_t), outcome].mean()),
            float(d.loc[d[TIME].isin(after_t), outcome].mean()),
        )

    own = means(panel[UNIT] == ward)
    others = means(panel[UNIT] != ward)
    table = pd.DataFrame(
        {"before": [own[0], others[0]], "after": [own[1], others[1]]},
        index=[ward, "others"],
    )
    table["change"] = table["after"] - table["before"]
    table.loc["difference"] = table.loc[ward] - table.loc["others"]
    table.attrs.update(before=(before_t[0], before_t[-1]), after=(after_t[0], after_t[-1]))
    return table


#: values of M̄ (relative magnitudes, Rambachan & Roth 2023) the reports examine
SENSITIVITY_M = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)


def pilot_sensitivity(win: Window, outcome: str, *, months: int = 4):
    """How large a violation of parallel trends would overturn the pilot's conclusion
    (HonestDiD relative magnitudes; Rambachan & Roth 2023).

    The event study of the pilot ward against its comparison wards, by month since the start
    (``months`` before and after), gives β̂. With one treated ward a cluster-robust covariance
    is not valid, so Σ is the covariance of the same event study run with each comparison ward
    as the treated one (the placebo variance of Arkhangelsky et al. 2021, Algorithm 4, for the
    whole path): it assumes the pilot ward's noise is like its comparison wards'.
    """
    import numpy as np

    from evaluation.estimators.event_study import event_study
    from evaluation.inference.honest_did import honest_did

    window = (-months, months)
    kw = dict(window=window, frequency="month", inference="none")
    real = quiet(event_study, win.data, outcome, UNIT, TIME, "cohort", **kw).coefs
    start = win.cohort
    placebo = []
    others = win.data[win.data[UNIT] != win.ward]
    for ward in win.comparison:
        d = others.assign(cohort=others["cohort"].mask(others[UNIT] == ward, start))
        try:
            placebo.append(quiet(event_study, d, outcome, UNIT, TIME, "cohort", **kw).coefs)
        except Exception:  # a comparison ward the event study cannot use as treated
            continue
    times = [t for t in real["rel_time"] if t != -1]
    B = np.array([p.set_index("rel_time").reindex(times)["estimate"].to_numpy() for p in placebo])
    B = B[np.isfinite(B).all(axis=1)]
    sigma = np.cov(B, rowvar=False, ddof=1)
    beta = real.set_index("rel_time").loc[times, "estimate"].to_numpy()
    pre = sum(t < -1 for t in times)
    post = len(times) - pre
    result = honest_did(
        beta,
        sigma,
        pre,
        post,
        restriction="relative_magnitude",
        M=list(SENSITIVITY_M),
        l_vec=np.full(post, 1 / post),
    )
    result.details["covariance"] = f"placebo covariance over {len(B)} comparison wards"
    return result


def rollout_sensitivity(district: District, programme: str, outcome: str, panel: pd.DataFrame):
    """How large a violation of parallel trends would overturn the rollout's conclusion:
    Callaway & Sant'Anna by weeks since the start, with the universal base period (the week
    before the anticipation window is the reference, as HonestDiD needs), average of the
    post-start weeks, relative magnitudes (Rambachan & Roth 2023). Σ comes from the influence
    functions, which are too small with about a dozen wards: read the robust intervals as
    optimistic."""
    k = anticipation_periods(district, programme, panel)
    att = quiet(
        att_gt,
        panel,
        outcome,
        UNIT,
        TIME,
        "cohort",
        control="notyet",
        anticipation=k,
        base_period="universal",
    )
    dynamic = quiet(att.aggregate, "dynamic", min_e=-6 - k, max_e=4, inference="analytic")
    result = dynamic.sensitivity(M=list(SENSITIVITY_M))
    result.details["covariance"] = "influence-function covariance (optimistic with few wards)"
    return result
