import re
from datetime import date
from pathlib import Path
from typing import Literal

import pytest
from pydantic import Field, model_validator

from spmopt.config import (
    Config,
    FieldValueError,
    TablePath,
    check_files,
    load_config,
    read_yaml,
)
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
    (tmp_path / "t.csv").write_text("a\n1\n")
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
    text = "base: &b {capacity: 3}\ntable: t.csv\ninner:\n  <<: *b\n  capacity: 4\n"
    with pytest.raises(ConfigError, match="unknown field 'base'"):
        load_config(Outer, write(tmp_path, text))
    text = "table: t.csv\ninner: {capacity: 4}\nmode: capacity\n"
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


class Nested(Config):
    plan: Inner | TablePath
    tables: dict[str, TablePath] = Field(default_factory=dict)
    steps: list[Outer] = Field(default_factory=list)
    current: Literal["nearest"] | TablePath | None = None


@pytest.mark.parametrize(
    ("text", "field", "name"),
    [
        ("plan: nosuch.yaml\n", "plan", "nosuch.yaml"),
        ("plan: {capacity: 1}\ntables: {east: gone.csv}\n", "tables.east", "gone.csv"),
        (
            "plan: {capacity: 1}\nsteps: [{table: t.csv, inner: {capacity: 1}}, "
            "{table: sub/x.csv, inner: {capacity: 1}}]\n",
            "steps.1.table",
            "sub/x.csv",
        ),
    ],
)
def test_a_missing_file_names_its_field_and_the_config_file(
    tmp_path: Path, text: str, field: str, name: str
) -> None:
    path = write(tmp_path, text)
    cfg = load_config(Nested, path)  # a chained job may write the file first
    with pytest.raises(ConfigError) as caught:
        check_files(cfg, str(path))
    assert str(caught.value) == (
        f"{path}: field '{field}': file not found: {tmp_path / name}"
    )


@pytest.mark.parametrize(
    ("text", "field", "instead"),
    [
        ("plan: plans\n", "plan", ""),
        (
            "plan: t.csv\ncurrent: plans\n",
            "current",
            "; give a table file or the keyword 'nearest'",
        ),
    ],
)
def test_a_folder_named_for_a_file_is_called_a_folder(
    tmp_path: Path, text: str, field: str, instead: str
) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "t.csv").write_text("a\n1\n")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        check_files(load_config(Nested, path), str(path))
    assert str(caught.value) == (
        f"{path}: field '{field}': {tmp_path / 'plans'} is a folder, not a file"
        + instead
    )


def test_existing_files_bundled_tables_and_keywords_pass(tmp_path: Path) -> None:
    (tmp_path / "plan.yaml").write_text("capacity: 1\n")
    text = "plan: plan.yaml\ntables: {a: 'bundled:us_zips', b: t.csv}\n"
    cfg = load_config(Nested, write(tmp_path, text + "current: nearest\n"))
    check_files(cfg)
    assert cfg.plan == str(tmp_path / "plan.yaml") and cfg.current == "nearest"
    assert cfg.tables == {"a": "bundled:us_zips", "b": str(tmp_path / "t.csv")}


def test_a_keyword_or_file_field_names_its_keyword(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a\n1\n")
    path = write(tmp_path, "plan: t.csv\ncurrent: nearst\n")
    cfg = load_config(Nested, path)
    assert cfg.current == str(tmp_path / "nearst")
    with pytest.raises(ConfigError) as caught:
        check_files(cfg, str(path))
    assert str(caught.value) == (
        f"{path}: field 'current': '{tmp_path / 'nearst'}' is neither the keyword "
        "'nearest' nor an existing table file"
    )


def test_a_folder_given_as_config_file_is_called_a_folder(tmp_path: Path) -> None:
    (tmp_path / "b.yaml").write_text("x: 1\n")
    (tmp_path / "a.yml").write_text("x: 1\n")
    with pytest.raises(ConfigError) as caught:
        read_yaml(tmp_path)
    assert str(caught.value) == (
        f"config file {tmp_path} is a folder, not a file; give one of the YAML "
        "files inside it: a.yml, b.yaml"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="folder, not a file; give the path of a"):
        read_yaml(tmp_path / "empty")


def test_an_unreadable_config_file_is_one_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "table: t.csv\n")

    def refused(self: Path, *args: object, **kwargs: object) -> str:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "read_text", refused)
    with pytest.raises(ConfigError) as caught:
        read_yaml(path)
    assert (
        str(caught.value) == f"{path}: cannot read the config file (permission denied)"
    )


def test_unknown_fields_of_one_section_are_listed_once(tmp_path: Path) -> None:
    text = "table: t.csv\nmood: x\ncolour: y\ninner: {capacity: 1, size: 2}\n"
    with pytest.raises(ConfigError) as caught:
        load_config(Outer, write(tmp_path, text))
    assert str(caught.value) == (
        f"{tmp_path / 'c.yaml'}: unknown field 'inner.size'; allowed fields here: "
        "capacity; unknown fields 'mood', 'colour'; allowed fields here: inner, "
        "mode, table"
    )


@pytest.mark.parametrize(
    ("text", "where", "expected"),
    [
        ("name: x\n  bad: [\n", "line 2, column 6", "mapping values are not allowed"),
        ("a: [1, 2\nb: 3\n", "line 2, column 2", "expected ',' or ']'"),
        ('a: "x\n', "line 2, column 1", "quoted scalar that starts on line 1"),
        ("a: 1\n---\nb: 2\n", "line 2, column 1", "single document in the stream, but"),
    ],
)
def test_a_yaml_syntax_error_is_one_line_with_its_place(
    tmp_path: Path, text: str, where: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        read_yaml(path)
    message = str(info.value)
    assert message.startswith(f"{path} {where}: not valid YAML: ")
    assert expected in message
    assert "\n" not in message and "<unicode string>" not in message


def test_an_empty_table_path_is_refused_at_load(tmp_path: Path) -> None:
    path = write(tmp_path, 'table: ""\ninner: {capacity: 1}\n')
    with pytest.raises(ConfigError, match=r"field 'table'.*file path or bundled"):
        load_config(Outer, path)


def test_an_unknown_bundled_table_names_its_field_and_the_tables(
    tmp_path: Path,
) -> None:
    cfg = load_config(
        Outer, write(tmp_path, "table: bundled:nosuch\ninner: {capacity: 1}\n")
    )
    with pytest.raises(ConfigError) as info:
        check_files(cfg, "c.yaml")
    message = str(info.value)
    assert message.startswith("c.yaml: field 'table': unknown bundled table ")
    assert "bundled:us_counties" in message and "bundled:maven_pipeline" in message


def test_a_device_named_for_a_table_is_not_called_missing(tmp_path: Path) -> None:
    cfg = load_config(
        Outer, write(tmp_path, "table: /dev/null\ninner: {capacity: 1}\n")
    )
    with pytest.raises(ConfigError, match="/dev/null is not a regular file"):
        check_files(cfg, "c.yaml")


def test_the_file_a_reader_names_is_said_in_the_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^--plan file not found: "):
        load_config(Outer, tmp_path / "nosuch.yaml", "--plan file")
    with pytest.raises(ConfigError, match=r"^config file /dev/null is not a regular"):
        read_yaml("/dev/null")
