import os
import re
import warnings

import pytest

from spmopt.config import parse_config
from spmopt.errors import ConfigError, SpmoptWarning
from spmopt.territory.config import RepsSpec, SolverSpec, TerritoryConfig


def test_more_workers_than_cores_warns_naming_field_value_and_cores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    pattern = r"solver\.workers is 8 but this machine has 2 CPU core\(s\)"
    with pytest.warns(SpmoptWarning, match=pattern):
        spec = parse_config(SolverSpec, {"workers": 8}, source="territory.yaml")
    assert spec.workers == 8  # a warning, not a failure


@pytest.mark.parametrize("workers", [None, 1, 2])
def test_workers_within_the_cores_do_not_warn(
    monkeypatch: pytest.MonkeyPatch, workers: int | None
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    data = {} if workers is None else {"workers": workers}
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpmoptWarning)
        parse_config(SolverSpec, data)


def test_unknown_core_count_does_not_warn(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SpmoptWarning)
        assert parse_config(SolverSpec, {"workers": 64}).workers == 64


def test_cli_shows_the_warning_as_one_plain_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path, capsys
) -> None:  # type: ignore[no-untyped-def]
    from spmopt.cli import main

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    config = tmp_path / "territory.yaml"
    config.write_text("solver: {workers: 2}\ncolour: red\n")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        assert main(["territory", "solve", str(config)]) == 2
    err = capsys.readouterr().err
    assert (
        "WARNING py.warnings: SpmoptWarning: solver.workers is 2 but this machine "
        "has 1 CPU core(s)" in err
    )
    assert "pydantic" not in err and "Traceback" not in err


def _planar(units: dict[str, object], row: dict[str, object]) -> TerritoryConfig:
    data = {
        "units": {"table": "u.csv", "potential": {"column": "p"}, **units},
        "reps": {"rows": [{"rep_id": "a", **row}]},
    }
    return parse_config(TerritoryConfig, data, source="territory.yaml")


def test_planar_coordinates_may_be_named_x_and_y() -> None:
    named = _planar({"coords": "xy", "x": "east", "y": "north"}, {"x": 3, "y": 4})
    plain = _planar(
        {"coords": "xy", "lat": "east", "lon": "north"}, {"lat": 3, "lon": 4}
    )
    assert named == plain
    assert (named.units.lat, named.units.lon) == ("east", "north")
    assert (named.reps.rows[0].lat, named.reps.rows[0].lon) == (3, 4)  # type: ignore[union-attr,index]
    table = parse_config(RepsSpec, {"table": "r.csv", "x": "bx", "y": "by"})
    assert (table.lat, table.lon) == ("bx", "by")


@pytest.mark.parametrize(
    ("units", "row", "says"),
    [
        ({"x": "east", "y": "north"}, {"lat": 1, "lon": 2}, "set coords: xy"),
        ({"coords": "xy", "x": "e", "lat": "e"}, {"lat": 1, "lon": 2}, "not both"),
        ({"coords": "xy"}, {"x": 1, "lat": 2, "lon": 3}, "give 'x' or 'lat'"),
    ],
)
def test_planar_names_are_refused_where_ambiguous(
    units: dict[str, object], row: dict[str, object], says: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(says)):
        _planar(units, row)


@pytest.mark.parametrize("coords", ["polar", "XY"])
def test_unknown_coords_are_named_before_planar_names(coords: str) -> None:
    for units in ({"x": "e", "y": "n"}, {"lat": "e", "lon": "n"}):
        with pytest.raises(ConfigError) as info:
            _planar({"coords": coords, **units}, {"lat": 1, "lon": 2})
        assert str(info.value) == (
            f"territory.yaml: field 'units.coords' must be 'latlon' or 'xy', "
            f"got {coords!r}"
        )


