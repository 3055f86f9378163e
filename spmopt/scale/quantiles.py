"""The potential model's quantile regressors, one Dask task per quantile.

:class:`spmopt.quota.potential.QuantileLightGBM` fits one LightGBM
regressor per quantile (P10, P50, P90). Under ``spmopt quota potential
--scheduler ...`` each regressor is fitted as one task on the job's Dask
cluster, so the three train side by side. The regressors are built in
process with all their settings (one thread, deterministic, seeded), so a
model fitted on a worker is the one the process would have fitted: the
run's files are the same either way.

The panel is small (one row per entity and period), so the data is not
partitioned: every task gets the whole training table.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spmopt.scale.cluster import release


def fit_quantiles_on_cluster(
    client: Any, regressors: Sequence[Any], X: Any, y: Any
) -> list[Any]:
    """Fit each unfitted regressor on ``(X, y)`` as one task on ``client``.

    Parameters
    ----------
    client : distributed.Client
    regressors : sequence of LightGBM estimators
        Built with every setting, not yet fitted.
    X : DataFrame of shape (n_rows, n_features)
    y : ndarray of shape (n_rows,)
        Target, currency.

    Returns
    -------
    list
        The fitted regressors, in the order given.
    """
    data = client.scatter([X, y], hash=False)
    futures = [client.submit(_fit, r, *data, pure=False) for r in regressors]
    try:
        return list(client.gather(futures))
    finally:
        release([*futures, *data])


def _fit(regressor: Any, X: Any, y: Any) -> Any:
    return regressor.fit(X, y)
