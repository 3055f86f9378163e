"""Apply the remedies of ``cfg.remedies`` to a validated problem.

The explanation of an infeasible alignment names units too large for any
band and bases that crowd together or cannot reach their band; the remedies
here let a user (or ``remedies.auto``) fix those from the config: drop,
move or add bases, give a unit a dedicated territory, split a unit, widen a
rep's band.

Where potential is unserved
    Every unit goes to its nearest base (dedicated bases take only their
    locked units). A base whose cell holds more than its band maximum of a
    balanced measure (or more workload than its capacity) keeps only the
    fraction ``max / held`` of it; the rest of each unit's potential in that
    cell is *unserved* (:func:`unserved_potential`). A new or moved base
    goes to the unit that best serves it: the greedy p-median step weighted
    by unserved potential (:func:`best_site`; deterministic, no seed
    needed, ties to the first unit in table order). When nothing is
    unserved, ``add_reps`` falls back to the unit farthest from its base,
    weighted by its potential.
"""

from __future__ import annotations

import itertools
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt._logging import logger
from spmopt.config import named_in
from spmopt.errors import DataError, SpmoptWarning
from spmopt.territory.config import RemediesSpec, TerritoryConfig, part_ids
from spmopt.territory.geometry import euclidean, haversine_km
from spmopt.territory.model import SolverSettings, allowed_pairs, balance_band
from spmopt.territory.problem import NO_REP, TerritoryProblem

AUTO_ROUNDS = 20
"""Rounds of automatic base moves or removals at most."""

SHORT_NEIGHBOURS = 8
"""Nearest bases spared around a base moved or dropped for a shortfall."""

MAX_SITES = 512
"""Candidate units scored per placed base: those with most unserved potential."""

CHUNK_PAIRS = 2_000_000
"""Unit-site distances held at once while scoring sites."""

CROWD_RADIUS_KM = 50.0
"""Smallest radius (km) of the neighbourhood named when a crowded base moves."""

CROWD_RADIUS_MAX_KM = 500.0
"""Largest such radius (km, lat/lon only): 1.5 times the nearest other base."""


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
    try:
        return _apply(problem, cfg)
    except DataError as exc:  # name the config file, like other table errors
        raise DataError(f"{named_in(cfg.units.table)}: {exc}") from None


def _apply(
    problem: TerritoryProblem, cfg: TerritoryConfig
) -> tuple[TerritoryProblem, list[str]]:
    """:func:`apply_remedies` without the config file in its errors."""
    spec = cfg.remedies
    applied: list[str] = []
    for unit, parts in sorted(spec.split.items()):
        problem = split_unit(problem, unit, parts)
        applied.append(
            f"split unit {unit} into {parts} parts ({part_ids(unit, parts)})"
        )
    problem = drop_reps(problem, spec.drop_reps)
    applied += [f"dropped base {rep}" for rep in spec.drop_reps]
    problem = move_bases(problem, spec.move_base)
    applied += [
        f"moved base {rep} to unit {unit}"
        for rep, unit in sorted(spec.move_base.items())
    ]
    problem, added = add_reps(problem, cfg, spec)
    applied += added
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
    if hits.size > 0:
        return int(hits[0])
    if np.any(problem.unit_ids == f"{unit}#1"):  # cut by remedies.split
        n = sum(str(u).startswith(f"{unit}#") for u in problem.unit_ids)
        raise DataError(
            f"field '{where}' names unit {unit!r}, which remedies.split cut into "
            f"{n} parts ({part_ids(unit, n)}); name one of the parts"
        )
    raise DataError(
        f"field '{where}' names unit {unit!r}, which is not in the units table"
    )


def _rep_index(problem: TerritoryProblem, rep: str, where: str) -> int:
    hits = np.flatnonzero(problem.rep_ids == rep)
    if hits.size == 0:
        known = ", ".join(map(str, problem.rep_ids[:10]))
        raise DataError(f"field '{where}' names unknown rep {rep!r}; reps are: {known}")
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
        raise DataError("field 'remedies.drop_reps' removes every rep")
    bad = (problem.locked != NO_REP) & gone[np.maximum(problem.locked, 0)]
    if bad.any():
        unit = problem.unit_ids[np.flatnonzero(bad)[0]]
        raise DataError(
            f"field 'remedies.drop_reps' removes the locked owner of unit {unit!r}"
        )
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
                f"field 'remedies.dedicated': no rep left for unit {unit!r} (each "
                "dedicated unit takes a rep of its own and one rep must remain)"
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


