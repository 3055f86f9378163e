"""The vectorised engine against closed forms and a per-period loop."""

from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from spmopt.errors import ConfigError, DataError
from spmopt.payout.engine import (
    PayoutEngine,
    RepBook,
    apply_draw,
    period_last,
    period_major,
    rep_book,
    sum_periods,
)
from spmopt.payout.plan import parse_plan

from .helpers import book, one_measure_plan

# These tests build plans with any measure weights on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore:plan .*measure weights sum to"),
    pytest.mark.filterwarnings("ignore:plan .*pays less for more"),
]

ACCEL = {
    "tiers": [
        {"from": 0, "to": 0.5, "rate": 0},
        {"from": 0.5, "to": 1.0, "rate": 2},
        {"from": 1.0, "to": 1.5, "rate": 3},
        {"from": 1.5, "rate": 1},
    ]
}


def run(plan, reps, credited):  # type: ignore[no-untyped-def]
    return PayoutEngine(plan, reps).evaluate(credited)


def test_accelerator_pays_closed_form_and_caps() -> None:
    plan = one_measure_plan(ACCEL, target_incentive=40_000, measure={"cap_share": 2.5})
    reps = book([1_000_000.0] * 4, 40_000)
    att = np.array([0.4, 0.8, 1.2, 2.0])
    out = run(plan, reps, {"revenue": (att * 1e6)[None, :, None]})
    expected = 40_000 * np.array([0.0, 0.6, 1.0 + 0.6, 2.5])
    assert np.allclose(out.paid[0, :, 0], expected)
    assert out.cap_hit[0].tolist() == [False, False, False, True]


def test_rate_of_credit_on_attainment_pays_commission_on_amount() -> None:
    curve = {
        "application": "retroactive",
        "tiers": [
            {"from": 0, "to": 0.5, "rate": 0.05},
            {"from": 0.5, "to": 1.0, "rate": 0.10},
            {"from": 1.0, "rate": 0.20, "application": "marginal"},
        ],
    }
    plan = one_measure_plan(curve, measure={"rate_of": "credit"})
    reps = book([33_000.0] * 3)
    amounts = np.array([16_499.0, 16_500.0, 40_000.0])[None, :, None]
    assert np.allclose(
        run(plan, reps, {"revenue": amounts}).paid.ravel(), [824.95, 1_650.0, 4_700.0]
    )


def loop_ytd(curve_pay, amounts, quotas, incentive):  # type: ignore[no-untyped-def]
    """Plain loop: pay year-to-date entitlement minus what was paid."""
    paid, done, cum, cum_q, cum_ti = [], 0.0, 0.0, 0.0, 0.0
    for amount, quota in zip(amounts, quotas, strict=True):
        cum, cum_q, cum_ti = cum + amount, cum_q + quota, cum_ti + incentive / 4
        owed = cum_ti * curve_pay(cum / cum_q)
        paid.append(owed - done)
        done = owed
    return paid


def test_ytd_true_up_matches_a_loop_and_sums_to_annual() -> None:
    plan = one_measure_plan(
        ACCEL, period="quarter", target_incentive=40_000, measure={"ytd": True}
    )
    reps = book([400_000.0], 40_000)
    amounts = np.array([50_000.0, 150_000.0, 80_000.0, 190_000.0])
    out = run(plan, reps, {"revenue": amounts[None, None, :]})

    def f(a: float) -> float:
        return (
            float(np.interp(a, [0, 0.5, 0.5, 1, 1.5], [0, 0, 0, 1, 2.5]))
            if a < 1.5
            else 2.5 + (a - 1.5)
        )

    expected = loop_ytd(f, amounts, [100_000.0] * 4, 40_000)
    assert np.allclose(out.paid[0, 0], expected)
    assert out.paid[0, 0].sum() == pytest.approx(40_000 * f(470_000 / 400_000))


def test_quarterly_without_ytd_prices_each_quarter_alone() -> None:
    plan = one_measure_plan(ACCEL, period="quarter", target_incentive=40_000)
    out = run(
        plan,
        book([400_000.0], 40_000),
        {"revenue": np.array([[[100_000.0, 0.0, 150_000.0, 60_000.0]]])},
    )
    assert np.allclose(out.paid[0, 0], [10_000, 0, 10_000 * 2.5, 10_000 * 0.2])


