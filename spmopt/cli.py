"""The ``spmopt`` command.

User errors (bad config, bad table, infeasible model) print one message
and exit with status 2; no traceback is shown for them.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from spmopt import __version__
from spmopt.analytics.cli import app as analytics_app
from spmopt.clikit import OUT_HELP, SEED_HELP, setup_logging
from spmopt.errors import SpmoptError
from spmopt.forecast.cli import app as forecast_app
from spmopt.payout.cli import app as payout_app
from spmopt.quota.cli import app as quota_app
from spmopt.report.cli import report as report_command
from spmopt.runs import interrupts, note_interrupt
from spmopt.scale.cli import app as scale_app
from spmopt.territory.cli import app as territory_app

app = typer.Typer(
    name="spmopt",
    help="Open Sales Performance Management: territories, forecasts, quotas, payouts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(territory_app, name="territory", help="Territory alignment.")
app.add_typer(forecast_app, name="forecast", help="Deal-win forecasting.")
app.add_typer(quota_app, name="quota", help="Quota setting and capacity.")
app.add_typer(payout_app, name="payout", help="Payout calculation and pricing.")
app.add_typer(analytics_app, name="analytics", help="KPIs and rep scorecards.")
app.add_typer(scale_app, name="scale", help="Scale-out on Dask: batches and sweeps.")
app.command("report")(report_command)


@app.callback()
def _root(
    log_level: str = typer.Option("INFO", help="DEBUG, INFO, WARNING or ERROR."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings."),
) -> None:
    setup_logging(log_level, quiet)


@app.command()
def version() -> None:
    """Print the spmopt version."""
    typer.echo(__version__)


@app.command()
def demo(
    out: Path = typer.Option(Path("runs/demo"), help=OUT_HELP),
    seed: int = typer.Option(0, help=SEED_HELP),
    config: Path | None = typer.Option(
        None, help="Demo config YAML (default: the bundled demo settings)."
    ),
) -> None:
    """Run the whole chain on bundled real data and write one run folder."""
    from spmopt.demo import run_demo

    run_demo(out=out, seed=seed, config_path=config)


def _terminate(signum: int, frame: object) -> None:
    """Turn SIGTERM into an exit that unwinds, so partial output is removed."""
    typer.echo("error: terminated (SIGTERM); nothing was published", err=True)
    raise SystemExit(128 + signum)


def _interrupt(signum: int, frame: object) -> None:
    """Count Ctrl-C (see :func:`spmopt.runs.note_interrupt`), then interrupt."""
    note_interrupt()
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    previous = _install({signal.SIGTERM: _terminate, signal.SIGINT: _interrupt})
    before = interrupts()
    try:
        code = _run(argv)
    finally:
        _install(previous)
    if interrupts() > before or code == 130:
        typer.echo("error: interrupted (Ctrl-C); unfinished output removed", err=True)
        return 130
    return code


def _run(argv: list[str] | None) -> int:
    try:
        app(args=argv, prog_name="spmopt")
    except SpmoptError as exc:
        typer.echo(f"error: {exc}", err=True)
        return 2
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def _install(handlers: dict[int, Any]) -> dict[int, Any]:
    """Set signal handlers (main thread only); return the ones replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, h) for signum, h in handlers.items()}


def _console() -> None:
    sys.exit(main())


if __name__ == "__main__":
    _console()
