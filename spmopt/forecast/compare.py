"""List recorded training runs side by side (``spmopt forecast compare``)."""

from __future__ import annotations

import pandas as pd

from spmopt._paths import path_problem
from spmopt.errors import ConfigError
from spmopt.tracking import check_store, resolve_tracking_uri

COLUMNS = {
    "run_id": "run_id",
    "start_time": "start_time",
    "tags.mlflow.runName": "run_name",
    "params.dataset": "dataset",
    "params.split": "split",
    "tags.spmopt.verdict": "verdict",
    "tags.spmopt.promoted": "promoted",
    "metrics.lightgbm_auc": "lightgbm_auc",
    "metrics.lightgbm_brier": "lightgbm_brier",
    "metrics.lightgbm_ece": "lightgbm_ece",
    "metrics.logistic_auc": "logistic_auc",
    "metrics.hist_gb_auc": "hist_gb_auc",
    "metrics.base_rate_brier": "base_rate_brier",
}


def list_runs(
    experiment: str = "spmopt-forecast", tracking_uri: str | None = None
) -> pd.DataFrame:
    """Training runs of ``experiment``, newest first, with their metrics.

    Raises
    ------
    ConfigError
        When the experiment does not exist in the tracking store.
    """
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    _check_local_store(uri)
    check_store(uri)
    try:
        client = mlflow.MlflowClient(tracking_uri=uri)
        found = client.get_experiment_by_name(experiment)
    except Exception as exc:  # MLflow raises several types for a bad URI
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise ConfigError(f"cannot read tracking store {uri!r}: {first}") from None
    if found is None:
        raise ConfigError(
            f"experiment {experiment!r} not found in tracking store {uri}; "
            "train a model first or pass --experiment"
        )
    mlflow.set_tracking_uri(uri)
    runs = mlflow.search_runs(
        experiment_ids=[found.experiment_id], order_by=["start_time DESC"]
    )
    table = pd.DataFrame({new: _column(runs, old) for old, new in COLUMNS.items()})
    return table.reset_index(drop=True)


def _check_local_store(uri: str) -> None:
    """Listing must not create a SQLite store: refuse one that does not exist."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return
    problem = path_problem(uri[len(prefix) :])
    if problem is None:
        return
    if problem.kind == "missing":
        raise ConfigError(
            f"tracking store {uri} does not exist; train a model first or pass "
            "--tracking-uri"
        )
    raise ConfigError(f"tracking store {uri}: {problem}; pass --tracking-uri")


def _column(runs: pd.DataFrame, name: str) -> pd.Series:
    if name in runs.columns:
        return runs[name]
    return pd.Series([None] * len(runs), index=runs.index, dtype=object)


def format_runs(table: pd.DataFrame) -> str:
    """Plain-text table for the terminal (4 decimals for metrics)."""
    shown = table.drop(columns=["start_time"]).copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(
                lambda v: "" if pd.isna(v) else f"{v:.4f}"
            )
    shown["run_id"] = shown["run_id"].str[:8]
    return shown.fillna("").to_string(index=False)
