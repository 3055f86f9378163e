"""Explain in user terms why no alignment satisfies the constraints.

Two layers. First, counting arguments that are certain and name the data
(a unit too big for every rep it may go to, a rep that cannot reach its
band, total workload above total capacity, a disruption budget below the
moves the bands force). Second, when counting finds nothing, CP-SAT is asked
for a small set of constraint families that conflict on their own.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Literal, NamedTuple, NoReturn

import numpy as np
from numpy.typing import NDArray

from spmopt.errors import DataError, InfeasibleError
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

MAX_SUGGESTED_SITES = 12
"""Concrete sites for moved or added bases named in one explanation."""


class SitePool:
    """Sites for moved or added bases, handed out in order to the causes.

    Sites are placed as ``remedies.add_reps`` would place them (greedily
    where potential is unserved, see :func:`remedies.best_site`), on the
    problem with every oversized unit dedicated first (as ``remedies.auto``
    does); each site handed out counts as a base there for the next one.
    """

    def __init__(self, problem: TerritoryProblem, cfg: TerritoryConfig) -> None:
        self.problem = problem
        self.cfg = cfg
        self.given = 0
        self.moved: dict[str, str] = {}
        self._ready = False

    def take(
        self,
        n: int,
        among: NDArray[np.bool_] | None = None,
        movers: list[str] | None = None,
    ) -> list[str]:
        """Unit ids of up to ``n`` further sites (``among`` limits the units).

        With ``movers`` (rep ids, one per site) the sites are for those
        bases to move to (a base named again keeps its site), else for
        added bases.
        """
        from spmopt.territory.remedies import add_bases, best_site, move_bases

        if movers is not None and all(r in self.moved for r in movers):
            return [self.moved[r] for r in movers]
        self._prepare()
        out: list[str] = []
        while len(out) < n and self.given < MAX_SUGGESTED_SITES:
            site = best_site(self.problem, self.cfg, among)
            if site is None:
                break
            unit = str(self.problem.unit_ids[site[0]])
            if movers is None:
                self.problem = add_bases(self.problem, [site[0]])
            else:
                self.problem = move_bases(self.problem, {movers[len(out)]: unit})
                self.moved[movers[len(out)]] = unit
            self.given += 1
            out.append(unit)
        return out

    def _prepare(self) -> None:
        from spmopt.territory.remedies import dedicate

        if not self._ready:
            big = oversized_units(self.problem, self.cfg)
            with suppress(DataError):  # too few reps to dedicate all: as posed
                self.problem = dedicate(self.problem, list(self.problem.unit_ids[big]))
            self._ready = True


def format_pair(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` with thousands separators and enough decimals to differ.

    One decimal unless that shows two different numbers as equal (e.g. a
    workload of 10.04 against a capacity of 10), then up to six.
    """
    for digits in range(1, 7):
        left, right = f"{a:,.{digits}f}", f"{b:,.{digits}f}"
        if left != right:
            break
    return left, right


def raise_no_solution(
    problem: TerritoryProblem, cfg: TerritoryConfig, result: SolveResult
) -> NoReturn:
    """Raise an :class:`InfeasibleError` naming the conflicting constraints."""
    if result.status == "unknown":
        raise InfeasibleError(
            f"no alignment found within {limit_words(cfg)}; the problem may be "
            f"infeasible or too hard for the limit: raise the limit or "
            f"solver.k_nearest, or widen the balance tolerance"
        )
    causes = conflict_causes(problem, cfg) or family_causes(problem, cfg)
    shown = causes[:MAX_CAUSES]
    if len(causes) > MAX_CAUSES:
        shown.append(f"and {len(causes) - MAX_CAUSES} more")
    raise InfeasibleError("no alignment satisfies the constraints: " + "; ".join(shown))


def limit_words(cfg: TerritoryConfig) -> str:
    """The solver limit that stopped a search, as the config names it."""
    s = cfg.solver
    if s.deterministic_time is None:
        return f"solver.time_limit_seconds={s.time_limit_seconds:g}"
    return (
        f"the work limit solver.deterministic_time={s.deterministic_time:g} "
        f"(or solver.time_limit_seconds={s.time_limit_seconds:g})"
    )


