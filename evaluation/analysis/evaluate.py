"""Every programme of the registry, evaluated for any district: the findings all pages share.

:func:`district_findings` reads the registry and evaluates each programme with the design its
timing allows, on each outcome the registry lists for it:

* a programme started in every ward on one day cannot be evaluated by comparison, and one that
  always started together with another cannot be told apart from it: one finding says so;
* a pilot (the registry's ``wave: pilot`` entry) is the headline of its own question — its
  ward against the wards not yet treated, before the first rollout wave (two-way fixed
  effects with ``inference="auto"``: conformal inference with a long pre-period), with the
  synthetic DiD and synthetic control folded under it;
* the rollout (every other treated ward) is the headline of the next question — Callaway &
  Sant'Anna's average over the wards and weeks that still had a comparison, for weekly
  outcomes, or two-way fixed effects (Poisson with population exposure for counts, weighted for
  shares) — with one finding per wave and the two-way fixed effects contrast;
* each ward gets its own estimate against the wards not yet treated — or, when none is left or
  too few events happened, a finding without a number that names the district finding covering
  it;
* outcomes too rare to compare, and placebo outcomes, are findings of their own.

One verdict policy (:func:`evaluation.analysis.findings.apply_policy`) is applied to all of
them together, so every page shows the same verdict for the same finding. The findings are
computed once per data, registry and code version and kept in a cache
(:mod:`evaluation.analysis.cache`), so the thirteen ward reports of a batch share one
computation.
"""

from __future__ import annotations

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.durability import durability_findings
from evaluation.analysis.findings import Finding, apply_policy, not_estimable
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.outside import outside_note, outside_pretrend
from evaluation.analysis.policy import Policy
from evaluation.analysis.reorganisation import allocation_check, reorganisation_note
from evaluation.analysis.robustness import add_robustness
from evaluation.analysis.single_ward import pilot_findings, ward_findings
from evaluation.analysis.staggered import rollout_findings
from evaluation.analysis.windows import (
    INDICATORS,
    RARE_OUTCOMES,
    UNIT,
    Indicator,
    estimate,
)
from evaluation.analysis.wording import direction_words, method_words
from evaluation.core.timing import stage
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.i18n import Text, both, say, text

__all__ = [
    "default_programme",
    "district_findings",
    "evaluate_programme",
    "for_ward",
    "headlines",
    "programme_findings",
]

_DOMAIN_OUTCOMES = {
    "traffic": ("congestion_minutes", "avg_speed_kmh", "traffic_accidents"),
    "fire": ("fires",),
    "security": ("solved_share",),
}
_PLACEBO_OUTCOMES = {"fire": ("electrical_incidents",)}


# --------------------------------------------------------------------------------------------
# words
# --------------------------------------------------------------------------------------------


# --------------------------------------------------------------------------------------------
# programme structure
# --------------------------------------------------------------------------------------------

#: a limit that answers no question of its own
_NO_QUESTION = Text("", "")


def _outcomes(district: District, programme: str) -> list[str]:
    meta = district.programme_meta(programme)
    listed = list(meta.get("outcomes") or _DOMAIN_OUTCOMES.get(meta.get("domain", ""), ()))
    return listed


def _common_start(district: District, programme: str) -> pd.Timestamp | None:
    s = district.starts(programme)
    if set(s.index) >= set(district.ward_names) and s.nunique() == 1:
        return pd.Timestamp(s.iloc[0])
    return None


def _paired_with(district: District, programme: str) -> tuple[str, float] | None:
    """Another programme that always starts in the same wards within ~3 months of this one,
    and earlier than it in the registry's order of evaluation (the two cannot be told apart:
    the first one listed carries their joint effect)."""
    mine = district.starts(programme)
    for other in district.registry.programmes:
        if other == programme:
            continue
        theirs = district.starts(other)
        if set(theirs.index) != set(mine.index) or len(mine) < 2:
            continue
        gap = (theirs - mine.reindex(theirs.index)).dt.days
        order = list(district.registry.programmes)
        same_outcome = _outcomes(district, other)[:1] == _outcomes(district, programme)[:1]
        if gap.abs().max() <= 92 and same_outcome and order.index(other) < order.index(programme):
            return other, float(gap.median())
    return None


def _partners(district: District, programme: str) -> list[str]:
    """The programmes whose effect this one's results carry (they were paired with it)."""
    return [
        other
        for other in district.registry.programmes
        if other != programme
        and other in set(district.registry.pilots["programme"])
        and (_paired_with(district, other) or ("",))[0] == programme
    ]


def _data_has(district: District, ind: Indicator, programme: str) -> bool:
    try:
        panel = ind.data(district, programme)
    except DataError:
        return False
    return ind.outcome in panel and len(panel) > 0


# --------------------------------------------------------------------------------------------
# findings
# --------------------------------------------------------------------------------------------


