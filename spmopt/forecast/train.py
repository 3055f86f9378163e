"""Training run: split, fit every model, score on test, record, write.

:func:`run_train` is the job runner behind ``spmopt forecast train``. It
validates the table and the split before anything is written or logged,
fits the baselines (base rate, logistic regression, histogram gradient
boosting) and the calibrated LightGBM model, scores them all on the
untouched test split and says whether the chosen model carries a usable
signal beyond the base rate.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from spmopt._logging import logger
from spmopt.errors import DataError, NoSignalWarning
from spmopt.forecast.amounts import AmountPatterns
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import (
    DealTable,
    deals_table_name,
    load_deals,
    with_history,
)
from spmopt.forecast.forecaster import WinForecaster
from spmopt.forecast.history import HistoryEncoder
from spmopt.forecast.metrics import (
    forecast_by_period,
    paired_bootstrap,
    reliability_table,
    score_all,
)
from spmopt.forecast.models import (
    BaseRateModel,
    LogisticBaseline,
    hist_gb_baseline,
)
from spmopt.forecast.split import PARTS, Split, grouped_random_split, time_split
from spmopt.runs import RunWriter

USABLE = "usable signal"
NO_SIGNAL = "no usable signal"
LEARNED_MODELS = ("logistic", "hist_gb", "lightgbm")


@dataclass
class TrainingData:
    """Closed deals split into train, validation and test frames."""

    deals: DealTable
    split: Split
    frames: dict[str, pd.DataFrame]
    labels: dict[str, np.ndarray]
    history: HistoryEncoder | None = None
    amounts: AmountPatterns | None = None


@dataclass
class TrainResult:
    """Everything a training run produced, before it is written."""

    forecaster: WinForecaster
    test_proba: dict[str, np.ndarray]
    valid_brier: dict[str, float]
    seconds: dict[str, float]
    metrics: dict[str, Any] = field(default_factory=dict)


def prepare(
    cfg: ForecastConfig, seed: int, deals: DealTable | None = None
) -> TrainingData:
    """Load and split the closed deals; raise before any work if unusable.

    Raises
    ------
    DataError
        Too few rows, a part without both outcomes, or missing dates.
    """
    deals, history = with_history(deals or load_deals(cfg), cfg.columns)
    closed = deals.frame.loc[deals.labelled].reset_index(drop=True)
    y = deals.label[deals.labelled]
    if len(closed) < cfg.split.min_rows:
        raise DataError(
            f"{deals_table_name(cfg)}: {len(closed)} closed (won or lost) deals, "
            f"need at least split.min_rows={cfg.split.min_rows}"
        )
    split = _split(cfg, closed, y, seed)
    frames = {part: closed.loc[split.mask(part)] for part in PARTS}
    labels = {part: y[split.mask(part)] for part in PARTS}
    _check_parts(cfg, labels, split)
    data = TrainingData(deals, split, frames, labels, history)
    return with_amount_patterns(cfg, data) if cfg.columns.amount_patterns else data


def with_amount_patterns(cfg: ForecastConfig, data: TrainingData) -> TrainingData:
    """Add the amount-pattern columns, learned from the training part only."""
    cols = cfg.columns
    amounts = AmountPatterns(str(cols.amount), cols.prediction_date, cols.deal_id)
    frames = {"train": amounts.fit_transform(data.frames["train"])}
    frames |= {part: amounts.transform(data.frames[part]) for part in PARTS[1:]}
    numeric = [*data.deals.numeric, *amounts.columns]
    deals = replace(data.deals, numeric=numeric)
    return replace(data, deals=deals, frames=frames, amounts=amounts)


def _split(
    cfg: ForecastConfig, closed: pd.DataFrame, y: np.ndarray, seed: int
) -> Split:
    cols, shares = cfg.columns, (cfg.split.valid_share, cfg.split.test_share)
    groups = closed[cols.deal_id].fillna("")
    if cfg.split_kind() == "grouped-random":
        return grouped_random_split(groups, y, *shares, seed=seed)
    date_col = str(cols.prediction_date)
    dates = closed[date_col]
    if dates.isna().any():
        row = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(
            f"{deals_table_name(cfg)}: column '{date_col}' (prediction date) is "
            f"empty for {int(dates.isna().sum())} closed deal(s), first in closed "
            f"row {row + 1}; a time split needs a date on every closed deal"
        )
    return time_split(dates, groups, *shares)


def _check_parts(
    cfg: ForecastConfig, labels: dict[str, np.ndarray], split: Split
) -> None:
    need = cfg.split.min_per_class
    for part, y in labels.items():
        won, lost = int((y == 1).sum()), int((y == 0).sum())
        if min(won, lost) < need:
            raise DataError(
                f"{deals_table_name(cfg)}: the {part} split ({split.kind}) has "
                f"{won} won and {lost} lost deals, need at least "
                f"split.min_per_class={need} of each; add data or change split shares"
            )


def fit_models(cfg: ForecastConfig, data: TrainingData, seed: int) -> TrainResult:
    """Fit every model with at most ``model.n_jobs`` threads each."""
    with threadpool_limits(limits=cfg.model.n_jobs):
        return _fit_models(cfg, data, seed)


def _fit_models(cfg: ForecastConfig, data: TrainingData, seed: int) -> TrainResult:
    """Fit the baselines and the calibrated LightGBM; predict on test."""
    deals, f, y = data.deals, data.frames, data.labels
    forecaster = WinForecaster(
        deals.categorical,
        deals.numeric,
        lgbm_params=_lgbm_params(cfg),
        calibration=cfg.model.calibration,
        history=data.history,
        amounts=data.amounts,
        random_state=seed,
    )
    start = time.perf_counter()
    forecaster.fit(f["train"], y["train"], f["valid"], y["valid"])
    seconds = {"lightgbm": time.perf_counter() - start}
    encoder = forecaster.encoder_
    X = {part: encoder.transform(f[part]) for part in PARTS}
    test = {"lightgbm": forecaster.win_probability(f["test"])}
    test["lightgbm_uncalibrated"] = forecaster.raw_proba(f["test"])
    valid_brier = {"lightgbm": _calibrated_valid_brier(forecaster, f["valid"], y)}
    n_cat = len(deals.categorical)
    baselines = {
        "base_rate": BaseRateModel(),
        "logistic": LogisticBaseline(n_categorical=n_cat),
        "hist_gb": hist_gb_baseline(n_cat, X["train"].shape[1], seed),
    }
    for name, model in baselines.items():
        start = time.perf_counter()
        model.fit(X["train"], y["train"])
        seconds[name] = time.perf_counter() - start
        test[name] = model.predict_proba(X["test"])[:, 1]
        p_valid = model.predict_proba(X["valid"])[:, 1]
        valid_brier[name] = float(np.mean((p_valid - y["valid"]) ** 2))
    return TrainResult(forecaster, test, valid_brier, seconds)


def _lgbm_params(cfg: ForecastConfig) -> dict[str, Any]:
    return cfg.model.model_dump(exclude={"calibration", "bootstrap_rounds"})


def _calibrated_valid_brier(
    forecaster: WinForecaster, valid: pd.DataFrame, y: dict[str, np.ndarray]
) -> float:
    """Cross-fitted Brier of the chosen calibration (not the in-sample one)."""
    scores = forecaster.calibration_scores_
    if scores:
        return float(scores[forecaster.calibrator_.method])
    p = forecaster.win_probability(valid)
    return float(np.mean((p - y["valid"]) ** 2))


def evaluate(
    cfg: ForecastConfig, data: TrainingData, result: TrainResult, seed: int
) -> dict[str, Any]:
    """Test metrics of every model, the verdict and the chosen model."""
    y_test = data.labels["test"]
    models = {name: score_all(y_test, p) for name, p in result.test_proba.items()}
    best = min(LEARNED_MODELS, key=lambda name: result.valid_brier[name])
    versus = paired_bootstrap(
        y_test,
        result.test_proba[best],
        result.test_proba["base_rate"],
        seed=seed,
        rounds=cfg.model.bootstrap_rounds,
    )
    usable = versus["low"] > 0
    lgbm_versus = versus
    if best != "lightgbm":
        lgbm_versus = paired_bootstrap(
            y_test,
            result.test_proba["lightgbm"],
            result.test_proba["base_rate"],
            seed=seed,
            rounds=cfg.model.bootstrap_rounds,
        )
    if not usable:
        warnings.warn(
            f"{cfg.dataset}: no model beats the base rate on the test split "
            f"(best on validation: {best}, Brier improvement "
            f"{versus['improvement']:.5f}, 95% interval [{versus['low']:.5f}, "
            f"{versus['high']:.5f}]); nothing will be promoted",
            NoSignalWarning,
            stacklevel=2,
        )
    metrics = _metrics_dict(cfg, data, result, models, best, versus, usable)
    metrics["lightgbm_versus_base_rate"] = {"metric": "brier", **lgbm_versus}
    return metrics


def _metrics_dict(
    cfg: ForecastConfig,
    data: TrainingData,
    result: TrainResult,
    models: dict[str, dict[str, float]],
    best: str,
    versus: dict[str, float],
    usable: bool,
) -> dict[str, Any]:
    counts = data.split.counts()
    forecaster = result.forecaster
    return {
        "dataset": cfg.dataset,
        "split": data.split.kind,
        "split_cuts": data.split.cuts,
        "verdict": USABLE if usable else NO_SIGNAL,
        "chosen_model": best if usable else "base_rate",
        "best_on_validation": best,
        "versus_base_rate": {"metric": "brier", **versus},
        "base_rate": float(np.mean(data.labels["train"])),
        "n_train": counts["train"],
        "n_valid": counts["valid"],
        "n_test": counts["test"],
        "n_open": int((~data.deals.labelled).sum()),
        "models": models,
        "validation_brier": result.valid_brier,
        "calibration": forecaster.calibrator_.method,
        "calibration_brier_cv": forecaster.calibration_scores_,
        "best_iteration": forecaster.booster_model_.best_iteration_,
        "features": {
            "categorical": data.deals.categorical,
            "numeric": data.deals.numeric,
            "dropped": data.deals.dropped,
        },
        "data_sha256": data_hash(data.deals),
        "mlflow_run_id": None,
        "mlflow_model_uri": None,
        "mlflow_model_version": None,
        "promoted": False,
        "mlflow_promotion": {"reason": "not recorded: tracking disabled"},
    }


def data_hash(deals: DealTable) -> str:
    """SHA-256 of the role and feature columns of the deal table."""
    hashed = pd.util.hash_pandas_object(deals.frame, index=False)
    return hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()


def reliability_frame(y: np.ndarray, test_proba: dict[str, np.ndarray]) -> pd.DataFrame:
    """Reliability table of every model stacked with a ``model`` column."""
    tables = []
    for name, p in test_proba.items():
        table = reliability_table(y, p)
        table.insert(0, "model", name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


PERIOD_MONEY = ("actual_value", "predicted_value", "value_p10", "value_p90")
"""Money columns of ``by_period.csv``, written in cents."""


def period_table(
    cfg: ForecastConfig,
    data: TrainingData,
    result: TrainResult,
    metrics: dict[str, Any],
    seed: int,
) -> pd.DataFrame:
    """Forecast versus actual on the test split, by month of prediction date.

    Uses the chosen model's probabilities; a split without dates has one
    period, ``"all"``.
    """
    test = data.frames["test"]
    cols = cfg.columns
    if cols.prediction_date is not None:
        period = test[cols.prediction_date].dt.strftime("%Y-%m").to_numpy(dtype=str)
    else:
        period = np.full(len(test), "all")
    amount = np.full(len(test), np.nan)
    if cols.amount is not None:
        amount = test[cols.amount].to_numpy(dtype=float)
    p = result.test_proba[metrics["chosen_model"]]
    return forecast_by_period(period, data.labels["test"], p, amount, seed)


def headline(metrics: dict[str, Any], seconds: dict[str, float]) -> dict[str, Any]:
    """Figures printed by the CLI and stored in the manifest."""
    models = metrics["models"]
    return {
        "verdict": metrics["verdict"],
        "chosen_model": metrics["chosen_model"],
        "calibration": metrics["calibration"],
        "lightgbm_auc": models["lightgbm"]["auc"],
        "lightgbm_brier": models["lightgbm"]["brier"],
        "lightgbm_ece": models["lightgbm"]["ece"],
        "logistic_auc": models["logistic"]["auc"],
        "hist_gb_auc": models["hist_gb"]["auc"],
        "base_rate_brier": models["base_rate"]["brier"],
        "n_train": metrics["n_train"],
        "n_test": metrics["n_test"],
        "promoted": metrics["promoted"],
        "train_seconds": round(sum(seconds.values()), 3),
    }


METRIC_PLACES = 6
"""Decimal places of the figures in ``metrics.json``."""


def rounded_metrics(value: Any) -> Any:
    """``value`` with every float rounded to :data:`METRIC_PLACES` places.

    Metrics (AUC, Brier score, shares) are written as ``0.878868``, not
    ``0.8788682581786029``; nested dicts and lists are rounded throughout,
    other values kept.
    """
    if isinstance(value, float):
        return round(value, METRIC_PLACES)
    if isinstance(value, dict):
        return {key: rounded_metrics(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded_metrics(item) for item in value]
    return value


def run_train(cfg: ForecastConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Train and evaluate the forecaster; write metrics and tables to ``out``.

    Writes ``metrics.json``, ``reliability.csv``, ``importance.csv`` and
    ``by_period.csv`` (test-split forecast versus actual per month)
    and records the run in MLflow (unless ``tracking.enabled`` is false).

    Parameters
    ----------
    cfg : ForecastConfig
    out : RunWriter
        Where the files go.
    seed : int
        Seed of the split, LightGBM, the baselines and the bootstrap.

    Returns
    -------
    dict
        Headline figures (verdict, chosen model, AUCs, Brier, ECE).
    """
    data = prepare(cfg, seed)
    result = fit_models(cfg, data, seed)
    metrics = evaluate(cfg, data, result, seed)
    tables = {
        "reliability.csv": reliability_frame(data.labels["test"], result.test_proba),
        "importance.csv": result.forecaster.importance(),
        "by_period.csv": period_table(cfg, data, result, metrics, seed),
    }
    periods = tables["by_period.csv"]
    inside = periods["actual_won"].between(periods["won_p10"], periods["won_p90"])
    metrics["by_period_won_inside_p10_p90"] = float(inside.mean())
    if cfg.tracking.enabled:
        from spmopt.forecast.lineage import record_run

        reliability, importance = tables["reliability.csv"], tables["importance.csv"]
        metrics.update(record_run(cfg, data, result, metrics, reliability, importance))
    out.write_json("metrics.json", rounded_metrics(metrics))
    for name, table in tables.items():
        out.write_csv(
            name, table, money=PERIOD_MONEY if name == "by_period.csv" else ()
        )
    figures = rounded_metrics(headline(metrics, result.seconds))
    _log_headline(cfg, figures)
    return figures


def _log_headline(cfg: ForecastConfig, figures: dict[str, Any]) -> None:
    logger.info(
        "forecast %s: %s, chosen %s, lightgbm AUC %.3f Brier %.4f ECE %.4f, "
        "base-rate Brier %.4f, %d train rows, %.1f s",
        cfg.dataset,
        figures["verdict"],
        figures["chosen_model"],
        figures["lightgbm_auc"],
        figures["lightgbm_brier"],
        figures["lightgbm_ece"],
        figures["base_rate_brier"],
        figures["n_train"],
        figures["train_seconds"],
    )
