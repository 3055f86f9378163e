"""Reader of OR-Library capacitated p-median files (``pmedcap`` format).

Layout, whitespace separated, one record per line (a record may wrap), one
or more problems per file::

    [number_of_problems]                       optional first line
    problem_number  best_known_objective
    n  p  capacity
    n lines: point_id  x  y  demand

Best-known values in these files use Euclidean distances truncated to
integers (:func:`truncated_distances`). A malformed file raises
:class:`~spmopt.errors.DataError` naming the file, the line and what was
expected there.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from spmopt._paths import path_problem
from spmopt.errors import DataError
from spmopt.territory.geometry import euclidean

HEADER = "2 numbers 'problem_number best_known_objective'"
SIZES = "3 numbers 'n p capacity' (n, p whole, 1 <= p <= n, capacity > 0)"
POINT = "4 numbers 'point_id x y demand' (demand >= 0)"


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
        Demand capacity of every median, in units of demand.
    x, y : ndarray of shape (n,)
        Planar coordinates (any length unit).
    demand : ndarray of shape (n,)
        Demand of each point, >= 0.
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


class _Tokens:
    """Cursor over the whitespace-separated fields of a file, with their lines.

    Records are read field by field (a record may wrap onto the next line,
    and a file whose last line lacks its newline may be concatenated with
    another); each field keeps its 1-based line number for messages.
    """

    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()
        self._fields = [
            (number + 1, field)
            for number, raw in enumerate(self.lines)
            for field in raw.split()
        ]
        self._pos = 0

    def more(self) -> bool:
        """True while fields are left."""
        return self._pos < len(self._fields)

    def first_line_fields(self) -> int:
        """Number of fields on the line of the next field."""
        number = self._fields[self._pos][0]
        return len(self.lines[number - 1].split())

    def numbers(self, count: int, expected: str) -> tuple[int, list[float]]:
        """The next ``count`` fields as finite numbers, and the first's line.

        Raises
        ------
        DataError
            Naming the file, the line, what was expected and what was found.
        """
        fields = self._fields[self._pos : self._pos + count]
        self._pos += count
        for number, field in fields:
            if _number(field) is None:
                self.fail(number, expected, f"{field!r} in {self._line(number)}")
        if len(fields) < count:
            after = f" after {len(fields)} of them" if fields else ""
            self.fail(len(self.lines), expected, f"the end of the file{after}")
        return fields[0][0], [float(field) for _, field in fields]

    def expect_end(self, expected: str) -> None:
        """Raise the DataError when fields are left."""
        if self.more():
            number, field = self._fields[self._pos]
            self.fail(number, expected, f"{field!r} in {self._line(number)}")

    def _line(self, number: int) -> str:
        return repr(" ".join(self.lines[number - 1].split()))

    def fail(self, number: int, expected: str, got: str) -> None:
        """Raise the DataError for line ``number``."""
        raise DataError(
            f"{self.path}, line {number}: expected {expected}, got {got} "
            "(pmedcap format)"
        )


def _number(field: str) -> float | None:
    """``field`` as a finite float, or None when it is not one."""
    try:
        value = float(field)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def read_pmedcap(path: str | Path) -> list[PMedCapInstance]:
    """Read every problem in a pmedcap file.

    Parameters
    ----------
    path : str or Path
        A text file in the layout of the module docstring.

    Returns
    -------
    list of PMedCapInstance
        In file order; a single problem is named after the file's stem.

    Raises
    ------
    DataError
        When the file is missing, a folder, a device, unreadable or empty,
        or a line is not what the format expects there (the message names
        the file, the line and what was expected).
    """
    path = Path(path)
    problem = path_problem(path)
    if problem is not None:
        said = "pmedcap " if problem.kind == "missing" else "pmedcap file: "
        raise DataError(f"{said}{problem}")
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot be read as text: {exc}") from None
    tokens = _Tokens(path, text)
    if not tokens.more():
        raise DataError(f"{path}: the file is empty; expected a pmedcap problem")
    stated = _problem_count(tokens)
    problems = [_one(tokens, k) for k in _counter(tokens, stated)]
    if stated is not None and len(problems) != stated:
        tokens.fail(1, f"{stated} problem(s) as stated", f"{len(problems)}")
    tokens.expect_end(f"the end of the file after the {stated} problem(s) stated")
    if len(problems) == 1:
        problems[0] = replace(problems[0], name=path.stem)
    return problems


def _problem_count(tokens: _Tokens) -> int | None:
    """The optional first line holding only the number of problems."""
    if tokens.first_line_fields() != 1:
        return None
    expected = "the number of problems (a whole number >= 1)"
    number, (count,) = tokens.numbers(1, expected)
    if count < 1 or not count.is_integer():
        tokens.fail(number, expected, f"{count:g}")
    return int(count)


def _counter(tokens: _Tokens, stated: int | None) -> Iterator[int]:
    """Problem indices 0, 1, ... while fields are left (or ``stated`` of them)."""
    k = 0
    while tokens.more() and (stated is None or k < stated):
        yield k
        k += 1


def _one(tokens: _Tokens, index: int) -> PMedCapInstance:
    """The next problem: header line, sizes line and ``n`` point tokens."""
    _, (_, best) = tokens.numbers(2, HEADER)
    number, (n, p, capacity) = tokens.numbers(3, SIZES)
    if not (n.is_integer() and p.is_integer() and 1 <= p <= n and capacity > 0):
        tokens.fail(number, SIZES, f"n={n:g}, p={p:g}, capacity={capacity:g}")
    rows = np.empty((int(n), 4))
    for i in range(int(n)):
        number, rows[i] = tokens.numbers(4, f"{POINT}, point {i + 1} of {n:g}")
        if rows[i, 3] < 0:
            tokens.fail(number, POINT, f"demand {rows[i, 3]:g}")
    return PMedCapInstance(
        name=f"{tokens.path.stem}#{index + 1}",
        p=int(p),
        capacity=capacity,
        x=rows[:, 1].copy(),
        y=rows[:, 2].copy(),
        demand=rows[:, 3].copy(),
        best_known=best,
    )


def truncated_distances(instance: PMedCapInstance) -> NDArray[np.float64]:
    """Euclidean distances rounded down to integers (OR-Library convention)."""
    return np.floor(euclidean(instance.x, instance.y, instance.x, instance.y))
