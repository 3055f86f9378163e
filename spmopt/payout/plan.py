"""Compensation plan schema: a plan is data, validated from YAML.

A :class:`PlanConfig` holds everything the engine, the reference calculator
and the simulator need: measures with weights and quotas, payout curves
given by tiers or by points, gates, caps and floors, periods with
year-to-date true-ups, draws, SPIFs, clawbacks, split rounding and the
currency rounding rule. ``docs/payout.md`` documents every field with
examples.

Conventions stated once
-----------------------
* Attainment is credited quantity divided by quota (1.0 = at quota).
* Tier edges are explicit: ``lower_inclusive`` means a tier covers
  ``[from, to)`` (reaching a threshold moves you up), ``upper_inclusive``
  means ``(from, to]`` ("over" the threshold, strictly greater).
* Gates are inclusive: a gate of 0.5 pays at exactly 50 % attainment.
* Money is rounded once per rep and period, with ``rounding.decimals``.
"""

from __future__ import annotations

import math
import re
import warnings
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from spmopt.config import (
    Config,
    FieldValueError,
    WrittenFloat,
    load_config,
    parse_config,
)
from spmopt.errors import SpmoptWarning
from spmopt.payout.limits import (
    MAX_AMOUNT,
    MAX_RATE,
    limit_text,
    range_text,
    show_number,
    within,
)

ApplyMode = Literal["marginal", "retroactive"]
EdgeRule = Literal["lower_inclusive", "upper_inclusive"]
Basis = Literal["attainment", "amount", "units", "deals"]
CreditKind = Literal["amount", "units", "deals"]
PeriodKind = Literal["month", "quarter", "year"]

PERIODS_PER_YEAR = {"month": 12, "quarter": 4, "year": 1}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _as_written(value: Any) -> Any:
    """A number as written in the plan: ``1000.10`` keeps every digit.

    A YAML float gives the digits it was written with, a Python float its
    shortest decimal (``0.1``, not the binary fraction below it); text and
    integers are read by ``Decimal`` itself, exactly.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return float(value)  # refused by the field, shown as written (inf)
    if isinstance(value, WrittenFloat):
        return value.exact()
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _json_number(value: Decimal) -> float | str:
    """A JSON number when a float prints it as written, else its text."""
    number = float(value)
    return number if Decimal(repr(number)) == value else str(value)


Exact = Annotated[
    Decimal,
    BeforeValidator(_as_written),
    PlainSerializer(_json_number, when_used="json"),
]
"""A plan number read exactly as written (money, edges, rates, shares).

The reference calculator and statements use it as it is; the vectorised
engine and the simulator take its float.
"""


def _bounded(limit: Decimal, what: str) -> AfterValidator:
    """A check that a plan number is at most ``limit`` in absolute value."""

    def check(value: Decimal) -> Decimal:
        if within(value, limit):
            return value
        number = float(value)  # as the message's "got" shows it
        shown = not math.isfinite(number) or Decimal(repr(number)) == value
        written = "" if shown else f" (written {show_number(value)})"
        raise ValueError(f"{what} must be {range_text(limit)}{written}")

    return AfterValidator(check)


Amount = Annotated[Exact, _bounded(MAX_AMOUNT, "an amount")]
"""A plan number in currency (or a tier edge): within ±1e15, exact."""
Rate = Annotated[Exact, _bounded(MAX_RATE, "a rate or multiplier")]
"""A rate, share or multiplier of the plan: within ±1e6, exact."""
RATE_FLOAT = float(MAX_RATE)
"""The bound of float multipliers (weights), as a float."""


class Tier(Config):
    """One tier of a rate table: ``rate`` applies from ``from`` to ``to``.

    ``rate`` is payout per unit of the curve's basis: per 1.0 of
    attainment (times the measure's target incentive or quota, see
    :attr:`Measure.rate_of`), per currency unit of amount (a commission
    rate), per unit or per deal (currency).
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    start: Amount = Field(alias="from", ge=0)
    end: Amount | None = Field(default=None, alias="to")
    rate: Rate
    application: ApplyMode | None = None


