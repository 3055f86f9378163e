"""Output tables of a solve: assignments, territories and the summary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from spmopt.territory.config import TerritoryConfig
from spmopt.territory.design import DesignResult
from spmopt.territory.model import SolveResult, balance_band
from spmopt.territory.problem import NO_REP, TerritoryProblem


def coordinate_columns(problem: TerritoryProblem) -> tuple[str, str]:
    """Output names of a unit's coordinates: ``lat, lon`` or ``x, y``."""
    return ("x", "y") if problem.coords == "xy" else ("lat", "lon")


def distance_column(
    problem: TerritoryProblem, cfg: TerritoryConfig | None = None
) -> str:
    """Output name of distances: ``distance_km`` only when they are km.

    Haversine km from lat/lon give ``distance_km``; Euclidean distances
    from x/y (coordinate units) or a distance table's values (its own
    unit) give ``distance``.
    """
    from_table = cfg is not None and cfg.distances is not None
    return (
        "distance_km" if problem.coords == "latlon" and not from_table else "distance"
    )


def output_units(problem: TerritoryProblem, cfg: TerritoryConfig) -> dict[str, str]:
    """What the coordinates and distances of the outputs are measured in."""
    if problem.coords == "xy":
        coordinates = "x, y in the units table's coordinate unit (planar)"
        distance = "coordinate units (Euclidean distance in the x, y plane)"
    else:
        coordinates = "lat, lon in degrees (WGS84)"
        distance = "km (great-circle, haversine)"
    if cfg.distances is not None:
        distance = (
            f"the distance table's unit (column {cfg.distances.value!r}; pairs "
            f"missing from it for a current or locked owner: {distance})"
        )
    return {
        "coordinates": coordinates,
        "distance": distance,
        "distance_column": distance_column(problem, cfg),
        "objective": _objective_unit(cfg, problem),
    }


def rep_totals(
    problem: TerritoryProblem,
    assignment: NDArray[np.int64],
    distance_name: str | None = None,
) -> pd.DataFrame:
    """Units, potential, workload and summed distance per rep.

    Units without an owner (``NO_REP``) are left out. The distance column
    is ``distance_name`` (default: :func:`distance_column` of ``problem``).
    """
    owned = assignment != NO_REP
    reps = assignment[owned]
    dist = problem.distance[np.flatnonzero(owned), reps]
    frame = pd.DataFrame(
        {
            "units": np.bincount(reps, minlength=problem.n_reps),
            "potential": np.bincount(
                reps, problem.potential[owned], minlength=problem.n_reps
            ),
            "workload": np.bincount(
                reps, problem.workload[owned], minlength=problem.n_reps
            ),
            distance_name or distance_column(problem): np.bincount(
                reps, dist, minlength=problem.n_reps
            ),
        }
    )
    return frame


def territories_frame(
    problem: TerritoryProblem,
    assignment: NDArray[np.int64],
    distance_name: str | None = None,
) -> pd.DataFrame:
    """Per-rep table after (and before, when a current alignment exists).

    The summed distance is in ``distance_name`` (default:
    :func:`distance_column`), so ``distance_km`` only for km.
    """
    distance_name = distance_name or distance_column(problem)
    after = rep_totals(problem, assignment, distance_name)
    target = problem.targets("potential")
    frame = pd.DataFrame({"rep_id": problem.rep_ids})
    frame = pd.concat([frame, after], axis=1)
    frame["capacity"] = np.where(
        np.isfinite(problem.capacity), problem.capacity, np.nan
    )
    frame["target_potential"] = target
    frame["share_of_target"] = _share(after["potential"], target)
    if problem.has_current:
        before = rep_totals(problem, problem.current, distance_name)
        for column in ("units", "potential", "workload", distance_name):
            frame[f"{column}_before"] = before[column]
        frame["share_of_target_before"] = _share(before["potential"], target)
    return _rounded(frame)


