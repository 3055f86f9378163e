"""Integer scaling of coefficients."""

from __future__ import annotations

import numpy as np

from spmopt.territory.scaling import band_to_int, cost_scale, row_scale, to_int


def test_integral_values_kept_exact() -> None:
    values = np.array([3.0, 7.0, 11.0])
    assert row_scale(values) == 1.0
    assert cost_scale(values) == 1.0


def test_fractional_values_scaled_to_limit() -> None:
    values = np.array([0.25, 0.5, 0.25])
    factor = row_scale(values, limit=1000)
    assert to_int(values, factor).sum() == 1000


def test_large_costs_capped() -> None:
    costs = np.array([1e9, 5e8])
    factor = cost_scale(costs, limit=1000)
    assert to_int(costs, factor).max() == 1000


def test_band_rounds_inward_but_keeps_exact_ends() -> None:
    assert band_to_int(9.5, 10.5, 1.0) == (10, 10)
    assert band_to_int(0.1 * 3 * 10, 30.000000000000004, 1.0) == (3, 30)
    lo, hi = band_to_int(0.0, float("inf"), 1.0)
    assert lo == 0 and hi > 10**18
