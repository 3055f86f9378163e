"""Sales KPIs per rep, team and period from a table of deals.

The functions here are pure: they take a prepared deals table (see
:func:`spmopt.analytics.inputs.prepare_deals`) and return new tables.
Every KPI is first summed per rep and period (counts, values, days) and
only then turned into ratios, so team, company and all-period roll-ups
use the same definitions as the rep rows. Definitions are in
``docs/glossary.md``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Period = Literal["month", "quarter", "year"]
ALL_PERIODS = "all"
"""Period label of the rows that cover the whole table."""

DEAL_COLUMNS = ("deal_id", "rep_id", "team", "outcome", "created", "closed", "value")
"""Columns of a prepared deals table.

``outcome`` is ``"won"``, ``"lost"`` or ``"open"``; ``value`` is the deal
value in currency units (booked value when won, estimated otherwise);
``created`` and ``closed`` are dates (``closed`` missing when open).
"""

_SUMS = (
    "n_deals",
    "n_won",
    "n_lost",
    "n_open",
    "won_value",
    "lost_value",
    "open_value",
    "cycle_days_sum",
    "n_cycle",
)
_PERIOD_CODES = {"month": "M", "quarter": "Q", "year": "Y"}


def period_labels(dates: pd.Series, period: Period) -> pd.Series:
    """Label each date with its period, e.g. ``2017Q1``; missing stays missing.

    Parameters
    ----------
    dates : Series of datetime64
        Dates (close dates of deals).
    period : {"month", "quarter", "year"}
        Length of a period.

    Returns
    -------
    Series of str
        ``2017-03`` (month), ``2017Q1`` (quarter) or ``2017`` (year).
    """
    labels = dates.dt.to_period(_PERIOD_CODES[period]).astype("string")
    return labels.astype(object).where(dates.notna(), None)


def deal_sums(deals: pd.DataFrame, period: Period) -> pd.DataFrame:
    """Additive sums per rep, team and period of close.

    Closed deals count in the period of their close date. Open deals have
    no close date and count only in the all-period rows (see
    :func:`kpi_table`), where they make up the open pipeline.

    Returns
    -------
    DataFrame
        One row per (rep_id, team, period) with the columns of ``_SUMS``;
        values in currency units, ``cycle_days_sum`` in days over won
        deals that have a creation date.
    """
    frame = deals.assign(period=period_labels(deals["closed"], period))
    frame["period"] = frame["period"].where(frame["outcome"] != "open", None)
    frame["period"] = frame["period"].fillna(ALL_PERIODS)
    won = frame["outcome"] == "won"
    cycle = (frame["closed"] - frame["created"]).dt.days.where(won)
    parts = pd.DataFrame(
        {
            "rep_id": frame["rep_id"],
            "team": frame["team"],
            "period": frame["period"],
            "n_deals": 1,
            "n_won": won.astype(int),
            "n_lost": (frame["outcome"] == "lost").astype(int),
            "n_open": (frame["outcome"] == "open").astype(int),
            "won_value": frame["value"].where(won, 0.0).fillna(0.0),
            "lost_value": _value_if(frame, "lost"),
            "open_value": _value_if(frame, "open"),
            "cycle_days_sum": cycle.fillna(0.0).astype(float),
            "n_cycle": cycle.notna().astype(int),
        }
    )
    keys = ["rep_id", "team", "period"]
    return parts.groupby(keys, sort=True, dropna=False).sum().reset_index()


def _value_if(frame: pd.DataFrame, outcome: str) -> pd.Series:
    return frame["value"].where(frame["outcome"] == outcome, 0.0).fillna(0.0)


def kpi_table(
    deals: pd.DataFrame,
    quotas: pd.DataFrame | None = None,
    roster: pd.DataFrame | None = None,
    period: Period = "quarter",
    payouts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """KPIs per rep, team and company, per period and over all periods.

    Parameters
    ----------
    deals : DataFrame
        Prepared deals with the columns of :data:`DEAL_COLUMNS`.
    quotas : DataFrame, optional
        ``rep_id``, ``quota`` (currency units) and optionally ``period``
        (labels as :func:`period_labels` gives, or ``"all"``). Quotas
        without a period apply to the whole table. Team quotas are the
        sum of their reps' quotas.
    roster : DataFrame, optional
        ``rep_id`` and ``team`` of every rep. Reps on the roster without
        deals get rows of zeros; teams of reps with a quota but no deals
        come from here.
    period : {"month", "quarter", "year"}
        Period length of the per-period rows.
    payouts : DataFrame, optional
        ``rep_id``, ``payout`` (incentive paid, currency units) and
        optionally ``period``, matched like quotas; gives
        ``cost_pct_revenue``.

    Returns
    -------
    DataFrame
        One row per ``level`` (``rep``, ``team``, ``company``), group and
        period, with the sums and the ratios of :func:`add_ratios`.
    """
    teams = _team_map(deals, roster)
    sums = pd.concat([deal_sums(deals, period), _empty_rows(teams)])
    sums = sums.assign(**{column: np.nan for column in _GIVEN})
    plan = {"quota": quotas, "payout": payouts}
    for column, given in plan.items():
        if given is not None:
            sums = pd.concat([sums, _given_rows(given, column, teams)])
    reps = pd.concat([sums, _total_over_periods(sums)], ignore_index=True)
    reps = _roll_up(reps, ["rep_id", "team", "period"])
    frames = [
        reps.assign(level="rep"),
        _roll_up(reps, ["team", "period"]).assign(level="team", rep_id=None),
        _roll_up(reps, ["period"]).assign(level="company", rep_id=None, team=None),
    ]
    table = pd.concat(frames, ignore_index=True)
    return _order(add_ratios(table))


_GIVEN = ("quota", "payout")
"""Figures given per rep (and period) rather than summed from deals."""


def _team_map(deals: pd.DataFrame, roster: pd.DataFrame | None) -> pd.Series:
    teams = deals.drop_duplicates("rep_id").set_index("rep_id")["team"]
    if roster is None:
        return teams
    listed = roster.drop_duplicates("rep_id").set_index("rep_id")["team"]
    return listed.combine_first(teams)


def _empty_rows(teams: pd.Series) -> pd.DataFrame:
    rows = pd.DataFrame({"rep_id": teams.index, "team": teams.to_numpy()})
    rows["period"] = ALL_PERIODS
    for column in _SUMS:
        rows[column] = 0
    return rows


def _given_rows(given: pd.DataFrame, column: str, teams: pd.Series) -> pd.DataFrame:
    """Rows carrying one given figure (quota or payout) per rep and period."""
    rows = given.copy()
    if "period" not in rows.columns:
        rows["period"] = ALL_PERIODS
    rows["period"] = rows["period"].fillna(ALL_PERIODS).astype(str)
    rows["team"] = rows["rep_id"].map(teams)
    rows = rows[["rep_id", "team", "period", column]]
    return rows.assign(**{name: 0 for name in _SUMS})


def _total_over_periods(sums: pd.DataFrame) -> pd.DataFrame:
    """Sum each rep's period rows into an all-period row.

    A rep's all-period quota (or payout) is its explicit all-period figure
    when given, otherwise the sum of its period figures.
    """
    dated = sums[sums["period"] != ALL_PERIODS]
    total = _roll_up(dated, ["rep_id", "team"]).assign(period=ALL_PERIODS)
    undated = sums[sums["period"] == ALL_PERIODS]
    for column in _GIVEN:
        explicit = undated.loc[undated[column].notna(), "rep_id"]
        total.loc[total["rep_id"].isin(explicit), column] = np.nan
    return total


def _roll_up(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    grouped = frame.groupby(keys, sort=True, dropna=False)
    summed = grouped[list(_SUMS)].sum()
    for column in _GIVEN:
        summed[column] = grouped[column].sum(min_count=1)
    return summed[[*_SUMS, *_GIVEN]].reset_index()


def add_ratios(table: pd.DataFrame) -> pd.DataFrame:
    """Add the ratio KPIs to a table of sums.

    Columns added (missing when the denominator is zero or unknown):
    ``win_rate`` (won / closed deals), ``value_win_rate`` (won value /
    closed value), ``avg_deal_size`` (won value / won deals, currency
    units), ``cycle_days`` (mean days from creation to close of won
    deals), ``attainment`` (won value / quota; missing for a zero quota),
    ``coverage`` (open value / quota), ``velocity_per_day`` (open deals x
    win rate x average deal size / cycle days, currency units per day),
    ``cost_pct_revenue`` (payout / won value).
    """
    out = table.copy()
    closed = out["n_won"] + out["n_lost"]
    out["win_rate"] = _ratio(out["n_won"], closed)
    out["value_win_rate"] = _ratio(
        out["won_value"], out["won_value"] + out["lost_value"]
    )
    out["avg_deal_size"] = _ratio(out["won_value"], out["n_won"])
    out["cycle_days"] = _ratio(out["cycle_days_sum"], out["n_cycle"])
    out["attainment"] = _ratio(out["won_value"], out["quota"])
    out["coverage"] = _ratio(out["open_value"], out["quota"])
    expected = out["n_open"] * out["win_rate"] * out["avg_deal_size"]
    out["velocity_per_day"] = _ratio(expected, out["cycle_days"])
    out["cost_pct_revenue"] = _ratio(out["payout"], out["won_value"])
    return out


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    num = num.astype(float)
    den = den.astype(float)
    return (num / den.where(den > 0)).astype(float)


def _order(table: pd.DataFrame) -> pd.DataFrame:
    levels = {"company": 0, "team": 1, "rep": 2}
    table = table.assign(
        _level=table["level"].map(levels),
        _all=(table["period"] != ALL_PERIODS).astype(int),
    )
    keys = ["_level", "team", "rep_id", "_all", "period"]
    table = table.sort_values(keys, na_position="first", kind="mergesort")
    first = ["level", "team", "rep_id", "period"]
    rest = [c for c in table.columns if c not in first and not c.startswith("_")]
    return table[first + rest].reset_index(drop=True)
