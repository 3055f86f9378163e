from pathlib import Path

import pandas as pd

from spmopt.cli import main
from spmopt.payout.compare import MONEY, design_names
from spmopt.payout.plan import load_plan

CFG = Path(__file__).resolve().parents[2] / "configs" / "payout"


def write_config(tmp_path: Path) -> Path:
    text = (CFG / "simulate.yaml").read_text()
    text = text.replace("n_scenarios: 20000", "n_scenarios: 3000")
    text += "mlflow: {enabled: false}\n"
    text = text.replace(
        "plan: plan_accelerator.yaml", f"plan: {CFG / 'plan_accelerator.yaml'}"
    )
    text = text.replace(
        "quotas: quotas_small.csv", f"quotas: {CFG / 'quotas_small.csv'}"
    )
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    return path


def test_compare_prices_designs_on_the_same_years(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    plans = [str(CFG / "plan_accelerator.yaml"), str(CFG / "plan_linear.yaml")]
    out = tmp_path / "cmp"
    assert (
        main(["payout", "compare", *plans, "--config", str(config), "--out", str(out)])
        == 0
    )
    table = pd.read_csv(out / "comparison.csv").set_index("plan")
    assert list(table.index) == ["ae_accelerator", "linear"]
    # A linear uncapped plan costs exactly its value at mean attainment on average.
    linear = table.loc["linear"]
    gap = abs(linear["cost_mean"] - linear["cost_at_mean_attainment"])
    assert gap < 4 * linear["mc_standard_error"]
    accel = table.loc["ae_accelerator"]
    assert accel["cost_mean"] > accel["cost_at_mean_attainment"]
    assert (
        accel["cost_p90"] - accel["cost_p10"] > linear["cost_p90"] - linear["cost_p10"]
    )
    assert (out / "linear" / "summary.json").is_file() and (
        out / "plots.html"
    ).is_file()
    text = pd.read_csv(out / "comparison.csv", dtype=str)
    for column in MONEY:  # cents, never 1234567.8900000001 nor 450000.0
        assert text[column].str.fullmatch(r"-?\d+\.\d\d").all(), column
    assert text["p_any_cap"].str.fullmatch(r"\d(\.\d{1,6})?").all()
    for name in ("linear", "ae_accelerator"):
        reps = pd.read_csv(out / name / "rep_payouts.csv", dtype=str)
        assert reps["quota"].str.fullmatch(r"\d+\.\d\d").all()


def test_compare_bad_plan_exits_2(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("measures: []\n")
    args = [
        "payout",
        "compare",
        str(CFG / "plan_linear.yaml"),
        str(bad),
        "--config",
        str(config),
        "--out",
        str(tmp_path / "cmp"),
    ]
    assert main(args) == 2
    assert "measures" in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()


def test_design_names_are_unique() -> None:
    plan = load_plan(CFG / "plan_linear.yaml")
    assert design_names([plan, plan]) == ["linear", "linear_2"]


def test_needs_a_plan(tmp_path: Path) -> None:
    assert main(["payout", "compare", "--config", str(write_config(tmp_path))]) == 2


def test_compare_needs_two_plans(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    config = write_config(tmp_path)
    args = ["payout", "compare", str(CFG / "plan_linear.yaml"), "--config", str(config)]
    assert main([*args, "--out", str(tmp_path / "cmp")]) == 2
    assert "two or more plan files, got 1" in capsys.readouterr().err
    assert not (tmp_path / "cmp").exists()
