"""Columns within the optimality gap, and the set-partitioning MIP over them.

With multipliers ``u`` of the assignment rows, any solution of cost ``z``
made of columns ``(j_k, S_k)`` satisfies

    z >= L(u) - s_j + r_j(S)     for each of its columns (j, S),

where ``L(u)`` is the Lagrangian value, ``r_j(S) = sum_{i in S} (c_ij -
u_i)`` and ``s_j`` is ``v_j`` when centre j is among the p cheapest
knapsack values and the p-th cheapest value otherwise. Enumerating every
column with ``L - s_j + r_j(S) <= target`` therefore keeps every column of
every solution costing at most ``target``; the set-partitioning MIP over
them finds the best such solution or proves there is none.
"""

from __future__ import annotations

import highspy
import numpy as np
from numpy.typing import NDArray

from spmopt._highs import INF, quiet_highs
from spmopt._stoppable import run_highs


def columns_within(
    reduced: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.int64],
    capacity: NDArray[np.int64],
    values: NDArray[np.float64],
    slack: NDArray[np.float64],
    limit: int,
) -> tuple[NDArray[np.bool_], NDArray[np.int64]] | None:
    """Every column ``(j, S)`` with ``r_j(S) <= slack_j``.

    Parameters
    ----------
    reduced : ndarray of shape (n, m)
        ``c_ij - u_i``, cost units.
    allowed : ndarray of bool, shape (n, m)
    demand : ndarray of int, shape (n,)
    capacity : ndarray of int, shape (m,)
    values : ndarray of shape (m,)
        Knapsack values ``v_j`` (least ``r_j(S)``).
    slack : ndarray of shape (m,)
        Largest reduced cost of interest per centre, from
        :func:`spmopt.territory.colgen.column_slack` (``-inf`` skips it).
    limit : int
        Give up (return None) beyond this many columns.

    Returns
    -------
    members : ndarray of bool, shape (k, n)
    centre : ndarray of int, shape (k,)
    """
    found: list[NDArray[np.bool_]] = []
    centres: list[NDArray[np.int64]] = []
    total = 0
    for j in np.flatnonzero(slack >= values - 1e-6):
        sets = _sets_within(
            reduced[:, j],
            allowed[:, j],
            demand,
            int(capacity[j]),
            float(slack[j]),
            float(values[j]),
            limit - total,
        )
        if sets is None or total + len(sets) > limit:
            return None
        found.append(sets)
        centres.append(np.full(len(sets), j, dtype=np.int64))
        total += len(sets)
    if not found:
        return np.zeros((0, len(demand)), dtype=bool), np.zeros(0, dtype=np.int64)
    return np.concatenate(found), np.concatenate(centres)


def _sets_within(
    reduced: NDArray[np.float64],
    allowed: NDArray[np.bool_],
    demand: NDArray[np.int64],
    capacity: int,
    threshold: float,
    lowest: float,
    limit: int = 2_000_000,
) -> NDArray[np.bool_] | None:
    """Every set of units within ``capacity`` whose reduced cost <= threshold.

    Breadth-first over the units, cheapest first; a partial set survives
    only if its cheapest completion (a knapsack over the remaining units)
    stays within the threshold, so every survivor leads to an answer.
    """
    width = capacity + 1
    items = np.flatnonzero(allowed & (reduced + lowest <= threshold + 1e-6))
    items = items[np.argsort(reduced[items], kind="stable")]
    suffix = _suffix(reduced[items], demand[items], width)
    room = np.array([capacity], dtype=np.int64)
    value = np.zeros(1)
    steps: list[tuple[NDArray[np.int64], NDArray[np.bool_]]] = []
    for k, i in enumerate(items):
        w, r = int(demand[i]), float(reduced[i])
        skip = value + suffix[k + 1][room] <= threshold + 1e-6
        fits = room >= w
        after = np.where(fits, room - w, 0)
        take = fits & (value + r + suffix[k + 1][after] <= threshold + 1e-6)
        parent = np.concatenate([np.flatnonzero(skip), np.flatnonzero(take)])
        if len(parent) > limit:
            return None
        took = np.repeat([False, True], [int(skip.sum()), int(take.sum())])
        room = np.where(took, room[parent] - w, room[parent])
        value = value[parent] + np.where(took, r, 0.0)
        steps.append((parent, took))
    return _members(steps, items, len(demand), len(value))


def _suffix(
    reduced: NDArray[np.float64], demand: NDArray[np.int64], width: int
) -> NDArray[np.float64]:
    """``out[k, c]``: cheapest set of items ``k..`` within capacity c."""
    out = np.zeros((len(reduced) + 1, width))
    for k in range(len(reduced) - 1, -1, -1):
        out[k] = out[k + 1]
        w = int(demand[k])
        if reduced[k] < 0 and w < width:
            out[k, w:] = np.minimum(
                out[k + 1, w:], out[k + 1, : width - w] + reduced[k]
            )
    return out


