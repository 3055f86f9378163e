"""Branch-and-price against brute force on tiny capacitated p-medians."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spmopt.territory.branchprice import BranchAndPrice


def tiny(seed: int, n: int = 7, m: int | None = None):
    rng = np.random.default_rng(seed)
    m = n if m is None else m
    x, y = rng.integers(0, 40, n), rng.integers(0, 40, n)
    cx, cy = x[:m], y[:m]
    cost = np.floor(np.hypot(x[:, None] - cx, y[:, None] - cy)).astype(np.int64)
    demand = rng.integers(1, 6, n)
    capacity = np.full(m, int(demand.sum() // 2 + 1))
    return cost, demand, capacity


def brute(cost, allowed, demand, capacity, p) -> float:
    n, m = cost.shape
    best = np.inf
    for centres in itertools.combinations(range(m), p):
        for combo in itertools.product(centres, repeat=n):
            a = np.array(combo)
            if not allowed[np.arange(n), a].all():
                continue
            if (np.bincount(a, demand, m) > capacity).any():
                continue
            best = min(best, float(cost[np.arange(n), a].sum()))
    return best


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limit", [0, 3000])
def test_optimum_equals_brute_force(seed: int, limit: int) -> None:
    cost, demand, capacity = tiny(seed)
    allowed = np.ones(cost.shape, dtype=bool)
    if seed % 2:
        allowed &= np.random.default_rng(seed).random(cost.shape) < 0.8
    result = BranchAndPrice(
        cost, allowed, demand, capacity, 2, enumerate_limit=limit
    ).solve(30)
    expected = brute(cost, allowed, demand, capacity, 2)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(expected)
    assert result.bound == pytest.approx(expected)
    assert result.root_bound <= expected + 1e-6
    a = result.assignment
    assert len(np.unique(a)) <= 2
    assert allowed[np.arange(len(a)), a].all()
    assert (np.bincount(a, demand, cost.shape[1]) <= capacity).all()


def test_pure_branching_on_tight_capacity() -> None:
    cost, demand, _ = tiny(11, n=8)
    capacity = np.full(8, int(np.ceil(demand.sum() / 3)) + 1)
    allowed = np.ones(cost.shape, dtype=bool)
    solver = BranchAndPrice(cost, allowed, demand, capacity, 3, enumerate_limit=0)
    result = solver.solve(60)
    assert result.status == "optimal"
    assert result.objective == brute(cost, allowed, demand, capacity, 3)


def test_incumbent_is_used_and_never_worsened() -> None:
    cost, demand, capacity = tiny(2)
    allowed = np.ones(cost.shape, dtype=bool)
    start = np.where(np.arange(7) < 4, 0, 1)
    result = BranchAndPrice(cost, allowed, demand, capacity, 2).solve(30, start)
    start_cost = cost[np.arange(7), start].sum()
    assert result.objective <= start_cost


def test_infeasible_when_capacity_is_short() -> None:
    cost, demand, _ = tiny(4)
    capacity = np.full(7, int(demand.max()))
    allowed = np.ones(cost.shape, dtype=bool)
    result = BranchAndPrice(cost, allowed, demand, capacity, 1).solve(30)
    assert result.status == "infeasible"
    assert result.assignment is None


def test_work_limit_stops_the_same_way_every_time() -> None:
    cost, demand, _ = tiny(5, n=30)
    capacity = np.full(30, int(np.ceil(demand.sum() / 4 * 1.05)))
    allowed = np.ones(cost.shape, dtype=bool)

    def run(work: int | None):
        solver = BranchAndPrice(cost, allowed, demand, capacity, 4, work_limit=work)
        return solver.solve(120), solver.work

    (first, used), (again, _) = run(3), run(3)
    assert used >= 3
    assert first.hit_limit
    assert first.status in ("feasible", "unknown")
    assert (first.objective, first.bound, first.nodes) == (
        again.objective,
        again.bound,
        again.nodes,
    )
    full, _ = run(None)
    assert full.status == "optimal"
    assert first.bound <= full.objective <= first.objective


def _master_solves(monkeypatch: pytest.MonkeyPatch, unit: float) -> tuple[int, float]:
    """Master solves and work of one search with 40 work units, each
    ``unit`` iterations x nonzeros."""
    from spmopt.territory import branchprice, colgen

    calls = [0]
    real = colgen.SetPartitionMaster.solve

    def counted(self: colgen.SetPartitionMaster) -> colgen.MasterSolution:
        calls[0] += 1
        return real(self)

    monkeypatch.setattr(colgen.SetPartitionMaster, "solve", counted)
    monkeypatch.setattr(branchprice, "MASTER_UNIT", unit)
    cost, demand, capacity = tiny(5, n=40)
    allowed = np.ones(cost.shape, dtype=bool)
    solver = BranchAndPrice(cost, allowed, demand, capacity // 3, 6, work_limit=40)
    solver.solve(60)
    return calls[0], solver.work


def test_larger_master_solves_count_more_work(monkeypatch: pytest.MonkeyPatch) -> None:
    solves_at_one_unit, work = _master_solves(monkeypatch, 1e18)
    assert work == pytest.approx(solves_at_one_unit, abs=5)  # one unit per solve
    solves_by_size, work = _master_solves(monkeypatch, 100.0)
    assert solves_by_size < solves_at_one_unit
    assert work >= 40
