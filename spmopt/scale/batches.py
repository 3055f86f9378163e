"""Seeded batches: split N scenarios into independent random streams.

Batch ``i`` of a run with seed ``s`` draws from
``numpy.random.SeedSequence(s).spawn(n)[i]``, built directly from the
batch index, so its numbers depend only on the seed, the batch size and
``i``: never on how many workers there are, which worker runs the batch,
or the order batches finish in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmopt.errors import ConfigError

DEFAULT_BATCH_SIZE = 10_000
"""Scenarios per batch unless told otherwise."""


@dataclass(frozen=True)
class Batch:
    """One slice of scenarios with its own random stream.

    Attributes
    ----------
    index : int
        Position of the batch, 0-based; keys its random stream.
    start : int
        Index of the batch's first scenario in the whole run.
    size : int
        Number of scenarios in the batch.
    seed : int
        Seed of the whole run.
    """

    index: int
    start: int
    size: int
    seed: int

    def rng(self) -> np.random.Generator:
        """The batch's generator: child ``index`` of ``SeedSequence(seed)``."""
        return np.random.default_rng(batch_seed_sequence(self.seed, self.index))


def batch_seed_sequence(seed: int, index: int) -> np.random.SeedSequence:
    """Child ``index`` of ``SeedSequence(seed)``, equal to ``spawn(n)[index]``.

    Parameters
    ----------
    seed : int
        Seed of the whole run (non-negative).
    index : int
        Batch index (non-negative).
    """
    return np.random.SeedSequence(entropy=seed, spawn_key=(index,))


def plan_batches(
    n_scenarios: int, seed: int, batch_size: int = DEFAULT_BATCH_SIZE
) -> list[Batch]:
    """Split ``n_scenarios`` into batches of ``batch_size`` (the last smaller).

    Parameters
    ----------
    n_scenarios : int
        Total number of scenarios, at least 1.
    seed : int
        Seed of the whole run, at least 0.
    batch_size : int
        Scenarios per batch, at least 1. Results depend on it (it fixes
        which stream draws which scenario), so keep it fixed when
        comparing runs; the number of workers does not matter.

    Returns
    -------
    list of Batch
        In index order; sizes sum to ``n_scenarios``.
    """
    _require_positive("n_scenarios", n_scenarios)
    _require_positive("batch_size", batch_size)
    if seed < 0:
        raise ConfigError(f"seed must be a non-negative integer, got {seed}")
    starts = range(0, n_scenarios, batch_size)
    return [
        Batch(index=i, start=s, size=min(batch_size, n_scenarios - s), seed=seed)
        for i, s in enumerate(starts)
    ]


def _require_positive(name: str, value: int) -> None:
    if int(value) != value or value < 1:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
