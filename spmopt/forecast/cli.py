"""CLI commands of the forecast job (`spmopt forecast ...`)."""

import typer

app = typer.Typer(no_args_is_help=True)
