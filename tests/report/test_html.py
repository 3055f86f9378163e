"""HTML building blocks of the report."""

import numpy as np
import pandas as pd

from spmopt.report.html import format_value, table


def test_money_columns_show_cents_other_numbers_stay_short() -> None:
    frame = pd.DataFrame(
        {
            "rep_id": ["A", "B", "C"],
            "paid": [1696603.86, -2273.68, np.nan],
            "units": [1696603.86, 3.0, 0.25],
            "n": np.array([1, 2, 3], dtype=np.int64),
        }
    )
    text = table(frame, money=["paid", "n"])
    assert "<td>1,696,603.86</td>" in text and "<td>-2,273.68</td>" in text
    assert "<td>–</td>" in text  # a missing amount
    assert "<td>1,696,604</td>" in text and "<td>0.25</td>" in text  # not money
    assert "<td>2.00</td>" in text  # whole numbers in a money column too
    assert format_value(1696603.86) == "1,696,604"
