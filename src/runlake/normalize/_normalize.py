"""Normalize stage: decoded FIT messages or GPX points -> the contract tables, SI units, UTC.

One activity per session (multisport files give several). Summary values come from the
device's session and lap messages where it wrote them; where it did not (GPX, a missing
field), they are computed from the records of that activity. Nothing is invented: a value
that neither the device nor the records have stays null.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC as _UTC
from datetime import datetime

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from runlake._errors import DecodeError, NotAnActivity, Problem, ProblemKind
from runlake._schemas import ACTIVITIES, LAPS, RECORDS, SUMMARY_FIELDS
from runlake.decode import FIT_EPOCH_S, SYSTEM_TIME_SUFFIX, FitFile, GpxTrack
from runlake.decode._fitprofile import enum_names

__all__ = [
    "FOOT_SPORTS",
    "MAX_LAP_INDEX",
    "MAX_SESSIONS",
    "Normalized",
    "SourceInfo",
    "normalize_fit",
    "normalize_gpx",
]

SEMICIRCLE_DEG = 180.0 / 2**31
# Sports whose cadence counts steps (FIT stores strides per minute: doubled into steps).
FOOT_SPORTS = frozenset({"running", "walking", "hiking", "mountaineering", "snowshoeing"})
# Garmin's own product numbers are named in the profile's garmin_product type.
_GARMIN_FAMILY = frozenset({"garmin", "dynastream", "dynastream_oem", "tacx"})
# Unit strings of developer fields (Stryd...) and their factor to millimetres.
_TO_MM = {"centimeters": 10.0, "cm": 10.0, "millimeters": 1.0, "mm": 1.0}
# A gap longer than this between GPX points is a pause (no timer in GPX).
GPX_PAUSE_S = 30.0
# A forward jump in sample time longer than this is reported (a clock reset, a merged file).
TIME_GAP_S = 6 * 3600.0
# Altitude changes smaller than this are noise when summing a GPS track's ascent.
ASCENT_HYSTERESIS_M = 2.0
# More session messages than this is not an activity but a corrupt file (a definition that
# turned records into sessions): it is rejected rather than made into thousands of activities.
MAX_SESSIONS = 1000
# lap_index is an int16.
MAX_LAP_INDEX = 32767


@dataclass(frozen=True, slots=True)
class SourceInfo:
    file_sha256: str
    source_path: str
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class Normalized:
    activities: pa.Table
    laps: pa.Table
    records: pa.Table
    problems: tuple[Problem, ...]

    @property
    def year(self) -> int | None:
        """Partition year: the UTC year of the first activity's start."""
        if self.activities.num_rows == 0:
            return None
        first = pc.min(self.activities["start_time"]).as_py()
        return None if first is None else int(first.year)


# -- small column helpers ----------------------------------------------------------------------


def _first(col: pa.Array) -> pa.Array:
    """The first element of each list of a list column (null for an empty list)."""
    t = col.type
    if pa.types.is_fixed_size_list(t) and t.list_size > 0:
        return pc.list_element(col, 0)
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return pa.array([v[0] if v else None for v in col.to_pylist()], type=t.value_type)
    return col


def _f64(t: pa.Table | None, name: str, n: int) -> pa.Array:
    """Column ``name`` of ``t`` as float64 (all-null when absent)."""
    if t is None or t.schema.get_field_index(name) < 0:
        return pa.nulls(n, pa.float64())
    col = _first(t[name].combine_chunks())
    if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        return pa.nulls(n, pa.float64())
    return col.cast(pa.float64(), safe=False)  # a 64-bit integer over 2**53 rounds


# Fields normalize reads by name, and the kind of column it expects for each. A corrupt
# definition (a wrong base type or size) can give any field any type; such a column is
# ignored with a warning rather than trusted.
_TIME_FIELDS = frozenset({"timestamp", "start_time", "time_created", "local_timestamp"})
_TEXT_FIELDS = frozenset({"sport", "sub_sport", "manufacturer", "type", "product_name"})
_READ_MESSAGES = frozenset({"file_id", "session", "lap", "record", "activity", "sport"})


def _expected(name: str, col: pa.Array) -> pa.Array | None:
    """``col`` as the kind of column normalize expects for field ``name``; None: unusable."""
    col = _first(col)
    t = col.type
    if name in _TIME_FIELDS:
        return col if pa.types.is_timestamp(t) else None
    if name.endswith(SYSTEM_TIME_SUFFIX):
        return col if pa.types.is_integer(t) or pa.types.is_floating(t) else None
    if name in _TEXT_FIELDS:
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            return col
        return col.cast(pa.string()) if pa.types.is_integer(t) else None
    return col


