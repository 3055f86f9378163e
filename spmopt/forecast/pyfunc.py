"""The MLflow pyfunc wrapper of :class:`WinForecaster`.

Kept in its own module so that importing the forecaster never imports
MLflow; only logging and loading a model do.
"""

from __future__ import annotations

import mlflow
import pandas as pd

from spmopt.forecast.forecaster import WinForecaster


class WinProbabilityModel(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined,misc]
    """Deal frame in, one ``win_probability`` column out (never labels).

    Parameters
    ----------
    forecaster : WinForecaster
        A fitted forecaster.
    """

    def __init__(self, forecaster: WinForecaster) -> None:
        self.forecaster = forecaster

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        """Calibrated win probability of each row of ``model_input``.

        Left without type hints: MLflow reads them as a schema, and the
        logged signature already describes the input.
        """
        p = self.forecaster.win_probability(pd.DataFrame(model_input))
        return pd.DataFrame({"win_probability": p})
