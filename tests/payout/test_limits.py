"""Range checks of plan numbers and money cells, through `spmopt payout ...`."""

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from spmopt.cli import main
from spmopt.errors import DataError
from spmopt.payout.limits import (
    MAX_AMOUNT,
    check_amount_cells,
    check_computed,
    check_computed_array,
    range_text,
    within,
)

AMOUNTS = "at most 1,000,000,000,000,000 in absolute value"
RATES = "at most 1,000,000 in absolute value"


def plan_text(ti: str = "1000", rate: str = "1.0", quota: str = "4000") -> str:
    return (
        "name: t\nperiod: quarter\nyear_start: 2027-01-01\n"
        f"target_incentive: {ti}\nmeasures:\n  - name: revenue\n"
        f"    quota: {quota}\n    curve:\n      basis: attainment\n"
        f"      tiers:\n        - {{from: 0, to: 1.5, rate: 1.0}}\n"
        f"        - {{from: 1.5, rate: {rate}}}\n"
    )


def write_inputs(tmp_path: Path, plan: str, amount: str = "1000") -> list[str]:
    (tmp_path / "plan.yaml").write_text(plan)
    (tmp_path / "q.csv").write_text("rep_id,quota\nR1,4000\nR2,4000\n")
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R1,2027-01-10,500\n"
        f"D2,R2,2027-02-10,{amount}\n"
    )
    return [
        "--plan",
        str(tmp_path / "plan.yaml"),
        "--quotas",
        str(tmp_path / "q.csv"),
        "--credits",
        str(tmp_path / "c.csv"),
    ]


def simulate_args(tmp_path: Path, plan: str) -> list[str]:
    (tmp_path / "plan.yaml").write_text(plan)
    (tmp_path / "q.csv").write_text("rep_id,quota\nR1,4000\nR2,4000\n")
    (tmp_path / "sim.yaml").write_text(
        "plan: plan.yaml\nquotas: q.csv\nn_scenarios: 200\n"
        "attainment: {kind: lognormal, mean: 1.0, sigma: 0.4}\n"
        "mlflow: {enabled: false}\n"
    )
    return ["payout", "simulate", str(tmp_path / "sim.yaml")]


def command(tmp_path: Path, kind: str, plan: str, amount: str = "1000") -> list[str]:
    if kind == "simulate":
        return simulate_args(tmp_path, plan)
    args = write_inputs(tmp_path, plan, amount)
    if kind == "whatif":
        return ["payout", "whatif", "--change", "date:D1=2027-03-01", *args]
    return ["payout", "calc", *args]


def assert_one_error(capsys, tmp_path: Path, *parts: str) -> None:  # type: ignore[no-untyped-def]
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for part in parts:
        assert part in err, (part, err)
    assert list(tmp_path.glob("run*")) == [] and list(tmp_path.glob(".run*")) == []


PLANS = [
    (plan_text(ti="1e24"), "field 'target_incentive'", AMOUNTS, "1e24"),
    (plan_text(ti="1e400"), "field 'target_incentive'", AMOUNTS, "1e400"),
    (plan_text(ti="1e16"), "field 'target_incentive'", AMOUNTS, "1e16"),
    (
        plan_text(ti="1000000000000000.01"),
        "field 'target_incentive'",
        AMOUNTS,
        "1000000000000000.01",
    ),
    (plan_text(rate="1e400"), "field 'measures.0.curve.tiers.1.rate'", RATES, "1e400"),
    (plan_text(rate="-2e6"), "field 'measures.0.curve.tiers.1.rate'", RATES, ""),
    (plan_text(quota="1e16"), "field 'measures.0.quota'", AMOUNTS, "1e16"),
]


@pytest.mark.parametrize("kind", ["calc", "simulate", "whatif"])
@pytest.mark.parametrize(("plan", "field", "allowed", "value"), PLANS)
def test_out_of_range_plan_numbers_exit_2_naming_field_value_and_range(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, kind: str, plan: str, field: str, allowed: str, value: str
) -> None:
    args = command(tmp_path, kind, plan)
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(capsys, tmp_path, field, allowed, value)


@pytest.mark.parametrize("kind", ["calc", "whatif"])
@pytest.mark.parametrize("amount", ["1000000000000000.01", "-1000000000000000.01"])
def test_credit_amounts_are_range_checked_on_their_exact_digits(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, kind: str, amount: str
) -> None:
    args = command(tmp_path, kind, plan_text(), amount)
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    where = "c.csv: column 'amount'"
    assert_one_error(capsys, tmp_path, "--credits ", where, AMOUNTS, amount, "row 2")


