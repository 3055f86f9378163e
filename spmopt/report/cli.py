"""The `spmopt report RUN_DIR` command."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.errors import DataError
from spmopt.report.build import SECTION_KEYS, build_report


def report(
    run_dir: Path = typer.Argument(
        ..., metavar="RUN_DIR", help="A run folder.", readable=False
    ),
    mlflow_links: bool = typer.Option(
        False, help="Show MLflow run ids (the report then differs between runs)."
    ),
    section: list[str] = typer.Option(
        [],
        "--section",
        metavar="NAME",
        help="A section you expect (repeatable); when the run has no files for "
        f"it the report says what it needs. Names: {', '.join(SECTION_KEYS)}.",
    ),
) -> None:
    """Write report.html for a run folder (sections for the jobs it holds)."""
    if run_dir.is_dir() and not any(run_dir.rglob("manifest.json")):
        raise DataError(
            f"{run_dir} holds no spmopt run (no manifest.json in it or below); "
            "give a folder written by an spmopt command"
        )
    target = build_report(run_dir, include_mlflow=mlflow_links, sections=section)
    typer.echo(f"wrote {target}")
