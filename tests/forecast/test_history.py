import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmopt.errors import DataError
from spmopt.forecast.history import HistoryEncoder


def _brute_force(frame: pd.DataFrame, y: np.ndarray, key: str) -> pd.DataFrame:
    rows = []
    for _, row in frame.iterrows():
        same = (frame[key] == row[key]) & (frame["closed"] < row["made"])
        n = int(same.sum())
        rows.append((n, y[same.to_numpy()].mean() if n else np.nan))
    return pd.DataFrame(rows, columns=["n", "rate"])


@settings(max_examples=40, deadline=None)
@given(
    data=st.lists(
        st.tuples(
            st.sampled_from("abc"),
            st.integers(0, 20),
            st.integers(0, 10),
            st.booleans(),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_history_matches_brute_force_and_never_sees_the_future(data) -> None:
    day = pd.Timestamp("2024-01-01")
    frame = pd.DataFrame(
        {
            "owner": [d[0] for d in data],
            "made": [day + pd.Timedelta(days=d[1]) for d in data],
            "closed": [day + pd.Timedelta(days=d[1] + d[2]) for d in data],
        }
    )
    y = np.array([float(d[3]) for d in data])
    out = HistoryEncoder(["owner"], "made", "closed").fit(frame, y).transform(frame)
    expected = _brute_force(frame, y, "owner")
    assert np.array_equal(out["owner_past_deals"].to_numpy(), expected["n"].to_numpy())
    assert np.allclose(out["owner_past_win_rate"], expected["rate"], equal_nan=True)


def test_own_outcome_is_never_counted_even_when_closed_the_same_day() -> None:
    frame = pd.DataFrame(
        {
            "owner": ["a", "a"],
            "made": pd.to_datetime(["2024-01-01", "2024-01-05"]),
            "closed": pd.to_datetime(["2024-01-01", "2024-01-09"]),
        }
    )
    out = HistoryEncoder(["owner"], "made", "closed").fit(frame, np.array([1.0, 0.0]))
    table = out.transform(frame)
    assert table["owner_past_deals"].tolist() == [0, 1]
    assert np.isnan(table["owner_past_win_rate"].iloc[0])
    assert table["owner_past_win_rate"].iloc[1] == 1.0


def test_text_dates_unseen_keys_and_missing_dates_at_scoring() -> None:
    frame = pd.DataFrame(
        {
            "owner": ["a", "a", "b"],
            "made": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
            "closed": pd.to_datetime(["2024-01-03", "2024-01-04", "2024-01-05"]),
        }
    )
    enc = HistoryEncoder(["owner"], "made", "closed").fit(frame, np.array([1.0, 0, 1]))
    score = pd.DataFrame({"owner": ["a", "zed", "a"], "made": ["2024-01-04", "", None]})
    out = enc.transform(score)
    assert out["owner_past_deals"].tolist() == [1, 0, 2]
    assert out["owner_past_win_rate"].iloc[2] == pytest.approx(0.5)


def test_scoring_without_the_date_column_or_with_bad_dates_is_a_clear_error() -> None:
    frame = pd.DataFrame(
        {
            "owner": ["a", "b"],
            "made": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "closed": pd.to_datetime(["2024-01-03", "2024-01-04"]),
        }
    )
    enc = HistoryEncoder(["owner"], "made", "closed").fit(frame, np.array([1.0, 0.0]))
    with pytest.raises(DataError, match=r"\['made'\] needed by the history"):
        enc.transform(pd.DataFrame({"owner": ["a"]}))
    with pytest.raises(DataError, match="'made' must be a date, got 'soon'"):
        enc.transform(pd.DataFrame({"owner": ["a"], "made": ["soon"]}))
