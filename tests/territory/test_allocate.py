"""Exact allocation to fixed centres and the locate-allocate heuristic."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spmopt.territory.allocate import (
    allocate,
    locate_allocate,
    relocate,
    relocation,
    shift_swap,
)


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


def _feasible_start(rng, n, m, centres, demand, capacity):
    """A random assignment to ``centres`` within capacity (retry until one fits)."""
    while True:
        a = rng.choice(centres, n)
        if (np.bincount(a, demand, m) <= capacity + 1e-9).all():
            return a


def _no_saving_move_or_swap(cost, allowed, demand, capacity, a) -> bool:
    rows = np.arange(len(a))
    value = cost[rows, a].sum()
    neighbours = []
    for i, j in itertools.product(range(len(a)), np.unique(a)):
        b = a.copy()
        b[i] = j
        neighbours.append(b)
    for i, k in itertools.combinations(range(len(a)), 2):
        b = a.copy()
        b[i], b[k] = a[k], a[i]
        neighbours.append(b)
    for b in neighbours:
        fits = (np.bincount(b, demand, len(capacity)) <= capacity).all()
        if fits and allowed[rows, b].all() and cost[rows, b].sum() < value - 1e-9:
            return False
    return True


@pytest.mark.parametrize("seed", range(6))
def test_shift_swap_ends_at_a_local_optimum_within_capacity(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 9, 5
    cost = rng.integers(0, 40, (n, m)).astype(float)
    demand = rng.integers(1, 5, n).astype(float)
    capacity = np.full(m, demand.sum() / 2.5)
    allowed = rng.random((n, m)) < 0.8
    centres = np.array([0, 2, 4])
    allowed[:, centres] = True
    start = _feasible_start(rng, n, m, centres, demand, capacity)
    found, evaluated = shift_swap(cost, allowed, demand, capacity, start)
    rows = np.arange(n)
    assert evaluated > 0
    assert set(found) <= set(centres) and allowed[rows, found].all()
    assert (np.bincount(found, demand, m) <= capacity + 1e-9).all()
    assert cost[rows, found].sum() <= cost[rows, start].sum()
    assert _no_saving_move_or_swap(cost, allowed, demand, capacity, found)
    assert brute_allocate(cost, demand, capacity, centres) <= cost[rows, found].sum()


def test_shift_swap_swaps_when_no_single_move_fits() -> None:
    # Both centres full: only exchanging the two units saves cost.
    cost = np.array([[10.0, 0.0], [0.0, 10.0]])
    demand = np.array([1.0, 1.0])
    capacity = np.array([1.0, 1.0])
    found, _ = shift_swap(
        cost, np.ones((2, 2), bool), demand, capacity, np.array([0, 1])
    )
    assert found.tolist() == [1, 0]


def test_relocation_maps_each_territory_and_never_costs_more() -> None:
    rng = np.random.default_rng(7)
    x, y = rng.uniform(0, 50, 20), rng.uniform(0, 50, 20)
    cost = np.hypot(x[:, None] - x[None, :], y[:, None] - y[None, :])
    demand, capacity = np.ones(20), np.full(20, 20.0)
    assignment = np.where(x < 25, 3, 11)
    moved = relocation(cost, np.ones_like(cost, bool), demand, capacity, assignment)
    assert len(set(moved.tolist())) == 2
    design = moved[np.searchsorted([3, 11], assignment)]
    rows = np.arange(20)
    assert cost[rows, design].sum() <= cost[rows, assignment].sum() + 1e-9
    for old, new in zip([3, 11], moved, strict=True):
        total = cost[assignment == old].sum(axis=0)
        assert total[new] <= total[old] + 1e-9
    first = cost[assignment == 3].sum(axis=0)
    first[11] = np.inf  # held by the other territory when the first moves
    assert moved[0] == int(np.argmin(first))
