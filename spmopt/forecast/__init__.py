"""Deal-win forecasting: leak-free features, calibrated LightGBM, baselines.

``run_train`` and ``run_score`` are the runners of ``spmopt forecast train``
and ``spmopt forecast score``; ``ForecastConfig`` their configuration;
``WinForecaster`` the model that scores deal frames.
"""

from spmopt.forecast.config import (
    ColumnMap,
    ForecastConfig,
    Join,
    ModelSettings,
    SplitSettings,
    TrackingSettings,
)
from spmopt.forecast.features import DealTable, FeatureEncoder, load_deals
from spmopt.forecast.forecaster import WinForecaster
from spmopt.forecast.history import HistoryEncoder
from spmopt.forecast.score import run_score
from spmopt.forecast.train import run_train

__all__ = [
    "ColumnMap",
    "DealTable",
    "FeatureEncoder",
    "ForecastConfig",
    "HistoryEncoder",
    "Join",
    "ModelSettings",
    "SplitSettings",
    "TrackingSettings",
    "WinForecaster",
    "load_deals",
    "run_score",
    "run_train",
]
