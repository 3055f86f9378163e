"""Small run folders following the output-file contracts of each job."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

JOBS = (
    "territory",
    "forecast_ibm",
    "forecast_maven",
    "quota",
    "payout",
    "compare",
    "analytics",
)


def _csv(folder: Path, name: str, frame: pd.DataFrame) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / name, index=False)


def _json(folder: Path, name: str, data: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(data, indent=2, sort_keys=True))


def write_territory(folder: Path) -> None:
    rng = np.random.default_rng(1)
    n = 12
    reps = np.array(["r1", "r2", "r3"])
    before = reps[np.arange(n) % 3]
    after = before.copy()
    after[[0, 4]] = ["r2", "r3"]
    _csv(
        folder,
        "assignments.csv",
        pd.DataFrame(
            {
                "unit_id": [f"u{i:02d}" for i in range(n)],
                "rep_id": after,
                "previous_rep_id": before,
                "moved": after != before,
                "reason": np.where(after != before, "balance", "kept"),
                "lat": 30 + rng.uniform(0, 10, n),
                "lon": -100 + rng.uniform(0, 10, n),
                "potential": rng.uniform(1, 5, n).round(2),
                "workload": rng.uniform(1, 3, n).round(2),
            }
        ),
    )
    _csv(
        folder,
        "territories.csv",
        pd.DataFrame(
            {
                "rep_id": reps,
                "units": [4, 4, 4],
                "potential": [10.0, 11.0, 9.5],
                "workload": [7.0, 8.0, 6.0],
                "capacity": [10.0, 10.0, 10.0],
                "target_potential": [10.17] * 3,
                "share_of_target": [0.98, 1.08, 0.93],
                "distance_km": [100.0, 120.0, 90.0],
            }
        ),
    )
    _json(
        folder,
        "summary.json",
        {
            "status": "OPTIMAL", "objective": 310.0, "best_bound": 310.0,
            "gap": 0.0, "wall_seconds": 0.4, "max_balance_deviation": 0.08,
            "moved_share": 0.17, "balance_tolerance": 0.1, "n_units": n, "n_reps": 3,
        },
    )  # fmt: skip
    _csv(
        folder,
        "pareto.csv",
        pd.DataFrame(
            {"moved_share": [0.0, 0.1, 0.2],
             "max_balance_deviation": [0.3, 0.1, 0.05]}
        ),
    )  # fmt: skip


MODELS = ("base_rate", "logistic", "hist_gb", "lightgbm")


def write_forecast(folder: Path, dataset: str) -> None:
    metrics = {"auc": 0.8, "pr_auc": 0.6, "brier": 0.18, "log_loss": 0.5, "ece": 0.02}
    _json(
        folder,
        "metrics.json",
        {
            "dataset": dataset, "split": "time", "verdict": "usable signal",
            "chosen_model": "lightgbm", "base_rate": 0.3, "n_train": 100,
            "n_valid": 20, "n_test": 30, "mlflow_run_id": "abc123", "promoted": True,
            "models": {m: metrics for m in MODELS},
        },
    )  # fmt: skip
    bins = np.arange(5)
    _csv(
        folder,
        "reliability.csv",
        pd.DataFrame(
            {
                "model": "lightgbm",
                "bin": bins,
                "mean_predicted": (bins + 0.5) / 5,
                "observed_rate": (bins + 0.4) / 5,
                "count": 10,
            }
        ),
    )
    _csv(
        folder,
        "importance.csv",
        pd.DataFrame({"feature": ["size", "<b>region</b>"], "importance": [5.0, 2.0]}),
    )


def write_quota(folder: Path) -> None:
    _csv(
        folder,
        "quotas.csv",
        pd.DataFrame(
            {
                "rep_id": ["r1", "r2", "r3"],
                "potential": [10.0, 11.0, 9.5],
                "quota": [100.0, 110.0, 90.0],
                "floor": [50.0] * 3,
                "cap": [200.0] * 3,
                "binding": ["none", "none", "floor"],
                "p_attain": [0.6, 0.55, 0.7],
            }
        ),
    )
    _json(
        folder,
        "summary.json",
        {"target": 300.0, "quota_sum": 300.0, "rounding": 1.0,
         "share_expected_to_attain": 0.62},
    )  # fmt: skip
    _csv(
        folder,
        "quotas_by_period.csv",
        pd.DataFrame(
            {"rep_id": np.repeat(["r1", "r2", "r3"], 2), "period": ["H1", "H2"] * 3,
             "weight": [0.4, 0.6] * 3,
             "quota": [40.0, 60.0, 44.01, 65.99, 36.0, 54.0]}
        ),
    )  # fmt: skip


def write_payout(folder: Path) -> None:
    edges = np.linspace(0, 100, 6)
    _csv(
        folder,
        "cost_distribution.csv",
        pd.DataFrame(
            {"cost_low": edges[:-1], "cost_high": edges[1:], "count": [1, 5, 9, 4, 1]}
        ),
    )
    _csv(
        folder,
        "rep_payouts.csv",
        pd.DataFrame(
            {"rep_id": ["r1", "r2"], "quota": [100.0, 110.0],
             "payout_mean": [20.0, 25.0],
             "payout_p10": [5.0, 6.0], "payout_p50": [19.0, 24.0],
             "payout_p90": [35.0, 40.0], "p_cap": [0.01, 0.02]}
        ),
    )  # fmt: skip
    _csv(
        folder,
        "payout_curve.csv",
        pd.DataFrame(
            {"attainment": [0.0, 0.5, 1.0, 1.5],
             "payout_pct_of_target_incentive": [0.0, 0.4, 1.0, 2.0]}
        ),
    )  # fmt: skip
    cost = {"mean": 50.0, "p5": 20.0, "p10": 25.0, "p50": 49.0, "p90": 75.0,
            "p95": 80.0, "p99": 90.0, "cvar95": 88.0}  # fmt: skip
    _json(
        folder,
        "summary.json",
        {"cost": cost, "cost_at_mean_attainment": 45.0, "revenue_mean": 500.0,
         "cost_pct_revenue": 0.1, "mc_standard_error": 0.5, "n_scenarios": 20,
         "n_reps": 2, "p_any_cap": 0.03},
    )  # fmt: skip


def write_compare(folder: Path) -> None:
    rows = []
    for plan, scale in (("linear", 1.0), ("accelerated", 1.3)):
        write_payout(folder / plan)
        rows.append(
            {"plan": plan, "cost_mean": 50 * scale, "cost_p10": 25 * scale,
             "cost_p50": 49 * scale, "cost_p90": 75 * scale,
             "cost_at_mean_attainment": 45 * scale}
        )  # fmt: skip
    _csv(folder, "comparison.csv", pd.DataFrame(rows))


def write_analytics(folder: Path) -> None:
    base = {"n_deals": 10, "n_open": 2, "won_value": 100.0, "win_rate": 0.5}
    rows = [
        {"level": "company", "team": None, "rep_id": None, "period": "all", **base},
        {"level": "company", "team": None, "rep_id": None, "period": "2017Q1", **base},
        {"level": "team", "team": "T", "rep_id": None, "period": "all", **base},
        {"level": "rep", "team": "T", "rep_id": "r1", "period": "all", **base},
    ]
    _csv(folder, "kpis.csv", pd.DataFrame(rows))
    cards = pd.DataFrame(
        {
            "team": ["T"],
            "rep_id": ["r1"],
            "won_value": [100.0],
            "won_value_pct": [1.0],
            "flags": ["<b>long</b> cycles"],
        }
    )
    _csv(folder, "scorecards.csv", cards)
    _json(folder, "summary.json", {"n_reps": 1, "n_deals": 10})
    stages = pd.DataFrame(
        {"level": "company", "team": None, "stage": ["Prospecting", "Engaging"],
         "step": [1, 2], "reached": [10, 8], "passed": [8, 6],
         "conversion": [0.8, 0.75]}
    )  # fmt: skip
    _csv(folder, "stages.csv", stages)
    accuracy = pd.DataFrame(
        {"period": ["2017Q2", "all"], "n": [2, 2], "forecast": [90.0, 90.0],
         "actual": [100.0, 100.0], "error": [-10.0, -10.0], "mape": [0.1, 0.1],
         "bias": [-0.1, -0.1]}
    )  # fmt: skip
    _csv(folder, "forecast_accuracy.csv", accuracy)


WRITERS: dict[str, Callable[[Path], None]] = {
    "territory": write_territory,
    "forecast_ibm": lambda f: write_forecast(f, "ibm"),
    "forecast_maven": lambda f: write_forecast(f, "maven"),
    "quota": write_quota,
    "payout": write_payout,
    "compare": write_compare,
    "analytics": write_analytics,
}


def write_run(root: Path, jobs: tuple[str, ...] = JOBS) -> Path:
    """A demo-like run folder with the given job sub-folders and a manifest."""
    for job in jobs:
        WRITERS[job](root / job)
    _json(
        root,
        "manifest.json",
        {
            "job": "demo",
            "seed": 0,
            "headline": {"cost_p50": 49.0, "wall_seconds": 3.2},
            "packages": {"spmopt": "0.1.0"},
            "started_at": "2026-01-01T00:00:00+00:00",
        },
    )
    return root


@pytest.fixture
def make_run() -> Callable[..., Path]:
    """The :func:`write_run` function, for tests that choose the jobs."""
    return write_run


@pytest.fixture
def job_writers() -> dict[str, Callable[[Path], None]]:
    """Writers of one job's files into a folder, by job name."""
    return WRITERS


@pytest.fixture
def full_run(tmp_path: Path) -> Path:
    """A run folder with every job's files."""
    return write_run(tmp_path / "run")


@pytest.fixture(scope="module")
def shared_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full run folder shared by the tests of one module (do not modify)."""
    return write_run(tmp_path_factory.mktemp("shared") / "run")
