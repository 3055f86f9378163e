"""Monte-Carlo plan pricing in seeded Dask batches.

:func:`price_plan` prices the plan of a
:class:`~spmopt.payout.SimulateConfig` like ``spmopt payout simulate``
does, but as :func:`~spmopt.scale.run_monte_carlo` batches: on a cluster
when a client is given, with statistics merged exactly. With the default
batch size (the simulator's own chunk size) every batch draws the same
scenarios as the simulator's chunk of the same index, so the cost
percentiles equal the in-process ones for the same seed, whatever the
number of workers, as long as every sample fits the exact-quantile budget
(beyond it they come from merged histograms with a stated error).

:func:`price_plans` prices many plan designs at once, one sweep task each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spmopt.errors import ConfigError
from spmopt.payout import (
    DealAttainment,
    HistoryAttainment,
    LognormalAttainment,
    PayoutEngine,
    PlanConfig,
    RepBook,
    SimulateConfig,
    simulate,
)
from spmopt.payout.simulate import chunk_sizes, cost_at_attainment, load_inputs
from spmopt.rounding import round_to_total
from spmopt.scale.merge import DEFAULT_BINS
from spmopt.scale.montecarlo import (
    DEFAULT_EXACT_BUDGET_BYTES,
    MonteCarloResult,
    run_monte_carlo,
)
from spmopt.scale.sweep import SweepResult, sweep_designs

COST_QUANTILES = {"p5": 0.05, "p10": 0.10, "p50": 0.50, "p90": 0.90, "p95": 0.95}
COST_QUANTILES["p99"] = 0.99
Attainment = LognormalAttainment | HistoryAttainment | DealAttainment
"""An attainment model of the payout simulator, prepared for the plan."""

REP_BINS = 256
"""Histogram bins of each rep's payout (per-rep percentiles)."""


