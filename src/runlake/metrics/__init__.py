"""Metrics stage: a run's records and laps in, its form, fatigue and load metrics out; and
which of an athlete's activities are copies of one session (``_duplicates``: one copy of
each run is counted).

Pure functions over tables. May import: runlake._schemas.
"""

from __future__ import annotations

from runlake.metrics._duplicates import (
    FORMAT_PREFERENCE,
    SHARED_MIN_FRACTION,
    START_WITHIN_S,
    UNKNOWN_SPORTS,
    find_duplicates,
    sport_family,
)
from runlake.metrics._metrics import (
    ACTIVITY_COLUMNS,
    DECOUPLING_MAX_GRADE_DIFF,
    DECOUPLING_MIN_S,
    DURATION_LOAD_PER_MIN,
    HR_COVERAGE_MIN,
    MIN_STEADY_S,
    MOVING_MIN_MPS,
    OFF_PACE_FRACTION,
    OI_CADENCE_SPM_PER_MPS,
    OI_GCT_MS_PER_MPS,
    OI_RED_CADENCE_SPM,
    OI_RED_GCT_MS,
    OI_REF_SPEED_MPS,
    PAUSE_GAP_S,
    RESUME_SKIP_S,
    STEADY_SHARE_MIN,
    WALK_MAX_SPM,
    WARMUP_S,
    RunMetrics,
    estimate_hr_max,
    hr_histogram,
    lap_metrics,
    measure_run,
    metrics_table,
    rezone,
    run_metrics,
)

__all__ = [
    "ACTIVITY_COLUMNS",
    "DECOUPLING_MAX_GRADE_DIFF",
    "DECOUPLING_MIN_S",
    "DURATION_LOAD_PER_MIN",
    "FORMAT_PREFERENCE",
    "HR_COVERAGE_MIN",
    "MIN_STEADY_S",
    "MOVING_MIN_MPS",
    "OFF_PACE_FRACTION",
    "OI_CADENCE_SPM_PER_MPS",
    "OI_GCT_MS_PER_MPS",
    "OI_RED_CADENCE_SPM",
    "OI_RED_GCT_MS",
    "OI_REF_SPEED_MPS",
    "PAUSE_GAP_S",
    "RESUME_SKIP_S",
    "SHARED_MIN_FRACTION",
    "START_WITHIN_S",
    "STEADY_SHARE_MIN",
    "UNKNOWN_SPORTS",
    "WALK_MAX_SPM",
    "WARMUP_S",
    "RunMetrics",
    "estimate_hr_max",
    "find_duplicates",
    "hr_histogram",
    "lap_metrics",
    "measure_run",
    "metrics_table",
    "rezone",
    "run_metrics",
    "sport_family",
]
