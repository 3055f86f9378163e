"""Explanations name concrete sites for moved or added bases."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from spmopt.config import parse_config
from spmopt.territory.config import TerritoryConfig
from spmopt.territory.explain import SitePool, conflict_causes, crowded_causes
from spmopt.territory.geometry import euclidean
from spmopt.territory.model import allowed_pairs, balance_band
from spmopt.territory.problem import NO_REP, TerritoryProblem
from tests.territory.conftest import MakeProblem


def cfg_for(k: int | None = 1, tolerance: float = 0.1) -> TerritoryConfig:
    data = {
        "units": {"table": "x.csv", "potential": {"column": "p"}},
        "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
        "capacity": False,
        "balance": [{"measure": "potential", "tolerance": tolerance}],
        "solver": {"k_nearest": k, "workers": 1},
        "track": False,
    }
    return parse_config(TerritoryConfig, data)


def two_clusters(
    bases: dict[str, tuple[float, float]], west: float, east: float
) -> TerritoryProblem:
    """Six units around x=1 (potential ``west`` each), six around x=101."""
    ids = [f"{s}{i}" for s in "we" for i in range(6)]
    x = np.array([x0 + i % 3 for x0 in (0.0, 100.0) for i in range(6)])
    y = np.array([float(i // 3) for _ in range(2) for i in range(6)])
    rx = np.array([p[0] for p in bases.values()])
    ry = np.array([p[1] for p in bases.values()])
    n = len(ids)
    return TerritoryProblem(
        unit_ids=np.array(ids, dtype=object),
        rep_ids=np.array(list(bases), dtype=object),
        unit_lat=x,
        unit_lon=y,
        rep_lat=rx,
        rep_lon=ry,
        potential=np.repeat([west, east], 6),
        workload=np.ones(n),
        capacity=np.full(len(bases), np.inf),
        target_share=np.full(len(bases), 1 / len(bases)),
        distance=euclidean(x, y, rx, ry),
        current=np.full(n, NO_REP),
        locked=np.full(n, NO_REP),
        coords="xy",
        extra=pd.DataFrame(index=range(n)),
    )


def _crowded(problem: TerritoryProblem, cfg: TerritoryConfig) -> list[str]:
    lows, highs = balance_band(problem, "potential", 0.1)
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    pool = SitePool(problem, cfg)
    return crowded_causes(problem, allowed, "potential", lows, highs, pool)


def test_crowded_bases_get_a_concrete_move() -> None:
    bases = {"W1": (0.0, 0.5), "W2": (2.0, 0.5), "E": (101.0, 0.5)}
    problem = two_clusters(bases, west=10, east=10)
    (cause,) = _crowded(problem, cfg_for())
    assert cause.startswith("reps W1, W2 crowd together")
    assert "remedies.drop_reps: [W1]" in cause
    found = re.search(r"remedies\.move_base: \{W1: (e\d)\}", cause)
    assert found, cause  # the east cluster, where E holds 1.5 shares


def test_too_few_bases_get_a_concrete_site() -> None:
    bases = {"W": (1.0, 0.5), "E1": (100.0, 0.5), "E2": (102.0, 0.5)}
    problem = two_clusters(bases, west=10, east=30)
    causes = _crowded(problem, cfg_for())
    few = [c for c in causes if "are too few for their area" in c]
    assert len(few) == 2  # {W, E1} and {E1, E2}: the same shortage of the east
    concrete = [c for c in few if "add 1 base(s) there (remedies.add_reps: [e" in c]
    assert len(concrete) == 1  # one site covers it; the other says the count
    assert "(remedies.add_reps: 1)" in (set(few) - set(concrete)).pop()


def test_stranded_rep_is_told_where_to_move(make_problem: MakeProblem) -> None:
    bases = {"W": (1.0, 0.5), "E": (101.0, 0.5), "S": (1000.0, 1000.0)}
    problem = two_clusters(bases, west=10, east=10)
    causes = conflict_causes(problem, cfg_for())
    stranded = [c for c in causes if c.startswith("rep S can reach only")]
    assert len(stranded) == 1
    assert "remedies.move_base: {S: " in stranded[0]
    assert "<unit id>" not in stranded[0]
    assert "remedies.drop_reps: [S]" in stranded[0]


def test_capacity_shortfall_counts_reps_to_add(make_problem: MakeProblem) -> None:
    p = make_problem(2, n_units=6, n_reps=3, capacity=5.0)
    cfg = cfg_for(k=None).model_copy(update={"capacity": True, "balance": []})
    causes = conflict_causes(p, cfg)
    excess = p.workload.sum() - 15.0
    more = int(np.ceil(excess / 5.0))
    assert any(f"remedies.add_reps: {more} adds {more}" in c for c in causes)


def test_pool_sites_are_distinct_and_bounded(make_problem: MakeProblem) -> None:
    p = make_problem(7, n_units=30, n_reps=1)
    pool = SitePool(p, cfg_for(k=None, tolerance=0.0))
    sites = pool.take(4) + pool.take(20)
    assert len(sites) == len(set(sites)) <= 12
    assert sites[:4] == SitePool(p, cfg_for(k=None, tolerance=0.0)).take(4)


def test_relaxation_causes_name_moves_and_additions() -> None:
    from spmopt.territory.explain import _shortfall_causes

    bases = {"W1": (0.0, 0.5), "W2": (2.0, 0.5), "E": (101.0, 0.5)}
    problem = two_clusters(bases, west=10, east=10)
    under, over = _shortfall_causes(problem, cfg_for())
    assert under.startswith("reps W2 cannot reach their band minimum")
    assert re.search(r"remedies\.move_base: \{W2: e\d\}", under)
    assert over.startswith("reps E must hold more than their band maximum")
    # the moved W2 relieves E, so no further site is offered
    assert "add bases in their area (remedies.add_reps)" in over


def test_a_base_named_twice_keeps_its_site() -> None:
    bases = {"W": (1.0, 0.5), "E": (101.0, 0.5), "S": (1000.0, 1000.0)}
    problem = two_clusters(bases, west=10, east=10)
    pool = SitePool(problem, cfg_for())
    first = pool.take(1, movers=["S"])
    assert len(first) == 1
    assert pool.take(1, movers=["S"]) == first
    assert pool.given == 1
