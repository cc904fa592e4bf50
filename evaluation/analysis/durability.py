"""Is it still working? A programme's effect quarter by quarter since each ward's start.

Officials ask it once every ward is treated: the rollout's average answers "did it work", not
"does it still". The effect is estimated by Callaway & Sant'Anna's (2021) ATT(g, t) of every
treated ward (the pilot too) against the wards not yet treated and the wards that never took
the programme — bordering wards of neighbouring districts, when the ward table has them — and
aggregated by event time, one quarter at a time: quarter q is the average of the event-time
effects of weeks 13·q … 13·q + 12 after each ward's own start (``aggregate("dynamic",
min_e, max_e)``). Comparisons are only ever against untreated cells, never against wards
treated earlier, and each quarter's test and interval come from randomization inference on the
whole estimator (``inference="auto"``), re-assigning the cohorts.

A quarter that no untreated ward was left to compare with has no answer, and its finding says
so (once the last wave has started, only wards that never took the programme remain). The last
answered quarter carries the HonestDiD sensitivity of Rambachan & Roth (2023): how far the
trends could diverge after the start, relative to before, before its effect could be zero.

The fire programmes' counts are answered the same way with their own staggered estimator,
Wooldridge's (2023) Poisson extended TWFE (:func:`evaluation.estimators.etwfe.etwfe`): quarter
q is the ratio of observed to expected-without-the-programme counts over the treated ward ×
month cells 3·q … 3·q + 2 months after each ward's start, every cell compared only with the
wards untreated in its month, with randomization inference over which wards start when.
Other counts and weighted shares are not answered here yet.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Finding, not_estimable
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.policy import is_finite
from evaluation.analysis.windows import (
    TIME,
    UNIT,
    Indicator,
    base_period,
    baseline,
    quiet,
    truth_for,
)
from evaluation.analysis.wording import comparison_words, direction_words, inference_words
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.i18n import Text, both, say, text

__all__ = ["QUARTER_DAYS", "durability_findings"]

QUARTER_DAYS = 91
#: re-assignments of each count quarter's randomization test: a dozen quarters per programme,
#: each inverting its test by search, so fewer than the headline's 999 (smallest p = 1/500)
QUARTER_REASSIGNMENTS = 499
#: the fewest untreated wards a quarter's comparison needs
MIN_COMPARISON = 2


def _event_days(panel: pd.DataFrame) -> pd.Series:
    return (pd.to_datetime(panel[TIME]) - pd.to_datetime(panel["cohort"])).dt.days


def durability_findings(
    district: District, programme: str, ind: Indicator, pilot: str | None = None
) -> list[Finding]:
    """One finding per quarter since the start, up to the end of the data (see the module
    docstring); verdicts are adjusted together (Holm) within the programme's quarters."""
    if ind.family == "poisson" and district.programme_meta(programme).get("domain") == "fire":
        return count_durability_findings(district, programme, ind)
    if ind.family != "gaussian" or ind.weights:
        return []
    panel = ind.data(district, programme)
    cohorts = panel.groupby(UNIT)["cohort"].first()
    if cohorts.notna().sum() == 0 or cohorts.isna().sum() + cohorts.nunique() < 2:
        return []
    from evaluation.analysis.traffic import anticipation_periods
    from evaluation.estimators.att_gt import att_gt

    k = anticipation_periods(district, programme, panel)
    try:
        att = quiet(
            att_gt, panel, ind.outcome, UNIT, TIME, "cohort", control="notyet", anticipation=k
        )
    except (DesignError, InferenceError, DataError):
        return []
    per_q = max(1, int(round(QUARTER_DAYS / _period_days(panel))))
    cells = att.table[att.table["post"]].copy()
    cells["event"] = _event_periods(cells, panel)
    last_event = (
        int(cells.loc[cells["att"].notna(), "event"].max()) if cells["att"].notna().any() else -1
    )
    family = f"{programme}:{ind.outcome}:durability"
    out: list[Finding] = []
    for q in range(int(_event_periods_max(panel) // per_q) + 1):
        f = _quarter(district, programme, ind, panel, att, cells, q, per_q, family, last_event)
        if f is not None:
            out.append(f)
    answered = [f for f in out if f.estimate is not None]
    if answered:
        _add_sensitivity(district, programme, ind, panel, answered[-1], pilot)
    return out


def _event_periods(cells: pd.DataFrame, panel: pd.DataFrame) -> pd.Series:
    """Event time (in periods) of ATT(g, t) cells: the number of periods from g to t."""
    times = np.sort(pd.to_datetime(panel[TIME]).unique())
    pos = {t: i for i, t in enumerate(times)}
    g = pd.to_datetime(cells["group"]).map(lambda x: pos.get(np.datetime64(x, "ns")))
    t = pd.to_datetime(cells["time"]).map(lambda x: pos.get(np.datetime64(x, "ns")))
    return (t - g).astype(float)


def _panel_cells(panel: pd.DataFrame, lo: int, hi: int) -> pd.DataFrame:
    """The treated (group, time) cells of the panel with event time lo … hi, ``att`` missing."""
    times = np.sort(pd.to_datetime(panel[TIME]).unique())
    pos = {t: i for i, t in enumerate(times)}
    groups = pd.to_datetime(panel["cohort"]).dropna().unique()
    rows = []
    for g in groups:
        k = pos.get(np.datetime64(g, "ns"))
        if k is None:
            continue
        for e in range(lo, hi + 1):
            if k + e < len(times):
                rows.append({"group": g, "time": times[k + e], "att": np.nan, "event": float(e)})
    return pd.DataFrame(rows, columns=["group", "time", "att", "event"])


def _event_periods_max(panel: pd.DataFrame) -> int:
    times = np.sort(pd.to_datetime(panel[TIME]).unique())
    first = pd.to_datetime(panel["cohort"]).min()
    return int((times >= np.datetime64(first, "ns")).sum()) - 1


def _question(district: District, programme: str, ind: Indicator, q: int, lo: int, hi: int):
    """The question a quarter answers, as the ``question_vi``/``question_en`` of a finding."""
    question = say(
        "Quarter {n} after the start ({periods} {lo}–{hi} of each ward): does “{programme}” "
        "still {move} {outcome}?",
        n=str(q + 1),
        periods=ind.periods,
        lo=str(lo),
        hi=str(hi),
        programme=Text(*(district.programme_label(programme, lang) for lang in ("vi", "en"))),
        move=direction_words(ind.outcome),
        outcome=outcome_info(ind.outcome).names,
    )
    return {"question_vi": question.vi, "question_en": question.en}


def _method(ind: Indicator, est, lo: int, hi: int, *, etwfe: bool) -> Text:
    """The estimator of a quarter's answer: Callaway & Sant'Anna's average, or for counts the
    Poisson ETWFE's, over the quarter's periods of event time."""
    values = dict(periods=ind.periods, lo=str(lo), hi=str(hi), inference=inference_words(est))
    if etwfe:
        return say(
            "extended two-way fixed effects (ETWFE, Wooldridge 2023), Poisson model with "
            "population exposure, average of {periods} {lo}–{hi} after the start; {inference}",
            **values,
        )
    return say(
        "Callaway & Sant'Anna (2021), average of {periods} {lo}–{hi} after the start; {inference}",
        **values,
    )


def _design(treated, q: int, never, outside, first, last, *, monthly: bool) -> Text:
    """Which wards a quarter's answer compares, and when (ETWFE's counts month by month)."""
    values = dict(
        n=str(len(treated)),
        q=str(q + 1),
        wards=", ".join(treated),
        start=text(fmt.date_text(first)),
        end=text(fmt.date_text(last)),
    )
    if monthly and never:
        return say(
            "{n} wards in quarter {q} since their own start ({wards}), each month against the "
            "wards not yet treated in the same month and {comparison}; {start} – {end}.",
            comparison=comparison_words(never, outside),
            **values,
        )
    if monthly:
        return say(
            "{n} wards in quarter {q} since their own start ({wards}), each month against the "
            "wards not yet treated in the same month; {start} – {end}.",
            **values,
        )
    if never:
        return say(
            "{n} wards in quarter {q} since their own start ({wards}), against the wards not yet "
            "treated at the same time and {comparison}; {start} – {end}.",
            comparison=comparison_words(never, outside),
            **values,
        )
    return say(
        "{n} wards in quarter {q} since their own start ({wards}), against the wards not yet "
        "treated at the same time; {start} – {end}.",
        **values,
    )


def _quarter(district, programme, ind, panel, att, cells, q, per_q, family, last_event):
    lo, hi = q * per_q, q * per_q + per_q - 1
    mine = cells[(cells["event"] >= lo) & (cells["event"] <= hi)]
    if mine.empty:
        # no ATT(g, t) at all: the treated wards' own periods of this quarter, if the data
        # reach them, with nobody left to compare
        mine = _panel_cells(panel, lo, hi)
        if mine.empty:
            return None
    fid = f"{programme}:{ind.outcome}:quarter{q + 1}"
    base = dict(
        level="quarter",
        role="durability",
        family=family,
        **_question(district, programme, ind, q, lo, hi),
    )
    first = pd.Timestamp(mine["time"].min())
    ends = (
        panel.loc[panel[TIME].isin(mine["time"]), "period_end"]
        if "period_end" in panel
        else mine["time"]
    )
    last = pd.Timestamp(ends.max())
    estimable = mine[mine["att"].notna()]
    if estimable.empty:
        reason = say(
            "No ward was left untreated to compare with in this quarter ({start} – {end}): every "
            "ward had the programme and the ward table holds no ward outside it to compare with.",
            start=text(fmt.date_text(first)),
            end=text(fmt.date_text(last)),
        )
        return not_estimable(
            fid,
            programme,
            ind.outcome,
            reason_vi=reason.vi,
            reason_en=reason.en,
            window=(first, last),
            **base,
        )
    try:
        agg = quiet(att.aggregate, "dynamic", min_e=lo, max_e=hi, na_rm=True)
    except (DesignError, InferenceError, DataError) as exc:
        reason = say("Not estimable: {reason}", reason=str(exc))
        return not_estimable(fid, programme, ind.outcome, reason_vi=reason.vi,
                             reason_en=reason.en, window=(first, last), **base)  # fmt: skip
    est = agg.overall
    groups = set(pd.to_datetime(estimable["group"]))
    cohort_of = panel.groupby(UNIT)["cohort"].first()
    treated = sorted(cohort_of.index[pd.to_datetime(cohort_of).isin(groups)])
    never = sorted(cohort_of.index[cohort_of.isna()])
    first_e = pd.Timestamp(estimable["time"].min())
    ends_e = (
        panel.loc[panel[TIME].isin(estimable["time"]), "period_end"]
        if "period_end" in panel
        else estimable["time"]
    )
    last_e = pd.Timestamp(ends_e.max())
    method = _method(ind, est, lo, hi, etwfe=False)
    design = _design(treated, q, never, district.comparison_wards, first_e, last_e, monthly=False)
    cells_ut = panel[panel[UNIT].isin(treated)].merge(
        estimable[["group", "time"]].rename(columns={"time": TIME}), on=TIME
    )
    cells_ut = cells_ut[pd.to_datetime(cells_ut["cohort"]) == pd.to_datetime(cells_ut["group"])]
    return Finding(
        id=fid,
        programme=programme,
        outcome=ind.outcome,
        estimate=est,
        method_vi=method.vi,
        method_en=method.en,
        design_vi=design.vi,
        design_en=design.en,
        baseline=baseline(panel, treated, ind.outcome),
        window=(first_e, last_e),
        before=base_period(panel, min(groups), att.anticipation),
        wards=treated,
        comparison=never,
        truth=truth_for(district, ind.outcome, cells_ut[[UNIT, TIME]]),
        **base,
    )


def _add_sensitivity(district, programme, ind, panel, finding: Finding, pilot) -> None:
    """HonestDiD relative magnitudes (Rambachan & Roth 2023) for the last answered quarter.

    Callaway & Sant'Anna's event study (universal base period) is averaged into quarters of
    event time — β_q = Aβ, Σ_q = AΣA' — so that the bound compares quarters before the start
    with quarters after it, and θ is the last answered quarter's effect."""
    from evaluation.analysis.traffic import SENSITIVITY_M
    from evaluation.estimators.att_gt import att_gt
    from evaluation.inference.honest_did import honest_did

    q_last = int(finding.id.rsplit("quarter", 1)[1]) - 1
    step = _period_days(panel)
    per_q = max(1, int(round(QUARTER_DAYS / step)))
    try:
        att = quiet(
            att_gt, panel, ind.outcome, UNIT, TIME, "cohort", control="notyet",
            base_period="universal",
        )  # fmt: skip
        dyn = quiet(
            att.aggregate, "dynamic", min_e=-2 * per_q - 1, max_e=(q_last + 1) * per_q - 1,
            inference="analytic",
        )  # fmt: skip
        e = dyn.table["event_time"].astype(int).to_numpy()
        keep = e != -1
        times = e[keep]
        beta = dyn.table.loc[keep, "estimate"].to_numpy(dtype=float)
        vcov = dyn.vcov.loc[list(times), list(times)].to_numpy(dtype=float)
        # quarter of event time: e = −1 is the reference; before it, quarters −1, −2 …
        quarter = np.where(times >= 0, times // per_q, -((-times - 2) // per_q) - 1)
        labels = sorted(set(quarter))
        A = np.array([(quarter == q) / (quarter == q).sum() for q in labels])
        bq, sq = A @ beta, A @ vcov @ A.T
        pre = sum(q < 0 for q in labels)
        post = len(labels) - pre
        if pre < 1 or post < 1 or not np.isfinite(bq).all():
            return
        l_vec = np.zeros(post)
        l_vec[-1] = 1.0
        # 201 grid points: ends to ±0.2 standard errors, plenty for one sentence on robustness
        sens = honest_did(
            bq, sq, pre, post, M=np.array(SENSITIVITY_M), l_vec=l_vec, grid_points=201
        )
    except Exception:  # noqa: BLE001 - a sensitivity the design cannot give is left out, said so
        _note(
            finding,
            say(
                "The HonestDiD sensitivity could not be computed for this quarter (too few "
                "periods before the start)."
            ),
        )
        return
    bd = sens.breakdown
    finding.details["honest_did_breakdown"] = bd
    s = finding.shown
    if not (is_finite(s.ci_low) and is_finite(s.ci_high) and (s.ci_low > 0 or s.ci_high < 0)):
        return  # the interval shown already holds 0: no conclusion for the sensitivity to test
    if bd is None or (isinstance(bd, float) and math.isnan(bd)):
        _note(
            finding,
            say(
                "Robustness (HonestDiD): this quarter's effect stays away from zero for every "
                "divergence of trends up to M̄ = {m} times the largest before the start.",
                m=both(fmt.number, max(SENSITIVITY_M), 1),
            ),
        )
        return
    if bd <= 0:
        _note(
            finding,
            say(
                "Robustness (HonestDiD, Rambachan & Roth 2023): the conclusion for this quarter "
                "does not survive any divergence of trends after the start (M̄ = 0)."
            ),
        )
        return
    _note(
        finding,
        say(
            "Robustness (HonestDiD, Rambachan & Roth 2023): this quarter's effect stays away from "
            "zero unless trends after the start diverge by more than {m} times the largest "
            "divergence before it (M̄ = {m}).",
            m=both(fmt.number, bd, 2),
        ),
    )


def _note(finding: Finding, note: Text) -> None:
    finding.notes_vi.append(note.vi)
    finding.notes_en.append(note.en)


def _period_days(panel: pd.DataFrame) -> float:
    t = np.sort(pd.to_datetime(panel[TIME]).unique())
    return float(np.median(np.diff(t)) / np.timedelta64(1, "D")) if len(t) > 1 else 7.0


def count_durability_findings(district: District, programme: str, ind: Indicator) -> list[Finding]:
    """Quarter by quarter since each ward's start for a count: the Poisson ETWFE's average over
    the cells of that quarter of event time (see the module docstring)."""
    from evaluation.analysis.staggered import count_panel
    from evaluation.estimators.etwfe import etwfe

    panel = count_panel(ind.data(district, programme), ind.outcome)
    cohorts = panel.groupby(UNIT)["cohort"].first()
    if cohorts.notna().sum() == 0 or cohorts.isna().sum() + cohorts.nunique() < 2:
        return []
    per_q = max(1, int(round(QUARTER_DAYS / _period_days(panel))))
    times = np.sort(pd.to_datetime(panel[TIME]).unique())
    pos = pd.Series(np.arange(len(times)), index=times)
    event = (
        pos.reindex(pd.to_datetime(panel[TIME])).to_numpy()
        - pos.reindex(pd.to_datetime(panel["cohort"])).to_numpy()
    )
    never = sorted(cohorts.index[cohorts.isna()])
    family = f"{programme}:{ind.outcome}:durability"
    out: list[Finding] = []
    for q in range(int(_event_periods_max(panel) // per_q) + 1):
        lo, hi = q * per_q, q * per_q + per_q - 1
        mine = panel[(event >= lo) & (event <= hi)]
        if mine.empty:
            continue
        fid = f"{programme}:{ind.outcome}:quarter{q + 1}"
        base = dict(
            level="quarter",
            role="durability",
            family=family,
            **_question(district, programme, ind, q, lo, hi),
        )
        first = pd.Timestamp(mine[TIME].min())
        last = pd.Timestamp(mine["period_end"].max() if "period_end" in mine else mine[TIME].max())
        try:
            est = quiet(etwfe, panel, ind.outcome, UNIT, TIME, "cohort", exposure=ind.exposure,
                        events=(lo, hi), n_boot=QUARTER_REASSIGNMENTS)  # fmt: skip
        except (DesignError, InferenceError, DataError) as exc:
            # TRANSLATORS: {detail} is the model's own message, in English, shown on the
            # English side only (" (…)"); keep it at the very end, with no space before it
            reason = say(
                "This quarter's effect cannot be estimated ({start} – {end}): no ward still "
                "untreated had data to compare with, or the model has no solution{detail}.",
                start=text(fmt.date_text(first)),
                end=text(fmt.date_text(last)),
                detail=Text("", f" ({exc})"),
            )
            out.append(
                not_estimable(
                    fid,
                    programme,
                    ind.outcome,
                    reason_vi=reason.vi,
                    reason_en=reason.en,
                    window=(first, last),
                    **base,
                )
            )
            continue

        treated = sorted(mine[UNIT].unique())
        method = _method(ind, est, lo, hi, etwfe=True)
        design = _design(treated, q, never, district.comparison_wards, first, last, monthly=True)
        out.append(
            Finding(
                id=fid,
                programme=programme,
                outcome=ind.outcome,
                estimate=est,
                method_vi=method.vi,
                method_en=method.en,
                design_vi=design.vi,
                design_en=design.en,
                baseline=baseline(panel, treated, ind.outcome),
                window=(first, last),
                before=base_period(panel, mine["cohort"].min()),
                wards=treated,
                comparison=never,
                truth=truth_for(district, ind.outcome, mine[[UNIT, TIME]]),
                **base,
            )
        )
    return out
