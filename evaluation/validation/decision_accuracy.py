"""Decision accuracy: are the verdicts officials read right, on districts whose truth we know?

Simulates districts whose truths vary — no effect anywhere, the pilot only, heterogeneous waves,
small and large effects, spillovers to untreated neighbours, anticipation before each start, a
district-wide shock no comparison removes — with the pilot ward and the wave order drawn at
random (:func:`evaluation.synthetic.scenarios.random_scenario`, a generator independent of the
demo's), writes each in the documented input format, and runs it through the same analysis
layer the notebooks use (:func:`evaluation.analysis.evaluate.district_findings`: the registry,
the designs, the inference, the one verdict policy). Then, per family of findings (the pilot's
headline, the rollout's, its waves, its wards, the fire points, the cameras, and the secondary
outcomes), it reports:

* **false verdicts** — the share of findings called "Improved"/"Worsened" when the planted
  effect on exactly the cells they cover is zero (goal ≤ 5 %), and the share of districts with
  at least one false verdict in the family;
* **detection** — the share called "Improved" when the planted effect is not zero, by kind of
  district (the demo's effect sizes are the "heterogeneous_waves" and "large" kinds);
* **coverage** — the share of shown 95 % intervals that contain the planted effect over their
  own cells (goal ≥ 90 %);
* **attribution** — the count of numbers shown under a ward they do not belong to (a ward row
  whose number averages other wards, a ward row with a number although no comparison ward was
  left, a pilot finding for another ward than the registry's pilot): goal 0.

The fire headline is also studied on its own (:func:`run_fire_study`), old and new estimator
side by side on the same simulated districts: the Poisson extended TWFE (Wooldridge 2023) the
headline now uses and the Poisson TWFE it used before, each with its ``inference="auto"``
(randomization inference), scored against the planted effect over the headline's own treated
ward × month cells (percent change of expected fires with against without the fire points):
bias and root mean squared error in percentage points, and the coverage of the 95 % intervals,
each with its Monte-Carlo standard error (``simulations/fire_headline.py``).

:func:`run_study` simulates and scores; :func:`results_markdown` writes the tables. The script
``simulations/decision_accuracy.py`` runs the full study (results in
``simulations/results/decision_accuracy.md``); a reduced version runs in the tests.
"""

from __future__ import annotations

import math
import os
import platform
import tempfile
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from evaluation import formats as fmt
from evaluation.analysis.district import load_district
from evaluation.analysis.evaluate import INDICATORS, district_findings
from evaluation.analysis.windows import comparison_window
from evaluation.synthetic.scenarios import KINDS, random_scenario, write_district

__all__ = [
    "FAMILIES",
    "fire_headline_one",
    "run_fire_study",
    "fire_summary",
    "fire_markdown",
    "attribution_errors",
    "one_district",
    "run_study",
    "summarise",
    "detection_by_kind",
    "coverage_by_kind",
    "shortfalls",
    "results_markdown",
]

#: findings whose verdicts are studied, by (programme, outcome, level) → family name
FAMILIES = {
    ("traffic_model", "congestion_minutes", "pilot"): "congestion — pilot (headline)",
    ("traffic_model", "congestion_minutes", "district"): "congestion — rollout (headline)",
    ("traffic_model", "congestion_minutes", "wave"): "congestion — waves",
    ("traffic_model", "congestion_minutes", "ward"): "congestion — wards",
    ("traffic_model", "avg_speed_kmh", "pilot"): "speed — pilot",
    ("traffic_model", "avg_speed_kmh", "district"): "speed — rollout",
    ("traffic_model", "avg_speed_kmh", "wave"): "speed — waves",
    ("traffic_model", "avg_speed_kmh", "ward"): "speed — wards",
    ("traffic_model", "traffic_accidents", "pilot"): "accidents — pilot",
    ("traffic_model", "traffic_accidents", "district"): "accidents — rollout",
    ("fire_point", "fires", "district"): "fires — fire points (headline)",
    ("fire_point", "fires", "ward"): "fires — wards",
    ("camera", "solved_share", "district"): "cases solved — cameras (headline)",
    ("camera", "solved_share", "ward"): "cases solved — wards",
}
ZERO = 1e-9


