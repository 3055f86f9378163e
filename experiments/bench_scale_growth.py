"""Benchmark: growth of time and memory with data size, in process and on Dask.

Prints JSON lines, three sizes per job, each against a baseline measured
in the same run (the same work in this process). The cluster is a local
cluster of two worker processes (one thread each, 127.0.0.1), started
once; the jobs reach it the way ``--scheduler`` does.

1. ``simulation``: ``spmopt payout simulate``'s Monte-Carlo (accelerator
   plan, 1,000 reps, 50,000 / 100,000 / 200,000 scenarios). Baseline:
   ``spmopt.payout.simulate`` in process; against it the same call under
   the cluster's scope (runs of chunks as Dask tasks, identical costs).
2. ``training``: the forecaster of ``spmopt forecast train``
   (``WinForecaster``: encoder, LightGBM with early stopping on a
   validation split, no calibration) on the bundled IBM table without its
   leaky columns, training rows stacked 1, 2 and 4 times. Baseline: in
   process; against it the same fit under the cluster's scope (the
   booster through ``lightgbm.dask``). AUC on the same held-out quarter
   of the original rows.
3. ``sweep``: a disruption sweep (budgets 0.6, 0.8, 1.0; CP-SAT, one
   solver worker, 15 s limit per task) on the south-east counties example
   cut to 2, 3 and 5 states (146 / 305 / 467 counties). Baseline: the
   tasks one after the other in this process; against it the tasks on the
   cluster. Every task runs in its own process (it has a time limit).

Memory: for in-process simulation and training, the peak traced by
``tracemalloc`` (Python and numpy; LightGBM's C++ buffers are not
traced); on the cluster, the largest worker's resident set size after the
work; for sweeps, the largest peak resident set size of a task process.

Run: ``.venv/bin/python experiments/bench_scale_growth.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from spmopt.config import load_config
from spmopt.data import IBM_CATEGORICAL, IBM_LEAKY_COLUMNS, IBM_NUMERIC, load_ibm
from spmopt.forecast import WinForecaster
from spmopt.payout import SimulateConfig, simulate
from spmopt.payout.simulate import load_inputs
from spmopt.scale import SchedulerConfig, SweepTask, dask_client, run_sweep
from spmopt.scale.alignments import disruption_designs, solve_design
from spmopt.scale.context import client_scope
from spmopt.territory import TerritoryConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
MIB = 2**20
LGBM = {"learning_rate": 0.1, "max_rounds": 400, "early_stopping_rounds": 30}


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


def timed(fn: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """Run ``fn(*args)``; return (value, wall seconds)."""
    start = time.perf_counter()
    value = fn(*args)
    return value, time.perf_counter() - start


def _rss_mib() -> float:
    import psutil

    return float(psutil.Process(os.getpid()).memory_info().rss / MIB)


def worker_rss(client: Any) -> float:
    """Largest resident set of the cluster's workers, MiB."""
    return round(max(client.run(_rss_mib).values()), 1)


def plan_config(folder: Path, n_scenarios: int) -> SimulateConfig:
    """Simulate config of the accelerator plan for 1,000 reps."""
    rng = np.random.default_rng(0)
    quotas = pd.DataFrame(
        {
            "rep_id": [f"R{i:04d}" for i in range(1_000)],
            "quota": np.round(rng.uniform(0.6e6, 1.4e6, 1_000), -3),
        }
    )
    quotas.to_csv(folder / "quotas.csv", index=False)
    data = {
        "plan": str(CONFIGS / "payout" / "plan_accelerator.yaml"),
        "quotas": str(folder / "quotas.csv"),
        "n_scenarios": n_scenarios,
        "attainment": {"mean": 0.95, "sigma": 0.35},
        "mlflow": {"enabled": False},
    }
    return SimulateConfig.model_validate(data)


def simulation(sizes: list[int], client: Any) -> None:
    """The payout simulator in process and on the cluster, at each size."""
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            cfg = plan_config(Path(tmp), n)
            plan, book = load_inputs(cfg)
            args = (plan, book, cfg.attainment, n, 0, cfg.chunk_elements)
            base, seconds, peak = traced(simulate, *args)
            common = {"job": "simulation", "n_reps": 1_000, "n_scenarios": n}
            emit(
                variant="in-process",
                seconds=round(seconds, 3),
                peak_mib=round(peak, 1),
                **common,
            )
            with client_scope(client):
                result, remote = timed(simulate, *args)
            emit(
                variant="dask-2-workers",
                seconds=round(remote, 3),
                speedup=round(seconds / remote, 2),
                worker_rss_mib=worker_rss(client),
                identical=bool(np.array_equal(result.cost, base.cost)),
                **common,
            )