def _limit(
    district, programme, outcome, level, reason: Text, question: Text = _NO_QUESTION
) -> Finding:
    fid = f"{programme}:{outcome}:{level}"
    return not_estimable(
        fid,
        programme,
        outcome,
        level=level,
        role="headline",
        family=fid,
        reason_vi=reason.vi,
        reason_en=reason.en,
        question_vi=question.vi,
        question_en=question.en,
    )


def _programme_name(district: District, programme: str) -> Text:
    """A programme's name as the registry gives it in each language."""
    return Text(*(district.programme_label(programme, lang) for lang in ("vi", "en")))


def _programme_limits(district: District, programme: str, outcome: str) -> Finding | None:
    q = say(
        "Did “{programme}” {move} {outcome}?",
        programme=_programme_name(district, programme),
        move=direction_words(outcome),
        outcome=outcome_info(outcome).names,
    )
    common = _common_start(district, programme)
    if common is not None:
        return _limit(
            district,
            programme,
            outcome,
            "district",
            say(
                "Started in every ward on the same day ({date}): there is no comparison ward, so "
                "no comparison can separate the programme's effect from whatever else changed at "
                "that time. A plain before/after comparison would credit the programme with every "
                "other change.",
                date=text(fmt.date_text(common)),
            ),
            q,
        )
    pair = _paired_with(district, programme)
    if pair is not None:
        other, gap = pair
        return _limit(
            district,
            programme,
            outcome,
            "district",
            say(
                "This programme always started together with “{other}”, in the same wards, about "
                "{months} months apart: the data cannot separate their effects. The result of "
                "“{other}” is their joint effect.",
                other=_programme_name(district, other),
                months=both(fmt.number, abs(gap) / 30.4, 1),
            ),
            q,
        )
    return None


def _rare(district: District, programme: str, outcome: str) -> Finding:
    f = district.fire_records()
    o = outcome_info(outcome)
    fid = f"{programme}:{outcome}:district"
    if outcome == "loss_mvnd":
        top = f["loss_mvnd"].nlargest(3).sum() / max(f["loss_mvnd"].sum(), 1e-9)
        reason = say(
            "Losses are concentrated in a few large fires (the 3 largest make {share} of the "
            "total over {n} fires): a comparison with ward and period effects swings wildly and "
            "cannot support a conclusion.",
            share=both(fmt.percent, 100 * top, 0),
            n=str(len(f)),
        )
    else:
        k = int(f[outcome].sum()) if outcome in f else 0
        reason = say(
            "Only {k} {unit} ({outcome}) among {n} fires: too few for a comparison with ward and "
            "period effects.",
            k=str(k),
            unit=o.units,
            outcome=o.names,
            n=str(len(f)),
        )
    return not_estimable(
        fid,
        programme,
        outcome,
        level="district",
        role="secondary",
        family=fid,
        reason_vi=reason.vi,
        reason_en=reason.en,
    )


def _placebo(district: District, programme: str, outcome: str) -> Finding | None:
    ind = INDICATORS[outcome]
    if not _data_has(district, ind, programme):
        return None
    panel = ind.data(district, programme)
    try:
        est = estimate(panel, ind, n_boot=999)
    except (DesignError, DataError, InferenceError):
        return None
    mvi, men = method_words(ind, est)
    design = say(
        "Check: the programme cannot change {outcome}; an 'effect' here would mean the "
        "comparison is flawed.",
        outcome=outcome_info(outcome).names,
    )
    return Finding(
        id=f"{programme}:{outcome}:placebo",
        programme=programme,
        outcome=outcome,
        level="district",
        role="check",
        family=f"{programme}:{outcome}:placebo",
        estimate=est,
        method_vi=mvi,
        method_en=men,
        design_vi=design.vi,
        design_en=design.en,
        wards=sorted(panel.loc[panel["cohort"].notna(), UNIT].unique()),
    )


def _explain_wards(district, programme, ind, pilot, out, roll, lasting) -> None:
    """Notes on where the comparison wards come from and how a reorganisation was handled,
    on every answer that rests on them; the check of the outside wards as a finding."""
    answers = [f for f in out if f.role == "headline" and f.outcome == ind.outcome] + lasting
    check = outside_pretrend(district, programme, ind)
    if check is not None:
        out.append(check)
        vi, en = outside_note(check)
        for f in answers:
            if set(f.comparison or district.comparison_wards) & set(check.wards):
                f.notes_vi.append(vi)
                f.notes_en.append(en)
    moved = reorganisation_note(district, programme, ind)
    if moved is not None:
        reach = moved[2]
        for f in answers:  # only the answers whose window reaches the reorganisation
            if f.window is None or pd.Timestamp(f.window[1]) >= reach:
                f.notes_vi.append(moved[0])
                f.notes_en.append(moved[1])
        sensitivity = allocation_check(district, programme, ind, pilot)
        if sensitivity is not None and roll:
            roll[0].notes_vi.append(sensitivity[0])
            roll[0].notes_en.append(sensitivity[1])


