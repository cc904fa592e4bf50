"""Ward names, codes, the 2025 crosswalk and adjacency."""

import unicodedata

import numpy as np
import pandas as pd
import pytest

import evaluation as ev
from evaluation.data import wards as W

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


@pytest.mark.parametrize("variant", VARIANTS, ids=repr)
def test_every_listed_variant_maps_to_the_canonical_nfc_name(variant):
    name = W.normalize_ward(variant)
    assert name == "Cổ Nhuế 2"
    assert unicodedata.is_normalized("NFC", name)


def test_all_thirteen_wards_round_trip_through_ascii_code_and_prefix():
    w = W.wards()
    assert len(w) == 13 and w["ward_code"].is_unique
    for row in w.itertuples():
        for v in (
            row.name_vi,
            row.name_ascii,
            row.name_ascii.upper(),
            f"P. {row.name_vi}",
            f"Phường {row.name_ascii}",
            row.ward_code,
            int(row.ward_code),
        ):
            assert W.normalize_ward(v) == row.name_vi


def test_similar_names_stay_distinct():
    assert W.normalize_ward("Phu Dien") == "Phú Diễn"
    assert W.normalize_ward("Phuc Dien") == "Phúc Diễn"
    assert W.normalize_ward("Co Nhue 1") == "Cổ Nhuế 1"
    assert W.normalize_ward("Thuỵ Phương") == W.normalize_ward("Thụy Phương")  # old tone placement


def test_unknown_name_suggests_the_closest_known_wards():
    with pytest.raises(ev.DataError, match=r"unknown ward 'Xuan Dihn'.*Did you mean 'Xuân Đỉnh'"):
        W.normalize_ward("Xuan Dihn")


def test_normalize_wards_reports_every_unknown_spelling_with_rows():
    s = pd.Series(["Cổ Nhuế 2", "Cổ Nhuế 3", "Tay Tuuu", "Cổ Nhuế 3"])
    with pytest.raises(ev.DataError) as info:
        W.normalize_wards(s, source="f.csv")
    msg = str(info.value)
    assert "2 ward name(s)" in msg and "'Cổ Nhuế 3' (rows 1, 3)" in msg and "'Tay Tuuu'" in msg
    assert "Tây Tựu" in msg


def test_published_population_figures_reach_the_gazetteer():
    w = W.wards().set_index("name_vi")
    assert w.loc["Minh Khai", "pop_2013"] == 36709  # NQ 132/NQ-CP
    assert w.loc["Thượng Cát", "ward_code"] == "00595"
    assert w["pop_2013"].sum() == 320414  # district total at founding (NQ 132)
    assert abs(w["area_km2"].sum() - 43.35) < 0.3  # 4,335.34 ha, within the [EST] residual


def test_crosswalk_shares_sum_to_one_per_old_ward():
    cw = W.crosswalk()
    sums = cw.groupby("old_code")[["pop_share", "area_share"]].sum()
    assert len(sums) == 13
    np.testing.assert_allclose(sums.to_numpy(), 1.0, atol=1e-9)


def test_co_nhue_2_goes_almost_entirely_to_the_new_dong_ngac():
    cw = W.crosswalk().set_index(["old_name", "new_name"])
    # Hanoi TV: 33,106 of Cổ Nhuế 2's 33,479 published residents went to Đông Ngạc
    assert cw.loc[("Cổ Nhuế 2", "Đông Ngạc"), "pop_share"] == pytest.approx(33106 / 33479, abs=1e-4)


def test_to_new_wards_preserves_count_totals_per_period():
    rng = np.random.default_rng(1)
    months = pd.date_range("2025-01-01", periods=6, freq="MS")
    old = pd.DataFrame(
        [
            (w, m, rng.poisson(5), rng.uniform(0.5, 0.9))
            for w in W.wards()["name_ascii"]
            for m in months
        ],
        columns=["ward", "month", "fires", "solve_rate"],
    )
    new = W.to_new_wards(old, time="month", counts=["fires"], rates=["solve_rate"])
    totals_old = old.groupby("month")["fires"].sum()
    totals_new = new.groupby("month")["fires"].sum()
    np.testing.assert_allclose(totals_new.to_numpy(), totals_old.to_numpy(), rtol=1e-12)
    assert new["solve_rate"].between(0.5, 0.9).all()  # a weighted mean stays inside the range
    assert set(new["new_ward"]) == {
        "Đông Ngạc",
        "Thượng Cát",
        "Xuân Đỉnh",
        "Phú Diễn",
        "Tây Tựu",
        "Phú Thượng",
        "Xuân Phương",
    }
    # Liên Mạc and Thượng Cát (all) and most of Thụy Phương etc. form the new Thượng Cát
    m0 = old[old["month"] == months[0]].set_index("ward")["fires"]
    expected = (
        m0["Thuong Cat"]
        + m0["Lien Mac"]
        + 0.85 * m0["Thuy Phuong"]
        + 0.10 * m0["Tay Tuu"]
        + 0.05 * m0["Minh Khai"]
        + 0.0111 * m0["Co Nhue 2"]
    )
    got = new[(new["month"] == months[0]) & (new["new_ward"] == "Thượng Cát")]["fires"].item()
    assert got == pytest.approx(expected)


def test_adjacency_is_symmetric_in_use_and_names_known_wards():
    for ward in W.wards()["name_vi"]:
        for nb in W.neighbours(ward):
            assert ward in W.neighbours(nb)
    assert "Cổ Nhuế 1" in W.neighbours("Co Nhue 2")
    assert W.neighbours("Thượng Cát") == ["Liên Mạc", "Tây Tựu"]  # sjkland.com
