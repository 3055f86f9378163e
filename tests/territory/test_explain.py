"""Infeasible inputs are explained in user terms."""

from __future__ import annotations

import numpy as np
import pytest

from spmopt.config import parse_config
from spmopt.errors import InfeasibleError
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.explain import conflict_causes, family_causes
from spmopt.territory.job import solve_config
from spmopt.territory.problem import TerritoryProblem
from tests.territory.conftest import MakeProblem


def cfg_for(**fields: object) -> TerritoryConfig:
    data = {
        "units": {"table": "x.csv", "potential": {"column": "p"}},
        "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
        "solver": {"k_nearest": None, "workers": 1, "time_limit_seconds": 10},
        "track": False,
        **fields,
    }
    return parse_config(TerritoryConfig, data)


def with_(p: TerritoryProblem, **arrays: object) -> TerritoryProblem:
    from dataclasses import replace

    return replace(p, **arrays)  # type: ignore[arg-type]


def test_oversized_unit_named(make_problem: MakeProblem) -> None:
    p = make_problem(1, n_units=6, n_reps=3)
    potential = p.potential.copy()
    potential[2] = 10 * potential.sum()
    causes = conflict_causes(with_(p, potential=potential), cfg_for())
    assert any("unit u2 alone holds potential" in c for c in causes)
    assert any("dedicated territory" in c for c in causes)


def test_unit_above_every_capacity(make_problem: MakeProblem) -> None:
    p = make_problem(2, n_units=6, n_reps=3, capacity=100.0)
    workload = p.workload.copy()
    workload[0] = 150
    causes = conflict_causes(with_(p, workload=workload), cfg_for(balance=[]))
    assert causes == [
        "unit u0 alone has workload 150.0, above the capacity of every rep it may "
        "go to (largest 100.0): give it a dedicated rep or split it"
    ]


def test_unreachable_band_names_rep(make_problem: MakeProblem) -> None:
    p = make_problem(3, n_units=10, n_reps=3)
    distance = p.distance.copy()
    distance[:, 2] = 1e6  # rep r2 is far from everything
    cfg = cfg_for(solver={"k_nearest": 2, "workers": 1})
    causes = conflict_causes(with_(p, distance=distance), cfg)
    assert any(c.startswith("rep r2 can reach only potential 0") for c in causes)


def test_disruption_budget_below_forced_moves(make_problem: MakeProblem) -> None:
    p = make_problem(4, n_units=8, n_reps=2, with_current=True)
    current = np.zeros(8, dtype=np.int64)  # everything with r0: far off balance
    cfg = cfg_for(disruption={"measure": "potential", "budget": 0.1})
    causes = conflict_causes(with_(p, current=current), cfg)
    assert len(causes) == 1
    assert "disruption budget allows 10.0% of potential" in causes[0]
    assert "must move to respect the potential band" in causes[0]


def test_family_conflict_found_by_solver(make_problem: MakeProblem) -> None:
    p = make_problem(5, n_units=7, n_reps=3)
    cfg = cfg_for(
        balance=[
            {"measure": "units", "tolerance": 0.2},
            {"measure": "potential", "tolerance": 0.0},
        ]
    )
    assert conflict_causes(p, cfg) == []
    causes = family_causes(p, cfg)
    assert causes and "band" in causes[0]


def test_solve_config_raises_with_explanation(tmp_path, make_problem) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "u.csv").write_text("unit_id,lat,lon,p\na,0,0,100\nb,0,1,1\nc,1,0,1\n")
    cfg = parse_config(
        TerritoryConfig,
        {
            "units": {"table": "u.csv", "potential": {"column": "p"}},
            "reps": {
                "rows": [
                    {"rep_id": "r1", "lat": 0, "lon": 0},
                    {"rep_id": "r2", "lat": 1, "lon": 1},
                ]
            },
            "track": False,
        },
        base_dir=tmp_path,
    )
    with pytest.raises(InfeasibleError, match="unit a alone holds potential 100"):
        solve_config(cfg)


def test_format_pair_shows_close_numbers_as_different() -> None:
    from spmopt.territory.explain import format_pair

    assert format_pair(10.04, 10.0) == ("10.04", "10.00")
    assert format_pair(1234.5, 99.0) == ("1,234.5", "99.0")
    assert format_pair(3.0, 3.0) == ("3.000000", "3.000000")
