"""The pyarrow schemas: the contract between stages and with the analysts' views.

SI units and UTC everywhere; the unit is in every column name; missing is null, never zero.
Partition columns (``athlete``, ``year``) are not stored in the files: they come from the
hive-style folder names (``athlete=<a>/year=<y>``).
"""

from __future__ import annotations

import pyarrow as pa

from runlake._tables import TABLE_NAMES

__all__ = [
    "ACTIVITIES",
    "DAY_RULES",
    "DUPLICATES",
    "FILES",
    "FLAGS",
    "INGEST_ERRORS",
    "LAPS",
    "LAP_METRICS",
    "RECORDS",
    "RUN_METRICS",
    "RUN_RULES",
    "SUMMARY_FIELDS",
    "TABLES",
    "UTC_MS",
    "WEEK_RULES",
]

UTC_MS = pa.timestamp("ms", tz="UTC")
F64 = pa.float64()
STR = pa.string()

# Columns shared by activities and laps: (name, type, description).
SUMMARY_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("start_time", UTC_MS, "UTC start"),
    ("duration_s", F64, "timer time (moving, pauses excluded), seconds"),
    ("elapsed_s", F64, "wall-clock time from start to end, seconds"),
    ("distance_m", F64, "distance, metres"),
    ("avg_speed_mps", F64, "average speed over timer time, m/s"),
    ("max_speed_mps", F64, "maximum speed, m/s"),
    ("avg_hr_bpm", F64, "average heart rate, beats/min"),
    ("max_hr_bpm", F64, "maximum heart rate, beats/min"),
    ("avg_cadence_spm", F64, "average cadence, steps/min (both feet); running only"),
    ("avg_cadence_rpm", F64, "average cadence, revolutions/min (cycling and other)"),
    ("avg_power_w", F64, "average power, watts"),
    ("avg_vertical_oscillation_mm", F64, "average vertical oscillation, mm"),
    ("avg_vertical_ratio_pct", F64, "average vertical ratio, %"),
    ("avg_stance_time_ms", F64, "average ground contact time, ms"),
    ("avg_stance_time_balance_pct", F64, "average ground contact balance, % on the left foot"),
    ("avg_step_length_mm", F64, "average step length, mm"),
    ("total_ascent_m", F64, "total ascent, metres"),
    ("total_descent_m", F64, "total descent, metres"),
    ("total_calories_kcal", F64, "energy, kcal"),
]


def _fields(spec: list[tuple[str, pa.DataType, str]]) -> list[pa.Field]:
    return [pa.field(n, t, metadata={"description": d}) for n, t, d in spec]


ACTIVITIES = pa.schema(
    _fields(
        [
            ("activity_id", STR, "sha256 of the file (16 hex) + '-' + session index"),
            ("file_sha256", STR, "sha256 of the source file's bytes (its identity)"),
            ("session_index", pa.int16(), "0-based session number within the file"),
            ("source_path", STR, "path as given on ingest"),
            ("source_format", STR, "fit, gpx or tcx"),
            ("sport", STR, "FIT profile sport name, lower case (running, cycling, ...)"),
            ("sub_sport", STR, "FIT profile sub-sport name (generic, trail, treadmill, ...)"),
            ("device_manufacturer", STR, "manufacturer (FIT profile name or GPX creator)"),
            ("device_product", STR, "product name or number"),
            ("end_time", UTC_MS, "UTC end (start + elapsed)"),
            *SUMMARY_FIELDS,
            ("n_records", pa.int32(), "number of record samples"),
            ("has_running_dynamics", pa.bool_(), "any vertical oscillation or ground contact"),
            ("has_gps", pa.bool_(), "any position"),
            ("developer_fields", pa.list_(STR), "developer field names found (Stryd, ...)"),
            ("ingested_at", UTC_MS, "when runlake ingested the file"),
        ]
    )
)

LAPS = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the activity the lap belongs to"),
            ("lap_index", pa.int16(), "0-based lap number within the activity"),
            *SUMMARY_FIELDS,
        ]
    )
)

