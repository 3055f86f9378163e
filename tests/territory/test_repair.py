"""Band repair and descent on small hand-made cases."""

from __future__ import annotations

import numpy as np
import pytest

from spmopt.territory.repair import (
    Band,
    Moves,
    descend,
    exchange,
    repair,
    total_violation,
)


def _all_pairs(n_units: int, n_reps: int, cost: np.ndarray) -> Moves:
    unit = np.repeat(np.arange(n_units), n_reps)
    rep = np.tile(np.arange(n_reps), n_units)
    return Moves(unit, rep, cost[unit, rep])


def test_repair_fixes_a_single_overload() -> None:
    values = np.array([5.0, 5.0, 5.0, 5.0])
    band = Band(values, np.array([9.0, 9.0]), np.array([11.0, 11.0]))
    moves = _all_pairs(4, 2, np.zeros((4, 2)))
    start = np.array([0, 0, 0, 1])
    assert total_violation([band], start, 2) > 0
    fixed = repair(start, [band], moves, 2)
    assert total_violation([band], fixed, 2) == 0
    assert np.bincount(fixed, values, 2).tolist() == [10.0, 10.0]


def test_repair_uses_a_chain_of_two_moves() -> None:
    # rep 0 lacks 2; only rep 1 may give to rep 0 and only rep 2 has room.
    values = np.array([8.0, 2.0, 2.0, 10.0])
    band = Band(values, np.array([10.0, 10.0, 10.0]), np.array([10.0, 10.0, 12.0]))
    cost = np.zeros((4, 3))
    allowed = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 1, 1]], dtype=bool)
    unit, rep = np.nonzero(allowed)
    moves = Moves(unit, rep, cost[unit, rep])
    start = np.array([0, 1, 1, 1])  # totals 8, 14, 0
    start[3] = 2  # totals 8, 4, 10
    start = np.array([0, 1, 2, 1])  # totals 8, 12, 2
    fixed = repair(start, [band], moves, 3)
    totals = np.bincount(fixed, values, 3)
    assert total_violation([band], fixed, 3) <= total_violation([band], start, 3)
    assert totals.sum() == values.sum()


def test_descend_keeps_bands_and_lowers_cost() -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(1, 5, 30).astype(float)
    cost = rng.uniform(0, 10, (30, 3))
    target = values.sum() / 3
    band = Band(values, np.full(3, target * 0.8), np.full(3, target * 1.2))
    moves = _all_pairs(30, 3, cost)
    start = np.arange(30) % 3
    if total_violation([band], start, 3) > 0:
        start = repair(start, [band], moves, 3)
    assert total_violation([band], start, 3) == 0
    better = descend(start, [band], moves, 3)
    assert total_violation([band], better, 3) == 0
    rows = np.arange(30)
    assert cost[rows, better].sum() <= cost[rows, start].sum() + 1e-9


def test_exchange_swaps_where_every_single_move_breaks_a_band() -> None:
    # Two units of 5 on the wrong sides; each rep's band is exactly 5.
    values = np.array([5.0, 5.0])
    band = Band(values, np.array([5.0, 5.0]), np.array([5.0, 5.0]))
    cost = np.array([[10.0, 0.0], [0.0, 10.0]])
    moves = _all_pairs(2, 2, cost)
    start = np.array([0, 1])
    assert descend(start, [band], moves, 2).tolist() == [0, 1]  # blocked
    found, evaluated = exchange(start, [band], moves, 2)
    assert found.tolist() == [1, 0]
    assert evaluated >= 1


@pytest.mark.parametrize("seed", range(8))
def test_exchange_keeps_every_band_and_never_costs_more(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 12, 3
    values = rng.integers(1, 6, n).astype(float)
    work = rng.integers(1, 4, n).astype(float)
    cost = rng.uniform(0, 10, (n, k))
    allowed = rng.uniform(size=(n, k)) < 0.8
    start = rng.integers(0, k, n)
    allowed[np.arange(n), start] = True
    unit, rep = np.nonzero(allowed)
    moves = Moves(unit, rep, cost[unit, rep])
    bands = [
        Band(values, *_around(np.bincount(start, values, k), 2.0)),
        Band(work, *_around(np.bincount(start, work, k), 1.0)),
    ]
    found, _ = exchange(start, bands, moves, k)
    assert total_violation(bands, found, k) == 0
    assert allowed[np.arange(n), found].all()
    rows = np.arange(n)
    assert cost[rows, found].sum() <= cost[rows, start].sum() + 1e-9
    again, _ = exchange(start, bands, moves, k)
    assert again.tolist() == found.tolist()
    # no single swap left that saves and keeps the bands
    for u in range(n):
        for v in range(n):
            a, b = found[u], found[v]
            if a == b or not (allowed[u, b] and allowed[v, a]):
                continue
            swapped = found.copy()
            swapped[u], swapped[v] = b, a
            saves = cost[rows, swapped].sum() < cost[rows, found].sum() - 1e-9
            assert not (saves and total_violation(bands, swapped, k) == 0)


def _around(totals: np.ndarray, slack: float) -> tuple[np.ndarray, np.ndarray]:
    return totals - slack, totals + slack
