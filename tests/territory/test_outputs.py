"""Output tables: column names follow the coordinates and distance source."""

from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spmopt.config import parse_config
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.geometry import haversine_km
from spmopt.territory.outputs import (
    assignments_frame,
    distance_column,
    max_balance_deviation,
    output_units,
    territories_frame,
)
from tests.territory.conftest import MakeProblem


def config(table: bool = False) -> TerritoryConfig:
    data: dict[str, object] = {
        "units": {"table": "units.csv", "potential": {"column": "sales"}},
        "reps": {"rows": [{"rep_id": "r0", "lat": 0, "lon": 0}]},
        "track": False,
    }
    if table:
        data["distances"] = {"table": "minutes.csv", "value": "minutes"}
    return parse_config(TerritoryConfig, data, base_dir=Path("."))


def test_planar_tables_use_x_y_and_distance(make_problem: MakeProblem) -> None:
    p = make_problem(0, with_current=True)
    a = np.argmin(p.distance, axis=1)
    units = assignments_frame(p, a, [""] * p.n_units)
    assert list(units.columns[5:10]) == ["x", "y", "potential", "workload", "distance"]
    assert units["x"].tolist() == pytest.approx(p.unit_lat.round(6).tolist())
    reps = territories_frame(p, a)
    assert "distance" in reps and "distance_before" in reps
    totals = np.bincount(a, p.distance[np.arange(p.n_units), a], p.n_reps)
    assert reps["distance"].to_numpy() == pytest.approx(totals, abs=1e-6)


def test_latlon_tables_keep_lat_lon_and_km(make_problem: MakeProblem) -> None:
    p = make_problem(0, with_current=True)
    lat, lon = p.unit_lat / 10, p.unit_lon / 10
    km = haversine_km(lat, lon, p.rep_lat / 10, p.rep_lon / 10)
    p = replace(p, coords="latlon", unit_lat=lat, unit_lon=lon, distance=km)
    a = np.argmin(p.distance, axis=1)
    units = assignments_frame(p, a, [""] * p.n_units)
    assert {"lat", "lon", "distance_km"} <= set(units.columns)
    assert not {"x", "y", "distance"} & set(units.columns)
    assert "distance_km_before" in territories_frame(p, a)


def test_distance_table_values_are_not_called_km(make_problem: MakeProblem) -> None:
    p = replace(make_problem(0), coords="latlon")
    assert distance_column(p) == "distance_km"
    assert distance_column(p, config()) == "distance_km"
    assert distance_column(p, config(table=True)) == "distance"
    units = output_units(p, config(table=True))
    assert "distance table's unit (column 'minutes'" in units["distance"]
    assert units["objective"] == "distance table units"
    assert output_units(p, config())["objective"] == "km"


def test_zero_targets_give_zero_deviation_without_warnings(
    make_problem: MakeProblem,
) -> None:
    p = make_problem(0, n_units=1, n_reps=3)
    # the one unit is dedicated to r0: r1 and r2 have targets of 0 and hold 0
    p = replace(p, locked=np.array([0]), dedicated=np.array([True, False, False]))
    assert p.targets("potential")[1:].tolist() == [0.0, 0.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for measure in ("potential", "workload", "units"):
            assert max_balance_deviation(p, np.array([0]), measure) == 0.0
    every = replace(p, dedicated=np.array([True, True, True]))
    assert max_balance_deviation(every, np.array([0]), "potential") == 0.0


def test_deviation_is_relative_to_each_target(make_problem: MakeProblem) -> None:
    p = make_problem(1, n_units=4, n_reps=2)
    p = replace(p, potential=np.array([10.0, 30.0, 20.0, 20.0]))
    # targets 40 and 40; r0 holds 10, r1 holds 70: deviations 0.75 and 0.75
    assert max_balance_deviation(p, np.array([0, 1, 1, 1]), "potential") == 0.75
    assert max_balance_deviation(p, np.array([0, 1, 0, 1]), "potential") == 0.25
