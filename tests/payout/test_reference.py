"""Reference calculator: worked cases, statements that add up, and the
vectorised engine checked against it on random plans (property tests)."""

from datetime import date, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spmopt.errors import DataError
from spmopt.payout.credits import read_credits
from spmopt.payout.engine import PayoutEngine, RepBook, rep_book
from spmopt.payout.plan import PlanConfig, parse_plan
from spmopt.payout.reference import CalcResult, ReferenceCalculator

# These tests build plans with any measure weights on purpose.
pytestmark = [
    pytest.mark.filterwarnings("ignore:plan .*measure weights sum to"),
    pytest.mark.filterwarnings("ignore:plan .*pays less for more"),
]

YEAR = date(2027, 1, 1)


def calc(plan: dict, reps: list[dict], credits: list[dict]) -> CalcResult:
    cfg = parse_plan({"year_start": "2027-01-01", **plan})
    book = rep_book(cfg, pd.DataFrame(reps).astype(str))
    frame = pd.DataFrame(credits).astype(str).replace("nan", "")
    parsed = read_credits(frame, cfg, book.rep_ids)
    return ReferenceCalculator(cfg, book).compute(parsed)


def paid(result: CalcResult, rep: str) -> list[Decimal]:
    return result.reps[rep].paid


def amount_plan(tiers: list[dict], **curve: object) -> dict:
    curve = {"basis": "amount", "tiers": tiers, **curve}
    return {"measures": [{"name": "revenue", "rate_of": "credit", "curve": curve}]}


STEPS = [
    {"from": 100_000 * i, "to": 100_000 * (i + 1), "rate": (10 + i) / 100}
    for i in range(7)
] + [{"from": 700_000, "rate": 0.17}]
STEPS[-2]["to"] = 700_000


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([300_000], "33000.00"),
        ([300_001], "33000.13"),
        ([500_000, 300_000], "108000.00"),
    ],
)
def test_marginal_slices_from_credits(amounts: list[int], expected: str) -> None:
    credits = [
        {"credit_id": f"D{i}", "rep_id": "A", "date": "2027-03-01", "amount": a}
        for i, a in enumerate(amounts)
    ]
    result = calc(amount_plan(STEPS), [{"rep_id": "A", "quota": 1}], credits)
    assert paid(result, "A") == [Decimal(expected)]
    lines = [x for x in result.lines if x.kind == "slice"]
    assert sum(x.amount for x in lines) == Decimal(expected)


def test_per_credit_tiers_versus_running_total() -> None:
    tiers = [
        {"from": 0, "to": 1_000, "rate": 0.01},
        {"from": 1_000, "to": 3_000, "rate": 0.02},
        {"from": 3_000, "to": 8_000, "rate": 0.03},
        {"from": 8_000, "rate": 0.05},
    ]
    credits = [
        {"credit_id": f"T{i}", "rep_id": "A", "date": f"2027-02-0{i + 1}", "amount": a}
        for i, a in enumerate([200, 300, 1_500, 1_200, 2_000, 4_500])
    ]
    reps = [{"rep_id": "A", "quota": 1}]
    each = amount_plan(tiers)
    each["measures"][0]["tiers_apply_to"] = "each_credit"
    assert paid(calc(each, reps, credits), "A") == [Decimal(164)]
    assert paid(calc(amount_plan(tiers), reps, credits), "A") == [Decimal(285)]


@pytest.mark.parametrize(
    ("application", "expected"), [("marginal", 3_150), ("retroactive", 4_800)]
)
def test_deal_count_spif(application: str, expected: int) -> None:
    spif = {
        "name": "logos",
        "curve": {
            "basis": "deals",
            "edges": "upper_inclusive",
            "application": application,
            "tiers": [
                {"from": 0, "to": 3, "rate": 250},
                {"from": 3, "to": 6, "rate": 400},
                {"from": 6, "rate": 600},
            ],
        },
    }
    plan = amount_plan([{"from": 0, "rate": 0}]) | {"spifs": [spif]}
    credits = [
        {
            "credit_id": f"D{i}",
            "rep_id": "A",
            "date": f"2027-04-{i + 1:02d}",
            "amount": 10,
        }
        for i in range(8)
    ]
    result = calc(plan, [{"rep_id": "A", "quota": 1}], credits)
    assert paid(result, "A") == [Decimal(expected)]


def test_split_credit_keeps_the_total() -> None:
    plan = amount_plan([{"from": 0, "rate": 1.0}])
    reps = [{"rep_id": r, "quota": 1} for r in "ABC"]
    two = [
        {
            "credit_id": "S",
            "rep_id": r,
            "date": "2027-01-05",
            "amount": 1.25,
            "split": 0.5,
        }
        for r in "AB"
    ]
    result = calc(plan, reps, two)
    assert (paid(result, "A"), paid(result, "B")) == (
        [Decimal("0.63")],
        [Decimal("0.62")],
    )
    third = "0.333333333333"
    three = [
        {
            "credit_id": "S",
            "rep_id": r,
            "date": "2027-01-05",
            "amount": 1.00,
            "split": s,
        }
        for r, s in zip("ABC", [third, third, "0.333333333334"], strict=True)
    ]
    result = calc(plan, reps, three)
    assert [paid(result, r)[0] for r in "ABC"] == [
        Decimal("0.34"),
        Decimal("0.33"),
        Decimal("0.33"),
    ]


