"""Deal tables: column roles, the leakage guard and feature encoding.

:func:`load_deals` reads a deal table through a :class:`ColumnMap`,
decides which columns are features (refusing or dropping those that leak
the outcome) and labels each row won (1), lost (0) or open (NaN).
:class:`FeatureEncoder` turns a frame into a numeric matrix with category
codes fixed at fit time, so scoring sees exactly the training codes.
"""

from __future__ import annotations

import difflib
import warnings
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from spmopt._logging import logger
from spmopt.config import named_field, table_name
from spmopt.data import IBM_LEAKY_COLUMNS, check_schema, load_table
from spmopt.data.tables import MAX_ABS
from spmopt.errors import DataError, LeakageWarning, SpmoptWarning, show
from spmopt.forecast.config import ColumnMap, ForecastConfig

LEAKY_NAME_HINTS = ("close", "probability", "result", "outcome", "won", "lost")
"""Name fragments of auto-detected columns that usually leak the outcome."""

_BUNDLED_LEAKY = {"bundled:ibm_win_loss": IBM_LEAKY_COLUMNS}
_ID_LIKE_SHARE = 0.5


@dataclass(frozen=True)
class DealTable:
    """A validated deal table with its labels and feature lists.

    Attributes
    ----------
    frame : DataFrame
        Every row of the table, role and feature columns typed.
    label : ndarray of shape (n_rows,)
        1.0 won, 0.0 lost, NaN open.
    categorical, numeric : list of str
        Feature columns by kind, in a fixed order.
    dropped : dict
        Column name to the reason it is not a feature.
    """

    frame: pd.DataFrame
    label: np.ndarray
    categorical: list[str]
    numeric: list[str]
    dropped: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        """All feature columns: categorical first, then numeric."""
        return [*self.categorical, *self.numeric]

    @property
    def labelled(self) -> np.ndarray:
        """Boolean mask of closed (won or lost) rows."""
        return ~np.isnan(self.label)


TABLE_FIELD = "table"
"""The config field naming the deal table, for messages."""


def deals_table_name(cfg: ForecastConfig) -> str:
    """How messages name the deal table: ``<config>: field 'table': <path>``."""
    return table_name(cfg.table, TABLE_FIELD)


def load_deals(cfg: ForecastConfig, frame: pd.DataFrame | None = None) -> DealTable:
    """Read ``cfg.table`` (or ``frame``) and apply the column map.

    Parameters
    ----------
    cfg : ForecastConfig
        Validated configuration.
    frame : DataFrame, optional
        Use this table instead of reading ``cfg.table``.

    Raises
    ------
    DataError
        Missing or mistyped columns, a feature equal to the outcome, no
        labelled rows or only one outcome class.
    """
    cols = cfg.columns
    name = deals_table_name(cfg)
    raw = frame
    if raw is None:
        raw = load_table(cfg.table, name=named_field(cfg.table, TABLE_FIELD))
    raw = apply_joins(cfg, raw)
    categorical, numeric, dropped = _choose_features(raw, cols, name)
    typed = check_schema(raw, _role_schema(cols), name, optional=None)
    typed = check_schema(
        typed,
        {c: "str" for c in categorical} | {c: "float" for c in numeric},
        name,
    )
    if cols.amount is not None:
        _require_not_negative(typed[cols.amount], cols.amount, name)
    _require_close_not_before_prediction(typed, cols, name)
    label = outcome_labels(typed[cols.outcome], cols, name)
    deals = DealTable(typed, label, categorical, numeric, dropped)
    refuse_outcome_copies(deals, name)
    return deals


