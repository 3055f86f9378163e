"""Typed configuration of the quota job (``spmopt quota set``).

A config names the reps table, the company target and how the target is
split: bounds relative to each rep's potential, the ramp curve for reps
still learning their territory, the rounding unit, and how attainment is
simulated. Everything is validated when the YAML is loaded.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from spmopt.config import Config, FieldValueError, TablePath
from spmopt.data.tables import MAX_ABS

RampShare = Annotated[float, Field(gt=0.0, le=1.0)]
"""One month's ramp share, in (0, 1]; a bad one is named as ``ramp.<i>``."""


class BoundsConfig(Config):
    """Floor and cap of each quota as a share of the rep's ramped potential.

    A rep with potential 1,000,000 USD, fully ramped, with ``floor = 0.5``
    and ``cap = 1.2`` gets a quota between 500,000 and 1,200,000 USD.
    """

    floor: float = Field(0.0, ge=0.0, description="Lowest quota / potential.")
    cap: float | None = Field(
        None, gt=0.0, description="Highest quota / potential; none means no cap."
    )

    @model_validator(mode="after")
    def _floor_below_cap(self) -> BoundsConfig:
        if self.cap is not None and self.floor > self.cap:
            raise ValueError(
                f"floor {self.floor} must not exceed cap {self.cap} "
                "(both are quota / potential)"
            )
        return self


class AttainmentConfig(Config):
    """How bookings are simulated to estimate the chance of reaching quota.

    Each rep's period bookings are drawn around their ramped potential:
    lognormal or normal with coefficient of variation ``cv``, or, when the
    reps table has P10/P50/P90 columns, a two-piece distribution through
    those three quantiles. ``market_correlation`` links the reps through
    one market factor per scenario (each rep's own chance is unchanged).
    """

    distribution: Literal["lognormal", "normal"] = "lognormal"
    cv: float = Field(0.3, gt=0.0, le=5.0, description="Std dev / mean of bookings.")
    n_scenarios: int = Field(10_000, ge=100, le=1_000_000)
    market_correlation: float = Field(
        0.0, ge=0.0, lt=1.0, description="Shared market factor between reps."
    )


class PhasingConfig(Config):
    """Phase each rep's quota into quarters or months.

    Weights are given (``weights``, fiscal order) or come from a deals
    table (``history``: ``deal_stage``, ``close_date``, ``close_value``),
    as each calendar month's average won bookings.
    """

    periods: Literal["quarter", "month"] = "quarter"
    weights: list[float] | None = None
    history: TablePath | None = None
    start_month: int = Field(1, ge=1, le=12, description="Fiscal year start.")

    @model_validator(mode="after")
    def _source(self) -> PhasingConfig:
        if (self.weights is None) == (self.history is None):
            raise ValueError("give exactly one of weights or history")
        size = 4 if self.periods == "quarter" else 12
        if self.weights is not None:
            if len(self.weights) != size:
                raise ValueError(
                    f"{self.periods} phasing needs {size} weights, "
                    f"got {len(self.weights)}"
                )
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 and not all 0")
        return self


class OpenDealsConfig(Config):
    """Open pipeline with win probabilities (e.g. from ``forecast score``).

    Each deal adds its amount to its rep's simulated bookings with its
    win probability; the reps' potential then stands for the bookings
    not yet in the pipeline. When the table has ``deal_id_column``, a deal
    id may repeat only across reps (a split deal, each row that rep's
    share); the same id twice for one rep would count the deal twice and
    is refused.
    """

    table: TablePath
    rep_id_column: str = "rep_id"
    amount_column: str = "amount"
    p_win_column: str = "p_win"
    deal_id_column: str = "deal_id"


OPEN_DEALS_SHAPE = (
    "Input should be a mapping with 'table: <file>' (optional: rep_id_column, "
    "amount_column, p_win_column, deal_id_column), e.g. "
    "'open_deals: {table: deals.csv}'"
)
"""What ``open_deals`` takes, said when it is given a plain value."""


