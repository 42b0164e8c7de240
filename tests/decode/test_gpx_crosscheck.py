"""Cross-check: our GPX decoder against gpxpy.parse and the XML itself, on tests/fixtures.

The fixtures (written by tests/fixtures/make_fixtures.py, so present in every clone) are
read by gpxpy's public ``gpxpy.parse``: every track point, in file order across tracks and
segments, must come out of ``decode_gpx`` with the same UTC time, latitude, longitude,
elevation and segment number.  The extension values (heart rate, cadence, temperature) are
checked against the stdlib's XML parser, which shares no code with either.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from runlake.decode import decode_gpx

gpxpy = pytest.importorskip("gpxpy")

FIXTURE_DIR = Path(__file__).resolve().parents[1] / "fixtures"
FIXTURES = sorted(FIXTURE_DIR.glob("*.gpx"))
UTC = dt.UTC


@dataclass(frozen=True)
class Shape:
    """What make_fixtures.py wrote into one GPX fixture."""

    points: int
    segments: list[int]
    first: dt.datetime
    last: dt.datetime
    gaps_s: list[float]
    """Seconds between the last point of a segment and the first of the next."""
    hr_nulls: int
    temperature: bool


FIXTURE_SHAPES: dict[str, Shape] = {
    "easy-tpx-v1.gpx": Shape(
        points=181,
        segments=[0],
        first=dt.datetime(2026, 3, 10, 6, 30, 12, tzinfo=UTC),
        last=dt.datetime(2026, 3, 10, 6, 33, 12, tzinfo=UTC),
        gaps_s=[],
        hr_nulls=0,
        temperature=True,
    ),
    # times written at +01:00: the decoder returns UTC; 200 s timer + a 60 s pause
    "pause-two-segments.gpx": Shape(
        points=201,
        segments=[0, 1],
        first=dt.datetime(2026, 3, 12, 17, 5, 44, tzinfo=UTC),
        last=dt.datetime(2026, 3, 12, 17, 10, 4, tzinfo=UTC),
        gaps_s=[61.0],
        hr_nulls=4,
        temperature=False,
    ),
}

_EXT = {"hr": "heart_rate_bpm", "cad": "cadence_raw", "atemp": "temperature_c"}


def _reference(data: bytes) -> list[tuple[int, dt.datetime, float, float, float | None]]:
    """(segment, UTC time, lat, lon, elevation) of every track point, as gpxpy reads them."""
    gpx = gpxpy.parse(data.decode("utf-8"))
    out = []
    segment = -1
    for track in gpx.tracks:
        for seg in track.segments:
            segment += 1
            for p in seg.points:
                assert p.time is not None
                assert p.time.utcoffset() is not None
                out.append((segment, p.time.astimezone(UTC), p.latitude, p.longitude, p.elevation))
    return out


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _xml_extensions(data: bytes) -> list[dict[str, float]]:
    """Per ``<trkpt>``: the TrackPointExtension values by column, read with the stdlib."""
    rows = []
    for el in ET.fromstring(data).iter():
        if _local(el.tag) != "trkpt":
            continue
        row: dict[str, float] = {}
        for child in el.iter():
            column = _EXT.get(_local(child.tag))
            if column is not None and child.text:
                row[column] = float(child.text)
        rows.append(row)
    return rows


@pytest.mark.parametrize("path", FIXTURES, ids=[f"fixtures/{p.name}" for p in FIXTURES])
def test_points_match_gpxpy(path: Path) -> None:
    data = path.read_bytes()
    track = decode_gpx(data, source=path.name, on_error="raise")
    assert track.problems == []
    ref = _reference(data)
    points = track.points.to_pylist()
    assert len(points) == len(ref) > 0
    for i, (mine, (segment, time, lat, lon, ele)) in enumerate(zip(points, ref, strict=True)):
        # milliseconds kept: equal for the fixtures' whole-second times
        assert mine["timestamp"] == time, f"[{i}] time"
        assert mine["latitude_deg"] == lat, f"[{i}] latitude"
        assert mine["longitude_deg"] == lon, f"[{i}] longitude"
        assert mine["altitude_m"] == ele, f"[{i}] elevation"
        assert mine["segment"] == segment, f"[{i}] segment"


@pytest.mark.parametrize("path", FIXTURES, ids=[f"fixtures/{p.name}" for p in FIXTURES])
def test_extensions_match_xml(path: Path) -> None:
    data = path.read_bytes()
    points = decode_gpx(data, source=path.name).points.to_pylist()
    expected = _xml_extensions(data)
    assert len(points) == len(expected) > 0
    for i, (mine, theirs) in enumerate(zip(points, expected, strict=True)):
        for column in _EXT.values():
            assert mine[column] == theirs.get(column), f"[{i}].{column}"
        assert mine["power_w"] is None


@pytest.mark.parametrize("path", FIXTURES, ids=[f"fixtures/{p.name}" for p in FIXTURES])
def test_fixture_shape(path: Path) -> None:
    shape = FIXTURE_SHAPES.get(path.name)
    assert shape is not None, f"{path.name}: add its shape to FIXTURE_SHAPES"
    track = decode_gpx(path.read_bytes(), source=path.name)
    assert track.name == path.stem
    assert track.activity_type == "running"
    points = track.points
    assert points.num_rows == shape.points
    segments = points.column("segment").to_pylist()
    assert sorted(set(segments)) == shape.segments
    times = points.column("timestamp").to_pylist()
    assert (times[0], times[-1]) == (shape.first, shape.last)
    steps = list(zip(segments, segments[1:], times, times[1:], strict=False))
    within = {(b - a).total_seconds() for s0, s1, a, b in steps if s0 == s1}
    between = [(b - a).total_seconds() for s0, s1, a, b in steps if s0 != s1]
    assert within == {1.0}
    assert between == shape.gaps_s
    assert points.column("heart_rate_bpm").null_count == shape.hr_nulls
    assert points.column("cadence_raw").null_count == 0
    assert (points.column("temperature_c").null_count == 0) == shape.temperature


def test_fixture_shapes_are_all_present() -> None:
    assert sorted(FIXTURE_SHAPES) == [p.name for p in FIXTURES]
