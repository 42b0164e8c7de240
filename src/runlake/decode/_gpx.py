"""GPX decoder: a GPX document (bytes) -> its track points as an Arrow table.

The bytes are parsed once, by the safe XML layer (:mod:`runlake.decode._xml`: lxml with no
DTD, no entities, no network; errors with their line), and the track points are read
straight from the tree into columns: one pass over the points collects their text values,
then numbers and times are converted in bulk (times with Arrow's RE2 and numpy). gpxpy is
the reference: tests/decode/test_gpx_crosscheck.py compares every point of every corpus
file with ``gpxpy.parse``. What is read is what gpxpy reads (``trk/trkseg/trkpt`` with
``lat``, ``lon``, ``ele`` and ``time``); elements are matched by local name whatever their
namespace (gpxpy drops the default namespace). A file whose ``lat``, ``lon`` or ``ele`` is
not a number is rejected, as gpxpy does; values runlake does not read (``hdop``,
waypoints...) are not checked.

Sensor values come from the track point extensions, matched by element local name whatever
the namespace prefix: Garmin TrackPointExtension v1/v2 (``hr``, ``cad``, ``atemp``),
cluetrust gpxdata (``hr``, ``cadence``, ``temp``), Garmin GpxExtensions v3
(``Temperature``), Strava's bare ``<power>`` and Garmin PowerExtension (``PowerInWatts``).
Values are returned as written: ``cadence_raw`` is the file's number (strides per minute
for Garmin running); the normalize stage turns it into steps per minute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NoReturn

import numpy as np
import pyarrow as pa

from runlake._errors import GpxError, NotAnActivity, OnError, Problem
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
from runlake.decode._xmlscan import SCAN_FROM_BYTES, Unusual, scan

__all__ = ["GPX_POINTS_SCHEMA", "MAX_GPX_BYTES", "GpxTrack", "decode_gpx"]

MAX_GPX_BYTES = MAX_XML_BYTES
"""Default bound on the size of a GPX document (200 MB)."""

GPX_POINTS_SCHEMA = pa.schema(
    [
        pa.field("timestamp", pa.timestamp("ms", tz="UTC")),
        pa.field("latitude_deg", pa.float64()),
        pa.field("longitude_deg", pa.float64()),
        pa.field("altitude_m", pa.float64()),
        pa.field("heart_rate_bpm", pa.float64()),
        pa.field("cadence_raw", pa.float64()),
        pa.field("power_w", pa.float64()),
        pa.field("temperature_c", pa.float64()),
        pa.field("segment", pa.int32()),
    ]
)
"""Columns of :attr:`GpxTrack.points`, in order."""

# Extension element local names (lower case) -> the column they fill (its index).
_EXT_COLUMNS: dict[str, int] = {
    "hr": 0,  # Garmin TPX v1/v2, cluetrust gpxdata
    "heartrate": 0,
    "cad": 1,  # Garmin TPX v1/v2
    "cadence": 1,  # cluetrust gpxdata
    "power": 2,  # Strava export
    "powerinwatts": 2,  # Garmin PowerExtension v1
    "atemp": 3,  # Garmin TPX v1/v2
    "temp": 3,  # cluetrust gpxdata
    "temperature": 3,  # Garmin GpxExtensions v3
}
_EXT_ORDER = ("heart_rate_bpm", "cadence_raw", "power_w", "temperature_c")


@dataclass(frozen=True, slots=True)
class GpxTrack:
    """What a GPX activity holds: its creator, first track's name and type, and its points."""

    creator: str | None
    """``<gpx creator="...">``."""
    name: str | None
    """The first track's ``<name>``."""
    activity_type: str | None
    """The first track's ``<type>``, lower-cased, as found (``running``, ``9``, ...)."""
    points: pa.Table
    """All timed track points of all tracks and segments, in file order
    (columns :data:`GPX_POINTS_SCHEMA`)."""
    problems: list[Problem] = field(default_factory=list)
    """Non-fatal issues found while decoding (``on_error="warn"``)."""


