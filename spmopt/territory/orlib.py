"""Reader of OR-Library capacitated p-median files (``pmedcap`` format).

Layout, whitespace separated, one or more problems per file::

    problem_number  best_known_objective
    n  p  capacity
    n lines: point_id  x  y  demand

Best-known values in these files use Euclidean distances truncated to
integers (:func:`truncated_distances`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spmopt.errors import DataError
from spmopt.territory.geometry import euclidean


@dataclass(frozen=True)
class PMedCapInstance:
    """One capacitated p-median problem.

    Attributes
    ----------
    name : str
        File stem, with ``#k`` appended when a file holds several problems.
    p : int
        Number of medians to open.
    capacity : float
        Demand capacity of every median.
    x, y : ndarray of shape (n,)
        Planar coordinates.
    demand : ndarray of shape (n,)
    best_known : float
        Objective stated in the file (truncated distances).
    """

    name: str
    p: int
    capacity: float
    x: NDArray[np.float64]
    y: NDArray[np.float64]
    demand: NDArray[np.float64]
    best_known: float

    @property
    def n(self) -> int:
        """Number of points."""
        return len(self.x)


def read_pmedcap(path: str | Path) -> list[PMedCapInstance]:
    """Read every problem in a pmedcap file.

    Raises
    ------
    DataError
        When the file is missing, truncated or not numeric.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"pmedcap file not found: {path}")
    try:
        tokens = [float(t) for t in path.read_text().split()]
    except ValueError as exc:
        raise DataError(f"{path}: not a pmedcap file: {exc}") from None
    problems: list[PMedCapInstance] = []
    pos = 0
    while pos < len(tokens):
        instance, pos = _one(tokens, pos, path, len(problems))
        problems.append(instance)
    if not problems:
        raise DataError(f"{path}: no problem found")
    if len(problems) == 1:
        problems[0] = _renamed(problems[0], path.stem)
    return problems


def _one(
    tokens: list[float], pos: int, path: Path, index: int
) -> tuple[PMedCapInstance, int]:
    if pos + 5 > len(tokens):
        raise DataError(f"{path}: header of problem {index + 1} is truncated")
    best, n, p, cap = (
        tokens[pos + 1],
        int(tokens[pos + 2]),
        tokens[pos + 3],
        tokens[pos + 4],
    )
    rows_end = pos + 5 + 4 * n
    if rows_end > len(tokens) or n <= 0 or not 0 < p <= n:
        raise DataError(f"{path}: problem {index + 1} has bad sizes n={n}, p={p:g}")
    rows = np.array(tokens[pos + 5 : rows_end]).reshape(n, 4)
    instance = PMedCapInstance(
        name=f"{path.stem}#{index + 1}",
        p=int(p),
        capacity=cap,
        x=rows[:, 1],
        y=rows[:, 2],
        demand=rows[:, 3],
        best_known=best,
    )
    return instance, rows_end


def _renamed(instance: PMedCapInstance, name: str) -> PMedCapInstance:
    from dataclasses import replace

    return replace(instance, name=name)


def truncated_distances(instance: PMedCapInstance) -> NDArray[np.float64]:
    """Euclidean distances rounded down to integers (OR-Library convention)."""
    return np.floor(euclidean(instance.x, instance.y, instance.x, instance.y))