@pytest.mark.parametrize(
    ("mode", "cancel", "expected"),
    [
        ("full", "2027-05-15", "-1200"),
        ("fixed_share", "2027-05-15", "-600"),
        ("prorated", "2027-05-15", "-800"),
        ("full", "2027-08-15", "0"),
        ("prorated", "2027-08-15", "0"),
    ],
)
def test_clawbacks_posted_in_the_cancellation_month(
    mode: str, cancel: str, expected: str
) -> None:
    plan = amount_plan([{"from": 0, "rate": 0.10}]) | {
        "period": "month",
        "clawback": {"mode": mode, "share": 0.5, "window_months": 6},
    }
    credits = [
        {
            "credit_id": "C1",
            "rep_id": "A",
            "date": "2027-01-15",
            "amount": 12_000,
            "cancel_date": cancel,
            "contract_months": 12,
        }
    ]
    result = calc(plan, [{"rep_id": "A", "quota": 1}], credits)
    rep = result.reps["A"]
    assert rep.paid[0] == Decimal(1_200)
    month = int(cancel[5:7]) - 1
    assert rep.clawback[month] == Decimal(expected)
    assert sum(rep.clawback) == Decimal(expected)


def test_every_period_statement_adds_up_to_paid() -> None:
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2] / "configs" / "payout"
    from spmopt.payout.calc import compute, load_calc_inputs

    inputs = load_calc_inputs(
        repo / "plan_quarterly.yaml",
        repo / "quotas_small.csv",
        repo / "credits_small.csv",
    )
    result = compute(inputs)
    for rep_id, rep in result.reps.items():
        for p in range(4):
            total = sum(x.amount for x in rep.lines if x.period == p)
            assert total == rep.paid[p], (rep_id, p)
    assert result.reps["R02"].clawback[2] < 0


@pytest.mark.parametrize(
    ("credit", "pattern"),
    [
        ({"rep_id": "ZZ"}, "rep_id 'ZZ' in data row 1 is not in the quotas table"),
        ({"date": "2028-02-01"}, "outside the plan year"),
        ({"amount": "-3"}, "must be a number >= 0"),
        ({"measure": "logos"}, "not a plan measure"),
        ({"split": "0.4"}, "sum to 0.4"),
    ],
)
def test_bad_credits_name_the_row(credit: dict, pattern: str) -> None:
    row = {
        "credit_id": "D1",
        "rep_id": "A",
        "date": "2027-01-02",
        "amount": "5",
    } | credit
    with pytest.raises(DataError, match=pattern):
        calc(
            amount_plan([{"from": 0, "rate": 1}]), [{"rep_id": "A", "quota": 1}], [row]
        )


# -- property tests: vectorised engine == reference calculator ------------------


@st.composite
def curves(draw, basis: str = "attainment") -> dict:  # type: ignore[no-untyped-def]
    if draw(st.booleans()):
        xs = sorted(set(draw(st.lists(st.integers(1, 30), min_size=1, max_size=3))))
        pts = [[0, 0]] + [[x / 10, draw(st.integers(0, 40)) / 10] for x in xs]
        return {
            "basis": basis,
            "points": pts,
            "beyond_last_point": draw(st.sampled_from(["flat", "extend"])),
        }
    edges = sorted(set(draw(st.lists(st.integers(1, 30), max_size=3))))
    starts = [0] + [e / 10 for e in edges]
    tiers = []
    for i, lo in enumerate(starts):
        tier = {"from": lo, "rate": draw(st.integers(0, 40)) / 10}
        if i + 1 < len(starts):
            tier["to"] = starts[i + 1]
        if draw(st.booleans()):
            tier["application"] = draw(st.sampled_from(["marginal", "retroactive"]))
        tiers.append(tier)
    return {
        "basis": basis,
        "tiers": tiers,
        "application": draw(st.sampled_from(["marginal", "retroactive"])),
        "edges": draw(st.sampled_from(["lower_inclusive", "upper_inclusive"])),
    }


@st.composite
def measures(draw, name: str) -> dict:  # type: ignore[no-untyped-def]
    measure = {
        "name": name,
        "curve": draw(curves()),
        "ytd": draw(st.booleans()),
        "weight": draw(st.sampled_from([0.25, 0.5, 1.0])),
        "rate_of": draw(st.sampled_from(["target_incentive", "credit"])),
        "negative_true_up": draw(st.sampled_from(["hold", "recover"])),
    }
    if draw(st.booleans()):
        measure["cap_share"] = draw(st.sampled_from([0.5, 1.0, 2.0]))
    if draw(st.booleans()):
        measure["floor_amount"] = draw(st.sampled_from([0, 50, 500]))
    if draw(st.booleans()):
        measure["gates"] = [{"min_attainment": draw(st.integers(0, 12)) / 10}]
    return measure


