"""The ``territory solve`` job: validate, solve, explain, write the run folder."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from spmopt.runs import RunWriter
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.mapplot import alignment_map
from spmopt.territory.model import AlignmentModel, SolveResult, SolverSettings
from spmopt.territory.outputs import (
    assignments_frame,
    summary_dict,
    territories_frame,
)
from spmopt.territory.problem import TerritoryProblem, build_problem
from spmopt.territory.reasons import move_reasons

EXPERIMENT = "spmopt-territory"


def build_model(
    problem: TerritoryProblem, cfg: TerritoryConfig, explain: bool = False
) -> AlignmentModel:
    """The CP-SAT model with every constraint family switched on in ``cfg``.

    ``explain`` guards each family by a literal (see :class:`AlignmentModel`).
    """
    model = AlignmentModel.from_problem(problem, cfg.solver.k_nearest, explain)
    if cfg.capacity:
        model.add_capacity()
    for spec in cfg.balance:
        model.add_balance(spec.measure, spec.tolerance, spec.min, spec.max)
    if cfg.locked:
        model.add_locked()
    if cfg.disruption is not None and problem.has_current:
        model.add_disruption_budget(cfg.disruption.measure, cfg.disruption.budget)
    penalty_measure = cfg.disruption.measure if cfg.disruption else "potential"
    model.set_objective(
        cfg.objective.distance_weight,
        penalty_measure,
        cfg.objective.disruption_penalty if problem.has_current else 0.0,
    )
    if problem.has_current:
        model.add_hint(problem.current)
    return model


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
    ``map.html``; returns the headline figures.
    """
    problem = build_problem(cfg)
    model = build_model(problem, cfg)
    with _tracking(cfg, problem) as run:
        result = model.solve(settings_from(cfg, seed))
        if not result.has_solution:
            from spmopt.territory.explain import raise_no_solution

            raise_no_solution(problem, cfg, result)
        summary = summary_dict(cfg, problem, result)
        if run is not None:
            summary["mlflow_run_id"] = run.info.run_id
            _log_metrics(summary)
    _write(out, cfg, problem, result, summary)
    return _headline(summary)


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
    result: SolveResult,
    summary: dict[str, Any],
) -> None:
    reasons = move_reasons(problem, cfg, result.assignment)
    out.write_csv(
        "assignments.csv", assignments_frame(problem, result.assignment, reasons)
    )
    out.write_csv("territories.csv", territories_frame(problem, result.assignment))
    out.write_json("summary.json", summary)
    out.write_text("map.html", alignment_map(problem, result.assignment))


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
    return {key: summary[key] for key in keys}