def move_bases(problem: TerritoryProblem, moves: dict[str, str]) -> TerritoryProblem:
    """Each rep's base moved to the location of a unit (``{rep_id: unit_id}``).

    The distances of a moved rep are recomputed from coordinates (km for
    lat/lon), also when a distance table was given; current owners, locks
    and the rep's capacity and target stay.
    """
    if not moves:
        return problem
    lat, lon = problem.rep_lat.copy(), problem.rep_lon.copy()
    moved = []
    for rep, unit in sorted(moves.items()):
        k = _rep_index(problem, rep, "remedies.move_base")
        i = _unit_index(problem, unit, "remedies.move_base")
        lat[k], lon[k] = problem.unit_lat[i], problem.unit_lon[i]
        moved.append(k)
    distance = problem.distance.copy()
    distance[:, moved] = coordinate_distance(problem, lat[moved], lon[moved])
    return replace(problem, rep_lat=lat, rep_lon=lon, distance=distance)


def add_reps(
    problem: TerritoryProblem, cfg: TerritoryConfig, spec: RemediesSpec
) -> tuple[TerritoryProblem, list[str]]:
    """New bases from ``spec.add_reps``: at the named units, or placed greedily.

    A count places one base at a time at :func:`best_site` (recomputed after
    each), falling back to :func:`_far_site` when nothing is unserved.
    """
    request = spec.add_reps
    cap, share = spec.new_rep_capacity, spec.new_rep_share
    if isinstance(request, list):
        done = []
        for unit in request:
            i = _unit_index(problem, unit, "remedies.add_reps")
            problem = add_bases(problem, [i], cap, share)
            done.append(f"added base {problem.rep_ids[-1]} at unit {unit}")
        return problem, done
    if request > problem.n_units:
        raise DataError(
            f"field 'remedies.add_reps' is {request} but the units table has only "
            f"{problem.n_units} units; give at most {problem.n_units}"
        )
    done = []
    for _ in range(request):
        site = best_site(problem, cfg)
        i, taken = (_far_site(problem), 0.0) if site is None else site
        problem = add_bases(problem, [i], cap, share)
        done.append(
            f"added base {problem.rep_ids[-1]} at {unit_label(problem, i)}, "
            f"where it takes {taken / _share(problem):.1f} territories' unserved "
            f"potential (make it permanent with remedies.add_reps: "
            f"[{problem.unit_ids[i]}])"
        )
    return problem, done


def add_bases(
    problem: TerritoryProblem,
    units: list[int],
    capacity: float | None = None,
    share: float = 1.0,
) -> TerritoryProblem:
    """New reps ``new-1``, ``new-2``, ... based at the units ``units`` (indices).

    Each new rep gets ``capacity`` (workload; None: the median rep's) and
    ``share`` times the median rep's target share; all shares are then
    normalised again. New reps own no unit and have no lock.
    """
    banded = ~problem.is_dedicated
    n = len(units)
    cap = float(np.median(problem.capacity[banded])) if capacity is None else capacity
    shares = np.concatenate(
        [
            problem.target_share,
            np.full(n, share * np.median(problem.target_share[banded])),
        ]
    )
    lat, lon = problem.unit_lat[units], problem.unit_lon[units]
    return replace(
        problem,
        rep_ids=np.concatenate([problem.rep_ids, _new_ids(problem.rep_ids, n)]),
        rep_lat=np.concatenate([problem.rep_lat, lat]),
        rep_lon=np.concatenate([problem.rep_lon, lon]),
        capacity=np.concatenate([problem.capacity, np.full(n, cap)]),
        target_share=shares / shares.sum(),
        distance=np.hstack([problem.distance, coordinate_distance(problem, lat, lon)]),
        dedicated=(
            None
            if problem.dedicated is None
            else np.concatenate([problem.dedicated, np.zeros(n, dtype=bool)])
        ),
        rep_tolerance=(
            None
            if problem.rep_tolerance is None
            else np.concatenate([problem.rep_tolerance, np.full(n, np.nan)])
        ),
    )


def _new_ids(taken: NDArray[np.object_], n: int) -> NDArray[np.object_]:
    """``n`` rep ids ``new-<j>`` not in ``taken`` (smallest free ``j`` first)."""
    used, ids, j = set(map(str, taken)), list[str](), 1
    while len(ids) < n:
        if f"new-{j}" not in used:
            ids.append(f"new-{j}")
        j += 1
    return np.array(ids, dtype=object)


