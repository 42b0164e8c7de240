"""Normalize stage: decoded messages in, the contract tables out (SI units, UTC, nulls for
missing values; runlake/_schemas.py is the contract).

May import: runlake.decode (what it normalizes), runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.normalize._normalize import (
    FOOT_SPORTS,
    MAX_LAP_INDEX,
    MAX_SESSIONS,
    Normalized,
    SourceInfo,
    normalize_fit,
    normalize_gpx,
)

__all__ = [
    "FOOT_SPORTS",
    "MAX_LAP_INDEX",
    "MAX_SESSIONS",
    "Normalized",
    "SourceInfo",
    "normalize_fit",
    "normalize_gpx",
]
