"""Reading user tables and checking their schema before any work starts."""

from __future__ import annotations

import csv
import gzip
import re
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from spmopt._paths import path_problem
from spmopt.errors import DataError, show

KINDS = ("str", "float", "int", "date", "bool", "category")
MAX_ABS = 1e15
"""Largest magnitude of a number in a table: beyond it cents cannot be kept."""
Kind = str
"""One of :data:`KINDS`."""
DATA_ROW = "data_row"
"""Index name of a frame whose labels are its rows' data row numbers.

Messages say ``data row N`` counting from 1 below the header. A frame with
rows filtered out (e.g. ``frame[keep]``) would give positions in what is
left; label it first (:func:`number_rows`) and messages give the row of
the table as read.
"""


def number_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its data row numbers (1, 2, ...) as a :data:`DATA_ROW` index.

    Filter it afterwards and errors still name the rows of the table as read.
    """
    return frame.set_axis(pd.RangeIndex(1, len(frame) + 1, name=DATA_ROW))


def data_rows(values: pd.Series | pd.DataFrame, positions: np.ndarray) -> list[int]:
    """Data row numbers of ``positions`` (0-based) in ``values`` (see DATA_ROW)."""
    if values.index.name == DATA_ROW:
        return [int(values.index[i]) for i in positions]
    return [int(i) + 1 for i in positions]


def read_table(
    path: str | Path, name: str | None = None, check_rows: bool = True
) -> pd.DataFrame:
    """Read a CSV (optionally gzip) or Parquet table with clear errors.

    Text is read as text and identifiers are never parsed as numbers;
    use :func:`check_schema` to convert and validate columns. With
    ``check_rows`` a CSV row with fewer fields than the header is refused
    (pandas would pad it with blanks); bundled files skip that scan.
    """
    path = Path(path)
    label = name or path.name
    _require_file(path, label)
    _refuse_spreadsheet(path, label)
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            _refuse_other_delimiter(path, label)
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
            if not isinstance(frame.index, pd.RangeIndex):  # rows > header
                raise _malformed(path, label, "a row is longer than the header")
    except pd.errors.EmptyDataError:
        raise DataError(f"{label}: {path} is empty (not even a header row)") from None
    except pd.errors.ParserError as exc:
        raise _malformed(path, label, str(exc)) from None
    except UnicodeDecodeError:
        raise _not_utf8(path, label) from None
    except (ValueError, OSError) as exc:
        raise DataError(f"{label}: cannot read {path}: {exc}") from None
    if frame.empty:
        raise DataError(f"{label}: table {path} has no rows")
    if check_rows and path.suffix.lower() not in {".parquet", ".pq"}:
        found = _first_malformed_row(path)
        if found is not None:
            raise _malformed(path, label, "a row is shorter than the header")
    return frame


def _require_file(path: Path, label: str) -> None:
    """Refuse a path that is missing, a folder, a device or unreadable."""
    problem = path_problem(path)
    if problem is None:
        return
    hint = "; give a CSV or Parquet file" if problem.kind in _NOT_FILES else ""
    raise DataError(f"{label}: {problem}{hint}")


_NOT_FILES = ("folder", "special")
"""Path problems whose message says what to give instead."""


_SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".numbers"}
_SPREADSHEET_MAGIC = {
    b"PK\x03\x04": "a zip file (an .xlsx or .ods workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel (.xls) workbook",
}


def _refuse_spreadsheet(path: Path, label: str) -> None:
    """Refuse a workbook (by its extension or its first bytes): not a table.

    A ``.zip`` file is left to the CSV reader, which unpacks it.
    """
    suffix = path.suffix.lower()
    kind = "a spreadsheet workbook" if suffix in _SPREADSHEET_SUFFIXES else ""
    if not kind and suffix != ".zip":
        kind = _SPREADSHEET_MAGIC.get(_first_bytes(path, 4), "")
    if kind:
        raise DataError(
            f"{_where(label, path)} is {kind}; spmopt reads only CSV and Parquet "
            "tables: save the sheet as CSV UTF-8 (comma delimited)"
        )


def _first_bytes(path: Path, count: int) -> bytes:
    """The first ``count`` bytes of a file (none if it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return handle.read(count)
    except OSError:
        return b""  # the reader reports it


def _not_utf8(path: Path, label: str) -> DataError:
    """A CSV that is not UTF-8: the first bad line and byte, and the fix."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    where = ""
    with opener(path, "rb") as handle:
        for number, line in enumerate(handle, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as exc:
                byte = line[exc.start]
                where = f" (line {number}, byte {exc.start + 1}: 0x{byte:02x})"
                break
    return DataError(
        f"{_where(label, path)} is not UTF-8 text{where}; save it as CSV UTF-8 "
        "(a spreadsheet's 'CSV UTF-8' format; for Latin-1 text, "
        "iconv -f latin1 -t utf-8)"
    )


_OTHER_DELIMITERS = {";": "';' (semicolon)", "\t": "a tab"}


def _refuse_other_delimiter(path: Path, label: str) -> None:
    """Refuse a CSV whose header is split by ``;`` or tabs, not commas.

    Such files (the default CSV of spreadsheets in many European locales)
    usually also write decimal commas, so reading them as semicolon-separated
    could misread every amount; the user is asked to save them with commas.
    """
    header = _header_line(path)
    if header is None or "," in header:
        return
    for delimiter, name in _OTHER_DELIMITERS.items():
        if delimiter in header:
            shown = header if len(header) <= 60 else header[:57] + "..."
            raise DataError(
                f"{_where(label, path)} seems to use {name} as its delimiter (header "
                f"{shown!r}); spmopt reads comma-separated files: save it as "
                "CSV with commas and '.' as the decimal point"
            )


def _where(label: str, path: Path) -> str:
    """``label: path``, or the path alone when the label is the path."""
    return str(path) if label == str(path) else f"{label}: {path}"


def _header_line(path: Path) -> str | None:
    """The first non-blank line of a CSV (gzip or not), or None if unreadable."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace") as f:
            return next((line.strip() for line in f if line.strip()), None)
    except (OSError, EOFError):
        return None


