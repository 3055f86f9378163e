"""Why each unit moved, in words a rep or manager can check.

A move is attributed to the first cause that applies: the previous rep was
over capacity, the previous rep was above its balance band, the new rep was
below its band, or, when none holds, the move shortened the distance to the
base (compactness). Each reason states the figures behind it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt.territory.config import TerritoryConfig
from spmopt.territory.outputs import band_status, rep_totals
from spmopt.territory.problem import NO_REP, TerritoryProblem


def move_reasons(
    problem: TerritoryProblem, cfg: TerritoryConfig, assignment: NDArray[np.int64]
) -> list[str]:
    """One reason per unit: empty when it stayed, words when it moved or is new.

    Parameters
    ----------
    problem : TerritoryProblem
    cfg : TerritoryConfig
        Supplies the balance bands and whether capacity applies.
    assignment : ndarray of int, shape (n_units,)
        The new rep index per unit.
    """
    if not problem.has_current:
        return ["new alignment"] * problem.n_units
    before = rep_totals(problem, problem.current)
    bands = band_status(problem, cfg, before)
    reasons = []
    for i in range(problem.n_units):
        old, new = int(problem.current[i]), int(assignment[i])
        if old == NO_REP:
            reasons.append(f"had no owner; nearest allowed rep {problem.rep_ids[new]}")
        elif old == new:
            reasons.append("")
        else:
            reasons.append(_why(problem, cfg, before, bands, i, old, new))
    return reasons


def _why(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    before: pd.DataFrame,
    bands: list[str],
    i: int,
    old: int,
    new: int,
) -> str:
    names = problem.rep_ids
    workload = before["workload"].to_numpy()
    if cfg.capacity and workload[old] > problem.capacity[old] * (1 + 1e-9):
        return (
            f"capacity: {names[old]} had workload {workload[old]:,.1f} over its "
            f"capacity {problem.capacity[old]:,.1f}; this unit frees "
            f"{problem.workload[i]:,.1f}"
        )
    if "above" in bands[old]:
        return f"balance: {names[old]} {bands[old]}; this unit takes {_p(problem, i)}"
    if "below" in bands[new]:
        return f"balance: {names[new]} {bands[new]}; this unit adds {_p(problem, i)}"
    d_old, d_new = problem.distance[i, old], problem.distance[i, new]
    km = " km" if cfg.distances is None and cfg.units.coords == "latlon" else ""
    if d_new < d_old:
        return (
            f"compactness: {names[new]}'s base is {d_new:,.0f}{km} away instead "
            f"of {d_old:,.0f}{km} (saves {d_old - d_new:,.0f}{km})"
        )
    return (
        f"balance: makes room in {names[old]} for the overall balance; "
        f"{names[new]}'s base is {d_new - d_old:,.0f}{km} farther"
    )


def _p(problem: TerritoryProblem, i: int) -> str:
    return f"potential {problem.potential[i]:,.0f}"
