"""Payout calculation jobs: ``calc``, ``explain`` and the dispute what-if.

Inputs are a plan YAML, a quotas table (reps) and a credits table; all are
validated before anything is computed or written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from spmopt.data import load_table
from spmopt.errors import ConfigError, DataError
from spmopt.payout.credits import Credit, quantize, read_credits
from spmopt.payout.engine import RepBook, rep_book
from spmopt.payout.limits import MAX_AMOUNT, limit_text
from spmopt.payout.plan import PlanConfig, load_plan
from spmopt.payout.reference import CalcResult, ReferenceCalculator
from spmopt.payout.statements import (
    EXACT_PLACES,
    LINE_MONEY,
    lines_frame,
    render_statement,
    show_amount,
)
from spmopt.runs import RunWriter, decimal_text

_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class CalcInputs:
    """Validated inputs of a payout calculation."""

    plan: PlanConfig
    book: RepBook
    credits_frame: pd.DataFrame
    credits: list[Credit]


def load_calc_inputs(plan: Path, quotas: Path, credits: Path) -> CalcInputs:
    """Read and validate the plan, the reps and the credits."""
    plan_cfg = load_plan(plan, "--plan file")
    quotas_name, credits_name = f"--quotas {quotas}", f"--credits {credits}"
    book = rep_book(plan_cfg, load_table(str(quotas), name=quotas_name), quotas_name)
    frame = load_table(str(credits), name=credits_name)
    parsed = read_credits(frame, plan_cfg, book.rep_ids, credits_name)
    ReferenceCalculator(plan_cfg, book)  # checks the plan calendar
    return CalcInputs(plan_cfg, book, frame, parsed)


def compute(inputs: CalcInputs, log: bool = True) -> CalcResult:
    """Run the reference calculator on validated inputs (``log``: INFO line)."""
    calculator = ReferenceCalculator(inputs.plan, inputs.book)
    return calculator.compute(inputs.credits, log)


def statement_name(rep_id: str, hashed: bool = False) -> str:
    """File name of a rep's statement, unique per rep id.

    An id made only of letters, digits, ``_``, ``.`` and ``-`` (and not
    starting with a dot) is its own name: ``statements/R01.txt``. Any other
    id, or any id when ``hashed``, has its unsafe characters (and leading
    dots) replaced by ``_`` and a short hash of the id appended, so ``R/1``
    and ``R_1`` get different files (``statements/R_1-a74a1770.txt`` and
    ``statements/R_1.txt``) and ``../x`` is ``statements/__x-<hash>.txt``,
    never a hidden file. :func:`statement_names` hashes ids that differ
    only by letter case, so that they differ on any file system.
    """
    safe = _SAFE.sub("_", rep_id)
    if safe.startswith("."):  # no hidden files, no ".." names
        safe = "_" + safe.lstrip(".")
    if safe != rep_id or hashed:
        digest = hashlib.sha256(rep_id.encode("utf-8")).hexdigest()[:8]
        safe = f"{safe}-{digest}"
    return f"statements/{safe}.txt"


def statement_names(rep_ids: Iterable[str]) -> dict[str, str]:
    """Statement file name of each rep, distinct even ignoring letter case.

    Reps whose plain names differ only by case (``R01`` and ``r01``, one
    file on macOS or Windows) both get hashed names.
    """
    reps = list(rep_ids)
    folded = Counter(statement_name(r).casefold() for r in reps)
    names = {
        r: statement_name(r, folded[statement_name(r).casefold()] > 1) for r in reps
    }
    if len({n.casefold() for n in names.values()}) < len(reps):
        raise DataError(
            "two rep ids would share a statement file name; rename one of them: "
            + ", ".join(sorted(names.values()))
        )
    return names


PAYOUT_MONEY = [
    "earned",
    "spif",
    "clawback",
    "draw",
    "paid",
    "paid_to_date",
    "draw_balance",
]
"""Columns of ``payouts.csv`` in the plan's currency, rounded as paid."""


