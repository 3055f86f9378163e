"""Design mode: choose p territory centres and assign units under capacity.

The capacitated p-median. With integral workloads and capacities and no
balance band it is solved by branch-and-price over a set-partitioning
model (:mod:`spmopt.territory.branchprice`). Larger models without a band
get a sparse Lagrangian bound, centres from a dived linear relaxation and
locate-allocate (:mod:`spmopt.territory.designlp`); larger models with a
band, by banded locate-allocate (allocation by
:class:`~spmopt.territory.lpround.LPRoundModel` with the centres fixed,
alternating with moving the centres). Otherwise CP-SAT runs after a
Lagrangian bound has removed every centre and pair that cannot improve on
a quickly found incumbent (see :mod:`spmopt.territory.lagrange`).
"""

from __future__ import annotations

import functools
import math
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from spmopt._logging import logger
from spmopt._stoppable import solve_cp_sat
from spmopt.errors import SpmoptWarning
from spmopt.territory.branchprice import (
    WORK_PER_SECOND,
    BranchAndPrice,
    BranchPriceResult,
)
from spmopt.territory.designlp import (
    BAND_NEIGHBOURS,
    CANDIDATES_PER_CENTRE,
    PAIRS_PER_CENTRE,
    BandLocateAllocate,
    Budget,
    CentreDive,
    SparseBound,
    SparsePairs,
    assign_nearest,
    band_measures,
    lagrangian,
    locate_allocate_nearest,
    sparse_pairs,
    subgradient,
)
from spmopt.territory.geometry import nearest_mask
from spmopt.territory.lagrange import (
    DP_CELLS,
    knapsack_cells,
    lagrangian_bound,
    reduced_cost_fixing,
)
from spmopt.territory.model import SolverSettings, _apply, _warn_limit
from spmopt.territory.scaling import band_to_int, cost_scale, row_scale, to_int

GREEDY_SECONDS = 5.0
"""Longest run of the transportation LP of the start of branch-and-price, s
(a guard only: it solves in milliseconds on the OR-Library instances)."""

BOUND_SHARE = 0.4
"""Share of the time limit the Lagrangian phase of the CP-SAT path may use."""

KNAPSACK_CELLS_PER_SECOND = 1.5e7
"""Unit-candidate pairs per deterministic second of fractional knapsacks in
the Lagrangian phase (measured 1.0-2.9e7 per wall second on county groups
of 150-370 units and random models of 60-200)."""

DP_CELLS_PER_SECOND = 1.0e8
"""Pair-capacity cells per deterministic second of exact knapsacks
(measured 0.7-1.3e8 per wall second on random models of 60-200 units)."""

REGRET_CELLS_PER_SECOND = 8.0e6
"""Unit-candidate pairs per deterministic second of the regret heuristic
(measured 4.6-11.5e6 per wall second on county groups)."""

LARGE_PAIRS = 200_000
"""Above this many allowed pairs: the :mod:`designlp` path without a band;
above this many finite pairs with one (whatever ``k_nearest``), its banded
locate-allocate (:class:`~spmopt.territory.designlp.BandLocateAllocate`)."""

BAND_BOUND_SHARE = 0.3
"""Share of the time limit the Lagrangian bounds of a large banded design
may use."""

NEAREST_LARGE = 10
"""Centres per unit CP-SAT sees on large models (plus the incumbent's)."""

HEURISTIC_CALLS_LARGE = 3
"""Regret heuristic calls allowed in the Lagrangian phase of large models."""

LARGE_BOUND_SHARE = 0.2
"""Share of the time limit the sparse Lagrangian bound of large models may use."""

LARGE_DIVE_SHARE = 0.75
"""Share of the time limit after which the dive of large models stops."""

REGION_TERRITORIES = 4
"""Neighbouring territories re-solved together when improving large designs."""

REGION_SECONDS = 5.0
"""Time limit of one such re-solve, s."""

REGION_SITES = 3
"""Nearest candidates of each unit offered as centres in a re-solve."""

REGION_NEAREST = 40
"""Sites each unit may join in a re-solve, besides the group's centres: on
the counties into 50 a group of 365 units had 398 sites, and CP-SAT took
7 s on all 145,270 pairs without improving the group."""

POLISH_MARGIN = 0.25
"""Wall seconds before the time limit at which re-solves stop (no work limit),
left for the steps after them."""

REGION_WORK_SCALE = {"branch-and-price": 1.5, "cp-sat": 2.0}
"""Deterministic seconds of the large path per deterministic second a
re-solve reports, so that either is about a wall second here: measured on
the synthetic 1000x50 and 2000x100 designs, where 60 deterministic seconds
took 51 and 58 s with branch-and-price groups counted at 1.5 (16 and 29 s
at 5, before master LPs were counted by size); CP-SAT's at about twice."""


