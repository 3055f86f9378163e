from pathlib import Path

import pytest

from spmopt.config import load_config, parse_config
from spmopt.errors import ConfigError
from spmopt.forecast.config import ForecastConfig

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["ibm", "maven"])
def test_shipped_configs_load(name: str) -> None:
    cfg = load_config(ForecastConfig, REPO / "configs" / "forecast" / f"{name}.yaml")
    assert cfg.dataset == name
    assert cfg.split_kind() == ("time" if name == "maven" else "grouped-random")


def test_split_kind_auto_follows_prediction_date(make_config) -> None:
    data = make_config("t.csv")
    assert parse_config(ForecastConfig, data).split_kind() == "time"
    data["columns"] = {**data["columns"], "prediction_date": None}
    assert parse_config(ForecastConfig, data).split_kind() == "grouped-random"


def test_outcome_listed_as_feature_is_refused(make_config) -> None:
    data = make_config("t.csv")
    data["columns"] = {**data["columns"], "categorical": ["stage"]}
    with pytest.raises(ConfigError, match="'stage' is the outcome"):
        parse_config(ForecastConfig, data)


def test_value_meaning_both_outcomes_is_refused(make_config) -> None:
    data = make_config("t.csv")
    data["columns"] = {**data["columns"], "lost_values": ["Closed Won"]}
    with pytest.raises(ConfigError, match="share"):
        parse_config(ForecastConfig, data)


def test_time_split_without_date_is_refused(make_config) -> None:
    data = make_config("t.csv", split={"kind": "time"})
    data["columns"] = {**data["columns"], "prediction_date": None}
    with pytest.raises(ConfigError, match="prediction_date"):
        parse_config(ForecastConfig, data)


@pytest.mark.parametrize(
    ("section", "value", "pattern"),
    [
        ("split", {"valid_share": -0.1}, "valid_share"),
        ("model", {"n_jobs": 8}, "n_jobs"),
        ("model", {"calibration": "magic"}, "calibration"),
        ("model", {"learning_rat": 0.1}, "unknown field 'model.learning_rat'"),
    ],
)
def test_bad_settings_name_the_field(
    make_config, section: str, value: dict, pattern: str
) -> None:
    with pytest.raises(ConfigError, match=pattern):
        parse_config(ForecastConfig, make_config("t.csv", **{section: value}))


def test_history_needs_both_dates(make_config) -> None:
    data = make_config("t.csv")
    data["columns"] = {**data["columns"], "history": ["owner"]}
    with pytest.raises(ConfigError, match=r"history.*close_date"):
        parse_config(ForecastConfig, data)


@pytest.mark.parametrize(
    "columns", [{"amount": None}, {"amount_is_feature": False}], ids=str
)
def test_amount_patterns_need_an_amount_feature(make_config, columns: dict) -> None:
    data = make_config("t.csv")
    data["columns"] = {**data["columns"], "amount_patterns": True, **columns}
    with pytest.raises(ConfigError, match="amount_patterns needs an amount column"):
        parse_config(ForecastConfig, data)
