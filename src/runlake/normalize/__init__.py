"""Normalize stage: decoded messages in, the contract tables out (SI units, UTC, nulls for
missing values; runlake/_schemas.py is the contract).

One module a job: ``_fit``, ``_gpx`` and ``_tcx`` turn a format's decoded data into sessions and
record columns; ``_assemble`` builds the contract tables from them for every format;
``_summary`` gives the summary values (the device's, else computed from records);
``_sanitize`` checks the decoded FIT columns normalize reads, ``_clock`` anchors old
devices' system times, ``_devfields`` reads developer fields (Stryd) by name; ``_geo`` and
``_columns`` are pure helpers.

May import: runlake.decode (what it normalizes), runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.normalize._assemble import (
    FOOT_SPORTS,
    MAX_LAP_INDEX,
    Normalized,
    SourceInfo,
    time_anomalies,
)
from runlake.normalize._fit import MAX_SESSIONS, normalize_fit
from runlake.normalize._gpx import gpx_sport, normalize_gpx
from runlake.normalize._tcx import normalize_tcx, tcx_sport

__all__ = [
    "FOOT_SPORTS",
    "MAX_LAP_INDEX",
    "MAX_SESSIONS",
    "Normalized",
    "SourceInfo",
    "gpx_sport",
    "normalize_fit",
    "normalize_gpx",
    "normalize_tcx",
    "tcx_sport",
    "time_anomalies",
]
