"""The randomised rollout schedule (evaluation.design.rollout) and the design comparison.

The schedule must be reproducible from its seed, contain every ward exactly once, spread each
stratum over the waves as evenly as the wave sizes allow, and be drawn by exactly the
mechanism the randomization test permutes: every assignment that keeps the number of units of
each stratum in each wave is equally likely, and no other is possible.
"""

from __future__ import annotations

from collections import Counter
from itertools import permutations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluation.data.registry import load_registry
from evaluation.data.wards import hanoi_reference
from evaluation.design import power as P
from evaluation.design.rollout import compare_designs, rollout_schedule
from evaluation.errors import DataError
from evaluation.inference.randomization import count_assignments

TABLE = hanoi_reference()
OLD = TABLE.frame(TABLE.level("2024-01-01").codes)
WARDS = sorted(OLD["ward"])
PILOT = "Cổ Nhuế 2"
REST = [w for w in WARDS if w != PILOT]


def schedule(seed, waves=3, strata="urban_class", units=REST):
    return rollout_schedule(
        units,
        waves=waves,
        first_start="2024-07-01",
        spacing="2MS",
        strata=strata,
        seed=seed,
        wards=TABLE,
    )


def test_same_seed_same_schedule_and_other_seeds_differ():
    a, b = schedule(7), schedule(7)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert a.record == b.record and a.record["seed"] == 7
    others = {tuple(schedule(s).table["unit"]) for s in range(20)}
    assert len(others) > 15


