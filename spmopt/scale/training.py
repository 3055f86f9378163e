"""The forecaster's LightGBM booster trained through ``lightgbm.dask``.

:func:`train_booster_on_cluster` trains the booster of
:class:`spmopt.forecast.models.LightGBMWinModel` data-parallel on a Dask
cluster and returns a plain :class:`lightgbm.Booster` and its best
iteration, so the forecaster built around it (encoder, calibration, the
MLflow model record) is the same object as when trained in process.

Early stopping: ``lightgbm.dask`` trains every worker for the same number
of rounds, so rounds are added in steps (each step continues from the
booster so far, ``init_model``) and the weighted validation log loss of
every new tree is computed here, in process, on the whole validation
set. Training stops as LightGBM's own early stopping does: at the first
iteration ``patience`` rounds past the best one; the best iteration is
the first with the lowest loss.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np

from spmopt._logging import logger
from spmopt.scale.cluster import release, worker_count
from spmopt.scale.placement import in_part_order, place_blocks

_LOCAL_ONLY = ("num_threads", "n_jobs", "verbosity", "verbose")
EPS = 1e-15


@dataclass
class EarlyStopping:
    """Best iteration so far, updated one validation loss at a time.

    Attributes
    ----------
    patience : int
        Stop this many iterations past the best one.
    best_loss : float
    best_index : int
        0-based iteration of the best loss (-1 before any).
    stopped : bool
    """

    patience: int
    best_loss: float = float("inf")
    best_index: int = -1
    stopped: bool = False

    def update(self, losses: np.ndarray, offset: int) -> None:
        """Take the losses of iterations ``offset, offset + 1, ...``."""
        for i, loss in enumerate(losses):
            index = offset + i
            if loss < self.best_loss:
                self.best_loss, self.best_index = float(loss), index
            elif index - self.best_index >= self.patience:
                self.stopped = True
                return


@dataclass(frozen=True)
class ValidationSet:
    """Validation rows for early stopping: features, 0/1 labels, weights."""

    X: np.ndarray
    y: np.ndarray
    weight: np.ndarray

    def losses(self, booster: lgb.Booster, start: int, raw: np.ndarray) -> np.ndarray:
        """Weighted log loss after each tree from ``start`` on.

        ``raw`` holds the raw scores of the first ``start`` trees and is
        updated in place. Each tree's contribution is read from the leaf
        every row falls in (one prediction of leaf indices per block of
        trees, not one prediction per tree).
        """
        out = []
        block = max(1, VALID_CELLS // max(1, len(self.y)))
        for first in range(start, booster.num_trees(), block):
            n = min(block, booster.num_trees() - first)
            steps = _leaf_values(booster, self.X, first, n)
            scores = raw[:, None] + np.cumsum(steps, axis=1)
            raw[:] = scores[:, -1]
            p = np.clip(1.0 / (1.0 + np.exp(-scores)), EPS, 1 - EPS)
            y = self.y[:, None]
            loss = -(y * np.log(p) + (1 - y) * np.log(1 - p))
            out.append(np.average(loss, axis=0, weights=self.weight))
        return np.concatenate(out) if out else np.empty(0)


VALID_CELLS = 8_000_000
"""Validation rows x trees scored at once (64 MB of float64)."""


def _leaf_values(booster: lgb.Booster, X: np.ndarray, first: int, n: int) -> np.ndarray:
    """Output of trees ``first .. first + n - 1`` for each row, (n_rows, n)."""
    leaves = booster.predict(X, pred_leaf=True, start_iteration=first, num_iteration=n)
    leaves = np.asarray(leaves, dtype=np.int64).reshape(len(X), n)
    out = np.empty(leaves.shape)
    for i in range(n):
        ids, where = np.unique(leaves[:, i], return_inverse=True)
        values = [booster.get_leaf_output(first + i, int(leaf)) for leaf in ids]
        out[:, i] = np.asarray(values)[where]
    return out


def quiet_lightgbm() -> None:
    """Send LightGBM's Python messages to the ``lightgbm`` logger, errors only.

    ``lightgbm.dask`` logs notes such as "Finding random open ports" and
    ignored parameters even with ``verbose=-1``.
    """
    quiet = logging.getLogger("lightgbm")
    if quiet.level == logging.NOTSET:
        quiet.setLevel(logging.ERROR)
    lgb.register_logger(quiet)


def _dask_arrays(client: Any, X: np.ndarray, *vectors: np.ndarray) -> list[Any]:
    """``X`` and ``vectors`` cut into 2 row blocks per worker, each placed.

    Block ``i`` of every array sits on the same fixed worker
    (:func:`spmopt.scale.placement.place_blocks`).
    """
    import dask.array as da

    parts = max(2, 2 * worker_count(client))
    rows = max(1, -(-len(X) // parts))
    arrays = [da.from_array(X, chunks=(rows, X.shape[1]))]
    arrays += [da.from_array(v, chunks=(rows,)) for v in vectors]
    return place_blocks(client, *arrays)


def train_booster_on_cluster(
    client: Any,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray,
    categorical: list[int],
    max_rounds: int,
    early_stopping_rounds: int,
    valid: ValidationSet | None = None,
) -> tuple[lgb.Booster, int]:
    """Train a binary LightGBM booster through ``lightgbm.dask``.

    Parameters
    ----------
    client : distributed.Client
    params : dict
        LightGBM parameters of the in-process model (thread counts and
        verbosity are left to the workers).
    X : ndarray of shape (n_rows, n_features)
        Encoded features (category codes in the ``categorical`` columns).
    y, weight : ndarray of shape (n_rows,)
        0/1 labels and row weights.
    categorical : list of int
        Columns holding category codes.
    max_rounds, early_stopping_rounds : int
        Boosting rounds at most, and patience on the validation loss.
    valid : ValidationSet, optional
        Early stopping on these rows; all ``max_rounds`` rounds without.

    Returns
    -------
    booster : lightgbm.Booster
        Every tree trained (up to the stopping point).
    best_iteration : int
        1-based; predict with ``num_iteration=best_iteration``.
    """
    quiet_lightgbm()
    shared = {k: v for k, v in params.items() if k not in _LOCAL_ONLY}
    data = _dask_arrays(client, X, y, weight)
    step = max_rounds if valid is None else max(2 * early_stopping_rounds, 100)
    stopper = EarlyStopping(early_stopping_rounds)
    raw = np.zeros(0 if valid is None else len(valid.y))
    booster: lgb.Booster | None = None
    done = 0
    try:
        while done < max_rounds and not stopper.stopped:
            n = min(step, max_rounds - done)
            booster = _boost(client, shared, data, categorical, n, booster)
            if booster.num_trees() == done:
                break  # no split left to make: LightGBM added no tree
            if valid is not None:
                stopper.update(valid.losses(booster, done, raw), done)
            done = booster.num_trees()
    finally:
        release(data)
    assert booster is not None
    best = stopper.best_index + 1 if valid is not None else booster.num_trees()
    logger.debug("lightgbm.dask: %d trees, best %d", booster.num_trees(), best)
    return booster, best


def _boost(
    client: Any,
    params: dict[str, Any],
    data: list[Any],
    categorical: list[int],
    rounds: int,
    booster: lgb.Booster | None,
) -> lgb.Booster:
    """``rounds`` more rounds through ``lightgbm.dask``, from ``booster``."""
    from lightgbm.dask import DaskLGBMClassifier

    # Each worker's native LightGBM prints its network set-up ("Trying to
    # bind port ...") to stdout before ``verbose`` is read; local clusters
    # send their workers' stdout to the null device (spmopt.scale._quiet).
    # in_part_order: rank r holds the same rows on every run (placement.py).
    model = DaskLGBMClassifier(
        client=in_part_order(client), n_estimators=rounds, verbose=-1, **params
    )
    X, y, weight = data
    model.fit(
        X, y, sample_weight=weight, categorical_feature=categorical, init_model=booster
    )
    return model.booster_


def fit_on_cluster(
    client: Any,
    model: Any,
    params: dict[str, Any],
    X: np.ndarray,
    y: np.ndarray,
    X_valid: np.ndarray | None = None,
    y_valid: np.ndarray | None = None,
) -> tuple[lgb.Booster, int]:
    """Train the booster of a forecaster's ``LightGBMWinModel`` on ``client``.

    Parameters
    ----------
    client : distributed.Client
    model : LightGBMWinModel
        Its ``categorical_features``, ``max_rounds``,
        ``early_stopping_rounds`` and fitted ``pos_weight_`` (weight of a
        won deal) are used.
    params : dict
        The model's LightGBM parameters.
    X, y, X_valid, y_valid : ndarray
        Encoded training and validation rows and their 0/1 labels.

    Returns
    -------
    booster, best_iteration
        As :func:`train_booster_on_cluster`.
    """
    y = np.asarray(y, dtype=float)
    weight = np.where(y == 1, model.pos_weight_, 1.0)
    valid = None
    if X_valid is not None and y_valid is not None:
        y_v = np.asarray(y_valid, dtype=float)
        valid = ValidationSet(X_valid, y_v, np.where(y_v == 1, model.pos_weight_, 1.0))
    return train_booster_on_cluster(
        client,
        params,
        X,
        y,
        weight,
        list(model.categorical_features),
        model.max_rounds,
        model.early_stopping_rounds,
        valid,
    )
