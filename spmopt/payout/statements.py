"""Rep statements: the calculator's lines as a table and as text."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from spmopt.payout.credits import quantize
from spmopt.payout.reference import CalcResult, Line
from spmopt.rounding import round_exact_to_total
from spmopt.runs import decimal_text

LINE_COLUMNS = [
    "rep_id",
    "period",
    "date",
    "credit_id",
    "section",
    "kind",
    "tier",
    "rate",
    "basis_from",
    "basis_to",
    "amount",
    "note",
]
_KIND_TEXT = {
    "slice": "in tier",
    "threshold": "threshold",
    "prior_ytd": "YTD re-rate",
    "paid_before": "paid before",
    "payout_tiers": "payout tiers",
}


EXACT_PLACES = 3
"""Places shown on a statement line beyond the plan's rounding decimals."""

LINE_MONEY = ["amount"]
"""Amounts of ``statement_lines.csv``, as printed (Decimal, exact)."""


def show_amount(value: Decimal, decimals: int) -> str:
    """Amount with ``decimals`` to ``decimals + EXACT_PLACES`` places."""
    fine = quantize(value, decimals + EXACT_PLACES)
    return decimal_text(fine, decimals, decimals + EXACT_PLACES)


def _num(value: Decimal | None, places: int = 6) -> str:
    if value is None:
        return ""
    return f"{value.quantize(Decimal(1).scaleb(-places)).normalize():f}"


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(_num(value))


def shown_amounts(lines: list[Line], paid: Decimal, decimals: int) -> list[str]:
    """Amounts of one rep's lines in one period as printed.

    The exact amounts are rounded to ``decimals + EXACT_PLACES`` places by
    largest remainder (:func:`spmopt.rounding.round_exact_to_total`) so that,
    as printed, they add up exactly to what is paid: a line exact at those
    places shows its exact amount, any other is within one unit of the last
    printed place of it. Statements, ``statement_lines.csv`` and the
    what-if all show these amounts.
    """
    places = decimals + EXACT_PLACES
    amounts = round_exact_to_total([line.amount for line in lines], paid, places)
    return [decimal_text(a, decimals, places) for a in amounts]


def lines_frame(result: CalcResult) -> pd.DataFrame:
    """All statement lines, one row each (``statement_lines.csv``)."""
    decimals = result.plan.rounding.decimals
    groups: dict[tuple[str, int], list[int]] = {}
    for k, line in enumerate(result.lines):
        groups.setdefault((line.rep_id, line.period), []).append(k)
    shown = [""] * len(result.lines)
    for (rep_id, p), members in groups.items():
        paid = result.reps[rep_id].paid[p]
        lines = [result.lines[k] for k in members]
        for k, text in zip(members, shown_amounts(lines, paid, decimals), strict=True):
            shown[k] = text
    rows = [
        _line_row(result, line, text)
        for line, text in zip(result.lines, shown, strict=True)
    ]
    return pd.DataFrame(rows, columns=LINE_COLUMNS)


def _line_row(result: CalcResult, line: Line, amount: str) -> dict[str, object]:
    return {
        "rep_id": line.rep_id,
        "period": result.calendar.label(line.period),
        "date": line.date.isoformat() if line.date else "",
        "credit_id": line.credit_id,
        "section": line.section,
        "kind": line.kind,
        "tier": "" if line.tier is None else str(line.tier),
        "rate": _float(line.rate),
        "basis_from": _float(line.basis_from),
        "basis_to": _float(line.basis_to),
        "amount": Decimal(amount),
        "note": line.note,
    }


def render_statement(result: CalcResult, rep_id: str) -> str:
    """A rep's statement as plain text, period by period.

    Amounts are printed in full (thousands separators, never an exponent)
    in one column whose decimal points line up, lines and totals alike,
    however many digits the largest amount has.
    """
    rep = result.reps[rep_id]
    plan, cal = result.plan, result.calendar
    decimals = plan.rounding.decimals
    head = [
        f"Statement for {rep_id} - plan {plan.name} ({plan.currency})",
        f"Plan year {cal.start} to {cal.end}; line amounts to at most "
        f"{decimals + EXACT_PLACES} decimals, rounded so that they add up to what "
        f"is paid; paid and draw balances rounded to {decimals} decimals",
        _terms(result, rep_id),
    ]
    rows: list[tuple[object, str | None]] = []  # a line or text, and its amount
    for p in range(cal.n_periods):
        first, last = cal.bounds(p)
        rows += [("", None), (f"Period {cal.label(p)} ({first} to {last})", None)]
        lines = [x for x in rep.lines if x.period == p]
        amounts = shown_amounts(lines, rep.paid[p], decimals)
        rows += [(_HEADER, None)] if lines else [("  (no credits)", None)]
        rows += list(zip(lines, amounts, strict=True))
        rows.append(("Paid this period", show_amount(rep.paid[p], decimals)))
        if plan.draw is not None and plan.draw.recoverable:
            owed = show_amount(draw_balance_owed(result, rep_id, p), decimals)
            rows.append(("Draw balance owed", owed))
    total = show_amount(sum(rep.paid, Decimal(0)), decimals)
    rows += [("", None), ("Paid in the year", total)]
    column = _AmountColumn([a for _, a in rows if isinstance(a, str)], decimals)
    return "\n".join(head + [column.render(*row) for row in rows]) + "\n"


