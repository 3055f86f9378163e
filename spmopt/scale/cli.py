"""CLI commands of the scale-out layer (``spmopt scale ...``)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.clikit import OUT_HELP, SEED_HELP, run_job
from spmopt.errors import ConfigError
from spmopt.scale.config import SCHEDULER_HELP

app = typer.Typer(no_args_is_help=True)

TIME_LIMIT_HELP = "Time limit of each design, seconds (default: none)."


@app.command()
def price(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Payout simulate config YAML.", readable=False
    ),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Price a plan by Monte-Carlo in seeded batches on Dask."""
    from spmopt.scale.config import parse_scheduler
    from spmopt.scale.jobs import PriceConfig, run_price

    if scheduler is not None:
        parse_scheduler(scheduler)
    run_job(
        "scale-price",
        PriceConfig,
        config,
        out,
        seed,
        lambda cfg, writer, s: run_price(cfg, writer, s, scheduler),
    )


@app.command("sweep-plans")
def sweep_plans(
    config: Path = typer.Argument(
        ...,
        metavar="CONFIG",
        help="Plan sweep YAML (designs: {name: path}).",
        readable=False,
    ),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Price many plan designs in parallel; one failure keeps the others."""
    from spmopt.scale.config import parse_scheduler
    from spmopt.scale.jobs import PlanSweepConfig, run_plan_sweep

    if scheduler is not None:
        parse_scheduler(scheduler)
    run_job(
        "scale-sweep-plans",
        PlanSweepConfig,
        config,
        out,
        seed,
        lambda cfg, writer, s: run_plan_sweep(cfg, writer, s, scheduler),
    )


@app.command("sweep-disruption")
def sweep_disruption(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Territory config YAML.", readable=False
    ),
    budgets: str = typer.Option(
        ..., help="Comma-separated disruption budgets in [0, 1], e.g. 0.05,0.1,0.2."
    ),
    time_limit: float | None = typer.Option(None, help=TIME_LIMIT_HELP),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Solve one territory alignment per disruption budget, in parallel.

    Designs run from the tightest budget to the loosest. When none is
    solved the run folder is kept (each design's error is in designs.csv)
    and the command fails with the loosest design's explanation.
    """
    from spmopt.scale.config import parse_scheduler
    from spmopt.scale.jobs import require_feasible, run_disruption_sweep
    from spmopt.territory import TerritoryConfig

    shares = parse_budgets(budgets)
    if scheduler is not None:
        parse_scheduler(scheduler)
    if time_limit is not None and time_limit <= 0:
        raise ConfigError(f"--time-limit must be > 0 seconds, got {time_limit}")
    target = run_job(
        "scale-sweep-disruption",
        TerritoryConfig,
        config,
        out,
        seed,
        lambda cfg, writer, s: run_disruption_sweep(
            cfg, writer, s, shares, scheduler, time_limit
        ),
    )
    require_feasible(target)


def parse_budgets(text: str) -> list[float]:
    """``"0.05,0.1"`` -> ``[0.05, 0.1]``; each in [0, 1], at least one."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        values = []
    if not values or not all(0.0 <= v <= 1.0 for v in values):
        raise ConfigError(
            f"--budgets must be comma-separated shares in [0, 1], got {text!r}"
        )
    return values
