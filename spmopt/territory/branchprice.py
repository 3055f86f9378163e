"""Branch-and-price for the capacitated p-median with integral costs.

Every node solves the set-partitioning master of :mod:`colgen` by column
generation; the Lagrangian value of the current duals is a valid bound at
every step, so a node stops as soon as that bound reaches the incumbent.
Fractional nodes branch on the number of centres open in a neighbourhood,
then on a centre (open / closed) and, once every centre is integral, on a
unit-centre pair (unit only in that centre / never in it). Nodes are
explored best bound first; since costs are integers, a node is pruned
when ``ceil(bound) >= incumbent``.
"""

from __future__ import annotations

import heapq
import itertools
import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
from numpy.typing import NDArray

from spmopt.territory.allocate import locate_allocate
from spmopt.territory.colgen import (
    MasterSolution,
    SetPartitionMaster,
    column_slack,
    knapsack_columns,
    lagrangian_value,
)
from spmopt.territory.setcover import columns_within, partition_mip

TOL = 1e-6
"""Tolerance of fractionality and of bound comparisons, cost units."""

SMOOTHING = 0.7
"""Weight of the best Lagrangian duals in the pricing point."""

STRONG_CANDIDATES = 12
"""Neighbourhood groups whose children are bounded before branching."""

STRONG_ROUNDS = 10
"""Master solves at most when bounding a candidate child."""

STRONG_GAP = 0.02
"""Strong branching only while the node's gap exceeds this share."""

WORK_PER_SECOND = 200
"""Work units per deterministic second (about one wall second here)."""

MASTER_UNIT = 1.5e6
"""Simplex iterations times master nonzeros counted as one work unit: a
master solve counts at least one unit, and a larger one in proportion.
Master solves of the OR-Library instances take 0.6-1.6 million (1.4-3.7
ms); on 120 planar units into 6 with 260,000 master nonzeros they took 25
million (28 ms), and counted as one unit each, 2 deterministic seconds
ran 15-30 s."""

FRACTIONAL_GROUP = 0.1
"""Least distance of a group's open count to an integer to branch on it."""


@dataclass(order=True)
class Node:
    """Subproblem: pairs still allowed and centres fixed open or closed."""

    bound: float
    seq: int
    allowed: NDArray[np.bool_] = field(compare=False)
    opened: NDArray[np.bool_] = field(compare=False)
    closed: NDArray[np.bool_] = field(compare=False)
    groups: tuple[tuple[int, float, float], ...] = field(compare=False, default=())

    def group_bounds(self) -> dict[int, tuple[float, float]]:
        """Bounds ``(lo, hi)`` on the open centres of each branched group."""
        out: dict[int, tuple[float, float]] = {}
        for g, lo, hi in self.groups:
            old = out.get(g, (-math.inf, math.inf))
            out[g] = (max(old[0], lo), min(old[1], hi))
        return out


@dataclass(frozen=True)
class BranchPriceResult:
    """Outcome of :meth:`BranchAndPrice.solve`.

    Attributes
    ----------
    status : {"optimal", "feasible", "infeasible", "unknown"}
    objective : float
        Cost of the best assignment (integral cost units), ``inf`` if none.
    bound : float
        Proven lower bound (rounded up to an integer).
    assignment : ndarray of int, shape (n,) or None
        Centre of every unit in the best assignment.
    root_bound : float
        Dantzig-Wolfe bound at the root (before rounding).
    nodes, columns : int
        Nodes solved and columns generated.
    hit_limit : bool
        True when the time limit stopped the search.
    """

    status: str
    objective: float
    bound: float
    assignment: NDArray[np.int64] | None = field(repr=False)
    root_bound: float
    nodes: int
    columns: int
    hit_limit: bool


