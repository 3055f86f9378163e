"""The demo chain on a reduced configuration: meaning, determinism, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

from spmopt.cli import main
from spmopt.data import load_ibm

VOLATILE_SUFFIX = "_seconds"
VOLATILE_PREFIX = "mlflow"


def _small_config(tmp_path: Path) -> Path:
    text = resources.files("spmopt").joinpath("demo.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    terr = data["territory"]
    terr["units"]["keep"] = {"state": ["GA", "SC"]}
    terr["reps"]["rows"] = [
        r for r in terr["reps"]["rows"] if r["rep_id"] in {"ATL", "SAV", "CLT"}
    ]
    terr["reps"]["default_capacity"] = 400
    terr["balance"] = [{"measure": "potential", "tolerance": 0.10}]
    sample = load_ibm().sample(6000, random_state=1)
    sample.to_csv(tmp_path / "ibm_sample.csv", index=False)
    data["forecast_ibm"]["table"] = str(tmp_path / "ibm_sample.csv")
    data["quota"]["target"] = 9_000_001.37
    data["quota"]["attainment"]["n_scenarios"] = 2000
    data["payout"]["n_scenarios"] = 2000
    path = tmp_path / "demo_small.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("demo")
    config = _small_config(tmp)
    outs = (tmp / "run_a", tmp / "run_b")
    args = ["--quiet", "demo", "--config", str(config), "--out"]
    # Each run gets a fresh MLflow store (promotion depends on the registry);
    # the second runs as a separate process, as a user would run it again.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp / 'a.db'}")
        assert main([*args, str(outs[0])]) == 0
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'b.db'}"}
    cmd = [sys.executable, "-m", "spmopt.cli", *args, str(outs[1])]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return outs


def test_territory_balance_within_tolerance(demo_runs: tuple[Path, Path]) -> None:
    terr = pd.read_csv(demo_runs[0] / "territory" / "territories.csv")
    assert len(terr) == 3
    assert terr["share_of_target"].between(0.90 - 1e-9, 1.10 + 1e-9).all()
    assert (terr["workload"] <= terr["capacity"] + 1e-9).all()


def test_quotas_sum_exactly_to_target(demo_runs: tuple[Path, Path]) -> None:
    quotas = pd.read_csv(demo_runs[0] / "quota" / "quotas.csv", dtype={"quota": str})
    total = sum(Decimal(q) for q in quotas["quota"])
    assert total == Decimal("9000001.37")
    p_attain = quotas["p_attain"].astype(float)
    assert p_attain.between(0, 1).all()
    ratio = quotas["quota"].astype(float) / quotas["potential"]
    ramping = quotas["rep_id"] == "SAV"
    assert ratio[ramping].iloc[0] < ratio[~ramping].min()


def test_forecasts_are_probabilities_and_verdicts_honest(
    demo_runs: tuple[Path, Path],
) -> None:
    for name in ("forecast_ibm", "forecast_maven"):
        metrics = json.loads((demo_runs[0] / name / "metrics.json").read_text())
        for model in metrics["models"].values():
            assert 0.0 <= model["brier"] <= 1.0
        rel = pd.read_csv(demo_runs[0] / name / "reliability.csv")
        assert rel["mean_predicted"].between(0, 1).all()
    maven = json.loads((demo_runs[0] / "forecast_maven" / "metrics.json").read_text())
    assert maven["verdict"] == "no usable signal"
    assert maven["promoted"] is False
    ibm = json.loads((demo_runs[0] / "forecast_ibm" / "metrics.json").read_text())
    assert ibm["models"]["lightgbm"]["auc"] > ibm["models"]["base_rate"]["auc"]


def test_payout_percentiles_ordered(demo_runs: tuple[Path, Path]) -> None:
    summary = json.loads((demo_runs[0] / "payout" / "summary.json").read_text())
    cost = summary["cost"]
    assert 0 <= cost["p5"] <= cost["p10"] <= cost["p50"] <= cost["p90"] <= cost["p99"]
    assert summary["n_reps"] == 3


def test_manifest_and_report(demo_runs: tuple[Path, Path]) -> None:
    manifest = json.loads((demo_runs[0] / "manifest.json").read_text())
    assert manifest["job"] == "demo"
    assert manifest["seed"] == 0
    assert "territory.max_balance_deviation" in manifest["headline"]
    assert "lightgbm" in manifest["packages"]
    report = (demo_runs[0] / "report.html").read_text()
    assert "spmopt report: run_a" in report and ".partial-" not in report
    for section in ("Territories", "Quotas", "Plan cost", "Plan comparison"):
        assert section in report


def _stable(path: Path, run: Path) -> object:
    if path.name == "report.html":  # titled after its folder
        return path.read_text().replace(run.name, "RUN")
    if path.suffix != ".json":
        return path.read_bytes()
    return _drop_volatile(json.loads(path.read_text()))


def _drop_volatile(value: object) -> object:
    if isinstance(value, dict):
        return {
            k: _drop_volatile(v)
            for k, v in value.items()
            if not (str(k).endswith(VOLATILE_SUFFIX) or VOLATILE_PREFIX in str(k))
        }
    if isinstance(value, list):
        return [_drop_volatile(v) for v in value]
    return value


def test_same_seed_same_files(demo_runs: tuple[Path, Path]) -> None:
    a, b = demo_runs
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert files_a == files_b
    skip = {Path("manifest.json")}
    for rel in files_a:
        if rel not in skip:
            assert _stable(a / rel, a) == _stable(b / rel, b), rel


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d["territory"]["reps"].update(default_capacity=-5), "capacity"),
        (lambda d: d["payout"]["plan"].update(bonus_pool=1), "bonus_pool"),
        (lambda d: d.update(colour="red"), "unknown field 'colour'"),
        (lambda d: d["quota"].update(target="lots"), "quota.target"),
        (lambda d: d.update(months_in_seat={"NOPE": 4}), "['NOPE']"),
    ],
)
def test_bad_demo_config_fails_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], edit: Any, message: str
) -> None:
    text = resources.files("spmopt").joinpath("demo.yaml").read_text()
    data = yaml.safe_load(text)
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["demo", "--config", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_missing_demo_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--config", str(tmp_path / "nope.yaml")]) == 2
    assert "config file not found" in capsys.readouterr().err
