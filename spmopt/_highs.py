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


def quiet_highs() -> highspy.Highs:
    """A new HiGHS instance that writes nothing to the terminal."""
    silence_highs_banner()
    highs = highspy.Highs()
    highs.setOptionValue("output_flag", False)
    return highs