CALC_JOB = "payout-calc"
"""Job name in the manifest of a ``payout calc`` run folder."""


def statement_from_run(run: Path, rep_id: str) -> str:
    """The statement of ``rep_id`` saved in a ``payout calc`` run folder.

    Raises
    ------
    ConfigError
        Naming ``--run`` and its value when the folder is missing, is not a
        run folder, or was written by another command; or naming the rep
        and the reps that have statements.
    """
    _check_calc_run(run)
    for hashed in (False, True):
        path = run / statement_name(rep_id, hashed)
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
        if text.startswith(f"Statement for {rep_id} - "):
            return text
    reps = _statement_reps(run)
    shown = ", ".join(map(repr, reps[:10])) + (", ..." if len(reps) > 10 else "")
    raise ConfigError(
        f"no statement for rep {rep_id!r} in --run {run} "
        f"({statement_name(rep_id)}); reps with statements: {shown or 'none'}"
    )


def _statement_reps(run: Path) -> list[str]:
    """Rep ids of the statements in a run folder, from their first lines."""
    reps = []
    for path in sorted((run / "statements").glob("*.txt")):
        first = path.read_text(encoding="utf-8").partition("\n")[0]
        head, sep, _ = first.removeprefix("Statement for ").rpartition(" - plan ")
        reps.append(head if sep else path.stem)
    return sorted(reps)


def _check_calc_run(run: Path) -> None:
    """Refuse a ``--run`` value that is not a ``payout calc`` run folder."""
    allowed = "a folder written by 'spmopt payout calc'"
    if not run.is_dir():
        what = "is a file, not a folder" if run.exists() else "does not exist"
        raise ConfigError(f"--run {run} {what}; give {allowed}")
    manifest = run / "manifest.json"
    try:
        job = json.loads(manifest.read_text(encoding="utf-8")).get("job")
    except (OSError, ValueError, AttributeError):
        raise ConfigError(
            f"--run {run} is not a spmopt run folder (no readable manifest.json); "
            f"give {allowed}"
        ) from None
    if job != CALC_JOB:
        raise ConfigError(
            f"--run {run} was written by {_show_job(job)}, not by 'spmopt payout "
            f"calc'; give {allowed}"
        )


def _show_job(job: object) -> str:
    """The command that wrote a run folder, from its manifest's job name."""
    if not isinstance(job, str) or not job:
        return "an unknown command"
    return "'spmopt " + job.replace("-", " ").replace(".", " ") + "'"


def write_calc(result: CalcResult, out: RunWriter) -> dict[str, Any]:
    """Write payouts, statement lines and one statement per rep."""
    decimals = result.plan.rounding.decimals
    out.write_csv("payouts.csv", result.payouts(), PAYOUT_MONEY, decimals)
    out.write_csv(
        "statement_lines.csv",
        lines_frame(result),
        LINE_MONEY,
        decimals,
        decimals + EXACT_PLACES,
    )
    for rep_id, name in statement_names(result.reps).items():
        out.write_text(name, render_statement(result, rep_id))
    summary = calc_summary(result)
    out.write_json("summary.json", summary)
    return summary


def calc_summary(result: CalcResult) -> dict[str, Any]:
    """Totals of a calculation (amounts as exact decimal strings)."""
    decimals = result.plan.rounding.decimals
    paid = sum((sum(r.paid, Decimal(0)) for r in result.reps.values()), Decimal(0))
    clawback = sum(
        (sum(r.clawback, Decimal(0)) for r in result.reps.values()), Decimal(0)
    )
    balance = sum((r.draw_balance[-1] for r in result.reps.values()), Decimal(0))
    draw = result.plan.draw
    return {
        "draw_balance_end": f"{quantize(balance, decimals):f}",
        "draw_balance_carried_forward": bool(draw and draw.carry_forward),
        "plan": result.plan.name,
        "currency": result.plan.currency,
        "n_reps": len(result.reps),
        "n_periods": result.calendar.n_periods,
        "n_lines": len(result.lines),
        "total_paid": f"{quantize(paid, decimals):f}",
        "total_clawback": f"{quantize(clawback, decimals):f}",
    }


