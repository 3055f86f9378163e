"""Territory solves as a sweep: many alignments solved in parallel.

:func:`solve_alignments` runs one territory solve per design (e.g. one per
disruption budget, or one per region) as a sweep task with its own time
limit; :func:`disruption_designs` builds the designs of the
balance-versus-disruption curve from one configuration. A design with no
feasible alignment is reported with the solver's explanation; the other
designs' results are kept.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from spmopt.scale.sweep import SweepResult, sweep_designs
from spmopt.territory import TerritoryConfig, TerritoryProblem, solve_config

FIGURES = ("status", "objective", "bound", "gap", "hit_limit")


def solve_design(
    cfg: TerritoryConfig, seed: int = 0, time_limit_seconds: float | None = None
) -> dict[str, Any]:
    """Solve one territory design; return its headline figures.

    Parameters
    ----------
    cfg : TerritoryConfig
    seed : int
        Solver seed.
    time_limit_seconds : float, optional
        Lowers the solver's own time limit to this, seconds.

    Returns
    -------
    dict
        ``status``, ``objective``, ``bound``, ``gap``, ``hit_limit``,
        ``n_units``, ``n_reps`` and ``moved_units`` (units whose rep
        differs from the current one; -1 without a current alignment).
    """
    if time_limit_seconds is not None:
        limit = min(cfg.solver.time_limit_seconds, time_limit_seconds)
        solver = cfg.solver.model_copy(update={"time_limit_seconds": limit})
        cfg = cfg.model_copy(update={"solver": solver})
    problem, result = solve_config(cfg, seed)
    figures = {name: getattr(result, name) for name in FIGURES}
    figures["n_units"] = len(result.assignment)
    figures["n_reps"] = problem.n_reps
    figures["moved_units"] = _moved(problem, result.assignment)
    return figures


def _moved(problem: TerritoryProblem, assignment: np.ndarray) -> int:
    known = problem.current >= 0
    if not known.any():
        return -1
    return int(((assignment != problem.current) & known).sum())


def disruption_designs(
    cfg: TerritoryConfig, budgets: Sequence[float], solver_workers: int = 1
) -> dict[str, TerritoryConfig]:
    """One design per disruption budget (share of potential allowed to move).

    Parameters
    ----------
    cfg : TerritoryConfig
        The base configuration; needs a current alignment.
    budgets : sequence of float
        Budgets in [0, 1].
    solver_workers : int
        CP-SAT workers of each solve; keep ``solver_workers x Dask
        workers`` at or below the machine's cores.

    Returns
    -------
    dict of str to TerritoryConfig
        Keyed ``"budget=<b>"``, in the order of ``budgets``.
    """
    from spmopt.territory.config import DisruptionSpec

    measure = cfg.disruption.measure if cfg.disruption else "potential"
    solver = cfg.solver.model_copy(update={"workers": solver_workers})
    designs = {}
    for budget in budgets:
        spec = DisruptionSpec(measure=measure, budget=budget)
        update = {"disruption": spec, "solver": solver}
        designs[f"budget={budget:g}"] = cfg.model_copy(update=update)
    return designs


def solve_alignments(
    designs: Mapping[str, TerritoryConfig],
    seed: int = 0,
    client: Any = None,
    time_limit_seconds: float | None = None,
) -> SweepResult:
    """Solve every design as a sweep task (Dask when ``client`` is given).

    Parameters
    ----------
    designs : mapping of str to TerritoryConfig
    seed : int
        Solver seed, the same for every design.
    client : distributed.Client, optional
    time_limit_seconds : float, optional
        Each solve's time limit, seconds (also lowers the solver's own).

    Returns
    -------
    SweepResult
        Per design: the :func:`solve_design` figures, or the error (e.g.
        the infeasibility explanation).
    """
    return sweep_designs(solve_design, designs, seed, client, time_limit_seconds)
