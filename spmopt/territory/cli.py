"""CLI commands of the territory job (`spmopt territory ...`)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.clikit import OUT_HELP, SEED_HELP, run_job

app = typer.Typer(no_args_is_help=True)


@app.command()
def solve(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Territory config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Align units to reps: balanced, within capacity, compact."""
    from spmopt.territory.config import TerritoryConfig
    from spmopt.territory.job import run_solve

    run_job("territory-solve", TerritoryConfig, config, out, seed, run_solve)


@app.command()
def pareto(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Territory config YAML (rebalance).", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Sweep the disruption budget: balance and compactness versus disruption."""
    from spmopt.territory.config import TerritoryConfig
    from spmopt.territory.pareto import run_pareto

    run_job("territory-pareto", TerritoryConfig, config, out, seed, run_pareto)
