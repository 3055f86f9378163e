"""Reasons given for moved units."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from spmopt.config import parse_config
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.reasons import move_reasons
from tests.territory.conftest import MakeProblem


def cfg(**fields: object) -> TerritoryConfig:
    data = {
        "units": {"table": "x.csv", "potential": {"column": "p"}},
        "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
        "track": False,
        **fields,
    }
    return parse_config(TerritoryConfig, data)


def test_capacity_then_balance_then_compactness(make_problem: MakeProblem) -> None:
    p = make_problem(1, n_units=4, n_reps=2)
    p = replace(
        p,
        potential=np.array([10.0, 10.0, 10.0, 10.0]),
        workload=np.array([5.0, 5.0, 5.0, 5.0]),
        capacity=np.array([12.0, 100.0]),
        distance=np.array([[1.0, 9.0], [1.0, 9.0], [1.0, 9.0], [9.0, 1.0]]),
        current=np.array([0, 0, 0, 0]),
    )
    new = np.array([0, 0, 1, 1])
    reasons = move_reasons(p, cfg(balance=[]), new)
    assert reasons[:2] == ["", ""]
    assert reasons[2].startswith(
        "capacity: r0 had workload 20.0 over its capacity 12.0"
    )
    assert reasons[3].startswith("capacity:")
    no_cap = move_reasons(p, cfg(capacity=False), new)
    assert no_cap[2].startswith("balance: r0 potential 40 above band max 21")
    no_band = move_reasons(p, cfg(capacity=False, balance=[]), new)
    assert no_band[3] == (
        "compactness: r1's base is 1 km away instead of 9 km (saves 8 km)"
    )
    planar = cfg(capacity=False, balance=[])
    planar = planar.model_copy(
        update={"units": planar.units.model_copy(update={"coords": "xy"})}
    )
    assert move_reasons(p, planar, new)[3] == (
        "compactness: r1's base is 1 away instead of 9 (saves 8)"  # no unit
    )
    assert no_band[2].startswith("balance: makes room in r0")


def test_new_alignment_without_current(make_problem: MakeProblem) -> None:
    p = make_problem(2, n_units=3, n_reps=2)
    assert move_reasons(p, cfg(), np.array([0, 1, 0])) == ["new alignment"] * 3
