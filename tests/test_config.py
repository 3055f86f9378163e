import re
from datetime import date
from pathlib import Path

import pytest
from pydantic import Field, model_validator

from spmopt.config import Config, FieldValueError, TablePath, load_config, read_yaml
from spmopt.errors import ConfigError


class Inner(Config):
    capacity: float = Field(gt=0)


class Outer(Config):
    table: TablePath
    inner: Inner
    mode: str = "a"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text)
    return path


def test_relative_table_path_resolves_against_config_folder(tmp_path: Path) -> None:
    cfg = load_config(Outer, write(tmp_path, "table: t.csv\ninner: {capacity: 2}\n"))
    assert cfg.table == str(tmp_path / "t.csv")


def test_bundled_reference_is_kept(tmp_path: Path) -> None:
    text = "table: 'bundled:us_counties'\ninner: {capacity: 2}\n"
    assert load_config(Outer, write(tmp_path, text)).table == "bundled:us_counties"


def test_bad_value_names_field_value_and_rule(tmp_path: Path) -> None:
    path = write(tmp_path, "table: t.csv\ninner: {capacity: -5}\n")
    with pytest.raises(ConfigError, match=r"inner\.capacity.*greater than 0.*-5"):
        load_config(Outer, path)


def test_unknown_field_lists_allowed(tmp_path: Path) -> None:
    path = write(tmp_path, "table: t.csv\ninner: {capacity: 1, capacty: 2}\n")
    with pytest.raises(ConfigError, match=r"unknown field 'inner\.capacty'.*capacity"):
        load_config(Outer, path)


def test_missing_field_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'inner' is required"):
        load_config(Outer, write(tmp_path, "table: t.csv\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    "text", ["", "[1, 2]", "a: [unclosed", "year_start: 2027-13-01"]
)
def test_empty_list_or_broken_yaml(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_config(Outer, write(tmp_path, text))


def test_config_is_frozen(tmp_path: Path) -> None:
    cfg = load_config(Outer, write(tmp_path, "table: t.csv\ninner: {capacity: 2}\n"))
    with pytest.raises(Exception, match="frozen"):
        cfg.mode = "b"  # type: ignore[misc]


def test_binary_config_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_bytes(b"a: \xaf\xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8"):
        load_config(Outer, path)


class Checked(Config):
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "Checked":
        if self.low > self.high:
            raise ValueError(f"low {self.low} is above high {self.high}")
        return self


def test_a_whole_config_check_names_the_problem_not_the_whole_file(
    tmp_path: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(Checked, write(tmp_path, "low: 5\nhigh: 2\n"))
    message = str(caught.value)
    assert message.endswith("is invalid: low 5.0 is above high 2.0")
    assert "{" not in message


@pytest.mark.parametrize(
    ("text", "line", "first"),
    [
        ("table: a.csv\ninner: {capacity: 1}\ntable: b.csv\n", 3, 1),
        ("table: a.csv\ninner:\n  capacity: 1\n  capacity: 2\n", 4, 3),
        ("table: a.csv\ninner: {capacity: 1, capacity: 2}\n", 2, 2),
    ],
)
def test_a_repeated_key_is_refused_naming_its_lines(
    tmp_path: Path, text: str, line: int, first: int
) -> None:
    path = write(tmp_path, text)
    key = "table" if line == 3 else "capacity"
    message = f"{path} line {line}: key '{key}' appears twice (first on line {first})"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(Outer, path)


def test_the_same_key_in_two_mappings_and_merge_keys_are_fine(tmp_path: Path) -> None:
    text = "base: &b {capacity: 3}\ntable: a.csv\ninner:\n  <<: *b\n  capacity: 4\n"
    with pytest.raises(ConfigError, match="unknown field 'base'"):
        load_config(Outer, write(tmp_path, text))
    text = "table: a.csv\ninner: {capacity: 4}\nmode: capacity\n"
    assert load_config(Outer, write(tmp_path, text)).inner.capacity == 4


class Blamed(Config):
    low: float = 0.0
    high: float = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> "Blamed":
        if self.low > self.high:
            raise FieldValueError("high", f"high {self.high} is below low {self.low}")
        return self


class Holder(Config):
    table: TablePath
    checked: Blamed


def test_a_whole_model_check_can_name_the_field_it_blames(tmp_path: Path) -> None:
    text = "table: a.csv\nchecked: {low: 2, high: 1}\n"
    message = "field 'checked.high' is invalid: high 1.0 is below low 2.0"
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(Holder, write(tmp_path, text))


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ("year_start: 2027-02-30\n", 1, "year_start"),
        ("plan:\n  measures:\n    - name: a\n      start: 2027-13-01\n", 4, None),
    ],
)
def test_an_impossible_date_names_its_field_and_line(
    tmp_path: Path, text: str, line: int, field: str | None
) -> None:
    field = field or "plan.measures.0.start"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=rf"line {line}: field '{field}' is not a"):
        read_yaml(path)


def test_real_dates_still_load_as_dates(tmp_path: Path) -> None:
    path = write(tmp_path, "a: 2027-02-28\nb: [2028-02-29]\nc: '2027-02-30'\n")
    data = read_yaml(path)
    assert data == {"a": date(2027, 2, 28), "b": [date(2028, 2, 29)], "c": "2027-02-30"}
