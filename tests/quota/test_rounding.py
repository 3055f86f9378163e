"""Largest-remainder rounding keeps sums and bounds exact."""

import numpy as np
import pytest

from spmopt.errors import InfeasibleError
from spmopt.quota.rounding import largest_remainder


@pytest.mark.parametrize("seed", range(20))
def test_sum_is_exact_on_random_values(seed: int) -> None:
    rng = np.random.default_rng(seed)
    total = int(rng.integers(1, 10**9))
    values = rng.dirichlet(np.ones(int(rng.integers(1, 50)))) * total
    rounded = largest_remainder(values, total)
    assert rounded.sum() == total
    assert np.all(np.abs(rounded - values) < 1.0)


def test_largest_remainders_get_the_missing_units() -> None:
    rounded = largest_remainder([1.2, 1.7, 1.1], 4)
    assert rounded.tolist() == [1, 2, 1]


def test_ties_go_to_the_earlier_row() -> None:
    rounded = largest_remainder([1.5, 1.5, 1.0], 4)
    assert rounded.tolist() == [2, 1, 1]


def test_bounds_are_respected() -> None:
    rounded = largest_remainder([1.9, 1.1], 3, lower=[0, 0], upper=[1, 5])
    assert rounded.tolist() == [1, 2]


def test_removes_units_when_values_overshoot() -> None:
    rounded = largest_remainder([2.0, 2.0, 1.0], 4)
    assert rounded.sum() == 4


def test_unreachable_total_raises() -> None:
    with pytest.raises(InfeasibleError, match="unit"):
        largest_remainder([1.0, 1.0], 5, lower=[0, 0], upper=[2, 2])
