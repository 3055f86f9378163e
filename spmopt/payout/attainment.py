"""Attainment models for the Monte-Carlo simulator.

Three models, chosen by ``kind``: ``lognormal`` (parametric, with a shared
market factor), ``history`` (bootstrap of past rep-period attainment) and
``deals`` (deal by deal from win probabilities and the open pipeline).
Each model's ``prepare`` reads and checks its data before any work
starts, and its ``draw`` method draws attainment (credited quantity over
quota) for a batch of scenarios, every rep and every pay period, as an array of shape
``(n_scenarios, n_reps, n_periods)``. Randomness comes only from the
:class:`numpy.random.Generator` passed in.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal, Self

import numpy as np
from pydantic import (
    BeforeValidator,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

from spmopt.config import Config, TablePath
from spmopt.data import check_schema, load_table, require_nonnegative
from spmopt.errors import DataError, show
from spmopt.payout.cancellations import Cancellations, DealClawbacks
from spmopt.payout.deals import deal_index, first_rows
from spmopt.payout.engine import period_last
from spmopt.payout.limits import check_written_amounts


class SpifCounts(Config):
    """Deals (or units) a SPIF counts per rep and pay period, when the
    attainment model has no deals (``lognormal`` or ``history``).

    Either stated: the count of every rep and period is Poisson with mean
    ``mean``, times the rep's attainment of the plan's revenue measure in
    that period when ``follows_attainment`` (more deals when more revenue
    comes in; the expected count at quota is then ``mean``). Or, with
    ``kind: history``, drawn from history: ``history_column`` of the past
    rep-period row the revenue attainment was resampled from.

    Parameters
    ----------
    mean : float, optional
        Expected deals (or units) per rep and pay period (>= 0).
    follows_attainment : bool
        Scale the mean by the drawn revenue attainment.
    history_column : str, optional
        Column of the history table holding the past counts (>= 0).
    """

    mean: float | None = Field(default=None, ge=0, le=1e6)
    follows_attainment: bool = True
    history_column: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.mean is None) == (self.history_column is None):
            raise ValueError("give exactly one of 'mean' or 'history_column'")
        return self

    def draw(
        self,
        rng: np.random.Generator,
        attainment: np.ndarray,
        history: HistoryAttainment | None = None,
        rows: np.ndarray | None = None,
    ) -> np.ndarray:
        """Counts shaped like ``attainment`` (S, R, P), laid out period-major.

        ``history`` and ``rows`` (period-major history rows the revenue
        attainment came from) are needed with ``history_column``.
        """
        if self.history_column is not None:
            assert history is not None and rows is not None
            return period_last(history.column(self.history_column)[rows])
        assert self.mean is not None
        level = np.moveaxis(attainment, -1, 0)
        if self.follows_attainment:
            lam = np.multiply(level, self.mean)
        else:
            lam = np.full(level.shape, self.mean)
        return period_last(poisson_draws(rng, lam))


POISSON_BY_INVERSION = 30.0
"""Means up to this are drawn by inverting the CDF (numpy's sampler above)."""


def poisson_draws(rng: np.random.Generator, lam: np.ndarray) -> np.ndarray:
    """Poisson counts with means ``lam`` (any shape, >= 0), as floats.

    Exact inversion of the CDF, vectorised: every count starts at 0 and
    goes up while its uniform draw is above the CDF, so a step costs a few
    passes over the values still going up (most stop after one or two at
    small means); this is several times faster than numpy's per-value
    sampler for the small means of SPIF deal counts. Means above
    :data:`POISSON_BY_INVERSION` are left to numpy.
    """
    u = rng.random(lam.shape)
    out = np.zeros(lam.shape)
    big = lam > POISSON_BY_INVERSION
    if big.any():
        out[big] = rng.poisson(lam[big])
        lam, u = np.where(big, 0.0, lam), np.where(big, 0.0, u)  # done
    _invert(u, lam, out)
    return out


def _invert(u: np.ndarray, lam: np.ndarray, out: np.ndarray) -> None:
    """Add to ``out`` the count whose CDF first reaches ``u`` (flat arrays)."""
    p = np.exp(-lam)
    cdf = p.copy()
    going = u > cdf
    k = 0
    while (n := np.count_nonzero(going)) * 16 >= going.size and n:
        out += going
        k += 1
        p *= lam
        p /= k
        cdf += p
        np.greater(u, cdf, out=going)
    if n:  # the few left: carry on with just them
        i = np.flatnonzero(going)
        flat = out.reshape(-1)
        flat[i] += _invert_few(u.flat[i], lam.flat[i], p.flat[i], cdf.flat[i], k)


def _invert_few(
    u: np.ndarray, lam: np.ndarray, p: np.ndarray, cdf: np.ndarray, k: int
) -> np.ndarray:
    """Steps still to go for values at step ``k`` (1-D arrays)."""
    count = np.zeros(len(u))
    left = np.arange(len(u))
    limit = k + 100 + int(lam.max() + 40 * math.sqrt(lam.max()))  # CDF ~ 1
    while len(left) and k < limit:
        count[left] += 1
        k += 1
        p = p * lam / k
        cdf = cdf + p
        more = u > cdf
        left, u, lam, p, cdf = left[more], u[more], lam[more], p[more], cdf[more]
    return count


class LognormalAttainment(Config):
    """Lognormal attainment with a shared market factor.

    The log-attainment of rep ``r`` in scenario ``s`` and period ``p`` is::

        log a = mu + sigma * (sqrt(c) * M[s, p]
                              + sqrt(1 - c) * (sqrt(k) * U[s, r]
                                               + sqrt(1 - k) * E[s, r, p]))

    with independent standard normals ``M`` (market, shared by all reps),
    ``U`` (the rep's persistent form over the year) and ``E`` (noise), and
    ``mu = log(mean) - sigma**2 / 2`` so that the expected attainment is
    ``mean``. Any two reps' log-attainments have correlation ``c``.

    Parameters
    ----------
    mean : float
        Expected attainment per period (1.0 = quota), > 0 and at most 1e6.
    sigma : float
        Standard deviation of log-attainment, > 0 (0.3 gives roughly a
        30 % coefficient of variation).
    market_correlation : float
        Share ``c`` of log-variance common to all reps, in [0, 1].
    period_correlation : float
        Share ``k`` of a rep's own log-variance that persists across the
        periods of the year, in [0, 1].
    antithetic : bool
        Draw scenarios in antithetic pairs: the second half of each batch
        uses the negated normals of the first half. Every scenario keeps
        the same distribution, the pairs are negatively correlated (which
        lowers the Monte-Carlo error of a monotone payout) and only half
        the normals are drawn.
    spif_counts : dict of SpifCounts
        Per plan SPIF name, how many deals (or units) it counts.
    cancellations : Cancellations, optional
        How often won deals are cancelled (prices the plan's clawback).
    """

    kind: Literal["lognormal"] = "lognormal"
    mean: float = Field(default=1.0, gt=0, le=1e6)
    sigma: float = Field(default=0.3, gt=0, le=3)
    market_correlation: float = Field(default=0.2, ge=0, le=1)
    period_correlation: float = Field(default=0.5, ge=0, le=1)
    antithetic: bool = True
    spif_counts: dict[str, SpifCounts] = Field(default_factory=dict)
    cancellations: Cancellations | None = None

    @model_validator(mode="after")
    def _stated_counts(self) -> Self:
        for name, counts in self.spif_counts.items():
            if counts.history_column is not None:
                raise ValueError(
                    f"spif_counts.{name}.history_column needs attainment kind: "
                    "history; give a 'mean' instead"
                )
        return self

    @property
    def mu(self) -> float:
        """Mean of log-attainment."""
        return math.log(self.mean) - self.sigma**2 / 2

    def draw(
        self,
        rng: np.random.Generator,
        n_scenarios: int,
        n_reps: int,
        n_periods: int,
        buffers: Any = None,
    ) -> np.ndarray:
        """Attainment array of shape (n_scenarios, n_reps, n_periods).

        The array is laid out period-major (a view of an array of shape
        ``(n_periods, n_scenarios, n_reps)``), the layout the engine uses;
        with ``buffers`` (:class:`~spmopt.payout.engine.Buffers`) that
        array is taken from them.
        """
        take = np.empty if buffers is None else buffers.take
        half = n_scenarios // 2 if self.antithetic else 0
        n = n_scenarios - half
        z = take((n_periods, n_scenarios, n_reps))
        for p in range(n_periods):  # each period's first n rows are contiguous
            rng.standard_normal(out=z[p, :n])
        own = z[:, :n]
        form = self._add_form(rng, own, take)
        shift = self._shift(rng, n_periods, n, half)
        np.subtract(shift[:, n:], own[:, :half], out=z[:, n:])  # antithetic
        own += shift[:, :n]
        np.exp(z, out=z)
        if buffers is not None:
            buffers.give(form)
        return period_last(z)

    def _add_form(
        self, rng: np.random.Generator, own: np.ndarray, take: Any
    ) -> np.ndarray | None:
        """Scale the rep noise ``own`` (P, n, R), add the persistent form.

        Returns the form array (n, R), None when there is none.
        """
        c, k = self.market_correlation, self.period_correlation
        spread = self.sigma * math.sqrt(1 - c)
        if len(own) == 1 or k == 0:
            own *= spread  # form and noise are one normal with one period
            return None
        own *= spread * math.sqrt(1 - k)
        form = take(own.shape[1:])
        rng.standard_normal(out=form)
        form *= spread * math.sqrt(k)
        own += form
        return form

    def _shift(
        self, rng: np.random.Generator, n_periods: int, n: int, half: int
    ) -> np.ndarray:
        """``mu`` plus the market factor per period and scenario, (P, S, 1)."""
        shift = np.full((n_periods, n + half, 1), self.mu)
        c = self.market_correlation
        if c > 0:
            market = rng.standard_normal((n_periods, n, 1))
            market *= self.sigma * math.sqrt(c)
            shift[:, :n] += market
            shift[:, n:] -= market[:, :half]
        return shift

    def prepare(self, plan: Any, book: Any) -> None:
        """Nothing to load: the model is parametric."""


class HistoryAttainment(Config):
    """Attainment resampled from history (bootstrap of rep-period attainment).

    Parameters
    ----------
    history : table reference
        One row per rep and past period with ``rep_id``, ``period`` (any
        label) and ``attainment`` (>= 0, 1.0 = quota).
    resample : {"by_period", "pooled"}
        ``by_period`` draws one past period per simulated period and takes
        every rep's attainment from it (reps drawn at random within the
        period), which keeps the period's shared ups and downs and so the
        correlation between reps; ``pooled`` draws every value
        independently from all past rep-periods.
    spif_counts, cancellations
        As for :class:`LognormalAttainment`.
    """

    kind: Literal["history"] = "history"
    history: TablePath
    resample: Literal["by_period", "pooled"] = "by_period"
    attainment_column: str = "attainment"
    period_column: str = "period"
    spif_counts: dict[str, SpifCounts] = Field(default_factory=dict)
    cancellations: Cancellations | None = None
    _groups: list[np.ndarray] = PrivateAttr(default_factory=list)
    _columns: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)

    @property
    def mean(self) -> float:
        """Mean past attainment (used for the cost at mean attainment)."""
        self._load()
        return float(self._columns[self.attainment_column].mean())

    def prepare(self, plan: Any, book: Any) -> None:
        """Read and check the history table."""
        self._load()

    def column(self, name: str) -> np.ndarray:
        """Values of a loaded history column, one per history row."""
        self._load()
        return self._columns[name]

    def _load(self) -> list[np.ndarray]:
        """Row numbers of each past period (and the columns, loaded once)."""
        if not self._groups:
            counts = [c.history_column for c in self.spif_counts.values()]
            numbers = {c: "float" for c in counts if c is not None}
            schema = {self.attainment_column: "float", self.period_column: "str"}
            schema.update(numbers)
            table = load_table(self.history, name="history")
            frame = check_schema(table, schema, "history")
            for column in [self.attainment_column, *numbers]:
                require_nonnegative(frame, column, "history")
            self._columns = {
                c: frame[c].to_numpy(dtype=float)
                for c in [self.attainment_column, *numbers]
            }
            grouped = frame.reset_index(drop=True).groupby(
                self.period_column, sort=True
            )
            self._groups = [g.index.to_numpy() for _, g in grouped]
        return self._groups

    def draw(
        self,
        rng: np.random.Generator,
        n_scenarios: int,
        n_reps: int,
        n_periods: int,
        buffers: Any = None,
    ) -> np.ndarray:
        """Attainment array of shape (n_scenarios, n_reps, n_periods).

        Laid out period-major, taken from ``buffers`` when given (see
        :meth:`LognormalAttainment.draw`).
        """
        return self.draw_rows(rng, n_scenarios, n_reps, n_periods, buffers)[0]

    def draw_rows(
        self,
        rng: np.random.Generator,
        n_scenarios: int,
        n_reps: int,
        n_periods: int,
        buffers: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`draw` and the history rows drawn, ints (P, S, R)."""
        groups = self._load()
        shape = (n_periods, n_scenarios, n_reps)  # period-major, as the engine
        out = np.empty(shape) if buffers is None else buffers.take(shape)
        if self.resample == "pooled":
            rows = rng.integers(0, len(self._columns[self.attainment_column]), shape)
        else:
            rows = np.empty(shape, dtype=np.int64)
            which = rng.integers(0, len(groups), size=(n_periods, n_scenarios))
            for g, members in enumerate(groups):
                p, s = np.nonzero(which == g)
                picks = rng.integers(0, len(members), size=(len(s), n_reps))
                rows[p, s] = members[picks]
        np.take(self._columns[self.attainment_column], rows, out=out)
        return period_last(out), rows


class DealAttainment(Config):
    """Attainment built deal by deal from win probabilities and the pipeline.

    Every open deal is won or lost at random with its win probability (as
    scored by ``spmopt forecast score``); a rep's attainment in a period is
    the amount won in it over the period's quota. A market factor shifts
    every deal's log-odds in a scenario by the same ``market_sigma`` times
    a standard normal, so reps' outcomes are correlated.

    Parameters
    ----------
    pipeline : table reference
        Open deals with ``rep_id``, ``amount`` (>= 0, plan currency),
        ``win_probability`` (in [0, 1]) and the pay period: ``period``
        (1-based) or ``close_date`` (needs ``plan.year_start``); with
        neither, a one-period plan puts every deal in its only period.
        Optional ``tag`` and ``units`` columns feed the plan's SPIFs, which
        are then priced deal by deal too; optional ``cancel_probability``
        (in [0, 1]), ``contract_months`` and ``contract_start`` feed the
        plan's clawback (see :mod:`spmopt.payout.cancellations`). A
        ``deal_column`` id repeats only to split a deal between reps (one
        row per rep with its share of the amount; the rows are won and
        cancelled together); the same id twice for one rep is refused (see
        :mod:`spmopt.payout.deals`).
    market_sigma : float
        Standard deviation of the shared log-odds shift (0 = independent).
    cancellations : Cancellations, optional
        How often won deals are cancelled (prices the plan's clawback deal
        by deal).
    """

    kind: Literal["deals"] = "deals"
    pipeline: TablePath
    market_sigma: float = Field(default=0.0, ge=0, le=5)
    cancellations: Cancellations | None = None
    rep_column: str = "rep_id"
    amount_column: str = "amount"
    probability_column: str = "win_probability"
    deal_column: str = "deal_id"
    _deals: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)
    _spifs: dict[str, np.ndarray] = PrivateAttr(default_factory=dict)
    _clawbacks: DealClawbacks | None = PrivateAttr(default=None)

    @property
    def mean(self) -> float:
        """Expected attainment of the whole team (expected won / quota)."""
        deals = self._deals
        expected = float((deals["p"] * deals["amount"]).sum())
        return expected / float(deals["total_quota"])

    def prepare(self, plan: Any, book: Any) -> None:
        """Read the pipeline and place each deal at its rep and period."""
        from spmopt.payout.engine import PayoutEngine

        frame = load_table(self.pipeline, name="pipeline")
        schema = {
            self.rep_column: "str",
            self.amount_column: "float",
            self.probability_column: "float",
        }
        optional = {"period": "int", "close_date": "date", "tag": "str"}
        optional.update(units="float", cancel_probability="float")
        optional.update(contract_months="int", contract_start="date")
        optional[self.deal_column] = "str"
        check_written_amounts(frame, (self.amount_column, "units"), "pipeline")
        frame = check_schema(frame, schema, "pipeline", optional=optional)
        require_nonnegative(frame, self.amount_column, "pipeline")
        p = frame[self.probability_column]
        _check_range(p, self.probability_column)
        if "cancel_probability" in frame.columns:
            _check_range(frame["cancel_probability"], "cancel_probability", True)
        if "contract_months" in frame.columns:
            _check_contract_months(frame["contract_months"])
        reps = _rep_positions(frame[self.rep_column], book.rep_ids)
        periods = _periods(frame, plan)
        agree = {self.probability_column: p.to_numpy(dtype=float)}
        agree["pay period"] = periods + 1.0
        agree["cancel_probability"] = _optional(frame, "cancel_probability")
        deal = deal_index(frame, self.deal_column, self.rep_column, agree)
        quotas = PayoutEngine(plan, book).period_quotas()
        m = [x.name for x in plan.measures].index(plan.revenue)
        self._deals = {
            "p": p.to_numpy(dtype=float),
            "amount": frame[self.amount_column].to_numpy(dtype=float),
            "cell": reps * plan.n_periods + periods,
            "quota": quotas[:, m, :].ravel(),
            "total_quota": np.asarray(quotas[:, m, :].sum()),
            "rep": reps,
            "period": periods,
            "anchor_month": _anchor_months(frame, plan, periods),
            "contract_months": _optional(frame, "contract_months"),
            "cancel_probability": _optional(frame, "cancel_probability"),
            "deal": deal,
        }
        self._spifs = _spif_weights(frame, plan)
        self._clawbacks = None

    def deal_clawbacks(self, plan: Any) -> DealClawbacks:
        """The prepared deals' clawback pricer (stated rate and contract
        length where the pipeline leaves them out)."""
        assert plan.clawback is not None and self.cancellations is not None
        if self._clawbacks is not None and self._clawbacks.rule == plan.clawback:
            return self._clawbacks
        deals = dict(self._deals)
        stated = self.cancellations
        for key, value in (
            ("cancel_probability", stated.rate),
            ("contract_months", float(stated.contract_months)),
        ):
            deals[key] = np.where(np.isnan(deals[key]), value, deals[key])
        self._clawbacks = DealClawbacks(plan.clawback, deals, plan.n_periods)
        return self._clawbacks

    @property
    def deals(self) -> dict[str, np.ndarray]:
        """Per pipeline row: ``rep``, ``period``, ``amount``, ``anchor_month``,
        ``contract_months``, ``cancel_probability`` (NaN where not given) and
        ``deal`` (rows of one split deal share a number).
        """
        return self._deals

    def draw(
        self, rng: np.random.Generator, n_scenarios: int, n_reps: int, n_periods: int
    ) -> np.ndarray:
        """Attainment array of shape (n_scenarios, n_reps, n_periods)."""
        return self.draw_detail(rng, n_scenarios, n_reps, n_periods)[0]

    def draw_detail(
        self, rng: np.random.Generator, n_scenarios: int, n_reps: int, n_periods: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Attainment and, per SPIF, the deals (or units) won per period.

        Returns the attainment array of shape (n_scenarios, n_reps,
        n_periods) and ``{"spif:<name>": counts}`` with counts of the same
        shape, from the same random draws as :meth:`draw`.
        """
        att, counts, _ = self.draw_deals(rng, n_scenarios, n_reps, n_periods)
        return att, counts

    def draw_deals(
        self, rng: np.random.Generator, n_scenarios: int, n_reps: int, n_periods: int
    ) -> tuple[np.ndarray, dict[str, np.ndarray], np.ndarray]:
        """:meth:`draw_detail` plus which deals were won, bool (S, n_deals)."""
        from scipy import sparse

        deals = self._deals
        logit = np.log(np.clip(deals["p"], 1e-12, 1 - 1e-12))
        logit -= np.log1p(-np.clip(deals["p"], 1e-12, 1 - 1e-12))
        shift = rng.standard_normal((n_scenarios, 1)) * self.market_sigma
        chance = 1.0 / (1.0 + np.exp(-(logit[None, :] + shift)))
        n_deals = len(first_rows(deals["deal"]))  # the rows of a split deal
        draws = rng.random((n_scenarios, n_deals))[:, deals["deal"]]  # share a draw
        won_dense = draws < chance
        won = sparse.csr_matrix(won_dense)
        shape = (len(logit), n_reps * n_periods)
        rows = np.arange(len(logit))

        def per_cell(weights: np.ndarray) -> np.ndarray:
            place = sparse.csr_matrix((weights, (rows, deals["cell"])), shape=shape)
            total = np.asarray((won.astype(float) @ place).todense())
            return total.reshape(n_scenarios, n_reps, n_periods)

        amount = per_cell(deals["amount"]).reshape(n_scenarios, -1)
        quota = deals["quota"]
        att = np.divide(amount, quota, out=np.zeros_like(amount), where=quota > 0)
        counts = {key: per_cell(w) for key, w in self._spifs.items()}
        return att.reshape(n_scenarios, n_reps, n_periods), counts, won_dense


