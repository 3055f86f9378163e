"""The ``quota potential`` job: train, compare and apply the potential model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spmopt._logging import logger
from spmopt.config import named_field, table_name
from spmopt.data import check_schema, load_table, require_unique
from spmopt.errors import DataError
from spmopt.quota.config import PotentialConfig
from spmopt.quota.potential import (
    LastPeriodBaseline,
    Panel,
    QuantileLightGBM,
    TrailingMeanBaseline,
    build_panel,
    calibration_offsets,
    quantile_scores,
)
from spmopt.runs import RunWriter
from spmopt.tracking import log_metrics, tracked_run

MODEL_NAMES = ("lightgbm", "last_period", "trailing_mean_growth")
PIPELINE_SCHEMA = {
    "deal_stage": "str",
    "engage_date": "date",
    "close_date": "date",
    "close_value": "float",
}
ATTRIBUTES = {
    "account": {
        "sector": "str",
        "revenue": "float",
        "employees": "float",
        "year_established": "float",
        "office_location": "str",
    },
    "sales_agent": {"manager": "str", "regional_office": "str"},
}


@dataclass(frozen=True)
class Split:
    """Row masks of the time-based split (train, valid, test, score)."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    score: np.ndarray
    periods: dict[str, list[str]]


def read_inputs(cfg: PotentialConfig) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """Load and check the pipeline and the entity attribute table."""
    pipeline = load_table(cfg.pipeline, name=named_field(cfg.pipeline, "pipeline"))
    where = table_name(cfg.pipeline, "pipeline")
    schema = {cfg.entity: "str", **PIPELINE_SCHEMA}
    pipeline = check_schema(pipeline, schema, where)
    if not (pipeline["deal_stage"] == "Won").any():
        raise DataError(f"{where}: no row has deal_stage 'Won'; nothing to learn")
    ref = cfg.accounts if cfg.entity == "account" else cfg.teams
    if ref is None:
        return pipeline, None
    field = "accounts" if cfg.entity == "account" else "teams"
    name = table_name(ref, field)
    table = load_table(ref, name=named_field(ref, field))
    wanted = {cfg.entity: "str", **ATTRIBUTES[cfg.entity]}
    table = check_schema(table, wanted, name)
    require_unique(table, cfg.entity, name)
    attrs = table.set_index(cfg.entity)[list(ATTRIBUTES[cfg.entity])]
    if cfg.entity == "account" and "subsidiary_of" in table:
        attrs["is_subsidiary"] = table["subsidiary_of"].notna().astype(float).to_numpy()
    return pipeline, attrs


def time_split(panel: Panel, valid: int, test: int) -> Split:
    """Oldest periods train, then ``valid`` periods, then ``test`` periods.

    Raises
    ------
    DataError
        If fewer than ``valid + test + 2`` periods have known bookings.
    """
    frame = panel.frame
    labelled = sorted(frame.loc[frame["target"].notna(), "period"].unique())
    need = valid + test + 2
    if len(labelled) < need:
        raise DataError(
            f"pipeline: {len(labelled)} period(s) with closed deals, need at least "
            f"{need} for valid_periods={valid} and test_periods={test}; use "
            "shorter periods or fewer held-out periods"
        )
    cut_test, cut_valid = labelled[-test], labelled[-test - valid]
    period = frame["period"]
    labelled_rows = frame["target"].notna().to_numpy()
    periods = {
        "train": _names(labelled[: -test - valid]),
        "valid": _names(labelled[-test - valid : -test]),
        "test": _names(labelled[-test:]),
        "score": _names(sorted(frame.loc[~labelled_rows, "period"].unique())),
    }
    return Split(
        train=labelled_rows & (period < cut_valid).to_numpy(),
        valid=labelled_rows & ((period >= cut_valid) & (period < cut_test)).to_numpy(),
        test=labelled_rows & (period >= cut_test).to_numpy(),
        score=~labelled_rows,
        periods=periods,
    )


def _names(periods: list[Any]) -> list[str]:
    return [pd.Timestamp(p).strftime("%Y-%m") for p in periods]


