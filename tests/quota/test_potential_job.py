"""`spmopt quota potential` end to end on bundled Maven data; broken inputs."""

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spmopt.cli import main
from spmopt.config import load_config
from spmopt.quota import PotentialConfig, run_potential
from spmopt.runs import RunDir

FAST = {"lightgbm": {"n_estimators": 40}}


def _config(tmp_path: Path, **fields: object) -> Path:
    path = tmp_path / "potential.yaml"
    path.write_text(yaml.safe_dump({**FAST, **fields}))
    return path


def test_bundled_accounts_run_writes_forecasts_and_metrics(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["quota", "potential", str(_config(tmp_path)), "--out", str(out)]) == 0
    metrics = json.loads((out / "potential_metrics.json").read_text())
    assert metrics["split"] == "time"
    assert metrics["periods"]["test"] == ["2017-11", "2017-12"]
    assert max(metrics["periods"]["train"]) < min(metrics["periods"]["valid"])
    valid = metrics["valid"]
    best = min(valid, key=lambda name: valid[name]["mean_pinball"])
    calibrated = {"lightgbm": "lightgbm_calibrated"}
    assert metrics["chosen_model"] == calibrated.get(best, best)
    assert set(metrics["test"]) == {*valid, "lightgbm_calibrated"}
    assert len(metrics["calibration_offsets"]) == 3
    assert metrics["mlflow_run_id"]
    potential = pd.read_csv(out / "potential.csv")
    assert len(potential) == 85 and potential["period"].unique().tolist() == ["2018-01"]
    assert (potential["p10"] <= potential["p50"]).all()
    assert (potential["p50"] <= potential["p90"]).all()


def test_sales_agent_quarterly(tmp_path: Path) -> None:
    path = _config(
        tmp_path,
        entity="sales_agent",
        period="quarter",
        valid_periods=1,
        test_periods=1,
        track=False,
    )
    out = tmp_path / "agents"
    assert main(["quota", "potential", str(path), "--out", str(out)]) == 0
    potential = pd.read_csv(out / "potential.csv")
    assert "sales_agent" in potential.columns and len(potential) == 30
    metrics = json.loads((out / "potential_metrics.json").read_text())
    assert metrics["mlflow_run_id"] is None


def test_too_few_periods_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _config(tmp_path, period="quarter", track=False)
    assert main(["quota", "potential", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "period(s) with closed deals, need at least 6" in err
    assert not (tmp_path / "o").exists()


PIPELINE = (
    "account,deal_stage,engage_date,close_date,close_value\n"
    "A,Won,2017-01-02,2017-01-20,10\n"
)
BROKEN = [
    (
        "account,deal_stage,engage_date,close_date\nA,Won,2017-01-01,2017-01-02\n",
        {},
        "missing column(s) ['close_value']",
    ),
    (PIPELINE.replace("2017-01-20", "someday"), {}, "must be a date"),
    (PIPELINE.replace("Won", "Lost"), {}, "no row has deal_stage 'Won'"),
    (PIPELINE, {"colour": 1}, "unknown field 'colour'"),
    (PIPELINE, {"entity": "region"}, "field 'entity'"),
    ("account,deal_stage,engage_date,close_date,close_value\n", {}, "no rows"),
]


@pytest.mark.parametrize(("table", "fields", "message"), BROKEN)
def test_broken_inputs(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    table: str,
    fields: dict[str, object],
    message: str,
) -> None:
    (tmp_path / "deals.csv").write_text(table)
    path = _config(tmp_path, pipeline="deals.csv", accounts=None, **fields)
    out = tmp_path / "out"
    assert main(["quota", "potential", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()
    if not fields and "no rows" not in message:  # the table's content
        assert err.startswith(f"error: {path}: field 'pipeline': ")


def test_same_seed_gives_identical_forecasts(tmp_path: Path) -> None:
    path = _config(tmp_path, entity="sales_agent", track=False)
    for name in ("a", "b"):
        assert (
            main(["quota", "potential", str(path), "--out", str(tmp_path / name)]) == 0
        )
    for name in ("potential.csv", "importance.csv", "potential_metrics.json"):
        a = (tmp_path / "a" / name).read_bytes()
        assert a == (tmp_path / "b" / name).read_bytes()


def test_shipped_example_config_runs(tmp_path: Path) -> None:
    shipped = Path(__file__).resolve().parents[2] / "configs" / "quota"
    cfg = load_config(PotentialConfig, shipped / "potential_maven_accounts.yaml")
    cfg = cfg.model_copy(update={"track": False})
    with RunDir(tmp_path / "run", "potential") as run:
        headline = run_potential(cfg, run.writer, seed=0)
    assert headline["chosen_model"] == "lightgbm_calibrated"
    assert headline["chosen_test_pinball"] < headline["trailing_mean_test_pinball"]
    assert headline["chosen_test_pinball"] < headline["last_period_test_pinball"]
