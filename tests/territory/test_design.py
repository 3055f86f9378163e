"""Design mode (capacitated p-median) against brute force and OR-Library."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from spmopt.errors import SpmoptWarning, TimeLimitWarning
from spmopt.territory import design
from spmopt.territory.design import REGION_NEAREST, PMedianModel
from spmopt.territory.designlp import Budget
from spmopt.territory.geometry import euclidean
from spmopt.territory.lagrange import lagrangian_bound, reduced_cost_fixing
from spmopt.territory.model import SolverSettings
from spmopt.territory.orlib import read_pmedcap, truncated_distances

REPO = Path(__file__).resolve().parents[2]
ORLIB = REPO / "experiments" / "data" / "orlib_pmedcap"
FAST = SolverSettings(time_limit_seconds=30, workers=1, relative_gap=0.0)


def instance(seed: int, n: int = 7) -> tuple[np.ndarray, np.ndarray, float]:
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, 50, n), rng.integers(0, 50, n)
    demand = rng.integers(1, 6, n).astype(float)
    return np.floor(euclidean(x, y, x, y)), demand, float(demand.sum() / 2 + 2)


def brute_force(cost: np.ndarray, demand: np.ndarray, cap: float, p: int) -> float:
    n = len(demand)
    best = np.inf
    for centres in itertools.combinations(range(n), p):
        for combo in itertools.product(centres, repeat=n):
            a = np.array(combo)
            if (np.bincount(a, demand, n) > cap).any():
                continue
            best = min(best, float(cost[np.arange(n), a].sum()))
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("use_bounds", [True, False])
def test_design_optimum_equals_brute_force(seed: int, use_bounds: bool) -> None:
    cost, demand, cap = instance(seed)
    model = PMedianModel(cost, demand, np.full(len(demand), cap), 2)
    result = model.solve(FAST, use_bounds=use_bounds)
    assert result.status == "optimal"
    assert result.objective == pytest.approx(brute_force(cost, demand, cap, 2))
    assert len(result.centres) <= 2
    loads = np.bincount(result.assignment, demand, len(demand))
    assert (loads <= cap + 1e-9).all()


@pytest.mark.parametrize("seed", [3, 4])
def test_lagrangian_bound_is_valid_and_fixing_keeps_optimum(seed: int) -> None:
    cost, demand, cap = instance(seed)
    caps = np.full(len(demand), cap)
    optimum = brute_force(cost, demand, cap, 2)
    lb = lagrangian_bound(cost, demand, caps, 2, upper=optimum + 5)
    assert lb.bound <= optimum + 1e-6
    keep, _ = reduced_cost_fixing(lb, 2, cutoff=optimum + 1)
    result = PMedianModel(np.where(keep, cost, np.inf), demand, caps, 2).solve(FAST)
    assert result.objective == pytest.approx(optimum)


def test_orlib_reader_and_first_instance() -> None:
    (inst,) = read_pmedcap(ORLIB / "pmedcap01.txt")
    assert (inst.n, inst.p, inst.capacity, inst.best_known) == (50, 5, 120, 713)
    d = truncated_distances(inst)
    assert d[0, 0] == 0 and np.all(d == np.floor(d))


def test_orlib_reader_accepts_concatenated_file(tmp_path: Path) -> None:
    text = (ORLIB / "pmedcap01.txt").read_text() + (ORLIB / "pmedcap02.txt").read_text()
    (tmp_path / "two.txt").write_text(text)
    first, second = read_pmedcap(tmp_path / "two.txt")
    assert first.best_known == 713 and second.best_known == 740


@pytest.mark.parametrize("seed", [0, 5])
def test_branch_and_price_path_equals_brute_force(seed: int) -> None:
    cost, demand, cap = instance(seed)
    model = PMedianModel(cost, demand, np.full(len(demand), np.floor(cap)), 2)
    assert model.uses_branch_and_price
    result = model.solve(FAST)
    assert result.method == "branch-and-price"
    assert result.status == "optimal" and result.gap == 0
    assert result.objective == pytest.approx(
        brute_force(cost, demand, np.floor(cap), 2)
    )


def test_bands_and_fractional_workloads_use_cp_sat() -> None:
    cost, demand, cap = instance(1)
    caps = np.full(len(demand), cap)
    banded = PMedianModel(cost, demand, caps, 2).add_balance(demand, 0.0, cap)
    assert not banded.uses_branch_and_price
    assert not PMedianModel(cost, demand + 0.5, caps, 2).uses_branch_and_price


def test_orlib_first_instance_proven_optimal() -> None:
    (inst,) = read_pmedcap(ORLIB / "pmedcap01.txt")
    d = truncated_distances(inst)
    model = PMedianModel(d, inst.demand, np.full(inst.n, inst.capacity), inst.p)
    result = model.solve(SolverSettings(time_limit_seconds=60, relative_gap=0.0))
    assert result.status == "optimal"
    assert result.objective == inst.best_known == result.bound


def test_time_limit_returns_design_with_bound_and_warning() -> None:
    rng = np.random.default_rng(0)
    n, p = 400, 20
    x, y = rng.uniform(0, 1000, n), rng.uniform(0, 1000, n)
    cost = euclidean(x, y, x, y)
    demand = rng.uniform(1, 20, n)
    caps = np.full(n, demand.sum() / p * 1.2)
    model = PMedianModel(cost, demand, caps, p)
    assert not model.uses_branch_and_price
    settings = SolverSettings(time_limit_seconds=2, workers=1, relative_gap=0.0)
    with pytest.warns(TimeLimitWarning):
        result = model.solve(settings)
    assert result.has_solution and result.hit_limit
    assert 0 < result.bound <= result.objective + 1e-6
    assert 0 <= result.gap < 1
    loads = np.bincount(result.assignment, demand, n)
    assert (loads <= caps + 1e-6).all() and len(result.centres) <= p


def test_large_model_bound_holds_for_the_full_model(monkeypatch) -> None:
    import spmopt.territory.design as design

    rng = np.random.default_rng(2)
    n, p = 12, 2
    x, y = rng.integers(0, 60, n), rng.integers(0, 60, n)
    cost = np.floor(euclidean(x, y, x, y))
    demand = rng.uniform(1, 5, n)
    caps = np.full(n, demand.sum() / p + 2)
    exact = PMedianModel(cost, demand, caps, p).solve(FAST, use_bounds=False)
    monkeypatch.setattr(design, "LARGE_PAIRS", 10)
    monkeypatch.setattr(design, "NEAREST_LARGE", 2)
    result = PMedianModel(cost, demand, caps, p).solve(FAST)
    assert result.has_solution
    assert result.bound <= exact.objective + 1e-6 <= result.objective + 1e-6
    assert result.gap == pytest.approx(0.0) or result.status == "feasible"


def test_large_design_is_feasible_and_bounded_by_the_full_model(monkeypatch) -> None:
    import spmopt.territory.design as design

    from .test_designlp import mip_value, planar

    cost, demand, caps = planar(5, 30, 3)
    demand, caps = demand + 0.5, caps * 1.05
    caps[::2] *= 0.9
    cost[0, 10:] = np.inf
    optimum = mip_value(np.where(np.isinf(cost), 1e6, cost), demand, caps, 3)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    result = PMedianModel(cost, demand, caps, 3).solve(FAST)
    assert result.method == "lp-dive" and result.has_solution
    assert result.bound <= optimum + 1e-6 <= result.objective + 1e-6
    assert result.gap == pytest.approx((result.objective - result.bound) / optimum)
    assert np.isfinite(cost[np.arange(30), result.assignment]).all()
    loads = np.bincount(result.assignment, demand, 30)
    assert (loads <= caps + 1e-9).all() and len(result.centres) <= 3


def test_large_design_warns_when_the_limit_stops_it(monkeypatch) -> None:
    import spmopt.territory.design as design

    from .test_designlp import planar

    cost, demand, caps = planar(6, 300, 12)
    demand = demand + 0.5
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    # a work limit, not the clock, stops it: the same result on a busy machine
    settings = SolverSettings(
        time_limit_seconds=600, deterministic_time=1.0, workers=1, relative_gap=0.0
    )
    with pytest.warns(TimeLimitWarning):
        result = PMedianModel(cost, demand, caps, 12).solve(settings)
    assert result.method == "lp-dive" and result.hit_limit
    assert 0 < result.bound <= result.objective and result.gap < 0.05


def test_large_design_stops_within_the_requested_gap(monkeypatch) -> None:
    import warnings

    import spmopt.territory.design as design

    from .test_designlp import planar

    cost, demand, caps = planar(6, 300, 12)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    settings = SolverSettings(time_limit_seconds=60, workers=1, relative_gap=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("error", TimeLimitWarning)
        result = PMedianModel(cost, demand + 0.5, caps, 12).solve(settings)
    assert result.method == "lp-dive" and result.status == "optimal"
    assert not result.hit_limit and result.gap <= 0.05


def test_large_models_take_the_dive_even_where_branch_and_price_applies(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import spmopt.territory.design as design

    cost, demand, cap = instance(0)
    capacity = np.full(len(demand), np.floor(cap))
    model = PMedianModel(cost, demand, capacity, 2)
    assert model.uses_branch_and_price
    monkeypatch.setattr(design, "LARGE_PAIRS", int(model.allowed.sum()) - 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = model.solve(FAST)
    assert result.method == "lp-dive"
    assert result.has_solution
    assert result.objective >= brute_force(cost, demand, capacity, 2) - 1e-6


def _fractional_model(seed: int, n: int = 30, p: int = 4) -> PMedianModel:
    """A model off the branch-and-price path (workloads not whole)."""
    cost, demand, _ = instance(seed, n)
    demand = demand + 0.5
    return PMedianModel(cost, demand, np.full(n, demand.sum() / p * 1.3), p)


def test_lagrangian_phase_is_counted_as_work() -> None:
    model = _fractional_model(0)
    assert not model.uses_branch_and_price
    settings = SolverSettings(
        time_limit_seconds=30, deterministic_time=5.0, workers=1, deterministic=True
    )
    result = model._solve_small(settings)
    assert result.has_solution
    assert model._fix_work > 0
    assert result.work_seconds >= model._fix_work


def test_lagrangian_phase_keeps_to_its_share_of_the_work_limit() -> None:
    model = _fractional_model(1)
    per_step, per_call = model._step_work()
    tiny = SolverSettings(
        time_limit_seconds=30, deterministic_time=1e-9, workers=1, deterministic=True
    )
    model._solve_small(tiny)
    assert 0 < model._fix_work <= per_step + per_call
    model._solve_small(replace(tiny, deterministic_time=None))
    assert model._fix_work > per_step + per_call  # many steps without a limit


def test_region_costs_keep_the_group_centres_and_the_nearest_sites() -> None:
    rng = np.random.default_rng(3)
    n = 120
    x, y = rng.random(n) * 100, rng.random(n) * 100
    model = PMedianModel(euclidean(x, y, x, y), np.ones(n), np.full(n, 40.0), 4)
    units, sites = np.arange(0, n, 2), np.arange(n)
    group = np.array([5, 17, 60, 99])
    cost = model._region_costs(units, sites, group)
    allowed = np.isfinite(cost)
    assert allowed[:, group].all()
    assert (allowed.sum(axis=1) <= REGION_NEAREST + len(group)).all()
    nearest = np.argsort(model.cost[np.ix_(units, sites)], axis=1)[:, :REGION_NEAREST]
    assert np.take_along_axis(allowed, nearest, 1).all()


def test_restricted_model_without_a_design_is_not_called_infeasible(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Each unit sees only its nearest centre (itself): no design with p < n
    # exists in that restriction, yet the full model has one.
    monkeypatch.setattr(design, "LARGE_PAIRS", 10)
    monkeypatch.setattr(design, "NEAREST_LARGE", 1)
    monkeypatch.setattr(PMedianModel, "_regret_assign", lambda self, c: None)
    cost, demand, cap = instance(4, n=7)
    model = PMedianModel(cost, demand, np.full(7, cap), 3).add_balance(demand, 0, 1e9)
    with pytest.warns(SpmoptWarning, match="1 nearest centres"):
        result = model.solve(FAST, large=False)
    assert result.status == "unknown"
    assert brute_force(cost, demand, cap, 3) < np.inf


@pytest.mark.parametrize("seed", range(5))
def test_greedy_start_is_a_design_within_capacity(seed: int) -> None:
    cost, demand, cap = instance(seed, n=12)
    model = PMedianModel(cost, demand, np.full(12, cap), 3)
    start = model._greedy_start()
    assert start is not None
    assert len(np.unique(start)) <= 3
    assert (np.bincount(start, demand, 12) <= cap + 1e-9).all()


def test_branch_and_price_stopped_at_once_still_returns_a_design() -> None:
    rng = np.random.default_rng(7)
    n = 60
    x, y = rng.integers(0, 100, n), rng.integers(0, 100, n)
    demand = rng.integers(1, 6, n).astype(float)
    model = PMedianModel(
        np.floor(euclidean(x, y, x, y)), demand, np.full(n, demand.sum() / 4), 5
    )
    assert model.uses_branch_and_price
    tiny = SolverSettings(
        time_limit_seconds=30, deterministic_time=1e-6, workers=1, deterministic=True
    )
    with pytest.warns(TimeLimitWarning):
        result = model.solve(tiny)
    assert result.has_solution and result.gap >= 0


def banded_brute_force(
    cost: np.ndarray, values: np.ndarray, low: float, high: float, p: int
) -> float:
    """Cheapest design of ``p`` centres with every territory's ``values``
    within [low, high], every assignment enumerated."""
    n, best = len(values), np.inf
    for centres in itertools.combinations(range(cost.shape[1]), p):
        for combo in itertools.product(centres, repeat=n):
            a = np.array(combo)
            sums = np.bincount(a, values, cost.shape[1])[list(centres)]
            if (sums >= low - 1e-9).all() and (sums <= high + 1e-9).all():
                best = min(best, float(cost[np.arange(n), a].sum()))
    return best


def banded_planar(seed: int, n: int, p: int, tol: float = 0.1):
    rng = np.random.default_rng(seed)
    x, y = rng.uniform(0, 100, n), rng.uniform(0, 100, n)
    values = rng.integers(1, 10, n).astype(float)
    target = values.sum() / p
    return euclidean(x, y, x, y), values, target * (1 - tol), target * (1 + tol)


def assert_band_design(
    result, values: np.ndarray, low: float, high: float, p: int
) -> None:
    assert result.method == "band-locate-allocate" and result.has_solution
    assert len(result.centres) == p
    sums = np.bincount(result.assignment, values, len(values))[result.centres]
    assert (sums >= low - 1e-6).all() and (sums <= high + 1e-6).all()
    assert result.bound <= result.objective + 1e-6
    gap = (result.objective - result.bound) / result.objective
    assert result.gap == pytest.approx(gap)


def test_large_banded_design_keeps_every_band(monkeypatch) -> None:
    cost, values, low, high = banded_planar(0, 60, 4, tol=0.05)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    model = PMedianModel(cost, np.ones(60), np.full(60, 18.0), 4)
    model.add_balance(values, low, high)
    assert model.takes_band_path
    settings = replace(FAST, deterministic_time=3.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        result = model.solve(settings)
    assert_band_design(result, values, low, high, 4)
    assert np.bincount(result.assignment, minlength=60).max() <= 18


@pytest.mark.parametrize("seed", [0, 1])
def test_large_banded_bound_is_below_the_enumerated_optimum(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    cost, values, low, high = banded_planar(seed, 8, 2, tol=0.15)
    optimum = banded_brute_force(cost, values, low, high, 2)
    monkeypatch.setattr(design, "LARGE_PAIRS", 10)
    model = PMedianModel(cost, np.ones(8), np.full(8, np.inf), 2)
    result = model.add_balance(values, low, high).solve(FAST)
    assert_band_design(result, values, low, high, 2)
    assert result.bound <= optimum + 1e-6 <= result.objective + 1e-6


def test_large_banded_design_repeats_under_a_work_limit(monkeypatch) -> None:
    cost, values, low, high = banded_planar(3, 80, 5)
    monkeypatch.setattr(design, "LARGE_PAIRS", 100)
    settings = SolverSettings(
        time_limit_seconds=60, deterministic_time=2.0, workers=2, seed=4
    )
    found = []
    for _ in range(2):
        model = PMedianModel(cost, np.ones(80), np.full(80, np.inf), 5, 3)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TimeLimitWarning)
            found.append(model.add_balance(values, low, high).solve(settings))
    assert_band_design(found[0], values, low, high, 5)
    assert np.array_equal(found[0].assignment, found[1].assignment)
    assert found[0].bound == found[1].bound
    assert found[0].work_seconds == found[1].work_seconds


def test_large_banded_k_nearest_counts_open_centres(monkeypatch) -> None:
    # k_nearest 1 leaves each unit one candidate (itself): no design over
    # the candidates, but each unit may still join one of the open centres.
    cost, values, low, high = banded_planar(5, 30, 3)
    monkeypatch.setattr(design, "LARGE_PAIRS", 20)
    model = PMedianModel(cost, np.ones(30), np.full(30, np.inf), 3, k_nearest=1)
    model.add_balance(values, low, high)
    assert model.reach.all() and model.allowed.sum() == 30
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        result = model.solve(replace(FAST, deterministic_time=2.0))
    assert_band_design(result, values, low, high, 3)


def test_band_bound_holds_for_each_knapsack_family(monkeypatch) -> None:
    # Capacity and the band maximum each bound the model; the larger holds.
    cost, values, low, high = banded_planar(6, 8, 2, tol=0.2)
    demand = np.arange(1.0, 9.0)
    cap = float(demand.sum() / 2 + 3)
    monkeypatch.setattr(design, "LARGE_PAIRS", 10)
    model = PMedianModel(cost, demand, np.full(8, cap), 2)
    model.add_balance(values, low, high)
    lower = model._band_bound(Budget.wall(10), upper=float(cost.sum()))
    n = len(values)
    best = np.inf
    for centres in itertools.combinations(range(n), 2):
        for combo in itertools.product(centres, repeat=n):
            a = np.array(combo)
            sums = np.bincount(a, values, n)[list(centres)]
            loads = np.bincount(a, demand, n)[list(centres)]
            if (sums >= low).all() and (sums <= high).all() and (loads <= cap).all():
                best = min(best, float(cost[np.arange(n), a].sum()))
    assert lower.bound <= best + 1e-6
