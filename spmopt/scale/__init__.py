"""Scale-out on Dask: one execution setting, seeded batches, exact merges.

The same code runs in process, on a local cluster that spmopt starts and
stops on 127.0.0.1, or on an existing Dask scheduler:

>>> from spmopt.scale import SchedulerConfig, dask_client, run_monte_carlo
>>> with dask_client(SchedulerConfig(mode="local", n_workers=2)) as client:
...     result = run_monte_carlo(simulate, 100_000, seed=0, client=client)
...     # doctest: +SKIP

The LightGBM (:mod:`spmopt.scale.lgbm`) and plan-pricing
(:mod:`spmopt.scale.pricing`) names load on first use, so importing this
package stays light and the job packages may import it freely.
"""

from importlib import import_module
from typing import Any

from spmopt.scale.batches import Batch, batch_seed_sequence, plan_batches
from spmopt.scale.cluster import dask_client, release, worker_count
from spmopt.scale.config import (
    SCHEDULER_ENV,
    SCHEDULER_HELP,
    SchedulerConfig,
    address_problem,
    parse_scheduler,
    resolve_scheduler,
)
from spmopt.scale.merge import Histogram, Moments, Summary, padded_range
from spmopt.scale.montecarlo import MonteCarloResult, OutputStats, run_monte_carlo
from spmopt.scale.sweep import SweepResult, SweepTask, TaskOutcome, run_sweep

_LAZY = {
    "DaskQuantileModel": "spmopt.scale.lgbm",
    "DaskWinModel": "spmopt.scale.lgbm",
    "distinct_values_frame": "spmopt.scale.lgbm",
    "encode_partitions": "spmopt.scale.lgbm",
    "score_partitions": "spmopt.scale.lgbm",
    "PlanPricing": "spmopt.scale.pricing",
    "PlanScenarios": "spmopt.scale.pricing",
    "price_plan": "spmopt.scale.pricing",
    "price_plans": "spmopt.scale.pricing",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'spmopt.scale' has no attribute {name!r}")


__all__ = [
    "SCHEDULER_ENV",
    "SCHEDULER_HELP",
    "Batch",
    "DaskQuantileModel",
    "DaskWinModel",
    "Histogram",
    "Moments",
    "MonteCarloResult",
    "OutputStats",
    "PlanPricing",
    "PlanScenarios",
    "SchedulerConfig",
    "Summary",
    "SweepResult",
    "SweepTask",
    "TaskOutcome",
    "address_problem",
    "batch_seed_sequence",
    "dask_client",
    "distinct_values_frame",
    "encode_partitions",
    "padded_range",
    "parse_scheduler",
    "plan_batches",
    "price_plan",
    "price_plans",
    "release",
    "resolve_scheduler",
    "run_monte_carlo",
    "run_sweep",
    "score_partitions",
    "worker_count",
]
