"""The fast GPX read (runlake.decode._xmlscan) against the tree read it stands in for.

``decode_gpx`` reads a plain document of 64 KB or more with the numpy scan and everything
else through the lxml tree, which defines what is read (and which gpxpy checks in
test_gpx_crosscheck.py). Here the scan is forced on every document: where it does not
refuse (``Unusual``), its result must equal the tree's, point for point and problem for
problem, on every corpus and fixture file, on crafted documents and on the fuzz cases.
The bulk number and time conversions are checked against ``float()`` and gpxpy's
expression.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fuzz._cases import CORPUS, load_seeds
from fuzz._cases import case as make_case

from runlake._errors import DecodeError
from runlake.decode import _gpx, _xml
from runlake.decode._xmlscan import Unusual, scan

REPO = Path(__file__).resolve().parents[2]
GPX_FILES = sorted((REPO / "tests" / "fixtures").glob("*.gpx")) + (
    sorted((CORPUS / "gpx").glob("*.gpx")) if (CORPUS / "gpx").is_dir() else []
)


def _tree(data: bytes, monkeypatch: pytest.MonkeyPatch) -> object:
    """decode_gpx through the tree only: its result, or the error it raises."""
    with monkeypatch.context() as m:
        m.setattr(_gpx, "SCAN_FROM_BYTES", 1 << 62)
        try:
            return _gpx.decode_gpx(data, source="case.gpx")
        except DecodeError as exc:
            return repr(exc)


def _scanned(data: bytes) -> object | None:
    """The scan's result, None where it refuses (or defers an error to the tree)."""
    try:
        return _gpx._decode_scanned(data, "case.gpx", "warn")
    except (Unusual, DecodeError):
        return None


def _same(data: bytes, monkeypatch: pytest.MonkeyPatch) -> bool:
    """Whether the scan took the document (and then gave the tree's result)."""
    fast = _scanned(data)
    if fast is None:
        return False
    assert fast == _tree(data, monkeypatch)
    return True


@pytest.mark.corpus
def test_scan_equals_tree_on_every_gpx_file(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = [p.name for p in GPX_FILES if _same(p.read_bytes(), monkeypatch)]
    if (CORPUS / "gpx").is_dir():
        # every large corpus file is plain: the scan reads all of them
        large = [p.name for p in GPX_FILES if p.stat().st_size >= 64 * 1024]
        assert set(large) <= set(taken)
        assert len(taken) == 34  # the rest have comments, waypoints only, no times...


def test_scan_equals_tree_on_the_fuzz_cases(monkeypatch: pytest.MonkeyPatch) -> None:
    seeds = load_seeds(CORPUS, max_bytes=64 * 1024)
    taken = sum(_same(make_case(seeds, f"gpx:20261207:{i}").data, monkeypatch) for i in range(300))
    assert taken > 20


HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="c &amp; d" '
    'xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
    "<trk><name>Morning &lt;run&gt;</name><type>Running</type><trkseg>"
)
POINT = (
    '<trkpt lat="{lat}" lon="8.1"><ele>{ele}</ele><time>2026-03-10T06:30:{s:02d}Z</time>'
    "<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr}</gpxtpx:hr>"
    "</gpxtpx:TrackPointExtension></extensions></trkpt>"
)


def _doc(points: list[str], head: str = HEAD, tail: str = "</trkseg></trk></gpx>") -> bytes:
    return (head + "".join(points) + tail).encode()


def _points(n: int = 30) -> list[str]:
    return [POINT.format(lat=47 + i / 1000, ele=400 + i, s=i, hr=120 + i) for i in range(n)]


