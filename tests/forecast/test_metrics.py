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


def test_forecast_by_period_sums_and_covers_the_truth() -> None:
    rng = np.random.default_rng(5)
    period = np.repeat(["2024-01", "2024-02", "2024-03"], 400)
    p = rng.uniform(0.1, 0.9, size=1200)
    y = (rng.random(1200) < p).astype(float)
    amount = rng.uniform(100, 200, size=1200)
    table = metrics.forecast_by_period(period, y, p, amount, seed=0)
    assert table["period"].tolist() == ["2024-01", "2024-02", "2024-03"]
    assert table["deals"].sum() == 1200 and table["actual_won"].sum() == y.sum()
    assert table["predicted_won"].sum() == pytest.approx(p.sum())
    assert (table["won_p10"] < table["predicted_won"]).all()
    assert (table["predicted_won"] < table["won_p90"]).all()
    sd = np.sqrt((p[:400] * (1 - p[:400])).sum())
    width = table["won_p90"].iloc[0] - table["won_p10"].iloc[0]
    assert width == pytest.approx(2 * 1.2816 * sd, rel=0.15)


def test_without_amounts_the_value_columns_are_empty_not_zero() -> None:
    period = np.array(["2024-01", "2024-01", "2024-02"])
    p, y = np.array([0.2, 0.7, 0.5]), np.array([0.0, 1.0, 1.0])
    table = metrics.forecast_by_period(period, y, p, np.full(3, np.nan), seed=0)
    assert table["actual_value"].isna().all() and table["value_p90"].isna().all()
    assert table["actual_won"].tolist() == [1, 1]


def test_sampled_won_value_matches_its_closed_form_moments() -> None:
    rng = np.random.default_rng(8)
    p = rng.uniform(0, 1, size=50)
    amount = rng.uniform(10, 100, size=50)
    amount[3] = np.nan
    totals = metrics.sample_won_value(p, amount, 20_000, seed=1)
    value = np.nan_to_num(amount)
    assert totals.mean() == pytest.approx(value @ p, rel=0.01)
    assert totals.var() == pytest.approx((value**2) @ (p * (1 - p)), rel=0.05)
    again = metrics.sample_won_value(p, amount, 20_000, seed=1)
    assert np.array_equal(totals, again)
