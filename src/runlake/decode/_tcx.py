"""TCX decoder: a Garmin Training Center document (bytes) -> its activities, laps and points.

TrainingCenterDatabase v2 and Garmin's ActivityExtension v2 (``TPX`` on trackpoints:
``Speed``, ``RunCadence``, ``Watts``; ``LX`` on laps: ``AvgSpeed``, ``AvgRunCadence``,
``AvgWatts``...). The bytes are parsed once by the safe XML layer
(:mod:`runlake.decode._xml`: no DTD, no entities, no network; errors with their line), then
read into columns like GPX: one pass collects the text values, numbers and times are
converted in bulk. Elements are matched by local name, whatever their namespace or prefix
(``x:TPX``, ``ns2:TPX``, an inline default namespace), in the schema's places:
``Activities/Activity`` (and the activities of a ``MultiSportSession``), ``Activity/Lap``,
``Lap/Track/Trackpoint`` (several Tracks per lap are read in order).

Values are returned as written, in the file's units: ``cadence_raw`` is the trackpoint's
``Cadence`` (revolutions per minute on a bike; some running apps write strides or steps per
minute there), ``run_cadence_raw`` TPX ``RunCadence`` (strides per minute by Garmin's
schema), a lap's ``maximum_speed_raw`` its ``MaximumSpeed`` (m/s by the schema; Strava
writes other units). The normalize stage decides what they mean.

Several activities in one file are several activities (like a multisport FIT file); a file
with courses or workouts but no activity is :class:`NotAnActivity`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa

from runlake._errors import NotAnActivity, OnError, Problem, TcxError
from runlake.decode._xml import (
    MAX_XML_BYTES,
    TIME_INVALID,
    TIME_NAIVE,
    Element,
    LocalNames,
    Recorder,
    parse_floats,
    parse_times,
    parse_xml,
)

__all__ = [
    "MAX_TCX_BYTES",
    "TCX_LAPS_SCHEMA",
    "TCX_POINTS_SCHEMA",
    "TcxActivity",
    "TcxFile",
    "decode_tcx",
]

MAX_TCX_BYTES = MAX_XML_BYTES
"""Default bound on the size of a TCX document (200 MB)."""

_UTC_MS = pa.timestamp("ms", tz="UTC")
_F64 = pa.float64()

# Trackpoint children read as text -> their column (index into _POINT_VALUES).
_POINT_TEXT = {"Time": 0, "AltitudeMeters": 3, "DistanceMeters": 4, "Cadence": 6}
_POSITION = {"LatitudeDegrees": 1, "LongitudeDegrees": 2}
# TPX children -> column (the first non-blank value of each wins).
_TPX = {"Speed": 7, "RunCadence": 8, "Watts": 9}
_N_POINT = 10
# (name in the file, column name); the order of the values collected per trackpoint.
_POINT_COLUMNS = (
    ("Time", "timestamp"),
    ("LatitudeDegrees", "latitude_deg"),
    ("LongitudeDegrees", "longitude_deg"),
    ("AltitudeMeters", "altitude_m"),
    ("DistanceMeters", "distance_m"),
    ("HeartRateBpm", "heart_rate_bpm"),
    ("Cadence", "cadence_raw"),
    ("Speed", "speed_mps"),
    ("RunCadence", "run_cadence_raw"),
    ("Watts", "power_w"),
)

TCX_POINTS_SCHEMA = pa.schema(
    [
        pa.field("timestamp", _UTC_MS),
        *(pa.field(name, _F64) for _, name in _POINT_COLUMNS[1:]),
        pa.field("activity", pa.int32()),
        pa.field("lap", pa.int32()),
    ]
)
"""Columns of :attr:`TcxFile.points`: every timed trackpoint, in file order; ``activity``
is the index of its activity in :attr:`TcxFile.activities`, ``lap`` of its lap there."""

# Lap children read as text -> column; the heart rates are the <Value> of their element.
_LAP_TEXT = {
    "TotalTimeSeconds": 0,
    "DistanceMeters": 1,
    "MaximumSpeed": 2,
    "Calories": 3,
    "AverageHeartRateBpm": 4,
    "MaximumHeartRateBpm": 5,
    "Cadence": 6,
}
# LX children -> column.
_LX = {
    "AvgSpeed": 7,
    "AvgRunCadence": 8,
    "MaxRunCadence": 9,
    "AvgWatts": 10,
    "MaxWatts": 11,
    "MaxBikeCadence": 12,
    "Steps": 13,
}
_LAP_COLUMNS = (
    "total_time_s",
    "distance_m",
    "maximum_speed_raw",
    "calories_kcal",
    "avg_heart_rate_bpm",
    "max_heart_rate_bpm",
    "cadence_raw",
    "avg_speed_mps",
    "avg_run_cadence_raw",
    "max_run_cadence_raw",
    "avg_power_w",
    "max_power_w",
    "max_bike_cadence_rpm",
    "steps",
)
_LAP_NAMES = (*_LAP_TEXT, *_LX)
_N_LAP = len(_LAP_COLUMNS)

TCX_LAPS_SCHEMA = pa.schema(
    [
        pa.field("activity", pa.int32()),
        pa.field("start_time", _UTC_MS),
        *(pa.field(name, _F64) for name in _LAP_COLUMNS),
    ]
)
"""Columns of :attr:`TcxFile.laps`, one row per ``<Lap>`` in file order (the LX values
from the lap's ``Extensions``)."""

_ACTIVITY_PARENTS = frozenset({"Activities", "FirstSport", "NextSport"})


@dataclass(frozen=True, slots=True)
class TcxActivity:
    """One ``<Activity>``: its sport, ``<Id>`` and ``<Creator>`` (the device)."""

    sport: str | None
    """The ``Sport`` attribute as written (Running, Biking, Other, or a writer's own)."""
    start_time: datetime | None
    """``<Id>``, the activity's start (UTC), when it is a time."""
    creator_name: str | None
    """``<Creator><Name>`` (e.g. ``Forerunner 235``)."""
    creator_product_id: str | None
    """``<Creator><ProductID>`` (Garmin's product number)."""


@dataclass(frozen=True, slots=True)
class TcxFile:
    """What a TCX file holds: its activities, their laps and trackpoints."""

    activities: list[TcxActivity]
    laps: pa.Table
    """:data:`TCX_LAPS_SCHEMA`."""
    points: pa.Table
    """:data:`TCX_POINTS_SCHEMA`."""
    author: str | None
    """``<Author><Name>``: the application that wrote the file."""
    problems: list[Problem] = field(default_factory=list)
    """Non-fatal issues found while decoding (``on_error="warn"``)."""


@dataclass(slots=True)
class _Collected:
    activities: list[TcxActivity] = field(default_factory=list)
    ids: list[str | None] = field(default_factory=list)
    """Each activity's ``<Id>`` text (times converted at the end, all at once)."""
    laps: list[tuple[object, ...]] = field(default_factory=list)
    points: list[tuple[object, ...]] = field(default_factory=list)
    tpx_codes: dict[str, int] = field(default_factory=dict)
    """TPX tags seen -> column (-1: none)."""
    lx_codes: dict[str, int] = field(default_factory=dict)
    """LX tags seen -> column (-1: none)."""


def decode_tcx(
    data: bytes,
    *,
    source: str,
    on_error: OnError = "warn",
    max_bytes: int = MAX_TCX_BYTES,
) -> TcxFile:
    """Decode a TCX document into its activities, laps and timed trackpoints.

    Raises :class:`TcxError` for an empty, oversized, malformed, unsafe (DTD, entities) or
    non-TCX document, and :class:`NotAnActivity` when it holds no activity (courses,
    workouts). Trackpoints without a time are dropped, naive times taken as UTC, values
    that are not numbers left out: each is recorded as a :class:`Problem` (once per file
    and kind) or, with ``on_error="raise"``, raised as TcxError.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', not {on_error!r}")
    root = parse_xml(
        data,
        source=source,
        error=TcxError,
        what="TCX",
        roots=("TrainingCenterDatabase",),
        max_bytes=max_bytes,
    )
    names = LocalNames()
    got = _Collected()
    for activity in root.iter("{*}Activity"):
        parent = activity.getparent()
        if parent is not None and names(parent.tag) in _ACTIVITY_PARENTS:
            _read_activity(activity, got, names)
    if not got.activities:
        raise NotAnActivity(_no_activity_reason(root, names), source=source)
    record = Recorder(source, on_error, TcxError)
    activities = _with_start_times(got.activities, pa.array(got.ids, type=pa.string()))
    return TcxFile(
        activities=activities,
        laps=_lap_table(_lap_columns(got.laps), record),
        points=_point_table(_point_columns(got.points), record),
        author=_clean(_path_text(root, names, ("Author", "Name"))),
        problems=record.problems,
    )


def _with_start_times(activities: list[TcxActivity], ids: pa.Array) -> list[TcxActivity]:
    ms, state = parse_times(ids)
    return [
        a if s == TIME_INVALID else replace(a, start_time=datetime.fromtimestamp(t / 1000, tz=UTC))
        for a, t, s in zip(activities, ms.tolist(), state.tolist(), strict=True)
    ]


def _read_activity(activity: Element, got: _Collected, names: LocalNames) -> None:
    index = len(got.activities)
    start_id = creator = None
    lap = 0
    for child in activity:
        local = names[child.tag]
        if local == "Lap":
            got.laps.append(_read_lap(child, index, lap, got, names))
            lap += 1
        elif local == "Id" and start_id is None:
            start_id = child.text
        elif local == "Creator" and creator is None:
            creator = child
    got.ids.append(start_id)
    got.activities.append(
        TcxActivity(
            sport=_clean(activity.get("Sport")),
            start_time=None,
            creator_name=_clean(_path_text(creator, names, ("Name",))),
            creator_product_id=_clean(_path_text(creator, names, ("ProductID",))),
        )
    )


def _read_lap(
    lap: Element, activity: int, index: int, got: _Collected, names: LocalNames
) -> tuple[object, ...]:
    """The lap's values (``activity``, ``StartTime``, then _LAP_COLUMNS); its trackpoints
    are appended to ``got.points``."""
    values: list[str | None] = [None] * _N_LAP
    for child in lap:
        local = names[child.tag]
        k = _LAP_TEXT.get(local)
        if k is not None:
            if values[k] is None:
                values[k] = child.text if k < 4 or k == 6 else _value_of(child, names)
        elif local == "Track":
            for tp in child.iterchildren("{*}Trackpoint"):
                got.points.append((*_read_point(tp, got.tpx_codes, names), activity, index))
        elif local == "Extensions":
            _first_values(child, _LX, values, got.lx_codes)
    return (activity, lap.get("StartTime"), *values)


def _read_point(tp: Element, codes: dict[str, int], names: LocalNames) -> list[str | None]:
    """One trackpoint's text values, in _POINT_COLUMNS order."""
    values: list[str | None] = [None] * _N_POINT
    for child in tp:
        local = names[child.tag]
        k = _POINT_TEXT.get(local)
        if k is not None:
            if values[k] is None:
                values[k] = child.text
        elif local == "Position":
            for part in child:
                j = _POSITION.get(names[part.tag])
                if j is not None and values[j] is None:
                    values[j] = part.text
        elif local == "HeartRateBpm":
            values[5] = _value_of(child, names) if values[5] is None else values[5]
        elif local == "Extensions":
            _first_values(child, _TPX, values, codes)
    return values


def _value_of(element: Element, names: LocalNames) -> str | None:
    """The text of ``element``'s ``<Value>`` child (heart rates are written so)."""
    for child in element:
        if names[child.tag] == "Value":
            return str(child.text) if child.text is not None else None
    return None


def _first_values(
    extensions: Element, wanted: dict[str, int], values: list[str | None], cache: dict[str, int]
) -> None:
    """The first non-blank text of each ``wanted`` element under ``extensions``.

    ``cache``: the tags seen so far -> their column (-1: not wanted), one per ``wanted``."""
    for element in extensions.iter():
        tag = element.tag
        k = cache.get(tag)
        if k is None:
            k = cache[tag] = wanted.get(tag.rpartition("}")[2], -1)
        if k < 0 or values[k] is not None:
            continue
        text = element.text
        if text is not None and text.strip():
            values[k] = text


def _path_text(element: Element | None, names: LocalNames, path: tuple[str, ...]) -> str | None:
    """The text of the first descendant along ``path`` (local names of direct children)."""
    for local in path:
        if element is None:
            return None
        element = next((c for c in element if names(c.tag) == local), None)
    return None if element is None or element.text is None else str(element.text)


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _no_activity_reason(root: Element, names: LocalNames) -> str:
    counts = {
        what: sum(1 for el in root.iter(f"{{*}}{what}") if names(el.tag) == what)
        for what in ("Course", "Workout", "Activity")
    }
    return (
        "no activity in the TCX file, not an activity: "
        f"{counts['Course']} courses, {counts['Workout']} workouts"
    )


def _numbers(
    texts: pa.Array | np.ndarray, what: str, record: Recorder, keep: np.ndarray | None = None
) -> np.ndarray:
    """The numbers of a column; texts that are not numbers (or not finite) are NaN, once
    reported."""
    values, bad = parse_floats(texts)
    bad |= np.isinf(values)
    if keep is not None:
        values, bad = values[keep], bad[keep]
    if bad.any():
        record(f"{int(bad.sum())} unreadable <{what}> values ignored")
        values = np.where(bad, np.nan, values)
    return values


def _f64(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=_F64, from_pandas=True)


def _times(
    texts: pa.Array | np.ndarray, what: str, record: Recorder
) -> tuple[np.ndarray, np.ndarray]:
    """(UTC ms, timed) of time texts; naive times taken as UTC (reported)."""
    ms, state = parse_times(texts)
    n_naive = int((state == TIME_NAIVE).sum())
    if n_naive:
        record(f"no time zone, assumed UTC ({n_naive} {what})")
    return ms, state != TIME_INVALID


def _point_columns(rows: list[tuple[object, ...]]) -> list[pa.Array | np.ndarray]:
    """The tree reader's rows as the columns :func:`_point_table` takes."""
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    return [
        *(pa.array(c, type=pa.string()) for c in cols[:_N_POINT]),
        np.asarray(cols[-2], dtype=np.int32),
        np.asarray(cols[-1], dtype=np.int32),
    ]


def _lap_columns(rows: list[tuple[object, ...]]) -> list[pa.Array | np.ndarray]:
    """The tree reader's rows as the columns :func:`_lap_table` takes."""
    if not rows:
        return []
    cols = list(zip(*rows, strict=True))
    return [np.asarray(cols[0], dtype=np.int32), *(pa.array(c, type=pa.string()) for c in cols[1:])]


def _point_table(cols: list[pa.Array | np.ndarray], record: Recorder) -> pa.Table:
    """Trackpoint columns (the texts in _POINT_COLUMNS order, activity, lap) as a table."""
    if not cols or len(cols[0]) == 0:
        return TCX_POINTS_SCHEMA.empty_table()
    ms, timed = _times(cols[0], "trackpoints", record)
    n, n_timed = len(cols[0]), int(timed.sum())
    if n_timed < n:
        record(f"dropped {n - n_timed} of {n} trackpoints without a (valid) time")
    values = {
        name: _numbers(cols[i], what, record, timed)
        for i, (what, name) in enumerate(_POINT_COLUMNS)
        if i > 0
    }
    lat, lon = values["latitude_deg"], values["longitude_deg"]
    bad = ~(np.isnan(lat) & np.isnan(lon)) & ~(
        np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    )
    if bad.any():
        record(f"{int(bad.sum())} trackpoints with an impossible position (left out)")
    # 0/0 is what a device writes before a GPS fix: no position (as in FIT files)
    no_fix = bad | ((lat == 0.0) & (lon == 0.0))
    values["latitude_deg"] = np.where(no_fix, np.nan, lat)
    values["longitude_deg"] = np.where(no_fix, np.nan, lon)
    return pa.Table.from_arrays(
        [
            pa.array(ms[timed], type=pa.int64()).cast(_UTC_MS),
            *(_f64(values[name]) for _, name in _POINT_COLUMNS[1:]),
            pa.array(np.asarray(cols[-2], dtype=np.int32)[timed], type=pa.int32()),
            pa.array(np.asarray(cols[-1], dtype=np.int32)[timed], type=pa.int32()),
        ],
        schema=TCX_POINTS_SCHEMA,
    )


def _lap_table(cols: list[pa.Array | np.ndarray], record: Recorder) -> pa.Table:
    """Lap columns (activity, StartTime, the texts in _LAP_COLUMNS order) as a table."""
    if not cols or len(cols[0]) == 0:
        return TCX_LAPS_SCHEMA.empty_table()
    ms, timed = _times(cols[1], "lap start times", record)
    starts = pa.array(np.where(timed, ms, 0), type=pa.int64(), mask=~timed).cast(_UTC_MS)
    return pa.Table.from_arrays(
        [
            pa.array(np.asarray(cols[0], dtype=np.int32), type=pa.int32()),
            starts,
            *(_f64(_numbers(cols[2 + i], _LAP_NAMES[i], record)) for i in range(_N_LAP)),
        ],
        schema=TCX_LAPS_SCHEMA,
    )
