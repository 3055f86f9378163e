"""The ``quota set`` job: read reps, allocate the target, check attainment."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from spmopt._logging import logger
from spmopt.config import named_field, table_name
from spmopt.data import check_schema, load_table
from spmopt.errors import InfeasibleError, SpmoptWarning
from spmopt.quota.allocation import (
    AllocationResult,
    QuotaAllocator,
    bounds_in_units,
)
from spmopt.quota.attainment import AttainmentResult, OpenDeals, simulate_attainment
from spmopt.quota.config import QuotaConfig
from spmopt.quota.fairness import fairness_summary
from spmopt.quota.phasing import monthly_weights, period_weights, phase_quotas
from spmopt.quota.reps import (
    RepBook,
    read_open_deals,
    read_reps,
    reference_weights,
)
from spmopt.quota.rounding import ROUNDING_RULE, largest_remainder
from spmopt.quota.stretch import implied_target
from spmopt.runs import RunWriter
from spmopt.scale.context import active_client
from spmopt.tracking import log_metrics, tracked_run

HISTORY_SCHEMA = {"deal_stage": "str", "close_date": "date", "close_value": "float"}
HEADLINE_KEYS = (
    "n_reps",
    "target",
    "quota_sum",
    "share_expected_to_attain",
    "n_binding_floor",
    "n_binding_cap",
    "solve_seconds",
)


def to_currency(units: np.ndarray, decimals: int) -> np.ndarray:
    """Whole rounding units to currency, as exactly representable decimals."""
    if decimals > 0:
        return np.asarray(units) / 10**decimals
    return (np.asarray(units) * 10 ** (-decimals)).astype(float)


def allocate(book: RepBook, cfg: QuotaConfig, target: float) -> AllocationResult:
    """Solve the allocation LP for ``book`` with company ``target``."""
    allocator = QuotaAllocator.from_potential(
        book.ramped_potential,
        target,
        floor_share=cfg.bounds.floor,
        cap_share=cfg.bounds.cap,
        decimals=cfg.rounding_decimals,
        reference=reference_weights(book, cfg),
    )
    allocator.check_feasible()
    return allocator.solve(cfg.solver, cfg.time_limit_seconds, threads=1)


def attainment(
    book: RepBook,
    quota: np.ndarray,
    cfg: QuotaConfig,
    seed: int,
    deals: OpenDeals | None = None,
) -> AttainmentResult:
    """Simulate attainment of ``quota`` (currency) for ``book`` (seeded).

    Reps with ramped potential 0 (quota 0) count as not attaining.
    """
    settings = cfg.attainment
    quantiles = None
    if book.quantiles is not None:
        p10, p50, p90 = (q * book.ramp * book.period_share for q in book.quantiles)
        quantiles = (p10, p50, p90)
    simulate: Any = simulate_attainment
    client = active_client(settings.n_scenarios * len(quota))
    if client is not None:  # seeded scenario batches on the job's Dask cluster
        from spmopt.scale.attainment import simulate_attainment_batches

        simulate = partial(simulate_attainment_batches, client=client)
    return simulate(
        quota,
        mean=book.ramped_potential,
        cv=settings.cv,
        distribution=settings.distribution,
        quantiles=quantiles,
        n_scenarios=settings.n_scenarios,
        seed=seed,
        deals=deals,
        market_correlation=settings.market_correlation,
        never_attain=book.ramped_potential <= 0,
    )


def stretch_target(
    book: RepBook, cfg: QuotaConfig, seed: int, deals: OpenDeals | None = None
) -> float:
    """Target (currency) at which ``cfg.stretch.share_attaining`` attain."""
    assert cfg.stretch is not None
    decimals = cfg.rounding_decimals
    expected = float(book.ramped_potential.sum()) * 10.0**decimals
    ceiling = max(1, round(20 * expected))
    floor, cap = bounds_in_units(
        book.ramped_potential, cfg.bounds.floor, cfg.bounds.cap, decimals, ceiling
    )
    shares = reference_weights(book, cfg)

    def share_attaining(quota_units: np.ndarray) -> float:
        total = round(float(quota_units.sum()))
        units = largest_remainder(quota_units, total, floor, cap)
        quota = to_currency(units, decimals)
        return attainment(book, quota, cfg, seed, deals).share_expected_to_attain

    target, _ = implied_target(
        shares,
        floor,
        np.minimum(cap, ceiling),
        cfg.stretch.share_attaining,
        share_attaining,
        unit=10.0**-decimals,
    )
    return float(to_currency(np.array([target]), decimals)[0])


def remaining_target(book: RepBook, cfg: QuotaConfig) -> float:
    """``cfg.target``, less bookings to date when re-setting mid-period.

    Raises
    ------
    InfeasibleError
        If bookings to date already reach the target.
    """
    assert cfg.target is not None
    if book.ytd is None:
        return cfg.target
    done = float(book.ytd.sum())
    left = round(cfg.target - done, cfg.rounding_decimals)
    if left <= 0:
        raise InfeasibleError(
            f"bookings to date {done:,.2f} already reach the target "
            f"{cfg.target:,.2f}; nothing is left to allocate"
        )
    return left


def quotas_table(
    book: RepBook,
    result: AllocationResult,
    sim: AttainmentResult,
    cfg: QuotaConfig,
    target: float,
) -> pd.DataFrame:
    """The ``quotas.csv`` table, one row per rep."""
    decimals = cfg.rounding_decimals
    quota = to_currency(result.quota_units, decimals)
    table = pd.DataFrame({"rep_id": book.rep_id, "potential": book.potential})
    if book.quantiles is not None:
        for name, values in zip(("p10", "p50", "p90"), book.quantiles, strict=True):
            table[f"potential_{name}"] = values
    if book.history is not None:
        table["history"] = book.history
    if book.months_in_seat is not None:
        table["months_in_seat"] = book.months_in_seat
    table["ramp_factor"] = np.round(book.ramp, 6)
    table["reference_quota"] = np.round(target * reference_weights(book, cfg), 2)
    table["quota"] = quota
    table["floor"] = to_currency(result.floor_units, decimals)
    cap = to_currency(result.cap_units, decimals)
    table["cap"] = cap if cfg.bounds.cap is not None else np.nan
    table["binding"] = result.binding
    if book.ytd is not None:
        table["bookings_ytd"] = book.ytd
        table["full_period_quota"] = np.round(book.ytd + quota, 2)
    table["quota_to_potential"] = _ratio(quota, book.potential * book.period_share)
    table["p_attain"] = np.round(sim.p_attain, 6)
    return table


MONEY = (
    "potential",
    "potential_p10",
    "potential_p50",
    "potential_p90",
    "history",
    "reference_quota",
    "quota",
    "floor",
    "cap",
    "bookings_ytd",
    "full_period_quota",
)
"""Columns of ``quotas.csv`` in currency, written in cents."""


def money_columns(table: pd.DataFrame) -> list[str]:
    """The :data:`MONEY` columns present in a ``quotas.csv`` table."""
    return [column for column in MONEY if column in table.columns]


def _ratio(quota: np.ndarray, potential: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(potential > 0, quota / potential, np.nan)
    return np.round(ratio, 6)


def summary(
    book: RepBook,
    result: AllocationResult,
    sim: AttainmentResult,
    cfg: QuotaConfig,
    target: float,
) -> dict[str, Any]:
    """The ``summary.json`` content."""
    total_units = np.array([result.quota_units.sum()])
    expected = float(sim.mean_bookings.sum())
    info = {
        "target": target,
        "quota_sum": float(to_currency(total_units, cfg.rounding_decimals)[0]),
        "rounding": ROUNDING_RULE,
        "rounding_unit": 10.0**-cfg.rounding_decimals,
        "method": cfg.method,
        "mode": "stretch" if cfg.stretch is not None else "target",
        "expected_bookings": round(expected, 2),
        "target_to_expected_bookings": round(target / expected, 6)
        if expected > 0
        else None,
        **_attainment_summary(sim, cfg),
        **_solver_summary(result, cfg),
    }
    quota = to_currency(result.quota_units, cfg.rounding_decimals)
    info["fairness"] = fairness_summary(quota, book.ramped_potential, sim.p_attain)
    if book.ytd is not None and cfg.ytd is not None:
        info["ytd"] = {
            "months_elapsed": cfg.ytd.months_elapsed,
            "bookings_ytd": round(float(book.ytd.sum()), 2),
            "remaining_target": target,
            "company_target": cfg.target,
        }
    if cfg.stretch is not None:
        info["stretch"] = _stretch_summary(cfg, target)
    return info


def _attainment_summary(sim: AttainmentResult, cfg: QuotaConfig) -> dict[str, Any]:
    settings = cfg.attainment
    if cfg.has_quantiles:
        label = "two-piece (lognormal or linear) through P10/P50/P90 times ramp"
    else:
        label = f"{settings.distribution}, cv {settings.cv:g}, mean ramped potential"
    p10, _, p90 = sim.share_quantiles()
    return {
        "share_expected_to_attain": round(sim.share_expected_to_attain, 6),
        "share_attaining_p10": round(p10, 6),
        "share_attaining_p90": round(p90, 6),
        "market_correlation": settings.market_correlation,
        "mc_standard_error": round(sim.standard_error, 6),
        "n_scenarios": sim.n_scenarios,
        "attainment_distribution": label,
    }


def _solver_summary(result: AllocationResult, cfg: QuotaConfig) -> dict[str, Any]:
    deviation = result.extra.get("deviation_after_rounding", 0.0)
    return {
        "n_reps": int(result.quota_units.size),
        "n_binding_floor": int((result.binding == "floor").sum()),
        "n_binding_cap": int((result.binding == "cap").sum()),
        "status": result.status,
        "objective": round(result.objective, 6),
        "best_bound": round(result.bound, 6),
        "gap": round(result.gap, 9),
        "deviation_after_rounding": round(deviation, 6),
        "lp_variables": result.n_variables,
        "lp_constraints": result.n_constraints,
        "solver": cfg.solver,
        "solve_seconds": round(result.seconds, 3),
    }


def _stretch_summary(cfg: QuotaConfig, target: float) -> dict[str, Any]:
    assert cfg.stretch is not None
    info: dict[str, Any] = {
        "share_attaining_goal": cfg.stretch.share_attaining,
        "implied_target": target,
        "company_target": cfg.target,
    }
    if cfg.target is not None:
        info["implied_minus_company_target"] = round(target - cfg.target, 2)
    return info


def run_set(cfg: QuotaConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Set quotas for the reps in ``cfg`` and write them to ``out``.

    Writes ``quotas.csv`` (one row per rep) and ``summary.json``. In
    stretch mode the target is first chosen so that the configured share
    of reps is expected to attain.

    Returns
    -------
    dict
        Headline figures: n_reps, target, quota_sum,
        share_expected_to_attain, n_binding_floor, n_binding_cap,
        solve_seconds (varies from run to run).
    """
    book = read_reps(cfg)
    deals = read_open_deals(cfg, book)
    if cfg.stretch is not None:
        target = stretch_target(book, cfg, seed, deals)
    else:
        target = remaining_target(book, cfg)
    result = allocate(book, cfg, target)
    quota = to_currency(result.quota_units, cfg.rounding_decimals)
    warn_zero_quotas(book, quota)
    sim = attainment(book, quota, cfg, seed, deals)
    table = quotas_table(book, result, sim, cfg, target)
    out.write_csv("quotas.csv", table, money_columns(table))
    info = summary(book, result, sim, cfg, target)
    if deals is not None:
        info["open_deals"] = {
            "n_deals": deals.n_deals,
            "n_rows": int(deals.rep.size),
            "expected_value": round(deals.expected_value, 2),
        }
    if cfg.phasing is not None:
        phased, info["phasing"] = phase_table(book, result, cfg)
        out.write_csv("quotas_by_period.csv", phased, ["quota"])
    info["mlflow_run_id"] = _track(cfg, info, seed)
    out.write_json("summary.json", info)
    _log(info, result)
    return {key: info[key] for key in HEADLINE_KEYS}


