"""Band repair and descent on small hand-made cases."""

from __future__ import annotations

import numpy as np

from spmopt.territory.repair import Band, Moves, descend, repair, total_violation


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
