"""Quota job: allocate the company target to reps and check attainability.

``run_set`` is the runner of ``spmopt quota set``; :class:`QuotaAllocator`
is the allocation LP; :func:`simulate_attainment` the Monte-Carlo check.
"""

from spmopt.quota.allocation import AllocationResult, QuotaAllocator
from spmopt.quota.attainment import (
    AttainmentResult,
    closed_form_p_attain,
    simulate_attainment,
)
from spmopt.quota.config import AttainmentConfig, BoundsConfig, QuotaConfig
from spmopt.quota.job import run_set
from spmopt.quota.ramp import ramp_factor, ramp_share
from spmopt.quota.rounding import ROUNDING_RULE, largest_remainder

__all__ = [
    "ROUNDING_RULE",
    "AllocationResult",
    "AttainmentConfig",
    "AttainmentResult",
    "BoundsConfig",
    "QuotaAllocator",
    "QuotaConfig",
    "closed_form_p_attain",
    "largest_remainder",
    "ramp_factor",
    "ramp_share",
    "run_set",
    "simulate_attainment",
]