# A FIT date_time is a uint32 from the FIT epoch (1989-12-31): later than 2125 or earlier
# than that is a field with a wrong base type, not a time (and may not fit a datetime).
_TIME_MIN_S = FIT_EPOCH_S
_TIME_MAX_S = FIT_EPOCH_S + 2**32
_TIME_RANGE = "1989-12-31..2126-02-06"


def _plausible_times(col: pa.Array) -> tuple[pa.Array, int]:
    """``col`` with the times a FIT date_time cannot hold set to null, and how many."""
    per_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[col.type.unit]
    raw = col.cast(pa.int64())  # the same unit: no conversion, no overflow
    lo, hi = (v.as_py() for v in pc.min_max(raw).values())
    if lo is None or (lo >= _TIME_MIN_S * per_s and hi < _TIME_MAX_S * per_s):
        return col, 0  # all plausible (the usual case): one pass over the column
    bad = pc.or_(pc.less(raw, _TIME_MIN_S * per_s), pc.greater_equal(raw, _TIME_MAX_S * per_s))
    n_bad = pc.sum(bad).as_py() or 0
    if not n_bad:
        return col, 0
    return pc.if_else(bad, pa.nulls(len(col), col.type), col), int(n_bad)


def _sanitize(fit: FitFile) -> tuple[FitFile, list[Problem]]:
    """Drop (with a warning) the columns normalize reads that do not have the expected kind.

    Times and system times are checked in every message (anchoring reads them all), text
    fields in the messages normalize reads.
    """
    problems: list[Problem] = []
    messages = dict(fit.messages)
    for msg, original in fit.messages.items():
        table = original
        for name in original.column_names:
            if not (
                name in _TIME_FIELDS
                or name.endswith(SYSTEM_TIME_SUFFIX)
                or (name in _TEXT_FIELDS and msg in _READ_MESSAGES)
            ):
                continue
            col = table[name].combine_chunks()
            good = _expected(name, col)
            if good is not None and name in _TIME_FIELDS:
                good, n_out = _plausible_times(good)
                if n_out:
                    problems.append(
                        Problem(
                            ProblemKind.FIT_FIELD_TYPE,
                            f"{msg}.{name}: {n_out} values outside {_TIME_RANGE} ignored",
                        )
                    )
            if good is col:
                continue
            i = table.schema.get_field_index(name)
            if good is None:
                table = table.remove_column(i)
                problems.append(
                    Problem(
                        ProblemKind.FIT_FIELD_TYPE,
                        f"{msg}.{name} has an unexpected type {col.type} (a corrupt "
                        "definition?): ignored",
                    )
                )
            else:
                table = table.set_column(i, name, good)
            messages[msg] = table
    if all(messages[k] is fit.messages[k] for k in messages):
        return fit, problems
    return replace(fit, messages=messages), problems


def _coalesce(*arrays: pa.Array) -> pa.Array:
    return pc.coalesce(*arrays)


def _dev(
    t: pa.Table | None, fit: FitFile, names: set[str], n: int, units_scale: dict[str, float]
) -> pa.Array:
    """A developer field by (lower-case) name; scaled to SI by its declared units."""
    if t is None:
        return pa.nulls(n, pa.float64())
    for col, dev in fit.developer_fields.items():
        if dev.name.strip().lower() in names and t.schema.get_field_index(col) >= 0:
            units = (dev.units or "").strip().lower()
            if units_scale and units not in units_scale:
                continue
            arr = _f64(t, col, n)
            factor = units_scale.get(units, 1.0) if units_scale else 1.0
            return pc.multiply(arr, factor) if factor != 1.0 else arr
    return pa.nulls(n, pa.float64())


def _strings(t: pa.Table | None, name: str, n: int) -> pa.Array:
    if t is None or t.schema.get_field_index(name) < 0:
        return pa.nulls(n, pa.string())
    col = t[name].combine_chunks()
    return col if pa.types.is_string(col.type) else col.cast(pa.string())


