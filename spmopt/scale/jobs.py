"""Runners of the ``spmopt scale`` commands: validate, run on Dask, write.

- :func:`run_price`: one plan priced in seeded batches
  (``summary.json``, ``rep_payouts.csv``, ``cost_distribution.csv``);
- :func:`run_plan_sweep`: many plan designs priced as sweep tasks
  (``designs.csv``, ``summary.json``);
- :func:`run_disruption_sweep`: one territory solve per disruption budget
  (``designs.csv``, ``summary.json``).

Every input is validated before a cluster starts or anything is written.
Timings (``*_seconds``) and the worker count go to the headline only, so
the files are identical for the same inputs and seed on any cluster.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from spmopt.config import Config, TablePath, check_files, load_config
from spmopt.errors import ConfigError, InfeasibleError, SpmoptError
from spmopt.payout import SimulateConfig
from spmopt.payout.simulate import COST_MONEY, REP_MONEY
from spmopt.runs import RunWriter
from spmopt.scale.cluster import dask_client, worker_count
from spmopt.scale.config import SchedulerConfig, resolve_scheduler
from spmopt.scale.merge import Summary
from spmopt.scale.sweep import outcomes_frame
from spmopt.territory import TerritoryConfig

MIB = 2**20


class PriceConfig(SimulateConfig):
    """A payout simulation config plus how to spread it over Dask.

    Parameters
    ----------
    scheduler : SchedulerConfig, optional
        Where batches run (the ``--scheduler`` option and
        ``SPMOPT_DASK_SCHEDULER`` apply when absent).
    batch_size : int, optional
        Scenarios per batch; default the simulator's chunk size, which
        reproduces ``spmopt payout simulate`` for the same seed.
    exact_budget_mib : float
        Exact percentiles while every scenario's cost fits this many MiB.
    """

    scheduler: SchedulerConfig | None = None
    batch_size: int | None = Field(default=None, ge=1)
    exact_budget_mib: float = Field(default=64.0, ge=0)


class PlanSweepConfig(Config):
    """Plan designs to price side by side.

    Parameters
    ----------
    designs : dict of str to path
        Name of each design and its ``payout simulate`` config YAML.
    time_limit_seconds : float, optional
        Give up on a design after this long.
    scheduler : SchedulerConfig, optional
    """

    designs: dict[str, TablePath] = Field(min_length=1)
    time_limit_seconds: float | None = Field(default=None, gt=0)
    scheduler: SchedulerConfig | None = None


def run_price(
    cfg: PriceConfig, out: RunWriter, seed: int, scheduler: str | None = None
) -> dict[str, Any]:
    """Price ``cfg``'s plan in seeded batches and write the contract files.

    ``scheduler`` is the ``--scheduler`` value, if given.
    """
    from spmopt.payout.simulate import load_inputs
    from spmopt.scale.pricing import price_plan

    plan, book = load_inputs(cfg)
    size = cfg.n_scenarios * book.n_reps * plan.n_periods * len(plan.measures)
    setting = resolve_scheduler(cfg.scheduler, scheduler, size=size)
    budget = int(cfg.exact_budget_mib * MIB)
    with _tracking(cfg, seed, setting) as extra, dask_client(setting) as client:
        n_workers = worker_count(client)
        pricing = price_plan(cfg, seed, client, cfg.batch_size, budget)
        summary = pricing.summary()
        headline = _price_headline(summary, n_workers, pricing.result.wall_seconds)
        extra.update(headline)
    summary.update(plan=pricing.plan.name, currency=pricing.plan.currency, seed=seed)
    summary.update({k: v for k, v in extra.items() if k.startswith("mlflow_")})
    out.write_json("summary.json", summary)
    decimals = pricing.plan.rounding.decimals
    out.write_csv("rep_payouts.csv", pricing.rep_payouts(), REP_MONEY, decimals)
    cost = pricing.result["cost"].summary
    distribution = cost_distribution(cost, cfg.histogram_bins)
    out.write_csv("cost_distribution.csv", distribution, COST_MONEY, decimals)
    return headline


@contextmanager
def _tracking(
    cfg: PriceConfig, seed: int, setting: SchedulerConfig
) -> Iterator[dict[str, Any]]:
    """Record the pricing in MLflow when enabled; yields a dict to fill.

    Whatever the caller puts in the dict is logged as metrics at the end;
    ``mlflow_run_id`` is added when a run is open.
    """
    extra: dict[str, Any] = {}
    if not cfg.mlflow.enabled:
        yield extra
        return
    from spmopt.tracking import log_metrics, tracked_run

    params = {"n_scenarios": cfg.n_scenarios, "seed": seed, "scheduler": setting.mode}
    with tracked_run(
        cfg.mlflow.experiment, "scale-price", cfg.mlflow.tracking_uri, params
    ) as run:
        yield extra
        log_metrics(extra)
        extra["mlflow_run_id"] = run.info.run_id


def _price_headline(
    summary: dict[str, Any], n_workers: int, seconds: float
) -> dict[str, Any]:
    cost = summary["cost"]
    return {
        "cost_mean": cost["mean"],
        "cost_p10": cost["p10"],
        "cost_p50": cost["p50"],
        "cost_p90": cost["p90"],
        "cost_at_mean_attainment": summary["cost_at_mean_attainment"],
        "quantiles_exact": summary["quantiles_exact"],
        "n_batches": summary["n_batches"],
        "n_workers": n_workers,
        "simulate_seconds": round(seconds, 3),
    }


def cost_distribution(cost: Summary, bins: int) -> pd.DataFrame:
    """Histogram of total cost: cost_low, cost_high, count.

    From every scenario when they were kept (``bins`` equal bins between
    the smallest and largest cost); otherwise the merged histogram's bins
    grouped into about ``bins`` rows, plus under- and overflow rows when
    they hold scenarios.
    """
    if cost.samples is not None:
        counts, edges = np.histogram(cost.samples[:, 0], bins=bins)
    else:
        counts, edges = _coarsen(cost, bins)
    return pd.DataFrame(
        {
            "cost_low": np.round(edges[:-1], 2),
            "cost_high": np.round(edges[1:], 2),
            "count": counts,
        }
    )


def _coarsen(cost: Summary, bins: int) -> tuple[np.ndarray, np.ndarray]:
    hist = cost.binned()
    group = max(1, hist.n_bins // bins)
    regular = hist.counts[0, 1:-1]
    usable = regular[: len(regular) // group * group].reshape(-1, group).sum(axis=1)
    rest = regular[len(usable) * group :].sum()
    edges = hist.low[0] + hist.width[0] * group * np.arange(len(usable) + 1)
    counts = usable.copy()
    counts[-1] += rest
    edges[-1] = hist.high[0]
    under, over = hist.counts[0, 0], hist.counts[0, -1]
    if under:
        counts, edges = np.r_[under, counts], np.r_[hist.minimum[0], edges]
    if over:
        counts, edges = np.r_[counts, over], np.r_[edges, hist.maximum[0]]
    return counts, edges


def load_plan_designs(cfg: PlanSweepConfig) -> dict[str, SimulateConfig]:
    """Read and validate every design's simulate config (nothing run yet)."""
    from spmopt.payout.simulate import load_inputs

    designs = {}
    for name, path in cfg.designs.items():
        try:
            design = load_config(SimulateConfig, Path(path))
            check_files(design, source=str(path))
            load_inputs(design)
        except SpmoptError as exc:
            raise type(exc)(f"design '{name}' (designs.{name}): {exc}") from None
        designs[name] = design
    return designs


