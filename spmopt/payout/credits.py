"""Credits: the dated transactions a payout is computed from.

A credits table has one row per deal and rep: ``credit_id``, ``rep_id``,
``date`` and ``amount`` (currency, >= 0), and optionally ``measure``
(default: the plan's revenue measure), ``units``, ``split`` (the rep's
share of a deal credited to several reps; shares of one ``credit_id`` sum
to 1), ``tag`` (for SPIFs), ``cancel_date``, ``contract_months`` and
``contract_start`` (for clawbacks). Amounts, units and split shares
written as text (CSV) are read exactly, digit for digit, never through a
float, and must be at most 1,000,000,000,000,000 in absolute value (checked
on the exact digits); split amounts are
rounded to the plan's cents so that the parts add up to the deal amount
exactly. A ``credit_id`` and measure credit each rep at most once: a second
row for the same rep (a row exported twice) is refused.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, InvalidOperation

import pandas as pd

from spmopt.data import check_schema
from spmopt.errors import DataError, show
from spmopt.payout.limits import (
    check_amount_cells,
    check_written_amounts,
    too_large,
)
from spmopt.payout.plan import PlanConfig
from spmopt.rounding import round_exact_to_total

REQUIRED = {"credit_id": "str", "rep_id": "str", "date": "date", "amount": "float"}
EXACT = ("amount", "units", "split")
"""Numeric columns read exactly as written (every digit of a text cell)."""
OPTIONAL = {
    "measure": "str",
    "units": "float",
    "split": "float",
    "tag": "str",
    "cancel_date": "date",
    "contract_months": "int",
    "contract_start": "date",
}


@dataclass(frozen=True)
class Credit:
    """One rep's credit for one deal.

    Attributes
    ----------
    row : int
        Data row in the credits table (1-based), for messages.
    amount, units : Decimal
        The rep's part after the split (currency, units).
    share : Decimal
        The rep's split share of the deal (1 when not split).
    """

    row: int
    credit_id: str
    rep_id: str
    date: date
    measure: str
    amount: Decimal
    units: Decimal
    share: Decimal
    tag: str | None = None
    cancel_date: dt.date | None = None
    contract_months: int | None = None
    contract_start: dt.date | None = None

    def quantity(self, kind: str) -> Decimal:
        """What the credit contributes to a measure of credit ``kind``."""
        if kind == "amount":
            return self.amount
        if kind == "units":
            return self.units
        return self.share


def to_decimal(value: float) -> Decimal:
    """The shortest decimal of a float (``0.1`` for the float nearest 0.1).

    Only for numbers that are floats by nature (shares of a period,
    Parquet float cells); money written as text is read by
    :func:`exact_amount` instead, every digit kept.
    """
    return Decimal(repr(float(value)))


def exact_amount(written: object, parsed: Decimal) -> Decimal:
    """The number exactly as written in a table cell.

    A text cell (CSV) is read digit for digit, so ``123456789012345.67``
    keeps its cents (a float would not); a decimal cell (a Parquet decimal
    column) is taken as it is; a float cell (Parquet) or a text that is not
    a plain decimal number gives ``parsed``.
    """
    if isinstance(written, Decimal):
        return written + 0 if written.is_finite() else parsed
    if not isinstance(written, str) or "_" in written:  # "1_000" is not a table number
        return parsed
    try:
        exact = Decimal(written.strip())
    except ArithmeticError:
        return parsed
    return exact + 0 if exact.is_finite() else parsed


def exact_column(written: pd.Series, parsed: pd.Series) -> list[Decimal | None]:
    """A numeric column exactly as written, cell by cell (None when blank).

    ``written`` is the column as read (text for a CSV), ``parsed`` the same
    column after :func:`~spmopt.data.check_schema` (floats, checked).
    """
    return [
        None if pd.isna(value) else exact_amount(cell, to_decimal(value))
        for cell, value in zip(written, parsed, strict=True)
    ]


def quantize(value: Decimal, decimals: int, mode: str = "half_up") -> Decimal:
    """Round ``value`` to ``decimals`` places (``half_up`` or ``half_even``).

    Raises
    ------
    DataError
        When ``value`` has too many digits to be rounded exactly (a payout
        grown far beyond 1e15 from rates, quotas and credits that are each
        in range).
    """
    rounding = ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN
    try:
        return value.quantize(Decimal(1).scaleb(-decimals), rounding=rounding)
    except InvalidOperation:
        why = f"it cannot be rounded exactly to {decimals} decimal place(s)"
        raise too_large(value, why) from None


def split_amount(
    total: Decimal,
    shares: list[Decimal],
    decimals: int = 2,
    rule: str = "largest_remainder",
) -> list[Decimal]:
    """Split ``total`` by ``shares`` into parts rounded to ``decimals``.

    ``largest_remainder`` rounds every part down and gives the cents left
    one by one to the parts with the largest remainders (earlier parts
    first on ties, remainders equal to a millionth of a cent tie), by
    :func:`spmopt.rounding.round_exact_to_total`;
    ``first_takes_remainder`` rounds every part but the first half up and
    gives the first what is left. Either way the parts sum to ``total``
    rounded to ``decimals``.

    Examples
    --------
    >>> [str(x) for x in split_amount(Decimal("1.25"), [Decimal("0.5")] * 2)]
    ['0.63', '0.62']
    """
    target = quantize(total, decimals)
    raw = [target * s for s in shares]
    if rule == "first_takes_remainder":
        rest = [quantize(x, decimals) for x in raw[1:]]
        return [target - sum(rest, Decimal(0)), *rest]
    tie = Decimal(1).scaleb(-decimals - 6)  # shares written as 0.3333... still tie
    return round_exact_to_total([x.quantize(tie) for x in raw], target, decimals)


def read_credits(
    frame: pd.DataFrame,
    plan: PlanConfig,
    reps: tuple[str, ...],
    table: str = "credits",
    rows: Sequence[int] | None = None,
) -> list[Credit]:
    """Validate a credits table against ``plan`` and the known ``reps``.

    ``rows`` gives each frame row's data row number in the file (1-based,
    for messages and statements); by default the frame's own order.
    """
    written = frame
    check_written_amounts(frame, ("amount", "units"), table)
    frame = check_schema(frame, REQUIRED, table, optional=OPTIONAL)
    numbers = list(range(1, len(frame) + 1)) if rows is None else list(rows)
    _check_values(frame, table, numbers)
    exact = {
        column: exact_column(written[column], frame[column])
        for column in EXACT
        if column in frame.columns
    }
    for column, values in exact.items():
        check_amount_cells(values, table, column, numbers)
    known, measures = set(reps), [m.name for m in plan.measures]
    credits = [_credit(frame, exact, i, plan, numbers[i]) for i in range(len(frame))]
    for credit in credits:
        if credit.rep_id not in known:
            raise DataError(
                f"{table}: rep_id {credit.rep_id!r} in data row {credit.row} is "
                "not in the quotas table"
            )
        if credit.measure not in measures:
            raise DataError(
                f"{table}: measure {credit.measure!r} in data row {credit.row} is "
                f"not a plan measure; plan measures: {measures}"
            )
    return apply_splits(credits, plan, table)


def _check_values(frame: pd.DataFrame, table: str, rows: list[int]) -> None:
    checks = []
    for column in ("amount", "units", "contract_months"):
        if column in frame.columns:
            values = frame[column]
            bad = values < 0 if column != "amount" else values.isna() | (values < 0)
            checks.append((bad, values, column, "a number >= 0"))
    if "split" in frame.columns:
        values = frame["split"]
        bad = values.notna() & ((values <= 0) | (values > 1))
        checks.append((bad, values, "split", "a share in (0, 1]"))
    for column in ("credit_id", "rep_id", "date"):
        checks.append((frame[column].isna(), frame[column], column, "present"))
    for bad, values, column, what in checks:
        if bool(bad.fillna(False).any()):
            i = int(bad.fillna(False).to_numpy().nonzero()[0][0])
            raise DataError(
                f"{table}: column '{column}' must be {what}, got "
                f"{show(values.iloc[i])} in data row {rows[i]}"
            )


def _credit(
    frame: pd.DataFrame,
    exact: dict[str, list[Decimal | None]],
    i: int,
    plan: PlanConfig,
    row_number: int,
) -> Credit:
    row = frame.iloc[i]

    def get(column: str) -> object:
        value = row.get(column) if column in frame.columns else None
        return None if value is None or pd.isna(value) else value  # type: ignore[call-overload]

    def number(column: str, default: Decimal) -> Decimal:
        value = exact[column][i] if column in exact else None
        return default if value is None else value

    months = get("contract_months")
    return Credit(
        row=row_number,
        credit_id=str(row["credit_id"]),
        rep_id=str(row["rep_id"]),
        date=pd.Timestamp(row["date"]).date(),
        measure=str(get("measure") or plan.revenue),
        amount=number("amount", Decimal(0)),
        units=number("units", Decimal(0)),
        share=number("split", Decimal(1)),
        tag=None if get("tag") is None else str(get("tag")),
        cancel_date=_date(get("cancel_date")),
        contract_months=None if months is None else int(months),  # type: ignore[call-overload]
        contract_start=_date(get("contract_start")),
    )


def _date(value: object) -> date | None:
    return None if value is None else pd.Timestamp(value).date()  # type: ignore[arg-type]


def apply_splits(credits: list[Credit], plan: PlanConfig, table: str) -> list[Credit]:
    """Replace split rows' amounts by their rounded parts of the deal."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, credit in enumerate(credits):
        groups[(credit.credit_id, credit.measure)].append(i)
    out = list(credits)
    for (credit_id, _), rows in groups.items():
        if len(rows) == 1 and credits[rows[0]].share == 1:
            continue
        _check_split(credits, rows, credit_id, table)
        shares = [credits[i].share for i in rows]
        parts = split_amount(
            credits[rows[0]].amount,
            shares,
            plan.rounding.decimals,
            plan.split_rounding,
        )
        for i, part in zip(rows, parts, strict=True):
            units = credits[i].units * credits[i].share
            out[i] = replace(credits[i], amount=part, units=units)
    return out


