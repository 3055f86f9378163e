"""Bundled public datasets (gzip-compressed CSV), each with a SOURCE.md."""

from importlib import resources
from pathlib import Path

BUNDLED = {
    "maven_pipeline": "maven_crm/sales_pipeline.csv.gz",
    "maven_accounts": "maven_crm/accounts.csv.gz",
    "maven_teams": "maven_crm/sales_teams.csv.gz",
    "maven_products": "maven_crm/products.csv.gz",
    "maven_dictionary": "maven_crm/data_dictionary.csv.gz",
    "ibm_win_loss": "ibm_win_loss/sales_win_loss.csv.gz",
    "us_counties_gazetteer": "us_geo/census2010_gazetteer_counties.csv.gz",
    "us_counties_popest": "us_geo/census_co-est2019_popestimates.csv.gz",
    "us_zbp": "us_geo/census_zbp2016_totals.csv.gz",
    "us_zcta": "us_geo/census2010_zcta_centroids.csv.gz",
    "us_fortune500": "us_geo/hifld_fortune500_hq_2017.csv.gz",
}


def bundled_path(name: str) -> Path:
    """Filesystem path of the bundled file ``name`` (a key of BUNDLED)."""
    from spmopt.errors import DataError

    if name not in BUNDLED:
        allowed = ", ".join(sorted(BUNDLED))
        raise DataError(f"unknown bundled dataset {name!r}; allowed: {allowed}")
    return Path(str(resources.files(__name__).joinpath(BUNDLED[name])))


__all__ = ["BUNDLED", "bundled_path"]
