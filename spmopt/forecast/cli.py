"""CLI commands of the forecast job (`spmopt forecast ...`)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import typer

from spmopt._paths import path_problem
from spmopt.clikit import OUT_HELP, SEED_HELP, run_job
from spmopt.errors import ConfigError
from spmopt.scale.config import SCHEDULER_HELP

app = typer.Typer(no_args_is_help=True)


@app.command()
def train(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Forecast config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    scheduler: str | None = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
) -> None:
    """Train and evaluate the win forecaster; record the run in MLflow."""
    from spmopt.forecast.train import run_train
    from spmopt.scale.dispatch import ScheduledForecastConfig, on_scheduler

    runner = on_scheduler(run_train, scheduler)
    run_job("forecast.train", ScheduledForecastConfig, config, out, seed, runner)


@app.command()
def score(
    config: Path = typer.Argument(
        ...,
        metavar="CONFIG",
        help="Forecast config YAML (column map).",
        readable=False,
    ),
    model: str = typer.Option(
        ..., "--model", help="NAME@ALIAS (e.g. spmopt-forecast-ibm@champion)."
    ),
    input: Path = typer.Option(
        ..., "--input", help="CSV/Parquet of open deals.", readable=False
    ),
    out: Path | None = typer.Option(None, "--out", help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, "--seed", help=SEED_HELP),
    samples: int = typer.Option(
        10_000, "--samples", min=100, help="Simulated pipelines for P10/P50/P90."
    ),
    scheduler: str | None = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
) -> None:
    """Score open deals: win probability, top reasons, pipeline won value."""
    from spmopt.forecast.score import run_score
    from spmopt.scale.dispatch import ScheduledForecastConfig, on_scheduler

    _check_input(input)
    runner = partial(run_score, model=model, input_path=input, n_samples=samples)
    scheduled = on_scheduler(runner, scheduler)
    run_job("forecast.score", ScheduledForecastConfig, config, out, seed, scheduled)


@app.command()
def compare(
    experiment: str = typer.Option("spmopt-forecast", help="MLflow experiment."),
    tracking_uri: str | None = typer.Option(
        None, help="Tracking store (default: MLFLOW_TRACKING_URI or local SQLite)."
    ),
    csv: Path | None = typer.Option(
        None, "--csv", help="Also write the table here.", readable=False
    ),
) -> None:
    """List training runs with their metrics, newest first."""
    from spmopt.forecast.compare import format_runs, list_runs
    from spmopt.runs import RunWriter

    if csv is not None:
        _check_csv(csv)
    table = list_runs(experiment, tracking_uri)
    typer.echo(format_runs(table) if len(table) else "no runs recorded yet")
    if csv is None:
        return
    try:
        RunWriter(csv.parent).write_csv(csv.name, table)
    except OSError as exc:  # e.g. a file where its folder should be
        reason = (exc.strerror or str(exc)).lower()
        raise ConfigError(f"--csv {csv}: cannot write it ({reason})") from None


NOT_WRITABLE = ("folder", "special")
"""Path problems (see :func:`~spmopt._paths.path_problem`) refusing --csv.

A missing file is written; an existing unreadable one is replaced.
"""


def _check_input(path: Path) -> None:
    """Refuse an ``--input`` that cannot be read, naming the option once.

    Raises
    ------
    ConfigError
        ``--input: file not found: <path>`` (or a folder, a device, unreadable).
    """
    problem = path_problem(path)
    if problem is not None:
        raise ConfigError(f"--input: {problem}")


def _check_csv(csv: Path) -> None:
    """Refuse a ``--csv`` path that is a folder or a device, before any work."""
    problem = path_problem(csv)
    if problem is not None and problem.kind in NOT_WRITABLE:
        raise ConfigError(f"--csv {problem}; give a file name")