def draw_balance_owed(result: CalcResult, rep_id: str, p: int) -> Decimal:
    """Draw balance a rep owes after period ``p``, rounded like payments.

    The exact balance (the running sum of the draw lines, with the carried
    balance) is rounded once, with the plan's rounding, as the amount paid
    to date is; it is never rebuilt from rounded period changes, so rounding
    cannot drift. It equals ``draw_balance`` in ``payouts.csv`` and moves
    from one period to the next by that period's draw line to within one
    unit of the last decimal (a cent).

    Returns
    -------
    Decimal
        Currency, ``plan.rounding.decimals`` places.
    """
    rounding = result.plan.rounding
    exact = result.reps[rep_id].draw_balance[p]
    return quantize(exact, rounding.decimals, rounding.mode) + 0


def _terms(result: CalcResult, rep_id: str) -> str:
    """Annual quotas and target incentive of the rep, one line, in full."""
    book = result.book
    r = book.rep_ids.index(rep_id)
    decimals = result.plan.rounding.decimals
    quotas = ", ".join(
        f"{m.name} {_full(book.quota_of(r, i).normalize())}"
        for i, m in enumerate(result.plan.measures)
    )
    incentive = _full(book.incentive_of(r), decimals)
    text = f"Annual quota: {quotas}; target incentive {incentive}"
    if book.opening_of(r):
        text += f"; draw balance carried in {_full(book.opening_of(r), decimals)}"
    return text


def _full(value: Decimal, decimals: int = 0) -> str:
    """Every digit of ``value`` with thousands separators, no exponent.

    At least ``decimals`` places are shown (``40,000.00``); more when the
    value has them (``1,000.105`` stays as written).
    """
    if value.as_tuple().exponent > -decimals:  # type: ignore[operator]
        value = value.quantize(Decimal(1).scaleb(-decimals))
    return f"{value:,f}"


_LEFT = (
    f"  {'date':<10}  {'credit':<10}  {'section':<16}  {'what':<12}  "
    f"{'tier':>4}  {'rate':>9}  {'basis':<23}  "
)
"""Columns of a statement line before the amount (their header)."""
_HEADER = "<header>"
"""Placeholder of a period's column header among the statement rows."""


class _AmountColumn:
    """The amount column of a statement: one width, decimal points aligned.

    Parameters
    ----------
    amounts : list of str
        Every amount the statement prints (lines and totals).
    decimals : int
        The plan's rounding decimals; lines show up to ``decimals +
        EXACT_PLACES`` places.
    """

    def __init__(self, amounts: list[str], decimals: int) -> None:
        self.places = decimals + EXACT_PLACES
        self.whole = max([len(a.partition(".")[0]) for a in amounts] + [1])
        self.width = max(len("amount"), self.whole + 1 + self.places)

    def cell(self, amount: str) -> str:
        """``amount`` padded so its decimal point sits in the column's place."""
        whole, point, fraction = amount.partition(".")
        return f"{whole:>{self.whole}}{point or ' '}{fraction:<{self.places}}"

    def render(self, first: object, amount: object) -> str:
        """One statement row: a line, a column header, a total or plain text."""
        if isinstance(first, Line):
            return _text_line(first, self.cell(str(amount)))
        if first == _HEADER:
            return f"{_LEFT}{'amount':>{self.width}}  note"
        if isinstance(amount, str):
            label = f"  {first}"
            return f"{label:<{len(_LEFT)}}{self.cell(amount):>{self.width}}".rstrip()
        return str(first)


def _text_line(line: Line, amount: str) -> str:
    basis = ""
    if line.basis_to is not None:
        lo = "" if line.basis_from is None else _num(line.basis_from, 4) + " -> "
        basis = lo + _num(line.basis_to, 4)
    what = _KIND_TEXT.get(line.kind, line.kind)
    day = line.date.isoformat() if line.date else ""
    tier = "" if line.tier is None else str(line.tier)
    return (
        f"  {day:<10}  {line.credit_id:<10}  {line.section:<16}  {what:<12}  "
        f"{tier:>4}  {_num(line.rate, 4):>9}  {basis:<23}  "
        f"{amount}  {line.note}"
    ).rstrip()
