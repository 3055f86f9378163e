"""`spmopt payout ...` in-process: success and one clear error per bad input."""

from pathlib import Path

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
        ("rep_id,quota\nA,100\n", "n_scenarioz: 5\n", "unknown field 'n_scenarioz'"),
        ("rep_id,quota\nA,100\n", "attainment: {sigma: -1}\n", "attainment.sigma"),
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
    assert "Traceback" not in err
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
