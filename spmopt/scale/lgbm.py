"""LightGBM win models trained through ``lightgbm.dask`` on Dask frames.

:class:`DaskWinModel` trains the same LightGBM binary model either in
process (no client) or data-parallel on a Dask cluster
(:class:`lightgbm.dask.DaskLGBMClassifier`), and keeps a plain
:class:`lightgbm.LGBMClassifier` as its fitted artefact either way, so
scoring and saving do not depend on where it was trained.

Categories follow the forecaster's contract: each categorical column's
values are learned once at training time (sorted text), every partition
is coded with exactly those categories, and a value unseen at training
becomes missing (NaN). :func:`score_partitions` maps any frame-scoring
function over the partitions of a large table.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Self, TypeAlias

import dask
import dask.dataframe as dd
import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from spmopt._logging import logger
from spmopt.errors import ConfigError, DataError
from spmopt.forecast.features import FeatureEncoder
from spmopt.scale.cluster import release, worker_count
from spmopt.scale.placement import in_part_order, place_blocks

Frame: TypeAlias = Any
"""A pandas or Dask DataFrame."""


def _text(values: Any) -> Any:
    return values.dropna().astype(str)


def require_columns(frame: Frame, columns: list[str]) -> None:
    """Raise DataError naming the feature columns ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise DataError(f"feature column(s) {missing} missing; columns present: {have}")


def distinct_values_frame(
    frame: Frame, categorical: list[str], numeric: list[str] | None = None
) -> pd.DataFrame:
    """A small pandas frame holding every distinct value of each column.

    Fitting a category encoder (this module's or the forecaster's
    :class:`~spmopt.forecast.FeatureEncoder`) on it learns the same
    categories as fitting on ``frame`` itself, which may be a Dask frame
    too large for one machine. Columns are padded with missing values;
    ``numeric`` columns are added empty, for encoders that expect them.
    """
    require_columns(frame, [*categorical, *(numeric or [])])
    if isinstance(frame, dd.DataFrame):
        lazy = [_text(frame[c]).unique(split_out=1) for c in categorical]
        found = list(dask.compute(*lazy))
    else:
        found = [_text(frame[c]).unique() for c in categorical]
    pairs = zip(categorical, found, strict=True)
    out = pd.DataFrame({c: pd.Series(np.asarray(v), dtype=object) for c, v in pairs})
    for column in numeric or []:
        out[column] = np.nan
    return out


