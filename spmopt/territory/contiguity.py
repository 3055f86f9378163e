"""Contiguity: every territory forms one connected piece of the adjacency graph.

Adjacency comes from a table of neighbouring unit pairs or, for point data
such as county centroids, from a Delaunay triangulation of the unit
locations (an approximation of shared borders).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.spatial import Delaunay

from spmopt.data import check_schema, load_table
from spmopt.errors import DataError


def delaunay_edges(
    lat: NDArray[np.float64], lon: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Undirected edges (i < j) of the Delaunay triangulation of the points.

    Longitude is scaled by cos(mean latitude) so distances are roughly
    isotropic. Fewer than three points are joined in a chain.
    """
    n = len(lat)
    if n < 3:
        return np.array([[i, i + 1] for i in range(n - 1)], dtype=np.int64).reshape(
            -1, 2
        )
    xy = np.column_stack([lon * np.cos(np.radians(np.mean(lat))), lat])
    simplices = Delaunay(xy, qhull_options="QJ").simplices
    pairs = np.vstack(
        [simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]]
    )
    pairs = np.sort(pairs, axis=1)
    return np.unique(pairs, axis=0).astype(np.int64)


def adjacency_from_table(
    ref: str, unit_ids: NDArray[np.object_], a: str = "unit_id", b: str = "neighbor_id"
) -> NDArray[np.int64]:
    """Edges from a table of neighbour pairs (unknown ids are an error).

    Pairs whose units were filtered out (``units.keep``) are skipped.
    """
    table = "contiguity.adjacency table"
    frame = check_schema(load_table(ref, name=table), {a: "str", b: "str"}, table)
    index = {u: i for i, u in enumerate(unit_ids)}
    known = frame[a].isin(index) & frame[b].isin(index)
    frame = frame[known & (frame[a] != frame[b])]
    if frame.empty:
        raise DataError(f"{table}: no pair of known units; check columns {a}, {b}")
    pairs = np.array(
        [[index[u], index[v]] for u, v in zip(frame[a], frame[b], strict=True)]
    )
    return np.unique(np.sort(pairs, axis=1), axis=0).astype(np.int64)


def components(n: int, edges: NDArray[np.int64], members: NDArray[np.bool_]) -> int:
    """Number of connected pieces among ``members`` (a brute-force check)."""
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for u, v in edges:
        if members[u] and members[v]:
            parent[find(int(u))] = find(int(v))
    return len({find(int(i)) for i in np.flatnonzero(members)})