def warn_zero_quotas(book: RepBook, quota: np.ndarray) -> None:
    """Warn naming the reps whose quota (currency) is 0.

    Reps with potential 0 get quota 0 and count as not attaining in
    ``share_expected_to_attain`` (see :func:`attainment`).
    """
    zero = np.flatnonzero(quota <= 0)
    if zero.size == 0:
        return
    shown = ", ".join(
        f"{book.rep_id[i]!s} (potential {book.ramped_potential[i]:g})"
        for i in zero[:10]
    )
    more = f" and {zero.size - 10} more" if zero.size > 10 else ""
    warnings.warn(
        f"{zero.size} rep(s) get quota 0: {shown}{more}; reps with potential 0 "
        "count as not attaining in share_expected_to_attain",
        SpmoptWarning,
        stacklevel=2,
    )


def _track(cfg: QuotaConfig, info: dict[str, Any], seed: int) -> str | None:
    if not cfg.track:
        return None
    params = {
        "reps": cfg.reps,
        "method": cfg.method,
        "floor": cfg.bounds.floor,
        "cap": cfg.bounds.cap,
        "mode": info["mode"],
        "solver": cfg.solver,
        "seed": seed,
    }
    with tracked_run(cfg.experiment, "set", cfg.tracking_uri, params) as run:
        log_metrics({k: v for k, v in info.items() if isinstance(v, int | float)})
        return str(run.info.run_id)


