"""Calculator features: proration, team overrides, payout tiers, rounding,
split rules and the dispute what-if."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spmopt.errors import ConfigError, SpmoptError
from spmopt.payout.calc import (
    apply_change,
    compute,
    load_calc_inputs,
    whatif,
    whatif_text,
)
from spmopt.payout.credits import split_amount
from spmopt.payout.engine import PayoutEngine

from .test_reference import calc

CFG = Path(__file__).resolve().parents[2] / "configs" / "payout"
FLAT = {"tiers": [{"from": 0, "rate": 1.0}]}


def test_partial_year_is_prorated_in_calc_and_engine() -> None:
    plan = {
        "period": "quarter",
        "target_incentive": 4_000,
        "measures": [{"name": "revenue", "curve": FLAT}],
        "draw": {"amount": 500},
    }
    reps = [{"rep_id": "A", "quota": 400, "start_date": "2027-05-16"}]
    credits = [{"credit_id": "D1", "rep_id": "A", "date": "2027-06-01", "amount": 50}]
    result = calc(plan, reps, credits)
    rep = result.reps["A"]
    # Q2 has 91 days, 46 on plan: quota 100 x 46/91, incentive 1,000 x 46/91.
    assert rep.paid[0] == 0
    share = Decimal(46) / Decimal(91)
    attained = Decimal(50) / (Decimal(100) * share)
    assert abs(rep.earned[1] - 1_000 * share * attained) < Decimal("1e-9")
    assert rep.paid[1] == Decimal(500)  # draw of 500 x 46/91 = 252.75 < earned
    engine = PayoutEngine(result.plan, _book(result))
    credited = np.zeros((1, 1, 4))
    credited[0, 0, 1] = 50
    paid = engine.evaluate({"revenue": credited}).paid[0, 0]
    assert np.allclose(paid, [float(v) for v in rep.paid_exact])


def _book(result):  # type: ignore[no-untyped-def]
    from spmopt.payout.engine import rep_book

    frame = pd.DataFrame(
        {"rep_id": ["A"], "quota": ["400"], "start_date": ["2027-05-16"]}
    )
    return rep_book(result.plan, frame)


def test_manager_is_paid_on_team_credits() -> None:
    plan = {
        "target_incentive": 1_000,
        "measures": [
            {"name": "revenue", "curve": FLAT},
            {
                "name": "team",
                "team_of": "revenue",
                "quota_column": "team_quota",
                "curve": FLAT,
            },
        ],
    }
    reps = [
        {"rep_id": "M", "quota": 1, "team_quota": 200, "manager_id": ""},
        {"rep_id": "A", "quota": 100, "team_quota": 1, "manager_id": "M"},
        {"rep_id": "B", "quota": 100, "team_quota": 1, "manager_id": "M"},
    ]
    credits = [
        {"credit_id": "D1", "rep_id": "A", "date": "2027-02-01", "amount": 60},
        {"credit_id": "D2", "rep_id": "B", "date": "2027-03-01", "amount": 90},
    ]
    result = calc(plan, reps, credits)
    assert result.reps["M"].paid == [Decimal(750)]  # 150 / 200 of 1,000
    assert result.reps["A"].paid == [Decimal(600)]
    notes = {x.note for x in result.reps["M"].lines}
    assert {"team: A", "team: B"} <= notes


def test_payout_tiers_decelerate_the_payout() -> None:
    measure = {
        "name": "revenue",
        "rate_of": "credit",
        "curve": {"basis": "amount", "tiers": [{"from": 0, "rate": 0.1}]},
        "payout_tiers": {
            "basis": "amount",
            "tiers": [
                {"from": 0, "to": 5_000, "rate": 1.0},
                {"from": 5_000, "rate": 0.5},
            ],
        },
    }
    credits = [
        {"credit_id": "D1", "rep_id": "A", "date": "2027-02-01", "amount": 80_000}
    ]
    result = calc({"measures": [measure]}, [{"rep_id": "A", "quota": 1}], credits)
    assert result.reps["A"].paid == [Decimal(6_500)]  # 5,000 + 0.5 x 3,000
    assert any(x.kind == "payout_tiers" for x in result.lines)


def test_half_even_rounding_is_applied_once() -> None:
    plan = {
        "rounding": {"decimals": 2, "mode": "half_even"},
        "measures": [
            {
                "name": "revenue",
                "rate_of": "credit",
                "curve": {"basis": "amount", "tiers": [{"from": 0, "rate": 0.5}]},
            }
        ],
    }
    credits = [{"credit_id": "D1", "rep_id": "A", "date": "2027-02-01", "amount": 0.05}]
    result = calc(plan, [{"rep_id": "A", "quota": 1}], credits)
    assert result.reps["A"].paid == [Decimal("0.02")]  # 0.025 to even
    up = calc(
        plan | {"rounding": {"decimals": 2}}, [{"rep_id": "A", "quota": 1}], credits
    )
    assert up.reps["A"].paid == [Decimal("0.03")]


def test_split_rules() -> None:
    assert split_amount(Decimal("1.25"), [Decimal("0.5")] * 2) == [
        Decimal("0.63"),
        Decimal("0.62"),
    ]
    parts = split_amount(
        Decimal("1.00"), [Decimal(1) / 3] * 3, rule="first_takes_remainder"
    )
    assert parts == [Decimal("0.34"), Decimal("0.33"), Decimal("0.33")]
    assert sum(
        split_amount(Decimal("100.01"), [Decimal("0.7"), Decimal("0.3")])
    ) == Decimal("100.01")


@pytest.fixture(scope="module")
def inputs():  # type: ignore[no-untyped-def]
    return load_calc_inputs(
        CFG / "plan_quarterly.yaml", CFG / "quotas_small.csv", CFG / "credits_small.csv"
    )


def test_whatif_split_date_and_amount(inputs) -> None:  # type: ignore[no-untyped-def]
    lines, payouts = whatif(inputs, ["split:D002=R01:0.5,R04:0.5"])
    assert set(lines["rep_id"]) >= {"R01", "R04"}
    lines, _ = whatif(inputs, ["date:D002=2027-04-03"])
    assert {"2027-Q1", "2027-Q2"} <= set(lines["period"])
    lines, payouts = whatif(inputs, ["amount:D001=0"])
    before = compute(inputs).reps["R01"].paid
    assert not payouts.empty and payouts["rep_id"].eq("R01").all()
    assert sum(before) > 0


def test_whatif_changes_are_validated(inputs) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="no credit with credit_id 'NOPE'"):
        apply_change(inputs.credits_frame, "recredit:NOPE=R01")
    with pytest.raises(ConfigError, match="REP:SHARE"):
        apply_change(inputs.credits_frame, "split:D001=R01")


def test_opening_draw_balance_is_recovered_in_calc_and_engine() -> None:
    plan = {
        "period": "quarter",
        "target_incentive": 4_000,
        "measures": [{"name": "revenue", "curve": FLAT}],
        "draw": {"amount": 200, "recoverable": True, "carry_forward": True},
    }
    reps = [{"rep_id": "A", "quota": 400, "draw_balance": 300}]
    credits = [
        {"credit_id": "D1", "rep_id": "A", "date": "2027-02-01", "amount": 100},
        {"credit_id": "D2", "rep_id": "A", "date": "2027-05-01", "amount": 150},
    ]
    rep = calc(plan, reps, credits).reps["A"]
    # Q1 earns 1,000: 300 carried in is recovered first; Q2 earns 1,500.
    assert rep.paid[:2] == [Decimal(700), Decimal(1_500)]
    assert rep.draw_balance[0] == 0
    forgiven = plan | {"draw": {"amount": 200, "carry_forward": False}}
    assert calc(forgiven, reps, credits).reps["A"].paid[0] == Decimal(1_000)
    cfg = calc(plan, reps, credits)
    frame = pd.DataFrame({"rep_id": ["A"], "quota": ["400"], "draw_balance": ["300"]})
    from spmopt.payout.engine import rep_book

    engine = PayoutEngine(cfg.plan, rep_book(cfg.plan, frame))
    credited = np.zeros((1, 1, 4))
    credited[0, 0, :2] = [100, 150]
    assert np.allclose(
        engine.evaluate({"revenue": credited}).paid[0, 0], [700, 1_500, 200, 200]
    )


def test_credit_when_the_rep_is_off_plan_is_refused() -> None:
    from spmopt.errors import DataError

    plan = {
        "period": "quarter",
        "target_incentive": 4_000,
        "measures": [{"name": "revenue", "curve": FLAT}],
    }
    reps = [{"rep_id": "A", "quota": 400, "start_date": "2027-07-01"}]
    credits = [{"credit_id": "D1", "rep_id": "A", "date": "2027-02-01", "amount": 5}]
    with pytest.raises(DataError, match=r"data row 1 .* not on the plan"):
        calc(plan, reps, credits)


def test_unit_spif_is_tiered_on_units() -> None:
    spif = {
        "name": "seats",
        "curve": {
            "basis": "units",
            "application": "marginal",
            "tiers": [{"from": 0, "to": 10, "rate": 5}, {"from": 10, "rate": 8}],
        },
    }
    plan = {
        "measures": [
            {
                "name": "revenue",
                "rate_of": "credit",
                "curve": {"basis": "amount", "tiers": [{"from": 0, "rate": 0}]},
            }
        ],
        "spifs": [spif],
    }
    credits = [
        {
            "credit_id": "D1",
            "rep_id": "A",
            "date": "2027-02-01",
            "amount": 1,
            "units": 6,
        },
        {
            "credit_id": "D2",
            "rep_id": "A",
            "date": "2027-03-01",
            "amount": 1,
            "units": 7,
        },
    ]
    result = calc(plan, [{"rep_id": "A", "quota": 1}], credits)
    assert result.reps["A"].paid == [Decimal(10 * 5 + 3 * 8)]


@pytest.mark.parametrize(
    "first",
    ["recredit:D003=R02", "split:D002=R01:0.5,R04:0.5", "split:D001=R02:0.3,R05:0.7"],
)
def test_whatif_messages_name_the_rows_of_the_credits_file(inputs, first) -> None:  # type: ignore[no-untyped-def]
    # D010 is data row 15 of credits_small.csv, whatever the first change
    # does to the rows before it (drops one, or replaces one by two).
    with pytest.raises(SpmoptError, match="data row 15 is outside"):
        whatif(inputs, [first, "date:D010=2030-01-01"])


def test_whatif_resplit_rows_keep_their_place_and_row_number(inputs) -> None:  # type: ignore[no-untyped-def]
    from spmopt.payout.calc import file_rows

    frame = apply_change(inputs.credits_frame, "split:D002=R01:0.5,R04:0.5")
    assert list(frame["credit_id"][:4]) == ["D001", "D002", "D002", "D003"]
    assert file_rows(frame)[:5] == [1, 2, 2, 3, 4]
    frame = apply_change(frame, "recredit:D003=R05")
    assert file_rows(frame)[:5] == [1, 2, 2, 3, 5]
    assert list(frame["rep_id"][:4]) == ["R01", "R01", "R04", "R05"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("amount:D001=abc", "amount must be a number from 0 to .*, got 'abc'"),
        ("amount:D001=-5", "amount must be a number from 0 to"),
        ("amount:D001=1e400", "from 0 to 1,000,000,000,000,000, got '1e400'"),
        ("amount:D001=1000000000000000.01", "got '1000000000000000.01'"),
        ("recredit:D001=R9", "^--change 'recredit:D001=R9': rep 'R9' is not in the"),
        ("split:D001=R01:0.6,R02:0.6", "^--change 'split:D001=R01:0.6,R02:0.6': the "),
        ("split:D001=R01:0.6,R02:0.6", "split shares sum to 1.2, must sum to 1"),
        ("split:D001=R01:x,R02:0.5", "share of rep 'R01' must be a number in"),
        ("split:D001=R01:1.5,R02:-0.5", r"share of rep 'R01' must be .* got '1.5'"),
        ("split:D001=R99:0.5,R02:0.5", "rep 'R99' is not in the quotas table"),
        ("date:D001=2031-01-01", "^--change 'date:D001=2031-01-01': credits: date"),
        ("date:D001=someday", "date must be YYYY-MM-DD, got 'someday'"),
        ("date:D001=2027-02-30", "'2027-02-30' is not a real date .*YYYY-MM-DD"),
        ("split:D001=R01:0.5,R01:0.5", r"rep\(s\) \['R01'\] given more than once"),
    ],
)
def test_whatif_bad_change_values_name_the_change(inputs, change, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=message):
        whatif(inputs, [change])


def test_whatif_blames_the_first_change_that_breaks_the_credits(inputs) -> None:  # type: ignore[no-untyped-def]
    changes = ["date:D001=2027-03-01", "date:D002=2031-01-01", "amount:D003=5"]
    with pytest.raises(ConfigError, match=r"^--change 'date:D002=2031-01-01': cred"):
        whatif(inputs, changes)


def test_whatif_text_shows_blank_rates_and_statement_amounts() -> None:
    lines = pd.DataFrame(
        {
            "rep_id": ["R01", "R01"],
            "period": ["2027-Q1", "2027-Q1"],
            "section": ["draw", "revenue"],
            "kind": ["draw", "slice"],
            "credit_id": ["", "D001"],
            "tier": ["", "1"],
            "rate": [float("nan"), 0.0125],
            "before": [0.0, 2021.05263],
            "after": [150.0, 0.0],
            "difference": [150.0, -2021.05263],
        }
    )
    paid = pd.DataFrame(
        {"rep_id": ["R01"], "period": ["2027-Q1"], "paid_before": [7950.0]}
        | {"paid_after": [4000.0], "difference": [-3950.0]}
    )
    text = whatif_text(lines, paid, 2)
    assert "nan" not in text.lower()
    rows = text.splitlines()
    assert rows[2].split()[-3:] == ["0.00", "150.00", "150.00"]
    assert rows[3].split()[-4:] == ["0.0125", "2021.05263", "0.00", "-2021.05263"]
    assert rows[-1].split()[-3:] == ["7950.00", "4000.00", "-3950.00"]
    assert whatif_text(lines.iloc[:0], paid.iloc[:0], 2).count("(none)") == 2


def test_whatif_shows_line_amounts_exactly_as_the_statements(inputs) -> None:  # type: ignore[no-untyped-def]
    from spmopt.payout.calc import _KEY, apply_change
    from spmopt.payout.credits import read_credits
    from spmopt.payout.statements import lines_frame

    changes = ["recredit:D003=R04", "amount:D005=95000.125"]
    lines, _ = whatif(inputs, changes)
    frame = inputs.credits_frame
    for change in changes:
        frame = apply_change(frame, change)
    changed = read_credits(frame, inputs.plan, inputs.book.rep_ids)
    after = compute(type(inputs)(inputs.plan, inputs.book, frame, changed))

    def key(row: pd.Series) -> tuple[object, ...]:
        return tuple(None if pd.isna(row[k]) else row[k] for k in _KEY)

    for column, result in (("before", compute(inputs)), ("after", after)):
        shown: dict[tuple[object, ...], Decimal] = {}
        for _, line in lines_frame(result).iterrows():
            shown[key(line)] = shown.get(key(line), Decimal(0)) + line["amount"]
        for _, row in lines.iterrows():
            assert row[column] == shown.get(key(row), Decimal(0)), (column, key(row))
    rounding = lines[(lines["rep_id"] == "R02") & (lines["kind"] == "rounding")]
    assert len(rounding) == 1
    assert rounding["difference"].iloc[0] == -rounding["before"].iloc[0]