def _ts_seconds(col: pa.Array) -> np.ndarray:
    """UTC timestamps as float seconds (NaN for null)."""
    as_ms = col.cast(pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    secs = pc.divide(as_ms.cast(pa.float64()), 1000.0)
    return np.asarray(secs.to_numpy(zero_copy_only=False), dtype=np.float64)


def _np(a: pa.Array) -> np.ndarray:
    return np.asarray(a.to_numpy(zero_copy_only=False), dtype=np.float64)


def _from_np(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.float64(), from_pandas=True)  # NaN -> null


def _mean(a: np.ndarray) -> float | None:
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else None


def _max(a: np.ndarray) -> float | None:
    a = a[~np.isnan(a)]
    return float(a.max()) if a.size else None


def _ascent(alt: np.ndarray) -> tuple[float | None, float | None]:
    """Total ascent and descent of an altitude trace, ignoring wiggles under the hysteresis."""
    alt = alt[~np.isnan(alt)]
    if alt.size < 2:
        return None, None
    up = down = 0.0
    ref = float(alt[0])
    for v in alt[1:].tolist():
        if v - ref >= ASCENT_HYSTERESIS_M:
            up += v - ref
            ref = v
        elif ref - v >= ASCENT_HYSTERESIS_M:
            down += ref - v
            ref = v
    return up, down


# -- records -------------------------------------------------------------------------------


def _fit_records(fit: FitFile, foot: np.ndarray | None) -> dict[str, pa.Array]:
    """The record messages as contract columns (no activity_id/elapsed yet)."""
    t = fit.messages.get("record")
    n = 0 if t is None else t.num_rows
    cadence = _coalesce(
        pc.add(_f64(t, "cadence", n), pc.coalesce(_f64(t, "fractional_cadence", n), 0.0)),
        _f64(t, "cadence256", n),
    )
    foot_mask = pa.array(foot if foot is not None else np.zeros(n, dtype=bool))
    ts = (
        t["timestamp"].combine_chunks().cast(pa.timestamp("ms", tz="UTC"))
        if t is not None and "timestamp" in t.column_names
        else pa.nulls(n, pa.timestamp("ms", tz="UTC"))
    )
    nulls = pa.nulls(n, pa.float64())
    lat, lon = _f64(t, "position_lat", n), _f64(t, "position_long", n)
    hr = _f64(t, "heart_rate", n)
    # Exactly 0/0 is what some devices write before a GPS fix: no position, not a place.
    no_fix = pc.fill_null(pc.and_(pc.equal(lat, 0.0), pc.equal(lon, 0.0)), False)
    return {
        "timestamp": ts,
        "distance_m": _f64(t, "distance", n),
        "speed_mps": _coalesce(_f64(t, "enhanced_speed", n), _f64(t, "speed", n)),
        # 0 bpm is a strap that lost contact, not a heart rate.
        "heart_rate_bpm": pc.if_else(pc.equal(hr, 0.0), nulls, hr),
        "cadence_spm": pc.if_else(foot_mask, pc.multiply(cadence, 2.0), nulls),
        "cadence_rpm": pc.if_else(foot_mask, nulls, cadence),
        "power_w": _coalesce(_f64(t, "power", n), _dev(t, fit, {"power"}, n, {})),
        "vertical_oscillation_mm": _coalesce(
            _f64(t, "vertical_oscillation", n),
            _dev(t, fit, {"vertical oscillation"}, n, _TO_MM),
        ),
        "stance_time_ms": _coalesce(
            _f64(t, "stance_time", n),
            _dev(
                t, fit, {"ground time", "ground contact time"}, n, {"milliseconds": 1.0, "ms": 1.0}
            ),
        ),
        "stance_time_balance_pct": _f64(t, "stance_time_balance", n),
        "step_length_mm": _f64(t, "step_length", n),
        "vertical_ratio_pct": _f64(t, "vertical_ratio", n),
        "latitude_deg": pc.if_else(no_fix, nulls, pc.multiply(lat, SEMICIRCLE_DEG)),
        "longitude_deg": pc.if_else(no_fix, nulls, pc.multiply(lon, SEMICIRCLE_DEG)),
        "altitude_m": _coalesce(_f64(t, "enhanced_altitude", n), _f64(t, "altitude", n)),
        "temperature_c": _f64(t, "temperature", n),
        "form_power_w": _dev(t, fit, {"form power"}, n, {"watts": 1.0, "w": 1.0}),
        "leg_spring_stiffness_kn_m": _dev(t, fit, {"leg spring stiffness"}, n, {"kn/m": 1.0}),
        "air_power_w": _dev(t, fit, {"air power"}, n, {"watts": 1.0, "w": 1.0}),
    }


def _assign(starts: np.ndarray, ts: np.ndarray) -> np.ndarray:
    """Index of the activity each sample belongs to: the last one starting at or before it."""
    filled = ts.copy()
    if filled.size and np.isnan(filled).any():
        idx = np.where(~np.isnan(filled), np.arange(filled.size), 0)
        np.maximum.accumulate(idx, out=idx)
        filled = filled[idx]
    order = np.argsort(starts, kind="stable")
    which = np.searchsorted(starts[order], filled, side="right") - 1
    which = np.clip(which, 0, len(starts) - 1)
    which[np.isnan(filled)] = 0
    return order[which]


def time_anomalies(ts: np.ndarray, *, gap_s: float = TIME_GAP_S) -> Problem | None:
    """A warning when sample times jump backwards, or forwards by more than ``gap_s``.

    The samples are kept in file order (the file is the record of what the device wrote);
    the warning tells analysts why elapsed time may not grow steadily.
    """
    t = ts[~np.isnan(ts)]
    if t.size < 2:
        return None
    d = np.diff(t)
    back = d < 0
    fwd = d > gap_s
    if not back.any() and not fwd.any():
        return None
    parts = []
    if back.any():
        parts.append(f"{int(back.sum())} backwards (largest {float(-d[back].min()):.0f} s)")
    if fwd.any():
        parts.append(
            f"{int(fwd.sum())} forwards by more than {gap_s:.0f} s "
            f"(largest {float(d[fwd].max()):.0f} s)"
        )
    return Problem(
        ProblemKind.TIME_ANOMALY,
        "sample times jump " + " and ".join(parts) + "; samples kept in file order",
    )


# -- summaries -------------------------------------------------------------------------------


_MEANS = {
    "avg_hr_bpm": "heart_rate_bpm",
    "avg_cadence_spm": "cadence_spm",
    "avg_cadence_rpm": "cadence_rpm",
    "avg_power_w": "power_w",
    "avg_vertical_oscillation_mm": "vertical_oscillation_mm",
    "avg_vertical_ratio_pct": "vertical_ratio_pct",
    "avg_stance_time_ms": "stance_time_ms",
    "avg_stance_time_balance_pct": "stance_time_balance_pct",
    "avg_step_length_mm": "step_length_mm",
}
_MAXES = {"max_speed_mps": "speed_mps", "max_hr_bpm": "heart_rate_bpm"}


def _summary_from_records(rec: _Samples, have: dict[str, object]) -> dict[str, float | None]:
    """Summary values computed from an activity's samples where the device wrote none.

    Only the values missing from ``have`` (the device's) are computed.
    """
    out: dict[str, float | None] = {}

    def missing(key: str) -> bool:
        return have.get(key) is None

    if missing("elapsed_s"):
        ts = rec["t"]
        good_t = ts[~np.isnan(ts)]
        out["elapsed_s"] = float(good_t.max() - good_t.min()) if good_t.size >= 2 else None
    if missing("distance_m"):
        dist = rec["distance_m"]
        dist_ok = dist[~np.isnan(dist)]
        out["distance_m"] = float(dist_ok.max() - dist_ok.min()) if dist_ok.size >= 2 else None
    for key, col in _MEANS.items():
        if missing(key):
            out[key] = _mean(rec[col])
    for key, col in _MAXES.items():
        if missing(key):
            out[key] = _max(rec[col])
    if missing("total_ascent_m") or missing("total_descent_m"):
        up, down = _ascent(rec["altitude_m"])
        if missing("total_ascent_m"):
            out["total_ascent_m"] = up
        if missing("total_descent_m"):
            out["total_descent_m"] = down
    return out


class _Samples:
    """An activity's record columns as numpy arrays, converted only when asked for."""

    def __init__(self, cols: dict[str, pa.Array], ts: np.ndarray, mask: np.ndarray | None):
        self._cols = cols
        self._ts = ts
        self._mask = mask
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, key: str) -> np.ndarray:
        if key not in self._cache:
            arr = self._ts if key == "t" else _np(self._cols[key])
            self._cache[key] = arr if self._mask is None else arr[self._mask]
        return self._cache[key]


