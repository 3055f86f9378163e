"""Monte-Carlo attainment against closed forms."""

import numpy as np
import pytest

from spmopt.quota.attainment import (
    OpenDeals,
    bookings_from_quantiles,
    closed_form_p_attain,
    simulate_attainment,
)

N = 40_000


def _tolerance(p: np.ndarray, n: int = N) -> np.ndarray:
    return 4.5 * np.sqrt(p * (1 - p) / n) + 1e-9


@pytest.mark.parametrize("distribution", ["normal", "lognormal"])
def test_matches_closed_form_within_mc_error(distribution: str) -> None:
    mean = np.array([1.0e6, 2.0e6, 5.0e5, 8.0e5])
    quota = np.array([0.9e6, 2.2e6, 5.0e5, 4.0e5])
    sim = simulate_attainment(
        quota, mean, cv=0.25, distribution=distribution, n_scenarios=N, seed=3
    )
    exact = closed_form_p_attain(quota, mean, 0.25, distribution)
    assert np.all(np.abs(sim.p_attain - exact) <= _tolerance(exact))


def test_normal_closed_form_values() -> None:
    # quota one standard deviation above the mean: P = 1 - Phi(1) = 0.1587
    p = closed_form_p_attain([1.25], [1.0], cv=0.25, distribution="normal")
    assert p[0] == pytest.approx(0.158655, abs=1e-6)


def test_quota_at_mean_of_normal_is_a_coin_flip() -> None:
    p = closed_form_p_attain([100.0], [100.0], cv=0.3, distribution="normal")
    assert p[0] == pytest.approx(0.5)


def test_quantile_draws_hit_the_given_percentiles() -> None:
    z = np.random.default_rng(0).standard_normal((200_000, 1))
    draws = bookings_from_quantiles(
        z, np.array([60.0]), np.array([100.0]), np.array([180.0])
    )
    got = np.percentile(draws[:, 0], [10, 50, 90])
    np.testing.assert_allclose(got, [60.0, 100.0, 180.0], rtol=0.01)


def test_quantile_mode_probability_at_p10_is_ninety_percent() -> None:
    q = (np.array([50.0, 80.0]), np.array([100.0, 100.0]), np.array([150.0, 130.0]))
    sim = simulate_attainment(q[0], quantiles=q, n_scenarios=N, seed=1)
    assert np.all(np.abs(sim.p_attain - 0.9) <= _tolerance(np.array([0.9])))


def test_same_seed_same_result_and_probabilities_in_unit_interval() -> None:
    quota = np.linspace(1, 3, 7)
    a = simulate_attainment(quota, np.full(7, 2.0), n_scenarios=500, seed=9)
    b = simulate_attainment(quota, np.full(7, 2.0), n_scenarios=500, seed=9)
    np.testing.assert_array_equal(a.p_attain, b.p_attain)
    assert np.all((a.p_attain >= 0) & (a.p_attain <= 1))
    assert np.all(np.diff(a.p_attain) <= 0)  # higher quota, lower chance


def test_share_and_standard_error() -> None:
    sim = simulate_attainment(
        [1.0, 1.0],
        [1.0, 1.0],
        cv=0.2,
        distribution="normal",
        n_scenarios=10_000,
        seed=0,
    )
    assert sim.share_expected_to_attain == pytest.approx(0.5, abs=0.03)
    assert sim.standard_error == pytest.approx(0.005, abs=1e-4)


def test_open_deals_add_their_amount_with_their_win_probability() -> None:
    # No other bookings: rep 0 needs both deals (P = 0.5 * 0.4), rep 1 its one.
    deals = OpenDeals(
        rep=np.array([0, 0, 1]),
        amount=np.array([100.0, 50.0, 10.0]),
        p_win=np.array([0.5, 0.4, 0.3]),
    )
    sim = simulate_attainment(
        [120.0, 5.0], mean=[1e-12, 1e-12], cv=0.1, deals=deals, n_scenarios=N, seed=2
    )
    exact = np.array([0.2, 0.3])
    assert np.all(np.abs(sim.p_attain - exact) <= _tolerance(exact))
    assert deals.expected_value == pytest.approx(73.0)


def test_quantile_draws_with_zero_p10_keep_the_percentiles() -> None:
    z = np.random.default_rng(1).standard_normal((200_000, 1))
    draws = bookings_from_quantiles(
        z, np.array([0.0]), np.array([100.0]), np.array([250.0])
    )
    assert np.all(draws >= 0)
    got = np.percentile(draws[:, 0], [10, 50, 90])
    np.testing.assert_allclose(got, [0.0, 100.0, 250.0], rtol=0.01, atol=1.0)


def test_market_factor_keeps_each_rep_but_widens_the_share() -> None:
    n_reps, mean, cv = 50, np.full(50, 100.0), 0.3
    quota = np.full(n_reps, 100.0)
    alone = simulate_attainment(quota, mean, cv, "normal", n_scenarios=20_000, seed=4)
    linked = simulate_attainment(
        quota, mean, cv, "normal", n_scenarios=20_000, seed=4, market_correlation=0.5
    )
    exact = closed_form_p_attain(quota, mean, cv, "normal")
    assert np.all(np.abs(linked.p_attain - exact) <= _tolerance(exact, 20_000))
    independent_var = 0.25 / n_reps
    assert alone.share_by_scenario.var() == pytest.approx(independent_var, rel=0.1)
    assert linked.share_by_scenario.var() > 10 * independent_var
    low, _, high = linked.share_quantiles()
    assert low < 0.3 and high > 0.7