def explain(inputs: CalcInputs, rep_id: str) -> str:
    """The statement of ``rep_id`` as text."""
    if rep_id not in inputs.book.rep_ids:
        known = ", ".join(inputs.book.rep_ids[:10])
        raise ConfigError(f"rep {rep_id!r} is not in the quotas table; reps: {known}")
    return render_statement(compute(inputs), rep_id)


# -- dispute what-if ----------------------------------------------------------


def parse_change(text: str) -> tuple[str, str, str]:
    """Parse ``KIND:CREDIT=VALUE`` into its three parts.

    Kinds: ``recredit`` (VALUE a rep id), ``split`` (``REP:SHARE,...``),
    ``date`` (``YYYY-MM-DD``) and ``amount`` (a number).
    """
    match = re.fullmatch(r"(recredit|split|date|amount):([^=]+)=(.+)", text.strip())
    if not match:
        raise ConfigError(
            f"--change {text!r} must look like KIND:CREDIT_ID=VALUE with KIND one "
            "of recredit, split, date, amount (e.g. recredit:D17=R04)"
        )
    kind, credit, value = match.groups()
    return kind, credit, value


def apply_change(frame: pd.DataFrame, change: str) -> pd.DataFrame:
    """Credits table with one proposed change applied (text columns).

    Rows keep their place and their index label (the data row in the file,
    0-based, when ``frame`` is a table as read): a re-split credit's new
    rows take the place and label of its first row, so messages about the
    changed table can name the file's rows (:func:`file_rows`).
    """
    kind, credit, value = parse_change(change)
    mask = (frame["credit_id"].astype(str).str.strip() == credit).to_numpy()
    positions = np.flatnonzero(mask)
    if len(positions) == 0:
        raise ConfigError(f"--change {change!r}: no credit with credit_id {credit!r}")
    _check_change_value(kind, value, change)
    if kind == "split":
        return _resplit(frame, mask, value, change)
    out = frame.copy()
    column = {"recredit": "rep_id", "date": "date", "amount": "amount"}[kind]
    out.iloc[positions, out.columns.get_loc(column)] = value
    if kind == "recredit" and "split" in out.columns:
        out.iloc[positions[0], out.columns.get_loc("split")] = ""
        dropped = set(positions[1:].tolist())
        out = out.iloc[[i for i in range(len(out)) if i not in dropped]]
    return out


def _check_change_value(kind: str, value: str, change: str) -> None:
    if kind == "amount":
        amount = _change_number(value)
        if amount is None or not 0 <= amount <= MAX_AMOUNT:
            raise ConfigError(
                f"--change {change!r}: the amount must be a number from 0 to "
                f"{limit_text(MAX_AMOUNT)}, got {value!r}"
            )
    if kind == "date":
        _check_change_date(value, change)


def _check_change_date(value: str, change: str) -> None:
    """Refuse a ``date`` change that is not a real ``YYYY-MM-DD`` date."""
    text = value.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ConfigError(
            f"--change {change!r}: the date must be YYYY-MM-DD, got {value!r}"
        )
    try:
        dt.date.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"--change {change!r}: {value!r} is not a real date ({exc}); write "
            "YYYY-MM-DD"
        ) from None


def _resplit(
    frame: pd.DataFrame, mask: np.ndarray, value: str, change: str
) -> pd.DataFrame:
    parts = [p.split(":") for p in value.split(",")]
    if any(len(p) != 2 for p in parts):
        raise ConfigError(f"--change {change!r}: split value must be REP:SHARE,...")
    reps = [r.strip() for r, _ in parts]
    twice = sorted({r for r in reps if reps.count(r) > 1})
    if twice:
        raise ConfigError(
            f"--change {change!r}: rep(s) {twice} given more than once; give each "
            "rep's share once"
        )
    first = int(np.flatnonzero(mask)[0])
    template = frame.iloc[first].to_dict()
    new = pd.DataFrame(
        [{**template, "rep_id": r, "split": s} for r, s in parts],
        index=[frame.index[first]] * len(parts),
    )
    before = frame.iloc[:first][~mask[:first]]
    after = frame.iloc[first:][~mask[first:]]
    return pd.concat([before, new, after]).fillna("")


