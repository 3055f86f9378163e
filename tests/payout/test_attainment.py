from pathlib import Path

import numpy as np
import pytest

from spmopt.errors import DataError
from spmopt.payout.attainment import (
    DealAttainment,
    HistoryAttainment,
    LognormalAttainment,
)

from .helpers import book, one_measure_plan


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


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_history_by_period_keeps_the_period_shared_level(tmp_path: Path) -> None:
    rows = "rep_id,period,attainment\n" + "".join(
        f"r{i},{p},{level}\n"
        for p, level in (("q1", 0.5), ("q2", 1.5))
        for i in range(4)
    )
    model = HistoryAttainment(history=write(tmp_path, "h.csv", rows))
    att = model.draw(np.random.default_rng(0), 400, 5, 4)
    assert set(np.unique(att)) == {0.5, 1.5}
    assert (att == att[:, :1, :]).all()  # every rep sees the drawn period
    assert model.mean == pytest.approx(1.0)
    pooled = model.model_copy(update={"resample": "pooled"})
    mixed = pooled.draw(np.random.default_rng(0), 400, 5, 4)
    assert not (mixed == mixed[:, :1, :]).all()
    assert mixed.mean() == pytest.approx(1.0, abs=0.05)


def test_history_rejects_negative_attainment(tmp_path: Path) -> None:
    model = HistoryAttainment(
        history=write(tmp_path, "h.csv", "rep_id,period,attainment\na,q1,-1\n")
    )
    with pytest.raises(DataError, match=r"attainment.*>= 0"):
        model.prepare(None, None)


PIPE = "rep_id,amount,win_probability,period\n"


def deals_model(tmp_path: Path, rows: str, **kw: object) -> DealAttainment:
    return DealAttainment(pipeline=write(tmp_path, "p.csv", PIPE + rows), **kw)


def test_deals_certain_outcomes_give_exact_attainment(tmp_path: Path) -> None:
    plan = one_measure_plan({"tiers": [{"from": 0, "rate": 1}]}, period="quarter")
    reps = book([400.0, 800.0], 1.0)
    model = deals_model(tmp_path, "R0,50,1,1\nR0,30,0,1\nR1,100,1,4\nR1,100,1,4\n")
    model.prepare(plan, reps)
    att = model.draw(np.random.default_rng(0), 3, 2, 4)
    assert np.allclose(att[:, 0, 0], 0.5) and np.allclose(att[:, 1, 3], 1.0)
    assert att.sum() == pytest.approx(3 * 1.5)


def test_deals_win_at_their_probability(tmp_path: Path) -> None:
    plan = one_measure_plan({"tiers": [{"from": 0, "rate": 1}]})
    model = deals_model(tmp_path, "R0,100,0.3,1\n" * 10)
    model.prepare(plan, book([1_000.0], 1.0))
    att = model.draw(np.random.default_rng(1), 4_000, 1, 1)
    assert att.mean() == pytest.approx(0.3, abs=0.01)
    assert model.mean == pytest.approx(0.3)
    shifted = deals_model(tmp_path, "R0,100,0.3,1\n" * 10, market_sigma=1.5)
    shifted.prepare(plan, book([1_000.0], 1.0))
    wide = shifted.draw(np.random.default_rng(1), 4_000, 1, 1)
    assert wide.std() > att.std()  # a shared shift correlates the deals


@pytest.mark.parametrize(
    ("rows", "pattern"),
    [
        ("ZZ,10,0.5,1\n", "rep_id 'ZZ' in data row 1 is not in the quotas table"),
        ("R0,10,1.5,1\n", "probability in \\[0, 1\\]"),
        ("R0,10,0.5,9\n", "period 1..4"),
        ("R0,-1,0.5,1\n", ">= 0"),
        (
            "R0,10,0.5,1\nR0,1000000000000000.01,0.5,1\n",
            "pipeline: column 'amount' must be at most 1,000,000,000,000,000 in "
            "absolute value, got 1000000000000000.01 in data row 2",
        ),
    ],
)
def test_deals_bad_pipeline(tmp_path: Path, rows: str, pattern: str) -> None:
    plan = one_measure_plan({"tiers": [{"from": 0, "rate": 1}]}, period="quarter")
    with pytest.raises(DataError, match=pattern):
        deals_model(tmp_path, rows).prepare(plan, book([100.0], 1.0))


def test_draws_are_period_major_and_equal_with_reused_buffers() -> None:
    from spmopt.payout.engine import Buffers

    model = LognormalAttainment(period_correlation=0.4, market_correlation=0.2)
    plain = model.draw(np.random.default_rng(7), 9, 5, 4)
    buffers = Buffers()
    buffers.give(np.full((4, 9, 5), np.nan))  # stale values must be overwritten
    reused = model.draw(np.random.default_rng(7), 9, 5, 4, buffers=buffers)
    assert np.array_equal(plain, reused)
    assert np.moveaxis(plain, -1, 0).flags.c_contiguous
    # Antithetic pairs: scenario 5 + i mirrors scenario i around mu.
    logs = np.log(plain) - model.mu
    assert np.allclose(logs[5:], -logs[:4])


@pytest.mark.parametrize("lam", [0.0, 0.3, 2.5, 12.0, 45.0])
def test_poisson_draws_follow_the_poisson_distribution(lam: float) -> None:
    from math import exp, factorial

    from spmopt.payout.attainment import poisson_draws

    n = 200_000
    x = poisson_draws(np.random.default_rng(4), np.full((2, n // 2), lam))
    assert x.shape == (2, n // 2) and (x == np.round(x)).all()
    assert x.mean() == pytest.approx(lam, abs=5 * np.sqrt(max(lam, 1e-9) / n))
    observed = np.bincount(x.astype(int).ravel(), minlength=200)[:200] / n
    for k in range(int(lam) + 4):  # the pmf near and below the mean
        pmf = exp(-lam) * lam**k / factorial(k)
        assert observed[k] == pytest.approx(pmf, abs=5 * np.sqrt(pmf / n) + 1e-12)


def test_poisson_draws_mix_small_and_large_means() -> None:
    from spmopt.payout.attainment import poisson_draws

    lam = np.tile([0.5, 3.0, 60.0], 50_000)
    x = poisson_draws(np.random.default_rng(5), lam)
    for value in (0.5, 3.0, 60.0):
        part = x[lam == value]
        assert part.mean() == pytest.approx(value, rel=0.03)
        assert part.var() == pytest.approx(value, rel=0.05)
