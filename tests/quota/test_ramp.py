"""Ramp shares and period ramp factors."""

import numpy as np

from spmopt.quota.ramp import ramp_factor, ramp_share


def test_months_past_the_curve_are_fully_ramped() -> None:
    shares = ramp_share([0.2, 0.5], [1, 2, 3, 40])
    assert shares.tolist() == [0.2, 0.5, 1.0, 1.0]


def test_new_hire_factor_is_mean_over_the_period() -> None:
    factor = ramp_factor([0.25, 0.5, 0.75], [0, 1, 12])
    expected = [(0.25 + 0.5 + 0.75 + 9) / 12, (0.5 + 0.75 + 10) / 12, 1.0]
    np.testing.assert_allclose(factor, expected)


def test_empty_curve_means_everyone_ramped() -> None:
    assert ramp_factor([], [0, 5]).tolist() == [1.0, 1.0]