def attribution_errors(district, findings) -> list[str]:
    """Numbers shown under a ward they do not belong to (see the module docstring)."""
    errors = []
    for f in findings:
        if f.level in ("ward", "pilot") and f.has_number and f.wards != [f.ward]:
            errors.append(f"{f.id}: number averages {f.wards}")
        if f.level == "pilot" and f.ward != district.pilot_ward(f.programme):
            errors.append(f"{f.id}: pilot finding for {f.ward}")
        if f.level == "ward" and f.has_number:
            ind = INDICATORS[f.outcome]
            panel = ind.data(district, f.programme)
            pilot = district.pilot_ward(f.programme)
            win = comparison_window(
                panel, district.starts(f.programme), f.ward, exclude=(pilot,) if pilot else ()
            )
            if win is None:
                errors.append(f"{f.id}: a number although no comparison ward was left")
    return errors


def one_district(args: tuple[int, str, int]) -> tuple[list[dict], list[str]]:
    """Simulate, analyse and score one district; returns one row per studied finding."""
    index, kind, seed = args
    rng = np.random.default_rng([seed, index])
    scenario = random_scenario(rng, kind)
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_district(tmp, scenario, seed=int(rng.integers(2**31)))
        district = load_district(tmp, truth.registry_path)
        try:
            findings = district_findings(district)
        except Exception as exc:  # counted and shown: a report that would not render
            return [], [f"district {index} ({kind}): CRASH {type(exc).__name__}: {exc}"]
        errors = attribution_errors(district, findings)
    rows = []
    for f in findings:
        family = FAMILIES.get((f.programme, f.outcome, f.level))
        if family is None or f.verdict is None:
            continue
        s = f.shown
        has_ci = (
            f.has_number
            and s.ci_low is not None
            and s.ci_high is not None
            and not (math.isnan(s.ci_low) or math.isnan(s.ci_high))
        )
        # an interval the design leaves unbounded ("không giới hạn") covers everything: it is
        # counted apart, not as coverage
        unbounded = has_ci and fmt.unbounded(s.ci_low, s.ci_high, as_percent=f.info.percent)
        has_ci = has_ci and not unbounded
        rows.append(
            {
                "district": index,
                "kind": kind,
                "family": family,
                "id": f.id,
                "has_number": f.has_number,
                "category": f.verdict.category,
                "truth": f.truth,
                "has_ci": has_ci,
                "unbounded": unbounded,
                "covered": bool(
                    has_ci and f.truth is not None and s.ci_low <= f.truth <= s.ci_high
                ),
            }
        )
    return rows, [f"district {index} ({kind}): {e}" for e in errors]


def run_study(
    n_districts: int, *, seed: int = 2026, workers: int = 1
) -> tuple[pd.DataFrame, list[str]]:
    """Simulate ``n_districts`` districts, the kinds in turn; returns the scored findings and
    the attribution errors."""
    tasks = [(i, KINDS[i % len(KINDS)], seed) for i in range(n_districts)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(one_district, tasks, chunksize=1))
    else:
        results = [one_district(t) for t in tasks]
    rows = [r for rs, _ in results for r in rs]
    errors = [e for _, es in results for e in es]
    return pd.DataFrame(rows), errors


def _rate(x: pd.Series) -> tuple[float, float, int]:
    n = len(x)
    if n == 0:
        return math.nan, math.nan, 0
    r = float(x.mean())
    return r, math.sqrt(r * (1 - r) / n), n


def _pct(rate: tuple[float, float, int]) -> str:
    r, se, n = rate
    return "—" if n == 0 else f"{100 * r:.1f} ± {100 * se:.1f} ({n})"