def coordinate_distance(
    problem: TerritoryProblem,
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    rows: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Distance from units to the points ``(lat, lon)``, shape (n_rows, m).

    km for lat/lon (haversine), coordinate units for x/y; ``rows`` selects
    units (default: all).
    """
    ulat, ulon = problem.unit_lat, problem.unit_lon
    if rows is not None:
        ulat, ulon = ulat[rows], ulon[rows]
    if problem.coords == "xy":
        return euclidean(ulat, ulon, lat, lon)
    return haversine_km(ulat, ulon, lat, lon)


def nearest_bases(problem: TerritoryProblem) -> NDArray[np.int64]:
    """Each unit's nearest base (not a dedicated one); locked units' owners."""
    distance = np.where(problem.is_dedicated[None, :], np.inf, problem.distance)
    near = np.argmin(distance, axis=1)
    stuck = ~np.isfinite(distance).any(axis=1)
    near[stuck] = np.argmin(problem.distance[stuck], axis=1)
    return np.where(problem.locked != NO_REP, problem.locked, near).astype(np.int64)


def unserved_potential(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    cells: NDArray[np.int64] | None = None,
) -> NDArray[np.float64]:
    """Per unit, the potential its nearest base cannot take (see module doc).

    Parameters
    ----------
    cells : ndarray of int, shape (n_units,), optional
        Base of each unit; :func:`nearest_bases` when None.

    Returns
    -------
    ndarray of shape (n_units,)
        In the unit of potential; 0 for locked units and served cells.
    """
    cells = nearest_bases(problem) if cells is None else cells
    over = np.zeros(problem.n_reps)
    for measure, highs in _limits(problem, cfg):
        held = np.bincount(cells, problem.measure(measure), problem.n_reps)
        safe = np.where(held > 0, held, 1.0)
        over = np.maximum(over, np.where(held > highs, 1 - highs / safe, 0.0))
    out = problem.potential * over[cells]
    out[problem.locked != NO_REP] = 0.0
    return out


def _limits(
    problem: TerritoryProblem, cfg: TerritoryConfig
) -> list[tuple[str, NDArray[np.float64]]]:
    """``(measure, per-rep maximum)``: band maxima, else targets; capacity."""
    limits: list[tuple[str, NDArray[np.float64]]] = []
    for spec in cfg.balance:
        _, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        limits.append((spec.measure, highs))
    if not cfg.balance:
        limits.append(("potential", problem.targets("potential")))
    if cfg.capacity:
        limits.append(("workload", problem.capacity))
    return limits


def best_site(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    among: NDArray[np.bool_] | None = None,
) -> tuple[int, float] | None:
    """Unit where one more base would best serve the unserved potential.

    The greedy p-median step weighted by unserved potential: a base at unit
    ``u`` saves, for every unit nearer to ``u`` than to its own base, the
    distance difference times the unit's unserved potential; the site with
    the largest saving wins (ties: the first unit in table order).

    Parameters
    ----------
    among : ndarray of bool, shape (n_units,), optional
        Units allowed as the site (default: all).

    Returns
    -------
    (unit index, unserved potential) or None
        The site and the unserved potential of the units nearer to it than
        to their base; None when no potential is unserved (among the sites).
    """
    cells = nearest_bases(problem)
    unserved = unserved_potential(problem, cfg, cells)
    rows = np.flatnonzero(unserved > 0)
    sites = rows if among is None else rows[among[rows]]
    if sites.size == 0:
        return None
    sites = np.sort(sites[np.argsort(-unserved[sites], kind="stable")[:MAX_SITES]])
    own = coordinate_distance(problem, problem.rep_lat, problem.rep_lon, rows)
    own_d = own[np.arange(rows.size), cells[rows]]
    step = max(1, CHUNK_PAIRS // rows.size)
    parts = [
        _savings(problem, rows, unserved[rows], own_d, sites[j : j + step])
        for j in range(0, sites.size, step)
    ]
    saving = np.concatenate([s for s, _ in parts])
    j = int(np.argmax(saving))
    return int(sites[j]), float(np.concatenate([t for _, t in parts])[j])


def _savings(
    problem: TerritoryProblem,
    rows: NDArray[np.int64],
    unserved: NDArray[np.float64],
    own_d: NDArray[np.float64],
    sites: NDArray[np.int64],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Per site: distance saved times unserved potential, and that potential."""
    lat, lon = problem.unit_lat[sites], problem.unit_lon[sites]
    closer = np.maximum(
        own_d[:, None] - coordinate_distance(problem, lat, lon, rows), 0
    )
    return unserved @ closer, unserved @ (closer > 0)


def leave_costs(
    problem: TerritoryProblem, cfg: TerritoryConfig, reps: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Per rep of ``reps``: the overload its leaving adds, in territories.

    The units of its nearest-base cell go to their next-nearest base; the
    result is the rise of the summed excess over every rep's maximum of
    each balanced measure (and capacity), in units of a mean maximum.
    """
    distance = np.where(problem.is_dedicated[None, :], np.inf, problem.distance)
    second = np.argsort(distance, axis=1, kind="stable")[:, 1 % problem.n_reps]
    cells = nearest_bases(problem)
    free = problem.locked == NO_REP
    costs = np.zeros(len(reps))
    for measure, highs in _limits(problem, cfg):
        values = problem.measure(measure)
        held = np.bincount(cells, values, problem.n_reps)
        scale = (
            float(np.mean(highs[np.isfinite(highs)]))
            if np.isfinite(highs).any()
            else 1.0
        )
        before = np.maximum(held - highs, 0).sum()
        for j, k in enumerate(reps):
            leaving = (cells == k) & free
            after = held + np.bincount(second[leaving], values[leaving], problem.n_reps)
            after[k] -= values[leaving].sum()
            costs[j] += (np.maximum(after - highs, 0).sum() - before) / (scale or 1.0)
    return costs


def _far_site(problem: TerritoryProblem) -> int:
    """Unlocked unit with the largest potential times distance to its base."""
    cells = nearest_bases(problem)
    own = coordinate_distance(problem, problem.rep_lat, problem.rep_lon)
    score = problem.potential * own[np.arange(problem.n_units), cells]
    score = np.where(problem.locked != NO_REP, -1.0, score)
    return int(np.argmax(score))


def _share(problem: TerritoryProblem) -> float:
    """A territory's share of potential: the mean target of banded reps."""
    banded = ~problem.is_dedicated
    return float(problem.targets("potential")[banded].mean()) or 1.0


def unit_label(problem: TerritoryProblem, i: int) -> str:
    """``<unit id> (<name>, <state>)`` with whatever descriptive columns exist."""
    parts = [
        str(problem.extra[c].iloc[i])
        for c in ("name", "city", "state")
        if c in problem.extra.columns and pd.notna(problem.extra[c].iloc[i])
    ]
    return (
        f"{problem.unit_ids[i]} ({', '.join(parts)})"
        if parts
        else str(problem.unit_ids[i])
    )


def auto_remedies(
    problem: TerritoryProblem, cfg: TerritoryConfig, move: bool = True
) -> tuple[TerritoryProblem, list[str]]:
    """Dedicated territories for oversized units, then fix flagged bases.

    Each round flags bases by counting (unreachable ones, and one per
    crowded group: the one whose leaving overloads its neighbours least, or
    with ``move=False`` the one nearest to another base of the group) or,
    when counting finds nothing, one per short area while the relaxation
    cannot reach every band minimum (see :meth:`LPRoundModel.shortfall`
    and :func:`short_areas`).

    A flagged base gets the least drastic fix that clears its flag
    (:func:`fix_base`): a wider balance band for its rep (at most
    :data:`WIDEN_MAX`), else its base moved to :func:`best_site` outside
    the area its group already reaches (once per base), else it is dropped,
    and the log line says why the milder fixes did not do. The last
    banded rep is never dropped.

    The flags are necessary conditions only (counts and a relaxation). On a
    small instance (:func:`is_small`) fixes are also checked exactly with
    CP-SAT: nothing is done when an alignment exists; else, when one single
    fix (a wider band for one or two reps, or a dedicated unit; mildest
    first, :func:`mildest_exact_fix`) makes one exist, that fix alone is
    applied. Otherwise the rounds above run (moves go where potential is
    unserved), a base about to be dropped gets the mildest single fix that
    makes an alignment exist instead, and when no base is flagged but no
    alignment exists, the mildest such fix is applied, a dropped base being
    the last resort. With ``move=False`` flagged bases are dropped at once
    (the drop-only behaviour of earlier versions, kept for comparison).
    """
    from spmopt.territory.explain import oversized_units

    if move and is_small(problem, cfg):
        if solvable(problem, cfg):
            return problem, []
        candidate, line = mildest_exact_fix(problem, cfg, moves=False)
        if line is not None:
            return candidate, [line]
    done: list[str] = []
    big = [str(u) for u in problem.unit_ids[oversized_units(problem, cfg)]]
    problem = dedicate(problem, big)
    done += [
        f"dedicated territory for oversized unit {u} (remedies.dedicated: [{u}])"
        for u in big
    ]
    moved: set[str] = set()
    # TODO(#3): areas with too few bases (the explanation's "too few for their
    # area") get no automatic fix; adding reps changes headcount, so auto
    # leaves remedies.add_reps to the user and only widens, moves or drops.
    for _ in range(AUTO_ROUNDS):
        areas = flagged_bases(problem, cfg, move)
        if not areas:
            break
        problem, lines = _auto_round(problem, cfg, areas, moved, move)
        done += [line for line in lines if line not in done]
        if all(line.startswith("kept") for line in lines):
            break  # nothing changed: the next round would flag the same
    if move and is_small(problem, cfg) and not solvable(problem, cfg):
        problem, fixed = mildest_exact_fix(problem, cfg, drops=True)
        done.append(fixed or _no_exact_fix_line(problem))
    return problem, done


def _auto_round(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    areas: dict[int, NDArray[np.bool_] | None],
    moved: set[str],
    move: bool,
) -> tuple[TerritoryProblem, list[str]]:
    """Fix (or with ``move=False`` drop) every flagged base of one round."""
    drop: list[str] = []
    lines: list[str] = []
    for rep, area in [(str(problem.rep_ids[k]), a) for k, a in areas.items()]:
        if not move:
            drop.append(rep)
            lines.append(
                f"dropped crowded or unreachable base {rep} "
                f"(remedies.drop_reps: [{rep}])"
            )
            continue
        problem, line = fix_base(problem, cfg, rep, area, moved, areas)
        lines.append(line)
        if line.startswith("dropped"):
            drop.append(rep)
    return drop_reps(problem, drop), lines


def flagged_bases(
    problem: TerritoryProblem, cfg: TerritoryConfig, cheapest: bool = True
) -> dict[int, NDArray[np.bool_] | None]:
    """Bases to fix this round, by index, each with its area (see auto)."""
    from spmopt.territory.explain import crowded_areas

    areas = crowded_areas(problem, cfg, "cheapest" if cheapest else "closest")
    return areas or short_areas(problem, cfg, cheapest=cheapest)


WIDEN_MAX = 0.5
"""Widest balance tolerance ``remedies.auto`` gives one rep before moving it."""

WIDEN_STEPS = (0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
"""Tolerances tried in turn when widening one rep's band (up to WIDEN_MAX)."""

WIDEN_PAIRS = 200_000
"""Most allowed unit-rep pairs for which auto tries a wider band first. Each
try re-checks every base, with a relaxation when a base may fall short: on
the counties (25,000-63,000 pairs) about 1 s, on all ZIPs (518,000 pairs)
40 s, where two Hawaii bases took 650 s of widening checks; above this,
bases are moved or dropped at once, as before."""


def _pairs(problem: TerritoryProblem, cfg: TerritoryConfig) -> int:
    """Allowed unit-rep pairs of ``problem``."""
    return int(allowed_pairs(problem, cfg.solver.k_nearest).sum())


def fix_base(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    rep: str,
    area: NDArray[np.bool_] | None,
    moved: set[str],
    flagged: dict[int, NDArray[np.bool_] | None],
) -> tuple[TerritoryProblem, str]:
    """The least drastic fix of the flagged base ``rep``, and a line saying it.

    In order: widen the rep's band (:func:`widen_to_clear`), move its base
    where potential is unserved (once per base; ``moved`` records it), or
    drop it, saying why neither milder fix did; a last banded rep is kept.
    """
    problem_after, line = widen_to_clear(problem, cfg, rep, flagged)
    if line is not None:
        return problem_after, line
    k = _rep_index(problem, rep, "remedies.auto")
    why = base_reason(problem, cfg, k)
    if rep not in moved:
        problem_after, line = move_to_unserved(problem, cfg, rep, area)
        if line is not None:
            moved.add(rep)
            return problem_after, line
    if is_small(problem, cfg):
        problem_after, line = mildest_exact_fix(problem, cfg)
        if line is not None:
            return problem_after, line
    banded = ~problem.is_dedicated
    if banded.sum() <= 1:
        return problem, (
            f"kept base {rep} although {why}: it is the last rep with a band "
            "(no remedy clears it; see the explanation if the solve fails)"
        )
    return problem, _drop_line(problem, cfg, rep, why, rep in moved)


EXACT_PAIRS = 120
"""Allowed unit-rep pairs up to which auto checks its fixes exactly."""

EXACT_WORK = 2.0
"""Deterministic seconds (CP-SAT work limit) of one exact check."""


def is_small(problem: TerritoryProblem, cfg: TerritoryConfig) -> bool:
    """True when fixes are checked exactly (at most :data:`EXACT_PAIRS` pairs)."""
    return _pairs(problem, cfg) <= EXACT_PAIRS


def solvable(problem: TerritoryProblem, cfg: TerritoryConfig) -> bool:
    """True when CP-SAT finds an alignment meeting every constraint of ``cfg``.

    One worker and a work limit of :data:`EXACT_WORK` deterministic seconds,
    so the answer is the same on every machine; an instance not decided
    within it counts as not solvable.
    """
    from spmopt.territory.job import build_model

    settings = SolverSettings(
        time_limit_seconds=60.0,
        deterministic_time=EXACT_WORK,
        workers=1,
        relative_gap=0.99,
    )
    with warnings.catch_warnings(), _without_info():
        warnings.simplefilter("ignore", SpmoptWarning)
        model = build_model(problem, cfg, method="cpsat")
        return bool(model.solve(settings).has_solution)


@contextmanager
def _without_info() -> Iterator[None]:
    """Drop the package's INFO lines meanwhile (a check is not a user's solve)."""

    def warnings_only(record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING

    logger.addFilter(warnings_only)
    try:
        yield
    finally:
        logger.removeFilter(warnings_only)


PAIR_REPS = 6
"""Banded reps up to which exact checks also widen two reps' bands at once."""

Fix = tuple[TerritoryProblem, str, str]
"""A candidate fix: the fixed problem, what it does, the setting for it."""


def exact_candidates(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    moves: bool = True,
    drops: bool = False,
) -> Iterator[Fix]:
    """Single fixes, mildest first.

    A wider band for one rep (each step of :data:`WIDEN_STEPS`, every rep
    at a step before the next), then for two reps (with at most
    :data:`PAIR_REPS` banded reps), a dedicated territory for one unit
    (largest potential first), with ``moves`` one base moved to a unit
    (shortest move first), and with ``drops`` one base dropped (least
    potential reached first).
    """
    banded = [str(r) for r in problem.rep_ids[~problem.is_dedicated]]
    groups = [[rep] for rep in banded]
    if len(banded) <= PAIR_REPS:
        groups += [list(pair) for pair in itertools.combinations(banded, 2)]
    for size in (1, 2):
        for tol in WIDEN_STEPS:
            for reps in (g for g in groups if len(g) == size):
                if all(tol in _widen_steps(problem, cfg, rep) for rep in reps):
                    yield _widened(problem, reps, tol)
    yield from _dedicate_candidates(problem)
    if moves:
        yield from _move_candidates(problem)
    if drops:
        yield from _drop_candidates(problem, cfg)


def _widened(problem: TerritoryProblem, reps: list[str], tol: float) -> Fix:
    """The fix giving each rep of ``reps`` a band of ±``tol``."""
    names = " and ".join(reps)
    what = f"widened the band of rep{'s' if len(reps) > 1 else ''} {names}"
    setting = ", ".join(f"{rep}: {tol:g}" for rep in reps)
    fixed = widen(problem, dict.fromkeys(reps, tol))
    return fixed, f"{what} to ±{tol:.0%}", f"remedies.wider_band: {{{setting}}}"


def _dedicate_candidates(problem: TerritoryProblem) -> Iterator[Fix]:
    """A dedicated territory for one free unit, largest potential first."""
    if (~problem.is_dedicated).sum() <= 2:
        return
    for i in np.argsort(-problem.potential, kind="stable"):
        if problem.locked[i] == NO_REP:
            unit = str(problem.unit_ids[i])
            what = f"dedicated territory for unit {unit}"
            yield dedicate(problem, [unit]), what, f"remedies.dedicated: [{unit}]"


def _move_candidates(problem: TerritoryProblem) -> Iterator[Fix]:
    """One banded base moved to a unit's location, shortest move first."""
    base_to_unit = coordinate_distance(problem, problem.rep_lat, problem.rep_lon)
    for flat in np.argsort(base_to_unit, axis=None, kind="stable"):
        i, k = np.unravel_index(flat, base_to_unit.shape)
        if problem.is_dedicated[k] or base_to_unit[i, k] == 0:
            continue
        rep, unit = str(problem.rep_ids[k]), str(problem.unit_ids[i])
        what = f"moved base {rep} to {unit_label(problem, int(i))}"
        setting = f"remedies.move_base: {{{rep}: {unit}}}"
        yield move_bases(problem, {rep: unit}), what, setting


def _drop_candidates(problem: TerritoryProblem, cfg: TerritoryConfig) -> Iterator[Fix]:
    """One banded base without locks dropped, least potential reached first."""
    banded = ~problem.is_dedicated
    if banded.sum() <= 1:
        return
    reach = problem.potential @ allowed_pairs(problem, cfg.solver.k_nearest)
    for k in np.argsort(reach, kind="stable"):
        if banded[k] and not (problem.locked == k).any():
            rep = str(problem.rep_ids[k])
            setting = f"remedies.drop_reps: [{rep}]"
            yield drop_reps(problem, [rep]), f"dropped base {rep}", setting


def mildest_exact_fix(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    moves: bool = True,
    drops: bool = False,
) -> tuple[TerritoryProblem, str | None]:
    """The first of :func:`exact_candidates` after which an alignment exists.

    Returns the fixed problem and a line saying what was done and why, or
    the problem unchanged and None when no single fix does.
    """
    for candidate, what, setting in exact_candidates(problem, cfg, moves, drops):
        if solvable(candidate, cfg):
            why = "the mildest single fix after which an alignment exists"
            if what.startswith("dropped"):
                why += (
                    f" (no band up to ±{WIDEN_MAX:.0%} for one or two reps, "
                    "dedicated unit or moved base gives one)"
                )
            return candidate, (
                f"{what}: {why}, checked exactly (make it permanent with {setting})"
            )
    return problem, None


def _no_exact_fix_line(problem: TerritoryProblem) -> str:
    return (
        f"no wider band (up to ±{WIDEN_MAX:.0%} for one or two reps), dedicated unit, "
        f"moved or dropped base makes an alignment of these {problem.n_units} units "
        "exist (checked exactly); the explanation of the failed solve names "
        "what conflicts"
    )


def _drop_line(
    problem: TerritoryProblem, cfg: TerritoryConfig, rep: str, why: str, was_moved: bool
) -> str:
    """Why a flagged base is dropped: the milder fixes that did not do."""
    tried = [
        f"a band of ±{WIDEN_MAX:.0%} for {rep} does not clear it"
        if _widen_steps(problem, cfg, rep)
        else f"its band is already ±{_rep_tol(problem, cfg, rep):.0%} or wider"
    ]
    if was_moved:
        tried.append("its base was moved once already and is flagged again")
    else:
        tried.append("no potential is unserved elsewhere to move its base to")
    return (
        f"dropped base {rep}: {why}; {'; '.join(tried)} (remedies.drop_reps: [{rep}])"
    )


def _rep_tol(problem: TerritoryProblem, cfg: TerritoryConfig, rep: str) -> float:
    """The balance tolerance rep ``rep`` has now (its own, else the widest)."""
    k = _rep_index(problem, rep, "remedies.auto")
    own = np.nan if problem.rep_tolerance is None else problem.rep_tolerance[k]
    tols = [b.tolerance for b in cfg.balance if b.tolerance is not None]
    return float(own) if np.isfinite(own) else max(tols, default=0.0)


def _widen_steps(
    problem: TerritoryProblem, cfg: TerritoryConfig, rep: str
) -> list[float]:
    """Tolerances to try for ``rep``: wider than every band it has now.

    A rep's tolerance applies to each balanced measure, so a step narrower
    than any configured tolerance would tighten another band; none is tried.
    """
    if not any(b.tolerance is not None for b in cfg.balance):
        return []
    now = _rep_tol(problem, cfg, rep)
    widest = max(b.tolerance for b in cfg.balance if b.tolerance is not None)
    return [t for t in WIDEN_STEPS if t > max(now, widest) + 1e-12]


def widen_to_clear(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    rep: str,
    flagged: dict[int, NDArray[np.bool_] | None],
) -> tuple[TerritoryProblem, str | None]:
    """``rep``'s band widened just enough that no new base is flagged.

    A step of :data:`WIDEN_STEPS` does when ``rep`` is no longer flagged
    and every base then flagged was flagged before. The widest step is
    checked first (a hopeless case costs one check), then the narrowest
    step that does is found by bisection. Returns the problem unchanged and
    None when no step up to :data:`WIDEN_MAX` does, or when the model has
    more than :data:`WIDEN_PAIRS` allowed pairs (not tried).
    """
    steps = _widen_steps(problem, cfg, rep)
    if not steps or _pairs(problem, cfg) > WIDEN_PAIRS:
        return problem, None
    if not _clears(problem, cfg, rep, steps[-1], flagged):
        return problem, None
    low, high = -1, len(steps) - 1  # steps[high] does; steps[low] is unknown
    while high - low > 1:
        mid = (low + high) // 2
        if _clears(problem, cfg, rep, steps[mid], flagged):
            high = mid
        else:
            low = mid
    tol = steps[high]
    k = _rep_index(problem, rep, "remedies.auto")
    line = (
        f"widened the band of rep {rep} to ±{tol:.0%}: {base_reason(problem, cfg, k)}"
        f"; with this band it is no longer flagged (make it permanent with "
        f"remedies.wider_band: {{{rep}: {tol:g}}})"
    )
    return widen(problem, {rep: tol}), line


def _clears(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    rep: str,
    tol: float,
    flagged: dict[int, NDArray[np.bool_] | None],
) -> bool:
    """True when a band of ±``tol`` for ``rep`` removes its flag, adding none."""
    k = _rep_index(problem, rep, "remedies.auto")
    after = set(flagged_bases(widen(problem, {rep: tol}), cfg))
    return k not in after and after <= set(flagged)


def move_to_unserved(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    rep: str,
    avoid: NDArray[np.bool_] | None = None,
) -> tuple[TerritoryProblem, str | None]:
    """``rep``'s base moved to where potential is unserved, and why in words.

    ``avoid`` marks units that may not be the new site (the area of the
    crowded group the base leaves). Returns the problem unchanged and None
    when nothing is unserved elsewhere.
    """
    k = _rep_index(problem, rep, "remedies.auto")
    site = best_site(problem, cfg, None if avoid is None else ~avoid)
    if site is None:
        return problem, None
    i, taken = site
    why = base_reason(problem, cfg, k)
    line = (
        f"moved base {rep} from {base_position(problem, k)} to "
        f"{unit_label(problem, i)}: {why}; there it takes "
        f"{taken / _share(problem):.1f} territories' unserved potential (make it "
        f"permanent with remedies.move_base: {{{rep}: {problem.unit_ids[i]}}})"
    )
    return move_bases(problem, {rep: str(problem.unit_ids[i])}), line


def base_reason(problem: TerritoryProblem, cfg: TerritoryConfig, k: int) -> str:
    """Why base ``k`` is badly placed, in territories' shares of potential."""
    share = _share(problem)
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    reach = float(problem.potential[allowed[:, k]].sum())
    if reach < problem.targets("potential")[k] * (1 - _tolerance(cfg)):
        return (
            f"it can reach only {reach / share:.2f} territories' potential from "
            f"units that have it among their nearest bases"
        )
    unit = "km" if problem.coords == "latlon" else "distance units"
    base_d = _base_distance(problem)[k]
    others = np.delete(base_d, k)
    radius = max(CROWD_RADIUS_KM, 1.5 * float(others.min()) if others.size else 0)
    if problem.coords == "latlon":
        radius = min(radius, CROWD_RADIUS_MAX_KM)
    radius = float(np.ceil(radius / 10) * 10)
    group = np.flatnonzero((base_d <= radius) & ~problem.is_dedicated)
    held = float(problem.potential[np.isin(nearest_bases(problem), group)].sum())
    origin = base_position(problem, k)
    bases = "1 base" if group.size == 1 else f"{group.size} bases"
    verb = "holds" if group.size == 1 else "share"
    return (
        f"{bases} within {radius:.0f} {unit} of {origin} {verb} "
        f"{held / share:.1f} territories' potential"
    )


def _tolerance(cfg: TerritoryConfig) -> float:
    """Tolerance of the first potential band (0 when there is none)."""
    for spec in cfg.balance:
        if spec.measure == "potential" and spec.tolerance is not None:
            return spec.tolerance
    return 0.0


def _base_distance(problem: TerritoryProblem) -> NDArray[np.float64]:
    """Distance between rep bases, shape (n_reps, n_reps)."""
    lat, lon = problem.rep_lat, problem.rep_lon
    if problem.coords == "xy":
        return euclidean(lat, lon, lat, lon)
    return haversine_km(lat, lon, lat, lon)


def _base(problem: TerritoryProblem, k: int) -> tuple[float, float]:
    """Latitude and longitude (or x, y) of rep ``k``'s base."""
    return float(problem.rep_lat[k]), float(problem.rep_lon[k])


def base_position(problem: TerritoryProblem, k: int) -> str:
    """Where rep ``k``'s base is, in words.

    x/y: its coordinates, ``(x, y)``. lat/lon: the unit nearest to it when
    the base is within 0.5 km of that unit, else ``a point <d> km from
    <unit>`` (km, rounded).
    """
    lat, lon = _base(problem, k)
    if problem.coords == "xy":
        return f"({lat:g}, {lon:g})"
    d = coordinate_distance(problem, np.array([lat]), np.array([lon]))[:, 0]
    i = int(np.argmin(d))
    if d[i] < 0.5:
        return unit_label(problem, i)
    return f"a point {d[i]:,.0f} km from {unit_label(problem, i)}"


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


def short_areas(
    problem: TerritoryProblem, cfg: TerritoryConfig, cheapest: bool = False
) -> dict[int, NDArray[np.bool_] | None]:
    """:func:`short_reps` by index, each with the units its area reaches.

    The area of a short base is every unit allowed to it or to one of its
    :data:`SHORT_NEIGHBOURS` nearest bases; a base moved away from there
    should land elsewhere. With ``cheapest`` the base of each area that
    goes is the one whose leaving overloads the others least
    (:func:`leave_costs`; ties to the short base itself): the relaxation
    may put the shortfall of an area on any of its bases.
    """
    short = np.flatnonzero(short_reps(problem, cfg))
    if short.size == 0:
        return {}
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    near = np.argsort(_base_distance(problem), axis=1, kind="stable")
    near = near[:, : SHORT_NEIGHBOURS + 1]
    areas: dict[int, NDArray[np.bool_] | None] = {}
    for k in short:
        area = np.asarray(allowed[:, near[k]].any(axis=1))
        areas[_leaver(problem, cfg, near[k], areas) if cheapest else int(k)] = area
    return areas


def _leaver(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    nearby: NDArray[np.int64],
    taken: dict[int, NDArray[np.bool_] | None],
) -> int:
    """Base among ``nearby`` (first: the short one) whose leaving costs least."""
    locked_to = set(problem.locked[problem.locked != NO_REP].tolist())
    free = [
        int(j)
        for j in nearby
        if not problem.is_dedicated[j] and int(j) not in locked_to | set(taken)
    ]
    if not free:
        return int(nearby[0])
    costs = np.round(leave_costs(problem, cfg, np.array(free)), 9)
    return free[int(np.argmin(costs))]


def remedies_frame(applied: list[str]) -> pd.DataFrame:
    """The applied remedies as a one-column table."""
    return pd.DataFrame({"remedy": applied})
