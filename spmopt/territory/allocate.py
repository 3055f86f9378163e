"""Locate-allocate improvement of capacitated p-median solutions.

Alternates two exact steps until the centres stop changing:

1. allocate: with the centres fixed, the cheapest assignment of units
   within capacity (a generalised assignment MIP, solved by HiGHS);
2. locate: in every territory, move the centre to the candidate that
   serves its units most cheaply and can carry their workload.
"""

from __future__ import annotations

from collections.abc import Callable

import highspy
import numpy as np
from numpy.typing import NDArray

from spmopt._highs import INF, quiet_highs
from spmopt._stoppable import run_highs


def allocate(
    cost: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    centres: NDArray[np.int64],
    time_limit: float = 2.0,
    run: Callable[[highspy.Highs], None] = run_highs,
) -> NDArray[np.int64] | None:
    """Cheapest assignment of every unit to one of ``centres`` within capacity.

    Parameters
    ----------
    cost : ndarray of shape (n, m)
        Unit-to-candidate costs.
    allowed : ndarray of bool, shape (n, m)
    demand : ndarray of shape (n,)
        Workload per unit.
    capacity : ndarray of shape (m,)
        Workload capacity per candidate.
    centres : ndarray of int, shape (p,)
        Open candidates.
    time_limit : float
        Wall seconds for HiGHS.
    run : callable, optional
        Runs the HiGHS MIP (may set its limits first, overriding
        ``time_limit``); :func:`~spmopt._stoppable.run_highs` by default.

    Returns
    -------
    ndarray of int, shape (n,) or None
        Candidate of each unit; None when HiGHS finds no assignment.
    """
    n, p = len(demand), len(centres)
    units, slot = np.nonzero(allowed[:, centres])
    k = len(units)
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("time_limit", float(time_limit))
    caps = np.minimum(capacity[centres], demand.sum())
    lower = np.concatenate([np.ones(n), np.full(p, -INF)])
    upper = np.concatenate([np.ones(n), caps])
    h.addRows(n + p, lower, upper, 0, np.zeros(1, np.int32), [], [])
    index = np.column_stack([units, n + slot]).ravel().astype(np.int32)
    coef = np.column_stack([np.ones(k), demand[units]]).ravel()
    starts = np.arange(0, 2 * k, 2, dtype=np.int32)
    h.addCols(
        k,
        cost[units, centres[slot]],
        np.zeros(k),
        np.ones(k),
        2 * k,
        starts,
        index,
        coef,
    )
    h.changeColsIntegrality(
        k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger)
    )
    run(h)
    if h.getInfo().primal_solution_status != 2:
        return None
    chosen = np.asarray(h.getSolution().col_value) > 0.5
    out = np.full(n, -1, dtype=np.int64)
    out[units[chosen]] = centres[slot[chosen]]
    return out if (out >= 0).all() else None


def relocate(
    cost: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    assignment: NDArray[np.int64],
) -> NDArray[np.int64]:
    """Best centre of every territory of ``assignment`` (step 2).

    Returns the new centres, one per territory, all distinct.
    """
    return np.sort(relocation(cost, allowed, demand, capacity, assignment))


def relocation(
    cost: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    assignment: NDArray[np.int64],
) -> NDArray[np.int64]:
    """New centre of each territory of ``assignment``, in the order of its centre.

    Each territory (centres ``np.unique(assignment)`` in turn) moves to the
    candidate every one of its units may join (``allowed``) that serves
    them most cheaply, can carry their workload and no other territory
    holds; staying is always possible. Returns one candidate per territory,
    all distinct.
    """
    centres = np.unique(assignment)
    taken = np.zeros(cost.shape[1], dtype=bool)
    taken[centres] = True
    out = []
    for j in centres:
        units = assignment == j
        total = cost[units].sum(axis=0)
        ok = allowed[units].all(axis=0) & (capacity >= demand[units].sum() - 1e-9)
        ok &= ~taken | (np.arange(len(ok)) == j)
        best = int(np.argmin(np.where(ok, total, np.inf)))
        taken[j], taken[best] = False, True
        out.append(best)
    return np.array(out, dtype=np.int64)


