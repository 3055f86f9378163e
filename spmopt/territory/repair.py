"""Greedy repair of an alignment that breaks its bands by a little.

Rounding a relaxation leaves a few reps just outside their bands. The
repair moves one unit at a time to another allowed rep, always the move
that removes the most violation (ties: the smallest added distance), until
every band holds or no move helps. Pure numpy, deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAX_MOVES_PER_UNIT = 2.0
"""The repair stops after ``MAX_MOVES_PER_UNIT * n_units`` moves at most."""


@dataclass(frozen=True)
class Band:
    """``low_k <= sum_i values_i [a_i = k] <= high_k`` for every rep k.

    Attributes
    ----------
    values : ndarray of shape (n_units,)
        Per-unit amount, user units.
    low, high : ndarray of shape (n_reps,)
        Bounds per rep, same units (``-inf``/``inf`` when open).
    """

    values: NDArray[np.float64]
    low: NDArray[np.float64]
    high: NDArray[np.float64]

    def violation(self, totals: NDArray[np.float64]) -> NDArray[np.float64]:
        """Distance of each rep's total from its band, relative to the mean."""
        excess = np.maximum(totals - self.high, 0) + np.maximum(self.low - totals, 0)
        return excess / max(float(self.values.mean()), 1e-12)


@dataclass(frozen=True)
class Moves:
    """The moves the repair may use: allowed (unit, rep) pairs and their cost.

    Attributes
    ----------
    unit, rep : ndarray of int, shape (n_pairs,)
        Allowed pairs (locked units carry only their locked rep).
    cost : ndarray of shape (n_pairs,)
        Objective contribution of each pair, user units.
    """

    unit: NDArray[np.int64]
    rep: NDArray[np.int64]
    cost: NDArray[np.float64]


def total_violation(
    bands: list[Band], assignment: NDArray[np.int64], n_reps: int
) -> float:
    """Sum of every rep's relative distance from every band (0 when feasible)."""
    return float(sum(b.violation(_totals(assignment, b, n_reps)).sum() for b in bands))


def repair(
    assignment: NDArray[np.int64],
    bands: list[Band],
    moves: Moves,
    n_reps: int,
) -> NDArray[np.int64]:
    """Move units until every band holds or no single move reduces violation.

    Parameters
    ----------
    assignment : ndarray of int, shape (n_units,)
        Starting rep per unit (each an allowed pair).
    bands : list of Band
        Every band and capacity that must hold.
    moves : Moves
        Allowed pairs with their cost.
    n_reps : int
        Number of reps.

    Returns
    -------
    ndarray of int, shape (n_units,)
        The repaired assignment (a copy); check it with
        :func:`total_violation`.
    """
    a = assignment.copy()
    totals = [_totals(a, b, n_reps) for b in bands]
    cost_of = _unit_cost(a, moves)
    for _ in range(int(MAX_MOVES_PER_UNIT * len(a)) + 1):
        best = _best_move(a, bands, totals, moves, cost_of)
        if best is None:
            break
        i, k = best
        for band, total in zip(bands, totals, strict=True):
            total[a[i]] -= band.values[i]
            total[k] += band.values[i]
        a[i] = k
        cost_of[i] = _pair_cost(i, k, moves)
    return a


def _totals(a: NDArray[np.int64], band: Band, n_reps: int) -> NDArray[np.float64]:
    return np.bincount(a, band.values, n_reps).astype(float)


def _unit_cost(a: NDArray[np.int64], moves: Moves) -> NDArray[np.float64]:
    mine = moves.rep == a[moves.unit]
    out = np.zeros(len(a))
    out[moves.unit[mine]] = moves.cost[mine]
    return out


def _pair_cost(i: int, k: int, moves: Moves) -> float:
    hit = np.flatnonzero((moves.unit == i) & (moves.rep == k))
    return float(moves.cost[hit[0]])


def _best_move(
    a: NDArray[np.int64],
    bands: list[Band],
    totals: list[NDArray[np.float64]],
    moves: Moves,
    cost_of: NDArray[np.float64],
) -> tuple[int, int] | None:
    """The pair whose move removes the most violation; None if none helps."""
    bad = np.zeros(len(totals[0]), dtype=bool)
    for band, total in zip(bands, totals, strict=True):
        bad |= band.violation(total) > 0
    if not bad.any():
        return None
    src = a[moves.unit]
    pick = (src != moves.rep) & (bad[src] | bad[moves.rep])
    unit, rep = moves.unit[pick], moves.rep[pick]
    src = src[pick]
    gain = np.zeros(len(unit))
    for band, total in zip(bands, totals, strict=True):
        v = band.values[unit]
        before = band.violation(total)[src] + band.violation(total)[rep]
        after = _at(band, total, src, -v) + _at(band, total, rep, v)
        gain += before - after
    if gain.size == 0 or gain.max() <= 1e-12:
        return None
    added = moves.cost[pick] - cost_of[unit]
    order = np.lexsort((unit, added, -np.round(gain, 12)))
    return int(unit[order[0]]), int(rep[order[0]])


def _at(
    band: Band,
    total: NDArray[np.float64],
    reps: NDArray[np.int64],
    delta: NDArray[np.float64],
) -> NDArray[np.float64]:
    new = total[reps] + delta
    excess = np.maximum(new - band.high[reps], 0) + np.maximum(band.low[reps] - new, 0)
    return excess / max(float(band.values.mean()), 1e-12)
