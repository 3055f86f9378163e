import re
from pathlib import Path

import pandas as pd
import pytest

from spmopt.data import check_schema, read_table, require_nonnegative, require_unique
from spmopt.data.tables import number_rows
from spmopt.errors import DataError


def test_missing_file_and_empty_table(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    empty = tmp_path / "e.csv"
    empty.write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(empty)
    blank = tmp_path / "blank.csv"
    blank.write_text("")
    with pytest.raises(DataError, match=r"blank.csv is empty \(not even a header"):
        read_table(blank)


def test_missing_column_names_it() -> None:
    frame = pd.DataFrame({"a": ["1"]})
    with pytest.raises(DataError, match=r"missing column\(s\) \['b'\]"):
        check_schema(frame, {"b": "float"}, "reps")


def test_wrong_type_names_value_and_row() -> None:
    frame = pd.DataFrame({"capacity": ["1", "lots"]})
    with pytest.raises(
        DataError, match=r"'capacity' must be a number, got 'lots'.*row 2"
    ):
        check_schema(frame, {"capacity": "float"}, "reps")


def test_ids_stay_text_and_dates_parse() -> None:
    frame = pd.DataFrame({"id": ["007"], "d": ["2017-03-01"]})
    out = check_schema(frame, {"id": "str", "d": "date"}, "t")
    assert out["id"].iloc[0] == "007"
    assert out["d"].iloc[0] == pd.Timestamp("2017-03-01")


def test_negative_rejected() -> None:
    frame = pd.DataFrame({"capacity": [3.0, -1.0]})
    with pytest.raises(DataError, match=r"'capacity' must be a number >= 0, got -1"):
        require_nonnegative(frame, "capacity", "reps")


def test_messages_show_plain_values_not_numpy_types() -> None:
    frame = pd.DataFrame({"quota": [3.0, -950000.0]})
    with pytest.raises(DataError) as info:
        require_nonnegative(frame, "quota", "quotas")
    assert "got -950000 " in str(info.value) and "np." not in str(info.value)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e28"])
def test_infinite_or_huge_numbers_rejected(value: str) -> None:
    frame = pd.DataFrame({"amount": ["10", value]})
    with pytest.raises(DataError, match=r"'amount' must be a finite number.*row 2"):
        check_schema(frame, {"amount": "float"}, "credits")


@pytest.mark.parametrize(
    ("text", "line", "found"),
    [
        ("rep_id,quota\nA,100\nB,120,7\nC,5\n", 3, 3),  # a later row
        ("rep_id,quota\nA,100,5\nB,120,7\n", 2, 3),  # first row: not an index
        ('rep_id,quota\n"A\nstill A",100\nB,1,2,3\n', 4, 4),  # quoted newline
        ("rep_id,quota\nA,100\n\nB\nC,5\n", 4, 1),  # short row after a blank
    ],
)
def test_row_longer_than_header_is_a_malformed_row(
    tmp_path: Path, text: str, line: int, found: int
) -> None:
    path = tmp_path / "quotas.csv"
    path.write_text(text)
    pattern = (
        rf"^quotas: malformed row at line {line} of {path}: expected 2 fields "
        rf"\(as in the header\), found {found}"
    )
    with pytest.raises(DataError, match=pattern):
        read_table(path, name="quotas")


def test_gzip_csv_with_a_long_row_names_its_line(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "q.csv.gz"
    with gzip.open(path, "wt") as f:
        f.write("a,b\n1,2\n\n3,4,5\n")
    with pytest.raises(DataError, match=r"line 4 of .*: expected 2 .* found 3"):
        read_table(path)


def test_short_rows_are_malformed_and_parquet_indexes_still_read(
    tmp_path: Path,
) -> None:
    short = tmp_path / "short.csv"
    short.write_text("a,b\n1\n2,3\n")
    with pytest.raises(DataError, match=r"line 2 .* found 1; check for a missing"):
        read_table(short)
    short.write_text("a,b\n1,\n2,3\n")  # an empty cell is not a short row
    assert read_table(short)["b"].tolist() == ["", "3"]
    parquet = tmp_path / "t.parquet"
    pd.DataFrame({"a": [1, 2]}, index=["x", "y"]).to_parquet(parquet)
    assert read_table(parquet)["a"].tolist() == [1, 2]


@pytest.mark.parametrize(
    "value", ["04/03/2027", "2027/03/04", "4 Mar 2027", "2027-02-30"]
)
def test_non_iso_or_impossible_dates_are_refused_naming_column_and_row(value) -> None:  # type: ignore[no-untyped-def]
    frame = pd.DataFrame({"d": ["2027-03-04", "", value]})
    pattern = (
        rf"^t: column 'd' must be a date written YYYY-MM-DD \(ISO 8601, "
        rf"e\.g\. 2027-03-04\), got '{value}' in data row 3"
    )
    with pytest.raises(DataError, match=pattern):
        check_schema(frame, {"d": "date"}, "t")


def test_iso_dates_with_times_parse_and_blanks_are_missing() -> None:
    frame = pd.DataFrame({"d": ["2027-03-04", "2027-03-04T10:30:00", " "]})
    out = check_schema(frame, {"d": "date"}, "t")["d"]
    assert out.iloc[0] == pd.Timestamp("2027-03-04")
    assert out.iloc[1] == pd.Timestamp("2027-03-04 10:30")
    assert pd.isna(out.iloc[2])


def test_a_missing_number_is_called_blank_not_nan() -> None:
    frame = pd.DataFrame({"q": [1.0, float("nan")]})
    with pytest.raises(DataError, match=r"^t: column 'q' must be a number >= 0, got a"):
        require_nonnegative(frame, "q", "t")
    with pytest.raises(DataError, match=r"got a blank cell in data row 2$"):
        require_nonnegative(frame, "q", "t")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("rep_id;quota\nA;100,5\nB;120\n", "';' (semicolon)"),
        ("rep_id\tquota\nA\t100\n", "a tab"),
        ("\n rep_id;quota;region\nA;1;N\n", "';' (semicolon)"),
    ],
)
def test_semicolon_or_tab_delimited_csv_is_named_not_one_odd_column(
    tmp_path: Path, text: str, name: str
) -> None:
    path = tmp_path / "quotas.csv"
    path.write_text(text)
    pattern = (
        rf"^quotas: {path} seems to use {re.escape(name)} as its delimiter "
        r"\(header 'rep_id.{1,2}quota.*'\); spmopt reads comma-separated files"
    )
    with pytest.raises(DataError, match=pattern):
        read_table(path, name="quotas")


