"""Stretch mode and the closed-form allocation it searches with."""

import numpy as np
import pytest
from scipy import stats

from spmopt.errors import InfeasibleError
from spmopt.quota.allocation import QuotaAllocator
from spmopt.quota.attainment import closed_form_p_attain
from spmopt.quota.stretch import fill_quotas, implied_target


@pytest.mark.parametrize("seed", range(12))
def test_closed_form_fill_matches_the_lp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    potential = np.round(rng.lognormal(10, 0.7, n), 2)
    history = rng.permutation(potential) * (rng.uniform(size=n) > 0.2)
    target = round(potential.sum() * rng.uniform(0.55, 1.35), 2)
    allocator = QuotaAllocator.from_potential(
        potential, target, 0.5, 1.4, reference=history
    )
    result = allocator.solve()
    shares = history / history.sum() if history.sum() > 0 else np.full(n, 1 / n)
    filled = fill_quotas(shares, allocator.target, allocator.floor, allocator.cap)
    assert filled.sum() == pytest.approx(allocator.target, abs=1e-6)
    assert np.abs(filled - result.quota_units).max() < 1.0


def test_fill_spreads_in_proportion_to_reference() -> None:
    filled = fill_quotas([0.25, 0.25, 0.5], 100, [40, 0, 0], [100, 100, 100])
    np.testing.assert_allclose(filled, [40, 20, 40], atol=1e-4)


def _exact_share(quota_units: np.ndarray, mean: float, cv: float) -> float:
    p = closed_form_p_attain(quota_units, np.full(quota_units.size, mean), cv)
    return float(p.mean())


def test_implied_target_matches_normal_closed_form() -> None:
    n, mean, cv, goal = 10, 1_000_000.0, 0.2, 0.6
    floor, cap = np.zeros(n, int), np.full(n, 10**9)
    target, share = implied_target(
        np.full(n, 0.1), floor, cap, goal, lambda q: _exact_share(q, mean, cv)
    )
    expected = n * mean * (1 + cv * stats.norm.ppf(1 - goal))
    assert target == pytest.approx(expected, abs=n)
    assert share >= goal
    assert _exact_share(np.full(n, (target + 1) / n), mean, cv) < goal + 1e-6


def test_unreachable_goal_names_the_floor() -> None:
    floor, cap = np.full(2, 900), np.full(2, 2000)
    with pytest.raises(InfeasibleError, match=r"stretch\.share_attaining 0\.9"):
        implied_target(
            [0.5, 0.5], floor, cap, 0.9, lambda q: _exact_share(q, 1000.0, 0.1)
        )


def test_caps_limit_the_implied_target() -> None:
    floor, cap = np.zeros(2, int), np.full(2, 500)
    target, _ = implied_target(
        [0.5, 0.5], floor, cap, 0.5, lambda q: _exact_share(q, 1000.0, 0.1)
    )
    assert target == 1000
