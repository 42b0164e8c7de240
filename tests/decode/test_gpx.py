"""Tests of the GPX decoder (runlake.decode._gpx)."""

from __future__ import annotations

import csv
import datetime as dt
import xml.etree.ElementTree as ET
from pathlib import Path

import pyarrow as pa
import pytest

from runlake._errors import GpxError, NotAnActivity
from runlake.decode._gpx import GPX_POINTS_SCHEMA, GpxTrack, decode_gpx

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
GPX_DIR = DATA / "gpx"
INVENTORY = DATA / "gpx-inventory.tsv"

UTC = dt.UTC

COLUMNS = [
    "timestamp",
    "latitude_deg",
    "longitude_deg",
    "altitude_m",
    "heart_rate_bpm",
    "cadence_raw",
    "power_w",
    "temperature_c",
    "segment",
]

GPX_OPEN = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<gpx version="1.1" creator="{creator}" xmlns="http://www.topografix.com/GPX/1/1"'
    " {ns}>\n"
)


def gpx_doc(body: str, *, ns: str = "", creator: str = "test") -> bytes:
    return (GPX_OPEN.format(creator=creator, ns=ns) + body + "\n</gpx>\n").encode()


def col(track: GpxTrack, name: str) -> list[object]:
    values: list[object] = track.points.column(name).to_pylist()
    return values


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


# --------------------------------------------------------------------------------------
# Extensions
# --------------------------------------------------------------------------------------

TPX_V1 = gpx_doc(
    """
<trk><name> Morning Run </name><type>Running</type><trkseg>
 <trkpt lat="50.1" lon="5.9"><ele>473.8</ele><time>2019-09-20T14:10:03Z</time>
  <extensions><gpxtpx:TrackPointExtension>
   <gpxtpx:atemp>18</gpxtpx:atemp><gpxtpx:hr>111</gpxtpx:hr><gpxtpx:cad>82</gpxtpx:cad>
  </gpxtpx:TrackPointExtension></extensions></trkpt>
 <trkpt lat="50.2" lon="5.8"><ele>474.5</ele><time>2019-09-20T14:10:04.250Z</time>
  <extensions><gpxtpx:TrackPointExtension>
   <gpxtpx:atemp>18.5</gpxtpx:atemp><gpxtpx:hr>112</gpxtpx:hr><gpxtpx:cad>0</gpxtpx:cad>
  </gpxtpx:TrackPointExtension></extensions></trkpt>
</trkseg></trk>""",
    ns='xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"',
    creator="Garmin Connect",
)


def test_garmin_tpx_v1_values() -> None:
    track = decode_gpx(TPX_V1, source="v1.gpx")
    assert track.creator == "Garmin Connect"
    assert track.name == "Morning Run"
    assert track.activity_type == "running"
    assert track.problems == []
    assert track.points.schema == GPX_POINTS_SCHEMA
    assert track.points.column_names == COLUMNS
    assert track.points.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert track.points.schema.field("segment").type == pa.int32()
    assert col(track, "timestamp") == [
        utc(2019, 9, 20, 14, 10, 3),
        utc(2019, 9, 20, 14, 10, 4, 250_000),
    ]
    assert col(track, "latitude_deg") == [50.1, 50.2]
    assert col(track, "longitude_deg") == [5.9, 5.8]
    assert col(track, "altitude_m") == [473.8, 474.5]
    assert col(track, "heart_rate_bpm") == [111.0, 112.0]
    # cadence as written (strides/min for Garmin running), a written 0 stays 0
    assert col(track, "cadence_raw") == [82.0, 0.0]
    assert col(track, "temperature_c") == [18.0, 18.5]
    assert col(track, "power_w") == [None, None]
    assert col(track, "segment") == [0, 0]


