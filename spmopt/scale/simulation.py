"""``spmopt payout simulate`` on a Dask cluster, identical to the simulator.

The payout simulator prices its scenarios in chunks; chunk ``j`` draws from
child ``j`` of ``SeedSequence(seed)``. :func:`simulate_on_cluster` hands
out runs of consecutive chunks as Dask tasks, each priced by the
simulator itself with its seed sequence advanced to the run's first chunk
(``n_children_spawned``), so every scenario is drawn from the same stream
as in process. Which chunks form a task depends only on the work per
chunk (:func:`group_chunks`), never on the number of workers.

Per-scenario outputs (cost, revenue, any cap) are joined in order and so
equal the simulator's exactly; per-rep means are sums of the tasks'
means weighted by their scenarios, equal to the simulator's to rounding
(about 1e-16 relative).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from spmopt._logging import logger
from spmopt.payout import PlanConfig, RepBook
from spmopt.payout.attainment import AttainmentModel
from spmopt.payout.engine import PayoutEngine
from spmopt.payout.simulate import (
    SimulationResult,
    chunk_sizes,
    simulate,
)
from spmopt.scale.cluster import release

TASK_ELEMENTS = 20_000_000
"""Rep-period-measure values priced per task: 0.5-1 s of work on the build
machine (25-50 ns a value), enough to dwarf Dask's per-task cost (a few
ms, tens of ms under load)."""


def group_chunks(
    sizes: list[int], per_scenario: int, task_elements: int = TASK_ELEMENTS
) -> list[tuple[int, int, int]]:
    """Runs of consecutive chunks of about ``task_elements`` values each.

    Parameters
    ----------
    sizes : list of int
        Scenarios of each chunk, in order.
    per_scenario : int
        Values priced per scenario (reps x periods x measures).
    task_elements : int
        Target values per task (at least one chunk per task).

    Returns
    -------
    list of (first_chunk, first_scenario, n_scenarios)
        One entry per task, in order; the scenarios add up to
        ``sum(sizes)``.
    """
    per_chunk = max(1, sizes[0] * per_scenario)
    chunks_per_task = max(1, task_elements // per_chunk)
    groups = []
    start = 0
    for first in range(0, len(sizes), chunks_per_task):
        n = sum(sizes[first : first + chunks_per_task])
        groups.append((first, start, n))
        start += n
    return groups


def _root(seed: int | np.random.SeedSequence) -> np.random.SeedSequence:
    if isinstance(seed, np.random.SeedSequence):
        return seed
    return np.random.SeedSequence(int(seed))


def _advanced(root: np.random.SeedSequence, first: int) -> np.random.SeedSequence:
    """``root`` as if ``first`` children had been spawned already."""
    return np.random.SeedSequence(
        entropy=root.entropy,
        spawn_key=root.spawn_key,
        pool_size=root.pool_size,
        n_children_spawned=root.n_children_spawned + first,
    )


def _price_run(
    inputs: tuple[PlanConfig, RepBook, AttainmentModel],
    n_scenarios: int,
    seed: np.random.SeedSequence,
    chunk_elements: int,
    keep: int,
) -> SimulationResult:
    plan, book, model = inputs
    return simulate(plan, book, model, n_scenarios, seed, chunk_elements, keep)


def simulate_on_cluster(
    client: Any,
    plan: PlanConfig,
    book: RepBook,
    model: AttainmentModel,
    n_scenarios: int,
    seed: int | np.random.SeedSequence,
    chunk_elements: int = 131_072,
    keep_rep_scenarios: int = 4_000,
    task_elements: int = TASK_ELEMENTS,
) -> SimulationResult:
    """:func:`spmopt.payout.simulate` with runs of chunks as Dask tasks.

    Parameters
    ----------
    client : distributed.Client
    plan, book, model, n_scenarios, seed, chunk_elements, keep_rep_scenarios
        As for :func:`spmopt.payout.simulate`; ``model`` is prepared here,
        before it is sent, so workers need no access to its files.
    task_elements : int
        Values priced per task (see :func:`group_chunks`).

    Returns
    -------
    SimulationResult
        Equal to the in-process simulator's for the same inputs and seed
        (per-rep means to rounding), whatever the number of workers.
    """
    start = time.perf_counter()
    engine = PayoutEngine(plan, book)
    engine.check_aggregate()
    model.prepare(plan, book)
    per_scenario = book.n_reps * plan.n_periods * len(plan.measures)
    sizes = chunk_sizes(n_scenarios, per_scenario, chunk_elements)
    groups = group_chunks(sizes, per_scenario, task_elements)
    root = _root(seed)
    [inputs] = client.scatter([(plan, book, model)], broadcast=True, hash=False)
    futures = [
        client.submit(
            _price_run,
            inputs,
            n,
            _advanced(root, first),
            chunk_elements,
            max(1, keep_rep_scenarios - begin),
            pure=False,
        )
        for first, begin, n in groups
    ]
    try:
        parts = client.gather(futures)
    finally:
        release([*futures, inputs])
    result = _join(parts, [n for _, _, n in groups], keep_rep_scenarios)
    result.seconds = time.perf_counter() - start
    logger.debug("payout simulate: %d tasks on the cluster", len(groups))
    return result


def _join(
    parts: list[SimulationResult], counts: list[int], keep: int
) -> SimulationResult:
    """One result from the tasks' results, in scenario order.

    The cost at mean attainment is the simulator's own (every task
    computes the same figure).
    """
    n = sum(counts)
    rep_sum = np.zeros_like(parts[0].rep_mean)
    caps = np.zeros_like(parts[0].rep_p_cap)
    for part, count in zip(parts, counts, strict=True):
        rep_sum += part.rep_mean * count
        caps += np.rint(part.rep_p_cap * count)
    sample = np.concatenate([p.rep_sample for p in parts], axis=0)
    clawbacks = [p.clawback for p in parts]
    return SimulationResult(
        cost=np.concatenate([p.cost for p in parts]),
        revenue=np.concatenate([p.revenue for p in parts]),
        any_cap=np.concatenate([p.any_cap for p in parts]),
        rep_mean=rep_sum / n,
        rep_p_cap=caps / n,
        rep_sample=sample[: max(1, min(keep, n))],
        cost_at_mean_attainment=parts[0].cost_at_mean_attainment,
        seconds=0.0,
        clawback=None
        if any(c is None for c in clawbacks)
        else np.concatenate(clawbacks),  # type: ignore[arg-type]
    )
