"""CLI commands of the payout job (`spmopt payout ...`)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.clikit import OUT_HELP, SEED_HELP, run_job

app = typer.Typer(no_args_is_help=True)


@app.command()
def simulate(
    config: Path = typer.Argument(..., help="Simulation config YAML."),
    out: Path | None = typer.Option(None, help=OUT_HELP),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Price a plan by Monte-Carlo: cost distribution, per-rep payouts, caps."""
    from spmopt.payout.simulate import SimulateConfig, run_simulate

    run_job("payout-simulate", SimulateConfig, config, out, seed, run_simulate)