def with_history(deals: DealTable, cols: ColumnMap) -> tuple[DealTable, Any]:
    """Add point-in-time history columns (see :mod:`.history`) as features.

    Returns the extended table and the fitted
    :class:`~spmopt.forecast.history.HistoryEncoder` (None without
    ``columns.history``).
    """
    from spmopt.forecast.history import HistoryEncoder

    if not cols.history:
        return deals, None
    closed = deals.labelled
    encoder = HistoryEncoder(
        list(cols.history), str(cols.prediction_date), str(cols.close_date)
    ).fit(deals.frame.loc[closed], deals.label[closed])
    frame = encoder.transform(deals.frame)
    numeric = [*deals.numeric, *encoder.columns]
    return replace(deals, frame=frame, numeric=numeric), encoder


def apply_joins(
    cfg: ForecastConfig, frame: pd.DataFrame, table: str | None = None
) -> pd.DataFrame:
    """Left-join every ``cfg.joins`` table onto ``frame`` by its key.

    ``table`` names ``frame`` in messages (default ``cfg.table``; the
    scored file when scoring).

    Raises
    ------
    DataError
        A key column is missing on either side, is not unique in the
        lookup table, or a requested column does not exist.
    """
    own = [str(c) for c in frame.columns]
    for i, join in enumerate(cfg.joins):
        field = f"joins.{i}.table"
        lookup = load_table(join.table, name=named_field(join.table, field))
        where = table_name(join.table, field)
        why = f"(join key of {join.table})"
        _require_columns(frame, [join.key], table or deals_table_name(cfg), why, own)
        wanted = join.columns or [c for c in lookup.columns if c != join.key]
        _require_columns(lookup, [join.key, *wanted], where)
        lookup = lookup[[join.key, *wanted]].dropna(subset=[join.key])
        key = lookup[join.key].astype(str).str.strip()
        if key.duplicated().any():
            raise DataError(
                f"{where}: join key '{join.key}' must be unique, "
                f"{show(key[key.duplicated()].iloc[0])} appears more than once"
            )
        lookup = lookup.assign(**{join.key: key}).set_index(join.key)
        left = frame[join.key].astype("string").str.strip().to_numpy(dtype=object)
        joined = lookup.reindex(left)
        frame = frame.drop(columns=[c for c in wanted if c in frame.columns])
        frame = frame.assign(**{c: joined[c].to_numpy() for c in wanted})
    return frame


def _role_schema(cols: ColumnMap) -> dict[str, str]:
    schema = {cols.deal_id: "str", cols.outcome: "str"}
    for column in (cols.prediction_date, cols.close_date):
        if column is not None:
            schema[column] = "date"
    if cols.amount is not None:
        schema[cols.amount] = "float"
    for column in (cols.owner, cols.account, cols.product, cols.stage):
        if column is not None:
            schema[column] = "str"
    return schema


def _require_not_negative(values: pd.Series, column: str, table: str) -> None:
    bad = (values < 0).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{table}: column '{column}' (amount) must be >= 0 or empty, got "
            f"{show(values.iloc[row])} in data row {row + 1}"
        )


def _require_close_not_before_prediction(
    frame: pd.DataFrame, cols: ColumnMap, table: str
) -> None:
    """Refuse rows whose close date is before their prediction date.

    A deal cannot close before it is engaged (or snapshotted); such a row
    is a data error. Rows missing either date pass.
    """
    if cols.prediction_date is None or cols.close_date is None:
        return
    made, closed = frame[cols.prediction_date], frame[cols.close_date]
    rows = np.flatnonzero((closed < made).fillna(False).to_numpy(dtype=bool))
    if rows.size == 0:
        return
    row = int(rows[0])
    listed = ", ".join(str(r + 1) for r in rows[:10])
    more = f" and {rows.size - 10} more" if rows.size > 10 else ""
    which = "the only such row" if rows.size == 1 else f"{rows.size} such rows"
    which += "" if rows.size == 1 else f", data rows {listed}{more}"
    raise DataError(
        f"{table}: column '{cols.close_date}' (close date) must not be before "
        f"column '{cols.prediction_date}' (prediction date), a deal cannot "
        f"close before it is dated; deal {show(frame[cols.deal_id].iloc[row])} "
        f"in data row {row + 1} has {cols.close_date} "
        f"{closed.iloc[row]:%Y-%m-%d} and {cols.prediction_date} "
        f"{made.iloc[row]:%Y-%m-%d} ({which})"
    )


