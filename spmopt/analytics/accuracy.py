"""Forecast accuracy: forecast against actual won value per period."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmopt.analytics.kpis import ALL_PERIODS


def naive_forecasts(kpis: pd.DataFrame) -> pd.DataFrame:
    """Each rep's forecast = its won value in the previous period.

    A baseline any real forecast should beat. The first period has no
    forecast.

    Returns
    -------
    DataFrame
        ``rep_id``, ``period``, ``forecast`` (currency units).
    """
    reps = kpis[(kpis["level"] == "rep") & (kpis["period"] != ALL_PERIODS)]
    grid = reps.pivot_table(
        index="rep_id", columns="period", values="won_value", fill_value=0.0
    )
    shifted = grid.shift(1, axis=1).iloc[:, 1:]
    long = shifted.stack().rename("forecast").reset_index()
    return long.sort_values(["period", "rep_id"]).reset_index(drop=True)


def forecast_accuracy(forecasts: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    """Per-period accuracy of forecasts against actual won value.

    Parameters
    ----------
    forecasts : DataFrame
        ``period``, ``forecast`` (currency units) and optionally
        ``rep_id``; without ``rep_id`` the forecast is for the company.
    kpis : DataFrame
        As returned by :func:`~spmopt.analytics.kpis.kpi_table`.

    Returns
    -------
    DataFrame
        One row per period and one ``"all"`` row: ``n`` (forecasts),
        ``forecast``, ``actual``, ``error`` (forecast - actual, all sums
        over the row's forecasts), ``ape`` (|error| / actual of the row
        itself, from those sums), ``mape`` (mean of |error| / actual over
        the row's single forecasts with a positive actual: per rep and
        period for rep forecasts, per period for company ones) and
        ``bias`` (error / actual; positive means over-forecasting).
    """
    pairs = _pairs(forecasts, kpis)
    rows = [_score(group).assign(period=p) for p, group in pairs.groupby("period")]
    rows.append(_score(pairs).assign(period=ALL_PERIODS))
    table = pd.concat(rows, ignore_index=True)
    return table[_COLUMNS]


_COLUMNS = ["period", "n", "forecast", "actual", "error", "ape", "mape", "bias"]


def _pairs(forecasts: pd.DataFrame, kpis: pd.DataFrame) -> pd.DataFrame:
    dated = kpis[kpis["period"] != ALL_PERIODS]
    if "rep_id" in forecasts.columns:
        actual = dated[dated["level"] == "rep"][["rep_id", "period", "won_value"]]
        keys = ["rep_id", "period"]
    else:
        actual = dated[dated["level"] == "company"][["period", "won_value"]]
        keys = ["period"]
    pairs = forecasts.merge(actual, on=keys, how="left")
    pairs["actual"] = pairs.pop("won_value").fillna(0.0)
    return pairs


def _score(pairs: pd.DataFrame) -> pd.DataFrame:
    error = pairs["forecast"] - pairs["actual"]
    positive = pairs["actual"] > 0
    ape = (error.abs() / pairs["actual"]).where(positive)
    total_actual = float(pairs["actual"].sum())
    total_error = float(error.sum())
    return pd.DataFrame(
        {
            "n": [len(pairs)],
            "forecast": [float(pairs["forecast"].sum())],
            "actual": [total_actual],
            "error": [total_error],
            "ape": [abs(total_error) / total_actual if total_actual else np.nan],
            "mape": [float(ape.mean()) if positive.any() else np.nan],
            "bias": [total_error / total_actual if total_actual else np.nan],
        }
    )
