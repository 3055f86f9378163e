"""Fairness measures against closed forms and brute force."""

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spmopt.analytics.fairness import gini, spread_summary


def _gini_pairs(x: list[float]) -> float:
    n = len(x)
    total = sum(abs(a - b) for a, b in itertools.product(x, x))
    return total / (2 * n * n * (sum(x) / n))


def test_gini_closed_forms() -> None:
    assert gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 8]) == pytest.approx(3 / 4)
    assert math.isnan(gini([])) and math.isnan(gini([0, 0]))


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=12))
def test_gini_matches_pairwise_definition(x: list[float]) -> None:
    if sum(x) <= 0:
        return
    assert gini(np.array(x)) == pytest.approx(_gini_pairs(x), abs=1e-9)


def test_spread_summary() -> None:
    values = pd.Series([90.0, 100.0, 120.0])
    target = pd.Series([100.0, 100.0, 100.0])
    out = spread_summary(values, target, band=0.1)
    assert out["max_over_min"] == pytest.approx(120 / 90)
    assert out["max_deviation"] == pytest.approx(0.2)
    assert out["share_within_band"] == pytest.approx(2 / 3)