def conflict_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    """Certain reasons for infeasibility found by counting, in user terms."""
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    pool = SitePool(problem, cfg)
    causes: list[str] = []
    if cfg.capacity:
        causes += _capacity_causes(problem, allowed)
    for spec in cfg.balance:
        lows, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        causes += _band_causes(problem, allowed, spec.measure, lows, highs, pool)
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
        each = float(np.median(problem.capacity))
        more = int(np.ceil((total_w - total_c) / each))
        causes.append(
            f"total workload {total_w:,.1f} exceeds total capacity {total_c:,.1f} "
            f"by {total_w - total_c:,.1f}: add reps (remedies.add_reps: {more} adds "
            f"{more} with the median capacity {each:,.1f}) or raise capacity"
        )
    reach = np.where(allowed, problem.capacity[None, :], -np.inf).max(axis=1)
    for i in np.flatnonzero(problem.workload > reach):
        own, cap = format_pair(problem.workload[i], reach[i])
        causes.append(
            f"unit {problem.unit_ids[i]} alone has workload {own}, above the "
            f"capacity of every rep it may go to (largest {cap}): give it a "
            f"dedicated rep or split it"
        )
    return causes


def _band_causes(
    problem: TerritoryProblem,
    allowed: NDArray[np.bool_],
    measure: str,
    lows: NDArray[np.float64],
    highs: NDArray[np.float64],
    pool: SitePool | None = None,
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
    share = float(problem.targets(measure).max())
    targets = problem.targets(measure)
    for i in np.flatnonzero(values > reach * (1 + 1e-9)):
        unit = problem.unit_ids[i]
        near = int(np.argmin(np.where(allowed[i], problem.distance[i], np.inf)))
        parts = int(np.ceil(values[i] / max(reach[i], 1e-9)))
        wider = values[i] / max(targets[near], 1e-9) - 1
        causes.append(
            f"unit {unit} alone holds {measure} {values[i]:,.0f} "
            f"({values[i] / share:.2f} times a territory's share), above the band "
            f"max {reach[i]:,.0f} of every rep it may go to: give it a dedicated "
            f"territory (remedies.dedicated: [{unit}]), split it "
            f"(remedies.split: {{{unit}: {max(parts, 2)}}}), or widen the band of "
            f"its nearest rep (remedies.wider_band: {{{problem.rep_ids[near]}: "
            f"{wider + 0.01:.2f}}}); remedies.auto: true dedicates it"
        )
    reachable = (values[:, None] * allowed).sum(axis=0)
    for k in np.flatnonzero(reachable < lows * (1 - 1e-9)):
        rep = problem.rep_ids[k]
        causes.append(
            f"rep {rep} can reach only {measure} {reachable[k]:,.0f} from units "
            f"that have it among their solver.k_nearest={_k(allowed)} nearest "
            f"reps, below its band min {lows[k]:,.0f}: "
            f"{_move_words([rep], pool)}, remove it (remedies.drop_reps: [{rep}]) "
            f"or raise k_nearest; remedies.auto: true moves it"
        )
    if not causes:
        causes += crowded_causes(problem, allowed, measure, lows, highs, pool)
    return causes


def _move_words(reps: list[str], pool: SitePool | None) -> str:
    """``move ... (remedies.move_base: {rep: unit, ...})`` with pool sites."""
    sites = [] if pool is None else pool.take(len(reps), movers=reps)
    if len(sites) < len(reps):
        pairs = ", ".join(f"{r}: <unit id>" for r in reps)
        return f"move {_them(reps)} (remedies.move_base: {{{pairs}}})"
    pairs = ", ".join(f"{r}: {u}" for r, u in zip(reps, sites, strict=True))
    return (
        f"move {_them(reps)} to where potential is unserved "
        f"(remedies.move_base: {{{pairs}}})"
    )


def _them(reps: list[str]) -> str:
    return "its base" if len(reps) == 1 else f"{len(reps)} of these bases"


def _it(reps: list[str]) -> str:
    return "it" if len(reps) == 1 else "them"


CROWD_GROUP = 24
"""Largest group of neighbouring bases checked by :func:`crowded_causes`."""


def crowded_causes(
    problem: TerritoryProblem,
    allowed: NDArray[np.bool_],
    measure: str,
    lows: NDArray[np.float64],
    highs: NDArray[np.float64],
    pool: SitePool | None = None,
) -> list[str]:
    """Groups of neighbouring bases that cannot all reach their bands.

    For each rep and its ``g`` nearest reps (by base distance, g up to
    :data:`CROWD_GROUP`): the units that may go to one of them hold less
    than the group's summed band minimum (bases crowd together), or the
    units that may go only to them hold more than its summed band maximum
    (too few bases for the area). The smallest such group per rep is named,
    with sites from ``pool`` for the bases to move or add.
    """
    groups = _crowded_groups(problem, allowed, measure, lows, highs)
    return [_group_words(problem, measure, g, lows, highs, pool) for g in groups]


class _Group(NamedTuple):
    """A failing group of bases: crowded, or too few for its ``area``."""

    reps: NDArray[np.int64]
    crowded: bool
    held: float
    area: NDArray[np.bool_]


def _crowded_groups(
    problem: TerritoryProblem,
    allowed: NDArray[np.bool_],
    measure: str,
    lows: NDArray[np.float64],
    highs: NDArray[np.float64],
) -> list[_Group]:
    """The smallest failing group of each rep (each group once)."""
    from spmopt.territory.lpround import _rep_distance

    values = problem.measure(measure)
    order = np.argsort(_rep_distance(problem), axis=1, kind="stable")
    per_unit = allowed.sum(axis=1)
    found: list[_Group] = []
    seen: set[frozenset[int]] = set()
    for k in np.flatnonzero(~problem.is_dedicated):
        reach = np.zeros(problem.n_units, dtype=bool)
        inside = np.zeros(problem.n_units, dtype=np.int64)
        for g in range(min(CROWD_GROUP, problem.n_reps)):
            reach |= allowed[:, order[k, g]]
            inside += allowed[:, order[k, g]]
            group = order[k, : g + 1]
            failed = _group_check(group, values, reach, inside == per_unit, lows, highs)
            if failed is None:
                continue
            if frozenset(group.tolist()) not in seen:
                seen.add(frozenset(group.tolist()))
                found.append(failed)
            break
    return found


def oversized_units(
    problem: TerritoryProblem, cfg: TerritoryConfig
) -> NDArray[np.bool_]:
    """Units above the band max of every rep they may go to (any band)."""
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    out = np.zeros(problem.n_units, dtype=bool)
    for spec in cfg.balance:
        _, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        reach = np.where(allowed, highs[None, :], -np.inf).max(axis=1)
        out |= problem.measure(spec.measure) > reach * (1 + 1e-9)
    return out & (problem.locked == NO_REP)


def crowded_reps(problem: TerritoryProblem, cfg: TerritoryConfig) -> NDArray[np.bool_]:
    """Bases to move or drop: unreachable ones, and one per crowded group.

    From a crowded group the base nearest to another base of the group goes.
    """
    drop = np.zeros(problem.n_reps, dtype=bool)
    drop[list(crowded_areas(problem, cfg))] = True
    return drop


def crowded_areas(
    problem: TerritoryProblem,
    cfg: TerritoryConfig,
    pick: Literal["closest", "cheapest"] = "closest",
) -> dict[int, NDArray[np.bool_] | None]:
    """:func:`crowded_reps` by index, each with the units its group reaches.

    A base moved away from a crowded group should not land among the units
    the group already reaches (there is too little for the group there);
    unreachable bases map to None (any site will do). ``pick`` chooses the
    base of a crowded group: the one nearest to another base of the group,
    or the one whose leaving overloads its neighbours least
    (:func:`remedies.leave_costs`; ties to the nearest).
    """
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    areas: dict[int, NDArray[np.bool_] | None] = {}
    for spec in cfg.balance:
        values = problem.measure(spec.measure)
        lows, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        reachable = (values[:, None] * allowed).sum(axis=0)
        short = (reachable < lows * (1 - 1e-9)) & ~problem.is_dedicated
        areas.update({int(k): None for k in np.flatnonzero(short)})
        if areas:
            continue
        for group in _crowded_groups(problem, allowed, spec.measure, lows, highs):
            if group.crowded and not any(int(k) in areas for k in group.reps):
                areas[_pick(problem, cfg, group.reps, pick)] = group.area
    locked_to = set(problem.locked[problem.locked != NO_REP].tolist())
    return {k: area for k, area in areas.items() if k not in locked_to}


def _pick(
    problem: TerritoryProblem, cfg: TerritoryConfig, group: NDArray[np.int64], how: str
) -> int:
    """The base of a crowded ``group`` to move or drop (see crowded_areas)."""
    if how == "closest":
        return int(_closest_bases(problem, group, 1)[0])
    return int(_cheapest_bases(problem, cfg, group, 1)[0])


def _cheapest_bases(
    problem: TerritoryProblem, cfg: TerritoryConfig, group: NDArray[np.int64], n: int
) -> NDArray[np.int64]:
    """The ``n`` bases of ``group`` whose leaving overloads the others least.

    Ties go to the base nearest to another base of the group.
    """
    from spmopt.territory.remedies import leave_costs

    ordered = _closest_bases(problem, group, len(group))
    costs = np.round(leave_costs(problem, cfg, ordered), 9)
    return ordered[np.argsort(costs, kind="stable")[:n]]


def _group_check(
    group: NDArray[np.int64],
    values: NDArray[np.float64],
    reach: NDArray[np.bool_],
    only: NDArray[np.bool_],
    lows: NDArray[np.float64],
    highs: NDArray[np.float64],
) -> _Group | None:
    if len(group) < 2:
        return None
    got = float(values[reach].sum())
    if got < float(lows[group].sum()) * (1 - 1e-9):
        return _Group(group, True, got, reach)
    held = float(values[only].sum())
    if held > float(highs[group].sum()) * (1 + 1e-9):
        return _Group(group, False, held, only)
    return None


def _group_words(
    problem: TerritoryProblem,
    measure: str,
    group: _Group,
    lows: NDArray[np.float64],
    highs: NDArray[np.float64],
    pool: SitePool | None,
) -> str:
    reps = group.reps
    names = ", ".join(str(r) for r in problem.rep_ids[reps])
    if group.crowded:
        need = float(lows[reps].sum())
        n = int(np.ceil((need - group.held) / max(float(lows[reps].mean()), 1e-9)))
        chosen = (
            _closest_bases(problem, reps, n)
            if pool is None
            else _cheapest_bases(problem, pool.cfg, reps, n)
        )
        movers = [str(r) for r in problem.rep_ids[chosen]]
        return (
            f"reps {names} crowd together: the units that may go to one of them "
            f"hold {measure} {group.held:,.0f}, below their summed band min "
            f"{need:,.0f}: {_move_words(movers, pool)}, remove {_it(movers)} "
            f"(remedies.drop_reps: [{', '.join(movers)}]), or raise "
            f"solver.k_nearest"
        )
    cap = float(highs[reps].sum())
    n = int(np.ceil((group.held - cap) / max(float(highs[reps].mean()), 1e-9)))
    sites = [] if pool is None else pool.take(n, group.area)
    add = f"[{', '.join(sites)}]" if len(sites) == n else f"{n}"
    return (
        f"reps {names} are too few for their area: the units that may go only "
        f"to them hold {measure} {group.held:,.0f}, above their summed band max "
        f"{cap:,.0f}: add {n} base(s) there (remedies.add_reps: {add}), widen "
        f"their band (remedies.wider_band), or raise solver.k_nearest"
    )


def _closest_bases(
    problem: TerritoryProblem, group: NDArray[np.int64], n: int
) -> NDArray[np.int64]:
    """The ``n`` bases of ``group`` nearest to another base of the group."""
    from spmopt.territory.lpround import _rep_distance

    between = _rep_distance(problem)[np.ix_(group, group)]
    np.fill_diagonal(between, np.inf)
    return group[np.argsort(between.min(axis=1), kind="stable")[:n]]


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
    from spmopt.territory.job import build_model, solver_method

    if solver_method(problem, cfg) == "lp_round":
        return _shortfall_causes(problem, cfg)
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


def _shortfall_causes(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    """Reps whose bands the relaxation must stretch, in words (large models)."""
    from spmopt.territory.job import build_model
    from spmopt.territory.lpround import LPRoundModel

    model = build_model(problem, cfg, method="lp_round")
    assert isinstance(model, LPRoundModel)
    short = model.shortfall(min(60.0, cfg.solver.time_limit_seconds))
    under = [str(problem.rep_ids[k]) for k in np.argsort(-short) if short[k] > 1e-6]
    over = np.array([k for k in np.argsort(short) if short[k] < -1e-6], dtype=int)
    pool = SitePool(problem, cfg)
    causes = []
    if under:
        causes.append(
            f"reps {', '.join(under[:8])} cannot reach their band minimum even "
            f"fractionally (bases crowd together or units have too few of them "
            f"among their solver.k_nearest={cfg.solver.k_nearest} nearest reps): "
            f"{_move_words(under[:3], pool)}, remove some of these bases "
            f"(remedies.drop_reps), let remedies.auto: true move or drop them, or "
            f"raise solver.k_nearest"
        )
    if over.size:
        causes.append(_over_words(problem, over, pool))
    return causes or [
        "the constraints conflict (no relaxed alignment exists): widen the balance "
        "bands, raise solver.k_nearest, or relax the disruption budget"
    ]


def _over_words(
    problem: TerritoryProblem, over: NDArray[np.int_], pool: SitePool
) -> str:
    """Reps above their band maximum, with sites for added bases in their area."""
    from spmopt.territory.remedies import nearest_bases

    area = np.isin(nearest_bases(problem), over)
    sites = pool.take(min(3, over.size), area)
    add = f": [{', '.join(sites)}]" if sites else ""
    names = ", ".join(str(r) for r in problem.rep_ids[over[:8]])
    return (
        f"reps {names} must hold more than their band maximum even "
        f"fractionally: add bases in their area (remedies.add_reps{add}), "
        f"widen their band (remedies.wider_band), or raise solver.k_nearest"
    )


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
