"""CLI commands of the forecast job (`spmopt forecast ...`)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.clikit import OUT_HELP, SEED_HELP, run_job

app = typer.Typer(no_args_is_help=True)


@app.command()
def train(
    config: Path = typer.Argument(..., help="Forecast config YAML."),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
) -> None:
    """Train and evaluate the win forecaster; record the run in MLflow."""
    from spmopt.forecast.config import ForecastConfig
    from spmopt.forecast.train import run_train

    run_job("forecast.train", ForecastConfig, config, out, seed, run_train)
