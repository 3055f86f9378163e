"""Explain in user terms why no alignment satisfies the constraints.

Two layers. First, counting arguments that are certain and name the data
(a unit too big for every rep it may go to, a rep that cannot reach its
band, total workload above total capacity, a disruption budget below the
moves the bands force). Second, when counting finds nothing, CP-SAT is asked
for a small set of constraint families that conflict on their own.
"""

from __future__ import annotations

from typing import NoReturn

import numpy as np
from numpy.typing import NDArray

from spmopt.errors import InfeasibleError
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.model import (
    AlignmentModel,
    SolveResult,
    allowed_pairs,
    balance_band,
)
from spmopt.territory.outputs import rep_totals
from spmopt.territory.problem import NO_REP, TerritoryProblem

MAX_CAUSES = 5
"""Causes listed in one message; the rest are counted."""


def raise_no_solution(
    problem: TerritoryProblem, cfg: TerritoryConfig, result: SolveResult
) -> NoReturn:
    """Raise an :class:`InfeasibleError` naming the conflicting constraints."""
    if result.status == "unknown":
        raise InfeasibleError(
            f"no alignment found within solver.time_limit_seconds="
            f"{cfg.solver.time_limit_seconds}; the problem may be infeasible or "
            f"too hard for the limit: raise the limit or solver.k_nearest, or "
            f"widen the balance tolerance"
        )
    causes = conflict_causes(problem, cfg) or family_causes(problem, cfg)
    shown = causes[:MAX_CAUSES]
    if len(causes) > MAX_CAUSES:
        shown.append(f"and {len(causes) - MAX_CAUSES} more")
    raise InfeasibleError("no alignment satisfies the constraints: " + "; ".join(shown))


def conflict_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    """Certain reasons for infeasibility found by counting, in user terms."""
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    causes: list[str] = []
    if cfg.capacity:
        causes += _capacity_causes(problem, allowed)
    for spec in cfg.balance:
        lows, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        causes += _band_causes(problem, allowed, spec.measure, lows, highs)
    if cfg.locked:
        causes += _locked_causes(problem, cfg)
    if cfg.disruption is not None and problem.has_current:
        causes += _disruption_causes(problem, cfg)
    return causes


def _capacity_causes(
    problem: TerritoryProblem, allowed: NDArray[np.bool_]
) -> list[str]:
    causes = []
    total_w, total_c = problem.workload.sum(), problem.capacity.sum()
    if np.isfinite(total_c) and total_w > total_c:
        causes.append(
            f"total workload {total_w:,.1f} exceeds total capacity {total_c:,.1f} "
            f"by {total_w - total_c:,.1f}: add reps or raise capacity"
        )
    reach = np.where(allowed, problem.capacity[None, :], -np.inf).max(axis=1)
    for i in np.flatnonzero(problem.workload > reach):
        causes.append(
            f"unit {problem.unit_ids[i]} alone has workload "
            f"{problem.workload[i]:,.1f}, above the capacity of every rep it may "
            f"go to (largest {reach[i]:,.1f}): give it a dedicated rep or split it"
        )
    return causes


def _band_causes(
    problem: TerritoryProblem,
    allowed: NDArray[np.bool_],
    measure: str,
    lows: NDArray[np.float64],
    highs: NDArray[np.float64],
) -> list[str]:
    values = problem.measure(measure)
    causes = []
    total = values.sum()
    if lows.sum() > total * (1 + 1e-9) or highs.sum() < total * (1 - 1e-9):
        causes.append(
            f"the {measure} bands of all reps sum to [{lows.sum():,.0f}, "
            f"{highs.sum():,.0f}] but the total {measure} is {total:,.0f}"
        )
    reach = np.where(allowed, highs[None, :], -np.inf).max(axis=1)
    share = problem.target_share.max() * total
    for i in np.flatnonzero(values > reach * (1 + 1e-9)):
        causes.append(
            f"unit {problem.unit_ids[i]} alone holds {measure} {values[i]:,.0f} "
            f"({values[i] / share:.2f} times a territory's share), above the band "
            f"max {reach[i]:,.0f} of every rep it may go to: give it a dedicated "
            f"territory, split it, or widen the band"
        )
    reachable = (values[:, None] * allowed).sum(axis=0)
    for k in np.flatnonzero(reachable < lows * (1 - 1e-9)):
        causes.append(
            f"rep {problem.rep_ids[k]} can reach only {measure} "
            f"{reachable[k]:,.0f} from units that have it among their "
            f"solver.k_nearest={_k(allowed)} nearest reps, below its band min "
            f"{lows[k]:,.0f}: move or remove the base, or raise k_nearest"
        )
    return causes