def make_models(
    cfg: PotentialConfig,
    seed: int,
    offsets: tuple[float, float, float] | None = None,
) -> dict[str, Any]:
    """Fresh, unfitted models by name (with ``lightgbm_calibrated`` if
    ``offsets`` are given)."""
    settings = cfg.lightgbm
    models: dict[str, Any] = {
        "lightgbm": QuantileLightGBM(
            n_estimators=settings.n_estimators,
            learning_rate=settings.learning_rate,
            num_leaves=settings.num_leaves,
            min_child_samples=settings.min_child_samples,
            seed=seed,
        ),
        "last_period": LastPeriodBaseline(),
        "trailing_mean_growth": TrailingMeanBaseline(),
    }
    if offsets is not None:
        models["lightgbm_calibrated"] = QuantileLightGBM(
            n_estimators=settings.n_estimators,
            learning_rate=settings.learning_rate,
            num_leaves=settings.num_leaves,
            min_child_samples=settings.min_child_samples,
            seed=seed,
            offsets=offsets,
        )
    return models


def evaluate(
    panel: Panel,
    fit_rows: np.ndarray,
    eval_rows: np.ndarray,
    cfg: PotentialConfig,
    seed: int,
    offsets: tuple[float, float, float] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Fit every model on ``fit_rows``; score it on ``eval_rows``."""
    X, y = panel.frame[panel.features], panel.frame["target"]
    scores, fitted = {}, {}
    for name, model in make_models(cfg, seed, offsets).items():
        model.fit(X[fit_rows], y[fit_rows])
        pred = model.predict(X[eval_rows])
        scores[name] = _rounded(quantile_scores(y[eval_rows], pred))
        fitted[name] = model
    return scores, fitted


def _rounded(scores: dict[str, float]) -> dict[str, float]:
    return {key: round(value, 6) for key, value in scores.items()}


MONEY = ["p10", "p50", "p90", "last_period_bookings", "trailing_mean"]
"""Columns of ``potential.csv`` in currency, written in cents."""


def potential_table(
    panel: Panel, split: Split, model: Any, cfg: PotentialConfig
) -> pd.DataFrame:
    """``potential.csv``: P10/P50/P90 of the period after the data ends."""
    rows = panel.frame[split.score]
    pred = model.predict(rows[panel.features])
    return pd.DataFrame(
        {
            cfg.entity: rows["entity"].to_numpy(),
            "period": rows["period"].dt.strftime("%Y-%m").to_numpy(),
            "p10": np.round(pred[:, 0], 2),
            "p50": np.round(pred[:, 1], 2),
            "p90": np.round(pred[:, 2], 2),
            "last_period_bookings": rows["bookings_lag1"].to_numpy(),
            "trailing_mean": np.round(rows["bookings_trailing_mean"].to_numpy(), 2),
        }
    )


def run_potential(cfg: PotentialConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Train the potential model and baselines; write forecasts and metrics.

    Writes ``potential.csv`` (P10/P50/P90 of next-period bookings per
    entity), ``potential_metrics.json`` (pinball losses per model on the
    validation and test periods) and ``importance.csv``; records the run
    in MLflow.
    """
    pipeline, attrs = read_inputs(cfg)
    panel = build_panel(pipeline, cfg.entity, cfg.period, attrs, cfg.trailing_periods)
    split = time_split(panel, cfg.valid_periods, cfg.test_periods)
    valid_scores, fitted = evaluate(panel, split.train, split.valid, cfg, seed)
    offsets = validation_offsets(panel, split, fitted["lightgbm"])
    chosen = min(MODEL_NAMES, key=lambda name: valid_scores[name]["mean_pinball"])
    if chosen == "lightgbm" and cfg.calibrate:
        chosen = "lightgbm_calibrated"
    test_scores, _ = evaluate(
        panel, split.train | split.valid, split.test, cfg, seed, offsets
    )
    labelled = split.train | split.valid | split.test
    final = make_models(cfg, seed, offsets)[chosen]
    final.fit(
        panel.frame.loc[labelled, panel.features], panel.frame["target"][labelled]
    )
    metrics = _metrics(cfg, panel, split, chosen, valid_scores, test_scores)
    metrics["calibration_offsets"] = list(offsets)
    metrics["mlflow_run_id"] = _track(cfg, metrics, seed)
    out.write_csv("potential.csv", potential_table(panel, split, final, cfg), MONEY)
    out.write_csv("importance.csv", _importance(panel, labelled, cfg, seed))
    out.write_json("potential_metrics.json", metrics)
    _log(metrics)
    return _headline(metrics)


def validation_offsets(
    panel: Panel, split: Split, model: QuantileLightGBM
) -> tuple[float, float, float]:
    """Validation-residual shifts of the LightGBM quantiles, rounded."""
    rows = panel.frame[split.valid]
    pred = model.predict(rows[panel.features])
    shifts = calibration_offsets(rows["target"], pred)
    return (round(shifts[0], 6), round(shifts[1], 6), round(shifts[2], 6))


def _metrics(
    cfg: PotentialConfig,
    panel: Panel,
    split: Split,
    chosen: str,
    valid_scores: dict[str, dict[str, float]],
    test_scores: dict[str, dict[str, float]],
) -> dict[str, Any]:
    return {
        "dataset": cfg.pipeline,
        "entity": cfg.entity,
        "period": cfg.period,
        "split": "time",
        "periods": split.periods,
        "n_train": int(split.train.sum()),
        "n_valid": int(split.valid.sum()),
        "n_test": int(split.test.sum()),
        "n_entities": int(panel.frame["entity"].nunique()),
        "features": panel.features,
        "chosen_model": chosen,
        "valid": valid_scores,
        "test": test_scores,
        "models_note": "test scores: models refitted on train + valid periods",
    }


def _importance(
    panel: Panel, rows: np.ndarray, cfg: PotentialConfig, seed: int
) -> pd.DataFrame:
    model = make_models(cfg, seed)["lightgbm"]
    model.fit(panel.frame.loc[rows, panel.features], panel.frame["target"][rows])
    table = pd.DataFrame(
        {"feature": panel.features, "importance": model.feature_importances_.round(6)}
    )
    return table.sort_values(["importance", "feature"], ascending=[False, True])


def _track(cfg: PotentialConfig, metrics: dict[str, Any], seed: int) -> str | None:
    if not cfg.track:
        return None
    params = {
        "entity": cfg.entity,
        "period": cfg.period,
        "trailing_periods": cfg.trailing_periods,
        "seed": seed,
        **cfg.lightgbm.model_dump(),
    }
    with tracked_run(cfg.experiment, "potential", cfg.tracking_uri, params) as run:
        flat = {
            f"{part}_{model}_{key}": value
            for part in ("valid", "test")
            for model, scores in metrics[part].items()
            for key, value in scores.items()
        }
        log_metrics(flat)
        return str(run.info.run_id)


def _log(metrics: dict[str, Any]) -> None:
    test = metrics["test"]
    logger.info(
        "quota potential: %d %ss, test mean pinball lightgbm %.4g, last period "
        "%.4g, trailing mean %.4g; chosen %s",
        metrics["n_entities"],
        metrics["entity"],
        test["lightgbm"]["mean_pinball"],
        test["last_period"]["mean_pinball"],
        test["trailing_mean_growth"]["mean_pinball"],
        metrics["chosen_model"],
    )


def _headline(metrics: dict[str, Any]) -> dict[str, Any]:
    test = metrics["test"]
    chosen = metrics["chosen_model"]
    return {
        "chosen_model": chosen,
        "chosen_test_pinball": test[chosen]["mean_pinball"],
        "chosen_coverage_p10_p90": test[chosen]["coverage_p10_p90"],
        "lightgbm_test_pinball": test["lightgbm"]["mean_pinball"],
        "last_period_test_pinball": test["last_period"]["mean_pinball"],
        "trailing_mean_test_pinball": test["trailing_mean_growth"]["mean_pinball"],
        "mlflow_run_id": metrics["mlflow_run_id"],
    }
