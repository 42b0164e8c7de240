"""Cross-check: our GPX decoder against gpxpy.parse, point by point, on every GPX file we have.

gpxpy is the reference: every GPX file of tests/fixtures (present in every clone) and of the
real corpus (../shared/data/gpx, skipped when absent) is read by gpxpy's public
``gpxpy.parse``, on the standard library's XML parser (expat: no code shared with runlake's
libxml2 parse; gpxpy would pick lxml when it is installed). Every track point with a time,
in file order across tracks and segments, must come out of ``decode_gpx`` with the same UTC
time (to the millisecond, floored), latitude, longitude, elevation and segment number, and
the same sensor values read from gpxpy's extension elements (heart rate, cadence, power,
temperature: the first non-blank value of each in the point's ``<extensions>``). A file
gpxpy rejects is rejected by runlake too; the creator and the first track's name and type
match. The fixtures' shapes (points, segments, pauses, missing heart rates) are checked
against what make_fixtures.py wrote. Where the two differ on purpose, the difference is listed here:

- an impossible position (|lat| > 90, |lon| > 180, not finite) is null in runlake (reported);
- an elevation that is not finite (``nan``, ``inf``) is null in runlake (reported);
- the first track's ``<type>`` is read in GPX 1.0 files too (gpxpy reads it in 1.1 only).
"""

from __future__ import annotations

import codecs
import datetime as dt
import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import pytest

from runlake._errors import GpxError, NotAnActivity
from runlake.decode import decode_gpx

gpxpy = pytest.importorskip("gpxpy")
gpxpy_parser = pytest.importorskip("gpxpy.parser")

REPO = Path(__file__).resolve().parents[2]
FIXTURE_DIR = REPO / "tests" / "fixtures"
GPX_DIR = REPO.parent / "shared" / "data" / "gpx"
FILES = sorted(FIXTURE_DIR.glob("*.gpx")) + (
    sorted(GPX_DIR.glob("*.gpx")) if GPX_DIR.is_dir() else []
)
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
EPOCH_NAIVE = dt.datetime(1970, 1, 1)
MS = dt.timedelta(milliseconds=1)
EXT = {
    "hr": "heart_rate_bpm",
    "heartrate": "heart_rate_bpm",
    "cad": "cadence_raw",
    "cadence": "cadence_raw",
    "power": "power_w",
    "powerinwatts": "power_w",
    "atemp": "temperature_c",
    "temp": "temperature_c",
    "temperature": "temperature_c",
}
_DECLARED = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")


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


@pytest.fixture(autouse=True)
def _gpxpy_on_expat(monkeypatch: pytest.MonkeyPatch) -> None:
    """gpxpy on the standard library's parser, whether lxml is installed or not."""
    monkeypatch.setattr(gpxpy_parser, "mod_etree", ET)
    assert gpxpy_parser.library() == "STDLIB"


def _text(data: bytes) -> str:
    """The document as text for gpxpy (which takes str): BOM, else declared encoding."""
    if data.startswith(codecs.BOM_UTF8):
        return data[3:].decode("utf-8")
    m = _DECLARED.match(data[:512])
    return data.decode(m.group(1).decode() if m else "utf-8")


def _ms(time: dt.datetime) -> int:
    if time.utcoffset() is None:
        return (time - EPOCH_NAIVE) // MS
    return (time - EPOCH) // MS


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _sensors(extensions: list[ET.Element]) -> dict[str, float | None]:
    """First non-blank value of each sensor in a point's extension elements (gpxpy's)."""
    out: dict[str, float | None] = {}
    for root in extensions:
        for el in root.iter():
            column = EXT.get(_local(el.tag).lower())
            if column is None or column in out or not (el.text or "").strip():
                continue
            try:
                value: float | None = float(el.text or "")
            except ValueError:
                value = None
            out[column] = value if value is not None and math.isfinite(value) else None
    return out


def _valid(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180


def _reference(gpx: object) -> list[dict[str, object]]:
    """Every timed track point as gpxpy reads it, as runlake's columns would hold it."""
    rows: list[dict[str, object]] = []
    segment = -1
    for track in gpx.tracks:  # type: ignore[attr-defined]
        for seg in track.segments:
            segment += 1
            for p in seg.points:
                try:
                    ms = None if p.time is None else _ms(p.time)
                except (ValueError, OverflowError):  # an offset of a day or more
                    ms = None
                if ms is None:
                    continue
                ok = _valid(p.latitude, p.longitude)
                ele = p.elevation if p.elevation is None or math.isfinite(p.elevation) else None
                rows.append(
                    {
                        "ms": ms,
                        "latitude_deg": p.latitude if ok else None,
                        "longitude_deg": p.longitude if ok else None,
                        "altitude_m": ele,
                        "segment": segment,
                        **dict.fromkeys(EXT.values()),
                        **_sensors(p.extensions),
                    }
                )
    return rows


def _clean(value: str | None) -> str | None:
    return (value or "").strip() or None


@pytest.mark.corpus
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_point_matches_gpxpy(path: Path) -> None:
    data = path.read_bytes()
    try:
        gpx = gpxpy.parse(_text(data))
    except gpxpy.gpx.GPXException:
        with pytest.raises(GpxError):
            decode_gpx(data, source=path.name)
        return
    ref = _reference(gpx)
    if not ref:
        with pytest.raises(NotAnActivity):
            decode_gpx(data, source=path.name)
        return
    track = decode_gpx(data, source=path.name)
    first = gpx.tracks[0] if gpx.tracks else None
    assert track.creator == _clean(gpx.creator)
    assert track.name == (_clean(first.name) if first else None)
    kind = first.type if first else None
    if gpx.version == "1.0" and first is not None:
        trk = next(e for e in ET.fromstring(data) if _local(e.tag) == "trk")
        kind = next((e.text for e in trk if _local(e.tag) == "type"), None)
    assert track.activity_type == (_clean(kind).lower() if _clean(kind) else None)
    points = track.points.to_pydict()
    ms = [None if t is None else _ms(t) for t in points.pop("timestamp")]
    assert len(ms) == len(ref)
    for column, values in [("ms", ms), *points.items()]:
        expected = [r[column] for r in ref]
        assert values == expected, f"{path.name}: {column} differs"


def test_the_corpus_is_checked_when_present() -> None:
    if not GPX_DIR.is_dir():
        pytest.skip(f"{GPX_DIR} absent")
    assert len(FILES) >= len(list(GPX_DIR.glob("*.gpx"))) > 40


FIXTURES = sorted(FIXTURE_DIR.glob("*.gpx"))


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