def summarise(scored: pd.DataFrame) -> pd.DataFrame:
    """One row per family: false verdicts at a zero truth (per finding and per district),
    detection at a non-zero truth, coverage of the shown intervals."""
    out = []
    for family in dict.fromkeys(FAMILIES.values()):
        d = scored[scored["family"] == family]
        if d.empty:
            continue
        known = d[d["truth"].notna()]
        decided = d["category"].isin(["improved", "worsened"])
        zero = known[known["truth"].abs() <= ZERO]
        nonzero = known[known["truth"].abs() > ZERO]
        false_any = (
            zero.assign(bad=decided.loc[zero.index]).groupby("district")["bad"].any()
            if len(zero)
            else pd.Series(dtype=bool)
        )
        with_ci = known[known["has_ci"]]
        out.append(
            {
                "family": family,
                "findings": len(d),
                "with a number": int(d["has_number"].sum()),
                "false verdict, truth 0": _pct(_rate(decided.loc[zero.index])),
                "districts with ≥1 false verdict": _pct(_rate(false_any)),
                "improved, truth ≠ 0": _pct(_rate(nonzero["category"] == "improved")),
                "coverage of shown intervals": _pct(_rate(with_ci["covered"])),
                "unbounded intervals": int(d["unbounded"].sum()),
                "_false": _rate(decided.loc[zero.index])[0],
                "_coverage": _rate(with_ci["covered"])[0],
            }
        )
    return pd.DataFrame(out)


def detection_by_kind(scored: pd.DataFrame) -> pd.DataFrame:
    """Share "Improved" among findings with a non-zero truth, by family and kind of district."""
    known = scored[scored["truth"].notna() & (scored["truth"].abs() > ZERO)]
    table = known.groupby(["family", "kind"])["category"].apply(lambda c: (c == "improved").mean())
    return (100 * table).round(0).unstack("kind")


