"""Calendar of a plan year: pay periods, dates and proration."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from spmopt.errors import ConfigError
from spmopt.payout.plan import PlanConfig


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole ``months`` (day of month clipped to the month)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (negative if ``end`` is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and end.day < start.day:
        months -= 1
    elif months < 0 and end.day > start.day:
        months += 1
    return months


class PlanCalendar:
    """Pay periods of a plan year.

    Parameters
    ----------
    plan : PlanConfig
        Needs ``year_start``.
    """

    def __init__(self, plan: PlanConfig) -> None:
        if plan.year_start is None:
            raise ConfigError(
                "plan.year_start is required to place dated credits in periods, "
                "e.g. year_start: 2027-01-01"
            )
        self.start = plan.year_start
        self.n_periods = plan.n_periods
        self.months = 12 // plan.n_periods

    @property
    def end(self) -> date:
        """Last day of the plan year."""
        return add_months(self.start, 12) - timedelta(days=1)

    def bounds(self, p: int) -> tuple[date, date]:
        """First and last day of period ``p`` (0-based)."""
        first = add_months(self.start, p * self.months)
        return first, add_months(self.start, (p + 1) * self.months) - timedelta(1)

    def period_of(self, day: date) -> int | None:
        """Index of the period holding ``day``, None outside the plan year."""
        if day < self.start or day > self.end:
            return None
        for p in range(self.n_periods):
            if day <= self.bounds(p)[1]:
                return p
        return None

    def label(self, p: int) -> str:
        """Readable period name, e.g. ``2027-Q2`` or ``2027-05``."""
        first, _ = self.bounds(p)
        if self.months == 3:
            return f"{first.year}-Q{p + 1}"
        if self.months == 12:
            return f"{first.year}"
        return f"{first.year}-{first.month:02d}"

    def active_share(self, start: date | None, end: date | None) -> np.ndarray:
        """Share of the days of each period between ``start`` and ``end``."""
        shares = np.ones(self.n_periods)
        for p in range(self.n_periods):
            first, last = self.bounds(p)
            lo = max(first, start) if start else first
            hi = min(last, end) if end else last
            days = (last - first).days + 1
            shares[p] = max((hi - lo).days + 1, 0) / days
        return shares
