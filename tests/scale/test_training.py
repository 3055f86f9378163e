"""Early stopping of the cluster path against LightGBM's own, in process."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
from sklearn.metrics import log_loss

from spmopt.scale.placement import in_part_order
from spmopt.scale.training import (
    EarlyStopping,
    ValidationSet,
    train_booster_on_cluster,
)


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


def _trees(booster: lgb.Booster) -> str:
    """The model text without its parameters (which hold network ports)."""
    return booster.model_to_string().split("parameters:")[0]


def test_cluster_booster_does_not_depend_on_the_order_parts_are_listed(
    client_2: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = _data(4_000, 4)
    weight = np.where(y == 1, 1.5, 1.0)
    params = {**PARAMS, "deterministic": True, "force_row_wise": True}
    listed = client_2.who_has
    boosters = []
    for backwards in (False, True):

        def fixed_order(futures: Any = None, backwards: bool = backwards) -> Any:
            found = listed(futures)
            keys = [f.key for f in futures][:: -1 if backwards else 1]
            return {key: found[key] for key in keys}

        monkeypatch.setattr(client_2, "who_has", fixed_order)
        booster, _ = train_booster_on_cluster(client_2, params, X, y, weight, [], 20, 5)
        boosters.append(_trees(booster))
    assert boosters[0] == boosters[1]


def test_in_part_order_lists_keys_as_asked_and_passes_the_rest() -> None:
    class Client:
        scheduler = "tcp://127.0.0.1:1"

        def who_has(self, futures: Any = None) -> dict[str, list[str]]:
            return {"b": ["w2"], "a": ["w1"], "c": ["w1"]}

    ordered = in_part_order(Client())
    assert list(ordered.who_has(["a", "b", "c"])) == ["a", "b", "c"]
    assert ordered.scheduler == "tcp://127.0.0.1:1"
