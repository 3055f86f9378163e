import pandas as pd
import pytest

from spmopt import data
from spmopt.errors import DataError


def test_maven_pipeline_quirks() -> None:
    pipe = data.load_maven_pipeline()
    assert len(pipe) == 8800
    assert "GTXPro" not in set(pipe["product"])
    assert set(pipe["product"]) <= set(data.load_maven_products()["product"])
    assert pd.api.types.is_datetime64_any_dtype(pipe["close_date"])
    counts = pipe["deal_stage"].value_counts()
    assert counts["Won"] == 4238 and counts["Lost"] == 2473
    assert pipe.loc[pipe["deal_stage"] == "Won", "close_value"].sum() == 10005534
    assert "technolgy" not in set(data.load_maven_accounts()["sector"])


def test_ibm_keeps_none_and_decodes_deal_size() -> None:
    ibm = data.load_ibm()
    assert len(ibm) == 78025
    assert (ibm["competitor_type"] == "None").sum() == 9257
    assert int(ibm["won"].sum()) == 17627
    assert ibm["opportunity_id"].map(type).eq(str).all()
    big = ibm[ibm["opportunity_amount_usd"] >= 500_000]
    assert (big["deal_size_category"] == 7).all()


def test_counties_have_business_potential() -> None:
    counties = data.load_us_counties()
    assert len(counties) == 3143
    assert counties["geoid"].str.len().eq(5).all()
    assert counties["population_2010"].sum() == 308_745_538
    matched = counties["establishments"].sum() / 7_757_807
    assert matched > 0.98  # nearly all ZIP establishments reach a county


def test_zips_and_fortune500() -> None:
    zips = data.load_us_zips()
    assert len(zips) == 32391
    assert zips["zip"].str.len().eq(5).all()
    f500 = data.load_fortune500()
    assert "00055" not in set(f500["county_fips"])
    assert f500["revenue_musd"].max() == 485873


def test_unknown_bundled_table_lists_allowed() -> None:
    with pytest.raises(DataError, match="allowed: bundled:ibm_win_loss"):
        data.load_table("bundled:nope")