@dataclass(frozen=True)
class DesignResult:
    """Outcome of a design solve (fields as :class:`SolveResult`, plus centres).

    Attributes
    ----------
    status : {"optimal", "feasible", "infeasible", "unknown"}
    objective, bound, gap, seconds : float
        Cost units (e.g. km), relative gap, wall seconds.
    assignment : ndarray of int, shape (n_units,)
        Candidate index of each unit's centre.
    centres : ndarray of int, shape (p,)
        Chosen candidate indices, ascending.
    lagrange_bound : float
        Bound from the Lagrangian dual alone (the root Dantzig-Wolfe bound
        under branch-and-price).
    pairs_kept : int
        Pairs left after reduced-cost fixing (all allowed pairs under
        branch-and-price).
    method : {"branch-and-price", "cp-sat", "lp-dive", "band-locate-allocate"}
    nodes : int
        Branch-and-price nodes solved (0 for CP-SAT).
    work_seconds : float
        Work done, deterministic seconds (reproducible): branch-and-price
        work units over ``WORK_PER_SECOND``, CP-SAT's deterministic time,
        or the large path's count (:class:`~spmopt.territory.designlp.Budget`).
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float
    assignment: NDArray[np.int64] = field(repr=False)
    centres: NDArray[np.int64] = field(repr=False)
    hit_limit: bool = False
    lagrange_bound: float = float("nan")
    pairs_kept: int = 0
    method: str = "cp-sat"
    nodes: int = 0
    work_seconds: float = 0.0

    @property
    def has_solution(self) -> bool:
        """True when an alignment was found."""
        return self.status in ("optimal", "feasible")


class PMedianModel:
    """Capacitated p-median by branch-and-price, or CP-SAT with bands.

    Formulation (i: units, j: candidate centres, x_ij, y_j binary):

    1. ``sum_j x_ij = 1`` for every unit i.
    2. ``x_ij <= y_j`` (a unit only joins an open centre).
    3. ``sum_j y_j = p``.
    4. ``sum_i w_i x_ij <= C_j y_j`` (capacity of each centre).
    5. ``sum_j C_j y_j >= sum_i w_i`` (aggregate capacity, a valid cut).
    6. ``L y_j <= sum_i v_i x_ij <= U y_j`` (optional balance band).
    7. Minimise ``z = sum_ij c_ij x_ij`` with ``z >= LB``, the Lagrangian
       bound; pairs and centres whose reduced cost lifts LB to the best
       known cost UB are removed beforehand and the search starts from the
       UB solution.

    Without a balance band (6), with integral workloads and capacities and
    a knapsack table of at most ``DP_CELLS`` cells, (1-5) are solved as
    the equivalent set-partitioning model by
    :class:`~spmopt.territory.branchprice.BranchAndPrice` instead (columns:
    a centre with the units it serves); costs are scaled to integers as
    for CP-SAT, so ``ceil(bound) >= incumbent`` proves optimality.

    Without a band and above ``LARGE_PAIRS`` allowed pairs (even where
    branch-and-price would apply: on 467 counties into 20 centres it found
    no design in 40 s), the bound is the Lagrangian dual of
    (1) over fractional knapsacks, which equals the linear relaxation of
    (1-4) and holds for the full model; the design comes from a dive of
    that relaxation over the most promising centres, locate-allocate, and
    CP-SAT over each unit's nearest centres for the time left
    (:mod:`spmopt.territory.designlp`).

    With a band (6) and above ``LARGE_PAIRS`` finite pairs, the design
    comes from :class:`~spmopt.territory.designlp.BandLocateAllocate`:
    territories of equal value by recursive bisection, then allocation
    with the centres fixed (a rebalance by
    :class:`~spmopt.territory.lpround.LPRoundModel`, each unit to its
    ``k_nearest`` nearest *open* centres, ``BAND_NEIGHBOURS`` when None)
    alternating with moving each centre to its territory's cheapest site.
    There ``k_nearest`` limits the open centres a unit may join, not the
    candidates: every candidate may become a centre. The bound is the
    Lagrangian dual of (1) without (6): over fractional knapsacks of
    workload within capacity and of each band's values within its maximum,
    the larger of the two. It holds for the banded model, of which it is a
    relaxation, but is weaker than the linear relaxation of (1-6): it does
    not see the band minimum, nor both rows at once, so part of the
    reported gap is the bound's.

    Parameters
    ----------
    cost : ndarray of shape (n, m)
        Unit-to-candidate costs (e.g. km); ``inf`` forbids a pair.
    demand : ndarray of shape (n,)
        Workload per unit.
    capacity : ndarray of shape (m,)
        Workload capacity of each candidate centre.
    p : int
        Number of centres to open.
    k_nearest : int, optional
        Keep only each unit's k nearest candidates (heuristic for scale;
        on the large banded path, its k nearest open centres).
    """

    def __init__(
        self,
        cost: NDArray[np.float64],
        demand: NDArray[np.float64],
        capacity: NDArray[np.float64],
        p: int,
        k_nearest: int | None = None,
    ) -> None:
        self.cost = np.asarray(cost, dtype=float)
        self.demand = np.asarray(demand, dtype=float)
        self.capacity = np.asarray(capacity, dtype=float)
        self.p = int(p)
        self.k_nearest = k_nearest
        self.allowed = np.isfinite(self.cost) & nearest_mask(self.cost, k_nearest)
        self.bands: list[tuple[NDArray[np.float64], float, float]] = []
        self.sites: tuple[NDArray[np.float64], NDArray[np.float64], str] | None = None
        self.factor = cost_scale(np.where(self.allowed, self.cost, 0.0))
        self._fix_work = 0.0  # deterministic s of the last Lagrangian phase
        self.icost = to_int(np.where(self.allowed, self.cost, 0.0), self.factor)

    def add_balance(
        self, values: NDArray[np.float64], low: float, high: float
    ) -> PMedianModel:
        """Constraint 6: each open centre's sum of ``values`` within [low, high]."""
        self.bands.append((np.asarray(values, dtype=float), low, high))
        return self

    def locate_sites(
        self, lat: NDArray[np.float64], lon: NDArray[np.float64], coords: str
    ) -> PMedianModel:
        """Candidate locations (degrees, or x/y with ``coords="xy"``), shape (m,).

        Optional: the large banded path uses them to find the centres
        nearest a territory whose band it mends.
        """
        self.sites = (
            np.asarray(lat, dtype=float),
            np.asarray(lon, dtype=float),
            coords,
        )
        return self

    @property
    def takes_band_path(self) -> bool:
        """True when :meth:`solve` designs by banded locate-allocate (a band,
        more than ``LARGE_PAIRS`` finite pairs, at most one banded measure
        besides workload and unit count)."""
        if not self.bands or np.isfinite(self.cost).sum() <= LARGE_PAIRS:
            return False
        return band_measures(self.bands, self.demand) is not None

    @property
    def reach(self) -> NDArray[np.bool_]:
        """Pairs a design may use: the allowed ones, or every finite pair on
        the large banded path (where ``k_nearest`` counts open centres)."""
        return np.isfinite(self.cost) if self.takes_band_path else self.allowed

    def solve(
        self,
        settings: SolverSettings | None = None,
        use_bounds: bool = True,
        large: bool = True,
    ) -> DesignResult:
        """Branch-and-price, the large-model path, or CP-SAT (see class notes).

        ``use_bounds=False`` solves the plain formulation (1-6) with CP-SAT;
        ``large=False`` keeps large models on CP-SAT after Lagrangian fixing
        (the earlier method, kept for comparison).
        """
        settings = settings or SolverSettings()
        start = time.perf_counter()
        small = not (large and self._is_large)
        if use_bounds and self.uses_branch_and_price and small:
            result = self._branch_and_price(settings, start)
        else:
            result = self._cp_sat(settings, start, use_bounds, large)
        logger.info(
            "territory design (%s): %d units, %d candidates, p=%d, pairs kept %d, "
            "status %s, objective %.6g, bound %.6g, %.2f s",
            result.method,
            *self.cost.shape,
            self.p,
            result.pairs_kept,
            result.status,
            result.objective,
            result.bound,
            result.seconds,
        )
        if result.hit_limit:
            _warn_limit(settings, result.status, result.gap)
        return result

    @property
    def _is_large(self) -> bool:
        return bool(self.allowed.sum() > LARGE_PAIRS)

    def _solve_small(self, settings: SolverSettings) -> DesignResult:
        """Branch-and-price or CP-SAT, never :meth:`_large`; no log, no warning.

        The result's ``work_seconds`` is the work done (deterministic s).
        """
        start = time.perf_counter()
        if self.uses_branch_and_price:
            return self._branch_and_price(settings, start)
        return self._cp_sat(settings, start, True, large=False)

    @property
    def uses_branch_and_price(self) -> bool:
        """True when branch-and-price applies (:meth:`solve` also needs a model
        of at most ``LARGE_PAIRS`` allowed pairs; see class notes)."""
        if self.bands:
            return False
        capacity = self._int_capacity()
        if capacity is None:
            return False
        n, m = self.cost.shape
        return n * m * (int(capacity.max()) + 1) <= DP_CELLS

    def _int_capacity(self) -> NDArray[np.int64] | None:
        """Capacities capped at the total workload and rounded down.

        Rounding down is exact when workloads are integral; None otherwise.
        """
        if not np.all(np.mod(self.demand, 1) == 0):
            return None
        capped = np.minimum(self.capacity, self.demand.sum())
        return np.floor(capped + 1e-9).astype(np.int64)

    def _branch_and_price(self, settings: SolverSettings, start: float) -> DesignResult:
        capacity = self._int_capacity()
        assert capacity is not None
        solver = BranchAndPrice(
            self.icost,
            self.allowed,
            self.demand.astype(np.int64),
            capacity,
            self.p,
            relative_gap=settings.relative_gap,
            work_limit=_work_units(settings),
        )
        left = max(settings.time_limit_seconds - (time.perf_counter() - start), 0.1)
        found = self._from_branch(solver.solve(left, self._greedy_start()), start)
        return replace(found, work_seconds=solver.work / WORK_PER_SECOND)

    def _greedy_start(self) -> NDArray[np.int64] | None:
        """A quick design to start branch-and-price from, or None.

        Centres added one at a time, each the candidate that most lowers the
        total cost of every unit to its nearest open centre (capacity
        aside), then units assigned by the rounded transportation relaxation
        and improved by moves and swaps. So a search stopped early still
        returns a design.
        """
        cost = np.where(self.allowed, self.cost, np.inf)
        nearest = np.full(len(cost), np.inf)
        centres: list[int] = []
        for _ in range(self.p):
            total = np.minimum(nearest[:, None], cost).sum(axis=0)
            total[centres] = np.inf
            if not np.isfinite(total).any() and centres:
                total = np.where(np.isin(np.arange(len(total)), centres), np.inf, 0.0)
            j = int(np.argmin(total))
            centres.append(j)
            nearest = np.minimum(nearest, cost[:, j])
        chosen = np.sort(np.array(centres, dtype=np.int64))
        budget = Budget.wall(GREEDY_SECONDS)
        return assign_nearest(
            cost, self.demand, self.capacity, chosen, budget, self.p, exact=False
        )

    def _from_branch(self, found: BranchPriceResult, start: float) -> DesignResult:
        seconds = time.perf_counter() - start
        kept, empty = int(self.allowed.sum()), np.empty(0, dtype=np.int64)
        lagrange = found.root_bound / self.factor
        if found.assignment is None:
            nan = float("nan")
            return DesignResult(
                found.status, nan, nan, nan, seconds, empty, empty,
                found.hit_limit, lagrange, kept, "branch-and-price", found.nodes,
            )  # fmt: skip
        assignment = found.assignment
        objective = float(self.cost[np.arange(len(assignment)), assignment].sum())
        spread = found.objective - found.bound
        return DesignResult(
            found.status,
            objective,
            objective - spread / self.factor,
            spread / max(abs(found.objective), 1e-9),
            seconds,
            assignment,
            np.unique(assignment),
            found.hit_limit,
            lagrange,
            kept,
            "branch-and-price",
            found.nodes,
        )

    def _cp_sat(
        self,
        settings: SolverSettings,
        start: float,
        use_bounds: bool,
        large: bool = True,
    ) -> DesignResult:
        """Incumbent, Lagrangian fixing, then the exact CP-SAT model.

        Large models without a band go to :meth:`_large`, large banded ones
        to :meth:`_large_banded`, unless ``large`` is False.
        """
        if large and use_bounds and not self.bands and self._is_large:
            return self._large(settings, start)
        if large and use_bounds and self.takes_band_path:
            return self._large_banded(settings, start)
        keep, centre, lower, incumbent = self.allowed, None, -math.inf, None
        self._fix_work = 0.0
        if use_bounds:
            guard = start + BOUND_SHARE * settings.time_limit_seconds
            work = settings.deterministic_time
            if work is not None:  # the work limit decides; the clock only guards
                guard, work = start + settings.time_limit_seconds, BOUND_SHARE * work
            keep, centre, lower, incumbent = self._fix(guard, work)
        restricted = bool(keep.sum() > LARGE_PAIRS)
        if restricted:
            keep = keep & nearest_mask(np.where(keep, self.cost, np.inf), NEAREST_LARGE)
            if incumbent is not None:
                keep[np.arange(len(incumbent)), incumbent] = True
        left = max(settings.time_limit_seconds - (time.perf_counter() - start), 0.1)
        final = replace(settings, time_limit_seconds=left)
        if settings.deterministic_time is not None:
            rest = max(settings.deterministic_time - self._fix_work, 1e-3)
            final = replace(final, deterministic_time=rest)
        result = self._exact(keep, centre, lower, incumbent, final, start)
        if not result.has_solution and incumbent is not None:
            return self._from_incumbent(incumbent, lower, start)
        if restricted and result.has_solution:
            return self._with_lagrange_bound(result, lower)
        if restricted and result.status == "infeasible":
            return self._none_nearby(result)
        return result

    def _none_nearby(self, result: DesignResult) -> DesignResult:
        """A restricted model proven empty: say so; the full model may not be."""
        warnings.warn(
            f"no balanced design exists among each unit's {NEAREST_LARGE} "
            f"nearest centres, the only ones searched when a balance band "
            f"meets more than {LARGE_PAIRS:,} unit-centre pairs; one with "
            "farther centres may exist: with design.k_nearest at most "
            f"{LARGE_PAIRS // len(self.demand)} every allowed pair is searched",
            SpmoptWarning,
            stacklevel=4,
        )
        return replace(result, status="unknown")

    def _large(self, settings: SolverSettings, start: float) -> DesignResult:
        """Sparse Lagrangian bound, LP dive, locate-allocate, group re-solves.

        See :mod:`spmopt.territory.designlp`; the bound holds for the full
        model, every pair allowed. Each step stops at its share of the
        time limit, or of ``settings.deterministic_time`` when set (work,
        so the design repeats exactly; the time limit is then a guard).
        """
        budget = Budget.of(
            start, settings.time_limit_seconds, settings.deterministic_time
        )
        cost = np.where(self.allowed, self.cost, np.inf)
        if self._whole_costs:  # checked once, within the time limit
            logger.debug("design costs are whole: the bound is rounded up")
        pairs = sparse_pairs(cost, PAIRS_PER_CENTRE * math.ceil(len(cost) / self.p))
        lower = subgradient(
            pairs, self.demand, self.capacity, self.p, budget.share(LARGE_BOUND_SHARE)
        )
        _log_step("bound", budget, start, lower.iterations)
        centres, lower = self._dive(cost, pairs, lower, budget.share(LARGE_DIVE_SHARE))
        _log_step("dive", budget, start)
        found = locate_allocate_nearest(
            cost, self.allowed, self.demand, self.capacity, centres, budget
        )
        if found is None and not budget.exhausted():
            found = assign_nearest(
                cost, self.demand, self.capacity, centres, budget, len(centres)
            )
        _log_step("locate-allocate", budget, start)
        if found is None:
            return self._large_result(None, lower, budget.exhausted(), budget)
        return self._polish(found, lower, settings, budget)

    def _large_banded(self, settings: SolverSettings, start: float) -> DesignResult:
        """Lagrangian bounds, then banded locate-allocate (see class notes).

        Each step stops at its share of the time limit, or of
        ``settings.deterministic_time`` when set (the time limit then only
        guards).
        """
        budget = Budget.of(
            start, settings.time_limit_seconds, settings.deterministic_time
        )
        k = self.k_nearest or BAND_NEIGHBOURS
        search = BandLocateAllocate(
            self.cost, self.demand, self.capacity, self.bands, self.p, k, self.sites
        )
        first = search.start(budget)
        share = budget.part(BAND_BOUND_SHARE)
        lower = self._band_bound(share, search.value(first))
        _log_step("bound", budget, start, lower.iterations)
        found = search.solve(settings, budget, first)
        _log_step("banded locate-allocate", budget, start)
        hit = budget.exhausted()
        within = found is not None and (
            self._large_gap(found, lower) <= settings.relative_gap
        )
        result = self._large_result(found, lower, hit and not within, budget, within)
        kept = int(np.isfinite(self.cost).sum())
        return replace(result, method="band-locate-allocate", pairs_kept=kept)

    def _band_bound(self, budget: Budget, upper: float) -> SparseBound:
        """Best Lagrangian bound without the band minimum (see class notes).

        One knapsack family per finite row: workload within capacity, each
        band's values within its maximum (workload within capacity when
        neither is finite); each gets an equal part of ``budget``. ``upper``
        (the cost of a design, cost units) is the subgradient's target.
        """
        n, m = self.cost.shape
        pairs = sparse_pairs(self.cost, PAIRS_PER_CENTRE * math.ceil(n / self.p))
        sacks = [(v, np.full(m, high)) for v, _, high in self.bands if high < np.inf]
        if np.isfinite(self.capacity).any() or not sacks:
            sacks.insert(0, (self.demand, self.capacity))
        best: SparseBound | None = None
        for index, (weight, room) in enumerate(sacks):
            part = budget.part((index + 1) / len(sacks))
            found = subgradient(pairs, weight, room, self.p, part, upper=upper)
            if best is None or found.bound > best.bound:
                best = found
        assert best is not None
        return best

    def _dive(
        self,
        cost: NDArray[np.float64],
        pairs: SparsePairs,
        lower: SparseBound,
        budget: Budget,
    ) -> tuple[NDArray[np.int64], SparseBound]:
        """Centres from the dived relaxation over the cheapest knapsacks.

        Also returns the better of ``lower`` and the bound at the
        relaxation's duals. Without a relaxation, the centres are the ``p``
        cheapest knapsacks.
        """
        pool = np.argsort(lower.values, kind="stable")[: CANDIDATES_PER_CENTRE * self.p]
        dive = CentreDive(cost, self.demand, self.capacity, self.p, np.sort(pool))
        centres = dive.dive(budget)
        if centres is None:
            centres = np.sort(pool[: self.p])
        if dive.duals is not None:
            lower = _better_bound(lower, pairs, dive.duals, self)
        return centres, lower

    def _polish(
        self,
        incumbent: NDArray[np.int64],
        lower: SparseBound,
        settings: SolverSettings,
        budget: Budget,
    ) -> DesignResult:
        """Re-solve groups of neighbouring territories exactly while budget lasts.

        Every territory in turn, with its ``REGION_TERRITORIES - 1`` nearest
        neighbours (mean cost of its units to their centres), is solved as
        its own capacitated p-median over its units and their nearest
        candidates (branch-and-price or CP-SAT, at most ``REGION_SECONDS``
        of time or of work); a cheaper result replaces it. Passes repeat
        until one improves nothing or the gap is within
        ``settings.relative_gap``; a group (territories and units) already
        solved is skipped. Without a work limit they stop ``POLISH_MARGIN``
        s before the time limit.
        """
        assignment, seen = incumbent.copy(), set[bytes]()
        improved, hit = True, False
        if not budget.counts_work:
            budget = replace(budget, deadline=budget.deadline - POLISH_MARGIN)
        while improved and not hit:
            improved = False
            for t in np.unique(assignment):
                if self._large_gap(assignment, lower) <= settings.relative_gap:
                    return self._large_result(assignment, lower, False, budget, True)
                if budget.exhausted():
                    hit = True
                    break
                improved |= self._region(assignment, int(t), settings, budget, seen)
        _log_step("polish", budget, budget.begin)
        return self._large_result(assignment, lower, hit, budget)

    def _large_bound(self, lower: SparseBound) -> float:
        """The bound in cost units, rounded up when every allowed cost is whole."""
        if self._whole_costs:
            return float(math.ceil(lower.bound - 1e-6))
        return lower.bound

    @functools.cached_property
    def _whole_costs(self) -> bool:
        """True when every finite cost is a whole number (checked once: on
        3,109 counties the check takes a tenth of a second); the bound holds
        with every finite pair allowed."""
        return bool(np.all(np.mod(self.cost[np.isfinite(self.cost)], 1) == 0))

    def _large_gap(self, assignment: NDArray[np.int64], lower: SparseBound) -> float:
        objective = float(self.cost[np.arange(len(assignment)), assignment].sum())
        return (objective - self._large_bound(lower)) / max(abs(objective), 1e-9)

    def _region(
        self,
        assignment: NDArray[np.int64],
        t: int,
        settings: SolverSettings,
        budget: Budget,
        seen: set[bytes],
    ) -> bool:
        """Re-solve territory ``t`` with its neighbours, in place.

        Returns True when the group got cheaper. ``seen`` holds the groups
        (territories and their units) already solved without gain.
        """
        centres = np.unique(assignment)
        group = centres[np.argsort(_spread(self.cost, assignment, t, centres))]
        group = np.sort(group[:REGION_TERRITORIES])
        units = np.flatnonzero(np.isin(assignment, group))
        key = group.tobytes() + assignment[units].tobytes()
        if key in seen:
            return False
        seen.add(key)
        sites = self._sites(units, group, np.setdiff1d(centres, group))
        sub = PMedianModel(
            self._region_costs(units, sites, group),
            self.demand[units], self.capacity[sites], len(group),
        )  # fmt: skip
        scale = REGION_WORK_SCALE[
            "branch-and-price" if sub.uses_branch_and_price else "cp-sat"
        ]
        found = sub._solve_small(_region_settings(settings, budget, scale))
        budget.charge(found.work_seconds * scale)
        before = float(self.cost[units, assignment[units]].sum())
        if not found.has_solution or found.objective >= before - 1e-9:
            return False
        assignment[units] = sites[found.assignment]
        return True

    def _region_costs(
        self,
        units: NDArray[np.int64],
        sites: NDArray[np.int64],
        group: NDArray[np.int64],
    ) -> NDArray[np.float64]:
        """Costs of a group re-solve: each unit to its ``REGION_NEAREST``
        nearest ``sites`` and to every centre of ``group`` (so the current
        assignment stays feasible); ``inf`` elsewhere."""
        cost = np.where(
            self.allowed[np.ix_(units, sites)], self.cost[np.ix_(units, sites)], np.inf
        )
        keep = nearest_mask(cost, REGION_NEAREST) | np.isin(sites, group)[None, :]
        return np.where(keep, cost, np.inf)

    def _sites(
        self,
        units: NDArray[np.int64],
        group: NDArray[np.int64],
        taken: NDArray[np.int64],
    ) -> NDArray[np.int64]:
        """The ``group`` centres and the candidates near ``units``, not ``taken``."""
        near = np.where(self.allowed[units], self.cost[units], np.inf)
        k = min(REGION_SITES, near.shape[1])
        nearest = np.argpartition(near, k - 1, axis=1)[:, :k]
        sites = nearest[np.isfinite(np.take_along_axis(near, nearest, 1))]
        return np.setdiff1d(np.union1d(sites, group), taken)

    def _large_result(
        self,
        assignment: NDArray[np.int64] | None,
        lower: SparseBound,
        hit: bool,
        budget: Budget,
        within_gap: bool = False,
    ) -> DesignResult:
        """Design of :meth:`_large` with the full model's Lagrangian bound.

        Status "optimal" when the gap is zero or ``within_gap`` (the
        requested relative gap is reached), else "feasible".
        """
        seconds, kept = time.perf_counter() - budget.begin, int(self.allowed.sum())
        work = budget.meter.spent
        bound = self._large_bound(lower)
        if assignment is None:
            nan, empty = float("nan"), np.empty(0, dtype=np.int64)
            return DesignResult(
                "unknown", nan, bound, nan, seconds, empty, empty, hit,
                lower.bound, kept, "lp-dive", 0, work,
            )  # fmt: skip
        objective = float(self.cost[np.arange(len(assignment)), assignment].sum())
        bound = min(bound, objective)
        gap = (objective - bound) / max(abs(objective), 1e-9)
        status = "optimal" if gap <= 1e-9 or within_gap else "feasible"
        return DesignResult(
            status, objective, bound, gap, seconds, assignment,
            np.unique(assignment), hit, lower.bound, kept, "lp-dive", 0, work,
        )  # fmt: skip

    def _with_lagrange_bound(self, result: DesignResult, lower: float) -> DesignResult:
        """A design of the restricted model, bounded by the full model's bound.

        CP-SAT's own bound only holds for the nearest-centre pairs it saw.
        """
        rows = np.arange(len(result.assignment))
        int_obj = float(self.icost[rows, result.assignment].sum())
        spread = max(int_obj - lower, 0.0)
        return replace(
            result,
            status="optimal" if spread == 0 else "feasible",
            bound=result.objective - spread / self.factor,
            gap=spread / max(int_obj, 1e-9),
        )

    def _from_incumbent(
        self, incumbent: NDArray[np.int64], lower: float, start: float
    ) -> DesignResult:
        """The heuristic design with the Lagrangian bound (CP-SAT found none)."""
        rows = np.arange(len(incumbent))
        objective = float(self.cost[rows, incumbent].sum())
        spread = float(self.icost[rows, incumbent].sum()) - lower
        return DesignResult(
            "feasible",
            objective,
            objective - spread / self.factor,
            spread / max(float(self.icost[rows, incumbent].sum()), 1e-9),
            time.perf_counter() - start,
            incumbent,
            np.unique(incumbent),
            True,
            self._lagrange,
            int(self.allowed.sum()),
            work_seconds=self._fix_work,
        )

    def _fix(
        self, deadline: float | None = None, work: float | None = None
    ) -> tuple[
        NDArray[np.bool_], NDArray[np.int64] | None, float, NDArray[np.int64] | None
    ]:
        """Lagrangian bound with a regret heuristic, then reduced-cost fixing.

        Returns the pairs kept, fixed centres, the integer lower bound and
        the best solution found (None when the heuristic found none). At
        most ``work`` deterministic seconds of steps when given (else 600
        steps); the work done is kept in ``self._fix_work``.
        """
        rows = np.arange(self.cost.shape[0])
        best_cost: list[float] = [math.inf]
        best_a: list[NDArray[np.int64] | None] = [None]

        large = self.allowed.sum() > LARGE_PAIRS
        calls = [0]

        def heuristic(centres: NDArray[np.int64]) -> float | None:
            calls[0] += 1
            if large and calls[0] > HEURISTIC_CALLS_LARGE:
                return None
            found = self._regret_assign(centres)
            if found is None:
                return None
            cost = float(self.icost[rows, found].sum())
            if cost < best_cost[0]:
                best_cost[0], best_a[0] = cost, found
            return cost

        icost = np.where(self.allowed, self.icost.astype(float), np.inf)
        per_step = self._step_work()
        lb = lagrangian_bound(
            icost,
            self.demand,
            self.capacity,
            self.p,
            best_cost[0],
            iterations=600 if work is None else max(1, int(work / sum(per_step))),
            heuristic=heuristic,
            integral=True,
            deadline=deadline,
        )
        self._fix_work = lb.steps * per_step[0] + calls[0] * per_step[1]
        incumbent = best_a[0]
        self._lagrange = lb.bound / self.factor
        if incumbent is None:
            return self.allowed, None, math.ceil(lb.bound - 1e-6), None
        keep, centre = reduced_cost_fixing(lb, self.p, cutoff=best_cost[0])
        keep = keep & self.allowed
        keep[rows, incumbent] = True
        used = np.zeros(len(centre), dtype=bool)
        used[incumbent] = True
        centre[(centre == 0) & used] = -1
        centre[(centre == 1) & ~used] = -1
        self._lagrange = lb.bound / self.factor
        return keep, centre, math.ceil(lb.bound - 1e-6), incumbent

    def _step_work(self) -> tuple[float, float]:
        """Deterministic seconds of one subgradient step and one heuristic call.

        Per step, the knapsacks visit ``n * m`` pairs (times ``C + 1``
        capacity levels when solved exactly); the regret heuristic visits
        ``n * m`` pairs per call.
        """
        cells = float(self.cost.size)
        exact = knapsack_cells(self.demand, self.capacity)
        if exact is not None:
            return exact / DP_CELLS_PER_SECOND, cells / REGRET_CELLS_PER_SECOND
        return cells / KNAPSACK_CELLS_PER_SECOND, cells / REGRET_CELLS_PER_SECOND

    def _regret_assign(self, centres: NDArray[np.int64]) -> NDArray[np.int64] | None:
        """Greedy assignment to open ``centres`` by largest regret, in capacity.

        Units whose best and second-best remaining centres differ most are
        placed first. Returns None when a unit fits nowhere or a balance
        band is broken.
        """
        cost = np.where(self.allowed[:, centres], self.icost[:, centres], np.inf)
        room = self.capacity[centres].astype(float).copy()
        out = np.full(len(cost), -1, dtype=np.int64)
        left = np.ones(len(cost), dtype=bool)
        while left.any():
            fits = np.where(self.demand[:, None] <= room[None, :] + 1e-9, cost, np.inf)
            ordered = np.sort(fits, axis=1)
            second = ordered[:, 1] if fits.shape[1] > 1 else np.full(len(cost), 1e18)
            regret = np.where(left, np.minimum(second, 1e18) - ordered[:, 0], -np.inf)
            i = int(np.argmax(regret))
            if not np.isfinite(ordered[i, 0]):
                return None
            k = int(np.argmin(fits[i]))
            out[i], left[i] = centres[k], False
            room[k] -= self.demand[i]
        return out if self._bands_ok(out) else None

    def _bands_ok(self, assignment: NDArray[np.int64]) -> bool:
        m = self.allowed.shape[1]
        for values, low, high in self.bands:
            sums = np.bincount(assignment, values, m)[np.unique(assignment)]
            if (sums < low - 1e-9).any() or (sums > high + 1e-9).any():
                return False
        return True

    def _build(
        self,
        keep: NDArray[np.bool_],
        centre: NDArray[np.int64] | None,
        lower: float,
    ) -> tuple[cp_model.CpModel, dict, list, cp_model.LinearExpr]:
        n, m = keep.shape
        model = cp_model.CpModel()
        open_ = [model.new_bool_var(f"y_{j}") for j in range(m)]
        x = {
            (int(i), int(j)): model.new_bool_var(f"x_{i}_{j}")
            for i, j in zip(*np.nonzero(keep), strict=True)
        }
        by_centre: list[list[int]] = [[] for _ in range(m)]
        for i, j in x:
            by_centre[j].append(i)
            model.add_implication(x[i, j], open_[j])
        for i in range(n):
            model.add_exactly_one([x[i, int(j)] for j in np.flatnonzero(keep[i])])
        model.add(sum(open_) == self.p)
        self._add_rows(model, x, open_, by_centre)
        if centre is not None:
            for c in np.flatnonzero(centre >= 0):
                model.add(open_[int(c)] == int(centre[c]))
        keys = list(x)
        objective = cp_model.LinearExpr.weighted_sum(
            [x[k] for k in keys], [int(self.icost[k]) for k in keys]
        )
        if math.isfinite(lower):
            model.add(objective >= int(lower))
        model.minimize(objective)
        return model, x, open_, objective

    def _add_rows(
        self,
        model: cp_model.CpModel,
        x: dict[tuple[int, int], cp_model.IntVar],
        open_: list[cp_model.IntVar],
        by_centre: list[list[int]],
    ) -> None:
        wf = row_scale(self.demand)
        w = to_int(self.demand, wf)
        caps = []
        for j, units in enumerate(by_centre):
            cap = band_to_int(0.0, float(self.capacity[j]), wf)[1]
            caps.append(min(cap, int(w.sum())))
            load = _weighted(x, units, j, w)
            model.add(load <= caps[-1] * open_[j])
            for values, low, high in self.bands:
                vf = row_scale(values)
                lo, hi = band_to_int(low, high, vf)
                expr = _weighted(x, units, j, to_int(values, vf))
                model.add(expr <= min(hi, 2**50) * open_[j])
                model.add(expr >= max(lo, 0) * open_[j])
        total = int(w.sum())
        model.add(cp_model.LinearExpr.weighted_sum(open_, caps) >= total)

    def _read(self, solver: cp_model.CpSolver, x: dict) -> NDArray[np.int64]:
        out = np.full(self.cost.shape[0], -1, dtype=np.int64)
        for (i, j), var in x.items():
            if solver.boolean_value(var):
                out[i] = j
        return out

    def _exact(
        self,
        keep: NDArray[np.bool_],
        centre: NDArray[np.int64] | None,
        lower: float,
        incumbent: NDArray[np.int64] | None,
        settings: SolverSettings,
        start: float,
    ) -> DesignResult:
        model, x, _, _ = self._build(keep, centre, lower)
        interleaved = settings.deterministic and settings.workers > 1
        if incumbent is not None and not interleaved:
            for (i, j), var in x.items():
                model.add_hint(var, int(incumbent[i] == j))
        solver = cp_model.CpSolver()
        _apply(solver.parameters, settings)
        code = solve_cp_sat(solver, model)
        return self._result(solver, code, x, keep, start)

    def _result(
        self,
        solver: cp_model.CpSolver,
        code: Any,
        x: dict[tuple[int, int], cp_model.IntVar],
        keep: NDArray[np.bool_],
        start: float,
    ) -> DesignResult:
        seconds = time.perf_counter() - start
        lagrange = getattr(self, "_lagrange", float("nan"))
        hit = code in (cp_model.FEASIBLE, cp_model.UNKNOWN)
        kept = int(keep.sum())
        work = float(solver.deterministic_time) + self._fix_work
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            status = "infeasible" if code == cp_model.INFEASIBLE else "unknown"
            empty = np.empty(0, dtype=np.int64)
            return DesignResult(
                status,
                np.nan,
                np.nan,
                np.nan,
                seconds,
                empty,
                empty,
                hit,
                lagrange,
                kept,
                work_seconds=work,
            )
        assignment = self._read(solver, x)
        int_obj, int_bound = (
            solver.objective_value,
            min(solver.best_objective_bound, solver.objective_value),
        )
        gap = (int_obj - int_bound) / max(abs(int_obj), 1e-9)
        objective = float(self.cost[np.arange(len(assignment)), assignment].sum())
        bound = objective - (int_obj - int_bound) / self.factor
        status = "optimal" if code == cp_model.OPTIMAL else "feasible"
        centres = np.unique(assignment)
        return DesignResult(
            status,
            objective,
            bound,
            gap,
            seconds,
            assignment,
            centres,
            hit,
            lagrange,
            kept,
            work_seconds=work,
        )


