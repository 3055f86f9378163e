import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.config import parse_config
from spmopt.errors import DataError, LeakageWarning
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import FeatureEncoder, load_deals


def _cfg(make_config, path: Path, **columns) -> ForecastConfig:
    data = make_config(str(path))
    data["columns"] = {**data["columns"], **columns}
    return parse_config(ForecastConfig, data)


def _write(frame: pd.DataFrame, tmp_path: Path) -> Path:
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


def test_labels_and_feature_lists(cfg: ForecastConfig, deals_factory) -> None:
    deals = load_deals(cfg)
    raw = deals_factory()
    assert np.array_equal(deals.label == 1, (raw["stage"] == "Closed Won").to_numpy())
    assert np.isnan(deals.label[(raw["stage"] == "Open").to_numpy()]).all()
    assert deals.categorical == ["owner", "region"]
    assert deals.numeric == ["amount", "score"]


def test_a_column_equal_to_the_outcome_is_refused(
    make_config, deals_factory, tmp_path: Path
) -> None:
    frame = deals_factory()
    frame["copy"] = frame["stage"].map({"Closed Won": "yes", "Closed Lost": "no"})
    path = _write(frame, tmp_path)
    with pytest.raises(DataError, match="'copy' determines the outcome"):
        load_deals(_cfg(make_config, path, categorical=["region", "copy"]))
    frame["flag"] = (frame["stage"] == "Closed Won").astype(int).astype(str)
    path = _write(frame, tmp_path)
    with pytest.raises(DataError, match="'flag' determines the outcome"):
        load_deals(_cfg(make_config, path, numeric=["score", "flag"]))


def test_listed_leaky_columns_are_dropped_with_a_warning_naming_them(
    make_config, deals_factory, tmp_path: Path
) -> None:
    frame = deals_factory()
    frame["days_to_close"] = "3"
    path = _write(frame, tmp_path)
    cfg = _cfg(
        make_config, path, numeric=["score", "days_to_close"], leaky=["days_to_close"]
    )
    with pytest.warns(LeakageWarning, match="days_to_close"):
        deals = load_deals(cfg)
    assert "days_to_close" not in deals.features
    assert deals.dropped["days_to_close"].startswith("leakage")


def test_auto_features_infer_kinds_and_drop_suspicious_names(
    make_config, deals_factory, tmp_path: Path
) -> None:
    frame = deals_factory()
    frame["close_value"] = "10"
    path = _write(frame, tmp_path)
    cfg = _cfg(make_config, path, categorical=[], numeric=[], auto_features=True)
    with pytest.warns(LeakageWarning, match="close_value"):
        deals = load_deals(cfg)
    assert set(deals.categorical) == {"owner", "region"}
    assert set(deals.numeric) == {"amount", "score"}
    assert "deal" not in deals.features


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (lambda f: f.drop(columns="region"), r"missing; columns present"),
        (lambda f: f.assign(score="high"), "'score' must be a number, got 'high'"),
        (lambda f: f.assign(amount="-5"), "'amount' .*must be >= 0"),
        (lambda f: f.assign(stage="Closed Won"), "no lost rows"),
        (lambda f: f.assign(created="soon"), "'created' must be a date"),
    ],
)
def test_broken_tables_give_one_clear_error(
    cfg: ForecastConfig, deals_factory, change, pattern: str
) -> None:
    with pytest.raises(DataError, match=pattern):
        load_deals(cfg, change(deals_factory()))


def test_encoder_codes_ignore_category_order_and_handle_unseen() -> None:
    train = pd.DataFrame({"c": ["b", "a", "c", "a"], "x": [1.0, 2.0, None, 4.0]})
    enc = FeatureEncoder(["c"], ["x"]).fit(train)
    shuffled = train.iloc[::-1].reset_index(drop=True)
    enc2 = FeatureEncoder(["c"], ["x"]).fit(shuffled)
    assert (
        enc.category_mapping()
        == enc2.category_mapping()
        == {"c": {"a": 0, "b": 1, "c": 2}}
    )
    score = pd.DataFrame({"c": ["zzz", "c", None], "x": ["1.5", "", "2"]})
    X = enc.transform(score)
    assert np.isnan(X[0, 0]) and X[1, 0] == 2 and np.isnan(X[2, 0])
    assert X[0, 1] == 1.5 and np.isnan(X[1, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        enc.transform(score)


def test_joins_bring_lookup_columns_and_refuse_duplicate_keys(
    make_config, deals_factory, tmp_path: Path
) -> None:
    frame = deals_factory().drop(columns="region")
    frame.to_csv(tmp_path / "deals.csv", index=False)
    lookup = pd.DataFrame({"owner": ["ann", "bob"], "region": ["East", "West"]})
    lookup.to_csv(tmp_path / "owners.csv", index=False)
    data = make_config(str(tmp_path / "deals.csv"))
    data["joins"] = [{"table": str(tmp_path / "owners.csv"), "key": "owner"}]
    deals = load_deals(parse_config(ForecastConfig, data))
    region = deals.frame.set_index(deals.frame["owner"])["region"]
    assert (region.loc["ann"] == "East").all() and (region.loc["bob"] == "West").all()
    assert region.loc["cy"].isna().all()
    pd.concat([lookup, lookup.head(1)]).to_csv(tmp_path / "owners.csv", index=False)
    with pytest.raises(DataError, match="join key 'owner' must be unique, 'ann'"):
        load_deals(parse_config(ForecastConfig, data))
    data["joins"] = [{"table": str(tmp_path / "owners.csv"), "key": "team"}]
    with pytest.raises(DataError, match=r"\['team'\]"):
        load_deals(parse_config(ForecastConfig, data))


def test_a_mistyped_outcome_value_warns_and_open_stages_do_not() -> None:
    from spmopt.errors import SpmoptWarning
    from spmopt.forecast.config import ColumnMap
    from spmopt.forecast.features import outcome_labels

    cols = ColumnMap(
        deal_id="id", outcome="stage", won_values=["Won"], lost_values=["Lost"]
    )
    stages = pd.Series(["Won", "Lost", "Wonn", "Engaging", "Prospecting", "lost"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        labels = outcome_labels(stages, cols, "deals")
    messages = [str(w.message) for w in caught if w.category is SpmoptWarning]
    assert len(messages) == 2
    assert any("'Wonn'" in m and "looks like 'Won'" in m for m in messages)
    assert any("'lost'" in m and "looks like 'Lost'" in m for m in messages)
    assert np.isnan(labels[2:]).all()  # still open deals, as documented


def test_a_close_date_before_the_prediction_date_is_refused(
    make_config, deals_factory, tmp_path: Path
) -> None:
    frame = deals_factory()
    load_deals(_cfg(make_config, _write(frame, tmp_path), close_date="closed"))
    frame.loc[[3, 8], "closed"] = "2023-12-31"  # before every created date
    frame.loc[5, "closed"] = frame.loc[5, "created"]  # same day is fine
    cfg = _cfg(make_config, _write(frame, tmp_path), close_date="closed")
    with pytest.raises(DataError) as info:
        load_deals(cfg)
    message = str(info.value)
    assert "column 'closed' (close date) must not be before column 'created'" in (
        message
    )
    assert "deal 'D00003' in data row 4 has closed 2023-12-31 and created " in (message)
    assert message.endswith("(2 such rows, data rows 4, 9)")
