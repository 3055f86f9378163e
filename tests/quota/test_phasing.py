"""Seasonal phasing of annual quotas."""

import numpy as np
import pandas as pd
import pytest

from spmopt.errors import DataError
from spmopt.quota.phasing import monthly_weights, period_weights, phase_quotas


def _deals(months: list[int], values: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "deal_stage": "Won",
            "close_date": [pd.Timestamp(2017, m, 15) for m in months],
            "close_value": values,
        }
    )


def test_every_rep_row_sums_to_its_annual_quota() -> None:
    rng = np.random.default_rng(0)
    quotas = rng.integers(1, 10**9, 50)
    weights = rng.dirichlet(np.ones(12))
    phased = phase_quotas(quotas, weights)
    assert phased.shape == (50, 12)
    np.testing.assert_array_equal(phased.sum(axis=1), quotas)


def test_history_weights_follow_bookings_and_fill_missing_months() -> None:
    weights, observed = monthly_weights(_deals([3, 6, 6], [100.0, 200.0, 100.0]))
    assert observed[2] and observed[5] and not observed[0]
    # observed months: Mar 100, Jun 300; the other ten get their mean 200
    expected = np.full(12, 200.0)
    expected[2], expected[5] = 100.0, 300.0
    np.testing.assert_allclose(weights, expected / expected.sum())


def test_quarters_of_a_fiscal_year_starting_in_july() -> None:
    monthly = np.arange(1, 13, dtype=float)
    weights, labels = period_weights(monthly, "quarter", start_month=7)
    assert labels == ["Q1", "Q2", "Q3", "Q4"]
    np.testing.assert_allclose(weights * 78, [7 + 8 + 9, 10 + 11 + 12, 6, 15])


def test_month_labels_start_at_the_fiscal_start() -> None:
    _, labels = period_weights(np.ones(12), "month", start_month=4)
    assert labels[:2] == ["Apr", "May"] and labels[-1] == "Mar"


def test_no_won_deal_is_an_error() -> None:
    deals = _deals([1], [5.0]).assign(deal_stage="Lost")
    with pytest.raises(DataError, match="no won deal"):
        monthly_weights(deals)
