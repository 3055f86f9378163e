"""The analytics job: KPIs and scorecards written to a run folder."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spmopt._logging import logger
from spmopt.analytics.accuracy import forecast_accuracy, naive_forecasts
from spmopt.analytics.config import AnalyticsConfig
from spmopt.analytics.funnel import stage_funnel
from spmopt.analytics.inputs import read_inputs
from spmopt.analytics.kpis import ALL_PERIODS, kpi_table
from spmopt.analytics.scorecards import scorecards
from spmopt.clikit import Money
from spmopt.runs import RunWriter


def run_kpis(cfg: AnalyticsConfig, out: RunWriter, seed: int = 0) -> dict[str, Any]:
    """Compute KPIs and scorecards and write them through ``out``.

    Writes ``kpis.csv`` (one row per level, group and period),
    ``scorecards.csv`` (one row per rep), ``stages.csv`` (stage conversion,
    when ``pipeline.stage_order`` is set), ``forecast_accuracy.csv`` (when
    forecasts are given or ``naive_forecast`` is on) and ``summary.json``.

    Parameters
    ----------
    cfg : AnalyticsConfig
        Validated configuration.
    out : RunWriter
        Where the files go.
    seed : int
        Unused (the job is deterministic); kept for the common runner shape.

    Returns
    -------
    dict
        Headline figures: reps, deals, company win rate, won value (currency
        units), reps flagged, forecast APE (company, all periods) and MAPE
        (mean over single forecasts).
    """
    inputs = read_inputs(cfg)
    kpis = kpi_table(
        inputs.deals, inputs.quotas, inputs.roster, cfg.period, inputs.payouts
    )
    cards = scorecards(kpis, cfg.flags)
    accuracy = _accuracy(inputs.forecasts, kpis, cfg.naive_forecast)
    summary = _summary(kpis, cards, accuracy, cfg)
    out.write_csv("kpis.csv", _rounded(kpis), _money(kpis))
    out.write_csv("scorecards.csv", _rounded(cards), _money(cards))
    if cfg.pipeline.stage_order:
        deals = inputs.deals
        funnel = stage_funnel(deals, deals["stage"], cfg.pipeline.stage_order)
        out.write_csv("stages.csv", _rounded(funnel))
    if accuracy is not None:
        out.write_csv("forecast_accuracy.csv", _rounded(accuracy), _money(accuracy))
    out.write_json("summary.json", summary)
    _log(summary)
    return _headline(summary)


def _accuracy(
    forecasts: pd.DataFrame | None, kpis: pd.DataFrame, naive: bool
) -> pd.DataFrame | None:
    if forecasts is None and naive:
        forecasts = naive_forecasts(kpis)
    if forecasts is None or forecasts.empty:
        return None
    return _in_cents(forecast_accuracy(forecasts, kpis))


def _in_cents(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Forecast and actual to the cent, error their difference as written.

    Rounding each column on its own could show ``3000.00``, ``3700.26``
    and an error of ``-700.25``; the error is taken after rounding.
    """
    forecast = accuracy["forecast"].round(2)
    actual = accuracy["actual"].round(2)
    return accuracy.assign(forecast=forecast, actual=actual, error=forecast - actual)


def _log(summary: dict[str, Any]) -> None:
    logger.info(
        "analytics: %d deals, %d reps, win rate %.3f, %d reps flagged",
        summary["n_deals"],
        summary["n_reps"],
        summary["win_rate"] or float("nan"),
        summary["reps_flagged"],
    )


_HEADLINE = (
    "n_reps",
    "n_deals",
    "win_rate",
    "won_value",
    "reps_flagged",
    "forecast_ape",
    "forecast_mape",
)


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    """The headline figures; money ones print to the cent."""
    headline = {key: summary[key] for key in _HEADLINE}
    for key in _HEADLINE_MONEY:
        if headline[key] is not None:
            headline[key] = Money(headline[key])
    return headline


_HEADLINE_MONEY = ("won_value",)


def _summary(
    kpis: pd.DataFrame,
    cards: pd.DataFrame,
    accuracy: pd.DataFrame | None,
    cfg: AnalyticsConfig,
) -> dict[str, Any]:
    company = kpis[(kpis["level"] == "company") & (kpis["period"] == ALL_PERIODS)]
    row = company.iloc[0]
    periods = sorted(set(kpis["period"]) - {ALL_PERIODS})
    return {
        "pipeline": cfg.pipeline.path,
        "period": cfg.period,
        "periods": periods,
        "n_reps": len(cards),
        "n_teams": int(cards["team"].nunique()),
        "n_deals": int(row["n_deals"]),
        "n_open": int(row["n_open"]),
        "win_rate": _plain(row["win_rate"]),
        "value_win_rate": _plain(row["value_win_rate"]),
        "won_value": _plain(row["won_value"]),
        "open_value": _plain(row["open_value"]),
        "avg_deal_size": _plain(row["avg_deal_size"]),
        "cycle_days": _plain(row["cycle_days"]),
        "attainment": _plain(row["attainment"]),
        "coverage": _plain(row["coverage"]),
        "cost_pct_revenue": _plain(row["cost_pct_revenue"]),
        "has_quotas": cfg.quotas is not None,
        "forecast_source": _forecast_source(cfg, accuracy),
        "forecast_ape": _overall(accuracy, "ape"),
        "forecast_mape": _overall(accuracy, "mape"),
        "forecast_bias": _overall(accuracy, "bias"),
        "reps_flagged": int((cards["n_flags"] > 0).sum()),
    }


def _forecast_source(cfg: AnalyticsConfig, accuracy: pd.DataFrame | None) -> str:
    if accuracy is None:
        return "none"
    return "table" if cfg.forecasts is not None else "naive previous period"


def _overall(accuracy: pd.DataFrame | None, column: str) -> float | None:
    if accuracy is None:
        return None
    return _plain(accuracy.loc[accuracy["period"] == ALL_PERIODS, column].iloc[0])


def _plain(value: Any) -> float | None:
    return None if pd.isna(value) else round(float(value), 6)


MONEY = (
    "won_value",
    "lost_value",
    "open_value",
    "quota",
    "payout",
    "avg_deal_size",
    "velocity_per_day",
    "forecast",
    "actual",
    "error",
)
"""Columns in currency (``velocity_per_day``: per day), written in cents."""


def _money(frame: pd.DataFrame) -> list[str]:
    return [column for column in MONEY if column in frame.columns]


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(6) for c in floats})
