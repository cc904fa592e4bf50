"""Reading the files Vietnamese offices produce: encodings, delimiters, Excel, Parquet."""

import pandas as pd
import pytest

import evaluation as ev
from evaluation.data.io import read_table
from tests.vietnamese_encodings import to_cp1258

ROWS = [
    ["Cổ Nhuế 2", "2024-02-15", 3, "nhà trọ"],
    ["Xuân Đỉnh", "2024-02-15", 0, "chung cư mini"],
    ["Thụy Phương", "2024-03-15", 1, "nhà ở kết hợp KD"],
]
COLS = ["phường", "kỳ", "số_vụ", "loại_nhà"]
EXPECTED = pd.DataFrame(ROWS, columns=COLS)


def _text(sep=",", newline="\n"):
    return newline.join([sep.join(COLS)] + [sep.join(map(str, r)) for r in ROWS]) + newline


def _check(df):
    assert list(df.columns) == COLS
    assert df["phường"].tolist() == EXPECTED["phường"].tolist()
    assert df["loại_nhà"].tolist() == EXPECTED["loại_nhà"].tolist()
    assert df["số_vụ"].tolist() == [3, 0, 1]


@pytest.mark.parametrize(
    "encoding,bom,sep,newline",
    [
        ("utf-8", b"", ",", "\n"),
        ("utf-8", b"\xef\xbb\xbf", ",", "\r\n"),  # Excel "CSV UTF-8"
        ("utf-8", b"\xef\xbb\xbf", ";", "\r\n"),  # Excel with a comma decimal locale
        ("utf-16-le", b"\xff\xfe", "\t", "\r\n"),  # Excel "Unicode Text"
        ("utf-16-be", b"\xfe\xff", "\t", "\r\n"),
        ("utf-16-le", b"", "\t", "\r\n"),  # UTF-16 without a byte-order mark
    ],
)
def test_unicode_exports(tmp_path, encoding, bom, sep, newline):
    f = tmp_path / "t.csv"
    f.write_bytes(bom + _text(sep, newline).encode(encoding))
    _check(read_table(f))


def test_windows_1258_export_is_decoded_and_nfc_normalised(tmp_path):
    f = tmp_path / "t.csv"
    raw = to_cp1258(_text(",", "\r\n"))
    assert "Cổ".encode() not in raw  # really a legacy code page file
    f.write_bytes(raw)
    _check(read_table(f))


def test_decomposed_unicode_from_a_mac_is_normalised(tmp_path):
    import unicodedata

    f = tmp_path / "t.csv"
    f.write_text(unicodedata.normalize("NFD", _text()), encoding="utf-8")
    _check(read_table(f))


def test_excel_and_parquet(tmp_path):
    EXPECTED.to_excel(tmp_path / "t.xlsx", index=False)
    _check(read_table(tmp_path / "t.xlsx"))
    EXPECTED.to_parquet(tmp_path / "t.parquet")
    _check(read_table(tmp_path / "t.parquet"))


def test_codes_keep_leading_zeros_when_asked(tmp_path):
    f = tmp_path / "codes.csv"
    f.write_text("ward_code,n\n00617,1\n00595,2\n", encoding="utf-8")
    assert read_table(f, dtype={"ward_code": str})["ward_code"].tolist() == ["00617", "00595"]


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ev.DataError, match="no such file"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(ev.DataError, match="is a folder"):
        read_table(tmp_path)
