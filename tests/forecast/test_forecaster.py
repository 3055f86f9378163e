import numpy as np
import pandas as pd
import pytest

from spmopt.errors import DataError
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


@pytest.mark.parametrize("value", ["1e300", "-2e15", "seven"])
def test_huge_or_text_numbers_are_refused_when_scoring(cfg, value) -> None:  # type: ignore[no-untyped-def]
    model, frame = _fitted(cfg)
    text = frame.astype(str)
    text.loc[3, "score"] = value
    pattern = rf"column 'score' must be a finite number .*got '{value}' in data row 4"
    with pytest.raises(DataError, match=pattern):
        model.win_probability(text)
    parsed = frame.assign(score=frame["score"].astype(float))
    parsed.loc[3, "score"] = 1e300
    with pytest.raises(DataError, match=r"got 1e\+300 in data row 4"):
        model.win_probability(parsed)


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


def test_repeated_deals_get_the_same_contributions_as_lightgbm(cfg) -> None:
    model, frame = _fitted(cfg)
    rows = frame.iloc[[3, 0, 3, 7, 0, 3]].reset_index(drop=True)
    rows.loc[5, "region"] = None
    X = model.encoder_.transform(rows)
    booster = model.booster_model_
    expected = booster.booster_.predict(
        X, num_iteration=booster.best_iteration_, pred_contrib=True
    )
    got = model.contributions(rows).to_numpy()
    np.testing.assert_array_equal(got, expected)


def test_reason_text_matches_a_row_by_row_reference() -> None:
    from spmopt.forecast.score import top_reasons

    rng = np.random.default_rng(0)
    names = ["a", "b", "c", "d"]
    contrib = pd.DataFrame(rng.normal(size=(50, 4)), columns=names)
    contrib["bias"] = 0.0
    frame = pd.DataFrame(
        {
            "a": rng.choice(["x", "", None, " y "], 50),
            "b": rng.choice([1.5, np.nan, 20000.0, -3.25], 50),
            "c": rng.choice(["=cmd", "plain"], 50),
            "d": rng.integers(0, 9, 50),
        }
    )
    reasons = top_reasons(contrib, frame, k=3)
    for i in range(50):
        values = contrib.loc[i, names].to_numpy()
        order = np.argsort(-np.abs(values), kind="stable")[:3]
        for rank, j in enumerate(order):
            cell = frame.loc[i, names[j]]
            shown = "missing" if pd.isna(cell) or str(cell).strip() == "" else cell
            expected = f"{names[j]}={shown} ({values[j]:+.2f})"
            assert reasons.loc[i, f"reason_{rank + 1}"] == expected