def outcome_labels(outcome: pd.Series, cols: ColumnMap, table: str) -> np.ndarray:
    """1.0 for won values, 0.0 for lost values, NaN for anything else.

    Raises
    ------
    DataError
        If no row is won or no row is lost.
    """
    text = _as_text(outcome)
    label = np.full(len(text), np.nan)
    label[text.isin(cols.won_values).to_numpy()] = 1.0
    label[text.isin(cols.lost_values).to_numpy()] = 0.0
    classes = ((1.0, "won", cols.won_values), (0.0, "lost", cols.lost_values))
    for value, name, wanted in classes:
        if not (label == value).any():
            seen = sorted(text.dropna().unique().tolist())[:10]
            raise DataError(
                f"{table}: outcome column '{cols.outcome}' has no {name} rows "
                f"(values meaning {name}: {wanted}); values seen: {seen}. "
                "A model needs both won and lost deals"
            )
    _warn_near_outcomes(text, cols, table)
    return label


def _warn_near_outcomes(text: pd.Series, cols: ColumnMap, table: str) -> None:
    """Warn about values that look like a mistyped won or lost value.

    Anything that is neither counts as an open deal; a value such as
    ``Wonn`` or ``lost`` next to ``Won``/``Lost`` is most likely a typo that
    would silently drop a closed deal from training.
    """
    known = [*cols.won_values, *cols.lost_values]
    counts = text[~text.isin(known)].dropna().value_counts()
    for value, n in counts.items():
        near = difflib.get_close_matches(str(value).lower(), [k.lower() for k in known])
        if not near:
            continue
        meant = next(k for k in known if k.lower() == near[0])
        warnings.warn(
            f"{table}: outcome column '{cols.outcome}' has {n} row(s) with "
            f"{value!r}, which is neither a won value {cols.won_values} nor a "
            f"lost value {cols.lost_values} but looks like {meant!r}; those deals "
            f"count as open (not trained on): fix the value, or add it to "
            f"columns.won_values or columns.lost_values",
            SpmoptWarning,
            stacklevel=3,
        )


def _as_text(series: pd.Series) -> pd.Series:
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna() % 1 == 0
        if whole.all():
            series = series.astype("Int64")
    return series.astype("string").str.strip()


def _choose_features(
    frame: pd.DataFrame, cols: ColumnMap, table: str
) -> tuple[list[str], list[str], dict[str, str]]:
    roles = cols.role_columns()
    categorical = [c for c in (cols.owner, cols.account, cols.product) if c]
    categorical += [c for c in cols.categorical if c not in categorical]
    numeric = list(cols.numeric)
    if cols.amount is not None and cols.amount_is_feature:
        numeric = [cols.amount, *[c for c in numeric if c != cols.amount]]
    wanted = [*roles.values(), *categorical, *numeric, *cols.history]
    _require_columns(frame, wanted, table)
    dropped: dict[str, str] = {}
    if cols.auto_features:
        taken = set(roles.values()) | set(categorical) | set(numeric)
        taken |= set(cols.exclude)
        auto_cat, auto_num, dropped = _infer_features(frame, taken, cols, table)
        categorical += auto_cat
        numeric += auto_num
    leaky = set(cols.leaky) | set(_BUNDLED_LEAKY.get(table, ()))
    found = [c for c in [*categorical, *numeric] if c in leaky]
    if found:
        _warn_leaky(found, "known only after the outcome", dropped)
    keep = [c for c in categorical if c not in leaky]
    return keep, [c for c in numeric if c not in leaky], dropped


