from decimal import Decimal
from pathlib import Path

import pytest

from spmopt.payout.calc import compute, load_calc_inputs
from spmopt.payout.reference import Line
from spmopt.payout.statements import (
    LINE_COLUMNS,
    lines_frame,
    render_statement,
    show_amount,
    shown_amounts,
)

CFG = Path(__file__).resolve().parents[2] / "configs" / "payout"
FLAT = {"tiers": [{"from": 0, "rate": 1.0}]}


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


def _balances(text: str) -> list[str]:
    return [
        line.split()[-1] for line in text.splitlines() if "Draw balance owed" in line
    ]


def test_draw_balances_are_in_cents_and_add_up() -> None:
    inputs = load_calc_inputs(
        CFG / "plan_quarterly.yaml", CFG / "quotas_small.csv", CFG / "credits_small.csv"
    )
    result = compute(inputs)
    payouts = result.payouts().set_index(["rep_id", "period"])
    lines = lines_frame(result)
    for rep_id, rep in result.reps.items():
        shown = _balances(render_statement(result, rep_id))
        assert len(shown) == result.calendar.n_periods
        assert all(len(value.partition(".")[2]) == 2 for value in shown)
        before = Decimal(0)
        for p, value in enumerate(shown):
            label = result.calendar.label(p)
            assert Decimal(value) == payouts.loc[(rep_id, label), "draw_balance"]
            assert abs(Decimal(value) - rep.draw_balance[p]) <= Decimal("0.005")
            draw = lines.query("rep_id == @rep_id and period == @label")
            moved = Decimal(str(draw.loc[draw["section"] == "draw", "amount"].sum()))
            assert abs(Decimal(value) - before - moved) <= Decimal("0.01")
            before = Decimal(value)
    # R02's balance is 10,273.68421... exactly after Q3: shown in cents.
    assert _balances(render_statement(result, "R02"))[2:] == ["10273.68", "11497.35"]


def test_draw_balance_uses_the_plan_rounding_mode() -> None:
    from .test_reference import calc

    plan = {
        "period": "quarter",
        "target_incentive": 4_000,
        "measures": [{"name": "revenue", "curve": FLAT}],
        "draw": {"amount": 100.005, "recoverable": True},
    }
    reps = [{"rep_id": "A", "quota": 400}]
    credits = [{"credit_id": "D1", "rep_id": "A", "date": "2027-12-01", "amount": 0}]
    for mode, owed in (("half_up", "100.01"), ("half_even", "100.00")):
        result = calc(plan | {"rounding": {"mode": mode}}, reps, credits)
        assert _balances(render_statement(result, "A"))[0] == owed
        assert result.payouts()["draw_balance"].iloc[0] == Decimal(owed)


def test_printed_lines_add_up_to_the_printed_payment() -> None:
    inputs = load_calc_inputs(
        CFG / "plan_quarterly.yaml", CFG / "quotas_small.csv", CFG / "credits_small.csv"
    )
    result = compute(inputs)
    frame = lines_frame(result)
    frame["shown"] = frame["amount"]
    labels = [result.calendar.label(p) for p in range(result.calendar.n_periods)]
    checked = 0
    for (rep_id, period), group in frame.groupby(["rep_id", "period"]):
        paid = result.reps[rep_id].paid[labels.index(period)]
        assert sum(group["shown"], Decimal(0)) == paid, (rep_id, period)
        checked += "rounding" in set(group["kind"])
    assert checked > 0  # some periods carry a rounding line
    rounding = frame[(frame["rep_id"] == "R02") & (frame["kind"] == "rounding")]
    text = render_statement(result, "R02")
    lines = [x.split() for x in text.splitlines()]
    printed = [
        x[x.index("year-to-date") - 1]
        for x in lines
        if x[:2] == ["rounding", "rounding"]
    ]
    assert printed == [show_amount(x, 2) for x in rounding["shown"]]


def test_clawback_notes_show_the_commission_like_line_amounts() -> None:
    inputs = load_calc_inputs(
        CFG / "plan_quarterly.yaml", CFG / "quotas_small.csv", CFG / "credits_small.csv"
    )
    notes = lines_frame(compute(inputs))["note"]
    clawbacks = [n for n in notes if "; commission " in n]
    assert clawbacks
    for note in clawbacks:
        figure = note.rsplit(" ", 1)[-1]
        assert len(figure.partition(".")[2]) <= 5  # not 28 decimals


@pytest.mark.parametrize(
    ("amounts", "paid", "decimals", "expected"),
    [
        (  # no rounding line: the lines are exact, but not at 6 places
            ["0.3333334", "0.3333333", "0.3333333"],
            "1.000",
            3,
            ["0.333334", "0.333333", "0.333333"],
        ),
        (
            ["1333.3333", "1333.3333", "1333.3334"],
            "4000",
            0,
            ["1333.333"] * 2 + ["1333.334"],
        ),
        (["4800", "-800"], "4000", 0, ["4800", "-800"]),
        (["0.12345678", "0.87654322"], "1.0", 1, ["0.1235", "0.8765"]),
        (
            ["1.23456789012", "-0.23456789012"],
            "1.000000",
            6,
            ["1.23456789", "-0.23456789"],
        ),
    ],
)
def test_shown_amounts_add_up_to_the_payment_for_any_decimals(
    amounts: list[str], paid: str, decimals: int, expected: list[str]
) -> None:
    lines = [Line("A", 0, "revenue", "slice", Decimal(a)) for a in amounts]
    shown = shown_amounts(lines, Decimal(paid), decimals)
    assert shown == expected
    assert sum(map(Decimal, shown), Decimal(0)) == Decimal(paid)


def test_header_prints_big_amounts_in_full_and_columns_stay_aligned() -> None:
    from .test_reference import calc

    plan = {
        "period": "quarter",
        "target_incentive": "123456789012345.67",
        "draw": {"amount": 1000},
        "measures": [{"name": "revenue", "quota_column": "quota", "curve": FLAT}],
    }
    reps = [{"rep_id": "A", "quota": "123456789012345.67"}]
    credits = [
        {"credit_id": "D1", "rep_id": "A", "date": "2027-01-10", "amount": "3.3333"},
        {"credit_id": "D2", "rep_id": "A", "date": "2027-02-10", "amount": "9e13"},
    ]
    text = render_statement(calc(plan, reps, credits), "A")
    header = text.splitlines()[2]
    assert header == (
        "Annual quota: revenue 123,456,789,012,345.67; "
        "target incentive 123,456,789,012,345.67"
    )
    assert "e+" not in text and "E+" not in text
    rows = [line for line in text.splitlines() if line.startswith("  ")]
    amounts = [r for r in rows if "in tier" in r or "Paid" in r or "owed" in r]
    points = {r.rstrip().rindex(".") for r in amounts if "in tier" not in r}
    points |= {r.index(".", 100) for r in amounts if "in tier" in r}
    assert len(amounts) >= 10 and len(points) == 1, "\n".join(amounts)
    q1 = next(r for r in rows if r.startswith("  Paid this period"))
    # 9e13 of a quarter's quota 30,864,197,253,086.4175 pays about 2.916 x TI/4
    assert Decimal(q1.split()[-1]) > Decimal("9e13")
