"""Vectorised payout engine over (scenarios, reps, periods) arrays.

The engine prices a :class:`~spmopt.payout.plan.PlanConfig` for many
scenarios at once. Its input is, per measure, the credited quantity of
every rep in every pay period (currency, units or deals), an array of
shape ``(n_scenarios, n_reps, n_periods)``. Per measure and period it
computes attainment (year-to-date when the measure says so), evaluates the
payout curve, applies gates, payout tiers, caps and floors, turns
year-to-date amounts into period payments (true-ups), then applies the
plan-level gates, cap and floor and the draw. The reference calculator
(:mod:`spmopt.payout.reference`) is the oracle it is tested against.

Credit-level features need deals, not totals: the engine refuses plans
whose measures tier each credit separately, prices SPIFs only from the
per-period counts it is given (``spif:<name>`` inputs) and leaves
clawbacks and splits to the calculator.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from spmopt.data import check_schema, require_unique
from spmopt.data.tables import data_rows
from spmopt.errors import ConfigError, DataError, show
from spmopt.payout.credits import exact_amount, to_decimal
from spmopt.payout.curves import CurveArrays
from spmopt.payout.limits import check_amount_cells, check_written_amounts
from spmopt.payout.plan import Gate, Measure, PlanConfig


@dataclass(frozen=True)
class RepBook:
    """Static per-rep inputs of a plan.

    Attributes
    ----------
    rep_ids : tuple of str, length n_reps
    quotas : ndarray of shape (n_reps, n_measures)
        Annual quota per rep and measure, in the measure's credit unit.
    target_incentive : ndarray of shape (n_reps,)
        Annual target incentive per rep, plan currency.
    managers : tuple of (str or None)
        Each rep's manager id (for team measures).
    active : ndarray of shape (n_reps, n_periods), optional
        Share of each period the rep is on the plan (proration of quota,
        target incentive and draw); all ones when omitted.
    opening_draw : ndarray of shape (n_reps,), optional
        Recoverable draw balance carried in from the previous plan year
        (plan currency); zeros when omitted.
    exact_incentive, exact_opening : tuple of Decimal, optional
        ``target_incentive`` and ``opening_draw`` exactly as written in the
        quotas table (every digit of a text cell, e.g. 123456789012345.67),
        for the reference calculator; by default the floats' decimals.
    exact_quotas : tuple of tuple of Decimal, optional
        ``quotas`` exactly as written, per measure then rep (a quota column's
        text cells, or the plan's ``quota``); by default the floats'
        decimals.
    """

    rep_ids: tuple[str, ...]
    quotas: np.ndarray
    target_incentive: np.ndarray
    managers: tuple[str | None, ...]
    active: np.ndarray | None = None
    opening_draw: np.ndarray | None = None
    exact_incentive: tuple[Decimal, ...] | None = None
    exact_opening: tuple[Decimal, ...] | None = None
    exact_quotas: tuple[tuple[Decimal, ...], ...] | None = None

    def quota_of(self, r: int, m: int) -> Decimal:
        """Annual quota of rep ``r`` on measure ``m``, exact (credit unit)."""
        if self.exact_quotas is not None:
            return self.exact_quotas[m][r]
        return to_decimal(self.quotas[r, m])

    def incentive_of(self, r: int) -> Decimal:
        """Annual target incentive of rep ``r``, exact (plan currency)."""
        if self.exact_incentive is not None:
            return self.exact_incentive[r]
        return to_decimal(self.target_incentive[r])

    def opening_of(self, r: int) -> Decimal:
        """Draw balance carried in by rep ``r``, exact (plan currency)."""
        if self.opening_draw is None:
            return Decimal(0)
        if self.exact_opening is not None:
            return self.exact_opening[r]
        return to_decimal(self.opening_draw[r])

    def active_share(self, n_periods: int) -> np.ndarray:
        """Array (n_reps, n_periods) of the share of each period on plan."""
        if self.active is None:
            return np.ones((self.n_reps, n_periods))
        return self.active

    @property
    def n_reps(self) -> int:
        """Number of reps."""
        return len(self.rep_ids)

    def team_matrix(self) -> np.ndarray:
        """Array (n_reps, n_reps) with 1 where column rep reports to row rep."""
        pos = {rep: i for i, rep in enumerate(self.rep_ids)}
        matrix = np.zeros((self.n_reps, self.n_reps))
        for j, manager in enumerate(self.managers):
            if manager is not None and manager in pos:
                matrix[pos[manager], j] = 1.0
        return matrix


def rep_book(
    plan: PlanConfig,
    frame: pd.DataFrame,
    table: str = "quotas",
    rep_column: str = "rep_id",
) -> RepBook:
    """Validate a quotas table and build the :class:`RepBook` of ``plan``.

    The table needs ``rep_column`` and, for each measure without a fixed
    ``quota``, its ``quota_column`` (> 0). Optional columns:
    ``target_incentive`` (overrides the plan's), ``manager_id``,
    ``start_date`` / ``end_date`` (partial periods are prorated by days
    when ``plan.proration`` is ``days``) and ``draw_balance`` (recoverable
    draw carried in from last year, used when the draw carries forward).
    Quota, ``target_incentive`` and ``draw_balance`` cells written as text
    (CSV) are also kept exactly, digit for digit, for the reference
    calculator.
    """
    columns = {m.quota_column for m in plan.measures if m.quota is None}
    exact_columns = (*_EXACT, *sorted(columns))
    written = {c: frame[c] for c in exact_columns if c in frame.columns}
    schema = {rep_column: "str", **dict.fromkeys(sorted(columns), "float")}
    optional = {
        "target_incentive": "float",
        "manager_id": "str",
        "start_date": "date",
        "end_date": "date",
        "draw_balance": "float",
    }
    check_written_amounts(frame, written, table)
    frame = check_schema(frame, schema, table, optional=optional)
    require_unique(frame, rep_column, table)
    _require_dates_in_order(frame, rep_column, table)
    for column in sorted(columns):
        _require_positive(frame, column, table)
    quotas = np.column_stack([_quota(m, frame) for m in plan.measures])
    incentive = _target_incentive(plan, frame, table)
    managers = _managers(frame)
    reps = tuple(str(r) for r in frame[rep_column])
    active = _active(plan, frame)
    opening = _opening(plan, frame)
    exact_incentive = _exact(
        written.get("target_incentive"), incentive, plan.target_incentive
    )
    exact_opening = None
    if opening is not None:
        exact_opening = _exact(written.get("draw_balance"), opening)
    exact_quotas = tuple(
        (measure.quota,) * len(frame)
        if measure.quota is not None
        else _exact(written[measure.quota_column], quotas[:, k])
        for k, measure in enumerate(plan.measures)
    )
    _check_exact_amounts(frame, written, table)
    return RepBook(
        reps,
        quotas,
        incentive,
        managers,
        active,
        opening,
        exact_incentive,
        exact_opening,
        exact_quotas,
    )


_EXACT = ("target_incentive", "draw_balance")
"""Money columns of the quotas table read exactly as written."""


def _check_exact_amounts(
    frame: pd.DataFrame, written: Mapping[str, pd.Series], table: str
) -> None:
    """Refuse a quota, target incentive or draw balance cell beyond 1e15.

    Checked on the digits as written, so ``1000000000000000.01`` is refused
    although its float is 1e15.
    """
    rows = data_rows(frame, np.arange(len(frame)))
    for column, cells in written.items():
        values = frame[column].to_numpy(dtype=float)
        exact = [
            None if _is_blank(cell) else exact_amount(cell, to_decimal(value))
            for cell, value in zip(cells, values, strict=True)
        ]
        check_amount_cells(exact, table, column, rows)


def _exact(
    written: pd.Series | None, values: np.ndarray, blank: Decimal | None = None
) -> tuple[Decimal, ...]:
    """Each value as written in its cell (a text cell digit for digit).

    A missing or blank cell gives ``blank`` (the plan's own value, exact)
    when there is one; such a cell without ``blank``, or a non-text cell
    (Parquet), gives the decimal of its float ``values`` entry.
    """
    cells = [None] * len(values) if written is None else list(written)
    return tuple(
        blank
        if blank is not None and _is_blank(cell)
        else exact_amount(cell, to_decimal(value))
        for cell, value in zip(cells, values, strict=True)
    )


def _is_blank(cell: object) -> bool:
    """Whether a table cell is missing or empty text."""
    if isinstance(cell, str):
        return not cell.strip()
    return cell is None or bool(pd.isna(cell))  # type: ignore[call-overload]


def _opening(plan: PlanConfig, frame: pd.DataFrame) -> np.ndarray | None:
    if "draw_balance" not in frame.columns:
        return None
    values = frame["draw_balance"].fillna(0.0)
    if (values < 0).any():
        row = int(np.flatnonzero((values < 0).to_numpy())[0])
        raise DataError(
            f"quotas: column 'draw_balance' must be a number >= 0, got "
            f"{show(values.iloc[row])} in data row {row + 1}"
        )
    draw = plan.draw
    if draw is None or not draw.recoverable or not draw.carry_forward:
        return None
    return values.to_numpy(dtype=float)


def _active(plan: PlanConfig, frame: pd.DataFrame) -> np.ndarray | None:
    dated = [c for c in ("start_date", "end_date") if c in frame.columns]
    if not dated or plan.proration == "none":
        return None
    from spmopt.payout.periods import PlanCalendar

    calendar = PlanCalendar(plan)
    rows = []
    for _, row in frame.iterrows():
        start, end = (_day(row.get(c)) for c in ("start_date", "end_date"))
        rows.append(calendar.active_share(start, end))
    return np.vstack(rows)


def _require_dates_in_order(frame: pd.DataFrame, rep_column: str, table: str) -> None:
    """Refuse a rep whose ``end_date`` is before its ``start_date``."""
    if not {"start_date", "end_date"} <= set(frame.columns):
        return
    pairs = zip(frame["start_date"], frame["end_date"], strict=True)
    for i, (start, end) in enumerate(pairs):
        first, last = _day(start), _day(end)
        if first is not None and last is not None and last < first:
            raise DataError(
                f"{table}: data row {i + 1} (rep {frame[rep_column].iloc[i]!r}) has "
                f"end_date {last} before start_date {first}; end_date must be on "
                "or after start_date"
            )


def _day(value: object) -> date | None:
    if value is None or pd.isna(value):  # type: ignore[call-overload]
        return None
    return pd.Timestamp(value).date()  # type: ignore[arg-type]


def _require_positive(frame: pd.DataFrame, column: str, table: str) -> None:
    values = frame[column]
    bad = values.isna() | ~(values > 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{table}: column '{column}' must be a number > 0 (a quota), got "
            f"{show(values.iloc[row])} in data row {row + 1}"
        )


def _quota(measure: Measure, frame: pd.DataFrame) -> np.ndarray:
    if measure.quota is not None:
        return np.full(len(frame), float(measure.quota))
    return frame[measure.quota_column].to_numpy(dtype=float)


def _target_incentive(plan: PlanConfig, frame: pd.DataFrame, table: str) -> np.ndarray:
    if "target_incentive" in frame.columns:
        values = frame["target_incentive"]
        if plan.target_incentive is not None:
            values = values.fillna(float(plan.target_incentive))
        bad = values.isna() | (values < 0)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{table}: column 'target_incentive' must be a number >= 0, got "
                f"{show(values.iloc[row])} in data row {row + 1}"
            )
        return values.to_numpy(dtype=float)
    needs = any(m.rate_of == "target_incentive" for m in plan.measures)
    if plan.target_incentive is None and needs:
        raise ConfigError(
            "plan.target_incentive is required (or a 'target_incentive' column "
            f"in {table}) because a measure has rate_of: target_incentive"
        )
    return np.full(len(frame), float(plan.target_incentive or 0))


def _managers(frame: pd.DataFrame) -> tuple[str | None, ...]:
    if "manager_id" not in frame.columns:
        return (None,) * len(frame)
    return tuple(None if pd.isna(m) else str(m) for m in frame["manager_id"])


@dataclass(frozen=True)
class EngineOutput:
    """What the engine computes for a batch of scenarios.

    The arrays have the shapes below but are laid out period-major in
    memory (views of ``(n_periods, ...)`` arrays): a period's values are
    contiguous, and :func:`period_major` gets them back without a copy.

    Attributes
    ----------
    paid : ndarray of shape (n_scenarios, n_reps, n_periods)
        Cash paid per rep and period (after draws), plan currency.
    earned : ndarray of shape (n_scenarios, n_reps, n_periods)
        Earned incentive per rep and period before the draw.
    cap_hit : ndarray of bool, shape (n_scenarios, n_reps)
        True where any measure or plan cap bound in any period.
    draw_balance : ndarray of shape (n_scenarios, n_reps)
        Recoverable draw still owed by the rep at year end.
    measure_paid : ndarray of shape (n_scenarios, n_reps, n_periods), optional
        What the measure named by ``keep`` paid per period (after its own
        gates, caps and true-ups), when asked for.
    """

    paid: np.ndarray
    earned: np.ndarray
    cap_hit: np.ndarray
    draw_balance: np.ndarray
    measure_paid: np.ndarray | None = None


class Buffers:
    """Arrays kept between batches for the engine's temporaries.

    Allocating and freeing arrays of a few hundred kilobytes every batch
    makes the C allocator hand memory back to the system and fault it in
    again, which can cost as much as the arithmetic. The engine takes its
    temporaries from here and gives them back when a batch is done; a
    caller that is finished with an :class:`EngineOutput` may give its
    arrays back too (:meth:`PayoutEngine.release`).
    """

    def __init__(self) -> None:
        self._free: dict[tuple[tuple[int, ...], type], list[np.ndarray]] = {}

    def take(self, shape: tuple[int, ...], dtype: type = float) -> np.ndarray:
        """An uninitialised C-contiguous array (reused when one is free)."""
        stack = self._free.get((shape, _SCALAR.get(dtype, dtype)))
        if stack:
            return stack.pop()
        return np.empty(shape, dtype=dtype)

    def give(self, *arrays: np.ndarray | None) -> None:
        """Give arrays back; the caller must not use them afterwards.

        Views, non-contiguous arrays and arrays already given back are
        ignored.
        """
        for array in arrays:
            if array is None or array.base is not None or not array.ndim:
                continue
            if not array.flags.c_contiguous:
                continue
            stack = self._free.setdefault((array.shape, array.dtype.type), [])
            if not any(array is other for other in stack):
                stack.append(array)


_SCALAR: dict[type, type] = {float: np.float64, bool: np.bool_}


def period_major(x: np.ndarray) -> np.ndarray:
    """``x`` of shape ``(..., P)`` as a C-contiguous float array ``(P, ...)``.

    No copy when ``x`` is already laid out period-major (for example an
    array returned by :func:`period_last`, or an engine output).
    """
    x = np.asarray(x, dtype=float)
    moved = x.transpose(x.ndim - 1, *range(x.ndim - 1))
    return moved if moved.flags.c_contiguous else np.ascontiguousarray(moved)


def period_last(x: np.ndarray) -> np.ndarray:
    """View of a period-major ``(P, ...)`` array with shape ``(..., P)``."""
    return x.transpose(*range(1, x.ndim), 0)


class PayoutEngine:
    """Evaluates a plan over arrays of credited quantities.

    The payout of rep ``r`` in period ``p`` is built in this order:

    1. attainment ``a = x / q`` with ``x`` the credited quantity and ``q``
       the quota (both cumulated over the year when the measure is
       ``ytd``); ``q`` is the annual quota times the period's share;
    2. curve value ``f(a)`` (or ``f(x)`` for a non-attainment basis) times
       the scale (measure target incentive, quota or 1);
    3. zero where a gate's measure is below its ``min_attainment``;
    4. payout tiers, then ``min(cap)`` and ``max(floor)``;
    5. for ``ytd`` measures, payment = year-to-date amount minus what the
       earlier periods paid (never below 0 when shortfalls are held);
    6. sum over measures, plan gates, plan cap and floor per period;
       plus SPIFs on the counts given (``spif:<name>`` inputs);
    7. the draw: ``paid = max(draw, earned - balance)`` for a recoverable
       draw, ``max(draw, earned)`` otherwise.

    Internally every batch array is period-major, ``(P, S, R)``, so each
    period is one contiguous block and the per-period steps (year-to-date
    sums, true-ups, the draw) run over long contiguous rows; per-rep
    constants are kept as ``(P, 1, R)`` arrays that broadcast over
    scenarios.

    Parameters
    ----------
    plan : PlanConfig
    book : RepBook
    """

    def __init__(self, plan: PlanConfig, book: RepBook) -> None:
        self.plan = plan
        self.book = book
        self._curves = [CurveArrays.from_curve(m.curve) for m in plan.measures]
        self._payout_curves = [
            None if m.payout_tiers is None else CurveArrays.from_curve(m.payout_tiers)
            for m in plan.measures
        ]
        self._spif_curves = [CurveArrays.from_curve(s.curve) for s in plan.spifs]
        self._names = [m.name for m in plan.measures]
        self._weights_cache: tuple[np.ndarray, float] | None = None
        self._constants: dict[tuple[str, int, bool], np.ndarray] = {}
        self.buffers = Buffers()

    @classmethod
    def from_frame(cls, plan: PlanConfig, frame: pd.DataFrame) -> PayoutEngine:
        """Build from a plan and a quotas table (validated)."""
        return cls(plan, rep_book(plan, frame))

    def check_aggregate(self) -> None:
        """Raise if the plan needs deal-level credits (per-credit tiers)."""
        for measure in self.plan.measures:
            if measure.tiers_apply_to == "each_credit":
                raise ConfigError(
                    f"plan measure '{measure.name}' has tiers_apply_to: "
                    "each_credit, which needs deal-level credits; the "
                    "vectorised engine prices period totals only"
                )

    def _weights(self) -> tuple[np.ndarray, float]:
        """Period weights times active share, (R, P), and the weight total."""
        if self._weights_cache is None:
            weights = np.asarray(self.plan.period_weights())
            active = self.book.active_share(self.plan.n_periods)
            self._weights_cache = active * weights[None, :], float(weights.sum())
        return self._weights_cache

    def period_quotas(self) -> np.ndarray:
        """Quota per rep, measure and period, shape (n_reps, n_measures, P)."""
        weighted, total = self._weights()
        return self.book.quotas[:, :, None] * weighted[:, None, :] / total

    def evaluate(
        self, credited: Mapping[str, np.ndarray], keep: str | None = None
    ) -> EngineOutput:
        """Price ``credited`` (measure name -> array (S, R, P)).

        Team measures (``team_of``) are filled from their source measure.
        A key ``spif:<name>`` gives the deals (or units) SPIF ``<name>``
        counts per rep and period; SPIFs without one pay nothing. Inputs
        are never modified. With ``keep`` (a measure name) the output also
        holds that measure's payments.
        """
        self.check_aggregate()
        given = {name: period_major(x) for name, x in credited.items()}
        quantities = _Quantities(self, self._with_team_measures(given), {})
        return self._evaluate(quantities, None if keep is None else self._index(keep))

    def evaluate_attainment(
        self, attainment: Mapping[str, np.ndarray], keep: str | None = None
    ) -> EngineOutput:
        """Price per-period attainment (measure name -> array (S, R, P)).

        The same as :meth:`evaluate` with ``credited = attainment * quota``,
        without computing the credited quantities unless a measure needs
        them (amount basis, year-to-date, team measures). With ``keep`` (a
        measure name) the output also holds that measure's payments.
        """
        self.check_aggregate()
        given = {name: period_major(x) for name, x in attainment.items()}
        quantities = _Quantities(self, {}, given)
        if any(m.team_of is not None for m in self.plan.measures):
            credited = {n: quantities.credited(n) for n in given}
            quantities = _Quantities(self, self._with_team_measures(credited), {})
        return self._evaluate(quantities, None if keep is None else self._index(keep))

    def _index(self, name: str) -> int:
        if name not in self._names:
            raise ConfigError(f"'{name}' is not a plan measure: {self._names}")
        return self._names.index(name)

    def settle(self, output: EngineOutput, adjustment: np.ndarray) -> EngineOutput:
        """Add ``adjustment`` (period-major (P, S, R)) to earned, redo the draw.

        For amounts the engine does not price itself, such as clawbacks,
        posted before the draw. ``output`` must not be used afterwards.
        """
        earned = period_major(output.earned)
        if output.paid.base is not output.earned.base:  # a draw: paid is apart
            self.release_arrays(output.paid)
        earned += adjustment
        active = self.constant("active", 0, False)
        opening = 0.0 if self.book.opening_draw is None else self.book.opening_draw
        paid, balance = _draw_period_major(
            earned, self.plan, active, opening, self.buffers
        )
        return EngineOutput(
            period_last(paid),
            period_last(earned),
            output.cap_hit,
            balance,
            output.measure_paid,
        )

    def release(self, output: EngineOutput) -> None:
        """Give an output's arrays back for reuse by the next batch.

        Only for a caller that is done with ``output``: its ``paid`` and
        ``earned`` arrays are overwritten by later evaluations.
        """
        self.release_arrays(output.paid, output.earned)

    def release_arrays(self, *arrays: np.ndarray) -> None:
        """Give period-major arrays back (seen as (..., P) views), see above."""
        for x in arrays:
            if x.base is not None and x.base.shape == (x.shape[-1], *x.shape[:-1]):
                self.buffers.give(x.base)

    def _evaluate(
        self, quantities: _Quantities, keep: int | None = None
    ) -> EngineOutput:
        earned: np.ndarray | None = None
        kept = None
        cap_hit = np.zeros(quantities.shape[1:], dtype=bool)
        for m, measure in enumerate(self.plan.measures):
            pay, hit = self._measure(m, measure, quantities)
            if m == keep:
                kept = period_last(pay.copy())
            if earned is None:
                earned = pay
            else:
                earned += pay
                self.buffers.give(pay)
            if hit is not None:
                cap_hit |= hit
        assert earned is not None
        earned = self._plan_limits(earned, quantities, cap_hit)
        for spif, curve in zip(self.plan.spifs, self._spif_curves, strict=True):
            counts = quantities.spif_counts(spif.name)
            if counts is not None:
                pay = curve(counts, self.buffers)
                earned += pay
                self.buffers.give(pay)
        quantities.release()
        active = self.constant("active", 0, False)
        opening = 0.0 if self.book.opening_draw is None else self.book.opening_draw
        paid, balance = _draw_period_major(
            earned, self.plan, active, opening, self.buffers
        )
        return EngineOutput(
            period_last(paid), period_last(earned), cap_hit, balance, kept
        )

    def _with_team_measures(
        self, given: dict[str, np.ndarray]
    ) -> dict[str, np.ndarray]:
        """Period-major credited quantities with team measures filled in."""
        out = dict(given)
        team = None
        for measure in self.plan.measures:
            if measure.team_of is None:
                if measure.name not in out:
                    raise ConfigError(f"no credited quantity for '{measure.name}'")
                continue
            team = self.book.team_matrix() if team is None else team
            out[measure.name] = np.einsum("mr,psr->psm", team, out[measure.team_of])
        return out

    def base(self, m: int, ytd: bool) -> np.ndarray:
        """Annual quota times period weight (cumulated if ytd), (R, P)."""
        weighted, _ = self._weights()
        base = self.book.quotas[:, m, None] * weighted
        return np.cumsum(base, axis=-1) if ytd else base

    def constant(self, name: str, m: int, ytd: bool) -> np.ndarray:
        """A per-rep, per-period constant as a period-major (P, 1, R) array.

        ``name`` is ``base`` (:meth:`base`), ``quota`` (period quota),
        ``incentive`` (measure ``m``'s target incentive per period),
        ``scale`` (payout per unit of curve value), ``plan_incentive`` or
        ``active`` (share of the period on plan); cumulated if ``ytd``.
        """
        key = (name, m, ytd)
        if key not in self._constants:
            values = self._constant_values(name, m, ytd)
            self._constants[key] = np.ascontiguousarray(values.T)[:, None, :]
        return self._constants[key]

    def _constant_values(self, name: str, m: int, ytd: bool) -> np.ndarray:
        weighted, total = self._weights()
        if name == "base":
            return self.base(m, ytd)
        if name == "quota":
            return self.period_quotas()[:, m, :]
        if name == "incentive":
            return self._measure_incentive(self.plan.measures[m])
        if name == "scale":
            measure = self.plan.measures[m]
            return self._scale(m, measure, self._measure_incentive(measure))
        if name == "plan_incentive":
            return self.book.target_incentive[:, None] * weighted / total
        if name in ("ytd_kept", "ytd_new"):
            return self._ytd_weights(m)[name == "ytd_new"]
        return self.book.active_share(self.plan.n_periods)

    def _ytd_weights(self, m: int) -> tuple[np.ndarray, np.ndarray]:
        """Year-to-date attainment from period attainment, both (R, P).

        ``ytd[p] = ytd[p - 1] * kept[p] + a[p] * new[p]``: the quota to
        date before ``p`` and the quota of ``p``, over the quota to date
        (0 where that is 0).
        """
        base, cumulated = self.base(m, False), self.base(m, True)
        before = np.concatenate([np.zeros_like(base[:, :1]), cumulated[:, :-1]], 1)
        safe = np.where(cumulated > 0, cumulated, 1.0)
        return (
            np.where(cumulated > 0, before / safe, 0.0),
            np.where(cumulated > 0, base / safe, 0.0),
        )

    def _measure(
        self, m: int, measure: Measure, quantities: _Quantities
    ) -> tuple[np.ndarray, np.ndarray | None]:
        curve, buffers = self._curves[m], self.buffers
        if measure.curve.basis == "attainment":
            value = curve(quantities.attainment(m, measure.ytd), buffers)
        else:
            value = curve(quantities.x(m, measure.ytd), buffers)
        value *= self.constant("scale", m, measure.ytd)
        for gate in measure.gates:
            k = self._names.index(gate.measure or measure.name)
            self._gate(value, quantities.attainment(k, measure.ytd), gate)
        payout_curve = self._payout_curves[m]
        if payout_curve is not None:
            earned = payout_curve(value, buffers)
            buffers.give(value)
            value = earned
        incentive = self.constant("incentive", m, measure.ytd)
        value, hit = _limit(value, measure, incentive, buffers)
        if measure.ytd:
            if measure.negative_true_up == "hold":
                _running_max(value)
            _true_up(value)
        return value, self._any_period(hit)

    def _gate(self, value: np.ndarray, attainment: np.ndarray, gate: Gate) -> None:
        """Zero ``value`` where ``attainment`` is below the gate, in place."""
        met = np.greater_equal(
            attainment,
            float(gate.min_attainment),
            out=self.buffers.take(value.shape, bool),
        )
        value *= met
        self.buffers.give(met)

    def _any_period(self, hit: np.ndarray | None) -> np.ndarray | None:
        """Whether a period-major flag array is set in any period."""
        if hit is None:
            return None
        out = np.logical_or.reduce(hit, axis=0)
        self.buffers.give(hit)
        return out

    def _measure_incentive(self, measure: Measure) -> np.ndarray:
        """Target incentive per rep and period (cumulated if ytd), (R, P)."""
        weighted, total = self._weights()
        annual = self.book.target_incentive * measure.weight
        per_period = annual[:, None] * weighted / total
        return np.cumsum(per_period, axis=-1) if measure.ytd else per_period

    def _scale(self, m: int, measure: Measure, incentive: np.ndarray) -> np.ndarray:
        """Payout per unit of curve value, (R, P): incentive, quota or 1."""
        if measure.rate_of == "target_incentive":
            return incentive
        if measure.curve.basis != "attainment":
            return np.ones_like(incentive)
        _, total = self._weights()
        return self.base(m, measure.ytd) / total

    def _plan_limits(
        self, earned: np.ndarray, quantities: _Quantities, cap_hit: np.ndarray
    ) -> np.ndarray:
        for gate in self.plan.gates:
            att = quantities.attainment(self._names.index(gate.measure or ""), False)
            self._gate(earned, att, gate)
        incentive = self.constant("plan_incentive", 0, False)
        earned, hit = _limit(earned, self.plan, incentive, self.buffers)
        any_hit = self._any_period(hit)
        if any_hit is not None:
            cap_hit |= any_hit
        return earned


class _Quantities:
    """Credited quantities and attainment of a batch, computed on demand.

    Built from credited quantities or from per-period attainment, all
    period-major ``(P, S, R)``; each array (per measure, per period or
    year-to-date) is computed once, and the given arrays are never
    written to. Attainment is ``x * W / (Q * w)`` (annual quota ``Q``,
    period weight ``w``, total weight ``W``) so that it is exact when the
    reference calculator's is, and 0 where the quota is 0.
    """

    def __init__(
        self,
        engine: PayoutEngine,
        credited: dict[str, np.ndarray],
        attainment: dict[str, np.ndarray],
    ) -> None:
        self.engine = engine
        self.names = engine._names
        self._credited = credited
        self._given = attainment
        self._cache: dict[tuple[str, int, bool], np.ndarray] = {}
        self._made: list[np.ndarray] = []
        first = credited or attainment
        self.shape = tuple(next(iter(first.values())).shape)

    def _take(self) -> np.ndarray:
        array = self.engine.buffers.take(self.shape)
        self._made.append(array)
        return array

    def release(self) -> None:
        """Give the arrays computed here back to the engine's buffers."""
        self.engine.buffers.give(*self._made)
        self._made = []

    def spif_counts(self, name: str) -> np.ndarray | None:
        """Deals or units counted by SPIF ``name`` per period, if given."""
        key = f"spif:{name}"
        return self._credited.get(key, self._given.get(key))

    def credited(self, name: str) -> np.ndarray:
        """Credited quantity per period of measure ``name``, (P, S, R)."""
        if name not in self._credited:
            m = self.names.index(name) if name in self.names else -1
            given = self._given[name]
            if m < 0:
                return given
            quota = self.engine.constant("quota", m, False)
            self._credited[name] = np.multiply(given, quota, out=self._take())
        return self._credited[name]

    def x(self, m: int, ytd: bool) -> np.ndarray:
        """Credited quantity (cumulated over periods if ``ytd``)."""
        key = ("x", m, ytd)
        if key not in self._cache:
            x = self.credited(self.names[m])
            self._cache[key] = _running_sum(x, self._take()) if ytd else x
        return self._cache[key]

    def attainment(self, m: int, ytd: bool) -> np.ndarray:
        """Attainment (year-to-date if ``ytd``), (P, S, R)."""
        key = ("a", m, ytd)
        if key in self._cache:
            return self._cache[key]
        name = self.names[m]
        if name in self._given and name not in self._credited:
            if not ytd:
                return self._given[name]
            att = self._ytd_from_periods(m, self._given[name])
            self._cache[key] = att
            return att
        x = self.x(m, ytd)
        base = self.engine.constant("base", m, ytd)
        _, total = self.engine._weights()
        att = np.multiply(x, total, out=self._take())
        if (base > 0).all():
            att /= base
        else:
            np.divide(att, base, out=att, where=base > 0)
            att *= base > 0
        self._cache[key] = att
        return att

    def _ytd_from_periods(self, m: int, given: np.ndarray) -> np.ndarray:
        """Year-to-date attainment from per-period attainment (P, S, R)."""
        kept = self.engine.constant("ytd_kept", m, False)
        new = self.engine.constant("ytd_new", m, False)
        out = self._take()
        np.multiply(given[0], new[0], out=out[0])
        buffers = self.engine.buffers
        scratch = buffers.take(out.shape[1:])
        for p in range(1, len(out)):
            np.multiply(out[p - 1], kept[p], out=out[p])
            out[p] += np.multiply(given[p], new[p], out=scratch)
        buffers.give(scratch)
        return out


def _running_sum(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Year-to-date sums of a period-major array ``x``, written to ``out``."""
    out[0] = x[0]
    for p in range(1, len(x)):
        np.add(out[p - 1], x[p], out=out[p])
    return out


def _running_max(x: np.ndarray) -> None:
    """Year-to-date maximum of a period-major array, in place."""
    for p in range(1, len(x)):
        np.maximum(x[p - 1], x[p], out=x[p])


def _true_up(x: np.ndarray) -> None:
    """Year-to-date amounts to period payments (differences), in place."""
    for p in range(len(x) - 1, 0, -1):
        x[p] -= x[p - 1]


def _limit(
    value: np.ndarray,
    spec: Measure | PlanConfig,
    incentive: np.ndarray,
    buffers: Buffers,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Apply cap (share of incentive, amount) then floor, in place.

    Returns the limited values and where a cap bound (None without caps),
    the latter taken from ``buffers``.
    """
    hit = None
    caps = []
    if spec.cap_share is not None:
        caps.append(float(spec.cap_share) * incentive)
    if spec.cap_amount is not None:
        caps.append(np.asarray(float(spec.cap_amount)))
    for cap in caps:
        if hit is None:
            hit = np.greater(value, cap, out=buffers.take(value.shape, bool))
        else:
            hit |= value > cap
        np.minimum(value, cap, out=value)
    if spec.floor_amount is not None:
        np.maximum(value, float(spec.floor_amount), out=value)
    return value, hit


def accumulate_periods(x: np.ndarray, op: np.ufunc = np.add) -> np.ndarray:
    """Running ``op`` (sum, max) along the last (period) axis, in a new array.

    A loop over the few periods is much faster than ``np.cumsum`` along a
    short last axis, and adds in the same order.
    """
    out = np.empty_like(x)
    out[..., 0] = x[..., 0]
    for p in range(1, x.shape[-1]):
        op(out[..., p - 1], x[..., p], out=out[..., p])
    return out


def diff_periods(x: np.ndarray) -> np.ndarray:
    """Period-on-period change along the last axis (first period as is)."""
    out = np.empty_like(x)
    out[..., 0] = x[..., 0]
    for p in range(1, x.shape[-1]):  # long rows, not a short inner axis
        np.subtract(x[..., p], x[..., p - 1], out=out[..., p])
    return out


def any_period(x: np.ndarray) -> np.ndarray:
    """Logical or along the last (period) axis, shape ``x.shape[:-1]``."""
    out = x[..., 0].copy()
    for p in range(1, x.shape[-1]):
        out |= x[..., p]
    return out


def sum_periods(x: np.ndarray) -> np.ndarray:
    """Sum along the last (period) axis, shape ``x.shape[:-1]``.

    Fast on engine outputs, whose periods are contiguous blocks.
    """
    out = x[..., 0].copy()
    for p in range(1, x.shape[-1]):
        out += x[..., p]
    return out


def apply_draw(
    earned: np.ndarray,
    plan: PlanConfig,
    active: np.ndarray | float = 1.0,
    opening: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cash paid per period after the plan's draw, and the balance owed.

    Parameters
    ----------
    earned : ndarray of shape (..., n_periods)
        Earned incentive per period, plan currency.
    active : float or ndarray broadcastable to ``earned``
        Share of each period on plan; the draw is prorated by it.
    opening : float or ndarray broadcastable to ``earned.shape[:-1]``
        Recoverable balance carried in from last year, plan currency.

    Returns
    -------
    paid : ndarray, same shape as ``earned``
    balance : ndarray of shape ``earned.shape[:-1]``
        Recoverable draw not yet earned back at year end.
    """
    share = np.asarray(active, dtype=float)
    if share.ndim:
        share = period_major(np.broadcast_to(share, np.shape(earned)))
    paid, balance = _draw_period_major(
        period_major(earned), plan, share, opening, Buffers()
    )
    return period_last(paid), balance


def _draw_period_major(
    earned: np.ndarray,
    plan: PlanConfig,
    active: np.ndarray,
    opening: np.ndarray | float,
    buffers: Buffers,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`apply_draw` on period-major arrays (``earned`` is (P, ...))."""
    balance = np.zeros(earned.shape[1:])
    draw = plan.draw
    if draw is None:
        return earned, balance
    balance += opening
    amount = float(draw.amount) * active
    if not draw.recoverable:
        return np.maximum(earned, amount, out=buffers.take(earned.shape)), balance
    paid = buffers.take(earned.shape)
    for p in range(len(earned)):
        due = amount[p] if amount.ndim else amount
        np.subtract(earned[p], balance, out=paid[p])
        np.maximum(paid[p], due, out=paid[p])
        balance += paid[p]
        balance -= earned[p]
    return paid, balance
