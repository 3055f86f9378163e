"""The territory configs shipped in ``configs/territory`` load and pose."""

from __future__ import annotations

from pathlib import Path

import pytest

from spmopt.config import load_config
from spmopt.territory import TerritoryConfig, build_problem

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "territory"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_example_config_loads_and_builds(path: Path) -> None:
    cfg = load_config(TerritoryConfig, path)
    problem = build_problem(cfg)
    assert problem.n_units > 0
    assert problem.n_reps > 0


def test_national_example_remedies_leave_every_county_a_rep() -> None:
    cfg = load_config(TerritoryConfig, CONFIGS / "counties_national.yaml")
    problem = build_problem(cfg)
    assert problem.n_units == 3143
    assert problem.is_dedicated.sum() >= 1
    assert problem.remedies