def _members(
    steps: list[tuple[NDArray[np.int64], NDArray[np.bool_]]],
    items: NDArray[np.int64],
    n: int,
    count: int,
) -> NDArray[np.bool_]:
    members = np.zeros((count, n), dtype=bool)
    position = np.arange(count)
    for k in range(len(steps) - 1, -1, -1):
        parent, took = steps[k]
        members[:, items[k]] = took[position]
        position = parent[position]
    return members


def partition_mip(
    cost: NDArray[np.float64],
    members: NDArray[np.bool_],
    centre: NDArray[np.int64],
    p: int,
    upper: float,
    time_limit: float,
    opened: NDArray[np.bool_] | None = None,
    presolve: bool = False,
    groups: list[tuple[NDArray[np.bool_], float, float]] | None = None,
) -> tuple[NDArray[np.int64] | None, bool] | None:
    """Best set partition of the units by the given columns, below ``upper``.

    Parameters
    ----------
    cost : ndarray of shape (n, m)
        Integral unit-to-centre costs.
    members : ndarray of bool, shape (k, n)
    centre : ndarray of int, shape (k,)
    p : int
    upper : float
        Only solutions costing at most ``upper - 1`` are of interest.
    time_limit : float
        Wall seconds for HiGHS.
    opened : ndarray of bool, shape (m,), optional
        Centres that must be used.
    presolve : bool
        HiGHS presolve (pays on enumerated columns, not on generated ones).
    groups : list of (mask, lo, hi), optional
        Bounds on the number of chosen columns whose centre is in ``mask``.

    Returns
    -------
    tuple or None
        ``(assignment or None, proven)``: the best assignment found (None
        when there is none below ``upper``) and whether the search over
        these columns finished. None when no column is given.
    """
    if not len(centre):
        return None
    n = cost.shape[0]
    h = _partition_model(cost, members, centre, p, upper)
    h.setOptionValue("presolve", "on" if presolve else "off")
    for mask, lo, hi in groups or []:
        cols = np.flatnonzero(mask[centre]).astype(np.int32)
        h.addRow(max(lo, -INF), min(hi, INF), len(cols), cols, np.ones(len(cols)))
    if opened is not None and opened.any():
        rows = (n + 1 + np.flatnonzero(opened)).astype(np.int32)
        ones = np.ones(len(rows))
        h.changeRowsBounds(len(rows), rows, ones, ones)  # type: ignore[attr-defined]
    h.setOptionValue("time_limit", float(time_limit))
    run_highs(h)
    status = h.getModelStatus()
    proven = status in (
        highspy.HighsModelStatus.kOptimal,
        highspy.HighsModelStatus.kInfeasible,
    )
    if h.getInfo().primal_solution_status != 2:
        return None, proven
    chosen = np.asarray(h.getSolution().col_value) > 0.5
    assignment = np.full(n, -1, dtype=np.int64)
    for k in np.flatnonzero(chosen):
        assignment[members[k]] = centre[k]
    if (assignment < 0).any():
        return None, proven
    return assignment, proven


def _partition_model(
    cost: NDArray[np.float64],
    members: NDArray[np.bool_],
    centre: NDArray[np.int64],
    p: int,
    upper: float,
) -> highspy.Highs:
    """Set partitioning with a cost row ``sum c_k lambda_k <= upper - 1``."""
    n, m = cost.shape
    k = len(centre)
    h = quiet_highs()
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("presolve", "off")
    top = float(upper) - 1 if np.isfinite(upper) else INF
    lower = np.concatenate([np.ones(n), [p], np.full(m + 1, -INF)])
    upper_rows = np.concatenate([np.ones(n), [p], np.ones(m), [top]])
    h.addRows(len(lower), lower, upper_rows, 0, np.zeros(1, np.int32), [], [])
    col_cost = (members * cost[:, centre].T).sum(axis=1)
    owner, unit = np.nonzero(members)
    fixed = np.arange(k)
    cols = np.concatenate([owner, fixed, fixed, fixed])
    rows = np.concatenate([unit, np.full(k, n), n + 1 + centre, np.full(k, n + 1 + m)])
    values = np.concatenate([np.ones(len(owner) + 2 * k), col_cost])
    order = np.lexsort((rows, cols))
    flat = rows[order].astype(np.int32)
    coef = values[order]
    starts = np.searchsorted(cols[order], np.arange(k)).astype(np.int32)
    h.addCols(k, col_cost, np.zeros(k), np.ones(k), len(flat), starts, flat, coef)
    h.changeColsIntegrality(
        k, np.arange(k, dtype=np.int32), np.full(k, highspy.HighsVarType.kInteger)
    )
    return h
