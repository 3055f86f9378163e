"""Rep statements: the calculator's lines as a table and as text."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from spmopt.payout.credits import quantize
from spmopt.payout.reference import CalcResult, Line

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


def show_amount(value: Decimal, decimals: int) -> str:
    """Exact amount with at least ``decimals`` and at most ``decimals + 3``."""
    fine = quantize(value, decimals + 3) + 0
    text = f"{fine:f}"
    whole, _, frac = text.partition(".")
    frac = frac.rstrip("0").ljust(decimals, "0")
    return f"{whole}.{frac}" if frac else whole


def _num(value: Decimal | None, places: int = 6) -> str:
    if value is None:
        return ""
    return f"{value.quantize(Decimal(1).scaleb(-places)).normalize():f}"


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(_num(value))


def lines_frame(result: CalcResult) -> pd.DataFrame:
    """All statement lines, one row each (``statement_lines.csv``)."""
    decimals = result.plan.rounding.decimals
    rows = [_line_row(result, line, decimals) for line in result.lines]
    return pd.DataFrame(rows, columns=LINE_COLUMNS)


def _line_row(result: CalcResult, line: Line, decimals: int) -> dict[str, object]:
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
        "amount": float(show_amount(line.amount, decimals)),
        "note": line.note,
    }


def render_statement(result: CalcResult, rep_id: str) -> str:
    """A rep's statement as plain text, period by period."""
    rep = result.reps[rep_id]
    plan, cal = result.plan, result.calendar
    decimals = plan.rounding.decimals
    out = [
        f"Statement for {rep_id} - plan {plan.name} ({plan.currency})",
        f"Plan year {cal.start} to {cal.end}; line amounts exact, paid and draw "
        f"balances rounded to {decimals} decimals",
        _terms(result, rep_id),
    ]
    for p in range(cal.n_periods):
        first, last = cal.bounds(p)
        out += ["", f"Period {cal.label(p)} ({first} to {last})"]
        out += _period_lines([x for x in rep.lines if x.period == p], decimals)
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
    text = f"Annual quota: {quotas}; target incentive {book.target_incentive[r]:,.2f}"
    if book.opening_draw is not None and book.opening_draw[r]:
        text += f"; draw balance carried in {book.opening_draw[r]:,.2f}"
    return text


def _period_lines(lines: list[Line], decimals: int) -> list[str]:
    if not lines:
        return ["  (no credits)"]
    header = (
        f"  {'date':<10}  {'credit':<10}  {'section':<16}  {'what':<12}  "
        f"{'tier':>4}  {'rate':>9}  {'basis':<23}  {'amount':>14}  note"
    )
    return [header] + [_text_line(line, decimals) for line in lines]


def _text_line(line: Line, decimals: int) -> str:
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
        f"{show_amount(line.amount, decimals):>14}  {line.note}"
    ).rstrip()


def _total(label: str, value: Decimal, decimals: int) -> str:
    return f"  {label:<40}{show_amount(value, decimals):>61}"
