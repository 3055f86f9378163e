"""Payout job: plan schema, vectorised engine, Monte-Carlo simulator."""

from spmopt.payout.attainment import (
    DealAttainment,
    HistoryAttainment,
    LognormalAttainment,
    SpifCounts,
)
from spmopt.payout.calc import load_calc_inputs, whatif
from spmopt.payout.cancellations import Cancellations
from spmopt.payout.compare import run_compare
from spmopt.payout.credits import Credit, read_credits, split_amount
from spmopt.payout.engine import (
    Buffers,
    EngineOutput,
    PayoutEngine,
    RepBook,
    period_last,
    period_major,
    rep_book,
)
from spmopt.payout.plan import PlanConfig, load_plan, parse_plan
from spmopt.payout.reference import CalcResult, Line, ReferenceCalculator
from spmopt.payout.simulate import (
    SimulateConfig,
    SimulationResult,
    run_simulate,
    simulate,
)
from spmopt.payout.statements import lines_frame, render_statement

__all__ = [
    "Buffers",
    "CalcResult",
    "Cancellations",
    "Credit",
    "DealAttainment",
    "EngineOutput",
    "HistoryAttainment",
    "Line",
    "LognormalAttainment",
    "PayoutEngine",
    "PlanConfig",
    "ReferenceCalculator",
    "RepBook",
    "SimulateConfig",
    "SimulationResult",
    "SpifCounts",
    "lines_frame",
    "load_calc_inputs",
    "load_plan",
    "parse_plan",
    "period_last",
    "period_major",
    "read_credits",
    "render_statement",
    "rep_book",
    "run_compare",
    "run_simulate",
    "simulate",
    "split_amount",
    "whatif",
]
