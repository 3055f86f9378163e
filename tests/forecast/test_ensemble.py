"""The compiled tree ensemble against LightGBM's own predict (the oracle)."""

from __future__ import annotations

from typing import Any

import lightgbm as lgb
import numpy as np
import pytest

from spmopt.forecast.ensemble import TreeEnsemble, UnsupportedModelError
from spmopt.forecast.models import LightGBMWinModel, compile_trees

N_CAT = 3


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three categorical codes, three numbers; NaN and zeros sprinkled in."""
    rng = np.random.default_rng(seed)
    cats = rng.integers(0, [4, 9, 30], size=(n, N_CAT)).astype(float)
    nums = rng.normal(size=(n, 3)) * [1.0, 100.0, 0.01]
    nums[:, 2] = np.round(nums[:, 2], 3)  # many exact zeros
    X = np.column_stack([cats, nums])
    X[rng.random(X.shape) < 0.08] = np.nan
    logit = np.nan_to_num(nums[:, 0] + 0.02 * nums[:, 1]) + (cats[:, 1] % 3 - 1)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return X, y


def _booster(X: np.ndarray, y: np.ndarray, rounds: int = 40, **params: Any) -> Any:
    base = {
        "objective": "binary",
        "num_leaves": 31,
        "min_data_per_group": 5,
        "cat_smooth": 1.0,
        "verbosity": -1,
        "num_threads": 1,
        "seed": 0,
    }
    data = lgb.Dataset(X, y, categorical_feature=list(range(N_CAT)))
    return lgb.train(base | params, data, num_boost_round=rounds)


def _awkward_rows(X: np.ndarray, booster: Any, seed: int) -> np.ndarray:
    """Random rows plus unseen, negative and fractional codes, zeros,
    infinities and values exactly on the split thresholds."""
    rng = np.random.default_rng(seed)
    rows = X[rng.integers(0, len(X), 600)].copy()
    rows[:50, :N_CAT] = rng.integers(-3, 60, size=(50, N_CAT))
    rows[50:100, :N_CAT] += rng.uniform(-0.9, 0.9, size=(50, N_CAT))
    rows[100:150, N_CAT:] = 0.0
    rows[150:160, N_CAT:] = rng.choice([np.inf, -np.inf, -0.0, 1e-40], (10, 3))
    rows[rng.random(rows.shape) < 0.1] = np.nan
    thresholds = _numeric_thresholds(booster)
    for i, (feature, value) in enumerate(thresholds[:400]):
        rows[200 + i, feature] = value
    return rows


def _numeric_thresholds(booster: Any) -> list[tuple[int, float]]:
    found: list[tuple[int, float]] = []

    def walk(node: dict) -> None:
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            found.append((node["split_feature"], float(node["threshold"])))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        walk(tree["tree_structure"])
    return found


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"zero_as_missing": True},
        {"use_missing": False},
        {"num_leaves": 64, "max_cat_to_onehot": 16},
    ],
    ids=["nan-missing", "zero-missing", "no-missing", "64-leaves-onehot"],
)
def test_raw_scores_equal_lightgbm_on_awkward_rows(params: dict) -> None:
    X, y = _data(3000, 0)
    booster = _booster(X, y, **params)
    rows = _awkward_rows(X, booster, 1)
    ensemble = TreeEnsemble.from_booster(booster)
    expected = booster.predict(rows, raw_score=True)
    np.testing.assert_allclose(ensemble.raw_score(rows), expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        ensemble.predict(rows), booster.predict(rows), rtol=0, atol=1e-9
    )


def test_first_trees_only_and_chunks_agree() -> None:
    X, y = _data(6000, 2)
    booster = _booster(X, y, rounds=60)
    ensemble = TreeEnsemble.from_booster(booster, num_iteration=17)
    assert ensemble.n_trees == 17
    expected = booster.predict(X, num_iteration=17, raw_score=True)
    np.testing.assert_allclose(ensemble.raw_score(X), expected, rtol=0, atol=1e-9)


def test_trees_without_splits_give_the_initial_score() -> None:
    X, y = _data(200, 3)
    booster = _booster(X, y, rounds=3, min_data_in_leaf=500)
    ensemble = TreeEnsemble.from_booster(booster)
    np.testing.assert_allclose(ensemble.predict(X), booster.predict(X), atol=1e-12)


def test_wide_trees_are_refused_and_the_model_falls_back() -> None:
    X, y = _data(3000, 4)
    booster = _booster(X, y, rounds=3, num_leaves=80, min_data_in_leaf=2)
    with pytest.raises(UnsupportedModelError, match="64 leaves"):
        TreeEnsemble.from_booster(booster)
    assert compile_trees(booster, 3) is None
    model = LightGBMWinModel(
        categorical_features=tuple(range(N_CAT)), num_leaves=80, max_rounds=5
    ).fit(X, y)
    assert model.ensemble_ is None
    p = model.predict_proba(X)[:, 1]
    np.testing.assert_allclose(p, model.booster_.predict(X, num_iteration=5))


def test_win_model_uses_the_compiled_trees() -> None:
    X, y = _data(3000, 5)
    model = LightGBMWinModel(
        categorical_features=tuple(range(N_CAT)), max_rounds=30, class_weight="balanced"
    ).fit(X, y)
    assert model.ensemble_ is not None
    raw = model.booster_.predict(X, num_iteration=model.best_iteration_)
    odds = raw / (1 - raw) / model.pos_weight_
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], odds / (1 + odds))


def test_wrong_width_is_refused() -> None:
    X, y = _data(500, 6)
    ensemble = TreeEnsemble.from_booster(_booster(X, y, rounds=2))
    with pytest.raises(ValueError, match=r"shape \(n_rows, 6\)"):
        ensemble.raw_score(X[:, :4])


def test_table_budget_ungroups_then_refuses(monkeypatch) -> None:
    import spmopt.forecast.ensemble as ensemble

    X, y = _data(3000, 7)
    booster = _booster(X, y, rounds=20)
    grouped = TreeEnsemble.from_booster(booster)
    assert any(len(g.features) > 1 for g in grouped.groups_)
    separate_rows = sum(b.n_bins for b in grouped.features_.values())
    budget = separate_rows * 8 * grouped.n_trees
    monkeypatch.setattr(ensemble, "MAX_TABLE_BYTES", budget)
    single = TreeEnsemble.from_booster(booster)
    assert all(len(g.features) == 1 for g in single.groups_)
    np.testing.assert_allclose(
        single.raw_score(X), booster.predict(X, raw_score=True), rtol=0, atol=1e-9
    )
    monkeypatch.setattr(ensemble, "MAX_TABLE_BYTES", budget - 1)
    with pytest.raises(UnsupportedModelError, match="MiB"):
        TreeEnsemble.from_booster(booster)
    assert compile_trees(booster, 20) is None
