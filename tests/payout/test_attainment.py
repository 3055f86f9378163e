import numpy as np
import pytest

from spmopt.payout.attainment import LognormalAttainment


def test_mean_and_correlation_match_parameters() -> None:
    model = LognormalAttainment(
        mean=0.9, sigma=0.4, market_correlation=0.3, period_correlation=0.5
    )
    att = model.draw(np.random.default_rng(3), 20_000, 6, 4)
    assert att.shape == (20_000, 6, 4)
    se = att.std() / np.sqrt(att.size / 10)  # generous: draws are correlated
    assert att.mean() == pytest.approx(0.9, abs=4 * se)
    logs = np.log(att)
    assert logs.std() == pytest.approx(0.4, rel=0.03)
    between_reps = np.corrcoef(logs[:, 0, 0], logs[:, 1, 0])[0, 1]
    assert between_reps == pytest.approx(0.3, abs=0.03)
    across_periods = np.corrcoef(logs[:, 0, 0], logs[:, 0, 1])[0, 1]
    assert across_periods == pytest.approx(0.7 * 0.5, abs=0.03)


def test_same_generator_state_gives_same_draws() -> None:
    model = LognormalAttainment()
    a = model.draw(np.random.default_rng(5), 10, 3, 2)
    b = model.draw(np.random.default_rng(5), 10, 3, 2)
    c = model.draw(np.random.default_rng(6), 10, 3, 2)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
