from pathlib import Path

import pandas as pd
import pytest

from spmopt.data import check_schema, read_table, require_nonnegative
from spmopt.errors import DataError


def test_missing_file_and_empty_table(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="file not found"):
        read_table(tmp_path / "nope.csv")
    empty = tmp_path / "e.csv"
    empty.write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(empty)


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
    assert "got -950000.0" in str(info.value) and "np." not in str(info.value)


@pytest.mark.parametrize("value", ["inf", "-inf", "1e28"])
def test_infinite_or_huge_numbers_rejected(value: str) -> None:
    frame = pd.DataFrame({"amount": ["10", value]})
    with pytest.raises(DataError, match=r"'amount' must be a finite number.*row 2"):
        check_schema(frame, {"amount": "float"}, "credits")
