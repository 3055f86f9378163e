"""Contiguity: every territory forms one connected piece of the adjacency graph.

Adjacency comes from a table of neighbouring unit pairs or, for point data
such as county centroids, from a Delaunay triangulation of the unit
locations (an approximation of shared borders).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.spatial import Delaunay

from spmopt.config import named_field, table_name
from spmopt.data import check_schema, load_table
from spmopt.errors import DataError, show


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


ADJACENCY_FIELD = "contiguity.adjacency"
"""The config field naming the adjacency table, for messages."""
KNOWN_SHOWN = 5
"""Unit ids given as examples when an adjacency table names an unknown one."""


def read_adjacency(ref: str, a: str, b: str) -> pd.DataFrame:
    """The table of neighbour pairs named by ``contiguity.adjacency``.

    Errors name the config file, the field and the table's path.
    """
    frame = load_table(ref, name=named_field(ref, ADJACENCY_FIELD))
    where = table_name(ref, ADJACENCY_FIELD)
    missing = [column for column in (a, b) if column not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing}; columns present: "
            f"{', '.join(map(str, frame.columns))}; contiguity.unit_a and "
            "contiguity.unit_b name the two columns of a pair"
        )
    return check_schema(frame, {a: "str", b: "str"}, where)


def check_adjacency(
    ref: str, unit_ids: pd.Series, a: str, b: str, id_column: str
) -> None:
    """Refuse a pair naming a unit that is not in the units table.

    Parameters
    ----------
    ref : str
        The adjacency table (path or ``bundled:`` reference).
    unit_ids : Series
        Every id of the units table, rows ``units.keep`` leaves out included.
    a, b : str
        The two id columns of the adjacency table.
    id_column : str
        The id column of the units table, for the message.

    Raises
    ------
    DataError
        Naming the config, the field, the column, the first unknown id and
        its data row, how many there are and a few known ids.
    """
    frame = read_adjacency(ref, a, b)
    known = set(unit_ids)
    bad = {column: ~frame[column].isin(known) for column in (a, b)}
    rows = np.flatnonzero((bad[a] | bad[b]).to_numpy())
    if rows.size == 0:
        return
    column = a if bad[a].iloc[rows[0]] else b
    unknown = pd.concat([frame.loc[bad[c], c] for c in (a, b)])
    examples = ", ".join(map(str, list(unit_ids)[:KNOWN_SHOWN]))
    raise DataError(
        f"{table_name(ref, ADJACENCY_FIELD)}: column {column!r} names unit "
        f"{show(frame[column].iloc[rows[0]])} in data row {rows[0] + 1}, which is "
        f"not in the units table ({unknown.nunique(dropna=False)} unknown id(s) in "
        f"all); give ids of the units table's column {id_column!r}, e.g. {examples}"
    )


def adjacency_from_table(
    ref: str, unit_ids: NDArray[np.object_], a: str = "unit_id", b: str = "neighbor_id"
) -> NDArray[np.int64]:
    """Edges from a table of neighbour pairs among ``unit_ids``.

    Pairs naming a unit outside ``unit_ids`` (filtered out by
    ``units.keep``) are skipped; :func:`check_adjacency` refuses ids that
    are not in the units table at all. The parts of a unit split by
    ``remedies.split`` (``<id>#1``, ``<id>#2``, ...) take its neighbours and
    neighbour each other.
    """
    frame = read_adjacency(ref, a, b)
    rows = unit_rows(unit_ids)
    known = frame[a].isin(rows) & frame[b].isin(rows)
    frame = frame[known & (frame[a] != frame[b])]
    if frame.empty:
        raise DataError(
            f"{table_name(ref, ADJACENCY_FIELD)}: no pair of two different "
            f"aligned units; check columns {a!r} and {b!r} and units.keep"
        )
    pairs = [
        [i, j]
        for u, v in zip(frame[a], frame[b], strict=True)
        for i in rows[u]
        for j in rows[v]
    ]
    for parts in rows.values():  # a split unit's parts in a chain
        pairs += [[i, j] for i, j in itertools.pairwise(parts)]
    return np.unique(np.sort(np.array(pairs), axis=1), axis=0).astype(np.int64)


def unit_rows(unit_ids: NDArray[np.object_]) -> dict[str, list[int]]:
    """Row of each unit id; a split unit's parts under its own id too.

    ``remedies.split`` replaces unit ``<id>`` by parts ``<id>#1``, ``<id>#2``,
    ...; a table naming ``<id>`` means all of them.
    """
    ids = [str(u) for u in unit_ids]
    rows = {unit: [i] for i, unit in enumerate(ids)}
    parts: dict[str, list[int]] = {}
    for i, unit in enumerate(ids):
        base, mark, part = unit.rpartition("#")
        if mark and part.isdigit() and base not in rows and f"{base}#1" in rows:
            parts.setdefault(base, []).append(i)
    return rows | parts


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
