"""CLI commands of the payout job (`spmopt payout ...`)."""

import typer

app = typer.Typer(no_args_is_help=True)
