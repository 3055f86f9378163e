"""Benchmark: scenario sweeps in process vs on 1 and 2 Dask workers.

Prints JSON lines. The baseline, measured in the same run, is the same
tasks run one after the other in this process (``run_sweep`` without a
client). Two sweeps:

1. ``plans``: 8 plan designs (the accelerator plan of
   configs/payout/plan_accelerator.yaml under attainment spreads sigma =
   0.15 ... 0.50), 200 reps x 100,000 scenarios each (about 0.5-1 s of
   work per design here), priced by the payout simulator;
2. ``territory``: the south-east counties example cut to the Carolinas
   and four reps, solved under 6 disruption budgets (CP-SAT, one solver
   worker each).

Every task has a 120 s time limit, so each runs in a child process of
its worker (or of this process) that is killed if it overruns: the
process start is part of the measured time. Each line: sweep, variant,
tasks, ok, seconds, tasks per second and the speed-up over the in-process
baseline; cluster start-up is reported apart.

Run: ``.venv/bin/python experiments/bench_scale_sweep.py``.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spmopt.config import load_config
from spmopt.payout import SimulateConfig
from spmopt.scale import SchedulerConfig, SweepResult, dask_client
from spmopt.scale.alignments import disruption_designs, solve_alignments
from spmopt.scale.pricing import price_plans
from spmopt.territory import TerritoryConfig

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def emit(**record: object) -> None:
    """Print one JSON line."""
    print(json.dumps(record, sort_keys=True), flush=True)


def plan_designs(folder: Path) -> dict[str, SimulateConfig]:
    """Eight designs: one plan, 200 reps, attainment spread 0.15-0.50."""
    rng = np.random.default_rng(0)
    quotas = pd.DataFrame(
        {
            "rep_id": [f"R{i:04d}" for i in range(200)],
            "quota": np.round(rng.uniform(0.6e6, 1.4e6, 200), -3),
        }
    )
    quotas.to_csv(folder / "quotas.csv", index=False)
    designs = {}
    for sigma in np.linspace(0.15, 0.5, 8):
        data = {
            "plan": str(CONFIGS / "payout" / "plan_accelerator.yaml"),
            "quotas": str(folder / "quotas.csv"),
            "n_scenarios": 100_000,
            "attainment": {"mean": 0.95, "sigma": float(sigma)},
            "mlflow": {"enabled": False},
        }
        designs[f"sigma={sigma:.2f}"] = SimulateConfig.model_validate(data)
    return designs


def territory_designs() -> dict[str, TerritoryConfig]:
    """Four disruption budgets on the Carolinas cut of the example."""
    cfg = load_config(
        TerritoryConfig, CONFIGS / "territory" / "counties_southeast.yaml"
    )
    assert cfg.reps is not None
    units = cfg.units.model_copy(update={"keep": {"state": ["NC", "SC"]}})
    rows = [r for r in cfg.reps.rows or [] if r.rep_id in ("CLT", "RDU", "SAV", "ATL")]
    reps = cfg.reps.model_copy(update={"rows": rows})
    small = cfg.model_copy(update={"units": units, "reps": reps})
    return disruption_designs(small, [0.3, 0.4, 0.5, 0.6, 0.8, 1.0])


LIMIT = 120.0
BASELINE: dict[str, float] = {}


def report(sweep: str, variant: str, result: SweepResult, **extra: Any) -> None:
    """One JSON line for a finished sweep."""
    n = len(result.outcomes)
    BASELINE.setdefault(sweep, result.wall_seconds)
    emit(
        speedup=round(BASELINE[sweep] / result.wall_seconds, 2),
        sweep=sweep,
        variant=variant,
        tasks=n,
        ok=len(result.values),
        seconds=round(result.wall_seconds, 3),
        tasks_per_second=round(n / result.wall_seconds, 3),
        first_error=next((o.error for o in result.failures), ""),
        **extra,
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        plans = plan_designs(Path(tmp))
        regions = territory_designs()
        report("plans", "in-process", price_plans(plans, 0, None, LIMIT))
        report("territory", "in-process", solve_alignments(regions, 0, None, LIMIT))
        for workers in (1, 2):
            start = time.perf_counter()
            setting = SchedulerConfig(mode="local", n_workers=workers)
            with dask_client(setting) as client:
                client.submit(sum, [1]).result()
                startup = round(time.perf_counter() - start, 3)
                variant = f"local-{workers}"
                sweep = price_plans(plans, 0, client, LIMIT)
                report("plans", variant, sweep, startup_seconds=startup)
                sweep = solve_alignments(regions, 0, client, LIMIT)
                report("territory", variant, sweep, startup_seconds=startup)


if __name__ == "__main__":
    main()