RECORDS = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the activity the sample belongs to"),
            ("timestamp", UTC_MS, "UTC time of the sample"),
            ("elapsed_s", F64, "seconds since the activity's start"),
            ("distance_m", F64, "cumulative distance, metres"),
            ("speed_mps", F64, "speed, m/s"),
            ("heart_rate_bpm", F64, "heart rate, beats/min"),
            ("cadence_spm", F64, "cadence, steps/min (both feet); foot sports only"),
            ("cadence_rpm", F64, "cadence, revolutions/min; cycling and other sports"),
            ("power_w", F64, "power, watts (device, else developer 'Power' such as Stryd)"),
            ("vertical_oscillation_mm", F64, "vertical oscillation, mm"),
            ("stance_time_ms", F64, "ground contact time, ms"),
            ("stance_time_balance_pct", F64, "ground contact balance, % on the left foot"),
            ("step_length_mm", F64, "step length, mm"),
            ("vertical_ratio_pct", F64, "vertical oscillation / step length, %"),
            ("latitude_deg", F64, "WGS84 latitude, degrees"),
            ("longitude_deg", F64, "WGS84 longitude, degrees"),
            ("altitude_m", F64, "altitude, metres"),
            ("temperature_c", F64, "temperature, °C"),
            ("form_power_w", F64, "Stryd Form Power, watts"),
            ("leg_spring_stiffness_kn_m", F64, "Stryd Leg Spring Stiffness, kN/m"),
            ("air_power_w", F64, "Stryd Air Power, watts"),
        ]
    )
)

INGEST_ERRORS = pa.schema(
    _fields(
        [
            ("source_path", STR, "path as given on ingest"),
            ("file_sha256", STR, "sha256 of the file's bytes"),
            ("severity", STR, "error (rejected), warning (ingested with a problem), skipped"),
            ("stage", STR, "read, decode, normalize or store"),
            ("message", STR, "the problem, naming the byte offset for FIT"),
            ("byte_offset", pa.int64(), "byte offset of the problem in the file, if known"),
            ("at", UTC_MS, "when it was recorded"),
        ]
    )
)

# One row per ingested file: written last, so it marks the file as done (the commit marker).
FILES = pa.schema(
    _fields(
        [
            ("file_sha256", STR, "sha256 of the file's bytes"),
            ("source_path", STR, "path as given on ingest"),
            ("source_format", STR, "fit, gpx, tcx or unknown"),
            ("size_bytes", pa.int64(), "file size"),
            ("status", STR, "ingested, warning, skipped or error"),
            ("file_type", STR, "FIT file type (activity, settings, ...) or gpx"),
            ("n_activities", pa.int32(), "activities written"),
            ("n_records", pa.int64(), "records written"),
            ("year", pa.int32(), "partition year of its activities (null if none)"),
            ("ingested_at", UTC_MS, "when it was ingested"),
        ]
    )
)

TABLES: dict[str, pa.Schema] = {
    "activities": ACTIVITIES,
    "laps": LAPS,
    "records": RECORDS,
    "ingest_errors": INGEST_ERRORS,
    "files": FILES,
}

# -- form and fatigue (runlake.metrics, runlake.flags) ----------------------------------------

_FORM_FIELDS: list[tuple[str, pa.DataType, str]] = [
    ("cadence_spm", F64, "mean cadence while running, steps/min (both feet)"),
    ("vertical_oscillation_mm", F64, "mean vertical oscillation while running, mm"),
    ("vertical_ratio_pct", F64, "mean vertical ratio while running, %"),
    ("stance_time_ms", F64, "mean ground contact time while running, ms"),
    ("stance_time_balance_pct", F64, "mean ground contact balance, % on the left foot"),
    ("step_length_mm", F64, "mean step length while running, mm"),
    ("step_length_source", STR, "device (measured) or derived (speed / step rate); null: none"),
    ("overstriding_index", F64, "pace-adjusted contact time x step rate index; 1 = Garmin red"),
]