@dataclass(slots=True)
class _Texts:
    """The text values of every track point, in file order (null: absent)."""

    lat: pa.Array
    lon: pa.Array
    ele: pa.Array
    time: pa.Array
    segment: np.ndarray
    ext: tuple[pa.Array, ...]
    ext_names: dict[int, str] | None
    """An element name each extension column was read from (for messages); None when
    the fast scan read the points (a message then needs the tree)."""
    line: Callable[[int], int]
    """The line of point ``i`` (for messages)."""


def decode_gpx(
    data: bytes,
    *,
    source: str,
    on_error: OnError = "warn",
    max_bytes: int = MAX_GPX_BYTES,
) -> GpxTrack:
    """Decode a GPX document into its track points.

    Raises :class:`GpxError` for an empty, oversized, malformed, unsafe (DTD, entities) or
    non-GPX document, or one with a ``lat``, ``lon`` or ``ele`` that is not a number, and
    :class:`NotAnActivity` when there is no timestamped track point (a route, a course,
    waypoints only). Points without a time are dropped, naive times are taken as UTC and
    backward time steps are kept in file order: each is recorded as a :class:`Problem`
    (once per file) or, with ``on_error="raise"``, raised as GpxError.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', not {on_error!r}")
    if SCAN_FROM_BYTES <= len(data) <= max_bytes:
        try:
            return _decode_scanned(data, source, on_error)
        except (Unusual, GpxError):  # read through the tree: the definition, and its errors
            pass
    root = parse_xml(
        data, source=source, error=GpxError, what="GPX", roots=("gpx",), max_bytes=max_bytes
    )
    names = LocalNames()
    texts = _collect(root, names)
    record = Recorder(source, on_error, GpxError)
    points = _columns(texts, source, record, lambda: _no_activity_reason(root, names))
    first = next((c for c in root if names(c.tag) == "trk"), None)
    return GpxTrack(
        creator=_clean(root.get("creator")),
        name=_clean(_child_text(first, names, "name")),
        activity_type=_lower(_clean(_child_text(first, names, "type"))),
        points=points,
        problems=record.problems,
    )


def _unusual() -> NoReturn:
    raise Unusual("a message that needs the tree")


def _decode_scanned(data: bytes, source: str, on_error: OnError) -> GpxTrack:
    """:func:`decode_gpx` by the fast scan (:mod:`runlake.decode._xmlscan`); raises
    Unusual (or GpxError) where the tree must decide."""
    tags = scan(data)
    if not tags.named("gpx")[0]:
        raise Unusual("not a GPX root")
    root_children = tags.parent == 0
    tracks = np.flatnonzero(tags.named("trk") & root_children)
    segments = np.flatnonzero(tags.named("trkseg") & np.isin(tags.parent, tracks))
    seg_rank = tags.rank(segments)
    is_point = tags.named("trkpt") & (seg_rank[tags.parent] >= 0) & (tags.parent >= 0)
    points = np.flatnonzero(is_point)
    extensions = tags.first_child(points, tags.named("extensions"), with_text=False)
    ext = extensions[extensions >= 0]
    sensors = np.zeros(tags.n, dtype=bool)
    codes = np.full(tags.n, -1, dtype=np.int64)
    for local, k in _EXT_COLUMNS.items():
        hit = tags.named(local, lower=True)
        sensors |= hit
        codes[hit] = k
    candidates = np.flatnonzero(sensors & tags.has_text)
    owner = tags.inside(ext, candidates)
    keep = owner >= 0
    candidates, owner = candidates[keep], owner[keep]
    keep = tags.nonblank(candidates)
    candidates, owner = candidates[keep], owner[keep]
    point_of_ext = tags.rank(points)[tags.parent[ext]]
    group = np.full(tags.n, -1, dtype=np.int64)
    ext_values = []
    for k in range(len(_EXT_ORDER)):
        mine = codes[candidates] == k
        group[:] = -1
        group[candidates[mine]] = point_of_ext[owner[mine]]
        ext_values.append(tags.texts(tags.first_within(group, len(points), group >= 0)))
    children = tags.rank(points)[tags.parent]
    lat, lon = tags.attributes(points, "lat", "lon")
    texts = _Texts(
        lat=lat,
        lon=lon,
        ele=tags.texts(tags.first_within(children, len(points), tags.named("ele"))),
        time=tags.texts(tags.first_within(children, len(points), tags.named("time"))),
        segment=seg_rank[tags.parent[points]].astype(np.int32),
        ext=tuple(ext_values),
        ext_names=None,
        line=lambda i: _unusual(),
    )
    record = Recorder(source, on_error, GpxError)
    table = _columns(texts, source, record, _unusual)
    first = int(tracks[0]) if len(tracks) else -1

    def child_text(local: str) -> str | None:
        if first < 0:
            return None
        found = np.flatnonzero(tags.named(local) & (tags.parent == first))
        return tags.text(int(found[0])) if len(found) else None

    return GpxTrack(
        creator=_clean(tags.attribute(0, "creator")),
        name=_clean(child_text("name")),
        activity_type=_lower(_clean(child_text("type"))),
        points=table,
        problems=record.problems,
    )


def _collect(root: Element, names: LocalNames) -> _Texts:
    """The text values of the points of ``gpx/trk/trkseg/trkpt``, in file order: each
    point's attributes, its first ``ele`` and ``time``, and the first non-blank value of
    each sensor in its first ``<extensions>``."""
    rows: list[tuple[object, ...]] = []
    codes: dict[str, int] = {}
    segment = -1
    for trk in root.iterchildren("{*}trk"):
        for seg in trk.iterchildren("{*}trkseg"):
            segment += 1
            for pt in seg.iterchildren("{*}trkpt"):
                ele = time = extensions = None
                for child in pt:
                    local = names[child.tag]
                    if local == "time":
                        time = child.text if time is None else time
                    elif local == "ele":
                        ele = child.text if ele is None else ele
                    elif local == "extensions" and extensions is None:
                        extensions = child
                sensors = _NO_SENSORS if extensions is None else _sensors(extensions, codes)
                rows.append((pt, pt.get("lat"), pt.get("lon"), ele, time, segment, *sensors))
    columns = list(zip(*rows, strict=True)) if rows else [()] * 10
    elements = columns[0]
    return _Texts(
        lat=_strings(columns[1]),
        lon=_strings(columns[2]),
        ele=_strings(columns[3]),
        time=_strings(columns[4]),
        segment=np.asarray(columns[5], dtype=np.int32),
        ext=tuple(_strings(c) for c in columns[6:]),
        ext_names={k: tag.rpartition("}")[2] for tag, k in codes.items() if k >= 0},
        line=lambda i: int(elements[i].sourceline),
    )


def _strings(values: tuple[object, ...]) -> pa.Array:
    return pa.array(values, type=pa.string())


_NO_SENSORS: tuple[None, ...] = (None, None, None, None)


def _sensors(extensions: Element, codes: dict[str, int]) -> list[str | None]:
    """The first non-blank text of each sensor under an ``<extensions>`` element.

    ``codes``: the document's tags seen so far -> their sensor column (-1: none). An
    unfiltered walk with one dict look-up per element: lxml's ``iter()`` with several
    ``{*}`` tag patterns is five times slower."""
    out: list[str | None] = [None, None, None, None]
    for element in extensions.iter():
        tag = element.tag
        k = codes.get(tag)
        if k is None:
            k = codes[tag] = _EXT_COLUMNS.get(tag.rpartition("}")[2].lower(), -1)
        if k < 0 or out[k] is not None:
            continue
        text = element.text
        if text is not None and text.strip():
            out[k] = text
    return out


def _numbers(texts: pa.Array, what: str, line: Callable[[int], int], source: str) -> np.ndarray:
    """The values of a mandatory number (lat, lon) or ele: a text that is not a number
    rejects the file, as gpxpy does."""
    values, bad = parse_floats(texts)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise GpxError(
            f"invalid GPX at line {line(i)}: track point {what} "
            f"{texts[i].as_py()!r} is not a number",
            source=source,
        )
    return values


def _columns(
    texts: _Texts, source: str, record: Recorder, no_activity: Callable[[], str]
) -> pa.Table:
    """The timed points as a GPX_POINTS_SCHEMA table; the problems recorded."""
    n = len(texts.lat)
    for what, column in (("lat", texts.lat), ("lon", texts.lon)):
        if column.null_count:
            i = int(np.flatnonzero(~_present(column))[0])
            raise GpxError(
                f"invalid GPX at line {texts.line(i)}: track point without '{what}'",
                source=source,
            )
    lat = _numbers(texts.lat, "lat", texts.line, source)
    lon = _numbers(texts.lon, "lon", texts.line, source)
    ele = _numbers(texts.ele, "ele", texts.line, source)
    ms, state = parse_times(texts.time)
    timed = state != TIME_INVALID
    n_timed = int(timed.sum())
    if n_timed == 0:
        raise NotAnActivity(no_activity(), source=source)
    bad_ele = (np.isinf(ele) | _nan_texts(texts.ele, ele))[timed]
    lat, lon, ele, ms = lat[timed], lon[timed], ele[timed], ms[timed]
    if n_timed < n:
        record(f"dropped {n - n_timed} of {n} track points without a (valid) time")
    n_naive = int((state == TIME_NAIVE).sum())
    if n_naive:
        record(f"no time zone, assumed UTC ({n_naive} track points)")
    bad_position = ~(
        np.isfinite(lat) & np.isfinite(lon) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    )
    if bad_position.any():
        record(f"{int(bad_position.sum())} track points with an impossible position (left out)")
        lat, lon = np.where(bad_position, np.nan, lat), np.where(bad_position, np.nan, lon)
    if bad_ele.any():
        record(f"{int(bad_ele.sum())} track points with an elevation that is not a number")
        ele = np.where(bad_ele, np.nan, ele)
    n_backwards = int((np.diff(ms) < 0).sum())
    if n_backwards:
        record(f"time goes backwards {n_backwards} times (file order kept)")
    sensors = [_sensor(texts, k, timed, record) for k in range(len(_EXT_ORDER))]
    segment = texts.segment[timed]
    return pa.Table.from_arrays(
        [
            pa.array(ms, type=pa.int64()).cast(GPX_POINTS_SCHEMA.field("timestamp").type),
            *(_f64(v) for v in (lat, lon, ele, *sensors)),
            pa.array(segment, type=pa.int32()),
        ],
        schema=GPX_POINTS_SCHEMA,
    )


def _sensor(texts: _Texts, k: int, timed: np.ndarray, record: Recorder) -> np.ndarray:
    """Extension column ``k`` of the timed points; unreadable values are null (reported)."""
    values, bad = parse_floats(texts.ext[k])
    bad = (bad | np.isinf(values) | _nan_texts(texts.ext[k], values))[timed]
    values = values[timed]
    if bad.any():
        if texts.ext_names is None:
            _unusual()
        name = texts.ext_names.get(k, _EXT_ORDER[k])
        record(f"{int(bad.sum())} unreadable <{name}> extension values ignored")
        values = np.where(bad, np.nan, values)
    return values


def _nan_texts(texts: pa.Array, values: np.ndarray) -> np.ndarray:
    """Where a text (not a missing value) reads as NaN."""
    nan: np.ndarray = np.isnan(values)
    if int(nan.sum()) <= texts.null_count:  # every NaN is a missing value (or a bad text)
        return np.zeros(len(texts), dtype=bool)
    return np.asarray(nan & _present(texts), dtype=bool)


def _present(texts: pa.Array) -> np.ndarray:
    return np.asarray(texts.is_valid().to_numpy(zero_copy_only=False), dtype=bool)


def _f64(values: np.ndarray) -> pa.Array:
    """float64 numpy as Arrow, NaN as null."""
    return pa.array(values, type=pa.float64(), from_pandas=True)


def _child_text(parent: Element | None, names: LocalNames, local: str) -> str | None:
    if parent is None:
        return None
    for child in parent:
        if names(child.tag) == local:
            return str(child.text) if child.text is not None else None
    return None


def _no_activity_reason(root: Element, names: LocalNames) -> str:
    n_trkpt = sum(1 for el in root.iter("{*}trkpt"))
    routes = [c for c in root if names(c.tag) == "rte"]
    n_rtept = sum(1 for r in routes for p in r if names(p.tag) == "rtept")
    n_wpt = sum(1 for c in root if names(c.tag) == "wpt")
    parts = [
        f"{n_trkpt} track points" + (" (none with a time)" if n_trkpt else ""),
        f"{len(routes)} routes ({n_rtept} points)",
        f"{n_wpt} waypoints",
    ]
    return "no timestamped track points, not an activity: " + ", ".join(parts)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None
