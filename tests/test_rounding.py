"""Rounding amounts so that they add up to their rounded total."""

from decimal import Decimal

import numpy as np

from spmopt.rounding import round_to_total


def test_rounded_amounts_add_up_to_the_rounded_total_as_printed() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        values = rng.uniform(0, 10_000, size=7)
        total = float(values.sum())
        rounded = round_to_total(values, total, 2)
        printed = sum(Decimal(f"{v:.2f}") for v in rounded)
        assert printed == round(Decimal(total), 2)
        assert np.abs(rounded - values).max() < 0.01 + 1e-9


def test_whole_units_when_no_decimals() -> None:
    rounded = round_to_total([1.4, 1.4, 1.2], 4.0, 0)
    assert rounded.tolist() == [2.0, 1.0, 1.0]
