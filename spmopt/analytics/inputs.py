"""Reading and checking the analytics job's tables."""

from __future__ import annotations

import re
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from spmopt.analytics.config import (
    AnalyticsConfig,
    ForecastsTable,
    PayoutsTable,
    PipelineTable,
    ProductsTable,
    QuotasTable,
    TeamsTable,
)
from spmopt.analytics.kpis import ALL_PERIODS, DEAL_COLUMNS, Period, period_labels
from spmopt.data import check_schema, load_table, require_nonnegative, require_unique
from spmopt.errors import DataError, SpmoptWarning


def deal_outcomes(stage: pd.Series, won: tuple[str, ...], lost: tuple[str, ...]):
    """Map stage names to ``"won"``, ``"lost"`` or ``"open"``.

    Any stage that is neither won nor lost is open.
    """
    outcome = np.where(
        stage.isin(won), "won", np.where(stage.isin(lost), "lost", "open")
    )
    return pd.Series(outcome, index=stage.index, dtype=object)


def read_pipeline(spec: PipelineTable) -> pd.DataFrame:
    """Read the pipeline table and check its columns and values."""
    table = f"pipeline ({spec.path})"
    schema = {
        spec.deal_id: "str",
        spec.rep_id: "str",
        spec.stage: "str",
        spec.created: "date",
        spec.closed: "date",
        spec.value: "float",
    }
    optional = {spec.product: "str"} if spec.product else None
    frame = check_schema(load_table(spec.path, name=table), schema, table, optional)
    require_unique(frame, spec.deal_id, table)
    _require_present(frame, spec.rep_id, table)
    check_stages(frame[spec.stage], spec, table)
    values = frame[spec.value].dropna()
    require_nonnegative(values.to_frame(), spec.value, table)
    return frame


def check_stages(stage: pd.Series, spec: PipelineTable, table: str) -> None:
    """Warn about (or refuse) stages that are not won, lost or listed as open.

    Such deals count as open. A misspelt ``Wonn`` would silently turn a won
    deal into an open one, so the unknown stages are named with their
    counts. With ``unknown_stages: refuse`` the stage lists are closed and
    any other stage, or a blank one, raises :class:`DataError`.
    """
    known = (*spec.won_stages, *spec.lost_stages, *spec.stage_order)
    text = stage.astype(object).where(stage.notna(), "(blank)")
    unknown = text[~text.isin(known)]
    if unknown.empty:
        return
    counts = unknown.value_counts(sort=False)
    found = ", ".join(f"{v!r} ({n} deal{'s' * (n != 1)})" for v, n in counts.items())
    message = (
        f"{table}: column '{spec.stage}' has stage(s) that are not won, lost or "
        f"in stage_order: {found}; known stages: {list(known)}"
    )
    if spec.unknown_stages == "refuse":
        row = int(np.flatnonzero(~text.isin(known).to_numpy())[0])
        raise DataError(f"{message}; first in data row {row + 1}")
    warnings.warn(
        f"{message}; these deals count as open (list them in stage_order, or "
        "set unknown_stages: refuse)",
        SpmoptWarning,
        stacklevel=2,
    )


def _require_present(frame: pd.DataFrame, column: str, table: str) -> None:
    empty = frame[column].isna()
    if empty.any():
        row = int(np.flatnonzero(empty.to_numpy())[0])
        raise DataError(f"{table}: column '{column}' is empty in data row {row + 1}")


