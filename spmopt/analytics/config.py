"""Configuration of the analytics job (`spmopt analytics kpis`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from spmopt.config import Config, TablePath


class PipelineTable(Config):
    """Where the deals are and which columns hold what.

    Defaults match the bundled Maven CRM pipeline.
    """

    path: TablePath = "bundled:maven_pipeline"
    deal_id: str = "opportunity_id"
    rep_id: str = "sales_agent"
    stage: str = "deal_stage"
    created: str = "engage_date"
    closed: str = "close_date"
    value: str = "close_value"
    product: str | None = "product"
    won_stages: tuple[str, ...] = Field(default=("Won",), min_length=1)
    lost_stages: tuple[str, ...] = Field(default=("Lost",), min_length=1)
    stage_order: tuple[str, ...] = ("Prospecting", "Engaging")
    unknown_stages: Literal["warn", "refuse"] = "warn"
    """A stage outside won, lost and ``stage_order``: counted as open with a
    warning (``warn``), or refused (``refuse``: those lists are closed)."""

    @model_validator(mode="after")
    def _stages_disjoint(self) -> PipelineTable:
        both = sorted(set(self.won_stages) & set(self.lost_stages))
        if both:
            raise ValueError(f"stages {both} are listed as both won and lost")
        ends = set(self.won_stages + self.lost_stages)
        closed = sorted(set(self.stage_order) & ends)
        if closed:
            raise ValueError(
                f"stage_order lists closed stages {closed}; list open ones"
            )
        return self


class TeamsTable(Config):
    """Rep roster: which team (manager) each rep belongs to."""

    path: TablePath = "bundled:maven_teams"
    rep_id: str = "sales_agent"
    team: str = "manager"


class ProductsTable(Config):
    """List prices, used as the value of lost and open deals without one."""

    path: TablePath = "bundled:maven_products"
    product: str = "product"
    price: str = "sales_price"


class QuotasTable(Config):
    """Quotas per rep (currency units), optionally per period."""

    path: TablePath
    rep_id: str = "rep_id"
    quota: str = "quota"
    period: str | None = None


class PayoutsTable(Config):
    """Incentive paid per rep (currency units), optionally per period.

    The payout job's ``rep_payouts.csv`` works with ``payout: payout_mean``.
    """

    path: TablePath
    rep_id: str = "rep_id"
    payout: str = "payout"
    period: str | None = None


class ForecastsTable(Config):
    """Forecast won value per period, per rep when ``rep_id`` is set."""

    path: TablePath
    period: str = "period"
    forecast: str = "forecast"
    rep_id: str | None = None


class FlagRules(Config):
    """When a scorecard flags a rep, as percentiles within the team."""

    high: float = Field(default=0.8, gt=0, le=1)
    low: float = Field(default=0.2, ge=0, lt=1)
    min_peers: int = Field(default=3, ge=2)
    attainment_floor: float = Field(default=0.8, ge=0)

    @model_validator(mode="after")
    def _low_below_high(self) -> FlagRules:
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        return self


class AnalyticsConfig(Config):
    """KPIs and rep scorecards from a pipeline table.

    Without a ``forecasts`` table and with ``naive_forecast`` on, forecast
    accuracy is measured for the naive forecast "each rep sells what it
    sold the period before", a baseline for real forecasts.

    Examples
    --------
    >>> AnalyticsConfig.model_validate({"period": "month"}).period
    'month'
    """

    pipeline: PipelineTable = PipelineTable()
    teams: TeamsTable | None = TeamsTable()
    products: ProductsTable | None = ProductsTable()
    quotas: QuotasTable | None = None
    payouts: PayoutsTable | None = None
    forecasts: ForecastsTable | None = None
    naive_forecast: bool = True
    period: Literal["month", "quarter", "year"] = "quarter"
    flags: FlagRules = FlagRules()