class DaskWinModel(ClassifierMixin, BaseEstimator):
    """LightGBM win model trained in process or through ``lightgbm.dask``.

    A plain booster with the forecaster's category codes, for Dask frames
    too large for one machine; ``spmopt forecast train --scheduler`` trains
    the forecaster itself (early stopping, calibration, MLflow record)
    through :mod:`spmopt.scale.training` instead.

    Parameters
    ----------
    categorical, numeric : list of str
        Feature columns by kind.
    n_estimators : int
        Boosting rounds.
    learning_rate : float
        Shrinkage of each tree.
    num_leaves, min_child_samples : int
        Tree size and minimum deals per leaf.
    n_jobs : int
        LightGBM threads in process; on a cluster each worker uses its
        own thread count.
    random_state : int
        Seed of LightGBM.
    encoder : object, optional
        Unfitted encoder with ``fit(frame)``, ``transform(frame)``,
        ``feature_names`` and ``categorical`` (categorical columns first),
        default: the forecaster's ``FeatureEncoder(categorical, numeric)``.
        It is fitted on the distinct values of the training frame.

    Attributes
    ----------
    encoder_ : FeatureEncoder
        Category codes learned at training time.
    model_ : lightgbm.LGBMClassifier
        The fitted model, the same type whichever way it was trained.
    n_workers_ : int
        Workers that trained it (1 in process).
    """

    def __init__(
        self,
        categorical: list[str] | None = None,
        numeric: list[str] | None = None,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        n_jobs: int = 1,
        random_state: int = 0,
        encoder: Any = None,
    ) -> None:
        self.categorical = categorical
        self.numeric = numeric
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.encoder = encoder

    def fit(self, X: Frame, y: pd.Series | dd.Series, client: Any = None) -> Self:
        """Learn categories, then train on ``X`` (pandas or Dask) and ``y``.

        Parameters
        ----------
        X : DataFrame or dask DataFrame
            Feature columns (others are ignored).
        y : Series or dask Series
            1 for won, 0 for lost; partitioned like ``X`` when Dask.
        client : distributed.Client, optional
            Train data-parallel on this cluster; in process when None.
        """
        cat, num = list(self.categorical or []), list(self.numeric or [])
        require_columns(X, [*cat, *num])
        _check_labels(y)
        encoder = copy.deepcopy(self.encoder) or FeatureEncoder(cat, num)
        self.encoder_ = encoder.fit(distinct_values_frame(X, cat, num))
        if client is None:
            self.model_ = self._fit_local(X, y)
            self.n_workers_ = 1
        else:
            self.model_ = self._fit_dask(X, y, client)
            self.n_workers_ = len(client.scheduler_info()["workers"])
        self.classes_ = np.array([0, 1])
        logger.info(
            "lightgbm: %d features, %d trees, trained on %d worker(s)",
            len(self.encoder_.feature_names),
            self.model_.n_estimators,
            self.n_workers_,
        )
        return self

    def _params(self) -> dict[str, Any]:
        return {
            "objective": "binary",
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }

    def _categorical_index(self) -> list[int]:
        return list(range(len(self.encoder_.categorical)))

    def _fit_local(self, X: Frame, y: Any) -> lgb.LGBMClassifier:
        return train_lgbm("classifier", self._params(), X, y, self.encoder_, None)

    def _fit_dask(self, X: Frame, y: Any, client: Any) -> lgb.LGBMClassifier:
        return train_lgbm("classifier", self._params(), X, y, self.encoder_, client)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Loss and win probabilities of each deal, shape (n_rows, 2)."""
        return np.asarray(self.model_.predict_proba(self.encoder_.transform(X)))

    def win_probability(self, X: pd.DataFrame) -> np.ndarray:
        """Win probability of each deal, shape (n_rows,)."""
        return self.predict_proba(X)[:, 1]


def train_lgbm(
    kind: str, params: dict[str, Any], X: Frame, y: Any, encoder: Any, client: Any
) -> Any:
    """Fit a LightGBM classifier or regressor; return the in-process model.

    Parameters
    ----------
    kind : {"classifier", "regressor"}
    params : dict
        LightGBM parameters (``n_jobs`` is dropped on a cluster, where each
        worker uses its own thread count).
    X, y : pandas or Dask frame and series
        Features (encoded with the fitted ``encoder``) and target.
    encoder : object
        Fitted; categorical columns first.
    client : distributed.Client or None
        Train through ``lightgbm.dask`` on this cluster; in process when None.
    """
    categorical = list(range(len(encoder.categorical)))
    if client is None:
        if isinstance(X, dd.DataFrame):
            X, y = dask.compute(X, y)
        local = lgb.LGBMClassifier if kind == "classifier" else lgb.LGBMRegressor
        target = np.asarray(y, dtype=int if kind == "classifier" else float)
        model = local(**params)
        return model.fit(encoder.transform(X), target, categorical_feature=categorical)
    from lightgbm.dask import DaskLGBMClassifier, DaskLGBMRegressor

    if not isinstance(X, dd.DataFrame):
        X = dd.from_pandas(X, npartitions=_partitions_for(client))
        y = dd.from_pandas(pd.Series(np.asarray(y)), npartitions=X.npartitions)
    matrix = encode_partitions(X, encoder).to_dask_array(lengths=True)
    target = y.astype(int if kind == "classifier" else float).to_dask_array(
        lengths=True
    )
    matrix, target = place_blocks(client, matrix, target)
    spread = DaskLGBMClassifier if kind == "classifier" else DaskLGBMRegressor
    cluster_params = {k: v for k, v in params.items() if k != "n_jobs"}
    model = spread(client=in_part_order(client), **cluster_params)
    try:
        model.fit(matrix, target, categorical_feature=categorical)
    finally:
        release([matrix, target])
    return model.to_local()


class DaskQuantileModel(RegressorMixin, BaseEstimator):
    """LightGBM quantile model (e.g. account potential at P90) on Dask frames.

    The same training paths, category contract and artefact type as
    :class:`DaskWinModel`, for a numeric target: ``predict`` estimates the
    ``alpha`` quantile of the target given the features.

    Parameters
    ----------
    categorical, numeric : list of str
        Feature columns by kind.
    alpha : float
        Quantile level in (0, 1), e.g. 0.9 for P90 potential.
    n_estimators, learning_rate, num_leaves, min_child_samples, n_jobs,
    random_state, encoder
        As for :class:`DaskWinModel`.

    Attributes
    ----------
    encoder_, model_, n_workers_
        As for :class:`DaskWinModel`; ``model_`` is a
        :class:`lightgbm.LGBMRegressor`.
    """

    def __init__(
        self,
        categorical: list[str] | None = None,
        numeric: list[str] | None = None,
        alpha: float = 0.5,
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        min_child_samples: int = 20,
        n_jobs: int = 1,
        random_state: int = 0,
        encoder: Any = None,
    ) -> None:
        self.categorical = categorical
        self.numeric = numeric
        self.alpha = alpha
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.encoder = encoder

    def fit(self, X: Frame, y: pd.Series | dd.Series, client: Any = None) -> Self:
        """Learn categories, then train the quantile model on ``X`` and ``y``."""
        if not 0.0 < self.alpha < 1.0:
            raise ConfigError(f"alpha must be in (0, 1), got {self.alpha}")
        cat, num = list(self.categorical or []), list(self.numeric or [])
        require_columns(X, [*cat, *num])
        encoder = copy.deepcopy(self.encoder) or FeatureEncoder(cat, num)
        self.encoder_ = encoder.fit(distinct_values_frame(X, cat, num))
        params = {
            "objective": "quantile",
            "alpha": self.alpha,
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "n_jobs": self.n_jobs,
            "random_state": self.random_state,
            "deterministic": True,
            "force_row_wise": True,
            "verbose": -1,
        }
        self.model_ = train_lgbm("regressor", params, X, y, self.encoder_, client)
        self.n_workers_ = worker_count(client)
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Estimated ``alpha`` quantile of the target, shape (n_rows,)."""
        return np.asarray(self.model_.predict(self.encoder_.transform(X)))