def _check_split(credits: list[Credit], rows: list[int], cid: str, table: str) -> None:
    total = sum((credits[i].share for i in rows), Decimal(0))
    listed = ", ".join(str(r) for r in sorted({credits[i].row for i in rows}))
    if len(rows) > 1 and all(credits[i].share == 1 for i in rows):
        raise DataError(
            f"{table}: credit_id {cid!r} appears {len(rows)} times (data rows "
            f"{listed}), each with the whole credit (no split share): give a "
            f"credit once, or one row per rep with split shares that sum to 1"
        )
    _refuse_repeated_rep(credits, rows, cid, table)
    if abs(total - 1) > Decimal("1e-9"):
        raise DataError(
            f"{table}: split shares of credit_id {cid!r} (data rows {listed}) "
            f"sum to {total}, must sum to 1"
        )
    amounts = {credits[i].amount for i in rows}
    if len(amounts) > 1:
        raise DataError(
            f"{table}: rows of split credit_id {cid!r} give different amounts "
            f"{sorted(map(str, amounts))}; give the deal total on every row"
        )


def _refuse_repeated_rep(
    credits: list[Credit], rows: list[int], cid: str, table: str
) -> None:
    """Refuse a credit (and measure) given to the same rep on several rows.

    A rep's share of a deal is one row; a second row for the same rep is
    almost always the row exported twice, and would pay the rep twice.
    """
    by_rep: dict[str, list[int]] = defaultdict(list)
    for i in rows:
        by_rep[credits[i].rep_id].append(credits[i].row)
    for rep, numbers in by_rep.items():
        if len(numbers) > 1:
            listed = ", ".join(str(r) for r in sorted(numbers))
            measure = credits[rows[0]].measure
            raise DataError(
                f"{table}: credit_id {cid!r} credits rep_id {rep!r} "
                f"{len(numbers)} times for measure {measure!r} (data rows "
                f"{listed}); give each rep's share of a credit on one row (a "
                "repeated row is most likely exported twice)"
            )
