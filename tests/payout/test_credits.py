"""Credits read exactly as written."""

from decimal import Decimal

import pandas as pd
import pytest

from spmopt.errors import DataError
from spmopt.payout.credits import Credit, exact_amount, read_credits, split_amount
from spmopt.payout.plan import parse_plan


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("123456789012345.67", "123456789012345.67"),  # 17 digits, beyond a float
        (" 60000.123456789 ", "60000.123456789"),
        ("1e3", "1000"),
        ("-0", "0"),
        ("1_000", "-1"),  # not read: the parsed value is kept
        ("abc", "-1"),
        (1234.5, "-1"),  # a number cell (Parquet): the parsed value
        (Decimal("98765432109876.54"), "98765432109876.54"),  # Parquet decimal
        (Decimal("NaN"), "-1"),
    ],
)
def test_exact_amount_keeps_every_written_digit(written: object, expected: str) -> None:
    assert exact_amount(written, Decimal(-1)) == Decimal(expected)
    assert str(exact_amount(written, Decimal(-1))) == expected


def _read(rows: list[tuple[str, ...]]) -> list[Credit]:
    plan = parse_plan(
        {
            "measures": [
                {"name": "revenue", "curve": {"points": [[0, 0], [1, 1]]}},
                {
                    "name": "logos",
                    "credit": "deals",
                    "quota": 4,
                    "curve": {"points": [[0, 0], [1, 1]]},
                },
            ]
        }
    )
    columns = ["credit_id", "rep_id", "date", "amount", "measure", "split"]
    frame = pd.DataFrame(
        [(*row[:4], "revenue" if len(row) < 6 else row[5], row[4]) for row in rows],
        columns=columns,
    )
    return read_credits(frame, plan, ("R1", "R2", "R3"))


def test_a_rep_credited_twice_in_one_split_credit_is_refused_with_its_rows() -> None:
    # the second R2 row is the first exported twice; shares still sum to 1
    rows = [
        ("D1", "R1", "2027-01-02", "100", ""),
        ("D7", "R2", "2027-01-03", "90", "0.5"),
        ("D7", "R2", "2027-01-03", "90", "0.5"),
    ]
    pattern = (
        r"^credits: credit_id 'D7' credits rep_id 'R2' 2 times for measure "
        r"'revenue' \(data rows 2, 3\); give each rep's share of a credit on one "
        r"row \(a repeated row is most likely exported twice\)$"
    )
    with pytest.raises(DataError, match=pattern):
        _read(rows)
    three = [*rows[:2], ("D7", "R3", "2027-01-03", "90", "0.5"), rows[2]]
    with pytest.raises(DataError, match=r"rep_id 'R2' 2 times .*data rows 2, 4\)"):
        _read(three)  # named as the repeat, not as shares summing to 1.5


def test_one_deal_may_credit_several_reps_and_several_measures() -> None:
    rows = [
        ("D7", "R2", "2027-01-03", "90", "0.5"),
        ("D7", "R3", "2027-01-03", "90", "0.5"),
        ("D7", "R2", "2027-01-03", "1", "", "logos"),
    ]
    credits = _read(rows)
    assert [(c.rep_id, c.measure, c.amount) for c in credits] == [
        ("R2", "revenue", Decimal("45.00")),
        ("R3", "revenue", Decimal("45.00")),
        ("R2", "logos", Decimal("1")),
    ]


def test_units_and_split_shares_are_read_exactly_as_written() -> None:
    # Through a float, 12345678901234.567 units read as ...234.566 and the
    # share 0.12345678901234567891 as 0.12345678901234568.
    plan = parse_plan(
        {"measures": [{"name": "revenue", "curve": {"points": [[0, 0], [1, 1]]}}]}
    )
    share, rest = "0.12345678901234567891", "0.87654321098765432109"
    frame = pd.DataFrame(
        {
            "credit_id": ["D1", "D2", "D2"],
            "rep_id": ["R1", "R1", "R2"],
            "date": ["2027-01-02"] * 3,
            "amount": ["98765432109876.54", "100", "100"],
            "units": ["12345678901234.567", "", "8"],
            "split": ["", share, rest],
        }
    )
    credits = read_credits(frame, plan, ("R1", "R2"))
    assert credits[0].amount == Decimal("98765432109876.54")
    assert credits[0].units == Decimal("12345678901234.567")
    assert credits[0].share == 1
    assert [c.share for c in credits[1:]] == [Decimal(share), Decimal(rest)]
    assert credits[1].units == 0 and credits[2].units == 8 * Decimal(rest)
    assert [c.amount for c in credits[1:]] == [Decimal("12.35"), Decimal("87.65")]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("amount", "12.3.4", "credits: column 'amount' must be a number, got '12.3.4'"),
        (
            "amount",
            "-0.01",
            "credits: column 'amount' must be a number >= 0, got -0.01",
        ),
        ("units", "ten", "credits: column 'units' must be a number, got 'ten'"),
        ("split", "1.5", "credits: column 'split' must be a share in (0, 1], got 1.5"),
    ],
)
def test_bad_numbers_name_table_column_and_row(
    column: str, value: str, message: str
) -> None:
    plan = parse_plan(
        {"measures": [{"name": "revenue", "curve": {"points": [[0, 0], [1, 1]]}}]}
    )
    frame = pd.DataFrame(
        {
            "credit_id": ["D1", "D2"],
            "rep_id": ["R1", "R1"],
            "date": ["2027-01-02"] * 2,
            "amount": ["1", "2"],
            "units": ["1", "2"],
            "split": ["", ""],
        }
    )
    frame.loc[1, column] = value
    with pytest.raises(DataError) as info:
        read_credits(frame, plan, ("R1",))
    assert str(info.value).startswith(message) and "data row 2" in str(info.value)


@pytest.mark.parametrize(
    ("total", "parts"),
    [
        ("900000000000000.00", ["300000000000000.00"] * 3),
        ("123456789012345.67", ["41152263004115.23", *["41152263004115.22"] * 2]),
        ("1.00", ["0.34", "0.33", "0.33"]),
    ],
)
def test_split_parts_add_up_even_when_shares_fall_short_of_one(
    total: str, parts: list[str]
) -> None:
    # Thirds written as 0.3333333333333333 sum to 0.9999999999999999: on
    # 900e12 the parts rounded down fall 9 cents short, more than a cent per
    # part, and every cent must still be handed out (largest remainder,
    # earlier part first); one cent each left the deal 6 cents short.
    third = Decimal("0.3333333333333333")
    got = split_amount(Decimal(total), [third] * 3)
    assert got == [Decimal(p) for p in parts]
    assert sum(got, Decimal(0)) == Decimal(total)
