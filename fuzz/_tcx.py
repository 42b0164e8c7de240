"""TCX inputs for the fuzzer: a generator, TCX-aware mutators and the XML attacks.

Deterministic given a ``random.Random``. The byte-level mutators are GPX's (truncation, bit
flips, tokens, chunks, encodings); the value mutator aims at TCX's own elements (Time,
positions, TPX, LX, MaximumSpeed, Sport). The attacks are the GPX ones under a
TrainingCenterDatabase root: every one must end as a recorded error, never a crash.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fuzz._gpx import _WEIRD_NUMBERS, _WEIRD_TIMES, GPX_ATTACKS, GPX_MUTATORS, g_token, mutate_xml

__all__ = ["TCX_ATTACKS", "TCX_MUTATORS", "attack_tcx", "mutate_tcx", "random_tcx"]

_TCD = "http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"
_AX = "http://www.garmin.com/xmlschemas/ActivityExtension/v2"
_SPORTS = ["Running", "Biking", "Other", "RunningFaster", "", "TrailRun", "<![CDATA[Run]]>"]
_PREFIXES = ["ns3", "x", "ns2", ""]


def _trackpoint(rng: random.Random, t: datetime, lat: float, lon: float, p: str) -> str:
    q = f"{p}:" if p else ""
    inline = "" if p else f' xmlns="{_AX}"'
    parts = [f"<Time>{t:%Y-%m-%dT%H:%M:%S}.{rng.randrange(1000):03d}Z</Time>"]
    if rng.random() > 0.1:
        parts.append(
            f"<Position><LatitudeDegrees>{lat:.7f}</LatitudeDegrees>"
            f"<LongitudeDegrees>{lon:.7f}</LongitudeDegrees></Position>"
        )
    parts.append(f"<AltitudeMeters>{rng.uniform(-20, 2000):.1f}</AltitudeMeters>")
    parts.append(f"<HeartRateBpm><Value>{rng.randrange(0, 200)}</Value></HeartRateBpm>")
    if rng.random() < 0.3:
        parts.append(f"<Cadence>{rng.randrange(0, 120)}</Cadence>")
    parts.append(
        f"<Extensions><{q}TPX{inline}><{q}Speed>{rng.uniform(0, 6):.3f}</{q}Speed>"
        f"<{q}RunCadence>{rng.randrange(0, 100)}</{q}RunCadence>"
        f"<{q}Watts>{rng.randrange(0, 500)}</{q}Watts></{q}TPX></Extensions>"
    )
    return "<Trackpoint>" + "".join(parts) + "</Trackpoint>"


def random_tcx(rng: random.Random) -> tuple[bytes, list[str]]:
    """A TCX document with 1-2 activities of 1-3 laps of 1-300 trackpoints."""
    start = datetime(2012, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(400_000_000))
    prefix = rng.choice(_PREFIXES)
    ns = f' xmlns:{prefix}="{_AX}"' if prefix else ""
    n = rng.choice([1, 2, 10, 60, 300])
    acts = []
    t, lat, lon = start, rng.uniform(-80, 80), rng.uniform(-179, 179)
    for _ in range(rng.choice([1, 1, 2])):
        laps = []
        for _ in range(rng.choice([1, 2, 3])):
            lap_start = t
            tracks = []
            for _ in range(rng.choice([1, 1, 2])):
                pts = []
                for _ in range(n):
                    t += timedelta(seconds=rng.choice([1, 1, 1, 2, 0, -1, 30]))
                    lat += rng.uniform(-1e-4, 1e-4)
                    lon += rng.uniform(-1e-4, 1e-4)
                    pts.append(_trackpoint(rng, t, lat, lon, prefix))
                tracks.append("<Track>" + "".join(pts) + "</Track>")
            q = f"{prefix}:" if prefix else ""
            inline = "" if prefix else f' xmlns="{_AX}"'
            laps.append(
                f'<Lap StartTime="{lap_start:%Y-%m-%dT%H:%M:%SZ}">'
                f"<TotalTimeSeconds>{(t - lap_start).total_seconds():.1f}</TotalTimeSeconds>"
                f"<DistanceMeters>{rng.uniform(0, 5000):.1f}</DistanceMeters>"
                f"<MaximumSpeed>{rng.choice(['4.5', '16200.0', '0'])}</MaximumSpeed>"
                f"<Calories>{rng.randrange(500)}</Calories>"
                f"<AverageHeartRateBpm><Value>{rng.randrange(200)}</Value></AverageHeartRateBpm>"
                f"<Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod>"
                + "".join(tracks)
                + f"<Extensions><{q}LX{inline}><{q}AvgSpeed>3.1</{q}AvgSpeed>"
                f"<{q}AvgRunCadence>{rng.randrange(100)}</{q}AvgRunCadence></{q}LX></Extensions>"
                "</Lap>"
            )
        acts.append(
            f'<Activity Sport="{rng.choice(_SPORTS)}"><Id>{start:%Y-%m-%dT%H:%M:%SZ}</Id>'
            + "".join(laps)
            + '<Creator xsi:type="Device_t"><Name>Forerunner 235</Name><ProductID>1950'
            "</ProductID></Creator></Activity>"
        )
    doc = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase xmlns="{_TCD}"'
        f' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"{ns}>'
        f"<Activities>{''.join(acts)}</Activities>"
        "<Author><Name>fuzz</Name></Author></TrainingCenterDatabase>\n"
    )
    return doc.encode(), [f"generated TCX: {len(acts)} activities, {n} points per track"]


# --------------------------------------------------------------------------- mutators

TcxMutator = Callable[[random.Random, bytes, bytes], tuple[bytes, str]]
_VALUE_TAGS = [
    b"<Time>",
    b"<LatitudeDegrees>",
    b"<LongitudeDegrees>",
    b"<Value>",
    b"<TotalTimeSeconds>",
    b"<MaximumSpeed>",
    b"Speed>",
    b"RunCadence>",
    b"Watts>",
    b'StartTime="',
    b'Sport="',
]


def t_value(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    """Replace the text of one TCX value (a time, a position, a TPX value...) by an odd one."""
    tag = rng.choice(_VALUE_TAGS)
    i = doc.find(tag, rng.randint(0, max(0, len(doc) - 1)))
    if i < 0:
        i = doc.find(tag)
    if i < 0:
        return g_token(rng, doc, other)
    start = i + len(tag)
    end = doc.find(b'"' if tag.endswith(b'"') else b"<", start)
    if end < 0:
        return g_token(rng, doc, other)
    pool = _WEIRD_TIMES if b"Time" in tag else _WEIRD_NUMBERS
    v = rng.choice(pool).encode()
    return doc[:start] + v + doc[end:], f"value of {tag!r} at {i} = {v[:40]!r}"


def t_structure(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, str]:
    """Drop or repeat a whole element: a Lap, a Track, an Activity, a Position, an Id."""
    name = rng.choice([b"Lap", b"Track", b"Activity", b"Position", b"Id", b"Extensions"])
    open_at = doc.find(b"<" + name, rng.randint(0, max(0, len(doc) - 1)))
    close = b"</" + name + b">"
    end = doc.find(close, open_at) if open_at >= 0 else -1
    if open_at < 0 or end < 0:
        return g_token(rng, doc, other)
    end += len(close)
    if rng.random() < 0.5:
        return doc[:open_at] + doc[end:], f"drop <{name.decode()}> at {open_at}"
    return doc[:end] + doc[open_at:end] + doc[end:], f"repeat <{name.decode()}> at {open_at}"


TCX_MUTATORS: dict[str, TcxMutator] = {
    **GPX_MUTATORS,
    "value": t_value,
    "structure": t_structure,
}


def mutate_tcx(rng: random.Random, doc: bytes, other: bytes) -> tuple[bytes, list[str]]:
    return mutate_xml(rng, doc, other, TCX_MUTATORS)


# --------------------------------------------------------------------------- attacks


def _as_tcx(gpx: bytes) -> bytes:
    return gpx.replace(b"<gpx", b"<TrainingCenterDatabase").replace(
        b"</gpx>", b"</TrainingCenterDatabase>"
    )


TCX_ATTACKS: dict[str, Callable[[], bytes]] = {
    name: (lambda make=make: _as_tcx(make()))  # type: ignore[misc]
    for name, make in GPX_ATTACKS.items()
    # (only_whitespace: the same bytes as GPX's; the GPX-only ones have no TCX meaning)
    if name not in ("not_gpx_root", "many_points", "empty_gpx", "only_whitespace")
}
TCX_ATTACKS["kml_root"] = lambda: b'<?xml version="1.0"?><kml><Document/></kml>'
TCX_ATTACKS["course_only"] = lambda: (
    b"<TrainingCenterDatabase><Courses><Course><Track><Trackpoint><Time>2024-01-01T00:00:00Z"
    b"</Time></Trackpoint></Track></Course></Courses></TrainingCenterDatabase>"
)
TCX_ATTACKS["many_laps"] = lambda: (
    b'<TrainingCenterDatabase><Activities><Activity Sport="Running">'
    + b"".join(
        b'<Lap StartTime="2024-01-01T00:%02d:%02dZ"><TotalTimeSeconds>1</TotalTimeSeconds>'
        b"<Track><Trackpoint><Time>2024-01-01T00:%02d:%02dZ</Time></Trackpoint></Track></Lap>"
        % (i // 60 % 60, i % 60, i // 60 % 60, i % 60)
        for i in range(20_000)
    )
    + b"</Activity></Activities></TrainingCenterDatabase>"
)


def attack_tcx(name: str) -> bytes:
    return TCX_ATTACKS[name]()
