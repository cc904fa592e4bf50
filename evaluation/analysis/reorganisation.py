"""How an analysis handled a reorganisation of the wards, in words, and how much it matters.

A programme is analysed at the level of wards it was assigned to; rows recorded under other
wards were carried across (:mod:`evaluation.data.levels`, :attr:`District.carried`). Every
headline of such a programme says how (:func:`reorganisation_note`): traffic exactly, through
the junctions, which never move; counts recorded under the new wards cannot be put back into
the old ones exactly, so the window ends at the change. :func:`allocation_check` shows what
the other choice gives — the same estimate with those counts allocated to the old wards by
population share and by area share — so a reader sees whether the choice matters.
"""

from __future__ import annotations

import math

import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import District
from evaluation.analysis.outcomes import outcome_info
from evaluation.analysis.windows import UNIT, Indicator, estimate
from evaluation.errors import DataError, DesignError, InferenceError
from evaluation.i18n import Text, say, text

__all__ = ["TABLE_OF", "allocation_check", "reorganisation_note"]

#: the table behind each indicator's panel (the keys of District.carried)
TABLE_OF = {
    "_traffic": "traffic",
    "_fires": "fires",
    "_security": "antt",
    "_electrical": "electrical",
}


def _carried(district: District, programme: str, ind: Indicator):
    table = TABLE_OF.get(getattr(ind.panel, "__name__", ""))
    level = district.level(programme)
    ind.data(district, programme)  # the panel is built (and its carrying recorded) once
    return table, district.carried.get((table, level.date)), level


def reorganisation_note(
    district: District, programme: str, ind: Indicator
) -> tuple[str, str, pd.Timestamp] | None:
    """The sentence a headline carries when rows were carried across a reorganisation, and
    the date an answer's window must reach for the sentence to concern it."""
    table, rep, level = _carried(district, programme, ind)
    if rep is None or not rep.changed:
        return None
    changes = district.ward_table.change_dates
    day = text(fmt.date_text(changes[0]) if changes else "—")
    reach = (
        rep.window_end - pd.Timedelta(days=1)
        if rep.window_end is not None
        else (changes[0] if changes else pd.Timestamp.min)
    )
    if table == "traffic":
        note = say(
            "From {day} the records name the new wards. The programme was assigned to the old "
            "wards, so the analysis is at their level: traffic is carried back through each "
            "junction's location (junctions do not move), exactly ({rows} rows).",
            day=day,
            rows=f"{rep.backward + rep.forward:,}",  # as written before the catalogue (both)
        )
    elif rep.how == "truncate" and rep.window_end is not None:
        note = say(
            "From {day} the records name the new wards and cannot be split back exactly into the "
            "old ones the programme was assigned to, so the analysis stops on {end}. The check "
            "'allocated by population / area' shows the result with the later records.",
            day=day,
            end=text(fmt.date_text(rep.window_end)),
        )
    elif rep.how == "pop_share":
        note = say(
            "From {day} the records under new wards are allocated back to the old wards by "
            "population share (an assumption).",
            day=day,
        )
    else:
        note = say(
            "From {day} the records under new wards are allocated back to the old wards by area "
            "share (an assumption).",
            day=day,
        )
    return note.vi, note.en, reach


def _effect_text(est, ind: Indicator, lang: str) -> str:
    if ind.family == "poisson":
        pct = [
            100 * math.expm1(x) if x == x else x for x in (est.estimate, est.ci_low, est.ci_high)
        ]
        return (
            f"{fmt.percent(pct[0], 0, lang, sign=True)} "
            f"{fmt.interval(pct[1], pct[2], 0, lang, unit='%')}"
        )
    unit = outcome_info(ind.outcome).unit_vi if lang == "vi" else outcome_info(ind.outcome).unit_en
    return f"{fmt.signed(est.estimate, 2, lang)} {unit} {fmt.interval(est.ci_low, est.ci_high, 2, lang)}"


def allocation_check(
    district: District, programme: str, ind: Indicator, pilot: str | None
) -> Text | None:
    """The rollout estimate with the later counts allocated to the old wards by population and
    by area share — a sentence: the sensitivity to ending the window at the change."""
    table, rep, level = _carried(district, programme, ind)
    if rep is None or rep.how != "truncate" or not rep.dropped or table == "traffic":
        return None
    parts: list[Text] = []
    for how in ("pop_share", "area_share"):
        panel = ind.data(district.alternate(how), programme)
        if pilot is not None:
            panel = panel[panel[UNIT] != pilot]
        try:
            est = estimate(panel, ind, n_boot=999)
        except (DesignError, InferenceError, DataError):
            if how == "pop_share":
                parts.append(say("by population: not estimable"))
            else:
                parts.append(say("by area: not estimable"))
            continue
        effect = Text(_effect_text(est, ind, "vi"), _effect_text(est, ind, "en"))
        if how == "pop_share":
            parts.append(say("by population {effect}", effect=effect))
        else:
            parts.append(say("by area {effect}", effect=effect))
    end = text(fmt.date_text(rep.window_end) if rep.window_end is not None else "—")
    # TRANSLATORS: {results} lists "by population …; by area …" (each its own message)
    return say(
        "Sensitivity: with the records kept under new wards allocated back to the old ones (an "
        "assumption), using the periods after {end} too: {results}.",
        end=end,
        results=Text("; ".join(t.vi for t in parts), "; ".join(t.en for t in parts)),
    )