def coverage_by_kind(scored: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the shown (bounded) intervals, by family and kind of district."""
    known = scored[scored["truth"].notna() & scored["has_ci"]]
    return (100 * known.groupby(["family", "kind"])["covered"].mean()).round(0).unstack("kind")


#: why coverage can fall short in a kind of district: the design assumption it breaks
WHY = {
    "spillover": "untreated neighbours gain too, so the comparison moves with the treated "
    "wards and the estimate is pulled towards zero",
    "anticipation": "wards react in the weeks before their start, beyond the registry's "
    "anticipation window, so the base period already carries part of the effect",
    "common_shock": "a shock that hits treated and comparison wards differently is taken for "
    "part of the effect",
    "heterogeneous_waves": "effects that differ between waves or fade make the rollout average "
    "depend on the weights each wave gets",
}


def shortfalls(summary: pd.DataFrame, by_kind: pd.DataFrame, goal: float = 90.0) -> list[str]:
    """One line per family whose coverage is below the goal: where (the kinds below it) and
    the assumption those kinds break."""
    lines = []
    for _, r in summary.iterrows():
        cov = r["_coverage"]
        if not (isinstance(cov, float) and cov < goal / 100):
            continue
        row = by_kind.loc[r["family"]] if r["family"] in by_kind.index else pd.Series(dtype=float)
        low = [(k, v) for k, v in row.items() if pd.notna(v) and v < goal]
        low.sort(key=lambda kv: kv[1])
        where = ", ".join(f"{k} {v:.0f} %" for k, v in low) or "no single kind"
        why = "; ".join(f"{k}: {WHY[k]}" for k, _ in low if k in WHY)
        lines.append(
            f"- **{r['family']}** covers {100 * cov:.1f} %: below {goal:.0f} % in {where}."
            + (f" Why: {why}." if why else "")
        )
    return lines


def _table(df: pd.DataFrame, title: str) -> list[str]:
    kinds = list(df.columns)
    lines = ["", title, "", "| family | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for fam, r in df.iterrows():
        lines.append(
            f"| {fam} | "
            + " | ".join("—" if pd.isna(r[k]) else f"{r[k]:.0f}" for k in kinds)
            + " |"
        )
    return lines


def markdown(summary: pd.DataFrame, detection: pd.DataFrame) -> str:
    cols = [c for c in summary.columns if not c.startswith("_")]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in summary.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    lines += ["", "Detection (% called Improved when the planted effect is not zero), by kind:", ""]
    kinds = list(detection.columns)
    lines += ["| family | " + " | ".join(kinds) + " |", "|---|" + "---|" * len(kinds)]
    for fam, r in detection.iterrows():
        lines.append(
            f"| {fam} | "
            + " | ".join("—" if pd.isna(r[k]) else f"{r[k]:.0f}" for k in kinds)
            + " |"
        )
    return "\n".join(lines)


def results_markdown(
    scored: pd.DataFrame,
    problems: list[str],
    *,
    n_districts: int,
    seed: int,
    command: str,
    minutes: float,
) -> str:
    """The results file: the summary, detection and coverage by kind, the shortfalls, the
    attribution errors and the crashes."""
    crashes = [e for e in problems if ": CRASH " in e]
    errors = [e for e in problems if ": CRASH " not in e]
    summary = summarise(scored)
    by_kind = coverage_by_kind(scored)
    table = "\n".join(
        [
            markdown(summary, detection_by_kind(scored)),
            *_table(by_kind, "Coverage of the shown (bounded) intervals, %, by kind:"),
            "",
            "Where coverage falls short of 90 %, and why:",
            "",
            *(shortfalls(summary, by_kind) or ["- nowhere."]),
        ]
    )
    return "\n".join(
        [
            "# Decision accuracy on simulated districts",
            "",
            f"{n_districts} districts ({', '.join(KINDS)} in turn), seed {seed}; "
            f"`{command.strip()}`; {minutes:.1f} min on {os.cpu_count()} cores "
            f"({platform.python_implementation()} {platform.python_version()}).",
            "Cells: percent ± Monte-Carlo standard error (number of findings or districts).",
            "",
            table,
            "",
            f"Numbers shown under a ward they do not belong to: **{len(errors)}**.",
            *[f"- {e}" for e in errors[:20]],
            "",
            f"Districts whose analysis raised an error: **{len(crashes)}**.",
            *[f"- {e}" for e in crashes[:20]],
            "",
        ]
    )


# --------------------------------------------------------------------------------------------
# The fire headline: the Poisson ETWFE against the Poisson TWFE it replaced
# --------------------------------------------------------------------------------------------

#: the two fire-headline estimators compared, by the role of their finding
FIRE_ESTIMATORS = {"headline": "ETWFE (Poisson, Wooldridge 2023)", "contrast": "TWFE (Poisson)"}


def fire_headline_one(args: tuple[int, str, int]) -> list[dict]:
    """One simulated district's fire-point headline, old and new estimator: one row each with
    the shown percent change, its interval, the planted percent change over the same cells
    and whether the interval covers it."""
    from evaluation.analysis.staggered import rollout_findings

    index, kind, seed = args
    rng = np.random.default_rng([seed, index, 16])
    scenario = random_scenario(rng, kind)
    with tempfile.TemporaryDirectory() as tmp:
        truth = write_district(tmp, scenario, seed=int(rng.integers(2**31)))
        district = load_district(tmp, truth.registry_path)
        findings = rollout_findings(district, "fire_point", INDICATORS["fires"], None, "headline")
    rows = []
    for f in findings:
        if f.role not in FIRE_ESTIMATORS or f.estimate is None or f.truth is None:
            continue
        d = f.estimate.details
        lo, hi = d.get("percent_change_ci") or [None, None]
        bounded = lo is not None and hi is not None and math.isfinite(lo) and math.isfinite(hi)
        rows.append(
            {
                "district": index,
                "kind": kind,
                "estimator": FIRE_ESTIMATORS[f.role],
                "estimate": float(d["percent_change"]),
                "ci_low": lo,
                "ci_high": hi,
                "bounded": bounded,
                "truth": float(f.truth),
                "covered": bool(bounded and lo <= f.truth <= hi),
                "significant": bool(f.estimate.significant),
            }
        )
    return rows


def run_fire_study(n_districts: int, *, seed: int = 2026, workers: int = 1) -> pd.DataFrame:
    """Simulate ``n_districts`` districts (the kinds in turn) and score the fire headline of
    each with both estimators (:func:`fire_headline_one`)."""
    tasks = [(i, KINDS[i % len(KINDS)], seed) for i in range(n_districts)]
    if workers > 1:
        with ProcessPoolExecutor(workers) as pool:
            results = list(pool.map(fire_headline_one, tasks, chunksize=1))
    else:
        results = [fire_headline_one(t) for t in tasks]
    return pd.DataFrame([r for rs in results for r in rs])


def fire_summary(scored: pd.DataFrame) -> pd.DataFrame:
    """Per estimator: districts, mean error (bias) and RMSE in percentage points, coverage of
    the bounded 95 % intervals and false "significant" at a zero truth — each with its
    Monte-Carlo standard error."""
    out = []
    for name in FIRE_ESTIMATORS.values():
        d = scored[scored["estimator"] == name]
        if d.empty:
            continue
        err = d["estimate"] - d["truth"]
        n = len(err)
        sd = float(err.std(ddof=1)) if n > 1 else math.nan
        mse = err**2
        zero = d[d["truth"].abs() <= ZERO]
        out.append(
            {
                "estimator": name,
                "districts": n,
                "bias (pp)": f"{err.mean():+.1f} ± {sd / math.sqrt(n):.1f}",
                "RMSE (pp)": f"{math.sqrt(mse.mean()):.1f} ± "
                f"{mse.std(ddof=1) / math.sqrt(n) / (2 * math.sqrt(mse.mean())):.1f}",
                "coverage of 95 % intervals": _pct(_rate(d.loc[d["bounded"], "covered"])),
                "unbounded intervals": int((~d["bounded"]).sum()),
                "significant, truth 0": _pct(_rate(zero["significant"])),
                "_bias": float(err.mean()),
                "_bias_se": sd / math.sqrt(n),
                "_coverage": _rate(d.loc[d["bounded"], "covered"])[0],
            }
        )
    return pd.DataFrame(out)


def fire_markdown(
    scored: pd.DataFrame, *, n_districts: int, seed: int, command: str, minutes: float
) -> str:
    """The fire-headline study's results file: the side-by-side table and bias by kind."""
    summary = fire_summary(scored)
    cols = [c for c in summary.columns if not c.startswith("_")]
    lines = [
        "# The fire headline on simulated districts: Poisson ETWFE against Poisson TWFE",
        "",
        f"{n_districts} districts ({', '.join(KINDS)} in turn), seed {seed}; "
        f"`{command.strip()}`; {minutes:.1f} min on {os.cpu_count()} cores "
        f"({platform.python_implementation()} {platform.python_version()}).",
        "Truth: the planted percent change of expected fires over the headline's own treated "
        "ward × month cells. Cells: value ± Monte-Carlo standard error (number).",
        "",
        "| " + " | ".join(cols) + " |",
        "|" + "---|" * len(cols),
    ]
    for _, r in summary.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    err = scored.assign(error=scored["estimate"] - scored["truth"])
    by_kind = err.groupby(["estimator", "kind"])["error"].mean().unstack("kind").round(1)
    cov = err[err["bounded"]].groupby(["estimator", "kind"])["covered"].mean().unstack("kind")
    lines += _table(by_kind, "Mean error (percentage points), by kind:")
    lines += _table(100 * cov, "Coverage of the bounded 95 % intervals, %, by kind:")
    return "\n".join(lines) + "\n"
