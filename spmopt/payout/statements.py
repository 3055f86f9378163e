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
    """A rep's statement as plain text, period by period."""
    rep = result.reps[rep_id]
    plan, cal = result.plan, result.calendar
    decimals = plan.rounding.decimals
    out = [
        f"Statement for {rep_id} - plan {plan.name} ({plan.currency})",
        f"Plan year {cal.start} to {cal.end}; line amounts to at most "
        f"{decimals + EXACT_PLACES} decimals, rounded so that they add up to what "
        f"is paid; paid and draw balances rounded to {decimals} decimals",
        _terms(result, rep_id),
    ]
    for p in range(cal.n_periods):
        first, last = cal.bounds(p)
        out += ["", f"Period {cal.label(p)} ({first} to {last})"]
        lines = [x for x in rep.lines if x.period == p]
        out += _period_lines(lines, shown_amounts(lines, rep.paid[p], decimals))
        out.append(_total("Paid this period", rep.paid[p], decimals))
        if plan.draw is not None and plan.draw.recoverable:
            owed = draw_balance_owed(result, rep_id, p)
            out.append(_total("Draw balance owed", owed, decimals))
    out += ["", _total("Paid in the year", sum(rep.paid, Decimal(0)), decimals)]
    return "\n".join(out) + "\n"


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
    """Annual quotas and target incentive of the rep, one line."""
    book = result.book
    r = book.rep_ids.index(rep_id)
    quotas = ", ".join(
        f"{m.name} {book.quotas[r, i]:,.10g}"
        for i, m in enumerate(result.plan.measures)
    )
    text = f"Annual quota: {quotas}; target incentive {book.incentive_of(r):,.2f}"
    if book.opening_of(r):
        text += f"; draw balance carried in {book.opening_of(r):,.2f}"
    return text


def _period_lines(lines: list[Line], amounts: list[str]) -> list[str]:
    if not lines:
        return ["  (no credits)"]
    header = (
        f"  {'date':<10}  {'credit':<10}  {'section':<16}  {'what':<12}  "
        f"{'tier':>4}  {'rate':>9}  {'basis':<23}  {'amount':>14}  note"
    )
    pairs = zip(lines, amounts, strict=True)
    return [header] + [_text_line(line, amount) for line, amount in pairs]


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
        f"{amount:>14}  {line.note}"
    ).rstrip()


def _total(label: str, value: Decimal, decimals: int) -> str:
    return f"  {label:<40}{show_amount(value, decimals):>61}"
