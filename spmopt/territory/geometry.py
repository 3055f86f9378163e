"""Distances between units and rep bases, and the k-nearest sparsification.

Pure numeric functions on arrays; no I/O and no state.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

EARTH_RADIUS_KM = 6371.0088
"""Mean Earth radius (IUGG), km."""


def haversine_km(
    lat1: ArrayLike, lon1: ArrayLike, lat2: ArrayLike, lon2: ArrayLike
) -> NDArray[np.float64]:
    """Great-circle distance matrix between two sets of points.

    Parameters
    ----------
    lat1, lon1 : array-like of shape (n,)
        First set of points, degrees WGS84.
    lat2, lon2 : array-like of shape (m,)
        Second set of points, degrees WGS84.

    Returns
    -------
    ndarray of shape (n, m)
        Distances, km.
    """
    phi1 = np.radians(np.asarray(lat1, dtype=float))[:, None]
    phi2 = np.radians(np.asarray(lat2, dtype=float))[None, :]
    dlam = np.radians(
        np.asarray(lon2, dtype=float)[None, :] - np.asarray(lon1, dtype=float)[:, None]
    )
    half = (
        np.sin((phi2 - phi1) / 2) ** 2
        + np.cos(phi1) * np.cos(phi2) * np.sin(dlam / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(half, 0.0, 1.0)))


def euclidean(
    x1: ArrayLike, y1: ArrayLike, x2: ArrayLike, y2: ArrayLike
) -> NDArray[np.float64]:
    """Euclidean distance matrix between two sets of planar points.

    Parameters
    ----------
    x1, y1 : array-like of shape (n,)
        First set of points, any length unit.
    x2, y2 : array-like of shape (m,)
        Second set of points, same unit.

    Returns
    -------
    ndarray of shape (n, m)
        Distances in the unit of the coordinates.
    """
    dx = np.asarray(x1, dtype=float)[:, None] - np.asarray(x2, dtype=float)[None, :]
    dy = np.asarray(y1, dtype=float)[:, None] - np.asarray(y2, dtype=float)[None, :]
    return np.hypot(dx, dy)


def nearest_mask(distance: NDArray[np.float64], k: int | None) -> NDArray[np.bool_]:
    """Allow each unit only its ``k`` nearest columns (ties broken by index).

    Parameters
    ----------
    distance : ndarray of shape (n_units, n_reps)
        Any cost, smaller is nearer.
    k : int or None
        Number of columns kept per row; None or ``k >= n_reps`` keeps all.

    Returns
    -------
    ndarray of bool, shape (n_units, n_reps)
        True where the pair may be used.
    """
    n_units, n_reps = distance.shape
    if k is None or k >= n_reps:
        return np.ones((n_units, n_reps), dtype=bool)
    order = np.argsort(distance, axis=1, kind="stable")[:, :k]
    mask = np.zeros((n_units, n_reps), dtype=bool)
    np.put_along_axis(mask, order, True, axis=1)
    return mask
