"""`spmopt demo`: the whole chain on bundled real data in one run folder.

1. Territory: US counties of a region aligned to reps with OR-Tools CP-SAT,
   potential from census business data balanced within a tolerance.
2. Forecast: LightGBM deal-win models on the IBM win/loss table (grouped
   split, stage timings excluded) and on the dated Maven pipeline (time
   split, engage-time features only), each against baselines.
3. Quota: the company target split over the demo reps from their
   territory potential so the quotas sum exactly to the target (PuLP).
4. Payout: attainment simulated by Monte Carlo and an example plan priced
   with P10/P50/P90 total cost, next to alternative plan designs.
5. Analytics: KPIs and rep scorecards of the Maven pipeline.

Each job writes into its own sub-folder; the report ties them together.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd
import typer
from pydantic import Field, model_validator

from spmopt._logging import logger
from spmopt.analytics import AnalyticsConfig, run_kpis
from spmopt.clikit import record_inputs, show_figure, status_ticker
from spmopt.config import Config, load_config, parse_config, read_yaml
from spmopt.forecast import ForecastConfig, run_train
from spmopt.payout import PlanConfig, SimulateConfig, run_simulate
from spmopt.payout.compare import run_compare
from spmopt.quota import QuotaConfig, run_set
from spmopt.report import build_report
from spmopt.runs import RunDir, RunWriter
from spmopt.territory import TerritoryConfig, run_solve
from spmopt.tracking import check_store, resolve_tracking_uri

DEMO_CONFIG = "demo.yaml"
FULLY_RAMPED_MONTHS = 120


class DemoConfig(Config):
    """Settings of every job in the demo chain (see ``spmopt/demo.yaml``)."""

    territory: TerritoryConfig
    bookings_per_potential_unit: float = Field(gt=0)
    months_in_seat: dict[str, int] = Field(default_factory=dict)
    forecast_ibm: ForecastConfig
    forecast_maven: ForecastConfig
    quota: QuotaConfig
    payout: SimulateConfig
    compare_plans: list[PlanConfig] = Field(default_factory=list)
    analytics: AnalyticsConfig | None = None

    @model_validator(mode="after")
    def _ramping_reps_exist(self) -> DemoConfig:
        reps = self.territory.reps
        rows = (reps.rows if reps is not None else None) or []
        known = {row.rep_id for row in rows}
        unknown = sorted(set(self.months_in_seat) - known)
        if rows and unknown:
            raise ValueError(
                f"months_in_seat names rep(s) {unknown} that are not territory "
                f"reps; known: {', '.join(sorted(known))}"
            )
        return self


def bundled_demo_config() -> DemoConfig:
    """The demo settings shipped inside the package."""
    source = resources.files("spmopt").joinpath(DEMO_CONFIG)
    with resources.as_file(source) as path:
        data = read_yaml(path)
        return parse_config(DemoConfig, data, source=str(path), base_dir=path.parent)


def run_chain(cfg: DemoConfig, run: RunWriter, seed: int) -> dict[str, Any]:
    """Run the four jobs in order, feeding each one's output to the next.

    Returns
    -------
    dict
        Headline figures of every job, keyed ``<job>.<figure>``.
    """
    headline: dict[str, Any] = {}
    sections = {
        "territory": lambda out: run_solve(cfg.territory, out, seed),
        "forecast_ibm": lambda out: run_train(cfg.forecast_ibm, out, seed),
        "forecast_maven": lambda out: run_train(cfg.forecast_maven, out, seed),
    }
    for name, job in sections.items():
        headline.update(_prefixed(name, job(run.view(name))))

    reps = _quota_reps(cfg, run)
    quota_cfg = cfg.quota.model_copy(update={"reps": str(reps)})
    headline.update(_prefixed("quota", run_set(quota_cfg, run.view("quota"), seed)))

    quotas = run.view("quota").file("quotas.csv")
    payout_cfg = cfg.payout.model_copy(update={"quotas": str(quotas)})
    payout = run_simulate(payout_cfg, run.view("payout"), seed)
    headline.update(_prefixed("payout", payout))
    if cfg.compare_plans:
        plans = [payout_cfg.resolved_plan(), *cfg.compare_plans]
        compared = run_compare(payout_cfg, run.view("compare"), seed, plans)
        headline.update(_prefixed("compare", compared))
    if cfg.analytics is not None:
        kpis = run_kpis(cfg.analytics, run.view("analytics"), seed)
        headline.update(_prefixed("analytics", kpis))
    return headline


def _quota_reps(cfg: DemoConfig, run: RunWriter) -> Path:
    """Turn territory potential into expected bookings (USD) per rep."""
    territories = pd.read_csv(run.view("territory").file("territories.csv"))
    reps = pd.DataFrame(
        {
            "rep_id": territories["rep_id"].astype(str),
            "territory_potential": territories["potential"],
            "potential": territories["potential"] * cfg.bookings_per_potential_unit,
        }
    )
    seat = reps["rep_id"].map(cfg.months_in_seat)
    reps["months_in_seat"] = seat.fillna(FULLY_RAMPED_MONTHS).astype(int)
    return run.view("quota").write_csv("reps_input.csv", reps)


def _prefixed(section: str, figures: dict[str, Any]) -> dict[str, Any]:
    return {f"{section}.{key}": value for key, value in figures.items()}


def run_demo(out: Path, seed: int = 0, config_path: Path | None = None) -> Path:
    """Validate the demo settings, run the chain, publish, print a summary."""
    if config_path is None:
        cfg = bundled_demo_config()
    else:
        cfg = load_config(DemoConfig, config_path)
    check_store(resolve_tracking_uri(cfg.forecast_ibm.tracking.uri))
    with RunDir(out, "demo", config=cfg, seed=seed) as run, status_ticker("demo"):
        if config_path is not None:
            run.add_input(config_path)
        record_inputs(run, cfg)
        run.headline.update(run_chain(cfg, run.writer, seed))
    report = build_report(out).name  # after publishing: it reads the manifest
    logger.info("demo finished: %s", out)
    _echo_summary(out, run.headline, report)
    return out


def _echo_summary(out: Path, headline: dict[str, Any], report: str) -> None:
    typer.echo(f"\nspmopt demo finished: results in {out}/")
    for key, value in headline.items():
        if key.endswith("_seconds") or key.startswith("mlflow"):
            continue
        typer.echo(f"  {key}: {show_figure(value)}")
    typer.echo(f"\nreport: {out / report} (open it in a browser)")
    uri = resolve_tracking_uri()
    typer.echo(f"MLflow runs: mlflow ui --backend-store-uri {uri}")
