"""The knapsack helpers of the Lagrangian bound."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from spmopt.territory.lagrange import knapsack_cells


def test_whole_demand_and_capacity_count_the_cells() -> None:
    cells = knapsack_cells(np.array([1.0, 2.0, 3.0]), np.array([4.0, 5.0]))
    assert cells == pytest.approx(3 * 2 * 6)


@pytest.mark.parametrize(
    ("demand", "capacity"),
    [([1.0, 2.0], [np.inf, np.inf]), ([1.0, np.inf], [4.0, 4.0]), ([0.5], [4.0])],
)
def test_unlimited_or_fractional_data_is_not_exact_and_does_not_warn(
    demand: list[float], capacity: list[float]
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert knapsack_cells(np.array(demand), np.array(capacity)) is None
