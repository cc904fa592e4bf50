"""Simulated districts whose truth differs from the demo's: end-to-end tests and accuracy studies.

The demo data (``data/demo``) are one draw of one truth: the pilot in Cổ Nhuế 2, three waves
in July, September and November 2024, effects by urban class. Findings must be right for any
district, so this module writes *other* districts — written from scratch, independent of the
demo generator — in exactly the documented input format (``data/README.md``), with the truth
beside them:

* :class:`Scenario` describes one district's truth: which ward pilots the traffic model and
  when, the rollout waves (wards, dates, order, effect of each), ramp-in, anticipation,
  spillover to untreated neighbours, decay, a district-wide shock no comparison removes, the
  fire points (wards, dates, effect on fire counts per ward), a change in how fires are
  recorded, the cameras (dates, effect on the share of cases solved) and a programme started
  in every ward on one day;
* :func:`random_scenario` draws scenarios of a kind (``KINDS``) for a simulation study: the
  pilot ward, the wave order, dates and effect sizes at random;
* :func:`city_scenario` describes a generated city (:mod:`.city`): N units grouped into
  districts or not, three programmes rolled out area by area, one of them without effect;
* :func:`write_district` simulates the tables from ``(scenario, seed)`` and writes them, the
  pilot registry, ``data_notes.yaml`` (data-quality events) and the truth (``truth/`` tables
  in the demo's formats, ``truth.yaml``); it returns a :class:`Truth` whose helpers give the
  true average effect over any set of ward × period cells.

Data-generating process (all multiplicative, log-normal noise unless said otherwise):

* traffic, junction j of ward w, day d, peak p (AM 150 min, PM 180 min long)::

      minutes⁰ = min(L_p, base_p · class_w · e^(u_w + v_j) · calendar_d · shock_d
                          · e^(g_w,week(d) + h_d + a_jd + b_jdp))
      minutes  = min(L_p, [same] · (1 + direct_wd)(1 + anticipation_wd)(1 + spillover_wd))

  with ward and junction effects u, v, ward × week effects g, day effects h common to every
  ward, AR(1) day-to-day errors a (ρ = 0.6) and peak errors b; the calendar has weekdays,
  public holidays, Tết (and the rush before it), the summer school break, rain, an annual
  cycle and a 2.5 %/year trend. Speed falls with congestion; the programme moves it by
  ``speed_per_congestion`` × its effect on minutes. Because minutes⁰ is drawn with the same
  noise, the realised effect of every cell is known exactly (the truth tables keep both).
* fires: Poisson counts per ward × day × premise type with population exposure, season, Tết,
  the recording change (× factor from its date, every ward), the everyone-at-once programme
  (on rental premises) and the fire points (× (1 + effect_w) after a ramp); each fire gets a
  severity (escalation less likely where a fire point runs), deaths, injuries, a loss.
* security: criminal cases, solved cases (solve rate + camera effect after a ramp), road
  accidents (× (1 + accident effect) where the traffic model runs) and the other indicators
  per ward × police period (15th → 14th).

Reproducible: the same ``(scenario, seed)`` writes the same files — CSV and YAML byte for
byte, Parquet value for value. One district takes a fraction of a second.


The package, by role: :mod:`.scenario` (the truth to plant and :func:`random_scenario`),
:mod:`.simulate` (the data-generating process), :mod:`.truth` (:class:`Truth`, the realised
effects) and :mod:`.write` (:func:`write_district`).
"""

from evaluation.synthetic.scenarios.city import city_scenario, city_universe
from evaluation.synthetic.scenarios.scenario import KINDS, Scenario, Wave, random_scenario
from evaluation.synthetic.scenarios.truth import Truth
from evaluation.synthetic.scenarios.universe import Universe
from evaluation.synthetic.scenarios.write import write_district

__all__ = [
    "KINDS",
    "Wave",
    "Scenario",
    "Truth",
    "Universe",
    "city_scenario",
    "city_universe",
    "random_scenario",
    "write_district",
]
