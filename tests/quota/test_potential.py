"""Potential panel, baselines, quantile LightGBM and pinball loss."""

import numpy as np
import pandas as pd
import pytest

from spmopt.quota.potential import (
    LastPeriodBaseline,
    QuantileLightGBM,
    TrailingMeanBaseline,
    build_panel,
    calibration_offsets,
    pinball_loss,
    quantile_scores,
)


def _deal(account: str, stage: str, engage: str, close: str | None, value: float):
    return {
        "account": account,
        "deal_stage": stage,
        "engage_date": pd.Timestamp(engage),
        "close_date": pd.Timestamp(close) if close else pd.NaT,
        "close_value": value,
    }


@pytest.fixture
def pipeline() -> pd.DataFrame:
    rows = [
        _deal("A", "Won", "2017-01-05", "2017-01-20", 100.0),
        _deal("A", "Won", "2017-01-10", "2017-02-03", 40.0),
        _deal("A", "Lost", "2017-01-15", "2017-02-10", 0.0),
        _deal("A", "Won", "2017-02-01", "2017-03-30", 60.0),
        _deal("B", "Won", "2017-02-01", "2017-02-25", 10.0),
        _deal("B", "Engaging", "2017-02-20", None, np.nan),
    ]
    return pd.DataFrame(rows)


def test_panel_targets_and_lags_use_only_earlier_periods(pipeline) -> None:
    panel = build_panel(pipeline, "account", "month", trailing=2)
    a = panel.frame[panel.frame["entity"] == "A"].set_index("period")
    assert a["target"].iloc[:3].tolist() == [100.0, 40.0, 60.0]
    assert np.isnan(a["target"].iloc[3])  # the period to score
    assert a["bookings_lag1"].iloc[1:].tolist() == [100.0, 40.0, 60.0]
    assert a["bookings_trailing_mean"].iloc[3] == pytest.approx(50.0)
    assert a["win_rate_trailing"].iloc[2] == pytest.approx(2 / 3)


def test_open_deals_count_at_period_start(pipeline) -> None:
    frame = build_panel(pipeline, "account", "month").frame.set_index(
        ["entity", "period"]
    )
    assert frame.loc[("A", pd.Timestamp("2017-02-01")), "open_deals"] == 2
    assert frame.loc[("A", pd.Timestamp("2017-03-01")), "open_deals"] == 1
    assert frame.loc[("B", pd.Timestamp("2017-03-01")), "open_deals"] == 1
    assert frame.loc[("B", pd.Timestamp("2017-04-01")), "open_deals"] == 1


def test_quarterly_panel(pipeline) -> None:
    panel = build_panel(pipeline, "account", "quarter")
    a = panel.frame[panel.frame["entity"] == "A"]
    assert a["target"].iloc[0] == 200.0
    assert "month_of_quarter" not in panel.features


def test_pinball_loss_by_hand() -> None:
    assert pinball_loss([10.0], [4.0], 0.9) == pytest.approx(5.4)
    assert pinball_loss([10.0], [16.0], 0.9) == pytest.approx(0.6)


def test_true_quantile_minimises_pinball_loss() -> None:
    y = np.random.default_rng(0).exponential(10.0, 50_000)
    for q in (0.1, 0.5, 0.9):
        best = np.quantile(y, q)
        assert pinball_loss(y, best, q) < pinball_loss(y, best * 1.1, q)
        assert pinball_loss(y, best, q) < pinball_loss(y, best * 0.9, q)


def _synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    lag = rng.uniform(50, 150, n)
    X = pd.DataFrame(
        {
            "bookings_lag1": lag,
            "bookings_to_date_mean": lag,
            "bookings_trailing_mean": lag,
            "size": rng.uniform(0, 1, n),
        }
    )
    y = lag * (1 + X["size"]) + rng.normal(0, 10, n)
    return X, y.to_numpy()


def test_baselines_center_on_their_point_forecasts() -> None:
    X, y = _synthetic(400, 1)
    last = LastPeriodBaseline().fit(X, y)
    pred = last.predict(X)
    assert np.all(np.diff(pred, axis=1) >= 0)
    coverage = quantile_scores(y, pred)["coverage_p10_p90"]
    assert coverage == pytest.approx(0.8, abs=0.01)  # in-sample by construction
    trailing = TrailingMeanBaseline().fit(X, y)
    assert trailing.growth_ == pytest.approx(y.sum() / X["bookings_lag1"].sum())


def test_lightgbm_beats_last_period_when_features_matter() -> None:
    X, y = _synthetic(600, 2)
    Xt, yt = _synthetic(300, 3)
    model = QuantileLightGBM(n_estimators=100, seed=0).fit(X, y)
    pred = model.predict(Xt)
    assert np.all(pred >= 0) and np.all(np.diff(pred, axis=1) >= 0)
    lgb = quantile_scores(yt, pred)
    base = quantile_scores(yt, LastPeriodBaseline().fit(X, y).predict(Xt))
    assert lgb["mean_pinball"] < base["mean_pinball"]
    assert 0.6 <= lgb["coverage_p10_p90"] <= 0.95
    importance = model.feature_importances_
    assert importance.sum() == pytest.approx(1.0)


def test_lightgbm_is_deterministic_for_a_seed() -> None:
    X, y = _synthetic(200, 4)
    a = QuantileLightGBM(n_estimators=30, seed=5).fit(X, y).predict(X)
    b = QuantileLightGBM(n_estimators=30, seed=5).fit(X, y).predict(X)
    np.testing.assert_array_equal(a, b)


def test_calibration_offsets_make_held_out_quantiles_exact() -> None:
    rng = np.random.default_rng(6)
    y = rng.normal(100.0, 20.0, 10_000)
    pred = np.column_stack(
        [np.full(y.size, 95.0), np.full(y.size, 100.0), np.full(y.size, 105.0)]
    )  # far too narrow
    shifts = calibration_offsets(y, pred)
    shifted = pred + np.array(shifts)
    below = [(y < shifted[:, i]).mean() for i in range(3)]
    np.testing.assert_allclose(below, [0.1, 0.5, 0.9], atol=0.002)
    assert (
        quantile_scores(y, shifted)["mean_pinball"]
        < quantile_scores(y, pred)["mean_pinball"]
    )


def test_offsets_shift_lightgbm_predictions() -> None:
    X, y = _synthetic(200, 8)
    base = QuantileLightGBM(n_estimators=20).fit(X, y).predict(X)
    moved = QuantileLightGBM(n_estimators=20, offsets=(-5.0, 0.0, 5.0)).fit(X, y)
    expected = base + np.array([-5.0, 0.0, 5.0])
    np.testing.assert_allclose(moved.predict(X), expected, atol=1e-9)
