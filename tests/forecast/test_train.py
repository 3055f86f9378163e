import json
import warnings
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.config import load_config, parse_config
from spmopt.data import IBM_LEAKY_COLUMNS
from spmopt.errors import DataError, NoSignalWarning
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.train import (
    NO_SIGNAL,
    USABLE,
    fit_models,
    prepare,
    rounded_metrics,
    run_train,
)
from spmopt.runs import RunWriter

REPO = Path(__file__).resolve().parents[2]


def _train(cfg: ForecastConfig, folder: Path, seed: int = 0) -> dict:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NoSignalWarning)
        return run_train(cfg, RunWriter(folder), seed)


def test_signal_is_found_and_every_file_follows_the_contract(
    cfg, deals_factory, tmp_path
) -> None:
    headline = _train(cfg, tmp_path / "a")
    metrics = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert metrics["verdict"] == USABLE == headline["verdict"]
    assert metrics["split"] == "time"
    assert {"base_rate", "logistic", "hist_gb", "lightgbm"} <= set(metrics["models"])
    for scores in metrics["models"].values():
        assert set(scores) == {"auc", "pr_auc", "brier", "log_loss", "ece"}
    lgbm, base = metrics["models"]["lightgbm"], metrics["models"]["base_rate"]
    assert lgbm["auc"] > 0.8 and lgbm["brier"] < base["brier"]
    closed = deals_factory()["stage"] != "Open"
    assert metrics["n_train"] + metrics["n_valid"] + metrics["n_test"] == closed.sum()
    reliability = pd.read_csv(tmp_path / "a" / "reliability.csv")
    assert list(reliability.columns) == [
        "model",
        "bin",
        "mean_predicted",
        "observed_rate",
        "count",
    ]
    counts = reliability.groupby("model")["count"].sum()
    assert (counts == metrics["n_test"]).all()
    periods = pd.read_csv(tmp_path / "a" / "by_period.csv")
    assert periods["deals"].sum() == metrics["n_test"]
    text = pd.read_csv(tmp_path / "a" / "by_period.csv", dtype=str)
    for column in ("actual_value", "predicted_value", "value_p10", "value_p90"):
        assert text[column].dropna().str.match(r"^-?\d+\.\d\d$").all()  # cents
    assert periods["period"].str.match(r"^2024-\d\d$").all()
    importance = pd.read_csv(tmp_path / "a" / "importance.csv")
    assert list(importance.columns) == ["feature", "importance"]
    for key in ("lightgbm_auc", "lightgbm_brier", "lightgbm_ece", "logistic_auc"):
        assert key in headline
    assert "base_rate_brier" in headline
    figures = [*_floats(metrics), *_floats(headline)]
    assert figures and all(_places(x) <= 6 for x in figures)  # no float noise


def _floats(value: object) -> Iterator[float]:
    if isinstance(value, float):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _floats(item)
    elif isinstance(value, list):
        for item in value:
            yield from _floats(item)


def _places(value: float) -> int:
    exponent = Decimal(repr(value)).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def test_rounded_metrics_keep_six_places_throughout() -> None:
    got = rounded_metrics({"a": 0.1 + 0.2, "b": [1 / 3, 2], "c": "x", "d": None})
    assert got == {"a": 0.3, "b": [0.333333, 2], "c": "x", "d": None}


def test_same_seed_gives_identical_files(cfg, tmp_path) -> None:
    _train(cfg, tmp_path / "a")
    _train(cfg, tmp_path / "b")
    for name in ("reliability.csv", "importance.csv", "by_period.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (
            tmp_path / "b" / name
        ).read_bytes()
    a, b = (json.loads((tmp_path / d / "metrics.json").read_text()) for d in "ab")
    assert a == b


def test_noise_gives_no_usable_signal_and_no_promotion(
    make_config, deals_factory, tmp_path
) -> None:
    path = tmp_path / "noise.csv"
    deals_factory(n=900, seed=5, signal=0.0).to_csv(path, index=False)
    cfg = parse_config(ForecastConfig, make_config(str(path)))
    with pytest.warns(NoSignalWarning, match="no model beats the base rate"):
        headline = run_train(cfg, RunWriter(tmp_path / "out"), 0)
    assert headline["verdict"] == NO_SIGNAL
    assert headline["chosen_model"] == "base_rate"
    assert headline["promoted"] is False


