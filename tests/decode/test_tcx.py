"""Tests of the TCX decoder (runlake.decode._tcx) and the safe XML layer it shares with GPX."""

from __future__ import annotations

import codecs
import datetime as dt

import pytest

from runlake._errors import NotAnActivity, ProblemKind, TcxError
from runlake.decode import TCX_LAPS_SCHEMA, TCX_POINTS_SCHEMA, decode_tcx, root_name

UTC = dt.UTC
TCD = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
AX = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"


def tcx(activities: str, *, ns: str = "", decl: bool = True, author: str = "") -> bytes:
    head = '<?xml version="1.0" encoding="UTF-8"?>\n' if decl else ""
    return (
        f'{head}<TrainingCenterDatabase xmlns="{TCD}" {ns}>\n<Activities>{activities}'
        f"</Activities>{author}</TrainingCenterDatabase>\n"
    ).encode()


def tp(time: str, *, lat: str = "", lon: str = "", extra: str = "") -> str:
    pos = (
        f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees>"
        f"<LongitudeDegrees>{lon}</LongitudeDegrees></Position>"
        if lat or lon
        else ""
    )
    return f"<Trackpoint><Time>{time}</Time>{pos}{extra}</Trackpoint>"


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)  # type: ignore[misc]


RUN = tcx(
    """
<Activity Sport="Running"><Id>2019-10-20T13:03:40Z</Id>
 <Lap StartTime="2019-10-20T13:03:40Z">
  <TotalTimeSeconds>344.0</TotalTimeSeconds><DistanceMeters>1000.0</DistanceMeters>
  <MaximumSpeed>3.378</MaximumSpeed><Calories>71</Calories>
  <AverageHeartRateBpm><Value>141</Value></AverageHeartRateBpm>
  <MaximumHeartRateBpm><Value>152</Value></MaximumHeartRateBpm>
  <Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod>
  <Track>"""
    + tp(
        "2019-10-20T13:03:40Z",
        lat="43.65",
        lon="-79.38",
        extra="<AltitudeMeters>88.0</AltitudeMeters><DistanceMeters>2.04</DistanceMeters>"
        "<HeartRateBpm><Value>108</Value></HeartRateBpm>"
        "<Extensions><ns3:TPX><ns3:Speed>0.98</ns3:Speed><ns3:RunCadence>87</ns3:RunCadence>"
        "</ns3:TPX></Extensions>",
    )
    + tp(
        "2019-10-20T13:03:41.500Z",
        lat="43.66",
        lon="-79.39",
        extra="<HeartRateBpm><Value>110</Value></HeartRateBpm>"
        "<Extensions><ns3:TPX><ns3:Watts>250</ns3:Watts></ns3:TPX></Extensions>",
    )
    + """</Track>
  <Extensions><ns3:LX><ns3:AvgSpeed>2.9</ns3:AvgSpeed><ns3:AvgRunCadence>88</ns3:AvgRunCadence>
   <ns3:MaxRunCadence>95</ns3:MaxRunCadence><ns3:AvgWatts>240</ns3:AvgWatts></ns3:LX>
  </Extensions>
 </Lap>
 <Creator xsi:type="Device_t"><Name>Forerunner 235</Name><UnitId>1</UnitId>
  <ProductID>1950</ProductID></Creator>
</Activity>""",
    ns=f'xmlns:ns3="{AX}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    author="<Author><Name>Connect Api</Name></Author>",
)


def col(table: object, name: str) -> list[object]:
    return table.column(name).to_pylist()  # type: ignore[attr-defined, no-any-return]


def test_garmin_run_every_value() -> None:
    got = decode_tcx(RUN, source="run.tcx")
    assert got.problems == []
    assert got.author == "Connect Api"
    [act] = got.activities
    assert (act.sport, act.start_time) == ("Running", utc(2019, 10, 20, 13, 3, 40))
    assert (act.creator_name, act.creator_product_id) == ("Forerunner 235", "1950")
    pts = got.points
    assert pts.schema == TCX_POINTS_SCHEMA
    assert col(pts, "timestamp") == [
        utc(2019, 10, 20, 13, 3, 40),
        utc(2019, 10, 20, 13, 3, 41, 500_000),
    ]
    assert col(pts, "latitude_deg") == [43.65, 43.66]
    assert col(pts, "altitude_m") == [88.0, None]
    assert col(pts, "distance_m") == [2.04, None]
    assert col(pts, "heart_rate_bpm") == [108.0, 110.0]
    assert col(pts, "speed_mps") == [0.98, None]
    assert col(pts, "run_cadence_raw") == [87.0, None]
    assert col(pts, "power_w") == [None, 250.0]
    assert col(pts, "cadence_raw") == [None, None]
    assert col(pts, "activity") == [0, 0]
    assert col(pts, "lap") == [0, 0]
    laps = got.laps
    assert laps.schema == TCX_LAPS_SCHEMA
    [lap] = laps.to_pylist()
    assert lap["start_time"] == utc(2019, 10, 20, 13, 3, 40)
    assert (lap["total_time_s"], lap["distance_m"], lap["maximum_speed_raw"]) == (344, 1000, 3.378)
    assert (lap["calories_kcal"], lap["avg_heart_rate_bpm"], lap["max_heart_rate_bpm"]) == (
        71,
        141,
        152,
    )
    assert (lap["avg_speed_mps"], lap["avg_run_cadence_raw"], lap["max_run_cadence_raw"]) == (
        2.9,
        88,
        95,
    )
    assert (lap["avg_power_w"], lap["max_power_w"], lap["steps"]) == (240, None, None)