# The fields of a session or lap message that _summary_from_message reads.
_MESSAGE_FIELDS = frozenset(
    {
        "start_time",
        "timestamp",
        "total_timer_time",
        "total_elapsed_time",
        "total_distance",
        "enhanced_avg_speed",
        "avg_speed",
        "enhanced_max_speed",
        "max_speed",
        "avg_heart_rate",
        "max_heart_rate",
        "avg_running_cadence",
        "avg_cadence",
        "avg_fractional_cadence",
        "avg_power",
        "avg_vertical_oscillation",
        "avg_vertical_ratio",
        "avg_stance_time",
        "avg_stance_time_balance",
        "avg_step_length",
        "total_ascent",
        "total_descent",
        "total_calories",
    }
)


def _summary_from_message(row: dict[str, object], foot: bool) -> dict[str, object]:
    """Summary values of a FIT session or lap message in SI units (None where not written)."""

    def num(*names: str) -> float | None:
        for name in names:
            v = row.get(name)
            if isinstance(v, int | float) and not (isinstance(v, float) and np.isnan(v)):
                return float(v)
        return None

    def positive(*names: str) -> float | None:
        # Devices write 0 for "no sensor" in these averages: 0 bpm or 0 W over a session is
        # missing data, not a value.
        v = num(*names)
        return v if v is not None and v > 0 else None

    cad = positive("avg_running_cadence", "avg_cadence")
    if cad is not None:
        cad += num("avg_fractional_cadence") or 0.0
    return {
        "start_time": row.get("start_time") or row.get("timestamp"),
        "duration_s": num("total_timer_time"),
        "elapsed_s": num("total_elapsed_time"),
        "distance_m": num("total_distance"),
        "avg_speed_mps": num("enhanced_avg_speed", "avg_speed"),
        "max_speed_mps": num("enhanced_max_speed", "max_speed"),
        "avg_hr_bpm": positive("avg_heart_rate"),
        "max_hr_bpm": positive("max_heart_rate"),
        "avg_cadence_spm": cad * 2.0 if cad is not None and foot else None,
        "avg_cadence_rpm": cad if cad is not None and not foot else None,
        "avg_power_w": positive("avg_power"),
        "avg_vertical_oscillation_mm": positive("avg_vertical_oscillation"),
        "avg_vertical_ratio_pct": positive("avg_vertical_ratio"),
        "avg_stance_time_ms": positive("avg_stance_time"),
        "avg_stance_time_balance_pct": positive("avg_stance_time_balance"),
        "avg_step_length_mm": positive("avg_step_length"),
        "total_ascent_m": num("total_ascent"),
        "total_descent_m": num("total_descent"),
        "total_calories_kcal": num("total_calories"),
    }