def test_garmin_tpx_v2_unknown_prefix_and_missing_values_are_null() -> None:
    data = gpx_doc(
        """
<trk><type>trail_running</type><trkseg>
 <trkpt lat="1.5" lon="2.5"><time>2021-05-01T06:00:00Z</time>
  <extensions><ns3:TrackPointExtension>
   <ns3:hr>140</ns3:hr><ns3:cad>88</ns3:cad><ns3:speed>3.1</ns3:speed>
  </ns3:TrackPointExtension></extensions></trkpt>
 <trkpt lat="1.6" lon="2.6"><time>2021-05-01T06:00:01Z</time>
  <extensions><ns3:TrackPointExtension><ns3:cad>89</ns3:cad>
  </ns3:TrackPointExtension></extensions></trkpt>
 <trkpt lat="1.7" lon="2.7"><time>2021-05-01T06:00:02Z</time></trkpt>
</trkseg></trk>""",
        ns='xmlns:ns3="http://www.garmin.com/xmlschemas/TrackPointExtension/v2"',
    )
    track = decode_gpx(data, source="v2.gpx")
    assert track.activity_type == "trail_running"
    assert track.name is None
    assert col(track, "heart_rate_bpm") == [140.0, None, None]
    assert col(track, "cadence_raw") == [88.0, 89.0, None]
    assert col(track, "altitude_m") == [None, None, None]
    assert col(track, "temperature_c") == [None, None, None]
    assert track.problems == []


def test_cluetrust_gpxdata() -> None:
    data = gpx_doc(
        """
<trk><name>Lunch</name><trkseg>
 <trkpt lat="47.0" lon="8.0"><ele>400</ele><time>2012-03-04T12:00:00Z</time>
  <extensions><gpxdata:hr>150</gpxdata:hr><gpxdata:cadence>90</gpxdata:cadence>
   <gpxdata:temp>21.5</gpxdata:temp></extensions></trkpt>
</trkseg></trk>""",
        ns='xmlns:gpxdata="http://www.cluetrust.com/XML/GPXDATA/1/0"',
    )
    track = decode_gpx(data, source="cluetrust.gpx")
    assert col(track, "heart_rate_bpm") == [150.0]
    assert col(track, "cadence_raw") == [90.0]
    assert col(track, "temperature_c") == [21.5]
    assert col(track, "power_w") == [None]


def test_strava_power_and_garmin_power_extension() -> None:
    data = gpx_doc(
        """
<trk><name>Ride</name><type>1</type><trkseg>
 <trkpt lat="50.0" lon="5.0"><time>2019-09-20T14:10:03Z</time>
  <extensions><power>251</power><gpxtpx:TrackPointExtension><gpxtpx:hr>120</gpxtpx:hr>
  </gpxtpx:TrackPointExtension></extensions></trkpt>
 <trkpt lat="50.0" lon="5.1"><time>2019-09-20T14:10:04Z</time>
  <extensions><zz:PowerInWatts>262</zz:PowerInWatts></extensions></trkpt>
</trkseg></trk>""",
        ns='xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1" '
        'xmlns:zz="http://www.garmin.com/xmlschemas/PowerExtension/v1"',
        creator="StravaGPX",
    )
    track = decode_gpx(data, source="strava.gpx")
    assert track.activity_type == "1"
    assert col(track, "power_w") == [251.0, 262.0]
    assert col(track, "heart_rate_bpm") == [120.0, None]


def test_unreadable_extension_value() -> None:
    data = gpx_doc(
        """
<trk><trkseg>
 <trkpt lat="1" lon="2"><time>2020-01-01T00:00:00Z</time>
  <extensions><t:TrackPointExtension><t:hr>n/a</t:hr><t:cad>80</t:cad>
  </t:TrackPointExtension></extensions></trkpt>
</trkseg></trk>""",
        ns='xmlns:t="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"',
    )
    track = decode_gpx(data, source="bad-hr.gpx")
    assert col(track, "heart_rate_bpm") == [None]
    assert col(track, "cadence_raw") == [80.0]
    assert [p.message for p in track.problems] == ["1 unreadable <hr> extension values ignored"]
    assert track.problems[0].kind == "GpxError"
    with pytest.raises(GpxError, match="unreadable <hr>"):
        decode_gpx(data, source="bad-hr.gpx", on_error="raise")


# --------------------------------------------------------------------------------------
# Times, segments
# --------------------------------------------------------------------------------------