@pytest.mark.parametrize(
    "variant",
    [
        "bom",
        "crlf",
        "single_line",
        "no_declaration_single_quotes",
        "inline_default_namespace",
        "prefix_x",
        "comments_and_cdata",
        "utf16",
    ],
)
def test_writers_variants_read_the_same(variant: str) -> None:
    data = RUN
    if variant == "bom":
        data = codecs.BOM_UTF8 + data
    elif variant == "crlf":
        data = data.replace(b"\n", b"\r\n")
    elif variant == "single_line":
        data = data.replace(b"\n", b"")
    elif variant == "no_declaration_single_quotes":
        data = data.split(b"\n", 1)[1].replace(b'"', b"'")
    elif variant == "inline_default_namespace":
        data = data.replace(b"<ns3:TPX>", f'<TPX xmlns="{AX}">'.encode()).replace(b"ns3:", b"")
        data = data.replace(b"</TPX>", b"</TPX>").replace(b"<LX>", f'<LX xmlns="{AX}">'.encode())
        data = data.replace(f'xmlns:ns3="{AX}"'.encode(), b"")
    elif variant == "prefix_x":
        data = data.replace(b"ns3", b"x")
    elif variant == "comments_and_cdata":
        data = data.replace(b"<Value>108</Value>", b"<Value><!-- strap --><![CDATA[108]]></Value>")
        data = data.replace(b"<Activities>", b"<Activities><!-- <Activity Sport='x'/> -->")
    else:
        data = data.decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16")
    got = decode_tcx(data, source=f"{variant}.tcx")
    want = decode_tcx(RUN, source="run.tcx")
    assert got.points.equals(want.points), variant
    assert got.laps.equals(want.laps), variant
    assert got.activities == want.activities
    assert got.problems == []


def test_several_tracks_per_lap_time_only_points_and_offsets() -> None:
    data = tcx(
        '<Activity Sport="Biking"><Id>2020-12-27T15:59:36.000+01:00</Id>'
        '<Lap StartTime="2020-12-27T15:59:36+01:00"><TotalTimeSeconds>5</TotalTimeSeconds>'
        f"<Track>{tp('2020-12-27T15:59:36.000+01:00')}"
        f"{tp('2020-12-27T15:59:37.000+01:00', lat='0', lon='0')}</Track>"
        f"<Track>{tp('2020-12-27T09:59:40.000-05:00', lat='47.1', lon='8.4')}"
        '<Trackpoint><Time>2020-12-27T15:59:41.000+01:00</Time><HeartRateBpm xsi:type="x">'
        "<Value>121</Value></HeartRateBpm><Cadence>88</Cadence></Trackpoint></Track></Lap>"
        "</Activity>",
        ns='xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
    )
    got = decode_tcx(data, source="tracks.tcx")
    pts = got.points
    assert col(pts, "timestamp") == [utc(2020, 12, 27, 14, 59, s) for s in (36, 37, 40, 41)]
    # a position of exactly 0/0 is no GPS fix
    assert col(pts, "latitude_deg") == [None, None, 47.1, None]
    assert col(pts, "heart_rate_bpm") == [None, None, None, 121.0]
    assert col(pts, "cadence_raw") == [None, None, None, 88.0]
    assert got.activities[0].start_time == utc(2020, 12, 27, 14, 59, 36)
    assert got.problems == []


