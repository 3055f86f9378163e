"""Tiny territory instances shared by the territory tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from spmopt.territory.geometry import euclidean
from spmopt.territory.problem import NO_REP, TerritoryProblem

MakeProblem = Callable[..., TerritoryProblem]


def tiny_problem(
    seed: int,
    n_units: int = 6,
    n_reps: int = 3,
    capacity: float | None = None,
    with_current: bool = False,
    locked_units: int = 0,
) -> TerritoryProblem:
    """Random planar instance with integer potential and workload."""
    rng = np.random.default_rng(seed)
    ux, uy = rng.uniform(0, 100, n_units), rng.uniform(0, 100, n_units)
    rx, ry = rng.uniform(0, 100, n_reps), rng.uniform(0, 100, n_reps)
    workload = rng.integers(1, 10, n_units).astype(float)
    cap = np.full(n_reps, np.inf if capacity is None else capacity)
    current = rng.integers(0, n_reps, n_units) if with_current else None
    locked = np.full(n_units, NO_REP)
    locked[:locked_units] = rng.integers(0, n_reps, locked_units)
    return TerritoryProblem(
        unit_ids=np.array([f"u{i}" for i in range(n_units)], dtype=object),
        rep_ids=np.array([f"r{k}" for k in range(n_reps)], dtype=object),
        unit_lat=ux,
        unit_lon=uy,
        rep_lat=rx,
        rep_lon=ry,
        potential=rng.integers(1, 50, n_units).astype(float),
        workload=workload,
        capacity=cap,
        target_share=np.full(n_reps, 1.0 / n_reps),
        distance=euclidean(ux, uy, rx, ry),
        current=np.full(n_units, NO_REP) if current is None else current,
        locked=locked,
        coords="xy",
        extra=pd.DataFrame(index=range(n_units)),
    )


@pytest.fixture
def make_problem() -> MakeProblem:
    """Factory of tiny planar instances (see :func:`tiny_problem`)."""
    return tiny_problem
