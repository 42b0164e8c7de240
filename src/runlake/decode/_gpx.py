"""GPX decoder: a GPX document (bytes) -> its track points as an Arrow table.

The bytes are first parsed once with defusedxml, which refuses document type declarations,
entity declarations and external references (XML bombs, XXE) and tells us the line and
column of any syntax error; only then does gpxpy build its model from the same text.

Sensor values come from the track point extensions, matched by element local name whatever
the namespace prefix: Garmin TrackPointExtension v1/v2 (``hr``, ``cad``, ``atemp``),
cluetrust gpxdata (``hr``, ``cadence``, ``temp``), Garmin GpxExtensions v3
(``Temperature``), Strava's bare ``<power>`` and Garmin PowerExtension (``PowerInWatts``).
Values are returned as written: ``cadence_raw`` is the file's number (strides per minute
for Garmin running); the normalize stage turns it into steps per minute.
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from xml.parsers.expat import ErrorString

import defusedxml.ElementTree as DET
import gpxpy.gpx
import gpxpy.parser
import pyarrow as pa
from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden

from runlake._errors import GpxError, NotAnActivity, OnError, Problem, ProblemKind

__all__ = ["GPX_POINTS_SCHEMA", "MAX_GPX_BYTES", "GpxTrack", "decode_gpx"]

MAX_GPX_BYTES = 200 * 1024 * 1024
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

# Extension element local names (lower case) -> the column they fill.
_EXT_COLUMNS: dict[str, str] = {
    "hr": "heart_rate_bpm",  # Garmin TPX v1/v2, cluetrust gpxdata
    "heartrate": "heart_rate_bpm",
    "cad": "cadence_raw",  # Garmin TPX v1/v2
    "cadence": "cadence_raw",  # cluetrust gpxdata
    "power": "power_w",  # Strava export
    "powerinwatts": "power_w",  # Garmin PowerExtension v1
    "atemp": "temperature_c",  # Garmin TPX v1/v2
    "temp": "temperature_c",  # cluetrust gpxdata
    "temperature": "temperature_c",  # Garmin GpxExtensions v3
}
_EXT_ORDER = ("heart_rate_bpm", "cadence_raw", "power_w", "temperature_c")

_EPOCH_UTC = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_EPOCH_NAIVE = dt.datetime(1970, 1, 1)  # naive on purpose: for naive times, taken as UTC
_MS = dt.timedelta(milliseconds=1)

_XML_DECL_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE: it starts with the same bytes
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


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


class _Recorder:
    """Records a Problem, or raises GpxError when ``on_error="raise"``."""

    __slots__ = ("on_error", "problems", "source")

    def __init__(self, source: str, on_error: OnError) -> None:
        self.source = source
        self.on_error = on_error
        self.problems: list[Problem] = []

    def __call__(self, message: str) -> None:
        if self.on_error == "raise":
            raise GpxError(message, source=self.source)
        self.problems.append(Problem(ProblemKind.GPX, message))


def decode_gpx(
    data: bytes,
    *,
    source: str,
    on_error: OnError = "warn",
    max_bytes: int = MAX_GPX_BYTES,
) -> GpxTrack:
    """Decode a GPX document into its track points.

    Raises :class:`GpxError` for an empty, oversized, malformed, unsafe (DTD, entities) or
    non-GPX document, and :class:`NotAnActivity` when there is no timestamped track point
    (a route, a course, waypoints only).  Points without a time are dropped, naive times
    are taken as UTC and backward time steps are kept in file order: each is recorded as a
    :class:`Problem` (once per file) or, with ``on_error="raise"``, raised as GpxError.
    """
    if on_error not in ("raise", "warn"):
        raise ValueError(f"on_error must be 'raise' or 'warn', not {on_error!r}")
    if len(data) > max_bytes:
        raise GpxError(
            f"file is {len(data)} bytes, more than the limit of {max_bytes} bytes",
            source=source,
        )
    if not data.strip():
        raise GpxError("empty file", source=source)

    _check_xml(data, source)
    text = _decode_text(data, source)
    try:
        gpx = gpxpy.parser.GPXParser(text).parse()
    except gpxpy.gpx.GPXException as exc:
        raise GpxError(f"invalid GPX: {exc}", source=source) from exc

    record = _Recorder(source, on_error)
    points = _collect_points(gpx, source, record)

    first = gpx.tracks[0] if gpx.tracks else None
    return GpxTrack(
        creator=_clean(gpx.creator),
        name=_clean(first.name) if first is not None else None,
        activity_type=_lower(_clean(first.type)) if first is not None else None,
        points=points,
        problems=record.problems,
    )


def _check_xml(data: bytes, source: str) -> None:
    """Parse once with defusedxml: refuse DTDs/entities, report syntax errors, check root."""
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DTDForbidden as exc:
        raise GpxError(
            f"unsafe XML: document type declaration (DTD <!DOCTYPE {exc.name}>) is not allowed",
            source=source,
        ) from exc
    except EntitiesForbidden as exc:
        raise GpxError(
            f"unsafe XML: entity declaration ({exc.name!r}) is not allowed", source=source
        ) from exc
    except ExternalReferenceForbidden as exc:
        raise GpxError(
            f"unsafe XML: external reference ({exc.sysid!r}) is not allowed", source=source
        ) from exc
    except LookupError as exc:  # the XML declaration names an encoding Python does not know
        raise GpxError(f"unknown encoding: {exc}", source=source) from exc
    except ET.ParseError as exc:
        line, column = exc.position  # expat columns count from 0; editors count from 1
        raise GpxError(
            f"malformed XML at line {line}:{column + 1}: {ErrorString(exc.code)}",
            source=source,
        ) from exc
    tag = root.tag if isinstance(root.tag, str) else ""
    local = tag.rpartition("}")[2]
    if local != "gpx":
        raise GpxError(f"not a GPX document: root element is <{local}>", source=source)


def _decode_text(data: bytes, source: str) -> str:
    """The document as text, decoded from its BOM or declared encoding (default UTF-8)."""
    encoding = "utf-8"
    for bom, name in _BOMS:
        if data.startswith(bom):
            data = data[len(bom) :]
            encoding = name
            break
    else:
        m = _XML_DECL_ENCODING.match(data[:512])
        if m is not None:
            encoding = m.group(1).decode("ascii")
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise GpxError(f"cannot decode text as {encoding}: {exc}", source=source) from exc


def _collect_points(gpx: gpxpy.gpx.GPX, source: str, record: _Recorder) -> pa.Table:
    """Every timed track point of every track and segment, in file order."""
    points = _Points()
    segment_index = -1
    for track in gpx.tracks:
        for segment in track.segments:
            segment_index += 1
            for point in segment.points:
                points.add(point, segment_index)
    if not points.ts:
        raise NotAnActivity(_no_activity_reason(gpx, points.n_trkpt), source=source)
    points.report(record)
    return points.table()


@dataclass(slots=True)
class _Points:
    """The track points' columns as they are read, and counts of what was wrong."""

    ts: list[int] = field(default_factory=list)
    lat: list[float | None] = field(default_factory=list)
    lon: list[float | None] = field(default_factory=list)
    alt: list[float | None] = field(default_factory=list)
    seg: list[int] = field(default_factory=list)
    ext: dict[str, list[float | None]] = field(
        default_factory=lambda: {name: [] for name in _EXT_ORDER}
    )
    bad_ext: dict[str, int] = field(default_factory=dict)
    n_trkpt: int = 0
    n_untimed: int = 0
    n_naive: int = 0
    n_backwards: int = 0
    n_bad_position: int = 0
    n_bad_elevation: int = 0
    previous: int | None = None

    def add(self, point: gpxpy.gpx.GPXTrackPoint, segment_index: int) -> None:
        """One track point (left out, and counted, when it has no valid time)."""
        self.n_trkpt += 1
        ms, naive = _point_ms(point.time)
        if ms is None:
            self.n_untimed += 1
            return
        if naive:
            self.n_naive += 1
        if self.previous is not None and ms < self.previous:
            self.n_backwards += 1
        self.previous = ms
        self.ts.append(ms)
        la: float | None = point.latitude
        lo: float | None = point.longitude
        el: float | None = point.elevation
        if not (_within(la, 90.0) and _within(lo, 180.0)):
            self.n_bad_position += int(la is not None or lo is not None)
            la = lo = None
        if el is not None and not math.isfinite(el):
            self.n_bad_elevation += 1
            el = None
        self.lat.append(la)
        self.lon.append(lo)
        self.alt.append(el)
        self.seg.append(segment_index)
        values = _extension_values(point.extensions, self.bad_ext)
        for name in _EXT_ORDER:
            self.ext[name].append(values.get(name))

    def report(self, record: _Recorder) -> None:
        """One problem per kind of oddity met."""
        if self.n_untimed:
            record(
                f"dropped {self.n_untimed} of {self.n_trkpt} track points without a (valid) time"
            )
        if self.n_naive:
            record(f"no time zone, assumed UTC ({self.n_naive} track points)")
        if self.n_bad_position:
            record(f"{self.n_bad_position} track points with an impossible position (left out)")
        if self.n_bad_elevation:
            record(f"{self.n_bad_elevation} track points with an elevation that is not a number")
        if self.n_backwards:
            record(f"time goes backwards {self.n_backwards} times (file order kept)")
        for name, count in self.bad_ext.items():
            record(f"{count} unreadable <{name}> extension values ignored")

    def table(self) -> pa.Table:
        f64 = pa.float64()
        return pa.Table.from_arrays(
            [
                pa.array(self.ts, type=pa.int64()).cast(GPX_POINTS_SCHEMA.field("timestamp").type),
                pa.array(self.lat, type=f64),
                pa.array(self.lon, type=f64),
                pa.array(self.alt, type=f64),
                *(pa.array(self.ext[name], type=f64) for name in _EXT_ORDER),
                pa.array(self.seg, type=pa.int32()),
            ],
            schema=GPX_POINTS_SCHEMA,
        )