def prepare_deals(
    pipeline: pd.DataFrame,
    spec: PipelineTable,
    roster: pd.DataFrame | None = None,
    prices: pd.Series | None = None,
) -> pd.DataFrame:
    """Turn a checked pipeline table into the deals table KPIs use.

    Parameters
    ----------
    pipeline : DataFrame
        As returned by :func:`read_pipeline`.
    spec : PipelineTable
        Column names and won/lost stages.
    roster : DataFrame, optional
        ``rep_id`` and ``team``; reps not on it get no team.
    prices : Series, optional
        List price per product (currency units); the value of lost and
        open deals whose value is missing or zero.

    Returns
    -------
    DataFrame
        Columns of :data:`~spmopt.analytics.kpis.DEAL_COLUMNS` and the
        deal's current ``stage``.
    """
    deals = pd.DataFrame(
        {
            "deal_id": pipeline[spec.deal_id],
            "rep_id": pipeline[spec.rep_id],
            "outcome": deal_outcomes(
                pipeline[spec.stage], spec.won_stages, spec.lost_stages
            ),
            "created": pipeline[spec.created],
            "closed": pipeline[spec.closed],
            "value": pipeline[spec.value],
        }
    )
    teams = None if roster is None else roster.set_index("rep_id")["team"]
    deals["team"] = deals["rep_id"].map(teams) if teams is not None else None
    if prices is not None and spec.product:
        deals["value"] = _value_from_prices(deals, pipeline[spec.product], prices)
    _check_dates(deals, spec)
    deals["stage"] = pipeline[spec.stage]
    return deals[[*DEAL_COLUMNS, "stage"]]


def _value_from_prices(
    deals: pd.DataFrame, product: pd.Series, prices: pd.Series
) -> pd.Series:
    unknown = (deals["value"].isna() | (deals["value"] == 0)) & (
        deals["outcome"] != "won"
    )
    return deals["value"].where(~unknown, product.map(prices).astype(float))


def _check_dates(deals: pd.DataFrame, spec: PipelineTable) -> None:
    table = f"pipeline ({spec.path})"
    closed = deals["outcome"] != "open"
    missing = closed & deals["closed"].isna()
    if missing.any():
        row = int(np.flatnonzero(missing.to_numpy())[0])
        raise DataError(
            f"{table}: column '{spec.closed}' is empty for a won or lost deal "
            f"in data row {row + 1}"
        )
    backwards = deals["closed"] < deals["created"]
    if backwards.any():
        row = int(np.flatnonzero(backwards.to_numpy())[0])
        raise DataError(
            f"{table}: column '{spec.closed}' is before '{spec.created}' "
            f"in data row {row + 1}"
        )


def read_roster(spec: TeamsTable) -> pd.DataFrame:
    """Read the teams table into ``rep_id``, ``team``."""
    table = f"teams ({spec.path})"
    schema = {spec.rep_id: "str", spec.team: "str"}
    frame = check_schema(load_table(spec.path, name=table), schema, table)
    require_unique(frame, spec.rep_id, table)
    return frame.rename(columns={spec.rep_id: "rep_id", spec.team: "team"})[
        ["rep_id", "team"]
    ]


def read_prices(spec: ProductsTable) -> pd.Series:
    """Read list prices into a Series indexed by product (currency units)."""
    table = f"products ({spec.path})"
    schema = {spec.product: "str", spec.price: "float"}
    frame = check_schema(load_table(spec.path, name=table), schema, table)
    require_unique(frame, spec.product, table)
    require_nonnegative(frame, spec.price, table)
    return frame.set_index(spec.product)[spec.price]


def read_quotas(spec: QuotasTable, length: Period = "quarter") -> pd.DataFrame:
    """Read quotas into ``rep_id``, ``quota`` and optionally ``period``.

    Period labels are checked and normalised for periods of ``length``
    (see :func:`normalise_periods`); a blank period or ``all`` means the
    quota covers the whole table.
    """
    columns = (spec.rep_id, spec.quota, spec.period)
    return _read_given("quotas", spec.path, columns, length)


def read_payouts(spec: PayoutsTable, length: Period = "quarter") -> pd.DataFrame:
    """Read payouts into ``rep_id``, ``payout`` and optionally ``period``.

    Period labels are checked like those of :func:`read_quotas`.
    """
    columns = (spec.rep_id, spec.payout, spec.period)
    return _read_given("payouts", spec.path, columns, length)


def _read_given(
    kind: str, path: str, columns: tuple[str, str, str | None], length: Period
) -> pd.DataFrame:
    rep_id, value, period = columns
    table = f"{kind} ({path})"
    schema = {rep_id: "str", value: "float"}
    if period:
        schema[period] = "str"
    frame = check_schema(load_table(path, name=table), schema, table)
    require_nonnegative(frame, value, table)
    if period:
        labels = normalise_periods(frame[period], length, table, period, True)
        frame = frame.assign(**{period: labels})
    names = {rep_id: "rep_id", value: kind.rstrip("s")}
    if period:
        names[period] = "period"
    frame = frame.rename(columns=names)[list(names.values())]
    keys = ["rep_id", "period"] if period else ["rep_id"]
    if frame.duplicated(keys).any():
        first = frame.loc[frame.duplicated(keys), "rep_id"].iloc[0]
        raise DataError(f"{table}: more than one row for rep {first!r}")
    return frame


