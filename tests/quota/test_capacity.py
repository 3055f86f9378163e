"""Capacity plan: expected-value curves, planner vs brute force, simulation."""

import itertools

import numpy as np
import pytest

from spmopt.errors import InfeasibleError
from spmopt.quota.capacity import (
    CapacityPlanner,
    Workforce,
    bookings_supported,
    monthly_attrition,
    plan_table,
    simulate_bookings,
)


def _workforce(horizon: int = 12, attrition: float = 0.0, ramp=()) -> Workforce:
    return Workforce(horizon, 100.0, list(ramp), attrition, np.ones(horizon))


def test_monthly_attrition_compounds_to_the_annual_rate() -> None:
    a = monthly_attrition(0.3)
    assert 1 - (1 - a) ** 12 == pytest.approx(0.3)


def test_ramped_reps_without_attrition_book_quota_pro_rata() -> None:
    wf = _workforce()
    assert bookings_supported(wf, [24, 24, 24], np.zeros(12)) == pytest.approx(3600.0)


def test_new_hire_follows_the_ramp_and_attrition() -> None:
    wf = _workforce(horizon=4, attrition=0.1, ramp=[0.5])
    curve = wf.cohort_curve(start=2)
    np.testing.assert_allclose(curve, [0.0, 50.0, 90.0, 81.0])


def test_plan_table_requisitions_lead_starts_by_the_lag() -> None:
    table = plan_table(_workforce(horizon=5), [], [0, 0, 2, 1, 0], lag=2)
    assert table["requisitions_opened"].tolist() == [2, 1, 0, 0, 0]
    assert table["expected_headcount"].tolist() == [0, 0, 2, 3, 3]


def _brute_force(wf: Workforce, lag: int, cap: int, need: float) -> float:
    starts = range(lag + 1, wf.horizon + 1)
    value = np.array([wf.cohort_curve(s).sum() for s in starts])
    cost = np.array([wf.headcount_curve(s).sum() for s in starts])
    best = np.inf
    for hires in itertools.product(range(cap + 1), repeat=len(starts)):
        h = np.array(hires)
        if h @ value >= need - 1e-9:
            best = min(best, float(h @ cost))
    return best


@pytest.mark.parametrize("target", [150.0, 420.0, 800.0, 1000.0])
def test_planner_matches_brute_force(target: float) -> None:
    wf = Workforce(5, 100.0, [0.3, 0.6], 0.05, np.array([1, 1, 0.5, 1.5, 1.0]))
    planner = CapacityPlanner(wf, existing=[], lag=1, max_hires_per_month=3)
    result = planner.solve(target)
    assert result.objective == pytest.approx(_brute_force(wf, 1, 3, target), abs=1e-6)
    assert bookings_supported(wf, [], result.hires) >= target - 1e-6
    assert result.hires[0] == 0  # nobody starts inside the lag


def test_reps_in_seat_can_cover_the_target_alone() -> None:
    result = CapacityPlanner(_workforce(), [30] * 5, lag=2).solve(1000.0)
    assert result.hires.sum() == 0


def test_unreachable_target_names_the_recruiting_limit() -> None:
    planner = CapacityPlanner(_workforce(horizon=6), [], lag=2, max_hires_per_month=1)
    with pytest.raises(InfeasibleError, match="max_hires_per_month 1 is too low"):
        planner.solve(10_000.0)


def test_lag_past_the_horizon_is_explained() -> None:
    planner = CapacityPlanner(_workforce(horizon=3), [], lag=3)
    with pytest.raises(InfeasibleError, match="hiring_lag_months 3"):
        planner.solve(100.0)


def test_simulation_mean_matches_expected_value() -> None:
    wf = Workforce(12, 100.0, [0.2, 0.6], monthly_attrition(0.3), np.ones(12))
    hires = np.array([0, 2, 0, 1] + [0] * 8)
    totals = simulate_bookings(wf, [3, 40], hires, cv=0.3, n_scenarios=20_000, seed=1)
    expected = bookings_supported(wf, [3, 40], hires)
    error = totals.std() / np.sqrt(totals.size)
    assert abs(totals.mean() - expected) < 4.5 * error


def test_simulation_is_seeded() -> None:
    wf = _workforce(attrition=0.02)
    a = simulate_bookings(wf, [5], np.ones(12), n_scenarios=200, seed=7)
    b = simulate_bookings(wf, [5], np.ones(12), n_scenarios=200, seed=7)
    np.testing.assert_array_equal(a, b)
