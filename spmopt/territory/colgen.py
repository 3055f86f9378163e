"""Exact knapsack pricing and the set-partitioning master of the p-median.

The capacitated p-median reformulated over columns: a column is one
candidate centre j with a set S of units whose workload fits its capacity,
costing ``c_S = sum_{i in S} c_ij``. The master linear program

1. ``sum_{(j,S) : i in S} lambda_jS = 1`` for every unit i (dual ``u_i``),
2. ``sum_{(j,S)} lambda_jS = p`` (dual ``sigma``),
3. ``sum_S lambda_jS <= 1`` for every candidate j (dual ``pi_j <= 0``),
4. minimise ``sum c_S lambda_jS``, ``lambda >= 0``,

gives the Dantzig-Wolfe bound of the knapsack Lagrangian (the best bound
any multipliers of the assignment rows can give). Columns are priced by an
exact 0-1 knapsack per candidate over the reduced costs ``c_ij - u_i``
(dynamic programming over integral workloads).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import highspy
import numpy as np
from numpy.typing import NDArray

from spmopt._highs import INF, quiet_highs
from spmopt._stoppable import run_highs


def knapsack_columns(
    reduced: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.int64],
    capacity: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """Best set of units for every candidate centre, by exact dynamic programming.

    Parameters
    ----------
    reduced : ndarray of shape (n, m)
        Reduced cost of unit i in centre j, cost units.
    allowed : ndarray of bool, shape (n, m)
        Pairs that may be used.
    demand : ndarray of int, shape (n,)
        Workload per unit (integral).
    capacity : ndarray of int, shape (m,)
        Workload capacity per centre (integral).

    Returns
    -------
    values : ndarray of shape (m,)
        ``min sum_{i in S} reduced_ij`` over allowed sets within capacity
        (0 for the empty set).
    take : ndarray of bool, shape (n, m)
        A set reaching each value.
    """
    n, m = reduced.shape
    width = int(capacity.max()) + 1
    gain = np.where(allowed, np.minimum(reduced, 0.0), 0.0)
    items = np.flatnonzero((gain < 0).any(axis=1) & (demand < width))
    best = np.zeros((m, width))
    took = np.zeros((len(items), m, width), dtype=bool)
    for k, i in enumerate(items):
        w = int(demand[i])
        candidate = best[:, : width - w] + gain[i][:, None]
        better = candidate < best[:, w:] - 1e-9
        took[k, :, w:] = better
        best[:, w:] = np.where(better, candidate, best[:, w:])
    cols = np.arange(m)
    room = capacity.astype(np.int64).copy()
    values = best[cols, room]
    take = np.zeros((n, m), dtype=bool)
    for k in range(len(items) - 1, -1, -1):
        used = took[k, cols, room]
        take[items[k]] = used
        room = room - np.where(used, demand[items[k]], 0)
    return values, take


def lagrangian_value(
    u: NDArray[np.float64],
    values: NDArray[np.float64],
    p: int,
    closed: NDArray[np.bool_],
    opened: NDArray[np.bool_],
) -> float:
    """Lagrangian bound ``sum u + sum of the p cheapest admissible values``.

    Centres in ``opened`` are always counted, those in ``closed`` never.
    Returns ``inf`` when fewer than p centres are admissible.
    """
    need = p - int(opened.sum())
    free = np.sort(values[~opened & ~closed])
    if need < 0 or len(free) < need:
        return math.inf
    return float(u.sum() + values[opened].sum() + free[:need].sum())


def column_slack(
    u_sum: float,
    values: NDArray[np.float64],
    p: int,
    closed: NDArray[np.bool_],
    opened: NDArray[np.bool_],
    target: float,
) -> NDArray[np.float64]:
    """Largest reduced cost of a column of any solution costing <= ``target``.

    A solution using column ``(j, S)`` costs at least ``L - s_j + r_j(S)``
    with ``L`` the Lagrangian value and ``s_j`` what centre j contributes
    to it: ``v_j`` when j is open or among the cheapest free centres, the
    dearest counted free value otherwise. Closed centres get ``-inf``.
    """
    need = p - int(opened.sum())
    free = np.flatnonzero(~opened & ~closed)
    order = free[np.argsort(values[free], kind="stable")]
    counted = np.zeros(len(values), dtype=bool)
    counted[opened] = True
    counted[order[:need]] = True
    last = values[order[need - 1]] if need > 0 else -np.inf
    lagrange = lagrangian_value(np.array([u_sum]), values, p, closed, opened)
    share = np.where(counted, values, last)
    return np.where(closed, -np.inf, target - lagrange + share)


@dataclass(frozen=True)
class MasterSolution:
    """Optimal solution of the restricted master LP.

    Attributes
    ----------
    objective : float
        LP value, cost units (includes artificial columns).
    u : ndarray of shape (n,)
        Duals of the assignment rows.
    sigma : float
        Dual of the cardinality row.
    pi : ndarray of shape (m,)
        Duals of the one-column-per-centre rows.
    lam : ndarray of shape (n_columns,)
        Column values; ``artificial`` is the total of artificial columns.
    rho : ndarray of shape (n_groups,)
        Duals of the group rows ``lo <= sum_{j in G} y_j <= hi``.
    """

    objective: float
    u: NDArray[np.float64]
    sigma: float
    pi: NDArray[np.float64]
    lam: NDArray[np.float64]
    artificial: float
    rho: NDArray[np.float64]


class SetPartitionMaster:
    """Restricted master LP (rows 1-3 of the module formulation) in HiGHS.

    Every assignment row and the cardinality row carry an artificial column
    of cost ``big`` (above any solution's cost), so every restricted master
    is feasible; a node whose final LP uses them is infeasible or costs
    more than ``big``.

    Parameters
    ----------
    cost : ndarray of shape (n, m)
        Integral unit-to-centre costs (finite where allowed).
    p : int
        Number of centres.
    """

    def __init__(self, cost: NDArray[np.float64], p: int) -> None:
        self.cost = cost
        self.n, self.m = cost.shape
        self.big = float(np.abs(cost).max()) * self.n + 1.0
        self.members: list[NDArray[np.bool_]] = []
        self.median: list[int] = []
        self.col_cost: list[float] = []
        self._stack: tuple[NDArray[np.bool_], NDArray[np.int64]] | None = None
        self.groups: list[NDArray[np.bool_]] = []
        self.highs = self._empty_lp(p)

    def _empty_lp(self, p: int) -> highspy.Highs:
        h = quiet_highs()
        h.setOptionValue("presolve", "off")
        lower = np.concatenate([np.ones(self.n), [p], np.full(self.m, -INF)])
        upper = np.concatenate([np.ones(self.n), [p], np.ones(self.m)])
        h.addRows(len(lower), lower, upper, 0, np.zeros(1, np.int32), [], [])
        rows = np.arange(self.n + 1, dtype=np.int32)
        h.addCols(
            self.n + 1,
            np.full(self.n + 1, self.big),
            np.zeros(self.n + 1),
            np.full(self.n + 1, INF),
            self.n + 1,
            rows,
            rows,
            np.ones(self.n + 1),
        )
        return h

    @property
    def n_columns(self) -> int:
        """Columns generated so far (artificial ones excluded)."""
        return len(self.median)

    def add(self, take: NDArray[np.bool_], centres: NDArray[np.int64]) -> None:
        """Add the columns ``(centres[k], units take[:, k])``."""
        starts: list[int] = []
        index: list[NDArray[np.int64]] = []
        for k, j in enumerate(centres):
            units = np.flatnonzero(take[:, k])
            starts.append(sum(len(r) for r in index))
            extra = [self.n + 1 + self.m + g for g in self._groups_of(int(j))]
            index.append(np.concatenate([units, [self.n, self.n + 1 + j], extra]))
            self.members.append(take[:, k].copy())
            self.median.append(int(j))
            self.col_cost.append(float(self.cost[units, j].sum()))
        flat = np.concatenate(index).astype(np.int32)
        costs = np.array(self.col_cost[-len(centres) :])
        self.highs.addCols(
            len(centres),
            costs,
            np.zeros(len(centres)),
            np.full(len(centres), INF),
            len(flat),
            np.array(starts, dtype=np.int32),
            flat,
            np.ones(len(flat)),
        )
        self._stack = None
        self.highs.setOptionValue("simplex_strategy", 4)

    def _groups_of(self, j: int) -> list[int]:
        return [g for g, mask in enumerate(self.groups) if mask[j]]

    def add_group(self, mask: NDArray[np.bool_]) -> int:
        """Row ``sum_{j in mask} y_j`` (free until :meth:`restrict`); its id."""
        for g, known in enumerate(self.groups):
            if np.array_equal(known, mask):
                return g
        _, median = self.pool()
        cols = (self.n + 1 + np.flatnonzero(mask[median])).astype(np.int32)
        self.highs.addRow(-INF, INF, len(cols), cols, np.ones(len(cols)))
        self.groups.append(mask.copy())
        return len(self.groups) - 1

    def pool(self) -> tuple[NDArray[np.bool_], NDArray[np.int64]]:
        """Members, shape (n_columns, n), and centre of every column."""
        if self._stack is None:
            members = np.array(self.members).reshape(-1, self.n)
            self._stack = members, np.array(self.median, dtype=np.int64)
        return self._stack

    def restrict(
        self,
        allowed: NDArray[np.bool_],
        opened: NDArray[np.bool_],
        closed: NDArray[np.bool_],
        bounds: dict[int, tuple[float, float]] | None = None,
    ) -> None:
        """Disable columns of closed centres or using a forbidden pair.

        Open centres must use exactly one column; group rows get ``bounds``
        (group id to ``(lo, hi)``), the others are free.
        """
        members, median = self.pool()
        if len(median):
            bad = (members & ~allowed[:, median].T).any(axis=1) | closed[median]
            index = np.arange(self.n + 1, self.n + 1 + len(median), dtype=np.int32)
            upper = np.where(bad, 0.0, INF)
            self.highs.changeColsBounds(len(index), index, np.zeros(len(index)), upper)
        rows = np.arange(self.n + 1, self.n + 1 + self.m, dtype=np.int32)
        lower = np.where(opened, 1.0, -INF)
        self.highs.changeRowsBounds(  # type: ignore[attr-defined]
            self.m, rows, lower, np.ones(self.m)
        )
        for g in range(len(self.groups)):
            lo, hi = (bounds or {}).get(g, (-INF, INF))
            self.highs.changeRowBounds(self.n + 1 + self.m + g, lo, hi)
        self.highs.setOptionValue("simplex_strategy", 1)

    def effort(self) -> float:
        """Simplex iterations of the last solve times the LP's nonzeros."""
        iterations = max(self.highs.getInfo().simplex_iteration_count, 0)
        return float(iterations) * self.highs.getNumNz()

    def solve(self) -> MasterSolution:
        """Re-optimise the LP from its last basis."""
        run_highs(self.highs)
        solution = self.highs.getSolution()
        dual = np.asarray(solution.row_dual)
        values = np.asarray(solution.col_value)
        return MasterSolution(
            objective=float(self.highs.getInfo().objective_function_value),
            u=dual[: self.n],
            sigma=float(dual[self.n]),
            pi=dual[self.n + 1 : self.n + 1 + self.m],
            lam=np.clip(values[self.n + 1 :], 0.0, None),
            artificial=float(values[: self.n + 1].sum()),
            rho=dual[self.n + 1 + self.m :],
        )
