"""The outcomes the reports speak of, each defined once: what is measured, per what, over which
period — the glossary every page links to, and the names and units the verdicts use.

The definitions describe the indicators as the workbench builds them from the documented input
tables (``data/README.md``): e.g. congestion minutes are recorded per junction and peak, and the
analyses use their weekly mean over a ward's hotspot junctions and both peaks.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluation.i18n import Text, say

__all__ = ["Outcome", "OUTCOMES", "outcome_info"]


@dataclass(frozen=True)
class Outcome:
    """An indicator: its names, unit, direction, display precision and definition.

    ``lower_is_better`` says which direction is an improvement; ``percent`` that effects on it
    are estimated as a percent change (Poisson models of counts); ``digits`` the decimals shown.
    """

    key: str
    vi: str
    en: str
    unit_vi: str = ""
    unit_en: str = ""
    lower_is_better: bool = True
    digits: int = 1
    percent: bool = False
    definition_vi: str = ""
    definition_en: str = ""

    def unit(self, lang: str) -> str:
        return self.unit_vi if lang == "vi" else self.unit_en

    def name(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en

    @property
    def names(self) -> Text:
        """The outcome's name in both languages."""
        return Text(self.vi, self.en)

    @property
    def units(self) -> Text:
        """The outcome's unit in both languages ("" for none)."""
        return Text(self.unit_vi, self.unit_en)

    @property
    def definition(self) -> Text:
        """The outcome's definition in both languages."""
        return Text(self.definition_vi, self.definition_en)


_NONE = Text("", "")


def _outcome(key: str, name: Text, unit: Text = _NONE, definition: Text = _NONE, **kw) -> Outcome:
    return Outcome(
        key,
        name.vi,
        name.en,
        unit.vi,
        unit.en,
        definition_vi=definition.vi,
        definition_en=definition.en,
        **kw,
    )


_PEAKS = say("the morning (06:00–08:30) and evening (16:00–19:00) peaks")
# TRANSLATORS: the unit of a count of fires, after a number ("12 fires"); in English "fires".
# (Its id is not "fires", the outcome's name, which Vietnamese says otherwise.)
_FIRES_UNIT = say("fires (unit)")

OUTCOMES: dict[str, Outcome] = {
    o.key: o
    for o in (
        _outcome(
            "congestion_minutes",
            say("peak-hour congestion time"),
            say("minutes"),
            say(
                "Minutes of a peak during which traffic through a junction moves slower than "
                "10 km/h, at the ward's hotspot junctions, in {peaks}; averaged per junction and "
                "peak, week by week (Monday to Sunday).",
                peaks=_PEAKS,
            ),
        ),
        _outcome(
            "avg_speed_kmh",
            say("peak-hour average speed"),
            say("km/h"),
            say(
                "Mean speed of traffic through the ward's hotspot junctions in {peaks}, averaged "
                "week by week.",
                peaks=_PEAKS,
            ),
            lower_is_better=False,
        ),
        _outcome(
            "traffic_accidents",
            say("road accidents"),
            say("accidents"),
            say(
                "Road traffic accidents in the ward per police reporting period (15th of a month "
                "to the 14th of the next); effects are percent changes of the rate per resident."
            ),
            percent=True,
        ),
        _outcome(
            "fires",
            say("fires"),
            _FIRES_UNIT,
            say(
                "Fires recorded in the ward per calendar month (from the incident records); "
                "effects are percent changes of the fire rate per resident."
            ),
            percent=True,
        ),
        _outcome(
            "fire_rate",
            say("fire rate"),
            say("fires per 100,000 residents a year"),
            say("Fires per 100,000 residents, as a yearly rate, month by month."),
        ),
        _outcome(
            "escalated",
            say("fires of medium or worse severity"),
            _FIRES_UNIT,
            say("Fires of medium, large or serious severity, per month."),
            percent=True,
        ),
        _outcome(
            "deaths",
            say("fire deaths"),
            say("people"),
            say("People killed in fires, per month."),
        ),
        _outcome(
            "loss_mvnd",
            say("property lost to fire"),
            say("million VND"),
            say("Property lost in fires (million VND), per month."),
            digits=0,
        ),
        _outcome(
            "rental",
            say("fires in rental housing"),
            _FIRES_UNIT,
            say("Fires in rental rooms and mini apartment blocks, per month."),
            percent=True,
        ),
        _outcome(
            "electrical_incidents",
            say("minor electrical incidents"),
            say("incidents"),
            say(
                "Minor electrical incidents (not fires), per month — a check: fire points "
                "cannot change them."
            ),
            percent=True,
        ),
        _outcome(
            "solved_share",
            say("share of criminal cases solved"),
            say("percentage points"),
            say(
                "Percent of criminal cases solved per police reporting period (15th to 14th); "
                "effects are in percentage points."
            ),
            lower_is_better=False,
        ),
        _outcome(
            "theft_cases",
            say("theft cases"),
            say("cases"),
            say("Theft cases per police reporting period."),
            percent=True,
        ),
    )
}


def outcome_info(key: str) -> Outcome:
    """The outcome's names and definition (a bare stand-in for an outcome not listed)."""
    return OUTCOMES.get(key) or Outcome(key, key, key)