def _merge_summary(
    device: dict[str, object], computed: dict[str, float | None]
) -> dict[str, object]:
    out = dict(device)
    for k, v in computed.items():
        if out.get(k) is None:
            out[k] = v
    if out.get("duration_s") is None:
        out["duration_s"] = out.get("elapsed_s")
    if out.get("avg_speed_mps") is None:
        dist, dur = out.get("distance_m"), out.get("duration_s")
        if isinstance(dist, float) and isinstance(dur, float) and dur > 0:
            out["avg_speed_mps"] = dist / dur
    return out


# -- FIT ----------------------------------------------------------------------------------------


def _device(fit: FitFile) -> tuple[str | None, str | None]:
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


def _file_type(fit: FitFile) -> str | None:
    fid = fit.messages.get("file_id")
    if fid is None or "type" not in fid.column_names or fid.num_rows == 0:
        return None
    v = fid["type"][0].as_py()
    return None if v is None else str(v)


def _anchor_system_times(fit: FitFile) -> tuple[FitFile, list[Problem]]:
    """Give absolute times to files that only have the device's system time.

    Old devices write seconds since power-on (``<field>__system_s`` from the decoder) and,
    in the activity message, the local wall-clock time of the same instant. That anchors
    every system time to the local clock; the time zone stays unknown, which a warning says.
    """
    relative = [
        (name, col)
        for name, t in fit.messages.items()
        for col in t.column_names
        if col.endswith(SYSTEM_TIME_SUFFIX)
    ]
    if not relative:
        return fit, []
    act = fit.messages.get("activity")
    offset: float | None = None
    key = "timestamp" + SYSTEM_TIME_SUFFIX
    if act is not None and "local_timestamp" in act.column_names and key in act.column_names:
        for local, system in zip(
            act["local_timestamp"].to_pylist(), act[key].to_pylist(), strict=True
        ):
            if local is not None and system is not None:
                offset = local.replace(tzinfo=_UTC).timestamp() - float(system)
                break
    if offset is None:
        return fit, [
            Problem(
                ProblemKind.NO_UTC_TIME,
                "times are relative to the device's power-on and nothing anchors them",
            )
        ]
    messages = dict(fit.messages)
    for name, col in relative:
        t = messages[name]
        base = col[: -len(SYSTEM_TIME_SUFFIX)]
        secs = pc.add(t[col].combine_chunks(), int(offset))
        anchored = pc.multiply(secs, 1000).cast(pa.timestamp("ms", tz="UTC"))
        if base in t.column_names:
            merged = pc.coalesce(t[base].combine_chunks().cast(anchored.type), anchored)
            t = t.set_column(t.schema.get_field_index(base), base, merged)
        else:
            t = t.append_column(base, anchored)
        messages[name] = t
    problem = Problem(
        ProblemKind.LOCAL_TIME_AS_UTC,
        "the file has no UTC time, only the device's system time: times are anchored on "
        "its local clock (activity.local_timestamp) and may be off by the time zone offset",
    )
    return replace(fit, messages=messages), [problem]


