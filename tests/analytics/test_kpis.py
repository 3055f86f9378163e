"""KPIs against values computed by hand on a small table."""

import math

import pandas as pd
import pytest

from spmopt.analytics.kpis import kpi_table, period_labels


@pytest.fixture
def deals() -> pd.DataFrame:
    """r1: won 100 (10 days), lost 50, open 30; r2: two open deals only;
    r3 (team U): won 40 in Q2 (20 days)."""
    return pd.DataFrame(
        {
            "deal_id": list("abcdef"),
            "rep_id": ["r1", "r1", "r1", "r2", "r2", "r3"],
            "team": ["T"] * 5 + ["U"],
            "outcome": ["won", "lost", "open", "open", "open", "won"],
            "created": pd.to_datetime(
                ["2017-01-01", "2017-01-05", "2017-02-01", "2017-02-01", "2017-03-01",
                 "2017-04-01"]
            ),
            "closed": pd.to_datetime(
                ["2017-01-11", "2017-02-05", None, None, None, "2017-04-21"]
            ),
            "value": [100.0, 50.0, 30.0, 20.0, 10.0, 40.0],
        }
    )  # fmt: skip


def _row(table: pd.DataFrame, level: str, key: str | None, period: str) -> pd.Series:
    column = {"rep": "rep_id", "team": "team"}.get(level)
    mask = (table["level"] == level) & (table["period"] == period)
    if column:
        mask &= table[column] == key
    rows = table[mask]
    assert len(rows) == 1
    return rows.iloc[0]


def test_rep_with_won_lost_and_open_deals(deals: pd.DataFrame) -> None:
    quotas = pd.DataFrame({"rep_id": ["r1"], "quota": [200.0]})
    row = _row(kpi_table(deals, quotas), "rep", "r1", "all")
    assert (row["n_won"], row["n_lost"], row["n_open"]) == (1, 1, 1)
    assert row["win_rate"] == pytest.approx(0.5)
    assert row["value_win_rate"] == pytest.approx(100 / 150)
    assert row["avg_deal_size"] == pytest.approx(100.0)
    assert row["cycle_days"] == pytest.approx(10.0)
    assert row["attainment"] == pytest.approx(0.5)
    assert row["coverage"] == pytest.approx(30 / 200)
    assert row["velocity_per_day"] == pytest.approx(1 * 0.5 * 100 / 10)


def test_rep_with_no_closed_deals_has_no_rates(deals: pd.DataFrame) -> None:
    row = _row(kpi_table(deals), "rep", "r2", "all")
    assert row["n_open"] == 2 and row["open_value"] == pytest.approx(30.0)
    for column in ("win_rate", "value_win_rate", "avg_deal_size", "cycle_days"):
        assert math.isnan(row[column]), column


def test_zero_quota_gives_no_attainment(deals: pd.DataFrame) -> None:
    quotas = pd.DataFrame({"rep_id": ["r1", "r2"], "quota": [200.0, 0.0]})
    table = kpi_table(deals, quotas)
    row = _row(table, "rep", "r2", "all")
    assert row["quota"] == 0.0
    assert math.isnan(row["attainment"]) and math.isnan(row["coverage"])
    team = _row(table, "team", "T", "all")
    assert team["quota"] == pytest.approx(200.0)
    assert team["attainment"] == pytest.approx(0.5)


def test_open_deals_count_only_in_all_period_rows(deals: pd.DataFrame) -> None:
    table = kpi_table(deals)
    q1 = _row(table, "rep", "r1", "2017Q1")
    assert (q1["n_deals"], q1["n_open"], q1["open_value"]) == (2, 0, 0.0)
    company = _row(table, "company", None, "all")
    assert company["n_deals"] == 6 and company["open_value"] == pytest.approx(60.0)
    assert company["win_rate"] == pytest.approx(2 / 3)
    assert company["cycle_days"] == pytest.approx(15.0)


def test_roll_ups_equal_sum_of_reps(deals: pd.DataFrame) -> None:
    table = kpi_table(deals, period="month")
    reps = table[(table["level"] == "rep") & (table["period"] == "all")]
    company = _row(table, "company", None, "all")
    for column in ("n_deals", "won_value", "lost_value", "open_value"):
        assert reps[column].sum() == pytest.approx(company[column])
    months = table[(table["level"] == "company") & (table["period"] != "all")]
    assert months["period"].tolist() == ["2017-01", "2017-02", "2017-04"]
    assert months["n_won"].sum() == company["n_won"]


def test_period_quotas_sum_to_all_period_quota(deals: pd.DataFrame) -> None:
    quotas = pd.DataFrame(
        {"rep_id": ["r1", "r1"], "period": ["2017Q1", "2017Q2"], "quota": [80, 120]}
    )
    table = kpi_table(deals, quotas)
    q1 = _row(table, "rep", "r1", "2017Q1")
    assert q1["attainment"] == pytest.approx(100 / 80)
    assert _row(table, "rep", "r1", "all")["quota"] == pytest.approx(200.0)


def test_roster_adds_reps_without_deals(deals: pd.DataFrame) -> None:
    roster = pd.DataFrame({"rep_id": ["r1", "r2", "r3", "r9"], "team": list("TTUU")})
    quotas = pd.DataFrame({"rep_id": ["r9"], "quota": [10.0]})
    table = kpi_table(deals, quotas, roster)
    row = _row(table, "rep", "r9", "all")
    assert row["team"] == "U" and row["n_deals"] == 0
    assert row["attainment"] == 0.0
    assert _row(table, "team", "U", "all")["quota"] == pytest.approx(10.0)


def test_period_labels() -> None:
    dates = pd.Series(pd.to_datetime(["2017-03-31", None, "2018-04-01"]))
    assert period_labels(dates, "quarter").tolist() == ["2017Q1", None, "2018Q2"]
    assert period_labels(dates, "year").tolist() == ["2017", None, "2018"]


def test_payout_cost_as_share_of_revenue(deals: pd.DataFrame) -> None:
    payouts = pd.DataFrame({"rep_id": ["r1", "r3"], "payout": [10.0, 8.0]})
    table = kpi_table(deals, payouts=payouts)
    assert _row(table, "rep", "r1", "all")["cost_pct_revenue"] == pytest.approx(0.1)
    company = _row(table, "company", None, "all")
    assert company["payout"] == pytest.approx(18.0)
    assert company["cost_pct_revenue"] == pytest.approx(18 / 140)
    assert math.isnan(_row(table, "rep", "r2", "all")["cost_pct_revenue"])
