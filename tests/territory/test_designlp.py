"""Large-design helpers: sparse Lagrangian bound, LP dive, nearest allocation."""

from __future__ import annotations

import functools
import itertools
import time
import warnings
from collections.abc import Callable
from typing import Any

import highspy
import numpy as np
import pytest
from scipy import optimize, sparse

from spmopt.errors import TimeLimitWarning
from spmopt.territory import designlp
from spmopt.territory.allocate import allocate
from spmopt.territory.design import PMedianModel
from spmopt.territory.designlp import (
    NODES_PER_MIP,
    PAIR_STEPS_PER_SECOND,
    Budget,
    CentreDive,
    assign_nearest,
    balanced_split,
    band_measures,
    highs_work,
    lagrangian,
    locate_allocate_nearest,
    region_centres,
    rounded_assignment,
    sparse_pairs,
    subgradient,
)
from spmopt.territory.geometry import euclidean
from spmopt.territory.lagrange import knapsack_values
from spmopt.territory.model import SolverSettings

from .test_design import brute_force, instance


def planar(seed: int, n: int, p: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random points (every one a candidate), workloads, capacity 1.3 x mean."""
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 100, n), rng.integers(0, 100, n)
    demand = rng.integers(1, 10, n).astype(float)
    return np.floor(euclidean(x, y, x, y)), demand, np.full(n, demand.sum() / p * 1.3)


def compact(
    cost: np.ndarray, demand: np.ndarray, capacity: np.ndarray, p: int
) -> tuple[np.ndarray, np.ndarray, sparse.csr_matrix, np.ndarray, np.ndarray]:
    """The full strong model: x_ij (row-major) then y_j; rows = (1, 2, 3, 4)."""
    n, m = cost.shape
    nx = n * m
    pair = np.arange(nx).reshape(n, m)
    assign = sparse.csr_matrix(
        (np.ones(nx), (np.repeat(np.arange(n), m), pair.ravel())), (n, nx + m)
    )
    count = sparse.csr_matrix(
        (np.ones(m), (np.zeros(m), nx + np.arange(m))), (1, nx + m)
    )
    rows = np.concatenate([np.tile(np.arange(m), n), np.arange(m)])
    cols = np.concatenate([pair.ravel(), nx + np.arange(m)])
    load = sparse.csr_matrix(
        (np.concatenate([np.repeat(demand, m), -capacity]), (rows, cols)), (m, nx + m)
    )
    link = sparse.hstack([sparse.eye(nx), -sparse.vstack([sparse.eye(m)] * n)])
    matrix = sparse.vstack([assign, count, load, link]).tocsr()
    low = np.concatenate([np.ones(n), [p], np.full(m + nx, -np.inf)])
    high = np.concatenate([np.ones(n), [p], np.zeros(m + nx)])
    return np.concatenate([cost.ravel(), np.zeros(m)]), pair, matrix, low, high


def lp_value(cost: np.ndarray, demand: np.ndarray, cap: np.ndarray, p: int) -> float:
    c, _, matrix, low, high = compact(cost, demand, cap, p)
    found = optimize.linprog(
        c,
        A_ub=sparse.vstack([matrix, -matrix]),
        b_ub=np.concatenate([high, -low]).clip(-1e9, 1e9),
        bounds=(0, 1),
        method="highs",
    )
    assert found.status == 0
    return float(found.fun)


def mip_value(cost: np.ndarray, demand: np.ndarray, cap: np.ndarray, p: int) -> float:
    c, _, matrix, low, high = compact(cost, demand, cap, p)
    found = optimize.milp(
        c,
        constraints=optimize.LinearConstraint(matrix, low, high),
        integrality=np.ones(len(c)),
        bounds=optimize.Bounds(0, 1),
        options={"time_limit": 60},
    )
    assert found.status == 0
    return float(found.fun)


@pytest.mark.parametrize("k", [3, 6, 30])
def test_sparse_lagrangian_equals_dense_below_the_ceiling(k: int) -> None:
    cost, demand, cap = planar(0, 30, 3)
    pairs = sparse_pairs(cost, k)
    assert len(pairs.unit) == 30 * min(k, 30)
    rng = np.random.default_rng(1)
    for _ in range(5):
        u = np.minimum(rng.uniform(0, 60, 30), pairs.ceiling)
        step = lagrangian(pairs, u, demand, cap, 3)
        values, take, _ = knapsack_values(cost - u[:, None], demand, cap, exact=False)
        chosen = np.argsort(values, kind="stable")[:3]
        assert step.value == pytest.approx(u.sum() + values[chosen].sum(), abs=1e-9)
        assert np.allclose(step.values, values)
        assert np.allclose(step.served, take[:, chosen].sum(axis=1))


def test_forbidden_pairs_are_left_out() -> None:
    cost, _, _ = planar(0, 10, 2)
    cost[0, 1:] = np.inf
    pairs = sparse_pairs(cost, 4)
    assert list(pairs.centre[pairs.unit == 0]) == [0]
    assert pairs.ceiling[0] == np.inf and np.isfinite(pairs.ceiling[1:]).all()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bound_is_below_brute_force_optimum(seed: int) -> None:
    cost, demand, cap = instance(seed)
    caps = np.full(len(demand), cap)
    pairs = sparse_pairs(cost, 3)
    found = subgradient(pairs, demand, caps, 2, Budget.wall(30))
    optimum = brute_force(cost, demand, cap, 2)
    values, _, _ = knapsack_values(
        cost - found.multipliers[:, None], demand, caps, exact=False
    )
    full = found.multipliers.sum() + np.sort(values)[:2].sum()
    assert found.bound == pytest.approx(full)
    assert found.bound <= optimum + 1e-9


@pytest.mark.parametrize("seed", [0, 1])
def test_bound_reaches_the_strong_lp_and_stays_below_the_mip(seed: int) -> None:
    cost, demand, cap = planar(seed, 24, 3)
    pairs = sparse_pairs(cost, 12)
    found = subgradient(pairs, demand, cap, 3, Budget.wall(60))
    relaxed = lp_value(cost, demand, cap, 3)
    assert found.bound <= relaxed + 1e-6
    assert found.bound >= relaxed * (1 - 2e-3)
    assert relaxed <= mip_value(cost, demand, cap, 3) + 1e-6


@pytest.mark.parametrize("seed", [0, 1])
def test_bound_at_the_relaxation_duals_equals_the_strong_lp(seed: int) -> None:
    cost, demand, cap = planar(seed, 24, 3)
    dive = CentreDive(cost, demand, cap, 3, np.arange(24), neighbours=24)
    assert dive.dive(Budget.wall(30)) is not None
    assert dive.duals is not None
    step = lagrangian(sparse_pairs(cost, 24), dive.duals, demand, cap, 3)
    assert step.value == pytest.approx(lp_value(cost, demand, cap, 3), rel=1e-6)


def test_dive_opens_p_distinct_candidates() -> None:
    cost, demand, cap = planar(3, 60, 4)
    pool = np.arange(0, 60, 3)
    centres = CentreDive(cost, demand, cap, 4, pool).dive(Budget.wall(30))
    assert centres is not None
    assert len(np.unique(centres)) == 4 and set(centres) <= set(pool)


def test_dive_without_a_feasible_relaxation_returns_none() -> None:
    cost, demand, _ = planar(3, 20, 2)
    tight = np.full(20, demand.sum() / 4)
    dive = CentreDive(cost, demand, tight, 2, np.arange(20))
    assert dive.dive(Budget.wall(30)) is None


def test_locate_allocate_is_feasible_and_near_the_mip() -> None:
    cost, demand, cap = planar(4, 24, 3)
    centres = CentreDive(cost, demand, cap, 3, np.arange(24)).dive(Budget.wall(30))
    assert centres is not None
    allowed = np.ones(cost.shape, dtype=bool)
    found = locate_allocate_nearest(
        cost, allowed, demand, cap, centres, Budget.wall(30)
    )
    assert found is not None
    assert len(np.unique(found)) <= 3
    assert (np.bincount(found, demand, 24) <= cap + 1e-9).all()
    value = cost[np.arange(24), found].sum()
    assert mip_value(cost, demand, cap, 3) - 1e-6 <= value


def test_rounded_assignment_respects_capacity_and_the_mask() -> None:
    cost, demand, cap = planar(7, 80, 5)
    cap = cap * (1.1 / 1.3)
    centres = np.array([3, 17, 29, 44, 61])
    mask = np.zeros(cost.shape, dtype=bool)
    near = np.argsort(cost[:, centres], axis=1)[:, :3]
    mask[np.repeat(np.arange(80), 3), centres[near.ravel()]] = True
    found = rounded_assignment(cost, mask, demand, cap, centres, Budget.wall(30))
    assert found is not None
    assert mask[np.arange(80), found].all()
    assert (np.bincount(found, demand, 80) <= cap + 1e-9).all()
    single = assign_nearest(cost, demand, cap, centres, Budget.wall(30), neighbours=3)
    assert single is not None
    rows = np.arange(80)
    assert cost[rows, single].sum() <= cost[rows, found].sum() + 1e-9


def test_budget_share_keeps_the_meter_and_scales_both_limits() -> None:
    budget = Budget.of(100.0, 60.0, 10.0)
    bound = budget.share(0.2)
    assert (bound.begin, bound.deadline, bound.work_end) == (100.0, 112.0, 2.0)
    bound.charge(2.5)
    assert budget.meter.spent == 2.5 and bound.exhausted()
    assert budget.work_left() == pytest.approx(7.5)
    wall = Budget.of(100.0, 60.0)
    assert wall.share(0.5).work_end is None and wall.work_left() == np.inf


def test_budget_caps_time_only_without_a_work_limit() -> None:
    now = time.perf_counter()
    wall, work = Budget.of(now, 100.0), Budget.of(now, 100.0, 5.0)
    assert wall.seconds_left(cap=2.0) <= 2.0
    assert work.seconds_left(cap=2.0) > 50.0
    assert Budget.of(now - 10, 1.0).seconds_left() > 0


def test_budget_stops_an_lp_by_iterations_and_charges_them() -> None:
    cost, demand, cap = planar(3, 120, 6)
    dive = CentreDive(cost, demand, cap, 6, np.arange(120))
    dive.highs.setOptionValue("solver", "simplex")
    budget = Budget.of(time.perf_counter(), 600.0, 1e-7)
    budget.run(dive.highs, "relaxation")
    info = dive.highs.getInfo()
    assert dive.highs.getModelStatus() == highspy.HighsModelStatus.kIterationLimit
    assert 0 < info.simplex_iteration_count <= 2
    assert budget.meter.spent == pytest.approx(highs_work(dive.highs, "relaxation"))
    assert budget.exhausted()


def test_work_limited_subgradient_takes_the_same_steps_on_any_clock(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cost, demand, cap = planar(1, 60, 4)
    pairs = sparse_pairs(cost, 45)
    work = 39.5 * len(pairs.unit) / PAIR_STEPS_PER_SECOND
    first = subgradient(pairs, demand, cap, 4, Budget.of(time.perf_counter(), 60, work))
    slow = _slow_clock(monkeypatch, 0.25)
    again = subgradient(pairs, demand, cap, 4, Budget.of(slow(), 1e6, work))
    assert first.iterations == again.iterations == 40
    assert first.bound == again.bound
    assert np.array_equal(first.multipliers, again.multipliers)


def _slow_clock(monkeypatch: pytest.MonkeyPatch, step: float) -> Callable[[], float]:
    """Make ``time.perf_counter`` jump ``step`` s at every call (a slow machine)."""
    real = time.perf_counter
    calls = itertools.count(1)

    def slow() -> float:
        return real() + step * next(calls)

    monkeypatch.setattr(time, "perf_counter", slow)
    return slow


@pytest.mark.parametrize("extra", [0.0, 0.5])
def test_work_limited_large_design_repeats_on_a_slower_machine(
    monkeypatch: pytest.MonkeyPatch, extra: float
) -> None:
    """Integral workloads re-solve groups by branch-and-price, 0.5 by CP-SAT."""
    import spmopt.territory.design as design

    cost, demand, caps = planar(6, 300, 12)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    settings = SolverSettings(
        time_limit_seconds=1e5, deterministic_time=1.0, workers=1, relative_gap=0.0
    )
    model = PMedianModel(cost, demand + extra, caps, 12)
    with pytest.warns(TimeLimitWarning):
        first = model.solve(settings)
    real_lagrangian = designlp.lagrangian

    def sluggish(*args: Any) -> Any:
        time.sleep(0.002)
        return real_lagrangian(*args)

    monkeypatch.setattr(designlp, "lagrangian", sluggish)
    _slow_clock(monkeypatch, 0.05)
    with pytest.warns(TimeLimitWarning):
        again = model.solve(settings)
    assert first.method == again.method == "lp-dive"
    assert first.hit_limit and 1.0 <= first.work_seconds < 1.0 + 5.0
    assert np.array_equal(first.centres, again.centres)
    assert np.array_equal(first.assignment, again.assignment)
    assert (first.objective, first.bound) == (again.objective, again.bound)
    assert first.work_seconds == again.work_seconds


def test_wall_clock_path_gives_no_highs_run_more_than_the_time_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every HiGHS time limit ends by the solve's deadline (no timing asserted).

    The clock runs four times fast, so the late steps run short of time.
    """
    import spmopt.territory.design as design

    cost, demand, caps = planar(6, 300, 12)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    starts: list[float] = []
    real_large = design.PMedianModel._large

    def large(self: PMedianModel, settings: SolverSettings, start: float) -> Any:
        starts.append(start)
        return real_large(self, settings, start)

    limits: list[tuple[float, float]] = []
    real_set = highspy.Highs.setOptionValue

    def spy(self: highspy.Highs, name: str, value: Any) -> Any:
        if name == "time_limit":
            limits.append((time.perf_counter(), float(value)))
        return real_set(self, name, value)

    monkeypatch.setattr(design.PMedianModel, "_large", large)
    monkeypatch.setattr(highspy.Highs, "setOptionValue", spy)
    real = time.perf_counter
    zero = real()
    monkeypatch.setattr(time, "perf_counter", lambda: zero + 4 * (real() - zero))
    settings = SolverSettings(time_limit_seconds=2.0, workers=1, relative_gap=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        PMedianModel(cost, demand + 0.5, caps, 12).solve(settings)
    deadline = starts[0] + settings.time_limit_seconds
    assert limits  # how many runs fit depends on the machine's load
    # 20 ms of slack (5 ms of real time) for the calls between the time
    # limit's computation and its setting; the old floors gave 1 s and more
    assert all(at + limit <= deadline + 0.02 for at, limit in limits)


def test_budget_caps_a_mip_by_nodes_of_the_work_left() -> None:
    cost, demand, cap = planar(2, 60, 4)
    centres = np.array([5, 20, 35, 50])
    allowed = np.ones(cost.shape, dtype=bool)
    seen: list[int] = []

    def run(highs: highspy.Highs, budget: Budget) -> None:
        budget.run(highs, "mip", cap=10.0)
        seen.append(int(highs.getOptionValue("mip_max_nodes")[1]))

    tiny = Budget.of(time.perf_counter(), 600.0, 1e-9)
    ample = Budget.of(time.perf_counter(), 600.0, 1e6)
    for budget in (tiny, ample, Budget.wall(600.0)):
        found = allocate(
            cost,
            allowed,
            demand,
            cap,
            centres,
            600.0,
            functools.partial(run, budget=budget),
        )
        assert found is None or (np.bincount(found, demand, 60) <= cap + 1e-9).all()
    assert seen[0] == 1 and 1 <= seen[1] <= NODES_PER_MIP and seen[2] > 10**9
    assert tiny.meter.spent > 0 and ample.meter.spent > 0


@pytest.mark.parametrize(("n", "p"), [(200, 8), (121, 5), (40, 3)])
def test_balanced_split_gives_each_territory_about_its_share(n: int, p: int) -> None:
    rng = np.random.default_rng(n)
    x, y = rng.uniform(0, 100, n), rng.uniform(0, 100, n)
    values = rng.uniform(1, 3, n)
    weight = rng.uniform(0.5, 2, n)  # costs weighted per unit (distance_weight)
    labels = balanced_split(euclidean(x, y, x, y) * weight[:, None], values, p)
    assert sorted(np.unique(labels)) == list(range(p))
    sums = np.bincount(labels, values, p)
    # each cut misses its share by at most half a unit's value, per level
    levels = int(np.ceil(np.log2(p)))
    assert np.abs(sums - values.sum() / p).max() <= levels * values.max()


def test_balanced_split_keeps_a_unit_in_every_territory() -> None:
    values = np.array([100.0, 1, 1, 1, 1])  # one unit holds nearly everything
    x = np.arange(5.0)
    labels = balanced_split(euclidean(x, x * 0, x, x * 0), values, 4)
    assert sorted(np.unique(labels)) == [0, 1, 2, 3]


def test_region_centres_are_distinct_and_cheapest_where_free() -> None:
    cost, demand, caps = planar(2, 30, 3)
    labels = np.repeat(np.arange(3), 10)
    centres = region_centres(cost, demand, caps * 10, labels, 3)
    assert len(set(centres.tolist())) == 3
    first = labels == 0
    assert centres[0] == int(np.argmin(cost[first].sum(axis=0)))


def test_band_measures_names_each_band_as_a_rebalance_sees_it() -> None:
    demand, values = np.array([1.0, 2.0]), np.array([3.0, 5.0])
    ones = np.ones(2)
    bands = [(values, 0, 9), (demand, 0, 9), (ones, 0, 9), (values, 1, 8)]
    assert band_measures(bands, demand) == [
        "potential", "workload", "units", "potential"
    ]  # fmt: skip
    assert band_measures([(values, 0, 9), (values + 1, 0, 9)], demand) is None


def test_band_search_without_a_fitting_allocation_stops_at_once() -> None:
    # No subset of 10, 10, 10, 1 sums to 14-17, so no allocation meets the
    # band: the search says so without spending its budget.
    x = np.array([0.0, 1.0, 5.0, 6.0])
    cost = euclidean(x, x * 0, x, x * 0)
    values = np.array([10.0, 10.0, 10.0, 1.0])
    search = designlp.BandLocateAllocate(
        cost, np.ones(4), np.full(4, np.inf), [(values, 14.0, 17.0)], 2
    )
    budget = Budget.wall(60)
    settings = SolverSettings(time_limit_seconds=60, workers=1)
    assert search.solve(settings, budget, np.array([0, 0, 2, 2])) is None
    assert not budget.exhausted()


def test_band_search_keeps_the_start_when_it_is_best() -> None:
    cost, demand, caps = planar(4, 24, 3)
    values = np.ones(24)
    search = designlp.BandLocateAllocate(
        cost, demand, caps * 10, [(values, 8.0, 8.0)], 3
    )
    budget = Budget.of(time.perf_counter(), 60, 2.0)
    settings = SolverSettings(time_limit_seconds=60, workers=1)
    start = search.start(budget)
    found = search.solve(settings, budget, start)
    assert found is not None and search.fits(found)
    assert search.value(found) <= search.value(start) + 1e-9 or not search.fits(start)
    assert np.array_equal(np.bincount(found, minlength=24)[np.unique(found)], [8] * 3)


def test_budget_part_keeps_the_deadline_under_a_work_limit() -> None:
    work = Budget.of(100.0, 50.0, 20.0)
    part = work.part(0.25)
    assert part.work_end == pytest.approx(5.0) and part.deadline == 150.0
    assert part.meter is work.meter
    clock = Budget.of(100.0, 50.0)
    assert clock.part(0.25).deadline == pytest.approx(112.5)