def _k(allowed: NDArray[np.bool_]) -> int:
    return int(allowed.sum(axis=1).min())


def _locked_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    if not (problem.locked != NO_REP).any():
        return []
    locked_only = rep_totals(problem, problem.locked)
    causes = []
    for k, rep in enumerate(problem.rep_ids):
        load = locked_only["workload"].iloc[k]
        if cfg.capacity and load > problem.capacity[k] * (1 + 1e-9):
            causes.append(
                f"units locked to rep {rep} carry workload {load:,.1f}, above its "
                f"capacity {problem.capacity[k]:,.1f}"
            )
    for spec in cfg.balance:
        _, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        held = locked_only[spec.measure].to_numpy()
        for j in np.flatnonzero(held > highs * (1 + 1e-9)):
            causes.append(
                f"units locked to rep {problem.rep_ids[j]} hold {spec.measure} "
                f"{held[j]:,.0f}, above its band max {highs[j]:,.0f}"
            )
    return causes


def _disruption_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    assert cfg.disruption is not None
    measure, budget = cfg.disruption.measure, cfg.disruption.budget
    before = rep_totals(problem, problem.current)
    needed = 0.0
    reasons = []
    if cfg.capacity and measure == "workload":
        excess = np.maximum(before["workload"].to_numpy() - problem.capacity, 0)
        needed, reasons = float(excess.sum()), ["capacity"]
    for spec in cfg.balance:
        if spec.measure != measure:
            continue
        lows, highs = balance_band(problem, measure, spec.tolerance, spec.min, spec.max)
        held = before[measure].to_numpy()
        forced = float(
            max(np.maximum(held - highs, 0).sum(), np.maximum(lows - held, 0).sum())
        )
        if forced > needed:
            needed, reasons = forced, [f"the {measure} band"]
    total = problem.measure(measure)[problem.current != NO_REP].sum()
    if reasons and needed > budget * total * (1 + 1e-9):
        return [
            f"the disruption budget allows {budget:.1%} of {measure} to move "
            f"({budget * total:,.0f}) but at least {needed:,.0f} "
            f"({needed / total:.1%}) must move to respect {reasons[0]}"
        ]
    return []


FAMILY_WORDS = {
    "capacity": "every rep's workload capacity",
    "locked": "the locked units",
    "contiguity": "contiguity of every territory (each rep keeps the unit at its base)",
}


def family_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    """Name the constraint families CP-SAT finds in conflict."""
    from spmopt.territory.job import build_model

    model = build_model(problem, cfg, explain=True)
    assert isinstance(model, AlignmentModel)
    seconds = min(30.0, cfg.solver.time_limit_seconds)
    families = model.conflicting_families(seconds)
    if families is None:
        return ["the constraints conflict, but no smaller conflict was found in time"]
    if not families:
        return [
            f"each unit may only go to its solver.k_nearest={cfg.solver.k_nearest} "
            f"nearest reps, which cannot cover every unit; raise k_nearest"
        ]
    words = [_family_words(name, cfg) for name in families]
    if len(words) == 1:
        return [f"{words[0]} cannot be met on its own (with k_nearest reps per unit)"]
    return [" together with ".join(words) + " cannot all be met"]


def _family_words(name: str, cfg: TerritoryConfig) -> str:
    if name in FAMILY_WORDS:
        return FAMILY_WORDS[name]
    kind, measure = name.split(":")
    if kind == "balance":
        spec = next(b for b in cfg.balance if b.measure == measure)
        parts = [f"±{spec.tolerance:.1%}" if spec.tolerance is not None else ""]
        parts += [
            f"{k} {v:,.0f}"
            for k, v in (("min", spec.min), ("max", spec.max))
            if v is not None
        ]
        return f"the {measure} band ({', '.join(p for p in parts if p)})"
    budget = cfg.disruption.budget if cfg.disruption else 0.0
    return f"the disruption budget ({budget:.1%} of {measure} may move)"