def _point_ms(time: dt.datetime | None) -> tuple[int | None, bool]:
    """A point's time in Unix milliseconds (None: none, or not a valid time) and whether
    it is naive (no time zone: taken as UTC)."""
    try:
        # gpxpy keeps an impossible offset such as +99:99 until it is asked
        offset = None if time is None else time.utcoffset()
        if time is None:
            return None, False
        if offset is None:
            return (time - _EPOCH_NAIVE) // _MS, True
        return (time - _EPOCH_UTC) // _MS, False
    except (ValueError, OverflowError):
        return None, False


def _extension_values(extensions: list[ET.Element], bad: dict[str, int]) -> dict[str, float]:
    """Sensor values of one track point; the first occurrence of each wins."""
    values: dict[str, float] = {}
    for root in extensions:
        for element in root.iter():
            tag = element.tag
            if not isinstance(tag, str):  # comments, processing instructions
                continue
            local = tag.rpartition("}")[2]
            column = _EXT_COLUMNS.get(local.lower())
            if column is None or column in values:
                continue
            text = element.text
            if text is None or not text.strip():
                continue
            try:
                value = float(text)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                bad[local] = bad.get(local, 0) + 1
                continue
            values[column] = value
    return values


def _within(value: float | None, limit: float) -> bool:
    return value is not None and math.isfinite(value) and -limit <= value <= limit


def _no_activity_reason(gpx: gpxpy.gpx.GPX, n_trkpt: int) -> str:
    n_rtept = sum(len(route.points) for route in gpx.routes)
    parts = [
        f"{n_trkpt} track points" + (" (none with a time)" if n_trkpt else ""),
        f"{len(gpx.routes)} routes ({n_rtept} points)",
        f"{len(gpx.waypoints)} waypoints",
    ]
    return "no timestamped track points, not an activity: " + ", ".join(parts)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _lower(value: str | None) -> str | None:
    return value.lower() if value is not None else None
