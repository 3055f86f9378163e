"""Scoring open pipeline: win probabilities, reasons and won-value range.

:func:`run_score` loads a registered forecaster (``NAME@ALIAS``), scores
each open deal, lists its strongest per-feature contributions and
samples the pipeline's won value: each deal is won with its probability,
independently, so P10/P50/P90 reflect that deals are all-or-nothing.
"""

from __future__ import annotations

import warnings
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spmopt._logging import logger
from spmopt.data import read_table, require_unique
from spmopt.data.tables import MAX_ABS
from spmopt.errors import DataError, SpmoptWarning, show
from spmopt.forecast.config import ForecastConfig
from spmopt.forecast.features import apply_joins
from spmopt.forecast.forecaster import WinForecaster
from spmopt.forecast.lineage import (
    load_forecaster,
    parse_model_ref,
    warn_if_no_signal,
)
from spmopt.forecast.metrics import sample_won_value
from spmopt.runs import RunWriter, format_money, sha256_file
from spmopt.scale.scoring import win_probability

N_REASONS = 3


def top_reasons(
    contributions: pd.DataFrame, frame: pd.DataFrame, k: int = N_REASONS
) -> pd.DataFrame:
    """The ``k`` largest per-feature contributions of each deal as text.

    Parameters
    ----------
    contributions : DataFrame of shape (n_deals, n_features + 1)
        Log-odds contributions with a ``bias`` column.
    frame : DataFrame
        The scored deals (for the feature values).

    Returns
    -------
    DataFrame
        Columns ``reason_1`` .. ``reason_k``, e.g. ``"region=West (-0.82)"``:
        feature, its value and its push on the log-odds.
    """
    values = contributions.drop(columns="bias")
    names = np.asarray(values.columns, dtype=object)
    matrix = values.to_numpy()
    order = np.argsort(-np.abs(matrix), axis=1, kind="stable")[:, :k]
    cells = np.column_stack([_cell_text(frame[name]) for name in names])
    rows = np.arange(len(matrix))
    out = {}
    for rank in range(min(k, len(names))):
        picked = order[:, rank]
        push = np.char.mod("%+.2f", matrix[rows, picked]).astype(object)
        text = names[picked] + "=" + cells[rows, picked] + " (" + push + ")"
        out[f"reason_{rank + 1}"] = text
    return pd.DataFrame(out, index=frame.index)


