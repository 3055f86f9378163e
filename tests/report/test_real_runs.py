"""The report on folders written by the real jobs (catches contract drift)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from spmopt.analytics import AnalyticsConfig, run_kpis
from spmopt.config import load_config
from spmopt.report import build_report
from spmopt.runs import RunDir

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _quota(run: RunDir) -> None:
    from spmopt.quota import QuotaConfig, run_set

    cfg = load_config(QuotaConfig, CONFIGS / "quota" / "small_team.yaml")
    attainment = cfg.attainment.model_copy(update={"n_scenarios": 2000})
    run_set(cfg.model_copy(update={"attainment": attainment}), run.view("quota"), 0)


def _payout(run: RunDir) -> None:
    from spmopt.payout import SimulateConfig, run_simulate

    cfg = load_config(SimulateConfig, CONFIGS / "payout" / "simulate.yaml")
    run_simulate(cfg.model_copy(update={"n_scenarios": 500}), run.view("payout"), 0)


def _territory(run: RunDir) -> None:
    from spmopt.territory import TerritoryConfig, run_solve

    path = CONFIGS / "territory" / "counties_southeast.yaml"
    run_solve(load_config(TerritoryConfig, path), run.view("territory"), 0)


def _forecast(run: RunDir) -> None:
    from spmopt.forecast import ForecastConfig, run_train

    path = CONFIGS / "forecast" / "maven.yaml"
    run_train(load_config(ForecastConfig, path), run.view("forecast_maven"), 0)


def _analytics(run: RunDir) -> None:
    path = CONFIGS / "analytics" / "maven_kpis.yaml"
    run_kpis(load_config(AnalyticsConfig, path), run.view("analytics"), 0)


def _figures(text: str) -> set[str]:
    return set(re.findall(r"data-figure='([^']+)'", text))


def test_report_on_quota_and_analytics_runs(tmp_path: Path) -> None:
    with RunDir(tmp_path / "run", "test") as run:
        _quota(run)
        _analytics(run)
    text = build_report(tmp_path / "run").read_text()
    assert {"quota-quotas", "quota-attain", "quota-fairness"} <= _figures(text)
    assert {"analytics-periods", "analytics-stages", "analytics-accuracy"} <= _figures(
        text
    )
    assert "Could not draw" not in text
    assert "Not in this run: looked for territory/assignments.csv" in text


@pytest.mark.slow
def test_report_on_every_job(tmp_path: Path) -> None:
    with RunDir(tmp_path / "run", "test") as run:
        for job in (_territory, _forecast, _quota, _payout, _analytics):
            job(run)
    text = build_report(tmp_path / "run").read_text()
    assert "Could not draw" not in text and "Not in this run: looked for t" not in text
    expected = {"territory-map", "territory-balance", "forecast_maven-reliability"}
    expected |= {"payout-cost", "payout-curve", "quota-quotas"}
    assert expected <= _figures(text)


def _sections(text: str) -> list[str]:
    return re.findall(r"<section id='([^']+)'", text)


def test_report_on_capacity_and_whatif_runs(tmp_path: Path) -> None:
    from spmopt.cli import main

    capacity = tmp_path / "capacity"
    args = ["quota", "capacity", str(CONFIGS / "quota" / "capacity_plan.yaml")]
    assert main(["--quiet", *args, "--out", str(capacity)]) == 0
    text = build_report(capacity).read_text()
    assert _sections(text) == ["overview", "capacity"]
    assert {"capacity-headcount", "capacity-bookings"} <= _figures(text)
    payout = CONFIGS / "payout"
    whatif = tmp_path / "whatif"
    args = ["payout", "whatif", "--change", "recredit:D003=R04"]
    args += ["--plan", str(payout / "plan_quarterly.yaml")]
    args += ["--credits", str(payout / "credits_small.csv")]
    args += ["--quotas", str(payout / "quotas_small.csv"), "--out", str(whatif)]
    assert main(["--quiet", *args]) == 0
    text = build_report(whatif).read_text()
    assert _sections(text) == ["overview", "whatif"]
    assert "whatif-difference" in _figures(text) and "Could not draw" not in text
