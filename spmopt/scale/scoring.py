"""Scoring a large pipeline as a map over partitions on the job's cluster.

:func:`win_probability` is the forecaster's ``win_probability`` for the
code that scores deals (``spmopt forecast score``): in process as before,
or, under a job's Dask scheduler, over partitions of the table on the
workers (:func:`spmopt.scale.lgbm.score_partitions`), with the same
probabilities in the same order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spmopt.scale.cluster import worker_count
from spmopt.scale.context import active_client

ROWS_PER_PARTITION = 200_000
"""Deals per partition at most (a few seconds of scoring each)."""


def n_partitions(n_rows: int, n_workers: int) -> int:
    """Two partitions per worker, more when partitions would be too large."""
    return max(1, min(n_rows, max(2 * n_workers, -(-n_rows // ROWS_PER_PARTITION))))


def win_probability(forecaster: Any, frame: pd.DataFrame) -> np.ndarray:
    """Win probability of each deal of ``frame``, shape (n_rows,).

    Parameters
    ----------
    forecaster : WinForecaster
        Fitted; sent to the workers when there is a cluster.
    frame : DataFrame
        Deals to score.
    """
    client = active_client(len(frame))
    if client is None or frame.empty:
        return np.asarray(forecaster.win_probability(frame))
    import dask.dataframe as dd

    from spmopt.scale.lgbm import score_partitions

    parts = n_partitions(len(frame), worker_count(client))
    lazy = dd.from_pandas(frame.reset_index(drop=True), npartitions=parts)
    scores = score_partitions(lazy, forecaster.win_probability)
    return np.asarray(client.compute(scores).result(), dtype=float)
