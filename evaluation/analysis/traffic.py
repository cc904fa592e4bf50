"""The traffic model: one ward against the wards not yet treated, the pilot with single-unit
methods, and the staggered rollout.

* :func:`traffic_effect` — one ward on weekly congestion minutes or speed: two-way fixed effects
  DiD against the not-yet-treated wards before the next wave starts
  (:func:`~evaluation.analysis.effects.comparison_window`), ``inference="auto"`` (conformal
  inference for one ward with a long pre-period, Chernozhukov, Wüthrich & Zhu 2021), with
  fake-start, fake-ward (placebo in space) and spill-over checks. In the last wave no untreated ward remains: the rollout's
  average effect is reported instead, and the verdict says so.
* :func:`accidents_effect` — road accidents per police period, the same window, Poisson TWFE
  with population exposure.
* :func:`pilot_analysis` — synthetic control and synthetic DiD for the pilot ward, with the
  placebo in space; :func:`before_after` — the naive comparison they must beat.
* :func:`traffic_rollout` — Callaway & Sant'Anna (2021) ATT(g, t) with not-yet-treated
  comparisons and its aggregations; :func:`rollout_twfe` — TWFE and its Goodman-Bacon (2021)
  decomposition beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

from evaluation.analysis.district import District
from evaluation.analysis.effects import (
    TIME,
    UNIT,
    WAVE_VI,
    Check,
    ComparisonWindow,
    ProgrammeEffect,
    _coherent,
    _placebo_checks,
    _prefixed,
    _quiet,
    _too_few_events,
    _verdict,
    comparison_window,
    date_en,
    date_vi,
    not_evaluable,
    outcome_info,
)
from evaluation.errors import DesignError
from evaluation.estimators.att_gt import att_gt
from evaluation.estimators.twfe import twfe
from evaluation.inference.placebo import placebo_in_space
from evaluation.report.verdict import fmt_en, fmt_vi
from evaluation.results import Estimate

__all__ = [
    "traffic_effect",
    "accidents_effect",
    "Rollout",
    "traffic_rollout",
    "rollout_effects",
    "rollout_twfe",
    "PilotAnalysis",
    "pilot_analysis",
    "before_after",
    "ANTICIPATION_WEEKS",
]


def _traffic_truth(district: District, ward: str, outcome: str, first, last) -> float | None:
    t = district.traffic_truth_weekly
    if t is None or outcome not in ("congestion_minutes", "avg_speed_kmh"):
        return None
    col = "effect_congestion" if outcome == "congestion_minutes" else "effect_speed"
    rows = t[(t[UNIT] == ward) & (t[TIME] >= first) & (t[TIME] <= last)]
    return float(rows[col].mean()) if len(rows) else None


def _window_design_text(win: ComparisonWindow, district: District) -> tuple[str, str]:
    n = len(win.comparison)
    names = ", ".join(win.comparison)
    vi = (
        f"So sánh phường {win.ward} (bắt đầu {date_vi(win.start)}) với {n} phường chưa triển "
        f"khai ({names}), từ đầu chuỗi số liệu đến {date_vi(win.end)} — trước khi đợt tiếp "
        f"theo bắt đầu; sai khác kép (hiệu ứng cố định phường và tuần)."
    )
    en = (
        f"Ward {win.ward} (started {date_en(win.start)}) against the {n} wards not yet treated "
        f"({names}), from the start of the data to {date_en(win.end)}, before the next wave "
        f"started; difference-in-differences with ward and week fixed effects."
    )
    return vi, en


def _spillover_check(win: ComparisonWindow, outcome: str, district: District) -> Check:
    """Re-estimate without comparison wards bordering a ward treated within the window."""
    from evaluation.data.wards import neighbours

    treated = set(district.starts("traffic_model").loc[lambda s: s < win.next_start].index)
    near = {w for t in treated for w in neighbours(t)}
    far = [w for w in win.comparison if w not in near]
    if len(far) < 2:
        return Check(
            "Loại phường giáp ranh (lan tỏa)",
            "Without bordering wards (spill-over)",
            f"Chỉ còn {len(far)} phường đối chứng không giáp phường đã triển khai: không đủ để "
            "kiểm tra.",
            f"Only {len(far)} comparison ward(s) do not border a treated ward: too few to check.",
            None,
        )
    data = win.data[win.data[UNIT].isin([win.ward, *far])]
    est = _quiet(twfe, data, outcome, UNIT, TIME, "cohort", inference="auto")
    o = outcome_info(outcome)
    return Check(
        "Loại phường giáp ranh (lan tỏa)",
        "Without bordering wards (spill-over)",
        f"Chỉ so với {len(far)} phường không giáp phường đã triển khai: "
        f"{fmt_vi(est.estimate, 2)} {o.unit_vi} [{fmt_vi(est.ci_low, 2)}; "
        f"{fmt_vi(est.ci_high, 2)}]. Phường giáp ranh có thể hưởng lợi gián tiếp (xe tránh "
        "sang đường khác), làm ước lượng chính nhỏ đi.",
        f"Against the {len(far)} wards not bordering a treated ward only: "
        f"{fmt_en(est.estimate, 2)} {o.unit_en} [{fmt_en(est.ci_low, 2)}, "
        f"{fmt_en(est.ci_high, 2)}]. Bordering wards may benefit indirectly (diverted "
        "traffic), which shrinks the main estimate.",
        None,
        float(est.estimate),
    )


def traffic_effect(
    district: District, ward: str, outcome: str = "congestion_minutes", *, checks: bool = True
) -> ProgrammeEffect:
    """Effect of the traffic model in one ward on weekly congestion minutes or speed.

    Two-way fixed effects DiD of the ward against the not-yet-treated wards over the window
    before the next wave (:func:`comparison_window`), ``inference="auto"`` (conformal for one
    ward with a long pre-period). Without an untreated ward left, the rollout's average effect
    stands in, said so in the verdict. ``checks`` adds the placebos and the spill-over check.
    """
    panel = district.traffic_weekly("traffic_model")
    starts = district.starts("traffic_model")
    win = comparison_window(panel, starts, ward)
    if win is None:
        return _rollout_stand_in(district, ward, outcome)
    est, notes_vi = _coherent(
        _quiet(twfe, win.data, outcome, UNIT, TIME, "cohort", inference="auto")
    )
    design_vi, design_en = _window_design_text(win, district)
    last = win.data[TIME].max()
    truth = _traffic_truth(district, ward, outcome, win.cohort, last)
    baseline = _baseline(win.data, ward, win.cohort, outcome)
    found = []
    if checks:
        # fake start dates (pre-trends), each comparison ward as if treated, spill-over:
        # least squares fits on 13 wards × 80 weeks, a few milliseconds each
        found = _placebo_checks(win.data, outcome, est.estimate)
        found.append(_spillover_check(win, outcome, district))
    return ProgrammeEffect(
        ward=ward,
        programme="traffic_model",
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=False, baseline=baseline),
        design_vi=design_vi,
        design_en=design_en,
        window=(win.start, win.end),
        comparison=win.comparison,
        checks=found,
        truth=truth,
        notes_vi=notes_vi,
        details={"n_pre": win.n_pre, "n_post": win.n_post, "baseline": baseline},
    )


def _baseline(data: pd.DataFrame, ward: str, g, outcome: str) -> float | None:
    pre = data.loc[(data[UNIT] == ward) & (data[TIME] < g), outcome]
    return float(pre.mean()) if len(pre) else None


def _rollout_stand_in(district: District, ward: str, outcome: str) -> ProgrammeEffect:
    start = district.starts("traffic_model")[ward]
    roll = traffic_rollout(district, outcome)
    est = roll.simple
    waves = ", ".join(roll.covered_waves)
    waves_vi = ", ".join(WAVE_VI.get(w, w) for w in roll.covered_waves)
    vi = (
        f"Phường {ward} bắt đầu {date_vi(start)} cùng đợt cuối: sau ngày đó không còn phường nào "
        "chưa triển khai để so sánh, nên không thể ước lượng riêng tác động ở phường này. Kết quả "
        f"nêu ở đây là tác động trung bình của các đợt trước ({waves_vi}) theo phân tích nhân rộng, "
        "không phải của riêng phường."
    )
    en = (
        f"{ward} started on {date_en(start)} with the last wave: no ward was left untreated "
        "to compare with, so its own effect cannot be estimated. The estimate given here is the "
        f"average effect of the earlier waves ({waves}) from the rollout analysis, not this "
        "ward's own."
    )
    v = _prefixed(_verdict(est, outcome, percent=False), vi, en)
    return ProgrammeEffect(
        ward=ward,
        programme="traffic_model",
        outcome=outcome,
        estimate=est,
        verdict=v,
        design_vi=(
            "Phân tích nhân rộng (Callaway & Sant'Anna 2021): mỗi đợt so với các phường chưa "
            "triển khai; trung bình các đợt có phường đối chứng."
        ),
        design_en=(
            "Rollout analysis (Callaway & Sant'Anna 2021): each wave against the wards not yet "
            "treated; average over the waves that had comparison wards."
        ),
        truth=roll.truth_simple,
        notes_vi=[vi],
        notes_en=[en],
        details={
            "stand_in": "rollout",
            "own_truth": _traffic_truth(
                district, ward, outcome, start, district.traffic_weekly()[TIME].max()
            ),
        },
    )


@dataclass
class Rollout:
    """The staggered rollout of the traffic model on one outcome (district level).

    ``att`` is Callaway & Sant'Anna's ATT(g, t) with not-yet-treated comparisons; ``simple``,
    ``dynamic``, ``group``, ``calendar`` its aggregations; ``twfe`` the two-way fixed effects
    estimate on the same panel and ``bacon`` its Goodman-Bacon decomposition (computed on
    demand: :meth:`with_twfe`).
    """

    outcome: str
    panel: pd.DataFrame
    att: Any
    simple: Estimate
    dynamic: Any
    group: Any
    calendar: Any
    covered_waves: list[str]
    truth_simple: float | None = None
    truth_by_group: dict | None = None


_ROLLOUTS: dict[tuple[int, str, int], Rollout] = {}


#: weeks before a launch in which wards already react (volunteers are recruited about two
#: weeks early): the rollout's base period is taken before them
ANTICIPATION_WEEKS = 2


def traffic_rollout(
    district: District,
    outcome: str = "congestion_minutes",
    anticipation: int = ANTICIPATION_WEEKS,
) -> Rollout:
    """Callaway & Sant'Anna (2021) ATT(g, t) of the traffic model's rollout, not-yet-treated
    comparisons, weekly ward means, ``anticipation`` weeks before each launch excluded from
    the base period; cached per district, outcome and anticipation within the process."""
    key = (id(district), outcome, anticipation)
    if key in _ROLLOUTS:
        return _ROLLOUTS[key]
    panel = district.traffic_weekly("traffic_model")
    att = _quiet(
        att_gt,
        panel,
        outcome,
        UNIT,
        TIME,
        "cohort",
        control="notyet",
        anticipation=anticipation,
    )
    simple = _quiet(att.aggregate, "simple", inference="auto").overall
    dynamic = _quiet(att.aggregate, "dynamic", min_e=-12, max_e=12)
    group = _quiet(att.aggregate, "group")
    calendar = _quiet(att.aggregate, "calendar")
    used = set(att.table.loc[att.table["att"].notna() & att.table["post"], "group"])
    cohorts = panel.groupby(UNIT)["cohort"].first()
    reg = district.registry.for_programme("traffic_model").set_index(UNIT)
    wave = reg["wave"] if "wave" in reg else pd.Series(dtype=str)
    waves = sorted(
        {str(wave.get(w)) for w, g in cohorts.items() if g in used and pd.notna(wave.get(w))},
        key=lambda x: (x != "pilot", x),
    )
    roll = Rollout(outcome, panel, att, simple, dynamic, group, calendar, waves)
    truth = district.traffic_truth_weekly
    if truth is not None and outcome in ("congestion_minutes", "avg_speed_kmh"):
        col = "effect_congestion" if outcome == "congestion_minutes" else "effect_speed"
        post = att.table[att.table["post"] & att.table["att"].notna()]
        cells = panel.merge(
            post[["group", "time"]], left_on=["cohort", TIME], right_on=["group", "time"]
        )
        t = cells[[UNIT, TIME]].merge(truth, on=[UNIT, TIME])
        roll.truth_simple = float(t[col].mean()) if len(t) else None
        by = cells[[UNIT, TIME, "group"]].merge(truth, on=[UNIT, TIME]).groupby("group")[col].mean()
        roll.truth_by_group = {pd.Timestamp(k): float(v) for k, v in by.items()}
    _ROLLOUTS[key] = roll
    return roll


def accidents_effect(district: District, ward: str) -> ProgrammeEffect:
    """Traffic model on road accidents per police period: the ward against the not-yet-treated
    wards before the next wave, Poisson TWFE with population exposure, inference auto."""
    panel = district.security("traffic_model")
    win = comparison_window(panel, district.starts("traffic_model"), ward)
    outcome = "traffic_accidents"
    if win is None:
        return not_evaluable(
            ward,
            "traffic_model",
            outcome,
            "Không còn phường chưa triển khai để so sánh sau khi phường này bắt đầu; số vụ tai "
            "nạn quá ít để ước lượng theo đợt.",
            "No untreated ward is left to compare with after this ward started; accidents are "
            "too few to estimate by wave.",
        )
    few = _too_few_events(win.data, ward, outcome, "traffic_model")
    if few is not None:
        return few
    est = _quiet(
        twfe,
        win.data,
        outcome,
        UNIT,
        TIME,
        "cohort",
        family="poisson",
        exposure="population",
        inference="auto",
    )
    truth = None
    st = district.security_truth
    if st is not None:
        rows = st[(st[UNIT] == ward) & (st[TIME] >= win.cohort) & (st[TIME] < win.next_cohort)]
        if len(rows):
            truth = 100 * (
                rows["accidents_expected1"].sum() / rows["accidents_expected0"].sum() - 1
            )
    vi, en = _window_design_text(win, district)
    return ProgrammeEffect(
        ward=ward,
        programme="traffic_model",
        outcome=outcome,
        estimate=est,
        verdict=_verdict(est, outcome, percent=True),
        design_vi=vi.replace("tuần", "kỳ báo cáo công an") + " Mô hình Poisson, dân số làm mẫu số.",
        design_en=en.replace("week", "police period") + " Poisson model with population exposure.",
        window=(win.start, win.end),
        comparison=win.comparison,
        truth=truth,
        percent=True,
    )


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


@dataclass
class PilotAnalysis:
    """The pilot ward over its comparison window with every single-unit method.

    ``twfe`` is the ward-level :class:`ProgrammeEffect` (two-way fixed effects, conformal
    inference, with its fake-start and spill-over checks); ``synthetic_control`` and
    ``synthetic_did`` are :class:`~evaluation.estimators.synth.SyntheticEstimate` (their
    ``inference="auto"`` is conformal inference here: a long pre-period);
    ``placebo_space`` gives each comparison ward the start date in turn (synthetic DiD);
    ``truth`` the realised average effect over the window (demo data).
    """

    window: ComparisonWindow
    twfe: ProgrammeEffect
    synthetic_control: Estimate
    synthetic_did: Estimate
    placebo_space: Any
    truth: float | None

    def effects(self) -> list[ProgrammeEffect]:
        """The SC and SDID estimates as programme effects (with verdicts), after TWFE."""
        out = [self.twfe]
        base = self.twfe.details.get("baseline")
        for est, vi, en in (
            (self.synthetic_did, "Sai khác kép tổng hợp", "Synthetic difference-in-differences"),
            (self.synthetic_control, "Đối chứng tổng hợp", "Synthetic control"),
        ):
            e, notes = _coherent(est)
            out.append(
                ProgrammeEffect(
                    ward=self.window.ward,
                    programme="traffic_model",
                    outcome=self.twfe.outcome,
                    estimate=e,
                    verdict=_verdict(e, self.twfe.outcome, percent=False, baseline=base),
                    design_vi=f"{vi}: phường so với một tổ hợp có trọng số của "
                    f"{len(self.window.comparison)} phường chưa triển khai.",
                    design_en=f"{en}: the ward against a weighted combination of the "
                    f"{len(self.window.comparison)} wards not yet treated.",
                    window=self.twfe.window,
                    comparison=self.window.comparison,
                    truth=self.truth,
                    notes_vi=notes,
                )
            )
        return out


def pilot_analysis(
    district: District, ward: str, outcome: str = "congestion_minutes"
) -> PilotAnalysis:
    """Synthetic control (Abadie et al. 2010), synthetic DiD (Arkhangelsky et al. 2021), both
    with conformal inference (Chernozhukov et al. 2021), and the placebo in space, for one
    pilot ward over its comparison window (:func:`comparison_window`), beside the two-way
    fixed effects estimate of :func:`traffic_effect`.
    """
    from evaluation.estimators.sdid import synthetic_did
    from evaluation.estimators.synth import synthetic_control

    panel = district.traffic_weekly("traffic_model")
    win = comparison_window(panel, district.starts("traffic_model"), ward)
    if win is None:
        raise DesignError(f"{ward}: no untreated comparison ward remains after its start")
    effect = traffic_effect(district, ward, outcome, checks=True)
    args = (win.data, outcome, UNIT, TIME, "cohort")
    sc = _quiet(synthetic_control, *args)
    sdid = _quiet(synthetic_did, *args)
    space = _quiet(placebo_in_space, "synthetic_did", *args)
    return PilotAnalysis(win, effect, sc, sdid, space, effect.truth)


def _wave_names(district: District, panel: pd.DataFrame) -> dict:
    """First treated period → wave name(s) from the registry (e.g. 'pilot', 'A')."""
    cohorts = panel.groupby(UNIT)["cohort"].first()
    reg = district.registry.for_programme("traffic_model").set_index(UNIT)
    out: dict = {}
    for w, g in cohorts.dropna().items():
        name = str(reg["wave"].get(w)) if "wave" in reg and pd.notna(reg["wave"].get(w)) else ""
        out.setdefault(g, set()).add(name or date_en(g))
    return {g: ", ".join(sorted(v)) for g, v in out.items()}


def rollout_effects(
    district: District, roll: Rollout, *, single_ward_waves: bool = False
) -> list[ProgrammeEffect]:
    """The rollout's overall ATT and one effect per wave (cohort), with verdicts.

    A wave of a single ward (the pilot) is left out unless ``single_ward_waves``: its
    influence-function interval rests on one ward and is not reliable — the single-ward
    methods of :func:`pilot_analysis` evaluate it."""
    from scipy import stats

    waves = _wave_names(district, roll.panel)
    size = roll.panel.groupby(UNIT)["cohort"].first().value_counts()
    used = set(roll.att.table.loc[roll.att.table["post"] & roll.att.table["att"].notna(), "group"])
    design_vi = (
        "Mỗi đợt so với các phường chưa triển khai tại cùng thời điểm (Callaway & Sant'Anna "
        f"2021), loại {roll.att.anticipation} tuần chuẩn bị trước ngày bắt đầu khỏi kỳ gốc."
    )
    design_en = (
        "Each wave against the wards not yet treated at the same time (Callaway & Sant'Anna "
        f"2021), the {roll.att.anticipation} preparation weeks before each start left out of "
        "the base period."
    )
    out = [
        ProgrammeEffect(
            ward=None,
            programme="traffic_model",
            outcome=roll.outcome,
            estimate=roll.simple,
            verdict=_verdict(roll.simple, roll.outcome, percent=False),
            design_vi=design_vi,
            design_en=design_en,
            truth=roll.truth_simple,
            details={
                "wave": "all",
                "wave_vi": "tất cả",
                "n_wards": int(size[size.index.isin(used)].sum()),
            },
        )
    ]
    level = roll.simple.level
    for row in roll.group.table.itertuples(index=False):
        if not single_ward_waves and size.get(row.group, 0) <= 1:
            continue
        z = row.estimate / row.se if row.se and math.isfinite(row.se) else math.nan
        p = float(2 * stats.norm.sf(abs(z))) if math.isfinite(z) else math.nan
        g = pd.Timestamp(row.group)
        est = Estimate(
            estimate=float(row.estimate),
            se=float(row.se),
            ci_low=float(row.ci_low),
            ci_high=float(row.ci_high),
            pvalue=p,
            method=f"Callaway & Sant'Anna (2021) ATT of the wave starting {date_en(g)}",
            inference="influence-function (analytic) standard errors, normal interval",
            inference_method="analytic",
            outcome=roll.outcome,
            level=level,
            warnings=list(roll.att.warnings),
        )
        wave = waves.get(g, date_en(g))
        wave_vi = WAVE_VI.get(wave, wave)
        truth = (roll.truth_by_group or {}).get(g)
        out.append(
            ProgrammeEffect(
                ward=None,
                programme="traffic_model",
                outcome=roll.outcome,
                estimate=est,
                verdict=_prefixed(
                    _verdict(est, roll.outcome, percent=False),
                    f"Đợt {wave_vi} (từ {date_vi(g)}):",
                    f"Wave {wave} (from {date_en(g)}):",
                ),
                design_vi=design_vi,
                design_en=design_en,
                truth=truth,
                details={"wave": wave, "wave_vi": wave_vi, "n_wards": int(size.get(row.group, 0))},
            )
        )
    return out


def rollout_twfe(district: District, outcome: str = "congestion_minutes"):
    """Two-way fixed effects on the whole rollout (``inference="auto"``) and its
    Goodman-Bacon (2021) decomposition, to show why it differs from :func:`traffic_rollout`."""
    from evaluation.estimators.bacon import bacon_decomposition

    panel = district.traffic_weekly("traffic_model")
    est = _quiet(twfe, panel, outcome, UNIT, TIME, "cohort", inference="auto", n_boot=999)
    bacon = _quiet(bacon_decomposition, panel, outcome, UNIT, TIME, "cohort")
    return est, bacon
