"""Flags stage: run metrics in, flags out (what was seen, the likely cause, what to do),
against the thresholds of config/flags.toml and a user's overrides.

- ``_thresholds``: the thresholds, read and checked once (:func:`load_thresholds`).
- ``_flag``: what a flag is (codes, the FLAGS row, the words).
- ``_run``: the run flags, one function per rule.
- ``_weeks``: the week rules, computed once (:func:`judge_weeks`); the lake stores them as
  WEEK_RULES (:func:`week_rules_table`), which the ``weekly_training`` view reads.
- ``_history``: the week- and day-level flags, read off the judged weeks.

May import: runlake.metrics, runlake._config, runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.flags._flag import (
    HISTORY_CODES,
    RUN_CODES,
    SEVERITIES,
    Flag,
    flags_table,
    hours_minutes,
    pace_per_km,
    week_start,
)
from runlake.flags._history import history_flags, history_flags_of
from runlake.flags._run import run_flags
from runlake.flags._thresholds import (
    STREAK_CAP_DAYS,
    Thresholds,
    default_thresholds_path,
    load_thresholds,
)
from runlake.flags._weeks import (
    ACWR_ACUTE_DAYS,
    ACWR_CHRONIC_DAYS,
    ACWR_HISTORY_DAYS,
    MONOTONY_CAP,
    Weeks,
    affected_weeks,
    day_rules_of,
    judge_weeks,
    week_rules_of,
    week_rules_table,
)

__all__ = [
    "ACWR_ACUTE_DAYS",
    "ACWR_CHRONIC_DAYS",
    "ACWR_HISTORY_DAYS",
    "HISTORY_CODES",
    "MONOTONY_CAP",
    "RUN_CODES",
    "SEVERITIES",
    "STREAK_CAP_DAYS",
    "Flag",
    "Thresholds",
    "Weeks",
    "affected_weeks",
    "day_rules_of",
    "default_thresholds_path",
    "flags_table",
    "history_flags",
    "history_flags_of",
    "hours_minutes",
    "judge_weeks",
    "load_thresholds",
    "pace_per_km",
    "run_flags",
    "week_rules_of",
    "week_rules_table",
    "week_start",
]
