"""Rounding amounts so that they add up to their rounded total."""

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmopt.rounding import largest_remainder, round_exact_to_total, round_to_total


def test_rounded_amounts_add_up_to_the_rounded_total_as_printed() -> None:
    rng = np.random.default_rng(0)
    for _ in range(200):
        values = rng.uniform(0, 10_000, size=7)
        total = float(values.sum())
        rounded = round_to_total(values, total, 2)
        printed = sum(Decimal(f"{v:.2f}") for v in rounded)
        assert printed == round(Decimal(total), 2)
        assert np.abs(rounded - values).max() < 0.01 + 1e-9


def test_whole_units_when_no_decimals() -> None:
    rounded = round_to_total([1.4, 1.4, 1.2], 4.0, 0)
    assert rounded.tolist() == [2.0, 1.0, 1.0]


def test_thirds_add_up_to_one_and_stay_within_a_unit() -> None:
    values = [Decimal("0.3333334"), Decimal("0.3333333"), Decimal("0.3333333")]
    shown = round_exact_to_total(values, Decimal("1.000"), 6)
    assert shown == [Decimal("0.333334"), Decimal("0.333333"), Decimal("0.333333")]
    assert sum(shown, Decimal(0)) == 1


def test_exact_amounts_keep_their_value() -> None:
    values = [Decimal("4800"), Decimal("-800.0004"), Decimal("0.0004")]
    assert round_exact_to_total(values, Decimal(4000), 3) == [
        Decimal("4800"),
        Decimal("-800"),
        Decimal("0"),
    ]
    whole = [Decimal("1250.025"), Decimal("-250.025")]
    assert round_exact_to_total(whole, Decimal("1000.00"), 3) == whole


def test_large_amounts_keep_every_cent() -> None:
    values = [Decimal("12345678901234.5670"), Decimal("0.001"), Decimal("0.002")]
    shown = round_exact_to_total(values, Decimal("12345678901234.57"), 5)
    assert shown == values


def test_total_below_the_floors_takes_units_back() -> None:
    values = [Decimal("1.004"), Decimal("2.001")]
    shown = round_exact_to_total(values, Decimal("2.99"), 2)
    assert sum(shown, Decimal(0)) == Decimal("2.99")
    assert all(abs(s - v) < Decimal("0.02") for s, v in zip(shown, values, strict=True))


@pytest.mark.parametrize("seed", range(5))
def test_agrees_with_the_float_rule_on_small_amounts(seed: int) -> None:
    rng = np.random.default_rng(seed)
    cents = rng.integers(-(10**8), 10**8, size=7)
    values = [Decimal(int(c)) / 1000 for c in cents]  # three places
    total = round(sum(values, Decimal(0)), 2)
    shown = round_exact_to_total(values, total, 2)
    units = largest_remainder([float(v * 100) for v in values], int(total * 100))
    assert [int(s * 100) for s in shown] == units.tolist()
    assert sum(shown, Decimal(0)) == total


def test_money_cells_are_written_exactly_and_without_a_trailing_dot() -> None:
    import pandas as pd

    from spmopt.runs import format_money, neutralise_for_spreadsheet

    frame = pd.DataFrame(
        {
            "exact": [Decimal("12345678901234.567"), Decimal("-4800"), None],
            "float": [4800.0, -0.25, float("nan")],
        }
    )
    safe = neutralise_for_spreadsheet(frame)
    assert safe["exact"].iloc[1] == Decimal("-4800")  # a number, not a formula
    assert format_money(safe, ["exact", "float"], 0, 3).to_dict("list") == {
        "exact": ["12345678901234.567", "-4800", ""],
        "float": ["4800", "-0.25", ""],
    }
    assert format_money(frame, ["exact"], 2)["exact"].tolist()[:2] == [
        "12345678901234.57",
        "-4800.00",
    ]


_AMOUNTS = st.lists(
    st.decimals(
        min_value=Decimal("-1e15"),
        max_value=Decimal("1e15"),
        places=5,
        allow_nan=False,
        allow_infinity=False,
    ),
    min_size=1,
    max_size=12,
)


@settings(max_examples=200, deadline=None)
@given(values=_AMOUNTS, places=st.integers(0, 4))
def test_largest_remainder_property(values: list[Decimal], places: int) -> None:
    # The sum is the rounded exact total to the unit; each value moves by
    # less than one unit; each rounded value has ``places`` decimals.
    unit = Decimal(1).scaleb(-places)
    total = sum(values, Decimal(0)).quantize(unit)
    shown = round_exact_to_total(values, total, places)
    assert sum(shown, Decimal(0)) == total
    for s, v in zip(shown, values, strict=True):
        assert abs(s - v) < unit
        assert s == s.quantize(unit)


@settings(max_examples=200, deadline=None)
@given(values=_AMOUNTS, shift=st.integers(-3, 3))
def test_units_given_or_taken_follow_the_remainders(
    values: list[Decimal], shift: int
) -> None:
    # A total ``shift`` units away from the sum of the floors: the units go
    # to (or come from) the largest (smallest) remainders, ties earlier first.
    floors = [v.quantize(Decimal("0.01"), rounding="ROUND_FLOOR") for v in values]
    missing = shift % (len(values) + 1) if shift >= 0 else -(-shift % len(values))
    total = sum(floors, Decimal(0)) + Decimal(missing) / 100
    shown = round_exact_to_total(values, total, 2)
    moved = [int((s - f) * 100) for s, f in zip(shown, floors, strict=True)]
    sign = 1 if missing >= 0 else -1
    key = sorted(range(len(values)), key=lambda i: (-sign * (values[i] - floors[i]), i))
    expected = [0] * len(values)
    for i in key[: abs(missing)]:
        expected[i] = sign
    assert moved == expected


def test_ties_go_to_the_earlier_row_both_ways() -> None:
    halves = [Decimal("0.5")] * 4
    assert round_exact_to_total(halves, Decimal(2), 0) == [1, 1, 0, 0]
    assert round_exact_to_total(halves, Decimal(-2), 0) == [-1, -1, 0, 0]
    assert round_to_total([0.5] * 4, 2.0, 0).tolist() == [1.0, 1.0, 0.0, 0.0]


def test_float_form_is_the_exact_rule_on_printed_values() -> None:
    # 0.1 + 0.2 prints as 0.30000000000000004: its cents are 0.30.
    values = [0.1 + 0.2, 0.1, 1 / 3, 2 / 3]
    rounded = round_to_total(values, sum(values), 2)
    exact = round_exact_to_total(
        [Decimal(repr(v)) for v in values], Decimal(round(sum(values) * 100)) / 100, 2
    )
    assert rounded.tolist() == [float(x) for x in exact] == [0.3, 0.1, 0.33, 0.67]


def test_a_total_far_from_the_values_is_reached_at_once() -> None:
    # 10**12 units to hand out: one by one this would not finish
    values = [Decimal("1.00"), Decimal("2.00"), Decimal("3.00")]
    total = Decimal("10000000000.02")
    out = round_exact_to_total(values, total, 2)
    assert sum(out) == total
    expected = ["3333333332.34", "3333333333.34", "3333333334.34"]
    assert out == [Decimal(x) for x in expected]
    uneven = round_exact_to_total(values, Decimal("10000000000.03"), 2)
    assert [str(x) for x in uneven] == [
        "3333333332.35",
        "3333333333.34",
        "3333333334.34",
    ]
