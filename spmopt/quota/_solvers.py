"""PuLP solver back-ends used by the quota job (CBC or HiGHS)."""

from __future__ import annotations

import functools
import os
import sys
import warnings

import pulp

from spmopt.errors import ConfigError

SOLVERS = ("highs", "cbc")


def pulp_backend(
    solver: str, time_limit: float, threads: int = 1, interior: bool = False
) -> pulp.LpSolver:
    """A quiet PuLP solver with a time limit (seconds) and thread count.

    ``interior=True`` asks HiGHS for its interior-point method (with
    crossover to a vertex); on the 10,000-rep allocation LP it took about
    half the time of the default simplex for the same solution.
    """
    if solver == "highs":
        silence_highs_banner()
        extra = {"solver": "ipm"} if interior else {}
        return pulp.HiGHS(msg=False, timeLimit=time_limit, threads=threads, **extra)
    if solver == "cbc":
        with warnings.catch_warnings():
            # The bundled CBC is announced for removal in PuLP 4.0.
            warnings.simplefilter("ignore", DeprecationWarning)
            return pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit, threads=threads)
    raise ConfigError(f"solver must be one of {SOLVERS}, got {solver!r}")


@functools.cache
def silence_highs_banner() -> None:
    """Create one HiGHS instance with stdout muted at the file level.

    HiGHS prints a copyright banner from C code (not through Python) the
    first time an instance is created in a process; the CLI's stdout
    carries only results, so that first instance is made here, muted.
    """
    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