def test_history_features_are_added_and_open_deals_score(
    make_config, deals_factory, tmp_path
) -> None:
    path = tmp_path / "deals.csv"
    frame = deals_factory()
    frame.to_csv(path, index=False)
    data = make_config(str(path))
    data["columns"] |= {"close_date": "closed", "history": ["owner", "region"]}
    cfg = parse_config(ForecastConfig, data)
    data = prepare(cfg, 0)
    assert "owner_past_win_rate" in data.deals.numeric
    result = fit_models(cfg, data, 0)
    open_rows = frame.loc[frame["stage"] == "Open"].drop(columns="stage")
    p = result.forecaster.win_probability(open_rows)
    assert len(p) == len(open_rows) and ((p >= 0) & (p <= 1)).all()
    first = data.frames["train"].sort_values("created").iloc[0]
    assert first["owner_past_deals"] == 0


def test_too_few_rows_or_classes_per_part_are_refused(
    make_config, deals_factory, tmp_path
) -> None:
    path = tmp_path / "small.csv"
    deals_factory(n=60).to_csv(path, index=False)
    cfg = parse_config(ForecastConfig, make_config(str(path)))
    with pytest.raises(DataError, match=r"need at least split\.min_rows=100"):
        run_train(cfg, RunWriter(tmp_path / "out"), 0)
    strict = cfg.model_copy(
        update={
            "split": cfg.split.model_copy(update={"min_rows": 10, "min_per_class": 500})
        }
    )
    with pytest.raises(DataError, match=r"min_per_class=500"):
        run_train(strict, RunWriter(tmp_path / "out"), 0)


def test_maven_config_finds_no_signal_at_engage_time(tmp_path) -> None:
    cfg = load_config(ForecastConfig, REPO / "configs" / "forecast" / "maven.yaml")
    cfg = cfg.model_copy(
        update={"tracking": cfg.tracking.model_copy(update={"enabled": False})}
    )
    headline = _train(cfg, tmp_path / "m")
    metrics = json.loads((tmp_path / "m" / "metrics.json").read_text())
    assert metrics["verdict"] == NO_SIGNAL and metrics["promoted"] is False
    assert metrics["split"] == "time"
    features = metrics["features"]
    assert {"sales_agent", "account", "product", "sector"} <= set(
        features["categorical"]
    )
    assert "sales_price" in features["numeric"]
    assert "account_past_win_rate" in features["numeric"]
    assert not {"close_value", "close_date", "deal_stage"} & {
        *features["categorical"],
        *features["numeric"],
    }
    assert metrics["split_cuts"]["valid"] < metrics["split_cuts"]["test"]
    assert 0.4 < headline["lightgbm_auc"] < 0.6


@pytest.mark.slow
def test_ibm_config_reaches_the_targets_without_leaky_columns(tmp_path) -> None:
    cfg = load_config(ForecastConfig, REPO / "configs" / "forecast" / "ibm.yaml")
    with pytest.warns(Warning):
        headline = run_train(cfg, RunWriter(tmp_path / "i"), 0)
    metrics = json.loads((tmp_path / "i" / "metrics.json").read_text())
    assert metrics["split"] == "grouped-random"
    assert headline["verdict"] == USABLE
    lgbm, models = metrics["models"]["lightgbm"], metrics["models"]
    assert lgbm["auc"] >= 0.85 and lgbm["ece"] < 0.02
    for name in ("base_rate", "logistic"):
        assert lgbm["brier"] < models[name]["brier"]
    # hist_gb sees the same amount-pattern features and ties within noise
    assert lgbm["brier"] < models["hist_gb"]["brier"] + 0.0005
    assert lgbm["auc"] > models["hist_gb"]["auc"]
    assert "opportunity_amount_usd_same_amount_deals" in metrics["features"]["numeric"]
    assert not set(IBM_LEAKY_COLUMNS) & {
        *metrics["features"]["categorical"],
        *metrics["features"]["numeric"],
    }
    assert np.isclose(lgbm["auc"], headline["lightgbm_auc"])


def test_amount_patterns_count_earlier_training_deals_only(
    make_config, deals_factory, tmp_path
) -> None:
    frame = deals_factory()
    frame["amount"] = np.random.default_rng(3).choice(["1000", "2500", "4321"], 800)
    path = tmp_path / "deals.csv"
    frame.to_csv(path, index=False)
    data = make_config(str(path))
    data["columns"] |= {"amount_patterns": True}
    cfg = parse_config(ForecastConfig, data)
    prepared = prepare(cfg, 0)
    column = "amount_same_amount_deals"
    assert {"amount_round_digits", column} <= set(prepared.deals.numeric)
    train = prepared.frames["train"]
    for part in ("train", "test"):
        rows = prepared.frames[part]
        for _, row in rows.head(40).iterrows():
            same = train["amount"] == row["amount"]
            before = train["created"] < row["created"]
            assert row[column] == (same & before).sum()
    result = fit_models(cfg, prepared, 0)
    open_rows = frame.loc[frame["stage"] == "Open"].drop(columns="stage")
    p = result.forecaster.win_probability(open_rows)
    assert len(p) == len(open_rows) and ((p >= 0) & (p <= 1)).all()
