"""Reps table: validation, ramp, period share and reference weights."""

from pathlib import Path

import numpy as np
import pytest

from spmopt.config import parse_config
from spmopt.errors import DataError
from spmopt.quota.config import QuotaConfig
from spmopt.quota.reps import RepBook, read_reps, reference_weights

TABLE = "rep_id,potential,hist,months_in_seat,ytd\nA,300,100,0,10\nB,100,300,40,20\n"


def _cfg(tmp_path: Path, table: str = TABLE, **fields: object) -> QuotaConfig:
    (tmp_path / "reps.csv").write_text(table)
    data = {"reps": "reps.csv", "target": 100.0, "history_column": "hist", **fields}
    return parse_config(QuotaConfig, data, base_dir=tmp_path)


def test_blend_mixes_potential_and_history_shares(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, method="blended", blend_weight=0.25)
    weights = reference_weights(read_reps(cfg), cfg)
    np.testing.assert_allclose(
        weights, 0.25 * np.array([0.75, 0.25]) + 0.75 * np.array([0.25, 0.75])
    )


def test_ramp_lowers_a_new_hire_and_history_follows(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, ramp=[0.5], method="historical")
    book = read_reps(cfg)
    np.testing.assert_allclose(book.ramp, [(0.5 + 11) / 12, 1.0])
    ramped_history = np.array([100 * book.ramp[0], 300.0])
    expected = ramped_history / ramped_history.sum()
    np.testing.assert_allclose(reference_weights(book, cfg), expected)


def test_midyear_book_scales_potential_to_the_months_left(tmp_path: Path) -> None:
    cfg = _cfg(
        tmp_path, ramp=[0.5], ytd={"bookings_column": "ytd", "months_elapsed": 3}
    )
    book = read_reps(cfg)
    assert book.period_share == pytest.approx(0.75)
    # the new hire is past the one-month ramp by the time the re-set starts
    np.testing.assert_allclose(book.ramped_potential, [225.0, 75.0])
    np.testing.assert_allclose(book.ytd, [10.0, 20.0])


def test_zero_weights_fall_back_to_equal_shares() -> None:
    book = RepBook(np.array(["A", "B"]), np.zeros(2), np.ones(2))
    cfg = parse_config(QuotaConfig, {"reps": "x.csv", "target": 1.0})
    np.testing.assert_allclose(reference_weights(book, cfg), [0.5, 0.5])


def test_quantiles_out_of_order_name_the_row(tmp_path: Path) -> None:
    table = "rep_id,potential,p10,p50,p90\nA,5,1,5,9\nB,5,6,5,9\n"
    cfg = _cfg(
        tmp_path,
        table,
        history_column=None,
        p10_column="p10",
        p50_column="p50",
        p90_column="p90",
    )
    with pytest.raises(DataError, match="got 6, 5, 9 in data row 2"):
        read_reps(cfg)


def test_all_zero_potential_is_refused(tmp_path: Path) -> None:
    table = "rep_id,potential,hist\nA,0,100\nB,0,300\n"
    with pytest.raises(DataError, match="'potential' is 0 for every rep"):
        read_reps(_cfg(tmp_path, table))
