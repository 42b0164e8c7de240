"""Flags stage: run metrics in, flags out (what was seen, the likely cause, what to do),
against the thresholds of config/flags.toml and a user's overrides.

- ``_thresholds``: the thresholds, read and checked once (:func:`load_thresholds`), and
  their fingerprint (:func:`thresholds_fingerprint`, stored with the flags).
- ``_flag``: what a flag is (codes, the FLAGS row, the words and units a runner reads:
  :func:`flag_headline`, :func:`count_flags`).
- ``_run``: the run flags, one function per rule.
- ``_recent``: what a run is compared with from the runs before it (the longest run of the
  30 days before, the runner's usual form at the same pace): :func:`judge_recent`; the lake
  stores it as RUN_RULES (:func:`run_rules_table`).
- ``_weeks``: the week rules, computed once (:func:`judge_weeks`); the lake stores them as
  WEEK_RULES (:func:`week_rules_table`), which the ``weekly_training`` view reads.
- ``_history``: the week- and day-level flags, read off the judged weeks.

May import: runlake.metrics, runlake._config, runlake._errors, runlake._schemas.
"""

from __future__ import annotations

from runlake.flags._flag import (
    CHANGE_CODES,
    HISTORY_CODES,
    NOTE_CODES,
    RUN_CODES,
    SEVERITIES,
    Flag,
    count_flags,
    flag_headline,
    flags_table,
    hours_minutes,
    pace_per_km,
    week_start,
)
from runlake.flags._history import history_flags, history_flags_of
from runlake.flags._recent import NO_RECENT, Recent, Usual, judge_recent, run_rules_table
from runlake.flags._run import run_flags
from runlake.flags._thresholds import (
    RULES_VERSION,
    STREAK_CAP_DAYS,
    Thresholds,
    default_thresholds_path,
    load_thresholds,
    thresholds_fingerprint,
)
from runlake.flags._weeks import (
    ACWR_ACUTE_DAYS,
    ACWR_CHRONIC_DAYS,
    ACWR_HISTORY_WEEKS,
    EWMA_ACUTE_LAMBDA,
    EWMA_CHRONIC_LAMBDA,
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
    "ACWR_HISTORY_WEEKS",
    "CHANGE_CODES",
    "EWMA_ACUTE_LAMBDA",
    "EWMA_CHRONIC_LAMBDA",
    "HISTORY_CODES",
    "MONOTONY_CAP",
    "NOTE_CODES",
    "NO_RECENT",
    "RULES_VERSION",
    "RUN_CODES",
    "SEVERITIES",
    "STREAK_CAP_DAYS",
    "Flag",
    "Recent",
    "Thresholds",
    "Usual",
    "Weeks",
    "affected_weeks",
    "count_flags",
    "day_rules_of",
    "default_thresholds_path",
    "flag_headline",
    "flags_table",
    "history_flags",
    "history_flags_of",
    "hours_minutes",
    "judge_recent",
    "judge_weeks",
    "load_thresholds",
    "pace_per_km",
    "run_flags",
    "run_rules_table",
    "thresholds_fingerprint",
    "week_rules_of",
    "week_rules_table",
    "week_start",
]
