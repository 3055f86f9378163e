"""Repeated deal ids in a ``kind: deals`` pipeline."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.cli import main
from spmopt.errors import DataError
from spmopt.payout.attainment import DealAttainment
from spmopt.payout.cancellations import DealClawbacks
from spmopt.payout.deals import deal_index, expand, first_rows
from spmopt.payout.plan import Clawback

from .helpers import book, one_measure_plan

PIPE = "deal_id,rep_id,amount,win_probability,period\n"


def _frame(text: str) -> pd.DataFrame:
    rows = [line.split(",") for line in text.strip().splitlines()]
    return pd.DataFrame(rows, columns=["deal_id", "rep_id", "p"])


def _index(text: str) -> np.ndarray:
    frame = _frame(text)
    agree = {"win_probability": frame["p"].to_numpy(dtype=float)}
    return deal_index(frame, "deal_id", "rep_id", agree)


def test_unique_blank_and_absent_ids_make_one_deal_per_row() -> None:
    assert _index("D1,R1,0.5\nD2,R1,0.5\n,R1,0.5\n,R1,0.5").tolist() == [0, 1, 2, 3]
    frame = _frame("D1,R1,0.5\nD1,R1,0.5").drop(columns="deal_id")
    assert deal_index(frame, "deal_id", "rep_id", {}).tolist() == [0, 1]


def test_a_deal_split_between_reps_is_one_deal() -> None:
    assert _index("D1,R1,0.5\nD2,R1,0.2\nD1,R2,0.5").tolist() == [0, 1, 0]


def test_the_same_deal_twice_for_one_rep_is_refused_naming_ids_and_rows() -> None:
    text = "D1,R1,0.5\nD2,R1,0.5\nD1,R1,0.5\nD2,R1,0.5\nD2,R2,0.5"
    pattern = (
        r"^pipeline: column 'deal_id' must not repeat a deal id for the same rep: "
        r"'D1' for rep_id 'R1' \(data rows 1, 3\); 'D2' for rep_id 'R1' \(data "
        r"rows 2, 4\); each row would be won and counted again\. Give a deal once "
        r"per rep \(a deal split between reps: one row per rep with its share of "
        r"the amount\)$"
    )
    with pytest.raises(DataError, match=pattern):
        _index(text)
    many = "".join(f"D{i},R1,0.5\nD{i},R1,0.5\n" for i in range(5))
    with pytest.raises(DataError, match=r"'D2' for rep_id 'R1' .* and 2 more;"):
        _index(many)


def test_split_rows_that_disagree_are_refused() -> None:
    pattern = (
        r"^pipeline: rows of deal id 'D1' in column 'deal_id' \(data rows 1, 3\) "
        r"split the deal between reps but give different win_probability "
        r"\(0\.5, 0\.6\); a deal is won or lost as a whole"
    )
    with pytest.raises(DataError, match=pattern):
        _index("D1,R1,0.5\nD2,R1,0.2\nD1,R2,0.6")


def test_expand_lists_every_row_of_every_pair() -> None:
    deal = np.array([0, 1, 0, 2, 1, 0])
    scenario, picked = np.array([4, 7, 7]), np.array([0, 2, 1])
    pair, s, row = expand(deal, scenario, picked)
    brute = [
        (k, scenario[k], r)
        for k in range(len(picked))
        for r in range(len(deal))
        if deal[r] == picked[k]
    ]
    assert list(zip(pair, s, row, strict=True)) == brute
    assert first_rows(deal).tolist() == [0, 1, 3]


def _model(tmp_path: Path, rows: str, **kw: object) -> DealAttainment:
    path = tmp_path / "p.csv"
    path.write_text(PIPE + rows)
    return DealAttainment(pipeline=str(path), **kw)


def test_split_rows_are_won_together_and_unique_ids_draw_as_before(
    tmp_path: Path,
) -> None:
    plan = one_measure_plan({"tiers": [{"from": 0, "rate": 1}]})
    reps = book([1_000.0, 1_000.0], 1.0)
    model = _model(tmp_path, "D1,R0,60,0.5,1\nD2,R1,10,0.3,1\nD1,R1,40,0.5,1\n")
    model.prepare(plan, reps)
    _, _, won = model.draw_deals(np.random.default_rng(0), 2_000, 2, 1)
    assert np.array_equal(won[:, 0], won[:, 2])  # the split deal, as a whole
    assert won[:, 0].mean() == pytest.approx(0.5, abs=0.04)
    assert won[:, 1].mean() == pytest.approx(0.3, abs=0.04)

    unique = _model(tmp_path, "D1,R0,60,0.5,1\nD2,R1,10,0.3,1\nD3,R1,40,0.5,1\n")
    unique.prepare(plan, reps)
    _, _, got = unique.draw_deals(np.random.default_rng(0), 50, 2, 1)
    rng = np.random.default_rng(0)
    rng.standard_normal((50, 1))  # the market shift, 0 here
    assert np.array_equal(got, rng.random((50, 3)) < np.array([0.5, 0.3, 0.5]))


def test_split_rows_are_cancelled_together() -> None:
    deals = {
        "rep": np.array([0, 1]),
        "period": np.array([0, 0]),
        "amount": np.array([60.0, 40.0]),
        "anchor_month": np.array([0.0, 0.0]),
        "contract_months": np.array([12.0, 12.0]),
        "cancel_probability": np.array([0.5, 0.5]),
        "deal": np.array([0, 0]),
    }
    rule = Clawback(mode="full", window_months=1)
    pricer = DealClawbacks(rule, deals, n_periods=1)
    won = np.ones((1_000, 2), dtype=bool)
    posted = pricer.posted(np.random.default_rng(3), won, np.ones((1, 1_000, 2)), 2)
    r0, r1 = posted[0, :, 0], posted[0, :, 1]
    assert np.array_equal(r0 < 0, r1 < 0)
    assert (r0 < 0).mean() == pytest.approx(0.5, abs=0.05)
    assert set(r0[r0 < 0]) == {-60.0} and set(r1[r1 < 0]) == {-40.0}


def test_simulate_refuses_a_pipeline_repeating_a_deal(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    cfg = Path(__file__).resolve().parents[2] / "configs" / "payout"
    pipeline = (cfg / "pipeline_small.csv").read_text().splitlines()
    assert pipeline[0].startswith("deal_id,rep_id,")
    (tmp_path / "p.csv").write_text("\n".join([*pipeline, pipeline[1]]) + "\n")
    for name in ("plan_accelerator.yaml", "quotas_small.csv"):
        (tmp_path / name).write_text((cfg / name).read_text())
    config = (cfg / "simulate_deals.yaml").read_text()
    config = config.replace("pipeline_small.csv", "p.csv")
    (tmp_path / "sim.yaml").write_text(config)
    out = tmp_path / "run"
    assert main(["payout", "simulate", str(tmp_path / "sim.yaml"), "--out", str(out)])
    err = capsys.readouterr().err
    first = pipeline[1].split(",")
    assert err.startswith(
        f"error: pipeline: column 'deal_id' must not repeat a deal id for the same "
        f"rep: '{first[0]}' for rep_id '{first[1]}' (data rows 1, {len(pipeline)})"
    )
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".run*"))
