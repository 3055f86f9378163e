"""Remedies from config: drop bases, dedicated territories, split, wider band."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest

from spmopt.config import parse_config
from spmopt.errors import DataError, InfeasibleError
from spmopt.territory import TerritoryConfig, solve_config
from spmopt.territory.model import allowed_pairs, balance_band
from spmopt.territory.problem import TerritoryProblem, build_problem
from spmopt.territory.remedies import (
    auto_remedies,
    dedicate,
    drop_reps,
    exact_candidates,
    split_unit,
    widen,
)
from tests.territory.conftest import MakeProblem, tiny_problem
from tests.territory.test_job import SOUTH_CAROLINA


def _cfg(**changes: object) -> TerritoryConfig:
    data = {**SOUTH_CAROLINA, "capacity": False, **changes}
    return parse_config(TerritoryConfig, data)


def test_split_keeps_totals_and_place(make_problem: MakeProblem) -> None:
    p = make_problem(0, n_units=4, n_reps=2)
    q = split_unit(p, "u1", 3)
    assert q.n_units == 6
    assert q.potential.sum() == pytest.approx(p.potential.sum())
    assert list(q.unit_ids[-2:]) == ["u1#2", "u1#3"]
    assert q.unit_ids[1] == "u1#1"
    assert (q.distance[-1] == p.distance[1]).all()


def test_dedicated_rep_takes_only_its_unit(make_problem: MakeProblem) -> None:
    p = make_problem(2, n_units=6, n_reps=3, with_current=True)
    q = dedicate(p, ["u0"])
    k = int(q.locked[0])
    assert q.is_dedicated[k] and q.is_dedicated.sum() == 1
    allowed = allowed_pairs(q, None)
    assert allowed[:, k].sum() == 1 and allowed[0, k]
    lows, highs = balance_band(q, "potential", 0.1)
    assert lows[k] == 0 and np.isinf(highs[k])
    rest = p.potential.sum() - p.potential[0]
    assert q.targets("potential")[~q.is_dedicated].sum() == pytest.approx(rest)


def test_drop_and_widen(make_problem: MakeProblem) -> None:
    p = make_problem(1, n_units=6, n_reps=3, with_current=True)
    q = drop_reps(p, ["r1"])
    assert list(q.rep_ids) == ["r0", "r2"]
    assert ((q.current == -1) == (p.current == 1)).all()
    w = widen(q, {"r2": 0.5})
    _, highs = balance_band(w, "potential", 0.05)
    target = w.targets("potential")
    assert highs[1] == pytest.approx(target[1] * 1.5)
    assert highs[0] == pytest.approx(target[0] * 1.05)
    with pytest.raises(DataError, match="unknown rep 'zz'"):
        drop_reps(p, ["zz"])


def test_auto_dedicates_an_oversized_unit_and_solves() -> None:
    rows = [
        {"rep_id": r, "lat": lat, "lon": lon}
        for r, lat, lon in [
            ("CAE", 34.00, -81.03),
            ("CHS", 32.78, -79.93),
            ("GSP", 34.85, -82.40),
            ("MYR", 33.69, -78.89),
            ("FLO", 34.20, -79.77),
            ("RHI", 34.92, -81.03),
            ("AIK", 33.56, -81.72),
            ("BFT", 32.43, -80.67),
            ("SUM", 33.92, -80.34),
            ("AND", 34.50, -82.65),
            ("OBG", 33.49, -80.86),
            ("SPA", 34.95, -81.93),
        ]
    ]
    data = {
        **SOUTH_CAROLINA,
        "capacity": False,
        "reps": {"rows": rows},
        "balance": [{"measure": "potential", "tolerance": 0.3}],
        "solver": {"time_limit_seconds": 20, "k_nearest": 8},
    }
    posed = parse_config(TerritoryConfig, data)
    problem = build_problem(posed)
    share = problem.potential.sum() / problem.n_reps
    oversized = int((problem.potential > 1.3 * share).sum())
    assert oversized >= 1
    with pytest.raises(InfeasibleError, match=r"remedies\.dedicated: \["):
        solve_config(posed)
    fixed = parse_config(TerritoryConfig, {**data, "remedies": {"auto": True}})
    problem, result = solve_config(fixed)
    assert result.has_solution
    dedicated = [line for line in problem.remedies if "dedicated" in line]
    assert len(dedicated) == oversized
    for k in np.flatnonzero(problem.is_dedicated):
        assert (result.assignment == k).sum() == 1
    banded = ~problem.is_dedicated
    held = np.bincount(result.assignment, problem.potential, problem.n_reps)
    target = problem.targets("potential")
    assert (np.abs(held[banded] / target[banded] - 1) <= 0.3 + 1e-6).all()


def test_bad_remedies_are_refused() -> None:
    pattern = r"^config: field 'remedies\.dedicated' names unit 'nope', which is not"
    with pytest.raises(DataError, match=pattern):
        build_problem(_cfg(remedies={"dedicated": ["nope"]}))
    from spmopt.errors import ConfigError

    with pytest.raises(ConfigError, match="give 2 to 100 parts"):
        _cfg(remedies={"split": {"45045": 1}})


def test_a_dedicated_territory_has_no_share_of_target(
    make_problem: MakeProblem,
) -> None:
    from spmopt.territory.outputs import territories_frame

    p = make_problem(2, n_units=6, n_reps=3, with_current=True)
    q = dedicate(p, ["u0"])
    k = int(q.locked[0])
    nearest = np.argmin(np.where(q.is_dedicated, np.inf, q.distance), axis=1)
    a = np.where(q.locked >= 0, q.locked, nearest)
    frame = territories_frame(q, a)
    assert np.isnan(frame.loc[k, "share_of_target"])  # blank, not inf
    assert np.isnan(frame.loc[k, "share_of_target_before"])
    others = frame.drop(index=k)["share_of_target"]
    assert np.isfinite(others).all()


def _tiny_cfg(tolerance: float, k_nearest: int | None) -> TerritoryConfig:
    data = {
        "units": {"table": "units.csv", "coords": "xy", "potential": {"column": "p"}},
        "reps": {"rows": [{"rep_id": "r0", "lat": 0, "lon": 0}]},
        "balance": [{"measure": "potential", "tolerance": tolerance}],
        "capacity": False,
        "solver": {"k_nearest": k_nearest},
        "track": False,
    }
    return parse_config(TerritoryConfig, data)


def _feasible(problem: TerritoryProblem, cfg: TerritoryConfig) -> bool:
    """Brute force: some assignment over the allowed pairs meets every band."""
    allowed = allowed_pairs(problem, cfg.solver.k_nearest)
    lows, highs = balance_band(problem, "potential", cfg.balance[0].tolerance)
    options = [np.flatnonzero(row) for row in allowed]
    for combo in itertools.product(*options):
        held = np.bincount(np.array(combo), problem.potential, problem.n_reps)
        if (held >= lows - 1e-9).all() and (held <= highs + 1e-9).all():
            return True
    return False


@pytest.mark.parametrize(
    ("seed", "tolerance", "k_nearest"), [(4, 0.02, 2), (2, 0.05, 1)]
)
def test_auto_keeps_every_rep_where_wider_bands_do(
    seed: int, tolerance: float, k_nearest: int
) -> None:
    # earlier versions dropped 1 (seed 4) and 2 (seed 2) of these 3 reps
    p, cfg = tiny_problem(seed, 6, 3), _tiny_cfg(tolerance, k_nearest)
    assert not _feasible(p, cfg)
    q, done = auto_remedies(p, cfg)
    assert q.n_reps == 3 and not any(line.startswith("dropped") for line in done)
    assert any(line.startswith("widened the band of rep") for line in done)
    assert _feasible(q, cfg)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("k_nearest", [2, None])
def test_auto_takes_the_mildest_single_fix_found_by_brute_force(
    seed: int, k_nearest: int | None
) -> None:
    p, cfg = tiny_problem(seed, 6, 3), _tiny_cfg(0.05, k_nearest)
    q, done = auto_remedies(p, cfg)
    if _feasible(p, cfg):
        assert done == [] and q is p
        return
    fixes = exact_candidates(p, cfg, moves=False)
    first = next(((f, what) for f, what, _ in fixes if _feasible(f, cfg)), None)
    if first is None:  # no shortcut: the flagged bases are fixed round by round
        assert not any("the mildest single fix" in line for line in done[:1])
        return
    fixed, what = first
    assert done == [done[0]] and done[0].startswith(f"{what}: the mildest")
    for field in ("rep_lat", "rep_lon", "target_share", "locked"):
        assert getattr(q, field) == pytest.approx(getattr(fixed, field))
    assert _feasible(q, cfg)


@pytest.mark.parametrize(
    ("seed", "says"),
    [
        (9, "(no band up to ±50% for one or two reps, dedicated unit or moved base"),
        (21, "a band of ±50% for r2 does not clear it; its base was moved once"),
    ],
)
def test_a_dropped_base_says_why(seed: int, says: str) -> None:
    p, cfg = tiny_problem(seed, 6, 3), _tiny_cfg(0.05, 1)
    q, done = auto_remedies(p, cfg)
    dropped = [line for line in done if line.startswith("dropped base")]
    assert len(dropped) == 1 and says in dropped[0]
    assert q.n_reps == 2 and _feasible(q, cfg)


def test_auto_never_drops_the_last_banded_rep() -> None:
    # earlier versions dropped both banded reps here (shares became NaN)
    p, cfg = tiny_problem(1, 6, 3), _tiny_cfg(0.05, 1)
    q, done = auto_remedies(p, cfg)
    assert (~q.is_dedicated).sum() >= 1
    assert np.isfinite(q.target_share).all() and q.target_share.sum() == 1
    assert done[-1].startswith("no wider band (up to ±50% for one or two reps)")
    assert not _feasible(q, cfg)


def test_exact_checks_log_no_solve_lines(caplog: pytest.LogCaptureFixture) -> None:
    p, cfg = tiny_problem(9, 6, 3), _tiny_cfg(0.05, 1)
    with caplog.at_level(logging.INFO, logger="spmopt"):
        _, done = auto_remedies(p, cfg)
    assert len(done) >= 2  # many exact checks ran
    assert not [r for r in caplog.records if "territory solve" in r.getMessage()]


def test_naming_a_split_unit_names_its_parts() -> None:
    cfg = _cfg(remedies={"split": {"45045": 4}, "move_base": {"CAE": "45045"}})
    with pytest.raises(DataError) as caught:
        build_problem(cfg)
    assert str(caught.value) == (
        "config: field 'remedies.move_base' names unit '45045', which "
        "remedies.split cut into 4 parts (45045#1, 45045#2, ..., 45045#4); name one "
        "of the parts"
    )


def test_split_lists_its_parts() -> None:
    cfg = _cfg(remedies={"split": {"45045": 2}})
    problem = build_problem(cfg)
    assert "split unit 45045 into 2 parts (45045#1, 45045#2)" in problem.remedies
