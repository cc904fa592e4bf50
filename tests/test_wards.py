"""A district's own ward table: spellings, codes, names read by date, borders, the crosswalk,
and carrying rows across a reorganisation without losing a count."""

import unicodedata

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.data import wards as W
from evaluation.data.levels import carry_counts, split_whole, to_new_wards
from evaluation.data.wards import WardTable, hanoi_reference

VARIANTS = [
    "Cổ Nhuế 2",
    "P. Cổ Nhuế 2",
    "P.Cổ Nhuế 2",
    "Phường Cổ Nhuế 2",
    "phường cổ nhuế 2",
    "Co Nhue 2",
    "co nhue 2",
    "CO NHUE 2",
    "CỔ NHUẾ 2",
    "  Cổ   Nhuế  2 ",
    "Cổ Nhuế II",
    "Cổ Nhuế 02",
    "Phuong Co Nhue 2",
    "ward Co Nhue 2",
    "Cổ-Nhuế 2",
    "00617",
    "617",
    617,
    unicodedata.normalize("NFD", "Cổ Nhuế 2"),  # typed on a Mac
]

REF = hanoi_reference()
OLD_DAY, NEW_DAY = pd.Timestamp("2024-06-01"), pd.Timestamp("2025-08-01")


def district(rows, adjacency=None, crosswalk=None) -> WardTable:
    """A made-up district: names that are not Bắc Từ Liêm's."""
    return WardTable(pd.DataFrame(rows), adjacency, crosswalk, source="made-up wards.csv")


@pytest.fixture(scope="module")
def riverside():
    """Five wards of a made-up district; on 1 March 2025 two of them merged into a new ward
    that reuses one old name ("Bến Đò")."""
    rows = [
        ("Bến Đò", "10001", 20_000, "Ven Sông", "", "2025-02-28"),
        ("Bãi Nổi", "10002", 8_000, "Ven Sông", "", "2025-02-28"),
        ("Cầu Mới", "10003", 15_000, "Ven Sông", "", ""),
        ("Đồng Xanh", "10004", 12_000, "Ven Sông", "", ""),
        ("Bến Đò", "20001", 30_000, "Ven Sông", "2025-03-01", ""),
        ("Làng Cũ", "30001", 9_000, "Quận Bên", "", ""),  # a neighbouring district's ward
    ]
    table = pd.DataFrame(
        rows, columns=["ward", "ward_code", "population", "district", "valid_from", "valid_to"]
    )
    cw = pd.DataFrame(
        {
            "old_code": ["10001", "10002"],
            "new_code": ["20001", "20001"],
            "pop_share": [1.0, 1.0],
            "area_share": [1.0, 1.0],
            "valid_from": ["2025-03-01"] * 2,
        }
    )
    adj = pd.DataFrame({"ward_a": ["Bến Đò", "Cầu Mới"], "ward_b": ["Cầu Mới", "Đồng Xanh"]})
    return WardTable(table, adj, cw, source="riverside/wards.csv")


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_every_listed_variant_maps_to_the_canonical_nfc_name(variant):
    name = W.normalize_ward(variant, REF, date=OLD_DAY)
    assert name == "Cổ Nhuế 2"
    assert unicodedata.is_normalized("NFC", name)


def test_every_old_ward_round_trips_through_ascii_code_and_prefix():
    old = REF.frame(REF.level(OLD_DAY).codes)
    assert len(old) == 13 and old["ward_code"].is_unique
    for row in old.itertuples():
        for v in (row.ward, row.name_ascii, row.name_ascii.upper(), f"P. {row.ward}",
                  f"Phường {row.name_ascii}", row.ward_code, int(row.ward_code)):  # fmt: skip
            assert REF.normalize(v, OLD_DAY) == row.ward


def test_similar_names_stay_distinct():
    assert REF.normalize("Phu Dien", OLD_DAY) == "Phú Diễn"
    assert REF.normalize("Phuc Dien", OLD_DAY) == "Phúc Diễn"
    assert REF.normalize("Thuỵ Phương", OLD_DAY) == REF.normalize("Thụy Phương", OLD_DAY)


