"""Exact allocation to fixed centres and the locate-allocate heuristic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spmopt.territory.allocate import allocate, locate_allocate, relocate


def brute_allocate(cost, demand, capacity, centres) -> float:
    best = np.inf
    for combo in itertools.product(centres, repeat=len(demand)):
        a = np.array(combo)
        if (np.bincount(a, demand, cost.shape[1]) <= capacity + 1e-9).all():
            best = min(best, float(cost[np.arange(len(a)), a].sum()))
    return best


@pytest.mark.parametrize("seed", range(4))
def test_allocate_is_optimal_for_fixed_centres(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 7, 5
    cost = rng.integers(0, 30, (n, m)).astype(float)
    demand = rng.integers(1, 5, n).astype(float)
    capacity = np.full(m, demand.sum() / 2 + 1)
    centres = np.array([1, 3])
    found = allocate(cost, np.ones((n, m), bool), demand, capacity, centres)
    assert found is not None and set(found) <= {1, 3}
    assert (np.bincount(found, demand, m) <= capacity).all()
    value = cost[np.arange(n), found].sum()
    assert value == pytest.approx(brute_allocate(cost, demand, capacity, centres))


def test_allocate_reports_no_room() -> None:
    cost = np.zeros((3, 2))
    found = allocate(
        cost, np.ones((3, 2), bool), np.ones(3), np.array([1.0, 1.0]), np.array([0, 1])
    )
    assert found is None


def test_relocate_moves_centre_to_cheapest_member_site() -> None:
    cost = np.abs(np.subtract.outer(np.arange(5.0), np.arange(5.0)))
    assignment = np.array([0, 0, 0, 4, 4])
    moved = relocate(
        cost, np.ones((5, 5), bool), np.ones(5), np.full(5, 5.0), assignment
    )
    assert moved.tolist() == [1, 3]


def test_locate_allocate_never_worsens_its_start() -> None:
    rng = np.random.default_rng(5)
    x = rng.uniform(0, 10, 12)
    cost = np.abs(np.subtract.outer(x, x))
    demand, capacity = np.ones(12), np.full(12, 6.0)
    start = np.array([0, 1])
    first = allocate(cost, np.ones((12, 12), bool), demand, capacity, start)
    best = locate_allocate(cost, np.ones((12, 12), bool), demand, capacity, start)
    assert best is not None and first is not None
    rows = np.arange(12)
    assert cost[rows, best].sum() <= cost[rows, first].sum() + 1e-9