def _time_created(fit: FitFile) -> float | None:
    fid = fit.messages.get("file_id")
    if fid is None or "time_created" not in fid.column_names or fid.num_rows == 0:
        return None
    v = fid["time_created"][0].as_py()
    return None if v is None else float(v.timestamp())


def normalize_fit(fit: FitFile, info: SourceInfo) -> Normalized:
    """The contract tables for one decoded FIT file. Raises NotAnActivity for other files."""
    fit, type_problems = _sanitize(fit)
    ftype = _file_type(fit)
    sessions = fit.messages.get("session")
    records = fit.messages.get("record")
    n_rec = 0 if records is None else records.num_rows
    if ftype is not None and ftype != "activity":
        raise NotAnActivity(f"FIT file type '{ftype}' holds no activity", source=info.source_path)
    if (sessions is None or sessions.num_rows == 0) and n_rec == 0:
        raise NotAnActivity("no session and no record messages", source=info.source_path)

    fit, problems = _anchor_system_times(fit)
    problems = type_problems + problems
    sessions = fit.messages.get("session")
    records = fit.messages.get("record")
    if sessions is not None and sessions.num_rows > MAX_SESSIONS:
        raise DecodeError(
            f"{sessions.num_rows} session messages, more than the {MAX_SESSIONS} an activity "
            "file can hold (a corrupt definition?)",
            source=info.source_path,
        )
    if sessions is not None and sessions.num_rows:
        srows = sessions.to_pylist()
    else:
        # No session message (a watch that died before writing it): one activity from records.
        sport_msg = fit.messages.get("sport")
        sport = (
            sport_msg["sport"][0].as_py()
            if sport_msg is not None and "sport" in (sport_msg.column_names)
            else None
        )
        srows = [{"sport": sport or "generic", "sub_sport": None}]
        problems.append(
            Problem(ProblemKind.NO_SESSION, "no session message: summary computed from the records")
        )

    rec_ts = (
        _ts_seconds(records["timestamp"].combine_chunks())
        if records is not None and "timestamp" in records.column_names
        else np.full(n_rec, np.nan)
    )
    starts = np.array(
        [
            (s["start_time"].timestamp() if s.get("start_time") is not None else np.nan)
            for s in srows
        ],
        dtype=np.float64,
    )
    if np.isnan(starts).any():
        # A session without a start: its first record, else when the file was created.
        if n_rec and not np.isnan(rec_ts).all():
            fallback: float | None = float(np.nanmin(rec_ts))
        else:
            fallback = _time_created(fit)
            if fallback is not None:
                problems.append(
                    Problem(
                        ProblemKind.NO_START_TIME,
                        "no start time: file_id.time_created used instead",
                    )
                )
        if fallback is None:
            raise DecodeError(
                "no UTC timestamp anywhere in the file: the activity cannot be placed in time",
                source=info.source_path,
            )
        starts = np.where(np.isnan(starts), fallback, starts)
        for s, st in zip(srows, starts.tolist(), strict=True):
            if s.get("start_time") is None:
                s["start_time"] = datetime.fromtimestamp(st, tz=_UTC)
    which = _assign(starts, rec_ts) if n_rec else np.zeros(0, dtype=np.int64)
    anomaly = time_anomalies(rec_ts)
    if anomaly is not None:
        problems.append(anomaly)
    sports = [str(s.get("sport") or "generic") for s in srows]
    foot = np.array([sp in FOOT_SPORTS for sp in sports], dtype=bool)
    cols = _fit_records(fit, foot[which] if n_rec else None)
    manufacturer, product = _device(fit)
    return _assemble(
        info=info,
        source_format="fit",
        session_rows=srows,
        sports=sports,
        starts=starts,
        which=which,
        rec_ts=rec_ts,
        cols=cols,
        manufacturer=manufacturer,
        product=product,
        laps=fit.messages.get("lap"),
        dev_names=sorted({d.name for d in fit.developer_fields.values()}),
        problems=problems,
    )