def test_naive_times_assumed_utc_once_per_file() -> None:
    data = gpx_doc(
        """
<trk><trkseg>
 <trkpt lat="1" lon="2"><time>2020-06-01T10:00:00</time></trkpt>
 <trkpt lat="1" lon="2"><time>2020-06-01T10:00:01.5</time></trkpt>
 <trkpt lat="1" lon="2"><time>2020-06-01T12:00:02+02:00</time></trkpt>
</trkseg></trk>"""
    )
    track = decode_gpx(data, source="naive.gpx")
    assert col(track, "timestamp") == [
        utc(2020, 6, 1, 10, 0, 0),
        utc(2020, 6, 1, 10, 0, 1, 500_000),
        utc(2020, 6, 1, 10, 0, 2),
    ]
    assert len(track.problems) == 1
    assert track.problems[0].message.startswith("no time zone, assumed UTC")
    assert "2 track points" in track.problems[0].message
    with pytest.raises(GpxError, match=r"naive\.gpx: no time zone, assumed UTC"):
        decode_gpx(data, source="naive.gpx", on_error="raise")


def test_offsets_converted_to_utc() -> None:
    data = gpx_doc(
        """
<trk><trkseg>
 <trkpt lat="57.0" lon="9.9"><time>2015-12-11T15:43:13.000+01:00</time></trkpt>
 <trkpt lat="57.0" lon="9.9"><time>2015-12-11T09:43:14.994-05:00</time></trkpt>
</trkseg></trk>"""
    )
    track = decode_gpx(data, source="tz.gpx")
    assert col(track, "timestamp") == [
        utc(2015, 12, 11, 14, 43, 13),
        utc(2015, 12, 11, 14, 43, 14, 994_000),
    ]
    assert track.problems == []


def test_untimed_points_dropped_with_one_problem() -> None:
    data = gpx_doc(
        """
<trk><trkseg>
 <trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt>
 <trkpt lat="2" lon="2"></trkpt>
 <trkpt lat="3" lon="3"><time>not a time</time></trkpt>
 <trkpt lat="4" lon="4"><time>2020-01-01T00:00:03Z</time></trkpt>
</trkseg></trk>"""
    )
    track = decode_gpx(data, source="gaps.gpx")
    assert col(track, "latitude_deg") == [1.0, 4.0]
    assert [p.message for p in track.problems] == [
        "dropped 2 of 4 track points without a (valid) time"
    ]
    with pytest.raises(GpxError, match="dropped 2 of 4"):
        decode_gpx(data, source="gaps.gpx", on_error="raise")


def test_time_going_backwards_keeps_file_order() -> None:
    data = gpx_doc(
        """
<trk><trkseg>
 <trkpt lat="1" lon="1"><time>2020-01-01T00:00:10Z</time></trkpt>
 <trkpt lat="2" lon="2"><time>2020-01-01T00:00:05Z</time></trkpt>
 <trkpt lat="3" lon="3"><time>2020-01-01T00:00:06Z</time></trkpt>
 <trkpt lat="4" lon="4"><time>2020-01-01T00:00:06Z</time></trkpt>
 <trkpt lat="5" lon="5"><time>2020-01-01T00:00:01Z</time></trkpt>
</trkseg></trk>"""
    )
    track = decode_gpx(data, source="back.gpx")
    assert col(track, "latitude_deg") == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert col(track, "timestamp") == [utc(2020, 1, 1, 0, 0, s) for s in (10, 5, 6, 6, 1)]
    assert [p.message for p in track.problems] == ["time goes backwards 2 times (file order kept)"]
    with pytest.raises(GpxError, match="backwards"):
        decode_gpx(data, source="back.gpx", on_error="raise")


def test_segments_are_numbered_across_tracks() -> None:
    data = gpx_doc(
        """
<trk><name>First</name><type>Running</type>
 <trkseg><trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt>
         <trkpt lat="1" lon="1"><time>2020-01-01T00:00:01Z</time></trkpt></trkseg>
 <trkseg><trkpt lat="2" lon="2"><time>2020-01-01T00:01:00Z</time></trkpt></trkseg>
</trk>
<trk><name>Second</name><type>cycling</type>
 <trkseg><trkpt lat="3" lon="3"><time>2020-01-01T00:02:00Z</time></trkpt></trkseg>
</trk>"""
    )
    track = decode_gpx(data, source="multi.gpx")
    assert track.name == "First"
    assert track.activity_type == "running"
    assert col(track, "segment") == [0, 0, 1, 2]
    assert col(track, "latitude_deg") == [1.0, 1.0, 2.0, 3.0]