def _work_units(settings: SolverSettings) -> int | None:
    """Branch-and-price work limit of ``settings.deterministic_time``."""
    if settings.deterministic_time is None:
        return None
    return max(1, round(settings.deterministic_time * WORK_PER_SECOND))


def _region_settings(
    settings: SolverSettings, budget: Budget, scale: float
) -> SolverSettings:
    """Settings of one group re-solve of :meth:`PMedianModel._polish`.

    At most ``REGION_SECONDS`` of time, or of the large path's work under a
    work limit (``scale`` of them per deterministic second of the re-solve;
    one worker; the time left is then only a guard); no gap tolerance.
    """
    if not budget.counts_work:
        left = min(REGION_SECONDS, budget.deadline - time.perf_counter())
        return replace(settings, time_limit_seconds=max(left, 0.01), relative_gap=0.0)
    return replace(
        settings,
        time_limit_seconds=budget.seconds_left(),
        deterministic_time=max(min(REGION_SECONDS, budget.work_left()) / scale, 1e-3),
        relative_gap=0.0,
        workers=1,
    )


def _log_step(step: str, budget: Budget, start: float, iterations: int = 0) -> None:
    """Debug line: a large-path step's end, in wall and deterministic seconds."""
    logger.debug(
        "design %s done: %.2f s, %.3f deterministic s%s",
        step,
        time.perf_counter() - start,
        budget.meter.spent,
        f", {iterations} steps" if iterations else "",
    )


