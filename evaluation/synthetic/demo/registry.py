"""The demo district's pilot registry (``params/pilots.yaml``), from the simulation plan."""

from __future__ import annotations

from evaluation.synthetic.demo import plan
from evaluation.synthetic.files import registry_yaml

__all__ = ["registry_document", "demo_registry_yaml"]

HEADER = """\
# Pilot registry: which ward started which programme when.
#
# This is the demo district's registry, written by `make demo-data` from the simulator's plan
# (evaluation/synthetic/demo/plan.py), so it always matches data/demo/. For real data, copy it and edit it.
#
# programmes: one block per programme — name_vi/name_en (full names), short_vi/short_en (the
#   short names on charts and tables), domain (traffic | fire | security), outcomes (the
#   indicators it is meant to move; the first is its headline), optional anticipation_days
#   (days before the start when behaviour already changes: announcements, preparation),
#   optional note, optional target (what it set out to do: {outcome, change_percent or change,
#   source}) and claim (what was said of its result: {vi, en, change_percent, months, source});
#   the pages hold the effect against both.
# pilots: one entry per ward × programme with the start date (first day the programme ran);
#   optional: wave ("pilot" marks the pilot ward; other labels group the rollout waves),
#   interim_review (sơ kết) and final_review (tổng kết) dates, dose.
# Ward names may be written in any common spelling or as GSO codes (00617 = Cổ Nhuế 2).
# A ward without an entry for a programme is never treated by it.
"""


def registry_document() -> dict:
    entries = []
    for ward, start in sorted(plan.traffic_starts().items(), key=lambda kv: (kv[1], kv[0])):
        wave = plan.traffic_wave(ward)
        e = {
            "ward": ward,
            "programme": "traffic_model",
            "start": start.date().isoformat(),
            "wave": wave,
        }
        if wave == "pilot":
            e["interim_review"] = plan.PILOT_INTERIM.date().isoformat()
        e["final_review"] = plan.FINAL_REVIEW.date().isoformat()
        entries.append(e)
    for ward, start in sorted(plan.to_lien_gia_starts().items(), key=lambda kv: (kv[1], kv[0])):
        entries.append(
            {"ward": ward, "programme": "to_lien_gia", "start": start.date().isoformat()}
        )
    for ward, (start, dose) in sorted(
        plan.fire_point_starts().items(), key=lambda kv: (kv[1][0], kv[0])
    ):
        entries.append(
            {
                "ward": ward,
                "programme": "fire_point",
                "start": start.date().isoformat(),
                "dose": dose,
            }
        )
    for ward, start in sorted(plan.CAMERA_STARTS.items(), key=lambda kv: (kv[1], kv[0])):
        entries.append({"ward": ward, "programme": "camera", "start": start})
    for ward in sorted(plan.traffic_starts()):
        entries.append(
            {
                "ward": ward,
                "programme": "rental_check",
                "start": plan.RENTAL_CHECK_DATE.date().isoformat(),
            }
        )
    return {"programmes": plan.PROGRAMMES, "pilots": entries}


def demo_registry_yaml() -> str:
    """The demo registry as written to ``params/pilots.yaml``."""
    doc = registry_document()
    return registry_yaml(doc["programmes"], doc["pilots"], header=HEADER)
