import logging
import time
from typing import Any

import numpy as np
import pytest

from spmopt.errors import ConfigError
from spmopt.scale import plan_batches, run_monte_carlo
from spmopt.scale.montecarlo import merge_tree


def lognormal_costs(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
    """Total cost of a toy plan and per-rep payouts for three reps."""
    attainment = rng.lognormal(mean=0.0, sigma=0.3, size=(size, 3))
    payout = np.minimum(attainment, 2.0) * np.array([100.0, 120.0, 80.0])
    return {"cost": payout.sum(axis=1), "rep": payout}


def identical(a: Any, b: Any) -> None:
    for name in ("cost", "rep"):
        for q in (0.05, 0.1, 0.5, 0.9, 0.99):
            np.testing.assert_array_equal(a[name].quantile(q), b[name].quantile(q))
        np.testing.assert_array_equal(a[name].mean, b[name].mean)
        np.testing.assert_array_equal(a[name].std, b[name].std)


def test_batches_reproduce_a_plain_loop_over_the_streams() -> None:
    result = run_monte_carlo(lognormal_costs, 2500, seed=4, batch_size=1000)
    parts = [
        lognormal_costs(b.rng(), b.size)["cost"] for b in plan_batches(2500, 4, 1000)
    ]
    every = np.concatenate(parts)
    assert result["cost"].exact
    assert result["cost"].quantile(0.9) == np.quantile(every, 0.9)
    assert result["cost"].mean == pytest.approx(every.mean(), rel=1e-12)
    assert result["cost"].std == pytest.approx(every.std(ddof=1), rel=1e-9)
    assert result["rep"].mean.shape == (3,)


def test_mean_agrees_with_closed_form_within_standard_error() -> None:
    def normal(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        return {"x": rng.normal(5.0, 2.0, size)}

    result = run_monte_carlo(normal, 40_000, seed=0, batch_size=7000)
    assert abs(result["x"].mean - 5.0) < 4 * result["x"].standard_error
    assert result["x"].standard_error == pytest.approx(2.0 / 200, rel=0.05)
    assert result["x"].quantile(0.5) == pytest.approx(5.0, abs=0.05)


def test_histogram_quantiles_within_stated_error_of_exact() -> None:
    exact = run_monte_carlo(lognormal_costs, 20_000, seed=1, batch_size=3000)
    approx = run_monte_carlo(
        lognormal_costs, 20_000, seed=1, batch_size=3000, exact_budget_bytes=0
    )
    assert not approx["cost"].exact
    width = approx["cost"].summary.binned().width[0]
    for q in (0.1, 0.5, 0.9):
        error = approx["cost"].quantile_error(q)
        assert error == pytest.approx(width)
        assert abs(approx["cost"].quantile(q) - exact["cost"].quantile(q)) <= error
    assert approx["cost"].mean == exact["cost"].mean


def test_given_ranges_skip_the_pilot_and_keep_outliers() -> None:
    narrow = {"cost": (np.array([250.0]), np.array([350.0]))}
    result = run_monte_carlo(
        lognormal_costs,
        5000,
        seed=2,
        batch_size=1000,
        ranges=narrow,
        exact_budget_bytes=0,
    )
    hist = result["cost"].summary.binned()
    assert hist.low[0] == 250.0 and hist.total == 5000
    assert hist.counts[0, 0] > 0 and hist.counts[0, -1] > 0


def test_bad_outputs_are_reported() -> None:
    def short(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        return {"x": rng.random(max(size - 1, 1))}

    def nan(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        return {"x": np.full(size, np.nan)}

    with pytest.raises(ConfigError, match="'x' has 9 rows for a batch of 10"):
        run_monte_carlo(short, 20, seed=0, batch_size=10, ranges={"x": (0, 1)})
    with pytest.raises(ConfigError, match="NaN"):
        run_monte_carlo(nan, 20, seed=0, batch_size=10, ranges={"x": (0, 1)})


@pytest.mark.parametrize("budget", [64 * 2**20, 0])
def test_cluster_result_equals_in_process_for_one_and_two_workers(
    client_1: Any, client_2: Any, budget: int
) -> None:
    args: dict[str, Any] = dict(
        n_scenarios=30_000, seed=9, batch_size=2500, exact_budget_bytes=budget
    )
    local = run_monte_carlo(lognormal_costs, **args)
    one = run_monte_carlo(lognormal_costs, client=client_1, **args)
    two = run_monte_carlo(lognormal_costs, client=client_2, **args)
    assert (one.n_workers, two.n_workers) == (1, 2)
    identical(local, one)
    identical(local, two)


def test_cluster_task_errors_reach_the_caller(client_2: Any) -> None:
    def broken(rng: np.random.Generator, size: int) -> dict[str, np.ndarray]:
        if size < 10:
            raise RuntimeError("boom in the last batch")
        return {"x": rng.random(size)}

    with pytest.raises(RuntimeError, match="boom in the last batch"):
        run_monte_carlo(broken, 25, seed=0, batch_size=10, client=client_2)


def test_merge_tree_keeps_order_and_a_fixed_shape() -> None:
    def join(a: str, b: str) -> str:
        return f"({a}{b})"

    assert merge_tree(iter("abcde"), join) == "(((ab)(cd))e)"
    assert merge_tree(iter("ab"), join) == "(ab)"
    assert merge_tree(iter("a"), join) == "a"
    for n in range(1, 40):
        letters = "".join(chr(65 + i % 26) for i in range(n))
        assert (
            merge_tree(iter(letters), join).replace("(", "").replace(")", "") == letters
        )


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)  # not load notes (slow event loop)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_many_small_batches_leave_the_client_connected_and_log_nothing(
    client_2: Any,
) -> None:
    # Dropping the futures of a merge tree once its result is in used to
    # trip an assertion in the scheduler, which closed the client's
    # connection with tracebacks logged (register-client, CancelledError).
    handler = _Records()
    watched = [logging.getLogger(name) for name in ("distributed", "asyncio")]
    for lg in watched:
        lg.addHandler(handler)
    try:
        for seed in range(3):
            run_monte_carlo(
                lognormal_costs, 3000, seed=seed, batch_size=30, client=client_2
            )
        time.sleep(0.5)  # the scheduler handles the client's messages
        assert client_2.submit(sum, [1, 2], pure=False).result(timeout=30) == 3
    finally:
        for lg in watched:
            lg.removeHandler(handler)
    assert client_2.status == "running"
    assert [r.getMessage() for r in handler.records] == []
