"""Design mode of the solve job: choose centres, then name the territories."""

from __future__ import annotations

from dataclasses import replace
from typing import NoReturn

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt.errors import InfeasibleError
from spmopt.territory.config import BalanceSpec, TerritoryConfig
from spmopt.territory.design import DesignResult, PMedianModel
from spmopt.territory.explain import format_pair, limit_words
from spmopt.territory.model import SolverSettings
from spmopt.territory.problem import NO_REP, TerritoryProblem


def design_band(
    values: NDArray[np.float64], p: int, spec: BalanceSpec
) -> tuple[float, float]:
    """Band of one territory's ``values`` sum: equal shares of the total."""
    target = values.sum() / p
    low, high = 0.0, np.inf
    if spec.tolerance is not None:
        low, high = target * (1 - spec.tolerance), target * (1 + spec.tolerance)
    if spec.min is not None:
        low = max(low, spec.min)
    if spec.max is not None:
        high = min(high, spec.max)
    return float(low), float(high)


def design_model(problem: TerritoryProblem, cfg: TerritoryConfig) -> PMedianModel:
    """Capacitated p-median over the candidate centres of ``problem``."""
    assert cfg.design is not None
    p = cfg.design.territories
    weight = cfg.objective.distance_weight
    w = np.ones(problem.n_units) if weight == "none" else problem.measure(weight)
    capacity = problem.capacity if cfg.capacity else np.full(problem.n_reps, np.inf)
    model = PMedianModel(
        problem.distance * w[:, None],
        problem.workload,
        capacity,
        p,
        cfg.design.k_nearest,
    )
    model.locate_sites(problem.rep_lat, problem.rep_lon, problem.coords)
    for spec in cfg.balance:
        values = problem.measure(spec.measure)
        model.add_balance(values, *design_band(values, p, spec))
    return model


def solve_design(
    problem: TerritoryProblem, cfg: TerritoryConfig, settings: SolverSettings
) -> tuple[TerritoryProblem, DesignResult, NDArray[np.object_]]:
    """Solve the design model.

    Returns
    -------
    territories : TerritoryProblem
        Reps are the chosen centres, named T01, T02, ...
    result : DesignResult
        With ``assignment`` renumbered to the named territories.
    centre_ids : ndarray of str, shape (p,)
        Unit id of each territory's centre.
    """
    assert cfg.design is not None
    _precheck(problem, cfg)
    model = design_model(problem, cfg)
    _check_reach(model, cfg)
    result = model.solve(settings, use_bounds=cfg.design.use_bounds)
    if not result.has_solution:
        ended = result.method == "band-locate-allocate" and not result.hit_limit
        _raise_no_design(cfg, result.status, ended)
    named, assignment, centre_ids = named_territories(problem, result)
    return named, replace(result, assignment=assignment), centre_ids


def _raise_no_design(
    cfg: TerritoryConfig, status: str, search_ended: bool = False
) -> NoReturn:
    """Say whether the design is proven impossible, was not found in time, or
    was not found by the large banded search before it ended (``search_ended``).
    """
    assert cfg.design is not None
    p = cfg.design.territories
    band = "widen the balance band, " if cfg.balance else ""
    if search_ended:
        raise InfeasibleError(
            f"no design with {p} territories found: every allocation of the "
            f"search for large balanced designs left a territory outside a "
            f"balance band or over capacity, and that search cannot prove that no "
            f"design exists; widen the balance band, raise design.capacity or "
            f"design.k_nearest, or change design.territories"
        )
    if status == "infeasible":
        raise InfeasibleError(
            f"no design with {p} territories satisfies the constraints: {band}"
            f"raise design.capacity or design.k_nearest, or change "
            f"design.territories"
        )
    raise InfeasibleError(
        f"no design with {p} territories found within {limit_words(cfg)}; "
        f"none is proven impossible: raise the limit, or {band}raise "
        f"design.capacity or design.k_nearest"
    )


