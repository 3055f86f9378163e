"""Payout curves against the worked cases of the plan documentation."""

from decimal import Decimal

import numpy as np
import pytest

from spmopt.payout.curves import CurveArrays, exact_segments
from spmopt.payout.plan import Curve

from .helpers import tiers

STEP = [
    (100_000.0 * i, 100_000.0 * (i + 1), round(0.10 + 0.01 * i, 2)) for i in range(7)
]
EIGHT_TIERS = tiers(*STEP, (700_000.0, None, 0.17), basis="amount")


def pay(curve, x: float) -> Decimal:  # type: ignore[no-untyped-def]
    return exact_segments(curve).value(Decimal(str(x)))


@pytest.mark.parametrize(
    ("revenue", "expected"),
    [(300_000, "33000"), (300_001, "33000.13"), (800_000, "108000")],
)
def test_marginal_slices_ten_to_seventeen_percent(revenue: int, expected: str) -> None:
    assert pay(EIGHT_TIERS, revenue) == Decimal(expected)
    fast = CurveArrays.from_curve(EIGHT_TIERS)(np.array([revenue]))
    assert fast[0] == pytest.approx(float(expected), abs=1e-6)


def three_tiers(application: str):  # type: ignore[no-untyped-def]
    return tiers(
        (0, 50_000, 0.02),
        (50_000, 80_000, 0.025),
        (80_000, None, 0.03),
        basis="amount",
        application=application,
        edges="upper_inclusive",
    )


@pytest.mark.parametrize(
    ("revenue", "retroactive", "marginal"),
    [
        (50_001, "1250.025", "1000.025"),
        (90_000, "2700", "2050"),
        (50_000, "1000", "1000"),
    ],
)
def test_same_table_retroactive_and_marginal(
    revenue: int, retroactive: str, marginal: str
) -> None:
    assert pay(three_tiers("retroactive"), revenue) == Decimal(retroactive)
    assert pay(three_tiers("marginal"), revenue) == Decimal(marginal)
    fast = CurveArrays.from_curve(three_tiers("retroactive"))(np.array([revenue]))
    assert fast[0] == pytest.approx(float(retroactive))


def test_lower_inclusive_edge_moves_the_threshold_value_up() -> None:
    curve = three_tiers("retroactive").model_copy(update={"edges": "lower_inclusive"})
    assert pay(curve, 50_000) == Decimal("1250")


def test_mixed_retroactive_then_marginal_excess() -> None:
    """Quota 33,000: 5 % of all below 50 %, 10 % of all from 50 %, 20 % above 100 %."""
    curve = Curve.model_validate(
        {
            "application": "retroactive",
            "tiers": [
                {"from": 0, "to": 0.5, "rate": 0.05},
                {"from": 0.5, "to": 1.0, "rate": 0.10},
                {"from": 1.0, "rate": 0.20, "application": "marginal"},
            ],
        }
    )
    quota = Decimal(33_000)
    for amount, expected in [(16_499, "824.95"), (16_500, "1650"), (40_000, "4700")]:
        value = exact_segments(curve).value(Decimal(amount) / quota) * quota
        assert value.quantize(Decimal("0.01")) == Decimal(expected)


def test_per_credit_versus_running_total() -> None:
    curve = tiers(
        (0, 1_000, 0.01),
        (1_000, 3_000, 0.02),
        (3_000, 8_000, 0.03),
        (8_000, None, 0.05),
        basis="amount",
    )
    credits = [200, 300, 1_500, 1_200, 2_000, 4_500]
    assert sum(pay(curve, c) for c in credits) == Decimal(164)
    assert pay(curve, sum(credits)) == Decimal(285)


def test_deal_count_spif_tier_by_tier_and_retroactive() -> None:
    rows = ((0, 3, 250.0), (3, 6, 400.0), (6, None, 600.0))
    marginal = tiers(*rows, basis="deals", edges="upper_inclusive")
    retro = tiers(
        *rows, basis="deals", edges="upper_inclusive", application="retroactive"
    )
    assert pay(marginal, 8) == 3_150
    assert pay(retro, 8) == 4_800
    assert pay(retro, 3) == 750 and pay(retro, 6) == 2_400


def test_points_interpolate_and_stay_flat_or_extend() -> None:
    flat = Curve.model_validate({"points": [[0, 0], [1, 1], [2, 3]]})
    ext = flat.model_copy(update={"beyond_last_point": "extend"})
    x = np.array([0.5, 1.5, 3.0])
    assert CurveArrays.from_curve(flat)(x).tolist() == [0.5, 2.0, 3.0]
    assert CurveArrays.from_curve(ext)(x).tolist() == [0.5, 2.0, 5.0]
    assert np.allclose(
        CurveArrays.from_curve(flat)(x), np.interp(x, [0, 1, 2], [0, 1, 3])
    )


def test_vectorised_matches_exact_on_a_grid() -> None:
    curve = three_tiers("retroactive")
    x = np.linspace(0, 120_000, 1201)
    exact = [float(pay(curve, float(v))) for v in x]
    assert np.allclose(CurveArrays.from_curve(curve)(x), exact)
