"""MLflow lineage of a training run: params, metrics, data hash, tables.

Only :mod:`spmopt.tracking` and MLflow's public API are used. The store
is the config's ``tracking.uri``, else ``MLFLOW_TRACKING_URI``, else the
local SQLite default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from spmopt.tracking import log_metrics, tracked_run

if TYPE_CHECKING:
    from spmopt.forecast.config import ForecastConfig
    from spmopt.forecast.train import TrainingData, TrainResult


def run_params(
    cfg: ForecastConfig, data: TrainingData, seed: int = 0
) -> dict[str, Any]:
    """Flat parameters of a training run for MLflow."""
    params: dict[str, Any] = {
        "dataset": cfg.dataset,
        "table": cfg.table,
        "split": data.split.kind,
        "n_features": len(data.deals.features),
        "features": ",".join(data.deals.features),
        "seed": seed,
    }
    params.update({f"model.{k}": v for k, v in cfg.model.model_dump().items()})
    params.update({f"split.{k}": v for k, v in data.split.cuts.items()})
    return params


def flat_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """``<model>_<metric>`` entries for MLflow."""
    flat = {
        f"{name}_{key}": value
        for name, scores in metrics["models"].items()
        for key, value in scores.items()
    }
    flat["base_rate"] = metrics["base_rate"]
    flat["brier_improvement_vs_base_rate"] = metrics["versus_base_rate"]["improvement"]
    return flat


def record_run(
    cfg: ForecastConfig,
    data: TrainingData,
    result: TrainResult,
    metrics: dict[str, Any],
    reliability: pd.DataFrame,
    importance: pd.DataFrame,
) -> dict[str, Any]:
    """Log one training run to MLflow; return the ``mlflow_*`` fields."""
    import mlflow

    forecaster = result.forecaster
    name = f"{cfg.dataset}-{data.split.kind}"
    tags = {"spmopt.job": "forecast.train", "spmopt.verdict": metrics["verdict"]}
    with tracked_run(
        cfg.tracking.experiment,
        name,
        tracking_uri=cfg.tracking.uri,
        params=run_params(cfg, data, forecaster.random_state),
        tags=tags | {"spmopt.data_sha256": metrics["data_sha256"]},
    ) as run:
        log_metrics(flat_metrics(metrics))
        log_metrics({f"{k}_seconds": v for k, v in result.seconds.items()})
        mlflow.log_dict(
            {"features": forecaster.feature_names, "dropped": data.deals.dropped},
            "features.json",
        )
        mlflow.log_dict(forecaster.encoder_.category_mapping(), "category_mapping.json")
        mlflow.log_text(reliability.to_csv(index=False), "reliability.csv")
        mlflow.log_text(importance.to_csv(index=False), "importance.csv")
        return {"mlflow_run_id": run.info.run_id}