def evaluate_programme(district: District, programme: str) -> list[Finding]:
    """Every finding of one programme (see the module docstring); no verdicts yet."""
    outcomes = _outcomes(district, programme)
    if not outcomes:
        return []
    limit = _programme_limits(district, programme, outcomes[0])
    if limit is not None:
        return [limit]
    pilot = district.pilot_ward(programme)
    out: list[Finding] = []
    evaluable = [
        o for o in outcomes if o in INDICATORS and _data_has(district, INDICATORS[o], programme)
    ]
    for i, outcome in enumerate(evaluable):
        ind = INDICATORS[outcome]
        role = "headline" if i == 0 else "secondary"
        own = pilot_findings(district, programme, ind, pilot, role) if pilot is not None else []
        roll = rollout_findings(district, programme, ind, pilot, role)
        out += own + roll
        if role == "headline":
            add_robustness(district, programme, ind, pilot, own + roll)
            lasting = durability_findings(district, programme, ind, pilot)
            out += lasting
            _explain_wards(district, programme, ind, pilot, out, roll, lasting)
        covered_by = roll[0].id if roll else None
        out += ward_findings(district, programme, ind, pilot, covered_by)
    for outcome in outcomes:
        if outcome in RARE_OUTCOMES and "fires" in _outcomes(district, programme):
            out.append(_rare(district, programme, outcome))
    for other in _partners(district, programme):
        note = say(
            "This result includes the effect of “{other}”, which always started in the same wards "
            "at about the same time: the data cannot separate the two.",
            other=_programme_name(district, other),
        )
        for f in out:
            if f.role == "headline":
                f.notes_vi.append(note.vi)
                f.notes_en.append(note.en)
    domain = district.programme_meta(programme).get("domain", "")
    for outcome in _PLACEBO_OUTCOMES.get(domain, ()):
        found = _placebo(district, programme, outcome)
        if found is not None:
            out.append(found)
    return out


def _evaluate_or_explain(district: District, programme: str) -> list[Finding]:
    """A programme's findings; if evaluating it fails, one finding that says why — one
    programme's failure never takes the other programmes' findings with it."""
    try:
        return evaluate_programme(district, programme)
    except (DataError, DesignError, InferenceError) as exc:
        outcome = (_outcomes(district, programme) or ["—"])[0]
        return [
            _limit(
                district,
                programme,
                outcome,
                "district",
                say("This programme could not be evaluated: {reason}", reason=str(exc)),
            )
        ]


def programme_findings(
    district: District, programme: str, policy: Policy | None = None
) -> list[Finding]:
    """The findings of one programme with the district's verdicts (from
    :func:`district_findings`, so they agree with every other page)."""
    return [f for f in district_findings(district, policy) if f.programme == programme]


def district_findings(district: District, policy: Policy | None = None) -> list[Finding]:
    """Every finding of every programme of the registry, with verdicts under ``policy``.

    Computed once per data, registry, code version and policy (:mod:`evaluation.analysis.cache`).
    """
    from evaluation.analysis.cache import cached, is_cached, shared_parts

    policy = policy or Policy()
    used = set(district.registry.pilots["programme"])
    programmes = [p for p in district.registry.programmes if p in used]
    names = {f"findings of programme {p}": p for p in programmes}

    def evaluate(name: str) -> list[Finding]:
        from threadpoolctl import threadpool_limits

        # a district's models are small (13 wards): one BLAS thread each is fastest, and a
        # multi-threaded LAPACK call on a busy machine costs ~100 times a single-threaded one
        with threadpool_limits(limits=1):
            return _evaluate_or_explain(district, names[name])

    def compute() -> list[Finding]:
        parts = shared_parts(district, list(names), evaluate)
        return apply_policy([f for name in names for f in parts[name]], policy)

    with stage("findings"):
        if not is_cached(district, policy):
            # the programmes are evaluated once each, by whichever processes of the batch ask
            # at once (one takes the traffic model while another takes the fire points); the
            # verdicts, which weigh every programme's findings together, then once
            shared_parts(district, list(names), evaluate)
        return cached(district, policy, compute)


def default_programme(district: District, domain: str, requested: str | None = None) -> str | None:
    """The programme a domain notebook evaluates: ``requested`` (checked against the registry),
    else the first programme of ``domain`` ("traffic", "fire", "security") that has entries."""
    if requested is not None:
        district.registry.for_programme(requested)  # a DataError naming the registry's ids
        return requested
    used = set(district.registry.pilots["programme"])
    for programme, meta in district.registry.programmes.items():
        if (meta or {}).get("domain") == domain and programme in used:
            if (
                _common_start(district, programme) is None
                and _paired_with(district, programme) is None
            ):
                return programme
    return None


def for_ward(findings: list[Finding], ward: str) -> list[Finding]:
    """The findings whose number belongs to ``ward`` (its own estimate, the pilot's when it
    is the pilot ward, or the no-number finding that says why it has none)."""
    return [f for f in findings if f.ward == ward and f.role in ("headline", "secondary", "ward")]


def headlines(findings: list[Finding]) -> list[Finding]:
    """The answers to each programme's questions, in registry order (pilot before rollout)."""
    return [f for f in findings if f.role == "headline"]
