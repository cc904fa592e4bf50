"""The index page of a batch: the answers first, then the wards, then the runs.

An official opens the index to learn whether each programme worked. So the page leads with one
block per programme: its questions ("Did the pilot in Cổ Nhuế 2 reduce congestion, and by how
much?") answered with the verdict, the effect in the indicator's unit and as a percentage with
its 95 % interval, the window of data and the method — the pilot's own estimate first, then the
rollout's. Other methods on the same question, the waves, the wards and the technical contrasts
follow, folded. The verdict policy is declared once at the top, the indicators are defined in a
glossary, and every number is the text the analysis wrote (Vietnamese number forms), so the
index, the ward pages and the findings table say the same thing.

Notebooks record overlapping findings (the district summary records every finding, a ward's
report that ward's): the index shows each finding once (by ``finding_id``) and flags any
finding whose copies disagree — a number that differs between two pages is a defect, never
something to average away.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evaluation import formats as fmt
from evaluation.analysis.caveats import vietnamese
from evaluation.analysis.decision import decision_card
from evaluation.analysis.outcomes import OUTCOMES
from evaluation.analysis.policy import LABELS, Policy
from evaluation.i18n import Text, say

__all__ = [
    "CITY_FROM",
    "GROUP_KINDS",
    "describe_row",
    "policy_of",
    "render_index",
    "search_key",
    "unique_findings",
]

Exists = Callable[[str | None], bool]

#: the fields two copies of one finding must agree on
_SAME = ("estimate", "ci_low", "ci_high", "pvalue", "verdict_category", "ward")
_LEVEL_ORDER = {"pilot": 0, "district": 1, "wave": 2, "ward": 3}

#: From this many wards with findings of their own in one programme (a city: 126 or 580 units),
#: the programme's wards are shown one compact row per ward — every indicator of the ward side
#: by side, its explanation on the ward's own report — in folded groups by district (or new
#: ward), each summarised by its verdicts. Below it (a district: 13 wards) the full rows stay:
#: they read better, and the page is small anyway.
CITY_FROM = 30

#: what the wards are grouped by on a city's index → (Vietnamese, English) names
GROUP_KINDS: dict[str, Text] = {
    "district": say("districts"),
    "new_ward": say("new wards and communes"),
}

_PREFIXES = re.compile(r"^(?:phuong|xa|thi tran|quan|huyen|p|q|x)\s+")


# --------------------------------------------------------------------------------------------
# one copy of each finding
# --------------------------------------------------------------------------------------------


def _key(f: Mapping[str, Any], position: int) -> str:
    fid = f.get("finding_id")
    # findings recorded without an id (hand-written notebooks, the design notebook's figures)
    # are never merged
    return str(fid) if fid else f"#{position}"


def _specificity(f: Mapping[str, Any]) -> int:
    """Which copy links to the best report: the ward's own report for a ward's finding, a
    programme's notebook before the district summary."""
    notebook = str(f.get("notebook") or "")
    if f.get("ward") and notebook.startswith("ward_report"):
        return 0
    return 2 if notebook.startswith("district_summary") else 1


def _differs(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) and math.isnan(b):
            return False
        return not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a != b


def unique_findings(
    findings: Sequence[Mapping[str, Any]],
) -> tuple[list[dict[str, Any]], list[str]]:
    """Each finding once, in the order first recorded, with the link to its most specific
    report; and the ids of findings whose copies disagree on a number or verdict."""
    chosen: dict[str, dict[str, Any]] = {}
    conflicts: list[str] = []
    for position, f in enumerate(findings):
        k = _key(f, position)
        if k not in chosen:
            chosen[k] = dict(f)
            continue
        kept = chosen[k]
        if any(_differs(kept.get(c), f.get(c)) for c in _SAME) and k not in conflicts:
            conflicts.append(k)
        if _specificity(f) < _specificity(kept):
            kept.update(report=f.get("report"), run_id=f.get("run_id"))
    return list(chosen.values()), conflicts


# --------------------------------------------------------------------------------------------
# rows
# --------------------------------------------------------------------------------------------


def _p_text(p: Any) -> str:
    return fmt.pvalue(p) if p is not None else "—"


