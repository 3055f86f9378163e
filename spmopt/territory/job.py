"""The ``territory solve`` job: validate, solve, explain, write the run folder."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt.runs import RunWriter
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.lpround import LPRoundModel
from spmopt.territory.mapplot import alignment_map
from spmopt.territory.model import (
    AlignmentModel,
    SolveResult,
    SolverSettings,
    allowed_pairs,
)
from spmopt.territory.outputs import (
    assignments_frame,
    distance_column,
    round_figure,
    summary_dict,
    territories_frame,
)
from spmopt.territory.problem import TerritoryProblem, build_problem
from spmopt.territory.reasons import move_reasons

EXPERIMENT = "spmopt-territory"


def solver_method(problem: TerritoryProblem, cfg: TerritoryConfig) -> str:
    """``cpsat`` or ``lp_round``: the configured method, or the one auto picks.

    Auto uses ``lp_round`` when the allowed pairs reach
    ``solver.lp_round_pairs`` and neither contiguity nor a balance penalty
    is asked for.
    """
    spec = cfg.solver
    if spec.method != "auto":
        return spec.method
    if cfg.contiguity is not None or cfg.objective.balance_penalty > 0:
        return "cpsat"
    pairs = int(allowed_pairs(problem, spec.k_nearest).sum())
    return "lp_round" if pairs >= spec.lp_round_pairs else "cpsat"


def build_model(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    explain: bool = False,
    method: str | None = None,
) -> AlignmentModel | LPRoundModel:
    """The model with every constraint family switched on in ``cfg``.

    The class follows ``method`` or else :func:`solver_method`; ``explain``
    always builds the CP-SAT model and guards each family by a literal (see
    :class:`AlignmentModel`).
    """
    model: AlignmentModel | LPRoundModel
    method = method or solver_method(problem, cfg)
    if not explain and method == "lp_round":
        model = LPRoundModel(problem, cfg.solver.k_nearest)
    else:
        model = AlignmentModel.from_problem(problem, cfg.solver.k_nearest, explain)
    if cfg.capacity:
        model.add_capacity()
    for spec in cfg.balance:
        model.add_balance(spec.measure, spec.tolerance, spec.min, spec.max)
    if cfg.locked:
        model.add_locked()
    if cfg.contiguity is not None:
        model.add_contiguity(contiguity_edges(problem, cfg))
    if cfg.disruption is not None and problem.has_current:
        model.add_disruption_budget(cfg.disruption.measure, cfg.disruption.budget)
    penalty_measure = cfg.disruption.measure if cfg.disruption else "potential"
    model.set_objective(
        cfg.objective.distance_weight,
        penalty_measure,
        cfg.objective.disruption_penalty if problem.has_current else 0.0,
        cfg.objective.balance_measure,
        cfg.objective.balance_penalty,
    )
    if problem.has_current:
        model.add_hint(problem.current)
    return model


def contiguity_edges(
    problem: TerritoryProblem, cfg: TerritoryConfig
) -> NDArray[np.int64]:
    """Adjacency edges named by ``cfg.contiguity``."""
    from spmopt.territory.contiguity import adjacency_from_table, delaunay_edges

    spec = cfg.contiguity
    assert spec is not None
    if spec.adjacency == "delaunay":
        return delaunay_edges(problem.unit_lat, problem.unit_lon)
    return adjacency_from_table(
        spec.adjacency, problem.unit_ids, spec.unit_a, spec.unit_b
    )


def settings_from(cfg: TerritoryConfig, seed: int) -> SolverSettings:
    """Solver limits from the config and the run's seed."""
    s = cfg.solver
    return SolverSettings(
        time_limit_seconds=s.time_limit_seconds,
        deterministic_time=s.deterministic_time,
        workers=s.workers,
        deterministic=s.deterministic,
        relative_gap=s.relative_gap,
        seed=seed,
    )


