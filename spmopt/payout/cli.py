"""CLI commands of the payout job (`spmopt payout ...`)."""

from __future__ import annotations

from pathlib import Path

import typer

from spmopt.clikit import OUT_HELP, SEED_HELP, run_job
from spmopt.errors import ConfigError
from spmopt.scale.config import SCHEDULER_HELP

app = typer.Typer(no_args_is_help=True)


@app.command()
def simulate(
    config: Path = typer.Argument(
        ..., metavar="CONFIG", help="Simulation config YAML.", readable=False
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
    scheduler: str | None = typer.Option(None, help=SCHEDULER_HELP),
) -> None:
    """Price a plan by Monte-Carlo: cost distribution, per-rep payouts, caps."""
    from spmopt.payout.simulate import run_simulate
    from spmopt.scale.dispatch import ScheduledSimulateConfig, on_scheduler

    runner = on_scheduler(run_simulate, scheduler)
    run_job("payout-simulate", ScheduledSimulateConfig, config, out, seed, runner)


PLAN_HELP = "Plan YAML."
QUOTAS_HELP = "Reps table (CSV/Parquet): rep_id, quota columns, optional extras."
CREDITS_HELP = "Credits table (CSV/Parquet): credit_id, rep_id, date, amount, ..."


@app.command()
def calc(
    plan: Path = typer.Option(..., help=PLAN_HELP, readable=False),
    credits: Path = typer.Option(..., help=CREDITS_HELP, readable=False),
    quotas: Path = typer.Option(..., help=QUOTAS_HELP, readable=False),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
) -> None:
    """Exact payouts per rep and period, with one statement per rep."""
    from spmopt.clikit import echo_headline
    from spmopt.payout.calc import compute, load_calc_inputs, write_calc
    from spmopt.runs import RunDir, default_out

    inputs = load_calc_inputs(plan, quotas, credits)
    target = out or default_out("payout-calc")
    with RunDir(target, "payout-calc", config=inputs.plan) as run:
        for path in (plan, quotas, credits):
            run.add_input(path)
        summary = write_calc(compute(inputs), run.writer)
        run.headline.update(summary)
    echo_headline(target, summary)


@app.command()
def explain(
    rep: str = typer.Argument(
        ..., metavar="REP", help="Rep id whose statement to print."
    ),
    run: Path | None = typer.Option(
        None,
        help="A folder written by 'payout calc': print its statement.",
        readable=False,
    ),
    plan: Path | None = typer.Option(None, help=PLAN_HELP, readable=False),
    credits: Path | None = typer.Option(None, help=CREDITS_HELP, readable=False),
    quotas: Path | None = typer.Option(None, help=QUOTAS_HELP, readable=False),
) -> None:
    """Print a rep's statement: every credit, tier, rate, gate, cap and draw.

    Give either --run (a calc folder) or --plan, --credits and --quotas.
    """
    from spmopt.payout.calc import explain as explain_rep
    from spmopt.payout.calc import load_calc_inputs, statement_from_run

    given = {"--plan": plan, "--credits": credits, "--quotas": quotas}
    if run is not None:
        both = ", ".join(f"{flag} {value}" for flag, value in given.items() if value)
        if both:
            raise ConfigError(
                f"give either --run DIR or --plan, --credits and --quotas, not "
                f"both (got --run {run} and {both})"
            )
        typer.echo(statement_from_run(run, rep), nl=False)
        return
    if plan is None or credits is None or quotas is None:
        missing = ", ".join(flag for flag, value in given.items() if value is None)
        raise ConfigError(
            f"give --run DIR, or all of --plan, --credits and --quotas (missing: "
            f"{missing})"
        )
    typer.echo(explain_rep(load_calc_inputs(plan, quotas, credits), rep), nl=False)


@app.command()
def whatif(
    change: list[str] = typer.Option(
        ...,
        help="KIND:CREDIT_ID=VALUE, KIND one of recredit (rep id), split "
        "(REP:SHARE,...), date (YYYY-MM-DD), amount. Repeat for several.",
    ),
    plan: Path = typer.Option(..., help=PLAN_HELP, readable=False),
    credits: Path = typer.Option(..., help=CREDITS_HELP, readable=False),
    quotas: Path = typer.Option(..., help=QUOTAS_HELP, readable=False),
    out: Path | None = typer.Option(
        None, help="Also write the differences here.", readable=False
    ),
) -> None:
    """Dispute what-if: rerun with proposed changes, show differences per line."""
    from spmopt.payout.calc import (
        WHATIF_LINE_MONEY,
        WHATIF_MONEY,
        load_calc_inputs,
        whatif_text,
    )
    from spmopt.payout.calc import whatif as run_whatif
    from spmopt.payout.statements import EXACT_PLACES
    from spmopt.runs import RunDir

    inputs = load_calc_inputs(plan, quotas, credits)
    decimals = inputs.plan.rounding.decimals
    if out is None:
        lines, payouts = run_whatif(inputs, change)
    else:  # --out is checked (as for every command) before any work
        with RunDir(out, "payout-whatif", config={"changes": change}) as run:
            for path in (plan, quotas, credits):
                run.add_input(path)
            lines, payouts = run_whatif(inputs, change)
            run.write_csv(
                "whatif_lines.csv",
                lines,
                WHATIF_LINE_MONEY,
                decimals,
                decimals + EXACT_PLACES,
            )
            run.write_csv("whatif_payouts.csv", payouts, WHATIF_MONEY, decimals)
    typer.echo(whatif_text(lines, payouts, decimals))


@app.command()
def compare(
    plans: list[Path] = typer.Argument(
        ..., metavar="PLAN", help="Two or more plan YAML files.", readable=False
    ),
    config: Path = typer.Option(
        ...,
        help="Simulation config (reps, attainment model); its plan is replaced.",
        readable=False,
    ),
    out: Path | None = typer.Option(None, help=OUT_HELP, readable=False),
    seed: int = typer.Option(0, help=SEED_HELP),
) -> None:
    """Price several plan designs side by side on the same simulated years."""
    from functools import partial

    from spmopt.config import load_config
    from spmopt.payout.compare import check_designs, run_compare
    from spmopt.payout.plan import load_plan
    from spmopt.payout.simulate import SimulateConfig

    designs = [load_plan(path) for path in plans]
    check_designs(load_config(SimulateConfig, config), designs)
    if len(plans) < 2:
        raise ConfigError(f"compare needs two or more plan files, got {len(plans)}")
    runner = partial(run_compare, plans=designs)
    run_job("payout-compare", SimulateConfig, config, out, seed, runner)
