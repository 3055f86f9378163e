"""Amount-pattern features: how round an amount is and how common it is.

Sellers type round estimates (50,000) for early, speculative deals and
precise figures (48,730) once a quote exists, so the shape of the amount
carries signal a tree cannot read from the raw number. Two columns are
derived from the amount alone (never from an outcome):

``<amount>_round_digits``
    Trailing zeros of the whole amount (48,730 -> 1, 50,000 -> 4); 0 for
    an amount with cents, missing for an empty or zero amount.
``<amount>_same_amount_deals``
    How many *other* training deals carry exactly this amount. With a
    prediction date, only training deals predicted strictly before the
    deal's own date count (point in time); without one, every other
    training deal counts and a training deal never counts itself.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmopt.errors import DataError
from spmopt.forecast.history import _ns

_MAX_DIGITS = 12


def round_digits(amount: np.ndarray) -> np.ndarray:
    """Trailing zeros of each whole amount, shape (n_rows,).

    Parameters
    ----------
    amount : ndarray of shape (n_rows,)
        Deal amounts, currency units; NaN missing.

    Returns
    -------
    ndarray of float
        0 to 12; 0 when the amount has cents; NaN when missing, zero or
        negative.
    """
    amount = np.asarray(amount, dtype=float)
    out = np.full(len(amount), np.nan)
    ok = np.isfinite(amount) & (amount > 0)
    whole = np.floor(amount[ok])
    digits = np.zeros(len(whole))
    for k in range(1, _MAX_DIGITS + 1):
        digits += np.fmod(whole, 10.0**k) == 0
    out[ok] = np.where(whole == amount[ok], digits, 0.0)
    return out


class AmountPatterns:
    """Round-digit and same-amount-count columns for the amount column.

    Parameters
    ----------
    amount : str
        Amount column (currency units).
    prediction_date : str, optional
        When given, counts are point in time: only training deals
        predicted strictly before a deal's date count.
    """

    def __init__(self, amount: str, prediction_date: str | None = None) -> None:
        self.amount = amount
        self.prediction_date = prediction_date

    @property
    def columns(self) -> list[str]:
        """Names of the added columns."""
        return [f"{self.amount}_round_digits", f"{self.amount}_same_amount_deals"]

    def fit(self, frame: pd.DataFrame) -> AmountPatterns:
        """Remember the training deals' amounts (and prediction dates)."""
        amount = self._amounts(frame)
        known = ~np.isnan(amount)
        self.values_ = np.unique(amount[known])
        codes = np.searchsorted(self.values_, amount[known])
        if self.prediction_date is None:
            self.counts_ = np.bincount(codes, minlength=len(self.values_))
            return self
        dates = _ns(frame[self.prediction_date])[known]
        self.dates_ = np.unique(dates)
        keys = codes * (len(self.dates_) + 1) + np.searchsorted(self.dates_, dates)
        self.keys_ = np.sort(keys)
        return self

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit on ``frame`` and add the columns; a deal never counts itself."""
        out = self.fit(frame).transform(frame)
        if self.prediction_date is None:
            column = self.columns[1]
            out[column] = np.maximum(out[column].to_numpy() - 1, 0)
        return out

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with the two amount-pattern columns added."""
        amount = self._amounts(frame)
        out = frame.copy()
        out[self.columns[0]] = round_digits(amount)
        out[self.columns[1]] = self._same_amount(frame, amount)
        return out

    def _same_amount(self, frame: pd.DataFrame, amount: np.ndarray) -> np.ndarray:
        count = np.zeros(len(amount))
        if len(self.values_) == 0:
            count[np.isnan(amount)] = np.nan
            return count
        codes = np.minimum(np.searchsorted(self.values_, amount), len(self.values_) - 1)
        seen = self.values_[codes] == amount
        if self.prediction_date is None:
            count[seen] = self.counts_[codes[seen]]
        else:
            width = len(self.dates_) + 1
            dates = _ns(frame[self.prediction_date])
            low = codes * width
            high = low + np.searchsorted(self.dates_, dates, side="left")
            before = np.searchsorted(self.keys_, high) - np.searchsorted(
                self.keys_, low
            )
            count[seen] = before[seen]
        count[np.isnan(amount)] = np.nan
        return count

    def _amounts(self, frame: pd.DataFrame) -> np.ndarray:
        missing = [
            c for c in (self.amount, self.prediction_date) if c and c not in frame
        ]
        if missing:
            raise DataError(
                f"deals: column(s) {missing} needed by the amount patterns are "
                f"missing; columns present: {', '.join(map(str, frame.columns))}"
            )
        values = frame[self.amount]
        if not pd.api.types.is_numeric_dtype(values):
            text = values.astype("string").str.strip()
            values = pd.to_numeric(text, errors="coerce")
        return np.round(values.to_numpy(dtype=float, na_value=np.nan), 2)
