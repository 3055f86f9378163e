from datetime import date

import numpy as np
import pytest

from spmopt.errors import ConfigError
from spmopt.payout.periods import PlanCalendar, add_months, months_between
from spmopt.payout.plan import parse_plan

FLAT = {"tiers": [{"from": 0, "rate": 1}]}


def calendar(period: str, start: str = "2027-01-01") -> PlanCalendar:
    plan = parse_plan(
        {
            "period": period,
            "year_start": start,
            "measures": [{"name": "r", "curve": FLAT}],
        }
    )
    return PlanCalendar(plan)


def test_months_arithmetic() -> None:
    assert add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert add_months(date(2027, 11, 15), 3) == date(2028, 2, 15)
    assert months_between(date(2027, 1, 15), date(2027, 5, 15)) == 4
    assert months_between(date(2027, 1, 15), date(2027, 5, 14)) == 3
    assert months_between(date(2027, 1, 15), date(2027, 8, 15)) == 7


def test_quarters_of_a_fiscal_year() -> None:
    cal = calendar("quarter", "2027-04-01")
    assert cal.bounds(0) == (date(2027, 4, 1), date(2027, 6, 30))
    assert cal.bounds(3) == (date(2028, 1, 1), date(2028, 3, 31))
    assert cal.period_of(date(2027, 12, 31)) == 2
    assert cal.period_of(date(2027, 3, 31)) is None
    assert cal.period_of(date(2028, 4, 1)) is None
    assert cal.label(1) == "2027-Q2"
    assert calendar("month").label(4) == "2027-05"


def test_active_share_prorates_by_days() -> None:
    cal = calendar("quarter")
    share = cal.active_share(date(2027, 2, 15), date(2027, 8, 15))
    assert share[0] == pytest.approx(45 / 90)  # 15 Feb to 31 Mar
    assert share[1] == 1.0 and share[3] == 0.0
    assert share[2] == pytest.approx(46 / 92)
    assert np.array_equal(cal.active_share(None, None), np.ones(4))


def test_calendar_needs_a_year_start() -> None:
    plan = parse_plan({"measures": [{"name": "r", "curve": FLAT}]})
    with pytest.raises(ConfigError, match="year_start is required"):
        PlanCalendar(plan)
