from pathlib import Path
from typing import Any

import pytest

from spmopt.config import load_config
from spmopt.scale.alignments import (
    disruption_designs,
    solve_alignments,
    solve_design,
)
from spmopt.scale.sweep import outcomes_frame
from spmopt.territory import TerritoryConfig

EXAMPLE = (
    Path(__file__).resolve().parents[2]
    / "configs"
    / "territory"
    / "counties_southeast.yaml"
)


@pytest.fixture(scope="module")
def carolinas() -> TerritoryConfig:
    """The example cut to South Carolina and three reps (fast)."""
    cfg = load_config(TerritoryConfig, EXAMPLE)
    assert cfg.reps is not None
    units = cfg.units.model_copy(update={"keep": {"state": ["SC"]}})
    rows = [r for r in cfg.reps.rows or [] if r.rep_id in ("CLT", "SAV", "ATL")]
    reps = cfg.reps.model_copy(update={"rows": rows})
    solver = cfg.solver.model_copy(
        update={"time_limit_seconds": 20, "deterministic_time": 5}
    )
    return cfg.model_copy(update={"units": units, "reps": reps, "solver": solver})


def test_solve_design_lowers_the_solver_time_limit(carolinas: TerritoryConfig) -> None:
    figures = solve_design(carolinas, seed=0, time_limit_seconds=15)
    assert figures["status"] in ("optimal", "feasible")
    assert figures["n_reps"] == 3
    assert 0 < figures["moved_units"] < figures["n_units"]


def check_disruption_sweep(carolinas: TerritoryConfig, client: Any) -> None:
    designs = disruption_designs(carolinas, [0.05, 1.0])
    assert list(designs) == ["budget=0.05", "budget=1"]
    assert all(d.solver.workers == 1 for d in designs.values())
    sweep = solve_alignments(designs, seed=0, client=client, time_limit_seconds=20)
    frame = outcomes_frame(sweep).set_index("design")
    assert frame.loc["budget=0.05", "status"] == "error"
    assert "disruption budget" in frame.loc["budget=0.05", "error"]
    assert frame.loc["budget=1", "status"] == "ok"
    assert frame.loc["budget=1", "result_status"] in ("optimal", "feasible")
    unconstrained = solve_design(carolinas, seed=0)
    assert frame.loc["budget=1", "objective"] == pytest.approx(
        unconstrained["objective"], rel=0.01
    )


def test_disruption_sweep_keeps_feasible_designs_and_explains_the_rest(
    carolinas: TerritoryConfig,
) -> None:
    check_disruption_sweep(carolinas, None)


@pytest.mark.slow
def test_disruption_sweep_on_two_workers(
    carolinas: TerritoryConfig, client_2: Any
) -> None:
    check_disruption_sweep(carolinas, client_2)
