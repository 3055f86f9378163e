"""Enumeration of the columns within a gap and the partition MIP over them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spmopt.territory.colgen import knapsack_columns
from spmopt.territory.setcover import columns_within, partition_mip


@pytest.mark.parametrize("seed", range(4))
def test_columns_within_lists_exactly_the_cheap_sets(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = 8, 3
    reduced = rng.normal(0, 4, (n, m))
    allowed = rng.random((n, m)) < 0.85
    demand = rng.integers(1, 5, n)
    capacity = rng.integers(5, 12, m)
    values, _ = knapsack_columns(reduced, allowed, demand, capacity)
    slack = values + rng.uniform(0, 6, m)
    slack[0] = -np.inf
    members, centre = columns_within(
        reduced, allowed, demand, capacity, values, slack, 10**6
    )
    for j in range(m):
        expected = set()
        for s in itertools.product([0, 1], repeat=n):
            s = np.array(s, dtype=bool)
            if (s & ~allowed[:, j]).any() or demand[s].sum() > capacity[j]:
                continue
            if reduced[s, j].sum() <= slack[j] + 1e-9:
                expected.add(tuple(np.flatnonzero(s)))
        found = {tuple(np.flatnonzero(row)) for row in members[centre == j]}
        assert found == expected


def test_columns_within_gives_up_beyond_the_limit() -> None:
    n, m = 10, 1
    reduced = -np.ones((n, m))
    values = np.array([-float(n)])
    found = columns_within(
        reduced,
        np.ones((n, m), bool),
        np.ones(n, np.int64),
        np.array([n]),
        values,
        np.array([0.0]),
        limit=100,
    )
    assert found is None


def test_partition_mip_finds_best_partition_or_proves_none() -> None:
    cost = np.array([[0.0, 5.0], [4.0, 1.0], [6.0, 0.0]])
    members = np.array([[1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1]], dtype=bool)
    centre = np.array([0, 1, 0, 1])
    assignment, proven = partition_mip(cost, members, centre, 2, np.inf, 10.0)
    assert proven and assignment.tolist() == [0, 1, 1]
    none, proven = partition_mip(cost, members, centre, 2, 1.0, 10.0)
    assert proven and none is None