def ibm_parts(copies: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Train (stacked ``copies`` times), validation and test frames of IBM."""
    frame = load_ibm().drop(columns=list(IBM_LEAKY_COLUMNS))
    part = np.random.default_rng(0).random(len(frame))
    train = pd.concat([frame[part >= 0.4]] * copies, ignore_index=True)
    valid = frame[(part >= 0.25) & (part < 0.4)].reset_index(drop=True)
    return train, valid, frame[part < 0.25].reset_index(drop=True)


def _fit(train: pd.DataFrame, valid: pd.DataFrame) -> WinForecaster:
    model = WinForecaster(
        IBM_CATEGORICAL, IBM_NUMERIC, lgbm_params=LGBM, calibration="none"
    )
    return model.fit(train, train["won"], valid, valid["won"].to_numpy())


def training(copies_list: list[int], client: Any) -> None:
    """The forecaster in process and through lightgbm.dask, at each size."""
    for copies in copies_list:
        train, valid, test = ibm_parts(copies)
        common = {"job": "training", "rows": len(train)}
        fitted, seconds, peak = traced(_fit, train, valid)
        auc = roc_auc_score(test["won"], fitted.win_probability(test))
        emit(
            variant="in-process",
            seconds=round(seconds, 3),
            peak_mib=round(peak, 1),
            test_auc=round(float(auc), 4),
            trees=fitted.booster_model_.best_iteration_,
            **common,
        )
        with client_scope(client):
            fitted, remote = timed(_fit, train, valid)
        auc = roc_auc_score(test["won"], fitted.win_probability(test))
        emit(
            variant="dask-2-workers",
            seconds=round(remote, 3),
            speedup=round(seconds / remote, 2),
            worker_rss_mib=worker_rss(client),
            test_auc=round(float(auc), 4),
            trees=fitted.booster_model_.best_iteration_,
            **common,
        )


STATES = {2: ["NC", "SC"], 3: ["NC", "SC", "GA"], 5: ["NC", "SC", "GA", "TN", "AL"]}
REPS = {2: 4, 3: 4, 5: 6}
REP_ORDER = ("CLT", "RDU", "SAV", "ATL", "BNA", "BHM")


def territory(n_states: int) -> TerritoryConfig:
    """The south-east example cut to ``n_states`` states and their reps."""
    cfg = load_config(
        TerritoryConfig, CONFIGS / "territory" / "counties_southeast.yaml"
    )
    assert cfg.reps is not None
    units = cfg.units.model_copy(update={"keep": {"state": STATES[n_states]}})
    keep = REP_ORDER[: REPS[n_states]]
    rows = [r for r in cfg.reps.rows or [] if r.rep_id in keep]
    reps = cfg.reps.model_copy(update={"rows": rows})
    return cfg.model_copy(update={"units": units, "reps": reps})


def solve_and_measure(
    cfg: TerritoryConfig, seed: int, time_limit_seconds: float
) -> dict[str, Any]:
    """:func:`solve_design` plus the task process's peak resident set, MiB."""
    figures = solve_design(cfg, seed, time_limit_seconds)
    figures["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def sweep(sizes: list[int], client: Any) -> None:
    """Disruption sweeps in process and on the cluster, at each size."""
    for n_states in sizes:
        designs = disruption_designs(territory(n_states), [0.6, 0.8, 1.0])
        tasks = [
            SweepTask(key, solve_and_measure, {"cfg": cfg, "seed": 0}, 15.0)
            for key, cfg in designs.items()
        ]
        n_units = None
        for variant, target in (("in-process", None), ("dask-2-workers", client)):
            result = run_sweep(tasks, target)
            values = list(result.values.values())
            n_units = values[0]["n_units"] if values else n_units
            record = {
                "job": "sweep",
                "variant": variant,
                "n_units": n_units,
                "tasks": len(tasks),
                "ok": len(values),
                "seconds": round(result.wall_seconds, 3),
                "task_peak_rss_mib": round(max(v["peak_rss_mib"] for v in values), 1)
                if values
                else None,
            }
            emit(**record)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Two small sizes.")
    args = parser.parse_args()
    setting = SchedulerConfig(mode="local", n_workers=2, memory_limit="4GiB")
    with dask_client(setting) as client:
        client.run(__import__, "spmopt.payout.simulate")
        client.run(__import__, "spmopt.forecast")
        quick = args.quick
        simulation([50_000, 100_000] if quick else [50_000, 100_000, 200_000], client)
        training([1, 2] if quick else [1, 2, 4], client)
        sweep([2, 3] if quick else [2, 3, 5], client)


if __name__ == "__main__":
    main()