def run_plan_sweep(
    cfg: PlanSweepConfig, out: RunWriter, seed: int, scheduler: str | None = None
) -> dict[str, Any]:
    """Price every design of ``cfg`` as a sweep task; write ``designs.csv``."""
    from spmopt.scale.pricing import price_plans

    designs = load_plan_designs(cfg)
    setting = resolve_scheduler(cfg.scheduler, scheduler)
    with dask_client(setting) as client:
        sweep = price_plans(designs, seed, client, cfg.time_limit_seconds)
    decimals = max(d.resolved_plan().rounding.decimals for d in designs.values())
    frame = _rounded(outcomes_frame(sweep), SWEEP_MONEY, decimals)
    return _write_sweep(out, frame, sweep, SWEEP_MONEY, decimals)


def run_disruption_sweep(
    cfg: TerritoryConfig,
    out: RunWriter,
    seed: int,
    budgets: list[float],
    scheduler: str | None = None,
    time_limit_seconds: float | None = None,
) -> dict[str, Any]:
    """Solve ``cfg`` once per disruption budget; write ``designs.csv``.

    Raises
    ------
    ConfigError
        Before any solve, for a design-mode config or one without a current
        alignment (nothing to disrupt).
    """
    from spmopt.scale.alignments import disruption_designs, solve_alignments
    from spmopt.territory import build_problem

    check_rebalance(cfg)
    build_problem(cfg)
    designs = disruption_designs(cfg, sorted(budgets))
    with dask_client(resolve_scheduler(None, scheduler)) as client:
        sweep = solve_alignments(designs, seed, client, time_limit_seconds)
    return _write_sweep(out, _rounded(outcomes_frame(sweep), [], 6), sweep)


