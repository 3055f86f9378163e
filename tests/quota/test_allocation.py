"""The allocation LP: exact sums, bounds, spread and conflict messages."""

import itertools

import numpy as np
import pytest

from spmopt.errors import InfeasibleError
from spmopt.quota.allocation import QuotaAllocator, format_amount


def _random_instance(seed: int) -> tuple[np.ndarray, float, float, float]:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    potential = np.round(rng.lognormal(13, 0.6, n), 2)
    floor, cap = 0.6, 1.3
    ratio = rng.uniform(floor + 0.01, cap - 0.01)
    target = round(potential.sum() * ratio, 2)
    return potential, target, floor, cap


@pytest.mark.parametrize(
    ("seed", "solver"), list(itertools.product(range(8), ["highs"]))
)
def test_random_instances_sum_exactly_within_bounds(seed: int, solver: str) -> None:
    potential, target, floor, cap = _random_instance(seed)
    history = np.random.default_rng(seed + 100).permutation(potential)
    allocator = QuotaAllocator.from_potential(
        potential, target, floor, cap, decimals=2, reference=history
    )
    result = allocator.solve(solver)
    assert result.quota_units.sum() == round(target * 100)
    cents = potential * 100
    assert np.all(result.quota_units >= np.ceil(floor * cents - 1e-6))
    assert np.all(result.quota_units <= np.floor(cap * cents + 1e-6))
    assert result.status == "Optimal"


def test_cbc_gives_the_same_guarantees() -> None:
    potential, target, floor, cap = _random_instance(3)
    result = QuotaAllocator.from_potential(
        potential, target, floor, cap, reference=potential[::-1]
    ).solve("cbc")
    assert result.quota_units.sum() == round(target * 100)
    assert np.all(result.quota_units >= result.floor_units)
    assert np.all(result.quota_units <= result.cap_units)


def test_single_rep_gets_the_whole_target() -> None:
    result = QuotaAllocator.from_potential([5.0], 1234.56, 0.0, None).solve()
    assert result.quota_units.tolist() == [123456]


def test_unconstrained_quotas_are_proportional_to_potential() -> None:
    result = QuotaAllocator.from_potential([1.0, 2.0, 7.0], 1000.0).solve()
    assert result.quota_units.tolist() == [10000, 20000, 70000]
    assert result.objective == pytest.approx(0.0)


def test_objective_matches_hand_solution() -> None:
    # reference 500/500 but rep 0 is capped at 300: 200 moves to rep 1.
    allocator = QuotaAllocator([50000, 50000], [0, 0], [30000, 100000], 100000)
    result = allocator.solve()
    assert result.quota_units.tolist() == [30000, 70000]
    assert result.objective == pytest.approx(400.0)
    assert result.binding.tolist() == ["cap", "none"]


def test_shortfall_is_spread_by_the_same_percentage() -> None:
    # rep 0 forced up by its floor; reps 1-3 give back in proportion.
    reference = [10000, 20000, 30000, 40000]
    allocator = QuotaAllocator(reference, [16000, 0, 0, 0], [10**6] * 4, 100000)
    units = allocator.solve().quota_units
    assert units[0] == 16000
    cut = 1 - units[1:] / np.array(reference[1:])
    np.testing.assert_allclose(cut, 6000 / 90000, atol=1e-4)


def test_floors_above_target_name_the_amounts() -> None:
    allocator = QuotaAllocator([0, 0], [60000000, 60000000], [10**9] * 2, 100000000)
    with pytest.raises(InfeasibleError) as info:
        allocator.solve()
    assert "sum of floors 1,200,000 exceeds target 1,000,000 by 200,000" in str(
        info.value
    )


def test_caps_below_target_name_the_amounts() -> None:
    allocator = QuotaAllocator.from_potential([400000.0, 500000.0], 1e6, 0.0, 1.0)
    with pytest.raises(
        InfeasibleError,
        match="sum of caps 900,000 falls short of target 1,000,000 by 100,000",
    ):
        allocator.solve()


def test_lp_size_is_reported() -> None:
    # 2 reps x (up, down) + spread; target + keep_total + one rep free to move
    allocator = QuotaAllocator([50000, 50000], [0, 0], [30000, 100000], 100000)
    result = allocator.solve()
    assert result.n_variables == 2 * 2 + 1
    assert result.n_constraints == 1 + 1 + 1


def test_format_amount() -> None:
    assert format_amount(120000000, 0.01) == "1,200,000"
    assert format_amount(12345, 0.01) == "123.45"
    assert format_amount(7, 1000.0) == "7,000"


def test_solving_twice_gives_the_same_quotas() -> None:
    allocator = QuotaAllocator([10000, 20000, 30000], [15000, 0, 0], [10**6] * 3, 60000)
    first = allocator.solve().quota_units
    np.testing.assert_array_equal(first, allocator.solve("cbc").quota_units)
