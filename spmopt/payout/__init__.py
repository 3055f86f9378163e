"""Payout job: plan schema, vectorised engine, Monte-Carlo simulator."""

from spmopt.payout.attainment import LognormalAttainment
from spmopt.payout.engine import EngineOutput, PayoutEngine, RepBook, rep_book
from spmopt.payout.plan import PlanConfig, load_plan, parse_plan
from spmopt.payout.simulate import (
    SimulateConfig,
    SimulationResult,
    run_simulate,
    simulate,
)

__all__ = [
    "EngineOutput",
    "LognormalAttainment",
    "PayoutEngine",
    "PlanConfig",
    "RepBook",
    "SimulateConfig",
    "SimulationResult",
    "load_plan",
    "parse_plan",
    "rep_book",
    "run_simulate",
    "simulate",
]