def _cell_text(values: pd.Series) -> np.ndarray:
    """Each value as shown in a reason: its text, or "missing" when empty.

    Each distinct value is converted once, then broadcast to its rows.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    text = [_cell(value) for value in uniques]
    return np.asarray([*text, "missing"], dtype=object)[codes]


def _cell(value: Any) -> str:
    return "missing" if pd.isna(value) or str(value).strip() == "" else str(value)


def require_inputs(
    forecaster: WinForecaster,
    frame: pd.DataFrame,
    table: str,
    in_file: list[str] | None = None,
) -> None:
    """Refuse ``frame`` when a column the model reads is missing.

    Parameters
    ----------
    forecaster : WinForecaster
        The model (see :meth:`WinForecaster.input_columns`).
    frame : DataFrame
        Deals to score, after the config's joins.
    table : str
        Name of the scored file, shown in the message.
    in_file : list of str, optional
        The file's own columns, listed in the message (default: ``frame``'s).

    Raises
    ------
    DataError
        Naming the file, the missing columns and the file's columns.
    """
    missing = [c for c in forecaster.input_columns() if c not in frame.columns]
    if missing:
        have = ", ".join(in_file if in_file is not None else map(str, frame.columns))
        raise DataError(
            f"{table}: column(s) {missing} needed by the model are missing; "
            f"columns in the file: {have}"
        )


SHOWN_UNSEEN = 5
"""Unseen category values listed in a warning, at most."""


def warn_unseen_categories(
    forecaster: WinForecaster, frame: pd.DataFrame, table: str
) -> None:
    """Warn once per column whose values were never seen in training.

    Such a value (a new ``sales_agent`` or ``product``) has no category
    code: the model scores it as a missing value, the way it scores a
    blank cell. The warning names the column, the number of rows and the
    first :data:`SHOWN_UNSEEN` values.

    Parameters
    ----------
    forecaster : WinForecaster
        The fitted model (its categories as learned in training).
    frame : DataFrame
        Deals to score, after the config's joins.
    table : str
        Name of the scored file, shown in the message.
    """
    for column, counts in forecaster.encoder_.unseen(frame).items():
        shown = ", ".join(show(v) for v in counts.index[:SHOWN_UNSEEN])
        more = len(counts) - SHOWN_UNSEEN
        extra = f" and {more} more" if more > 0 else ""
        warnings.warn(
            f"{table}: column '{column}' has {int(counts.sum())} row(s) with "
            f"{len(counts)} value(s) never seen in training ({shown}{extra}); "
            "they are scored as missing values, as a blank cell would be",
            SpmoptWarning,
            stacklevel=2,
        )


def open_deals(
    cfg: ForecastConfig,
    frame: pd.DataFrame,
    table: str,
    in_file: list[str] | None = None,
) -> pd.DataFrame:
    """Rows to score: all rows, or only open ones when the outcome is present.

    ``in_file`` lists the file's own columns for messages (default:
    ``frame``'s).
    """
    cols = cfg.columns
    if cols.deal_id not in frame.columns:
        have = ", ".join(in_file if in_file is not None else map(str, frame.columns))
        raise DataError(
            f"{table}: deal id column '{cols.deal_id}' missing; columns in the "
            f"file: {have}"
        )
    require_unique(frame, cols.deal_id, table)
    if cols.outcome in frame.columns:
        text = frame[cols.outcome].astype("string").str.strip()
        closed = text.isin([*cols.won_values, *cols.lost_values]).to_numpy()
        frame = frame.loc[~closed]
    if frame.empty:
        raise DataError(f"{table}: no open deals to score")
    return frame.reset_index(drop=True)


def _amounts(cfg: ForecastConfig, frame: pd.DataFrame, table: str) -> np.ndarray:
    column = cfg.columns.amount
    if column is None or column not in frame.columns:
        return np.full(len(frame), np.nan)
    text = frame[column].astype("string").str.strip().replace("", pd.NA)
    parsed = pd.to_numeric(text, errors="coerce")
    bad = (text.notna() & parsed.isna()) | (parsed < 0) | (parsed > MAX_ABS)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{table}: column '{column}' (amount) must be a number >= 0 and a "
            f"finite number within ±{MAX_ABS:.0e}, got "
            f"{show(frame[column].iloc[row])} in data row {row + 1}"
        )
    return parsed.to_numpy(dtype=float, na_value=np.nan)


SCORE_MONEY = ["amount", "expected_value"]
"""Columns of ``scores.csv`` in currency, written in cents."""

PROBABILITY_PLACES = 6
"""Decimal places of ``win_probability`` in ``scores.csv`` (no ``1e-06``)."""

_MICRO = 10**PROBABILITY_PLACES
_CENT = Decimal("0.01")


def amount_cents(written: pd.Series, parsed: np.ndarray) -> np.ndarray:
    """Each amount in whole cents (half up), read exactly from its text.

    Parameters
    ----------
    written : Series of shape (n_deals,)
        The amount cells as in the file (text for a CSV).
    parsed : ndarray of shape (n_deals,)
        The same amounts as validated floats (currency), NaN when missing.

    Returns
    -------
    ndarray of int64, shape (n_deals,)
        Cents; 0 where the amount is missing. A text cell is read digit for
        digit, so ``123456789012345.67`` keeps its cents (a float would not).
    """
    codes, uniques = pd.factorize(written, use_na_sentinel=True)
    cents = np.array([_cell_cents(v) for v in uniques] + [0], dtype=np.int64)
    out = cents[codes]
    missing = np.isnan(parsed)
    by_float = np.rint(np.nan_to_num(parsed) * 100).astype(np.int64)
    unread = (out < 0) & ~missing  # a cell read only as a float (Parquet)
    out[unread] = by_float[unread]
    out[missing] = 0
    return out


def _cell_cents(value: Any) -> int:
    """Cents of one amount cell written as text; -1 when it is not plain text."""
    if not isinstance(value, str) or "_" in value:
        return -1
    try:
        exact = Decimal(value.strip())
    except ArithmeticError:
        return -1
    if not exact.is_finite() or exact < 0:
        return -1
    return int(exact.quantize(_CENT, rounding=ROUND_HALF_UP).scaleb(2))


def expected_cents(p: np.ndarray, cents: np.ndarray) -> np.ndarray:
    """``p x amount`` in cents, rounded half up, as a spreadsheet recomputes it.

    Parameters
    ----------
    p : ndarray of shape (n_deals,)
        Win probabilities with at most :data:`PROBABILITY_PLACES` places
        (as written).
    cents : ndarray of int64, shape (n_deals,)
        Amounts in cents (as written).

    Returns
    -------
    ndarray of int64, shape (n_deals,)
        Exact integer arithmetic: no overflow or float rounding even for
        amounts of 1e15.
    """
    micro = np.rint(np.asarray(p, dtype=float) * _MICRO).astype(np.int64)
    high, low = np.divmod(np.asarray(cents, dtype=np.int64), _MICRO)
    return micro * high + (micro * low + _MICRO // 2) // _MICRO


def _money(cents: np.ndarray, missing: np.ndarray) -> list[Decimal | None]:
    """Cents as exact currency amounts; None (a blank cell) where missing."""
    return [
        None if gone else Decimal(int(c)).scaleb(-2)
        for c, gone in zip(cents, missing, strict=True)
    ]


def score_table(
    forecaster: WinForecaster, cfg: ForecastConfig, frame: pd.DataFrame, table: str
) -> pd.DataFrame:
    """Per-deal probability, expected value and top reasons.

    ``win_probability`` is rounded to :data:`PROBABILITY_PLACES` places and
    ``amount`` to cents, as written; ``expected_value`` is the product of
    the two as written, rounded half up to the cent, so that a row
    recomputed in a spreadsheet gives the value shown. ``amount`` and
    ``expected_value`` hold exact :class:`~decimal.Decimal` amounts (None
    where the amount is missing).
    """
    amount = _amounts(cfg, frame, table)
    missing = np.isnan(amount)
    cents = np.zeros(len(frame), dtype=np.int64)
    if not missing.all():
        cents = amount_cents(frame[cfg.columns.amount], amount)
    frame = forecaster.add_history(frame)
    p = np.round(win_probability(forecaster, frame), PROBABILITY_PLACES)
    scores = pd.DataFrame(
        {
            "deal_id": frame[cfg.columns.deal_id].to_numpy(),
            "win_probability": p,
            "amount": _money(cents, missing),
            "expected_value": _money(expected_cents(p, cents), missing),
        }
    )
    reasons = top_reasons(forecaster.contributions(frame), frame)
    return pd.concat([scores, reasons.reset_index(drop=True)], axis=1)


def _floats(values: pd.Series) -> np.ndarray:
    """Exact amounts (None missing) as floats, NaN missing."""
    return np.array([np.nan if v is None else float(v) for v in values])


def _total(values: pd.Series) -> float:
    """Sum of exact amounts (None skipped), as a float with its cents."""
    return float(sum((v for v in values if v is not None), Decimal(0)))


def _cents(value: float) -> float:
    """A sampled money figure rounded to the cent (no float noise)."""
    return round(float(value), 2)


def pipeline_summary(scores: pd.DataFrame, n_samples: int, seed: int) -> dict[str, Any]:
    """Expected and sampled P10/P50/P90 won value and won count.

    Money figures are in cents: ``expected_won_value`` is the sum of the
    ``expected_value`` column as written, and ``expected_won_count`` the sum
    of the ``win_probability`` column as written; the sampled percentiles
    are rounded to the cent.
    """
    p = scores["win_probability"].to_numpy(dtype=float)
    amount = _floats(scores["amount"])
    value = sample_won_value(p, amount, n_samples, seed)
    count = sample_won_value(p, np.ones(len(p)), n_samples, seed + 1)
    q = np.quantile(value, [0.1, 0.5, 0.9])
    c = np.quantile(count, [0.1, 0.5, 0.9])
    micro = int(np.rint(p * _MICRO).astype(np.int64).sum())
    return {
        "n_deals": len(scores),
        "n_missing_amount": int(np.isnan(amount).sum()),
        "expected_won_value": _total(scores["expected_value"]),
        "won_value_p10": _cents(q[0]),
        "won_value_p50": _cents(q[1]),
        "won_value_p90": _cents(q[2]),
        "expected_won_count": micro / _MICRO,
        "won_count_p10": float(c[0]),
        "won_count_p50": float(c[1]),
        "won_count_p90": float(c[2]),
        "n_samples": n_samples,
    }


def run_score(
    cfg: ForecastConfig,
    out: RunWriter,
    seed: int,
    model: str,
    input_path: Path,
    n_samples: int = 10_000,
) -> dict[str, Any]:
    """Score the open deals of ``input_path`` with the model ``model``.

    Writes ``scores.csv`` (deal_id, win_probability, amount,
    expected_value, reason_1..3) and ``pipeline.json`` (expected won
    value and count with sampled P10/P50/P90).

    Parameters
    ----------
    cfg : ForecastConfig
        Column map (deal id, outcome, amount) and tracking store.
    out : RunWriter
    seed : int
        Seed of the pipeline sampling.
    model : str
        ``NAME@ALIAS``, ``NAME`` (default alias) or an MLflow URI.
    input_path : Path
        CSV or Parquet of deals.
    n_samples : int
        Simulated pipelines for the percentiles.
    """
    table = str(input_path)
    frame = read_table(input_path, name=table)
    in_file = [str(c) for c in frame.columns]
    frame = open_deals(cfg, apply_joins(cfg, frame, table), table, in_file)
    uri = parse_model_ref(model, cfg)
    forecaster = load_forecaster(uri, cfg)
    require_inputs(forecaster, frame, table, in_file)
    warn_if_no_signal(uri, cfg)
    warn_unseen_categories(forecaster, frame, table)
    scores = score_table(forecaster, cfg, frame, table)
    summary = pipeline_summary(scores, n_samples, seed)
    summary |= {"mlflow_model_uri": uri, "input_sha256": sha256_file(input_path)}
    shown = format_money(scores, ["win_probability"], PROBABILITY_PLACES)
    out.write_csv("scores.csv", shown, SCORE_MONEY)
    out.write_json("pipeline.json", summary)
    logger.info(
        "forecast score: %d open deals, expected won value %.0f (P10 %.0f, P90 %.0f)",
        summary["n_deals"],
        summary["expected_won_value"],
        summary["won_value_p10"],
        summary["won_value_p90"],
    )
    keys = ("n_deals", "expected_won_value", "won_value_p10", "won_value_p50")
    return {k: summary[k] for k in (*keys, "won_value_p90", "expected_won_count")}
