"""The lp_round method: bound from the relaxation, alignment by rounding."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from spmopt._highs import quiet_highs
from spmopt._stoppable import run_highs
from spmopt.config import parse_config
from spmopt.errors import ConfigError, TimeLimitWarning
from spmopt.runs import RunWriter
from spmopt.territory import TerritoryConfig, run_solve
from spmopt.territory.job import solver_method
from spmopt.territory.lpround import (
    CUT_ROUNDS,
    CUT_SHARE,
    ITERATIONS_PER_SECOND,
    MIN_CUT_ROUNDS,
    NONZEROS_PER_SECOND,
    LPRoundModel,
    _Budget,
    _highs_lp,
    _HighsOutcome,
    _Incumbent,
    _run_highs,
    _stop_after,
)
from spmopt.territory.model import SolverSettings, balance_band
from spmopt.territory.problem import NO_REP, build_problem
from tests.territory.conftest import MakeProblem
from tests.territory.test_job import SOUTH_CAROLINA
from tests.territory.test_model import brute_force

EXACT = SolverSettings(time_limit_seconds=20, workers=1, relative_gap=0.0)


@pytest.mark.parametrize("seed", range(6))
def test_matches_brute_force_with_balance(make_problem: MakeProblem, seed: int) -> None:
    p = make_problem(seed, n_units=7, n_reps=3)
    best = brute_force(p, balance=("potential", 0.3))
    model = LPRoundModel(p, k_nearest=None).add_balance("potential", 0.3)
    result = model.set_objective().solve(EXACT)
    if not np.isfinite(best):
        assert result.status == "infeasible"
        return
    assert result.status == "optimal"
    assert result.objective == pytest.approx(best, rel=1e-6)
    assert result.bound <= result.objective + 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_matches_brute_force_with_capacity_lock_and_budget(
    make_problem: MakeProblem, seed: int
) -> None:
    p = make_problem(seed, n_units=6, n_reps=3, capacity=15.0, with_current=True)
    p.locked[0] = 1
    best = brute_force(p, capacity=True, locked=True, budget=("potential", 0.4))
    model = LPRoundModel(p, k_nearest=None).add_capacity().add_locked()
    model.add_disruption_budget("potential", 0.4).set_objective()
    result = model.solve(EXACT)
    if not np.isfinite(best):
        assert result.status == "infeasible"
        return
    assert result.objective == pytest.approx(best, rel=1e-6)
    assert result.assignment[0] == 1


def test_infeasible_relaxation_is_reported(make_problem: MakeProblem) -> None:
    p = make_problem(1, n_units=5, n_reps=3, capacity=1.0)
    result = LPRoundModel(p, None).add_capacity().set_objective().solve(EXACT)
    assert result.status == "infeasible"
    assert not result.has_solution


def test_counties_within_bands_and_bound_below(tmp_path: Path) -> None:
    data = dict(SOUTH_CAROLINA)
    data["solver"] = {
        "method": "lp_round",
        "time_limit_seconds": 20,
        "k_nearest": 3,
        "relative_gap": 0.001,
    }
    data["balance"] = [
        {"measure": "potential", "tolerance": 0.05},
        {"measure": "workload", "tolerance": 0.2},
    ]
    cfg = parse_config(TerritoryConfig, data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        headline = run_solve(cfg, RunWriter(tmp_path / "lp"), seed=0)
    assert headline["max_balance_deviation"] <= 0.05 + 1e-6
    assert headline["gap"] >= 0
    summary = json.loads((tmp_path / "lp" / "summary.json").read_text())
    assert summary["solver_method"] == "lp_round"
    assert summary["best_bound"] <= summary["objective"] + 1e-6
    assert summary["max_workload_deviation"] <= 0.2 + 1e-6
    problem = build_problem(cfg)
    lows, highs = balance_band(problem, "workload", 0.2)
    frame = (tmp_path / "lp" / "territories.csv").read_text()
    assert "rep_id" in frame
    assert lows.sum() <= problem.workload.sum() <= highs.sum()


def test_auto_picks_by_size() -> None:
    small = parse_config(TerritoryConfig, SOUTH_CAROLINA)
    problem = build_problem(small)
    assert solver_method(problem, small) == "cpsat"
    data = dict(SOUTH_CAROLINA)
    data["solver"] = {**SOUTH_CAROLINA["solver"], "lp_round_pairs": 10}  # type: ignore[dict-item]
    assert solver_method(problem, parse_config(TerritoryConfig, data)) == "lp_round"


def test_lp_round_refuses_contiguity_and_penalty() -> None:
    data = dict(SOUTH_CAROLINA)
    data["solver"] = {"method": "lp_round"}
    data["contiguity"] = {"adjacency": "delaunay"}
    with pytest.raises(ConfigError, match="contiguity"):
        parse_config(TerritoryConfig, data)
    del data["contiguity"]
    data["objective"] = {"balance_penalty": 1.0}
    with pytest.raises(ConfigError, match="balance_penalty"):
        parse_config(TerritoryConfig, data)


def test_columns_of_finds_each_units_pair(make_problem: MakeProblem) -> None:
    p = make_problem(3, n_units=8, n_reps=4)
    model = LPRoundModel(p, k_nearest=2)
    nearest = np.argmin(p.distance, axis=1)
    cols = model.columns_of(nearest)
    assert (model.pair_unit[cols] == np.arange(8)).all()
    assert (model.pair_rep[cols] == nearest).all()
    assert NO_REP not in model.pair_rep


def test_shortfall_names_the_rep_that_cannot_reach(make_problem: MakeProblem) -> None:
    from dataclasses import replace

    p = make_problem(4, n_units=8, n_reps=3)
    # rep 1 shares rep 0's base: with k_nearest=1 no unit may go to it
    p = replace(p, distance=p.distance.copy())
    p.distance[:, 1] = p.distance[:, 0] + 1e-3
    model = LPRoundModel(p, k_nearest=1).add_balance("potential", 0.2)
    short = model.set_objective().shortfall()
    assert short[1] > 0
    assert short[1] == short.max()
    assert model.solve(EXACT).status == "infeasible"


def test_auto_remedies_drop_short_bases(make_problem: MakeProblem) -> None:
    from dataclasses import replace

    from spmopt.territory.remedies import short_reps

    p = make_problem(4, n_units=8, n_reps=3)
    p = replace(p, distance=p.distance.copy())
    p.distance[:, 1] = p.distance[:, 0] + 1e-3
    cfg = parse_config(
        TerritoryConfig,
        {
            **SOUTH_CAROLINA,
            "balance": [{"measure": "potential", "tolerance": 0.2}],
            "capacity": False,
            "solver": {"k_nearest": 1, "method": "lp_round"},
        },
    )
    assert short_reps(p, cfg).tolist() == [False, True, False]


def test_narrowed_bands_stay_finite_without_an_upper_bound(
    make_problem: MakeProblem,
) -> None:
    p = make_problem(2, n_units=8, n_reps=3)
    model = LPRoundModel(p, k_nearest=None).add_balance("potential", None, low=20.0)
    model.add_balance("workload", 0.3).set_objective()
    lp = model._assemble()
    narrow = model._narrowed(lp)
    assert not np.isnan(narrow.row_lower).any()
    assert not np.isnan(narrow.row_upper).any()
    one_sided = model._band_rows[0]
    assert (narrow.row_upper[one_sided] == np.inf).all()
    two_sided = model._band_rows[1]
    assert (narrow.row_lower[two_sided] > lp.row_lower[two_sided]).all()
    assert (narrow.row_upper[two_sided] < lp.row_upper[two_sided]).all()


def test_work_limit_repeats_the_search_exactly() -> None:
    data = dict(SOUTH_CAROLINA)
    data["balance"] = [{"measure": "potential", "tolerance": 0.02}]
    data["solver"] = {"method": "lp_round", "k_nearest": 4, "relative_gap": 0.0}
    problem = build_problem(parse_config(TerritoryConfig, data))
    runs = []
    for work in (0.05, 0.05, 2.0):
        settings = SolverSettings(
            time_limit_seconds=600, deterministic_time=work, relative_gap=0.0
        )
        model = LPRoundModel(problem, k_nearest=4).add_balance("potential", 0.02)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runs.append(model.set_objective().solve(settings))
    first, again, longer = runs
    assert first.has_solution and first.hit_limit
    np.testing.assert_array_equal(first.assignment, again.assignment)
    assert first.deterministic_seconds == again.deterministic_seconds >= 0.05
    assert longer.deterministic_seconds > first.deterministic_seconds
    assert longer.objective <= first.objective + 1e-9


def test_neighbours_rank_reps_by_movable_units(make_problem: MakeProblem) -> None:
    p = make_problem(3, n_units=12, n_reps=4)
    model = LPRoundModel(p, k_nearest=2)
    assignment = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    order = model._neighbours(assignment)
    shared = np.zeros((4, 4))
    for unit, rep in zip(model.pair_unit, model.pair_rep, strict=True):
        owner = assignment[unit]
        if owner != rep:
            shared[rep, owner] += 1
            shared[owner, rep] += 1
    for k in range(4):
        assert order[k, 0] == k
        counts = shared[k, order[k, 1:]]
        assert np.all(np.diff(counts) <= 0)  # most shared units first


def _sc_tight() -> LPRoundModel:
    data = dict(SOUTH_CAROLINA)
    data["balance"] = [{"measure": "potential", "tolerance": 0.02}]
    data["solver"] = {"method": "lp_round", "k_nearest": 4, "relative_gap": 0.0}
    problem = build_problem(parse_config(TerritoryConfig, data))
    model = LPRoundModel(problem, k_nearest=4).add_balance("potential", 0.02)
    return model.set_objective()


def test_cut_rounds_lift_the_bound_and_keep_it_below_the_optimum() -> None:
    model = _sc_tight()
    optimum = model.solve(SolverSettings(time_limit_seconds=120, relative_gap=0.0))
    assert optimum.status == "optimal"
    lp = model._assemble()
    settings = SolverSettings(deterministic_time=5.0, relative_gap=0.0)
    relax = _run_highs(lp, None, settings, _Budget.of(settings, time.perf_counter()))
    assert relax.objective < optimum.objective - 1e-6  # the relaxation has a gap
    bounds = []
    for _ in range(2):
        best = _Incumbent(relax.objective, optimum.objective, optimum.assignment)
        budget = _Budget.of(settings, time.perf_counter())
        model._cut_bound(lp, best, settings, budget, CUT_ROUNDS)
        assert budget.used > 0
        bounds.append(best.bound)
    assert relax.objective < bounds[0] <= optimum.objective + 1e-6
    assert bounds[0] == bounds[1]  # counted in rounds, so it repeats


def test_cut_rounds_stop_at_the_count_and_are_charged() -> None:
    model = _sc_tight()
    lp = model._assemble()
    settings = SolverSettings(deterministic_time=5.0, relative_gap=0.0)
    budget = _Budget.of(settings, time.perf_counter())
    assert budget.rounds_left(lp.matrix.nnz, 7) == 7
    integral = np.ones(model.n_pairs, dtype=bool)
    h = quiet_highs(threads=1)
    reported = _stop_after(h, 4)
    h.passModel(_highs_lp(lp, integral))
    run_highs(h)
    assert len(reported) == 4
    spent = budget.spent
    budget.charge_rounds(4, lp.matrix.nnz)
    expected = 4 * lp.matrix.nnz / NONZEROS_PER_SECOND * ITERATIONS_PER_SECOND
    assert budget.spent - spent == pytest.approx(expected)
    budget.spent = budget.work_limit or 0.0
    assert budget.rounds_left(lp.matrix.nnz, 7) == 0


def _lumpy(make_problem: MakeProblem) -> LPRoundModel:
    """Three equal units, two reps each owed half: only a relaxation fits."""
    p = make_problem(0, n_units=3, n_reps=2)
    p.potential[:] = 1.0
    return LPRoundModel(p, k_nearest=None).add_balance("potential", 0.1)


def test_no_alignment_over_the_whole_instance_is_a_proof(
    make_problem: MakeProblem,
) -> None:
    result = _lumpy(make_problem).set_objective().solve(EXACT)
    assert result.status == "infeasible"
    assert not result.hit_limit


def test_a_mend_stopped_short_is_unknown_not_infeasible(
    make_problem: MakeProblem, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stopped(*args: object, **kwargs: object) -> object:
        return _HighsOutcome("unknown", np.nan, np.nan, np.empty(0), np.empty(0))

    monkeypatch.setattr(LPRoundModel, "_round", stopped)
    with pytest.warns(TimeLimitWarning):
        result = _lumpy(make_problem).set_objective().solve(EXACT)
    assert result.status == "unknown"
    assert result.hit_limit


def test_cut_rounds_are_planned_within_their_share_or_skipped() -> None:
    settings = SolverSettings(time_limit_seconds=600, deterministic_time=60.0)
    small = _Budget.of(settings, time.perf_counter())
    assert small.plan_rounds(50_000) == CUT_ROUNDS
    assert 0 < small.held <= CUT_SHARE
    per_round = CUT_SHARE * 60.0 * NONZEROS_PER_SECOND / (MIN_CUT_ROUNDS - 1)
    big = _Budget.of(settings, time.perf_counter())
    assert big.plan_rounds(int(per_round)) == 0
    assert big.held == 0.0
    wall = _Budget.of(SolverSettings(time_limit_seconds=6.0), time.perf_counter())
    assert wall.plan_rounds(50_000) == 0  # 0.9 s pays for under 20 rounds


def test_a_hint_is_kept_when_it_is_cheaper_and_ignored_when_unusable(
    make_problem: MakeProblem,
) -> None:
    p = make_problem(2, n_units=6, n_reps=2)
    model = LPRoundModel(p, k_nearest=1).set_objective()
    lp = model._assemble()
    nearest = np.argmin(p.distance, axis=1)
    far = 1 - nearest
    usable = (far, np.where(np.arange(6) == 0, NO_REP, nearest), nearest)
    for hint, kept in zip(usable, (False, False, True), strict=True):
        best = _Incumbent(0.0, np.inf, None)
        model.add_hint(hint)._offer_hint(lp, best)
        assert (best.assignment is not None) is kept
    assert best.objective == pytest.approx(model.objective_of(nearest))
