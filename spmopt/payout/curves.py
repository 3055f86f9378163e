"""Payout curves as piecewise-linear segments, exact or vectorised.

Every curve, whether given by tiers (marginal, retroactive or mixed) or by
points, becomes a list of segments. On segment ``j``, which starts at
``starts[j]``, the payout is::

    f(x) = bases[j] + slopes[j] * (x - anchors[j])

A marginal tier anchors at its own lower edge and starts from the value the
previous tier reached there; a retroactive tier anchors at zero (its rate
applies to the whole quantity), which makes ``f`` jump at the edge. The
edge rule says which segment owns an edge value. The same segments serve
the vectorised engine (float arrays) and the reference calculator
(:class:`~decimal.Decimal`, exact), so both price the plan identically.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Generic, TypeVar

import numpy as np

from spmopt.payout.plan import Curve

if TYPE_CHECKING:
    from spmopt.payout.engine import Buffers

N = TypeVar("N", float, Decimal)


@dataclass(frozen=True)
class Segments(Generic[N]):
    """A curve as segments (see module docstring).

    Attributes
    ----------
    starts, bases, anchors, slopes : tuple of numbers, one per segment
        Segment lower edges and formula coefficients, in basis units
        (attainment, currency, units or deals) and payout units.
    rates : tuple of numbers
        The rate as written in the plan (for statements).
    modes : tuple of str
        ``"marginal"``, ``"retroactive"`` or ``"points"`` per segment.
    upper_inclusive : bool
        True if a value equal to ``starts[j]`` belongs to segment ``j - 1``.
    """

    starts: tuple[N, ...]
    bases: tuple[N, ...]
    anchors: tuple[N, ...]
    slopes: tuple[N, ...]
    rates: tuple[N, ...]
    modes: tuple[str, ...]
    upper_inclusive: bool

    def index(self, x: N) -> int:
        """Segment holding the scalar ``x`` under the edge rule."""
        j = 0
        for k in range(1, len(self.starts)):
            start = self.starts[k]
            if x > start or (x == start and not self.upper_inclusive):
                j = k
        return j

    def value(self, x: N) -> N:
        """Payout at the scalar ``x`` (exact for Decimal segments)."""
        j = self.index(x)
        return self.formula(j, x)

    def formula(self, j: int, x: N) -> N:
        """Segment ``j``'s formula at ``x`` (even outside the segment)."""
        return self.bases[j] + self.slopes[j] * (x - self.anchors[j])


def build_segments(curve: Curve, num: Callable[[Decimal], N]) -> Segments[N]:
    """Segments of ``curve`` with numbers made by ``num`` (float or exact).

    The plan's edges, rates and points are exact decimals as written;
    ``num`` turns them into the segments' number type.
    """
    if curve.tiers is not None:
        return _from_tiers(curve, num)
    return _from_points(curve, num)


def exact_segments(curve: Curve) -> Segments[Decimal]:
    """Segments with exact decimal coefficients (for the reference)."""
    return build_segments(curve, Decimal)


def float_segments(curve: Curve) -> Segments[float]:
    """Segments with float coefficients (for the vectorised engine)."""
    return build_segments(curve, float)


def _from_tiers(curve: Curve, num: Callable[[Decimal], N]) -> Segments[N]:
    assert curve.tiers is not None
    zero = num(Decimal(0))
    starts: list[N] = []
    bases: list[N] = []
    anchors: list[N] = []
    slopes: list[N] = []
    modes: list[str] = []
    for tier in curve.tiers:
        lo, rate = num(tier.start), num(tier.rate)
        mode = tier.application or curve.application
        if mode == "retroactive":
            base, anchor = zero, zero
        elif starts:
            base = bases[-1] + slopes[-1] * (lo - anchors[-1])
            anchor = lo
        else:
            base, anchor = zero, lo
        starts.append(lo)
        bases.append(base)
        anchors.append(anchor)
        slopes.append(rate)
        modes.append(mode)
    upper = curve.edges == "upper_inclusive"
    return Segments(
        tuple(starts),
        tuple(bases),
        tuple(anchors),
        tuple(slopes),
        tuple(slopes),
        tuple(modes),
        upper,
    )


