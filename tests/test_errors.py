"""How table cells are shown in error messages."""

import numpy as np
import pandas as pd
import pytest

from spmopt.errors import show


@pytest.mark.parametrize("value", [None, np.nan, pd.NA, pd.NaT, np.float64("nan")])
def test_a_missing_cell_is_shown_as_blank_not_nan(value: object) -> None:
    assert show(value) == "a blank cell"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("x", "'x'"),
        (np.int64(4), "4"),
        ("", "''"),
        (0.5, "0.5"),
        (-5.0, "-5"),  # a cell written -5, read as a float
        (np.float64(0.0), "0"),
        (1e300, "1e+300"),
    ],
)
def test_present_cells_are_shown_as_their_repr(value: object, text: str) -> None:
    assert show(value) == text