def test_commas_with_semicolons_inside_cells_still_read(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('name,note\nA,"x;y"\n')
    assert read_table(path)["note"].tolist() == ["x;y"]
    single = tmp_path / "one.csv"
    single.write_text("rep_id\nA\n")
    assert read_table(single)["rep_id"].tolist() == ["A"]


def test_a_file_named_by_its_path_is_named_once(tmp_path: Path) -> None:
    path = tmp_path / "open.csv"
    path.write_text("deal_id;amount\nD1;5\n")
    with pytest.raises(DataError) as caught:
        read_table(path, name=str(path))
    assert str(caught.value).startswith(f"{path} seems to use")


def test_a_folder_or_a_device_is_not_called_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"^credits: .* is a folder, not a file; "):
        read_table(tmp_path, name="credits")
    with pytest.raises(DataError, match=r"^credits: /dev/null is not a regular file"):
        read_table("/dev/null", name="credits")
    with pytest.raises(DataError, match=r"^credits: file not found: "):
        read_table(tmp_path / "nope.csv", name="credits")


@pytest.mark.parametrize(
    ("name", "content", "kind"),
    [
        ("t.xlsx", b"a,b\n1,2\n", "a spreadsheet workbook"),
        ("t.csv", b"PK\x03\x04\x14\x00rest", "a zip file"),
        ("t.csv", b"\xd0\xcf\x11\xe0\xa1\xb1", "an old Excel (.xls) workbook"),
    ],
)
def test_a_workbook_is_refused_as_not_csv_or_parquet(
    tmp_path: Path, name: str, content: bytes, kind: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        read_table(path, name="units")
    message = str(info.value)
    assert message.startswith(f"units: {path} is {kind}")
    assert "only CSV and Parquet" in message and "malformed" not in message


def test_a_latin1_csv_names_the_line_and_byte_and_asks_for_utf8(
    tmp_path: Path,
) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("store,city\nS1,Paris\nS2,Orl\u00e9ans\n".encode("latin-1"))
    with pytest.raises(DataError) as info:
        read_table(path, name="units")
    message = str(info.value)
    assert message.startswith(f"units: {path} is not UTF-8 text (line 3, byte 7: 0xe9)")
    assert "CSV UTF-8" in message and "codec" not in message


def test_numbered_rows_keep_their_data_row_after_a_filter() -> None:
    raw = pd.DataFrame(
        {"id": ["a", "b", "c", "c", "e"], "v": ["1", "2", "x", "-4", ""]}
    )
    kept = number_rows(raw)[lambda f: f["id"] != "b"]
    with pytest.raises(DataError, match=r"got 'x' in data row 3 \(1 bad"):
        check_schema(kept, {"v": "float"}, "t")
    frame = check_schema(kept[kept["v"] != "x"], {"v": "float"}, "t")
    with pytest.raises(DataError, match=r"got -4 in data row 4$"):
        require_nonnegative(frame, "v", "t")
    with pytest.raises(
        DataError, match=r"'c' appears more than once \(data rows 3, 4;"
    ):
        require_unique(kept, "id", "t")
    with pytest.raises(DataError, match=r"column 'v' is empty in data row 5$"):
        require_unique(frame.iloc[1:], "v", "t")
    plain = raw[raw["id"] != "b"]  # not numbered: positions in what is left
    with pytest.raises(DataError, match="in data row 2 "):
        check_schema(plain, {"v": "float"}, "t")