def test_untimed_points_naive_times_and_unreadable_values() -> None:
    data = tcx(
        '<Activity Sport="Running"><Id>2021-01-01T10:00:00Z</Id><Lap StartTime="x"><Track>'
        + tp("2021-01-01T10:00:00", lat="no", lon="5")
        + tp("2021-01-01T10:00:01Z", extra="<HeartRateBpm><Value>n/a</Value></HeartRateBpm>")
        + "<Trackpoint><AltitudeMeters>5</AltitudeMeters></Trackpoint>"
        + tp("2021-02-30T10:00:02Z")
        + "</Track></Lap></Activity>"
    )
    got = decode_tcx(data, source="odd.tcx")
    assert col(got.points, "timestamp") == [utc(2021, 1, 1, 10, 0, 0), utc(2021, 1, 1, 10, 0, 1)]
    assert col(got.points, "latitude_deg") == [None, None]
    assert col(got.points, "longitude_deg") == [None, None]
    assert col(got.laps, "start_time") == [None]
    assert [p.message for p in got.problems] == [
        "no time zone, assumed UTC (1 trackpoints)",
        "dropped 2 of 4 trackpoints without a (valid) time",
        "1 unreadable <LatitudeDegrees> values ignored",
        "1 unreadable <HeartRateBpm> values ignored",
        "1 trackpoints with an impossible position (left out)",
    ]
    assert {p.kind for p in got.problems} == {ProblemKind.TCX}
    with pytest.raises(TcxError, match=r"odd\.tcx: no time zone, assumed UTC"):
        decode_tcx(data, source="odd.tcx", on_error="raise")


def test_several_activities_and_a_multisport_session() -> None:
    run = (
        '<Activity Sport="Running"><Id>2020-01-01T08:00:00Z</Id>'
        f'<Lap StartTime="2020-01-01T08:00:00Z"><Track>{tp("2020-01-01T08:00:00Z")}</Track>'
        "</Lap></Activity>"
    )
    bike = run.replace("Running", "Biking").replace("T08:", "T09:")
    multi = (
        f"<MultiSportSession><Id>2020-01-01T10:00:00Z</Id><FirstSport>{run.replace('T08:', 'T10:')}"
        f"</FirstSport><NextSport>{bike.replace('T09:', 'T11:')}</NextSport></MultiSportSession>"
    )
    got = decode_tcx(tcx(run + bike + multi), source="multi.tcx")
    assert [a.sport for a in got.activities] == ["Running", "Biking", "Running", "Biking"]
    assert [a.start_time.hour for a in got.activities if a.start_time] == [8, 9, 10, 11]
    assert col(got.points, "activity") == [0, 1, 2, 3]
    assert col(got.laps, "activity") == [0, 1, 2, 3]


def test_courses_are_not_an_activity() -> None:
    data = (
        f'<TrainingCenterDatabase xmlns="{TCD}"><Folders/><Courses><Course><Name>Loop</Name>'
        f"<Lap><TotalTimeSeconds>10</TotalTimeSeconds></Lap><Track>{tp('2020-01-01T00:00:00Z')}"
        "</Track></Course></Courses></TrainingCenterDatabase>"
    ).encode()
    with pytest.raises(NotAnActivity, match=r"course\.tcx: no activity in the TCX file.*1 courses"):
        decode_tcx(data, source="course.tcx")


def test_malformed_xml_names_the_line() -> None:
    data = RUN.replace(b"</Track>", b"</Trak>")
    with pytest.raises(
        TcxError, match=r"bad\.tcx: malformed XML at line 11:\d+: Opening and ending"
    ):
        decode_tcx(data, source="bad.tcx")
    unbound = RUN.replace(b'xsi:type="Device_t"', b'zz:type="Device_t"')
    with pytest.raises(TcxError, match=r"Namespace prefix zz for type on Creator is not defined"):
        decode_tcx(unbound, source="bad.tcx")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"<gpx/>", "not a TCX document: root element is <gpx>"),
        (
            b'<?xml version="1.0"?><!DOCTYPE t [<!ENTITY a "aaaa">]><TrainingCenterDatabase>'
            b"&a;</TrainingCenterDatabase>",
            "unsafe XML: document type declaration (DTD) is not allowed",
        ),
        (
            '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE t SYSTEM "file:///etc/passwd">'
            "<TrainingCenterDatabase/>".encode("utf-16"),
            "unsafe XML: document type declaration (DTD) is not allowed",
        ),
        (RUN.replace(b"UTF-8", b"UTF-99"), "unknown encoding at line 1:"),
    ],
    ids=["empty", "gpx root", "entity", "utf16 external DTD", "unknown encoding"],
)
def test_rejected_documents(data: bytes, message: str) -> None:
    with pytest.raises(TcxError) as info:
        decode_tcx(data, source="x.tcx")
    assert str(info.value).startswith(f"x.tcx: {message}")


def test_size_bound() -> None:
    with pytest.raises(TcxError, match="more than the limit of 100 bytes"):
        decode_tcx(RUN, source="big.tcx", max_bytes=100)


@pytest.mark.parametrize(
    ("head", "name"),
    [
        (RUN, "TrainingCenterDatabase"),
        (codecs.BOM_UTF8 + b"<!-- <gpx> --><gpx/>", "gpx"),
        ("<?xml version='1.0'?><g:gpx xmlns:g='u'/>".encode("utf-16"), "gpx"),
        (b"\x0e\x10\x00\x00.FIT", None),
    ],
)
def test_root_name(head: bytes, name: str | None) -> None:
    assert root_name(head) == name
