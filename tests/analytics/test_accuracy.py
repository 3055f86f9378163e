"""Forecast accuracy (MAPE and bias) against hand-computed values."""

import math

import pandas as pd
import pytest

from spmopt.analytics.accuracy import forecast_accuracy, naive_forecasts


def _kpis() -> pd.DataFrame:
    """Won value: r1 100 then 200; r2 0 then 50 (Q1, Q2)."""
    rows = [
        ("rep", "r1", "2017Q1", 100.0),
        ("rep", "r1", "2017Q2", 200.0),
        ("rep", "r2", "2017Q1", 0.0),
        ("rep", "r2", "2017Q2", 50.0),
        ("company", None, "2017Q1", 100.0),
        ("company", None, "2017Q2", 250.0),
        ("company", None, "all", 350.0),
    ]
    return pd.DataFrame(rows, columns=["level", "rep_id", "period", "won_value"])


def test_rep_forecasts_mape_and_bias() -> None:
    forecasts = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r1", "r2"],
            "period": ["2017Q1", "2017Q1", "2017Q2", "2017Q2"],
            "forecast": [80.0, 10.0, 220.0, 25.0],
        }
    )
    table = forecast_accuracy(forecasts, _kpis()).set_index("period")
    q1 = table.loc["2017Q1"]
    # r2 has no actual in Q1: no percentage error, but its error counts in bias
    assert q1["mape"] == pytest.approx(0.2)
    assert q1["bias"] == pytest.approx((-20 + 10) / 100)
    q2 = table.loc["2017Q2"]
    assert q2["mape"] == pytest.approx((20 / 200 + 25 / 50) / 2)
    assert q2["bias"] == pytest.approx((20 - 25) / 250)
    overall = table.loc["all"]
    assert overall["n"] == 4
    assert overall["mape"] == pytest.approx((0.2 + 0.1 + 0.5) / 3)
    assert overall["error"] == pytest.approx(-15.0)


def test_company_forecasts() -> None:
    forecasts = pd.DataFrame({"period": ["2017Q2"], "forecast": [300.0]})
    table = forecast_accuracy(forecasts, _kpis())
    assert table["mape"].tolist() == pytest.approx([0.2, 0.2])
    assert table["bias"].iloc[0] == pytest.approx(0.2)


def test_period_without_actuals_has_no_mape() -> None:
    forecasts = pd.DataFrame({"period": ["2018Q1"], "forecast": [5.0]})
    table = forecast_accuracy(forecasts, _kpis())
    assert math.isnan(table["mape"].iloc[0]) and math.isnan(table["bias"].iloc[0])


def test_naive_forecast_is_previous_period() -> None:
    naive = naive_forecasts(_kpis())
    assert naive["period"].tolist() == ["2017Q2", "2017Q2"]
    assert naive["forecast"].tolist() == [100.0, 0.0]


def test_ape_is_the_rows_own_error_over_actual() -> None:
    """Each row's ``ape`` is |forecast - actual| / actual of that row."""
    forecasts = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r1", "r2"],
            "period": ["2017Q1", "2017Q1", "2017Q2", "2017Q2"],
            "forecast": [80.0, 10.0, 220.0, 25.0],
        }
    )
    table = forecast_accuracy(forecasts, _kpis())
    expected = (table["forecast"] - table["actual"]).abs() / table["actual"]
    assert table["ape"].tolist() == pytest.approx(expected.tolist())
    assert table.set_index("period").loc["all", "ape"] == pytest.approx(15 / 350)
    # mape stays the mean over single forecasts, a different figure
    assert table.set_index("period").loc["all", "mape"] == pytest.approx(0.8 / 3)


def test_company_forecasts_ape_over_periods() -> None:
    forecasts = pd.DataFrame(
        {"period": ["2017Q1", "2017Q2"], "forecast": [110.0, 200.0]}
    )
    table = forecast_accuracy(forecasts, _kpis()).set_index("period")
    assert table["ape"].tolist() == pytest.approx([0.1, 0.2, 40 / 350])
    assert table.loc["all", "mape"] == pytest.approx((0.1 + 0.2) / 2)