@pytest.mark.parametrize("waves", [3, 4, 6, [6, 4, 2], 1])
def test_every_ward_once_with_the_wave_sizes_asked(waves):
    s = schedule(11, waves=waves)
    assert sorted(s.table["unit"]) == REST
    sizes = s.table.groupby("wave").size()
    expected = [12 // waves] * waves if isinstance(waves, int) else waves
    assert sorted(sizes.tolist()) == sorted(expected)
    assert s.record["wave_sizes"] == sizes.to_dict()
    starts = s.table.groupby("wave")["start"].first().sort_index()
    assert list(starts) == list(pd.date_range("2024-07-01", periods=len(expected), freq="2MS"))


@pytest.mark.parametrize("waves", [3, 4, 6])
def test_balanced_within_strata(waves):
    for seed in range(10):
        s = schedule(seed, waves=waves)
        counts = s.table.groupby(["stratum", "wave"]).size().unstack(fill_value=0)
        assert (counts.max(axis=1) - counts.min(axis=1)).max() <= 1  # each stratum spread evenly
        table = {k: v for k, v in s.record["units_per_stratum_and_wave"].items()}
        assert counts.to_dict(orient="index") == table
        # the same counts whatever the seed: the mechanism fixes them
        assert table == schedule(seed + 100, waves=waves).record["units_per_stratum_and_wave"]
    ward_class = dict(zip(OLD["ward"], OLD["urban_class"], strict=True))
    assert all(ward_class[u] == c for u, c in zip(s.table["unit"], s.table["stratum"], strict=True))


def test_the_draw_is_uniform_over_the_within_strata_permutations():
    # 6 units in 2 strata, 2 waves of 3: the mechanism's support is every assignment with the
    # fixed counts per stratum × wave (2 × 1 and 1 × 2), 3 · 3 = 9 of them, equally likely
    units = ["a1", "a2", "a3", "b1", "b2", "b3"]
    strata = {u: u[0] for u in units}
    draws = Counter()
    n = 1800  # 200 expected per assignment
    for seed in range(n):
        t = rollout_schedule(
            units, waves=2, first_start=0, spacing=10, strata=strata, seed=seed
        ).table.set_index("unit")
        draws[tuple(t.loc[units, "wave"])] += 1
    reference = rollout_schedule(units, waves=2, first_start=0, spacing=10, strata=strata, seed=0)
    waves = reference.table.set_index("unit").loc[units, "wave"].tolist()
    support = set()
    for pa in permutations(range(3)):
        for pb in permutations(range(3)):
            support.add(tuple([waves[i] for i in pa] + [waves[3 + i] for i in pb]))
    by_stratum = pd.Series(waves, index=units)
    expected = count_assignments(by_stratum[:3]) * count_assignments(by_stratum[3:])
    assert len(support) == expected == 9
    assert set(draws) == support
    chi2 = stats.chisquare(list(draws.values())).pvalue
    assert chi2 > 1e-3


def test_the_power_simulation_permutes_the_same_mechanism():
    # the pilot fixed, the 12 wards permuted within urban class with the wave sizes fixed: the
    # replications keep every stratum × wave count, and there are as many distinct ones as the
    # product of the strata's multinomials
    s = schedule(3)
    weeks = pd.date_range("2023-11-06", periods=58, freq="7D")
    rng = np.random.default_rng(0)
    panel = pd.DataFrame(
        [(w, t, rng.normal(30, 2)) for w in WARDS for t in weeks],
        columns=["ward", "period_start", "y"],
    )
    planned = s.with_cohort(panel, fixed={PILOT: "2024-02-15"})
    an = P._run(
        planned,
        "y",
        "ward",
        "period_start",
        "cohort",
        estimator="att_gt",
        inference="auto",
        reps=300,
        seed=1,
        strata="stratum",
        level=0.95,
        scale="additive",
        permutations=199,
        analysis_seed=0,
        options={"control": "notyet"},
        aggregation="simple",
    )
    assert an.plan.method == "randomization"
    units = an.plan.units
    stratum = an.plan.groups
    cohorts = pd.Series(an.plan.cpos, index=units)
    expected = 1
    for g in stratum.unique():
        expected *= count_assignments(cohorts[stratum == g])
    assert an.n_assign == expected == 30 * 12 * 6  # dense 5!/(2!2!1!), mid, peri-urban 3!
    pilot = units.get_loc(PILOT)
    for row in an.donors:
        assert row[pilot] == pilot  # the pilot never moves
        moved = pd.Series(an.plan.cpos[row], index=units)
        for g in stratum.unique():
            assert sorted(moved[stratum == g]) == sorted(cohorts[stratum == g])


def test_registry_format_round_trip(tmp_path):
    s = schedule(5)
    text = s.registry_yaml("traffic_model", final_review="2024-12-20")
    programmes = "programmes:\n  traffic_model: {name_vi: Giao thông, name_en: Traffic}\n"
    path = tmp_path / "pilots.yaml"
    path.write_text(programmes + text, encoding="utf-8")
    reg = load_registry(path)
    entries = reg.for_programme("traffic_model").set_index("ward")
    assert sorted(entries.index) == REST
    table = s.table.set_index("unit")
    for w in REST:
        assert entries.loc[w, "start"] == table.loc[w, "start"]
        assert entries.loc[w, "wave"] == table.loc[w, "wave"]
    doc = s.to_registry("traffic_model")
    assert doc["randomisation"]["traffic_model"]["seed"] == 5
    assert doc["randomisation"]["traffic_model"]["strata"] == "urban_class"


def test_compare_designs_and_everyone_at_once():
    weeks = pd.date_range("2023-11-06", periods=58, freq="7D")
    rng = np.random.default_rng(1)
    e = np.zeros((13, 58))
    for t in range(1, 58):
        e[:, t] = 0.5 * e[:, t - 1] + rng.normal(size=13)
    panel = pd.DataFrame(
        {
            "ward": np.repeat(WARDS, 58),
            "period_start": np.tile(weeks, 13),
            "y": (30 + rng.normal(0, 3, 13)[:, None] + e).ravel(),
        }
    )
    designs = {f"{k} waves": schedule(2, waves=k) for k in (3, 6, 1)}
    out = compare_designs(
        panel,
        designs,
        effect=-2.0,
        outcome="y",
        fixed={PILOT: "2024-02-15"},
        reps=200,
        permutations=199,
        outcome_unit=("phút", "minutes"),
    )
    t = out.table.set_index("design")
    assert t.loc["3 waves", "inference"] == "randomization"
    assert t.loc["3 waves", "n_assignments"] == 30 * 12 * 6
    assert t.loc["3 waves", "mde"] < 0 and 0 <= t.loc["3 waves", "power"] <= 1
    assert np.isnan(t.loc["1 waves", "mde"]) and np.isnan(t.loc["1 waves", "power"])
    assert "no ward is left to compare with" in t.loc["1 waves", "note"]
    assert out.best() in ("3 waves", "6 waves")
    assert any("không còn phường nào để so sánh" in s for s in out.sentences_vi)


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"waves": [5, 5, 5]}, "add up to the 12 units"),
        ({"waves": 13}, "argument 'waves'"),
        ({"strata": "colour"}, "argument 'strata'"),
        ({"first_start": "soon"}, "argument 'first_start'"),
        ({"spacing": "often"}, "argument 'spacing'"),
        ({"seed": None}, "argument 'seed'"),
        ({"units": REST + [REST[0]]}, "each unit once"),
    ],
)
def test_bad_input_names_the_argument(kw, words):
    args = {"units": REST, "waves": 3, "first_start": "2024-07-01", "spacing": "2MS", "seed": 1}
    args |= kw
    units = args.pop("units")
    with pytest.raises(DataError, match=words):
        rollout_schedule(units, **args)
