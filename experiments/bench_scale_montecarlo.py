"""Benchmark: Monte-Carlo of the jobs in process vs on 1 and 2 Dask workers.

Prints JSON lines. Each job is measured against a baseline run in the
same process, in the same run of this script:

1. ``payout-simulate``: the accelerator plan (configs/payout/
   plan_accelerator.yaml), reps with quotas between 0.6 and 1.4 million.
   Baseline: ``spmopt.payout.simulate`` in process (what ``spmopt payout
   simulate`` runs without ``--scheduler``). Against it
   ``spmopt.scale.simulation.simulate_on_cluster`` (what it runs with
   one), on a local cluster of 1 and 2 worker processes; ``identical``
   says whether every simulated cost equals the baseline's.
2. ``quota-attainment``: lognormal bookings (cv 0.3) for reps with
   potentials between 50 and 150 and quotas at 90 % of potential.
   Baseline: ``spmopt.quota.simulate_attainment`` in process. Against it
   the seeded batches of ``spmopt.scale.attainment`` in process and on 1
   and 2 workers; ``same_as_batches_in_process`` says whether the share
   attaining percentiles and per-rep probabilities are identical.

Cluster start-up (with spmopt imported on the workers) is reported apart;
each variant on a cluster first runs an untimed warm-up of 5,000
scenarios (first-touch costs of a fresh worker).

Run: ``.venv/bin/python experiments/bench_scale_montecarlo.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spmopt.payout import SimulateConfig, simulate
from spmopt.payout.simulate import load_inputs
from spmopt.quota import simulate_attainment
from spmopt.scale import SchedulerConfig, dask_client
from spmopt.scale.attainment import simulate_attainment_batches
from spmopt.scale.simulation import simulate_on_cluster

PLAN = (
    Path(__file__).resolve().parents[1] / "configs" / "payout" / "plan_accelerator.yaml"
)


def emit(**record: object) -> None:
    """Print one JSON line."""
    print(json.dumps(record, sort_keys=True), flush=True)


def make_config(folder: Path, n_reps: int, n_scenarios: int) -> SimulateConfig:
    """A simulate config for ``n_reps`` reps (quotas CSV written to folder)."""
    rng = np.random.default_rng(0)
    quotas = pd.DataFrame(
        {
            "rep_id": [f"R{i:04d}" for i in range(n_reps)],
            "quota": np.round(rng.uniform(0.6e6, 1.4e6, n_reps), -3),
        }
    )
    path = folder / "quotas.csv"
    quotas.to_csv(path, index=False)
    data = {
        "plan": str(PLAN),
        "quotas": str(path),
        "n_scenarios": n_scenarios,
        "attainment": {"mean": 0.95, "sigma": 0.35, "market_correlation": 0.25},
        "mlflow": {"enabled": False},
    }
    return SimulateConfig.model_validate(data)


def timed(fn: Any, *args: Any, **kwargs: Any) -> tuple[Any, float]:
    """``fn(*args, **kwargs)`` and its wall seconds."""
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


class PayoutCase:
    """One simulate instance and its in-process baseline."""

    def __init__(self, folder: Path, n_reps: int, n_scenarios: int) -> None:
        cfg = make_config(folder, n_reps, n_scenarios)
        plan, book = load_inputs(cfg)
        self.args = (plan, book, cfg.attainment, n_scenarios, 0, cfg.chunk_elements)
        self.common = {
            "job": "payout-simulate",
            "n_reps": n_reps,
            "n_scenarios": n_scenarios,
        }
        self.base, self.seconds = timed(simulate, *self.args)
        emit(variant="in-process", seconds=round(self.seconds, 3), **self.common)

    def on(self, client: Any, workers: int) -> None:
        """Run on ``client`` (after an untimed warm-up); one line."""
        plan, book, model, _, seed, chunk = self.args
        simulate_on_cluster(client, plan, book, model, 5_000, seed, chunk)
        result, seconds = timed(simulate_on_cluster, client, *self.args)
        emit(
            variant=f"local-{workers}",
            seconds=round(seconds, 3),
            speedup=round(self.seconds / seconds, 2),
            identical=bool(np.array_equal(result.cost, self.base.cost)),
            **self.common,
        )


class AttainmentCase:
    """One quota attainment instance, in process and as batches."""

    def __init__(self, n_reps: int, n_scenarios: int) -> None:
        mean = np.linspace(50.0, 150.0, n_reps)
        self.case = {"quota": 0.9 * mean, "mean": mean, "cv": 0.3}
        self.case["n_scenarios"] = n_scenarios
        self.common = {
            "job": "quota-attainment",
            "n_reps": n_reps,
            "n_scenarios": n_scenarios,
        }
        _, self.seconds = timed(simulate_attainment, **self.case, seed=0)
        emit(variant="in-process", seconds=round(self.seconds, 3), **self.common)
        self.batches, seconds = timed(simulate_attainment_batches, **self.case, seed=0)
        emit(variant="batches-in-process", seconds=round(seconds, 3), **self.common)

    def on(self, client: Any, workers: int) -> None:
        """Run the batches on ``client`` (after an untimed warm-up); one line."""
        warm = {**self.case, "n_scenarios": 5_000}
        simulate_attainment_batches(**warm, seed=0, client=client)
        result, seconds = timed(
            simulate_attainment_batches, **self.case, seed=0, client=client
        )
        same = result.share_quantiles() == self.batches.share_quantiles()
        same = same and bool(np.array_equal(result.p_attain, self.batches.p_attain))
        emit(
            variant=f"local-{workers}",
            seconds=round(seconds, 3),
            speedup=round(self.seconds / seconds, 2),
            same_as_batches_in_process=same,
            **self.common,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small instances only.")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    with tempfile.TemporaryDirectory() as tmp:
        cases = [
            PayoutCase(Path(tmp), 2_000, 200_000 // scale),
            AttainmentCase(2_000, 100_000 // scale),
        ]
        for workers in (1, 2):
            start = time.perf_counter()
            setting = SchedulerConfig(
                mode="local", n_workers=workers, memory_limit="3GiB"
            )
            with dask_client(setting) as client:
                client.run(__import__, "spmopt.payout.simulate")
                client.run(__import__, "spmopt.quota")
                startup = time.perf_counter() - start
                emit(
                    job="startup", variant=f"local-{workers}", seconds=round(startup, 3)
                )
                for case in cases:
                    case.on(client, workers)


if __name__ == "__main__":
    main()
