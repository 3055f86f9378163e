"""Loaders for the bundled public datasets, with their quirks handled.

Each loader returns a typed DataFrame with snake_case columns:
identifiers as text, dates parsed, numbers as float. See the SOURCE.md
next to each file in :mod:`spmopt.datasets` for origin and licence.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import pandas as pd

from spmopt.config import BUNDLED_PREFIX
from spmopt.data.tables import check_schema, read_table
from spmopt.datasets import BUNDLED, bundled_path
from spmopt.errors import DataError

IBM_LEAKY_COLUMNS = (
    "elapsed_days_in_sales_stage",
    "sales_stage_change_count",
    "total_days_identified_through_closing",
    "total_days_identified_through_qualified",
    "ratio_days_identified_to_total_days",
    "ratio_days_validated_to_total_days",
    "ratio_days_qualified_to_total_days",
)
"""IBM columns measured over the whole sales cycle: known only at the end."""

IBM_CATEGORICAL = (
    "supplies_group",
    "supplies_subgroup",
    "region",
    "route_to_market",
    "client_size_by_revenue",
    "client_size_by_employee_count",
    "revenue_from_client_past_two_years",
    "competitor_type",
)
"""IBM text columns known while the deal is open (model features)."""

IBM_NUMERIC = ("opportunity_amount_usd", "deal_size_category")
"""IBM numeric columns known while the deal is open: amount (USD), size code."""

_IBM_DEAL_SIZE_CODES = {
    "10K or less": 1,
    "10K to 20K": 2,
    "20K to 30K": 3,
    "30K to 40K": 4,
    "40K to 50K": 5,
    "50K to 60K": 6,
    "More than 60K": 7,
}
_F500_FIPS_FIXES = {"00055": "31055", "34121": "34017", "06201": "06059"}
_COUNTY_ALIASES = {"AK|KUSILVAK": "AK|WADEHAMPTON", "SD|OGLALALAKOTA": "SD|SHANNON"}


def _raw(name: str) -> pd.DataFrame:
    return read_table(bundled_path(name), name=f"bundled:{name}", check_rows=False)


def _snake(name: str) -> str:
    name = re.sub(r"\(USD\)", "", name)
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


@lru_cache(maxsize=1)
def _maven_pipeline() -> pd.DataFrame:
    frame = _raw("maven_pipeline")
    frame["product"] = frame["product"].replace({"GTXPro": "GTX Pro"})
    schema = {
        "opportunity_id": "str",
        "sales_agent": "str",
        "product": "str",
        "account": "str",
        "deal_stage": "str",
        "engage_date": "date",
        "close_date": "date",
        "close_value": "float",
    }
    return check_schema(frame, schema, "bundled:maven_pipeline")


def load_maven_pipeline() -> pd.DataFrame:
    """Maven CRM opportunities (8,800 rows), product names fixed.

    Returns
    -------
    DataFrame
        ``opportunity_id``, ``sales_agent``, ``product``, ``account``,
        ``deal_stage`` (Prospecting, Engaging, Won, Lost), ``engage_date``,
        ``close_date`` (datetime64, NaT when open), ``close_value`` (USD,
        0 for lost deals, NaN when open).
    """
    return _maven_pipeline().copy()


def load_maven_accounts() -> pd.DataFrame:
    """Maven accounts (85 rows): sector, year established, revenue (USD m)."""
    frame = _raw("maven_accounts")
    frame["sector"] = frame["sector"].replace({"technolgy": "technology"})
    frame["office_location"] = frame["office_location"].replace(
        {"Philipines": "Philippines"}
    )
    schema = {
        "account": "str",
        "sector": "str",
        "year_established": "int",
        "revenue": "float",
        "employees": "float",
        "office_location": "str",
        "subsidiary_of": "str",
    }
    return check_schema(frame, schema, "bundled:maven_accounts")


def load_maven_teams() -> pd.DataFrame:
    """Maven sales agents (35 rows) with manager and regional office."""
    schema = {"sales_agent": "str", "manager": "str", "regional_office": "str"}
    return check_schema(_raw("maven_teams"), schema, "bundled:maven_teams")


def load_maven_products() -> pd.DataFrame:
    """Maven products (7 rows) with series and list price (USD)."""
    schema = {"product": "str", "series": "str", "sales_price": "float"}
    return check_schema(_raw("maven_products"), schema, "bundled:maven_products")


def load_ibm() -> pd.DataFrame:
    """IBM Sales Win Loss (78,025 rows) with snake_case columns.

    The competitor type "None" is kept as text, the deal-size label is
    decoded to its ordinal code 1-7 (``deal_size_category``), and
    ``won`` is 1 for "Won", 0 for "Loss". The stage-timing columns listed
    in :data:`IBM_LEAKY_COLUMNS` are kept but leak the outcome.
    """
    frame = _raw("ibm_win_loss")
    frame.columns = [_snake(c) for c in frame.columns]
    frame = frame.rename(columns={"opportunity_number": "opportunity_id"})
    labels = frame["deal_size_category"]
    codes = labels.map(_IBM_DEAL_SIZE_CODES)
    if codes.isna().any():
        bad = labels[codes.isna()].iloc[0]
        raise DataError(f"bundled:ibm_win_loss: unknown deal size label {bad!r}")
    numeric = ["opportunity_amount_usd", *IBM_LEAKY_COLUMNS]
    schema = {c: "float" for c in numeric} | {"opportunity_id": "str"}
    frame = check_schema(frame, schema, "bundled:ibm_win_loss")
    frame["deal_size_category"] = codes.astype(int)
    frame["won"] = (frame["opportunity_result"] == "Won").astype(int)
    return frame


def _county_key(state: pd.Series, name: pd.Series) -> pd.Series:
    def norm(text: str) -> str:
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
        text = re.sub(r"[.'\-]", " ", text.upper())
        text = re.sub(r"\bSAINTE\b", "STE", re.sub(r"\bSAINT\b", "ST", text))
        suffix = r"\s+(COUNTY|PARISH|BOROUGH|CENSUS AREA|CITY AND BOROUGH|MUNICIPIO)$"
        text = re.sub(suffix, "", text.strip())
        return re.sub(r"\s+", "", text)

    keys = state.astype(str) + "|" + name.astype(str).map(norm)
    return keys.replace(_COUNTY_ALIASES)


def _zbp() -> pd.DataFrame:
    frame = _raw("us_zbp")
    schema = {
        "zip": "str",
        "emp": "float",
        "ap": "float",
        "est": "float",
        "stabbr": "str",
        "cty_name": "str",
        "city": "str",
    }
    return check_schema(frame, schema, "bundled:us_zbp")


def _county_business(counties: pd.DataFrame) -> pd.DataFrame:
    zbp = _zbp()
    keys = _county_key(zbp["stabbr"].fillna(""), zbp["cty_name"].fillna(""))
    known = set(counties["key"])
    as_city = keys + "CITY"
    keys = keys.where(keys.isin(known) | ~as_city.isin(known), as_city)
    zbp["key"] = keys
    totals = zbp.groupby("key")[["est", "emp", "ap"]].sum()
    return totals.rename(
        columns={"est": "establishments", "emp": "employees", "ap": "payroll_kusd"}
    )


@lru_cache(maxsize=1)
def _us_counties() -> pd.DataFrame:
    gaz = check_schema(
        _raw("us_counties_gazetteer"),
        {
            "USPS": "str",
            "GEOID": "str",
            "NAME": "str",
            "POP10": "float",
            "ALAND_SQMI": "float",
            "INTPTLAT": "float",
            "INTPTLONG": "float",
        },
        "bundled:us_counties_gazetteer",
    )
    gaz["key"] = _county_key(gaz["USPS"], gaz["NAME"])
    pop = _raw("us_counties_popest")
    pop = pop[pop["SUMLEV"] == "050"]
    pop = pop.assign(GEOID=pop["STATE"] + pop["COUNTY"])
    pop = check_schema(pop, {"POPESTIMATE2019": "float"}, "bundled:us_counties_popest")
    pop = pop.set_index("GEOID")["POPESTIMATE2019"]
    business = _county_business(gaz)
    out = pd.DataFrame(
        {
            "geoid": gaz["GEOID"],
            "state": gaz["USPS"],
            "name": gaz["NAME"],
            "lat": gaz["INTPTLAT"],
            "lon": gaz["INTPTLONG"],
            "land_sqmi": gaz["ALAND_SQMI"],
            "population_2010": gaz["POP10"],
            "population_2019": gaz["GEOID"].map(pop),
        }
    )
    business_cols = business.reindex(gaz["key"]).fillna(0.0)
    for column in business_cols.columns:
        out[column] = business_cols[column].to_numpy()
    return out.reset_index(drop=True)


def load_us_counties(include_pr: bool = False) -> pd.DataFrame:
    """US counties with coordinates and potential measures.

    Parameters
    ----------
    include_pr : bool, default False
        Keep the 78 Puerto Rico municipios (no business data).

    Returns
    -------
    DataFrame
        ``geoid`` (5-digit FIPS text), ``state``, ``name``, ``lat``/``lon``
        (degrees WGS84), ``land_sqmi``, ``population_2010``,
        ``population_2019`` (NaN for counties renamed after 2010),
        ``establishments`` (count, 2016), ``employees`` (paid employees,
        2016, 0 where withheld), ``payroll_kusd`` (annual payroll, USD 1,000).
    """
    frame = _us_counties()
    if not include_pr:
        frame = frame[frame["state"] != "PR"]
    return frame.reset_index(drop=True)


def load_us_zips() -> pd.DataFrame:
    """US ZIP codes with business data and ZCTA coordinates (~32,400 rows).

    Returns
    -------
    DataFrame
        ``zip`` (5-digit text), ``city``, ``state``, ``county`` (upper-case
        name), ``lat``/``lon`` (degrees), ``establishments``, ``employees``
        (0 where withheld), ``payroll_kusd`` (annual payroll, USD 1,000).
    """
    zbp = _zbp()
    zcta = check_schema(
        _raw("us_zcta"),
        {"GEOID": "str", "INTPTLAT": "float", "INTPTLONG": "float"},
        "bundled:us_zcta",
    )
    merged = zbp.merge(zcta, left_on="zip", right_on="GEOID", how="inner")
    return pd.DataFrame(
        {
            "zip": merged["zip"],
            "city": merged["city"],
            "state": merged["stabbr"],
            "county": merged["cty_name"],
            "lat": merged["INTPTLAT"],
            "lon": merged["INTPTLONG"],
            "establishments": merged["est"],
            "employees": merged["emp"],
            "payroll_kusd": merged["ap"],
        }
    )


def load_fortune500() -> pd.DataFrame:
    """Fortune 500 headquarters (2017 list) as a named-account book.

    Returns
    -------
    DataFrame
        ``rank``, ``name``, ``city``, ``state``, ``zip``, ``county_fips``
        (corrected), ``lat``/``lon`` (degrees), ``employees``,
        ``revenue_musd`` and ``profit_musd`` (USD millions).
    """
    frame = _raw("us_fortune500").replace("NOT AVAILABLE", "")
    frame["COUNTYFIPS"] = frame["COUNTYFIPS"].replace(_F500_FIPS_FIXES)
    schema = {
        "RANK": "int",
        "NAME": "str",
        "CITY": "str",
        "STATE": "str",
        "ZIP": "str",
        "COUNTYFIPS": "str",
        "LATITUDE": "float",
        "LONGITUDE": "float",
        "EMPLOYEES": "float",
        "REVENUES": "float",
        "PROFIT": "float",
    }
    frame = check_schema(frame, schema, "bundled:us_fortune500")
    renamed = frame[list(schema)].rename(
        columns={
            "COUNTYFIPS": "county_fips",
            "LATITUDE": "lat",
            "LONGITUDE": "lon",
            "REVENUES": "revenue_musd",
            "PROFIT": "profit_musd",
        }
    )
    renamed.columns = [c.lower() for c in renamed.columns]
    return renamed


LOADERS: dict[str, Callable[[], pd.DataFrame]] = {
    "maven_pipeline": load_maven_pipeline,
    "maven_accounts": load_maven_accounts,
    "maven_teams": load_maven_teams,
    "maven_products": load_maven_products,
    "ibm_win_loss": load_ibm,
    "us_counties": load_us_counties,
    "us_zips": load_us_zips,
    "us_fortune500": load_fortune500,
}


def load_table(ref: str, name: str | None = None) -> pd.DataFrame:
    """Load ``bundled:<name>`` through its loader, or read a file path.

    File tables come back as text; check them with
    :func:`~spmopt.data.tables.check_schema`.
    """
    if ref.startswith(BUNDLED_PREFIX):
        key = ref[len(BUNDLED_PREFIX) :]
        if key not in LOADERS:
            allowed = ", ".join(BUNDLED_PREFIX + k for k in sorted(LOADERS))
            raise DataError(f"unknown bundled table {ref!r}; allowed: {allowed}")
        return LOADERS[key]()
    return read_table(ref, name=name)


SOURCES: dict[str, tuple[str, ...]] = {
    "maven_pipeline": ("maven_pipeline",),
    "maven_accounts": ("maven_accounts",),
    "maven_teams": ("maven_teams",),
    "maven_products": ("maven_products",),
    "ibm_win_loss": ("ibm_win_loss",),
    "us_counties": ("us_counties_gazetteer", "us_counties_popest", "us_zbp"),
    "us_zips": ("us_zbp", "us_zcta"),
    "us_fortune500": ("us_fortune500",),
}
"""Bundled files each bundled table is built from."""


def bundled_files(ref: str) -> dict[str, Path]:
    """Files behind a ``bundled:<name>`` reference, keyed by a manifest label.

    Returns an empty dict for anything that is not a known bundled table.
    """
    key = ref[len(BUNDLED_PREFIX) :] if ref.startswith(BUNDLED_PREFIX) else ""
    return {
        f"{ref} ({BUNDLED[raw]})": bundled_path(raw) for raw in SOURCES.get(key, ())
    }