@st.composite
def plans(draw) -> dict:  # type: ignore[no-untyped-def]
    n = draw(st.integers(1, 2))
    plan = {
        "period": draw(st.sampled_from(["month", "quarter", "year"])),
        "target_incentive": draw(st.sampled_from([1_000, 12_000])),
        "measures": [draw(measures(f"m{i}")) for i in range(n)],
    }
    if draw(st.booleans()):
        plan["cap_amount"] = draw(st.sampled_from([500, 5_000]))
    if draw(st.booleans()):
        plan["draw"] = {
            "amount": draw(st.sampled_from([100, 1_000])),
            "recoverable": draw(st.booleans()),
        }
    if draw(st.booleans()):
        spif = draw(curves("deals"))
        if "points" in spif:
            spif = {"basis": "deals", "tiers": [{"from": 0, "rate": 50}]}
        plan["spifs"] = [{"name": "s", "curve": spif}]
    return plan


@st.composite
def credit_rows(draw, n_measures: int) -> list[dict]:  # type: ignore[no-untyped-def]
    rows = draw(
        st.lists(
            st.tuples(
                st.integers(0, 2),
                st.integers(0, n_measures - 1),
                st.integers(0, 364),
                st.integers(0, 4_000),
            ),
            max_size=25,
        )
    )
    return [
        {
            "credit_id": f"D{i}",
            "rep_id": f"R{r}",
            "measure": f"m{m}",
            "date": (YEAR + timedelta(days=d)).isoformat(),
            "amount": a,
        }
        for i, (r, m, d, a) in enumerate(rows)
    ]


def engine_paid(
    cfg: PlanConfig, book: RepBook, result: CalcResult, credits
) -> np.ndarray:  # type: ignore[no-untyped-def]
    n_p = cfg.n_periods
    credited = {m.name: np.zeros((1, book.n_reps, n_p)) for m in cfg.measures}
    if cfg.spifs:
        credited["spif:s"] = np.zeros((1, book.n_reps, n_p))
    for c in credits:
        p = result.calendar.period_of(c.date)
        r = book.rep_ids.index(c.rep_id)
        credited[c.measure][0, r, p] += float(c.amount)
        if cfg.spifs and c.measure == cfg.revenue:
            credited["spif:s"][0, r, p] += 1.0
    return PayoutEngine(cfg, book).evaluate(credited).paid[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), data=st.data())
def test_engine_matches_reference_on_random_plans(plan: dict, data) -> None:  # type: ignore[no-untyped-def]
    cfg = parse_plan({"year_start": "2027-01-01", **plan})
    reps = pd.DataFrame(
        {
            "rep_id": ["R0", "R1", "R2"],
            "quota": [str(data.draw(st.integers(1, 50)) * 1_200) for _ in range(3)],
        }
    )
    book = rep_book(cfg, reps)
    frame = pd.DataFrame(
        data.draw(credit_rows(len(cfg.measures))),
        columns=["credit_id", "rep_id", "measure", "date", "amount"],
    )
    frame = frame.astype(str)
    if frame.empty:
        frame.loc[0] = ["D0", "R0", "m0", "2027-01-01", "0"]
    credits = read_credits(frame, cfg, book.rep_ids)
    result = ReferenceCalculator(cfg, book).compute(credits)
    fast = engine_paid(cfg, book, result, credits)
    exact = np.array(
        [[float(v) for v in result.reps[r].paid_exact] for r in book.rep_ids]
    )
    assert np.allclose(fast, exact, rtol=1e-9, atol=1e-6)
    rounded = np.array([[float(v) for v in result.reps[r].paid] for r in book.rep_ids])
    assert abs(rounded.sum() - exact.sum()) <= 0.005 * 3 + 1e-9
    for rep in result.reps.values():  # every statement adds up to the payment
        for p in range(cfg.n_periods):
            lines = sum((x.amount for x in rep.lines if x.period == p), Decimal(0))
            assert abs(lines - rep.paid[p]) < Decimal("1e-20")  # 28-digit decimals


def test_a_repeated_credit_without_split_shares_is_named_as_such() -> None:
    row = {"credit_id": "D1", "rep_id": "A", "date": "2027-01-02", "amount": "5"}
    with pytest.raises(DataError) as caught:
        calc(
            amount_plan([{"from": 0, "rate": 1}]),
            [{"rep_id": "A", "quota": 1}],
            [row, dict(row)],
        )
    assert str(caught.value).endswith(
        "credit_id 'D1' appears 2 times (data rows 1, 2), each with the whole "
        "credit (no split share): give a credit once, or one row per rep with "
        "split shares that sum to 1"
    )
