"""Typed configuration of the deal-win forecaster.

A :class:`ForecastConfig` maps any CRM export onto the roles the
forecaster needs (deal id, outcome, prediction date, ...) and fixes the
split, model and tracking settings. It validates from a plain dict, so
the demo can build it from a section of its own YAML.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from spmopt.config import Config, TablePath


class ColumnMap(Config):
    """Which column of the table plays which role.

    Parameters
    ----------
    deal_id : str
        Deal (opportunity) identifier; rows sharing it stay on one side of
        every split.
    outcome : str
        Outcome column; ``won_values`` and ``lost_values`` say which text
        values mean won and lost. Other values are open deals.
    prediction_date : str, optional
        Date the prediction is made (e.g. engage or created date). When
        given, the split is by time.
    close_date : str, optional
        Date the deal closed. Never a feature.
    amount : str, optional
        Deal amount (currency of the table) known at prediction time.
    owner, account, product : str, optional
        Categorical roles, used as features.
    stage : str, optional
        Current sales stage. Never a feature (its final value is the
        outcome).
    categorical, numeric : list of str
        Further features.
    auto_features : bool
        Use every other column (not a role, not excluded) as a feature,
        typed by its content.
    exclude : list of str
        Columns never used.
    leaky : list of str
        Columns known only after the outcome: dropped with a
        :class:`~spmopt.errors.LeakageWarning`.
    history : list of str
        Key columns (e.g. owner, account) whose past deal count and win
        rate, from deals closed before each prediction date, become
        features. Needs ``prediction_date`` and ``close_date``.
    amount_patterns : bool
        Add the amount's round digits and how many other training deals
        carry the same amount (see :mod:`spmopt.forecast.amounts`). Needs
        ``amount`` with ``amount_is_feature``.
    """

    deal_id: str
    outcome: str
    won_values: list[str] = Field(default=["1"], min_length=1)
    lost_values: list[str] = Field(default=["0"], min_length=1)
    prediction_date: str | None = None
    close_date: str | None = None
    amount: str | None = None
    amount_is_feature: bool = True
    owner: str | None = None
    account: str | None = None
    product: str | None = None
    stage: str | None = None
    categorical: list[str] = Field(default_factory=list)
    numeric: list[str] = Field(default_factory=list)
    auto_features: bool = False
    exclude: list[str] = Field(default_factory=list)
    leaky: list[str] = Field(default_factory=list)
    history: list[str] = Field(default_factory=list)
    amount_patterns: bool = False

    @model_validator(mode="after")
    def _check_roles(self) -> ColumnMap:
        overlap = set(self.won_values) & set(self.lost_values)
        if overlap:
            raise ValueError(
                f"won_values and lost_values share {sorted(overlap)}; "
                "each value must mean one outcome"
            )
        if self.history and (self.prediction_date is None or self.close_date is None):
            raise ValueError(
                f"history {self.history} needs prediction_date and close_date, "
                "so that only deals closed before each prediction count"
            )
        if self.amount_patterns and (self.amount is None or not self.amount_is_feature):
            raise ValueError(
                "amount_patterns needs an amount column used as a feature; set "
                "amount and keep amount_is_feature true, or turn amount_patterns off"
            )
        never = {"outcome": self.outcome, "close_date": self.close_date}
        never["stage"] = self.stage
        listed = [*self.categorical, *self.numeric]
        for role, column in never.items():
            if column is not None and column in listed:
                raise ValueError(
                    f"column {column!r} is the {role} and can never be a feature; "
                    "remove it from categorical/numeric"
                )
        return self

    def role_columns(self) -> dict[str, str]:
        """Mapping of role name to column for the roles that are set."""
        roles = {
            "deal_id": self.deal_id,
            "outcome": self.outcome,
            "prediction_date": self.prediction_date,
            "close_date": self.close_date,
            "amount": self.amount,
            "owner": self.owner,
            "account": self.account,
            "product": self.product,
            "stage": self.stage,
        }
        return {role: col for role, col in roles.items() if col is not None}


class Join(Config):
    """A lookup table joined onto the deals before anything else.

    Parameters
    ----------
    table : TablePath
        ``bundled:<name>`` or a CSV/Parquet file; ``key`` must be unique in it.
    key : str
        Key column present in both tables (e.g. ``product``). (Not named
        ``on``: YAML reads a bare ``on`` as ``true``.)
    columns : list of str
        Columns to bring over (default: all but the key).
    """

    table: TablePath
    key: str = Field(min_length=1)
    columns: list[str] = Field(default_factory=list)


class SplitSettings(Config):
    """How labelled deals are split into train, validation and test.

    ``kind="auto"`` splits by ``prediction_date`` when the column map has
    one and otherwise by a stratified random split grouped by deal id.
    Shares are fractions of labelled rows.
    """

    kind: Literal["auto", "time", "grouped-random"] = "auto"
    valid_share: float = Field(default=0.15, gt=0, lt=0.5)
    test_share: float = Field(default=0.2, gt=0, lt=0.5)
    min_rows: int = Field(default=100, ge=10)
    min_per_class: int = Field(default=5, ge=1)


class ModelSettings(Config):
    """LightGBM and calibration settings.

    ``class_weight="balanced"`` weights won deals by lost/won during
    training and undoes the weight on the probabilities afterwards.
    ``calibration="auto"`` picks none, Platt or isotonic by cross-fitted
    Brier score on the validation split. ``n_jobs`` threads are used by
    every model; one thread is fastest on a busy machine.
    """

    learning_rate: float = Field(default=0.03, gt=0, le=1)
    num_leaves: int = Field(default=31, ge=2, le=4096)
    min_child_samples: int = Field(default=20, ge=1)
    max_rounds: int = Field(default=2000, ge=1)
    early_stopping_rounds: int = Field(default=100, ge=1)
    feature_fraction: float = Field(default=0.9, gt=0, le=1)
    lambda_l2: float = Field(default=1.0, ge=0)
    cat_smooth: float = Field(default=10.0, ge=0)
    class_weight: Literal["none", "balanced"] = "none"
    calibration: Literal["auto", "none", "platt", "isotonic"] = "auto"
    n_jobs: int = Field(default=1, ge=1, le=2)
    bootstrap_rounds: int = Field(default=400, ge=50, le=10000)


class TrackingSettings(Config):
    """Where the run is recorded in MLflow.

    ``uri`` overrides ``MLFLOW_TRACKING_URI``; ``registered_model`` is the
    registry name (default ``spmopt-forecast-<dataset>``).
    """

    enabled: bool = True
    uri: str | None = None
    experiment: str = "spmopt-forecast"
    registered_model: str | None = None
    alias: str = Field(default="champion", min_length=1)


class ForecastConfig(Config):
    """Configuration of ``spmopt forecast train``.

    Parameters
    ----------
    dataset : str
        Name written to ``metrics.json`` and used in MLflow names.
    table : TablePath
        ``bundled:<name>`` or a CSV/Parquet file of deals.
    columns : ColumnMap
        Column roles and features; may name columns brought by ``joins``.
    joins : list of Join
        Lookup tables (accounts, products, teams) joined by key first.
    split, model, tracking
        See :class:`SplitSettings`, :class:`ModelSettings`,
        :class:`TrackingSettings`.
    """

    dataset: str = Field(default="custom", min_length=1, pattern=r"^[\w.-]+$")
    table: TablePath
    columns: ColumnMap
    joins: list[Join] = Field(default_factory=list)
    split: SplitSettings = SplitSettings()
    model: ModelSettings = ModelSettings()
    tracking: TrackingSettings = TrackingSettings()

    @model_validator(mode="after")
    def _check_split_kind(self) -> ForecastConfig:
        if self.split.kind == "time" and self.columns.prediction_date is None:
            raise ValueError(
                "split.kind='time' needs columns.prediction_date; set it or use "
                "'grouped-random'"
            )
        if self.split.valid_share + self.split.test_share >= 0.8:
            raise ValueError(
                "split.valid_share + split.test_share must be < 0.8, got "
                f"{self.split.valid_share + self.split.test_share:.2f}"
            )
        return self

    def split_kind(self) -> Literal["time", "grouped-random"]:
        """The split actually used: ``time`` when a prediction date exists."""
        if self.split.kind == "auto":
            has_date = self.columns.prediction_date is not None
            return "time" if has_date else "grouped-random"
        return self.split.kind

    def model_name(self) -> str:
        """Registered model name."""
        return self.tracking.registered_model or f"spmopt-forecast-{self.dataset}"