def test_a_credit_of_exactly_1e15_is_accepted(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = command(tmp_path, "calc", plan_text(), "1000000000000000.00")
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    capsys.readouterr()


def test_quota_cells_are_range_checked_on_their_exact_digits(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    plan = plan_text().replace("    quota: 4000\n", "")
    args = command(tmp_path, "calc", plan)
    (tmp_path / "q.csv").write_text("rep_id,quota\nR1,4000\nR2,1000000000000000.01\n")
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(
        capsys,
        tmp_path,
        "--quotas ",
        "q.csv: column 'quota'",
        AMOUNTS,
        "1000000000000000.01",
    )


def test_a_payout_grown_too_large_is_one_error_not_a_traceback(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    plan = plan_text(ti="1e15", rate="1e6", quota="0.01")
    args = command(tmp_path, "calc", plan, "1e15")
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(capsys, tmp_path, "too large to pay", "1,000,000,000,000,000")


def test_check_amount_cells_names_the_first_bad_cell() -> None:
    values = [Decimal(1), None, MAX_AMOUNT, MAX_AMOUNT + Decimal("0.01")]
    check_amount_cells(values[:3], "t", "c", [1, 2, 3])
    with pytest.raises(DataError, match=r"t: column 'c' .* 1000000000000000\.01 in "):
        check_amount_cells(values, "t", "c", [1, 2, 3, 7])
    assert within(-MAX_AMOUNT, MAX_AMOUNT) and not within(Decimal("Infinity"), 1)
    assert range_text(Decimal(10**6)) == "at most 1,000,000 in absolute value"


@pytest.mark.parametrize("amount", ["1e16", "1e400", "inf"])
def test_huge_written_credits_get_the_same_message(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, amount: str
) -> None:
    args = command(tmp_path, "calc", plan_text(), amount)
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(capsys, tmp_path, "c.csv: column 'amount'", AMOUNTS, "row 2")


def one_tier_plan(ti: str, rate: str) -> str:
    return (
        "name: t\nperiod: quarter\nyear_start: 2027-01-01\n"
        f"target_incentive: {ti}\nmeasures:\n  - name: revenue\n"
        "    quota: 4000\n    curve:\n      basis: attainment\n"
        f"      tiers:\n        - {{from: 0, rate: {rate}}}\n"
    )


@pytest.mark.parametrize(("rate", "shown"), [("20", "5.000000e+15"), ("1e6", "")])
def test_calc_refuses_a_payout_beyond_the_amount_limit(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, rate: str, shown: str
) -> None:
    # 1000 of a 4000 quota at rate 20 on a 1e15 incentive pays 5e15.
    args = command(tmp_path, "calc", one_tier_plan("1e15", rate))
    (tmp_path / "q.csv").write_text("rep_id,quota\nR1,4000\nR2,4000\n")
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R1,2027-01-10,1000\n"
    )
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(
        capsys, tmp_path, "too large to pay", shown, "1,000,000,000,000,000"
    )


def test_calc_pays_exactly_the_amount_limit(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 1000 of 4000 at rate 4 on 1e15 pays exactly 1e15: accepted.
    args = command(tmp_path, "calc", one_tier_plan("1e15", "4"))
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R1,2027-01-10,1000\n"
    )
    assert main([*args, "--out", str(tmp_path / "run")]) == 0
    assert "total_paid: 1000000000000000.00" in capsys.readouterr().out


def test_calc_refuses_a_total_beyond_the_limit_when_each_rep_is_within(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    # Two reps paid 6e14 each: every line is in range, the total is not.
    args = command(tmp_path, "calc", one_tier_plan("1e15", "2.4"))
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R1,2027-01-10,1000\nD2,R2,2027-01-10,1000\n"
    )
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(capsys, tmp_path, "too large to pay", "total paid", "1.200000e+15")


@pytest.mark.parametrize("sigma", ["0.35", "0.01"])
def test_simulate_refuses_huge_payouts_instead_of_spinning(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, sigma: str
) -> None:
    plan = plan_text(ti="1e15", rate="1e6").replace("    quota: 4000\n", "")
    args = simulate_args(tmp_path, plan)
    (tmp_path / "q.csv").write_text("rep_id,quota\nR01,1e15\n")
    (tmp_path / "sim.yaml").write_text(
        "plan: plan.yaml\nquotas: q.csv\nn_scenarios: 20\n"
        f"attainment: {{kind: lognormal, mean: 1000, sigma: {sigma}}}\n"
        "mlflow: {enabled: false}\n"
    )
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(capsys, tmp_path, "too large to pay", "1,000,000,000,000,000")


def test_simulate_refuses_a_mean_cost_beyond_the_limit(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    # At attainment about 1, rate 20 pays about 20 target incentives of 1e15.
    args = simulate_args(tmp_path, one_tier_plan("1e15", "20"))
    assert main([*args, "--out", str(tmp_path / "run")]) == 2
    assert_one_error(capsys, tmp_path, "too large to pay", "simulated")


def test_check_computed_refuses_the_first_amount_beyond_the_limit() -> None:
    check_computed([MAX_AMOUNT, -MAX_AMOUNT, 1e15], "line")
    check_computed_array(np.array([[1e15, -1e15]]), "line")
    with pytest.raises(DataError, match="too large to pay: the line is beyond"):
        check_computed([Decimal("1000000000000000.01")], "line")
    for bad in (float("nan"), -2e15, float("inf")):
        with pytest.raises(DataError, match="too large to pay: the line is beyond"):
            check_computed([1.0, bad], "line")
        with pytest.raises(DataError, match="too large to pay: the line is beyond"):
            check_computed_array(np.array([[1.0, bad]]), "line")


@pytest.mark.parametrize(
    ("rate", "amount", "blamed"), [("20", "900", False), ("2", "9000", True)]
)
def test_whatif_blames_a_too_large_payout_on_a_change_only_when_it_causes_it(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, rate: str, amount: str, blamed: bool
) -> None:
    # Rate 20 is too large on the credit as filed; rate 2 only once D1 is 9000.
    args = command(tmp_path, "calc", one_tier_plan("1e15", rate))[2:]
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R1,2027-01-10,1000\n"
    )
    change = ["--change", f"amount:D1={amount}"]
    out = ["--out", str(tmp_path / "run")]
    assert main(["payout", "whatif", *change, *args, *out]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert "too large to pay" in err and "1,000,000,000,000,000" in err
    assert err.startswith(f"error: --change 'amount:D1={amount}'") is blamed, err
    assert list(tmp_path.glob("run*")) == []
