"""Point-in-time history features: past deals and win rate per key.

For a deal predicted on date t, the history of its owner (or account,
product, ...) counts only deals of that key that *closed strictly before
t*. A deal's own outcome is therefore never part of its features, and
neither is anything that happened later.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmopt.errors import DataError, show


class HistoryEncoder:
    """Past deal count and win rate per key value, as of each prediction date.

    Parameters
    ----------
    keys : list of str
        Columns to aggregate by, e.g. ``["sales_agent", "account"]``.
    prediction_date, close_date : str
        Date columns. Rows without a prediction date are looked up as of
        the end of the history (they are treated as "now").
    """

    def __init__(self, keys: list[str], prediction_date: str, close_date: str) -> None:
        self.keys = keys
        self.prediction_date = prediction_date
        self.close_date = close_date

    @property
    def columns(self) -> list[str]:
        """Names of the added columns, two per key."""
        return [
            f"{k}_{suffix}"
            for k in self.keys
            for suffix in ("past_deals", "past_win_rate")
        ]

    def fit(self, frame: pd.DataFrame, y: np.ndarray) -> HistoryEncoder:
        """Store, per key value, the sorted close dates and running wins.

        Parameters
        ----------
        frame : DataFrame
            Closed deals with the key and close-date columns.
        y : ndarray of shape (n_rows,)
            1 won, 0 lost.
        """
        dates = frame[self.close_date]
        known = dates.notna().to_numpy()
        self.history_: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        for key in self.keys:
            table = pd.DataFrame(
                {
                    "key": frame[key].to_numpy()[known],
                    "t": _ns(dates[known]),
                    "y": y[known],
                }
            ).dropna(subset=["key"])
            table = table.sort_values(["key", "t"], kind="stable")
            self.history_[key] = {
                str(value): (rows["t"].to_numpy(), np.cumsum(rows["y"].to_numpy()))
                for value, rows in table.groupby("key", sort=True)
            }
        return self

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Return ``frame`` with ``<key>_past_deals`` and ``<key>_past_win_rate``.

        The win rate is NaN when the key has no earlier closed deal.
        """
        needed = [*self.keys, self.prediction_date]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataError(
                f"deals: column(s) {missing} needed by the history features are "
                f"missing; columns present: {', '.join(map(str, frame.columns))}"
            )
        out = frame.copy()
        dates = _ns(frame[self.prediction_date])
        for key in self.keys:
            count, won = self._lookup(key, frame[key], dates)
            out[f"{key}_past_deals"] = count
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"{key}_past_win_rate"] = np.where(count > 0, won / count, np.nan)
        return out

    def _lookup(
        self, key: str, values: pd.Series, dates: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        count = np.zeros(len(values))
        won = np.zeros(len(values))
        text = values.astype("string").to_numpy(dtype=object, na_value=None)
        for value, rows in pd.Series(np.arange(len(values))).groupby(text):
            closed = self.history_[key].get(str(value))
            if closed is None:
                continue
            t, cum = closed
            at = rows.to_numpy()
            n = np.searchsorted(t, dates[at], side="left")
            count[at] = n
            won[at] = np.where(n > 0, cum[np.maximum(n - 1, 0)], 0)
        return count, won


_LATEST = np.iinfo(np.int64).max


def _ns(dates: pd.Series) -> np.ndarray:
    """Dates as int64 nanoseconds; missing dates become the far future.

    Raises
    ------
    DataError
        When a non-empty value is not a date.
    """
    values = pd.to_datetime(dates, errors="coerce", format="mixed")
    text = dates.astype("string").str.strip()
    bad = values.isna() & text.notna() & (text != "")
    if bad.any():
        raise DataError(
            f"deals: column '{dates.name}' must be a date, got "
            f"{show(dates[bad].iloc[0])} ({int(bad.sum())} bad value(s))"
        )
    values = values.astype("datetime64[ns]")
    out = values.to_numpy().astype("int64")
    out[values.isna().to_numpy()] = _LATEST
    return out