@dataclass(frozen=True)
class PlanScenarios:
    """``simulate(rng, size)`` for one plan, rep book and attainment model.

    Each call prices ``size`` simulated years with the payout simulator
    itself, as one chunk drawn from ``rng``'s seed sequence: a batch with
    index ``i`` (whose generator comes from child ``i`` of
    ``SeedSequence(seed)``) gives exactly the simulator's chunk ``i`` of
    the same size. Returns:

    - ``cost``: total yearly payout, shape (size,), plan currency;
    - ``revenue``: total credited revenue measure, shape (size,);
    - ``any_cap``: 1.0 when any rep hit a cap, shape (size,);
    - ``rep_payout``: yearly payout per rep, shape (size, n_reps);
    - ``rep_cap``: each rep's share of the batch's years in which the rep
      hit a cap, repeated on every row, shape (size, n_reps): its mean is
      the cap probability (the only figure read from it).
    """

    plan: PlanConfig
    book: RepBook
    model: Attainment

    def __call__(self, rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        per_scenario = self.book.n_reps * self.plan.n_periods * len(self.plan.measures)
        result = simulate(
            self.plan,
            self.book,
            self.model,
            size,
            _parent_of(rng.bit_generator.seed_seq),
            chunk_elements=max(1_000, size * per_scenario),
            keep_rep_scenarios=size,
        )
        rep_cap = np.broadcast_to(result.rep_p_cap, (size, self.book.n_reps))
        return {
            "cost": result.cost,
            "revenue": result.revenue,
            "any_cap": result.any_cap.astype(float),
            "rep_payout": result.rep_sample,
            "rep_cap": rep_cap,
        }


def _parent_of(seq: Any) -> np.random.SeedSequence:
    """A sequence whose next spawned child is ``seq`` (``seq`` if a root)."""
    if not isinstance(seq, np.random.SeedSequence) or not seq.spawn_key:
        raise ConfigError(
            "plan scenarios need a generator seeded from a spawned SeedSequence "
            "(a batch of spmopt.scale.run_monte_carlo)"
        )
    return np.random.SeedSequence(
        entropy=seq.entropy,
        spawn_key=seq.spawn_key[:-1],
        pool_size=seq.pool_size,
        n_children_spawned=seq.spawn_key[-1],
    )


@dataclass(frozen=True)
class PlanPricing:
    """Outcome of :func:`price_plan`.

    Attributes
    ----------
    result : MonteCarloResult
        Merged statistics of every output of :class:`PlanScenarios`.
    plan : PlanConfig
    book : RepBook
    cost_at_mean_attainment : float
        Total cost when every rep attains the model's mean, plan currency.
    """

    result: MonteCarloResult
    plan: PlanConfig
    book: RepBook
    cost_at_mean_attainment: float

    def summary(self) -> dict[str, Any]:
        """Figures with the keys of the simulator's ``summary.json``.

        Adds ``quantiles_exact`` and ``cost_quantile_error`` (plan
        currency; 0 when exact) and the batching figures.
        """
        cost = self.result["cost"]
        stats = {k: cost.quantile(q) for k, q in COST_QUANTILES.items()}
        stats.update(mean=cost.mean, cvar95=cost.tail_mean(0.95))
        revenue = self.result["revenue"].mean
        errors = {k: cost.quantile_error(q) for k, q in COST_QUANTILES.items()}
        return {
            "cost": stats,
            "cost_at_mean_attainment": self.cost_at_mean_attainment,
            "revenue_mean": revenue,
            "cost_pct_revenue": 100 * cost.mean / revenue if revenue > 0 else None,
            "mc_standard_error": cost.standard_error,
            "n_scenarios": self.result.n_scenarios,
            "n_reps": self.book.n_reps,
            "p_any_cap": self.result["any_cap"].mean,
            "quantiles_exact": cost.exact,
            "cost_quantile_error": errors,
            "n_batches": self.result.n_batches,
            "batch_size": self.result.batch_size,
        }

    def rep_payouts(self) -> pd.DataFrame:
        """Per rep: quota, mean, P10/P50/P90 payout and cap probability.

        The means are rounded so that they add up to the mean cost as
        rounded (:func:`spmopt.rounding.round_to_total`).
        """
        payout = self.result["rep_payout"]
        decimals = self.plan.rounding.decimals
        mean = round_to_total(payout.mean, self.result["cost"].mean, decimals)
        revenue = [m.name for m in self.plan.measures].index(self.plan.revenue)
        return pd.DataFrame(
            {
                "rep_id": list(self.book.rep_ids),
                "quota": self.book.quotas[:, revenue],
                "payout_mean": mean,
                "payout_p10": np.round(payout.quantile(0.10), decimals),
                "payout_p50": np.round(payout.quantile(0.50), decimals),
                "payout_p90": np.round(payout.quantile(0.90), decimals),
                "p_cap": np.round(self.result["rep_cap"].mean, 6),
            }
        )


def simulator_batch_size(cfg: SimulateConfig, plan: PlanConfig, book: RepBook) -> int:
    """Scenarios per chunk of the in-process simulator for ``cfg``."""
    per_scenario = book.n_reps * plan.n_periods * len(plan.measures)
    return chunk_sizes(cfg.n_scenarios, per_scenario, cfg.chunk_elements)[0]


def price_plan(
    cfg: SimulateConfig,
    seed: int,
    client: Any = None,
    batch_size: int | None = None,
    exact_budget_bytes: int = DEFAULT_EXACT_BUDGET_BYTES,
) -> PlanPricing:
    """Price the plan of ``cfg`` over ``cfg.n_scenarios`` seeded batches.

    Parameters
    ----------
    cfg : SimulateConfig
        Plan, quotas table and attainment model (validated here first).
    seed : int
        Seed; batch ``i`` draws from child ``i`` of ``SeedSequence(seed)``.
    client : distributed.Client, optional
        Run the batches on this cluster; in process when None.
    batch_size : int, optional
        Scenarios per batch; default the simulator's chunk size, which
        reproduces its scenarios.
    exact_budget_bytes : int
        Exact quantiles while all samples of an output fit this size.

    Returns
    -------
    PlanPricing
    """
    plan, book = load_inputs(cfg)
    size = batch_size or simulator_batch_size(cfg, plan, book)
    scenarios = PlanScenarios(plan, book, cfg.attainment)
    bins = {"rep_payout": REP_BINS, "rep_cap": 0, "any_cap": 0, "cost": DEFAULT_BINS}
    ranges = {name: (-0.5, 1.5) for name in ("rep_cap", "any_cap")}
    result = run_monte_carlo(
        scenarios,
        cfg.n_scenarios,
        seed,
        batch_size=size,
        client=client,
        ranges=ranges,
        n_bins=bins,
        exact_budget_bytes=exact_budget_bytes,
    )
    engine = PayoutEngine(plan, book)
    at_mean = cost_at_attainment(engine, cfg.attainment.mean, cfg.attainment)
    return PlanPricing(result, plan, book, at_mean)


def price_design(cfg: SimulateConfig, seed: int) -> dict[str, Any]:
    """Headline cost figures of one plan design, priced in process.

    The task of :func:`price_plans`: the payout simulator's own
    :func:`~spmopt.payout.simulate`, reduced to contract figures.
    """
    plan, book = load_inputs(cfg)
    result = simulate(
        plan, book, cfg.attainment, cfg.n_scenarios, seed, cfg.chunk_elements
    )
    cost = result.cost
    quantiles = {k: float(np.quantile(cost, q)) for k, q in COST_QUANTILES.items()}
    return {
        "plan": plan.name,
        "cost_mean": float(cost.mean()),
        **{f"cost_{k}": v for k, v in quantiles.items()},
        "cost_at_mean_attainment": float(result.cost_at_mean_attainment),
        "p_any_cap": float(result.any_cap.mean()),
    }


def price_plans(
    designs: Mapping[str, SimulateConfig],
    seed: int,
    client: Any = None,
    time_limit_seconds: float | None = None,
) -> SweepResult:
    """Price many plan designs in parallel, one sweep task per design.

    Parameters
    ----------
    designs : mapping of str to SimulateConfig
        Name of each design and its configuration.
    seed : int
        The same seed for every design (common random numbers when the
        designs share reps and attainment model, so differences between
        designs are not Monte-Carlo noise).
    client : distributed.Client, optional
        Run the designs as Dask tasks; in process when None.
    time_limit_seconds : float, optional
        Give up on a design after this long.

    Returns
    -------
    SweepResult
        Per design: the :func:`price_design` figures, or its error.
    """
    return sweep_designs(price_design, designs, seed, client, time_limit_seconds)