def _assemble(
    *,
    info: SourceInfo,
    source_format: str,
    session_rows: list[dict[str, object]],
    sports: list[str],
    starts: np.ndarray,
    which: np.ndarray,
    rec_ts: np.ndarray,
    cols: dict[str, pa.Array],
    manufacturer: str | None,
    product: str | None,
    laps: pa.Table | None,
    dev_names: list[str],
    problems: list[Problem],
) -> Normalized:
    n_act = len(session_rows)
    ids = [f"{info.file_sha256[:16]}-{i}" for i in range(n_act)]
    n_rec = len(which)
    # records, ordered by activity then file order
    order = np.argsort(which, kind="stable")
    rec_start = starts[which] if n_rec else np.zeros(0)
    elapsed = rec_ts - rec_start
    record_cols: dict[str, pa.Array] = {
        "activity_id": pa.array(ids, type=pa.string()).take(pa.array(which, pa.int64())),
        "elapsed_s": _from_np(elapsed),
        **cols,
    }
    records = pa.table({f.name: record_cols[f.name] for f in RECORDS}, schema=RECORDS)
    if n_rec and np.any(np.diff(which) < 0):
        records = records.take(pa.array(order))

    act_rows: list[dict[str, object]] = []
    for i, srow in enumerate(session_rows):
        mask = which == i
        sub = _Samples(cols, rec_ts, None if n_act == 1 else mask)
        foot = sports[i] in FOOT_SPORTS
        device = _summary_from_message(srow, foot) if source_format == "fit" else {}
        summary = _merge_summary(device, _summary_from_records(sub, device))
        if summary.get("start_time") is None:
            summary["start_time"] = datetime.fromtimestamp(float(starts[i]), tz=_UTC)
        start = summary["start_time"]
        el = summary.get("elapsed_s")
        end = (
            datetime.fromtimestamp(start.timestamp() + el, tz=_UTC)
            if isinstance(el, float) and isinstance(start, datetime)
            else None
        )
        rd = (
            summary.get("avg_vertical_oscillation_mm") is not None
            or summary.get("avg_stance_time_ms") is not None
        )
        has_gps = bool((~np.isnan(sub["latitude_deg"])).any())
        act_rows.append(
            {
                "activity_id": ids[i],
                "file_sha256": info.file_sha256,
                "session_index": i,
                "source_path": info.source_path,
                "source_format": source_format,
                "sport": sports[i],
                "sub_sport": (
                    str(srow["sub_sport"]) if srow.get("sub_sport") is not None else None
                ),
                "device_manufacturer": manufacturer,
                "device_product": product,
                "end_time": end,
                **{name: summary.get(name) for name, _, _ in SUMMARY_FIELDS},
                "n_records": int(mask.sum()),
                "has_running_dynamics": rd,
                "has_gps": has_gps,
                "developer_fields": dev_names,
                "ingested_at": info.ingested_at,
            }
        )
    activities = pa.Table.from_pylist(act_rows, schema=ACTIVITIES)

    lap_rows: list[dict[str, object]] = []
    if laps is not None and laps.num_rows:
        used = [i for i, name in enumerate(laps.column_names) if name in _MESSAGE_FIELDS]
        lrows = laps.select(used).to_pylist()  # the fields read below, not every one
        lstarts = np.array(
            [
                (r["start_time"].timestamp() if r.get("start_time") is not None else np.nan)
                for r in lrows
            ]
        )
        lwhich = _assign(starts, lstarts)
        counters = [0] * n_act
        for r, w in zip(lrows, lwhich.tolist(), strict=True):
            if counters[w] > MAX_LAP_INDEX:
                continue  # reported below
            summary = _summary_from_message(r, sports[w] in FOOT_SPORTS)
            lap_rows.append(
                {
                    "activity_id": ids[w],
                    "lap_index": counters[w],
                    **{name: summary.get(name) for name, _, _ in SUMMARY_FIELDS},
                }
            )
            counters[w] += 1
        if len(lap_rows) < len(lrows):
            problems.append(
                Problem(
                    ProblemKind.TOO_MANY_LAPS,
                    f"{len(lrows) - len(lap_rows)} laps past the {MAX_LAP_INDEX + 1}th of an "
                    "activity were left out",
                )
            )
    lap_table = pa.Table.from_pylist(lap_rows, schema=LAPS)
    return Normalized(activities, lap_table, records, tuple(problems))