def test_latin1_document() -> None:
    data = (
        '<?xml version="1.0" encoding="ISO-8859-1"?>\n'
        '<gpx version="1.1" creator="Caf\xe9" xmlns="http://www.topografix.com/GPX/1/1">'
        '<trk><name>Sch\xf6n</name><trkseg><trkpt lat="1" lon="2">'
        "<time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>"
    ).encode("latin-1")
    track = decode_gpx(data, source="latin1.gpx")
    assert track.creator == "Café"
    assert track.name == "Schön"
    assert track.points.num_rows == 1


def test_utf8_bom_and_gpx_1_0() -> None:
    data = (
        b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>"
        b'<gpx version="1.0" creator="old" xmlns="http://www.topografix.com/GPX/1/0">'
        b'<trk><trkseg><trkpt lat="-33.5" lon="151.25"><ele>12.5</ele>'
        b"<time>2009-07-01T08:00:00Z</time></trkpt></trkseg></trk></gpx>"
    )
    track = decode_gpx(data, source="bom.gpx")
    assert col(track, "latitude_deg") == [-33.5]
    assert col(track, "longitude_deg") == [151.25]
    assert col(track, "altitude_m") == [12.5]
    assert col(track, "timestamp") == [utc(2009, 7, 1, 8)]


# --------------------------------------------------------------------------------------
# Not an activity
# --------------------------------------------------------------------------------------


def test_route_only_is_not_an_activity() -> None:
    data = gpx_doc(
        """
<rte><name>Course</name>
 <rtept lat="1" lon="1"/><rtept lat="2" lon="2"/><rtept lat="3" lon="3"/>
</rte>"""
    )
    with pytest.raises(NotAnActivity, match=r"route\.gpx: no timestamped track points") as info:
        decode_gpx(data, source="route.gpx")
    assert "1 routes (3 points)" in str(info.value)
    assert info.value.source == "route.gpx"


def test_waypoints_and_untimed_track_are_not_an_activity() -> None:
    data = gpx_doc(
        """
<wpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time><name>Start</name></wpt>
<trk><trkseg><trkpt lat="1" lon="1"/><trkpt lat="2" lon="2"/></trkseg></trk>"""
    )
    with pytest.raises(NotAnActivity, match=r"2 track points \(none with a time\)"):
        decode_gpx(data, source="course.gpx")


# --------------------------------------------------------------------------------------
# Errors and security
# --------------------------------------------------------------------------------------


def test_malformed_xml_reports_line_and_column() -> None:
    data = b'<?xml version="1.0"?>\n<gpx version="1.1">\n  <trk><name>x</trk>\n</gpx>\n'
    expected = r"bad\.gpx: malformed XML at line 3:21: Opening and ending tag mismatch: name line 3"
    with pytest.raises(GpxError, match=expected):
        decode_gpx(data, source="bad.gpx")


