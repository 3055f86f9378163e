"""MLflow helpers: one place that decides where runs are recorded.

The tracking store is, in order of precedence: the URI given in a job's
config, the ``MLFLOW_TRACKING_URI`` environment variable, or a local
SQLite file ``mlruns.db`` in the working directory (no server needed).
Artifacts of the local default go to ``mlartifacts/`` beside it.
Only MLflow's public API is used.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from spmopt._logging import logger

DEFAULT_DB = "mlruns.db"
DEFAULT_ARTIFACTS = "mlartifacts"


def resolve_tracking_uri(configured: str | None = None) -> str:
    """Tracking URI from config, else environment, else local SQLite."""
    if configured:
        return configured
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path.cwd() / DEFAULT_DB}"


def _artifact_location(uri: str, experiment: str) -> str | None:
    if not uri.startswith("sqlite:///"):
        return None
    db_path = Path(uri[len("sqlite:///") :])
    return (db_path.parent / DEFAULT_ARTIFACTS / experiment).as_uri()


def ensure_experiment(experiment: str, tracking_uri: str) -> str:
    """Return the id of ``experiment``, creating it if needed."""
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=tracking_uri)
    found = client.get_experiment_by_name(experiment)
    if found is not None:
        return str(found.experiment_id)
    location = _artifact_location(tracking_uri, experiment)
    return str(client.create_experiment(experiment, artifact_location=location))


@contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    tracking_uri: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, str] | None = None,
) -> Iterator[Any]:
    """Open an MLflow run and yield the active run object.

    Parameters
    ----------
    experiment : str
        Experiment name, e.g. ``"spmopt-territory"``.
    run_name : str
        Human-readable run name.
    tracking_uri : str, optional
        Overrides the default resolution (see module docstring).
    params, tags : mapping, optional
        Logged at the start of the run.
    """
    import mlflow

    uri = resolve_tracking_uri(tracking_uri)
    mlflow.set_tracking_uri(uri)
    experiment_id = ensure_experiment(experiment, uri)
    with mlflow.start_run(experiment_id=experiment_id, run_name=run_name) as run:
        if params:
            mlflow.log_params({k: _param(v) for k, v in params.items()})
        if tags:
            mlflow.set_tags(dict(tags))
        logger.debug("mlflow run %s in %s", run.info.run_id, uri)
        yield run


def log_metrics(metrics: Mapping[str, Any]) -> None:
    """Log the finite numeric entries of ``metrics`` to the active run."""
    import math

    import mlflow

    clean = {}
    for key, value in metrics.items():
        if isinstance(value, int | float) and math.isfinite(float(value)):
            clean[key] = float(value)
    if clean:
        mlflow.log_metrics(clean)


def _param(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 500 else text[:497] + "..."


__all__ = [
    "ensure_experiment",
    "log_metrics",
    "resolve_tracking_uri",
    "tracked_run",
]