def _require_columns(
    frame: pd.DataFrame,
    columns: list[str],
    table: str,
    why: str = "named in the config",
    present: list[str] | None = None,
) -> None:
    """Raise naming ``table``, the missing columns and ``present`` ones.

    ``present`` lists the table's own columns (default ``frame``'s), so
    that columns joined or derived on the way are not shown as the file's.
    """
    missing = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if missing:
        have = ", ".join(present if present is not None else map(str, frame.columns))
        raise DataError(
            f"{table}: column(s) {missing} {why} are missing; columns present: {have}"
        )


def _infer_features(
    frame: pd.DataFrame, taken: set[str], cols: ColumnMap, table: str
) -> tuple[list[str], list[str], dict[str, str]]:
    categorical: list[str] = []
    numeric: list[str] = []
    hinted: list[str] = []
    dropped: dict[str, str] = {}
    for column in map(str, frame.columns):
        if column in taken:
            continue
        if any(hint in column.lower() for hint in LEAKY_NAME_HINTS):
            hinted.append(column)
        elif _is_numeric(frame[column]):
            numeric.append(column)
        elif frame[column].nunique() > _ID_LIKE_SHARE * len(frame):
            dropped[column] = "identifier-like text (mostly unique values)"
        else:
            categorical.append(column)
    if hinted:
        _warn_leaky(hinted, "name suggests an after-the-outcome field", dropped)
    return categorical, numeric, dropped


def _is_numeric(series: pd.Series) -> bool:
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return True
    text = series.astype("string").str.strip()
    text = text[text.notna() & (text != "")]
    return bool(len(text)) and pd.to_numeric(text, errors="coerce").notna().all()


def _warn_leaky(columns: list[str], why: str, dropped: dict[str, str]) -> None:
    for column in columns:
        dropped[column] = f"leakage: {why}"
    warnings.warn(
        f"feature column(s) {columns} dropped: {why}",
        LeakageWarning,
        stacklevel=3,
    )


def refuse_outcome_copies(deals: DealTable, table: str) -> None:
    """Raise if a feature determines the outcome exactly on closed deals.

    A categorical feature whose every value is all-won or all-lost (with
    fewer distinct values than a tenth of the rows), or a numeric feature
    that separates won from lost by a threshold, is a copy of the
    outcome and is refused.
    """
    y = deals.label[deals.labelled]
    closed = deals.frame.loc[deals.labelled]
    for column in deals.features:
        values = closed[column]
        if column in deals.numeric:
            exact = _separates(values.to_numpy(dtype=float), y)
        else:
            exact = _pure_categories(values, y)
        if exact:
            raise DataError(
                f"{table}: feature column '{column}' determines the outcome "
                "exactly on closed deals (it leaks the result); remove it from "
                "the features or add it to columns.exclude"
            )


def _separates(values: np.ndarray, y: np.ndarray) -> bool:
    ok = ~np.isnan(values)
    won, lost = values[ok & (y == 1)], values[ok & (y == 0)]
    if len(won) == 0 or len(lost) == 0 or ok.sum() < len(y):
        return False
    return bool(won.min() > lost.max() or won.max() < lost.min())


def _pure_categories(values: pd.Series, y: np.ndarray) -> bool:
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) < 2 or len(uniques) > 0.1 * len(y) or (codes < 0).any():
        return False
    rate = np.bincount(codes, weights=y) / np.bincount(codes)
    return bool(np.all((rate == 0) | (rate == 1)))


