"""HiGHS shared by every job in one process."""

from __future__ import annotations

import highspy
import numpy as np
import pulp

from spmopt._highs import quiet_highs
from spmopt._stoppable import run_highs
from spmopt.quota._solvers import pulp_backend


def _tiny_lp(threads: int) -> highspy.HighsModelStatus:
    h = quiet_highs(threads=threads)
    h.addVar(0.0, 4.0)
    h.changeColsCost(1, np.array([0], dtype=np.int32), np.array([-1.0]))
    run_highs(h)
    return h.getModelStatus()


def _pulp_lp(threads: int) -> str:
    model = pulp.LpProblem("tiny", pulp.LpMaximize)
    x = model.add_variable("x", 0, 3)
    model += x
    model.solve(pulp_backend("highs", time_limit=10, threads=threads))
    return str(pulp.LpStatus[model.status])


def test_solves_with_different_thread_counts_follow_each_other() -> None:
    optimal = highspy.HighsModelStatus.kOptimal
    assert _tiny_lp(threads=2) == optimal  # e.g. a territory lp_round solve
    assert _pulp_lp(threads=1) == "Optimal"  # then a quota LP
    assert _tiny_lp(threads=1) == optimal  # then design mode's column LP
    assert _tiny_lp(threads=2) == optimal
