"""Balance-versus-disruption curve: sweep the disruption budget and keep the
non-dominated alignments (epsilon-constraint method)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt._logging import logger
from spmopt.errors import ConfigError, TimeLimitWarning
from spmopt.runs import RunWriter
from spmopt.territory.config import BalanceSpec, DisruptionSpec, TerritoryConfig
from spmopt.territory.job import build_model, settings_from
from spmopt.territory.model import SolveResult
from spmopt.territory.outputs import max_balance_deviation, moved_share
from spmopt.territory.problem import NO_REP, TerritoryProblem, build_problem


def sweep_configs(cfg: TerritoryConfig) -> list[TerritoryConfig]:
    """One config per (tolerance, budget) point of the sweep."""
    spec = cfg.pareto
    base = cfg.balance[0] if cfg.balance else BalanceSpec(measure="potential")
    tolerances: list[float | None] = list(spec.tolerances or [base.tolerance])
    points = []
    for tol in tolerances:
        balance = [base.model_copy(update={"tolerance": tol}), *cfg.balance[1:]]
        for budget in spec.budgets:
            disruption = DisruptionSpec(measure=spec.measure, budget=budget)
            points.append(
                cfg.model_copy(update={"balance": balance, "disruption": disruption})
            )
    return points


def non_dominated(frame: pd.DataFrame, columns: list[str]) -> NDArray[np.bool_]:
    """True for rows that no other row beats (all columns minimised).

    Rows with a missing value are dominated; of identical rows only the
    first is kept.
    """
    values = frame[columns].to_numpy(dtype=float)
    finite = np.isfinite(values).all(axis=1)
    keep = finite.copy()
    for i in np.flatnonzero(finite):
        others = values[finite]
        beaten = (others <= values[i]).all(axis=1) & (others < values[i]).any(axis=1)
        same_before = (values[:i][finite[:i]] == values[i]).all(axis=1)
        keep[i] = not beaten.any() and not same_before.any()
    return keep


def _point(
    problem: TerritoryProblem, cfg: TerritoryConfig, seed: int
) -> tuple[dict[str, Any], NDArray[np.int64] | None, SolveResult]:
    assert cfg.disruption is not None
    tol = cfg.balance[0].tolerance if cfg.balance else None
    row: dict[str, Any] = {"budget": cfg.disruption.budget, "tolerance": tol}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TimeLimitWarning)
        result = build_model(problem, cfg).solve(settings_from(cfg, seed))
    row["status"] = result.status
    if not result.has_solution:
        return row, None, result
    a, measure = result.assignment, cfg.disruption.measure
    row.update(
        compactness=round(result.objective, 6),
        moved_share=round(moved_share(problem, a, measure), 9),
        max_balance_deviation=round(max_balance_deviation(problem, a, "potential"), 9),
        gap=round(result.gap, 9),
    )
    return row, a, result


def run_pareto(cfg: TerritoryConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Solve every sweep point; write ``pareto.csv`` and the alignments.

    ``pareto.csv`` has one row per point (budget, tolerance, status,
    compactness, moved_share, max_balance_deviation, gap, non_dominated,
    point); ``pareto_assignments.csv`` has the rep of every unit at every
    non-dominated point.
    """
    if cfg.mode != "rebalance":
        raise ConfigError(
            "pareto needs mode: rebalance (with reps and a current alignment)"
        )
    problem = build_problem(cfg)
    if not problem.has_current:
        raise ConfigError(
            "pareto sweeps the disruption budget and needs a current alignment: "
            "set 'current' (a table or 'nearest') or units.current_owner"
        )
    rows, alignments, results = [], [], []
    for point_cfg in sweep_configs(cfg):
        row, assignment, result = _point(problem, point_cfg, seed)
        rows.append(row)
        alignments.append(assignment)
        results.append((point_cfg, result))
    if all(a is None for a in alignments):
        from spmopt.territory.explain import raise_no_solution

        raise_no_solution(problem, *max(results, key=_looseness))
    frame = _table(rows)
    _write(out, problem, frame, alignments)
    front = frame[frame["non_dominated"]]
    logger.info("territory pareto: %d points, %d non-dominated", len(frame), len(front))
    return {
        "points": len(frame),
        "non_dominated": len(front),
        "feasible": int(frame["compactness"].notna().sum()),
    }


def _looseness(point: tuple[TerritoryConfig, SolveResult]) -> tuple[float, float]:
    """Sort key: the widest balance band, then the largest disruption budget."""
    cfg = point[0]
    tol = cfg.balance[0].tolerance if cfg.balance else None
    budget = cfg.disruption.budget if cfg.disruption is not None else 0.0
    return (np.inf if tol is None else tol, budget)


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in ("compactness", "moved_share", "max_balance_deviation", "gap"):
        if column not in frame.columns:
            frame[column] = np.nan
    frame["non_dominated"] = non_dominated(
        frame, ["compactness", "moved_share", "max_balance_deviation"]
    )
    frame["point"] = [f"P{i + 1:02d}" for i in range(len(frame))]
    return frame


def _write(
    out: RunWriter,
    problem: TerritoryProblem,
    frame: pd.DataFrame,
    alignments: list[NDArray[np.int64] | None],
) -> None:
    out.write_csv("pareto.csv", frame)
    wide = pd.DataFrame({"unit_id": problem.unit_ids})
    wide["current_rep_id"] = [
        None if k == NO_REP else problem.rep_ids[k] for k in problem.current
    ]
    for keep, point, a in zip(
        frame["non_dominated"], frame["point"], alignments, strict=True
    ):
        if keep and a is not None:
            wide[point] = problem.rep_ids[a]
    out.write_csv("pareto_assignments.csv", wide)
