"""Preparing deals from a pipeline table."""

import warnings

import pandas as pd
import pytest

from spmopt.analytics.config import PipelineTable
from spmopt.analytics.inputs import (
    check_rep_ids,
    check_stages,
    deal_outcomes,
    prepare_deals,
)
from spmopt.data import load_maven_pipeline
from spmopt.errors import DataError, SpmoptWarning


def _pipeline() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "opportunity_id": ["a", "b", "c"],
            "sales_agent": ["r1", "r1", "r2"],
            "product": ["P", "Q", "P"],
            "deal_stage": ["Won", "Lost", "Engaging"],
            "engage_date": pd.to_datetime(["2017-01-01"] * 3),
            "close_date": pd.to_datetime(["2017-01-03", "2017-01-09", None]),
            "close_value": [120.0, 0.0, float("nan")],
        }
    )


def test_outcomes_from_stages() -> None:
    stage = pd.Series(["Won", "Lost", "Prospecting", "Closed Won"])
    out = deal_outcomes(stage, ("Won", "Closed Won"), ("Lost",))
    assert out.tolist() == ["won", "lost", "open", "won"]


def test_list_price_values_lost_and_open_deals() -> None:
    roster = pd.DataFrame({"rep_id": ["r1", "r2"], "team": ["T", "U"]})
    prices = pd.Series({"P": 100.0, "Q": 7.0})
    deals = prepare_deals(_pipeline(), PipelineTable(), roster, prices)
    assert deals["value"].tolist() == [120.0, 7.0, 100.0]
    assert deals["team"].tolist() == ["T", "T", "U"]
    assert deals["outcome"].tolist() == ["won", "lost", "open"]


def test_closed_deal_without_close_date_is_refused() -> None:
    frame = _pipeline()
    frame.loc[1, "close_date"] = pd.NaT
    with pytest.raises(DataError, match=r"close_date.*row 2"):
        prepare_deals(frame, PipelineTable())


def test_close_before_creation_is_refused() -> None:
    frame = _pipeline()
    frame.loc[0, "close_date"] = pd.Timestamp("2016-12-01")
    with pytest.raises(DataError, match="before"):
        prepare_deals(frame, PipelineTable())


def _quotas(*reps: str) -> pd.DataFrame:
    return pd.DataFrame({"rep_id": list(reps), "quota": [100.0] * len(reps)})


def test_quotas_matching_no_rep_warn() -> None:
    deals = pd.DataFrame({"rep_id": ["r1", "r2"]})
    with pytest.warns(SpmoptWarning, match="no rep id of the quotas table"):
        check_rep_ids(_quotas("R1", "R2"), deals, "quotas")


def test_new_hire_without_deals_does_not_warn(
    recwarn: pytest.WarningsRecorder,
) -> None:
    deals = pd.DataFrame({"rep_id": ["r1", "r2"]})
    check_rep_ids(_quotas("r1", "r3"), deals, "quotas")
    assert not [w for w in recwarn if issubclass(w.category, SpmoptWarning)]


def test_unknown_stage_warns_naming_values_counts_and_known_stages() -> None:
    stage = pd.Series(["Won", "Wonn", "Lost", "Wonn", None, "Engaging"])
    pattern = (
        r"column 'deal_stage' has stage\(s\) that are not won, lost or in "
        r"stage_order: 'Wonn' \(2 deals\), '\(blank\)' \(1 deal\); known stages: "
        r"\['Won', 'Lost', 'Prospecting', 'Engaging'\]; these deals count as open"
    )
    with pytest.warns(SpmoptWarning, match=pattern):
        check_stages(stage, PipelineTable(), "pipeline")


def test_unknown_stage_is_refused_when_the_lists_are_closed() -> None:
    spec = PipelineTable(unknown_stages="refuse")
    check_stages(pd.Series(["Won", "Lost", "Prospecting"]), spec, "pipeline")
    with pytest.raises(DataError, match=r"'Wonn' \(1 deal\).*first in data row 2"):
        check_stages(pd.Series(["Won", "Wonn"]), spec, "pipeline")


def test_bundled_maven_stages_are_all_known() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_stages(load_maven_pipeline()["deal_stage"], PipelineTable(), "maven")
