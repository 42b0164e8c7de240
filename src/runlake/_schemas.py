"""The pyarrow schemas: the contract between stages and with the analysts' views.

SI units and UTC everywhere; the unit is in every column name; missing is null, never zero.
Partition columns (``athlete``, ``year``) are not stored in the files: they come from the
hive-style folder names (``athlete=<a>/year=<y>``).
"""

from __future__ import annotations

import pyarrow as pa

__all__ = [
    "ACTIVITIES",
    "FILES",
    "INGEST_ERRORS",
    "LAPS",
    "RECORDS",
    "SUMMARY_FIELDS",
    "TABLES",
    "UTC_MS",
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
            ("source_format", STR, "fit or gpx"),
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
            ("source_format", STR, "fit, gpx or unknown"),
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
