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

With a deal id column, rows that repeat a deal id (snapshots of one deal,
or a row exported twice) are one deal: it counts once, at its earliest
prediction date, and never for its own rows. Training warns when ids
repeat. Without a deal id every row is a deal of its own.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from spmopt.errors import DataError, SpmoptWarning, show
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
    deal_id : str, optional
        Deal id column: rows sharing an id count as one deal, and a deal
        never counts itself (when the column is present at transform).
    """

    def __init__(
        self,
        amount: str,
        prediction_date: str | None = None,
        deal_id: str | None = None,
    ) -> None:
        self.amount = amount
        self.prediction_date = prediction_date
        self.deal_id = deal_id

    def __setstate__(self, state: dict[str, object]) -> None:
        """Load a pickled instance; one saved before ``deal_id`` has none."""
        self.__dict__.update({"deal_id": None, **state})

    @property
    def columns(self) -> list[str]:
        """Names of the added columns."""
        return [f"{self.amount}_round_digits", f"{self.amount}_same_amount_deals"]

    def fit(self, frame: pd.DataFrame) -> AmountPatterns:
        """Remember the training deals' amounts (and prediction dates)."""
        deals = self._training_deals(frame)
        amount, dates = deals["amount"].to_numpy(), deals["date"].to_numpy()
        self.values_ = np.unique(amount)
        codes = np.searchsorted(self.values_, amount)
        self.dates_ = np.unique(dates)
        self.own_ = deals.set_index(["id", "amount"])["date"]
        if self.prediction_date is None:
            self.counts_ = np.bincount(codes, minlength=len(self.values_))
            return self
        keys = codes * (len(self.dates_) + 1) + np.searchsorted(self.dates_, dates)
        self.keys_ = np.sort(keys)
        return self

    def fit_transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Fit on ``frame`` and add the columns; a deal never counts itself."""
        out = self.fit(frame).transform(frame)
        if self.prediction_date is None and self.deal_id is None:
            column = self.columns[1]
            out[column] = np.maximum(out[column].to_numpy() - 1, 0)
        return out

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with the two amount-pattern columns added."""
        amount = self._amounts(frame)
        out = frame.copy()
        out[self.columns[0]] = round_digits(amount)
        count = self._same_amount(frame, amount)
        out[self.columns[1]] = count - self._counted_itself(frame, amount)
        return out

    def _training_deals(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per training deal and amount: id, amount, earliest date.

        Without a deal id every row is its own deal. Repeated ids are
        reported with a :class:`SpmoptWarning`.
        """
        amount = self._amounts(frame)
        n = len(frame)
        ids = np.array([f"\0row {i}" for i in range(n)], dtype=object)
        if self.deal_id is not None:  # a row without an id is a deal of its own
            given = self._ids(frame)
            _warn_repeated(pd.Series(given), self.deal_id)
            ids = np.where(pd.isna(given), ids, given)
        date = np.zeros(n, dtype=np.int64)
        if self.prediction_date is not None:
            date = _ns(frame[self.prediction_date])
        deals = pd.DataFrame({"id": ids, "amount": amount, "date": date})
        deals = deals[~np.isnan(amount)]
        return deals.groupby(["id", "amount"], as_index=False, sort=True)["date"].min()

    def _ids(self, frame: pd.DataFrame) -> np.ndarray:
        """Deal ids as stripped text; missing (or blank) ids as None."""
        text = frame[str(self.deal_id)].astype("string").str.strip()
        return text.mask(text == "").to_numpy(dtype=object, na_value=None)

    def _counted_itself(self, frame: pd.DataFrame, amount: np.ndarray) -> np.ndarray:
        """1 where a row's own deal is among the training deals it counts."""
        if self.deal_id is None or self.deal_id not in frame.columns:
            return np.zeros(len(frame))
        keys = pd.MultiIndex.from_arrays([self._ids(frame), amount])
        own = self.own_.reindex(keys).to_numpy(dtype=float, na_value=np.nan)
        counted = ~np.isnan(own)
        if self.prediction_date is not None:  # counted only if predicted before
            dates = _ns(frame[self.prediction_date]).astype(float)
            counted &= own < dates
        return counted.astype(float)

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


def _warn_repeated(ids: pd.Series, column: str) -> None:
    """Warn that some deal ids are on more than one training row."""
    ids = ids.dropna()
    repeated = ids[ids.duplicated(keep=False)].unique()
    if len(repeated) == 0:
        return
    shown = ", ".join(show(v) for v in repeated[:5])
    more = f" and {len(repeated) - 5} more" if len(repeated) > 5 else ""
    warnings.warn(
        f"deals: {len(repeated)} deal id(s) in column '{column}' are on more "
        f"than one training row ({shown}{more}); each such deal counts once in "
        "the same-amount count, never for its own rows",
        SpmoptWarning,
        stacklevel=2,
    )
