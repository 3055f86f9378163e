"""Credits read exactly as written."""

from decimal import Decimal

import pytest

from spmopt.payout.credits import exact_amount


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
    ],
)
def test_exact_amount_keeps_every_written_digit(written: object, expected: str) -> None:
    assert exact_amount(written, Decimal(-1)) == Decimal(expected)
    assert str(exact_amount(written, Decimal(-1))) == expected