def _precheck(problem: TerritoryProblem, cfg: TerritoryConfig) -> None:
    assert cfg.design is not None
    p, causes = cfg.design.territories, []
    cap = problem.capacity[0] if cfg.capacity else np.inf
    if problem.workload.sum() > p * cap:
        noun = "territory" if p == 1 else "territories"
        causes.append(
            f"total workload {problem.workload.sum():,.1f} exceeds {p} {noun} "
            f"x design.capacity {cap:,.1f}"
        )
    for i in np.flatnonzero(problem.workload > cap):
        own, limit = format_pair(problem.workload[i], cap)
        causes.append(
            f"unit {problem.unit_ids[i]} alone has workload {own} > "
            f"design.capacity {limit}"
        )
    for spec in cfg.balance:
        values = problem.measure(spec.measure)
        causes += _band_total_causes(values, p, spec)
        _, high = design_band(values, p, spec)
        for i in np.flatnonzero(values > high):
            causes.append(
                f"unit {problem.unit_ids[i]} alone holds {spec.measure} "
                f"{values[i]:,.0f}, above a territory's band max {high:,.0f}: leave "
                f"it out of the units table (a territory of its own), split it into "
                f"several rows of the units table, or widen the band (balance "
                f"tolerance)"
            )
    if causes:
        raise InfeasibleError(
            "no design satisfies the constraints: " + "; ".join(causes[:5])
        )


def _band_total_causes(
    values: NDArray[np.float64], p: int, spec: BalanceSpec
) -> list[str]:
    """The total of a banded measure cannot fill ``p`` bands, or overflows them."""
    low, high = design_band(values, p, spec)
    total, name = float(values.sum()), spec.measure
    if total < p * low * (1 - 1e-9):
        return [
            f"total {name} {total:,.1f} is below {p} territories x the band min "
            f"{low:,.1f} (balance min of {name}): lower that min or design.territories"
        ]
    if total > p * high * (1 + 1e-9):
        return [
            f"total {name} {total:,.1f} exceeds {p} territories x the band max "
            f"{high:,.1f} (balance max of {name}): raise that max or design.territories"
        ]
    return []


def _check_reach(model: PMedianModel, cfg: TerritoryConfig) -> None:
    """Refuse when no ``p`` centres can be among every unit's allowed ones.

    A candidate can serve only the units that allow it (their
    ``design.k_nearest`` nearest, or, on the large banded path where
    ``k_nearest`` counts open centres, every candidate at a finite
    distance); if the ``p`` candidates allowed by the most units together
    reach fewer than all units, no design exists.
    """
    assert cfg.design is not None
    p, n = model.p, len(model.demand)
    reach = np.sort(model.reach.sum(axis=0))[::-1][:p]
    if int(reach.sum()) >= n:
        return
    if model.takes_band_path:
        raise InfeasibleError(
            f"no design satisfies the constraints: the {p} candidates at a known "
            f"distance from the most units reach only {int(reach.sum()):,} of "
            f"{n:,} units, so some unit has no centre it can join; add its "
            f"distances to the distance table or raise design.territories"
        )
    raise InfeasibleError(
        f"no design satisfies the constraints: with design.k_nearest "
        f"{cfg.design.k_nearest} the {p} candidates nearest to the most units "
        f"reach only {int(reach.sum()):,} of {n:,} units, so some unit has no "
        f"centre among its nearest; raise design.k_nearest (to at least about "
        f"{-(-n // p)}, the units per territory) or design.territories"
    )


def named_territories(
    problem: TerritoryProblem, result: DesignResult
) -> tuple[TerritoryProblem, NDArray[np.int64], NDArray[np.object_]]:
    """Reps become the chosen centres, named T01, T02, ... from north to south.

    Returns the renamed problem, the assignment to territory indices and
    the unit id of each territory's centre.
    """
    centres = result.centres
    order = np.lexsort((problem.rep_lon[centres], -problem.rep_lat[centres]))
    centres = centres[order]
    index = np.full(problem.n_reps, NO_REP, dtype=np.int64)
    index[centres] = np.arange(len(centres))
    names = np.array([f"T{k + 1:02d}" for k in range(len(centres))], dtype=object)
    named = replace(
        problem,
        rep_ids=names,
        rep_lat=problem.rep_lat[centres],
        rep_lon=problem.rep_lon[centres],
        capacity=problem.capacity[centres],
        target_share=np.full(len(centres), 1.0 / len(centres)),
        distance=problem.distance[:, centres],
        current=np.full(problem.n_units, NO_REP, dtype=np.int64),
        locked=np.full(problem.n_units, NO_REP, dtype=np.int64),
    )
    return named, index[result.assignment], problem.rep_ids[centres]


def centre_table(
    centre_ids: NDArray[np.object_], problem: TerritoryProblem
) -> pd.DataFrame:
    """``centre_unit_id`` (and ``centre_name`` when known) per territory."""
    frame = pd.DataFrame({"centre_unit_id": centre_ids})
    if "name" in problem.extra.columns:
        names = dict(zip(problem.unit_ids, problem.extra["name"], strict=True))
        frame["centre_name"] = [names[c] for c in centre_ids]
    return frame
