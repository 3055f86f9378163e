"""Distances and sparsification."""

from __future__ import annotations

import numpy as np
import pytest

from spmopt.territory.geometry import (
    EARTH_RADIUS_KM,
    euclidean,
    haversine_km,
    nearest_mask,
)


def test_haversine_one_degree_on_equator() -> None:
    d = haversine_km([0.0], [0.0], [0.0], [1.0])
    assert d[0, 0] == pytest.approx(np.pi * EARTH_RADIUS_KM / 180)


def test_haversine_known_city_pair() -> None:
    # Atlanta to Miami is about 973 km great-circle.
    d = haversine_km([33.749], [-84.388], [25.762], [-80.192])
    assert d[0, 0] == pytest.approx(973, abs=5)


def test_haversine_symmetric_and_zero_on_diagonal() -> None:
    lat = np.array([10.0, -45.0, 60.0])
    lon = np.array([0.0, 120.0, -170.0])
    d = haversine_km(lat, lon, lat, lon)
    assert np.allclose(d, d.T)
    assert np.allclose(np.diag(d), 0.0)


def test_euclidean_three_four_five() -> None:
    assert euclidean([0.0], [0.0], [3.0], [4.0])[0, 0] == 5.0


def test_nearest_mask_keeps_k_smallest_per_row() -> None:
    d = np.array([[3.0, 1.0, 2.0], [1.0, 1.0, 0.5]])
    mask = nearest_mask(d, 2)
    assert mask.tolist() == [[False, True, True], [True, False, True]]
    assert nearest_mask(d, None).all()
    assert nearest_mask(d, 5).all()