def _check_labels(y: Any) -> None:
    lazy = isinstance(y, dd.Series)
    values = y.unique(split_out=1).compute() if lazy else y.unique()
    found = set(pd.Series(values).dropna().astype(float).tolist())
    if not found <= {0.0, 1.0} or len(found) < 2:
        raise DataError(
            f"labels must hold both 0 (lost) and 1 (won) and nothing else, "
            f"got {sorted(found)[:10]}"
        )


def _partitions_for(client: Any) -> int:
    return max(2, 2 * len(client.scheduler_info()["workers"]))


def encode_partitions(frame: dd.DataFrame, encoder: Any) -> dd.DataFrame:
    """Encode each partition of ``frame`` with a fitted encoder.

    Parameters
    ----------
    frame : dask DataFrame
    encoder : object
        Has ``feature_names`` and ``transform(pandas frame) -> ndarray``.

    Returns
    -------
    dask DataFrame
        Float columns named ``encoder.feature_names``, index kept.
    """
    names = list(encoder.feature_names)
    meta = pd.DataFrame({name: pd.Series(dtype=float) for name in names})

    def encode(part: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(encoder.transform(part), index=part.index, columns=names)

    return frame.map_partitions(encode, meta=meta)


def score_partitions(
    frame: dd.DataFrame,
    predict: Callable[[pd.DataFrame], np.ndarray],
    name: str = "win_probability",
) -> dd.Series:
    """Score a large table as a map over its partitions.

    Parameters
    ----------
    frame : dask DataFrame
        Deals to score; each partition is a pandas frame.
    predict : callable
        ``predict(pandas frame) -> ndarray of shape (n_rows,)``, e.g. a
        fitted model's ``win_probability``. Sent to the workers, so it must
        be picklable.
    name : str
        Name of the returned series.

    Returns
    -------
    dask Series
        One score per row, same index and partitions as ``frame``.
    """

    def score(part: pd.DataFrame) -> pd.Series:
        return pd.Series(
            np.asarray(predict(part), dtype=float), index=part.index, name=name
        )

    return frame.map_partitions(score, meta=pd.Series(dtype=float, name=name))