def _quick(settings: SolverSettings, work: float) -> SolverSettings:
    """Short, reproducible settings for a heuristic sub-solve."""
    return replace(
        settings,
        time_limit_seconds=min(settings.time_limit_seconds / 10, 5.0),
        deterministic_time=work,
        relative_gap=0.0,
        workers=1,
    )


def _weighted(
    x: dict[tuple[int, int], cp_model.IntVar],
    units: list[int],
    j: int,
    coef: NDArray[np.int64],
) -> cp_model.LinearExprT:
    return cp_model.LinearExpr.weighted_sum(
        [x[i, j] for i in units], [int(coef[i]) for i in units]
    )


def _spread(
    cost: NDArray[np.float64],
    assignment: NDArray[np.int64],
    t: int,
    centres: NDArray[np.int64],
) -> NDArray[np.float64]:
    """Mean cost from the units of territory ``t`` to each of ``centres``."""
    members = assignment == t
    near = cost[np.ix_(members, centres)]
    return np.where(np.isfinite(near), near, 1e18).mean(axis=0)


def _better_bound(
    lower: SparseBound,
    pairs: SparsePairs,
    duals: NDArray[np.float64],
    model: PMedianModel,
) -> SparseBound:
    """``lower``, or the Lagrangian bound at the relaxation's duals if higher."""
    u = np.minimum(duals, pairs.ceiling)
    step = lagrangian(pairs, u, model.demand, model.capacity, model.p)
    if step.value <= lower.bound:
        return lower
    return SparseBound(step.value, u, step.values, lower.iterations)
