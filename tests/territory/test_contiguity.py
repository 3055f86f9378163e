"""Contiguous territories against brute force."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.errors import DataError
from spmopt.territory.contiguity import (
    adjacency_from_table,
    check_adjacency,
    components,
    delaunay_edges,
    unit_rows,
)
from spmopt.territory.model import AlignmentModel, SolverSettings, balance_band
from tests.territory.conftest import MakeProblem

FAST = SolverSettings(time_limit_seconds=20, workers=1, relative_gap=0.0)


def test_delaunay_edges_of_a_square() -> None:
    edges = delaunay_edges(
        np.array([0.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0, 1.0])
    )
    assert len(edges) == 5  # four sides and one diagonal
    assert components(4, edges, np.ones(4, dtype=bool)) == 1


def test_components_counts_pieces() -> None:
    chain = np.array([[0, 1], [1, 2], [2, 3]])
    members = np.array([True, False, True, True])
    assert components(4, chain, members) == 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_contiguous_optimum_equals_brute_force(
    seed: int, make_problem: MakeProblem
) -> None:
    p = make_problem(seed, n_units=8, n_reps=2)
    edges = delaunay_edges(p.unit_lat, p.unit_lon)
    lows, highs = balance_band(p, "potential", 0.25)
    roots = [int(np.argmin(p.distance[:, k])) for k in range(p.n_reps)]
    best = np.inf
    for combo in itertools.product(range(p.n_reps), repeat=p.n_units):
        a = np.array(combo)
        sums = np.bincount(a, p.potential, p.n_reps)
        if (sums < lows).any() or (sums > highs).any():
            continue
        if any(a[roots[k]] != k for k in range(p.n_reps)):
            continue
        if any(components(p.n_units, edges, a == k) > 1 for k in range(p.n_reps)):
            continue
        best = min(best, float(p.distance[np.arange(p.n_units), a].sum()))
    model = AlignmentModel.from_problem(p, None).add_balance("potential", 0.25)
    result = model.add_contiguity(edges).set_objective().solve(FAST)
    if np.isinf(best):
        assert result.status == "infeasible"
    else:
        assert result.objective == pytest.approx(best)
        for k in range(p.n_reps):
            assert components(p.n_units, edges, result.assignment == k) == 1


def test_adjacency_table_pairs_among_aligned_units(tmp_path: Path) -> None:
    table = tmp_path / "adj.csv"
    table.write_text("unit_id,neighbor_id\nb,a\na,b\nb,c\nc,x\nc,c\n")
    ids = np.array(["a", "b", "c"], dtype=object)
    edges = adjacency_from_table(str(table), ids)
    assert edges.tolist() == [[0, 1], [1, 2]]  # repeats, self pairs, others gone
    with pytest.raises(DataError) as caught:
        adjacency_from_table(str(table), np.array(["x", "y"], dtype=object))
    assert str(caught.value) == (
        f"config: field 'contiguity.adjacency': {table}: no pair of two different "
        "aligned units; check columns 'unit_id' and 'neighbor_id' and units.keep"
    )


def test_a_blank_id_in_an_adjacency_table_is_refused(tmp_path: Path) -> None:
    table = tmp_path / "adj.csv"
    table.write_text("a,b\nu1,u2\nu2,\n")
    ids = pd.Series(["u1", "u2"])
    check_adjacency(str(table), ids, "a", "a", "unit_id")
    with pytest.raises(DataError, match="column 'b' names unit a blank cell in data"):
        check_adjacency(str(table), ids, "a", "b", "unit_id")


def test_the_parts_of_a_split_unit_take_its_neighbours(tmp_path: Path) -> None:
    table = tmp_path / "adj.csv"
    table.write_text("unit_id,neighbor_id\na,b\nb,c\n")
    ids = np.array(["a", "b#1", "c", "b#2"], dtype=object)
    edges = adjacency_from_table(str(table), ids)
    assert edges.tolist() == [[0, 1], [0, 3], [1, 2], [1, 3], [2, 3]]
    assert components(4, edges, np.array([True, False, True, False])) == 2


def test_an_id_with_a_hash_of_its_own_is_not_a_part() -> None:
    ids = np.array(["a", "a#1", "b#1", "b#2", "c#x"], dtype=object)
    rows = unit_rows(ids)
    assert rows["a"] == [0] and rows["a#1"] == [1]  # a is a unit of its own
    assert rows["b"] == [2, 3]
    assert "c" not in rows


def test_a_split_unit_keeps_a_chain_of_units_solvable(tmp_path: Path) -> None:
    from spmopt.config import parse_config
    from spmopt.territory.config import TerritoryConfig
    from spmopt.territory.job import contiguity_edges, solve_config

    rows = [f"u{i},{30 + i * 0.1},-85,{10 + i}" for i in range(8)]
    (tmp_path / "units.csv").write_text("unit_id,lat,lon,sales\n" + "\n".join(rows))
    chain = [f"u{i},u{i + 1}" for i in range(7)]
    (tmp_path / "adj.csv").write_text("unit_id,neighbor_id\n" + "\n".join(chain))
    reps = [("A", 30.0), ("B", 30.7)]
    data = {
        "units": {"table": "units.csv", "potential": {"column": "sales"}},
        "reps": {"rows": [{"rep_id": r, "lat": y, "lon": -85} for r, y in reps]},
        "balance": [{"tolerance": 0.3}],
        "contiguity": {"adjacency": "adj.csv"},
        "remedies": {"split": {"u3": 2}},
        "solver": {"workers": 1, "time_limit_seconds": 10},
        "track": False,
    }
    cfg = parse_config(TerritoryConfig, data, base_dir=tmp_path)
    problem, result = solve_config(cfg)
    edges = contiguity_edges(problem, cfg)
    assert problem.n_units == 9 and result.has_solution
    for rep in range(problem.n_reps):
        members = result.assignment == rep
        assert components(problem.n_units, edges, members) == 1
