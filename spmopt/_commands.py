"""The command tree of ``spmopt``; :mod:`spmopt.cli` loads it on first use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperOption

from spmopt.analytics.cli import app as analytics_app
from spmopt.clikit import OUT_HELP, SEED_HELP, package_version, setup_logging
from spmopt.forecast.cli import app as forecast_app
from spmopt.payout.cli import app as payout_app
from spmopt.quota.cli import app as quota_app
from spmopt.report.cli import report as report_command
from spmopt.scale.cli import app as scale_app
from spmopt.territory.cli import app as territory_app

_value_type = TyperOption.display_type_rich


def _flag_type(option: TyperOption, ctx: Any) -> str | None:
    """The type shown in help: none for an on/off flag (not ``<bool>``)."""
    if option.is_flag:
        return None
    return _value_type(option, ctx)


TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign,assignment]

app = typer.Typer(
    name="spmopt",
    help="Open Sales Performance Management: territories, forecasts, quotas, payouts.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},  # every command
)
app.add_typer(territory_app, name="territory", help="Territory alignment.")
app.add_typer(forecast_app, name="forecast", help="Deal-win forecasting.")
app.add_typer(quota_app, name="quota", help="Quota setting and capacity.")
app.add_typer(payout_app, name="payout", help="Payout calculation and pricing.")
app.add_typer(analytics_app, name="analytics", help="KPIs and rep scorecards.")
app.add_typer(scale_app, name="scale", help="Scale-out on Dask: batches and sweeps.")
app.command("report")(report_command)


def _show_version(value: bool) -> None:
    """``--version``: print ``spmopt <version>`` and stop."""
    if value:
        typer.echo(f"spmopt {package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    log_level: str = typer.Option("INFO", help="DEBUG, INFO, WARNING or ERROR."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only warnings."),
    version: bool = typer.Option(
        False,
        "--version",
        callback=_show_version,
        is_eager=True,
        help="Print the spmopt version and exit.",
    ),
) -> None:
    setup_logging(log_level, quiet)


@app.command()
def version() -> None:
    """Print the spmopt version (as ``--version`` does)."""
    typer.echo(f"spmopt {package_version()}")


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