class FeatureEncoder:
    """Turn a deal frame into a float matrix with fixed category codes.

    Categories are learned once in :meth:`fit` (sorted, so the order in
    which they appear never matters) and reapplied in :meth:`transform`;
    a value unseen at fit time becomes a missing code (NaN), which every
    model treats like a missing value.

    Parameters
    ----------
    categorical, numeric : list of str
        Feature columns by kind.
    """

    def __init__(self, categorical: list[str], numeric: list[str]) -> None:
        self.categorical = categorical
        self.numeric = numeric

    @property
    def feature_names(self) -> list[str]:
        """Column order of the encoded matrix."""
        return [*self.categorical, *self.numeric]

    def fit(self, frame: pd.DataFrame) -> FeatureEncoder:
        """Learn the categories of every categorical column."""
        _require_columns(frame, self.feature_names, "deals")
        self.categories_ = {
            column: sorted(frame[column].dropna().astype(str).unique().tolist())
            for column in self.categorical
        }
        return self

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Float matrix (n_rows, n_features); categories as codes, NaN missing.

        Raises
        ------
        DataError
            A feature column is missing or a numeric one holds text.
        """
        _require_columns(frame, self.feature_names, "deals", "needed by the model")
        out = np.empty((len(frame), len(self.feature_names)), dtype=float)
        for j, column in enumerate(self.categorical):
            out[:, j] = self._codes(frame[column], column)
        for j, column in enumerate(self.numeric, start=len(self.categorical)):
            out[:, j] = _numbers(frame[column], column)
        return out

    def _codes(self, values: pd.Series, column: str) -> np.ndarray:
        # Each distinct value is cleaned and looked up once, then broadcast.
        keys, uniques = pd.factorize(values, use_na_sentinel=True)
        text = pd.Index(uniques).astype("string").str.strip().astype(object)
        index = pd.Index(self.categories_[column], dtype=object)
        lookup = index.get_indexer(pd.Index([*text, ""], dtype=object))
        unseen = (lookup[:-1] < 0) & (text != "")
        if unseen.any():
            logger.debug("%s: %d unseen categories -> missing", column, unseen.sum())
        codes = lookup[keys].astype(float)  # key -1 (missing) reads ""
        codes[codes < 0] = np.nan
        return codes

    def unseen(self, frame: pd.DataFrame) -> dict[str, pd.Series]:
        """Values of each categorical column that were not seen at fit.

        Parameters
        ----------
        frame : DataFrame
            Deals about to be encoded (e.g. open deals at scoring).

        Returns
        -------
        dict of str to Series
            Per column with unseen values: the number of rows of each
            unseen value (stripped text), in order of first appearance.
            Blank cells are missing values, not unseen categories.
        """
        out = {}
        for column in self.categorical:
            if column not in frame.columns:
                continue
            text = frame[column].dropna().astype("string").str.strip()
            text = text[text != ""]
            known = pd.Index(self.categories_[column], dtype=object)
            new = text[~text.isin(known)]
            if len(new):
                out[column] = new.value_counts(sort=False)
        return out

    def category_mapping(self) -> dict[str, dict[str, int]]:
        """Category text to integer code, per categorical column."""
        return {
            column: {value: code for code, value in enumerate(values)}
            for column, values in self.categories_.items()
        }


def _numbers(values: pd.Series, column: str) -> np.ndarray:
    """A numeric feature as floats; text, NaN for blanks, |x| <= MAX_ABS."""
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float, na_value=np.nan)
        bad = np.zeros(len(numbers), dtype=bool)
    else:
        text = values.astype("string").str.strip().replace("", pd.NA)
        parsed = pd.to_numeric(text, errors="coerce")
        numbers = parsed.to_numpy(dtype=float, na_value=np.nan)
        bad = (text.notna() & parsed.isna()).to_numpy(dtype=bool, copy=True)
    bad = bad | (np.abs(numbers) > MAX_ABS)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"deals: column '{column}' must be a finite number within "
            f"±{MAX_ABS:.0e}, got {show(values.iloc[row])} in data row {row + 1}"
        )
    return numbers


def describe(deals: DealTable) -> dict[str, Any]:
    """Counts for logs and reports: rows, won, lost, open, features."""
    return {
        "rows": len(deals.frame),
        "won": int(np.nansum(deals.label == 1)),
        "lost": int(np.nansum(deals.label == 0)),
        "open": int(np.isnan(deals.label).sum()),
        "features": deals.features,
    }
