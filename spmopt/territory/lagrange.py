"""Lagrangian lower bound and reduced-cost fixing for the capacitated p-median.

Relaxing the assignment rows ``sum_j x_ij = 1`` with multipliers ``u_i``
leaves, for every candidate centre j, a 0-1 knapsack over the units with
negative reduced cost ``c_ij - u_i`` (capacity ``C_j``), and the choice of
the ``p`` centres with the smallest knapsack values:

    L(u) = sum_i u_i + sum of the p smallest v_j(u),
    v_j(u) = min { sum_i (c_ij - u_i) x_i : sum_i w_i x_i <= C_j, x binary }.

Every L(u) is a lower bound of the optimum. Subgradient steps raise it;
then any centre or pair whose forced use lifts the bound to the incumbent
can be removed without losing a better solution. Knapsacks are solved
exactly by dynamic programming when demands are integral and capacities
small, otherwise by their (weaker but valid) fractional relaxation.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

DP_CELLS = 3 * 10**7
"""Largest ``n * m * (C + 1)`` solved by exact dynamic programming."""


@dataclass(frozen=True)
class LagrangeBound:
    """Best bound found and what reduced-cost fixing needs.

    Attributes
    ----------
    bound : float
        Lower bound on the optimum, cost units.
    multipliers : ndarray of shape (n,)
    values : ndarray of shape (m,)
        Knapsack values v_j at the best multipliers.
    tail : ndarray of shape (n, m)
        ``tail[i, j]``: lower bound on v_j when unit i is forced into centre j.
    exact : bool
        True when knapsacks were solved exactly.
    steps : int
        Subgradient steps taken (the whole ascent, not only to the best).
    """

    bound: float
    multipliers: NDArray[np.float64]
    values: NDArray[np.float64]
    tail: NDArray[np.float64]
    exact: bool
    steps: int = 0


def _exact_ok(demand: NDArray[np.float64], capacity: NDArray[np.float64]) -> bool:
    return knapsack_cells(demand, capacity) is not None


def knapsack_cells(
    demand: NDArray[np.float64], capacity: NDArray[np.float64]
) -> float | None:
    """Cells of one round of exact knapsacks, None when they are fractional.

    Exact (dynamic programming over ``n * m * (C + 1)`` cells) when demand
    and capacity are whole and the cells are at most ``DP_CELLS``; an
    unlimited (infinite) capacity is never exact.
    """
    if not (np.isfinite(demand).all() and np.isfinite(capacity).all()):
        return None  # np.mod of inf is nan (and warns)
    integral = np.all(np.mod(demand, 1) == 0) and np.all(np.mod(capacity, 1) == 0)
    cells = float(len(demand) * len(capacity) * (capacity.max() + 1))
    return cells if integral and cells <= DP_CELLS else None


def knapsack_values(
    reduced: NDArray[np.float64],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    exact: bool,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Knapsack value per centre, a solution, and forced-item bounds.

    Parameters
    ----------
    reduced : ndarray of shape (n, m)
        Reduced costs ``c_ij - u_i``.
    demand : ndarray of shape (n,)
    capacity : ndarray of shape (m,)
    exact : bool
        Dynamic programming (integral data) or fractional relaxation.

    Returns
    -------
    values : ndarray of shape (m,)
    take : ndarray of shape (n, m)
        Share of unit i taken by centre j's knapsack (0/1 when exact).
    tail : ndarray of shape (n, m)
        Lower bound on v_j when unit i must be taken.
    """
    if exact:
        return _dp(reduced, demand.astype(np.int64), capacity.astype(np.int64))
    return _fractional(reduced, demand, capacity)