def check_rebalance(cfg: TerritoryConfig) -> None:
    """Refuse a config that a disruption sweep cannot vary.

    Raises
    ------
    ConfigError
        For ``mode: design`` (territories drawn from scratch have no
        current owner to move away from) or a rebalance without ``current``.
    """
    if cfg.mode != "rebalance":
        raise ConfigError(
            f"sweep-disruption needs mode 'rebalance' (a current alignment to "
            f"disrupt), got mode {cfg.mode!r}; use 'spmopt territory solve' for "
            "a design run"
        )
    if cfg.current is None:
        raise ConfigError(
            "sweep-disruption needs 'current' (a table of unit_id, rep_id, or "
            "'nearest'): the disruption budget limits moves away from it"
        )


def require_feasible(out: Path) -> None:
    """Raise when no design of the sweep written to ``out`` was solved.

    The run folder stays: ``designs.csv`` holds every design's error.

    Raises
    ------
    InfeasibleError
        Naming the loosest (last) design's error and the folder.
    """
    frame = pd.read_csv(out / "designs.csv", keep_default_na=False)
    if (frame["status"] == "ok").any():
        return
    last = frame.iloc[-1]
    raise InfeasibleError(
        f"no design of the sweep was solved; the loosest, {last['design']}, "
        f"failed with: {last['error']} (every design's error is in "
        f"{out / 'designs.csv'})"
    )


SWEEP_MONEY = [
    "cost_mean",
    *(f"cost_{k}" for k in ("p5", "p10", "p50", "p90", "p95", "p99")),
    "cost_at_mean_attainment",
]
"""Columns of a plan sweep's ``designs.csv`` in the plans' currency."""


def _rounded(frame: pd.DataFrame, money: list[str], decimals: int) -> pd.DataFrame:
    """Money columns to ``decimals`` places, other figures to 6 places.

    A failed design has no figures; its cells stay blank.
    """
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(decimals if column in money else 6)
    return out


def _write_sweep(
    out: RunWriter,
    frame: pd.DataFrame,
    sweep: Any,
    money: list[str] | None = None,
    decimals: int = 2,
) -> dict[str, Any]:
    money = [c for c in money or [] if c in frame.columns]  # none if all failed
    out.write_csv("designs.csv", frame, money, decimals)
    counts = frame["status"].value_counts().to_dict()
    summary = {
        "n_designs": len(frame),
        "n_ok": int(counts.get("ok", 0)),
        "n_error": int(counts.get("error", 0)),
        "n_timeout": int(counts.get("timeout", 0)),
    }
    out.write_json("summary.json", summary)
    return {
        **summary,
        "n_workers": sweep.n_workers,
        "sweep_seconds": sweep.wall_seconds,
    }
