"""Preparing deals from a pipeline table."""

import warnings

import pandas as pd
import pytest

from spmopt.analytics.config import PipelineTable
from spmopt.analytics.inputs import (
    check_period_overlap,
    check_rep_ids,
    check_stages,
    deal_outcomes,
    normalise_periods,
    period_label,
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


def test_quota_rep_without_deals_is_named_in_a_warning() -> None:
    deals = pd.DataFrame({"rep_id": ["r1", "r2"]})
    with pytest.warns(SpmoptWarning, match=r"1 rep\(s\) of the quotas .* 'r3'"):
        check_rep_ids(_quotas("r1", "r3"), deals, "quotas")


def test_reps_all_in_pipeline_do_not_warn(recwarn: pytest.WarningsRecorder) -> None:
    deals = pd.DataFrame({"rep_id": ["r1", "r2"]})
    check_rep_ids(_quotas("r1", "r2"), deals, "quotas")
    assert not [w for w in recwarn if issubclass(w.category, SpmoptWarning)]


@pytest.mark.parametrize(
    ("text", "length", "label"),
    [
        ("2027Q2", "quarter", "2027Q2"),
        ("2027-Q2", "quarter", "2027Q2"),
        (" 2027 q2 ", "quarter", "2027Q2"),
        ("Q1-2027", "quarter", "2027Q1"),
        ("q4 2027", "quarter", "2027Q4"),
        ("2027Q5", "quarter", None),
        ("2027-04", "quarter", None),
        ("27Q2", "quarter", None),
        ("2017-03", "month", "2017-03"),
        ("2017-3", "month", "2017-03"),
        ("2017/11", "month", "2017-11"),
        ("2017-13", "month", None),
        ("2017Q1", "month", None),
        ("2017", "year", "2017"),
        ("FY2017", "year", None),
        ("2017Q1", "year", None),
    ],
)
def test_period_label_maps_only_unambiguous_spellings(
    text: str, length: str, label: str | None
) -> None:
    assert period_label(text, length) == label  # type: ignore[arg-type]


def test_periods_are_normalised_blank_and_all_kept() -> None:
    labels = pd.Series(["2027-Q2", "Q1-2027", None, "ALL"])
    out = normalise_periods(labels, "quarter", "quotas (q.csv)", "period", True)
    assert out.tolist() == ["2027Q2", "2027Q1", None, "all"]


def test_bad_period_names_table_column_row_value_and_form() -> None:
    labels = pd.Series(["2027Q1", "2027-06"])
    pattern = (
        r"^forecasts \(f.csv\): column 'when' has '2027-06' period in data row 2; "
        r"allowed: a quarter written like '2017Q1' \(config period: quarter\)$"
    )
    with pytest.raises(DataError, match=pattern):
        normalise_periods(labels, "quarter", "forecasts (f.csv)", "when", False)
    with pytest.raises(DataError, match="has a blank period in data row 1"):
        normalise_periods(pd.Series([None]), "quarter", "f", "p", False)


def test_period_without_closed_deals_is_named() -> None:
    deals = pd.DataFrame(
        {
            "outcome": ["won", "lost", "open"],
            "closed": pd.to_datetime(["2027-02-01", "2027-04-01", None]),
        }
    )
    labels = pd.Series(["2027Q1", "2027Q3", "all", None])
    with pytest.warns(SpmoptWarning, match=r"quotas table .* closed: 2027Q3;"):
        check_period_overlap(labels, deals, "quarter", "quotas")


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
