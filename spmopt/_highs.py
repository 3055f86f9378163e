"""One quiet HiGHS for every job: no banner, no solver log on stdout."""

from __future__ import annotations

import functools
import os
import sys

import highspy

INF = highspy.kHighsInf
"""HiGHS's infinity (bounds at or beyond it are unbounded)."""


@functools.cache
def silence_highs_banner() -> None:
    """Create one HiGHS instance with stdout muted at the file level.

    HiGHS prints a copyright banner from C code (not through Python) the
    first time an instance is created in a process; the CLI's stdout
    carries only results, so that first instance is made here, muted.
    """
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


_THREADS: list[int] = []
"""Thread count of HiGHS's process-wide scheduler, once spmopt started it."""


def use_threads(threads: int) -> None:
    """Let the next HiGHS solve run with ``threads`` threads.

    HiGHS starts one scheduler per process at its first solve and refuses
    any later solve that asks for a different thread count (its status is
    then "not solved"), so a territory solve on two threads followed by a
    quota solve on one would fail in the same Python session. A different
    count restarts the scheduler; no HiGHS solve may be running then.
    """
    if _THREADS and _THREADS[0] != threads:
        highspy.Highs.resetGlobalScheduler(True)
    _THREADS[:] = [threads]


def quiet_highs(threads: int = 1) -> highspy.Highs:
    """A new HiGHS instance on ``threads`` threads that writes nothing."""
    silence_highs_banner()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("threads", threads)
    return highs
