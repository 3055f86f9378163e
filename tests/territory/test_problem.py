"""Reading and validating the tables of a territory config."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pytest
import yaml

from spmopt.config import parse_config
from spmopt.errors import ConfigError, DataError
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.problem import NO_REP, build_problem

UNITS = """unit_id,lat,lon,sales,owner,lock
a,33.7,-84.4,10,ATL,
b,33.9,-84.2,20,ATL,ATL
c,25.8,-80.2,30,MIA,
d,26.1,-80.1,40,,
"""


def settings(**extra: object) -> dict[str, object]:
    """A territory config over ``units.csv`` (as read from YAML)."""
    return {
        "units": {
            "table": "units.csv",
            "potential": {"column": "sales"},
            "current_owner": "owner",
            "locked_owner": "lock",
        },
        "reps": {
            "rows": [
                {"rep_id": "ATL", "lat": 33.75, "lon": -84.39, "capacity": 3},
                {"rep_id": "MIA", "lat": 25.76, "lon": -80.19, "target_share": 3},
            ]
        },
        "track": False,
        **extra,
    }


def config(tmp_path: Path, units: str = UNITS, **extra: object) -> TerritoryConfig:
    (tmp_path / "units.csv").write_text(units)
    return parse_config(TerritoryConfig, settings(**extra), base_dir=tmp_path)


def test_arrays_from_tables(tmp_path: Path) -> None:
    p = build_problem(config(tmp_path))
    assert p.n_units == 4 and p.n_reps == 2
    assert p.potential.tolist() == [10, 20, 30, 40]
    assert p.workload.tolist() == [1, 1, 1, 1]
    assert p.capacity[0] == 3 and np.isinf(p.capacity[1])
    assert p.target_share.tolist() == [0.25, 0.75]
    assert p.current.tolist() == [0, 0, 1, NO_REP]
    assert p.locked.tolist() == [NO_REP, 0, NO_REP, NO_REP]
    assert p.distance[0, 0] < 10 < p.distance[0, 1]


def test_nearest_current_alignment(tmp_path: Path) -> None:
    p = build_problem(config(tmp_path, current="nearest"))
    assert p.current.tolist() == [0, 0, 1, 1]


def test_current_alignment_table(tmp_path: Path) -> None:
    (tmp_path / "now.csv").write_text("unit_id,rep_id\na,MIA\nc,ATL\n")
    p = build_problem(config(tmp_path, current="now.csv"))
    assert p.current.tolist() == [1, NO_REP, 0, NO_REP]


def test_unknown_rep_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown rep 'BOS'"):
        build_problem(config(tmp_path, UNITS.replace("MIA,\n", "BOS,\n")))


def test_negative_potential_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="'sales' must be a number >= 0"):
        build_problem(config(tmp_path, UNITS.replace(",30,", ",-30,")))


def test_duplicate_unit_named(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="must be unique"):
        build_problem(config(tmp_path, UNITS.replace("\nb,", "\na,")))


def test_keep_filter_and_empty_result(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    units = cfg.units.model_copy(update={"keep": {"owner": ["MIA"]}})
    p = build_problem(cfg.model_copy(update={"units": units}))
    assert p.unit_ids.tolist() == ["c"]
    units = cfg.units.model_copy(update={"keep": {"owner": ["XX"]}})
    with pytest.raises(DataError, match="no rows left"):
        build_problem(cfg.model_copy(update={"units": units}))


def test_reps_need_one_source() -> None:
    with pytest.raises(ConfigError, match="exactly one of 'rows'"):
        parse_config(
            TerritoryConfig,
            {"units": {"table": "x.csv", "potential": {"column": "p"}}, "reps": {}},
        )


def test_bad_tolerance_names_field() -> None:
    data = {
        "units": {"table": "x.csv", "potential": {"column": "p"}},
        "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
        "balance": [{"measure": "potential", "tolerance": 1.5}],
    }
    with pytest.raises(ConfigError, match=r"balance\.0\.tolerance"):
        parse_config(TerritoryConfig, data)


def test_distance_table_overrides_and_restricts(tmp_path: Path) -> None:
    (tmp_path / "drive.csv").write_text(
        "unit_id,rep_id,minutes\na,ATL,5\nb,ATL,7\nb,MIA,700\nc,MIA,9\nd,MIA,12\n"
    )
    spec = {"table": "drive.csv", "value": "minutes"}
    p = build_problem(config(tmp_path, distances=spec))
    assert p.distance[0, 0] == 5 and np.isinf(p.distance[0, 1])
    assert p.distance[1, 1] == 700
    from spmopt.territory.model import allowed_pairs

    assert allowed_pairs(p, None).tolist() == [
        [True, False],
        [True, True],
        [False, True],
        [False, True],
    ]


def test_distance_table_unit_without_any_pair(tmp_path: Path) -> None:
    (tmp_path / "drive.csv").write_text("unit_id,rep_id,distance\na,ATL,5\n")
    cfg = config(tmp_path, distances={"table": "drive.csv"})
    units = cfg.units.model_copy(update={"current_owner": None})
    with pytest.raises(DataError, match="has no distance to any rep"):
        build_problem(cfg.model_copy(update={"units": units}))


def test_solve_with_distance_table(tmp_path: Path) -> None:
    from spmopt.territory.job import solve_config

    (tmp_path / "drive.csv").write_text(
        "unit_id,rep_id,minutes\na,ATL,5\nb,ATL,7\nb,MIA,1\nc,MIA,9\nd,MIA,12\n"
        "d,ATL,1\n"
    )
    cfg = config(tmp_path, distances={"table": "drive.csv", "value": "minutes"})
    cfg = cfg.model_copy(update={"balance": [], "locked": False, "capacity": False})
    units = cfg.units.model_copy(update={"current_owner": None})
    problem, result = solve_config(cfg.model_copy(update={"units": units}))
    assert problem.rep_ids[result.assignment].tolist() == ["ATL", "MIA", "MIA", "ATL"]
    assert result.objective == pytest.approx(5 + 1 + 9 + 1)


def test_mode_needs_its_section() -> None:
    units = {"table": "x.csv", "potential": {"column": "p"}}
    with pytest.raises(ConfigError, match="mode 'design' needs a 'design' section"):
        parse_config(TerritoryConfig, {"mode": "design", "units": units})
    with pytest.raises(ConfigError, match="needs 'reps'"):
        parse_config(TerritoryConfig, {"units": units})


def test_latitude_out_of_range_named(tmp_path: Path) -> None:
    bad = UNITS.replace("25.8,-80.2", "133.1,-80.2")
    with pytest.raises(DataError, match=r"units.csv: column 'lat' must be a latitude "):
        build_problem(config(tmp_path, bad))


FileField = tuple[dict[str, object], str, str]
"""Config settings naming the file, the file's name and the field naming it."""
CURRENT: FileField = ({"current": "now.csv"}, "now.csv", "field 'current'")
ADJACENCY: FileField = (
    {"contiguity": {"adjacency": "adj.csv"}},
    "adj.csv",
    "field 'contiguity.adjacency'",
)
BROKEN_FILES: dict[str, tuple[FileField, str | None, str]] = {
    "current missing": (
        CURRENT,
        None,
        "{field}: '{path}' is neither the keyword 'nearest' nor an existing table file",
    ),
    "current folder": (
        CURRENT,
        "",
        "{field}: {path} is a folder, not a file; give a table file or the keyword "
        "'nearest'",
    ),
    "current missing column": (
        CURRENT,
        "unit,rep\na,ATL\n",
        "{field}: {path}: missing column(s) ['unit_id', 'rep_id']; columns present: "
        "unit, rep",
    ),
    "current unknown rep": (
        CURRENT,
        "unit_id,rep_id\na,ATL\nb,BOS\n",
        "{field}: {path}: column 'rep_id' names unknown rep 'BOS' (1 unknown in all); "
        "reps are: ATL, MIA",
    ),
    "adjacency missing": (
        ADJACENCY,
        None,
        "{field}: '{path}' is neither the keyword 'delaunay' nor an existing table "
        "file",
    ),
    "adjacency folder": (
        ADJACENCY,
        "",
        "{field}: {path} is a folder, not a file; give a table file or the keyword "
        "'delaunay'",
    ),
    "adjacency missing column": (
        ADJACENCY,
        "unit_id,next\na,b\n",
        "{field}: {path}: missing column(s) ['neighbor_id']; columns present: "
        "unit_id, next; contiguity.unit_a and contiguity.unit_b name the two "
        "columns of a pair",
    ),
    "adjacency unknown unit": (
        ADJACENCY,
        "unit_id,neighbor_id\na,b\nc,zz\nzz,yy\n",
        "{field}: {path}: column 'neighbor_id' names unit 'zz' in data row 2, which is "
        "not in the units table (2 unknown id(s) in all); give ids of the units "
        "table's column 'unit_id', e.g. a, b, c, d",
    ),
}


