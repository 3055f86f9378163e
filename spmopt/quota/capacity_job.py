"""The ``quota capacity`` job: headcount plan by month, or bookings supported."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from spmopt._logging import logger
from spmopt.config import named_field, table_name
from spmopt.data import check_schema, load_table, require_nonnegative
from spmopt.errors import InfeasibleError
from spmopt.quota.capacity import (
    CapacityPlanner,
    CapacityResult,
    Workforce,
    monthly_attrition,
    plan_table,
    simulate_bookings,
)
from spmopt.quota.config import CapacityConfig
from spmopt.runs import RunWriter

_MAX_ROUNDS = 30
_RAMPED = 1000
"""Months in seat assumed for reps listed without one (past any ramp)."""
HEADLINE_KEYS = (
    "mode",
    "target",
    "total_hires",
    "expected_bookings",
    "p_reach_target",
    "ending_expected_headcount",
)


def workforce_from(cfg: CapacityConfig) -> Workforce:
    """Productivity assumptions of ``cfg`` as a :class:`Workforce`."""
    months = np.arange(cfg.horizon_months) % 12
    if cfg.seasonality is None:
        season = np.ones(cfg.horizon_months)
    else:
        weights = np.asarray(cfg.seasonality, dtype=float)
        season = (weights / weights.mean())[months]
    return Workforce(
        horizon=cfg.horizon_months,
        monthly_bookings=cfg.quota_per_rep / 12.0 * cfg.expected_attainment,
        ramp=cfg.ramp,
        attrition=monthly_attrition(cfg.attrition_annual),
        seasonality=season,
    )


def existing_reps(cfg: CapacityConfig) -> np.ndarray:
    """Months in seat of every rep at the start of the plan.

    Reps listed in ``reps_in_seat`` plus one per row of the ``reps`` table
    (fully ramped when it has no months-in-seat column).

    Raises
    ------
    DataError
        For a missing file, an empty table or a negative or non-numeric
        months in seat.
    """
    tenures = [c.months_in_seat for c in cfg.reps_in_seat for _ in range(c.count)]
    if cfg.reps is not None:
        tenures += _tenures_from_table(cfg.reps, cfg.months_in_seat_column)
    return np.asarray(tenures, dtype=np.int64)


def _tenures_from_table(ref: str, column: str) -> list[int]:
    frame = load_table(ref, name=named_field(ref, "reps"))
    table = table_name(ref, "reps")
    frame = check_schema(frame, {}, table, optional={column: "float"})
    if column not in frame:
        return [_RAMPED] * len(frame)
    require_nonnegative(frame, column, table)
    return [int(m) for m in np.floor(frame[column].to_numpy(dtype=float))]


def choose_hires(
    cfg: CapacityConfig,
    workforce: Workforce,
    existing: np.ndarray,
    target: float | None = None,
) -> CapacityResult:
    """Plan mode: hires reaching ``target`` (default ``cfg.target``) in
    expectation; reverse mode: the hires as given."""
    if cfg.hires is None:
        planner = CapacityPlanner(
            workforce,
            existing,
            cfg.hiring_lag_months,
            cfg.max_hires_per_month,
        )
        goal = cfg.target if target is None else target
        assert goal is not None
        return planner.solve(goal, cfg.solver, cfg.time_limit_seconds)
    hires = np.zeros(cfg.horizon_months, dtype=np.int64)
    hires[: len(cfg.hires)] = cfg.hires
    return CapacityResult(hires, "Given", float("nan"), 0.0)


def simulate_plan(
    cfg: CapacityConfig,
    workforce: Workforce,
    existing: np.ndarray,
    hires: np.ndarray,
    seed: int,
) -> np.ndarray:
    """Total plan bookings per scenario (seeded), currency."""
    settings = cfg.simulation
    return simulate_bookings(
        workforce, existing, hires, settings.cv, settings.n_scenarios, seed
    )


def plan_hires(
    cfg: CapacityConfig, workforce: Workforce, existing: np.ndarray, seed: int
) -> tuple[CapacityResult, np.ndarray, float | None]:
    """Hires, simulated totals and the expected bookings planned for.

    With ``cfg.confidence`` the plan is sized for a higher expected
    bookings figure, raised by the simulated shortfall at the
    ``1 - confidence`` quantile until the target is reached with that
    probability (at most 30 rounds, same random draws each round).
    """
    result = choose_hires(cfg, workforce, existing)
    totals = simulate_plan(cfg, workforce, existing, result.hires, seed)
    if cfg.confidence is None or cfg.target is None:
        return result, totals, cfg.target
    planned = cfg.target
    for _ in range(_MAX_ROUNDS):
        if float((totals >= cfg.target).mean()) >= cfg.confidence:
            return result, totals, planned
        low = float(np.quantile(totals, 1 - cfg.confidence))
        planned += max(cfg.target - low, 0.001 * cfg.target)
        try:
            result = choose_hires(cfg, workforce, existing, planned)
        except InfeasibleError as exc:
            raise InfeasibleError(
                f"confidence {cfg.confidence:g} needs about {planned:,.0f} of "
                f"expected bookings, which the hiring limits cannot reach: {exc}"
            ) from None
        totals = simulate_plan(cfg, workforce, existing, result.hires, seed)
    raise InfeasibleError(
        f"confidence {cfg.confidence:g} not reached after {_MAX_ROUNDS} rounds "
        f"(planning for {planned:,.0f} expected bookings)"
    )


def plan_frame(table: dict[str, np.ndarray]) -> pd.DataFrame:
    """``headcount_plan.csv``: one row per plan month, rounded for reading."""
    frame = pd.DataFrame(table)
    for column in ("month", "requisitions_opened", "hires_starting"):
        frame[column] = frame[column].astype(np.int64)
    for column in ("expected_headcount", "expected_leavers", "ramped_fte"):
        frame[column] = frame[column].round(4)
    cents = np.round(frame["expected_bookings"].to_numpy() * 100).astype(np.int64)
    frame["expected_bookings"] = cents / 100
    frame["cumulative_bookings"] = np.cumsum(cents) / 100  # adds up as printed
    return frame


PLAN_MONEY = ["expected_bookings", "cumulative_bookings"]
"""Columns of ``headcount_plan.csv`` in currency, written in cents."""


def capacity_summary(
    cfg: CapacityConfig,
    result: CapacityResult,
    table: dict[str, np.ndarray],
    totals: np.ndarray,
) -> dict[str, Any]:
    """``summary.json`` of the capacity job."""
    rep_months = float(table["expected_headcount"].sum())
    info: dict[str, Any] = {
        "mode": "plan" if cfg.hires is None else "supported",
        "target": cfg.target,
        "total_hires": int(result.hires.sum()),
        "hires_by_month": result.hires.tolist(),
        "ending_expected_headcount": round(float(table["expected_headcount"][-1]), 4),
        "expected_rep_months": round(rep_months, 4),
        "expected_bookings": _cents_total(table["expected_bookings"]),
        "bookings_p10": round(float(np.percentile(totals, 10)), 2),
        "bookings_p50": round(float(np.percentile(totals, 50)), 2),
        "bookings_p90": round(float(np.percentile(totals, 90)), 2),
        "p_reach_target": _p_reach(cfg, totals),
        "n_scenarios": int(totals.size),
        "attrition_monthly": round(monthly_attrition(cfg.attrition_annual), 6),
        "status": result.status,
        "solve_seconds": round(result.seconds, 3),
    }
    if cfg.cost_per_rep_month is not None:
        info["expected_cost"] = round(rep_months * cfg.cost_per_rep_month, 2)
    return info


def _cents_total(values: np.ndarray) -> float:
    """Sum of ``values`` rounded to cents one by one, as the plan table shows."""
    return int(np.round(np.asarray(values) * 100).astype(np.int64).sum()) / 100


def _p_reach(cfg: CapacityConfig, totals: np.ndarray) -> float | None:
    if cfg.target is None:
        return None
    return round(float((totals >= cfg.target).mean()), 6)


def run_capacity(cfg: CapacityConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Plan headcount for a target (or price a hiring plan); write to ``out``.

    Writes ``headcount_plan.csv`` (one row per month) and ``summary.json``.

    Returns
    -------
    dict
        Headline: mode, target, total_hires, expected_bookings,
        p_reach_target, ending_expected_headcount.
    """
    workforce = workforce_from(cfg)
    existing = existing_reps(cfg)
    result, totals, planned = plan_hires(cfg, workforce, existing, seed)
    table = plan_table(workforce, existing, result.hires, cfg.hiring_lag_months)
    out.write_csv("headcount_plan.csv", plan_frame(table), PLAN_MONEY)
    info = capacity_summary(cfg, result, table, totals)
    info["starting_headcount"] = int(existing.size)
    info["confidence"] = cfg.confidence
    info["planned_expected_bookings"] = None if planned is None else round(planned, 2)
    out.write_json("summary.json", info)
    logger.info(
        "quota capacity (%s): %d hires, expected bookings %s, P10-P90 %s-%s",
        info["mode"],
        info["total_hires"],
        f"{info['expected_bookings']:,.0f}",
        f"{info['bookings_p10']:,.0f}",
        f"{info['bookings_p90']:,.0f}",
    )
    return {key: info[key] for key in HEADLINE_KEYS}
