import numpy as np
import pytest

from spmopt.forecast.metrics import brier, ece
from spmopt.forecast.models import (
    BaseRateModel,
    LightGBMWinModel,
    LogisticBaseline,
    ProbabilityCalibrator,
    choose_calibration,
)


def _data(n: int = 3000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 5, size=n).astype(float)
    x = rng.normal(size=n)
    logit = 1.5 * x + (cat - 2) * 0.8 - 1.5
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    return np.column_stack([cat, x]), y


def test_base_rate_and_logistic_return_probabilities() -> None:
    X, y = _data()
    p = BaseRateModel().fit(X, y).predict_proba(X)
    assert p.shape == (len(y), 2) and np.allclose(p[:, 1], y.mean())
    q = LogisticBaseline(n_categorical=1).fit(X, y).predict_proba(X)[:, 1]
    assert ((q >= 0) & (q <= 1)).all() and brier(y, q) < brier(y, p[:, 1])


def test_class_weight_is_undone_on_the_probabilities() -> None:
    X, y = _data()
    Xv, yv = _data(seed=1)
    model = LightGBMWinModel((0,), class_weight="balanced", max_rounds=150)
    p = model.fit(X, y, Xv, yv).predict_proba(Xv)[:, 1]
    assert model.pos_weight_ == pytest.approx((y == 0).sum() / (y == 1).sum())
    assert abs(p.mean() - yv.mean()) < 0.03
    assert ece(yv, p) < 0.06


def test_lightgbm_is_deterministic_and_stops_early() -> None:
    X, y = _data()
    Xv, yv = _data(seed=1)
    a = LightGBMWinModel((0,), max_rounds=2000, early_stopping_rounds=20)
    b = LightGBMWinModel((0,), max_rounds=2000, early_stopping_rounds=20)
    pa = a.fit(X, y, Xv, yv).predict_proba(Xv)
    assert np.array_equal(pa, b.fit(X, y, Xv, yv).predict_proba(Xv))
    assert a.best_iteration_ < 2000
    contrib = a.contributions(Xv[:10])
    logit = np.log(pa[:10, 1] / pa[:10, 0])
    assert np.allclose(contrib.sum(axis=1), logit)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_calibrators_fix_a_distorted_probability(method: str) -> None:
    rng = np.random.default_rng(3)
    truth = rng.uniform(0.02, 0.98, size=6000)
    y = (rng.random(6000) < truth).astype(float)
    logit = np.log(truth / (1 - truth))
    distorted = 1 / (1 + np.exp(-(2 * logit + 0.7)))
    fixed = ProbabilityCalibrator(method).fit(distorted, y).transform(distorted)
    assert ece(y, fixed) < 0.03 < ece(y, distorted)


def test_choose_calibration_prefers_none_when_already_calibrated() -> None:
    rng = np.random.default_rng(4)
    truth = rng.uniform(0.05, 0.95, size=4000)
    y = (rng.random(4000) < truth).astype(float)
    method, scores = choose_calibration(truth, y, seed=0)
    assert set(scores) == {"none", "platt", "isotonic"}
    assert method == "none"
    method, _ = choose_calibration(truth**3, y, seed=0)
    assert method != "none"
