"""Early stopping of the cluster path against LightGBM's own, in process."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
from sklearn.metrics import log_loss

from spmopt.scale.training import EarlyStopping, ValidationSet


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] - X[:, 1] + rng.normal(scale=2.0, size=n) > 0).astype(float)
    return X, y


PARAMS = {"objective": "binary", "num_leaves": 15, "verbose": -1, "seed": 1}
PARAMS["num_threads"] = 1


def test_validation_losses_are_the_weighted_log_loss_of_each_prefix() -> None:
    X, y = _data(3_000, 0)
    booster = lgb.train(PARAMS, lgb.Dataset(X, y), 30)
    Xv, yv = _data(800, 1)
    weight = np.where(yv == 1, 2.0, 1.0)
    valid = ValidationSet(Xv, yv, weight)
    raw = np.zeros(len(yv))
    first = valid.losses(booster, 0, raw[:])
    assert len(first) == 30
    for trees in (1, 17, 30):
        p = booster.predict(Xv, num_iteration=trees)
        assert abs(first[trees - 1] - log_loss(yv, p, sample_weight=weight)) < 1e-12
    np.testing.assert_allclose(raw, booster.predict(Xv, raw_score=True))


def test_early_stopping_picks_lightgbms_best_iteration() -> None:
    X, y = _data(3_000, 2)
    Xv, yv = _data(1_000, 3)
    weight = np.ones(len(yv))
    params = {**PARAMS, "learning_rate": 0.3}
    train = lgb.Dataset(X, y)
    stopped = lgb.train(
        params,
        train,
        300,
        valid_sets=[train.create_valid(Xv, yv)],
        callbacks=[lgb.early_stopping(10, verbose=False)],
    )
    full = lgb.train(params, lgb.Dataset(X, y), 300)
    stopper = EarlyStopping(10)
    losses = ValidationSet(Xv, yv, weight).losses(full, 0, np.zeros(len(yv)))
    stopper.update(losses[:120], 0)
    stopper.update(losses[120:], 120)
    assert stopper.stopped
    assert stopper.best_index + 1 == stopped.best_iteration
    assert stopper.best_loss == min(losses[: stopper.best_index + 11])