def solve_config(
    cfg: TerritoryConfig, seed: int = 0
) -> tuple[TerritoryProblem, SolveResult]:
    """Load the tables of ``cfg``, build and solve the model.

    Raises
    ------
    DataError
        When a table is missing or malformed.
    InfeasibleError
        When no alignment satisfies the constraints, saying which conflict.
    """
    problem = build_problem(cfg)
    result = build_model(problem, cfg).solve(settings_from(cfg, seed))
    if not result.has_solution:
        from spmopt.territory.explain import raise_no_solution

        raise_no_solution(problem, cfg, result)
    return problem, result


def run_solve(cfg: TerritoryConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Solve the alignment of ``cfg`` and write its files into ``out``.

    Writes ``assignments.csv``, ``territories.csv``, ``summary.json`` and
    ``map.html``; returns the headline figures. Design mode chooses the
    territory centres first (capacitated p-median).
    """
    problem = build_problem(cfg)
    if cfg.mode == "design":
        return _run_design(cfg, problem, out, seed)
    model = build_model(problem, cfg)
    with _tracking(cfg, problem) as run:
        result = model.solve(settings_from(cfg, seed))
        if not result.has_solution:
            from spmopt.territory.explain import raise_no_solution

            raise_no_solution(problem, cfg, result)
        summary = _summary(cfg, problem, result, run)
    _write(out, cfg, problem, result.assignment, summary)
    return _headline(summary)


def _run_design(
    cfg: TerritoryConfig, problem: TerritoryProblem, out: RunWriter, seed: int
) -> dict[str, Any]:
    from spmopt.territory.designjob import centre_table, solve_design

    with _tracking(cfg, problem) as run:
        named, result, centre_ids = solve_design(problem, cfg, settings_from(cfg, seed))
        summary = _summary(cfg, named, result, run)
        summary["lagrange_bound"] = round_figure(result.lagrange_bound)
        summary["pairs_kept"] = result.pairs_kept
    _write(
        out, cfg, named, result.assignment, summary, centre_table(centre_ids, problem)
    )
    return _headline(summary)


def _summary(
    cfg: TerritoryConfig, problem: TerritoryProblem, result: Any, run: Any
) -> dict[str, Any]:
    summary = summary_dict(cfg, problem, result)
    summary["mode"] = cfg.mode
    if cfg.mode == "rebalance":
        summary["solver_method"] = solver_method(problem, cfg)
    if run is not None:
        summary["mlflow_run_id"] = run.info.run_id
        _log_metrics(summary)
    return summary


def _tracking(cfg: TerritoryConfig, problem: TerritoryProblem) -> Any:
    if not cfg.track:
        return nullcontext(None)
    from spmopt.tracking import tracked_run

    params = {
        "n_units": problem.n_units,
        "n_reps": problem.n_reps,
        "k_nearest": cfg.solver.k_nearest,
        "balance": [f"{b.measure}±{b.tolerance}" for b in cfg.balance],
        "capacity": cfg.capacity,
        "disruption_budget": cfg.disruption.budget if cfg.disruption else None,
    }
    return tracked_run(EXPERIMENT, "solve", cfg.tracking_uri, params=params)


def _log_metrics(summary: dict[str, Any]) -> None:
    from spmopt.tracking import log_metrics

    keys = ("objective", "best_bound", "gap", "wall_seconds", "moved_share")
    log_metrics({k: summary[k] for k in (*keys, "max_balance_deviation")})


def _write(
    out: RunWriter,
    cfg: TerritoryConfig,
    problem: TerritoryProblem,
    assignment: NDArray[np.int64],
    summary: dict[str, Any],
    centres: pd.DataFrame | None = None,
) -> None:
    reasons = move_reasons(problem, cfg, assignment)
    distance = distance_column(problem, cfg)
    out.write_csv(
        "assignments.csv", assignments_frame(problem, assignment, reasons, distance)
    )
    territories = territories_frame(problem, assignment, distance)
    if centres is not None:
        territories = pd.concat([territories, centres], axis=1)
    out.write_csv("territories.csv", territories)
    out.write_json("summary.json", summary)
    out.write_text("map.html", alignment_map(problem, assignment))


def _headline(summary: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "status",
        "objective",
        "gap",
        "max_balance_deviation",
        "moved_share",
        "n_units",
        "n_reps",
        "wall_seconds",
    )
    return {key: summary[key] for key in keys if summary[key] is not None}
