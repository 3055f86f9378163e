from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from spmopt.config import load_config
from spmopt.payout import SimulateConfig, simulate
from spmopt.payout.simulate import cost_summary, load_inputs
from spmopt.scale.pricing import (
    price_plan,
    price_plans,
    simulator_batch_size,
)
from spmopt.scale.sweep import outcomes_frame

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "payout" / "simulate.yaml"
QUANTILES = ("p5", "p10", "p50", "p90", "p95", "p99")


@pytest.fixture(scope="module")
def example() -> SimulateConfig:
    cfg = load_config(SimulateConfig, EXAMPLE)
    return cfg.model_copy(update={"n_scenarios": 3000, "chunk_elements": 5000})


@pytest.fixture(scope="module")
def in_process(example: SimulateConfig) -> dict[str, Any]:
    plan, book = load_inputs(example)
    result = simulate(plan, book, example.attainment, 3000, 7, example.chunk_elements)
    return cost_summary(result)


def check_matches_simulator(summary: dict[str, Any], reference: dict[str, Any]) -> None:
    for key in QUANTILES:
        assert summary["cost"][key] == reference["cost"][key]
    assert summary["cost"]["mean"] == pytest.approx(reference["cost"]["mean"], 1e-12)
    assert summary["cost"]["cvar95"] == pytest.approx(reference["cost"]["cvar95"])
    for key in ("revenue_mean", "p_any_cap", "mc_standard_error"):
        assert summary[key] == pytest.approx(reference[key], rel=1e-9)
    assert summary["n_scenarios"] == reference["n_scenarios"]


def test_example_plan_in_batches_matches_the_simulator(
    example: SimulateConfig, in_process: dict[str, Any]
) -> None:
    pricing = price_plan(example, seed=7)
    assert pricing.result.n_batches > 1
    summary = pricing.summary()
    assert summary["quantiles_exact"]
    check_matches_simulator(summary, in_process)
    reps = pricing.rep_payouts()
    assert list(reps.columns[:2]) == ["rep_id", "quota"]
    assert reps["p_cap"].between(0, 1).all()
    assert reps["payout_mean"].sum() == pytest.approx(summary["cost"]["mean"], 1e-6)
    as_printed = sum(Decimal(f"{v:.2f}") for v in reps["payout_mean"])
    assert as_printed == round(Decimal(summary["cost"]["mean"]), 2)


def test_example_plan_on_one_and_two_workers_matches_the_simulator(
    example: SimulateConfig, in_process: dict[str, Any], client_1: Any, client_2: Any
) -> None:
    for client in (client_1, client_2):
        check_matches_simulator(price_plan(example, 7, client).summary(), in_process)


def test_histogram_percentiles_stay_within_their_error(
    example: SimulateConfig, in_process: dict[str, Any]
) -> None:
    summary = price_plan(example, seed=7, exact_budget_bytes=0).summary()
    assert not summary["quantiles_exact"]
    for key in QUANTILES:
        error = summary["cost_quantile_error"][key]
        assert abs(summary["cost"][key] - in_process["cost"][key]) <= error + 1e-6


def test_batch_size_follows_the_simulator_chunks(example: SimulateConfig) -> None:
    plan, book = load_inputs(example)
    size = simulator_batch_size(example, plan, book)
    per_scenario = book.n_reps * plan.n_periods * len(plan.measures)
    assert size == example.chunk_elements // per_scenario


def test_plan_designs_priced_in_parallel_keep_failures_apart(
    example: SimulateConfig, in_process: dict[str, Any], client_2: Any
) -> None:
    calm = example.model_copy(
        update={"attainment": example.attainment.model_copy(update={"sigma": 0.1})}
    )
    broken = example.model_copy(update={"quotas": "/nonexistent/quotas.csv"})
    designs = {"base": example, "calm": calm, "broken": broken}
    sweep = price_plans(designs, seed=7, client=client_2, time_limit_seconds=60)
    frame = outcomes_frame(sweep).set_index("design")
    assert frame.loc["base", "status"] == "ok"
    assert frame.loc["calm", "status"] == "ok"
    assert frame.loc["broken", "status"] == "error"
    assert "quotas.csv" in frame.loc["broken", "error"]
    for key in QUANTILES:
        assert sweep.values["base"][f"cost_{key}"] == in_process["cost"][key]
    # less spread in attainment, narrower cost distribution
    spread = frame["cost_p90"] - frame["cost_p10"]
    assert spread["calm"] < spread["base"]
