"""Normalize a decoded GPX track: one activity, its points as records."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from runlake._errors import NotAnActivity
from runlake._schemas import ACTIVITIES
from runlake.decode import GpxTrack
from runlake.normalize._assemble import FOOT_SPORTS, Normalized, Sessions, SourceInfo, assemble
from runlake.normalize._columns import from_numpy, timestamp_seconds, to_numpy
from runlake.normalize._geo import haversine_m

__all__ = ["GPX_PAUSE_S", "gpx_sport", "normalize_gpx"]

GPX_PAUSE_S = 30.0
"""A gap longer than this between GPX points is a pause (GPX has no timer)."""

_GPX_SPORTS = {
    "running": "running",
    "run": "running",
    "trail_running": "running",
    "9": "running",
    "cycling": "cycling",
    "biking": "cycling",
    "ride": "cycling",
    "1": "cycling",
    "road_biking": "cycling",
    "mountain_biking": "cycling",
    "walking": "walking",
    "walk": "walking",
    "10": "walking",
    "hiking": "hiking",
    "hike": "hiking",
    "4": "hiking",
}


def gpx_sport(activity_type: str | None, name: str | None) -> str:
    """The FIT sport name for a GPX track's <type> (or, failing that, its name)."""
    if activity_type:
        key = activity_type.strip().lower().replace(" ", "_")
        if key in _GPX_SPORTS:
            return _GPX_SPORTS[key]
    lowered = (name or "").lower()
    for word, sport in (
        ("run", "running"),
        ("ride", "cycling"),
        ("walk", "walking"),
        ("hike", "hiking"),
    ):
        if word in lowered:
            return sport
    return "generic"


def _point_columns(pts: pa.Table, ts: np.ndarray, foot: bool) -> dict[str, pa.Array]:
    """The contract record columns of a track's points (distance and speed from positions)."""
    n = pts.num_rows
    lat = to_numpy(pts["latitude_deg"].combine_chunks())
    lon = to_numpy(pts["longitude_deg"].combine_chunks())
    step = haversine_m(lat, lon)
    dist = np.concatenate(([0.0], np.cumsum(np.nan_to_num(step))))[:n]
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.concatenate(([np.nan], np.where(np.diff(ts) > 0, step / np.diff(ts), np.nan)))
    cad = to_numpy(pts["cadence_raw"].combine_chunks())
    nulls = np.full(n, np.nan)
    return {
        "timestamp": pts["timestamp"].combine_chunks(),
        "distance_m": from_numpy(dist),
        "speed_mps": from_numpy(speed[:n]),
        "heart_rate_bpm": pts["heart_rate_bpm"].combine_chunks(),
        "cadence_spm": from_numpy(cad * 2.0 if foot else nulls),
        "cadence_rpm": from_numpy(nulls if foot else cad),
        "power_w": pts["power_w"].combine_chunks(),
        "vertical_oscillation_mm": from_numpy(nulls),
        "stance_time_ms": from_numpy(nulls),
        "stance_time_balance_pct": from_numpy(nulls),
        "step_length_mm": from_numpy(nulls),
        "vertical_ratio_pct": from_numpy(nulls),
        "latitude_deg": from_numpy(lat),
        "longitude_deg": from_numpy(lon),
        "altitude_m": pts["altitude_m"].combine_chunks(),
        "temperature_c": pts["temperature_c"].combine_chunks(),
        "form_power_w": from_numpy(nulls),
        "leg_spring_stiffness_kn_m": from_numpy(nulls),
        "air_power_w": from_numpy(nulls),
    }


def _moving_s(ts: np.ndarray) -> float | None:
    """Time between points, pauses left out (GPX has no timer); None for a single point."""
    if ts.size < 2:
        return None
    dt = np.diff(ts)
    return float(np.nansum(np.where((dt > 0) & (dt <= GPX_PAUSE_S), dt, 0.0)))


def _with_moving_time(acts: pa.Table, moving: float) -> pa.Table:
    """ACTIVITIES with duration_s and avg_speed_mps from the moving time."""
    acts = acts.set_column(
        acts.schema.get_field_index("duration_s"),
        ACTIVITIES.field("duration_s"),
        pa.array([moving], type=pa.float64()),
    )
    dist_total = acts["distance_m"][0].as_py()
    if dist_total is not None and moving > 0:
        acts = acts.set_column(
            acts.schema.get_field_index("avg_speed_mps"),
            ACTIVITIES.field("avg_speed_mps"),
            pa.array([dist_total / moving], type=pa.float64()),
        )
    return acts


def normalize_gpx(track: GpxTrack, info: SourceInfo) -> Normalized:
    """The contract tables for one GPX track (one activity)."""
    pts = track.points
    n = pts.num_rows
    if n == 0:
        raise NotAnActivity("GPX has no timestamped track points", source=info.source_path)
    sport = gpx_sport(track.activity_type, track.name)
    ts = timestamp_seconds(pts["timestamp"].combine_chunks())
    moving = _moving_s(ts)
    start = float(np.nanmin(ts))
    srow: dict[str, object] = {
        "sport": sport,
        "sub_sport": None,
        "start_time": datetime.fromtimestamp(start, tz=UTC),
        "duration_s": moving,
    }
    sessions = Sessions(
        rows=[srow],
        sports=[sport],
        starts=np.array([start]),
        which=np.zeros(n, dtype=np.int64),
        rec_ts=ts,
        cols=_point_columns(pts, ts, sport in FOOT_SPORTS),
        summaries_from_device=False,
    )
    normalized = assemble(
        sessions,
        info=info,
        source_format="gpx",
        device=(track.creator, None),
        laps=None,
        dev_names=[],
        problems=list(track.problems),
    )
    if moving is None:
        return normalized
    acts = _with_moving_time(normalized.activities, moving)
    return Normalized(acts, normalized.laps, normalized.records, normalized.problems)
