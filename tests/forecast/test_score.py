import pandas as pd
import pytest

from spmopt.config import parse_config
from spmopt.errors import DataError
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import apply_joins
from spmopt.forecast.score import _amounts, open_deals, require_inputs
from spmopt.forecast.train import fit_models, prepare


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, make_config, deals_factory):  # type: ignore[no-untyped-def]
    """A forecaster with history and amount-pattern features, and open deals."""
    path = tmp_path_factory.mktemp("score") / "deals.csv"
    frame = deals_factory()
    frame.to_csv(path, index=False)
    data = make_config(str(path))
    data["columns"] |= {
        "close_date": "closed",
        "history": ["owner"],
        "amount_patterns": True,
    }
    cfg = parse_config(ForecastConfig, data)
    forecaster = fit_models(cfg, prepare(cfg, 0), 0).forecaster
    open_rows = frame.loc[frame["stage"] == "Open"].drop(columns="stage")
    return cfg, forecaster, open_rows.reset_index(drop=True)


def test_input_columns_are_raw_columns_not_derived_ones(fitted) -> None:  # type: ignore[no-untyped-def]
    _, forecaster, _ = fitted
    assert "owner_past_win_rate" in forecaster.feature_names
    assert "amount_round_digits" in forecaster.feature_names
    needed = forecaster.input_columns()
    assert not [c for c in needed if "_past_" in c or c.startswith("amount_")]
    assert {"owner", "region", "score", "amount", "created"} <= set(needed)


def test_missing_input_names_the_file_and_only_its_columns(fitted) -> None:  # type: ignore[no-untyped-def]
    _, forecaster, open_rows = fitted
    require_inputs(forecaster, open_rows, "open.csv")  # complete: no error
    short = open_rows.drop(columns=["owner", "amount"])
    pattern = (
        r"^open\.csv: column\(s\) \['owner', 'amount'\] needed by the model are "
        r"missing; columns in the file: deal, created, closed, region, score$"
    )
    with pytest.raises(DataError, match=pattern):
        require_inputs(forecaster, short, "open.csv")


def test_missing_deal_id_lists_the_file_columns_not_joined_ones(fitted) -> None:  # type: ignore[no-untyped-def]
    cfg, _, open_rows = fitted
    frame = open_rows.drop(columns="deal").assign(joined=1)
    with pytest.raises(DataError, match=r"columns in the file: created, closed,"):
        open_deals(cfg, frame, "open.csv", [c for c in frame if c != "joined"])
    assert len(open_deals(cfg, open_rows, "open.csv")) == len(open_rows)


def test_missing_join_key_names_the_scored_file_not_the_training_table(
    tmp_path, make_config, deals_factory
) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "owners.csv").write_text("owner,team\nann,t1\nbob,t2\ncy,t1\n")
    (tmp_path / "regions.csv").write_text("region,zone\nEast,z1\nWest,z2\n")
    data = make_config("deals.csv")
    data["joins"] = [
        {"table": "owners.csv", "key": "owner"},
        {"table": "regions.csv", "key": "region"},
    ]
    cfg = parse_config(ForecastConfig, data, base_dir=tmp_path)
    frame = deals_factory(n=20).drop(columns="region")
    pattern = (
        r"^open\.csv: column\(s\) \['region'\] \(join key of .*regions\.csv\) are "
        r"missing; columns present: deal, created, closed, stage, owner, score, "
        r"amount$"
    )
    with pytest.raises(DataError, match=pattern):
        apply_joins(cfg, frame, "open.csv")
    joined = apply_joins(cfg, deals_factory(n=20), "open.csv")
    assert {"team", "zone"} <= set(joined.columns)


def test_duplicate_deal_ids_are_refused_naming_the_rows(fitted) -> None:  # type: ignore[no-untyped-def]
    cfg, _, open_rows = fitted
    frame = pd.concat([open_rows, open_rows.iloc[[1]]], ignore_index=True)
    value = repr(str(open_rows["deal"].iloc[1]))
    pattern = (
        rf"^open\.csv: column 'deal' must be unique, {value} appears more than "
        rf"once \(data rows 2, {len(frame)};"
    )
    with pytest.raises(DataError, match=pattern):
        open_deals(cfg, frame, "open.csv")


@pytest.mark.parametrize("amount", ["1e300", "1e16", "-5", "lots"])
def test_huge_negative_or_text_amounts_are_refused(fitted, amount) -> None:  # type: ignore[no-untyped-def]
    cfg, _, open_rows = fitted
    frame = open_rows.astype(str)
    frame.loc[2, "amount"] = amount
    pattern = rf"'amount' \(amount\) must be .*±1e\+15, got '{amount}' in data row 3"
    with pytest.raises(DataError, match=pattern):
        _amounts(cfg, frame, "open.csv")
    frame.loc[2, "amount"] = "1e15"
    assert _amounts(cfg, frame, "open.csv")[2] == 1e15
