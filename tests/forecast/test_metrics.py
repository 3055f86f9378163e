import numpy as np
import pytest

from spmopt.forecast import metrics


def test_brier_and_log_loss_closed_forms() -> None:
    y = np.array([1, 0, 1, 0])
    p = np.array([0.8, 0.2, 0.6, 0.4])
    assert metrics.brier(y, p) == pytest.approx((0.04 + 0.04 + 0.16 + 0.16) / 4)
    expected = -(np.log(0.8) * 2 + np.log(0.6) * 2) / 4
    assert metrics.log_loss(y, p) == pytest.approx(expected)


def test_reliability_and_ece_by_hand() -> None:
    y = np.array([1, 0, 0, 0, 1, 1, 1, 0])
    p = np.array([0.15, 0.15, 0.15, 0.15, 0.85, 0.85, 0.85, 0.85])
    table = metrics.reliability_table(y, p)
    assert table["bin"].tolist() == [1, 8]
    assert table["count"].sum() == len(y)
    assert table["observed_rate"].tolist() == pytest.approx([0.25, 0.75])
    assert metrics.ece(y, p) == pytest.approx(0.10)


def test_perfectly_calibrated_constant_has_zero_ece() -> None:
    y = np.array([1, 0, 0, 0] * 10)
    assert metrics.ece(y, np.full(40, 0.25)) == pytest.approx(0.0)
    assert metrics.auc(y, np.full(40, 0.25)) == 0.5


def test_paired_bootstrap_detects_a_better_model_and_noise() -> None:
    rng = np.random.default_rng(0)
    p_true = rng.uniform(0.05, 0.95, size=3000)
    y = (rng.random(3000) < p_true).astype(float)
    base = np.full(3000, y.mean())
    better = metrics.paired_bootstrap(y, p_true, base, seed=1, rounds=200)
    assert better["low"] > 0 and better["p_worse"] == 0.0
    same = metrics.paired_bootstrap(y, base, base.copy(), seed=1, rounds=200)
    assert same["low"] <= 0 <= same["high"]
