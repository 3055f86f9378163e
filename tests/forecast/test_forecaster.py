import numpy as np
import pandas as pd

from spmopt.forecast.features import load_deals
from spmopt.forecast.forecaster import WinForecaster


def _fitted(cfg) -> tuple[WinForecaster, pd.DataFrame]:
    deals = load_deals(cfg)
    closed = deals.frame.loc[deals.labelled].reset_index(drop=True)
    y = deals.label[deals.labelled]
    half = len(closed) // 2
    model = WinForecaster(
        deals.categorical,
        deals.numeric,
        lgbm_params={"max_rounds": 100, "early_stopping_rounds": 10},
    )
    model.fit(closed.iloc[:half], y[:half], closed.iloc[half:], y[half:])
    return model, closed.iloc[half:].reset_index(drop=True)


def test_probabilities_in_unit_interval_and_carry_signal(cfg) -> None:
    model, frame = _fitted(cfg)
    p = model.win_probability(frame)
    assert p.shape == (len(frame),) and ((p >= 0) & (p <= 1)).all()
    won = (frame["stage"] == "Closed Won").to_numpy()
    assert p[won].mean() > p[~won].mean() + 0.2


def test_category_order_at_scoring_does_not_change_probabilities(cfg) -> None:
    model, frame = _fitted(cfg)
    base = model.win_probability(frame)
    as_category = frame.assign(
        region=pd.Categorical(
            frame["region"], categories=["West", "South", "North", "East"]
        )
    )
    assert np.array_equal(model.win_probability(as_category), base)
    reordered = frame.iloc[::-1]
    assert np.array_equal(model.win_probability(reordered), base[::-1])


def test_unseen_category_and_text_numbers_are_scored(cfg) -> None:
    model, frame = _fitted(cfg)
    text = frame.astype(str).assign(region="Atlantis", owner="new rep")
    p = model.win_probability(text)
    assert np.isfinite(p).all() and ((p >= 0) & (p <= 1)).all()


def test_contributions_sum_to_raw_log_odds(cfg) -> None:
    model, frame = _fitted(cfg)
    contrib = model.contributions(frame.head(20))
    raw = model.raw_proba(frame.head(20))
    assert list(contrib.columns) == [*model.feature_names, "bias"]
    assert np.allclose(contrib.sum(axis=1), np.log(raw / (1 - raw)))
    importance = model.importance()
    assert importance["importance"].sum() == np.float64(1.0) or np.isclose(
        importance["importance"].sum(), 1.0
    )
    assert importance["feature"].iloc[0] in {"score", "region"}


def test_top_reasons_pick_the_largest_pushes() -> None:
    from spmopt.forecast.score import top_reasons

    contrib = pd.DataFrame(
        {"a": [0.1, -2.0], "b": [-0.5, 0.3], "c": [0.0, 0.0], "bias": [1.0, 1.0]}
    )
    frame = pd.DataFrame({"a": ["x", "y"], "b": [1.5, None], "c": ["", "z"]})
    reasons = top_reasons(contrib, frame, k=2)
    assert reasons["reason_1"].tolist() == ["b=1.5 (-0.50)", "a=y (-2.00)"]
    assert reasons["reason_2"].tolist() == ["a=x (+0.10)", "b=missing (+0.30)"]