def test_recoverable_and_non_recoverable_draws() -> None:
    earned = np.array([[0.0, 5_000.0, 30_000.0, 0.0]])
    plan = one_measure_plan(ACCEL, draw={"amount": 10_000})
    paid, balance = apply_draw(earned, plan)
    assert paid.tolist() == [[10_000, 10_000, 15_000, 10_000]]
    assert balance.tolist() == [10_000]
    plan = one_measure_plan(ACCEL, draw={"amount": 10_000, "recoverable": False})
    paid, balance = apply_draw(earned, plan)
    assert paid.tolist() == [[10_000, 10_000, 30_000, 10_000]]


def two_measure_plan(**kw: object):  # type: ignore[no-untyped-def]
    flat = {"tiers": [{"from": 0, "rate": 1.0}]}
    return parse_plan(
        {
            "target_incentive": 10_000,
            "measures": [
                {"name": "revenue", "weight": 0.7, "curve": flat, **kw},
                {
                    "name": "logos",
                    "weight": 0.3,
                    "credit": "deals",
                    "quota_column": "logo_quota",
                    "curve": flat,
                },
            ],
        }
    )


def test_gate_on_another_measure_is_inclusive() -> None:
    plan = two_measure_plan(gates=[{"measure": "logos", "min_attainment": 0.5}])
    frame = pd.DataFrame(
        {"rep_id": ["a", "b"], "quota": ["100", "100"], "logo_quota": ["10", "10"]}
    )
    engine = PayoutEngine.from_frame(plan, frame)
    revenue = np.array([[[100.0], [100.0]]])
    logos = np.array([[[4.0], [5.0]]])
    out = engine.evaluate({"revenue": revenue, "logos": logos})
    assert np.allclose(out.paid[0, :, 0], [0 + 0.3 * 0.4 * 1e4, 0.7e4 + 0.15e4])


def test_team_measure_rolls_up_reports() -> None:
    flat = {"tiers": [{"from": 0, "rate": 1.0}]}
    plan = parse_plan(
        {
            "target_incentive": 1_000,
            "measures": [
                {"name": "revenue", "curve": flat},
                {
                    "name": "team",
                    "team_of": "revenue",
                    "quota_column": "team_quota",
                    "curve": flat,
                },
            ],
        }
    )
    frame = pd.DataFrame(
        {
            "rep_id": ["m", "a", "b"],
            "quota": ["1", "10", "10"],
            "team_quota": ["20", "1", "1"],
            "manager_id": ["", "m", "m"],
        }
    )
    out = PayoutEngine.from_frame(plan, frame).evaluate(
        {"revenue": np.array([[[0.0], [5.0], [15.0]]])}
    )
    assert np.allclose(out.paid[0, :, 0], [1_000, 500, 1_500])


def test_per_credit_tiers_are_refused() -> None:
    plan = one_measure_plan(ACCEL, measure={"tiers_apply_to": "each_credit"})
    with pytest.raises(ConfigError, match="each_credit"):
        run(plan, book([1.0]), {"revenue": np.ones((1, 1, 1))})


@pytest.mark.parametrize(
    ("frame", "pattern"),
    [
        (pd.DataFrame({"rep_id": ["a"]}), "missing column"),
        (pd.DataFrame({"rep_id": ["a"], "quota": ["x"]}), "must be a number"),
        (pd.DataFrame({"rep_id": ["a"], "quota": ["0"]}), "must be a number > 0"),
        (pd.DataFrame({"rep_id": ["a", "a"], "quota": ["1", "2"]}), "unique"),
        (
            pd.DataFrame({"rep_id": ["a"], "quota": ["1"], "target_incentive": ["-1"]}),
            "target_incentive",
        ),
        (
            pd.DataFrame(
                {
                    "rep_id": ["a", "R01"],
                    "quota": ["1", "8"],
                    "start_date": ["", "2027-03-15"],
                    "end_date": ["", "2027-02-01"],
                }
            ),
            r"data row 2 \(rep 'R01'\) has end_date 2027-02-01 before start_date "
            "2027-03-15; end_date must be on or after start_date",
        ),
    ],
)
def test_bad_quotas_tables(frame: pd.DataFrame, pattern: str) -> None:
    plan = one_measure_plan(ACCEL, target_incentive=1.0)
    with pytest.raises(DataError, match=pattern):
        rep_book(plan, frame)


def test_missing_target_incentive_is_a_config_error() -> None:
    plan = one_measure_plan(ACCEL)
    with pytest.raises(ConfigError, match="target_incentive is required"):
        rep_book(plan, pd.DataFrame({"rep_id": ["a"], "quota": ["1"]}))