def _optional(frame: Any, column: str) -> np.ndarray:
    if column not in frame.columns:
        return np.full(len(frame), np.nan)
    return frame[column].to_numpy(dtype=float)


def _check_contract_months(values: Any) -> None:
    bad = values.notna() & ~(values > 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"pipeline: column 'contract_months' must be a whole number > 0, got "
            f"{show(values.iloc[row])} in data row {row + 1}"
        )


def _anchor_months(frame: Any, plan: Any, periods: np.ndarray) -> np.ndarray:
    """Month of each deal's clawback anchor, counted from the plan year start.

    The anchor is the close date, or ``contract_start`` when the plan's
    clawback anchors there and the pipeline gives it; without dates, the
    first month of the deal's period.
    """
    months = periods * (12 // plan.n_periods)
    start = plan.year_start
    if start is None:
        return months.astype(float)
    out = months.astype(float)
    columns = ["close_date"]
    if plan.clawback is not None and plan.clawback.anchor == "contract_start":
        columns.insert(0, "contract_start")
    for column in reversed([c for c in columns if c in frame.columns]):
        day = frame[column]
        offset = (day.dt.year - start.year) * 12 + day.dt.month - start.month
        known = day.notna().to_numpy()
        out[known] = offset.to_numpy(dtype=float)[known]
    return out


def _spif_weights(frame: Any, plan: Any) -> dict[str, np.ndarray]:
    """Per SPIF, what each pipeline deal adds to its count when won."""
    tags = frame["tag"] if "tag" in frame.columns else None
    units = frame["units"] if "units" in frame.columns else None
    out = {}
    for spif in plan.spifs:
        if spif.curve.basis == "units":
            weight = np.zeros(len(frame)) if units is None else units.fillna(0.0)
            weight = np.asarray(weight, dtype=float)
        else:
            weight = np.ones(len(frame))
        if spif.tag is not None:
            match = np.zeros(len(frame), dtype=bool)
            if tags is not None:
                match = (tags == spif.tag).fillna(False).to_numpy(dtype=bool)
            weight = weight * match
        out[f"spif:{spif.name}"] = weight
    return out


def _check_range(values: Any, column: str, optional: bool = False) -> None:
    bad = (values < 0) | (values > 1)
    bad = bad if optional else bad | values.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"pipeline: column '{column}' must be a probability in [0, 1], got "
            f"{show(values.iloc[row])} in data row {row + 1}"
        )


