"""Fairness figures of a quota plan."""

import numpy as np
import pytest

from spmopt.quota.fairness import fairness_summary, gini


def test_gini_by_hand() -> None:
    assert gini([5, 5, 5]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 4]) == pytest.approx(0.75)
    assert gini([1, 3]) == pytest.approx(0.25)
    assert gini([]) == 0.0


def test_ratios_and_attainment_spread() -> None:
    info = fairness_summary(
        quota=[80.0, 100.0, 105.0, 0.0],
        ramped_potential=[100.0, 100.0, 100.0, 0.0],
        p_attain=[0.9, 0.5, 0.45, 0.0],
    )
    assert info["quota_to_potential_p50"] == pytest.approx(1.0)
    assert info["quota_to_potential_max_over_min"] == pytest.approx(105 / 80)
    assert info["share_within_10pct_of_median_ratio"] == pytest.approx(2 / 3)
    low, high = np.percentile([0.9, 0.5, 0.45, 0.0], [10, 90])
    assert info["p_attain_spread_pp"] == pytest.approx(100 * (high - low), abs=1e-3)