class YtdConfig(Config):
    """Re-set quotas for the rest of the period from bookings to date.

    The company target left is ``target`` minus the reps' bookings so far;
    it is split over the ``period_months - months_elapsed`` months left,
    with potential scaled to those months and the ramp moved on by
    ``months_elapsed``.
    """

    bookings_column: str = "bookings_ytd"
    months_elapsed: int = Field(ge=1, le=59)


class StretchConfig(Config):
    """Stretch mode: find the target at which a share of reps attains.

    The quotas then sum to that implied target; a ``target`` given next
    to it is reported for comparison only.
    """

    share_attaining: float = Field(
        gt=0.0, lt=1.0, description="Wanted expected share of reps at quota."
    )


class QuotaConfig(Config):
    """Configuration of ``spmopt quota set``.

    Parameters
    ----------
    reps : TablePath
        Reps table (CSV/Parquet or ``bundled:<name>``), one row per rep.
    target : float, optional
        Company target for the period, currency units (e.g. USD), > 0.
        Required unless ``stretch`` is given.
    stretch : StretchConfig, optional
        Let the expected share of reps attaining set the target instead.
    phasing : PhasingConfig, optional
        Also split each quota into quarters or months.
    open_deals : OpenDealsConfig, optional
        Open deals with win probabilities added to simulated bookings.
    ytd : YtdConfig, optional
        Mid-period re-set: quotas for the months left, from bookings so far.
    track : bool, default False
        Record parameters and headline figures in MLflow (experiment
        ``experiment``; ``tracking_uri``, else ``MLFLOW_TRACKING_URI``,
        else a local SQLite file).
    rounding_decimals : int
        Quotas are rounded to units of ``10 ** -rounding_decimals``
        (2: cents, 0: whole dollars, -3: thousands); the target must be a
        whole number of such units.
    ramp : list of float
        Productivity by month in seat (month 1 first), each in (0, 1];
        months past the list count as fully ramped.
    period_months : int
        Length of the quota period in months (ramp is averaged over it).
    method : {"potential", "historical", "blended"}
        Reference split the quotas stay close to: proportional to ramped
        potential, to ``history_column`` (e.g. last period's bookings of
        the territory) times the ramp, or the blend
        ``blend_weight * potential share + (1 - blend_weight) * history
        share``. Floors and caps are always relative to potential.
    """

    reps: TablePath
    target: float | None = Field(None, gt=0.0, le=MAX_ABS)
    stretch: StretchConfig | None = None
    phasing: PhasingConfig | None = None
    open_deals: OpenDealsConfig | None = None
    ytd: YtdConfig | None = None
    rep_id_column: str = "rep_id"
    potential_column: str = "potential"
    months_in_seat_column: str = "months_in_seat"
    p10_column: str | None = None
    p50_column: str | None = None
    p90_column: str | None = None
    method: Literal["potential", "historical", "blended"] = "potential"
    history_column: str | None = None
    blend_weight: float = Field(0.5, ge=0.0, le=1.0)
    bounds: BoundsConfig = BoundsConfig()
    ramp: list[RampShare] = Field(default_factory=list, max_length=60)
    period_months: int = Field(12, ge=1, le=60)
    rounding_decimals: int = Field(2, ge=-9, le=2)
    attainment: AttainmentConfig = AttainmentConfig()
    solver: Literal["highs", "cbc"] = "highs"
    time_limit_seconds: float = Field(60.0, gt=0.0)
    track: bool = False
    tracking_uri: str | None = None
    experiment: str = Field("spmopt-quota", min_length=1)

    @field_validator("open_deals", mode="before")
    @classmethod
    def _open_deals_is_a_mapping(cls, value: object) -> object:
        """Refuse ``open_deals: deals.csv``: the table goes under ``table:``."""
        if value is None or isinstance(value, dict | OpenDealsConfig):
            return value
        raise PydanticCustomError("open_deals_mapping", OPEN_DEALS_SHAPE)

    @model_validator(mode="after")
    def _columns(self) -> QuotaConfig:
        quantiles = [self.p10_column, self.p50_column, self.p90_column]
        given = [c is not None for c in quantiles]
        if any(given) and not all(given):
            raise ValueError(
                "p10_column, p50_column and p90_column must be given together"
            )
        if self.method != "potential" and self.history_column is None:
            raise ValueError(f"method {self.method!r} needs history_column")
        if self.ytd is not None:
            if self.ytd.months_elapsed >= self.period_months:
                raise ValueError(
                    f"ytd.months_elapsed {self.ytd.months_elapsed} must be below "
                    f"period_months {self.period_months}"
                )
            if self.stretch is not None or self.target is None:
                raise ValueError("ytd re-setting needs a target and no stretch")
        return self

    @model_validator(mode="after")
    def _target(self) -> QuotaConfig:
        if self.target is None:
            if self.stretch is None:
                raise ValueError("give a target, or stretch.share_attaining")
            return self
        units = self.target * 10.0**self.rounding_decimals
        if abs(units - round(units)) > 1e-6:
            raise FieldValueError(
                "target",
                f"target {self.target} is not a whole number of rounding units "
                f"{10.0**-self.rounding_decimals:g} "
                f"(rounding_decimals={self.rounding_decimals})",
            )
        return self

    @property
    def has_quantiles(self) -> bool:
        """True when the reps table carries P10/P50/P90 potential columns."""
        return self.p10_column is not None