RUN_METRICS = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the run (activities.activity_id)"),
            ("start_time", UTC_MS, "UTC start"),
            ("date", pa.date32(), "UTC date of the start"),
            ("duration_s", F64, "timer time (moving, pauses excluded), seconds"),
            ("distance_m", F64, "distance, metres"),
            ("moving_s", F64, "seconds moving (speed >= 1 m/s, pauses excluded) in the records"),
            *_FORM_FIELDS,
            ("has_running_dynamics", pa.bool_(), "any vertical oscillation or ground contact"),
            ("dynamics_sensor", STR, "chest or pod: where oscillation is measured (thresholds)"),
            ("steady_s", F64, "seconds in the steady part (warm-up, pauses, off-pace left out)"),
            ("steady_speed_mps", F64, "mean speed of the steady part, m/s"),
            ("steady_run", pa.bool_(), "the steady part is long and most of the run"),
            ("cadence_change_pct", F64, "cadence, last vs first third of the steady part, %"),
            (
                "stance_time_change_pct",
                F64,
                "ground contact, last vs first third of steady part, %",
            ),
            (
                "vertical_oscillation_change_pct",
                F64,
                "vertical oscillation, last vs first third of the steady part, %",
            ),
            ("aerobic_decoupling_pct", F64, "Pa:HR, speed per beat, 1st vs 2nd half; + = HR drift"),
            ("peak_hr_bpm", F64, "highest heart rate held for 5 samples, beats/min"),
            ("hr_max_bpm", F64, "maximum heart rate the zones use (configured or estimated)"),
            ("hr_s", F64, "seconds with a heart rate"),
            ("easy_s", F64, "seconds at or below the easy ceiling (easy fraction x hr max)"),
            ("hr_zone1_s", F64, "seconds at 50-60 % of hr max"),
            ("hr_zone2_s", F64, "seconds at 60-70 % of hr max"),
            ("hr_zone3_s", F64, "seconds at 70-80 % of hr max"),
            ("hr_zone4_s", F64, "seconds at 80-90 % of hr max"),
            ("hr_zone5_s", F64, "seconds at 90 % of hr max or more"),
            ("load", F64, "training load, Edwards TRIMP units"),
            ("load_source", STR, "hr (Edwards TRIMP) or duration (minutes x 2.5, no heart rate)"),
            (
                "hr_histogram_bpm",
                pa.list_(F64),
                "heart rates recorded, ascending; a last null: time without one",
            ),
            ("hr_histogram_s", pa.list_(F64), "seconds at each of hr_histogram_bpm"),
            ("temperature_c", F64, "mean temperature the watch read while moving, °C"),
            (
                "pace_bin_s_per_km",
                pa.list_(F64),
                "pace bins run cleanly (5 s/km wide, lower edge), ascending, s/km",
            ),
            ("pace_bin_s", pa.list_(F64), "seconds of clean running in each pace bin"),
            ("pace_bin_cadence_spm", pa.list_(F64), "mean cadence in each pace bin, steps/min"),
            ("pace_bin_stance_time_ms", pa.list_(F64), "mean ground contact in each pace bin, ms"),
            (
                "pace_bin_vertical_oscillation_mm",
                pa.list_(F64),
                "mean vertical oscillation in each pace bin, mm",
            ),
        ]
    )
)

LAP_METRICS = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the activity the lap belongs to"),
            ("lap_index", pa.int16(), "0-based lap number within the activity"),
            ("moving_s", F64, "seconds moving (speed >= 1 m/s, pauses excluded) in the lap"),
            *_FORM_FIELDS,
        ]
    )
)

FLAGS = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the run (null for week- and day-level flags)"),
            ("date", pa.date32(), "run date, day, or last run day of the week (UTC)"),
            ("week_start", pa.date32(), "Monday of the week the flag belongs to (UTC)"),
            ("code", STR, "stable flag name (overstriding, volume_jump, ...)"),
            ("severity", STR, "info, warning or alert"),
            ("value", F64, "what was seen"),
            ("threshold", F64, "the configured threshold it crossed"),
            ("unit", STR, "unit of value and threshold"),
            ("message", STR, "what was seen, the likely cause and the advice"),
        ]
    )
)

WEEK_RULES = pa.schema(
    _fields(
        [
            (
                "week_start",
                pa.date32(),
                "Monday of the week (UTC): every week from the first run's to the last's",
            ),
            (
                "volume_basis",
                STR,
                "distance, or time when a run of it or of the reference weeks has none",
            ),
            (
                "prior_max_distance_m",
                F64,
                "highest weekly distance of the reference weeks before, m",
            ),
            ("distance_limit_m", F64, "the 10 % line, m (null: reference under the week minimum)"),
            ("prior_max_duration_s", F64, "highest weekly time of the reference weeks before, s"),
            ("duration_limit_s", F64, "the 10 % line on time, s (null: under the minimum)"),
            (
                "volume_change_pct",
                F64,
                "volume vs the reference on volume_basis, % (null: under the min)",
            ),
            ("is_volume_jump", pa.bool_(), "the week broke the 10 % line (volume_jump)"),
            ("is_rest_week", pa.bool_(), "under the week minimum: a week off, or nearly"),
            ("is_cutback", pa.bool_(), "a lighter week of running: over the minimum, cut back"),
            (
                "weeks_without_cutback",
                pa.int32(),
                "weeks in a row without a cutback, to this one (capped)",
            ),
            ("monotony", F64, "Foster: mean / sd of the 7 daily loads (cap 10); null: no load"),
        ]
    )
)
"""The week rules as the flags judged them, with the user's thresholds (runlake.flags)."""