def test_ytd_shortfall_is_held_or_recovered() -> None:
    amounts = np.array([[[200_000.0, 0.0, 0.0, 300_000.0]]])
    held = one_measure_plan(
        ACCEL, period="quarter", target_incentive=40_000, measure={"ytd": True}
    )
    recover = one_measure_plan(
        ACCEL,
        period="quarter",
        target_incentive=40_000,
        measure={"ytd": True, "negative_true_up": "recover"},
    )
    reps = book([400_000.0], 40_000)
    a = run(held, reps, {"revenue": amounts}).paid[0, 0]
    b = run(recover, reps, {"revenue": amounts}).paid[0, 0]
    # Q1 at 200 % of the quarter's quota: 10,000 x (1 + 1.5 + 0.5) = 30,000.
    assert a[0] == b[0] == pytest.approx(30_000)
    assert a.min() >= 0 and b[1] < 0
    assert a.sum() == pytest.approx(b.sum())  # the year ends at the same total


def quarterly_plan_with_everything():  # type: ignore[no-untyped-def]
    return parse_plan(
        {
            "period": "quarter",
            "target_incentive": 40_000,
            "measures": [
                {"name": "revenue", "curve": ACCEL, "ytd": True, "cap_share": 2.0},
                {
                    "name": "logos",
                    "weight": 0.3,
                    "credit": "deals",
                    "quota": 8,
                    "curve": {"points": [[0, 0], [1, 1], [2, 3]]},
                    "gates": [{"measure": "revenue", "min_attainment": 0.5}],
                },
            ],
            "gates": [{"measure": "logos", "min_attainment": 0.25}],
            "draw": {"amount": 3_000},
        }
    )


def random_credited(seed: int, n: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "revenue": rng.uniform(0, 250_000, (n, 3, 4)),
        "logos": rng.integers(0, 5, (n, 3, 4)).astype(float),
    }


def test_reused_buffers_give_the_same_payouts_as_a_fresh_engine() -> None:
    plan = quarterly_plan_with_everything()
    reps = RepBook(
        ("a", "b", "c"),
        np.array([[400_000.0, 8], [600_000.0, 8], [800_000.0, 8]]),
        np.full(3, 40_000.0),
        (None,) * 3,
    )
    engine = PayoutEngine(plan, reps)
    kept = engine.evaluate(random_credited(0))
    kept_paid = kept.paid.copy()
    for seed in (1, 2, 3):
        credited = random_credited(seed)
        before = {k: v.copy() for k, v in credited.items()}
        out = engine.evaluate(credited)
        fresh = PayoutEngine(plan, reps).evaluate(credited)
        assert np.array_equal(out.paid, fresh.paid)
        assert np.array_equal(out.cap_hit, fresh.cap_hit)
        assert all(np.array_equal(credited[k], before[k]) for k in credited)
        engine.release(out)
    assert np.array_equal(kept.paid, kept_paid)  # never released: untouched


def test_outputs_are_period_major_views() -> None:
    plan = quarterly_plan_with_everything()
    reps = RepBook(("a", "b", "c"), np.full((3, 2), 8.0), np.full(3, 1.0), (None,) * 3)
    out = PayoutEngine(plan, reps).evaluate(random_credited(4))
    assert out.paid.shape == (7, 3, 4)
    assert period_major(out.paid).base is out.paid.base  # no copy
    assert np.array_equal(period_last(period_major(out.paid)), out.paid)
    assert np.array_equal(sum_periods(out.paid), out.paid.sum(axis=-1))


@pytest.mark.parametrize("draw", [None, {"amount": 5_000.0}])
def test_settle_posts_adjustments_before_the_draw(draw) -> None:  # type: ignore[no-untyped-def]
    extra = {} if draw is None else {"draw": draw}
    plan = one_measure_plan(ACCEL, period="quarter", target_incentive=40_000, **extra)
    reps = book([400_000.0] * 3, 40_000)
    engine = PayoutEngine(plan, reps)
    credited = np.random.default_rng(1).uniform(0, 200_000, (5, 3, 4))
    out = engine.evaluate({"revenue": credited})
    earned = out.earned.copy()
    settled = engine.settle(out, np.full((4, 5, 3), -700.0))
    for _ in range(6):  # whatever is free for reuse must not be in use
        engine.buffers.take((4, 5, 3)).fill(np.nan)
    assert np.allclose(settled.earned, earned - 700)
    assert np.allclose(settled.paid, apply_draw(earned - 700, plan)[0])


