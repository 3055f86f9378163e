"""`spmopt payout ...` in-process: success and one clear error per bad input."""

import json
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest

from spmopt.cli import main

REPO = Path(__file__).resolve().parents[2]
PLAN = (REPO / "configs" / "payout" / "plan_accelerator.yaml").read_text()


def write_case(tmp_path: Path, quotas: str, extra: str = "") -> Path:
    (tmp_path / "plan.yaml").write_text(PLAN)
    (tmp_path / "q.csv").write_text(quotas)
    config = tmp_path / "sim.yaml"
    config.write_text(
        "plan: plan.yaml\nquotas: q.csv\nn_scenarios: 500\n"
        "mlflow: {enabled: false}\n" + extra
    )
    return config


def test_simulate_writes_a_run_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_case(tmp_path, "rep_id,quota\nA,100\nB,120\n")
    out = tmp_path / "run"
    assert (
        main(["payout", "simulate", str(config), "--out", str(out), "--seed", "2"]) == 0
    )
    assert "cost_p50" in capsys.readouterr().out
    assert (out / "summary.json").is_file() and (out / "manifest.json").is_file()


@pytest.mark.parametrize(
    ("quotas", "extra", "pattern"),
    [
        ("rep_id,target\nA,100\n", "", "missing column"),
        ("rep_id,quota\nA,lots\n", "", "column 'quota' must be a number"),
        ("rep_id,quota\nA,-5\n", "", "must be a number > 0"),
        ("rep_id,quota\n", "", "no rows"),
        ("rep_id,quota\nA,1,000\n", "", "malformed row at line 2 of"),
        ("rep_id,quota\nA,100\nB,1,000\n", "", "expected 2 fields (as in the"),
        ("rep_id;quota\nA;100,5\n", "", "seems to use ';' (semicolon) as its"),
        ("rep_id,quota\nA,100\n", "n_scenarioz: 5\n", "unknown field 'n_scenarioz'"),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {sigma: -1}\n",
            "sigma' must be greater than 0",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {cancellations: {rate: 1.5}}\n",
            "rate' must be less than or equal to 1",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {cancellations: {rate: 0.1, colour: red}}\n",
            "cancellations.colour'; allowed fields here: contract_months, rate",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {kind: history, history: q.csv, colour: red}\n",
            "allowed fields here: attainment_column, cancellations, history,",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {spif_counts: {logo: {}}}\n",
            "exactly one of 'mean' or 'history_column'",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {spif_counts: {logo: {history_column: deals}}}\n",
            "needs attainment kind: history",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {kind: gaussian}\n",
            "field 'attainment' is invalid: unknown attainment model kind "
            "'gaussian'; allowed kinds: lognormal, history, deals",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: normal\n",
            "must be a mapping of fields with a kind (lognormal, history, deals), "
            "got 'normal'",
        ),
        (
            "rep_id,quota\nA,100\n",
            "attainment: {kind: history, mean: 1.0}\n",
            "field 'attainment.history' is required; unknown field 'attainment.mean'",
        ),
    ],
)
def test_bad_inputs_exit_2_with_one_message(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, quotas: str, extra: str, pattern: str
) -> None:
    config = write_case(tmp_path, quotas, extra)
    out = tmp_path / "run"
    assert main(["payout", "simulate", str(config), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and pattern in err
    assert "Traceback" not in err and "tag" not in err
    assert list(tmp_path.glob("run*")) == [] and list(tmp_path.glob(".run*")) == []


def test_missing_config_and_missing_table(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["payout", "simulate", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
    config = write_case(tmp_path, "rep_id,quota\nA,1\n")
    (tmp_path / "q.csv").unlink()
    assert main(["payout", "simulate", str(config), "--out", str(tmp_path / "r")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_bad_plan_names_the_plan_field(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_case(tmp_path, "rep_id,quota\nA,1\n")
    (tmp_path / "plan.yaml").write_text(
        PLAN.replace("from: 1.5, rate", "from: 1.6, rate")
    )
    assert main(["payout", "simulate", str(config), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "plan.yaml" in err and "gap" in err and "measures.0.curve" in err


CFG = REPO / "configs" / "payout"
CALC = [
    "--plan",
    str(CFG / "plan_quarterly.yaml"),
    "--quotas",
    str(CFG / "quotas_small.csv"),
]


def test_calc_writes_payouts_and_one_statement_per_rep(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "calc"
    args = ["payout", "calc", *CALC, "--credits", str(CFG / "credits_small.csv")]
    assert main([*args, "--out", str(out)]) == 0
    assert "total_paid" in capsys.readouterr().out
    payouts = (out / "payouts.csv").read_text().splitlines()
    assert payouts[0].startswith("rep_id,period,period_start,period_end,earned")
    assert len(payouts) == 1 + 12 * 4
    assert len(list((out / "statements").glob("*.txt"))) == 12
    again = tmp_path / "again"
    assert main([*args, "--out", str(again)]) == 0
    for name in ("payouts.csv", "statement_lines.csv", "statements/R01.txt"):
        assert (out / name).read_bytes() == (again / name).read_bytes()
    money = pd.read_csv(out / "payouts.csv", dtype=str)
    assert money["paid"].str.fullmatch(r"-?\d+\.\d\d").all()  # 7950.00, not 7950.0
    for _, rep in money.groupby("rep_id"):  # paid adds up to paid_to_date as printed
        paid = [Decimal(v) for v in rep["paid"]]
        to_date = [sum(paid[: i + 1], Decimal(0)) for i in range(len(paid))]
        assert [Decimal(v) for v in rep["paid_to_date"]] == to_date
    summary = json.loads((out / "summary.json").read_text())
    total = sum((Decimal(v) for v in money["paid"]), Decimal(0))
    assert Decimal(summary["total_paid"]) == total


def test_whatif_prints_no_nan_and_writes_numbers(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["payout", "whatif", *CALC, "--credits", str(CFG / "credits_small.csv")]
    changes = ["--change", "amount:D001=90000", "--change", "recredit:D002=R02"]
    assert main([*args, *changes, "--out", str(tmp_path / "w")]) == 0
    text = capsys.readouterr().out
    assert "nan" not in text.lower() and "gate" in text and "draw" in text
    gate = next(line for line in text.splitlines() if " gate " in line).split()
    assert gate[-3:] == ["0.00", "-500.00", "-500.00"]  # no rate column shown
    lines = pd.read_csv(tmp_path / "w" / "whatif_lines.csv", dtype=str)
    assert lines["rate"].isna().sum() > 0  # blank, not NaN text
    assert (
        lines[["rate", "before", "after", "difference"]]
        .apply(lambda col: pd.to_numeric(col.dropna()).notna().all())
        .all()
    )  # numbers: a negative amount is not turned into quoted text
    for column in ("before", "after", "difference"):
        assert lines[column].str.fullmatch(r"-?\d+\.\d{2,5}").all()
    paid = pd.read_csv(tmp_path / "w" / "whatif_payouts.csv", dtype=str)
    assert paid["difference"].tolist() == ["-3950.00", "-3750.00", "3284.21"]


def test_explain_prints_the_statement(capsys) -> None:  # type: ignore[no-untyped-def]
    args = [
        "payout",
        "explain",
        "R02",
        *CALC,
        "--credits",
        str(CFG / "credits_small.csv"),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "Statement for R02" in text and "clawback" in text and "D003" in text
    assert main([*args[:2], "NOBODY", *args[3:]]) == 2
    assert "rep 'NOBODY' is not in the quotas table" in capsys.readouterr().err


def test_whatif_shows_line_differences(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = [
        "payout",
        "whatif",
        *CALC,
        "--credits",
        str(CFG / "credits_small.csv"),
        "--change",
        "recredit:D002=R04",
        "--out",
        str(tmp_path / "w"),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "D002" in text and "R04" in text
    lines = (tmp_path / "w" / "whatif_lines.csv").read_text()
    assert "D002" in lines
    bad = [*args[:-4], "--change", "move:D002=x"]
    assert main(bad) == 2
    assert "KIND:CREDIT_ID=VALUE" in capsys.readouterr().err
    late = [
        *args[:-2],
        "--change",
        "date:D010=2030-01-01",
        "--out",
        str(tmp_path / "x"),
    ]
    assert main(late) == 2
    err = capsys.readouterr().err
    assert "data row 15 is outside" in err and "Traceback" not in err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("credits", "pattern"),
    [
        ("credit_id,rep_id,date\nD1,R01,2027-01-01\n", "missing column"),
        ("credit_id,rep_id,date,amount\nD1,R01,2027-01-01,ten\n", "must be a number"),
        ("credit_id,rep_id,date,amount\nD1,R01,2027-01-01,-4\n", ">= 0"),
        ("credit_id,rep_id,date,amount\nD1,R99,2027-01-01,4\n", "'R99' in data row 1"),
        (
            "credit_id,rep_id,date,amount\nD1,R01,2026-12-31,4\n",
            "outside the plan year",
        ),
        ("credit_id,rep_id,date,amount\n", "no rows"),
    ],
)
def test_calc_bad_credits_exit_2(
    tmp_path: Path, capsys, credits: str, pattern: str
) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "credits.csv"
    path.write_text(credits)
    out = tmp_path / "calc"
    assert (
        main(["payout", "calc", *CALC, "--credits", str(path), "--out", str(out)]) == 2
    )
    err = capsys.readouterr().err
    assert err.startswith("error: ") and pattern in err and "Traceback" not in err
    assert not out.exists() and list(tmp_path.glob(".calc*")) == []


def test_calc_missing_files_and_bad_plan(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    args = ["payout", "calc", *CALC, "--credits", str(tmp_path / "none.csv")]
    assert main(args) == 2
    assert "file not found" in capsys.readouterr().err
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        (CFG / "plan_quarterly.yaml")
        .read_text()
        .replace("year_start: 2027-01-01\n", "bogus: 1\n")
    )
    args = [
        "payout",
        "calc",
        "--plan",
        str(plan),
        "--quotas",
        str(CFG / "quotas_small.csv"),
        "--credits",
        str(CFG / "credits_small.csv"),
    ]
    assert main(args) == 2
    assert "unknown field 'bogus'" in capsys.readouterr().err


def test_explain_from_a_calc_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "calc"
    args = ["payout", "calc", *CALC, "--credits", str(CFG / "credits_small.csv")]
    assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["payout", "explain", "R01", "--run", str(out)]) == 0
    assert capsys.readouterr().out == (out / "statements" / "R01.txt").read_text()
    assert main(["payout", "explain", "R99", "--run", str(out)]) == 2
    assert "no statement for rep 'R99'" in capsys.readouterr().err
    assert main(["payout", "explain", "R01"]) == 2
    assert "give --run DIR" in capsys.readouterr().err


def test_reps_whose_ids_differ_only_by_unsafe_characters_get_their_own_statement(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    (tmp_path / "q.csv").write_text(
        "rep_id,quota\nR/1,1000\nR_1,1000\n.x,1000\nab,1000\nAB,1000\nR01,10\n"
    )
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R/1,2027-02-01,100\n"
        "D2,R_1,2027-02-01,900\nD3,.x,2027-02-01,50\n"
    )
    out = tmp_path / "calc"
    args = ["payout", "calc", "--plan", str(CFG / "plan_quarterly.yaml")]
    args += ["--quotas", str(tmp_path / "q.csv"), "--credits", str(tmp_path / "c.csv")]
    assert main([*args, "--out", str(out)]) == 0
    names = sorted(p.name for p in (out / "statements").iterdir())
    assert len({n.casefold() for n in names}) == 6  # distinct on any file system
    assert not any(n.startswith(".") for n in names) and "R01.txt" in names
    assert (
        (out / "statements" / "R_1.txt").read_text().startswith("Statement for R_1 - ")
    )
    for rep in ("R/1", "R_1", ".x", "ab", "AB", "R01"):
        capsys.readouterr()
        assert main(["payout", "explain", rep, "--run", str(out)]) == 0
        assert capsys.readouterr().out.startswith(f"Statement for {rep} - ")
    assert main(["payout", "explain", "R:1", "--run", str(out)]) == 2
    err = capsys.readouterr().err
    assert "no statement for rep 'R:1'" in err and "'R/1'" in err


def test_explain_run_must_be_a_calc_folder_and_not_mixed_with_inputs(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys
) -> None:
    quota_run = tmp_path / "quota"
    quota_cfg = REPO / "configs" / "quota" / "small_team.yaml"
    assert main(["quota", "set", str(quota_cfg), "--out", str(quota_run)]) == 0
    calc = tmp_path / "calc"
    credits = ["--credits", str(CFG / "credits_small.csv")]
    assert main(["payout", "calc", *CALC, *credits, "--out", str(calc)]) == 0
    (tmp_path / "plain").mkdir()
    capsys.readouterr()
    cases = {
        str(quota_run): f"--run {quota_run} was written by 'spmopt quota set', "
        "not by 'spmopt payout calc'; give a folder written by 'spmopt payout calc'",
        str(tmp_path / "plain"): "is not a spmopt run folder (no readable manifest",
        str(CFG / "plan_linear.yaml"): "plan_linear.yaml is a file, not a folder",
        str(tmp_path / "none"): f"--run {tmp_path / 'none'} does not exist",
    }
    for run, message in cases.items():
        assert main(["payout", "explain", "R01", "--run", run]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err, err
        assert len(err.splitlines()) == 1
    plan = str(CFG / "plan_quarterly.yaml")
    both = ["payout", "explain", "R01", "--run", str(calc), "--plan", plan]
    assert main(both) == 2
    assert capsys.readouterr().err == (
        "error: give either --run DIR or --plan, --credits and --quotas, not both "
        f"(got --run {calc} and --plan {plan})\n"
    )
    assert main(["payout", "explain", "R01", "--plan", plan]) == 2
    assert "(missing: --credits, --quotas)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command",
    [
        ["explain", "R01", *CALC, "--credits", "MISSING"],
        ["whatif", *CALC, "--credits", "MISSING", "--change", "recredit:D001=R02"],
        ["compare", str(CFG / "plan_linear.yaml"), "--config", "MISSING"],
        ["calc", *CALC, "--credits", "MISSING"],
    ],
)
def test_missing_files_exit_2_for_every_command(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, command: list[str]
) -> None:
    args = [str(tmp_path / "nope.csv") if a == "MISSING" else a for a in command]
    assert main(["payout", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not found" in err and "Traceback" not in err


def test_whatif_with_bad_split_shares_exits_2(capsys) -> None:  # type: ignore[no-untyped-def]
    args = [
        "payout",
        "whatif",
        *CALC,
        "--credits",
        str(CFG / "credits_small.csv"),
        "--change",
        "split:D001=R01:0.5,R02:0.4",
    ]
    assert main(args) == 2
    assert "sum to 0.9" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["file", "foreign folder"])
def test_whatif_checks_out_before_any_work(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, monkeypatch, kind: str
) -> None:
    import spmopt.payout.calc

    def fail(*args: object) -> None:
        raise AssertionError("what-if computed before --out was checked")

    monkeypatch.setattr(spmopt.payout.calc, "whatif", fail)
    out = tmp_path / "w"
    if kind == "file":
        out.write_text("x")
        pattern = f"--out {out} exists and is not a folder"
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
        pattern = "holds files that spmopt did not write"
    args = ["payout", "whatif", *CALC, "--credits", str(CFG / "credits_small.csv")]
    args += ["--change", "recredit:D002=R04", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and pattern in err and "Traceback" not in err
    assert not list(tmp_path.glob(".w*"))


MONEY = ["earned", "spif", "clawback", "draw"]


def _check_printed_money(out: Path) -> int:
    """Lines and payouts.csv components add up to paid as printed; rows checked."""
    lines = pd.read_csv(out / "statement_lines.csv", dtype=str, keep_default_na=False)
    assert not lines["amount"].str.endswith(".").any()
    sums: dict[tuple[str, str], Decimal] = {}
    for key, group in lines.groupby(["rep_id", "period"]):
        sums[key] = sum(map(Decimal, group["amount"]), Decimal(0))
    payouts = pd.read_csv(out / "payouts.csv", dtype=str, keep_default_na=False)
    for _, row in payouts.iterrows():
        paid = Decimal(row["paid"])
        assert sum((Decimal(row[c]) for c in MONEY), Decimal(0)) == paid, dict(row)
        assert sums.get((row["rep_id"], row["period"]), Decimal(0)) == paid
    for rep_id, group in lines.groupby("rep_id"):
        text = (out / "statements" / f"{rep_id}.txt").read_text()
        body = [x.split() for x in text.splitlines() if x.startswith("  ")]
        rows = [x for x in body if x and x[0] not in ("date", "Paid", "Draw")]
        assert len(rows) == len(group)
        assert all(a in r for a, r in zip(group["amount"], rows, strict=True))
    return len(payouts)


@pytest.mark.parametrize("decimals", [0, 1, 2, 3, 6])
def test_printed_money_adds_up_for_any_rounding_decimals(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, decimals: int
) -> None:
    plan = (CFG / "plan_quarterly.yaml").read_text()
    assert "rounding: {decimals: 2," in plan
    plan = plan.replace("rounding: {decimals: 2,", f"rounding: {{decimals: {decimals},")
    plan = plan.replace("draw: {amount: 4000,", "draw: {amount: 1234.567,")
    (tmp_path / "plan.yaml").write_text(plan)
    credits = (CFG / "credits_small.csv").read_text()
    credits += "D900,R03,2027-05-02,60000.123456789,revenue,,,,,\n"
    (tmp_path / "credits.csv").write_text(credits)
    out = tmp_path / "calc"
    args = ["payout", "calc", "--plan", str(tmp_path / "plan.yaml")]
    args += ["--quotas", str(CFG / "quotas_small.csv")]
    assert (
        main([*args, "--credits", str(tmp_path / "credits.csv"), "--out", str(out)])
        == 0
    )
    assert _check_printed_money(out) == 12 * 4


def test_large_amounts_are_read_and_written_exactly(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "plan.yaml").write_text(
        "name: simple\nperiod: year\nyear_start: 2027-01-01\nmeasures:\n"
        "  - name: revenue\n    rate_of: credit\n"
        "    curve: {basis: amount, tiers: [{from: 0, rate: 0.1}]}\n"
    )
    (tmp_path / "q.csv").write_text("rep_id,quota\nR01,1000000\n")
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R01,2027-01-05,123456789012345.67\n"
        "D2,R01,2027-01-06,0.01\n"
    )
    out = tmp_path / "calc"
    args = ["payout", "calc", "--plan", str(tmp_path / "plan.yaml")]
    args += ["--quotas", str(tmp_path / "q.csv"), "--credits", str(tmp_path / "c.csv")]
    assert main([*args, "--out", str(out)]) == 0
    lines = pd.read_csv(out / "statement_lines.csv", dtype=str)
    assert list(lines["amount"]) == ["12345678901234.567", "0.001", "0.002"]
    payouts = pd.read_csv(out / "payouts.csv", dtype=str)
    assert payouts["paid"].tolist() == ["12345678901234.57"]
    assert _check_printed_money(out) == 1


@pytest.mark.parametrize("value", ["123456789012345.67", "987654321098765.43"])
def test_huge_target_incentive_and_draw_balance_are_read_exactly(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys, value: str
) -> None:
    # 987654321098765.43 is 987654321098765.38 once read as a float
    (tmp_path / "plan.yaml").write_text(
        "name: big\nperiod: quarter\nyear_start: 2027-01-01\n"
        "draw: {amount: 1000, recoverable: true, carry_forward: true}\n"
        "measures:\n  - name: revenue\n    quota_column: quota\n"
        "    curve: {basis: attainment, tiers: [{from: 0, rate: 1.0}]}\n"
    )
    (tmp_path / "q.csv").write_text(
        f"rep_id,quota,target_incentive,draw_balance\nR01,1000000,{value},{value}\n"
    )
    (tmp_path / "c.csv").write_text(
        "credit_id,rep_id,date,amount\nD1,R01,2027-01-05,250000\n"
    )
    out = tmp_path / "calc"
    args = ["payout", "calc", "--plan", str(tmp_path / "plan.yaml")]
    args += ["--quotas", str(tmp_path / "q.csv"), "--credits", str(tmp_path / "c.csv")]
    assert main([*args, "--out", str(out)]) == 0
    exact = Decimal(value)
    earned = exact / 4  # attainment 1.0 of a quarter's quota, rate 1 x TI
    cent = Decimal("0.01")
    payouts = pd.read_csv(out / "payouts.csv", dtype=str)
    q1 = payouts.iloc[0]
    assert Decimal(q1["earned"]) == earned.quantize(cent, ROUND_HALF_UP)
    assert Decimal(q1["draw_balance"]) == (exact - earned + 1000).quantize(
        cent, ROUND_HALF_UP
    )
    shown = f"{exact:,.2f}"
    header = (out / "statements" / "R01.txt").read_text().splitlines()[2]
    assert f"target incentive {shown}; draw balance carried in {shown}" in header
    assert _check_printed_money(out) == 4


def _calc(tmp_path: Path, plan: str, quotas: str, credits: str) -> Path:
    (tmp_path / "plan.yaml").write_text(plan)
    (tmp_path / "q.csv").write_text(quotas)
    (tmp_path / "c.csv").write_text(credits)
    out = tmp_path / "calc"
    args = ["payout", "calc", "--plan", str(tmp_path / "plan.yaml")]
    args += ["--quotas", str(tmp_path / "q.csv"), "--credits", str(tmp_path / "c.csv")]
    assert main([*args, "--out", str(out)]) == 0
    return out


EXACT_PLAN = (
    "name: exact\nperiod: year\nyear_start: 2027-01-01\nmeasures:\n"
    "  - name: revenue\n    rate_of: credit\n    gates: [{min_attainment: 1}]\n"
    "    cap_amount: 123456789012345.01\n"
    "    curve: {basis: amount, tiers: [{from: 0, rate: 0.1}]}\n"
)


def test_quota_column_is_read_exactly_so_quota_is_reached_exactly(
    tmp_path: Path, capsys
) -> None:  # type: ignore[no-untyped-def]
    # R01 books exactly its quota: the gate at 100 % is met. Read as a float
    # the quota would be 98765432109876.55, one cent more: attainment just
    # below 1 and nothing paid.
    quota = "98765432109876.54"
    out = _calc(
        tmp_path,
        EXACT_PLAN,
        f"rep_id,quota\nR01,{quota}\n",
        f"credit_id,rep_id,date,amount\nD1,R01,2027-03-01,{quota}\n",
    )
    payouts = pd.read_csv(out / "payouts.csv", dtype=str)
    assert payouts["paid"].tolist() == ["9876543210987.65"]


def test_plan_cap_is_read_exactly_from_the_yaml(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 10 % of 1.5e15 earns 150e12 > the cap; read through a float the cap
    # would pay 123456789012345.02.
    credits = "credit_id,rep_id,date,amount\n"
    credits += "".join(f"D{i},R01,2027-03-01,500000000000000\n" for i in range(3))
    out = _calc(tmp_path, EXACT_PLAN, "rep_id,quota\nR01,1000\n", credits)
    payouts = pd.read_csv(out / "payouts.csv", dtype=str)
    assert payouts["paid"].tolist() == ["123456789012345.01"]
    lines = pd.read_csv(out / "statement_lines.csv", dtype=str)
    cap = lines[lines["kind"] == "cap"]
    assert Decimal(cap["amount"].iloc[0]) == Decimal("123456789012345.01") - Decimal(
        "150000000000000"
    )


def test_many_credits_sum_to_the_cent(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    # 2,000 credits of 0.10, 0.20 and 12345678.91: summed as floats they
    # drift (0.1 + 0.2 != 0.3); read and summed exactly, the commission at
    # a rate of 1 is their exact total.
    amounts = ["0.10", "0.20", "12345678.91", "0.01"] * 500
    credits = "credit_id,rep_id,date,amount\n" + "".join(
        f"D{i},R01,2027-0{1 + i % 9}-01,{a}\n" for i, a in enumerate(amounts)
    )
    plan = EXACT_PLAN.replace("rate: 0.1", "rate: 1")
    plan = plan.replace("    gates: [{min_attainment: 1}]\n", "")
    out = _calc(tmp_path, plan, "rep_id,quota\nR01,1000\n", credits)
    payouts = pd.read_csv(out / "payouts.csv", dtype=str)
    total = sum((Decimal(a) for a in amounts), Decimal(0))
    assert payouts["paid"].tolist() == [str(total)] == ["6172839610.00"]
