"""Territory alignment: balanced, capacity-aware assignment of units to reps.

Build a :class:`TerritoryConfig` (from YAML or a dict), then call
:func:`run_solve` to write a run folder, or use :class:`AlignmentModel`
directly on a :class:`TerritoryProblem`.
"""

from spmopt.territory.config import TerritoryConfig
from spmopt.territory.design import DesignResult, PMedianModel
from spmopt.territory.geometry import euclidean, haversine_km, nearest_mask
from spmopt.territory.job import build_model, run_solve, solve_config, solver_method
from spmopt.territory.lpround import LPRoundModel
from spmopt.territory.model import AlignmentModel, SolveResult, SolverSettings
from spmopt.territory.orlib import PMedCapInstance, read_pmedcap, truncated_distances
from spmopt.territory.pareto import run_pareto
from spmopt.territory.problem import TerritoryProblem, build_problem
from spmopt.territory.remedies import apply_remedies

__all__ = [
    "AlignmentModel",
    "DesignResult",
    "LPRoundModel",
    "PMedCapInstance",
    "PMedianModel",
    "SolveResult",
    "SolverSettings",
    "TerritoryConfig",
    "TerritoryProblem",
    "apply_remedies",
    "build_model",
    "build_problem",
    "euclidean",
    "haversine_km",
    "nearest_mask",
    "read_pmedcap",
    "run_pareto",
    "run_solve",
    "solve_config",
    "solver_method",
    "truncated_distances",
]
