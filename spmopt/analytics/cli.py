"""CLI commands of the analytics job (`spmopt analytics ...`)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.analytics.config import AnalyticsConfig
from spmopt.analytics.job import run_kpis
from spmopt.clikit import OUT_HELP, SEED_HELP, run_job

app = typer.Typer(no_args_is_help=True)


@app.command()
def kpis(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Analytics config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int | None = typer.Option(None, help=SEED_HELP),
) -> None:
    """KPIs per rep, team and period, and rep scorecards with flags."""
    run_job("analytics-kpis", AnalyticsConfig, config, out, seed, run_kpis)
