"""Geometry of a track: pure functions over plain numpy values (after gpxpy's geo.py)."""

from __future__ import annotations

import numpy as np

__all__ = [
    "ASCENT_HYSTERESIS_M",
    "EARTH_RADIUS_M",
    "SEMICIRCLE_DEG",
    "ascent_descent",
    "haversine_m",
]

SEMICIRCLE_DEG = 180.0 / 2**31
"""Degrees per FIT semicircle (FIT stores latitude and longitude as int32 semicircles)."""
EARTH_RADIUS_M = 6371008.8
"""Mean Earth radius (IUGG), metres."""
ASCENT_HYSTERESIS_M = 2.0
"""Altitude changes smaller than this are noise when summing a track's ascent."""


def haversine_m(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance between consecutive points, metres (NaN where unknown).

    ``lat``/``lon`` in degrees; the result has one element fewer than the points.
    """
    if lat.size < 2:
        return np.zeros(0)
    p1, p2 = np.radians(lat[:-1]), np.radians(lat[1:])
    dphi = p2 - p1
    dlmb = np.radians(lon[1:] - lon[:-1])
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(
        2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64
    )


def ascent_descent(alt: np.ndarray) -> tuple[float | None, float | None]:
    """Total ascent and descent of an altitude trace, ignoring wiggles under the hysteresis."""
    alt = alt[~np.isnan(alt)]
    if alt.size < 2:
        return None, None
    up = down = 0.0
    ref = float(alt[0])
    for v in alt[1:].tolist():
        if v - ref >= ASCENT_HYSTERESIS_M:
            up += v - ref
            ref = v
        elif ref - v >= ASCENT_HYSTERESIS_M:
            down += ref - v
            ref = v
    return up, down
