"""Output tables: column names follow the coordinates and distance source."""

from __future__ import annotations

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