def test_reps_marked_never_attain_do_not_count_as_attaining() -> None:
    quota, mean = np.array([0.0, 100.0]), np.array([0.0, 100.0])
    plain = simulate_attainment(quota, mean, cv=0.3, n_scenarios=2000, seed=1)
    assert plain.p_attain[0] == 1.0  # bookings 0 >= quota 0
    sim = simulate_attainment(
        quota, mean, cv=0.3, n_scenarios=2000, seed=1, never_attain=[True, False]
    )
    assert sim.p_attain[0] == 0.0 and sim.p_attain[1] == plain.p_attain[1]
    assert sim.share_expected_to_attain == pytest.approx(sim.p_attain[1] / 2)
    assert (sim.share_by_scenario <= 0.5).all()


def _split_deal() -> OpenDeals:
    """One deal split 50/50 between reps 0 and 1, one deal of rep 1 alone."""
    return OpenDeals(
        rep=np.array([0, 1, 1]),
        amount=np.array([50.0, 50.0, 30.0]),
        p_win=np.array([0.5, 0.5, 0.4]),
        deal=np.array([0, 0, 1]),
    )


def test_a_split_deal_is_won_or_lost_for_both_reps_in_every_draw() -> None:
    draws = np.zeros((5000, 2))
    _split_deal().add_wins(draws, np.random.default_rng(7))
    from_split = draws[:, 0]  # rep 0 holds only its share of the split deal
    assert set(np.unique(from_split)) == {0.0, 50.0}
    rep1_split = np.where(draws[:, 1] >= 50.0, 50.0, 0.0)
    np.testing.assert_array_equal(from_split, rep1_split)
    assert np.mean(from_split > 0) == pytest.approx(0.5, abs=0.03)
    # Drawn per row (the old behaviour) the two shares would be independent
    # and their correlation about 0; drawn once per deal it is 1.
    assert np.corrcoef(from_split, rep1_split)[0, 1] == pytest.approx(1.0)


def test_split_deal_makes_the_reps_attain_together() -> None:
    # Each rep reaches quota 40 only through its share of the split deal:
    # both attain or neither does, never just one (share 0.5), which an
    # independent draw per rep would give in half the scenarios.
    deals = OpenDeals(
        rep=np.array([0, 1]),
        amount=np.array([50.0, 50.0]),
        p_win=np.array([0.5, 0.5]),
        deal=np.array([0, 0]),
    )
    sim = simulate_attainment(
        [40.0, 40.0], [1e-12, 1e-12], cv=0.1, deals=deals, n_scenarios=4000, seed=3
    )
    assert set(np.unique(sim.share_by_scenario)) == {0.0, 1.0}
    assert sim.p_attain[0] == sim.p_attain[1]
    assert abs(sim.p_attain[0] - 0.5) <= _tolerance(np.array([0.5]), 4000)[0]


def test_split_deal_draws_are_the_same_for_the_same_seed() -> None:
    a, b = np.zeros((100, 2)), np.zeros((100, 2))
    _split_deal().add_wins(a, np.random.default_rng(11))
    _split_deal().add_wins(b, np.random.default_rng(11))
    np.testing.assert_array_equal(a, b)
    assert _split_deal().n_deals == 2
    assert _split_deal().expected_value == pytest.approx(62.0)


def test_scenario_blocks_keep_deals_and_closed_forms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Blocks of 100 scenarios (3 deal rows each) change nothing in the law.
    monkeypatch.setattr("spmopt.quota.attainment._CHUNK_CELLS", 300)
    deals = _split_deal()
    sim = simulate_attainment(
        [45.0, 75.0], [1e-12, 1e-12], cv=0.1, deals=deals, n_scenarios=N, seed=5
    )
    exact = np.array([0.5, 0.5 * 0.4])  # rep 1 needs both deals
    assert np.all(np.abs(sim.p_attain - exact) <= _tolerance(exact))


def test_split_deal_correlates_the_reps_attainment() -> None:
    # Bookings of each rep: lognormal potential (mean 30, independent across
    # reps) plus its 50 share of one deal won half the time; quota 60. Drawn
    # per row, the reps' attaining would be independent (covariance about
    # 0); drawn once per deal both mostly attain together: P(both) is about
    # 0.5 * P(potential >= 10)^2, far above P(A) * P(B).
    deals = OpenDeals(
        rep=np.array([0, 1]),
        amount=np.array([50.0, 50.0]),
        p_win=np.array([0.5, 0.5]),
        deal=np.array([0, 0]),
    )
    sim = simulate_attainment(
        [60.0, 60.0], [30.0, 30.0], cv=0.3, deals=deals, n_scenarios=N, seed=8
    )
    both = float(np.mean(sim.share_by_scenario == 1.0))
    cov = both - sim.p_attain[0] * sim.p_attain[1]
    assert cov > 0.2  # about 0.5 - 0.25 = 0.25
    var = sim.p_attain * (1 - sim.p_attain)
    assert cov / np.sqrt(var[0] * var[1]) > 0.9  # correlation of the indicators