def _dp(
    reduced: NDArray[np.float64],
    demand: NDArray[np.int64],
    capacity: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    n, m = reduced.shape
    width = int(capacity.max()) + 1
    gain = np.minimum(reduced, 0.0)
    best = np.zeros((n + 1, m, width))
    for i in range(n):
        best[i + 1] = best[i]
        w = int(demand[i])
        if w < width:
            shifted = best[i][:, : width - w] + gain[i][:, None]
            best[i + 1][:, w:] = np.minimum(best[i][:, w:], shifted)
    cols = np.arange(m)
    values = best[n][cols, capacity]
    take = _backtrack(best, gain, demand, capacity)
    spare = capacity[None, :] - demand[:, None]
    full = best[n][cols[None, :], np.clip(spare, 0, None)]
    tail = np.where(spare >= 0, reduced + full, np.inf)
    return values, take, tail


def _backtrack(
    best: NDArray[np.float64],
    gain: NDArray[np.float64],
    demand: NDArray[np.int64],
    capacity: NDArray[np.int64],
) -> NDArray[np.float64]:
    n, m = gain.shape
    take = np.zeros((n, m))
    room = capacity.copy()
    cols = np.arange(m)
    for i in range(n - 1, -1, -1):
        used = best[i + 1][cols, room] < best[i][cols, room] - 1e-12
        take[i] = used
        room = room - np.where(used, demand[i], 0)
    return take


def _fractional(
    reduced: NDArray[np.float64],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    gain = np.minimum(reduced, 0.0)
    weight = np.maximum(demand, 1e-12)[:, None]
    order = np.argsort(gain / weight, axis=0, kind="stable")
    w_sorted = np.take_along_axis(np.broadcast_to(weight, gain.shape), order, 0)
    g_sorted = np.take_along_axis(gain, order, 0)
    before = np.cumsum(w_sorted, axis=0) - w_sorted
    share = np.clip((capacity[None, :] - before) / w_sorted, 0.0, 1.0)
    share = np.where(g_sorted < 0, share, 0.0)
    values = (share * g_sorted).sum(axis=0)
    take = np.zeros_like(gain)
    np.put_along_axis(take, order, share, 0)
    tail = reduced + values[None, :]
    return values, take, tail


def lagrangian_bound(
    cost: NDArray[np.float64],
    demand: NDArray[np.float64],
    capacity: NDArray[np.float64],
    p: int,
    upper: float,
    iterations: int = 600,
    heuristic: Callable[[NDArray[np.int64]], float | None] | None = None,
    integral: bool = False,
    deadline: float | None = None,
) -> LagrangeBound:
    """Subgradient ascent on the Lagrangian dual of the assignment rows.

    Parameters
    ----------
    cost : ndarray of shape (n, m)
        Assignment costs (``inf`` for forbidden pairs).
    demand : ndarray of shape (n,)
    capacity : ndarray of shape (m,)
    p : int
        Centres to open.
    upper : float
        Objective of a known solution (steers the step size).
    iterations : int
        Subgradient steps at most.
    heuristic : callable, optional
        Called with each new set of ``p`` centres the relaxation opens
        (sorted indices); returns the cost of a solution built on them, or
        None. Better costs lower ``upper`` (a Lagrangian heuristic).
    integral : bool
        Costs are integers: stop as soon as ``ceil(bound) >= upper``, which
        proves the best solution optimal.
    deadline : float, optional
        ``time.perf_counter()`` value after which no further step is taken
        (the best bound so far is returned).
    """
    exact = _exact_ok(demand, capacity)
    finite = np.where(np.isfinite(cost), cost, 10 * np.nanmax(cost[np.isfinite(cost)]))
    u = np.sort(finite, axis=1)[:, min(p, finite.shape[1] - 1)].astype(float)
    step, best, stall = 2.0, None, 0
    tried: set[tuple[int, ...]] = set()
    steps = 0
    for steps in range(1, iterations + 1):  # noqa: B007 (read after the loop)
        values, take, tail = knapsack_values(
            finite - u[:, None], demand, capacity, exact
        )
        chosen = np.argsort(values, kind="stable")[:p]
        bound = float(u.sum() + values[chosen].sum())
        key = tuple(sorted(int(j) for j in chosen))
        if heuristic is not None and key not in tried:
            tried.add(key)
            found = heuristic(np.array(key, dtype=np.int64))
            upper = min(upper, found) if found is not None else upper
        if best is None or bound > best.bound + 1e-9:
            best, stall = LagrangeBound(bound, u.copy(), values, tail, exact), 0
        else:
            stall += 1
        if stall >= 20:
            step, stall = step / 2, 0
        if integral and math.ceil(best.bound - 1e-6) >= upper:
            break
        if deadline is not None and time.perf_counter() > deadline:
            break
        grad = 1.0 - take[:, chosen].sum(axis=1)
        norm = float(grad @ grad)
        target = upper if np.isfinite(upper) else bound + 0.1 * abs(bound) + 1.0
        if norm < 1e-12 or step < 5e-3 or target - bound < 1e-6:
            break
        u = u + step * (target - bound) / norm * grad
    assert best is not None
    return replace(best, steps=steps)


def reduced_cost_fixing(
    lb: LagrangeBound, p: int, cutoff: float
) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
    """Pairs and centres that cannot be part of a solution below ``cutoff``.

    Returns
    -------
    keep : ndarray of bool, shape (n, m)
        Pairs that may still be used.
    centre : ndarray of int, shape (m,)
        1 = must open, 0 = must stay closed, -1 = free.
    """
    v = lb.values
    order = np.argsort(v, kind="stable")
    in_p = np.zeros(len(v), dtype=bool)
    in_p[order[:p]] = True
    last_in = v[order[p - 1]]
    first_out = v[order[p]] if p < len(v) else np.inf
    base = lb.bound
    open_bound = np.where(in_p, base, base + v - last_in)
    close_bound = np.where(in_p, base - v + first_out, base)
    centre = np.full(len(v), -1, dtype=np.int64)
    centre[open_bound >= cutoff] = 0
    centre[close_bound >= cutoff] = 1
    swap = np.where(in_p, v, last_in)
    pair_bound = open_bound[None, :] - v[None, :] + lb.tail + (v - swap)[None, :] * 0
    pair_bound = np.where(
        in_p[None, :], base - v[None, :] + lb.tail, base - last_in + lb.tail
    )
    keep = (pair_bound < cutoff) & (centre != 0)[None, :]
    return keep, centre