def file_rows(frame: pd.DataFrame) -> list[int]:
    """Data row numbers (1-based) of a table changed by :func:`apply_change`."""
    return [int(label) + 1 for label in frame.index]


def whatif(inputs: CalcInputs, changes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rerun with ``changes``; differences per line and per rep and period.

    Messages about the changed credits name the rows of the credits file;
    the unchanged inputs are checked before the changed ones, so that an
    error they share (such as a payout too large to pay) is not blamed on
    a change.
    """
    frame = inputs.credits_frame.reset_index(drop=True)
    for change in changes:
        check_change(change, inputs.book.rep_ids)
        frame = apply_change(frame, change)
    before = compute(inputs, log=False)  # its own errors are not the changes'
    try:
        changed = _changed_inputs(inputs, frame)
        after = compute(changed)
    except DataError as exc:
        raise _blame_change(inputs, changes, exc) from None
    return line_diff(before, after), payout_diff(before, after)


def _changed_inputs(inputs: CalcInputs, frame: pd.DataFrame) -> CalcInputs:
    """Inputs with a changed credits table, validated as the file was."""
    rows = file_rows(frame)
    credits = read_credits(frame, inputs.plan, inputs.book.rep_ids, rows=rows)
    return CalcInputs(inputs.plan, inputs.book, frame, credits)


def _blame_change(
    inputs: CalcInputs, changes: list[str], error: DataError
) -> ConfigError:
    """The error of the changed credits, naming the first change that fails.

    The changes are applied one by one until the credits fail to validate
    or compute; data rows in the message are the credits file's rows, as
    changed.
    """
    frame = inputs.credits_frame.reset_index(drop=True)
    for change in changes:
        frame = apply_change(frame, change)
        try:
            compute(_changed_inputs(inputs, frame), log=False)
        except DataError as exc:
            return ConfigError(f"--change {change!r}: {exc} (after the change)")
    listed = ", ".join(repr(c) for c in changes)
    return ConfigError(f"--change {listed}: {error} (after the changes)")


def check_change(change: str, reps: tuple[str, ...]) -> None:
    """Refuse a ``--change`` whose value cannot be applied, naming it.

    A ``recredit`` or ``split`` must name reps of the quotas table, split
    shares must be numbers in (0, 1] that sum to 1, an amount a number
    from 0 to 1,000,000,000,000,000 (read exactly) and a date a real
    ``YYYY-MM-DD``.
    """
    kind, _, value = parse_change(change)
    if kind == "recredit":
        _check_change_reps([value.strip()], reps, change)
    elif kind == "split":
        _check_change_split(value, reps, change)
    else:
        _check_change_value(kind, value, change)


def _check_change_reps(names: list[str], reps: tuple[str, ...], change: str) -> None:
    known = set(reps)
    for name in names:
        if name not in known:
            shown = ", ".join(reps[:10]) + (", ..." if len(reps) > 10 else "")
            raise ConfigError(
                f"--change {change!r}: rep {name!r} is not in the quotas table; "
                f"reps: {shown}"
            )


def _check_change_split(value: str, reps: tuple[str, ...], change: str) -> None:
    parts = [p.split(":") for p in value.split(",")]
    if any(len(p) != 2 for p in parts):
        raise ConfigError(f"--change {change!r}: split value must be REP:SHARE,...")
    _check_change_reps([r.strip() for r, _ in parts], reps, change)
    shares = [_change_number(s) for _, s in parts]
    for (rep, text), share in zip(parts, shares, strict=True):
        if share is None or not 0 < share <= 1:
            raise ConfigError(
                f"--change {change!r}: the share of rep {rep.strip()!r} must be a "
                f"number in (0, 1], got {text.strip()!r}"
            )
    total = sum((s for s in shares if s is not None), Decimal(0))
    if abs(total - 1) > Decimal("1e-9"):
        raise ConfigError(
            f"--change {change!r}: the split shares sum to {total}, must sum to 1"
        )


def _change_number(text: str) -> Decimal | None:
    """A number written in a ``--change`` (None when it is not one)."""
    try:
        number = Decimal(text.strip())
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


_KEY = ["rep_id", "period", "section", "kind", "credit_id", "tier", "rate"]


def line_diff(before: CalcResult, after: CalcResult) -> pd.DataFrame:
    """Lines whose amount changed: key columns, before, after, difference.

    Amounts are the lines' amounts as their statements show them
    (:func:`spmopt.payout.statements.shown_amounts`), summed per key, as
    Decimals; ``difference`` is ``after - before`` as printed.
    """
    a, b = _keyed(before), _keyed(after)
    merged = a.join(b, how="outer", suffixes=("_before", "_after"))
    merged = merged.fillna(Decimal(0))
    merged["difference"] = merged["amount_after"] - merged["amount_before"]
    merged = merged[merged["difference"] != 0].reset_index()
    return merged.rename(columns={"amount_before": "before", "amount_after": "after"})


def _keyed(result: CalcResult) -> pd.DataFrame:
    frame = lines_frame(result)
    grouped = frame.groupby(_KEY, sort=True, dropna=False)["amount"].agg(
        lambda s: sum(s, Decimal(0))
    )
    return grouped.to_frame()


def payout_diff(before: CalcResult, after: CalcResult) -> pd.DataFrame:
    """Paid per rep and period before and after, with the difference."""
    a, b = before.payouts(), after.payouts()
    out = a[["rep_id", "period"]].copy()
    out["paid_before"] = a["paid"]
    out["paid_after"] = b["paid"]
    diff = [y - x for x, y in zip(a["paid"], b["paid"], strict=True)]
    out["difference"] = diff
    return out[[d != 0 for d in diff]].reset_index(drop=True)


WHATIF_MONEY = ["paid_before", "paid_after", "difference"]
"""Columns of ``whatif_payouts.csv`` in the plan's currency."""

WHATIF_LINE_MONEY = ["before", "after", "difference"]
"""Exact amounts of ``whatif_lines.csv`` (as on statements)."""


def whatif_text(lines: pd.DataFrame, payouts: pd.DataFrame, decimals: int) -> str:
    """The what-if differences as printed: amounts as on statements.

    Lines paid at no rate (draws, gates, true-ups, clawbacks, rounding)
    show a blank rate and tier rather than ``NaN``.
    """
    shown = lines.copy()
    shown["rate"] = [_show_rate(rate) for rate in shown["rate"]]
    shown["tier"] = shown["tier"].fillna("")
    for column in WHATIF_LINE_MONEY:
        shown[column] = [_show_line(v, decimals) for v in shown[column]]
    paid = payouts.copy()
    for column in WHATIF_MONEY:
        paid[column] = [decimal_text(Decimal(str(v)), decimals) for v in paid[column]]
    return "\n".join(
        [
            "changed lines:",
            shown.to_string(index=False) if len(shown) else "  (none)",
            "changed payouts:",
            paid.to_string(index=False) if len(paid) else "  (none)",
        ]
    )


def _show_rate(rate: Any) -> str:
    """A line's rate as text; blank for a line not paid at a rate."""
    if rate is None or pd.isna(rate) or rate == "":
        return ""
    return f"{float(rate):g}"


def _show_line(value: Decimal | float, decimals: int) -> str:
    """A line amount as on statements (``decimals`` to ``decimals + EXACT_PLACES``)."""
    exact = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return show_amount(exact, decimals)
