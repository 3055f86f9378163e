"""Knapsack pricing, Lagrangian values and the set-partitioning master."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spmopt.territory.colgen import (
    SetPartitionMaster,
    column_slack,
    knapsack_columns,
    lagrangian_value,
)


def subsets(n: int) -> list[np.ndarray]:
    return [np.array(s, dtype=bool) for s in itertools.product([0, 1], repeat=n)]


def brute_knapsack(
    reduced: np.ndarray, allowed: np.ndarray, demand: np.ndarray, cap: int
) -> float:
    best = 0.0
    for s in subsets(len(demand)):
        if (s & ~allowed).any() or demand[s].sum() > cap:
            continue
        best = min(best, float(reduced[s].sum()))
    return best


@pytest.mark.parametrize("seed", range(5))
def test_knapsack_columns_match_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 8, 4
    reduced = rng.normal(0, 5, (n, m))
    allowed = rng.random((n, m)) < 0.8
    demand = rng.integers(1, 6, n)
    capacity = rng.integers(4, 15, m)
    values, take = knapsack_columns(reduced, allowed, demand, capacity)
    for j in range(m):
        expected = brute_knapsack(reduced[:, j], allowed[:, j], demand, capacity[j])
        assert values[j] == pytest.approx(expected)
        chosen = take[:, j]
        assert not (chosen & ~allowed[:, j]).any()
        assert demand[chosen].sum() <= capacity[j]
        assert reduced[chosen, j].sum() == pytest.approx(values[j])


def test_lagrangian_value_respects_open_and_closed() -> None:
    u = np.array([1.0, 2.0])
    values = np.array([-5.0, -1.0, -3.0, 0.0])
    none = np.zeros(4, dtype=bool)
    assert lagrangian_value(u, values, 2, none, none) == pytest.approx(3 - 8)
    opened = np.array([False, False, False, True])
    assert lagrangian_value(u, values, 2, none, opened) == pytest.approx(3 - 5)
    closed = np.array([True, False, False, False])
    assert lagrangian_value(u, values, 2, closed, none) == pytest.approx(3 - 4)
    assert lagrangian_value(u, values, 4, closed, none) == np.inf


def test_column_slack_keeps_every_column_of_cheap_solutions() -> None:
    rng = np.random.default_rng(7)
    n, m, p = 6, 4, 2
    cost = rng.integers(0, 20, (n, m)).astype(float)
    u = rng.normal(8, 3, n)
    values, _ = knapsack_columns(
        cost - u[:, None], np.ones((n, m), bool), np.ones(n, np.int64), np.full(m, n)
    )
    none = np.zeros(m, dtype=bool)
    for centres in itertools.combinations(range(m), p):
        for combo in itertools.product(centres, repeat=n):
            a = np.array(combo)
            z = cost[np.arange(n), a].sum()
            slack = column_slack(float(u.sum()), values, p, none, none, z)
            for j in centres:
                r = (cost[a == j, j] - u[a == j]).sum()
                assert r <= slack[j] + 1e-9


def test_master_lp_with_all_columns_is_a_lower_bound() -> None:
    rng = np.random.default_rng(3)
    n, m, p = 5, 3, 2
    cost = rng.integers(1, 20, (n, m)).astype(float)
    master = SetPartitionMaster(cost, p)
    sets = [s for s in subsets(n) if 0 < s.sum() <= 3]
    take = np.array(sets * m).T
    centres = np.repeat(np.arange(m), len(sets))
    master.add(take, centres)
    none = np.zeros(m, dtype=bool)
    master.restrict(np.ones((n, m), bool), none, none)
    lp = master.solve()
    best = np.inf
    for a in itertools.product(range(m), repeat=n):
        loads = np.bincount(a, minlength=m)
        if (loads <= 3).all() and (loads > 0).sum() <= p:
            best = min(best, cost[np.arange(n), a].sum())
    assert lp.artificial == pytest.approx(0.0)
    assert lp.objective <= best + 1e-6
    assert lp.lam.sum() == pytest.approx(p)
