"""CLI commands of the quota job (`spmopt quota ...`)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.clikit import OUT_HELP, SEED_HELP, run_job
from spmopt.quota.config import CapacityConfig
from spmopt.scale.config import SCHEDULER_HELP

app = typer.Typer(no_args_is_help=True)


@app.command("set")
def set_quotas(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Quota config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
) -> None:
    """Split the company target into rep quotas and check attainability."""
    from spmopt.quota.job import run_set
    from spmopt.scale.dispatch import ScheduledQuotaConfig, on_scheduler

    runner = on_scheduler(run_set, scheduler)
    run_job("quota-set", ScheduledQuotaConfig, config, out, seed, runner)


@app.command("capacity")
def capacity(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Capacity config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Headcount plan by month for a target, or the bookings a plan supports."""
    from spmopt.quota.capacity_job import run_capacity

    run_job("quota-capacity", CapacityConfig, config, out, seed, run_capacity)


@app.command("potential")
def potential(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Potential model config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
) -> None:
    """Forecast next-period bookings (P10/P50/P90) per account or rep."""
    from spmopt.quota.potential_job import run_potential
    from spmopt.scale.dispatch import ScheduledPotentialConfig, on_scheduler

    runner = on_scheduler(run_potential, scheduler)
    run_job("quota-potential", ScheduledPotentialConfig, config, out, seed, runner)