def _row(f: Mapping[str, Any], exists: Exists) -> dict[str, Any]:
    """What one finding shows, in the words and numbers the analysis wrote."""
    cat = f.get("verdict_category")
    label_vi, label_en = LABELS.get(cat, ("", "")) if cat else ("", "")
    has_number = f.get("estimate") is not None
    front = f.get("front_vi")
    # written by the analysis layer: the interval alone when there is no point to show
    shows_point = front is None or front == f.get("effect_vi")
    percent = (f.get("percent_vi") or "") if shows_point else ""
    effect = front or f.get("effect_vi") or _effect_fallback(f)
    return {
        "id": f.get("finding_id") or "",
        "anchor": _anchor(f.get("finding_id")),
        "ward": f.get("ward") or "",
        "wave": f.get("wave") or "",
        "question_vi": f.get("question_vi") or f.get("outcome_label") or "",
        "question_en": f.get("question_en") or "",
        "outcome_vi": _outcome_name(f.get("outcome"), "vi") or f.get("outcome_label") or "",
        "what": describe_row(f),
        "category": cat or "",
        "label_vi": label_vi,
        "label_en": label_en,
        "effect": effect,
        "effect_en": f.get("front_en") or f.get("effect_en") or "",
        "percent": percent if percent not in ("", "—") else "",
        "has_number": has_number,
        "p": _p_text(f.get("pvalue")),
        "p_adjusted": _p_text(f.get("p_adjusted")) if f.get("family_size", 1) > 1 else "",
        "family_size": f.get("family_size") or 1,
        "window": f.get("window_text") or "—",
        "scope": _scope(f),
        "method_vi": f.get("method_vi") or f.get("method") or "",
        "method_en": f.get("method_en") or f.get("inference") or "",
        "design_vi": f.get("design_vi") or "",
        "design_en": f.get("design_en") or "",
        "verdict_vi": f.get("verdict_vi") or "",
        "verdict_en": f.get("verdict_en") or "",
        "notes_vi": list(f.get("notes_vi") or []),
        "warnings": _caveats(f),
        "truth": f.get("truth_vi") or "",
        "robustness_vi": f.get("robustness_vi") or "",
        "covered_by": _anchor(f.get("covered_by")) if f.get("covered_by") else "",
        "report": f.get("report") if exists(f.get("report")) else None,
    }


def _scope(f: Mapping[str, Any]) -> str:
    """Which wards and which period the answer covers: "8 phường, 01/07/2024 – 13/10/2024"."""
    wards = f.get("wards") or []
    if isinstance(wards, str):
        wards = [w for w in wards.split("; ") if w]
    # the period after the start: the window beside it gives the base before it too
    after = f.get("window") or []
    window = " – ".join(fmt.date_text(d) for d in after) if len(after) == 2 else ""
    if not wards and not window:
        return ""
    head = f"{len(wards)} " + " / ".join(say("wards")) if len(wards) != 1 else f"{wards[0]}"
    return f"{head}, {window}" if window else head


def _effect_fallback(f: Mapping[str, Any]) -> str:
    """A finding recorded without the analysis layer's texts (a hand-written notebook)."""
    if f.get("estimate") is None:
        return "—"
    text = fmt.number(f["estimate"], 2)
    if f.get("ci_low") is not None or f.get("ci_high") is not None:
        text += " " + fmt.interval(f.get("ci_low"), f.get("ci_high"), 2)
    return text


def describe_row(f: Mapping[str, Any]) -> str:
    """A short name for a row: the indicator and whose effect it is."""
    name = _outcome_name(f.get("outcome"), "vi") or str(f.get("outcome_label") or "")
    level, ward, wave = f.get("level"), f.get("ward"), f.get("wave")
    if level == "pilot":
        # the Vietnamese label names the pilot's ward, the English one is the bare word
        pilot = say("pilot")
        return f"{name} — {pilot.vi} {ward} / {pilot.en}"
    if level == "wave" and wave:
        return f"{name} — " + " / ".join(say("wave {wave}", wave=str(wave)))
    if level == "quarter":
        q = str(f.get("finding_id") or "").rsplit("quarter", 1)[-1]
        return f"{name} — " + " / ".join(say("quarter {q} since the start", q=q))
    if ward and level in ("ward", None):
        return f"{name} — {ward}"
    return f"{name} — " + " / ".join(say("district"))