def phase_weights(cfg: QuotaConfig) -> tuple[np.ndarray, list[str], dict[str, Any]]:
    """Period weights, labels and the summary entry of ``cfg.phasing``."""
    phasing = cfg.phasing
    assert phasing is not None
    observed: list[bool] = []
    if phasing.history is not None:
        field = "phasing.history"
        deals = load_table(phasing.history, name=named_field(phasing.history, field))
        table = table_name(phasing.history, field)
        deals = check_schema(deals, HISTORY_SCHEMA, table)
        monthly, observed = monthly_weights(deals)
        weights, labels = period_weights(monthly, phasing.periods, phasing.start_month)
    else:
        assert phasing.weights is not None
        weights = np.asarray(phasing.weights, dtype=float) / sum(phasing.weights)
        _, labels = period_weights(np.ones(12), phasing.periods, phasing.start_month)
    entry = {
        "periods": phasing.periods,
        "labels": labels,
        "weights": np.round(weights, 6).tolist(),
        "source": "history" if phasing.history is not None else "given",
        "months_missing_from_history": [
            i + 1 for i, seen in enumerate(observed) if not seen
        ],
    }
    return weights, labels, entry


def phase_table(
    book: RepBook, result: AllocationResult, cfg: QuotaConfig
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``quotas_by_period.csv`` (long format) and its summary entry."""
    weights, labels, entry = phase_weights(cfg)
    units = phase_quotas(result.quota_units, weights)
    n_reps = len(book.rep_id)
    frame = pd.DataFrame(
        {
            "rep_id": np.repeat(book.rep_id, len(labels)),
            "period": np.tile(labels, n_reps),
            "weight": np.tile(np.round(weights, 6), n_reps),
            "quota": to_currency(units.ravel(), cfg.rounding_decimals),
        }
    )
    return frame, entry


def _log(info: dict[str, Any], result: AllocationResult) -> None:
    logger.info(
        "quota set: %d reps, target %s, %.1f%% expected to attain, "
        "%d at floor, %d at cap, LP %d x %d, %.2f s",
        info["n_reps"],
        f"{info['target']:,.2f}",
        100 * info["share_expected_to_attain"],
        info["n_binding_floor"],
        info["n_binding_cap"],
        result.n_constraints,
        result.n_variables,
        result.seconds,
    )