class Curve(Config):
    """A payout curve: tiers (marginal or retroactive) or points.

    With ``tiers``, ``application`` says how a tier's rate is used:
    ``marginal`` pays each slice at its own rate, ``retroactive`` pays the
    reached rate on the whole quantity. A tier may override the curve's
    ``application`` (e.g. "10 % of everything up to quota, 20 % on the
    excess only"). With ``points`` (``[[x, y], ...]``, x from 0 and
    increasing) the payout is interpolated linearly; beyond the last point
    it stays flat or extends the last slope.

    A curve whose payout *falls* somewhere as the basis rises (a retroactive
    tier with a lower rate than the tiers below it, or points whose y
    decreases) pays a rep less for selling more, which is almost always a
    typing error: the plan then warns (:class:`~spmopt.errors.SpmoptWarning`)
    naming the measure and the basis values where the payout falls. Shapes
    that never lower the payout are taken as intended and do not warn: a
    decelerator (a lower *marginal* rate: the payout still rises, more
    slowly) and a cap or plateau (a flat stretch). Set
    ``allow_decreasing: true`` (or ``allow_negative_rates: true``) to declare
    a falling payout intentional and silence the warning.
    """

    basis: Basis = "attainment"
    application: ApplyMode = "marginal"
    edges: EdgeRule = "lower_inclusive"
    tiers: list[Tier] | None = None
    points: list[tuple[Amount, Amount]] | None = None
    beyond_last_point: Literal["flat", "extend"] = "flat"
    allow_negative_rates: bool = False
    allow_decreasing: bool = False

    @model_validator(mode="after")
    def _check_shape(self) -> Self:
        if (self.tiers is None) == (self.points is None):
            raise ValueError("give exactly one of 'tiers' or 'points'")
        if self.tiers is not None:
            _check_tiers(self.tiers, self.allow_negative_rates)
        if self.points is not None:
            _check_points(self.points, self.allow_negative_rates)
        return self

    def drops(self) -> list[tuple[Decimal, Decimal, Decimal]]:
        """Where the payout falls as the basis rises.

        Returns
        -------
        list of (x, before, after)
            ``x`` is the basis value (an attainment, amount, units or deals)
            where the payout starts to fall, ``before`` and ``after`` the
            curve's value there and where the fall ends (in rate units: per
            1.0 of target incentive or per credit, see :class:`Measure`).
            Empty when the payout never falls.
        """
        if self.points is not None:
            pts = self.points
            return [
                (pts[i - 1][0], pts[i - 1][1], pts[i][1])
                for i in range(1, len(pts))
                if pts[i][1] < pts[i - 1][1]
            ]
        assert self.tiers is not None
        return _tier_drops(self.tiers, self.application)


def _tier_drops(
    tiers: list[Tier], application: ApplyMode
) -> list[tuple[Decimal, Decimal, Decimal]]:
    """Edges where a tier starts below the value the tier before reached."""
    drops = []
    base = anchor = slope = Decimal(0)
    for tier in tiers:
        before = base + slope * (tier.start - anchor)
        if (tier.application or application) == "retroactive":
            base, anchor = Decimal(0), Decimal(0)
        else:
            base, anchor = before, tier.start
        slope = tier.rate
        after = base + slope * (tier.start - anchor)
        if after < before:
            drops.append((tier.start, before, after))
    return drops


def _check_tiers(tiers: list[Tier], allow_negative: bool) -> None:
    if not tiers:
        raise ValueError("'tiers' is empty; give at least one tier")
    if tiers[0].start != 0:
        raise ValueError(f"tiers[0].from must be 0, got {tiers[0].start:g}")
    for i, tier in enumerate(tiers):
        if tier.rate < 0 and not allow_negative:
            raise ValueError(
                f"tiers[{i}].rate must be >= 0, got {tier.rate:g} "
                "(set allow_negative_rates: true for a negative rate)"
            )
        if tier.end is not None and tier.end <= tier.start:
            raise ValueError(
                f"tiers[{i}] edges must increase: from {tier.start:g} to {tier.end:g}"
            )
        if i + 1 < len(tiers):
            _check_joint(tiers, i)
    if tiers[-1].end is not None:
        raise ValueError(
            f"tiers[{len(tiers) - 1}] (the last tier) must be open-ended: "
            f"remove 'to: {tiers[-1].end:g}' and use a cap to limit the payout"
        )


