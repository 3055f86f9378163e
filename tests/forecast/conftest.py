"""Small synthetic deal tables for the forecast tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from spmopt.config import parse_config
from spmopt.forecast.config import ForecastConfig

REGIONS = ("East", "North", "South", "West")


def make_deals(n: int = 800, seed: int = 0, signal: float = 2.0) -> pd.DataFrame:
    """Deals whose outcome depends on ``score`` and ``region`` (text table)."""
    rng = np.random.default_rng(seed)
    score = rng.normal(size=n)
    region = rng.choice(REGIONS, size=n)
    effect = np.select([region == "East", region == "West"], [1.0, -1.0], 0.0)
    p_win = 1 / (1 + np.exp(-(signal * score + signal * effect - 0.3)))
    won = rng.random(n) < p_win
    created = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        rng.integers(0, 120, size=n), unit="D"
    )
    stage = np.where(won, "Closed Won", "Closed Lost")
    stage[rng.random(n) < 0.1] = "Open"
    closed = created + pd.to_timedelta(rng.integers(0, 60, size=n), unit="D")
    return pd.DataFrame(
        {
            "deal": [f"D{i:05d}" for i in range(n)],
            "created": created.strftime("%Y-%m-%d"),
            "closed": np.where(stage == "Open", "", closed.strftime("%Y-%m-%d")),
            "stage": stage,
            "owner": rng.choice(["ann", "bob", "cy"], size=n),
            "region": region,
            "score": np.round(score, 4).astype(str),
            "amount": np.round(rng.uniform(1000, 9000, size=n)).astype(str),
        }
    )


def config_dict(table: str, **overrides: Any) -> dict[str, Any]:
    """A valid config dict for a :func:`make_deals` table."""
    data: dict[str, Any] = {
        "dataset": "synthetic",
        "table": table,
        "columns": {
            "deal_id": "deal",
            "outcome": "stage",
            "won_values": ["Closed Won"],
            "lost_values": ["Closed Lost"],
            "prediction_date": "created",
            "owner": "owner",
            "amount": "amount",
            "categorical": ["region"],
            "numeric": ["score"],
        },
        "model": {"max_rounds": 200, "early_stopping_rounds": 20},
        "tracking": {"enabled": False},
    }
    data.update(overrides)
    return data


@pytest.fixture(autouse=True)
def _restore_log_handlers() -> Iterator[None]:
    """The CLI attaches handlers to captured streams; drop them afterwards."""
    loggers = [logging.getLogger(name) for name in ("spmopt", "py.warnings")]
    saved = [list(lg.handlers) for lg in loggers]
    yield
    for lg, handlers in zip(loggers, saved, strict=True):
        lg.handlers = handlers


@pytest.fixture
def deals_csv(tmp_path: Path) -> Path:
    path = tmp_path / "deals.csv"
    make_deals().to_csv(path, index=False)
    return path


@pytest.fixture
def cfg(deals_csv: Path) -> ForecastConfig:
    return parse_config(ForecastConfig, config_dict(str(deals_csv)))


@pytest.fixture(scope="session")
def make_config() -> Any:
    """``make_config(table, **overrides)`` builds a config dict."""
    return config_dict


@pytest.fixture(scope="session")
def deals_factory() -> Any:
    """``deals_factory(n, seed, signal)`` builds a synthetic deal table."""
    return make_deals
