"""Apply the remedies of ``cfg.remedies`` to a validated problem.

The explanation of an infeasible alignment names units too large for any
band and bases that crowd together or cannot reach their band; the remedies
here let a user (or ``remedies.auto``) fix those from the config: drop
bases, give a unit a dedicated territory, split a unit, widen a rep's band.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt._logging import logger
from spmopt.errors import DataError
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.problem import NO_REP, TerritoryProblem

AUTO_ROUNDS = 20
"""Rounds of automatic base removal at most."""

SHORT_NEIGHBOURS = 8
"""Nearest bases spared around a base dropped for a shortfall (same round)."""


def apply_remedies(
    problem: TerritoryProblem, cfg: TerritoryConfig
) -> tuple[TerritoryProblem, list[str]]:
    """The problem with every configured remedy applied, and what was done.

    Returns
    -------
    problem : TerritoryProblem
    applied : list of str
        One line per remedy in words (also logged at WARNING for ``auto``).
    """
    spec = cfg.remedies
    applied: list[str] = []
    for unit, parts in sorted(spec.split.items()):
        problem = split_unit(problem, unit, parts)
        applied.append(f"split unit {unit} into {parts} parts")
    problem = drop_reps(problem, spec.drop_reps)
    applied += [f"dropped base {rep}" for rep in spec.drop_reps]
    problem = dedicate(problem, spec.dedicated)
    applied += [f"dedicated territory for unit {unit}" for unit in spec.dedicated]
    problem = widen(problem, spec.wider_band)
    applied += [f"rep {r} band ±{t:.1%}" for r, t in sorted(spec.wider_band.items())]
    if spec.auto:
        problem, done = auto_remedies(problem, cfg)
        for line in done:
            logger.warning("remedies.auto: %s", line)
        applied += done
    return problem, applied


def _unit_index(problem: TerritoryProblem, unit: str, where: str) -> int:
    hits = np.flatnonzero(problem.unit_ids == unit)
    if hits.size == 0:
        raise DataError(f"{where} names unit {unit!r}, which is not in the units table")
    return int(hits[0])


def _rep_index(problem: TerritoryProblem, rep: str, where: str) -> int:
    hits = np.flatnonzero(problem.rep_ids == rep)
    if hits.size == 0:
        known = ", ".join(map(str, problem.rep_ids[:10]))
        raise DataError(f"{where} names unknown rep {rep!r}; reps are: {known}")
    return int(hits[0])


def split_unit(problem: TerritoryProblem, unit: str, parts: int) -> TerritoryProblem:
    """``unit`` replaced by ``parts`` equal parts at the same place."""
    i = _unit_index(problem, unit, "remedies.split")
    rows = np.concatenate([np.arange(problem.n_units), np.full(parts - 1, i)])
    ids = problem.unit_ids.copy()
    ids[i] = f"{unit}#1"
    new_ids = np.concatenate([ids, [f"{unit}#{j}" for j in range(2, parts + 1)]])
    share = np.ones(len(rows))
    share[i] = share[problem.n_units :] = 1.0 / parts
    return replace(
        problem,
        unit_ids=new_ids.astype(object),
        unit_lat=problem.unit_lat[rows],
        unit_lon=problem.unit_lon[rows],
        potential=problem.potential[rows] * share,
        workload=problem.workload[rows] * share,
        distance=problem.distance[rows],
        current=problem.current[rows],
        locked=problem.locked[rows],
        extra=problem.extra.iloc[rows].reset_index(drop=True),
    )


def drop_reps(problem: TerritoryProblem, reps: list[str]) -> TerritoryProblem:
    """The problem without the bases ``reps``; their units lose their owner."""
    if not reps:
        return problem
    gone = np.zeros(problem.n_reps, dtype=bool)
    for rep in reps:
        gone[_rep_index(problem, rep, "remedies.drop_reps")] = True
    if gone.all():
        raise DataError("remedies.drop_reps removes every rep")
    bad = (problem.locked != NO_REP) & gone[np.maximum(problem.locked, 0)]
    if bad.any():
        unit = problem.unit_ids[np.flatnonzero(bad)[0]]
        raise DataError(f"remedies.drop_reps removes the locked owner of unit {unit!r}")
    return _keep_reps(problem, ~gone)


def _keep_reps(problem: TerritoryProblem, keep: NDArray[np.bool_]) -> TerritoryProblem:
    new_index = np.cumsum(keep) - 1

    def remap(owners: NDArray[np.int64]) -> NDArray[np.int64]:
        ok = (owners != NO_REP) & keep[np.maximum(owners, 0)]
        return np.where(ok, new_index[np.maximum(owners, 0)], NO_REP).astype(np.int64)

    shares = problem.target_share[keep]
    return replace(
        problem,
        rep_ids=problem.rep_ids[keep],
        rep_lat=problem.rep_lat[keep],
        rep_lon=problem.rep_lon[keep],
        capacity=problem.capacity[keep],
        target_share=shares / shares.sum(),
        distance=problem.distance[:, keep],
        current=remap(problem.current),
        locked=remap(problem.locked),
        dedicated=None if problem.dedicated is None else problem.dedicated[keep],
        rep_tolerance=(
            None if problem.rep_tolerance is None else problem.rep_tolerance[keep]
        ),
    )


def dedicate(problem: TerritoryProblem, units: list[str]) -> TerritoryProblem:
    """Each unit alone with its nearest free rep, outside every band."""
    if not units:
        return problem
    dedicated = problem.is_dedicated.copy()
    locked = problem.locked.copy()
    for unit in units:
        i = _unit_index(problem, unit, "remedies.dedicated")
        order = np.argsort(problem.distance[i], kind="stable")
        free = [
            k for k in order if not dedicated[k] and np.isfinite(problem.distance[i, k])
        ]
        if len(free) <= 1:
            raise DataError(
                f"remedies.dedicated: no rep left for unit {unit!r} (each dedicated "
                f"unit takes a rep of its own and one rep must remain)"
            )
        dedicated[free[0]] = True
        locked[i] = free[0]
    shares = np.where(dedicated, 0.0, problem.target_share)
    return replace(
        problem, dedicated=dedicated, locked=locked, target_share=shares / shares.sum()
    )


def widen(problem: TerritoryProblem, bands: dict[str, float]) -> TerritoryProblem:
    """Per-rep balance tolerance from ``remedies.wider_band``."""
    if not bands:
        return problem
    tol = (
        np.full(problem.n_reps, np.nan)
        if problem.rep_tolerance is None
        else problem.rep_tolerance.copy()
    )
    for rep, value in bands.items():
        tol[_rep_index(problem, rep, "remedies.wider_band")] = value
    return replace(problem, rep_tolerance=tol)


def auto_remedies(
    problem: TerritoryProblem, cfg: TerritoryConfig
) -> tuple[TerritoryProblem, list[str]]:
    """Dedicated territories for oversized units, then drop crowded bases.

    Bases are dropped one per named group and round (the one nearest to
    another base of its group) until the counting checks find nothing, then
    one per short area and round while the relaxation cannot reach every
    band minimum (see :meth:`LPRoundModel.shortfall`).
    """
    from spmopt.territory.explain import crowded_reps, oversized_units

    done: list[str] = []
    big = [str(u) for u in problem.unit_ids[oversized_units(problem, cfg)]]
    problem = dedicate(problem, big)
    done += [f"dedicated territory for oversized unit {u}" for u in big]
    for _ in range(AUTO_ROUNDS):
        mask = crowded_reps(problem, cfg)
        if not mask.any():
            mask = short_reps(problem, cfg)
        drop = [str(r) for r in problem.rep_ids[mask]]
        if not drop:
            break
        problem = drop_reps(problem, drop)
        done += [f"dropped crowded or unreachable base {r}" for r in drop]
    return problem, done


def short_reps(problem: TerritoryProblem, cfg: TerritoryConfig) -> NDArray[np.bool_]:
    """Bases to drop where the relaxation cannot reach a band minimum.

    The rep with the largest shortfall goes, and each further short rep that
    is not among the :data:`SHORT_NEIGHBOURS` nearest bases of one already
    chosen (one base per crowded area and round).
    """
    from spmopt.territory.job import build_model
    from spmopt.territory.lpround import LPRoundModel, _rep_distance

    model = build_model(problem, cfg, method="lp_round")
    assert isinstance(model, LPRoundModel)
    short = model.shortfall()
    locked_to = np.zeros(problem.n_reps, dtype=bool)
    locked_to[problem.locked[problem.locked != NO_REP]] = True
    short[locked_to | problem.is_dedicated] = 0.0
    near = np.argsort(_rep_distance(problem), axis=1, kind="stable")
    near = near[:, : SHORT_NEIGHBOURS + 1]
    drop = np.zeros(problem.n_reps, dtype=bool)
    covered = np.zeros(problem.n_reps, dtype=bool)
    for k in np.argsort(-short, kind="stable"):
        if short[k] <= 1e-6:
            break
        if not covered[k]:
            drop[k] = True
            covered[near[k]] = True
    return drop


def remedies_frame(applied: list[str]) -> pd.DataFrame:
    """The applied remedies as a one-column table."""
    return pd.DataFrame({"remedy": applied})
