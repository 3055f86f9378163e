"""Stretch mode: the company target at which a chosen share of reps attains.

Raising the target raises every free quota, so the expected share of reps
reaching quota falls. :func:`implied_target` searches the whole-unit
target at which that share first drops below the goal, allocating each
candidate target with :func:`fill_quotas` (the closed-form solution of the
allocation LP) and scoring it with the same Monte-Carlo draws each time
(common random numbers), so the search is monotone and reproducible.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spmopt.errors import InfeasibleError
from spmopt.quota.allocation import format_amount, spread_weights
from spmopt.quota.rounding import largest_remainder


def fill_quotas(
    shares: ArrayLike, target: int, floor: ArrayLike, cap: ArrayLike
) -> NDArray[np.float64]:
    """Closed-form solution of the allocation LP (steps 1-5), in units.

    The reference ``r = target * shares`` is clipped to its bounds; the
    remaining shortfall (or excess) is spread over the reps with room in
    proportion to ``r``, each stopping at its bound ("water filling").

    Parameters
    ----------
    shares : array_like of float, shape (n_reps,)
        Reference weights summing to 1.
    target : int
        Company target, units.
    floor, cap : array_like of int, shape (n_reps,)
        Bounds, units; ``sum(floor) <= target <= sum(cap)``.

    Returns
    -------
    ndarray of float, shape (n_reps,)
        Quotas in units, before rounding; they sum to ``target``.
    """
    lo = np.asarray(floor, dtype=float)
    hi = np.asarray(cap, dtype=float)
    reference = largest_remainder(np.asarray(shares) * target, target).astype(float)
    clipped = np.clip(reference, lo, hi)
    short = target - clipped.sum()
    room = hi - clipped if short > 0 else clipped - lo
    move = _water_fill(spread_weights(reference), room, abs(short))
    return clipped + np.sign(short) * move


def _water_fill(
    weight: NDArray[np.float64], room: NDArray[np.float64], amount: float
) -> NDArray[np.float64]:
    """``min(room_i, lam * weight_i)`` with ``lam`` so the moves sum to amount.

    ``weight`` must be positive.
    """
    if amount <= 0:
        return np.zeros_like(room)
    level = room / weight
    order = np.argsort(level, kind="stable")
    full = np.cumsum(room[order])
    rest = np.append(np.cumsum(weight[order][::-1])[::-1][1:], 0.0)
    reach = full + level[order] * rest
    k = int(np.searchsorted(reach, amount))
    if k >= room.size:
        return room.copy()
    done = full[k - 1] if k > 0 else 0.0
    weight_left = rest[k - 1] if k > 0 else weight.sum()
    return np.minimum(room, (amount - done) / weight_left * weight)


def implied_target(
    shares: ArrayLike,
    floor: ArrayLike,
    cap: ArrayLike,
    goal: float,
    share_attaining: Callable[[NDArray[np.float64]], float],
    unit: float = 0.01,
) -> tuple[int, float]:
    """Largest whole-unit target with at least ``goal`` of reps attaining.

    Parameters
    ----------
    shares : array_like of float, shape (n_reps,)
        Reference weights summing to 1.
    floor, cap : array_like of int, shape (n_reps,)
        Bounds, units.
    goal : float
        Wanted expected share of reps reaching quota, in (0, 1).
    share_attaining : callable
        Maps quotas in units to the expected share of reps attaining;
        must use the same random draws on every call.
    unit : float
        Size of one unit in currency, for messages.

    Returns
    -------
    target : int
        Target in units.
    share : float
        Expected share of reps attaining at that target.

    Raises
    ------
    InfeasibleError
        If even the lowest feasible target leaves fewer than ``goal``.
    """
    lo, hi = max(int(np.sum(floor)), 1), int(np.sum(cap))

    def score(target: int) -> float:
        return share_attaining(fill_quotas(shares, target, floor, cap))

    low_share = score(lo)
    if low_share < goal:
        raise InfeasibleError(
            f"stretch.share_attaining {goal:g} is out of reach: at the lowest "
            f"target the floors allow ({format_amount(lo, unit)}) only "
            f"{low_share:.1%} of reps are expected to attain"
        )
    if score(hi) >= goal:
        return hi, score(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if score(mid) >= goal else (lo, mid)
    return lo, score(lo)
