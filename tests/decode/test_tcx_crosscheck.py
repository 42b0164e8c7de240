"""Cross-check: our TCX decoder against an independent reader, value by value, on every TCX
file of the corpus (../shared/data/tcx, skipped when absent).

The reference is a small reader in this file, on the standard library's ElementTree (expat:
no code shared with runlake's libxml2 parse, its RE2 time parser or its column code): it
walks ``Activities/Activity/Lap/Track/Trackpoint`` by element local name, reads times with
``datetime.fromisoformat`` and numbers with ``float()``. The public readers were tried
first and read the corpus wrongly for this purpose: tcxreader 0.4.11 drops trackpoints
without a position (3514 of 3517 in one file, none at all in the yoga, treadmill and rowing
files), returns naive times for some files and keys TPX values under odd prefixes by their
namespace; python-tcxparser 2.4 reads only the first activity and no laps' LX values.

Compared: every activity (Sport, Id, Creator Name and ProductID), every lap (StartTime,
TotalTimeSeconds, DistanceMeters, MaximumSpeed, Calories, average and maximum heart rate,
Cadence, LX AvgSpeed/AvgRunCadence/MaxRunCadence/AvgWatts/MaxWatts/MaxBikeCadence/Steps)
and every timed trackpoint (time to the millisecond, position, altitude, distance, heart
rate, cadence, TPX Speed/RunCadence/Watts, its activity and lap).
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from runlake._errors import NotAnActivity, TcxError
from runlake.decode import decode_tcx

REPO = Path(__file__).resolve().parents[2]
TCX_DIR = REPO.parent / "shared" / "data" / "tcx"
FILES = sorted(TCX_DIR.glob("*.tcx*")) if TCX_DIR.is_dir() else []
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)

# The corpus files altered on purpose (tcx/README: "deliberately altered test variants of
# real ones"), and what runlake does with each.
ALTERED_ON_PURPOSE = {
    # not well-formed: an unbound prefix (xsi) at line 4653: rejected with the line
    "corriporai__runpandas__runpandas__tests__io__data__tcx__malformed.tcx": (
        "error",
        "malformed XML at line 4653:35: Namespace prefix xsi for type on Creator is not defined",
    ),
    # not well-formed: a mismatched tag at line 61: rejected with the line
    "aricooperdavis__Huawei-TCX-Converter__Development Tools__Invalid_TCX.tcx": (
        "error",
        "malformed XML at line 61:54: Opening and ending tag mismatch: Distance line 61 and Time",
    ),
    # hand-edited positions ("no", "undefined", 0/0): decoded, the bad values reported
    "placemark__togeojson__test__data__bad.tcx": (
        "warning",
        "2 unreadable <LatitudeDegrees> values ignored",
    ),
    # the same run twice, the second with Sport="RunningFaster": two activities
    "jknabl__ruby_tcx__test__data__stwm2019-multiple.tcx": ("activities", "2"),
}

POINT_FIELDS = {
    "LatitudeDegrees": "latitude_deg",
    "LongitudeDegrees": "longitude_deg",
    "AltitudeMeters": "altitude_m",
    "DistanceMeters": "distance_m",
    "HeartRateBpm": "heart_rate_bpm",
    "Cadence": "cadence_raw",
    "Speed": "speed_mps",
    "RunCadence": "run_cadence_raw",
    "Watts": "power_w",
}
LAP_FIELDS = {
    "TotalTimeSeconds": "total_time_s",
    "DistanceMeters": "distance_m",
    "MaximumSpeed": "maximum_speed_raw",
    "Calories": "calories_kcal",
    "AverageHeartRateBpm": "avg_heart_rate_bpm",
    "MaximumHeartRateBpm": "max_heart_rate_bpm",
    "Cadence": "cadence_raw",
}
LX_FIELDS = {
    "AvgSpeed": "avg_speed_mps",
    "AvgRunCadence": "avg_run_cadence_raw",
    "MaxRunCadence": "max_run_cadence_raw",
    "AvgWatts": "avg_power_w",
    "MaxWatts": "max_power_w",
    "MaxBikeCadence": "max_bike_cadence_rpm",
    "Steps": "steps",
}


def _bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _ms(text: str | None) -> int | None:
    try:
        t = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        return None
    t = t if t.tzinfo is not None else t.replace(tzinfo=UTC)
    return (t - EPOCH) // dt.timedelta(milliseconds=1)


def _num(text: str | None) -> float | None:
    try:
        v = float(text) if text is not None else None
    except ValueError:
        return None
    return v if v is not None and math.isfinite(v) else None


def _text(el: ET.Element | None, name: str) -> str | None:
    """``name``'s text, or its <Value>'s (heart rates)."""
    c = _child(el, name)
    if c is None:
        return None
    value = _child(c, "Value")
    return value.text if value is not None else c.text


def _first_under(el: ET.Element | None, names: dict[str, str]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for x in [] if el is None else el.iter():
        column = names.get(_local(x.tag))
        if column is not None and column not in out and (x.text or "").strip():
            out[column] = _num(x.text)
    return out


def _point(tp: ET.Element, activity: int, lap: int) -> dict[str, object] | None:
    ms = _ms(_text(tp, "Time"))
    if ms is None:
        return None
    pos = _child(tp, "Position")
    lat, lon = _num(_text(pos, "LatitudeDegrees")), _num(_text(pos, "LongitudeDegrees"))
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180 or lat == lon == 0:
        lat = lon = None
    return {
        "ms": ms,
        "latitude_deg": lat,
        "longitude_deg": lon,
        **{c: _num(_text(tp, f)) for f, c in list(POINT_FIELDS.items())[2:6]},
        "speed_mps": None,
        "run_cadence_raw": None,
        "power_w": None,
        **_first_under(
            _child(tp, "Extensions"),
            {"Speed": "speed_mps", "RunCadence": "run_cadence_raw", "Watts": "power_w"},
        ),
        "activity": activity,
        "lap": lap,
    }


def reference(data: bytes) -> tuple[list[dict[str, object]], list[dict[str, object]], list]:
    """(activities, laps, timed trackpoints) of a TCX document, read with ElementTree."""
    root = ET.fromstring(data)
    acts: list[dict[str, object]] = []
    laps: list[dict[str, object]] = []
    points: list[dict[str, object]] = []
    for parent in root.iter():
        if _local(parent.tag) not in ("Activities", "FirstSport", "NextSport"):
            continue
        for act in _children(parent, "Activity"):
            i = len(acts)
            creator = _child(act, "Creator")
            acts.append(
                {
                    "sport": (act.get("Sport") or "").strip() or None,
                    "start": _ms(_text(act, "Id")),
                    "creator_name": (_text(creator, "Name") or "").strip() or None,
                    "creator_product_id": (_text(creator, "ProductID") or "").strip() or None,
                }
            )
            for j, lap in enumerate(_children(act, "Lap")):
                laps.append(
                    {
                        "activity": i,
                        "start": _ms(lap.get("StartTime")),
                        **{c: _num(_text(lap, f)) for f, c in LAP_FIELDS.items()},
                        **dict.fromkeys(LX_FIELDS.values()),
                        **_first_under(_child(lap, "Extensions"), LX_FIELDS),
                    }
                )
                for track in _children(lap, "Track"):
                    for tp in _children(track, "Trackpoint"):
                        row = _point(tp, i, j)
                        if row is not None:
                            points.append(row)
    return acts, laps, points


def _table_ms(values: list[dt.datetime | None]) -> list[int | None]:
    return [None if v is None else (v - EPOCH) // dt.timedelta(milliseconds=1) for v in values]


@pytest.mark.corpus
@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_every_value_matches_the_reference(path: Path) -> None:
    data = _bytes(path)
    try:
        acts, laps, points = reference(data)
    except ET.ParseError:
        with pytest.raises(TcxError, match=r"malformed XML at line \d+:\d+: "):
            decode_tcx(data, source=path.name)
        assert path.name in ALTERED_ON_PURPOSE
        return
    if not acts:
        with pytest.raises(NotAnActivity, match="no activity in the TCX file"):
            decode_tcx(data, source=path.name)
        return
    tcx = decode_tcx(data, source=path.name)
    mine_acts = [
        {
            "sport": a.sport,
            "start": None if a.start_time is None else _table_ms([a.start_time])[0],
            "creator_name": a.creator_name,
            "creator_product_id": a.creator_product_id,
        }
        for a in tcx.activities
    ]
    assert mine_acts == acts
    lap_cols = tcx.laps.to_pydict()
    lap_cols["start"] = _table_ms(lap_cols.pop("start_time"))
    for column, values in lap_cols.items():
        assert values == [r[column] for r in laps], f"lap {column}"
    cols = tcx.points.to_pydict()
    cols["ms"] = _table_ms(cols.pop("timestamp"))
    assert len(cols["ms"]) == len(points)
    for column, values in cols.items():
        assert values == [r[column] for r in points], f"trackpoint {column}"


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(ALTERED_ON_PURPOSE))
def test_files_altered_on_purpose(name: str) -> None:
    path = TCX_DIR / name
    if not path.is_file():
        pytest.skip(f"{path} absent")
    status, text = ALTERED_ON_PURPOSE[name]
    if status == "error":
        with pytest.raises(TcxError) as info:
            decode_tcx(path.read_bytes(), source=name)
        assert str(info.value) == f"{name}: {text}"
        return
    tcx = decode_tcx(path.read_bytes(), source=name)
    if status == "warning":
        assert text in [p.message for p in tcx.problems]
    else:
        assert len(tcx.activities) == int(text)
        assert [a.sport for a in tcx.activities] == ["Running", "RunningFaster"]


def test_the_corpus_is_checked_when_present() -> None:
    if not TCX_DIR.is_dir():
        pytest.skip(f"{TCX_DIR} absent")
    assert len(FILES) >= 50
