"""The analytics job: KPIs and scorecards written to a run folder."""

from __future__ import annotations

from typing import Any

import pandas as pd

from spmopt._logging import logger
from spmopt.analytics.config import AnalyticsConfig
from spmopt.analytics.inputs import read_inputs
from spmopt.analytics.kpis import ALL_PERIODS, kpi_table
from spmopt.analytics.scorecards import scorecards
from spmopt.runs import RunWriter


def run_kpis(cfg: AnalyticsConfig, out: RunWriter, seed: int = 0) -> dict[str, Any]:
    """Compute KPIs and scorecards and write them through ``out``.

    Writes ``kpis.csv`` (one row per level, group and period),
    ``scorecards.csv`` (one row per rep) and ``summary.json``.

    Parameters
    ----------
    cfg : AnalyticsConfig
        Validated configuration.
    out : RunWriter
        Where the files go.
    seed : int
        Unused (the job is deterministic); kept for the common runner shape.

    Returns
    -------
    dict
        Headline figures: reps, deals, company win rate, won value (currency
        units), reps flagged.
    """
    deals, quotas, roster = read_inputs(cfg)
    kpis = kpi_table(deals, quotas, roster, period=cfg.period)
    cards = scorecards(kpis, cfg.flags)
    summary = _summary(kpis, cards, cfg)
    out.write_csv("kpis.csv", _rounded(kpis))
    out.write_csv("scorecards.csv", _rounded(cards))
    out.write_json("summary.json", summary)
    logger.info(
        "analytics: %d deals, %d reps, win rate %.3f, %d reps flagged",
        summary["n_deals"],
        summary["n_reps"],
        summary["win_rate"] or float("nan"),
        summary["reps_flagged"],
    )
    return {key: summary[key] for key in _HEADLINE}


_HEADLINE = ("n_reps", "n_deals", "win_rate", "won_value", "reps_flagged")


def _summary(
    kpis: pd.DataFrame, cards: pd.DataFrame, cfg: AnalyticsConfig
) -> dict[str, Any]:
    company = kpis[(kpis["level"] == "company") & (kpis["period"] == ALL_PERIODS)]
    row = company.iloc[0]
    periods = sorted(set(kpis["period"]) - {ALL_PERIODS})
    return {
        "pipeline": cfg.pipeline.path,
        "period": cfg.period,
        "periods": periods,
        "n_reps": len(cards),
        "n_teams": int(cards["team"].nunique()),
        "n_deals": int(row["n_deals"]),
        "n_open": int(row["n_open"]),
        "win_rate": _plain(row["win_rate"]),
        "value_win_rate": _plain(row["value_win_rate"]),
        "won_value": _plain(row["won_value"]),
        "open_value": _plain(row["open_value"]),
        "avg_deal_size": _plain(row["avg_deal_size"]),
        "cycle_days": _plain(row["cycle_days"]),
        "attainment": _plain(row["attainment"]),
        "coverage": _plain(row["coverage"]),
        "has_quotas": cfg.quotas is not None,
        "reps_flagged": int((cards["n_flags"] > 0).sum()),
    }


def _plain(value: Any) -> float | None:
    return None if pd.isna(value) else round(float(value), 6)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    floats = frame.select_dtypes("float").columns
    return frame.assign(**{c: frame[c].round(6) for c in floats})