def test_a_name_is_read_by_date_across_the_reorganisation():
    assert REF.code("Đông Ngạc", OLD_DAY) == "00601"  # the old ward
    assert REF.code("Đông Ngạc", NEW_DAY) == "N-DN"  # the new one, 83,544 people
    with pytest.raises(ev.DataError, match=r"'Cổ Nhuế 2' did not exist on 01/08/2025"):
        REF.code("Cổ Nhuế 2", NEW_DAY)
    with pytest.raises(ev.DataError, match=r"'Phú Thượng' did not exist on 01/06/2024"):
        REF.code("Phú Thượng", OLD_DAY)  # a new ward only


def test_resolve_reports_a_ward_renamed_mid_series_and_unknown_names(riverside):
    dates = pd.to_datetime(["2024-05-01", "2025-05-01", "2025-05-01", "2025-06-01"])
    codes = riverside.resolve(pd.Series(["Ben Do", "Bến Đò", "Cau Moi", "Làng Cũ"]), dates)
    assert codes.tolist() == ["10001", "20001", "10003", "30001"]
    with pytest.raises(ev.DataError, match=r"'Bãi Nổi' on 01/05/2025.*no ward of that name"):
        riverside.resolve(pd.Series(["Bãi Nổi"]), pd.Series(pd.to_datetime(["2025-05-01"])))
    with pytest.raises(ev.DataError) as info:
        riverside.resolve(pd.Series(["Cau Moii", "Quan Hoa", "Cau Moii"]))
    msg = str(info.value)
    assert "'Cau Moii' (rows 0, 2); did you mean 'Cầu Mới'" in msg and "'Quan Hoa'" in msg
    assert "Xuân" not in msg  # hints come from this district's table, not Bắc Từ Liêm's


def test_levels_and_the_change_are_described(riverside):
    old, new = riverside.levels()
    assert set(old.names) == {"Bến Đò", "Bãi Nổi", "Cầu Mới", "Đồng Xanh", "Làng Cũ"}
    assert set(new.names) == {"Bến Đò", "Cầu Mới", "Đồng Xanh", "Làng Cũ"}
    assert old.end == pd.Timestamp("2025-02-28") and new.start == pd.Timestamp("2025-03-01")
    assert riverside.describe_changes() == [
        "01/03/2025: 2 ward(s) end ('Bến Đò', 'Bãi Nổi'), 1 begin ('Bến Đò')"
    ]
    assert riverside.neighbours("Cầu Mới", OLD_DAY) == ["Bến Đò", "Đồng Xanh"]


def test_the_ward_table_itself_is_checked_and_every_problem_named():
    rows = pd.DataFrame(
        {
            "ward": ["A", "B", "a"],
            "ward_code": ["1", "1", "3"],
            "population": ["10", "lots", "5"],
        }
    )
    with pytest.raises(ev.DataError) as info:
        WardTable(rows, source="x/wards.csv")
    msg = str(info.value)
    assert "x/wards.csv" in msg and "'population': not a number on rows 3: 'lots'" in msg
    assert "'1' used by more than one row" in msg
    with pytest.raises(ev.DataError, match="required column.*'population'"):
        WardTable(pd.DataFrame({"ward": ["A"], "ward_code": ["1"]}))
    same_time = pd.DataFrame(
        {"ward": ["Tân Phong", "Tan Phong"], "ward_code": ["1", "2"], "population": [1, 2]}
    )
    with pytest.raises(ev.DataError, match="read alike"):
        WardTable(same_time)


def test_crosswalk_is_checked_against_the_table():
    t = pd.DataFrame({"ward": ["A", "B"], "ward_code": ["1", "2"], "population": [1, 2]})
    cw = pd.DataFrame({"old_code": ["1", "1"], "new_code": ["2", "9"], "pop_share": [0.5, 0.2]})
    with pytest.raises(ev.DataError) as info:
        WardTable(t, crosswalk=cw, source="w.csv")
    assert "new_code '9' not in w.csv" in str(info.value)
    assert "pop_share of each old ward must sum to 1" in str(info.value)


def test_published_population_figures_reach_the_reference_table():
    w = REF.table.set_index("ward_code")
    assert w.loc["00613", "pop_2013"] == 36709  # Minh Khai, NQ 132/NQ-CP
    old = w.loc[list(REF.level(OLD_DAY).codes)]
    assert old["pop_2013"].astype(float).sum() == 320414  # district total at founding
    assert abs(old["area_km2"].sum() - 43.35) < 0.3  # 4,335.34 ha, within the [EST] residual
    assert REF.table.set_index("ward_code").loc["N-DN", "population"] == 83544