def solve_fails(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    settings: dict[str, object],
    files: Mapping[str, str | None],
) -> tuple[Path, str]:
    """Run ``territory solve`` on ``settings`` and ``files`` (text, ``""`` for a
    folder, None for none); check it fails cleanly; return (config, message).
    """
    from spmopt.cli import main

    for name, text in files.items():
        if text == "":
            (tmp_path / name).mkdir()
        elif text is not None:
            (tmp_path / name).write_text(text)
    cfg = tmp_path / "territory.yaml"
    cfg.write_text(yaml.safe_dump(settings))
    code = main(["territory", "solve", str(cfg), "--out", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.err.startswith("error: ") and captured.err.count("\n") == 1
    assert "Traceback" not in captured.out + captured.err
    assert not (tmp_path / "run").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".run")]
    return cfg, captured.err.removeprefix("error: ").rstrip("\n")


@pytest.mark.parametrize("case", list(BROKEN_FILES))
def test_a_broken_file_of_a_config_names_the_config_and_field(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (extra, name, field), text, expected = BROKEN_FILES[case]
    files = {"units.csv": UNITS, name: text}
    cfg, message = solve_fails(tmp_path, capsys, settings(**extra), files)
    assert message == expected.format(field=f"{cfg}: {field}", path=tmp_path / name)


REPS = "rep_id,lat,lon,capacity\nATL,33.75,-84.39,3\nMIA,25.76,-80.19,\n"
DRIVE = "unit_id,rep_id,distance\na,ATL,5\nb,ATL,7\nc,MIA,9\nd,MIA,12\n"
TABLES: dict[str, tuple[str, dict[str, object]]] = {
    "units.csv": ("units.table", {}),
    "reps.csv": ("reps.table", {"reps": {"table": "reps.csv"}}),
    "drive.csv": ("distances.table", {"distances": {"table": "drive.csv"}}),
}
"""Per table file: the field naming it and the settings that name it."""
BROKEN_TABLES: dict[str, tuple[str, str, str]] = {
    "units missing column": (
        "units.csv",
        UNITS.replace(",sales,", ",revenue,"),
        "missing column(s) ['sales']; columns present: unit_id, lat, lon, revenue, "
        "owner, lock",
    ),
    "units text in a number": (
        "units.csv",
        UNITS.replace(",30,", ",lots,"),
        "column 'sales' must be a number, got 'lots' in data row 3 (1 bad value(s) "
        "in all)",
    ),
    "units negative potential": (
        "units.csv",
        UNITS.replace(",30,", ",-30,"),
        "column 'sales' must be a number >= 0, got -30 in data row 3",
    ),
    "units duplicate id": (
        "units.csv",
        UNITS.replace("\nc,", "\na,"),
        "column 'unit_id' must be unique, 'a' appears more than once (data rows 1, "
        "3; 1 duplicated value(s) in all)",
    ),
    "units latitude": (
        "units.csv",
        UNITS.replace("25.8,", "125.8,"),
        "column 'lat' must be a latitude in [-90, 90] degrees, got 125.8 in data "
        "row 3 (for x/y coordinates set units.coords: xy)",
    ),
    "units owner column missing": (
        "units.csv",
        UNITS.replace(",owner,", ",holder,"),
        "missing column 'owner' named by units.current_owner",
    ),
    "units unknown owner": (
        "units.csv",
        UNITS.replace(",MIA,", ",BOS,"),
        "column 'owner' names unknown rep 'BOS' (1 unknown in all); reps are: ATL, MIA",
    ),
    "reps missing column": (
        "reps.csv",
        REPS.replace(",lon,", ",long,"),
        "missing column(s) ['lon']; columns present: rep_id, lat, long, capacity",
    ),
    "reps text in a number": (
        "reps.csv",
        REPS.replace(",3\n", ",three\n"),
        "column 'capacity' must be a number, got 'three' in data row 1 (1 bad "
        "value(s) in all)",
    ),
    "reps negative capacity": (
        "reps.csv",
        REPS.replace(",3\n", ",-3\n"),
        "column 'capacity' must be a number > 0 or empty, got -3 in data row 1",
    ),
    "reps duplicate id": (
        "reps.csv",
        REPS.replace("MIA,", "ATL,"),
        "column 'rep_id' must be unique, 'ATL' appears more than once (data rows "
        "1, 2; 1 duplicated value(s) in all)",
    ),
    "reps empty longitude": (
        "reps.csv",
        REPS.replace("-80.19", ""),
        "column 'lon' is empty in data row 2",
    ),
    "distances missing column": (
        "drive.csv",
        DRIVE.replace(",distance", ",km"),
        "missing column(s) ['distance']; columns present: unit_id, rep_id, km",
    ),
    "distances text in a number": (
        "drive.csv",
        DRIVE.replace(",7\n", ",far\n"),
        "column 'distance' must be a number, got 'far' in data row 2 (1 bad "
        "value(s) in all)",
    ),
    "distances negative": (
        "drive.csv",
        DRIVE.replace(",7\n", ",-7\n"),
        "column 'distance' must be a number >= 0, got -7 in data row 2",
    ),
    "distances pair twice": (
        "drive.csv",
        DRIVE + "a,ATL,6\n",
        "the pair unit_id 'a', rep_id 'ATL' is given more than once (data rows 1, "
        "5); give each pair one distance",
    ),
    "distances unknown rep": (
        "drive.csv",
        DRIVE + "a,BOS,6\n",
        "column 'rep_id' names unknown rep 'BOS' (1 unknown in all); reps are: "
        "ATL, MIA",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN_TABLES))
def test_a_bad_table_names_the_config_field_column_and_value(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name, text, expected = BROKEN_TABLES[case]
    field, extra = TABLES[name]
    files = {"units.csv": UNITS, "reps.csv": REPS, "drive.csv": DRIVE, name: text}
    cfg, message = solve_fails(tmp_path, capsys, settings(**extra), files)
    assert message == f"{cfg}: field '{field}': {tmp_path / name}: {expected}"


def test_inline_reps_and_bundled_tables_are_named_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{"rep_id": "ATL", "lat": 33.7, "lon": -84.4}] * 2
    cfg, message = solve_fails(
        tmp_path, capsys, settings(reps={"rows": rows}), {"units.csv": UNITS}
    )
    assert message == (
        f"{cfg}: field 'reps.rows': inline rows: column 'rep_id' must be unique, "
        "'ATL' appears more than once (data rows 1, 2; 1 duplicated value(s) in all)"
    )
    units = {"table": "bundled:us_counties", "potential": {"column": "sales"}}
    cfg, message = solve_fails(tmp_path, capsys, settings(units=units), {})
    assert message.startswith(
        f"{cfg}: field 'units.table': bundled table us_counties: missing column(s) "
        "['unit_id', 'sales']; columns present: geoid, state, "
    )


def test_a_config_built_in_code_is_named_config(tmp_path: Path) -> None:
    (tmp_path / "now.csv").write_text("unit_id,rep_id\na,BOS\n")
    with pytest.raises(DataError) as caught:
        build_problem(config(tmp_path, current="now.csv"))
    assert str(caught.value).startswith(
        f"config: field 'current': {tmp_path / 'now.csv'}: column 'rep_id' names "
        "unknown rep 'BOS'"
    )


def test_adjacency_may_name_units_keep_leaves_out(tmp_path: Path) -> None:
    (tmp_path / "adj.csv").write_text("unit_id,neighbor_id\nc,d\na,b\n")
    cfg = config(tmp_path, contiguity={"adjacency": "adj.csv"})
    units = cfg.units.model_copy(update={"keep": {"owner": ["MIA", ""]}})
    p = build_problem(cfg.model_copy(update={"units": units}))
    assert p.unit_ids.tolist() == ["c", "d"]
    (tmp_path / "adj.csv").write_text("unit_id,neighbor_id\nc,d\na,e\n")
    with pytest.raises(DataError, match="names unit 'e' in data row 2, which is not"):
        build_problem(cfg.model_copy(update={"units": units}))


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (
            ",40,",
            ",-40,",
            "column 'sales' must be a number >= 0, got -40 in data row 4",
        ),
        ("25.8,", "x,", "column 'lat' must be a number, got 'x' in data row 3"),
        ("26.1,", "126.1,", "column 'lat' must be a latitude in [-90, 90] degrees, "),
        ("\nd,", "\nc,", "'c' appears more than once (data rows 3, 4; "),
    ],
)
def test_rows_are_counted_in_the_table_as_read_when_keep_drops_some(
    tmp_path: Path, old: str, new: str, says: str
) -> None:
    cfg = config(tmp_path, UNITS.replace(old, new))
    units = cfg.units.model_copy(update={"keep": {"owner": ["MIA", ""]}})
    with pytest.raises(DataError) as caught:
        build_problem(cfg.model_copy(update={"units": units}))
    assert says in str(caught.value)
    assert "degrees" not in says or "got 126.1 in data row 4" in str(caught.value)


