"""Train / validation / test splits that respect time and deal identity.

Both splits keep every row of one deal id on the same side. The time
split cuts on date boundaries, so deals sharing a prediction date never
straddle a cut; the grouped random split is stratified by outcome and is
used only when the data has no prediction date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from spmopt.errors import DataError

PARTS = ("train", "valid", "test")


@dataclass(frozen=True)
class Split:
    """Which part each row belongs to.

    Attributes
    ----------
    part : ndarray of str, shape (n_rows,)
        ``"train"``, ``"valid"`` or ``"test"``.
    kind : str
        ``"time"`` or ``"grouped-random"``.
    cuts : dict
        For a time split, the first date of validation and of test
        (ISO text); empty otherwise.
    """

    part: np.ndarray
    kind: str
    cuts: dict[str, str]

    def mask(self, name: str) -> np.ndarray:
        """Boolean mask of the rows in part ``name``."""
        return self.part == name

    def counts(self) -> dict[str, int]:
        """Rows per part."""
        return {name: int(self.mask(name).sum()) for name in PARTS}


def time_split(
    dates: pd.Series, groups: pd.Series, valid_share: float, test_share: float
) -> Split:
    """Split by date: oldest deals train, then validation, newest test.

    Each deal id is dated by its earliest prediction date, and cuts are
    dates: every deal dated before ``cuts["valid"]`` trains, every deal
    dated on or after ``cuts["test"]`` tests.

    Parameters
    ----------
    dates : Series of datetime64, shape (n_rows,)
        Prediction date of each row; must have no missing values.
    groups : Series, shape (n_rows,)
        Deal id of each row.
    valid_share, test_share : float
        Target fractions of rows; the cuts land on the nearest date
        boundary.

    Raises
    ------
    DataError
        When there are fewer than three distinct dates.
    """
    key = dates.groupby(groups.to_numpy()).transform("min").to_numpy()
    unique, counts = np.unique(key, return_counts=True)
    if len(unique) < 3:
        raise DataError(
            f"time split needs at least 3 distinct prediction dates, got "
            f"{len(unique)}; use split.kind: grouped-random"
        )
    before = np.concatenate([[0], np.cumsum(counts)[:-1]]) / counts.sum()
    test_at = _nearest(before, 1 - test_share, low=2, high=len(unique) - 1)
    valid_at = _nearest(before, 1 - test_share - valid_share, 1, test_at - 1)
    part = np.where(key < unique[valid_at], "train", "valid")
    part = np.where(key >= unique[test_at], "test", part)
    cuts = {"valid": _iso(unique[valid_at]), "test": _iso(unique[test_at])}
    return Split(part.astype(object), "time", cuts)


def _nearest(before: np.ndarray, share: float, low: int, high: int) -> int:
    """Index in [low, high] whose share of earlier rows is nearest ``share``."""
    index = int(np.argmin(np.abs(before - share)))
    return min(max(index, low), high)


def _iso(value: Any) -> str:
    return pd.Timestamp(value).isoformat()


def grouped_random_split(
    groups: pd.Series,
    label: np.ndarray,
    valid_share: float,
    test_share: float,
    seed: int | np.random.Generator,
) -> Split:
    """Random split of deal ids, stratified by outcome.

    A deal id is "won" for stratification when any of its rows is won.

    Parameters
    ----------
    groups : Series, shape (n_rows,)
        Deal id of each row.
    label : ndarray of shape (n_rows,)
        1 won, 0 lost.
    valid_share, test_share : float
        Fractions of deal ids per outcome class.
    seed : int or Generator
        Randomness of the shuffle.
    """
    rng = np.random.default_rng(seed)
    ids, inverse = np.unique(groups.astype(str).to_numpy(), return_inverse=True)
    group_won = np.zeros(len(ids))
    np.maximum.at(group_won, inverse, label)
    group_part = np.empty(len(ids), dtype=object)
    for value in (0.0, 1.0):
        members = rng.permutation(np.flatnonzero(group_won == value))
        n_test = round(test_share * len(members))
        n_valid = round(valid_share * len(members))
        group_part[members[:n_test]] = "test"
        group_part[members[n_test : n_test + n_valid]] = "valid"
        group_part[members[n_test + n_valid :]] = "train"
    return Split(group_part[inverse], "grouped-random", {})
