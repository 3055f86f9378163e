"""The ``quota set`` job: read reps, allocate the target, check attainment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spmopt._logging import logger
from spmopt.data import check_schema, load_table, require_nonnegative, require_unique
from spmopt.errors import DataError
from spmopt.quota.allocation import AllocationResult, QuotaAllocator
from spmopt.quota.attainment import AttainmentResult, simulate_attainment
from spmopt.quota.config import QuotaConfig
from spmopt.quota.ramp import ramp_factor
from spmopt.quota.rounding import ROUNDING_RULE
from spmopt.runs import RunWriter

_TABLE = "reps"


@dataclass(frozen=True)
class RepBook:
    """Validated reps table with the ramp applied.

    Attributes
    ----------
    rep_id : ndarray of str, shape (n_reps,)
    potential : ndarray of float, shape (n_reps,)
        Fully ramped potential for the period, currency.
    ramp : ndarray of float, shape (n_reps,)
        Mean productivity share over the period, in (0, 1].
    quantiles : tuple of three ndarrays, optional
        P10, P50, P90 potential, currency (fully ramped).
    history : ndarray of float, shape (n_reps,), optional
        Last period's bookings of the territory, currency.
    """

    rep_id: np.ndarray
    potential: np.ndarray
    ramp: np.ndarray
    months_in_seat: np.ndarray | None = None
    quantiles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    history: np.ndarray | None = None

    @property
    def ramped_potential(self) -> np.ndarray:
        """Potential times ramp factor, currency."""
        return self.potential * self.ramp


def read_reps(cfg: QuotaConfig) -> RepBook:
    """Load and validate the reps table named in ``cfg``.

    Raises
    ------
    DataError
        For a missing file or column, a non-numeric or negative potential,
        a duplicate rep id, or P10/P50/P90 out of order.
    """
    frame = load_table(cfg.reps, name=_TABLE)
    schema = {cfg.rep_id_column: "str", cfg.potential_column: "float"}
    optional = {cfg.months_in_seat_column: "float"}
    numeric = [*_quantile_columns(cfg)]
    if cfg.history_column is not None:
        numeric.append(cfg.history_column)
    schema |= {c: "float" for c in numeric}
    frame = check_schema(frame, schema, _TABLE, optional=optional)
    require_unique(frame, cfg.rep_id_column, _TABLE)
    for column in [cfg.potential_column, *numeric]:
        require_nonnegative(frame, column, _TABLE)
    months = _months_in_seat(frame, cfg)
    return RepBook(
        rep_id=frame[cfg.rep_id_column].to_numpy(dtype=str),
        potential=frame[cfg.potential_column].to_numpy(dtype=float),
        ramp=ramp_factor(cfg.ramp, months, cfg.period_months),
        months_in_seat=months if cfg.months_in_seat_column in frame else None,
        quantiles=_quantiles(frame, cfg),
        history=_column(frame, cfg.history_column),
    )


def _column(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    return None if column is None else frame[column].to_numpy(dtype=float)


def _quantile_columns(cfg: QuotaConfig) -> list[str]:
    columns = [cfg.p10_column, cfg.p50_column, cfg.p90_column]
    return [c for c in columns if c is not None]


def _months_in_seat(frame: pd.DataFrame, cfg: QuotaConfig) -> np.ndarray:
    column = cfg.months_in_seat_column
    if column not in frame:
        return np.full(len(frame), 1000.0)
    require_nonnegative(frame, column, _TABLE)
    return frame[column].to_numpy(dtype=float)


def _quantiles(
    frame: pd.DataFrame, cfg: QuotaConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not cfg.has_quantiles:
        return None
    p10, p50, p90 = (frame[c].to_numpy(dtype=float) for c in _quantile_columns(cfg))
    bad = np.flatnonzero((p10 <= 0) | (p10 > p50) | (p50 > p90))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{_TABLE}: potential quantiles must satisfy 0 < P10 <= P50 <= P90, "
            f"got {p10[i]:g}, {p50[i]:g}, {p90[i]:g} in data row {i + 1}"
        )
    return p10, p50, p90


def allocate(book: RepBook, cfg: QuotaConfig) -> AllocationResult:
    """Solve the allocation LP for ``book`` under ``cfg``."""
    allocator = QuotaAllocator.from_potential(
        book.ramped_potential,
        cfg.target,
        floor_share=cfg.bounds.floor,
        cap_share=cfg.bounds.cap,
        decimals=cfg.rounding_decimals,
        reference=reference_weights(book, cfg),
    )
    allocator.check_feasible()
    return allocator.solve(cfg.solver, cfg.time_limit_seconds, threads=1)


def reference_weights(book: RepBook, cfg: QuotaConfig) -> np.ndarray:
    """Weights of the reference split chosen by ``cfg.method``.

    Returns shares summing to 1 (uniform if every weight is 0).
    """
    potential = _normalise(book.ramped_potential)
    if cfg.method == "potential" or book.history is None:
        return potential
    history = _normalise(book.history * book.ramp)
    if cfg.method == "historical":
        return history
    return cfg.blend_weight * potential + (1 - cfg.blend_weight) * history


def _normalise(weights: np.ndarray) -> np.ndarray:
    total = weights.sum()
    if total <= 0:
        return np.full(weights.shape, 1.0 / weights.size)
    return weights / total


def attainment(
    book: RepBook, quota: np.ndarray, cfg: QuotaConfig, seed: int
) -> AttainmentResult:
    """Simulate attainment of ``quota`` for ``book`` (seeded)."""
    settings = cfg.attainment
    quantiles = None
    if book.quantiles is not None:
        quantiles = tuple(q * book.ramp for q in book.quantiles)
    return simulate_attainment(
        quota,
        mean=book.ramped_potential,
        cv=settings.cv,
        distribution=settings.distribution,
        quantiles=quantiles,  # type: ignore[arg-type]
        n_scenarios=settings.n_scenarios,
        seed=seed,
    )


def quotas_table(
    book: RepBook,
    result: AllocationResult,
    sim: AttainmentResult,
    cfg: QuotaConfig,
) -> pd.DataFrame:
    """The ``quotas.csv`` table, one row per rep."""
    quota = to_currency(result.quota_units, cfg.rounding_decimals)
    table = pd.DataFrame({"rep_id": book.rep_id, "potential": book.potential})
    if book.quantiles is not None:
        for name, values in zip(("p10", "p50", "p90"), book.quantiles, strict=True):
            table[f"potential_{name}"] = values
    if book.history is not None:
        table["history"] = book.history
    if book.months_in_seat is not None:
        table["months_in_seat"] = book.months_in_seat
    table["ramp_factor"] = np.round(book.ramp, 6)
    table["quota"] = quota
    table["floor"] = to_currency(result.floor_units, cfg.rounding_decimals)
    cap = to_currency(result.cap_units, cfg.rounding_decimals)
    table["cap"] = cap if cfg.bounds.cap is not None else np.nan
    table["reference_quota"] = np.round(cfg.target * reference_weights(book, cfg), 2)
    table["binding"] = result.binding
    table["quota_to_potential"] = _ratio(quota, book.potential)
    table["p_attain"] = np.round(sim.p_attain, 6)
    return table


def to_currency(units: np.ndarray, decimals: int) -> np.ndarray:
    """Whole rounding units to currency, exactly representable decimals."""
    if decimals > 0:
        return units / 10**decimals
    return (units * 10 ** (-decimals)).astype(float)


def _ratio(quota: np.ndarray, potential: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(potential > 0, quota / potential, np.nan)
    return np.round(ratio, 6)


def summary(
    result: AllocationResult,
    sim: AttainmentResult,
    cfg: QuotaConfig,
) -> dict[str, Any]:
    """The ``summary.json`` content."""
    units = result.quota_units
    binding = result.binding
    return {
        "target": cfg.target,
        "quota_sum": float(
            to_currency(np.array([units.sum()]), cfg.rounding_decimals)[0]
        ),
        "rounding": ROUNDING_RULE,
        "rounding_unit": 10.0**-cfg.rounding_decimals,
        "share_expected_to_attain": round(sim.share_expected_to_attain, 6),
        "mc_standard_error": round(sim.standard_error, 6),
        "n_scenarios": sim.n_scenarios,
        "attainment_distribution": _distribution_label(cfg),
        "method": cfg.method,
        "n_reps": int(units.size),
        "n_binding_floor": int((binding == "floor").sum()),
        "n_binding_cap": int((binding == "cap").sum()),
        "status": result.status,
        "objective": round(result.objective, 6),
        "deviation_after_rounding": round(
            result.extra.get("deviation_after_rounding", 0.0), 6
        ),
        "best_bound": round(result.bound, 6),
        "gap": round(result.gap, 9),
        "lp_variables": result.n_variables,
        "lp_constraints": result.n_constraints,
        "solver": cfg.solver,
        "solve_seconds": round(result.seconds, 3),
    }


def _distribution_label(cfg: QuotaConfig) -> str:
    if cfg.has_quantiles:
        return "two-piece lognormal through P10/P50/P90"
    settings = cfg.attainment
    return f"{settings.distribution}, cv {settings.cv:g}, mean = ramped potential"


def run_set(cfg: QuotaConfig, out: RunWriter, seed: int) -> dict[str, Any]:
    """Set quotas for the reps in ``cfg`` and write them to ``out``.

    Writes ``quotas.csv`` (one row per rep) and ``summary.json``.

    Returns
    -------
    dict
        Headline figures: n_reps, target, quota_sum,
        share_expected_to_attain, n_binding_floor, n_binding_cap,
        solve_seconds (varies from run to run).
    """
    book = read_reps(cfg)
    result = allocate(book, cfg)
    quota = to_currency(result.quota_units, cfg.rounding_decimals)
    sim = attainment(book, quota, cfg, seed)
    out.write_csv("quotas.csv", quotas_table(book, result, sim, cfg))
    info = summary(result, sim, cfg)
    out.write_json("summary.json", info)
    logger.info(
        "quota set: %d reps, target %s, %.1f%% expected to attain, "
        "%d at floor, %d at cap, %.2f s",
        info["n_reps"],
        f"{cfg.target:,.2f}",
        100 * info["share_expected_to_attain"],
        info["n_binding_floor"],
        info["n_binding_cap"],
        result.seconds,
    )
    keys = [
        "n_reps",
        "target",
        "quota_sum",
        "share_expected_to_attain",
        "n_binding_floor",
        "n_binding_cap",
        "solve_seconds",
    ]
    return {key: info[key] for key in keys}
