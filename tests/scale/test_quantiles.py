"""Quantile regressors of the potential model, one task each on a cluster."""

from typing import Any

import numpy as np
import pandas as pd

from spmopt.quota.potential import QuantileLightGBM
from spmopt.scale.context import client_scope
from spmopt.scale.quantiles import fit_quantiles_on_cluster


def _panel(seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {"lag": rng.gamma(2.0, 500.0, 400), "month": rng.integers(1, 13, 400)}
    )
    y = X["lag"].to_numpy() * rng.lognormal(0.0, 0.3, 400)
    return X, y


def test_models_fitted_as_tasks_predict_as_in_process(client_2: Any) -> None:
    X, y = _panel()
    local = QuantileLightGBM(n_estimators=30, seed=3).fit(X, y)
    with client_scope(client_2):
        remote = QuantileLightGBM(n_estimators=30, seed=3).fit(X, y)
    np.testing.assert_array_equal(local.predict(X), remote.predict(X))
    p = local.predict(X)
    assert (p[:, 0] <= p[:, 1]).all() and (p[:, 1] <= p[:, 2]).all()


def test_regressors_come_back_fitted_in_order(client_1: Any) -> None:
    X, y = _panel(1)
    model = QuantileLightGBM(n_estimators=20)
    regressors = [model._regressor(q) for q in (0.1, 0.9)]
    fitted = fit_quantiles_on_cluster(client_1, regressors, X, y)
    assert [r.alpha for r in fitted] == [0.1, 0.9]
    low, high = (r.predict(X) for r in fitted)
    assert (low < high).mean() > 0.9