class CohortConfig(Config):
    """Reps already in seat with the same tenure."""

    count: int = Field(ge=1)
    months_in_seat: int = Field(ge=0, description="Completed months in seat.")


class SimulationConfig(Config):
    """Uncertainty of the capacity plan: who leaves and how well reps sell."""

    cv: float = Field(0.3, ge=0.0, le=5.0, description="Std dev / mean per rep.")
    n_scenarios: int = Field(2000, ge=100, le=200_000)


class CapacityConfig(Config):
    """Configuration of ``spmopt quota capacity``.

    Give ``target`` to get the hires that reach it, or ``hires`` to get
    the bookings a hiring plan supports.

    Parameters
    ----------
    horizon_months : int
        Plan length in months.
    target : float, optional
        Bookings to reach over the plan, currency.
    hires : list of int, optional
        Hires starting in plan months 1, 2, ... (reverse mode).
    quota_per_rep : float
        Annual quota of a fully ramped rep, currency.
    expected_attainment : float
        Expected bookings / quota of a fully ramped rep.
    attrition_annual : float
        Share of reps leaving in a year, in [0, 1).
    hiring_lag_months : int
        Months from opening a requisition to the hire's first month.
    reps_in_seat : list of CohortConfig
        Reps at the start of the plan, by tenure.
    reps : TablePath, optional
        A reps table (e.g. ``quotas.csv``); one rep per row, tenure from
        ``months_in_seat_column`` (fully ramped when absent). Added to
        ``reps_in_seat``.
    seasonality : list of 12 float, optional
        Relative bookings by month of the year, plan month 1 first
        (rescaled to mean 1).
    confidence : float, optional
        Plan mode: hire until the simulated chance of reaching the target
        is at least this (default: reach it in expectation).
    """

    horizon_months: int = Field(12, ge=1, le=60)
    target: float | None = Field(None, gt=0.0, le=MAX_ABS)
    hires: list[int] | None = None
    quota_per_rep: float = Field(gt=0.0)
    expected_attainment: float = Field(1.0, gt=0.0, le=5.0)
    ramp: list[RampShare] = Field(default_factory=list, max_length=60)
    attrition_annual: float = Field(0.2, ge=0.0, lt=1.0)
    hiring_lag_months: int = Field(3, ge=0, le=24)
    reps_in_seat: list[CohortConfig] = Field(default_factory=list)
    reps: TablePath | None = None
    months_in_seat_column: str = "months_in_seat"
    max_hires_per_month: int | None = Field(None, ge=1)
    confidence: float | None = Field(None, gt=0.0, lt=1.0)
    seasonality: list[float] | None = Field(None, min_length=12, max_length=12)
    cost_per_rep_month: float | None = Field(None, ge=0.0)
    simulation: SimulationConfig = SimulationConfig()
    solver: Literal["highs", "cbc"] = "highs"
    time_limit_seconds: float = Field(60.0, gt=0.0)

    @field_validator("seasonality")
    @classmethod
    def _weights(cls, weights: list[float] | None) -> list[float] | None:
        if weights is not None and (min(weights) < 0 or sum(weights) <= 0):
            raise ValueError("seasonality weights must be >= 0 and not all 0")
        return weights

    @model_validator(mode="after")
    def _one_mode(self) -> CapacityConfig:
        if (self.target is None) == (self.hires is None):
            raise ValueError(
                "give exactly one of target (plan the hires) or hires (price a plan)"
            )
        if self.hires is not None and self.confidence is not None:
            raise ValueError("confidence applies to plan mode (target), not hires")
        if self.hires is not None:
            if any(h < 0 for h in self.hires):
                raise ValueError(f"hires must be >= 0, got {min(self.hires)}")
            if len(self.hires) > self.horizon_months:
                raise ValueError(
                    f"hires lists {len(self.hires)} months, more than "
                    f"horizon_months {self.horizon_months}"
                )
        return self