DAY_RULES = pa.schema(
    _fields(
        [
            ("date", pa.date32(), "the UTC day: every day from the first run's week to the last's"),
            ("acute_load", F64, "mean daily load of the 7 days ending this day (TRIMP/day)"),
            ("chronic_load", F64, "mean daily load of the 28 days ending this day (TRIMP/day)"),
            (
                "acute_chronic_ratio",
                F64,
                "acute / chronic load (null: not a run in each of the 4 weeks before the 7 days)",
            ),
            ("run_streak_days", pa.int32(), "days in a row with a run, to this one (capped at 28)"),
            ("ewma_acute_load", F64, "exponentially weighted daily load, N = 7 days (TRIMP/day)"),
            ("ewma_chronic_load", F64, "exponentially weighted daily load, N = 28 days"),
            (
                "ewma_acute_chronic_ratio",
                F64,
                "ewma acute / ewma chronic load, on the days the rolling ratio is judged",
            ),
        ]
    )
)
"""The day rules as the flags judged them: rolling loads and streaks (runlake.flags)."""


def _form_against_usual(stem: str, unit: str, words: str) -> list[tuple[str, pa.DataType, str]]:
    return [
        (f"band_{stem}_{unit}", F64, f"the run's {words} in the band, {unit}"),
        (f"usual_{stem}_{unit}", F64, f"median {words} of the baseline runs in the band, {unit}"),
        (f"spread_{stem}_{unit}", F64, f"their robust SD (1.4826 x MAD, min 0.5 %), {unit}"),
        (f"{stem}_departure_sd", F64, f"(band - usual) / spread of the {words}"),
    ]


RUN_RULES = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the run (activities.activity_id)"),
            ("date", pa.date32(), "UTC date of the start"),
            (
                "long_run_basis",
                STR,
                "distance, or time when it or a run before has none; null: no run before",
            ),
            ("prior_longest_m", F64, "longest run of the days before (long_run_spike_days: 30), m"),
            ("prior_longest_s", F64, "longest run of those days by time, s"),
            ("long_run_change_pct", F64, "this run vs that longest run on long_run_basis, %"),
            (
                "baseline_pace_band_s_per_km",
                F64,
                "lower edge of the pace band compared with the usual, s/km",
            ),
            (
                "baseline_runs",
                pa.int32(),
                "runs of the days before (baseline_days: 90) in the band",
            ),
            ("baseline_band_s", F64, "their seconds in the band"),
            *_form_against_usual("cadence", "spm", "cadence"),
            *_form_against_usual("stance_time", "ms", "ground contact time"),
            *_form_against_usual("vertical_oscillation", "mm", "vertical oscillation"),
        ]
    )
)
"""The run rules that read the runs before (runlake.flags): the longest run of the days
before each run, and its form against the runner's usual at the same pace."""

DUPLICATES = pa.schema(
    _fields(
        [
            ("activity_id", STR, "the copy that is not counted (activities.activity_id)"),
            ("duplicate_of", STR, "the primary: the copy of the session that is counted"),
            ("duplicate_reason", STR, "why: the overlap seen and why the primary is preferred"),
        ]
    )
)
"""Activities that are copies of another activity of the athlete (runlake.metrics)."""

TABLES["run_metrics"] = RUN_METRICS
TABLES["lap_metrics"] = LAP_METRICS
TABLES["flags"] = FLAGS
TABLES["week_rules"] = WEEK_RULES
TABLES["day_rules"] = DAY_RULES
TABLES["run_rules"] = RUN_RULES
TABLES["duplicates"] = DUPLICATES

if tuple(TABLES) != TABLE_NAMES:  # the names the query stage uses without pyarrow
    raise RuntimeError(
        f"runlake._tables.TABLE_NAMES {TABLE_NAMES} differ from TABLES {tuple(TABLES)}"
    )
