"""Benchmark of the deal-win forecaster against its baselines.

Prints one JSON line per (dataset, model) with test AUC, PR AUC, Brier,
log loss, ECE and training seconds, then one line with scoring speed.
Datasets: IBM Sales Win Loss without the stage-timing columns (split
grouped by opportunity), the same without the amount-pattern features
(the feature work's share, measured in the same run), the same with the
stage timings (for contrast: they leak the outcome), and the Maven CRM
pipeline (time split on engage date).

    .venv/bin/python experiments/bench_forecast_models.py [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.config import load_config
from spmopt.data import load_ibm
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import load_deals
from spmopt.forecast.train import evaluate, fit_models, prepare

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "forecast"


def _config(name: str) -> ForecastConfig:
    cfg = load_config(ForecastConfig, CONFIGS / f"{name}.yaml")
    tracking = cfg.tracking.model_copy(update={"enabled": False})
    return cfg.model_copy(update={"tracking": tracking})


def _with_stage_timings(cfg: ForecastConfig) -> tuple[ForecastConfig, pd.DataFrame]:
    columns = cfg.columns.model_copy(update={"leaky": []})
    leaky = cfg.model_copy(
        update={
            "columns": columns,
            "dataset": "ibm_with_stage_timings",
            "table": "ibm-with-stage-timings",
        }
    )
    return leaky, load_ibm()


def bench(label: str, cfg: ForecastConfig, seed: int, frame=None) -> dict:
    deals = load_deals(cfg, frame) if frame is not None else None
    data = prepare(cfg, seed, deals)
    result = fit_models(cfg, data, seed)
    metrics = evaluate(cfg, data, result, seed)
    for name, scores in metrics["models"].items():
        seconds = result.seconds.get(name.replace("_uncalibrated", ""))
        row = {"dataset": label, "split": metrics["split"], "model": name}
        row |= {k: round(v, 4) for k, v in scores.items()}
        row["train_seconds"] = None if seconds is None else round(seconds, 2)
        print(json.dumps(row), flush=True)
    summary = {
        "dataset": label,
        "verdict": metrics["verdict"],
        "chosen_model": metrics["chosen_model"],
        "calibration": metrics["calibration"],
        "n_train": metrics["n_train"],
        "n_test": metrics["n_test"],
    }
    print(json.dumps(summary), flush=True)
    return {"data": data, "result": result}


def scoring_speed(run: dict, n_rows: int = 200_000) -> None:
    forecaster = run["result"].forecaster
    derived = forecaster.amounts.columns if forecaster.amounts else []
    frame = run["data"].frames["test"].drop(columns=derived)  # recomputed, as live
    big = frame.sample(n_rows, replace=True, random_state=0).reset_index(drop=True)
    forecaster.win_probability(big.head(1000))
    start, cpu = time.perf_counter(), time.process_time()
    p = forecaster.win_probability(big)
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    row = {
        "benchmark": "scoring",
        "rows": n_rows,
        "seconds": round(seconds, 3),
        "deals_per_second": round(n_rows / seconds),
        "cpu_seconds": round(cpu, 3),
        "deals_per_cpu_second": round(n_rows / cpu),
        "mean_p": round(float(np.mean(p)), 4),
    }
    print(json.dumps(row), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    ibm = _config("ibm")
    run = bench("ibm", ibm, args.seed)
    scoring_speed(run)
    plain = ibm.columns.model_copy(update={"amount_patterns": False})
    no_patterns = ibm.model_copy(
        update={"columns": plain, "dataset": "ibm_without_amount_patterns"}
    )
    bench("ibm_without_amount_patterns", no_patterns, args.seed)
    leaky_cfg, frame = _with_stage_timings(ibm)
    bench("ibm_with_stage_timings", leaky_cfg, args.seed, frame)
    bench("maven", _config("maven"), args.seed)


if __name__ == "__main__":
    main()