def _caveats(f: Mapping[str, Any]) -> list[dict[str, str]]:
    """Each caveat in Vietnamese (as recorded, or translated here) with its English original."""
    english = [str(w) for w in f.get("warnings") or []]
    recorded = f.get("warnings_vi") or []
    if len(recorded) != len(english):
        recorded = [vietnamese(w) for w in english]
    return [{"vi": vi, "en": en} for vi, en in zip(recorded, english, strict=True)]


def _anchor(fid: Any) -> str:
    return "f-" + "".join(c if c.isalnum() else "-" for c in str(fid or ""))


def _outcome_name(key: Any, lang: str) -> str:
    o = OUTCOMES.get(str(key)) if key else None
    if o is None:
        return ""
    name = o.name(lang)
    return name[:1].upper() + name[1:]


# --------------------------------------------------------------------------------------------
# a city: wards in groups, found by typing their name
# --------------------------------------------------------------------------------------------


#: đ and Đ (U+0111, U+0110) have no decomposition: written as d and D (by code point, so that
#: no Vietnamese letter is a literal outside the message catalogue)
_D_BAR = str.maketrans({0x0111: "d", 0x0110: "D"})


def search_key(text: Any) -> str:
    """What the ward finder compares: no diacritics (đ → d), lower case, words of letters and
    digits. The page's script reduces what is typed the same way, so "co nhue" (or "Cổ Nhuế")
    finds "Cổ Nhuế 2"."""
    decomposed = unicodedata.normalize("NFD", str(text or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    plain = plain.translate(_D_BAR).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _ward_key(ward: str, wards: Mapping[str, Mapping[str, Any]]) -> str:
    """A ward's row key: its name, code and group, so typing any of them finds it."""
    info = wards.get(ward) or {}
    return search_key(" ".join(str(x) for x in (ward, info.get("code"), info.get("group")) if x))


def _city_wards(
    rows: Sequence[Mapping[str, Any]],
    exists: Exists,
    wards: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any] | None:
    """A programme's ward findings as one row per ward, in groups (see :data:`CITY_FROM`);
    None below that size."""
    by_ward: dict[str, dict[str, Mapping[str, Any]]] = {}
    outcomes: list[str] = []
    for f in rows:
        ward = str(f.get("ward") or "")
        outcome = str(f.get("outcome") or "")
        if not ward:
            continue
        if outcome not in outcomes:
            outcomes.append(outcome)
        by_ward.setdefault(ward, {}).setdefault(outcome, f)
    if len(by_ward) < CITY_FROM:
        return None
    columns = [
        {"key": o, "name_vi": _outcome_name(o, "vi") or o, "name_en": _outcome_name(o, "en")}
        for o in outcomes
    ]
    groups: dict[str, list[dict[str, Any]]] = {}
    for ward, found in by_ward.items():
        cells, report = [], None
        for o in outcomes:
            f = found.get(o)
            cells.append(_city_cell(f) if f is not None else None)
            if f is not None and report is None and exists(f.get("report")):
                report = f.get("report")
        row = {"ward": ward, "key": _ward_key(ward, wards), "cells": cells, "report": report}
        groups.setdefault(str((wards.get(ward) or {}).get("group") or ""), []).append(row)
    return {
        "columns": columns,
        "n_wards": len(by_ward),
        "groups": [
            _city_group(label, members)
            for label, members in sorted(groups.items(), key=lambda g: (not g[0], search_key(g[0])))
        ],
    }


def _city_cell(f: Mapping[str, Any]) -> dict[str, Any]:
    cat = f.get("verdict_category") or ""
    has_number = f.get("estimate") is not None
    percent = f.get("percent_vi") or ""
    return {
        "anchor": _anchor(f.get("finding_id")),
        "category": cat,
        "label_vi": LABELS.get(cat, ("", ""))[0] if cat else "",
        "has_number": has_number,
        "effect": f.get("effect_vi") or _effect_fallback(f),
        "percent": percent if percent not in ("", "—") else "",
        "p": _p_text(f.get("pvalue")),
        "p_adjusted": _p_text(f.get("p_adjusted")) if f.get("family_size", 1) > 1 else "",
        "covered_by": _anchor(f.get("covered_by")) if f.get("covered_by") else "",
    }


def _city_group(label: str, members: list[dict[str, Any]]) -> dict[str, Any]:
    """One folded group: its wards by name, and how the first indicator's verdicts fell."""
    members = sorted(members, key=lambda r: search_key(r["ward"]))
    counts: dict[str, int] = {}
    for r in members:
        first = r["cells"][0]
        if first is not None and first["category"]:
            counts[first["category"]] = counts.get(first["category"], 0) + 1
    order = list(LABELS)
    return {
        "label": label,
        "key": search_key(label),
        "rows": members,
        "counts": [
            {"category": c, "label_vi": LABELS[c][0], "label_en": LABELS[c][1], "n": counts[c]}
            for c in sorted(counts, key=order.index)
        ],
    }


# --------------------------------------------------------------------------------------------
# programmes
# --------------------------------------------------------------------------------------------


def _programme_blocks(
    findings: Sequence[Mapping[str, Any]],
    exists: Exists,
    wards: Mapping[str, Mapping[str, Any]],
) -> list[dict]:
    """One block per programme, in the order the findings were recorded: its headline answers
    (pilot, then rollout), and folded beneath them the other methods, the other indicators, the
    waves, the wards (a city's in groups, :func:`_city_wards`) and the technical notes."""
    by_programme: dict[str, list[Mapping[str, Any]]] = {}
    for f in findings:
        by_programme.setdefault(str(f.get("programme") or ""), []).append(f)
    blocks = []
    for programme, items in by_programme.items():
        first = items[0]

        def of(role: str, items=items) -> list[Mapping[str, Any]]:
            picked = [f for f in items if f.get("role") == role]
            return sorted(picked, key=lambda f: _LEVEL_ORDER.get(str(f.get("level")), 9))

        heads = []
        for h in of("headline"):
            row = _row(h, exists)
            family = str(h.get("finding_id") or "")
            row["alternatives"] = [
                _row(a, exists)
                for a in of("alternative")
                if str(a.get("family") or "").startswith(family + ":")
            ]
            heads.append(row)
        blocks.append(
            {
                "id": programme,
                "anchor": _anchor(programme),
                "name_vi": first.get("programme_vi") or programme or "—",
                "name_en": first.get("programme_en") or "",
                "headlines": heads,
                "card": _card(items),
                "secondary": [_row(f, exists) for f in of("secondary")],
                "waves": [_row(f, exists) for f in of("wave")],
                "durability": [_row(f, exists) for f in of("durability")],
                **_ward_rows(of("ward"), exists, wards),
                "notes": [_row(f, exists) for f in of("contrast") + of("check")],
                "design": [_row(f, exists) for f in items if f.get("role") == "design"],
                "other": [_row(f, exists) for f in items if not f.get("role")],
            }
        )
    return blocks


def _card(items: Sequence[Mapping[str, Any]]):
    from markupsafe import Markup

    from evaluation.report.tables import decision_html

    card = decision_card(items)
    return Markup(decision_html(card)) if card is not None else None


def _ward_rows(
    rows: Sequence[Mapping[str, Any]], exists: Exists, wards: Mapping[str, Mapping[str, Any]]
) -> dict[str, Any]:
    city = _city_wards(rows, exists, wards)
    if city is not None:
        return {"wards": [], "city": city}
    shown = []
    for f in rows:
        row = _row(f, exists)
        row["key"] = _ward_key(row["ward"], wards) if row["ward"] else ""
        shown.append(row)
    return {"wards": shown, "city": None}


def policy_of(findings: Sequence[Mapping[str, Any]]) -> Policy:
    """The verdict policy the findings were judged under (recorded with each verdict)."""
    for f in findings:
        if f.get("policy_adjustment"):
            return Policy(
                level=float(f.get("policy_level") or 0.95), adjustment=f["policy_adjustment"]
            )
    return Policy()


def _glossary(findings: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    keys = dict.fromkeys(str(f.get("outcome")) for f in findings if f.get("outcome"))
    out = []
    for key in keys:
        o = OUTCOMES.get(key)
        if o is None or not o.definition_vi:
            continue
        out.append(
            {
                "name_vi": _outcome_name(key, "vi"),
                "name_en": _outcome_name(key, "en"),
                "unit": "" if o.percent else o.unit_vi,
                "vi": o.definition_vi,
                "en": o.definition_en,
            }
        )
    return out


def _truth_shown(findings: Sequence[Mapping[str, Any]]) -> bool:
    return any(f.get("truth_vi") for f in findings)


# --------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------


def _index_words() -> dict[str, Text]:
    """The words of the index page's frame (its template), from the catalogue: labels the
    template shows as "Vietnamese / English" (a count it adds goes after the Vietnamese)."""
    return {
        "title": say("Pilot evaluation findings"),
        "started": say("Started"),
        "finished": say("Finished"),
        "runs": say("Runs"),
        "programmes": say("Programmes"),
        "find_ward": say("Find a ward"),
        "eg": say("e.g."),
        # the ward finder's count: the page's script puts the number in place of {n}
        "matching": say("{n} matching", n="{n}"),
        "no_findings": say("No findings yet."),
        "verdict": say("Verdict"),
        "effect_ci": say("Effect [95% CI]"),
        "effect": say("Effect"),
        # TRANSLATORS: a column header "p · adjusted": the adjusted p-value beside the raw one
        "adjusted": say("adjusted"),
        "window": say("Window"),
        "truth": say("Truth"),
        "planted_truth": say("Planted truth"),
        "report": say("Report"),
        "view": say("View"),
        "explanation": say("Explanation"),
        "why_no_number": say("Why no number"),
        "district_result": say("district result"),
        "covers": say("Covers"),
        "method": say("Method"),
        "design": say("Design"),
        # TRANSLATORS: a summary "Details: design, 3 caveats, English"
        "details": say("Details: design"),
        "caveats": say("caveats"),
        "english": say("English"),
        "other_methods": say("Other methods on the same question"),
        "for_comparison": say("For comparison; the verdict rests on the main result above."),
        "finding": say("Finding"),
        "other_indicators": say("Other indicators"),
        "indicator": say("Indicator"),
        "still_working": say("Is it still working? By quarter since the start"),
        "quarter": say("Quarter"),
        "by_wave": say("By wave"),
        "wave": say("Wave"),
        "by_ward": say("By ward"),
        "own_number": say("each ward only its own number"),
        "ward": say("Ward"),
        "other": say("Other"),
        "wards": say("wards"),
        "no_own_number": say("No own number"),
        "design_detectable": say("Evaluation design: detectable effects"),
        "technical_notes": say("Technical notes"),
        "what": say("What"),
        "estimate": say("Estimate"),
        "why_shown": say("Why it is shown"),
        "why": say("Why"),
        "indicators": say("Indicators"),
        "problems": say("Problems"),
        "run": say("Run"),
        "status": say("Status"),
        "error": say("Error"),
        "failing_cell": say("Source of the failing cell"),
        "all_runs": say("All runs"),
        "runs_lower": say("runs"),
        "time": say("Time"),
        "files": say("Files"),
        "download": say("Download"),
        "findings": say("findings"),
        "data": say("data"),
        "files_lower": say("files"),
    }


def _index_sentences(
    *,
    started: str,
    finished: str,
    n_problems: int,
    conflicts: Sequence[str],
    policy: Policy,
    n_rows: int,
) -> dict[str, Any]:
    """The index's sentences, whole, in both languages. Some carry their emphasis as markup
    (<strong>, <code>) in the catalogue; every value put into them is escaped first."""
    from markupsafe import Markup, escape

    def marked(words: Text) -> Text:
        return Text(Markup(words.vi), Markup(words.en))

    return {
        "running": marked(
            say(
                "<strong>This batch has NOT finished</strong> (started {started}); the results "
                "below are incomplete. If no batch is running any more, it was interrupted: run "
                "it again with <code>--resume</code>.",
                started=str(escape(started)),
            )
        ),
        "interrupted": marked(
            say(
                "<strong>This batch was interrupted</strong> at {finished}; results are "
                "incomplete. Run it again with <code>--resume</code> to finish it.",
                finished=str(escape(finished)),
            )
        ),
        "problems": marked(
            say(
                "{n} run(s) did not succeed — see “Problems”; their results are missing from "
                "this page.",
                n=str(n_problems),
            )
        ),
        "conflicts": marked(
            say(
                "{n} finding(s) differ between reports (same finding, different numbers or "
                "verdicts): {ids}. This is a defect; do not use these findings.",
                n=str(len(conflicts)),
                ids=str(escape(", ".join(conflicts))),
            )
        ),
        "policy": marked(
            say(
                "<strong>How to read the verdicts.</strong> {policy} “No clear effect” does not "
                "mean no effect: the interval says how large or small the effect may be. “Design "
                "cannot decide”: with the wards and time available, no result could reach that "
                "level.",
                policy=Text(str(escape(policy.describe("vi"))), str(escape(policy.describe("en")))),
            )
        ),
        "simulated": marked(
            say(
                "<strong>Simulated data</strong>: “planted truth” is the effect built into the "
                "data, to check the method."
            )
        ),
        "each_once": say(
            "each once, as in findings.csv; the pages show {rows} rows", rows=str(n_rows)
        ),
    }


def _as_content(words: Text) -> Text:
    """Text escaped for an element's content, where an apostrophe stays as it is."""
    import html

    from markupsafe import Markup

    return Text(*(Markup(html.escape(w, quote=False)) for w in words))


def _city_title(city: Mapping[str, Any], kind: Text) -> Text:
    """The title of a city's wards: how many, in how many groups of which kind."""
    return say(
        "By ward: {n} wards in {groups} {kind}",
        n=str(city["n_wards"]),
        groups=str(len(city["groups"])),
        kind=kind,
    )


@cache
def _finder_script() -> str:
    """The ward finder, inlined in the index (no library, no request)."""
    return resources.files("evaluation.report").joinpath("templates/finder.js").read_text("utf-8")


def render_index(
    manifest: Mapping[str, Any],
    findings: Sequence[Mapping[str, Any]],
    out_dir: str | Path | None = None,
    wards: Mapping[str, Mapping[str, Any]] | None = None,
    group_kind: str | None = None,
) -> str:
    """The index page of a run folder. ``out_dir``: links are offered only to files that exist
    there (every link when None).

    ``wards`` maps a ward's name to its ``code`` and its ``group`` (the district it belongs to,
    or the new ward that absorbed it), and ``group_kind`` names what the groups are (a key of
    :data:`GROUP_KINDS`): a city's wards are grouped by them (:data:`CITY_FROM`), and the ward
    finder finds a ward by its name, code or group."""
    from markupsafe import Markup

    from evaluation.report import html

    folder = Path(out_dir) if out_dir is not None else None

    def exists(rel: str | None) -> bool:
        return bool(rel) and (folder is None or (folder / rel).is_file())

    wards = wards or {}
    unique, conflicts = unique_findings(findings)
    runs = manifest.get("runs", [])
    run_rows, problems = html.runs_and_problems(runs, exists)
    for row in run_rows:
        row["key"] = _ward_key(row["ward"], wards) if row["ward"] else ""
    programmes = _programme_blocks(unique, exists, wards)
    kind = GROUP_KINDS.get(group_kind or "", say("groups"))
    for p in programmes:
        if p["city"] is not None:
            p["city"]["title"] = _city_title(p["city"], kind)
            p["city"]["explained"] = _as_content(
                say("each ward only its own number, explained in the ward's report")
            )
    env = manifest.get("environment") or {}
    data = manifest.get("data") or {}
    batch_status = manifest.get("status", "running")
    policy = policy_of(unique)
    started, finished = manifest.get("started"), manifest.get("finished")
    return html.template("index.html.j2").render(
        css=Markup(html.css()),
        finder_script=Markup(_finder_script()),
        title=manifest.get("title") or "pilot-eval",
        started=fmt.datetime_text(started) if started else "—",
        finished=fmt.datetime_text(finished) if finished else "",
        batch_status=batch_status,
        n_runs=len(runs),
        counts=html.status_counts(runs),
        programmes=programmes,
        finder=any(p["wards"] or p["city"] for p in programmes) or any(r["key"] for r in run_rows),
        words=_index_words(),
        sentences=_index_sentences(
            started=fmt.datetime_text(started) if started else "—",
            finished=fmt.datetime_text(finished) if finished else "",
            n_problems=len(problems),
            conflicts=conflicts,
            policy=policy,
            n_rows=len(findings),
        ),
        n_findings=len(unique),
        n_rows=len(findings),
        conflicts=conflicts,
        glossary=_glossary(unique),
        simulated=_truth_shown(unique),
        problems=problems,
        runs=run_rows,
        downloads=html.downloads(batch_status, exists),
        version=env.get("evaluation", ""),
        commit=(env.get("git_commit") or "")[:10],
        python=env.get("python", ""),
        data_folder=Path(str(data["folder"])).name if data.get("folder") else "",
        n_data_files=len(data.get("files") or {}),
    )