# -- GPX ---------------------------------------------------------------------------------------

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


def normalize_gpx(track: GpxTrack, info: SourceInfo) -> Normalized:
    """The contract tables for one GPX track (one activity)."""
    pts = track.points
    n = pts.num_rows
    if n == 0:
        raise NotAnActivity("GPX has no timestamped track points", source=info.source_path)
    sport = gpx_sport(track.activity_type, track.name)
    foot = sport in FOOT_SPORTS
    ts = _ts_seconds(pts["timestamp"].combine_chunks())
    lat = _np(pts["latitude_deg"].combine_chunks())
    lon = _np(pts["longitude_deg"].combine_chunks())
    step = _haversine_m(lat, lon)
    dist = np.concatenate(([0.0], np.cumsum(np.nan_to_num(step))))[:n] if n else np.zeros(0)
    dt = np.diff(ts)
    with np.errstate(divide="ignore", invalid="ignore"):
        speed = np.concatenate(([np.nan], np.where(dt > 0, step / dt, np.nan)))[:n]
    moving = float(np.nansum(np.where((dt > 0) & (dt <= GPX_PAUSE_S), dt, 0.0))) if n > 1 else None
    cad = _np(pts["cadence_raw"].combine_chunks())
    nulls = np.full(n, np.nan)
    cols: dict[str, pa.Array] = {
        "timestamp": pts["timestamp"].combine_chunks(),
        "distance_m": _from_np(dist),
        "speed_mps": _from_np(speed),
        "heart_rate_bpm": pts["heart_rate_bpm"].combine_chunks(),
        "cadence_spm": _from_np(cad * 2.0 if foot else nulls),
        "cadence_rpm": _from_np(nulls if foot else cad),
        "power_w": pts["power_w"].combine_chunks(),
        "vertical_oscillation_mm": _from_np(nulls),
        "stance_time_ms": _from_np(nulls),
        "stance_time_balance_pct": _from_np(nulls),
        "step_length_mm": _from_np(nulls),
        "vertical_ratio_pct": _from_np(nulls),
        "latitude_deg": _from_np(lat),
        "longitude_deg": _from_np(lon),
        "altitude_m": pts["altitude_m"].combine_chunks(),
        "temperature_c": pts["temperature_c"].combine_chunks(),
        "form_power_w": _from_np(nulls),
        "leg_spring_stiffness_kn_m": _from_np(nulls),
        "air_power_w": _from_np(nulls),
    }
    start = float(np.nanmin(ts))
    srow: dict[str, object] = {
        "sport": sport,
        "sub_sport": None,
        "start_time": datetime.fromtimestamp(start, tz=_UTC),
        "duration_s": moving,
    }
    normalized = _assemble(
        info=info,
        source_format="gpx",
        session_rows=[srow],
        sports=[sport],
        starts=np.array([start]),
        which=np.zeros(n, dtype=np.int64),
        rec_ts=ts,
        cols=cols,
        manufacturer=track.creator,
        product=None,
        laps=None,
        dev_names=[],
        problems=list(track.problems),
    )
    acts = normalized.activities
    if moving is not None:
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
    return Normalized(acts, normalized.laps, normalized.records, normalized.problems)


def _haversine_m(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance between consecutive points, metres (NaN where unknown)."""
    if lat.size < 2:
        return np.zeros(0)
    r = 6371008.8
    p1, p2 = np.radians(lat[:-1]), np.radians(lat[1:])
    dphi = p2 - p1
    dlmb = np.radians(lon[1:] - lon[:-1])
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return np.asarray(2 * r * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))), dtype=np.float64)
