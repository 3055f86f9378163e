"""spmopt: open, reproducible Sales Performance Management.

Territory alignment, deal-win forecasting, quota setting and payout
simulation on one package, one CLI and one run-directory convention.
"""

from spmopt._logging import logger
from spmopt.errors import (
    ConfigError,
    DataError,
    InfeasibleError,
    SpmoptError,
    SpmoptWarning,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "DataError",
    "InfeasibleError",
    "SpmoptError",
    "SpmoptWarning",
    "__version__",
    "logger",
]
