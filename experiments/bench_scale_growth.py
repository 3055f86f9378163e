"""Benchmark: growth of time and memory with data size, in process and on Dask.

Prints JSON lines, three sizes or more per job, each against a baseline
measured in the same run:

1. ``montecarlo``: the accelerator plan (configs/payout/plan_accelerator
   .yaml), 200 reps, 10,000 / 40,000 / 160,000 scenarios. Baseline: the
   payout simulator in process; against it the seeded batches of
   ``spmopt.scale.pricing.price_plan`` in process. Memory is the peak
   traced by ``tracemalloc`` (numpy buffers included).
2. ``lightgbm``: the bundled IBM win/loss table without its leaky columns,
   stacked 1, 2 and 4 times (78k / 156k / 312k rows). Baseline: the
   LightGBM model trained in process; against it ``lightgbm.dask`` on a
   local cluster of two workers (one thread each). Memory: peak traced by
   ``tracemalloc`` in process (Python and numpy only; LightGBM's own C++
   buffers are not traced), and the largest worker's resident set size
   after training on the cluster.

Run: ``.venv/bin/python experiments/bench_scale_growth.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from spmopt.data import IBM_CATEGORICAL, IBM_LEAKY_COLUMNS, IBM_NUMERIC, load_ibm
from spmopt.payout import SimulateConfig, simulate
from spmopt.payout.simulate import load_inputs
from spmopt.scale import SchedulerConfig, dask_client
from spmopt.scale.lgbm import DaskWinModel
from spmopt.scale.pricing import price_plan

PLAN = (
    Path(__file__).resolve().parents[1] / "configs" / "payout" / "plan_accelerator.yaml"
)
MIB = 2**20


def emit(**record: object) -> None:
    """Print one JSON line."""
    print(json.dumps(record, sort_keys=True), flush=True)


def traced(fn: Callable[..., Any], *args: Any) -> tuple[Any, float, float]:
    """Run ``fn(*args)``; return (value, wall seconds, peak traced MiB)."""
    tracemalloc.start()
    start = time.perf_counter()
    value = fn(*args)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return value, seconds, peak / MIB


def plan_config(folder: Path, n_scenarios: int) -> SimulateConfig:
    """Simulate config of the accelerator plan for 200 reps."""
    rng = np.random.default_rng(0)
    quotas = pd.DataFrame(
        {
            "rep_id": [f"R{i:04d}" for i in range(200)],
            "quota": np.round(rng.uniform(0.6e6, 1.4e6, 200), -3),
        }
    )
    quotas.to_csv(folder / "quotas.csv", index=False)
    data = {
        "plan": str(PLAN),
        "quotas": str(folder / "quotas.csv"),
        "n_scenarios": n_scenarios,
        "attainment": {"mean": 0.95, "sigma": 0.35},
        "mlflow": {"enabled": False},
    }
    return SimulateConfig.model_validate(data)


def montecarlo(sizes: list[int]) -> None:
    """Simulator vs seeded batches in process, at each size."""
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cfg = plan_config(Path(tmp), n)
            plan, book = load_inputs(cfg)

            _, seconds, peak = traced(
                simulate, plan, book, cfg.attainment, n, 0, cfg.chunk_elements
            )
            emit(
                job="montecarlo",
                variant="baseline",
                n_scenarios=n,
                seconds=round(seconds, 3),
                peak_mib=round(peak, 1),
            )
            _, seconds, peak = traced(price_plan, cfg, 0)
            emit(
                job="montecarlo",
                variant="batched-in-process",
                n_scenarios=n,
                seconds=round(seconds, 3),
                peak_mib=round(peak, 1),
            )


def ibm_stack(copies: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IBM rows stacked ``copies`` times; 25 % of the original held out."""
    frame = load_ibm().drop(columns=list(IBM_LEAKY_COLUMNS))
    test = np.random.default_rng(0).random(len(frame)) < 0.25
    train = pd.concat([frame[~test]] * copies, ignore_index=True)
    return train, frame[test].reset_index(drop=True)


def lightgbm_growth(copies_list: list[int]) -> None:
    """LightGBM in process vs on two Dask workers, at each size."""
    setting = SchedulerConfig(mode="local", n_workers=2, memory_limit="4GiB")
    with dask_client(setting) as client:
        for copies in copies_list:
            train, test = ibm_stack(copies)
            model = DaskWinModel(IBM_CATEGORICAL, IBM_NUMERIC, n_estimators=100)
            fitted, seconds, peak = traced(model.fit, train, train["won"])
            auc = roc_auc_score(test["won"], fitted.win_probability(test))
            emit(
                job="lightgbm",
                variant="in-process",
                rows=len(train),
                seconds=round(seconds, 3),
                peak_mib=round(peak, 1),
                test_auc=round(float(auc), 4),
            )
            lazy = dd.from_pandas(train, npartitions=4)
            model = DaskWinModel(IBM_CATEGORICAL, IBM_NUMERIC, n_estimators=100)
            start = time.perf_counter()
            model.fit(lazy, lazy["won"], client=client)
            seconds = time.perf_counter() - start
            auc = roc_auc_score(test["won"], model.win_probability(test))
            rss = max(client.run(_rss_mib).values())
            emit(
                job="lightgbm",
                variant="dask-2-workers",
                rows=len(train),
                seconds=round(seconds, 3),
                worker_rss_mib=round(rss, 1),
                test_auc=round(float(auc), 4),
            )


def _rss_mib() -> float:
    import psutil

    return float(psutil.Process(os.getpid()).memory_info().rss / MIB)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Two small sizes.")
    args = parser.parse_args()
    montecarlo([10_000, 40_000] if args.quick else [10_000, 40_000, 160_000])
    lightgbm_growth([1, 2] if args.quick else [1, 2, 4])


if __name__ == "__main__":
    main()
