"""Greedy repair of an alignment that breaks its bands by a little.

Rounding a relaxation leaves a few reps just outside their bands. The
repair moves one unit at a time to another allowed rep, always the move
that removes the most violation (ties: the smallest added distance); when
no single move helps it tries chains of two moves (the first may break a
band that the second restores). It stops when every band holds or nothing
helps. Pure numpy, deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MAX_MOVES_PER_UNIT = 2.0
"""The repair stops after ``MAX_MOVES_PER_UNIT * n_units`` moves at most."""

CHAIN_STARTS = 40
"""First moves tried (the least harmful) when looking for a chain of two."""


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
        step = _best_moves(a, bands, totals, moves, cost_of, 1)
        chain = step if step and step[0][0] > 1e-12 else None
        if chain is None:
            chain = _best_chain(a, bands, totals, moves, cost_of)
        if chain is None:
            break
        for _, i, k in chain:
            _apply(a, bands, totals, cost_of, moves, i, k)
    return a


def _apply(
    a: NDArray[np.int64],
    bands: list[Band],
    totals: list[NDArray[np.float64]],
    cost_of: NDArray[np.float64],
    moves: Moves,
    i: int,
    k: int,
) -> None:
    for band, total in zip(bands, totals, strict=True):
        total[a[i]] -= band.values[i]
        total[k] += band.values[i]
    a[i] = k
    cost_of[i] = _pair_cost(i, k, moves)


def _best_chain(
    a: NDArray[np.int64],
    bands: list[Band],
    totals: list[NDArray[np.float64]],
    moves: Moves,
    cost_of: NDArray[np.float64],
) -> list[tuple[float, int, int]] | None:
    """Two moves whose summed gain is positive; None when there is none."""
    for first in _best_moves(a, bands, totals, moves, cost_of, CHAIN_STARTS):
        a2, totals2, cost2 = a.copy(), [t.copy() for t in totals], cost_of.copy()
        _apply(a2, bands, totals2, cost2, moves, first[1], first[2])
        second = _best_moves(a2, bands, totals2, moves, cost2, 1)
        if second and first[0] + second[0][0] > 1e-12 and second[0][1] != first[1]:
            return [first, second[0]]
    return None


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


def _best_moves(
    a: NDArray[np.int64],
    bands: list[Band],
    totals: list[NDArray[np.float64]],
    moves: Moves,
    cost_of: NDArray[np.float64],
    count: int,
) -> list[tuple[float, int, int]]:
    """Up to ``count`` moves touching a broken band, best gain first.

    Each entry is ``(gain, unit, rep)``; the gain (violation removed) may be
    negative. Ties go to the smallest added cost, then the lowest unit.
    """
    bad = np.zeros(len(totals[0]), dtype=bool)
    for band, total in zip(bands, totals, strict=True):
        bad |= band.violation(total) > 0
    src = a[moves.unit]
    pick = (src != moves.rep) & (bad[src] | bad[moves.rep])
    if not bad.any() or not pick.any():
        return []
    unit, rep, src = moves.unit[pick], moves.rep[pick], src[pick]
    gain = np.zeros(len(unit))
    for band, total in zip(bands, totals, strict=True):
        v = band.values[unit]
        before = band.violation(total)[src] + band.violation(total)[rep]
        after = _at(band, total, src, -v) + _at(band, total, rep, v)
        gain += before - after
    added = moves.cost[pick] - cost_of[unit]
    order = np.lexsort((unit, added, -np.round(gain, 12)))[:count]
    return [(float(gain[j]), int(unit[j]), int(rep[j])) for j in order]


def _at(
    band: Band,
    total: NDArray[np.float64],
    reps: NDArray[np.int64],
    delta: NDArray[np.float64],
) -> NDArray[np.float64]:
    new = total[reps] + delta
    excess = np.maximum(new - band.high[reps], 0) + np.maximum(band.low[reps] - new, 0)
    return excess / max(float(band.values.mean()), 1e-12)


def descend(
    assignment: NDArray[np.int64],
    bands: list[Band],
    moves: Moves,
    n_reps: int,
    rounds: int = 50,
) -> NDArray[np.int64]:
    """Cheaper alignment by single moves that keep every band.

    Each round takes every move that lowers the cost, best first, and keeps
    it when both reps stay within their bands after the moves before it.
    Stops after ``rounds`` rounds or when no move is taken.

    Parameters
    ----------
    assignment : ndarray of int, shape (n_units,)
        A start that meets every band.
    bands, moves, n_reps
        As in :func:`repair`.
    rounds : int
        Most passes over the candidate moves.

    Returns
    -------
    ndarray of int, shape (n_units,)
        An alignment at most as costly that still meets every band.
    """
    a = assignment.copy()
    totals = [_totals(a, b, n_reps) for b in bands]
    for _ in range(rounds):
        cost_of = _unit_cost(a, moves)
        gain = cost_of[moves.unit] - moves.cost
        order = np.flatnonzero(gain > 1e-9)
        order = order[np.lexsort((order, -gain[order]))]
        taken = 0
        for j in order:
            i, k = int(moves.unit[j]), int(moves.rep[j])
            if a[i] == k or cost_of[i] - moves.cost[j] <= 1e-9:
                continue
            if _fits(bands, totals, i, int(a[i]), k):
                _apply(a, bands, totals, cost_of, moves, i, k)
                taken += 1
        if taken == 0:
            break
    return a


def _fits(
    bands: list[Band], totals: list[NDArray[np.float64]], i: int, src: int, dst: int
) -> bool:
    for band, total in zip(bands, totals, strict=True):
        v = band.values[i]
        if total[src] - v < band.low[src] or total[dst] + v > band.high[dst]:
            return False
    return True


def exchange(
    assignment: NDArray[np.int64],
    bands: list[Band],
    moves: Moves,
    n_reps: int,
    passes: int = 20,
) -> tuple[NDArray[np.int64], int]:
    """Cheaper alignment by swapping two units between two reps, bands kept.

    A swap sends unit u from rep A to rep B and unit v from B to A, both
    allowed pairs; it is taken when it lowers the cost and both reps stay
    within every band. Rep pairs are visited in order, and each takes its
    best swap until none is left; passes repeat until one takes none. Where
    bands are tight single moves (:func:`descend`) are blocked, but a swap
    of two units of similar size still fits.

    Parameters
    ----------
    assignment : ndarray of int, shape (n_units,)
        A start that meets every band.
    bands, moves, n_reps
        As in :func:`repair`.
    passes : int
        Most passes over the rep pairs.

    Returns
    -------
    assignment : ndarray of int, shape (n_units,)
        An alignment at most as costly that still meets every band.
    evaluated : int
        Swaps evaluated (the work done).
    """
    a = assignment.copy()
    table = _CostTable(moves, n_reps)
    totals = [_totals(a, b, n_reps) for b in bands]
    evaluated = 0
    for _ in range(passes):
        taken, count = _exchange_pass(a, bands, totals, table, n_reps)
        evaluated += count
        if taken == 0:
            break
    return a, evaluated


class _CostTable:
    """Cost of any (unit, rep) pair, inf where the pair is not allowed."""

    def __init__(self, moves: Moves, n_reps: int) -> None:
        self.moves, self.n_reps = moves, n_reps
        key = moves.unit.astype(np.int64) * n_reps + moves.rep
        self.order = np.argsort(key, kind="stable")
        self.keys = key[self.order]

    def __call__(self, units: NDArray[np.int64], rep: int) -> NDArray[np.float64]:
        key = units.astype(np.int64) * self.n_reps + rep
        at = np.minimum(np.searchsorted(self.keys, key), len(self.keys) - 1)
        hit = self.keys[at] == key
        return np.where(hit, self.moves.cost[self.order[at]], np.inf)


def _exchange_pass(
    a: NDArray[np.int64],
    bands: list[Band],
    totals: list[NDArray[np.float64]],
    table: _CostTable,
    n_reps: int,
) -> tuple[int, int]:
    """One visit of every rep pair sharing movable units; (swaps, evaluated)."""
    moves = table.moves
    src = a[moves.unit]
    away = moves.rep != src
    key = src[away] * n_reps + moves.rep[away]
    units = moves.unit[away]
    order = np.lexsort((units, key))
    key, units = key[order], units[order]
    if not len(key):
        return 0, 0
    bounds = np.flatnonzero(np.diff(key)) + 1
    firsts = key[np.r_[0, bounds]].tolist()
    groups = dict(zip(firsts, np.split(units, bounds), strict=True))
    taken = evaluated = 0
    for pair, members in groups.items():
        rep_a, rep_b = divmod(pair, n_reps)
        back = groups.get(rep_b * n_reps + rep_a)
        if rep_a > rep_b or back is None:
            continue
        swaps, count = _swap_pair(a, bands, totals, table, members, back, rep_a, rep_b)
        taken, evaluated = taken + swaps, evaluated + count
    return taken, evaluated


def _swap_pair(
    a: NDArray[np.int64],
    bands: list[Band],
    totals: list[NDArray[np.float64]],
    table: _CostTable,
    members: NDArray[np.int64],
    back: NDArray[np.int64],
    rep_a: int,
    rep_b: int,
) -> tuple[int, int]:
    """Best swaps between ``rep_a`` and ``rep_b`` until none saves; counts."""
    taken = evaluated = 0
    while True:
        u_set = members[a[members] == rep_a]
        v_set = back[a[back] == rep_b]
        if not len(u_set) or not len(v_set):
            return taken, evaluated
        gain_u = table(u_set, rep_a) - table(u_set, rep_b)
        gain_v = table(v_set, rep_b) - table(v_set, rep_a)
        saving = gain_u[:, None] + gain_v[None, :]
        evaluated += saving.size
        ok = saving > 1e-9
        for band, total in zip(bands, totals, strict=True):
            d = band.values[v_set][None, :] - band.values[u_set][:, None]
            ok &= (total[rep_a] + d >= band.low[rep_a]) & (
                total[rep_a] + d <= band.high[rep_a]
            )
            ok &= (total[rep_b] - d >= band.low[rep_b]) & (
                total[rep_b] - d <= band.high[rep_b]
            )
        if not ok.any():
            return taken, evaluated
        iu, iv = np.unravel_index(np.argmax(np.where(ok, saving, -np.inf)), ok.shape)
        u, v = int(u_set[iu]), int(v_set[iv])
        for band, total in zip(bands, totals, strict=True):
            delta = band.values[v] - band.values[u]
            total[rep_a] += delta
            total[rep_b] -= delta
        a[u], a[v] = rep_b, rep_a
        taken += 1