# TODO(#3): the ten OR-Library pmedcap instances are proven optimal at 5.0x
# the plain HiGHS MIP in one run, a thin margin: pmedcap08 (root gap 6%)
# takes 4-13 s depending on which strong-branching candidates are tried.
# Measured on it: rounded capacity cuts lift the root bound from 771.7 to
# 792.7 and 3-row subset-row cuts to 815.7 (optimum 820); either would make
# the tree small, but both change the pricing problem.
class BranchAndPrice:
    """Exact capacitated p-median over integral costs and workloads.

    Formulation: the set-partitioning master (1-4) of
    :mod:`spmopt.territory.colgen`, with ``lambda`` binary, solved by
    branch-and-price:

    5. each node's LP is solved by column generation (exact knapsack
       pricing at smoothed duals); its bound is ``max`` of the Lagrangian
       values seen and the converged LP value;
    6. at every node, the columns of all solutions up to a target cost
       are enumerated when at most ``enumerate_limit``; the
       set-partitioning MIP over them solves the node or lifts its bound
       past the target; at the root, locate-allocate gives incumbents;
    7. branching on the open centres of a neighbourhood G,
       ``sum_{j in G} y_j <= k | >= k + 1`` (rows added to the master,
       their duals enter pricing and the Lagrangian value), then on
       centres ``y_j = 1 | 0``, then on pairs ``x_ij = 1 | 0``; while the
       node's gap exceeds ``STRONG_GAP``, up to ``STRONG_CANDIDATES``
       groups are tried and the one whose children's bounds (a few rounds
       of column generation each) rise most, by product, is taken.

    Parameters
    ----------
    cost : ndarray of int, shape (n, m)
        Unit-to-centre costs (integral; ignored where not allowed).
    allowed : ndarray of bool, shape (n, m)
    demand : ndarray of int, shape (n,)
        Workload per unit.
    capacity : ndarray of int, shape (m,)
        Workload capacity per centre.
    p : int
        Centres to open.
    enumerate_limit : int
        Largest number of columns handed to one MIP of step 6.
    relative_gap : float
        Stop once the incumbent is within this share of the bound (0:
        prove optimality).
    work_limit : int, optional
        Stop after this many work units (one per master LP solve and per
        set-partitioning MIP), so that a stopped search does not depend on
        the machine's speed; the wall-clock limit of :meth:`solve` still
        applies.
    """

    def __init__(
        self,
        cost: NDArray[np.int64],
        allowed: NDArray[np.bool_],
        demand: NDArray[np.int64],
        capacity: NDArray[np.int64],
        p: int,
        enumerate_limit: int = 3000,
        relative_gap: float = 0.0,
        work_limit: int | None = None,
    ) -> None:
        self.cost = np.where(allowed, cost, 0).astype(float)
        self.allowed = allowed
        self.demand = demand.astype(np.int64)
        self.capacity = np.minimum(capacity, demand.sum()).astype(np.int64)
        self.p = int(p)
        self.enumerate_limit = enumerate_limit
        self.relative_gap = relative_gap
        self.master = SetPartitionMaster(self.cost, self.p)
        self.best = math.inf
        self.best_assignment: NDArray[np.int64] | None = None
        self.work_limit = work_limit
        self.work = 0.0

    def solve(
        self,
        time_limit: float,
        incumbent: NDArray[np.int64] | None = None,
    ) -> BranchPriceResult:
        """Search until optimal or ``time_limit`` seconds have passed.

        Parameters
        ----------
        time_limit : float
            Wall seconds.
        incumbent : ndarray of int, shape (n,), optional
            A feasible assignment (centre per unit) to start from.
        """
        deadline = time.perf_counter() + time_limit
        self._add_nearest_columns()
        if incumbent is not None:
            self._offer(incumbent)
            self._add_assignment_columns(incumbent)
        none = np.zeros(self.allowed.shape[1], dtype=bool)
        heap = [Node(-math.inf, 0, self.allowed, none, none)]
        nodes, root_bound, seq = 0, -math.inf, 1
        while heap and not self._out(deadline):
            node = heapq.heappop(heap)
            if self._pruned(node.bound):
                continue
            nodes += 1
            bound, solution = self._column_generation(node, deadline)
            if nodes == 1:
                root_bound = bound
            if solution is not None and nodes == 1:
                self._improve(solution)
            if solution is not None and not self._pruned(bound):
                bound = self._enumerate(node, solution, bound, deadline)
            if solution is None or self._pruned(bound):
                if not self._pruned(bound):
                    heapq.heappush(heap, replace(node, bound=bound, seq=seq))
                    seq += 1
                continue
            for child in self._branch(node, bound, solution, seq, deadline):
                heapq.heappush(heap, child)
                seq += 1
        return self._result(heap, root_bound, nodes, deadline)

    def _out(self, deadline: float) -> bool:
        """True when the wall-clock deadline or the work limit is reached."""
        if self.work_limit is not None and self.work >= self.work_limit:
            return True
        return time.perf_counter() > deadline

    def _pruned(self, bound: float) -> bool:
        """True when no solution below ``bound`` can improve the incumbent."""
        if not math.isfinite(self.best):
            return bound == math.inf
        return bound - TOL > self.best - max(1.0, self.relative_gap * self.best)

    def _offer(self, assignment: NDArray[np.int64]) -> None:
        """Keep ``assignment`` if it is cheaper than the incumbent."""
        value = float(self.cost[np.arange(len(assignment)), assignment].sum())
        if value < self.best - TOL:
            self.best, self.best_assignment = round(value), assignment.copy()

    def _add_nearest_columns(self) -> None:
        """One starting column per centre: its nearest units that fit.

        Without them the first master LPs lean on the artificial columns
        and column generation spends most of its rounds leaving them.
        """
        m = self.allowed.shape[1]
        take = np.zeros(self.allowed.shape, dtype=bool)
        for j in range(m):
            units = np.flatnonzero(self.allowed[:, j])
            units = units[np.argsort(self.cost[units, j], kind="stable")]
            fits = np.cumsum(self.demand[units]) <= self.capacity[j]
            take[units[fits], j] = True
        useful = take.any(axis=0)
        self.master.add(take[:, useful], np.flatnonzero(useful))

    def _add_assignment_columns(self, assignment: NDArray[np.int64]) -> None:
        centres = np.unique(assignment)
        take = assignment[:, None] == centres[None, :]
        self.master.add(take, centres)

    def _column_generation(
        self, node: Node, deadline: float, rounds: int | None = None
    ) -> tuple[float, MasterSolution | None]:
        """Bound of ``node`` and its LP solution (None when pruned or stopped).

        Prices at a smoothed point between the LP duals and the duals of
        the best Lagrangian value so far (Wentges smoothing, ``SMOOTHING``);
        when that yields no improving column, prices at the LP duals.
        ``rounds`` caps the master solves (the bound is then the best
        Lagrangian value, still valid, and no solution is returned).
        """
        self.master.restrict(
            node.allowed, node.opened, node.closed, node.group_bounds()
        )
        bound, centre, best = node.bound, None, -math.inf
        for _ in itertools.count() if rounds is None else range(rounds):
            lp = self.master.solve()
            self.work += max(1.0, self.master.effort() / MASTER_UNIT)
            adj, const = self._group_terms(node, lp)
            for u in _price_points(lp.u, centre):
                values, take = knapsack_columns(
                    self.cost - u[:, None], node.allowed, self.demand, self.capacity
                )
                lagrange = const + lagrangian_value(
                    u, values - adj, self.p, node.closed, node.opened
                )
                if lagrange > best:
                    best, centre = lagrange, u
                bound = max(bound, lagrange)
                if self._pruned(bound) or self._out(deadline):
                    return bound, None
                new = self._improving(lp, take, node.closed)
                if len(new):
                    break
            if not len(new):
                break
            self.master.add(take[:, new], new)
        else:
            return bound, None
        if lp.objective >= self.master.big - TOL:
            return math.inf, None
        return max(bound, lp.objective), lp

    def _improving(
        self, lp: MasterSolution, take: NDArray[np.bool_], closed: NDArray[np.bool_]
    ) -> NDArray[np.int64]:
        """Centres whose priced set has a negative reduced cost in ``lp``."""
        price = (take * (self.cost - lp.u[:, None])).sum(axis=0) - lp.sigma - lp.pi
        for g, mask in enumerate(self.master.groups):
            price -= lp.rho[g] * mask
        return np.flatnonzero((price < -TOL) & ~closed)

    def _group_terms(
        self, node: Node, lp: MasterSolution
    ) -> tuple[NDArray[np.float64], float]:
        """Lagrangian terms of the node's group rows with the LP duals.

        Returns the amount to subtract from each centre's knapsack value
        and the constant ``sum_G rho_G * (lo_G or hi_G)``; duals whose sign
        does not match a finite bound are dropped, so the value stays a
        valid bound.
        """
        adj, const = np.zeros(self.master.m), 0.0
        for g, (lo, hi) in node.group_bounds().items():
            rho = float(lp.rho[g])
            if (rho > 0 and not math.isfinite(lo)) or (
                rho < 0 and not math.isfinite(hi)
            ):
                rho = 0.0
            if rho:
                adj += rho * self.master.groups[g]
                const += rho * (lo if rho > 0 else hi)
        return adj, const

    def _enumerate(
        self, node: Node, lp: MasterSolution, bound: float, deadline: float
    ) -> float:
        """Step 6: raise the bound of ``node`` by enumeration; inf when solved.

        Picks the largest target T whose columns number at most
        ``enumerate_limit``; a set-partitioning MIP over them without a
        solution costing <= T lifts the bound to T + 1, one with a solution
        solves the node. Repeats until pruned or the columns are too many.
        """
        reduced = self.cost - lp.u[:, None]
        values, _ = knapsack_columns(reduced, node.allowed, self.demand, self.capacity)
        adj, const = self._group_terms(node, lp)
        groups = [
            (self.master.groups[g], lo, hi)
            for g, (lo, hi) in node.group_bounds().items()
        ]
        while not self._pruned(bound) and not self._out(deadline):
            found = self._largest_pool(node, lp, reduced, values, bound, adj, const)
            if found is None:
                return bound
            target, pool = found
            left = max(deadline - time.perf_counter(), 0.1)
            solved = partition_mip(
                self.cost, *pool, self.p, target + 1, left, node.opened, True, groups
            )
            self.work += 1
            if solved is not None and solved[0] is not None:
                self._offer(solved[0])
            if solved is not None and not solved[1]:
                return bound
            if solved is not None and solved[0] is not None:
                return math.inf
            bound = max(bound, target + 1)
        return bound

    def _largest_pool(
        self,
        node: Node,
        lp: MasterSolution,
        reduced: NDArray[np.float64],
        values: NDArray[np.float64],
        bound: float,
        adj: NDArray[np.float64],
        const: float,
    ) -> tuple[int, tuple[NDArray[np.bool_], NDArray[np.int64]]] | None:
        """Largest target up to incumbent - 1 with few enough columns.

        Enumerates up to the incumbent (at most ``8 * enumerate_limit``
        columns; the target is halved towards the bound while there are
        more), ranks the columns by the least cost of a solution using
        them and keeps the ``enumerate_limit`` cheapest whole targets.
        """
        low = math.ceil(bound - TOL)
        top = int(self.best) - 1 if math.isfinite(self.best) else low
        terms = (lp, reduced, values, adj, const)
        found = self._pool(node, *terms, top, 8 * self.enumerate_limit)
        while found is None and top > low:
            top = (low + top) // 2
            found = self._pool(node, *terms, top, 8 * self.enumerate_limit)
        if found is None:
            return None
        members, centre, least = found
        if len(centre) > self.enumerate_limit:
            top = math.ceil(np.sort(least)[self.enumerate_limit] - TOL) - 1
        keep = least <= top + TOL
        if top < low or keep.sum() > self.enumerate_limit:
            return None
        return top, (members[keep], centre[keep])

    def _pool(
        self,
        node: Node,
        lp: MasterSolution,
        reduced: NDArray[np.float64],
        values: NDArray[np.float64],
        adj: NDArray[np.float64],
        const: float,
        target: int,
        limit: int,
    ) -> tuple[NDArray[np.bool_], NDArray[np.int64], NDArray[np.float64]] | None:
        """Columns of solutions of ``node`` costing <= ``target``.

        Returns members, centres and the least cost of a solution using
        each column; None beyond ``limit`` columns.
        """
        slack = adj + column_slack(
            float(lp.u.sum()) + const,
            values - adj,
            self.p,
            node.closed,
            node.opened,
            target,
        )
        found = columns_within(
            reduced, node.allowed, self.demand, self.capacity, values, slack, limit
        )
        if found is None:
            return None
        members, centre = found
        own = (members * reduced[:, centre].T).sum(axis=1)
        return members, centre, own + target - slack[centre]

    def _improve(self, lp: MasterSolution) -> None:
        """Incumbents by locate-allocate from the LP's most used centres."""
        y = np.bincount(self.master.pool()[1], lp.lam, self.master.m)
        starts = [np.argsort(-y, kind="stable")[: self.p]]
        if self.best_assignment is not None:
            starts.append(np.unique(self.best_assignment))
        for centres in starts:
            better = locate_allocate(
                self.cost,
                self.allowed,
                self.demand.astype(float),
                self.capacity,
                centres,
            )
            if better is not None:
                self._offer(better)

    def _branch(
        self, node: Node, bound: float, lp: MasterSolution, seq: int, deadline: float
    ) -> list[Node]:
        """Children of a fractional node; none when ``lp`` is integral."""
        members, median = self.master.pool()
        y = np.bincount(median, lp.lam, self.master.m).astype(float)
        x = np.zeros(self.allowed.shape)
        np.add.at(x.T, median, members * lp.lam[:, None])
        frac_y = np.abs(y - np.round(y))
        groups = self._fractional_groups(y) if frac_y.max() > TOL else []
        if groups:
            return self._strong_group(node, bound, groups, seq, deadline)
        if frac_y.max() > TOL:
            return _centre_children(node, bound, int(np.argmax(frac_y)), seq)
        frac_x = np.abs(x - np.round(x))
        if frac_x.max() > TOL:
            i, j = np.unravel_index(int(np.argmax(frac_x)), frac_x.shape)
            return _pair_children(node, bound, int(i), int(j), seq)
        self._offer(np.argmax(x, axis=1).astype(np.int64))
        return []

    def _fractional_groups(
        self, y: NDArray[np.float64]
    ) -> list[tuple[NDArray[np.bool_], float]]:
        """Neighbourhoods of centres whose open count is fractional.

        Groups are the candidates within a radius of a fractional centre
        (radius: its distance to another open one, distances between
        candidates measured as the largest cost difference over units).
        Sorted most fractional first, then smallest; at most
        :data:`STRONG_CANDIDATES`.
        """
        support = np.flatnonzero(y > TOL)
        costs = np.where(self.allowed, self.cost, np.nan)
        found: dict[bytes, tuple[float, int, NDArray[np.bool_], float]] = {}
        for j in np.flatnonzero(np.abs(y - np.round(y)) > TOL):
            dist = np.nanmax(np.abs(costs[:, [j]] - costs), axis=0)
            for radius in np.unique(dist[support]):
                mask = dist <= radius + TOL
                total = float(y[mask].sum())
                score = min(total - math.floor(total), math.ceil(total) - total)
                if mask.sum() >= 2 and score > FRACTIONAL_GROUP:
                    found[mask.tobytes()] = (score, int(mask.sum()), mask, total)
        ranked = sorted(found.values(), key=lambda c: (-round(c[0], 6), c[1]))
        return [(mask, total) for _, _, mask, total in ranked[:STRONG_CANDIDATES]]

    def _strong_group(
        self,
        node: Node,
        bound: float,
        groups: list[tuple[NDArray[np.bool_], float]],
        seq: int,
        deadline: float,
    ) -> list[Node]:
        """Children on the group whose children's bounds rise most.

        Each candidate's two children are bounded by a few rounds of column
        generation (strong branching) and scored by the product of their
        gains; at a node within ``STRONG_GAP`` of the incumbent (or without
        one) the first group is taken as is. A child already pruned is not
        returned.
        """
        if self.best - bound <= STRONG_GAP * abs(self.best):
            return self._group_children(node, bound, *groups[0], seq)
        best: tuple[float, list[Node]] | None = None
        for mask, total in groups:
            children = self._group_children(node, bound, mask, total, seq)
            bounds = [
                self._column_generation(c, deadline, STRONG_ROUNDS)[0] for c in children
            ]
            children = [
                replace(c, bound=max(bound, b))
                for c, b in zip(children, bounds, strict=True)
            ]
            score = _product_score(bound, bounds)
            if best is None or score > best[0]:
                best = (score, children)
            if all(self._pruned(b) for b in bounds) or self._out(deadline):
                break
        assert best is not None
        return [c for c in best[1] if not self._pruned(c.bound)]

    def _group_children(
        self,
        node: Node,
        bound: float,
        mask: NDArray[np.bool_],
        total: float,
        seq: int,
    ) -> list[Node]:
        """``sum_{j in mask} y_j <= floor(total)`` and ``>= ceil(total)``."""
        g = self.master.add_group(mask)
        rows = [
            (g, -math.inf, float(math.floor(total))),
            (g, float(math.ceil(total)), math.inf),
        ]
        return [
            replace(node, bound=bound, seq=seq + side, groups=(*node.groups, row))
            for side, row in enumerate(rows)
        ]

    def _result(
        self, heap: list[Node], root_bound: float, nodes: int, deadline: float
    ) -> BranchPriceResult:
        open_bounds = [nd.bound for nd in heap if not self._pruned(nd.bound)]
        hit = bool(open_bounds)
        bound = min([self.best, *open_bounds])
        bound = math.ceil(bound - TOL) if math.isfinite(bound) else bound
        if self.best_assignment is None:
            status = "unknown" if hit else "infeasible"
        else:
            status = "feasible" if hit else "optimal"
        return BranchPriceResult(
            status,
            self.best,
            float(bound),
            self.best_assignment,
            root_bound,
            nodes,
            self.master.n_columns,
            hit,
        )


