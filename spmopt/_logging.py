"""The package logger. Library code logs here; the CLI decides what is shown."""

import logging

logger = logging.getLogger("spmopt")
logger.addHandler(logging.NullHandler())
