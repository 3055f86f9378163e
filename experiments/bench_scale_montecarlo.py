"""Benchmark: Monte-Carlo plan pricing in process vs on 1 and 2 Dask workers.

Prints JSON lines. The baseline, measured in the same run, is the payout
simulator's own in-process ``simulate`` on the same plan, reps and seed:

1. ``baseline``: ``spmopt.payout.simulate`` (chunks priced in a loop);
2. ``batched-in-process``: ``spmopt.scale.pricing.price_plan`` without a
   cluster (same chunks as seeded batches, merged summaries);
3. ``local-1`` and ``local-2``: the same on a ``LocalCluster`` of one and
   two worker processes (one thread each, 127.0.0.1). Cluster start-up is
   reported separately from the pricing time.

Each line gives scenarios per second and whether the cost percentiles
equal the baseline's exactly. The plan is configs/payout/plan_accelerator
.yaml; reps have quotas drawn between 0.6 and 1.4 million.

Run: ``.venv/bin/python experiments/bench_scale_montecarlo.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt.payout import SimulateConfig, simulate
from spmopt.payout.simulate import cost_summary, load_inputs
from spmopt.scale import SchedulerConfig, dask_client
from spmopt.scale.pricing import price_plan

PLAN = (
    Path(__file__).resolve().parents[1] / "configs" / "payout" / "plan_accelerator.yaml"
)
QUANTILES = ("p5", "p10", "p50", "p90", "p95", "p99")


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


def baseline(cfg: SimulateConfig, seed: int) -> tuple[dict, float]:
    """The simulator's summary and its wall seconds."""
    plan, book = load_inputs(cfg)
    start = time.perf_counter()
    result = simulate(
        plan, book, cfg.attainment, cfg.n_scenarios, seed, cfg.chunk_elements
    )
    return cost_summary(result), time.perf_counter() - start


def same_percentiles(summary: dict, reference: dict) -> bool:
    """True when every cost percentile equals the reference exactly."""
    return all(summary["cost"][k] == reference["cost"][k] for k in QUANTILES)


def run(n_reps: int, n_scenarios: int, seed: int = 0) -> None:
    """Measure every variant on one instance and print a line each."""
    with tempfile.TemporaryDirectory() as tmp:
        cfg = make_config(Path(tmp), n_reps, n_scenarios)
        reference, seconds = baseline(cfg, seed)
        common = {"n_reps": n_reps, "n_scenarios": n_scenarios}
        emit(
            variant="baseline",
            seconds=round(seconds, 3),
            **common,
            scenarios_per_second=round(n_scenarios / seconds),
        )
        start = time.perf_counter()
        pricing = price_plan(cfg, seed)
        seconds = time.perf_counter() - start
        emit(
            variant="batched-in-process",
            seconds=round(seconds, 3),
            **common,
            scenarios_per_second=round(n_scenarios / seconds),
            n_batches=pricing.result.n_batches,
            same_percentiles=same_percentiles(pricing.summary(), reference),
        )
        for workers in (1, 2):
            measure_cluster(cfg, seed, workers, reference, common)


def measure_cluster(
    cfg: SimulateConfig, seed: int, workers: int, reference: dict, common: dict
) -> None:
    """Price on a local cluster of ``workers`` processes; print one line."""
    start = time.perf_counter()
    setting = SchedulerConfig(mode="local", n_workers=workers, memory_limit="4GiB")
    with dask_client(setting) as client:
        client.submit(sum, [1]).result()
        startup = time.perf_counter() - start
        start = time.perf_counter()
        pricing = price_plan(cfg, seed, client)
        seconds = time.perf_counter() - start
    emit(
        variant=f"local-{workers}",
        seconds=round(seconds, 3),
        **common,
        startup_seconds=round(startup, 3),
        scenarios_per_second=round(cfg.n_scenarios / seconds),
        same_percentiles=same_percentiles(pricing.summary(), reference),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="Small instance only.")
    args = parser.parse_args()
    run(100, 5_000)
    if not args.quick:
        run(500, 20_000)


if __name__ == "__main__":
    main()
