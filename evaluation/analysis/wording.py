"""How a finding's question, method, design and window are worded, in Vietnamese and English.

The verdict's own sentence is :mod:`evaluation.analysis.verdict`'s; these are the words around it:
which way an indicator should move, the model and the inference behind a number, and the
comparison window a single ward is judged on. Every phrase comes from the message catalogue
(:mod:`evaluation.i18n`) as a :class:`~evaluation.i18n.Text` (unpacks as ``(vi, en)``).
"""

from __future__ import annotations

from evaluation import formats as fmt
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.windows import (
    Indicator,
)
from evaluation.i18n import Text, say, text


def direction_words(outcome: str) -> Text:
    if outcome_info(outcome).lower_is_better:
        # TRANSLATORS: what a programme should do to an indicator ("did the pilot reduce …?")
        return say("reduce")
    return say("raise")


def inference_words(est) -> Text:
    m = est.inference_method if est is not None else ""
    if m == "conformal":
        return say("permuting time (conformal inference)")
    if m == "randomization":
        return say("permuting which wards are treated (randomization inference)")
    if m == "wild":
        return say("wild cluster bootstrap")
    if m == "cluster":
        return say("cluster-robust standard errors")
    if m == "analytic":
        return say("analytic standard errors")
    return text("—")


def model_words(ind: Indicator) -> Text:
    if ind.family == "poisson":
        return say("Poisson model with ward and period fixed effects and population exposure")
    if ind.weights:
        return say("difference-in-differences with ward and period effects, weighted by cases")
    return say("difference-in-differences with ward and period fixed effects (TWFE)")


def method_words(ind: Indicator, est, prefix=("", "")) -> Text:
    return Text(*prefix) + model_words(ind) + "; " + inference_words(est)


def names_text(wards) -> str:
    return ", ".join(wards) if wards else "—"


def comparison_words(comparison, outside=()) -> Text:
    """ "the 12 wards not yet treated (…) and 5 wards of neighbouring districts that never took
    the programme (…)", in both languages: comparison wards from outside the district are
    named apart, so that a reader knows where they come from."""
    inside = [w for w in comparison if w not in set(outside)]
    beyond = [w for w in comparison if w in set(outside)]
    ours = theirs = None
    if inside:
        ours = say(
            "the {n} wards not yet treated ({names})", n=str(len(inside)), names=names_text(inside)
        )
    if beyond:
        theirs = say(
            "{n} wards of neighbouring districts that never took the programme ({names})",
            n=str(len(beyond)),
            names=names_text(beyond),
        )
    if ours is not None and theirs is not None:
        # TRANSLATORS: the wards of the district, then the wards from outside it
        return say("{inside} and {outside}", inside=ours, outside=theirs)
    return ours or theirs or text("—")


def window_words(win, ind: Indicator, outside=()) -> Text:
    values = dict(
        ward=win.ward,
        start=text(fmt.date_text(win.start)),
        comparison=comparison_words(win.comparison, outside),
        end=text(fmt.date_text(win.end)),
        n_pre=str(win.n_pre),
        n_post=str(win.n_post),
        periods=ind.periods,
    )
    if win.cut:
        return say(
            "{ward} (started {start}) against {comparison}, from the start of the data to {end} "
            "— keeping {n_post} {periods} after the start, as many as before it, so that "
            "permuting time (conformal inference) is valid; {n_pre} {periods} before and "
            "{n_post} after the start.",
            **values,
        )
    if win.next_start is not None:
        return say(
            "{ward} (started {start}) against {comparison}, from the start of the data to "
            "{end}, before the next wave started; {n_pre} {periods} before and {n_post} after "
            "the start.",
            **values,
        )
    return say(
        "{ward} (started {start}) against {comparison}, from the start of the data to {end}; "
        "{n_pre} {periods} before and {n_post} after the start.",
        **values,
    )


def notes_text(win) -> list[Text]:
    """The notes on a ward's comparison, in both languages."""
    if not win.comparison:
        return []
    return [
        say(
            "Comparison wards bordering treated wards may benefit indirectly (spill-over), which "
            "makes the estimate smaller than the true effect; see the check without bordering "
            "wards."
        )
    ]


def notes_vi(win) -> list[str]:
    return [note.vi for note in notes_text(win)]


def notes_en(win) -> list[str]:
    return [note.en for note in notes_text(win)]
