"""The reps table: validated columns, ramp factors and reference weights."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from spmopt.config import named_field, table_name
from spmopt.data import (
    check_schema,
    load_table,
    require_nonnegative,
    require_unique,
)
from spmopt.errors import DataError, show
from spmopt.payout.deals import deal_index
from spmopt.quota.attainment import OpenDeals
from spmopt.quota.config import QuotaConfig
from spmopt.quota.ramp import ramp_factor

REPS_FIELD = "reps"
"""The config field naming the reps table, for messages."""
OPEN_DEALS_FIELD = "open_deals.table"
"""The config field naming the open deals table, for messages."""


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
    ytd : ndarray of float, shape (n_reps,), optional
        Bookings so far in the period (mid-period re-set), currency.
    period_share : float
        Share of the period still to come (1 unless re-setting).
    """

    rep_id: np.ndarray
    potential: np.ndarray
    ramp: np.ndarray
    months_in_seat: np.ndarray | None = None
    quantiles: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    history: np.ndarray | None = None
    ytd: np.ndarray | None = None
    period_share: float = 1.0

    @property
    def ramped_potential(self) -> np.ndarray:
        """Potential x ramp factor x period share, currency."""
        return self.potential * self.ramp * self.period_share


def read_reps(cfg: QuotaConfig) -> RepBook:
    """Load and validate the reps table named in ``cfg``.

    Raises
    ------
    DataError
        For a missing file or column, a non-numeric or negative potential,
        a duplicate rep id, or P10/P50/P90 out of order.
    """
    frame = load_table(cfg.reps, name=named_field(cfg.reps, REPS_FIELD))
    table = table_name(cfg.reps, REPS_FIELD)
    schema = {cfg.rep_id_column: "str", cfg.potential_column: "float"}
    optional = {cfg.months_in_seat_column: "float"}
    numeric = [*_quantile_columns(cfg)]
    if cfg.history_column is not None:
        numeric.append(cfg.history_column)
    if cfg.ytd is not None:
        numeric.append(cfg.ytd.bookings_column)
    schema |= {c: "float" for c in numeric}
    frame = check_schema(frame, schema, table, optional=optional)
    require_unique(frame, cfg.rep_id_column, table)
    for column in [cfg.potential_column, *numeric]:
        require_nonnegative(frame, column, table)
    if not (frame[cfg.potential_column] > 0).any():
        raise DataError(
            f"{table}: column '{cfg.potential_column}' is 0 for every rep; quotas "
            "are set relative to potential, so at least one rep needs potential > 0"
        )
    months = _months_in_seat(frame, cfg, table)
    elapsed = 0 if cfg.ytd is None else cfg.ytd.months_elapsed
    left = cfg.period_months - elapsed
    return RepBook(
        rep_id=frame[cfg.rep_id_column].to_numpy(dtype=str),
        potential=frame[cfg.potential_column].to_numpy(dtype=float),
        ramp=ramp_factor(cfg.ramp, months + elapsed, left),
        months_in_seat=months if cfg.months_in_seat_column in frame else None,
        quantiles=_quantiles(frame, cfg, table),
        history=_column(frame, cfg.history_column),
        ytd=_column(frame, None if cfg.ytd is None else cfg.ytd.bookings_column),
        period_share=left / cfg.period_months,
    )


def _column(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    return None if column is None else frame[column].to_numpy(dtype=float)


def _quantile_columns(cfg: QuotaConfig) -> list[str]:
    columns = [cfg.p10_column, cfg.p50_column, cfg.p90_column]
    return [c for c in columns if c is not None]


def _months_in_seat(frame: pd.DataFrame, cfg: QuotaConfig, table: str) -> np.ndarray:
    column = cfg.months_in_seat_column
    if column not in frame:
        return np.full(len(frame), 1000.0)
    require_nonnegative(frame, column, table)
    return frame[column].to_numpy(dtype=float)


def _quantiles(
    frame: pd.DataFrame, cfg: QuotaConfig, table: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    if not cfg.has_quantiles:
        return None
    p10, p50, p90 = (frame[c].to_numpy(dtype=float) for c in _quantile_columns(cfg))
    bad = np.flatnonzero((p10 < 0) | (p10 > p50) | (p50 > p90))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{table}: potential quantiles must satisfy 0 <= P10 <= P50 <= P90, "
            f"got {p10[i]:g}, {p50[i]:g}, {p90[i]:g} in data row {i + 1}"
        )
    return p10, p50, p90


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


def read_open_deals(cfg: QuotaConfig, book: RepBook) -> OpenDeals | None:
    """Load the open deals named in ``cfg`` and map them to rows of ``book``.

    Raises
    ------
    DataError
        For a missing column, a negative amount, a win probability outside
        [0, 1], a deal owned by a rep not in the reps table, a deal id given
        twice for one rep, or the rows of a split deal giving different
        win probabilities (a deal is won or lost as a whole).
    """
    spec = cfg.open_deals
    if spec is None:
        return None
    name = table_name(spec.table, OPEN_DEALS_FIELD)
    columns = (spec.rep_id_column, spec.amount_column, spec.p_win_column)
    schema = dict(zip(columns, ("str", "float", "float"), strict=True))
    read = load_table(spec.table, name=named_field(spec.table, OPEN_DEALS_FIELD))
    frame = check_schema(read, schema, name)
    require_nonnegative(frame, spec.amount_column, name)
    p_win = frame[spec.p_win_column].to_numpy(dtype=float)
    bad = np.flatnonzero(~((p_win >= 0) & (p_win <= 1)))
    if bad.size:
        raise DataError(
            f"{name}: column '{spec.p_win_column}' must be in [0, 1], got "
            f"{p_win[bad[0]]:g} in data row {bad[0] + 1}"
        )
    rows = {rep: i for i, rep in enumerate(book.rep_id)}
    owners = frame[spec.rep_id_column]
    unknown = owners[~owners.isin(list(rows))]
    if not unknown.empty:
        raise DataError(
            f"{name}: rep {show(unknown.iloc[0])} in column '{spec.rep_id_column}' "
            f"is not in the reps table ({unknown.size} deal(s) affected)"
        )
    agree = {f"'{spec.p_win_column}'": p_win}
    deal = deal_index(frame, spec.deal_id_column, spec.rep_id_column, agree, name)
    rep = owners.map(rows).to_numpy(dtype=np.int64)
    amount = frame[spec.amount_column].to_numpy(dtype=float)
    return OpenDeals(rep, amount, p_win, deal)
