"""Stage conversion against counts made by hand."""

import math

import pandas as pd
import pytest

from spmopt.analytics.funnel import stage_funnel, stage_positions

ORDER = ("Prospecting", "Engaging")


def _deals() -> tuple[pd.DataFrame, pd.Series]:
    stage = pd.Series(["Prospecting", "Engaging", "Engaging", "Won", "Lost", "Won"])
    deals = pd.DataFrame(
        {
            "team": ["A", "A", "A", "A", "B", "B"],
            "outcome": ["open", "open", "open", "won", "lost", "won"],
        }
    )
    return deals, stage


def test_positions_put_closed_deals_past_every_open_stage() -> None:
    deals, stage = _deals()
    positions = stage_positions(stage, deals["outcome"], ORDER)
    assert positions.tolist() == [0, 1, 1, 2, 2, 2]


def test_company_funnel() -> None:
    deals, stage = _deals()
    funnel = stage_funnel(deals, stage, ORDER)
    company = funnel[funnel["level"] == "company"].set_index("stage")
    assert company.loc["Prospecting", "reached"] == 6
    assert company.loc["Prospecting", "passed"] == 5
    assert company.loc["Engaging", "reached"] == 5
    assert company.loc["Engaging", "passed"] == 3
    assert company.loc["Engaging", "conversion"] == pytest.approx(3 / 5)
    assert company.loc["Engaging", "win_rate_from_stage"] == pytest.approx(2 / 3)


def test_team_without_open_deals_converts_fully() -> None:
    deals, stage = _deals()
    funnel = stage_funnel(deals, stage, ORDER)
    team_b = funnel[funnel["team"] == "B"]
    assert team_b["conversion"].tolist() == [1.0, 1.0]
    assert team_b["win_rate_from_stage"].tolist() == [0.5, 0.5]


def test_stage_nobody_reached_has_no_conversion() -> None:
    deals = pd.DataFrame({"team": ["A"], "outcome": ["open"]})
    funnel = stage_funnel(deals, pd.Series(["Prospecting"]), ORDER)
    engaging = funnel[(funnel["level"] == "company") & (funnel["step"] == 2)]
    assert engaging["reached"].item() == 0
    assert math.isnan(engaging["conversion"].item())