def _check_joint(tiers: list[Tier], i: int) -> None:
    end, nxt = tiers[i].end, tiers[i + 1].start
    if end is None:
        raise ValueError(
            f"tiers[{i}] has no 'to' but is not the last tier; only the last "
            "tier may be open-ended"
        )
    if nxt < end:
        raise ValueError(
            f"tiers overlap: tiers[{i + 1}].from is {nxt:g} but tiers[{i}].to is "
            f"{end:g}; each tier must start where the previous one ends"
        )
    if nxt > end:
        raise ValueError(
            f"tiers leave a gap: tiers[{i}].to is {end:g} but tiers[{i + 1}].from "
            f"is {nxt:g}; each tier must start where the previous one ends"
        )


def _check_points(points: list[tuple[Decimal, Decimal]], allow_negative: bool) -> None:
    if len(points) < 2:
        raise ValueError("'points' needs at least two [x, y] pairs")
    if points[0][0] != 0:
        raise ValueError(f"points[0] must start at x = 0, got x = {points[0][0]:g}")
    for i in range(1, len(points)):
        if points[i][0] <= points[i - 1][0]:
            raise ValueError(
                f"points x must increase: points[{i}] x = {points[i][0]:g} after "
                f"x = {points[i - 1][0]:g}"
            )
    negative = [i for i, (_, y) in enumerate(points) if y < 0]
    if negative and not allow_negative:
        i = negative[0]
        raise ValueError(f"points[{i}] y must be >= 0, got {points[i][1]:g}")


class Gate(Config):
    """Pay nothing unless ``measure`` reaches ``min_attainment`` (inclusive).

    ``measure`` defaults to the measure the gate is attached to.
    """

    measure: str | None = None
    min_attainment: Rate = Field(ge=0)


class Measure(Config):
    """One measure of the plan (e.g. revenue, new logos).

    Parameters
    ----------
    name : str
        Identifier used in credits (column ``measure``) and outputs.
    weight : float
        Share of the target incentive this measure carries (>= 0).
    credit : {"amount", "units", "deals"}
        What one credit contributes: its amount (currency), its units or
        one deal.
    quota_column : str
        Column of the quotas table holding each rep's annual quota.
    quota : float, optional
        One annual quota for every rep (overrides ``quota_column``).
    curve : Curve
        The payout curve.
    rate_of : {"target_incentive", "credit"}
        ``target_incentive``: a rate of 1.0 per 1.0 attainment pays the
        measure's target incentive at quota. ``credit``: rates are paid per
        unit of credit (a commission rate on amount, currency per unit or
        per deal); with an attainment basis the payout is rate times
        attainment times quota.
    tiers_apply_to : {"period_total", "each_credit"}
        Evaluate the curve on the running period total, or on each credit
        separately from zero.
    ytd : bool
        Tiers on year-to-date totals; each period pays the year-to-date
        amount minus what was already paid (true-up).
    negative_true_up : {"hold", "recover"}
        When the year-to-date amount falls below what was already paid
        (attainment to date dropped): ``hold`` pays nothing and nets the
        shortfall against later true-ups; ``recover`` posts a negative
        payment.
    team_of : str, optional
        Manager override: this measure is credited with the credits of
        measure ``team_of`` earned by the reps whose ``manager_id`` is this
        rep (team attainment), not with the rep's own credits.
    gates, cap_share, cap_amount, floor_amount
        Gates, cap as a multiple of the measure's target incentive, cap and
        floor in currency, all per rep and period (year-to-date if ``ytd``).
    payout_tiers : Curve, optional
        Tiers on the cumulative payout of this measure (basis ``amount``,
        ``rate_of`` credit): e.g. 100 % of the first 50,000 earned and 50 %
        above.
    """

    name: str
    weight: float = Field(default=1.0, ge=0, le=RATE_FLOAT)
    credit: CreditKind = "amount"
    quota_column: str = "quota"
    quota: Amount | None = Field(default=None, gt=0)
    curve: Curve
    rate_of: Literal["target_incentive", "credit"] = "target_incentive"
    tiers_apply_to: Literal["period_total", "each_credit"] = "period_total"
    ytd: bool = False
    negative_true_up: Literal["hold", "recover"] = "hold"
    team_of: str | None = None
    gates: list[Gate] = Field(default_factory=list)
    cap_share: Rate | None = Field(default=None, gt=0)
    cap_amount: Amount | None = Field(default=None, ge=0)
    floor_amount: Amount | None = Field(default=None, ge=0)
    payout_tiers: Curve | None = None

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"measure name {value!r} must be letters, digits and _ "
                "(starting with a letter)"
            )
        return value

    @model_validator(mode="after")
    def _check_basis(self) -> Self:
        basis = self.curve.basis
        if basis != "attainment" and basis != self.credit:
            raise ValueError(
                f"curve.basis {basis!r} must be 'attainment' or the measure's "
                f"credit {self.credit!r}"
            )
        if self.ytd and self.tiers_apply_to == "each_credit":
            raise ValueError(
                "ytd: true cannot be combined with tiers_apply_to: each_credit "
                "(each credit is evaluated from zero)"
            )
        if self.payout_tiers is not None and self.payout_tiers.basis != "amount":
            raise ValueError("payout_tiers.basis must be 'amount' (payout earned)")
        return self


