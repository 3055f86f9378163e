from decimal import Decimal
from pathlib import Path

from spmopt.payout.calc import compute, load_calc_inputs
from spmopt.payout.statements import (
    LINE_COLUMNS,
    lines_frame,
    render_statement,
    show_amount,
)

CFG = Path(__file__).resolve().parents[2] / "configs" / "payout"


def test_show_amount_keeps_exact_digits() -> None:
    assert show_amount(Decimal("1250.025"), 2) == "1250.025"
    assert show_amount(Decimal("33000"), 2) == "33000.00"
    assert show_amount(Decimal("-0.000001"), 2) == "0.00"
    assert show_amount(Decimal("-0.0001"), 2) == "-0.0001"
    assert show_amount(Decimal(2) / 3, 2) == "0.66667"


def test_lines_table_and_text_statement_agree() -> None:
    inputs = load_calc_inputs(
        CFG / "plan_quarterly.yaml", CFG / "quotas_small.csv", CFG / "credits_small.csv"
    )
    result = compute(inputs)
    frame = lines_frame(result)
    assert list(frame.columns) == LINE_COLUMNS
    paid = result.payouts().groupby("rep_id")["paid"].sum()
    by_rep = frame.groupby("rep_id")["amount"].sum()
    assert (abs(by_rep - paid.loc[by_rep.index]) < 0.01).all()
    text = render_statement(result, "R01")
    assert "Statement for R01" in text and "Annual quota: revenue 800,000" in text
    assert text.rstrip().endswith("42850.00")
