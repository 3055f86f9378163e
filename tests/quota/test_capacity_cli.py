"""`spmopt quota capacity` end to end, including broken inputs."""

import json
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
import yaml

from spmopt.cli import main

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "quota"


def test_plan_reaches_the_target_in_expectation(tmp_path: Path) -> None:
    out = tmp_path / "plan"
    config = CONFIGS / "capacity_plan.yaml"
    assert main(["quota", "capacity", str(config), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    plan = pd.read_csv(out / "headcount_plan.csv")
    assert summary["expected_bookings"] >= summary["target"]
    assert plan["hires_starting"].sum() == summary["total_hires"]
    assert plan["hires_starting"].max() <= 4
    assert plan.loc[plan["month"] <= 2, "hires_starting"].sum() == 0
    assert 0.0 <= summary["p_reach_target"] <= 1.0
    text = pd.read_csv(out / "headcount_plan.csv", dtype=str)
    monthly = [Decimal(v) for v in text["expected_bookings"]]
    running = [sum(monthly[: i + 1], Decimal(0)) for i in range(len(monthly))]
    assert [Decimal(v) for v in text["cumulative_bookings"]] == running  # as printed
    assert Decimal(str(summary["expected_bookings"])) == running[-1]
    assert text["cumulative_bookings"].str.fullmatch(r"\d+\.\d\d").all()


def test_reverse_mode_prices_the_given_hires(tmp_path: Path) -> None:
    out = tmp_path / "rev"
    config = CONFIGS / "capacity_supported.yaml"
    assert main(["quota", "capacity", str(config), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["mode"] == "supported"
    assert summary["hires_by_month"][:6] == [0, 0, 2, 2, 1, 1]
    assert summary["bookings_p10"] < summary["bookings_p90"]


def test_same_seed_same_files(tmp_path: Path) -> None:
    config = CONFIGS / "capacity_plan.yaml"
    for name in ("a", "b"):
        main(["quota", "capacity", str(config), "--out", str(tmp_path / name)])
    plan_a = (tmp_path / "a" / "headcount_plan.csv").read_bytes()
    assert plan_a == (tmp_path / "b" / "headcount_plan.csv").read_bytes()
    summaries = [
        json.loads((tmp_path / name / "summary.json").read_text()) for name in "ab"
    ]
    for summary in summaries:
        summary.pop("solve_seconds")
    assert summaries[0] == summaries[1]


BASE = {"quota_per_rep": 1000.0, "target": 5000.0}
BROKEN = [
    ({"hires": [1, 2]}, "give exactly one of target"),
    ({"target": None}, "give exactly one of target"),
    ({"quota_per_rep": -5}, "field 'quota_per_rep'"),
    ({"attrition_annual": 1.0}, "field 'attrition_annual'"),
    ({"team": 3}, "unknown field 'team'"),
    ({"max_hires_per_month": 1, "hiring_lag_months": 6}, "too low"),
    ({"seasonality": [1, 2]}, "field 'seasonality'"),
    ({"ramp": [0.0]}, "field 'ramp.0' must be greater than 0, got 0.0"),
    ({"hires": [1], "target": None, "confidence": 0.9}, "confidence applies"),
]


@pytest.mark.parametrize(("fields", "message"), BROKEN)
def test_broken_configs_give_one_message(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    fields: dict[str, object],
    message: str,
) -> None:
    cfg = {**BASE, **fields}
    cfg = {k: v for k, v in cfg.items() if v is not None}
    path = tmp_path / "capacity.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    assert main(["quota", "capacity", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_confidence_plan_reaches_the_target_with_that_probability(
    tmp_path: Path,
) -> None:
    out = tmp_path / "c"
    config = CONFIGS / "capacity_plan_confident.yaml"
    assert main(["quota", "capacity", str(config), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["p_reach_target"] >= 0.8
    assert summary["planned_expected_bookings"] > summary["target"]


def test_confidence_beyond_the_hiring_limits_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = yaml.safe_load((CONFIGS / "capacity_plan.yaml").read_text())
    cfg["confidence"] = 0.8
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert main(["quota", "capacity", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "confidence 0.8 needs about" in err and "max_hires_per_month 4" in err


def test_reps_in_seat_can_come_from_a_reps_table(tmp_path: Path) -> None:
    cfg = {**BASE, "reps": str(CONFIGS / "reps_small.csv"), "ramp": [0.5, 0.8]}
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "o"
    assert main(["quota", "capacity", str(path), "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    plan = pd.read_csv(out / "headcount_plan.csv")
    assert summary["starting_headcount"] == 12
    # R05 (0 months) and R12 (1 month) are still ramping in month 1
    assert plan["ramped_fte"].iloc[0] == pytest.approx(10 + 0.5 + 0.8)


def test_negative_tenure_in_the_reps_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "reps.csv").write_text("rep_id,months_in_seat\nA,-3\n")
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({**BASE, "reps": "reps.csv"}))
    assert main(["quota", "capacity", str(path), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "'months_in_seat' must be a number >= 0" in err
    assert err.startswith(f"error: {path}: field 'reps': {tmp_path / 'reps.csv'}: ")