_TOKENIZING = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _malformed(path: Path, label: str, parser_message: str) -> DataError:
    """A malformed CSV row: its line, the header's field count and its own.

    When a data row has more fields than the header, pandas either stops
    (a later row) or silently takes the extra leading fields as an index
    (the first row). Either way the file is scanned to find the first such
    row and its physical line (a quoted field may span lines).
    """
    found = _first_malformed_row(path)
    if found is None:
        match = _TOKENIZING.search(parser_message)
        if match is None:
            return DataError(f"{label}: cannot read {path}: {parser_message}")
        expected, line, seen = (int(g) for g in match.groups())
        found = (line, expected, seen)
    line, expected, seen = found
    hint = (
        "an unquoted comma or a stray delimiter"
        if seen > expected
        else "a missing delimiter or a line break inside an unquoted cell"
    )
    return DataError(
        f"{label}: malformed row at line {line} of {path}: expected {expected} "
        f"fields (as in the header), found {seen}; check for {hint}"
    )


def _first_malformed_row(path: Path) -> tuple[int, int, int] | None:
    """(line, header fields, row fields) of the first row unlike the header."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as f:
            reader = csv.reader(f)
            width = next((len(row) for row in reader if row), 0)
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != width:
                    return start, width, len(row)
                start = reader.line_num + 1
    except (OSError, csv.Error):
        return None
    return None


def check_schema(
    frame: pd.DataFrame,
    schema: Mapping[str, Kind],
    table: str,
    optional: Mapping[str, Kind] | None = None,
) -> pd.DataFrame:
    """Return ``frame`` with ``schema`` columns present and converted.

    Parameters
    ----------
    frame : DataFrame
        The table as read.
    schema : mapping of column name to kind
        Required columns. Kinds: ``str``, ``float``, ``int``, ``date``,
        ``bool`` or ``category``. Empty text becomes missing.
    table : str
        Name used in error messages.
    optional : mapping, optional
        Columns converted the same way when present.

    Raises
    ------
    DataError
        Naming the table, the column, the first bad value and its row.
    """
    if frame.empty:
        raise DataError(f"{table}: table has no rows")
    missing = [col for col in schema if col not in frame.columns]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise DataError(
            f"{table}: missing column(s) {missing}; columns present: {have}"
        )
    out = frame.copy()
    wanted = dict(schema)
    wanted.update({k: v for k, v in (optional or {}).items() if k in frame.columns})
    for column, kind in wanted.items():
        out[column] = _convert(out[column], kind, table, column)
    return out


def _convert(series: pd.Series, kind: Kind, table: str, column: str) -> pd.Series:
    if kind not in KINDS:
        raise ValueError(f"unknown column kind {kind!r}; allowed: {KINDS}")
    if kind in ("str", "category"):
        text = series.astype("string").str.strip()
        text = text.mask(text == "")
        return text.astype("category") if kind == "category" else text.astype(object)
    if kind == "date":
        return _to_date(series, table, column)
    if kind == "bool":
        return _to_bool(series, table, column)
    numeric = pd.to_numeric(series.replace("", np.nan), errors="coerce")
    text_present = series.notna() & (series.astype("string").str.strip() != "")
    _report_bad(text_present & numeric.isna(), series, table, column, "a number")
    huge = numeric.notna() & ~(numeric.abs() <= MAX_ABS)
    _report_bad(huge, series, table, column, f"a finite number within ±{MAX_ABS:.0e}")
    if kind == "int":
        frac = numeric.notna() & (numeric % 1 != 0)
        _report_bad(frac, series, table, column, "a whole number")
    return numeric.astype(float)


_ISO_DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?"
)
"""``YYYY-MM-DD``, optionally followed by a time and a UTC offset."""


def _to_date(series: pd.Series, table: str, column: str) -> pd.Series:
    """Parse ISO 8601 dates; refuse any other form rather than guess it.

    ``04/03/2027`` is the 3rd of April in one country and the 4th of March
    in another, so slash, dotted or worded dates are refused with the row,
    as are impossible dates such as ``2027-02-30``.
    """
    text = series.astype("string").str.strip().replace("", pd.NA)
    iso = text.str.fullmatch(_ISO_DATE).fillna(False).astype(bool)
    parsed = pd.to_datetime(text.where(iso), errors="coerce", format="ISO8601")
    what = "a date written YYYY-MM-DD (ISO 8601, e.g. 2027-03-04)"
    _report_bad(text.notna() & parsed.isna(), series, table, column, what)
    return parsed


def _to_bool(series: pd.Series, table: str, column: str) -> pd.Series:
    mapping = {"true": True, "1": True, "yes": True, "false": False, "0": False}
    mapping["no"] = False
    text = series.astype("string").str.strip().str.lower()
    out = text.map(mapping)
    _report_bad(
        text.notna() & (text != "") & out.isna(), series, table, column, "a yes/no"
    )
    return out.astype(object)


def _report_bad(
    bad: pd.Series, series: pd.Series, table: str, column: str, what: str
) -> None:
    if not bad.any():
        return
    position = np.flatnonzero(bad.to_numpy())[:1]
    value = series.iloc[position[0]]
    raise DataError(
        f"{table}: column '{column}' must be {what}, got {show(value)} "
        f"in data row {data_rows(series, position)[0]} ({int(bad.sum())} bad "
        "value(s) in all)"
    )


def require_nonnegative(frame: pd.DataFrame, column: str, table: str) -> None:
    """Raise if ``column`` has a negative or missing value."""
    values = frame[column]
    bad = values.isna() | (values < 0)
    if bad.any():
        row = np.flatnonzero(bad.to_numpy())[:1]
        raise DataError(
            f"{table}: column '{column}' must be a number >= 0, "
            f"got {show(values.iloc[row[0]])} in data row {data_rows(values, row)[0]}"
        )


def require_unique(frame: pd.DataFrame, column: str, table: str) -> None:
    """Raise if ``column`` has duplicate or missing values."""
    values = frame[column]
    if values.isna().any():
        (row,) = data_rows(values, np.flatnonzero(values.isna().to_numpy())[:1])
        raise DataError(f"{table}: column '{column}' is empty in data row {row}")
    dup = values[values.duplicated()]
    if not dup.empty:
        first = dup.iloc[0]
        rows = data_rows(values, np.flatnonzero((values == first).to_numpy())[:5])
        where = ", ".join(str(row) for row in rows)
        raise DataError(
            f"{table}: column '{column}' must be unique, {show(first)} appears "
            f"more than once (data rows {where}; {dup.nunique()} duplicated "
            "value(s) in all)"
        )


REPEATS_SHOWN = 3
"""Repeated (deal, rep) pairs named in a message, at most."""


def require_once_per_rep(
    ids: pd.Series | np.ndarray,
    reps: pd.Series | np.ndarray,
    column: str,
    rep_column: str,
    table: str,
) -> None:
    """Raise if a deal id is given twice for the same rep (blank ids aside).

    Across reps an id may repeat: a deal split between reps has one row per
    rep with its share.

    Parameters
    ----------
    ids, reps : array-like of shape (n_rows,)
        Deal id and rep id of every data row.
    column, rep_column : str
        Their column names, for the message.
    table : str
        Table name, for the message.
    """
    pairs = pd.DataFrame(
        {
            "id": pd.Series(np.asarray(ids, dtype=object), dtype="string").str.strip(),
            "rep": np.asarray(reps).astype(str),
        }
    )  # labels are data rows - 1
    pairs = pairs[pairs["id"].notna() & (pairs["id"] != "")]
    groups = pairs[pairs.duplicated(keep=False)].groupby(["id", "rep"], sort=False)
    found = list(groups.groups.items())
    if not found:
        return
    named = [
        f"{show(deal)} for {rep_column} {show(rep)} (data rows "
        f"{', '.join(str(int(i) + 1) for i in rows)})"
        for (deal, rep), rows in found[:REPEATS_SHOWN]
    ]
    more = (
        f" and {len(found) - REPEATS_SHOWN} more" if len(found) > REPEATS_SHOWN else ""
    )
    raise DataError(
        f"{table}: column '{column}' must not repeat a deal id for the same rep: "
        f"{'; '.join(named)}{more}; each row would be won and counted again. "
        "Give a deal once per rep (a deal split between reps: one row per rep "
        "with its share of the amount)"
    )
