"""The `spmopt report RUN_DIR` command."""

from pathlib import Path

import typer

from spmopt.errors import ConfigError


def report(run_dir: Path = typer.Argument(..., help="A run folder.")) -> None:
    """Write report.html for a run folder."""
    raise ConfigError(f"report for {run_dir}: not available yet")
