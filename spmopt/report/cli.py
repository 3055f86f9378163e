"""The `spmopt report RUN_DIR` command."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.report.build import build_report


def report(
    run_dir: Path = typer.Argument(..., help="A run folder."),
    mlflow_links: bool = typer.Option(
        False, help="Show MLflow run ids (the report then differs between runs)."
    ),
) -> None:
    """Write report.html for a run folder (sections for the jobs it holds)."""
    target = build_report(run_dir, include_mlflow=mlflow_links)
    typer.echo(f"wrote {target}")