def _share(potential: pd.Series, target: NDArray[np.float64]) -> pd.Series:
    """Potential over target; blank (NaN) for a rep without a target.

    A dedicated territory has no share of the balanced potential, so its
    target is 0 and a ratio would read ``inf``.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        share = potential / np.where(target > 0, target, np.nan)
    return share


def assignments_frame(
    problem: TerritoryProblem,
    assignment: NDArray[np.int64],
    reasons: list[str],
    distance_name: str | None = None,
) -> pd.DataFrame:
    """One row per unit with its new and previous rep and why it moved.

    Coordinates are ``lat, lon`` or ``x, y`` (:func:`coordinate_columns`);
    the distance to the new rep is ``distance_name`` (default:
    :func:`distance_column`).
    """
    rows = np.arange(problem.n_units)
    first, second = coordinate_columns(problem)
    previous = [None if k == NO_REP else problem.rep_ids[k] for k in problem.current]
    frame = pd.DataFrame(
        {
            "unit_id": problem.unit_ids,
            "rep_id": problem.rep_ids[assignment],
            "previous_rep_id": previous,
            "moved": (problem.current != NO_REP) & (problem.current != assignment),
            "reason": reasons,
            first: problem.unit_lat,
            second: problem.unit_lon,
            "potential": problem.potential,
            "workload": problem.workload,
            distance_name or distance_column(problem): problem.distance[
                rows, assignment
            ],
            "locked": problem.locked != NO_REP,
        }
    )
    frame = pd.concat([frame, problem.extra], axis=1)
    return _rounded(frame)


def moved_share(
    problem: TerritoryProblem, assignment: NDArray[np.int64], measure: str
) -> float:
    """Share of ``measure`` (over units with a current owner) that moved."""
    has = problem.current != NO_REP
    values = problem.measure(measure)[has]
    if values.sum() <= 0:
        return 0.0
    moved = problem.current[has] != assignment[has]
    return float(values[moved].sum() / values.sum())


def max_balance_deviation(
    problem: TerritoryProblem, assignment: NDArray[np.int64], measure: str
) -> float:
    """Largest relative deviation of a banded rep's ``measure`` from its target.

    A target of 0 (everything of ``measure`` is in dedicated territories) is
    met exactly by holding 0, deviation 0; holding more reads ``inf``. With
    every rep dedicated there is no band to deviate from: 0.
    """
    totals = rep_totals(problem, assignment)
    column = "units" if measure == "units" else measure
    banded = ~problem.is_dedicated
    target = problem.targets(measure)[banded]
    gap = np.abs(totals[column].to_numpy()[banded] - target)
    if gap.size == 0:
        return 0.0
    unmet = np.where(gap > 0, np.inf, 0.0)
    return float(np.divide(gap, target, out=unmet, where=target > 0).max())


def summary_dict(
    cfg: TerritoryConfig, problem: TerritoryProblem, result: SolveResult | DesignResult
) -> dict[str, Any]:
    """The contract fields of ``summary.json`` plus balance per measure."""
    a = result.assignment
    tol = cfg.balance[0].tolerance if cfg.balance else None
    measure = cfg.disruption.measure if cfg.disruption else "potential"
    summary: dict[str, Any] = {
        "status": result.status,
        "objective": round_figure(result.objective),
        "best_bound": round_figure(result.bound),
        "gap": round_figure(result.gap),
        "wall_seconds": round(result.seconds, 3),
        "max_balance_deviation": round_figure(
            max_balance_deviation(problem, a, "potential")
        ),
        "max_workload_deviation": round_figure(
            max_balance_deviation(problem, a, "workload")
        ),
        "moved_share": round_figure(moved_share(problem, a, measure))
        if problem.has_current
        else None,
        "moved_units": int(
            ((problem.current != NO_REP) & (problem.current != a)).sum()
        ),
        "balance_tolerance": tol,
        "n_units": problem.n_units,
        "n_reps": problem.n_reps,
        "objective_unit": _objective_unit(cfg, problem),
        "units": output_units(problem, cfg),
        "hit_limit": result.hit_limit,
        "remedies": list(problem.remedies),
        "dedicated_reps": [str(r) for r in problem.rep_ids[problem.is_dedicated]],
    }
    if problem.has_current:
        current = problem.current
        full = bool((current != NO_REP).all())
        summary["max_balance_deviation_before"] = (
            round_figure(max_balance_deviation(problem, current, "potential"))
            if full
            else None
        )
    return summary


def _objective_unit(cfg: TerritoryConfig, problem: TerritoryProblem) -> str:
    if cfg.distances is not None:
        base = "distance table units"
    else:
        base = "km" if problem.coords == "latlon" else "coordinate units"
    weight = cfg.objective.distance_weight
    return base if weight == "none" else f"{base} x {weight}"


def band_status(
    problem: TerritoryProblem, cfg: TerritoryConfig, totals: pd.DataFrame
) -> list[str]:
    """Words describing, per rep, which band or capacity it breaks (if any)."""
    notes = [""] * problem.n_reps
    for spec in cfg.balance:
        lows, highs = balance_band(
            problem, spec.measure, spec.tolerance, spec.min, spec.max
        )
        values = totals[spec.measure].to_numpy()
        for k in range(problem.n_reps):
            if values[k] > highs[k] * (1 + 1e-9):
                notes[k] = (
                    f"{spec.measure} {values[k]:,.0f} above band max {highs[k]:,.0f}"
                )
            elif values[k] < lows[k] * (1 - 1e-9):
                notes[k] = (
                    f"{spec.measure} {values[k]:,.0f} below band min {lows[k]:,.0f}"
                )
    return notes


def round_figure(value: float) -> float:
    """``value`` rounded to 9 decimal places for a summary; NaN if not finite."""
    return float(round(value, 9)) if np.isfinite(value) else float("nan")


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(6)
    return out
