"""normalize_tcx: each decision where TCX writers differ, on small documents and real files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from runlake._errors import ProblemKind
from runlake._schemas import ACTIVITIES, LAPS, RECORDS
from runlake.decode import decode_tcx
from runlake.normalize import Normalized, SourceInfo, normalize_tcx, tcx_sport

UTC = dt.UTC
TCX_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tcx"
TCD = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
INFO = SourceInfo("ab" * 32, "x.tcx", dt.datetime(2026, 1, 1, tzinfo=UTC))


def point(s: int, *, lat: float | None = None, extra: str = "") -> str:
    pos = (
        f"<Position><LatitudeDegrees>{lat}</LatitudeDegrees>"
        f"<LongitudeDegrees>8.0</LongitudeDegrees></Position>"
        if lat is not None
        else ""
    )
    return f"<Trackpoint><Time>2021-05-01T06:00:{s:02d}Z</Time>{pos}{extra}</Trackpoint>"


def doc(sport: str, laps: str) -> bytes:
    return (
        f'<TrainingCenterDatabase xmlns="{TCD}"><Activities><Activity Sport="{sport}">'
        f"<Id>2021-05-01T06:00:00Z</Id>{laps}</Activity></Activities></TrainingCenterDatabase>"
    ).encode()


def lap(body: str, points: str, start: int = 0) -> str:
    return f'<Lap StartTime="2021-05-01T06:00:{start:02d}Z">{body}<Track>{points}</Track></Lap>'


def run(data: bytes) -> Normalized:
    norm = normalize_tcx(decode_tcx(data, source="x.tcx"), INFO)
    assert norm.activities.schema == ACTIVITIES
    assert norm.laps.schema == LAPS
    assert norm.records.schema == RECORDS
    return norm


def col(norm: Normalized, table: str, name: str) -> list[object]:
    return getattr(norm, table).column(name).to_pylist()  # type: ignore[no-any-return]


def test_laps_give_the_summary_and_fit_names() -> None:
    laps = lap(
        "<TotalTimeSeconds>2</TotalTimeSeconds><DistanceMeters>8.0</DistanceMeters>"
        "<MaximumSpeed>4.5</MaximumSpeed><Calories>3</Calories>"
        "<AverageHeartRateBpm><Value>150</Value></AverageHeartRateBpm>"
        "<MaximumHeartRateBpm><Value>160</Value></MaximumHeartRateBpm>"
        "<Extensions><LX xmlns='http://www.garmin.com/xmlschemas/ActivityExtension/v2'>"
        "<AvgRunCadence>85</AvgRunCadence><AvgWatts>200</AvgWatts></LX></Extensions>",
        point(0, lat=47.0) + point(1, lat=47.00001) + point(2, lat=47.00002),
    ) + lap(
        "<TotalTimeSeconds>6</TotalTimeSeconds><DistanceMeters>20.0</DistanceMeters>"
        "<MaximumSpeed>5.5</MaximumSpeed><Calories>4</Calories>"
        "<AverageHeartRateBpm><Value>130</Value></AverageHeartRateBpm>"
        "<MaximumHeartRateBpm><Value>170</Value></MaximumHeartRateBpm><Cadence>80</Cadence>",
        point(3, lat=47.00003) + point(9, lat=47.00004),
        start=3,
    )
    norm = run(doc("Running", laps))
    [a] = norm.activities.to_pylist()
    assert (a["source_format"], a["sport"], a["sub_sport"]) == ("tcx", "running", None)
    assert a["start_time"] == dt.datetime(2021, 5, 1, 6, 0, tzinfo=UTC)
    assert (a["duration_s"], a["distance_m"], a["max_speed_mps"]) == (8.0, 28.0, 5.5)
    assert a["avg_speed_mps"] == 28.0 / 8.0
    assert (a["total_calories_kcal"], a["max_hr_bpm"]) == (7.0, 170.0)
    assert a["avg_hr_bpm"] == pytest.approx((150 * 2 + 130 * 6) / 8)  # time-weighted
    # strides/min from LX AvgRunCadence and the lap Cadence, doubled into steps
    assert a["avg_cadence_spm"] == pytest.approx((85 * 2 + 80 * 6) / 8 * 2)
    assert a["elapsed_s"] == 9.0  # from the trackpoints: TCX has no elapsed time
    assert col(norm, "laps", "lap_index") == [0, 1]
    assert col(norm, "laps", "duration_s") == [2.0, 6.0]
    assert col(norm, "laps", "avg_cadence_spm") == [170.0, 160.0]
    assert col(norm, "laps", "avg_power_w") == [200.0, None]
    assert a["n_records"] == 5
    assert norm.problems == ()


def test_distance_from_positions_without_device_distance() -> None:
    pts = point(0, lat=47.0) + point(1, lat=47.001) + point(2)
    norm = run(doc("Biking", lap("<TotalTimeSeconds>2</TotalTimeSeconds>", pts)))
    dist = col(norm, "records", "distance_m")
    assert dist[0] == 0.0
    assert dist[1] == pytest.approx(111.19, abs=0.01)  # 0.001 degree of latitude
    assert dist[2] == dist[1]  # no position: no step
    assert col(norm, "records", "speed_mps")[1] == pytest.approx(111.19, abs=0.01)
    assert col(norm, "activities", "distance_m") == [pytest.approx(111.19, abs=0.01)]


def test_device_distance_and_speed_win_and_zero_heart_rate_is_null() -> None:
    ext = "<Extensions><TPX><Speed>{}</Speed></TPX></Extensions>"
    pts = point(
        0,
        lat=47.0,
        extra="<DistanceMeters>0</DistanceMeters><HeartRateBpm><Value>0"
        "</Value></HeartRateBpm>" + ext.format(2.5),
    ) + point(1, lat=47.1, extra="<DistanceMeters>3</DistanceMeters>" + ext.format(3.5))
    norm = run(doc("Running", lap("", pts)))
    assert col(norm, "records", "distance_m") == [0.0, 3.0]
    assert col(norm, "records", "speed_mps") == [2.5, 3.5]
    assert col(norm, "records", "heart_rate_bpm") == [None, None]
    assert col(norm, "activities", "distance_m") == [3.0]


def test_run_cadence_in_steps_is_not_doubled() -> None:
    tpx = "<Extensions><TPX><RunCadence>{}</RunCadence></TPX></Extensions>"
    strides = "".join(point(s, extra=tpx.format(88)) for s in range(3))
    steps = "".join(point(s, extra=tpx.format(178)) for s in range(3))
    assert col(run(doc("Running", lap("", strides))), "records", "cadence_spm") == [176.0] * 3
    norm = run(doc("Running", lap("", steps)))
    assert col(norm, "records", "cadence_spm") == [178.0] * 3
    assert [p.kind for p in norm.problems] == [ProblemKind.TCX]
    assert "taken as steps per minute" in norm.problems[0].message
    # on a bike the trackpoint Cadence is revolutions per minute
    bike = "".join(point(s, extra="<Cadence>90</Cadence>") for s in range(2))
    norm = run(doc("Biking", lap("", bike)))
    assert col(norm, "records", "cadence_rpm") == [90.0, 90.0]
    assert col(norm, "records", "cadence_spm") == [None, None]


def test_strava_maximum_speed_is_not_meters_per_second() -> None:
    pts = point(0, extra="<Extensions><TPX><Speed>4.5</Speed></TPX></Extensions>") + point(1)
    norm = run(doc("Running", lap("<MaximumSpeed>16200.0</MaximumSpeed>", pts)))
    assert col(norm, "activities", "max_speed_mps") == [4.5]  # from the trackpoints
    assert col(norm, "laps", "max_speed_mps") == [None]
    assert "MaximumSpeed over 100 (largest 16200), not m/s" in norm.problems[0].message


def test_a_lap_time_of_zero_or_in_minutes_is_ignored() -> None:
    pts = "".join(point(s) for s in range(0, 60, 10))
    for body in ("<TotalTimeSeconds>0.0</TotalTimeSeconds><DistanceMeters>0</DistanceMeters>",
                 "<TotalTimeSeconds>0.83</TotalTimeSeconds>"):  # fmt: skip
        norm = run(doc("Running", lap(body, pts)))
        assert col(norm, "activities", "duration_s") == [50.0]
        assert col(norm, "laps", "duration_s") == [None]
        assert "TotalTimeSeconds is 0 or under a tenth" in norm.problems[0].message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Running", ("running", None)),
        ("Biking", ("cycling", None)),
        ("Other", ("generic", None)),
        (None, ("generic", None)),
        ("RunningFaster", ("running", None)),
        ("TrailRun", ("running", "trail")),
        ("VirtualRide", ("cycling", "virtual_activity")),
        ("Treadmill", ("running", "treadmill")),
        ("Hiking", ("hiking", None)),
        ("IndoorRowing", ("rowing", None)),
        ("VirtualRun", ("running", None)),
        ("IndoorCycling", ("cycling", "indoor_cycling")),
        ("Yoga", ("generic", None)),
    ],
)
def test_sport_words(value: str | None, expected: tuple[str, str | None]) -> None:
    assert tcx_sport(value) == expected


def _corpus(name: str) -> bytes:
    path = TCX_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} absent")
    return path.read_bytes()


@pytest.mark.corpus
def test_two_activities_at_the_same_time_keep_their_own_laps() -> None:
    norm = run(_corpus("jknabl__ruby_tcx__test__data__stwm2019-multiple.tcx"))
    acts = norm.activities.to_pylist()
    assert [a["n_records"] for a in acts] == [102, 102]
    assert [a["distance_m"] for a in acts] == [2000.0, 2000.0]
    ids = col(norm, "laps", "activity_id")
    assert ids == [acts[0]["activity_id"]] * 2 + [acts[1]["activity_id"]] * 2
    assert [p.kind for p in norm.problems] == [ProblemKind.TIME_ANOMALY]


@pytest.mark.corpus
def test_strava_export_real_file() -> None:
    name = (
        "thomaschampagne__elevate__desktop__src__connectors__file__integration-fixtures__"
        "running__strong-viking.tcx"
    )
    norm = run(_corpus(name))
    [a] = norm.activities.to_pylist()
    assert a["max_speed_mps"] < 10  # not 16200
    assert a["distance_m"] == pytest.approx(15841.4)
    assert a["duration_s"] == 11395.0
