"""Monte-Carlo pricing of a plan: the cost distribution before rollout.

:func:`simulate` draws attainment for every rep, period and scenario in
chunks of bounded size, prices each chunk with the vectorised
:class:`~spmopt.payout.engine.PayoutEngine` and keeps only running
statistics, so memory stays bounded whatever the number of scenarios.
:func:`run_simulate` is the job runner behind ``spmopt payout simulate``.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from spmopt._logging import logger
from spmopt.config import Config, TablePath
from spmopt.data import load_table
from spmopt.errors import SpmoptWarning
from spmopt.payout.attainment import (
    AttainmentModel,
    DealAttainment,
    HistoryAttainment,
    LognormalAttainment,
    SpifCounts,
)
from spmopt.payout.cancellations import expected_clawback
from spmopt.payout.engine import (
    PayoutEngine,
    RepBook,
    period_major,
    rep_book,
    sum_periods,
)
from spmopt.payout.limits import check_computed_array
from spmopt.payout.plan import PlanConfig, load_plan
from spmopt.rounding import round_to_total
from spmopt.runs import RunWriter

QUANTILES = {"p5": 5, "p10": 10, "p50": 50, "p90": 90, "p95": 95, "p99": 99}
BATCH_ELEMENTS = 65_536
"""Rep-period values per measure priced at once: arrays of 512 KiB, which
stay in a core's cache while the engine works on them (a chunk bigger than
this is priced in batches drawn one after the other from its generator)."""


class TrackingSettings(Config):
    """Where (and whether) the simulation is recorded in MLflow."""

    enabled: bool = True
    experiment: str = "spmopt-payout"
    tracking_uri: str | None = None


class SimulateConfig(Config):
    """Configuration of ``spmopt payout simulate``.

    Parameters
    ----------
    plan : PlanConfig or path
        The plan, inline or as a YAML path (relative to this config).
    quotas : table reference
        Reps with ``rep_id`` and each measure's quota column.
    attainment : LognormalAttainment, HistoryAttainment or DealAttainment
        The attainment model, chosen by its ``kind``: ``lognormal``
        (default), ``history`` or ``deals``.
    n_scenarios : int
        Number of simulated plan years.
    chunk_elements : int
        Upper bound on rep-period values priced at once: bounds memory and
        keeps arrays in cache. Results depend on it (each chunk has its own
        random stream), so keep it fixed when comparing runs.
    rep_quantile_scenarios : int
        Scenarios kept per rep for the per-rep percentiles (the first ones;
        means and cap probabilities use every scenario).
    histogram_bins : int
        Bins of ``cost_distribution.csv``.
    """

    plan: PlanConfig | TablePath
    quotas: TablePath
    rep_column: str = "rep_id"
    attainment: AttainmentModel = Field(default_factory=LognormalAttainment)
    n_scenarios: int = Field(default=10_000, ge=10, le=10_000_000)
    chunk_elements: int = Field(default=131_072, ge=1_000)
    rep_quantile_scenarios: int = Field(default=4_000, ge=10)
    histogram_bins: int = Field(default=40, ge=2, le=1_000)
    mlflow: TrackingSettings = Field(default_factory=TrackingSettings)

    def resolved_plan(self) -> PlanConfig:
        """The plan object (read from its file when given as a path)."""
        if isinstance(self.plan, PlanConfig):
            return self.plan
        return load_plan(self.plan)


@dataclass
class SimulationResult:
    """Statistics of one simulation.

    Attributes
    ----------
    cost : ndarray of shape (n_scenarios,)
        Total cash paid to all reps in each simulated year, plan currency.
    revenue : ndarray of shape (n_scenarios,)
        Total credited revenue-measure quantity in each year.
    any_cap : ndarray of bool, shape (n_scenarios,)
        Whether any rep hit a cap in the year.
    rep_mean, rep_p_cap : ndarray of shape (n_reps,)
        Mean yearly payout and probability of hitting a cap per rep.
    rep_sample : ndarray of shape (n_kept, n_reps)
        Yearly payouts of the first scenarios, for per-rep percentiles.
    cost_at_mean_attainment : float
        Total cost when every rep attains exactly the model's mean.
    seconds : float
        Wall time of the simulation (varies from run to run).
    clawback : ndarray of shape (n_scenarios,), optional
        Clawbacks posted in each simulated year (<= 0, included in
        ``cost``), when the model prices cancellations.
    """

    cost: np.ndarray
    revenue: np.ndarray
    any_cap: np.ndarray
    rep_mean: np.ndarray
    rep_p_cap: np.ndarray
    rep_sample: np.ndarray
    cost_at_mean_attainment: float
    seconds: float
    clawback: np.ndarray | None = None


def chunk_sizes(n_scenarios: int, per_scenario: int, budget: int) -> list[int]:
    """Split ``n_scenarios`` into chunks of at most ``budget`` elements."""
    size = max(1, min(n_scenarios, budget // max(per_scenario, 1)))
    full, rest = divmod(n_scenarios, size)
    return [size] * full + ([rest] if rest else [])


def simulate(
    plan: PlanConfig,
    book: RepBook,
    model: AttainmentModel,
    n_scenarios: int,
    seed: int | np.random.SeedSequence,
    chunk_elements: int = 131_072,
    keep_rep_scenarios: int = 4_000,
) -> SimulationResult:
    """Price ``plan`` over ``n_scenarios`` simulated years.

    Chunk ``k`` draws from its own generator (SFC64, the fastest of
    numpy's at normal draws) spawned from ``seed``, so the result depends
    only on the inputs, the seed and ``chunk_elements``.
    Under a job's Dask scheduler (``--scheduler``) runs of chunks are
    priced on the cluster, with the same result (:mod:`spmopt.scale`).
    """
    from spmopt.scale.context import active_client

    client = active_client(n_scenarios * book.n_reps * plan.n_periods)
    if client is not None:
        from spmopt.scale.simulation import simulate_on_cluster

        args = (plan, book, model, n_scenarios, seed, chunk_elements)
        return simulate_on_cluster(client, *args, keep_rep_scenarios)
    start = time.perf_counter()
    engine = PayoutEngine(plan, book)
    engine.check_aggregate()
    model.prepare(plan, book)
    quotas = engine.period_quotas()
    per_scenario = book.n_reps * plan.n_periods * len(plan.measures)
    sizes = chunk_sizes(n_scenarios, per_scenario, chunk_elements)
    root = seed
    if not isinstance(root, np.random.SeedSequence):
        root = np.random.SeedSequence(int(root))
    children = root.spawn(len(sizes))
    totals = _Totals(book.n_reps, keep_rep_scenarios)
    batch = max(1, BATCH_ELEMENTS // (book.n_reps * plan.n_periods))
    for size, child in zip(sizes, children, strict=True):
        rng = np.random.Generator(np.random.SFC64(child))
        for first in range(0, size, batch):
            part = min(batch, size - first)
            _price_chunk(engine, model, quotas, part, rng, totals)
    result = totals.result()
    result.cost_at_mean_attainment = cost_at_attainment(engine, model.mean, model)
    result.seconds = time.perf_counter() - start
    check_result(result)
    return result


def check_result(result: SimulationResult) -> None:
    """Refuse a simulation with a payout or cost beyond the amount limit.

    Every kept rep-year payout, every scenario's cost and clawback and the
    cost at mean attainment must be within
    :data:`~spmopt.payout.limits.MAX_AMOUNT` (currency), as in
    ``payout calc``; beyond it the amounts cannot be paid or rounded.

    Raises
    ------
    DataError
        ``a computed amount of ... is too large to pay``.
    """
    check_computed_array(result.rep_sample, "simulated yearly payout of a rep")
    check_computed_array(result.cost, "simulated cost of a scenario")
    if result.clawback is not None:
        check_computed_array(result.clawback, "simulated clawback of a scenario")
    at_mean = np.array([result.cost_at_mean_attainment])
    check_computed_array(at_mean, "cost at mean attainment")


def _price_chunk(
    engine: PayoutEngine,
    model: AttainmentModel,
    quotas: np.ndarray,
    size: int,
    rng: np.random.Generator,
    totals: _Totals,
) -> None:
    """Draw and price ``size`` scenarios, fold them into ``totals``."""
    plan, book = engine.plan, engine.book
    shape = (size, book.n_reps, plan.n_periods)
    attainment: dict[str, np.ndarray] = {}
    won = rows = None
    for measure in plan.measures:
        if measure.team_of is not None:
            continue
        is_revenue = measure.name == plan.revenue
        if isinstance(model, DealAttainment):
            if is_revenue:
                att, counts, won = model.draw_deals(rng, *shape)
                attainment.update(counts)
            else:
                att = model.draw(rng, *shape)
        elif isinstance(model, HistoryAttainment) and is_revenue:
            att, rows = model.draw_rows(rng, *shape, buffers=engine.buffers)
        else:
            att = model.draw(rng, *shape, buffers=engine.buffers)
        attainment[measure.name] = att
    if not isinstance(model, DealAttainment):
        history = model if isinstance(model, HistoryAttainment) else None
        for name, spif in model.spif_counts.items():
            key = f"spif:{name}"
            attainment[key] = spif.draw(rng, attainment[plan.revenue], history, rows)
    clawing = plan.clawback is not None and model.cancellations is not None
    out = engine.evaluate_attainment(attainment, plan.revenue if clawing else None)
    clawback = None
    if clawing:
        assert out.measure_paid is not None
        posted = _clawbacks(engine, model, attainment, out.measure_paid, won, rng)
        clawback = posted.sum(axis=(0, 2))
        out = engine.settle(out, posted)
    m = [x.name for x in plan.measures].index(plan.revenue)
    revenue = _credited_total(attainment[plan.revenue], quotas[:, m, :], engine)
    one = plan.n_periods == 1  # the only period is a contiguous (S, R) block
    check_computed_array(out.paid, "simulated payment of a rep in a period")
    yearly = out.paid[..., 0] if one else sum_periods(out.paid)
    check_computed_array(yearly, "simulated yearly payout of a rep")
    check_computed_array(yearly.sum(axis=1), "simulated cost of a scenario")
    totals.add(yearly, revenue, out.cap_hit, clawback)
    engine.release(out)
    engine.release_arrays(*attainment.values())


def _clawbacks(
    engine: PayoutEngine,
    model: AttainmentModel,
    attainment: dict[str, np.ndarray],
    measure_paid: np.ndarray,
    won: np.ndarray | None,
    rng: np.random.Generator,
) -> np.ndarray:
    """Clawbacks posted per period, period-major (P, S, R), <= 0."""
    plan = engine.plan
    assert plan.clawback is not None and model.cancellations is not None
    commission = period_major(measure_paid)
    if not isinstance(model, DealAttainment) or won is None:
        return expected_clawback(commission, plan.clawback, model.cancellations)
    m = [x.name for x in plan.measures].index(plan.revenue)
    credited = period_major(attainment[plan.revenue]) * engine.constant(
        "quota", m, False
    )
    rate = np.divide(
        commission, credited, out=np.zeros_like(credited), where=credited > 0
    )
    return model.deal_clawbacks(plan).posted(rng, won, rate, engine.book.n_reps)


def _credited_total(
    attainment: np.ndarray, quota: np.ndarray, engine: PayoutEngine
) -> np.ndarray:
    """Credited quantity per scenario: sum of attainment x period quota.

    ``attainment`` is (S, R, P), ``quota`` (R, P); returns (S,). Summed
    by numpy in a fixed order (a BLAS product's order can depend on how
    the arrays happen to be aligned, and so change the last digits).
    """
    att = period_major(attainment)
    credited = np.multiply(att, quota.T[:, None, :], out=engine.buffers.take(att.shape))
    total = credited.sum(axis=2).sum(axis=0)
    engine.buffers.give(credited)
    return total


class _Totals:
    """Running statistics of the chunks: memory O(n_scenarios + n_reps)."""

    def __init__(self, n_reps: int, keep: int) -> None:
        self.keep = keep
        self.rep_sum = np.zeros(n_reps)
        self.cap_count = np.zeros(n_reps)
        self.cost: list[np.ndarray] = []
        self.revenue: list[np.ndarray] = []
        self.any_cap: list[np.ndarray] = []
        self.sample: list[np.ndarray] = []
        self.clawback: list[np.ndarray | None] = []
        self.kept = 0

    def add(
        self,
        yearly: np.ndarray,
        revenue: np.ndarray,
        cap_hit: np.ndarray,
        clawback: np.ndarray | None,
    ) -> None:
        """Fold one batch in (nothing of its arrays is kept but copies).

        ``yearly`` (S, R) is each rep's yearly payout, ``revenue`` (S,)
        the credited revenue, ``cap_hit`` (S, R) and ``clawback`` (S,).
        """
        self.rep_sum += yearly.sum(axis=0)
        self.cap_count += cap_hit.sum(axis=0)
        self.cost.append(yearly.sum(axis=1))
        self.revenue.append(revenue)
        self.any_cap.append(np.asarray(cap_hit.any(axis=1)))
        self.clawback.append(clawback)
        if self.kept < self.keep:
            self.sample.append(yearly[: self.keep - self.kept].copy())
            self.kept += len(self.sample[-1])

    def result(self) -> SimulationResult:
        """The combined :class:`SimulationResult` (cost at mean not set)."""
        n = sum(len(c) for c in self.cost)
        return SimulationResult(
            cost=np.concatenate(self.cost),
            revenue=np.concatenate(self.revenue),
            any_cap=np.concatenate(self.any_cap),
            rep_mean=self.rep_sum / n,
            rep_p_cap=self.cap_count / n,
            rep_sample=np.concatenate(self.sample, axis=0),
            cost_at_mean_attainment=float("nan"),
            seconds=0.0,
            clawback=None
            if any(c is None for c in self.clawback)
            else np.concatenate(self.clawback),  # type: ignore[arg-type]
        )


def cost_at_attainment(
    engine: PayoutEngine, attainment: float, model: AttainmentModel | None = None
) -> float:
    """Total yearly cost when every rep attains ``attainment`` every period.

    With a ``lognormal`` or ``history`` ``model``, its SPIF counts enter at
    their expected value at that attainment and its cancellations at their
    expected clawback, as in the simulation.
    """
    plan = engine.plan
    quotas = engine.period_quotas()
    credited = {
        m.name: attainment * quotas[None, :, i, :]
        for i, m in enumerate(plan.measures)
        if m.team_of is None
    }
    if model is None or isinstance(model, DealAttainment):
        return float(engine.evaluate(credited).paid.sum())
    shape = (1, engine.book.n_reps, plan.n_periods)
    for name, spif in model.spif_counts.items():
        count = _expected_count(spif, attainment, model)
        credited[f"spif:{name}"] = np.full(shape, count)
    clawing = plan.clawback is not None and model.cancellations is not None
    out = engine.evaluate(credited, plan.revenue if clawing else None)
    if clawing:
        assert plan.clawback is not None and model.cancellations is not None
        assert out.measure_paid is not None
        commission = period_major(out.measure_paid)
        clawback = expected_clawback(commission, plan.clawback, model.cancellations)
        out = engine.settle(out, clawback)
    return float(out.paid.sum())


def _expected_count(
    spif: SpifCounts, attainment: float, model: AttainmentModel
) -> float:
    """Expected SPIF count per rep and period at a constant attainment."""
    if spif.history_column is not None:
        assert isinstance(model, HistoryAttainment)
        return float(model.column(spif.history_column).mean())
    assert spif.mean is not None
    return spif.mean * attainment if spif.follows_attainment else spif.mean


def cost_summary(result: SimulationResult) -> dict[str, Any]:
    """The ``summary.json`` figures of a simulation (contract keys)."""
    cost = result.cost
    stats = {k: float(np.percentile(cost, q)) for k, q in QUANTILES.items()}
    stats["mean"] = float(cost.mean())
    stats["cvar95"] = float(cost[cost >= stats["p95"]].mean())
    revenue_mean = float(result.revenue.mean())
    n = len(cost)
    return {
        "cost": stats,
        "cost_at_mean_attainment": result.cost_at_mean_attainment,
        "revenue_mean": revenue_mean,
        "cost_pct_revenue": 100 * stats["mean"] / revenue_mean
        if revenue_mean > 0
        else None,
        "mc_standard_error": float(cost.std(ddof=1) / np.sqrt(n)) if n > 1 else None,
        "n_scenarios": n,
        "n_reps": int(result.rep_mean.shape[0]),
        "p_any_cap": float(result.any_cap.mean()),
        "clawback_mean": None
        if result.clawback is None
        else float(result.clawback.mean()),
    }


COST_MONEY = ["cost_low", "cost_high"]
"""Columns of ``cost_distribution.csv`` in the plan's currency."""
REP_MONEY = ["quota", "payout_mean", "payout_p10", "payout_p50", "payout_p90"]
"""Columns of ``rep_payouts.csv`` in the plan's currency."""


def cost_distribution(cost: np.ndarray, bins: int) -> pd.DataFrame:
    """Histogram of yearly cost: cost_low, cost_high, count."""
    counts, edges = np.histogram(cost, bins=bins)
    return pd.DataFrame(
        {
            "cost_low": np.round(edges[:-1], 2),
            "cost_high": np.round(edges[1:], 2),
            "count": counts,
        }
    )


def rep_payouts(
    book: RepBook, plan: PlanConfig, result: SimulationResult
) -> pd.DataFrame:
    """Per-rep payout distribution: mean, P10/P50/P90 and cap probability.

    Amounts are rounded to the plan's decimals; the means by the largest
    remainder rule, so that they add up to the mean cost as rounded.
    """
    m = [x.name for x in plan.measures].index(plan.revenue)
    decimals = plan.rounding.decimals
    p10, p50, p90 = np.percentile(result.rep_sample, [10, 50, 90], axis=0)
    mean = round_to_total(result.rep_mean, float(result.cost.mean()), decimals)
    return pd.DataFrame(
        {
            "rep_id": list(book.rep_ids),
            "quota": book.quotas[:, m],
            "payout_mean": mean,
            "payout_p10": np.round(p10, decimals),
            "payout_p50": np.round(p50, decimals),
            "payout_p90": np.round(p90, decimals),
            "p_cap": np.round(result.rep_p_cap, 6),
        }
    )


def payout_curve(
    plan: PlanConfig, book: RepBook, grid: np.ndarray | None = None
) -> pd.DataFrame:
    """Yearly payout of a median rep at constant attainment on a grid.

    Every measure is at the same attainment in every period. Columns:
    attainment, payout (plan currency) and payout_pct_of_target_incentive
    (or effective_rate, payout over revenue, for a plan without target
    incentive).
    """
    grid = np.round(np.arange(0, 2.5001, 0.01), 2) if grid is None else grid
    middle = int(np.argsort(book.quotas[:, 0])[book.n_reps // 2])
    one = _one_rep(book, middle)
    engine = PayoutEngine(plan, one)
    quotas = engine.period_quotas()
    credited = {
        m.name: grid[:, None, None] * quotas[None, :, i, :]
        for i, m in enumerate(plan.measures)
        if m.team_of is None
    }
    payout = engine.evaluate(credited).paid.sum(axis=(1, 2))
    frame = pd.DataFrame({"attainment": grid, "payout": np.round(payout, 2)})
    incentive = float(one.target_incentive[0])
    if incentive > 0:
        pct = np.round(100 * payout / incentive, 4)
        frame["payout_pct_of_target_incentive"] = pct
    else:
        revenue = credited[plan.revenue].sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = np.where(revenue > 0, payout / revenue, 0.0)
        frame["effective_rate"] = np.round(rate, 6)
    return frame


def _one_rep(book: RepBook, i: int) -> RepBook:
    return RepBook(
        (book.rep_ids[i],),
        book.quotas[i : i + 1],
        book.target_incentive[i : i + 1],
        (None,),
    )


def load_inputs(cfg: SimulateConfig) -> tuple[PlanConfig, RepBook]:
    """Validate the plan and quotas table of ``cfg`` (nothing written)."""
    plan = cfg.resolved_plan()
    frame = load_table(cfg.quotas, name="quotas")
    book = rep_book(plan, frame, rep_column=cfg.rep_column)
    PayoutEngine(plan, book).check_aggregate()
    cfg.attainment.prepare(plan, book)
    _warn_unpriced(plan, cfg.attainment)
    return plan, book


def _warn_unpriced(plan: PlanConfig, model: AttainmentModel) -> None:
    """Warn about plan parts the model gives nothing to price (counted as 0)."""
    names = [spif.name for spif in plan.spifs]
    counted = set(names)
    notes = []
    if not isinstance(model, DealAttainment):
        counted = set(model.spif_counts)
        stray = sorted(counted - set(names))
        if stray:
            notes.append(
                f"attainment.spif_counts {stray} are not SPIFs of the plan "
                f"(SPIFs: {names}) and are ignored"
            )
    missing = [name for name in names if name not in counted]
    if missing:
        notes.append(
            f"the simulator counts SPIFs {missing} as zero (give "
            "attainment.spif_counts, or use attainment kind: deals)"
        )
    if plan.clawback is not None and model.cancellations is None:
        notes.append(
            "the simulator counts clawbacks as zero (give "
            "attainment.cancellations: {rate: ...})"
        )
    if plan.clawback is None and model.cancellations is not None:
        notes.append("the plan has no clawback: attainment.cancellations is unused")
    for note in notes:
        warnings.warn(f"plan {plan.name!r}: {note}", SpmoptWarning, stacklevel=3)


def run_simulate(cfg: SimulateConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Simulate ``cfg``'s plan, write the outputs, return the headline.

    Writes ``summary.json``, ``cost_distribution.csv``, ``rep_payouts.csv``,
    ``payout_curve.csv`` and ``plots.html`` through ``out``.
    """
    plan, book = load_inputs(cfg)
    if cfg.mlflow.enabled:
        return _tracked(cfg, plan, book, out, seed)
    return _simulate_and_write(cfg, plan, book, out, seed, {})


def _tracked(
    cfg: SimulateConfig, plan: PlanConfig, book: RepBook, out: RunWriter, seed: int
) -> dict[str, Any]:
    from spmopt.tracking import log_metrics, tracked_run

    params = {
        "plan": plan.name,
        "n_scenarios": cfg.n_scenarios,
        "n_reps": book.n_reps,
        "seed": seed,
        **{f"attainment_{k}": v for k, v in cfg.attainment.model_dump().items()},
    }
    settings = cfg.mlflow
    with tracked_run(
        settings.experiment, f"simulate-{plan.name}", settings.tracking_uri, params
    ) as run:
        extra = {"mlflow_run_id": run.info.run_id}
        headline = _simulate_and_write(cfg, plan, book, out, seed, extra)
        log_metrics(headline)
    return headline


def _simulate_and_write(
    cfg: SimulateConfig,
    plan: PlanConfig,
    book: RepBook,
    out: RunWriter,
    seed: int,
    extra: dict[str, Any],
) -> dict[str, Any]:
    result = simulate(
        plan,
        book,
        cfg.attainment,
        cfg.n_scenarios,
        seed,
        cfg.chunk_elements,
        cfg.rep_quantile_scenarios,
    )
    summary = cost_summary(result)
    summary.update(_context(plan, cfg, seed, result))
    summary = rounded_summary(summary, plan.rounding.decimals)
    summary.update(extra)
    _write(out, cfg, plan, book, result, summary)
    headline = headline_of(summary)
    logger.info(
        "payout simulate: %d reps x %d scenarios, cost mean %.0f (P10 %.0f, "
        "P90 %.0f) vs %.0f at mean attainment, %.2fs",
        book.n_reps,
        cfg.n_scenarios,
        headline["cost_mean"],
        headline["cost_p10"],
        headline["cost_p90"],
        headline["cost_at_mean_attainment"],
        result.seconds,
    )
    return headline


def _context(
    plan: PlanConfig, cfg: SimulateConfig, seed: int, result: SimulationResult
) -> dict[str, Any]:
    at_mean = result.cost_at_mean_attainment
    mean = float(result.cost.mean())
    return {
        "plan": plan.name,
        "currency": plan.currency,
        "seed": seed,
        "n_periods": plan.n_periods,
        "attainment_model": cfg.attainment.model_dump(),
        "accelerator_gap_pct": 100 * (mean - at_mean) / at_mean if at_mean else None,
        "simulate_seconds": round(result.seconds, 3),
    }


SUMMARY_MONEY = (
    "cost_at_mean_attainment",
    "revenue_mean",
    "mc_standard_error",
    "clawback_mean",
)
"""Money figures of ``summary.json`` besides ``cost`` (plan currency)."""

SUMMARY_SHARES = ("accelerator_gap_pct", "cost_pct_revenue", "p_any_cap")
"""Percentages and probabilities of ``summary.json``, written to 6 places."""


def rounded_summary(summary: dict[str, Any], decimals: int) -> dict[str, Any]:
    """``summary`` with money to ``decimals`` places and shares to 6.

    Money is rounded as :func:`spmopt.rounding.round_to_total` rounds a
    total, so ``cost.mean`` is the sum of ``rep_payouts.csv``'s
    ``payout_mean`` as written; no figure carries float noise such as
    ``6951646.100000001``. Shares are computed before rounding.
    """
    unit = 10**decimals

    def money(value: float | None) -> float | None:
        return None if value is None else round(value * unit) / unit

    out = dict(summary)
    out["cost"] = {k: money(v) for k, v in summary["cost"].items()}
    for key in SUMMARY_MONEY:
        out[key] = money(summary.get(key))
    for key in SUMMARY_SHARES:
        value = summary.get(key)
        out[key] = None if value is None else round(value, 6)
    return out


def headline_of(summary: dict[str, Any]) -> dict[str, Any]:
    """Headline figures of a simulation summary."""
    cost = summary["cost"]
    return {
        "cost_mean": cost["mean"],
        "cost_p10": cost["p10"],
        "cost_p50": cost["p50"],
        "cost_p90": cost["p90"],
        "cost_at_mean_attainment": summary["cost_at_mean_attainment"],
        "cost_pct_revenue": summary["cost_pct_revenue"],
        "p_any_cap": summary["p_any_cap"],
        "mc_standard_error": summary["mc_standard_error"],
    }


def _write(
    out: RunWriter,
    cfg: SimulateConfig,
    plan: PlanConfig,
    book: RepBook,
    result: SimulationResult,
    summary: dict[str, Any],
) -> None:
    from spmopt.payout.plots import plots_html

    distribution = cost_distribution(result.cost, cfg.histogram_bins)
    curve = payout_curve(plan, book)
    decimals = plan.rounding.decimals
    out.write_json("summary.json", summary)
    out.write_csv("cost_distribution.csv", distribution, COST_MONEY, decimals)
    reps = rep_payouts(book, plan, result)
    out.write_csv("rep_payouts.csv", reps, REP_MONEY, decimals)
    out.write_csv("payout_curve.csv", curve, ["payout"], decimals)
    out.write_text("plots.html", plots_html(distribution, curve, summary, plan))