def read_forecasts(spec: ForecastsTable, length: Period = "quarter") -> pd.DataFrame:
    """Read forecasts into ``period``, ``forecast`` and maybe ``rep_id``.

    Every forecast needs a period label for periods of ``length`` (see
    :func:`normalise_periods`).
    """
    table = f"forecasts ({spec.path})"
    schema = {spec.period: "str", spec.forecast: "float"}
    names = {spec.period: "period", spec.forecast: "forecast"}
    if spec.rep_id:
        schema[spec.rep_id] = "str"
        names[spec.rep_id] = "rep_id"
    frame = check_schema(load_table(spec.path, name=table), schema, table)
    require_nonnegative(frame, spec.forecast, table)
    labels = normalise_periods(frame[spec.period], length, table, spec.period, False)
    frame = frame.assign(**{spec.period: labels})
    frame = frame.rename(columns=names)[list(names.values())]
    keys = [k for k in ("rep_id", "period") if k in frame.columns]
    if frame.duplicated(keys).any():
        raise DataError(f"{table}: more than one forecast for the same {keys}")
    return frame


class Inputs(NamedTuple):
    """Every checked table of an analytics run."""

    deals: pd.DataFrame
    quotas: pd.DataFrame | None
    roster: pd.DataFrame | None
    payouts: pd.DataFrame | None
    forecasts: pd.DataFrame | None


def read_inputs(cfg: AnalyticsConfig) -> Inputs:
    """Read and check every table of ``cfg`` before any work starts."""
    roster = read_roster(cfg.teams) if cfg.teams else None
    prices = read_prices(cfg.products) if cfg.products else None
    quotas = read_quotas(cfg.quotas, cfg.period) if cfg.quotas else None
    payouts = read_payouts(cfg.payouts, cfg.period) if cfg.payouts else None
    forecasts = read_forecasts(cfg.forecasts, cfg.period) if cfg.forecasts else None
    pipeline = read_pipeline(cfg.pipeline)
    deals = prepare_deals(pipeline, cfg.pipeline, roster, prices)
    given = {"quotas": quotas, "payouts": payouts, "forecasts": forecasts}
    for kind, frame in given.items():
        if frame is None:
            continue
        if kind != "forecasts":
            check_rep_ids(frame, deals, kind)
        if "period" in frame.columns:
            check_period_overlap(frame["period"], deals, cfg.period, kind)
    return Inputs(deals, quotas, roster, payouts, forecasts)


PERIOD_FORMS = {"month": "2017-03", "quarter": "2017Q1", "year": "2017"}
"""The form of each period length's labels, as written in the job's tables."""

_QUARTER = (
    re.compile(r"^(?P<year>\d{4})\s*[-/_ ]?\s*Q(?P<n>[1-4])$", re.IGNORECASE),
    re.compile(r"^Q(?P<n>[1-4])\s*[-/_ ]?\s*(?P<year>\d{4})$", re.IGNORECASE),
)
_MONTH = (re.compile(r"^(?P<year>\d{4})\s*[-/]\s*(?P<n>\d{1,2})$"),)
_YEAR = (re.compile(r"^(?P<year>\d{4})$"),)


def period_label(text: str, length: Period) -> str | None:
    """The job's label for a period written as ``text``, or None.

    Only spellings that name one period are accepted: for quarters
    ``2017Q1``, ``2017-Q1``, ``2017 q1``, ``Q1-2017``, ``Q1 2017``; for
    months ``2017-03``, ``2017-3``, ``2017/03``; for years ``2017``.

    Examples
    --------
    >>> period_label("Q2-2027", "quarter")
    '2027Q2'
    >>> period_label("2027-13", "month") is None
    True
    """
    text = text.strip()
    patterns = {"quarter": _QUARTER, "month": _MONTH, "year": _YEAR}[length]
    for pattern in patterns:
        match = pattern.match(text)
        if match is None:
            continue
        year = match.group("year")
        if length == "year":
            return year
        n = int(match.group("n"))
        if length == "quarter":
            return f"{year}Q{n}"
        return f"{year}-{n:02d}" if 1 <= n <= 12 else None
    return None


