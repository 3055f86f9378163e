"""Monte-Carlo runs split into seeded batches, run as Dask tasks.

A run is a function ``simulate(rng, size)`` returning named arrays of
scenario outputs (shape ``(size,)`` or ``(size, k)``), a number of
scenarios and a seed. :func:`run_monte_carlo` cuts the scenarios into
batches (:mod:`spmopt.scale.batches`), runs each batch in process or on a
Dask cluster, reduces it to a :class:`~spmopt.scale.merge.Summary` and
merges the summaries along a binary tree fixed by the number of batches
(on the workers, when there is a cluster). The result is the same, bit for
bit, whatever the number of workers and whichever batch finishes first.

Histogram bins are fixed before the batches run, from a pilot run of
batch 0 (its range widened by a margin), unless given. Scenarios outside
them land in under- and overflow bins, so no scenario is lost; only the
quantile error bound widens.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from spmopt._logging import logger
from spmopt.errors import ConfigError
from spmopt.scale.batches import DEFAULT_BATCH_SIZE, Batch, plan_batches
from spmopt.scale.cluster import release, worker_count
from spmopt.scale.merge import DEFAULT_BINS, Summary, as_columns, padded_range

Simulate = Callable[[np.random.Generator, int], Mapping[str, np.ndarray]]
"""``simulate(rng, size) -> {name: array of shape (size,) or (size, k)}``."""

Ranges = Mapping[str, tuple[ArrayLike, ArrayLike]]

DEFAULT_EXACT_BUDGET_BYTES = 64 * 2**20
"""Keep every sample (exact quantiles) of an output up to this size."""


@dataclass(frozen=True)
class BatchSpec:
    """How each batch is summarised; shared by every task of a run."""

    n_scenarios: int
    ranges: Ranges
    n_bins: int | Mapping[str, int]
    exact_budget_bytes: int

    def bins_of(self, name: str) -> int:
        """Histogram bins of output ``name``."""
        if isinstance(self.n_bins, int):
            return self.n_bins
        return self.n_bins.get(name, DEFAULT_BINS)


@dataclass(frozen=True)
class OutputStats:
    """Merged statistics of one named output of a Monte-Carlo run.

    Values are arrays of shape ``(k,)`` for a ``(size, k)`` output and
    floats for a ``(size,)`` output.
    """

    summary: Summary
    vector: bool

    def _shape(self, value: np.ndarray) -> Any:
        return value if self.vector else float(value[0])

    @property
    def mean(self) -> Any:
        """Mean over all scenarios."""
        return self._shape(self.summary.moments.mean)

    @property
    def std(self) -> Any:
        """Sample standard deviation over all scenarios."""
        return self._shape(np.sqrt(self.summary.moments.variance(ddof=1)))

    @property
    def standard_error(self) -> Any:
        """Monte-Carlo standard error of :attr:`mean`."""
        return self._shape(self.summary.moments.standard_error())

    @property
    def exact(self) -> bool:
        """True when quantiles are exact (all samples kept)."""
        return self.summary.exact

    def quantile(self, q: float) -> Any:
        """The ``q`` quantile (numpy ``linear`` rule)."""
        return self._shape(self.summary.quantile(q))

    def tail_mean(self, q: float) -> Any:
        """Mean of the scenarios at or above the ``q`` quantile (CVaR)."""
        return self._shape(self.summary.tail_mean(q))

    def quantile_error(self, q: float) -> Any:
        """Bound on the error of :meth:`quantile`; 0 when exact."""
        return self._shape(self.summary.quantile_error(q))


@dataclass(frozen=True)
class MonteCarloResult:
    """Outcome of :func:`run_monte_carlo`.

    Attributes
    ----------
    outputs : dict of str to OutputStats
        Merged statistics of each named output.
    n_scenarios, n_batches, batch_size, seed : int
        What was run.
    n_workers : int
        Dask workers when the run started (1 in process); does not change
        the numbers.
    wall_seconds : float
        Elapsed time; varies from run to run.
    """

    outputs: dict[str, OutputStats]
    n_scenarios: int
    n_batches: int
    batch_size: int
    seed: int
    n_workers: int
    wall_seconds: float = field(compare=False)

    def __getitem__(self, name: str) -> OutputStats:
        return self.outputs[name]


def run_monte_carlo(
    simulate: Simulate,
    n_scenarios: int,
    seed: int,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    client: Any = None,
    ranges: Ranges | None = None,
    n_bins: int | Mapping[str, int] = DEFAULT_BINS,
    exact_budget_bytes: int = DEFAULT_EXACT_BUDGET_BYTES,
) -> MonteCarloResult:
    """Run ``simulate`` over ``n_scenarios`` in seeded batches and merge.

    Parameters
    ----------
    simulate : callable
        ``simulate(rng, size)`` returning ``{name: array}`` with arrays of
        shape ``(size,)`` or ``(size, k)``; must draw only from ``rng``.
        Sent to workers by pickling, so it must be picklable.
    n_scenarios : int
        Total scenarios.
    seed : int
        Seed of the run; batch ``i`` draws from child ``i`` of
        ``SeedSequence(seed)``.
    batch_size : int
        Scenarios per batch. Results depend on it, not on the workers.
    client : distributed.Client, optional
        Run batches as Dask tasks on this client; in process when None.
    ranges : mapping, optional
        ``{name: (low, high)}`` histogram range per output; missing
        outputs get the range of a pilot run of batch 0, widened by 25 %.
    n_bins : int or mapping
        Equal-width histogram bins per output column, for every output or
        ``{name: bins}`` (others get 1024); 0 summarises an output by its
        moments only (mean, variance: no quantiles).
    exact_budget_bytes : int
        Keep every sample of an output (exact quantiles) when
        ``n_scenarios * k * 8`` bytes fit in this budget (outputs with
        ``n_bins`` 0 never keep samples). Joining the kept batches at the
        end briefly needs the same again.

    Returns
    -------
    MonteCarloResult
    """
    started = time.perf_counter()
    n_workers = worker_count(client)
    batches = plan_batches(n_scenarios, seed, batch_size)
    if exact_budget_bytes < 0:
        raise ConfigError(f"exact_budget_bytes must be >= 0, got {exact_budget_bytes}")
    pilot = _pilot_ranges(simulate, batches[0], ranges or {}, client)
    spec = BatchSpec(n_scenarios, pilot, n_bins, exact_budget_bytes)
    summaries, vector = _merge_batches(simulate, batches, spec, client)
    result = MonteCarloResult(
        outputs={k: OutputStats(s, vector[k]) for k, s in summaries.items()},
        n_scenarios=n_scenarios,
        n_batches=len(batches),
        batch_size=batch_size,
        seed=seed,
        n_workers=n_workers,
        wall_seconds=time.perf_counter() - started,
    )
    _log(result)
    return result


def summarise_batch(
    simulate: Simulate, batch: Batch, spec: BatchSpec
) -> dict[str, tuple[Summary, bool]]:
    """Simulate one batch from its own stream and summarise each output."""
    raw = simulate(batch.rng(), batch.size)
    out = {}
    for name in sorted(raw):
        x = as_columns(raw[name])
        _check_output(name, x, batch.size)
        if name not in spec.ranges:
            raise ConfigError(f"simulate returned output {name!r} not in the pilot")
        low, high = spec.ranges[name]
        bins = spec.bins_of(name)
        fits = spec.n_scenarios * x.shape[1] * 8 <= spec.exact_budget_bytes
        summary = Summary.from_samples(x, low, high, bins, fits and bins > 0)
        out[name] = (summary, np.ndim(raw[name]) == 2)
    return out


def _check_output(name: str, x: np.ndarray, size: int) -> None:
    if x.shape[0] != size:
        raise ConfigError(
            f"simulate output {name!r} has {x.shape[0]} rows for a batch of {size}"
        )
    if not np.all(np.isfinite(x)):
        raise ConfigError(f"simulate output {name!r} has NaN or infinite values")


def _pilot_range(simulate: Simulate, batch: Batch) -> Ranges:
    raw = simulate(batch.rng(), batch.size)
    return {name: padded_range(as_columns(raw[name])) for name in raw}


def _pilot_ranges(
    simulate: Simulate, first: Batch, given: Ranges, client: Any
) -> Ranges:
    if client is None:
        found = _pilot_range(simulate, first)
    else:
        found = client.submit(_pilot_range, simulate, first, pure=False).result()
    merged = dict(found)
    merged.update(given)
    return merged


Parts = dict[str, tuple[Summary, bool]]
"""Summaries of one or more batches, by output name (with its vector flag)."""


def _merge_batches(
    simulate: Simulate, batches: list[Batch], spec: BatchSpec, client: Any
) -> tuple[dict[str, Summary], dict[str, bool]]:
    """Summaries of every batch merged along one fixed binary tree.

    The tree depends only on the number of batches (see
    :func:`merge_tree`), so the floating-point result is the same in
    process and on any cluster. On a cluster the merges run on the
    workers and only the final summary comes back.
    """
    if client is None:
        parts = (summarise_batch(simulate, b, spec) for b in batches)
        merged = merge_tree(parts, merge_parts)
    else:
        futures = client.map(
            _summarise, batches, simulate=simulate, spec=spec, pure=False
        )
        final = merge_tree(
            iter(futures), lambda a, b: client.submit(merge_parts, a, b, pure=False)
        )
        try:
            merged = final.result()
        finally:
            release([*futures, final])
    return {k: v[0] for k, v in merged.items()}, {k: v[1] for k, v in merged.items()}


def merge_tree(items: Iterator[Any], merge: Callable[[Any, Any], Any]) -> Any:
    """Fold ``items`` in order along a fixed binary tree (a binary counter).

    Two partial results of the same size class are merged as soon as both
    exist; left always precedes right, so sample order is kept. Needs only
    O(log n) partial results at a time.
    """
    stack: list[tuple[int, Any]] = []
    for item in items:
        level, value = 0, item
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            level, value = level + 1, merge(left, value)
        stack.append((level, value))
    _, value = stack.pop()
    while stack:
        _, left = stack.pop()
        value = merge(left, value)
    return value


def merge_parts(left: Parts, right: Parts) -> Parts:
    """Merge the summaries of two consecutive runs of batches."""
    out = dict(left)
    for name, (summary, is_vector) in right.items():
        previous = out.get(name)
        merged = previous[0].merge(summary) if previous else summary
        out[name] = (merged, is_vector)
    return out


def _summarise(batch: Batch, simulate: Simulate, spec: BatchSpec) -> Parts:
    return summarise_batch(simulate, batch, spec)


def _log(result: MonteCarloResult) -> None:
    scalar = [
        name
        for name, stats in sorted(result.outputs.items())
        if not stats.vector and (stats.exact or stats.summary.histogram is not None)
    ]
    first = scalar[0] if scalar else None
    figures = ""
    if first is not None:
        stats = result[first]
        figures = (
            f", {first} mean {stats.mean:,.4g} "
            f"p50 {stats.quantile(0.5):,.4g} p90 {stats.quantile(0.9):,.4g}"
        )
    logger.info(
        "monte carlo: %d scenarios in %d batches on %d workers, %.2f s%s",
        result.n_scenarios,
        result.n_batches,
        result.n_workers,
        result.wall_seconds,
        figures,
    )
