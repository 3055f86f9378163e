"""Loaders and schema checks for bundled and user data."""

from spmopt.data.bundled import (
    IBM_CATEGORICAL,
    IBM_LEAKY_COLUMNS,
    IBM_NUMERIC,
    LOADERS,
    bundled_files,
    load_fortune500,
    load_ibm,
    load_maven_accounts,
    load_maven_pipeline,
    load_maven_products,
    load_maven_teams,
    load_table,
    load_us_counties,
    load_us_zips,
)
from spmopt.data.tables import (
    check_schema,
    read_table,
    require_nonnegative,
    require_once_per_rep,
    require_unique,
)

__all__ = [
    "IBM_CATEGORICAL",
    "IBM_LEAKY_COLUMNS",
    "IBM_NUMERIC",
    "LOADERS",
    "bundled_files",
    "check_schema",
    "load_fortune500",
    "load_ibm",
    "load_maven_accounts",
    "load_maven_pipeline",
    "load_maven_products",
    "load_maven_teams",
    "load_table",
    "load_us_counties",
    "load_us_zips",
    "read_table",
    "require_nonnegative",
    "require_once_per_rep",
    "require_unique",
]
