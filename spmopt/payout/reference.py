"""Reference calculator: exact payouts from credits, line by line.

The calculator walks each rep's credits in date order with exact decimal
arithmetic and records every step as a :class:`Line` of the rep's
statement: which credit fell in which tier at which rate, thresholds
crossed, year-to-date re-rating, gates, payout tiers, caps and floors,
SPIFs, clawbacks, the draw and the final rounding. The lines of a rep and
period always add up to what the rep is paid, so a statement can be
checked by hand. It is deliberately plain and slow: it is the oracle the
vectorised engine (:mod:`spmopt.payout.engine`) is tested against.

Order of steps in a period (the same as the engine's):

1. each measure: credit lines on the curve, ``x`` running from 0 (or from
   the year-to-date total before the period for ``ytd`` measures, whose
   earlier credits are first re-rated at the year-to-date quota); gates;
   payout tiers; cap and floor; minus what earlier periods paid (``ytd``);
2. plan gates, plan cap and floor on the sum of the measures;
3. SPIFs and clawbacks;
4. the draw;
5. rounding: the cumulative amount paid is rounded once to the plan's
   cents and the period pays the rounded total minus earlier payments.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import pandas as pd

from spmopt._logging import logger
from spmopt.errors import DataError
from spmopt.payout.credits import Credit, quantize, to_decimal
from spmopt.payout.curves import Segments, exact_segments
from spmopt.payout.engine import RepBook
from spmopt.payout.limits import check_computed
from spmopt.payout.periods import PlanCalendar, months_between
from spmopt.payout.plan import Clawback, Gate, Measure, PlanConfig
from spmopt.rounding import round_exact_to_total

ZERO = Decimal(0)
CREDIT_KINDS = ("slice", "threshold")


@dataclass(frozen=True)
class Line:
    """One line of a statement.

    Attributes
    ----------
    rep_id : str
    period : int
        Pay period, 0-based.
    section : str
        Measure name, ``spif:<name>``, ``plan``, ``clawback``, ``draw`` or
        ``rounding``.
    kind : str
        ``slice`` (a credit's quantity in one tier at its rate),
        ``threshold`` (a retroactive re-rate when a threshold is crossed),
        ``prior_ytd``, ``gate``, ``payout_tiers``, ``cap``, ``floor``,
        ``paid_before``, ``spif``, ``clawback``, ``draw`` or ``rounding``.
    amount : Decimal
        Signed amount in plan currency, exact (not rounded).
    credit_id : str
        The credit that caused the line ("" for period-level lines).
    tier : int, optional
        1-based tier (or segment) of the curve.
    rate : Decimal, optional
        The tier's rate as written in the plan.
    basis_from, basis_to : Decimal, optional
        Range of the curve's basis (attainment, amount, units or deals)
        the line covers.
    note : str
        A few words for the reader.
    """

    rep_id: str
    period: int
    section: str
    kind: str
    amount: Decimal
    credit_id: str = ""
    date: date | None = None
    tier: int | None = None
    rate: Decimal | None = None
    basis_from: Decimal | None = None
    basis_to: Decimal | None = None
    note: str = ""


@dataclass(frozen=True)
class Piece:
    """A step of the curve between two basis values."""

    tier: int
    kind: str
    rate: Decimal
    lo: Decimal
    hi: Decimal
    amount: Decimal


def walk(seg: Segments[Decimal], a: Decimal, b: Decimal) -> list[Piece]:
    """Split ``f(b) - f(a)`` (``a <= b``) into tier slices and jumps.

    The pieces add up exactly to ``seg.value(b) - seg.value(a)``.
    """
    ja, jb = seg.index(a), seg.index(b)
    pieces = []
    for j in range(ja, jb + 1):
        if j > ja:
            lo = seg.starts[j]
            jump = seg.formula(j, lo) - seg.formula(j - 1, lo)
            if jump:
                pieces.append(Piece(j + 1, "threshold", seg.rates[j], lo, lo, jump))
        lo = a if j == ja else seg.starts[j]
        hi = b if j == jb else seg.starts[j + 1]
        if hi != lo:
            amount = seg.slopes[j] * (hi - lo)
            pieces.append(Piece(j + 1, "slice", seg.rates[j], lo, hi, amount))
    return pieces


@dataclass
class RepPeriods:
    """Exact per-period results of one rep (lists of length n_periods)."""

    earned_plan: list[Decimal]
    earned: list[Decimal]
    spif: list[Decimal]
    clawback: list[Decimal]
    paid_exact: list[Decimal]
    paid: list[Decimal]
    draw_balance: list[Decimal]
    lines: list[Line] = field(default_factory=list)


@dataclass
class CalcResult:
    """Output of :meth:`ReferenceCalculator.compute`.

    Attributes
    ----------
    reps : dict of rep_id to RepPeriods
    calendar : PlanCalendar
    book : RepBook
        The reps' quotas and target incentives.
    """

    plan: PlanConfig
    reps: dict[str, RepPeriods]
    calendar: PlanCalendar
    book: RepBook

    @property
    def lines(self) -> list[Line]:
        """All statement lines, by rep then period."""
        return [line for rep in self.reps.values() for line in rep.lines]

    def payouts(self) -> pd.DataFrame:
        """One row per rep and period (see ``payouts.csv`` in docs).

        Money columns hold Decimals with the plan's decimals. ``paid`` is
        the rounded payment; ``earned``, ``spif``, ``clawback`` and ``draw``
        are its exact components rounded by largest remainder
        (:func:`spmopt.rounding.round_exact_to_total`) so that, as printed,
        they add up to ``paid`` (the period's rounding line included).
        """
        rows = []
        decimals = self.plan.rounding.decimals
        for rep_id, rep in self.reps.items():
            to_date = ZERO
            for p in range(self.calendar.n_periods):
                to_date += rep.paid[p]
                rows.append(self._row(rep_id, rep, p, to_date, decimals))
        return pd.DataFrame(rows)

    def _row(
        self, rep_id: str, rep: RepPeriods, p: int, to_date: Decimal, decimals: int
    ) -> dict[str, object]:
        first, last = self.calendar.bounds(p)
        mode = self.plan.rounding.mode
        parts = [
            rep.earned_plan[p],
            rep.spif[p],
            rep.clawback[p],
            rep.paid_exact[p] - rep.earned[p],
        ]
        earned, spif, clawback, draw = round_exact_to_total(
            parts, rep.paid[p], decimals
        )
        return {
            "rep_id": rep_id,
            "period": self.calendar.label(p),
            "period_start": first.isoformat(),
            "period_end": last.isoformat(),
            "earned": earned,
            "spif": spif,
            "clawback": clawback,
            "draw": draw,
            "paid": rep.paid[p] + 0,
            "paid_to_date": to_date + 0,
            "draw_balance": quantize(rep.draw_balance[p], decimals, mode) + 0,
        }


def check_amounts(reps: list[RepPeriods]) -> None:
    """Refuse results with any computed amount beyond the amount limit.

    Every statement line, every period's figure and payment, every draw
    balance and the totals paid and clawed back must be within
    :data:`~spmopt.payout.limits.MAX_AMOUNT`.

    Raises
    ------
    DataError
        ``a computed amount of ... is too large to pay``, naming what it is.
    """
    for rep in reps:
        check_computed((line.amount for line in rep.lines), "statement line")
        figures = (rep.earned_plan, rep.earned, rep.spif, rep.clawback)
        check_computed((x for f in figures for x in f), "period figure")
        check_computed([*rep.paid_exact, *rep.paid], "period payment")
        check_computed(rep.draw_balance, "draw balance")
    for name in ("paid", "clawback"):
        total = sum((x for r in reps for x in getattr(r, name)), ZERO)
        check_computed([total], f"total {name}")


class ReferenceCalculator:
    """Exact payouts and statements from dated credits.

    Parameters
    ----------
    plan : PlanConfig
        Needs ``year_start``.
    book : RepBook
        Quotas, target incentives, managers and proration of the reps.
    """

    def __init__(self, plan: PlanConfig, book: RepBook) -> None:
        self.plan = plan
        self.book = book
        self.calendar = PlanCalendar(plan)
        self._segments = {m.name: exact_segments(m.curve) for m in plan.measures}

    def segments(self, measure: str) -> Segments[Decimal]:
        """Exact curve segments of ``measure``."""
        return self._segments[measure]

    def compute(self, credits: list[Credit], log: bool = True) -> CalcResult:
        """Payouts and statement lines of every rep of the book.

        Logs one INFO line with the total paid unless ``log`` is false.
        """
        by_rep = self._place(credits)
        reps = {
            rep_id: self._rep(i, by_rep) for i, rep_id in enumerate(self.book.rep_ids)
        }
        check_amounts(list(reps.values()))
        result = CalcResult(self.plan, reps, self.calendar, self.book)
        if log:
            self._log(result, len(credits))
        return result

    def _log(self, result: CalcResult, n_credits: int) -> None:
        """The INFO line of a calculation."""
        reps = result.reps
        total = sum((sum(r.paid, ZERO) for r in reps.values()), ZERO)
        logger.info(
            "payout calc: %d reps, %d credits, %d periods, total paid %s %s",
            len(reps),
            n_credits,
            self.calendar.n_periods,
            f"{total:,.2f}",
            self.plan.currency,
        )

    def _place(
        self, credits: list[Credit]
    ) -> dict[tuple[str, str], dict[int, list[Credit]]]:
        """Credits by (rep, measure) and period, in date order."""
        out: dict[tuple[str, str], dict[int, list[Credit]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for credit in sorted(credits, key=lambda c: (c.date, c.credit_id, c.row)):
            period = self._period(credit.date, credit, "date")
            if credit.cancel_date is not None:
                self._check_cancel(credit)
            self._check_active(credit, period)
            out[(credit.rep_id, credit.measure)][period].append(credit)
        return out

    def _check_active(self, credit: Credit, period: int) -> None:
        r = self.book.rep_ids.index(credit.rep_id)
        if self.book.active_share(self.calendar.n_periods)[r, period] == 0:
            raise DataError(
                f"credits: data row {credit.row} credits {credit.rep_id!r} on "
                f"{credit.date} in {self.calendar.label(period)}, a period when "
                "the rep is not on the plan (see start_date / end_date)"
            )

    def _period(self, day: date, credit: Credit, column: str) -> int:
        period = self.calendar.period_of(day)
        if period is None:
            raise DataError(
                f"credits: {column} {day.isoformat()} in data row {credit.row} is "
                f"outside the plan year {self.calendar.start.isoformat()} to "
                f"{self.calendar.end.isoformat()}"
            )
        return period

    def _check_cancel(self, credit: Credit) -> None:
        assert credit.cancel_date is not None
        self._period(credit.cancel_date, credit, "cancel_date")
        if credit.cancel_date < credit.date:
            raise DataError(
                f"credits: cancel_date {credit.cancel_date} in data row "
                f"{credit.row} is before the credit date {credit.date}"
            )

    # -- one rep ---------------------------------------------------------------

    def _rep(
        self, i: int, by_rep: dict[tuple[str, str], dict[int, list[Credit]]]
    ) -> RepPeriods:
        ctx = _RepContext(self, i, by_rep)
        n = self.calendar.n_periods
        measure_lines = [ctx.measure_periods(m) for m in self.plan.measures]
        state = RepPeriods(*([ZERO] * n for _ in range(7)))  # type: ignore[arg-type]
        balance = self.book.opening_of(i) + ZERO
        for p in range(n):
            lines = [line for per in measure_lines for line in per[p]]
            balance = ctx.close_period(p, lines, state, balance)
            state.lines.extend(lines)
        return state


class _RepContext:
    """Exact inputs of one rep, and the per-period computations."""

    def __init__(
        self,
        calc: ReferenceCalculator,
        r: int,
        by_rep: dict[tuple[str, str], dict[int, list[Credit]]],
    ) -> None:
        self.calc, self.plan, self.r = calc, calc.plan, r
        self.rep_id = calc.book.rep_ids[r]
        self.by_rep = by_rep
        n = calc.calendar.n_periods
        weights = [to_decimal(w) for w in self.plan.period_weights()]
        active = calc.book.active_share(n)[r]
        self.weighted = [
            w * to_decimal(a) for w, a in zip(weights, active, strict=True)
        ]
        self.total_weight = sum(weights, ZERO)
        self.incentive = calc.book.incentive_of(r)
        self.active = [to_decimal(a) for a in active]
        self.paid_to_date = ZERO
        self.rounded_to_date = ZERO

    # -- quantities ------------------------------------------------------------

    def credits(self, measure: Measure, p: int) -> list[tuple[Credit, str]]:
        """Credits of ``measure`` in period ``p`` with a note (team source)."""
        if measure.team_of is None:
            return [
                (c, "")
                for c in self.by_rep.get((self.rep_id, measure.name), {}).get(p, [])
            ]
        reports = [
            rep
            for rep, manager in zip(
                self.calc.book.rep_ids, self.calc.book.managers, strict=True
            )
            if manager == self.rep_id
        ]
        found = [
            (c, f"team: {rep}")
            for rep in reports
            for c in self.by_rep.get((rep, measure.team_of), {}).get(p, [])
        ]
        return sorted(found, key=lambda t: (t[0].date, t[0].credit_id, t[0].row))

    def kind_of(self, measure: Measure) -> str:
        """Credit quantity kind of ``measure`` (its source for team measures)."""
        if measure.team_of is None:
            return measure.credit
        return self.plan.measure(measure.team_of).credit

    def total(self, measure: Measure, upto: int, ytd: bool) -> Decimal:
        """Credited quantity in period ``upto`` (or up to it when ``ytd``)."""
        periods = range(upto + 1) if ytd else (upto,)
        kind = self.kind_of(measure)
        return sum(
            (c.quantity(kind) for p in periods for c, _ in self.credits(measure, p)),
            ZERO,
        )

    def base(self, m: int, p: int, ytd: bool) -> Decimal:
        """Annual quota times the period weight (summed to ``p`` if ytd)."""
        quota = self.calc.book.quota_of(self.r, m)
        periods = range(p + 1) if ytd else (p,)
        return sum((quota * self.weighted[k] for k in periods), ZERO)

    def attainment(self, m: int, x: Decimal, p: int, ytd: bool) -> Decimal:
        """``x`` over the (year-to-date) quota; 0 when the quota is 0."""
        base = self.base(m, p, ytd)
        return x * self.total_weight / base if base else ZERO

    def measure_incentive(self, measure: Measure, p: int) -> Decimal:
        """Target incentive of ``measure`` for period ``p`` (to date if ytd)."""
        periods = range(p + 1) if measure.ytd else (p,)
        share = sum((self.weighted[k] for k in periods), ZERO) / self.total_weight
        return self.incentive * to_decimal(measure.weight) * share

    def scale(self, m: int, measure: Measure, p: int) -> Decimal:
        """Payout per unit of curve value: incentive, quota or 1."""
        if measure.rate_of == "target_incentive":
            return self.measure_incentive(measure, p)
        if measure.curve.basis != "attainment":
            return Decimal(1)
        return self.base(m, p, measure.ytd) / self.total_weight

    def basis(self, m: int, measure: Measure, x: Decimal, p: int) -> Decimal:
        """The curve's input for quantity ``x``."""
        if measure.curve.basis == "attainment":
            return self.attainment(m, x, p, measure.ytd)
        return x

    # -- one measure -----------------------------------------------------------

    def measure_periods(self, measure: Measure) -> list[list[Line]]:
        """Statement lines of ``measure`` for every period."""
        m = self.plan.measures.index(measure)
        out, before = [], ZERO
        for p in range(self.calc.calendar.n_periods):
            lines, value = self.measure_period(m, measure, p, before)
            out.append(lines)
            if measure.ytd and measure.negative_true_up == "hold":
                before = max(before, value)
            elif measure.ytd:
                before = value
        return out

    def measure_period(
        self, m: int, measure: Measure, p: int, paid_before: Decimal
    ) -> tuple[list[Line], Decimal]:
        """Lines of ``measure`` in period ``p`` and its value after limits."""
        lines = self.credit_lines(m, measure, p)
        value = sum((line.amount for line in lines), ZERO)
        value = self._gates(m, measure, p, value, lines)
        value = self._payout_tiers(measure, p, value, lines)
        value = self._limits(
            measure, self.measure_incentive(measure, p), p, value, lines, measure.name
        )
        if measure.ytd and paid_before:
            lines.append(
                self.line(
                    p,
                    measure.name,
                    "paid_before",
                    -paid_before,
                    note="already paid for this measure this year",
                )
            )
        if measure.ytd and measure.negative_true_up == "hold" and value < paid_before:
            note = "year to date below paid: shortfall held against later true-ups"
            held = paid_before - value
            lines.append(self.line(p, measure.name, "held", held, note=note))
        return lines, value

    def credit_lines(self, m: int, measure: Measure, p: int) -> list[Line]:
        """Lines of the credits of ``measure`` in period ``p`` on its curve."""
        seg = self.calc.segments(measure.name)
        scale = self.scale(m, measure, p)
        kind = self.kind_of(measure)
        lines: list[Line] = []
        x = self.total(measure, p - 1, True) if measure.ytd and p > 0 else ZERO
        if x:
            prior = seg.value(self.basis(m, measure, x, p)) * scale
            lines.append(
                self.line(
                    p,
                    measure.name,
                    "prior_ytd",
                    prior,
                    basis_to=self.basis(m, measure, x, p),
                    note="earlier credits at the year-to-date quota",
                )
            )
        for credit, note in self.credits(measure, p):
            q = credit.quantity(kind)
            start = ZERO if measure.tiers_apply_to == "each_credit" else x
            lo, hi = (
                self.basis(m, measure, start, p),
                self.basis(m, measure, start + q, p),
            )
            for piece in walk(seg, lo, hi):
                lines.append(
                    self._piece_line(p, measure.name, credit, piece, scale, note)
                )
            x = start + q
        return lines

    def _piece_line(
        self,
        p: int,
        section: str,
        credit: Credit,
        piece: Piece,
        scale: Decimal,
        note: str,
    ) -> Line:
        text = note or (
            "threshold crossed: earlier quantity re-rated"
            if piece.kind == "threshold"
            else ""
        )
        return Line(
            self.rep_id,
            p,
            section,
            piece.kind,
            piece.amount * scale,
            credit.credit_id,
            credit.date,
            piece.tier,
            piece.rate,
            piece.lo,
            piece.hi,
            text,
        )

    def _gates(
        self, m: int, measure: Measure, p: int, value: Decimal, lines: list[Line]
    ) -> Decimal:
        for gate in measure.gates:
            if value and not self._gate_met(gate, measure.name, p, measure.ytd):
                lines.append(
                    self.line(
                        p,
                        measure.name,
                        "gate",
                        -value,
                        note=self._gate_note(gate, measure.name),
                    )
                )
                return ZERO
        return value

    def _gate_met(self, gate: Gate, default: str, p: int, ytd: bool) -> bool:
        name = gate.measure or default
        target = self.plan.measure(name)
        k = self.plan.measures.index(target)
        att = self.attainment(k, self.total(target, p, ytd), p, ytd)
        return att >= gate.min_attainment

    def _gate_note(self, gate: Gate, default: str) -> str:
        return (
            f"gate not met: {gate.measure or default} attainment below "
            f"{gate.min_attainment:g}"
        )

    def _payout_tiers(
        self, measure: Measure, p: int, value: Decimal, lines: list[Line]
    ) -> Decimal:
        if measure.payout_tiers is None:
            return value
        adjusted = exact_segments(measure.payout_tiers).value(value)
        if adjusted != value:
            lines.append(
                self.line(
                    p,
                    measure.name,
                    "payout_tiers",
                    adjusted - value,
                    basis_to=value,
                    note="tiers on the payout",
                )
            )
        return adjusted

    def _limits(
        self,
        spec: Measure | PlanConfig,
        incentive: Decimal,
        p: int,
        value: Decimal,
        lines: list[Line],
        section: str,
    ) -> Decimal:
        caps = []
        if spec.cap_share is not None:
            caps.append(
                (
                    spec.cap_share * incentive,
                    f"cap {spec.cap_share:g} x target incentive",
                )
            )
        if spec.cap_amount is not None:
            caps.append((spec.cap_amount, "cap amount"))
        for cap, note in caps:
            if value > cap:
                lines.append(self.line(p, section, "cap", cap - value, note=note))
                value = cap
        if spec.floor_amount is not None and value < spec.floor_amount:
            floor = spec.floor_amount
            lines.append(self.line(p, section, "floor", floor - value, note="floor"))
            value = floor
        return value

    # -- plan level ------------------------------------------------------------

    def close_period(
        self, p: int, lines: list[Line], state: RepPeriods, balance: Decimal
    ) -> Decimal:
        """Plan limits, SPIFs, clawbacks, draw and rounding of period ``p``."""
        total = sum((line.amount for line in lines), ZERO)
        total = self._plan_limits(p, total, lines)
        state.earned_plan[p] = total
        state.spif[p] = self._spifs(p, lines)
        state.clawback[p] = self._clawbacks(p, state, lines)
        earned = total + state.spif[p] + state.clawback[p]
        state.earned[p] = earned
        paid, balance = self._draw(p, earned, balance, lines)
        state.paid_exact[p] = paid
        state.draw_balance[p] = balance
        state.paid[p] = self._round(p, paid, lines)
        return balance

    def _plan_limits(self, p: int, total: Decimal, lines: list[Line]) -> Decimal:
        for gate in self.plan.gates:
            if total and not self._gate_met(gate, self.plan.revenue, p, False):
                lines.append(
                    self.line(
                        p,
                        "plan",
                        "gate",
                        -total,
                        note=self._gate_note(gate, self.plan.revenue),
                    )
                )
                total = ZERO
        incentive = self.incentive * self.weighted[p] / self.total_weight
        return self._limits(self.plan, incentive, p, total, lines, "plan")

    def _spifs(self, p: int, lines: list[Line]) -> Decimal:
        amount = ZERO
        revenue = self.plan.measure(self.plan.revenue)
        for spif in self.plan.spifs:
            seg = exact_segments(spif.curve)
            n = ZERO
            for credit, _ in self.credits(revenue, p):
                if spif.tag is not None and credit.tag != spif.tag:
                    continue
                q = credit.share if spif.curve.basis == "deals" else credit.units
                for piece in walk(seg, n, n + q):
                    line = self._piece_line(
                        p, f"spif:{spif.name}", credit, piece, Decimal(1), ""
                    )
                    lines.append(line)
                    amount += line.amount
                n += q
        return amount

    def _clawbacks(self, p: int, state: RepPeriods, lines: list[Line]) -> Decimal:
        rule = self.plan.clawback
        if rule is None:
            return ZERO
        amount = ZERO
        for credit in self._cancelled_in(p):
            earned = self._commission_of(credit, state.lines + lines)
            line = self._clawback_line(p, credit, earned, rule)
            lines.append(line)
            amount += line.amount
        return amount

    def _cancelled_in(self, p: int) -> list[Credit]:
        found = []
        for (rep, _), periods in self.by_rep.items():
            if rep != self.rep_id:
                continue
            for credits in periods.values():
                found += [
                    c
                    for c in credits
                    if c.cancel_date is not None
                    and self.calc.calendar.period_of(c.cancel_date) == p
                ]
        return sorted(found, key=lambda c: (c.cancel_date, c.credit_id, c.row))

    def _commission_of(self, credit: Credit, lines: list[Line]) -> Decimal:
        return sum(
            (
                line.amount
                for line in lines
                if line.credit_id == credit.credit_id
                and line.kind in CREDIT_KINDS
                and line.section == credit.measure
            ),
            ZERO,
        )

    def _clawback_line(
        self, p: int, credit: Credit, earned: Decimal, rule: Clawback
    ) -> Line:
        assert credit.cancel_date is not None
        anchor = credit.date
        if rule.anchor == "contract_start" and credit.contract_start is not None:
            anchor = credit.contract_start
        elapsed = months_between(anchor, credit.cancel_date)
        if elapsed > rule.window_months:
            return self.line(
                p,
                "clawback",
                "clawback",
                ZERO,
                credit,
                note=f"cancelled after {elapsed} months, outside the "
                f"{rule.window_months}-month window: nothing recovered",
            )
        share = self._clawback_share(credit, elapsed, rule)
        return self.line(
            p,
            "clawback",
            "clawback",
            -earned * share,
            credit,
            note=f"{rule.mode} clawback, cancelled after {elapsed} "
            f"months; commission {self._shown(earned)}",
        )

    def _shown(self, amount: Decimal) -> str:
        """``amount`` to at most three places beyond the currency's, for notes."""
        fine = quantize(amount, self.plan.rounding.decimals + 3).normalize()
        return f"{fine:f}"

    def _clawback_share(self, credit: Credit, elapsed: int, rule: Clawback) -> Decimal:
        if rule.mode == "full":
            return Decimal(1)
        if rule.mode == "fixed_share":
            return rule.share
        months = credit.contract_months
        if not months:
            raise DataError(
                f"credits: data row {credit.row} is cancelled under a prorated "
                "clawback but has no contract_months"
            )
        return Decimal(max(months - elapsed, 0)) / Decimal(months)

    def _draw(
        self, p: int, earned: Decimal, balance: Decimal, lines: list[Line]
    ) -> tuple[Decimal, Decimal]:
        draw = self.plan.draw
        if draw is None:
            return earned, balance
        amount = draw.amount * self.active[p]
        if draw.recoverable:
            paid = max(amount, earned - balance)
            balance = balance + paid - earned
        else:
            paid = max(amount, earned)
        if paid != earned:
            note = "draw advance" if paid > earned else "draw recovered"
            lines.append(self.line(p, "draw", "draw", paid - earned, note=note))
        return paid, balance

    def _round(self, p: int, paid: Decimal, lines: list[Line]) -> Decimal:
        self.paid_to_date += paid
        rounding = self.plan.rounding
        rounded = quantize(self.paid_to_date, rounding.decimals, rounding.mode)
        pay = rounded - self.rounded_to_date
        self.rounded_to_date = rounded
        if pay != paid:
            lines.append(
                self.line(
                    p,
                    "rounding",
                    "rounding",
                    pay - paid,
                    note=f"year-to-date total rounded to {rounding.decimals} decimals",
                )
            )
        return pay

    def line(
        self,
        p: int,
        section: str,
        kind: str,
        amount: Decimal,
        credit: Credit | None = None,
        basis_to: Decimal | None = None,
        note: str = "",
    ) -> Line:
        """A period-level line (no tier)."""
        return Line(
            self.rep_id,
            p,
            section,
            kind,
            amount,
            credit.credit_id if credit else "",
            credit.date if credit else None,
            basis_to=basis_to,
            note=note,
        )