def _rep_positions(reps: Any, known: tuple[str, ...]) -> np.ndarray:
    index = {rep: i for i, rep in enumerate(known)}
    out = np.empty(len(reps), dtype=int)
    for row, rep in enumerate(reps):
        if rep not in index:
            raise DataError(
                f"pipeline: rep_id {rep!r} in data row {row + 1} is not in the "
                "quotas table"
            )
        out[row] = index[rep]
    return out


def _periods(frame: Any, plan: Any) -> np.ndarray:
    n = plan.n_periods
    if "period" in frame.columns:
        values = frame["period"].to_numpy(dtype=float)
        bad = np.isnan(values) | (values < 1) | (values > n)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"pipeline: column 'period' must be a period 1..{n}, got "
                f"{show(frame['period'].iloc[row])} in data row {row + 1}"
            )
        return values.astype(int) - 1
    if "close_date" in frame.columns:
        from spmopt.payout.periods import PlanCalendar

        calendar = PlanCalendar(plan)
        out = []
        for row, day in enumerate(frame["close_date"]):
            p = None if day is None or day != day else calendar.period_of(day.date())
            if p is None:
                raise DataError(
                    f"pipeline: close_date {day} in data row {row + 1} is outside "
                    f"the plan year {calendar.start} to {calendar.end}"
                )
            out.append(p)
        return np.asarray(out, dtype=int)
    if n == 1:
        return np.zeros(len(frame), dtype=int)
    raise DataError(
        f"pipeline: give a 'period' (1..{n}) or 'close_date' column to place "
        "deals in the plan's periods"
    )


def _kind_of(value: Any) -> str:
    """The model kind of a raw mapping or a model (``lognormal`` if unset)."""
    if isinstance(value, dict):
        return str(value.get("kind", "lognormal"))
    return str(getattr(value, "kind", "lognormal"))


KINDS = ("lognormal", "history", "deals")


def _check_kind(value: Any) -> Any:
    """Refuse an unknown ``kind`` (or a non-mapping) in plain words."""
    if isinstance(value, Config):
        return value
    if not isinstance(value, dict):
        raise ValueError(
            f"must be a mapping of fields with a kind ({', '.join(KINDS)})"
        )
    kind = value.get("kind", "lognormal")
    if kind not in KINDS:
        raise ValueError(
            f"unknown attainment model kind {kind!r}; allowed kinds: "
            f"{', '.join(KINDS)} (lognormal if omitted)"
        )
    return value


AttainmentModel = Annotated[
    Annotated[
        Annotated[LognormalAttainment, Tag("lognormal")]
        | Annotated[HistoryAttainment, Tag("history")]
        | Annotated[DealAttainment, Tag("deals")],
        Discriminator(_kind_of),
    ],
    BeforeValidator(_check_kind),
]
"""Any attainment model, chosen by its ``kind`` field (default lognormal)."""
