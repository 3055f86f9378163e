"""Amount-pattern features: round digits and same-amount counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spmopt.errors import DataError, SpmoptWarning
from spmopt.forecast.amounts import AmountPatterns, round_digits


def test_round_digits_counts_trailing_zeros() -> None:
    amount = np.array([48_730, 50_000, 7, 1_000_000, 12.5, 0, np.nan, -10])
    got = round_digits(amount)
    np.testing.assert_array_equal(got[:5], [1, 4, 0, 6, 0])
    assert np.isnan(got[5:]).all()


def test_round_digits_matches_text_count() -> None:
    rng = np.random.default_rng(1)
    amount = rng.integers(1, 10, 500) * 10.0 ** rng.integers(0, 9, 500)
    expected = [len(str(int(a))) - len(str(int(a)).rstrip("0")) for a in amount]
    np.testing.assert_array_equal(round_digits(amount), expected)


def _brute_counts(train: pd.DataFrame, rows: pd.DataFrame, dated: bool) -> np.ndarray:
    counts = []
    for _, row in rows.iterrows():
        same = train["amount"] == row["amount"]
        if dated:
            same &= train["created"] < row["created"]
        counts.append(int(same.sum()))
    return np.array(counts, dtype=float)


def _deals(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 20, n), unit="D"
    )
    amount = rng.choice([1000.0, 2500.0, 3333.0, 5000.0, np.nan], size=n)
    return pd.DataFrame({"amount": amount, "created": created})


@pytest.mark.parametrize("dated", [False, True])
def test_same_amount_counts_match_brute_force(dated: bool) -> None:
    train, other = _deals(120, 0), _deals(60, 1)
    patterns = AmountPatterns("amount", "created" if dated else None).fit(train)
    got = patterns.transform(other)["amount_same_amount_deals"].to_numpy()
    known = other["amount"].notna().to_numpy()
    np.testing.assert_array_equal(got[known], _brute_counts(train, other, dated)[known])
    assert np.isnan(got[~known]).all()


@pytest.mark.parametrize("dated", [False, True])
def test_training_deal_never_counts_itself(dated: bool) -> None:
    train = _deals(100, 2)
    patterns = AmountPatterns("amount", "created" if dated else None)
    got = patterns.fit_transform(train)["amount_same_amount_deals"].to_numpy()
    brute = _brute_counts(train, train, dated)
    if not dated:
        brute -= 1
    known = train["amount"].notna().to_numpy()
    np.testing.assert_array_equal(got[known], brute[known])


def test_unseen_amount_counts_zero_and_text_amounts_parse() -> None:
    patterns = AmountPatterns("amount").fit(pd.DataFrame({"amount": [10.0, 10.0]}))
    frame = pd.DataFrame({"amount": [" 10", "99", ""]})
    got = patterns.transform(frame)["amount_same_amount_deals"].to_numpy()
    np.testing.assert_array_equal(got[:2], [2, 0])
    assert np.isnan(got[2])


def test_missing_amount_column_is_a_data_error() -> None:
    patterns = AmountPatterns("amount").fit(pd.DataFrame({"amount": [1.0]}))
    with pytest.raises(DataError, match="'amount'"):
        patterns.transform(pd.DataFrame({"price": [1.0]}))


def _brute_distinct(train: pd.DataFrame, rows: pd.DataFrame, dated: bool) -> list:
    """Distinct other deal ids with the same amount (earliest date before)."""
    counts = []
    for _, row in rows.iterrows():
        same = train[train["amount"] == row["amount"]]
        if dated:
            first = same.groupby("deal")["created"].min()
            same_ids = set(first[first < row["created"]].index)
        else:
            same_ids = set(same["deal"])
        counts.append(len(same_ids - {row["deal"]}))
    return counts


@pytest.mark.parametrize("dated", [False, True])
def test_rows_repeating_a_deal_id_count_as_one_deal_never_itself(dated: bool) -> None:
    train = _deals(150, 3)
    rng = np.random.default_rng(4)
    train["deal"] = [f"D{k}" for k in rng.integers(0, 60, len(train))]  # repeats
    patterns = AmountPatterns("amount", "created" if dated else None, "deal")
    with pytest.warns(SpmoptWarning, match=r"deal id\(s\) in column 'deal' are on"):
        got = patterns.fit_transform(train)["amount_same_amount_deals"].to_numpy()
    known = train["amount"].notna().to_numpy()
    brute = np.array(_brute_distinct(train, train, dated), dtype=float)
    np.testing.assert_array_equal(got[known], brute[known])
    other = _deals(40, 5)
    other["deal"] = [f"D{k}" for k in range(30, 70)]  # some ids seen in training
    got = patterns.transform(other)["amount_same_amount_deals"].to_numpy()
    brute = np.array(_brute_distinct(train, other, dated), dtype=float)
    known = other["amount"].notna().to_numpy()
    np.testing.assert_array_equal(got[known], brute[known])


def test_a_deal_exported_twice_does_not_count_its_copy() -> None:
    train = pd.DataFrame({"deal": ["A", "A", "B"], "amount": [500.0, 500.0, 700.0]})
    with pytest.warns(SpmoptWarning, match=r"1 deal id\(s\) .* \('A'\)"):
        out = AmountPatterns("amount", deal_id="deal").fit_transform(train)
    assert out["amount_same_amount_deals"].tolist() == [0, 0, 0]
    scored = pd.DataFrame({"amount": [500.0, 700.0]})  # no id column: new deals
    patterns = AmountPatterns("amount", deal_id="deal")
    with pytest.warns(SpmoptWarning):
        patterns.fit(train)
    assert patterns.transform(scored)["amount_same_amount_deals"].tolist() == [1, 1]


def test_patterns_pickled_before_deal_ids_still_transform() -> None:
    import pickle

    patterns = AmountPatterns("amount").fit(pd.DataFrame({"amount": [10.0, 10.0]}))
    state = dict(patterns.__dict__)
    del state["deal_id"]
    old = AmountPatterns.__new__(AmountPatterns)
    old.__setstate__(state)
    loaded = pickle.loads(pickle.dumps(old))
    got = loaded.transform(pd.DataFrame({"amount": [10.0]}))
    assert got["amount_same_amount_deals"].tolist() == [2]
