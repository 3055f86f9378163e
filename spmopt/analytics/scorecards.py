"""Rep scorecards: each rep's KPIs next to team peers, with coaching flags."""

from __future__ import annotations

import numpy as np
import pandas as pd

from spmopt.analytics.config import FlagRules
from spmopt.analytics.kpis import ALL_PERIODS

SCORED = (
    "won_value",
    "win_rate",
    "value_win_rate",
    "avg_deal_size",
    "cycle_days",
    "open_value",
    "attainment",
    "coverage",
)
"""KPIs that get a percentile within the team."""


def team_percentiles(reps: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    """Percentile of each rep's value among the reps of its team.

    The percentile places the rep between the lowest (0.0) and the highest
    (1.0) known value in its team: ``(rank - 1) / (peers - 1)``, ties
    sharing their average rank. Missing values stay missing and do not
    count as peers; a rep without peers gets a missing percentile.

    Parameters
    ----------
    reps : DataFrame
        One row per rep with ``team`` and the ``columns``.
    columns : tuple of str
        KPIs to rank.

    Returns
    -------
    DataFrame
        ``<column>_pct`` for each column, in [0, 1], same index as ``reps``.
    """
    grouped = reps.groupby("team", dropna=False)
    ranks = {}
    for column in columns:
        rank = grouped[column].rank(method="average")
        known = grouped[column].transform("count").astype(float)
        ranks[f"{column}_pct"] = (rank - 1) / (known - 1).where(known > 1)
    return pd.DataFrame(ranks, index=reps.index)


def rep_flags(card: pd.Series, rules: FlagRules) -> list[str]:
    """Coaching flags of one scorecard row, most urgent first."""
    flags = []
    if card["n_won"] + card["n_lost"] == 0:
        flags.append("no closed deals")
    if card["quota"] == 0:
        flags.append("zero quota")
    elif card["attainment"] < rules.attainment_floor:
        flags.append(f"attainment below {rules.attainment_floor:.0%}")
    if card["peers"] >= rules.min_peers:
        flags.extend(_peer_flags(card, rules))
    return flags


def _peer_flags(card: pd.Series, rules: FlagRules) -> list[str]:
    flags = []
    big_pipeline = card["open_value_pct"] >= rules.high
    if big_pipeline and card["win_rate_pct"] <= rules.low:
        flags.append("high pipeline, low win rate")
    if card["cycle_days_pct"] >= rules.high:
        flags.append("long cycles")
    if card["avg_deal_size_pct"] <= rules.low:
        flags.append("small deals")
    if card["won_value_pct"] >= rules.high and card["win_rate_pct"] >= rules.high:
        flags.append("top performer")
    return flags


def scorecards(kpis: pd.DataFrame, rules: FlagRules | None = None) -> pd.DataFrame:
    """One row per rep over all periods: KPIs, team percentiles and flags.

    Parameters
    ----------
    kpis : DataFrame
        As returned by :func:`~spmopt.analytics.kpis.kpi_table`.
    rules : FlagRules, optional
        Thresholds for the flags; defaults when omitted.

    Returns
    -------
    DataFrame
        ``rep_id``, ``team``, ``peers`` (reps in the team), the KPIs, their
        ``*_pct`` percentiles in the team, ``flags`` (``"; "``-separated)
        and ``n_flags``; sorted by team then won value, highest first.
    """
    rules = rules or FlagRules()
    is_rep = (kpis["level"] == "rep") & (kpis["period"] == ALL_PERIODS)
    reps = kpis[is_rep].drop(columns=["level", "period"]).reset_index(drop=True)
    reps["peers"] = reps.groupby("team", dropna=False)["rep_id"].transform("size")
    reps = pd.concat([reps, team_percentiles(reps, SCORED)], axis=1)
    flags = [rep_flags(row, rules) for _, row in reps.iterrows()]
    reps["flags"] = ["; ".join(f) for f in flags]
    reps["n_flags"] = np.array([len(f) for f in flags], dtype=int)
    reps = reps.sort_values(
        ["team", "won_value", "rep_id"], ascending=[True, False, True], kind="mergesort"
    )
    return reps.reset_index(drop=True)
