import warnings
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spmopt.config import parse_config
from spmopt.errors import DataError, SpmoptWarning
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import apply_joins
from spmopt.forecast.score import (
    PROBABILITY_PLACES,
    SCORE_MONEY,
    _amounts,
    amount_cents,
    expected_cents,
    open_deals,
    pipeline_summary,
    require_inputs,
    score_table,
    warn_unseen_categories,
)
from spmopt.forecast.train import fit_models, prepare
from spmopt.runs import RunWriter, format_money


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


def _recomputed(p: str, amount: str) -> Decimal:
    """A spreadsheet's ROUND(p * amount, 2) on the cells as written."""
    return (Decimal(p) * Decimal(amount)).quantize(Decimal("0.01"), ROUND_HALF_UP)


@given(
    p=st.integers(0, 10**6),
    cents=st.integers(0, 10**17),
)
def test_expected_cents_is_the_exact_product_rounded_half_up(p, cents) -> None:  # type: ignore[no-untyped-def]
    got = expected_cents(np.array([p / 10**6]), np.array([cents], dtype=np.int64))
    exact = Decimal(p) * Decimal(cents) / Decimal(10**6)
    assert int(got[0]) == int(exact.quantize(Decimal(1), ROUND_HALF_UP))


def test_expected_cents_rounds_half_cents_up_not_to_even() -> None:
    # 0.5 x 0.01 = 0.005 and 0.5 x 0.05 = 0.025: a spreadsheet shows 0.01, 0.03
    got = expected_cents(np.array([0.5, 0.5]), np.array([1, 5], dtype=np.int64))
    assert got.tolist() == [1, 3]


def test_amount_cents_reads_text_exactly_even_for_huge_amounts() -> None:
    written = pd.Series(["123456789012345.67", "1e3", "", "0.005", " 7.1 "])
    parsed = np.array([123456789012345.67, 1000.0, np.nan, 0.005, 7.1])
    got = amount_cents(written, parsed)
    assert got.tolist() == [12345678901234567, 100000, 0, 1, 710]
    floats = pd.Series([2.5, np.nan])  # a Parquet column: no text to read
    assert amount_cents(floats, floats.to_numpy()).tolist() == [250, 0]


def test_every_written_expected_value_is_probability_times_amount(
    fitted, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    cfg, forecaster, open_rows = fitted
    frame = open_rows.copy()
    frame["amount"] = [f"{float(a) * 1013 + 0.37:.2f}" for a in frame["amount"]]
    frame.loc[0, "amount"] = "123456789012345.67"
    frame.loc[1, "amount"] = ""
    scores = score_table(forecaster, cfg, frame, "open.csv")
    shown = format_money(scores, ["win_probability"], PROBABILITY_PLACES)
    RunWriter(tmp_path).write_csv("scores.csv", shown, SCORE_MONEY)
    table = pd.read_csv(tmp_path / "scores.csv", dtype=str, keep_default_na=False)
    assert table.loc[0, "amount"] == "123456789012345.67"
    assert table.loc[1, ["amount", "expected_value"]].tolist() == ["", ""]
    rows = table.iloc[2:]
    cells = zip(rows.win_probability, rows.amount, rows.expected_value, strict=True)
    for p, amount, value in cells:
        assert Decimal(value) == _recomputed(p, amount), (p, amount, value)


def test_pipeline_totals_add_up_as_written_with_no_float_noise(fitted) -> None:  # type: ignore[no-untyped-def]
    cfg, forecaster, open_rows = fitted
    frame = open_rows.copy()
    frame["amount"] = [f"{float(a) * 771 + 0.1:.2f}" for a in frame["amount"]]
    scores = score_table(forecaster, cfg, frame, "open.csv")
    summary = pipeline_summary(scores, 500, 0)
    values = [v for v in scores["expected_value"] if v is not None]
    assert Decimal(repr(summary["expected_won_value"])) == sum(values, Decimal(0))
    written = [Decimal(f"{p:.6f}") for p in scores["win_probability"]]
    assert Decimal(repr(summary["expected_won_count"])) == sum(written, Decimal(0))
    for key in ("won_value_p10", "won_value_p50", "won_value_p90"):
        assert Decimal(repr(summary[key])) == round(Decimal(summary[key]), 2), key


def test_unseen_categories_warn_once_per_column_naming_rows_and_values(fitted) -> None:  # type: ignore[no-untyped-def]
    _, forecaster, open_rows = fitted
    frame = open_rows.copy()
    frame.loc[[0, 2, 4], "region"] = ["Mars", "Mars", " Venus "]
    frame.loc[[1, 3], "region"] = ["", None]  # blank: missing, not unseen
    frame.loc[5, "owner"] = "zed"
    with pytest.warns(SpmoptWarning) as record:
        warn_unseen_categories(forecaster, frame, "open.csv")
    messages = [str(w.message) for w in record]
    assert messages == [
        "open.csv: column 'owner' has 1 row(s) with 1 value(s) never seen in "
        "training ('zed'); they are scored as missing values, as a blank cell "
        "would be",
        "open.csv: column 'region' has 3 row(s) with 2 value(s) never seen in "
        "training ('Mars', 'Venus'); they are scored as missing values, as a "
        "blank cell would be",
    ]
    blank = frame.assign(region=frame["region"].where(frame.index > 4, ""))
    p, q = (forecaster.win_probability(f) for f in (frame, blank))
    assert np.array_equal(p[:5], q[:5])  # treated exactly like a blank cell


def test_unseen_category_list_is_cut_after_five(fitted) -> None:  # type: ignore[no-untyped-def]
    _, forecaster, open_rows = fitted
    frame = open_rows.head(8).assign(region=[f"R{i}" for i in range(8)])
    with pytest.warns(SpmoptWarning, match=r"'R3', 'R4' and 3 more\)"):
        warn_unseen_categories(forecaster, frame, "open.csv")


def test_known_categories_do_not_warn(fitted) -> None:  # type: ignore[no-untyped-def]
    _, forecaster, open_rows = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_unseen_categories(forecaster, open_rows, "open.csv")
