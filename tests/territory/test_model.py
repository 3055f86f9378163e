"""The CP-SAT alignment model against brute-force enumeration."""

from __future__ import annotations

import itertools
import warnings
from dataclasses import replace

import numpy as np
import pytest
from ortools.sat.python import cp_model

from spmopt import _stoppable
from spmopt.errors import TimeLimitWarning
from spmopt.territory.model import (
    AlignmentModel,
    SolverSettings,
    _interrupted,
    balance_band,
)
from spmopt.territory.problem import NO_REP, TerritoryProblem
from tests.territory.conftest import MakeProblem

FAST = SolverSettings(time_limit_seconds=20, workers=1, relative_gap=0.0)


def brute_force(
    p: TerritoryProblem,
    capacity: bool = False,
    balance: tuple[str, float] | None = None,
    budget: tuple[str, float] | None = None,
    locked: bool = False,
    weight: str = "none",
    penalty: float = 0.0,
    spread: float = 0.0,
) -> float:
    """Optimal objective by enumerating every assignment (inf if none)."""
    w = np.ones(p.n_units) if weight == "none" else p.measure(weight)
    best = np.inf
    for combo in itertools.product(range(p.n_reps), repeat=p.n_units):
        a = np.array(combo)
        if not _feasible(p, a, capacity, balance, budget, locked):
            continue
        cost = float((p.distance[np.arange(p.n_units), a] * w).sum())
        if penalty:
            has = p.current != NO_REP
            cost += penalty * float(p.potential[has & (a != p.current)].sum())
        if spread:
            held = np.bincount(a, p.potential, p.n_reps)
            cost += spread * float(np.abs(held - p.potential.sum() / p.n_reps).sum())
        best = min(best, cost)
    return best


def _feasible(p, a, capacity, balance, budget, locked):  # type: ignore[no-untyped-def]
    if capacity and (np.bincount(a, p.workload, p.n_reps) > p.capacity).any():
        return False
    if balance is not None:
        lows, highs = balance_band(p, balance[0], balance[1])
        sums = np.bincount(a, p.measure(balance[0]), p.n_reps)
        if (sums < lows - 1e-9).any() or (sums > highs + 1e-9).any():
            return False
    if locked:
        rows = p.locked != NO_REP
        if (a[rows] != p.locked[rows]).any():
            return False
    if budget is not None:
        v = p.measure(budget[0])
        if v[a != p.current].sum() > budget[1] * v.sum() + 1e-9:
            return False
    return True


def solve(p: TerritoryProblem, **kw: object) -> float:
    model = AlignmentModel.from_problem(p, k_nearest=None)
    if kw.get("capacity"):
        model.add_capacity()
    if kw.get("balance"):
        measure, tol = kw["balance"]  # type: ignore[misc]
        model.add_balance(measure, tol)
    if kw.get("locked"):
        model.add_locked()
    if kw.get("budget"):
        measure, share = kw["budget"]  # type: ignore[misc]
        model.add_disruption_budget(measure, share)
    model.set_objective(
        str(kw.get("weight", "none")),
        "potential",
        float(kw.get("penalty", 0.0)),  # type: ignore[arg-type]
        "potential",
        float(kw.get("spread", 0.0)),  # type: ignore[arg-type]
    )
    result = model.solve(FAST)
    if result.status == "infeasible":
        return np.inf
    assert result.status == "optimal"
    assert result.gap == 0.0
    return result.objective


CASES = [
    {},
    {"capacity": True},
    {"balance": ("potential", 0.2)},
    {"balance": ("workload", 0.3)},
    {"balance": ("units", 0.0)},
    {"capacity": True, "balance": ("potential", 0.25)},
    {"weight": "potential", "balance": ("potential", 0.3)},
    {"locked": True, "balance": ("potential", 0.4)},
    {"budget": ("potential", 0.3)},
    {"budget": ("units", 0.0)},
    {"budget": ("workload", 0.5), "balance": ("potential", 0.3)},
    {"penalty": 0.5},
    {"spread": 2.0},
    {"spread": 0.3, "capacity": True, "penalty": 0.2},
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: ",".join(c) or "plain")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_optimum_equals_brute_force(
    case: dict, seed: int, make_problem: MakeProblem
) -> None:
    p = make_problem(
        seed, n_units=6, n_reps=3, capacity=18.0, with_current=True, locked_units=2
    )
    expected = brute_force(p, **case)
    got = solve(p, **case)
    if np.isinf(expected):
        assert np.isinf(got)
    else:
        assert got == pytest.approx(expected, rel=1e-5, abs=1e-6)