class LightGBMConfig(Config):
    """Tree settings of the quantile LightGBM potential model."""

    n_estimators: int = Field(200, ge=1, le=5000)
    learning_rate: float = Field(0.05, gt=0.0, le=1.0)
    num_leaves: int = Field(15, ge=2, le=1024)
    min_child_samples: int = Field(10, ge=1)


class PotentialConfig(Config):
    """Configuration of ``spmopt quota potential``.

    Parameters
    ----------
    pipeline : TablePath
        Opportunities: ``account``, ``sales_agent``, ``deal_stage`` (Won,
        Lost, or open), ``engage_date``, ``close_date``, ``close_value``.
    entity : {"account", "sales_agent"}
        Forecast next-period bookings per account or per rep.
    period : {"month", "quarter"}
        Length of a period.
    accounts, teams : TablePath, optional
        Firmographics per account (``account``, ``sector``, ``revenue``,
        ``employees``, ``year_established``, ``office_location``,
        ``subsidiary_of``) or team data per agent (``sales_agent``,
        ``manager``, ``regional_office``); used for the matching entity.
    valid_periods, test_periods : int
        Latest labelled periods held out, oldest first: validation picks
        the model, test reports it.
    calibrate : bool
        Shift the LightGBM quantiles by their validation residual
        quantiles (reported as ``lightgbm_calibrated``) when LightGBM wins.
    track : bool
        Record the run in MLflow (``tracking_uri``, else
        ``MLFLOW_TRACKING_URI``, else a local SQLite file).
    """

    pipeline: TablePath = "bundled:maven_pipeline"
    accounts: TablePath | None = "bundled:maven_accounts"
    teams: TablePath | None = "bundled:maven_teams"
    entity: Literal["account", "sales_agent"] = "account"
    period: Literal["month", "quarter"] = "month"
    trailing_periods: int = Field(3, ge=1, le=24)
    valid_periods: int = Field(2, ge=1, le=24)
    test_periods: int = Field(2, ge=1, le=24)
    lightgbm: LightGBMConfig = LightGBMConfig()
    calibrate: bool = True
    track: bool = True
    tracking_uri: str | None = None
    experiment: str = Field("spmopt-quota-potential", min_length=1)
