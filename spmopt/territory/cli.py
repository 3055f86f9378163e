"""CLI commands of the territory job (`spmopt territory ...`)."""

import typer

app = typer.Typer(no_args_is_help=True)
