"""Every programme that reached a ward, evaluated with the design it calls for — one entry
point for the notebooks.

:func:`ward_effects` dispatches each registry entry of a ward to its design
(:mod:`evaluation.analysis.traffic`, :mod:`~evaluation.analysis.fires`,
:mod:`~evaluation.analysis.security`) and reports the programmes no comparison can evaluate
(:func:`programme_limit`: started in every ward on one day, like the rental-housing checks; or
always together with another programme, like tổ liên gia with the fire points) as findings
without a number. :func:`district_effects` runs it for every ward in one process (panels, the
registry and the rollout are shared between wards) and :func:`adjusted_table` adds Holm and
Benjamini–Hochberg adjusted p-values.

The names of the domain modules are re-exported here, so a notebook needs one import::

    from evaluation.analysis import programmes as pg
    effects = pg.ward_effects(district, "Cổ Nhuế 2")
"""

from __future__ import annotations

import pandas as pd

from evaluation.analysis.district import District
from evaluation.analysis.effects import (
    METHOD_VI,
    OUTCOMES,
    TIME,
    UNIT,
    WAVE_VI,
    Check,
    ComparisonWindow,
    Outcome,
    ProgrammeEffect,
    comparison_window,
    date_en,
    date_vi,
    effect_from_estimate,
    effects_table,
    later_or_never_sample,
    method_vi,
    not_evaluable,
    outcome_info,
)
from evaluation.analysis.fires import (
    common_shock_rates,
    fire_district_effect,
    fire_effect,
    fire_rate_effect,
    fires_by_status,
    naive_before_after_rate,
    per_100k_year,
    rare_outcome_finding,
)
from evaluation.analysis.security import camera_district_effect, camera_effect
from evaluation.analysis.traffic import (
    ANTICIPATION_WEEKS,
    PilotAnalysis,
    Rollout,
    accidents_effect,
    before_after,
    pilot_analysis,
    rollout_effects,
    rollout_twfe,
    traffic_effect,
    traffic_rollout,
)
from evaluation.errors import DesignError, InferenceError
from evaluation.report.verdict import fmt_en, fmt_vi

__all__ = [
    # this module
    "ward_effects",
    "district_effects",
    "adjusted_table",
    "programme_limit",
    # re-exported: the notebooks' one namespace
    "ANTICIPATION_WEEKS",
    "METHOD_VI",
    "OUTCOMES",
    "TIME",
    "UNIT",
    "WAVE_VI",
    "Check",
    "ComparisonWindow",
    "Outcome",
    "PilotAnalysis",
    "ProgrammeEffect",
    "Rollout",
    "accidents_effect",
    "before_after",
    "camera_district_effect",
    "camera_effect",
    "common_shock_rates",
    "comparison_window",
    "date_en",
    "date_vi",
    "effect_from_estimate",
    "effects_table",
    "fire_district_effect",
    "fire_effect",
    "fire_rate_effect",
    "fires_by_status",
    "later_or_never_sample",
    "method_vi",
    "naive_before_after_rate",
    "not_evaluable",
    "outcome_info",
    "per_100k_year",
    "pilot_analysis",
    "rare_outcome_finding",
    "rollout_effects",
    "rollout_twfe",
    "traffic_effect",
    "traffic_rollout",
]


def ward_effects(district: District, ward: str, *, checks: bool = True) -> list[ProgrammeEffect]:
    """Every programme that reached ``ward``, on the outcomes this workbench can evaluate.

    Traffic model: congestion minutes, speed, road accidents. Fire points: fire counts.
    Cameras: share of cases solved. Tổ liên gia: not separable from the fire points. A
    programme started everywhere on one day (rental checks): not identifiable by comparison.
    """
    from evaluation.data.wards import normalize_ward

    ward = normalize_ward(ward)
    out: list[ProgrammeEffect] = []
    for entry in district.programmes_of(ward).itertuples(index=False):
        p = entry.programme
        if _common_start(district, p) is not None:
            out.append(programme_limit(district, p, ward))
            continue
        if p == "traffic_model":
            out.append(
                _guarded(traffic_effect, district, ward, "congestion_minutes", checks=checks)
            )
            out.append(_guarded(traffic_effect, district, ward, "avg_speed_kmh", checks=False))
            out.append(_guarded(accidents_effect, district, ward))
        elif p == "fire_point":
            out.append(_guarded(fire_effect, district, ward, "fires", checks=checks))
        elif p == "camera":
            out.append(_guarded(camera_effect, district, ward))
        else:
            out.append(
                programme_limit(district, p, ward)
                or not_evaluable(
                    ward,
                    p,
                    (_programme_outcomes(district, p) or ["fires"])[0],
                    "Chưa có phương pháp đánh giá cho mô hình này trong bộ công cụ.",
                    "The workbench has no evaluation defined for this programme yet.",
                )
            )
    return out


_DEFAULT_OUTCOME = {
    "traffic_effect": None,
    "accidents_effect": "traffic_accidents",
    "fire_effect": None,
    "camera_effect": "solved_share",
}


_PROGRAMME_OF = {
    "traffic_effect": "traffic_model",
    "accidents_effect": "traffic_model",
    "fire_effect": "fire_point",
    "camera_effect": "camera",
}