def test_crosswalk_shares_sum_to_one_per_old_ward():
    sums = REF.crosswalk.groupby("old_code")[["pop_share", "area_share"]].sum()
    assert len(sums) == 13
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-9)
    cw = REF.crosswalk.set_index(["old_code", "new_code"])
    # Hanoi TV: 33,106 of Cổ Nhuế 2's 33,479 published residents went to Đông Ngạc
    assert cw.loc[("00617", "N-DN"), "pop_share"] == pytest.approx(33106 / 33479, abs=1e-4)


def test_split_whole_keeps_every_row_total_in_whole_numbers():
    rng = np.random.default_rng(3)
    counts = rng.poisson(7, 500)
    shares = rng.dirichlet(np.ones(4), 500)
    split = split_whole(counts, shares)
    assert (split == np.floor(split)).all() and (split >= 0).all()
    np.testing.assert_array_equal(split.sum(axis=1), counts)
    assert np.abs(split - counts[:, None] * shares).max() < 1  # the nearest whole numbers


def test_to_new_wards_preserves_count_totals_and_never_splits_new_rows_again():
    rng = np.random.default_rng(1)
    months = pd.date_range("2025-03-01", periods=8, freq="MS")
    old_names = REF.level(OLD_DAY).names
    new_names = REF.level(NEW_DAY).names
    rows = [
        (w, m, int(rng.poisson(5)), rng.uniform(0.5, 0.9))
        for m in months
        for w in (old_names if m < pd.Timestamp("2025-07-01") else new_names)
    ]
    mixed = pd.DataFrame(rows, columns=["ward", "month", "fires", "solve_rate"])
    new = to_new_wards(mixed, REF, time="month", counts=["fires"], rates=["solve_rate"])
    # not one fire lost, per month and in all
    pd.testing.assert_series_equal(
        new.groupby("month")["fires"].sum(),
        mixed.groupby("month")["fires"].sum(),
        check_dtype=False,
    )
    assert (new["fires"] == np.floor(new["fires"])).all()  # whole numbers for count checks
    assert set(new["ward"]) == set(new_names)
    assert new["solve_rate"].between(0.5, 0.9).all()  # a weighted mean stays inside the range
    # rows already under new wards come through untouched
    late = mixed[mixed["month"] >= "2025-07-01"].set_index(["ward", "month"])["fires"]
    got = new[new["month"] >= "2025-07-01"].set_index(["ward", "month"])["fires"]
    pd.testing.assert_series_equal(
        got.sort_index(), late.sort_index(), check_dtype=False, check_names=False
    )


def test_carrying_counts_back_to_old_wards_ends_the_window_or_allocates(riverside):
    level = riverside.level("2024-06-01")
    rows = pd.DataFrame(
        {
            "ward": ["Bến Đò", "Bãi Nổi", "Cầu Mới", "Bến Đò", "Cầu Mới"],
            "period_start": pd.to_datetime(
                ["2025-01-01", "2025-01-01", "2025-01-01", "2025-04-01", "2025-04-01"]
            ),
            "fires": [4, 2, 3, 10, 1],
        }
    )
    cut, rep = carry_counts(rows, riverside, level, counts=["fires"])
    assert rep.dropped == 2 and rep.window_end == pd.Timestamp("2025-03-31")
    assert cut["period_start"].max() < pd.Timestamp("2025-03-01")  # the window ends at the change
    alloc, rep = carry_counts(rows, riverside, level, counts=["fires"], how="pop_share")
    april = alloc[alloc["period_start"] == "2025-04-01"].set_index("ward")["fires"]
    # the new Bến Đò's 10 fires back to its old pieces by population: 20,000 : 8,000
    assert april["Bến Đò"] == 7 and april["Bãi Nổi"] == 3 and april["Cầu Mới"] == 1
    assert alloc["fires"].sum() == rows["fires"].sum()


def test_another_districts_wards_are_not_known_without_its_table(riverside):
    with pytest.raises(ev.DataError, match=r"unknown ward 'Quan Hoa'.*riverside/wards.csv"):
        riverside.normalize("Quan Hoa")