@pytest.mark.parametrize(
    ("change", "taken"),
    [
        (lambda p: p, True),
        (lambda p: p.replace('lat="47.0" lon="8.1"', "lon='8.1' lat='47.0'"), True),
        (lambda p: p.replace("<ele>400</ele>", "<ele/>"), True),
        (lambda p: p.replace("<ele>400</ele>", "<ele></ele><ele>5</ele>"), True),
        (lambda p: p.replace("<ele>401</ele>", "<ele >401</ele  >"), True),
        (lambda p: p.replace("<gpxtpx:hr>120", "<gpxtpx:hr> </gpxtpx:hr><gpxtpx:hr>99"), True),
        (lambda p: p.replace("<gpxtpx:hr>121</gpxtpx:hr>", "<gpxtpx:HR>77</gpxtpx:HR>"), True),
        (lambda p: p.replace("</trkpt>", "<x>a > b</x></trkpt>", 1), False),
        (lambda p: p.replace("<ele>400", "<ele>4&#48;0"), False),
        (lambda p: p.replace("<ele>400", "<ele><![CDATA[400]]>"), False),
        (lambda p: p.replace("<ele>400", "<!-- c --><ele>400"), False),
        (lambda p: p.replace("<ele>400</ele>", "<q:ele>400</q:ele>"), False),
        (lambda p: p.replace("<ele>400</ele>", "<ele>x</ele>"), False),
        (lambda p: p.replace('lat="47.0"', 'lat="47.0\t"'), False),
        (
            lambda p: p.replace(
                '<trkpt lat="47.01"', '</trkseg><trkseg/><trkseg><trkpt lat="47.01"'
            ),
            True,
        ),
    ],
)
def test_crafted_documents(change: object, taken: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    doc = _doc(_points()).decode()
    data = change(doc).encode()  # type: ignore[operator]
    assert _same(data, monkeypatch) is taken
    if not taken:  # decode_gpx still reads it (or rejects it), through the tree
        try:
            got: object = _gpx.decode_gpx(data, source="case.gpx")
        except DecodeError as exc:
            got = repr(exc)
        assert got == _tree(data, monkeypatch)


def test_crafted_values() -> None:
    points = _points(3)
    points[1] = points[1].replace("<gpxtpx:hr>121</gpxtpx:hr>", "<gpxtpx:hr> 97 </gpxtpx:hr>")
    got = _scanned(_doc(points))
    assert got is not None
    assert got.creator == "c & d"  # type: ignore[attr-defined]
    assert got.name == "Morning <run>"  # type: ignore[attr-defined]
    assert got.activity_type == "running"  # type: ignore[attr-defined]
    assert got.points.column("heart_rate_bpm").to_pylist() == [120.0, 97.0, 122.0]  # type: ignore[attr-defined]
    assert got.points.column("altitude_m").to_pylist() == [400.0, 401.0, 402.0]  # type: ignore[attr-defined]


def test_tags_named_by_local_name_and_long_names() -> None:
    data = (
        b'<a xmlns:p="u"><p:TrainingCenterDatabase/><TrainingCenterDatabasf/>'
        b"<p:HR>1</p:HR><hr/></a>"
    )
    tags = scan(data)
    assert np.flatnonzero(tags.named("TrainingCenterDatabase")).tolist() == [1]
    assert np.flatnonzero(tags.named("hr", lower=True)).tolist() == [3, 5]
    assert np.flatnonzero(tags.named("hr")).tolist() == [5]
    assert tags.text(3) == "1"
    assert tags.parent.tolist() == [-1, 0, 0, 0, -1, 0, -1]


def test_parse_floats_equals_float() -> None:
    rng = random.Random(7)
    texts: list[str | None] = [None, "", " 1.5 ", "1_000", "nan", "-inf", "1e999", "+.5", "٣"]
    for _ in range(20000):
        texts.append("".join(rng.choice("0123456789.eE+- ") for _ in range(rng.randint(1, 9))))
    values, bad = _xml.parse_floats(texts)
    for text, value, unreadable in zip(texts, values, bad, strict=True):
        if text is None:
            assert math.isnan(value)
            assert not unreadable
            continue
        try:
            expected = float(text)
        except ValueError:
            assert unreadable, text
            assert math.isnan(value), text
            continue
        assert not unreadable, text
        assert value == expected or (math.isnan(value) and math.isnan(expected)), text
        assert math.copysign(1, value) == math.copysign(1, expected), text


def test_parse_times_fast_form_equals_the_expression() -> None:
    rng = random.Random(3)
    base = [
        "2019-09-20T14:10:03Z",
        "2019-09-20T14:10:03.123456Z",
        "2020-02-29 23:59:59.9Z",
        "2015-12-11T15:43:13.000+01:00",
        "2020-02-30T00:00:00Z",
        "2020-01-01T00:00:00.Z",
        "2020-01-01T00:00:00.1234567890123456Z",
    ]
    texts: list[str | None] = [None]
    for _ in range(20000):
        t = list(rng.choice(base))
        i = rng.randrange(len(t))
        t[i] = rng.choice("0123456789TZ:.- +") if rng.random() < 0.5 else t[i]
        texts.append("".join(t))
    ms, state = _xml.parse_times(texts)
    raw = pc.utf8_trim_whitespace(pa.array(texts, type=pa.string()))
    canonical, _ = _xml._canonical_fields(raw)
    assert 0.3 < canonical.mean() < 0.9
    for i in range(0, len(texts), 7):  # the expression alone, one text at a time
        one_ms, one_state = _regex_only(texts[i])
        assert (ms[i], state[i]) == (one_ms, one_state), texts[i]


def _regex_only(text: str | None) -> tuple[int, int]:
    raw = pc.utf8_trim_whitespace(pa.array([text], type=pa.string()))
    matched, fields = _xml._regex_fields(raw)
    y, mo, d, h, mi, s, ms_part, zone, has_zone = (int(f[0]) for f in fields)
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    dim = int(_xml._DAYS_IN_MONTH[mo if 1 <= mo <= 12 else 1]) + (mo == 2 and leap)
    ok = bool(matched[0]) and y >= 1 and 1 <= mo <= 12 and 1 <= d <= dim
    ok = ok and h <= 23 and mi <= 59 and s <= 59 and abs(zone) < 24 * 60
    if not ok:
        return 0, _xml.TIME_INVALID
    days = int(_xml._days_from_civil(np.array([y]), np.array([mo]), np.array([d]))[0])
    value = ((days * 86400 + h * 3600 + mi * 60 + s) - zone * 60) * 1000 + ms_part
    return value, _xml.TIME_AWARE if has_zone else _xml.TIME_NAIVE