class Draw(Config):
    """An advance paid each period when earnings fall short.

    ``amount`` is per rep and period (currency). A recoverable draw is paid
    back from later earnings above the draw; the outstanding balance carries
    from period to period, and into the next plan year when
    ``carry_forward`` is true (otherwise it is forgiven at year end). A
    non-recoverable draw is a guaranteed minimum.
    """

    amount: Amount = Field(gt=0)
    recoverable: bool = True
    carry_forward: bool = True


class Spif(Config):
    """A sales incentive paid per deal or per unit, optionally tiered.

    ``tag`` selects credits whose ``tag`` column equals it (all credits if
    omitted). The curve's basis is ``deals`` or ``units`` and its rates are
    currency per deal or per unit; tiers count within the period.
    """

    name: str
    tag: str | None = None
    curve: Curve

    @model_validator(mode="after")
    def _check_basis(self) -> Self:
        if self.curve.basis not in ("deals", "units"):
            raise ValueError(
                f"spif curve.basis must be 'deals' or 'units', got {self.curve.basis!r}"
            )
        return self


class Clawback(Config):
    """Recover commission on a cancelled deal.

    A deal cancelled within ``window_months`` (inclusive) of its anchor date
    gives back all of its commission (``full``), a fixed ``share`` of it, or
    the unearned part of the contract (``prorated``: months not served over
    ``contract_months``). The clawback is posted in the period of the
    cancellation date.
    """

    mode: Literal["full", "fixed_share", "prorated"] = "full"
    share: Exact = Field(default=Decimal(1), gt=0, le=1)
    window_months: int = Field(gt=0)
    anchor: Literal["credit_date", "contract_start"] = "credit_date"


class Rounding(Config):
    """Money rounding, applied once per rep and period."""

    decimals: int = Field(default=2, ge=0, le=6)
    mode: Literal["half_up", "half_even"] = "half_up"


class PlanConfig(Config):
    """A compensation plan (see the module docstring and docs/payout.md).

    ``target_incentive`` is the annual target incentive per rep (currency);
    a ``target_incentive`` column in the quotas table overrides it per rep.
    ``seasonality`` gives each period's relative weight in the annual quota
    and target incentive (e.g. ``[1, 1, 1, 2]``; equal by default): period
    ``p`` gets ``weight[p] / sum(weights)`` of both.
    """

    name: str = "plan"
    currency: str = Field(default="USD", min_length=3, max_length=3)
    rounding: Rounding = Field(default_factory=Rounding)
    period: PeriodKind = "year"
    year_start: date | None = None
    seasonality: list[float] | None = None
    target_incentive: Amount | None = Field(default=None, ge=0)
    measures: list[Measure] = Field(min_length=1)
    revenue_measure: str | None = None
    gates: list[Gate] = Field(default_factory=list)
    cap_share: Rate | None = Field(default=None, gt=0)
    cap_amount: Amount | None = Field(default=None, ge=0)
    floor_amount: Amount | None = Field(default=None, ge=0)
    draw: Draw | None = None
    spifs: list[Spif] = Field(default_factory=list)
    clawback: Clawback | None = None
    split_rounding: Literal["largest_remainder", "first_takes_remainder"] = (
        "largest_remainder"
    )
    proration: Literal["days", "none"] = "days"

    @property
    def n_periods(self) -> int:
        """Number of pay periods in the plan year."""
        return PERIODS_PER_YEAR[self.period]

    def measure(self, name: str) -> Measure:
        """The measure called ``name``."""
        for measure in self.measures:
            if measure.name == name:
                return measure
        raise KeyError(name)

    @property
    def revenue(self) -> str:
        """Name of the measure counted as revenue (default: the first)."""
        return self.revenue_measure or self.measures[0].name

    def period_weights(self) -> list[float]:
        """Relative weight of each period in the annual quota and incentive."""
        if self.seasonality is not None:
            return list(self.seasonality)
        return [1.0] * self.n_periods

    @model_validator(mode="after")
    def _check_plan(self) -> Self:
        names = [m.name for m in self.measures]
        if len(set(names)) != len(names):
            raise FieldValueError(
                "measures", f"measure names must be unique, got {names}"
            )
        _check_refs(self, names)
        _check_seasonality(self.seasonality, self.n_periods, self.period)
        _warn_weights(self)
        _warn_drops(self)
        return self


