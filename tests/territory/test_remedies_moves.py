"""Remedies that move or add a base: placement, auto moves, errors, determinism."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.cli import main
from spmopt.config import parse_config
from spmopt.errors import DataError, InfeasibleError
from spmopt.territory import TerritoryConfig, solve_config
from spmopt.territory.problem import build_problem
from spmopt.territory.remedies import (
    add_bases,
    best_site,
    move_bases,
    nearest_bases,
    unserved_potential,
)
from tests.territory.conftest import MakeProblem

# Two clusters of units on a plane: west around x=0, east around x=100.
# Base A sits in the west; base S is stranded far away from both.
UNITS = "unit_id,x,y,sales\n" + "\n".join(
    f"{side}{i},{x0 + (i % 3) * 2},{(i // 3) * 2},{10 + i % 3}"
    for side, x0 in (("w", 0), ("e", 100))
    for i in range(6)
)
CONFIG = """units:
  table: units.csv
  coords: xy
  lat: x
  lon: y
  potential: {column: sales}
reps:
  rows:
    - {rep_id: A, lat: 2, lon: 1}
    - {rep_id: S, lat: 1000, lon: 1000}
capacity: false
balance:
  - {measure: potential, tolerance: 0.1}
solver: {time_limit_seconds: 10, workers: 1, k_nearest: 1}
track: false
"""


def write(tmp_path: Path, remedies: str = "") -> Path:
    (tmp_path / "units.csv").write_text(UNITS)
    path = tmp_path / "territory.yaml"
    path.write_text(CONFIG + remedies)
    return path


def cfg_at(tmp_path: Path, remedies: dict | None = None) -> TerritoryConfig:
    from spmopt.config import load_config

    cfg = load_config(TerritoryConfig, write(tmp_path))
    if remedies is None:
        return cfg
    spec = cfg.remedies.model_validate(remedies)
    return cfg.model_copy(update={"remedies": spec})


def test_stranded_base_is_moved_and_becomes_feasible(tmp_path: Path) -> None:
    posed = cfg_at(tmp_path)
    with pytest.raises(InfeasibleError, match=r"remedies\.move_base: \{S: e"):
        solve_config(posed)
    problem, result = solve_config(cfg_at(tmp_path, {"auto": True}))
    assert problem.n_reps == 2
    (line,) = problem.remedies
    assert line.startswith("moved base S from (1000, 1000) to e")
    assert "remedies.move_base: {S: e" in line
    assert problem.rep_lat[1] >= 100  # now in the east cluster
    east = np.char.startswith(problem.unit_ids.astype(str), "e")
    assert (result.assignment[east] == 1).all()
    assert (result.assignment[~east] == 0).all()


def test_move_base_recomputes_distances_keeps_owners(
    make_problem: MakeProblem,
) -> None:
    p = make_problem(3, n_units=6, n_reps=3, with_current=True, locked_units=2)
    q = move_bases(p, {"r1": "u4"})
    assert (q.rep_lat[1], q.rep_lon[1]) == (p.unit_lat[4], p.unit_lon[4])
    assert q.distance[4, 1] == 0.0
    expected = np.hypot(p.unit_lat - p.unit_lat[4], p.unit_lon - p.unit_lon[4])
    assert q.distance[:, 1] == pytest.approx(expected)
    assert (q.distance[:, [0, 2]] == p.distance[:, [0, 2]]).all()
    assert (q.current == p.current).all() and (q.locked == p.locked).all()


def test_add_bases_get_median_capacity_and_share(make_problem: MakeProblem) -> None:
    p = make_problem(4, n_units=8, n_reps=3, capacity=30.0)
    p = move_bases(p, {})
    q = add_bases(p, [5, 6])
    assert list(q.rep_ids[-2:]) == ["new-1", "new-2"]
    assert (q.capacity[-2:] == 30.0).all()
    assert q.target_share == pytest.approx(np.full(5, 0.2))
    assert q.distance[5, 3] == 0.0 and q.distance[6, 4] == 0.0
    r = add_bases(q, [0], capacity=12.0, share=0.5)
    assert r.rep_ids[-1] == "new-3" and r.capacity[-1] == 12.0
    assert r.target_share[-1] == pytest.approx(0.5 * r.target_share[0])


def _brute_force_site(problem, cfg) -> int:  # type: ignore[no-untyped-def]
    """Site by plain loops over every unit (slow reference)."""
    cells = nearest_bases(problem)
    unserved = unserved_potential(problem, cfg, cells)
    best, best_saving = -1, -1.0
    for u in range(problem.n_units):
        if unserved[u] <= 0:
            continue
        saving = 0.0
        for i in range(problem.n_units):
            here = (problem.unit_lat[u], problem.unit_lon[u])
            to_u = np.hypot(
                problem.unit_lat[i] - here[0], problem.unit_lon[i] - here[1]
            )
            k = cells[i]
            to_base = np.hypot(
                problem.unit_lat[i] - problem.rep_lat[k],
                problem.unit_lon[i] - problem.rep_lon[k],
            )
            saving += unserved[i] * max(to_base - to_u, 0.0)
        if saving > best_saving * (1 + 1e-12):
            best, best_saving = u, saving
    return best


@pytest.mark.parametrize("seed", range(6))
def test_best_site_matches_brute_force(make_problem: MakeProblem, seed: int) -> None:
    p = make_problem(seed, n_units=12, n_reps=2)
    cfg = parse_config(
        TerritoryConfig,
        {
            "units": {"table": "x.csv", "potential": {"column": "p"}},
            "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
            "balance": [{"measure": "potential", "tolerance": 0.0}],
            "capacity": False,
        },
    )
    site = best_site(p, cfg)
    assert site is not None
    assert site[0] == _brute_force_site(p, cfg)


def test_added_base_lands_where_potential_is_unserved(tmp_path: Path) -> None:
    cfg = cfg_at(tmp_path, {"drop_reps": ["S"], "add_reps": 1})
    problem = build_problem(cfg)
    assert list(problem.rep_ids) == ["A", "new-1"]
    assert problem.rep_lat[1] >= 100  # the east cluster had no base
    assert "remedies.add_reps: [e" in problem.remedies[-1]
    named = cfg_at(tmp_path, {"add_reps": ["e4"], "new_rep_capacity": 5})
    problem = build_problem(named)
    assert problem.rep_ids[-1] == "new-1" and problem.capacity[-1] == 5.0
    assert (problem.rep_lat[-1], problem.rep_lon[-1]) == (102.0, 2.0)


BAD = {
    "unknown rep": (
        "remedies: {move_base: {Z: e1}}\n",
        "field 'remedies.move_base' names unknown rep 'Z'",
    ),
    "unknown unit": (
        "remedies: {move_base: {S: nope}}\n",
        "field 'remedies.move_base' names unit 'nope', which is not in the units table",
    ),
    "negative count": (
        "remedies: {add_reps: -2}\n",
        "remedies.add_reps' is invalid: must be a count >= 0",
    ),
    "count above units": (
        "remedies: {add_reps: 13}\n",
        "field 'remedies.add_reps' is 13 but the units table has only 12 units",
    ),
    "unknown added unit": (
        "remedies: {add_reps: [e1, zz]}\n",
        "field 'remedies.add_reps' names unit 'zz'",
    ),
    "bad capacity": (
        "remedies: {add_reps: 1, new_rep_capacity: -3}\n",
        "new_rep_capacity",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_values_exit_2_without_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    remedies, message = BAD[case]
    out = tmp_path / "run"
    code = main(
        ["-q", "territory", "solve", str(write(tmp_path, remedies)), "--out", str(out)]
    )
    text = capsys.readouterr()
    assert code == 2
    assert message in text.err
    assert "Traceback" not in text.err + text.out
    assert not out.exists()


def test_same_seed_same_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write(tmp_path, "remedies: {drop_reps: [S], add_reps: 1}\n")
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        assert main(["-q", "territory", "solve", str(config), "--out", str(out)]) == 0
        runs.append(out)
    capsys.readouterr()
    for name in ("assignments.csv", "territories.csv", "map.html"):
        assert (runs[0] / name).read_bytes() == (runs[1] / name).read_bytes()
    territories = pd.read_csv(runs[0] / "territories.csv")
    assert "new-1" in set(territories["rep_id"])


def test_count_larger_than_units_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="at most 12"):
        build_problem(cfg_at(tmp_path, {"add_reps": 13}))


def test_leave_costs_by_hand() -> None:
    from spmopt.territory.geometry import euclidean
    from spmopt.territory.problem import NO_REP, TerritoryProblem
    from spmopt.territory.remedies import leave_costs

    x, bx = np.array([0.0, 5.9, 10.0]), np.array([0.0, 5.5, 10.0])
    zero = np.zeros(3)
    problem = TerritoryProblem(
        unit_ids=np.array(["u0", "u1", "u2"], dtype=object),
        rep_ids=np.array(["A", "B", "C"], dtype=object),
        unit_lat=x,
        unit_lon=zero,
        rep_lat=bx,
        rep_lon=zero,
        potential=np.array([10.0, 2.0, 18.0]),
        workload=np.ones(3),
        capacity=np.full(3, np.inf),
        target_share=np.full(3, 1 / 3),
        distance=euclidean(x, zero, bx, zero),
        current=np.full(3, NO_REP),
        locked=np.full(3, NO_REP),
        coords="xy",
    )
    cfg = parse_config(
        TerritoryConfig,
        {
            "units": {"table": "x.csv", "potential": {"column": "p"}},
            "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
            "balance": [{"measure": "potential", "tolerance": 0.5}],
            "capacity": False,
        },
    )
    # bands [5, 15]; held 10, 2, 18 (3 over). A's unit to B: 12, nothing new
    # over; B's to C: 20 (5 over); C's to B: 20 (5 over); per max of 15.
    costs = leave_costs(problem, cfg, np.array([0, 1, 2]))
    assert costs == pytest.approx([0.0, 2 / 15, 2 / 15])


def test_drop_only_auto_drops_the_stranded_base(tmp_path: Path) -> None:
    from spmopt.territory.remedies import auto_remedies

    cfg = cfg_at(tmp_path)
    problem, done = auto_remedies(build_problem(cfg), cfg, move=False)
    assert done == ["dropped crowded or unreachable base S (remedies.drop_reps: [S])"]
    assert list(problem.rep_ids) == ["A"]


def test_nothing_unserved_adds_at_the_farthest_potential(
    make_problem: MakeProblem,
) -> None:
    from spmopt.territory.remedies import add_reps

    p = make_problem(5, n_units=10, n_reps=2)
    cfg = parse_config(
        TerritoryConfig,
        {
            "units": {"table": "x.csv", "potential": {"column": "p"}},
            "reps": {"rows": [{"rep_id": "a", "lat": 0, "lon": 0}]},
            "balance": [{"measure": "potential", "tolerance": 1.0}],
            "capacity": False,
            "remedies": {"add_reps": 1},
        },
    )
    assert best_site(p, cfg) is None  # a band of ±100% holds every cell
    q, (line,) = add_reps(p, cfg, cfg.remedies)
    nearest = p.distance.min(axis=1)
    far = int(np.argmax(p.potential * nearest))
    assert (q.rep_lat[-1], q.rep_lon[-1]) == (p.unit_lat[far], p.unit_lon[far])
    assert line.startswith(f"added base new-1 at u{far}")


def test_reason_for_a_crowded_base_counts_shares_nearby() -> None:
    from spmopt.territory.remedies import base_reason
    from tests.territory.test_explain_sites import cfg_for, two_clusters

    bases = {"W1": (0.0, 0.5), "W2": (2.0, 0.5), "E": (101.0, 0.5)}
    problem = two_clusters(bases, west=10, east=10)
    # W1 and W2 share the west (60 of 120, a share is 40); W1 reaches 40
    assert base_reason(problem, cfg_for(), 0) == (
        "2 bases within 50 distance units of (0, 0.5) share 1.5 territories' potential"
    )
    far = two_clusters({**bases, "W2": (1000.0, 0.5)}, west=10, east=10)
    assert base_reason(far, cfg_for(), 1).startswith("it can reach only 0.00")


def test_short_area_moves_its_cheapest_base() -> None:
    from spmopt.territory.remedies import short_areas
    from tests.territory.test_explain_sites import cfg_for, two_clusters

    bases = {"W1": (0.0, 0.5), "W2": (2.0, 0.5), "E": (101.0, 0.5)}
    problem = two_clusters(bases, west=10, east=10)
    cfg = cfg_for()
    # the relaxation leaves W2 short; W1 or W2 leaving costs the same (their
    # cells join and exceed a band max by 16), E leaving costs more (20)
    assert list(short_areas(problem, cfg)) == [1]
    (k, area), *_ = short_areas(problem, cfg, cheapest=True).items()
    assert k == 1
    assert area is not None and area.all()  # every unit reaches one of them


def test_base_position_names_coordinates_or_nearest_unit(
    make_problem: MakeProblem,
) -> None:
    from dataclasses import replace

    from spmopt.territory.remedies import base_position

    planar = make_problem(0)
    planar = replace(
        planar, rep_lat=np.array([100.0, 1.5, 0.0]), rep_lon=np.array([100, 0, 0.0])
    )
    assert base_position(planar, 0) == "(100, 100)"  # not the nearest unit
    assert base_position(planar, 1) == "(1.5, 0)"
    # lat/lon: one degree of latitude north of u2 is about 111 km
    ulat, ulon = np.zeros(3), np.array([0.0, 10.0, 20.0])
    sphere = replace(
        planar,
        unit_ids=np.array(["u0", "u1", "u2"], dtype=object),
        unit_lat=ulat,
        unit_lon=ulon,
        rep_lat=np.array([1.0]),
        rep_lon=np.array([20.0]),
        coords="latlon",
        extra=pd.DataFrame({"name": ["A", "B", "C"]}),
    )
    assert base_position(sphere, 0) == "a point 111 km from u2 (C)"
    on_unit = replace(sphere, rep_lat=np.array([0.001]), rep_lon=np.array([10.0]))
    assert base_position(on_unit, 0) == "u1 (B)"
