"""CLI commands of the quota job (`spmopt quota ...`)."""

import typer

app = typer.Typer(no_args_is_help=True)
