"""CLI commands of the analytics job (`spmopt analytics ...`)."""

import typer

app = typer.Typer(no_args_is_help=True)
