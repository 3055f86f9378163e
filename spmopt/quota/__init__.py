"""Quota job: potential, allocation of the company target, attainability, capacity.

Runners (config object, run writer, seed -> headline dict):
``run_set`` (``spmopt quota set``), ``run_potential``
(``spmopt quota potential``) and ``run_capacity`` (``spmopt quota
capacity``). :class:`QuotaAllocator` is the allocation LP,
:func:`simulate_attainment` the Monte-Carlo check, :class:`CapacityPlanner`
the hiring integer program and :class:`QuantileLightGBM` the potential
model.
"""

from spmopt.quota.allocation import AllocationResult, QuotaAllocator
from spmopt.quota.attainment import (
    AttainmentResult,
    OpenDeals,
    closed_form_p_attain,
    simulate_attainment,
)
from spmopt.quota.capacity import (
    CapacityPlanner,
    CapacityResult,
    Workforce,
    bookings_supported,
    monthly_attrition,
    simulate_bookings,
)
from spmopt.quota.capacity_job import run_capacity
from spmopt.quota.config import (
    AttainmentConfig,
    BoundsConfig,
    CapacityConfig,
    OpenDealsConfig,
    PhasingConfig,
    PotentialConfig,
    QuotaConfig,
    StretchConfig,
)
from spmopt.quota.job import run_set
from spmopt.quota.phasing import monthly_weights, period_weights, phase_quotas
from spmopt.quota.potential import (
    QUANTILES,
    LastPeriodBaseline,
    QuantileLightGBM,
    TrailingMeanBaseline,
    build_panel,
    calibration_offsets,
    pinball_loss,
)
from spmopt.quota.potential_job import run_potential
from spmopt.quota.ramp import ramp_factor, ramp_share
from spmopt.quota.rounding import ROUNDING_RULE, largest_remainder
from spmopt.quota.stretch import fill_quotas, implied_target

__all__ = [
    "QUANTILES",
    "ROUNDING_RULE",
    "AllocationResult",
    "AttainmentConfig",
    "AttainmentResult",
    "BoundsConfig",
    "CapacityConfig",
    "CapacityPlanner",
    "CapacityResult",
    "LastPeriodBaseline",
    "OpenDeals",
    "OpenDealsConfig",
    "PhasingConfig",
    "PotentialConfig",
    "QuantileLightGBM",
    "QuotaAllocator",
    "QuotaConfig",
    "StretchConfig",
    "TrailingMeanBaseline",
    "Workforce",
    "bookings_supported",
    "build_panel",
    "calibration_offsets",
    "closed_form_p_attain",
    "fill_quotas",
    "implied_target",
    "largest_remainder",
    "monthly_attrition",
    "monthly_weights",
    "period_weights",
    "phase_quotas",
    "pinball_loss",
    "ramp_factor",
    "ramp_share",
    "run_capacity",
    "run_potential",
    "run_set",
    "simulate_attainment",
    "simulate_bookings",
]
