"""Performance analytics: KPIs and rep scorecards."""

from spmopt.analytics.accuracy import forecast_accuracy, naive_forecasts
from spmopt.analytics.config import AnalyticsConfig, FlagRules
from spmopt.analytics.fairness import gini, spread_summary
from spmopt.analytics.funnel import stage_funnel
from spmopt.analytics.inputs import prepare_deals, read_inputs
from spmopt.analytics.job import run_kpis
from spmopt.analytics.kpis import add_ratios, kpi_table, period_labels
from spmopt.analytics.scorecards import scorecards, team_percentiles

__all__ = [
    "AnalyticsConfig",
    "FlagRules",
    "add_ratios",
    "forecast_accuracy",
    "gini",
    "kpi_table",
    "naive_forecasts",
    "period_labels",
    "prepare_deals",
    "read_inputs",
    "run_kpis",
    "scorecards",
    "spread_summary",
    "stage_funnel",
    "team_percentiles",
]
