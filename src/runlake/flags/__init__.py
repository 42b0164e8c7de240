"""Flags stage: run metrics and the weeks' training in, flags out (what was seen, the likely
cause, what to do), against the thresholds of config/flags.toml.

May import: runlake.metrics, runlake._config, runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.flags._flags import (
    ACWR_CHRONIC_DAYS,
    ACWR_HISTORY_DAYS,
    HISTORY_CODES,
    MONOTONY_CAP,
    RUN_CODES,
    SEVERITIES,
    STREAK_CAP_DAYS,
    Flag,
    Thresholds,
    affected_weeks,
    default_thresholds_path,
    flags_table,
    history_flags,
    load_thresholds,
    run_flags,
    week_start,
)

__all__ = [
    "ACWR_CHRONIC_DAYS",
    "ACWR_HISTORY_DAYS",
    "HISTORY_CODES",
    "MONOTONY_CAP",
    "RUN_CODES",
    "SEVERITIES",
    "STREAK_CAP_DAYS",
    "Flag",
    "Thresholds",
    "affected_weeks",
    "default_thresholds_path",
    "flags_table",
    "history_flags",
    "load_thresholds",
    "run_flags",
    "week_start",
]
