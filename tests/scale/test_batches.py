import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spmopt.errors import ConfigError
from spmopt.scale import batch_seed_sequence, plan_batches


@given(st.integers(1, 5000), st.integers(1, 700))
def test_batches_cover_every_scenario_once(n: int, size: int) -> None:
    batches = plan_batches(n, seed=3, batch_size=size)
    assert sum(b.size for b in batches) == n
    assert [b.start for b in batches] == list(range(0, n, size))
    assert all(1 <= b.size <= size for b in batches)
    assert [b.index for b in batches] == list(range(len(batches)))


def test_batch_stream_is_child_of_seed_sequence() -> None:
    children = np.random.SeedSequence(11).spawn(4)
    for batch in plan_batches(40, seed=11, batch_size=10):
        expected = np.random.default_rng(children[batch.index]).random(5)
        np.testing.assert_array_equal(batch.rng().random(5), expected)


def test_stream_of_a_batch_does_not_depend_on_run_length() -> None:
    short = plan_batches(30, seed=5, batch_size=10)[2]
    long = plan_batches(10_000, seed=5, batch_size=10)[2]
    np.testing.assert_array_equal(short.rng().random(3), long.rng().random(3))


def test_streams_differ_between_batches_and_seeds() -> None:
    a = batch_seed_sequence(1, 0).generate_state(4)
    b = batch_seed_sequence(1, 1).generate_state(4)
    c = batch_seed_sequence(2, 0).generate_state(4)
    assert not np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize(
    ("n", "size", "seed", "field"),
    [(0, 10, 0, "n_scenarios"), (10, 0, 0, "batch_size"), (10, 5, -1, "seed")],
)
def test_bad_arguments_name_the_field(n: int, size: int, seed: int, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        plan_batches(n, seed=seed, batch_size=size)