DESIGN = {
    "mode": "design",
    "units": {"table": "bundled:us_counties", "potential": {"column": "x"}},
    "design": {"territories": 3},
}


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"contiguity": {"adjacency": "delaunay"}}, "field 'contiguity' is"),
        ({"remedies": {"split": {"B2": 2}}}, "field 'remedies.split' is"),
        ({"remedies": {"dedicated": ["B2"]}}, "field 'remedies.dedicated' is"),
        (
            {"contiguity": {}, "remedies": {"auto": True}},
            "fields 'contiguity', 'remedies.auto' are",
        ),
    ],
)
def test_design_mode_refuses_what_it_cannot_enforce(
    changes: dict[str, object], fields: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(TerritoryConfig, {**DESIGN, **changes}, source="t.yaml")
    assert str(caught.value) == (
        f"t.yaml: {fields} not supported in design mode (mode: design); remove "
        f"{'it' if 'field ' in fields else 'them'}, or run mode: rebalance with the "
        "designed centres as reps"
    )


def test_design_mode_with_default_remedies_loads() -> None:
    cfg = parse_config(TerritoryConfig, {**DESIGN, "remedies": {}})
    assert cfg.contiguity is None and not cfg.remedies.model_fields_set


REBALANCE = {
    "units": {"table": "bundled:us_counties", "potential": {"column": "x"}},
    "reps": {"rows": [{"rep_id": "A", "lat": 1, "lon": 2}]},
}


@pytest.mark.parametrize(
    ("changes", "line"),
    [
        (
            {"contiguity": {"adjacency": ""}},
            "t.yaml: field 'contiguity.adjacency': '' is neither the keyword "
            "'delaunay' nor a table file",
        ),
        (
            {"current": "  "},
            "t.yaml: field 'current': '  ' is neither the keyword 'nearest' nor a "
            "table file",
        ),
    ],
)
def test_empty_keyword_or_table_is_one_plain_line(
    changes: dict[str, object], line: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(TerritoryConfig, {**REBALANCE, **changes}, source="t.yaml")
    assert str(caught.value) == line


@pytest.mark.parametrize("parts", [1, 101, 1_000_000_000])
def test_split_parts_are_bounded(parts: int) -> None:
    data = {**REBALANCE, "remedies": {"split": {"B2": parts}}}
    with pytest.raises(ConfigError) as caught:
        parse_config(TerritoryConfig, data, source="t.yaml")
    assert str(caught.value) == (
        f"t.yaml: field 'remedies.split' is invalid: unit 'B2' is cut into {parts} "
        "parts; give 2 to 100 parts"
    )


def test_largest_split_loads() -> None:
    data = {**REBALANCE, "remedies": {"split": {"B2": 100}}}
    assert parse_config(TerritoryConfig, data).remedies.split == {"B2": 100}


@pytest.mark.parametrize(
    ("parts", "names"), [(2, "B2#1, B2#2"), (5, "B2#1, B2#2, ..., B2#5)")]
)
def test_dedicating_a_split_unit_names_its_parts(parts: int, names: str) -> None:
    remedies = {"split": {"B2": parts}, "dedicated": ["B2"]}
    with pytest.raises(ConfigError) as caught:
        parse_config(TerritoryConfig, {**REBALANCE, "remedies": remedies}, "t.yaml")
    message = str(caught.value)
    assert message.startswith("t.yaml: field 'remedies.dedicated' is invalid: unit")
    assert f"cuts it into {parts} parts ({names}" in message
    assert "dedicate a part by its id" in message


def test_a_split_unit_may_be_dedicated_by_part() -> None:
    remedies = {"split": {"B2": 2}, "dedicated": ["B2#1"]}
    cfg = parse_config(TerritoryConfig, {**REBALANCE, "remedies": remedies})
    assert cfg.remedies.dedicated == ["B2#1"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"remedies": None}, "field 'remedies' must be a section of fields, got None"),
        (
            {"remedies": {"split": {"B2": 2.5}}},
            "field 'remedies.split.B2' must be a valid integer, got 2.5",
        ),
        (
            {"contiguity": {"adjacency": 5}},
            "field 'contiguity.adjacency' must be 'delaunay' or be a valid string, "
            "got 5",
        ),
    ],
)
def test_messages_name_fields_not_validator_internals(
    extra: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(TerritoryConfig, {**REBALANCE, **extra}, source="t.yaml")
    assert str(caught.value) == f"t.yaml: {message}"
