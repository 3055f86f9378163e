"""Deal-win forecasting: leak-free features, calibrated LightGBM, baselines.

``run_train`` is the runner of ``spmopt forecast train``; ``ForecastConfig``
its configuration; ``WinForecaster`` the model that scores deal frames.
"""

from spmopt.forecast.config import (
    ColumnMap,
    ForecastConfig,
    ModelSettings,
    SplitSettings,
    TrackingSettings,
)
from spmopt.forecast.features import DealTable, FeatureEncoder, load_deals
from spmopt.forecast.forecaster import WinForecaster
from spmopt.forecast.train import run_train

__all__ = [
    "ColumnMap",
    "DealTable",
    "FeatureEncoder",
    "ForecastConfig",
    "ModelSettings",
    "SplitSettings",
    "TrackingSettings",
    "WinForecaster",
    "load_deals",
    "run_train",
]
