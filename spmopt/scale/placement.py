"""Data placement that makes ``lightgbm.dask`` training repeat exactly.

Data-parallel LightGBM gives each worker a rank; each rank builds the bin
boundaries of some features from its own rows, and the booster returned
is the one of the first worker. So the model depends on which rows each
rank holds. ``lightgbm.dask`` ranks the workers in the order
``Client.who_has`` lists the parts of the data, and takes the rows of a
worker in that order too. ``distributed`` builds that list from a set of
task keys, whose order changes from one process to the next, and places
the parts wherever the scheduler likes: the same data and seed gave a
different booster on each run.

:func:`place_blocks` puts row block ``i`` of every array on a fixed
worker (workers by address, consecutive blocks together), and
:class:`PartsInOrder` lists the parts in block order, so rank ``r`` holds
the same rows, in the same order, on every run with the same number of
workers.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PartsInOrder", "in_part_order", "place_blocks"]


def place_blocks(client: Any, *arrays: Any) -> list[Any]:
    """Persist row block ``i`` of every array on the same, fixed worker.

    Parameters
    ----------
    client : distributed.Client
    *arrays : dask.array.Array
        Arrays with the same row chunks (one column chunk for a matrix).

    Returns
    -------
    list of dask.array.Array
        The arrays, each block persisted on worker ``i * W // n`` of the
        ``W`` workers sorted by address (``n`` blocks).
    """
    import dask.array as da

    workers = sorted(client.scheduler_info()["workers"])
    n = arrays[0].numblocks[0]
    homes = [workers[i * len(workers) // n] for i in range(n)]
    placed = []
    for array in arrays:
        blocks = [
            client.persist(array.blocks[i], workers=[home], allow_other_workers=False)
            for i, home in enumerate(homes)
        ]
        placed.append(da.concatenate(blocks, axis=0))
    return placed


def in_part_order(client: Any) -> Any:
    """``client`` wrapped in :class:`PartsInOrder` (typed as a client)."""
    return PartsInOrder(client)


class PartsInOrder:
    """A Dask client whose ``who_has`` lists keys in the order asked for.

    Everything else is passed to the wrapped client. Give it to
    ``lightgbm.dask`` estimators (``client=in_part_order(client)``) with data
    from :func:`place_blocks`.

    Parameters
    ----------
    client : distributed.Client
    """

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def who_has(self, futures: Any = None, **kwargs: Any) -> dict[Any, Any]:
        """Workers holding each future, in the order of ``futures``."""
        found = self._client.who_has(futures, **kwargs)
        if futures is None:
            return dict(found)
        keys = [getattr(future, "key", future) for future in futures]
        return {key: found[key] for key in dict.fromkeys(keys) if key in found}
