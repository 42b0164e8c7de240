"""Normalize a decoded FIT file: one activity per session, records in SI units and UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runlake._errors import DecodeError, NotAnActivity, Problem, ProblemKind
from runlake.decode import FitFile
from runlake.decode._fitprofile import enum_names
from runlake.normalize._assemble import (
    FOOT_SPORTS,
    Normalized,
    Sessions,
    SourceInfo,
    assemble,
    assign_to_activities,
    time_anomalies,
)
from runlake.normalize._clock import anchor_system_times
from runlake.normalize._columns import f64_column, timestamp_seconds
from runlake.normalize._devfields import TO_MM, developer_field
from runlake.normalize._geo import SEMICIRCLE_DEG
from runlake.normalize._hrmerge import merge_heart_rates
from runlake.normalize._sanitize import sanitize

__all__ = ["MAX_SESSIONS", "normalize_fit"]

# More session messages than this is not an activity but a corrupt file (a definition that
# turned records into sessions): it is rejected rather than made into thousands of activities.
MAX_SESSIONS = 1000
# Garmin's own product numbers are named in the profile's garmin_product type.
_GARMIN_FAMILY = frozenset({"garmin", "dynastream", "dynastream_oem", "tacx"})
_MS_UTC = pa.timestamp("ms", tz="UTC")


def _cadence(t: pa.Table | None, n: int) -> pa.Array:
    """Cadence in revolutions (strides) per minute, fractional part included."""
    whole = pc.add(
        f64_column(t, "cadence", n), pc.coalesce(f64_column(t, "fractional_cadence", n), 0.0)
    )
    return pc.coalesce(whole, f64_column(t, "cadence256", n))


def _position(t: pa.Table | None, n: int) -> tuple[pa.Array, pa.Array]:
    """Latitude and longitude in degrees (null before a GPS fix)."""
    lat, lon = f64_column(t, "position_lat", n), f64_column(t, "position_long", n)
    # Exactly 0/0 is what some devices write before a GPS fix: no position, not a place.
    no_fix = pc.fill_null(pc.and_(pc.equal(lat, 0.0), pc.equal(lon, 0.0)), False)
    nulls = pa.nulls(n, pa.float64())
    return (
        pc.if_else(no_fix, nulls, pc.multiply(lat, SEMICIRCLE_DEG)),
        pc.if_else(no_fix, nulls, pc.multiply(lon, SEMICIRCLE_DEG)),
    )


def _developer_columns(t: pa.Table | None, fit: FitFile, n: int) -> dict[str, pa.Array]:
    """The record columns only developer fields (Stryd) give."""
    watts = {"watts": 1.0, "w": 1.0}
    return {
        "form_power_w": developer_field(t, fit, {"form power"}, n, watts),
        "leg_spring_stiffness_kn_m": developer_field(
            t, fit, {"leg spring stiffness"}, n, {"kn/m": 1.0}
        ),
        "air_power_w": developer_field(t, fit, {"air power"}, n, watts),
    }


def _fit_records(fit: FitFile, foot: np.ndarray | None) -> dict[str, pa.Array]:
    """The record messages as contract columns (no activity_id/elapsed yet)."""
    t = fit.messages.get("record")
    n = 0 if t is None else t.num_rows
    cadence = _cadence(t, n)
    foot_mask = pa.array(foot if foot is not None else np.zeros(n, dtype=bool))
    ts = (
        t["timestamp"].combine_chunks().cast(_MS_UTC)
        if t is not None and "timestamp" in t.column_names
        else pa.nulls(n, _MS_UTC)
    )
    nulls = pa.nulls(n, pa.float64())
    hr = f64_column(t, "heart_rate", n)
    lat, lon = _position(t, n)
    ms = {"milliseconds": 1.0, "ms": 1.0}
    return {
        "timestamp": ts,
        "distance_m": f64_column(t, "distance", n),
        "speed_mps": pc.coalesce(f64_column(t, "enhanced_speed", n), f64_column(t, "speed", n)),
        # 0 bpm is a strap that lost contact, not a heart rate.
        "heart_rate_bpm": pc.if_else(pc.equal(hr, 0.0), nulls, hr),
        "cadence_spm": pc.if_else(foot_mask, pc.multiply(cadence, 2.0), nulls),
        "cadence_rpm": pc.if_else(foot_mask, nulls, cadence),
        "power_w": pc.coalesce(
            f64_column(t, "power", n), developer_field(t, fit, {"power"}, n, {})
        ),
        "vertical_oscillation_mm": pc.coalesce(
            f64_column(t, "vertical_oscillation", n),
            developer_field(t, fit, {"vertical oscillation"}, n, TO_MM),
        ),
        "stance_time_ms": pc.coalesce(
            f64_column(t, "stance_time", n),
            developer_field(t, fit, {"ground time", "ground contact time"}, n, ms),
        ),
        "stance_time_balance_pct": f64_column(t, "stance_time_balance", n),
        "step_length_mm": f64_column(t, "step_length", n),
        "vertical_ratio_pct": f64_column(t, "vertical_ratio", n),
        "latitude_deg": lat,
        "longitude_deg": lon,
        "altitude_m": pc.coalesce(
            f64_column(t, "enhanced_altitude", n), f64_column(t, "altitude", n)
        ),
        "temperature_c": f64_column(t, "temperature", n),
        **_developer_columns(t, fit, n),
    }


def _device(fit: FitFile) -> tuple[str | None, str | None]:
    """(manufacturer, product name) from file_id."""
    fid = fit.messages.get("file_id")
    if fid is None or fid.num_rows == 0:
        return None, None
    row = fid.slice(0, 1).to_pylist()[0]
    manufacturer = row.get("manufacturer")
    manufacturer = str(manufacturer) if manufacturer is not None else None
    product: str | None = row.get("product_name") or None
    num = row.get("product")
    if product is None and isinstance(num, int | float):
        if manufacturer in _GARMIN_FAMILY:
            product = str(enum_names("garmin_product", np.array([int(num)]))[0])
        else:
            product = str(int(num))
    return manufacturer, product


def _file_id_value(fit: FitFile, field: str) -> object:
    """The first file_id message's ``field`` (None when absent)."""
    fid = fit.messages.get("file_id")
    if fid is None or field not in fid.column_names or fid.num_rows == 0:
        return None
    return fid[field][0].as_py()


