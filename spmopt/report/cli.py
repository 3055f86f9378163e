"""The `spmopt report RUN_DIR` command."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.report.build import build_report


def report(run_dir: Path = typer.Argument(..., help="A run folder.")) -> None:
    """Write report.html for a run folder (sections for the jobs it holds)."""
    target = build_report(run_dir)
    typer.echo(f"wrote {target}")