def _warn_weights(plan: PlanConfig) -> None:
    """Warn when measure weights do not share out the whole target incentive."""
    shares = [m.weight for m in plan.measures if m.rate_of == "target_incentive"]
    total = sum(shares)
    if plan.target_incentive is not None and shares and abs(total - 1.0) > 1e-9:
        warnings.warn(
            f"plan {plan.name!r}: measure weights sum to {total:g}, not 1: the "
            f"measures' shares of the target incentive add up to {100 * total:g} %",
            SpmoptWarning,
            stacklevel=2,
        )


def _warn_drops(plan: PlanConfig) -> None:
    """Warn for each curve whose payout falls as the basis rises."""
    curves = [(f"measure {m.name!r}", m.curve) for m in plan.measures]
    curves += [
        (f"measure {m.name!r} payout_tiers", m.payout_tiers)
        for m in plan.measures
        if m.payout_tiers is not None
    ]
    curves += [(f"spif {s.name!r}", s.curve) for s in plan.spifs]
    for owner, curve in curves:
        if curve.allow_decreasing or curve.allow_negative_rates:
            continue
        falls = "; ".join(
            f"at {curve.basis} {x:g} from {before:g} to {after:g}"
            for x, before, after in curve.drops()
        )
        if falls:
            warnings.warn(
                f"plan {plan.name!r}: {owner} pays less for more: its payout "
                f"curve falls {falls}; if intended, set curve.allow_decreasing: "
                "true",
                SpmoptWarning,
                stacklevel=2,
            )


def _check_refs(plan: PlanConfig, names: list[str]) -> None:
    if plan.revenue_measure is not None and plan.revenue_measure not in names:
        raise FieldValueError(
            "revenue_measure",
            f"revenue_measure {plan.revenue_measure!r} is not a measure; "
            f"measures: {names}",
        )
    gates = [(f"gates.{j}", g) for j, g in enumerate(plan.gates)]
    for i, measure in enumerate(plan.measures):
        gates += [(f"measures.{i}.gates.{j}", g) for j, g in enumerate(measure.gates)]
    for where, gate in gates:
        if gate.measure is not None and gate.measure not in names:
            raise FieldValueError(
                f"{where}.measure",
                f"gate measure {gate.measure!r} is not a measure; measures: {names}",
            )
    for i, measure in enumerate(plan.measures):
        if measure.team_of is not None and measure.team_of not in names:
            raise FieldValueError(
                f"measures.{i}.team_of",
                f"measures '{measure.name}'.team_of {measure.team_of!r} is not a "
                f"measure; measures: {names}",
            )
    for where, gate in gates[: len(plan.gates)]:
        if gate.measure is None:
            raise FieldValueError(where, "a plan-level gate must name its 'measure'")


def _check_seasonality(shares: list[float] | None, n: int, period: str) -> None:
    if shares is None:
        return
    if len(shares) != n:
        raise ValueError(
            f"seasonality needs {n} weights for period {period!r}, got {len(shares)}"
        )
    if any(not 0 <= s <= RATE_FLOAT for s in shares) or sum(shares) <= 0:
        raise ValueError(
            f"seasonality weights must be >= 0 and at most {limit_text(MAX_RATE)}, "
            f"with a positive sum, got {shares}"
        )


def load_plan(path: str | Path, what: str = "config file") -> PlanConfig:
    """Read and validate a plan YAML file (``what`` names it in errors)."""
    return load_config(PlanConfig, path, what)


def parse_plan(data: dict[str, Any], source: str = "plan") -> PlanConfig:
    """Validate a plan given as a mapping (e.g. inline in another config)."""
    return parse_config(PlanConfig, data, source=source)