def _check_activity(fit: FitFile, info: SourceInfo) -> None:
    """Raise NotAnActivity for a FIT file that holds no activity."""
    ftype = _file_id_value(fit, "type")
    if ftype is not None and str(ftype) != "activity":
        raise NotAnActivity(f"FIT file type '{ftype}' holds no activity", source=info.source_path)
    sessions, records = fit.messages.get("session"), fit.messages.get("record")
    if (sessions is None or sessions.num_rows == 0) and (records is None or records.num_rows == 0):
        raise NotAnActivity("no session and no record messages", source=info.source_path)


def _session_rows(
    fit: FitFile, info: SourceInfo, problems: list[Problem]
) -> list[dict[str, object]]:
    """One dict per session message; one made from the sport message when there is none."""
    sessions = fit.messages.get("session")
    if sessions is not None and sessions.num_rows > MAX_SESSIONS:
        raise DecodeError(
            f"{sessions.num_rows} session messages, more than the {MAX_SESSIONS} an activity "
            "file can hold (a corrupt definition?)",
            source=info.source_path,
        )
    if sessions is not None and sessions.num_rows:
        return list(sessions.to_pylist())
    # No session message (a watch that died before writing it): one activity from records.
    sport_msg = fit.messages.get("sport")
    sport = (
        sport_msg["sport"][0].as_py()
        if sport_msg is not None and "sport" in sport_msg.column_names
        else None
    )
    problems.append(
        Problem(ProblemKind.NO_SESSION, "no session message: summary computed from the records")
    )
    return [{"sport": sport or "generic", "sub_sport": None}]


def _fallback_start(
    fit: FitFile, rec_ts: np.ndarray, info: SourceInfo, problems: list[Problem]
) -> float:
    """Where a session without a start begins: its file's first record, else time_created."""
    if rec_ts.size and not np.isnan(rec_ts).all():
        return float(np.nanmin(rec_ts))
    created = _file_id_value(fit, "time_created")
    if not isinstance(created, datetime):
        raise DecodeError(
            "no UTC timestamp anywhere in the file: the activity cannot be placed in time",
            source=info.source_path,
        )
    problems.append(
        Problem(ProblemKind.NO_START_TIME, "no start time: file_id.time_created used instead")
    )
    return float(created.timestamp())


def _session_starts(
    fit: FitFile,
    srows: list[dict[str, object]],
    rec_ts: np.ndarray,
    info: SourceInfo,
    problems: list[Problem],
) -> np.ndarray:
    """Each session's start in UTC seconds (a missing one filled in ``srows`` too)."""
    starts = np.array(
        [
            st.timestamp() if isinstance(st := s.get("start_time"), datetime) else np.nan
            for s in srows
        ],
        dtype=np.float64,
    )
    if not np.isnan(starts).any():
        return starts
    fallback = _fallback_start(fit, rec_ts, info, problems)
    starts = np.where(np.isnan(starts), fallback, starts)
    for s, st in zip(srows, starts.tolist(), strict=True):
        if s.get("start_time") is None:
            s["start_time"] = datetime.fromtimestamp(st, tz=UTC)
    return starts


def _record_times(fit: FitFile) -> np.ndarray:
    records = fit.messages.get("record")
    if records is None:
        return np.zeros(0)
    if "timestamp" not in records.column_names:
        return np.full(records.num_rows, np.nan)
    return timestamp_seconds(records["timestamp"].combine_chunks())


def normalize_fit(fit: FitFile, info: SourceInfo) -> Normalized:
    """The contract tables for one decoded FIT file. Raises NotAnActivity for other files."""
    fit, problems = sanitize(fit)
    _check_activity(fit, info)
    fit, clock_problems = anchor_system_times(fit)
    problems += clock_problems
    fit = merge_heart_rates(fit)
    srows = _session_rows(fit, info, problems)
    rec_ts = _record_times(fit)
    starts = _session_starts(fit, srows, rec_ts, info, problems)
    n_rec = rec_ts.size
    which = assign_to_activities(starts, rec_ts) if n_rec else np.zeros(0, dtype=np.int64)
    anomaly = time_anomalies(rec_ts)
    if anomaly is not None:
        problems.append(anomaly)
    sports = [str(s.get("sport") or "generic") for s in srows]
    foot = np.array([sp in FOOT_SPORTS for sp in sports], dtype=bool)
    sessions = Sessions(
        rows=srows,
        sports=sports,
        starts=starts,
        which=which,
        rec_ts=rec_ts,
        cols=_fit_records(fit, foot[which] if n_rec else None),
        summaries_from_device=True,
    )
    return assemble(
        sessions,
        info=info,
        source_format="fit",
        device=_device(fit),
        laps=fit.messages.get("lap"),
        dev_names=sorted({d.name for d in fit.developer_fields.values()}),
        problems=problems,
    )
