"""Quota attainment by Monte-Carlo in seeded batches of scenarios.

:func:`simulate_attainment_batches` splits the scenarios of
:func:`spmopt.quota.simulate_attainment` into batches and runs the quota
job's own simulation on each, as Dask tasks or in process. Batch 0 draws
from ``default_rng(seed)``, the stream of the in-process simulation, and
batch ``b > 0`` from child ``b`` of ``SeedSequence(seed)``: independent
streams fixed by the seed and the batch index. The batch size follows the
work (:data:`TASK_CELLS` scenario x rep cells), not the cluster, so the
result is the same, bit for bit, in process and on any number of workers;
a job small enough for one batch gives exactly the in-process result.

Merging is exact for counts (reps attaining, per rep and per scenario)
and a weighted sum in batch order for mean bookings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from spmopt.quota.attainment import AttainmentResult, simulate_attainment
from spmopt.scale.batches import batch_seed_sequence
from spmopt.scale.cluster import release

TASK_CELLS = 20_000_000
"""Scenario x rep cells per batch: about 0.5-1 s of drawing here."""


def attainment_batch_sizes(
    n_scenarios: int, n_reps: int, task_cells: int = TASK_CELLS
) -> list[int]:
    """Scenarios of each batch: ``task_cells // n_reps`` each, the last less.

    Parameters
    ----------
    n_scenarios, n_reps : int
        Scenarios to draw and reps per scenario.
    task_cells : int
        Target scenario x rep cells per batch.
    """
    size = max(1, min(n_scenarios, task_cells // max(1, n_reps)))
    full, rest = divmod(n_scenarios, size)
    return [size] * full + ([rest] if rest else [])


def _batch_rng(seed: int, index: int) -> np.random.Generator:
    if index == 0:
        return np.random.default_rng(seed)
    return np.random.default_rng(batch_seed_sequence(seed, index))


def _run_batch(
    kwargs: Mapping[str, Any], n_scenarios: int, seed: int, index: int
) -> AttainmentResult:
    rng = _batch_rng(seed, index)
    return simulate_attainment(**kwargs, n_scenarios=n_scenarios, seed=rng)


def simulate_attainment_batches(
    quota: ArrayLike,
    seed: int,
    n_scenarios: int = 10_000,
    client: Any = None,
    task_cells: int = TASK_CELLS,
    **kwargs: Any,
) -> AttainmentResult:
    """:func:`spmopt.quota.simulate_attainment` in seeded scenario batches.

    Parameters
    ----------
    quota : array_like of float, shape (n_reps,)
        Quotas, currency.
    seed : int
        Seed of the run (non-negative).
    n_scenarios : int
        Scenarios in all.
    client : distributed.Client, optional
        Run the batches as Dask tasks; in process when None.
    task_cells : int
        Scenario x rep cells per batch; results depend on it, not on the
        workers.
    **kwargs
        Other arguments of :func:`~spmopt.quota.simulate_attainment`
        (``mean``, ``cv``, ``distribution``, ``quantiles``, ``deals``,
        ``market_correlation``).

    Returns
    -------
    AttainmentResult
    """
    q = np.asarray(quota, dtype=float)
    sizes = attainment_batch_sizes(n_scenarios, q.size, task_cells)
    args = {**kwargs, "quota": q}
    if client is None:
        parts = [_run_batch(args, n, seed, i) for i, n in enumerate(sizes)]
    else:
        [shared] = client.scatter([args], broadcast=True, hash=False)
        futures = [
            client.submit(_run_batch, shared, n, seed, i, pure=False)
            for i, n in enumerate(sizes)
        ]
        try:
            parts = client.gather(futures)
        finally:
            release([*futures, shared])
    return merge_attainment(parts, q)


def merge_attainment(
    parts: list[AttainmentResult], quota: np.ndarray
) -> AttainmentResult:
    """One result from batch results, in batch order.

    Reps attaining are counted exactly; mean bookings are the batches'
    means weighted by their scenarios. One batch is returned as it is.
    """
    if len(parts) == 1:
        return parts[0]
    n = sum(p.n_scenarios for p in parts)
    hits = np.zeros(quota.size)
    booked = np.zeros(quota.size)
    for part in parts:
        hits += np.rint(part.p_attain * part.n_scenarios)
        booked += part.mean_bookings * part.n_scenarios
    booked /= n
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_att = np.where(quota > 0, booked / quota, np.nan)
    share = np.concatenate([p.share_by_scenario for p in parts])
    return AttainmentResult(hits / n, mean_att, booked, n, share)
