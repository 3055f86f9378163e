"""Scorecards: percentiles in team and flags."""

import pandas as pd
import pytest

from spmopt.analytics.config import FlagRules
from spmopt.analytics.kpis import add_ratios
from spmopt.analytics.scorecards import scorecards, team_percentiles


def _kpis(rows: list[dict]) -> pd.DataFrame:
    base = {
        "level": "rep",
        "period": "all",
        "n_deals": 0,
        "n_won": 0,
        "n_lost": 0,
        "n_open": 0,
        "won_value": 0.0,
        "lost_value": 0.0,
        "open_value": 0.0,
        "cycle_days_sum": 0.0,
        "n_cycle": 0,
        "quota": float("nan"),
        "payout": float("nan"),
    }
    return add_ratios(pd.DataFrame([{**base, **row} for row in rows]))


def test_percentiles_are_within_team() -> None:
    reps = pd.DataFrame({"team": ["A", "A", "A", "B"], "x": [1.0, 3.0, 2.0, 100.0]})
    pct = team_percentiles(reps, ("x",))["x_pct"]
    assert pct.tolist()[:3] == pytest.approx([0.0, 1.0, 0.5])
    assert pct.isna().tolist() == [False, False, False, True]


def test_flags_for_pipeline_cycles_and_quota() -> None:
    rows = [
        # high pipeline, lowest win rate, slowest cycles
        {"rep_id": "a", "team": "T", "n_won": 1, "n_lost": 9, "won_value": 10.0,
         "open_value": 900.0, "cycle_days_sum": 90.0, "n_cycle": 1, "quota": 100.0},
        {"rep_id": "b", "team": "T", "n_won": 5, "n_lost": 5, "won_value": 500.0,
         "open_value": 100.0, "cycle_days_sum": 20.0, "n_cycle": 5, "quota": 0.0},
        {"rep_id": "c", "team": "T", "n_won": 8, "n_lost": 2, "won_value": 800.0,
         "open_value": 50.0, "cycle_days_sum": 40.0, "n_cycle": 8},
        {"rep_id": "d", "team": "T", "n_open": 3, "open_value": 60.0},
    ]  # fmt: skip
    cards = scorecards(_kpis(rows), FlagRules(min_peers=3)).set_index("rep_id")
    flags = cards["flags"].to_dict()
    assert "high pipeline, low win rate" in flags["a"]
    assert "long cycles" in flags["a"]
    assert "attainment below 80%" in flags["a"]
    assert "zero quota" in flags["b"]
    assert "top performer" in flags["c"]
    assert flags["d"].startswith("no closed deals")
    assert cards.loc["d", "n_flags"] == 1
    assert cards.index.tolist() == ["c", "b", "a", "d"]


def test_no_peer_flags_in_small_teams() -> None:
    rows = [
        {"rep_id": "a", "team": "T", "n_won": 1, "n_lost": 9, "won_value": 10.0,
         "open_value": 900.0, "cycle_days_sum": 90.0, "n_cycle": 1},
        {"rep_id": "b", "team": "T", "n_won": 9, "n_lost": 1, "won_value": 90.0,
         "open_value": 1.0, "cycle_days_sum": 9.0, "n_cycle": 9},
    ]  # fmt: skip
    cards = scorecards(_kpis(rows), FlagRules(min_peers=3))
    assert (cards["flags"] == "").all()