def test_infeasible_band_reported(make_problem: MakeProblem) -> None:
    p = make_problem(4, n_units=4, n_reps=3)
    model = AlignmentModel.from_problem(p, None).add_balance("units", 0.0)
    result = model.set_objective().solve(FAST)
    assert result.status == "infeasible"
    assert not result.has_solution


def test_zero_budget_keeps_current_alignment(make_problem: MakeProblem) -> None:
    p = make_problem(5, n_units=8, n_reps=3, with_current=True)
    model = AlignmentModel.from_problem(p, 2).add_disruption_budget("units", 0.0)
    result = model.set_objective().solve(FAST)
    assert np.array_equal(result.assignment, p.current)


def test_locked_units_never_move(make_problem: MakeProblem) -> None:
    p = make_problem(6, n_units=10, n_reps=3, locked_units=5)
    model = AlignmentModel.from_problem(p, 1).add_locked()
    result = model.set_objective().solve(FAST)
    assert result.has_solution
    assert np.array_equal(result.assignment[:5], p.locked[:5])


def test_sparsification_limits_choices(make_problem: MakeProblem) -> None:
    p = make_problem(7, n_units=12, n_reps=4)
    result = AlignmentModel.from_problem(p, 2).set_objective().solve(FAST)
    rank = np.argsort(np.argsort(p.distance, axis=1), axis=1)
    assert (rank[np.arange(p.n_units), result.assignment] < 2).all()


def test_time_limit_warns(make_problem: MakeProblem) -> None:
    p = make_problem(8, n_units=60, n_reps=6)
    model = AlignmentModel.from_problem(p, None).add_balance("potential", 0.001)
    model.set_objective()
    tiny = SolverSettings(time_limit_seconds=0.001, workers=1)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = model.solve(tiny)
    assert result.hit_limit
    assert any(issubclass(w.category, TimeLimitWarning) for w in caught)


class _Stopped:
    deterministic_time = 0.0


@pytest.mark.parametrize(
    ("seconds", "limit", "under_cli", "expected"),
    [
        (0.0008, 0.001, False, False),  # CP-SAT returned just before a 1 ms limit
        (59.99, 60.0, False, False),  # the time limit itself
        (1.0, 60.0, False, True),  # stopped after 1 s of 60: Ctrl-C
        (1.0, 60.0, True, False),  # the command raises the interrupt itself
    ],
)
def test_an_early_stop_counts_as_ctrl_c_only_well_before_the_limit(
    seconds: float, limit: float, under_cli: bool, expected: bool
) -> None:
    settings = SolverSettings(time_limit_seconds=limit, workers=1)
    _stoppable.watching(under_cli)
    try:
        code = cp_model.FEASIBLE
        assert _interrupted(_Stopped(), code, seconds, settings) is expected
    finally:
        _stoppable.watching(False)


@pytest.mark.parametrize("tolerance", [0.0, 0.05, 0.5])
def test_a_band_of_a_rep_no_unit_may_join_still_holds(
    make_problem: MakeProblem, tolerance: float
) -> None:
    # k_nearest 1: the farthest rep is nobody's nearest, so no unit may join it
    # and its band (target above 0) cannot hold: no alignment exists.
    p = make_problem(0, n_units=5, n_reps=3)
    allowed_to = np.bincount(np.argmin(p.distance, axis=1), minlength=3)
    assert (allowed_to == 0).any()
    # The other reps may hold anything up to six times their target, and a
    # target of 50 / 3 leaves an exact band with no whole sum inside.
    p = replace(
        p,
        potential=np.full(5, 10.0),
        rep_tolerance=np.where(allowed_to == 0, np.nan, 5.0),
    )
    model = AlignmentModel.from_problem(p, k_nearest=1).add_balance(
        "potential", tolerance
    )
    result = model.solve(FAST)
    assert result.status == "infeasible"


def test_an_empty_band_of_a_rep_no_unit_may_join_is_no_constraint(
    make_problem: MakeProblem,
) -> None:
    p = make_problem(0, n_units=5, n_reps=3)
    model = AlignmentModel.from_problem(p, k_nearest=1).add_balance(
        "potential", None, low=0.0, high=1e9
    )
    assert model.solve(FAST).status == "optimal"