def test_truncated_xml() -> None:
    data = TPX_V1[: len(TPX_V1) // 2]
    with pytest.raises(GpxError, match=r"malformed XML at line \d+:\d+"):
        decode_gpx(data, source="cut.gpx")


def test_billion_laughs_is_rejected() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<gpx version="1.1" creator="&lol9;"><trk><trkseg>
<trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>
"""
    with pytest.raises(GpxError, match=r"lol\.gpx: unsafe XML: document type declaration"):
        decode_gpx(data, source="lol.gpx")


def test_external_entity_is_rejected() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<gpx version="1.1" creator="x"><trk><name>&xxe;</name><trkseg>
<trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>
"""
    with pytest.raises(GpxError, match="unsafe XML") as info:
        decode_gpx(data, source="xxe.gpx")
    assert "root:" not in str(info.value)


def test_external_dtd_is_rejected() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE gpx SYSTEM "http://example.invalid/gpx.dtd">
<gpx version="1.1"><trk><trkseg>
<trkpt lat="1" lon="1"><time>2020-01-01T00:00:00Z</time></trkpt></trkseg></trk></gpx>
"""
    with pytest.raises(GpxError, match="unsafe XML: document type declaration"):
        decode_gpx(data, source="dtd.gpx")


def test_non_gpx_root() -> None:
    data = b'<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>'
    with pytest.raises(GpxError, match=r"kml\.gpx: not a GPX document: root element is <kml>"):
        decode_gpx(data, source="kml.gpx")


@pytest.mark.parametrize("data", [b"", b"  \n\t "])
def test_empty_file(data: bytes) -> None:
    with pytest.raises(GpxError, match=r"empty\.gpx: empty file"):
        decode_gpx(data, source="empty.gpx")


def test_size_bound() -> None:
    with pytest.raises(GpxError, match=r"more than the limit of 100 bytes"):
        decode_gpx(TPX_V1, source="big.gpx", max_bytes=100)
    assert decode_gpx(TPX_V1, source="big.gpx", max_bytes=len(TPX_V1)).points.num_rows == 2


def test_unknown_encoding() -> None:
    data = TPX_V1.replace(b'encoding="UTF-8"', b'encoding="UTF-99"')
    with pytest.raises(GpxError, match=r"enc\.gpx: unknown encoding"):
        decode_gpx(data, source="enc.gpx")


def test_invalid_gpx_value() -> None:
    data = gpx_doc(
        '<trk><trkseg><trkpt lat="north" lon="1"><time>2020-01-01T00:00:00Z</time>'
        "</trkpt></trkseg></trk>"
    )
    expected = r"latbad\.gpx: invalid GPX at line 3: track point lat 'north' is not a number"
    with pytest.raises(GpxError, match=expected):
        decode_gpx(data, source="latbad.gpx")


# --------------------------------------------------------------------------------------
# Corpus
# --------------------------------------------------------------------------------------


def _inventory() -> dict[str, dict[str, str]]:
    if not INVENTORY.is_file():
        return {}
    with INVENTORY.open(newline="", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def _corpus_files() -> list[Path]:
    return sorted(GPX_DIR.glob("*.gpx")) if GPX_DIR.is_dir() else []


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _count_trkpts(data: bytes) -> tuple[int, int]:
    """(all trkpt, trkpt with a non-empty <time>), counted with the stdlib parser."""
    root = ET.fromstring(data)
    total = timed = 0
    for el in root.iter():
        if _local(el.tag) != "trkpt":
            continue
        total += 1
        if any(_local(c.tag) == "time" and (c.text or "").strip() for c in el):
            timed += 1
    return total, timed


CORPUS = _corpus_files()


@pytest.mark.corpus
@pytest.mark.parametrize(
    "path",
    CORPUS or [pytest.param(None, marks=pytest.mark.skip(reason=f"{GPX_DIR} absent"))],
    ids=[p.name for p in CORPUS] or ["no-corpus"],
)
def test_corpus_file(path: Path) -> None:
    row = _inventory().get(f"gpx/{path.name}")
    data = path.read_bytes()
    if row is not None and row["parses_ok"] == "no":
        with pytest.raises(GpxError):
            decode_gpx(data, source=str(path))
        return
    total, timed = _count_trkpts(data)
    if row is not None:
        assert total == int(row["n_trkpt"])
    if timed == 0:
        with pytest.raises(NotAnActivity):
            decode_gpx(data, source=str(path))
        return
    track = decode_gpx(data, source=str(path))
    points = track.points
    assert points.schema == GPX_POINTS_SCHEMA
    assert points.num_rows == timed
    assert points.column("timestamp").null_count == 0
    dropped = [p for p in track.problems if p.message.startswith("dropped")]
    if timed < total:
        assert dropped[0].message.startswith(f"dropped {total - timed} of {total} ")
    else:
        assert dropped == []
    if row is None:
        return
    for column, flag in [
        ("heart_rate_bpm", "has_hr_ext"),
        ("cadence_raw", "has_cad_ext"),
        ("power_w", "has_power_ext"),
    ]:
        present = points.column(column).null_count < points.num_rows
        assert present == (row[flag] == "yes"), column


def test_corpus_garmin_tpx_values() -> None:
    path = GPX_DIR / "tkrajina__gpxpy__test_files__garmin_tpx.gpx"
    if not path.is_file():
        pytest.skip(f"{path} absent")
    track = decode_gpx(path.read_bytes(), source=path.name)
    assert track.name == "test_garmin_tpx"
    assert track.activity_type == "road_biking"
    assert col(track, "heart_rate_bpm") == [113.0, 112.0, 138.0]
    assert col(track, "cadence_raw") == [None, None, 21.0]
    assert col(track, "temperature_c") == [15.0, 15.0, 1.0]
    assert col(track, "timestamp") == [
        utc(2017, 11, 19, 11, 23, 7),
        utc(2017, 11, 19, 11, 23, 8),
        utc(2017, 11, 19, 11, 44, 12),
    ]