def _price_points(
    u: NDArray[np.float64], centre: NDArray[np.float64] | None
) -> list[NDArray[np.float64]]:
    """Smoothed duals first (when a stability centre exists), then ``u``."""
    if centre is None:
        return [u]
    return [SMOOTHING * centre + (1 - SMOOTHING) * u, u]


def _product_score(parent: float, bounds: list[float]) -> float:
    """Strong-branching score: product of the children's bound gains."""
    gains = [max(b - parent, 1e-6) for b in bounds]
    return float(np.prod(np.minimum(gains, 1e12)))


def _centre_children(node: Node, bound: float, j: int, seq: int) -> list[Node]:
    opened = node.opened.copy()
    opened[j] = True
    closed = node.closed.copy()
    closed[j] = True
    allowed = node.allowed.copy()
    allowed[:, j] = False
    return [
        Node(bound, seq, node.allowed, opened, node.closed),
        Node(bound, seq + 1, allowed, node.opened, closed),
    ]


def _pair_children(node: Node, bound: float, i: int, j: int, seq: int) -> list[Node]:
    only = node.allowed.copy()
    only[i] = False
    only[i, j] = True
    opened = node.opened.copy()
    opened[j] = True
    never = node.allowed.copy()
    never[i, j] = False
    return [
        Node(bound, seq, only, opened, node.closed),
        Node(bound, seq + 1, never, node.opened, node.closed),
    ]