def locate_allocate(
    cost: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    centres: NDArray[np.int64],
    rounds: int = 10,
) -> NDArray[np.int64] | None:
    """Alternate steps 1 and 2 from ``centres``; the best assignment found."""
    best, best_cost = None, np.inf
    current = np.sort(centres)
    rows = np.arange(len(demand))
    for _ in range(rounds):
        found = allocate(cost, allowed, demand, capacity, current)
        if found is None:
            break
        value = float(cost[rows, found].sum())
        if value >= best_cost - 1e-9:
            break
        best, best_cost = found, value
        moved = relocate(cost, allowed, demand, capacity, found)
        if np.array_equal(moved, current):
            break
        current = moved
    return best


GAIN = 1e-9
"""Least saving of a move or swap, relative to the cost of the units moved."""


def shift_swap(
    cost: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    assignment: NDArray[np.int64],
    passes: int = 20,
) -> tuple[NDArray[np.int64], int]:
    """Improve ``assignment`` by single moves and pairwise swaps within capacity.

    Each pass lists every move of a unit to another centre it may join
    (``allowed``, an open centre of ``assignment``) and every swap of two
    units between their centres that saves cost, then applies them,
    largest saving first, skipping those that no longer fit or touch a
    unit already changed in the pass. Passes repeat until none saves.

    Parameters
    ----------
    cost : ndarray of shape (n, m)
        Unit-to-candidate costs.
    allowed : ndarray of bool, shape (n, m)
    demand : ndarray of shape (n,)
    capacity : ndarray of shape (m,)
    assignment : ndarray of int, shape (n,)
        A feasible assignment (every unit to an open, allowed centre).
    passes : int
        Most passes.

    Returns
    -------
    assignment : ndarray of int, shape (n,)
        The improved assignment (same centres, never costlier).
    evaluated : int
        Moves and swaps evaluated (the work done).
    """
    out = assignment.copy()
    load = np.bincount(out, demand, minlength=cost.shape[1]).astype(float)
    evaluated = 0
    for _ in range(passes):
        moves, count = _candidates(cost, allowed, out)
        evaluated += count
        if not _apply(moves, demand, capacity, out, load):
            break
    return out, evaluated


def _candidates(
    cost: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    out: NDArray[np.int64],
) -> tuple[NDArray[np.float64], int]:
    """Saving moves and swaps, largest saving first, with the count evaluated.

    Rows ``(saving, u, to, v)``: unit ``u`` goes to centre ``to`` and, for a
    swap, unit ``v`` (at ``to``) goes to ``u``'s centre; ``v = -1`` for a
    move.
    """
    centres = np.unique(out)
    units, to = np.nonzero(allowed[:, centres])
    to = centres[to]
    keep = to != out[units]
    units, to = units[keep], to[keep]
    here = cost[units, out[units]]
    shift = here - cost[units, to]
    order = np.argsort(out, kind="stable")
    start = np.searchsorted(out[order], to)
    size = np.searchsorted(out[order], to, side="right") - start
    u = np.repeat(units, size)
    offset = np.arange(len(u)) - np.repeat(np.cumsum(size) - size, size)
    v = order[np.repeat(start, size) + offset]
    back = out[u]
    ok = allowed[v, back]
    u, v, back = u[ok], v[ok], back[ok]
    dest = out[v]
    swap = cost[u, back] + cost[v, dest] - cost[u, dest] - cost[v, back]
    rows = np.concatenate(
        [
            np.column_stack([shift, units, to, np.full(len(units), -1)]),
            np.column_stack([swap, u, dest, v]),
        ]
    )
    scale = np.abs(here).mean() if len(here) else 0.0
    rows = rows[rows[:, 0] > GAIN * max(scale, 1.0)]
    return rows[np.argsort(-rows[:, 0], kind="stable")], len(units) + len(u)


def _apply(
    moves: NDArray[np.float64],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    out: NDArray[np.int64],
    load: NDArray[np.float64],
) -> bool:
    """Apply ``moves`` in order where they still fit; True if any applied.

    ``out`` and ``load`` are updated in place; a unit changes at most once.
    """
    touched = np.zeros(len(out), dtype=bool)
    applied = False
    for _, u_, to_, v_ in moves:
        u, to, v = int(u_), int(to_), int(v_)
        if touched[u] or (v >= 0 and touched[v]):
            continue
        here = int(out[u])
        change = demand[u] - (demand[v] if v >= 0 else 0.0)
        if load[to] + change > capacity[to] + 1e-9 or load[here] - change > (
            capacity[here] + 1e-9
        ):
            continue
        out[u], load[to], load[here] = to, load[to] + change, load[here] - change
        touched[u] = True
        if v >= 0:
            out[v], touched[v] = here, True
        applied = True
    return applied
