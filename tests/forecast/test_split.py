import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmopt.errors import DataError
from spmopt.forecast.split import grouped_random_split, time_split


@settings(max_examples=60, deadline=None)
@given(
    days=st.lists(st.integers(0, 6), min_size=12, max_size=80),
    valid=st.floats(0.05, 0.4),
    test=st.floats(0.05, 0.4),
)
def test_tied_dates_never_straddle_a_cut(
    days: list[int], valid: float, test: float
) -> None:
    dates = pd.Series(pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D"))
    if dates.nunique() < 3:
        return
    groups = pd.Series([f"d{i}" for i in range(len(days))])
    split = time_split(dates, groups, valid, test)
    order = {"train": 0, "valid": 1, "test": 2}
    for _, parts in pd.Series(split.part).groupby(dates.to_numpy()):
        assert parts.nunique() == 1
    # later dates never fall in an earlier part
    rank = np.array([order[p] for p in split.part])
    by_date = pd.Series(rank).groupby(dates.to_numpy()).first().to_numpy()
    assert np.all(np.diff(by_date) >= 0)
    assert all(n > 0 for n in split.counts().values())


def test_time_split_keeps_deal_rows_together_and_hits_shares() -> None:
    rng = np.random.default_rng(1)
    days = rng.integers(0, 300, size=2000)
    dates = pd.Series(pd.Timestamp("2023-01-01") + pd.to_timedelta(days, unit="D"))
    groups = pd.Series(rng.integers(0, 1500, size=2000).astype(str))
    split = time_split(dates, groups, 0.15, 0.2)
    assert pd.Series(split.part).groupby(groups).nunique().max() == 1
    counts = split.counts()
    assert abs(counts["test"] / 2000 - 0.2) < 0.02
    assert abs(counts["valid"] / 2000 - 0.15) < 0.02
    assert split.cuts["valid"] < split.cuts["test"]


def test_time_split_needs_three_dates() -> None:
    dates = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"] * 5))
    with pytest.raises(DataError, match="3 distinct"):
        time_split(dates, pd.Series(range(10)).astype(str), 0.2, 0.2)


def test_grouped_random_split_is_stratified_grouped_and_seeded() -> None:
    rng = np.random.default_rng(2)
    groups = pd.Series(rng.integers(0, 900, size=1000).astype(str))
    label = (rng.random(1000) < 0.3).astype(float)
    split = grouped_random_split(groups, label, 0.15, 0.2, seed=7)
    assert pd.Series(split.part).groupby(groups).nunique().max() == 1
    for part in ("train", "valid", "test"):
        rate = label[split.mask(part)].mean()
        assert abs(rate - label.mean()) < 0.06
    again = grouped_random_split(groups, label, 0.15, 0.2, seed=7)
    assert np.array_equal(split.part, again.part)
    other = grouped_random_split(groups, label, 0.15, 0.2, seed=8)
    assert not np.array_equal(split.part, other.part)
