"""Findings of a rollout: Callaway & Sant'Anna's average over the wards and weeks that still had
a comparison (for weekly outcomes), Wooldridge's (2023) Poisson extended TWFE for the fire
programmes' counts (population exposure), two-way fixed effects otherwise (Poisson for other
counts, weighted for shares), one finding per wave, and the two-way fixed effects contrast
with its Goodman-Bacon decomposition.
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.findings import Finding, not_estimable
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.single_ward import unsupported_finding
from evaluation.analysis.traffic import rollout, twfe_contrast
from evaluation.analysis.windows import (
    TIME,
    UNIT,
    Indicator,
    base_period,
    baseline,
    estimate,
    quiet,
    treated_cells,
    truth_for,
)
from evaluation.analysis.wording import (
    comparison_words,
    direction_words,
    inference_words,
    method_words,
    names_text,
)
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.i18n import Text, both, say, text


def rollout_findings(
    district: District, programme: str, ind: Indicator, pilot: str | None, role: str
) -> list[Finding]:
    outcome = ind.outcome
    o = outcome_info(outcome)
    panel = ind.data(district, programme)
    if pilot is not None:
        panel = panel[panel[UNIT] != pilot]
    cohorts = panel.groupby(UNIT)["cohort"].first()
    treated = sorted(cohorts.index[cohorts.notna()])
    if not treated:
        return []
    starts = district.starts(programme)
    level = "district"
    fid = f"{programme}:{outcome}:{level}"
    words = dict(
        programme=Text(*(district.programme_label(programme, lang) for lang in ("vi", "en"))),
        move=direction_words(outcome),
        outcome=o.names,
    )
    if pilot:
        q = say(
            "Rolled out to {n} wards, did “{programme}” {move} {outcome}?",
            n=str(len(treated)),
            **words,
        )
    else:
        q = say("Did “{programme}” {move} {outcome} in the wards that ran it?", **words)
    base = dict(level=level, role=role, family=fid, question_vi=q.vi, question_en=q.en)
    never = cohorts.isna().sum()
    if cohorts.nunique() < 2 and never == 0:
        reason = say(
            "Every ward started at once ({first}) and none stayed untreated: there is nothing to "
            "compare with.",
            first=text(fmt.date_text(starts[treated].min())),
        )
        return [
            not_estimable(fid, programme, outcome, reason_vi=reason.vi, reason_en=reason.en, **base)
        ]
    first_start = pd.Timestamp(starts[treated].min())
    if ind.family == "gaussian" and not ind.weights:
        return rollout_att_gt(district, programme, ind, panel, fid, base, first_start, pilot)
    if ind.family == "poisson" and district.programme_meta(programme).get("domain") == "fire":
        return rollout_etwfe(district, programme, ind, panel, fid, base, first_start, never)
    try:
        est = estimate(panel, ind)
    except (DesignError, InferenceError) as exc:
        return [unsupported_finding(fid, programme, outcome, None, exc, None, base)]
    end = pd.Timestamp(panel["period_end"].max() if "period_end" in panel else panel[TIME].max())
    mvi, men = method_words(ind, est)
    design = _pooled_design(treated, ind, never, panel[TIME].min(), end)
    return [
        Finding(
            id=fid,
            programme=programme,
            outcome=outcome,
            estimate=est,
            method_vi=mvi,
            method_en=men,
            design_vi=design.vi,
            design_en=design.en,
            baseline=baseline(panel, treated, outcome),
            window=(first_start, end),
            before=base_period(panel, panel["cohort"].min()),
            wards=treated,
            truth=truth_for(district, outcome, treated_cells(panel)),
            **base,
        )
    ]


def _pooled_design(treated, ind: Indicator, never: int, first, end) -> Text:
    """Which wards a pooled rollout answer compares, each period, and when."""
    values = dict(
        n=str(len(treated)),
        period=ind.period,
        start=text(fmt.date_text(first)),
        end=text(fmt.date_text(end)),
    )
    if never:
        return say(
            "{n} wards with the programme (each from its own start) against those without it yet "
            "in the same {period}; {never} wards never started it; {start} – {end}.",
            never=str(never),
            **values,
        )
    return say(
        "{n} wards with the programme (each from its own start) against those without it yet in "
        "the same {period}; {start} – {end}.",
        **values,
    )


def _wave_design(never, comparison: Text, first_start, last, reaches_end: bool, k: int) -> Text:
    """How the waves of a rollout are compared: with whom, over which weeks, and whether the
    weeks before each start are left out of the base."""
    values = dict(
        comparison=comparison,
        start=text(fmt.date_text(first_start)),
        end=text(fmt.date_text(last)),
        k=str(k),
    )
    never = bool(never)
    if never and reaches_end and k:
        return say(
            "Each wave against the wards not yet treated at the same time and against {comparison},"
            " the weeks from {start} to {end}; the {k} weeks before each start are not used as the "
            "base (preparation).",
            **values,
        )
    if never and reaches_end and not k:
        return say(
            "Each wave against the wards not yet treated at the same time and against {comparison},"
            " the weeks from {start} to {end}.",
            **values,
        )
    if never and not reaches_end and k:
        return say(
            "Each wave against the wards not yet treated at the same time and against {comparison},"
            " the weeks from {start} to {end} — after that no ward was left untreated to compare "
            "with; the {k} weeks before each start are not used as the base (preparation).",
            **values,
        )
    if never and not reaches_end and not k:
        return say(
            "Each wave against the wards not yet treated at the same time and against {comparison},"
            " the weeks from {start} to {end} — after that no ward was left untreated to compare "
            "with.",
            **values,
        )
    if not never and reaches_end and k:
        return say(
            "Each wave against the wards not yet treated at the same time, the weeks from {start} "
            "to {end}; the {k} weeks before each start are not used as the base (preparation).",
            **values,
        )
    if not never and reaches_end and not k:
        return say(
            "Each wave against the wards not yet treated at the same time, the weeks from {start} "
            "to {end}.",
            **values,
        )
    if not never and not reaches_end and k:
        return say(
            "Each wave against the wards not yet treated at the same time, the weeks from {start} "
            "to {end} — after that no ward was left untreated to compare with; the {k} weeks before"
            " each start are not used as the base (preparation).",
            **values,
        )
    return say(
        "Each wave against the wards not yet treated at the same time, the weeks from {start} "
        "to {end} — after that no ward was left untreated to compare with.",
        **values,
    )


def rollout_att_gt(district, programme, ind, panel, fid, base, first_start, pilot) -> list[Finding]:
    outcome = ind.outcome
    roll = rollout(district, programme, outcome, panel)
    covered = roll.covered_wards()
    cells = roll.cells()
    last = panel.loc[panel[TIME] == roll.last_period, "period_end"].max()
    k = roll.anticipation
    waves = district.waves(programme)
    uncovered = sorted(set(panel.loc[panel["cohort"].notna(), UNIT]) - set(covered))
    never = sorted(panel.loc[panel["cohort"].isna(), UNIT].unique())
    end_of_data = pd.Timestamp(panel["period_end"].max())
    reaches_end = pd.Timestamp(last) >= end_of_data
    comparison = comparison_words(never, district.comparison_wards)
    design = _wave_design(never, comparison, first_start, last, reaches_end, k)
    if uncovered:
        design = design + " " + say("No comparison ward for: {names}.", names=names_text(uncovered))
    method = say(
        "Callaway & Sant'Anna (2021) against not-yet-treated wards; {inference}",
        inference=inference_words(roll.simple),
    )
    head = Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        estimate=roll.simple,
        method_vi=method.vi,
        method_en=method.en,
        design_vi=design.vi,
        design_en=design.en,
        baseline=baseline(panel, covered, outcome),
        window=(first_start, pd.Timestamp(last)),
        before=base_period(panel, panel["cohort"].min(), k),
        wards=covered,
        truth=truth_for(district, outcome, cells[[UNIT, TIME]]),
        **base,
    )
    out = [head]
    out += wave_findings(district, programme, ind, roll, panel, head, waves)
    out += contrast_findings(programme, ind, panel, head)
    return out


def wave_findings(district, programme, ind, roll, panel, head, waves) -> list[Finding]:
    """One finding per wave (cohort): its own average, randomization inference each."""
    out = []
    starts = district.starts(programme)
    cohorts = panel.groupby(UNIT)["cohort"].first().dropna()
    table = roll.group.table.set_index("group")
    cells = roll.cells()
    for g in sorted(cohorts.unique()):
        members = sorted(cohorts.index[cohorts == g])
        wave = ", ".join(sorted({waves.get(w, "") for w in members} - {""})) or fmt.date_text(
            starts[members].min()
        )
        start = pd.Timestamp(starts[members].min())
        fid = f"{programme}:{ind.outcome}:wave:{wave}"
        base = dict(level="wave", role="wave", family=f"{programme}:{ind.outcome}:waves", wave=wave)
        if g not in table.index:
            reason = say(
                "Wave {wave} (started {start}; {wards}): no ward was left untreated to compare "
                "with after that date, so this wave's own effect cannot be estimated. The overall "
                "answer: “{question}”.",
                wave=wave,
                start=text(fmt.date_text(start)),
                wards=names_text(members),
                question=Text(head.question_vi, head.question_en),
            )
            out.append(
                not_estimable(
                    fid,
                    programme,
                    ind.outcome,
                    reason_vi=reason.vi,
                    reason_en=reason.en,
                    covered_by=head.id,
                    **base,
                )
            )
            continue
        row = table.loc[g]
        est = row_estimate(row, roll, ind.outcome, wave)
        wave_cells = cells[cells["group"] == g][[UNIT, TIME]]
        last = panel.loc[panel[TIME] == wave_cells[TIME].max(), "period_end"].max()
        design = say(
            "Wave {wave} ({wards}), started {start}, against the wards not yet treated, until "
            "{end}.",
            wave=wave,
            wards=names_text(members),
            start=text(fmt.date_text(start)),
            end=text(fmt.date_text(last)),
        )
        out.append(
            Finding(
                id=fid,
                programme=programme,
                outcome=ind.outcome,
                estimate=est,
                method_vi=head.method_vi,
                method_en=head.method_en,
                design_vi=design.vi,
                design_en=design.en,
                baseline=baseline(panel, members, ind.outcome),
                window=(start, pd.Timestamp(last)),
                before=base_period(panel, g, roll.anticipation),
                wards=members,
                truth=truth_for(district, ind.outcome, wave_cells),
                **base,
            )
        )
    return out


def row_estimate(row, roll, outcome, wave):
    from evaluation.results import Estimate

    return Estimate(
        estimate=float(row["estimate"]),
        se=float(row["se"]),
        ci_low=float(row["ci_low"]),
        ci_high=float(row["ci_high"]),
        pvalue=float(row.get("pvalue", math.nan)),
        min_pvalue=float(row.get("min_pvalue", math.nan)),
        method=f"Callaway & Sant'Anna (2021) ATT of wave {wave}",
        inference=roll.simple.inference,
        inference_method=str(row.get("inference", "analytic")),
        outcome=outcome,
        level=roll.simple.level,
        warnings=list(roll.att.warnings),
    )


def contrast_findings(programme, ind, panel, head) -> list[Finding]:
    try:
        est, bacon = twfe_contrast(panel, ind.outcome)
    except (DesignError, DataError, InferenceError):
        return []
    method = say(
        "Two-way fixed effects on all the data — the familiar regression, biased here: {share} of "
        "its weight is on comparisons that use already-treated wards as controls (Goodman-Bacon "
        "2021)",
        share=both(fmt.percent, 100 * bacon.forbidden_weight, 0),
    )
    return [
        Finding(
            id=f"{head.id}:twfe",
            programme=programme,
            outcome=ind.outcome,
            level="district",
            role="contrast",
            family=f"{head.id}:twfe",
            estimate=est,
            method_vi=method.vi,
            method_en=method.en,
            design_vi=head.design_vi,
            design_en=head.design_en,
            baseline=head.baseline,
            window=head.window,
            before=head.before,
            wards=head.wards,
            details={"bacon": bacon},
        )
    ]


def count_panel(panel: pd.DataFrame, outcome: str) -> pd.DataFrame:
    """The wards with at least one event: a ward without any carries no information on a rate
    ratio with ward effects (as :func:`evaluation.analysis.windows.estimate` leaves it out)."""
    return panel[panel.groupby(UNIT)[outcome].transform("sum") > 0]


def rollout_etwfe(district, programme, ind, panel, fid, base, first_start, never) -> list[Finding]:
    """The headline of a fire programme's rollout: the Poisson extended TWFE of Wooldridge
    (2023) — every wave × month its own rate ratio against the wards untreated that month — as
    the percent change of observed over expected fires; the Poisson TWFE it replaces and the
    Goodman-Bacon decomposition stay as a check under it."""
    from evaluation.estimators.etwfe import etwfe

    outcome = ind.outcome
    data = count_panel(panel, outcome)
    try:
        est = quiet(etwfe, data, outcome, UNIT, TIME, "cohort", exposure=ind.exposure)
    except (DesignError, InferenceError, DataError) as exc:
        return [unsupported_finding(fid, programme, outcome, None, exc, None, base)]
    cohorts = data.groupby(UNIT)["cohort"].first()
    treated = sorted(cohorts.index[cohorts.notna()])
    n_starts = int(cohorts.dropna().nunique())
    end = pd.Timestamp(panel["period_end"].max() if "period_end" in panel else panel[TIME].max())
    method = say(
        "extended two-way fixed effects (ETWFE, Wooldridge 2023), Poisson model with population "
        "exposure: every wave in every month has its own effect, compared only with the wards not "
        "yet treated in the same month; {inference}",
        inference=inference_words(est),
    )
    design = _pooled_design(treated, ind, never, data[TIME].min(), end)
    head = Finding(
        id=fid,
        programme=programme,
        outcome=outcome,
        estimate=est,
        method_vi=method.vi,
        method_en=method.en,
        design_vi=design.vi,
        design_en=design.en,
        baseline=baseline(data, treated, outcome),
        window=(first_start, end),
        before=base_period(data, data["cohort"].min()),
        wards=treated,
        truth=truth_for(district, outcome, treated_cells(data)),
        **base,
    )
    out = [head]
    check = count_contrast(programme, ind, data, head, n_starts)
    if check is not None:
        note = say(
            "Why not the usual two-way fixed effects (TWFE): the wards started at {n} different "
            "times, and TWFE puts one ratio on every wave and also compares with wards already "
            "treated, so it is biased when effects differ between waves (Goodman-Bacon 2021). The "
            "TWFE result ({result}) and the Bacon decomposition are kept below as a check.",
            n=str(n_starts),
            result=both(fmt.percent, check.estimate.details["percent_change"], 0, sign=True),
        )
        head.notes_vi.append(note.vi)
        head.notes_en.append(note.en)
        out.append(check)
    return out


def count_contrast(programme, ind, data, head, n_starts) -> Finding | None:
    """The Poisson TWFE the fire headline used before, with the Goodman-Bacon (2021)
    decomposition of the linear TWFE on the same counts: a check under the ETWFE headline."""
    from evaluation.diagnostics.bacon import bacon_decomposition

    try:
        est = estimate(data, ind)
    except (DesignError, DataError, InferenceError):
        return None
    details = {}
    share = None
    try:
        bacon = quiet(bacon_decomposition, data, ind.outcome, UNIT, TIME, "cohort")
        details["bacon"] = bacon
        share = both(fmt.percent, 100 * bacon.forbidden_weight, 0)
    except (DesignError, DataError, InferenceError):
        pass
    if share is not None:
        method = say(
            "Check: Poisson two-way fixed effects (TWFE) on all the data, how this result was "
            "computed before — possibly biased because the wards started at {n} times ({share} of "
            "the linear TWFE's weight is on comparisons that use already-treated wards as "
            "controls); {method}",
            n=str(n_starts),
            share=share,
            method=method_words(ind, est),
        )
    else:
        method = say(
            "Check: Poisson two-way fixed effects (TWFE) on all the data, how this result was "
            "computed before — possibly biased because the wards started at {n} times; {method}",
            n=str(n_starts),
            method=method_words(ind, est),
        )
    return Finding(
        id=f"{head.id}:twfe",
        programme=programme,
        outcome=ind.outcome,
        level="district",
        role="contrast",
        family=f"{head.id}:twfe",
        estimate=est,
        method_vi=method.vi,
        method_en=method.en,
        design_vi=head.design_vi,
        design_en=head.design_en,
        baseline=head.baseline,
        window=head.window,
        before=head.before,
        wards=head.wards,
        truth=head.truth,  # the same treated cells as the headline
        details=details,
    )
