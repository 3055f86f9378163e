"""Explain in user terms why no alignment satisfies the constraints."""

from __future__ import annotations

from typing import NoReturn

import numpy as np

from spmopt.errors import InfeasibleError
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.model import SolveResult
from spmopt.territory.problem import TerritoryProblem


def raise_no_solution(
    problem: TerritoryProblem, cfg: TerritoryConfig, result: SolveResult
) -> NoReturn:
    """Raise an :class:`InfeasibleError` naming the conflicting constraints."""
    if result.status == "unknown":
        raise InfeasibleError(
            f"no alignment found within time_limit_seconds="
            f"{cfg.solver.time_limit_seconds}; the problem may be infeasible or "
            f"too hard for the limit: raise solver.time_limit_seconds or "
            f"solver.k_nearest, or widen the balance tolerance"
        )
    causes = conflict_causes(problem, cfg)
    text = "; ".join(causes) if causes else "the constraints conflict as a whole"
    raise InfeasibleError(f"no alignment satisfies the constraints: {text}")


def conflict_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    """Simple, certain reasons for infeasibility found by counting."""
    causes: list[str] = []
    total_w, total_c = problem.workload.sum(), problem.capacity.sum()
    if cfg.capacity and np.isfinite(total_c) and total_w > total_c:
        causes.append(
            f"total workload {total_w:,.1f} exceeds total capacity {total_c:,.1f} "
            f"by {total_w - total_c:,.1f}"
        )
    return causes