def check_rep_ids(given: pd.DataFrame, deals: pd.DataFrame, kind: str) -> None:
    """Warn when the reps of a quotas or payouts table miss the pipeline.

    A rep with a quota but no deals may be a new hire or a mistyped id: it
    is kept (with no sales) and named in a warning. When no rep matches at
    all the ids are most likely from another system, and the warning says
    so.
    """
    known = set(deals["rep_id"].dropna())
    unmatched = sorted(set(given["rep_id"]) - known)
    if not unmatched:
        return
    sample = ", ".join(repr(rep) for rep in unmatched[:3])
    if len(unmatched) == given["rep_id"].nunique():
        warnings.warn(
            f"no rep id of the {kind} table appears in the pipeline "
            f"(for example {sample}); check that both use the same rep ids",
            SpmoptWarning,
            stacklevel=2,
        )
        return
    more = f" and {len(unmatched) - 3} more" if len(unmatched) > 3 else ""
    warnings.warn(
        f"{len(unmatched)} rep(s) of the {kind} table have no deal in the "
        f"pipeline: {sample}{more}; they are reported with no sales (a new "
        "hire, or a rep id spelt differently?)",
        SpmoptWarning,
        stacklevel=2,
    )


def normalise_periods(
    labels: pd.Series, length: Period, table: str, column: str, allow_all: bool
) -> pd.Series:
    """Check period labels and write each in the job's form.

    Parameters
    ----------
    labels : Series of str
        Period labels as read (blank = missing).
    length : {"month", "quarter", "year"}
        Period length of the run (config ``period``).
    table, column : str
        Table and column, for messages.
    allow_all : bool
        Whether a blank label or ``all`` (the whole table) is allowed.

    Returns
    -------
    Series of str
        Labels such as ``2017Q1`` (:data:`PERIOD_FORMS`), ``all`` or
        missing.

    Raises
    ------
    DataError
        Naming the first label that is not a period of ``length``.
    """
    out = labels.astype(object).copy()
    for row, text in enumerate(labels.tolist()):
        blank = text is None or pd.isna(text) or not str(text).strip()
        if blank and allow_all:
            out.iloc[row] = None
            continue
        if not blank and allow_all and str(text).strip().lower() == ALL_PERIODS:
            out.iloc[row] = ALL_PERIODS
            continue
        label = None if blank else period_label(str(text), length)
        if label is None:
            _bad_period(text, row, length, f"{table}: column '{column}'", allow_all)
        out.iloc[row] = label
    return out


def _bad_period(
    text: object, row: int, length: Period, where: str, allow_all: bool
) -> None:
    value = "a blank" if text is None or pd.isna(text) else repr(text)
    form = PERIOD_FORMS[length]
    allowed = f"a {length} written like {form!r}"
    if allow_all:
        allowed += ", 'all' or blank for the whole table"
    raise DataError(
        f"{where} has {value} period in data row {row + 1}; allowed: {allowed} "
        f"(config period: {length})"
    )


def check_period_overlap(
    labels: pd.Series, deals: pd.DataFrame, length: Period, kind: str
) -> None:
    """Warn about periods of a table in which no deal closed.

    Such a period gets its own rows with no won value, which is right for
    a period still to come but often means a mistyped label.
    """
    closed = deals.loc[deals["outcome"] != "open", "closed"]
    known = set(period_labels(closed, length).dropna())
    given = set(labels.dropna()) - {ALL_PERIODS}
    unmatched = sorted(given - known)
    if not unmatched:
        return
    warnings.warn(
        f"period(s) of the {kind} table in which no deal of the pipeline "
        f"closed: {', '.join(unmatched)}; they are reported with no won value "
        f"(pipeline periods run {min(known, default='-')} to "
        f"{max(known, default='-')})",
        SpmoptWarning,
        stacklevel=2,
    )