def test_attainment_input_prices_like_credited_input_with_ytd_and_late_starts() -> None:
    plan = quarterly_plan_with_everything()
    active = np.ones((3, 4))
    active[1, :2] = 0.0  # starts in Q3: nothing to date before
    active[2, 0] = 0.5
    reps = RepBook(
        ("a", "b", "c"),
        np.array([[400_000.0, 8], [600_000.0, 8], [800_000.0, 8]]),
        np.full(3, 40_000.0),
        (None,) * 3,
        active=active,
    )
    engine = PayoutEngine(plan, reps)
    rng = np.random.default_rng(3)
    att = {
        "revenue": rng.uniform(0, 2, (6, 3, 4)),
        "logos": rng.uniform(0, 2, (6, 3, 4)),
    }
    quotas = engine.period_quotas()
    credited = {k: v * quotas[None, :, i, :] for i, (k, v) in enumerate(att.items())}
    fresh = PayoutEngine(plan, reps)
    assert np.allclose(
        engine.evaluate_attainment(att).paid, fresh.evaluate(credited).paid
    )


def test_rep_book_keeps_target_incentive_and_draw_balance_as_written() -> None:
    plan = parse_plan(
        {
            "target_incentive": 40_000,
            "draw": {"amount": 10, "recoverable": True, "carry_forward": True},
            "measures": [{"name": "revenue", "curve": {"points": [[0, 0], [1, 1]]}}],
        }
    )
    text = pd.DataFrame(
        {
            "rep_id": ["A", "B"],
            "quota": ["10", "10"],
            "target_incentive": ["987654321098765.43", ""],  # blank: the plan's
            "draw_balance": ["", "0.10"],
        }
    )
    book = rep_book(plan, text)
    assert [book.incentive_of(r) for r in (0, 1)] == [
        Decimal("987654321098765.43"),
        Decimal(40_000),
    ]
    assert [book.opening_of(r) for r in (0, 1)] == [0, Decimal("0.10")]
    numbers = text.assign(target_incentive=[2.5, np.nan], draw_balance=[0.0, 0.1])
    book = rep_book(plan, numbers)  # no text (Parquet): the floats' decimals
    assert book.incentive_of(0) == Decimal("2.5")
    assert book.opening_of(1) == Decimal("0.1")


def test_quotas_are_kept_exactly_as_written_for_the_reference() -> None:
    plan = parse_plan(
        {
            "target_incentive": 1,
            "measures": [
                {"name": "revenue", "curve": {"points": [[0, 0], [1, 1]]}},
                {
                    "name": "logos",
                    "credit": "deals",
                    "quota": "12.5",
                    "curve": {"points": [[0, 0], [1, 1]]},
                },
            ],
        }
    )
    frame = pd.DataFrame({"rep_id": ["a", "b"], "quota": ["98765432109876.54", "3"]})
    rb = rep_book(plan, frame)
    assert rb.quota_of(0, 0) == Decimal("98765432109876.54")  # a float: ...876.55
    assert rb.quota_of(1, 0) == 3 and rb.quota_of(1, 1) == Decimal("12.5")
    assert rb.quotas[0, 0] == 98765432109876.54  # the engine's float
    assert book([7.25]).quota_of(0, 0) == Decimal("7.25")  # built from floats


def test_target_incentive_from_the_plan_stays_exact() -> None:
    # Through a float, 98765432109876.54 becomes 98765432109876.55; blank
    # target_incentive cells take the plan's value as written too.
    plan = parse_plan(
        {
            "target_incentive": "98765432109876.54",
            "measures": [{"name": "revenue", "curve": {"points": [[0, 0], [1, 1]]}}],
        }
    )
    plain = pd.DataFrame({"rep_id": ["a"], "quota": ["1"]})
    assert rep_book(plan, plain).incentive_of(0) == Decimal("98765432109876.54")
    mixed = pd.DataFrame(
        {"rep_id": ["a", "b"], "quota": ["1", "1"], "target_incentive": ["", "5.05"]}
    )
    rb = rep_book(plan, mixed)
    assert [rb.incentive_of(0), rb.incentive_of(1)] == [
        Decimal("98765432109876.54"),
        Decimal("5.05"),
    ]
