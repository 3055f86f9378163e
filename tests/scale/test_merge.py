import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spmopt.errors import ConfigError
from spmopt.scale import Histogram, Moments, Summary, padded_range

finite = st.floats(-1e6, 1e6, allow_nan=False)


def split(x: np.ndarray, cuts: list[int]) -> list[np.ndarray]:
    points = sorted({c % (len(x) + 1) for c in cuts})
    return np.split(x, points)


@given(st.lists(finite, min_size=2, max_size=200), st.lists(st.integers(0, 500)))
def test_merged_moments_equal_one_pass(values: list[float], cuts: list[int]) -> None:
    x = np.array(values)
    merged = Moments.from_samples(x[:0])
    for part in split(x, cuts):
        merged = merged.merge(Moments.from_samples(part))
    assert merged.count == len(x)
    scale = max(1.0, float(np.abs(x).max()))
    np.testing.assert_allclose(merged.mean, [x.mean()], rtol=1e-9, atol=1e-9 * scale)
    var = merged.variance(ddof=1)
    np.testing.assert_allclose(var, [x.var(ddof=1)], rtol=1e-7, atol=1e-9 * scale**2)


def test_moments_of_columns_and_standard_error() -> None:
    x = np.random.default_rng(0).normal(size=(1000, 3))
    m = Moments.from_samples(x[:400]).merge(Moments.from_samples(x[400:]))
    np.testing.assert_allclose(m.mean, x.mean(axis=0))
    expected = x.std(axis=0, ddof=1) / np.sqrt(1000)
    np.testing.assert_allclose(m.standard_error(), expected)


def test_histogram_counts_match_numpy_and_keep_outliers() -> None:
    x = np.random.default_rng(1).normal(size=5000)
    hist = Histogram.from_samples(x, -2.0, 2.0, 40)
    expected, _ = np.histogram(x, bins=40, range=(-2.0, 2.0))
    np.testing.assert_array_equal(hist.counts[0, 1:-1], expected)
    assert hist.counts[0, 0] == (x < -2).sum()
    assert hist.counts[0, -1] == (x > 2).sum()
    assert hist.total == 5000
    assert hist.minimum[0] == x.min() and hist.maximum[0] == x.max()


@settings(max_examples=50, deadline=None)
@given(
    st.lists(finite, min_size=1, max_size=300),
    st.floats(0, 1),
    st.integers(1, 64),
    st.lists(st.integers(0, 500), max_size=5),
)
def test_exact_quantile_lies_in_merged_histogram_bounds(
    values: list[float], q: float, n_bins: int, cuts: list[int]
) -> None:
    x = np.array(values)
    low, high = np.quantile(x, 0.2) - 1.0, np.quantile(x, 0.8) + 1.0
    parts = [Histogram.from_samples(p, low, high, n_bins) for p in split(x, cuts)]
    hist = parts[0]
    for part in parts[1:]:
        hist = hist.merge(part)
    exact = np.quantile(x, q)
    lo, hi = hist.quantile_bounds(q)
    tol = 1e-9 * max(1.0, float(np.abs(x).max()))
    assert lo[0] - tol <= exact <= hi[0] + tol
    assert lo[0] - tol <= hist.quantile(q)[0] <= hi[0] + tol


def test_quantile_error_is_one_bin_width_for_smooth_data() -> None:
    x = np.random.default_rng(2).gamma(2.0, size=200_000)
    hist = Histogram.from_samples(x, *padded_range(x), 2048)
    for q in (0.1, 0.5, 0.9, 0.99):
        lo, hi = hist.quantile_bounds(q)
        assert hi[0] - lo[0] == pytest.approx(hist.width[0])
        assert abs(hist.quantile(q)[0] - np.quantile(x, q)) <= hist.width[0]


def test_histograms_with_other_bins_do_not_merge() -> None:
    a = Histogram.from_samples(np.arange(5.0), 0.0, 4.0, 4)
    b = Histogram.from_samples(np.arange(5.0), 0.0, 5.0, 4)
    with pytest.raises(ValueError, match="different bins"):
        a.merge(b)


def test_empty_range_is_refused() -> None:
    with pytest.raises(ConfigError, match="high > low"):
        Histogram.from_samples(np.ones(3), 1.0, 1.0, 4)


def test_padded_range_handles_constant_columns() -> None:
    low, high = padded_range(np.zeros((10, 2)))
    assert np.all(high > low)
    hist = Histogram.from_samples(np.zeros((10, 2)), low, high, 8)
    np.testing.assert_array_equal(hist.quantile(0.5), [0.0, 0.0])


def test_summary_is_exact_only_when_every_part_kept_samples() -> None:
    x = np.random.default_rng(3).exponential(size=(3000, 2))
    low, high = padded_range(x)
    kept = [Summary.from_samples(p, low, high, 32, True) for p in np.split(x, 3)]
    merged = kept[0].merge(kept[1]).merge(kept[2])
    assert merged.exact and merged.count == 3000
    np.testing.assert_array_equal(merged.quantile(0.9), np.quantile(x, 0.9, axis=0))
    np.testing.assert_array_equal(merged.quantile_error(0.9), [0.0, 0.0])
    dropped = merged.merge(Summary.from_samples(x[:10], low, high, 32, False))
    assert not dropped.exact
    assert np.all(dropped.quantile_error(0.9) > 0)


def test_tail_mean_exact_and_from_histogram() -> None:
    x = np.random.default_rng(4).gamma(3.0, size=(100_000, 1))
    low, high = padded_range(x)
    exact = Summary.from_samples(x, low, high, 2048, keep_samples=True)
    threshold = np.quantile(x[:, 0], 0.95)
    expected = x[x[:, 0] >= threshold, 0].mean()
    assert exact.tail_mean(0.95)[0] == pytest.approx(expected, rel=1e-12)
    approx = Summary.from_samples(x, low, high, 2048, keep_samples=False)
    assert abs(approx.tail_mean(0.95)[0] - expected) <= approx.binned().width[0]


def test_moments_only_summary_merges_but_has_no_quantiles() -> None:
    x = np.random.default_rng(5).random((100, 3))
    parts = [Summary.from_samples(p, 0.0, 1.0, n_bins=0) for p in np.split(x, 4)]
    merged = parts[0].merge(parts[1]).merge(parts[2]).merge(parts[3])
    assert merged.histogram is None
    np.testing.assert_allclose(merged.moments.mean, x.mean(axis=0))
    with pytest.raises(ValueError, match="moments only"):
        merged.quantile(0.5)