def _from_points(curve: Curve, num: Callable[[Decimal], N]) -> Segments[N]:
    assert curve.points is not None
    xs = [num(x) for x, _ in curve.points]
    ys = [num(y) for _, y in curve.points]
    slopes = [(ys[k + 1] - ys[k]) / (xs[k + 1] - xs[k]) for k in range(len(xs) - 1)]
    last = slopes[-1] if curve.beyond_last_point == "extend" else num(Decimal(0))
    slopes.append(last)
    return Segments(
        tuple(xs),
        tuple(ys),
        tuple(xs),
        tuple(slopes),
        tuple(slopes),
        ("points",) * len(xs),
        False,
    )


@dataclass(frozen=True)
class CurveArrays:
    """Float segment coefficients as arrays, for vectorised evaluation.

    Besides the segments, the curve is kept as hinges: a line
    ``c0 + s0 * x`` plus, at each later edge ``t``, a slope change
    ``ds * max(x - t, 0)`` and a jump ``j`` once ``x`` reaches ``t`` (or
    passes it, for upper-inclusive edges). Curves with few edges are
    evaluated from the hinges with a handful of in-place array operations,
    which is faster than looking up each value's segment.
    """

    starts: np.ndarray
    bases: np.ndarray
    anchors: np.ndarray
    slopes: np.ndarray
    upper_inclusive: bool
    hinges: tuple[tuple[float, float, float], ...] = ()

    @classmethod
    def from_curve(cls, curve: Curve) -> CurveArrays:
        """Arrays of the float segments of ``curve``."""
        seg = float_segments(curve)
        hinges = []
        for k in range(1, len(seg.starts)):
            t = seg.starts[k]
            jump = seg.formula(k, t) - seg.formula(k - 1, t)
            change = seg.slopes[k] - seg.slopes[k - 1]
            if jump or change:
                hinges.append((t, change, jump))
        return cls(
            np.asarray(seg.starts, dtype=float),
            np.asarray(seg.bases, dtype=float),
            np.asarray(seg.anchors, dtype=float),
            np.asarray(seg.slopes, dtype=float),
            seg.upper_inclusive,
            tuple(hinges),
        )

    def index(self, x: np.ndarray) -> np.ndarray:
        """Segment index of every element of ``x`` (same shape, int)."""
        if self.upper_inclusive:
            idx = np.searchsorted(self.starts, x, side="left") - 1
        else:
            idx = np.searchsorted(self.starts, x, side="right") - 1
        return np.maximum(idx, 0)

    def __call__(self, x: np.ndarray, buffers: Buffers | None = None) -> np.ndarray:
        """Payout at every element of ``x`` (any shape); a new array.

        With ``buffers`` (see :class:`~spmopt.payout.engine.Buffers`) the
        result and the scratch array are taken from them (``x`` must then
        be C-contiguous float) and the scratch array is given back.
        """
        x = np.asarray(x, dtype=float)
        if buffers is None or not x.flags.c_contiguous:
            out, tmp = np.empty_like(x), None
        else:
            out, tmp = buffers.take(x.shape), buffers.take(x.shape)
        if len(self.hinges) > 8:
            self._from_segments(x, out)
        else:
            self._from_hinges(x, out, tmp)
        if buffers is not None and tmp is not None:
            buffers.give(tmp)
        return out

    def _from_segments(self, x: np.ndarray, out: np.ndarray) -> None:
        idx = self.index(x)
        np.take(self.anchors, idx, out=out)
        np.subtract(x, out, out=out)
        out *= np.take(self.slopes, idx)
        out += np.take(self.bases, idx)

    def _from_hinges(
        self, x: np.ndarray, out: np.ndarray, tmp: np.ndarray | None
    ) -> None:
        slope = self.slopes[0]
        intercept = self.bases[0] - slope * self.anchors[0]
        hinges = self.hinges
        if slope == 0 and hinges and hinges[0][1] and not hinges[0][2]:
            edge, change, _ = hinges[0]  # a threshold: start from its ramp
            np.maximum(x, edge, out=out)
            out *= change
            intercept -= change * edge
            hinges = hinges[1:]
        else:
            np.multiply(x, slope, out=out)
        for edge, change, jump in hinges:
            if change:  # change * max(x - edge, 0) = change * max(x, edge) - ...
                tmp = np.maximum(x, edge, out=tmp)
                tmp *= change
                out += tmp
                intercept -= change * edge
            if jump:  # out += jump once x reaches (or passes) the edge
                compare = np.greater if self.upper_inclusive else np.greater_equal
                tmp = np.multiply(compare(x, edge), jump, out=tmp)
                out += tmp
        if intercept:
            out += intercept
