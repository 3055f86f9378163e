"""MLflow lineage of a training run and the champion registry.

A training run logs its parameters, metrics, data hash, feature list,
category mapping, reliability and importance tables and the model (a
pyfunc whose input signature accepts missing values). A model with a
usable signal is registered; it takes the registry alias (``champion``
by default) only when a paired bootstrap on the test split shows it beats
the current champion by more than the noise.

Only :mod:`spmopt.tracking` and MLflow's public API are used. The store
is the config's ``tracking.uri``, else ``MLFLOW_TRACKING_URI``, else the
local SQLite default.

MLflow prints notices of its own (store creation, "Successfully
registered model ...", serialisation advice) straight to the terminal;
the calls that print them run inside :func:`mlflow_output_to_debug`, so
those lines reach spmopt's logger at DEBUG instead.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterator
from importlib import metadata
from typing import TYPE_CHECKING, Any

import pandas as pd

from spmopt._logging import logger
from spmopt.errors import ConfigError, NoSignalWarning
from spmopt.forecast.forecaster import WinForecaster
from spmopt.forecast.metrics import paired_bootstrap
from spmopt.tracking import (
    check_store,
    log_metrics,
    resolve_tracking_uri,
    tracked_run,
)

if TYPE_CHECKING:
    from spmopt.forecast.config import ForecastConfig
    from spmopt.forecast.train import TrainingData, TrainResult

MODEL_PATH = "model"


@contextlib.contextmanager
def mlflow_output_to_debug() -> Iterator[None]:
    """Route what MLflow prints to stdout/stderr to spmopt's DEBUG log.

    The text is collected while the block runs and logged line by line
    after it, once the streams are restored (so spmopt's own handler,
    which writes to the current stderr, is never captured).
    """
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            yield
    finally:
        for line in sink.getvalue().splitlines():
            if line.strip():
                logger.debug("mlflow: %s", line.strip())


def model_signature(forecaster: WinForecaster) -> Any:
    """Input: one nullable column per feature; output: ``win_probability``.

    Derived columns (history, amount patterns) are optional: the model
    adds them itself when they are absent.
    """
    from mlflow.models.signature import ModelSignature
    from mlflow.types.schema import ColSpec, Schema

    encoder = forecaster.encoder_
    derived = {
        name
        for part in (forecaster.history, forecaster.amounts)
        if part is not None
        for name in part.columns
    }
    inputs: list[Any] = [ColSpec("string", name) for name in encoder.categorical]
    inputs += [
        ColSpec("double", name, required=name not in derived)
        for name in encoder.numeric
    ]
    outputs = Schema([ColSpec("double", "win_probability")])
    return ModelSignature(inputs=Schema(inputs), outputs=outputs)


def model_requirements() -> list[str]:
    """Pinned packages the logged model needs (skips MLflow's slow inference)."""
    names = ("spmopt", "lightgbm", "scikit-learn", "pandas", "numpy", "mlflow")
    pins = []
    for name in names:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


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
    """Log one training run to MLflow, register and maybe promote it.

    Returns
    -------
    dict
        Fields merged into ``metrics.json``: ``mlflow_run_id``,
        ``mlflow_model_uri``, ``mlflow_model_version`` (None when not
        registered), ``promoted`` and ``mlflow_promotion`` (the comparison with
        the champion and the reason).
    """
    import mlflow

    forecaster = result.forecaster
    with contextlib.ExitStack() as stack:
        run = _start_run(stack, cfg, data, metrics, forecaster)
        _log_tables(forecaster, data, reliability, importance)
        log_metrics(flat_metrics(metrics))
        log_metrics({f"{k}_seconds": v for k, v in result.seconds.items()})
        fields = promote(cfg, data, result, metrics, _log_model(forecaster))
        mlflow.set_tag("spmopt.promoted", str(fields["promoted"]).lower())
        uri = resolve_tracking_uri(cfg.tracking.uri)
        return {"mlflow_run_id": run.info.run_id, "mlflow_tracking_uri": uri, **fields}


def _start_run(
    stack: contextlib.ExitStack,
    cfg: ForecastConfig,
    data: TrainingData,
    metrics: dict[str, Any],
    forecaster: WinForecaster,
) -> Any:
    """Open the tracked run on ``stack`` (store creation notices to DEBUG)."""
    tags = {
        "spmopt.job": "forecast.train",
        "spmopt.verdict": metrics["verdict"],
        "spmopt.data_sha256": metrics["data_sha256"],
    }
    run = tracked_run(
        cfg.tracking.experiment,
        f"{cfg.dataset}-{data.split.kind}",
        tracking_uri=cfg.tracking.uri,
        params=run_params(cfg, data, forecaster.random_state),
        tags=tags,
    )
    with mlflow_output_to_debug():
        return stack.enter_context(run)


def _log_model(forecaster: WinForecaster) -> str:
    """Log the forecaster as a pyfunc model; return its model URI."""
    import mlflow

    from spmopt.forecast.pyfunc import WinProbabilityModel

    with warnings.catch_warnings(), mlflow_output_to_debug():
        warnings.filterwarnings("ignore", message=".*input example")
        info = mlflow.pyfunc.log_model(
            name=MODEL_PATH,
            python_model=WinProbabilityModel(forecaster),
            signature=model_signature(forecaster),
            pip_requirements=model_requirements(),
        )
    return str(info.model_uri)


def _log_tables(
    forecaster: WinForecaster,
    data: TrainingData,
    reliability: pd.DataFrame,
    importance: pd.DataFrame,
) -> None:
    import mlflow

    features = {"features": forecaster.feature_names, "dropped": data.deals.dropped}
    mlflow.log_dict(features, "features.json")
    mlflow.log_dict(forecaster.encoder_.category_mapping(), "category_mapping.json")
    mlflow.log_text(reliability.to_csv(index=False), "reliability.csv")
    mlflow.log_text(importance.to_csv(index=False), "importance.csv")
    mlflow.log_figure(_reliability_figure(reliability), "reliability.html")
    mlflow.log_figure(_importance_figure(importance), "importance.html")


def _reliability_figure(reliability: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    figure = go.Figure()
    for model, rows in reliability.groupby("model", sort=True):
        figure.add_scatter(
            x=rows["mean_predicted"], y=rows["observed_rate"], name=str(model)
        )
    figure.add_scatter(x=[0, 1], y=[0, 1], name="perfect", line={"dash": "dot"})
    figure.update_layout(xaxis_title="mean predicted", yaxis_title="observed win rate")
    return figure


def _importance_figure(importance: pd.DataFrame) -> Any:
    import plotly.graph_objects as go

    top = importance.head(20).iloc[::-1]
    figure = go.Figure(go.Bar(x=top["importance"], y=top["feature"], orientation="h"))
    figure.update_layout(xaxis_title="share of split gain")
    return figure


def promote(
    cfg: ForecastConfig,
    data: TrainingData,
    result: TrainResult,
    metrics: dict[str, Any],
    model_uri: str,
) -> dict[str, Any]:
    """Register a usable model; move the alias to it if it beats the champion.

    The rule: the run must carry a usable signal, the calibrated
    LightGBM forecaster (the model that is logged) must beat the base
    rate on test Brier by more than the 95 % bootstrap noise, and a
    paired bootstrap of test Brier against the current champion (scored
    on the same test rows) must have a lower 95 % bound above zero. The
    first usable model becomes champion.
    """
    fields: dict[str, Any] = {"mlflow_model_uri": model_uri}
    fields |= {"mlflow_model_version": None, "promoted": False}
    if metrics["verdict"] != "usable signal":
        return fields | {
            "mlflow_promotion": {"reason": "no usable signal: not registered"}
        }
    if metrics["lightgbm_versus_base_rate"]["low"] <= 0:
        reason = "the LightGBM forecaster does not beat the base rate: not registered"
        return fields | {"mlflow_promotion": {"reason": reason}}
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=resolve_tracking_uri(cfg.tracking.uri))
    name, alias = cfg.model_name(), cfg.tracking.alias
    champion = _current_champion(client, name, alias)
    versus = _versus_champion(cfg, data, result, champion)
    with mlflow_output_to_debug():
        version = mlflow.register_model(model_uri, name).version
    fields["mlflow_model_version"] = int(version)
    if versus is None or versus["low"] > 0:
        client.set_registered_model_alias(name, alias, version)
        fields["promoted"] = True
    fields["mlflow_promotion"] = _promotion_report(
        name, alias, champion, versus, fields
    )
    logger.info("forecast %s: %s", cfg.dataset, fields["mlflow_promotion"]["reason"])
    return fields


def _current_champion(client: Any, name: str, alias: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _versus_champion(
    cfg: ForecastConfig, data: TrainingData, result: TrainResult, champion: Any
) -> dict[str, float] | None:
    if champion is None:
        return None
    y = data.labels["test"]
    try:
        old = load_forecaster(f"models:/{cfg.model_name()}/{champion.version}", cfg)
        p_old = old.win_probability(data.frames["test"])
    except Exception as exc:
        # A champion saved by another spmopt version or on other columns may
        # fail in many ways; it then cannot be beaten by a measured margin.
        logger.warning(
            "champion %s v%s cannot score this test split (%s: %s); "
            "the new model is registered but not promoted",
            cfg.model_name(),
            champion.version,
            type(exc).__name__,
            exc,
        )
        return {"improvement": float("nan"), "low": float("-inf"), "high": 0.0}
    return paired_bootstrap(
        y,
        result.test_proba["lightgbm"],
        p_old,
        seed=result.forecaster.random_state,
        rounds=cfg.model.bootstrap_rounds,
    )


def _promotion_report(
    name: str,
    alias: str,
    champion: Any,
    versus: dict[str, float] | None,
    fields: dict[str, Any],
) -> dict[str, Any]:
    version = fields["mlflow_model_version"]
    if versus is None:
        reason = f"{name} v{version} is the first usable model: set as @{alias}"
    elif fields["promoted"]:
        reason = f"{name} v{version} beats @{alias} v{champion.version}: promoted"
    else:
        reason = (
            f"{name} v{version} does not beat @{alias} v{champion.version} by more "
            "than the noise: alias unchanged"
        )
    report: dict[str, Any] = {"reason": reason, "versus_champion": versus}
    report["mlflow_champion_version"] = (
        None if champion is None else int(champion.version)
    )
    return report


def parse_model_ref(ref: str, cfg: ForecastConfig | None = None) -> str:
    """Turn ``NAME@ALIAS``, ``NAME`` or an MLflow URI into a model URI.

    A bare ``NAME`` means ``NAME@<tracking.alias>``; ``models:/...`` and
    ``runs:/...`` URIs pass through.
    """
    if ref.startswith(("models:/", "runs:/")):
        return ref
    if not ref or any(ch.isspace() for ch in ref):
        raise ConfigError(f"--model must be NAME@ALIAS or an MLflow URI, got {ref!r}")
    if "@" not in ref:
        alias = cfg.tracking.alias if cfg is not None else "champion"
        ref = f"{ref}@{alias}"
    return f"models:/{ref}"


def load_forecaster(model_uri: str, cfg: ForecastConfig | None = None) -> WinForecaster:
    """Load a logged forecaster back from MLflow.

    Raises
    ------
    ConfigError
        When the URI names no model in the tracking store.
    """
    import mlflow
    from mlflow.exceptions import MlflowException

    uri = resolve_tracking_uri(cfg.tracking.uri if cfg is not None else None)
    check_store(uri)
    mlflow.set_tracking_uri(uri)
    try:
        with mlflow_output_to_debug():
            model = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(
            f"cannot load model {model_uri!r} from tracking store {uri}: {first}"
        ) from None
    forecaster = getattr(model.unwrap_python_model(), "forecaster", None)
    if not isinstance(forecaster, WinForecaster):
        raise ConfigError(f"model {model_uri!r} is not an spmopt win forecaster")
    _check_compatible(model_uri, forecaster)
    return forecaster


def _check_compatible(model_uri: str, forecaster: WinForecaster) -> None:
    """Refuse a forecaster pickled by a spmopt version with other parameters."""
    missing = sorted(set(vars(WinForecaster())) - set(vars(forecaster)))
    booster_model = vars(forecaster).get("booster_model_")
    if booster_model is not None and "ensemble_" not in vars(booster_model):
        missing.append("booster_model_.ensemble_")
    if missing:
        raise ConfigError(
            f"model {model_uri!r} was saved by an incompatible spmopt version "
            f"(missing parameters: {', '.join(missing)}); retrain it with "
            "'spmopt forecast train'"
        )


def warn_if_no_signal(model_uri: str, cfg: ForecastConfig | None = None) -> None:
    """Warn when the run that logged ``model_uri`` found no usable signal.

    Such a model is never registered, but it can still be scored through
    its ``runs:/`` URI; its probabilities are then no better than the
    base rate.
    """
    import mlflow

    uri = resolve_tracking_uri(cfg.tracking.uri if cfg is not None else None)
    info = mlflow.models.get_model_info(model_uri)
    if not info.run_id:
        return
    run = mlflow.MlflowClient(tracking_uri=uri).get_run(info.run_id)
    verdict = run.data.tags.get("spmopt.verdict")
    if verdict == "no usable signal":
        warnings.warn(
            f"model {model_uri!r} comes from a run with no usable signal: its "
            "probabilities are no better than the base rate",
            NoSignalWarning,
            stacklevel=2,
        )