def _guarded(fn, district: District, ward: str, *args, **kw) -> ProgrammeEffect:
    """Run one evaluation; when the data cannot support its design, say so as a finding
    instead of failing the whole report."""
    try:
        return fn(district, ward, *args, **kw)
    except (DesignError, InferenceError) as exc:
        outcome = args[0] if args else _DEFAULT_OUTCOME[fn.__name__] or "fires"
        return not_evaluable(
            ward,
            _PROGRAMME_OF[fn.__name__],
            outcome,
            "Số liệu của phường không đủ cho thiết kế so sánh này (ví dụ: quá ít kỳ có số "
            "liệu ở các phường đối chứng), nên không đưa ra ước lượng.",
            f"The ward's data cannot support this comparison ({exc}); no estimate is given.",
        )


def programme_limit(
    district: District, programme: str, ward: str | None = None
) -> ProgrammeEffect | None:
    """The finding for a programme no comparison can evaluate — started in every ward on one
    day, or always together with another programme — or None when a comparison exists."""
    common = _common_start(district, programme)
    if common is not None:
        return _common_shock(district, ward, programme, common)
    probe = ward or district.starts(programme).index[0]
    pair = _paired_with(district, programme, probe)
    if pair is None:
        return None
    other, gap = pair
    lab_vi = district.programme_label(other, "vi")
    lab_en = district.programme_label(other, "en")
    when_vi = "trước" if gap > 0 else "sau"
    when_en = "before" if gap > 0 else "after"
    return not_evaluable(
        ward,
        programme,
        (_programme_outcomes(district, programme) or ["fires"])[0],
        f"Mô hình này luôn được triển khai cùng «{lab_vi}», ở cùng các phường, {when_vi} "
        f"khoảng {fmt_vi(abs(gap) / 30.4, 1)} tháng: số liệu không tách được tác động riêng của "
        f"từng mô hình. Xem kết quả của «{lab_vi}» (tác động chung của cả hai).",
        f"This programme always started together with “{lab_en}”, in the same wards, about "
        f"{fmt_en(abs(gap) / 30.4, 1)} months {when_en} it: the data cannot separate their "
        f"effects. See “{lab_en}” for the joint effect.",
    )


def _common_shock(district: District, ward: str | None, programme: str, date) -> ProgrammeEffect:
    outcomes = _programme_outcomes(district, programme) or ["fires"]
    return not_evaluable(
        ward,
        programme,
        outcomes[0],
        f"Triển khai ở tất cả các phường cùng ngày {date_vi(date)}: không có phường đối chứng, "
        "nên không phương pháp so sánh nào tách được tác động của mô hình khỏi những thay đổi "
        "chung cùng thời điểm. So sánh trước–sau đơn thuần sẽ gán nhầm mọi thay đổi khác cho "
        "mô hình.",
        f"Started in every ward on the same day ({date_en(date)}): there is no comparison "
        "ward, so no comparison can separate the programme's effect from whatever else changed "
        "at that time. A plain before/after comparison would credit the programme with every "
        "other change.",
    )


def _common_start(district: District, programme: str) -> pd.Timestamp | None:
    """The start date when every ward of the district started the programme that day."""
    s = district.starts(programme)
    if set(s.index) >= set(district.ward_names) and s.nunique() == 1:
        return pd.Timestamp(s.iloc[0])
    return None


def _paired_with(district: District, programme: str, ward: str) -> tuple[str, float] | None:
    """Another programme that always starts in the same wards within ~3 months of this one
    (the two cannot be told apart): its id and the median gap in days."""
    mine = district.starts(programme)
    for other in district.registry.programmes:
        if other == programme:
            continue
        theirs = district.registry.pilots.query("programme == @other").set_index(UNIT)["start"]
        if set(theirs.index) != set(mine.index) or ward not in theirs.index:
            continue
        gap = (theirs - mine.reindex(theirs.index)).dt.days
        if gap.abs().max() <= 92:
            return other, float(gap.median())
    return None


def _programme_outcomes(district: District, programme: str) -> list[str]:
    meta = district.registry.programmes.get(programme, {})
    return list(meta.get("outcomes") or [])


def district_effects(district: District, *, checks: bool = False) -> list[ProgrammeEffect]:
    """Every ward × programme × outcome of :func:`ward_effects`, computed in this process
    (panels, the rollout and the registry are shared between wards)."""
    out: list[ProgrammeEffect] = []
    for ward in district.ward_names:
        out += ward_effects(district, ward, checks=checks)
    return out


def adjusted_table(effects: list[ProgrammeEffect], registry=None) -> pd.DataFrame:
    """:func:`effects_table` with Holm and Benjamini–Hochberg adjusted p-values over the
    effects that have a p-value (one family: every ward × programme × outcome tested)."""
    from evaluation.inference.multiple import adjust_pvalues

    t = effects_table(effects, registry)
    # a ward whose number stands in from the rollout has no test of its own
    own = pd.Series([not e.details.get("stand_in") for e in effects], index=t.index)
    t["own_test"] = own & t["pvalue"].notna()
    family = t["pvalue"].where(t["own_test"])
    t["p_holm"] = adjust_pvalues(family, "holm")
    t["p_bh"] = adjust_pvalues(family, "bh")
    return t
