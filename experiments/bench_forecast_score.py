"""Scoring speed of the IBM win forecaster against plain LightGBM predict.

Trains the IBM model of ``configs/forecast/ibm.yaml`` (tracking off),
draws ``--rows`` deals from its test split (with replacement; nothing is
cached between rows, so repeats do not help any path) and times, in the
same run, each way of turning them into win probabilities:

``lightgbm_dataframe``
    ``Booster.predict`` on a pandas DataFrame of the encoded features
    (what a plain LightGBM user would write); baseline.
``lightgbm_matrix``
    ``Booster.predict`` on the encoded float matrix (the path spmopt used
    before the trees were compiled).
``compiled_matrix``
    :class:`spmopt.forecast.ensemble.TreeEnsemble` on the same matrix.
``features_only``
    Amount patterns and category codes from the raw deal frame (the
    part of ``spmopt_full`` before the trees).
``spmopt_full``
    ``WinForecaster.win_probability`` from the raw deal frame: amount
    patterns, category codes, compiled trees and calibration.

Explanations are timed separately on ``--explain-rows`` deals drawn from
the test split without replacement: LightGBM's per-feature contributions
(TreeSHAP, computed once per distinct encoded row) and the
``reason_1..3`` text. Every figure is
the best of ``--repeat`` runs, in deals per CPU second and per wall
second; the machine is shared, so compare ratios within one run.

    .venv/bin/python experiments/bench_forecast_score.py [--rows 200000]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spmopt.config import load_config
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.score import top_reasons
from spmopt.forecast.train import fit_models, prepare

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "forecast" / "ibm.yaml"


def _timed(run: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """Result, best CPU seconds and best wall seconds of ``repeat`` runs."""
    cpu, wall, result = [], [], None
    for _ in range(repeat):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        result = run()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start_wall)
    return result, min(cpu), min(wall)


def _row(name: str, rows: int, cpu: float, wall: float, **extra: Any) -> None:
    line = {
        "benchmark": "forecast_score",
        "path": name,
        "rows": rows,
        "cpu_seconds": round(cpu, 4),
        "deals_per_cpu_second": round(rows / cpu),
        "deals_per_second": round(rows / wall),
    }
    print(json.dumps(line | extra), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--explain-rows", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    cfg = load_config(ForecastConfig, CONFIG)
    cfg = cfg.model_copy(
        update={"tracking": cfg.tracking.model_copy(update={"enabled": False})}
    )
    data = prepare(cfg, args.seed)
    forecaster = fit_models(cfg, data, args.seed).forecaster
    model = forecaster.booster_model_
    derived = forecaster.amounts.columns if forecaster.amounts else []
    test = data.frames["test"].drop(columns=derived)
    frame = test.sample(args.rows, replace=True, random_state=args.seed)
    frame = frame.reset_index(drop=True)
    X = forecaster.encoder_.transform(forecaster.add_history(frame))
    table = pd.DataFrame(X, columns=forecaster.feature_names)
    n, k = len(frame), model.best_iteration_
    print(json.dumps({"model": "ibm", "trees": k, "features": X.shape[1]}))

    paths: dict[str, Callable[[], Any]] = {
        "lightgbm_dataframe": lambda: model.booster_.predict(table, num_iteration=k),
        "lightgbm_matrix": lambda: model.booster_.predict(X, num_iteration=k),
        "compiled_matrix": lambda: model.ensemble_.predict(X),
        "features_only": lambda: forecaster.encoder_.transform(
            forecaster.add_history(frame)
        ),
        "spmopt_full": lambda: forecaster.win_probability(frame),
    }
    results = {}
    for name, run in paths.items():
        results[name], cpu, wall = _timed(run, args.repeat)
        _row(name, n, cpu, wall)
    diff = np.abs(results["compiled_matrix"] - results["lightgbm_matrix"]).max()
    print(json.dumps({"compiled_vs_lightgbm_max_abs_diff": float(diff)}))

    few = test.sample(args.explain_rows, random_state=args.seed)  # real deals
    few = forecaster.add_history(few.reset_index(drop=True))
    distinct = len(np.unique(forecaster.encoder_.transform(few), axis=0))
    contributions, cpu, wall = _timed(lambda: forecaster.contributions(few), 1)
    _row("contributions", len(few), cpu, wall, distinct_rows=distinct)
    _, cpu, wall = _timed(lambda: top_reasons(contributions, few), args.repeat)
    _row("reason_text", len(few), cpu, wall)


if __name__ == "__main__":
    main()