CANDIDATES = "unit_id,lat,lon,sales,centre\na,33.7,-84.4,10,yes\nb,33.9,-84.2,20,"


@pytest.mark.parametrize(
    ("units", "keep", "says"),
    [
        (UNITS, {}, "missing column 'centre' named by design.candidates"),
        (
            CANDIDATES + "maybe\nc,25.8,-80.2,30,no\n",
            {},
            "column 'centre' must be a yes/no, got 'maybe' in data row 2 (1 bad "
            "value(s) in all)",
        ),
        (
            CANDIDATES + "yes\nc,25.8,-80.2,30,perhaps\n",
            {"unit_id": ["b", "c"]},
            "column 'centre' must be a yes/no, got 'perhaps' in data row 3 (1 bad "
            "value(s) in all)",
        ),
    ],
)
def test_a_bad_candidates_column_names_the_units_table(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    units: str,
    keep: dict[str, list[str]],
    says: str,
) -> None:
    data = settings(mode="design", design={"territories": 2, "candidates": "centre"})
    del data["reps"]
    data["units"] = {
        "table": "units.csv",
        "potential": {"column": "sales"},
        "keep": keep,
    }
    cfg, message = solve_fails(tmp_path, capsys, data, {"units.csv": units})
    assert message == f"{cfg}: field 'units.table': {tmp_path / 'units.csv'}: {says}"


@pytest.mark.parametrize("section", ["units", "reps"])
def test_planar_tables_without_lat_lon_name_the_x_y_settings(
    tmp_path: Path, section: str
) -> None:
    (tmp_path / "units.csv").write_text("unit_id,x,y,sales\na,0,0,1\nb,1,1,2\n")
    (tmp_path / "reps.csv").write_text("rep_id,x,y\nR1,0,0\n")
    units: dict[str, object] = {
        "table": "units.csv",
        "coords": "xy",
        "potential": {"column": "sales"},
    }
    if section == "reps":
        units.update(x="x", y="y")
    data = {"units": units, "reps": {"table": "reps.csv"}, "track": False}
    cfg = parse_config(TerritoryConfig, data, source="t.yaml", base_dir=tmp_path)
    with pytest.raises(DataError) as caught:
        build_problem(cfg)
    message = str(caught.value)
    assert message.startswith(f"t.yaml: field '{section}.table': ")
    assert message.endswith(
        f"missing coordinate column(s) ['lat', 'lon']; columns present: "
        f"{section[:-1]}_id, x, y{', sales' if section == 'units' else ''}; with "
        f"coords: xy name the columns with {section}.x and {section}.y (e.g. "
        f"{section}.x: x, {section}.y: y)"
    )
